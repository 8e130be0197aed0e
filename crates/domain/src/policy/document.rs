//! The policy file as written by people: plain serde structs mirroring the
//! TOML tables. Nothing here is trusted until `validate` has run.

use std::collections::BTreeMap;

use jiff::civil::{Date, Time, Weekday};
use serde::{Deserialize, Serialize};

use crate::deadlines::DeadlineKind;
use crate::vocabulary::{CompensationKind, Level, Severity, named_enum};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    pub deadlines: DeadlinesSpec,
    pub callbacks: CallbacksSpec,
    pub calendar: CalendarSpec,
    /// Per-region calendar overrides, keyed by region code.
    #[serde(default)]
    pub regions: BTreeMap<String, CalendarOverride>,
    pub escalation: EscalationSpec,
    pub authority: AuthorityTable,
    pub pauses: PausesSpec,
    pub severity: SeveritySpec,
    pub reopen: ReopenSpec,
    pub follow_up: FollowUpSpec,
    /// The quality follow-up call after a sale or a repair (a stream of its own).
    #[serde(default)]
    pub quality_follow_up: QualityFollowUpSpec,
}

/// Seed 002: after a sale or a repair, the customer gets a quality follow-up call
/// within this many business days of the delivery.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QualityFollowUpSpec {
    pub business_days: u32,
}

