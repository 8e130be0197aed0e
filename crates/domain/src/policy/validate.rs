//! Checks a parsed policy document and builds its calendars. Every error
//! names the dotted path of the offending field.

use std::collections::{BTreeMap, BTreeSet};

use jiff::tz::TimeZone;

use super::PolicyError;
use super::document::{CalendarSpec, PolicyDocument};
use crate::calendar::BusinessCalendar;
use crate::deadlines::DeadlineKind;
use crate::values::{Money, RegionCode, SatisfactionScore};
use crate::vocabulary::{Level, WaitingFor};

/// Clocks that measure a duration and so can stop while a case waits.
/// The others are fixed instants (a promised date, the same-day report).
pub(crate) const PAUSABLE_CLOCKS: &[DeadlineKind] = &[
    DeadlineKind::Result,
    DeadlineKind::SatisfactionCallback,
    DeadlineKind::ProgressReport,
    DeadlineKind::ResultReport,
];

fn require(ok: bool, field: impl Into<String>, reason: &str) -> Result<(), PolicyError> {
    if ok {
        Ok(())
    } else {
        Err(PolicyError::invalid(field, reason))
    }
}

fn positive(value: u32, field: &str) -> Result<(), PolicyError> {
    require(value > 0, field, "must be > 0")
}

fn warn_percent(value: Option<u8>, field: &str) -> Result<(), PolicyError> {
    require(
        value.is_none_or(|pct| (1..=99).contains(&pct)),
        field,
        "must be between 1 and 99",
    )
}

pub(super) struct Calendars {
    pub default: BusinessCalendar,
    pub regions: BTreeMap<RegionCode, BusinessCalendar>,
}

pub(super) fn validate(doc: &PolicyDocument) -> Result<Calendars, PolicyError> {
    validate_deadlines(doc)?;
    validate_callbacks(doc)?;
    validate_ladder(doc)?;
    validate_authority(doc)?;
    validate_pauses(doc)?;
    positive(
        doc.reopen.result_business_days,
        "reopen.result_business_days",
    )?;
    require(
        SatisfactionScore::new(doc.follow_up.min_score_to_close).is_ok(),
        "follow_up.min_score_to_close",
        "must be between 1 and 5",
    )?;
    positive(
        doc.quality_follow_up.business_days,
        "quality_follow_up.business_days",
    )?;
    build_calendars(doc)
}

fn validate_deadlines(doc: &PolicyDocument) -> Result<(), PolicyError> {
    let d = &doc.deadlines;
    positive(
        d.report_to_cac.urgent_within_minutes,
        "deadlines.report_to_cac.urgent_within_minutes",
    )?;
    positive(d.result.business_days, "deadlines.result.business_days")?;
    positive(
        d.result_report.business_days,
        "deadlines.result_report.business_days",
    )?;
    positive(
        d.satisfaction_callback.business_days,
        "deadlines.satisfaction_callback.business_days",
    )?;
    positive(
        d.progress_report.every_hours,
        "deadlines.progress_report.every_hours",
    )?;
    positive(
        d.engineer_dispatch.within_hours,
        "deadlines.engineer_dispatch.within_hours",
    )?;
    for (pct, field) in [
        (
            d.report_to_cac.warn_at_percent,
            "deadlines.report_to_cac.warn_at_percent",
        ),
        (d.result.warn_at_percent, "deadlines.result.warn_at_percent"),
        (
            d.satisfaction_callback.warn_at_percent,
            "deadlines.satisfaction_callback.warn_at_percent",
        ),
        (
            d.promise.warn_at_percent,
            "deadlines.promise.warn_at_percent",
        ),
        (
            d.progress_report.warn_at_percent,
            "deadlines.progress_report.warn_at_percent",
        ),
        (
            d.engineer_dispatch.warn_at_percent,
            "deadlines.engineer_dispatch.warn_at_percent",
        ),
        (
            d.plan_promise.warn_at_percent,
            "deadlines.plan_promise.warn_at_percent",
        ),
        (
            d.cac_feedback.warn_at_percent,
            "deadlines.cac_feedback.warn_at_percent",
        ),
        (
            d.result_report.warn_at_percent,
            "deadlines.result_report.warn_at_percent",
        ),
    ] {
        warn_percent(pct, field)?;
    }
    Ok(())
}

fn validate_callbacks(doc: &PolicyDocument) -> Result<(), PolicyError> {
    let c = &doc.callbacks;
    require(
        (1..=10).contains(&c.max_failed_attempts),
        "callbacks.max_failed_attempts",
        "must be between 1 and 10",
    )?;
    require(
        c.morning_starts < c.afternoon_starts,
        "callbacks.afternoon_starts",
        "must be after callbacks.morning_starts",
    )?;
    require(
        c.afternoon_starts < c.evening_starts,
        "callbacks.evening_starts",
        "must be after callbacks.afternoon_starts",
    )?;
    require(
        c.evening_starts < c.evening_ends,
        "callbacks.evening_ends",
        "must be after callbacks.evening_starts",
    )?;
    // With distinct slots, only three times of day exist to retry in.
    require(
        !c.distinct_slots || c.max_failed_attempts <= 3,
        "callbacks.max_failed_attempts",
        "must be at most 3 when callbacks.distinct_slots is true (three times of day)",
    )
}

