//! The complaint policy: deadlines, call-back rules, calendars, the
//! escalation ladder and approval authority, as one validated TOML document.

mod document;
mod validate;

use std::collections::BTreeMap;
use std::sync::LazyLock;

use jiff::{SignedDuration, Timestamp};

pub use document::{
    Authority, AuthorityTable, BusinessDaysSpec, CalendarOverride, CalendarSpec, CalendarYear,
    CallbacksSpec, DeadlinesSpec, EngineerDispatchSpec, EscalationSpec, FollowUpSpec, PausesSpec,
    PolicyDocument, ProgressReportSpec, ReopenSpec, ReportToCacSpec, SeveritySpec, WarnOnlySpec,
    WeekdayName,
};

use super::calendar::BusinessCalendar;
use super::deadlines::DeadlineKind;
use super::values::{Money, RegionCode};
use super::vocabulary::{CompensationKind, DaySlot, EmergencyKind, Level, Severity, WaitingFor};

const BUILTIN_TOML: &str = include_str!("../../../../policy/default.toml");

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyError {
    #[error("policy is not valid TOML: {0}")]
    Syntax(#[source] toml::de::Error),
    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },
    #[error("policy cannot be written as TOML: {0}")]
    Write(#[source] toml::ser::Error),
}

impl PolicyError {
    fn invalid(field: impl Into<String>, reason: &str) -> Self {
        PolicyError::Invalid {
            field: field.into(),
            reason: reason.to_owned(),
        }
    }
}

/// A validated policy with its calendars resolved. Only obtainable through
/// validation, so every accessor can rely on the invariants.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    document: PolicyDocument,
    default_calendar: BusinessCalendar,
    region_calendars: BTreeMap<RegionCode, BusinessCalendar>,
}

static BUILTIN: LazyLock<Result<Policy, PolicyError>> =
    LazyLock::new(|| Policy::from_toml_str(BUILTIN_TOML));

impl Policy {
    /// The built-in policy (`policy/default.toml`), which encodes domain.md.
    pub fn builtin() -> Policy {
        match &*BUILTIN {
            Ok(policy) => policy.clone(),
            // The file is part of the source and a unit test parses it.
            Err(err) => unreachable!("built-in policy is invalid: {err}"),
        }
    }

    pub fn from_toml_str(text: &str) -> Result<Policy, PolicyError> {
        let document: PolicyDocument = toml::from_str(text).map_err(PolicyError::Syntax)?;
        Policy::from_document(document)
    }

    pub fn from_document(document: PolicyDocument) -> Result<Policy, PolicyError> {
        let calendars = validate::validate(&document)?;
        Ok(Policy {
            document,
            default_calendar: calendars.default,
            region_calendars: calendars.regions,
        })
    }

    pub fn to_toml_string(&self) -> Result<String, PolicyError> {
        toml::to_string_pretty(&self.document).map_err(PolicyError::Write)
    }

    pub fn document(&self) -> &PolicyDocument {
        &self.document
    }

    /// The network-wide calendar (regions without an override use it).
    pub fn default_calendar(&self) -> &BusinessCalendar {
        &self.default_calendar
    }

    /// The region's calendar, or the default one.
    pub fn calendar(&self, region: &RegionCode) -> &BusinessCalendar {
        self.region_calendars
            .get(region)
            .unwrap_or(&self.default_calendar)
    }

    pub fn authority(&self, level: Level) -> &Authority {
        self.document.authority.of(level)
    }

    /// Whether `level` may approve `amount` of `kind` on its own.
    pub(crate) fn may_approve(&self, level: Level, kind: CompensationKind, amount: Money) -> bool {
        let authority = self.authority(level);
        authority.kinds.contains(&kind) && amount.fen() <= authority.max_amount_fen
    }

    pub fn ladder(&self) -> &[Level] {
        &self.document.escalation.ladder
    }

    /// Position on the ladder; levels off the ladder (e.g. the service
    /// manager, who approves but does not own cases) have none.
    pub fn rung(&self, level: Level) -> Option<usize> {
        self.ladder().iter().position(|l| *l == level)
    }

    /// The next level up from `level`, if there is one.
    pub fn next_level(&self, level: Level) -> Option<Level> {
        let rung = self.rung(level)?;
        self.ladder().get(rung + 1).copied()
    }

    pub fn escalates_when_missed(&self, kind: DeadlineKind) -> bool {
        self.document.deadlines.escalate_when_missed.contains(&kind)
    }

    /// Whether waiting for `waiting_for` stops the `kind` clock.
    pub fn pauses(&self, waiting_for: WaitingFor, kind: DeadlineKind) -> bool {
        validate::clocks_paused_by(&self.document, waiting_for).contains(&kind)
    }

    /// The smallest severity an emergency incident may be filed with.
    pub(crate) fn emergency_minimum(&self, emergency: Option<EmergencyKind>) -> Severity {
        match emergency {
            Some(_) => self.document.severity.emergency_minimum,
            None => Severity::Normal,
        }
    }