impl Default for QualityFollowUpSpec {
    fn default() -> Self {
        Self { business_days: 3 }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlinesSpec {
    pub report_to_cac: ReportToCacSpec,
    pub result: BusinessDaysSpec,
    pub satisfaction_callback: BusinessDaysSpec,
    pub promise: WarnOnlySpec,
    pub progress_report: ProgressReportSpec,
    pub engineer_dispatch: EngineerDispatchSpec,
    /// The date for a plan promised at reception (`Acknowledged.plan_promised_by`).
    /// Left out of older policy files: warned at 75 %.
    #[serde(default = "default_warn_only")]
    pub plan_promise: WarnOnlySpec,
    /// A complaint the CAC pushed to the dealer: feedback the same business day.
    /// Left out of older policy files: warned at 75 %.
    #[serde(default = "default_warn_only")]
    pub cac_feedback: WarnOnlySpec,
    /// The handling result reported to the CAC within N business days of receipt.
    /// Left out of older policy files: 3 business days, warned at 75 %.
    #[serde(default = "default_result_report")]
    pub result_report: BusinessDaysSpec,
    /// Missing one of these moves the case one level up the ladder.
    pub escalate_when_missed: Vec<DeadlineKind>,
}

fn default_warn_only() -> WarnOnlySpec {
    WarnOnlySpec {
        warn_at_percent: Some(75),
    }
}

fn default_result_report() -> BusinessDaysSpec {
    BusinessDaysSpec {
        business_days: 3,
        warn_at_percent: Some(75),
    }
}

/// Normal cases: by the end of the business day they arrived.
/// Cases of the listed severities or emergencies: within minutes, day or night.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReportToCacSpec {
    pub urgent_within_minutes: u32,
    pub warn_at_percent: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessDaysSpec {
    pub business_days: u32,
    pub warn_at_percent: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WarnOnlySpec {
    pub warn_at_percent: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProgressReportSpec {
    /// Wall-clock hours between reports.
    pub every_hours: u32,
    pub severities: Vec<Severity>,
    pub warn_at_percent: Option<u8>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EngineerDispatchSpec {
    /// Wall-clock hours from filing an emergency to dispatching an engineer.
    pub within_hours: u32,
    pub warn_at_percent: Option<u8>,
}

/// Unanswered calls are retried in different times of day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallbacksSpec {
    pub max_failed_attempts: u8,
    pub min_gap_minutes: u32,
    /// Each failed attempt in a row must be in a time of day not used yet.
    pub distinct_slots: bool,
    pub morning_starts: Time,
    pub afternoon_starts: Time,
    pub evening_starts: Time,
    pub evening_ends: Time,
}

named_enum! {
    pub enum WeekdayName {
        Mon = "mon",
        Tue = "tue",
        Wed = "wed",
        Thu = "thu",
        Fri = "fri",
        Sat = "sat",
        Sun = "sun",
    }
}

impl WeekdayName {
    pub(crate) fn weekday(self) -> Weekday {
        match self {
            WeekdayName::Mon => Weekday::Monday,
            WeekdayName::Tue => Weekday::Tuesday,
            WeekdayName::Wed => Weekday::Wednesday,
            WeekdayName::Thu => Weekday::Thursday,
            WeekdayName::Fri => Weekday::Friday,
            WeekdayName::Sat => Weekday::Saturday,
            WeekdayName::Sun => Weekday::Sunday,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// An IANA time zone name, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    pub opens: Time,
    pub closes: Time,
    pub working_days: Vec<WeekdayName>,
    #[serde(default)]
    pub holidays: Vec<Date>,
    /// Days off the normal week that are worked (make-up days).
    #[serde(default)]
    pub extra_working_days: Vec<Date>,
    /// The years whose holidays and make-up days are listed. Beyond them deadlines are
    /// counted on the working week alone. Left out: the years the listed dates fall in.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub years: Vec<CalendarYear>,
}

/// A year the calendar's holidays cover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarYear {
    pub year: i16,
    /// Its dates are expected ones, not yet the official notice's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
}

/// A region's calendar: any field left out comes from the default calendar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CalendarOverride {
    pub time_zone: Option<String>,
    pub opens: Option<Time>,
    pub closes: Option<Time>,
    pub working_days: Option<Vec<WeekdayName>>,
    pub holidays: Option<Vec<Date>>,
    pub extra_working_days: Option<Vec<Date>>,
    pub years: Option<Vec<CalendarYear>>,
}

impl CalendarOverride {
    pub fn over(&self, base: &CalendarSpec) -> CalendarSpec {
        CalendarSpec {
            time_zone: self
                .time_zone
                .clone()
                .unwrap_or_else(|| base.time_zone.clone()),
            opens: self.opens.unwrap_or(base.opens),
            closes: self.closes.unwrap_or(base.closes),
            working_days: self
                .working_days
                .clone()
                .unwrap_or_else(|| base.working_days.clone()),
            holidays: self
                .holidays
                .clone()
                .unwrap_or_else(|| base.holidays.clone()),
            extra_working_days: self
                .extra_working_days
                .clone()
                .unwrap_or_else(|| base.extra_working_days.clone()),
            years: self.years.clone().unwrap_or_else(|| base.years.clone()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EscalationSpec {
    /// From the first level a case is handled at to the top.
    pub ladder: Vec<Level>,
}

/// What a level may approve on its own.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Authority {
    #[serde(default)]
    pub kinds: Vec<CompensationKind>,
    #[serde(default)]
    pub max_amount_fen: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityTable {
    #[serde(default)]
    pub dealer_desk: Authority,
    #[serde(default)]
    pub service_manager: Authority,
    #[serde(default)]
    pub shift_supervisor: Authority,
    #[serde(default)]
    pub manufacturer_cac: Authority,
    #[serde(default)]
    pub regional_manager: Authority,
    #[serde(default)]
    pub regional_engineer: Authority,
}

impl AuthorityTable {
    pub fn of(&self, level: Level) -> &Authority {
        match level {
            Level::DealerDesk => &self.dealer_desk,
            Level::ServiceManager => &self.service_manager,
            Level::ShiftSupervisor => &self.shift_supervisor,
            Level::ManufacturerCac => &self.manufacturer_cac,
            Level::RegionalManager => &self.regional_manager,
            Level::RegionalEngineer => &self.regional_engineer,
        }
    }
}

/// Which clocks stop while the case waits for something.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PausesSpec {
    #[serde(default)]
    pub customer: Vec<DeadlineKind>,
    #[serde(default)]
    pub parts: Vec<DeadlineKind>,
    #[serde(default)]
    pub third_party: Vec<DeadlineKind>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeveritySpec {
    /// Fire, flood, accident vehicle, major new-car defect: at least this severe.
    pub emergency_minimum: Severity,
    /// Severities reported to the CAC immediately rather than the same day.
    pub report_immediately: Vec<Severity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReopenSpec {
    /// The result clock restarts at the reopening with this many business days.
    pub result_business_days: u32,
    /// Whether a reopened case is reported to the CAC again.
    pub report_to_cac_again: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FollowUpSpec {
    /// A lower satisfaction score means the case is not closed but worked
    /// on again (clarify, new appointment, escalate).
    pub min_score_to_close: u8,
}