fn validate_ladder(doc: &PolicyDocument) -> Result<(), PolicyError> {
    let ladder = &doc.escalation.ladder;
    require(
        ladder.first() == Some(&Level::DealerDesk),
        "escalation.ladder",
        "must start with dealer_desk, where every case starts",
    )?;
    let mut seen = Vec::new();
    for level in ladder {
        require(
            !seen.contains(level),
            "escalation.ladder",
            "must not name a level twice",
        )?;
        seen.push(*level);
    }
    Ok(())
}

fn validate_authority(doc: &PolicyDocument) -> Result<(), PolicyError> {
    for level in Level::ALL {
        require(
            doc.authority.of(*level).max_amount_fen <= Money::MAX,
            format!("authority.{level}.max_amount_fen"),
            "is larger than any amount the engine can record",
        )?;
    }
    Ok(())
}

fn validate_pauses(doc: &PolicyDocument) -> Result<(), PolicyError> {
    for waiting_for in WaitingFor::ALL {
        for kind in clocks_paused_by(doc, *waiting_for) {
            require(
                PAUSABLE_CLOCKS.contains(kind),
                format!("pauses.{waiting_for}"),
                "only result, satisfaction_callback, progress_report and result_report can be paused",
            )?;
        }
    }
    Ok(())
}

pub(super) fn clocks_paused_by(doc: &PolicyDocument, waiting_for: WaitingFor) -> &[DeadlineKind] {
    match waiting_for {
        WaitingFor::Customer => &doc.pauses.customer,
        WaitingFor::Parts => &doc.pauses.parts,
        WaitingFor::ThirdParty => &doc.pauses.third_party,
    }
}

fn build_calendar(spec: &CalendarSpec, field: &str) -> Result<BusinessCalendar, PolicyError> {
    let time_zone = TimeZone::get(&spec.time_zone).map_err(|_| {
        PolicyError::invalid(
            format!("{field}.time_zone"),
            &format!("unknown time zone {:?}", spec.time_zone),
        )
    })?;
    let calendar = BusinessCalendar::new(
        time_zone,
        spec.opens,
        spec.closes,
        spec.working_days.iter().map(|day| day.weekday()),
        spec.holidays.iter().copied(),
        spec.extra_working_days.iter().copied(),
    )
    .map_err(|err| PolicyError::invalid(field, &err.to_string()))?;
    let (years, provisional) = calendar_years(spec, field)?;
    Ok(calendar.covering(years, provisional))
}

/// The years a calendar covers: those it lists, each once and every listed date in one
/// of them; or, when it lists none, the years its dates fall in.
fn calendar_years(
    spec: &CalendarSpec,
    field: &str,
) -> Result<(BTreeSet<i16>, BTreeSet<i16>), PolicyError> {
    let dated = [
        ("holidays", &spec.holidays),
        ("extra_working_days", &spec.extra_working_days),
    ];
    if spec.years.is_empty() {
        let years = dated
            .iter()
            .flat_map(|(_, dates)| dates.iter().map(|date| date.year()))
            .collect();
        return Ok((years, BTreeSet::new()));
    }
    let mut years = BTreeSet::new();
    for (i, listed) in spec.years.iter().enumerate() {
        require(
            years.insert(listed.year),
            format!("{field}.years[{i}].year"),
            "is listed twice",
        )?;
    }
    for (name, dates) in dated {
        for (i, date) in dates.iter().enumerate() {
            require(
                years.contains(&date.year()),
                format!("{field}.{name}[{i}]"),
                "falls in a year the calendar does not list in years",
            )?;
        }
    }
    let provisional = spec
        .years
        .iter()
        .filter(|listed| listed.provisional)
        .map(|listed| listed.year)
        .collect();
    Ok((years, provisional))
}

fn build_calendars(doc: &PolicyDocument) -> Result<Calendars, PolicyError> {
    let default = build_calendar(&doc.calendar, "calendar")?;
    let mut regions = BTreeMap::new();
    for (code, over) in &doc.regions {
        let field = format!("regions.{code}");
        let region = RegionCode::parse(code.as_str())
            .map_err(|err| PolicyError::invalid(field.clone(), &err.reason))?;
        regions.insert(region, build_calendar(&over.over(&doc.calendar), &field)?);
    }
    Ok(Calendars { default, regions })
}