    /// Whether the case goes to the CAC within minutes rather than the same day.
    pub fn reports_immediately(
        &self,
        severity: Severity,
        emergency: Option<EmergencyKind>,
    ) -> bool {
        emergency.is_some()
            || self
                .document
                .severity
                .report_immediately
                .contains(&severity)
    }

    pub fn needs_progress_reports(&self, severity: Severity) -> bool {
        self.document
            .deadlines
            .progress_report
            .severities
            .contains(&severity)
    }

    pub fn callbacks(&self) -> &CallbacksSpec {
        &self.document.callbacks
    }

    pub fn min_callback_gap(&self) -> SignedDuration {
        SignedDuration::from_mins(i64::from(self.document.callbacks.min_gap_minutes))
    }

    /// The time of day a call at `at` falls in, in the region's time zone;
    /// `None` outside calling hours.
    pub(crate) fn day_slot(&self, region: &RegionCode, at: Timestamp) -> Option<DaySlot> {
        let local = self.calendar(region).time_zone().to_datetime(at).time();
        DaySlot::ALL.iter().copied().find(|slot| {
            let (starts, ends) = self.slot_bounds(*slot);
            starts <= local && local < ends
        })
    }

    /// Local start and end of a time of day.
    pub fn slot_bounds(&self, slot: DaySlot) -> (jiff::civil::Time, jiff::civil::Time) {
        let c = &self.document.callbacks;
        match slot {
            DaySlot::Morning => (c.morning_starts, c.afternoon_starts),
            DaySlot::Afternoon => (c.afternoon_starts, c.evening_starts),
            DaySlot::Evening => (c.evening_starts, c.evening_ends),
        }
    }

    pub fn min_score_to_close(&self) -> u8 {
        self.document.follow_up.min_score_to_close
    }

    /// Every calendar of the policy with its name (`calendar`, `regions.HK`, …).
    pub fn calendars(&self) -> impl Iterator<Item = (String, &BusinessCalendar)> {
        std::iter::once(("calendar".to_owned(), &self.default_calendar)).chain(
            self.region_calendars
                .iter()
                .map(|(region, calendar)| (format!("regions.{region}"), calendar)),
        )
    }

    /// What an operator must hear about the calendars at `now`: those that end within
    /// `within_days` (or have ended), and provisional years that have begun or lie within
    /// that window. Pure: the caller logs or prints them.
    pub fn calendar_notices(&self, now: Timestamp, within_days: i64) -> Vec<CalendarNotice> {
        let mut notices = Vec::new();
        for (name, calendar) in self.calendars() {
            let Some(last_day) = calendar.last_covered_day() else {
                continue;
            };
            let days_left = calendar.days_left(now).unwrap_or(i64::MIN);
            if days_left <= within_days {
                notices.push(CalendarNotice::EndsSoon {
                    calendar: name.clone(),
                    last_day,
                    days_left,
                });
            }
            let horizon = calendar
                .local_date(now)
                .checked_add(jiff::Span::new().days(within_days))
                .map_or(i16::MAX, jiff::civil::Date::year);
            for year in calendar.provisional_years() {
                if year <= horizon {
                    notices.push(CalendarNotice::Provisional {
                        calendar: name.clone(),
                        year,
                    });
                }
            }
        }
        notices
    }

    /// The fewest days any calendar of the policy has left at `now` (negative once one
    /// has run out); `None` when no calendar lists a year.
    pub fn calendar_days_left(&self, now: Timestamp) -> Option<i64> {
        self.calendars()
            .filter_map(|(_, calendar)| calendar.days_left(now))
            .min()
    }
}

/// Days before the end of a calendar from which operators are warned.
pub const CALENDAR_WARNING_DAYS: i64 = 90;

/// Something about the policy's calendars an operator must be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CalendarNotice {
    /// The calendar's last covered day is near or past; deadlines beyond it count the
    /// working week alone, without public holidays or make-up days.
    EndsSoon {
        calendar: String,
        last_day: jiff::civil::Date,
        days_left: i64,
    },
    /// A year in use (or soon) whose dates are expected ones, not the official notice's.
    Provisional { calendar: String, year: i16 },
}

impl std::fmt::Display for CalendarNotice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CalendarNotice::EndsSoon {
                calendar,
                last_day,
                days_left,
            } if *days_left < 0 => write!(
                f,
                "{calendar}: public holidays end on {last_day}, {} days ago; deadlines are counted on weekends only: add the next year",
                -days_left
            ),
            CalendarNotice::EndsSoon {
                calendar,
                last_day,
                days_left,
            } => write!(
                f,
                "{calendar}: public holidays end on {last_day}, in {days_left} days; deadlines beyond it are counted on weekends only: add the next year"
            ),
            CalendarNotice::Provisional { calendar, year } => write!(
                f,
                "{calendar}: the holidays of {year} are provisional; confirm them against the official notice"
            ),
        }
    }
}

#[cfg(test)]
mod tests;
