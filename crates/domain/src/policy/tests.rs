use super::*;
use crate::policy::{CALENDAR_WARNING_DAYS, CalendarNotice};

/// The built-in policy text with one snippet replaced.
fn builtin_with(from: &str, to: &str) -> Result<Policy, PolicyError> {
    assert!(
        BUILTIN_TOML.contains(from),
        "snippet {from:?} not in default.toml"
    );
    Policy::from_toml_str(&BUILTIN_TOML.replacen(from, to, 1))
}

fn invalid_field(result: Result<Policy, PolicyError>) -> (String, String) {
    match result {
        Err(PolicyError::Invalid { field, reason }) => (field, reason),
        other => panic!("expected an invalid field, got {other:?}"),
    }
}

fn region(code: &str) -> RegionCode {
    RegionCode::parse(code).expect("valid region")
}

fn at(s: &str) -> Timestamp {
    s.parse().expect("test timestamp")
}

#[test]
fn builtin_policy_is_valid_and_encodes_the_domain_numbers() {
    let policy = Policy::builtin();
    let d = &policy.document().deadlines;
    assert_eq!(d.result.business_days, 3);
    assert_eq!(d.satisfaction_callback.business_days, 3);
    assert_eq!(policy.callbacks().max_failed_attempts, 3);
    assert_eq!(
        policy.ladder(),
        &[
            Level::DealerDesk,
            Level::ManufacturerCac,
            Level::RegionalManager,
            Level::RegionalEngineer
        ]
    );
    assert!(policy.pauses(WaitingFor::Customer, DeadlineKind::Result));
    assert!(!policy.pauses(WaitingFor::Customer, DeadlineKind::ReportToCac));
    assert_eq!(
        policy.emergency_minimum(Some(EmergencyKind::VehicleFire)),
        Severity::Major
    );
}

#[test]
fn policy_round_trips_through_toml() {
    let policy = Policy::builtin();
    let text = policy.to_toml_string().expect("writes");
    let again = Policy::from_toml_str(&text).expect("reads back");
    assert_eq!(again, policy);
}

#[test]
fn zero_business_days_is_refused_naming_the_field() {
    let err = builtin_with(
        "business_days = 3\nwarn_at_percent = 75\n\n[deadlines.satisfaction_callback]",
        "business_days = 0\nwarn_at_percent = 75\n\n[deadlines.satisfaction_callback]",
    )
    .expect_err("0 days");
    assert_eq!(
        err.to_string(),
        "deadlines.result.business_days: must be > 0"
    );
}

#[test]
fn unknown_fields_are_refused() {
    let err = builtin_with("[follow_up]", "[follow_up]\nmood = \"sunny\"").expect_err("unknown");
    assert!(
        matches!(&err, PolicyError::Syntax(source) if source.to_string().contains("mood")),
        "{err}"
    );
}

#[test]
fn warn_percent_must_be_below_one_hundred() {
    let (field, _) = invalid_field(builtin_with(
        "warn_at_percent = 50",
        "warn_at_percent = 100",
    ));
    assert_eq!(field, "deadlines.engineer_dispatch.warn_at_percent");
}

#[test]
fn unknown_time_zone_is_refused() {
    let (field, reason) = invalid_field(builtin_with(
        "time_zone = \"Asia/Shanghai\"",
        "time_zone = \"Mars/Olympus\"",
    ));
    assert_eq!(field, "calendar.time_zone");
    assert!(reason.contains("Mars/Olympus"));
}

#[test]
fn working_hours_must_open_before_closing() {
    let (field, _) = invalid_field(builtin_with("closes = \"17:30\"", "closes = \"07:00\""));
    assert_eq!(field, "calendar");
}

#[test]
fn ladder_must_start_at_the_dealer_desk_and_not_repeat() {
    let (field, _) = invalid_field(builtin_with("ladder = [\"dealer_desk\", ", "ladder = ["));
    assert_eq!(field, "escalation.ladder");
    let (_, reason) = invalid_field(builtin_with(
        "\"regional_engineer\"]",
        "\"regional_engineer\", \"manufacturer_cac\"]",
    ));
    assert!(reason.contains("twice"));
}

#[test]
fn only_duration_clocks_can_be_paused() {
    let (field, _) = invalid_field(builtin_with(
        "parts = [\"result\", \"result_report\"]",
        "parts = [\"result\", \"report_to_cac\"]",
    ));
    assert_eq!(field, "pauses.parts");
}

#[test]
fn callback_slots_must_be_in_order() {
    let (field, _) = invalid_field(builtin_with(
        "evening_starts = \"18:00\"",
        "evening_starts = \"11:00\"",
    ));
    assert_eq!(field, "callbacks.evening_starts");
    let (field, _) = invalid_field(builtin_with(
        "max_failed_attempts = 3",
        "max_failed_attempts = 4",
    ));
    assert_eq!(field, "callbacks.max_failed_attempts");
}

#[test]
fn follow_up_score_must_be_a_satisfaction_score() {
    let (field, _) = invalid_field(builtin_with(
        "min_score_to_close = 3",
        "min_score_to_close = 9",
    ));
    assert_eq!(field, "follow_up.min_score_to_close");
}

#[test]
fn reopen_days_must_be_positive() {
    let (field, _) = invalid_field(builtin_with(
        "result_business_days = 3",
        "result_business_days = 0",
    ));
    assert_eq!(field, "reopen.result_business_days");
}

#[test]
fn a_region_overrides_the_calendar() {
    let policy = builtin_with(
        "[escalation]",
        "[regions.EU-DE]\ntime_zone = \"Europe/Berlin\"\nworking_days = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\", \"sat\"]\n\n[escalation]",
    )
    .expect("valid override");
    let berlin = policy.calendar(&region("EU-DE"));
    assert_eq!(berlin.time_zone().iana_name(), Some("Europe/Berlin"));
    assert!(
        berlin.is_working_day(jiff::civil::date(2025, 9, 6)),
        "Saturday"
    );
    // Hours come from the default calendar.
    assert_eq!(berlin.working_day_length(), SignedDuration::from_hours(9));
    let other = policy.calendar(&region("CN-EAST"));
    assert_eq!(other.time_zone().iana_name(), Some("Asia/Shanghai"));
}

#[test]
fn a_region_with_a_bad_code_or_zone_is_refused() {
    let (field, _) = invalid_field(builtin_with(
        "[escalation]",
        "[regions.\"bad code\"]\n\n[escalation]",
    ));
    assert_eq!(field, "regions.bad code");
    let (field, _) = invalid_field(builtin_with(
        "[escalation]",
        "[regions.X]\ntime_zone = \"Nowhere/Land\"\n\n[escalation]",
    ));
    assert_eq!(field, "regions.X.time_zone");
}

#[test]
fn authority_limits_kinds_and_amounts() {
    let policy = Policy::builtin();
    let amount = |fen| Money::new(fen).expect("amount");
    assert!(policy.may_approve(
        Level::ServiceManager,
        CompensationKind::Discount,
        amount(500_000)
    ));
    assert!(!policy.may_approve(
        Level::ServiceManager,
        CompensationKind::Discount,
        amount(500_001)
    ));
    assert!(!policy.may_approve(
        Level::ServiceManager,
        CompensationKind::RentalCar,
        amount(1)
    ));
    assert!(policy.may_approve(
        Level::ManufacturerCac,
        CompensationKind::RentalCar,
        amount(1)
    ));
    assert!(!policy.may_approve(Level::DealerDesk, CompensationKind::Discount, amount(0)));
}

#[test]
fn ladder_navigation() {
    let policy = Policy::builtin();
    assert_eq!(
        policy.next_level(Level::DealerDesk),
        Some(Level::ManufacturerCac)
    );
    assert_eq!(policy.next_level(Level::RegionalEngineer), None);
    assert_eq!(policy.next_level(Level::ServiceManager), None);
    assert_eq!(policy.rung(Level::RegionalManager), Some(2));
}

#[test]
fn day_slots_follow_local_time() {
    let policy = Policy::builtin();
    let cn = region("CN");
    assert_eq!(
        policy.day_slot(&cn, at("2025-09-01T09:00:00+08:00")),
        Some(DaySlot::Morning)
    );
    assert_eq!(
        policy.day_slot(&cn, at("2025-09-01T12:00:00+08:00")),
        Some(DaySlot::Afternoon)
    );
    assert_eq!(
        policy.day_slot(&cn, at("2025-09-01T20:59:00+08:00")),
        Some(DaySlot::Evening)
    );
    assert_eq!(policy.day_slot(&cn, at("2025-09-01T21:00:00+08:00")), None);
    assert_eq!(policy.day_slot(&cn, at("2025-09-01T08:59:00+08:00")), None);
}

#[test]
fn severity_rules() {
    let policy = Policy::builtin();
    assert!(policy.reports_immediately(Severity::Major, None));
    assert!(policy.reports_immediately(Severity::Normal, Some(EmergencyKind::Flood)));
    assert!(!policy.reports_immediately(Severity::Normal, None));
    assert!(policy.needs_progress_reports(Severity::Urgent));
    assert!(!policy.needs_progress_reports(Severity::Normal));
}

#[test]
fn the_builtin_calendar_says_which_years_it_covers_and_that_2027_is_provisional() {
    let policy = Policy::builtin();
    let calendar = policy.default_calendar();
    assert_eq!(
        calendar.last_covered_day(),
        Some(jiff::civil::date(2027, 12, 31))
    );
    assert_eq!(calendar.provisional_years().collect::<Vec<_>>(), [2027]);
    assert!(!calendar.is_working_day(jiff::civil::date(2027, 10, 4)));
    assert!(calendar.covers(at("2027-06-01T00:00:00Z")));
    assert!(!calendar.covers(at("2028-01-03T02:00:00Z")));
    // Today the calendar has 394 days left: only the provisional year is worth a word.
    let today = at("2026-12-02T02:00:00Z");
    assert_eq!(policy.calendar_days_left(today), Some(394));
    assert_eq!(
        policy.calendar_notices(today, CALENDAR_WARNING_DAYS),
        [CalendarNotice::Provisional {
            calendar: "calendar".into(),
            year: 2027
        }]
    );
}

#[test]
fn a_calendar_that_ends_within_ninety_days_is_reported_with_the_days_left() {
    let policy = builtin_with("    { year = 2027, provisional = true },\n", "");
    let policy = match policy {
        // The 2027 dates are then outside the listed years.
        Err(err) => {
            let (field, reason) = invalid_field(Err(err));
            assert!(field.starts_with("calendar.holidays["), "{field}");
            assert!(reason.contains("does not list"), "{reason}");
            let text = BUILTIN_TOML
                .replacen("    { year = 2027, provisional = true },\n", "", 1)
                .lines()
                .filter(|line| !line.contains("\"2027-"))
                .collect::<Vec<_>>()
                .join("\n");
            Policy::from_toml_str(&text).expect("2025 and 2026 only")
        }
        Ok(policy) => panic!("2027 dates accepted without 2027 listed: {policy:?}"),
    };
    let notices = policy.calendar_notices(at("2026-12-02T02:00:00Z"), CALENDAR_WARNING_DAYS);
    assert_eq!(
        notices,
        [CalendarNotice::EndsSoon {
            calendar: "calendar".into(),
            last_day: jiff::civil::date(2026, 12, 31),
            days_left: 29,
        }]
    );
    assert!(
        notices[0].to_string().contains("in 29 days"),
        "{}",
        notices[0]
    );
    let ended = policy.calendar_notices(at("2027-01-05T02:00:00Z"), CALENDAR_WARNING_DAYS);
    assert!(ended[0].to_string().contains("5 days ago"), "{}", ended[0]);
    assert!(
        policy
            .calendar_notices(at("2026-09-01T02:00:00Z"), CALENDAR_WARNING_DAYS)
            .is_empty()
    );
}

#[test]
fn calendar_years_are_listed_once_and_default_to_the_years_of_the_dates() {
    let (field, reason) = invalid_field(builtin_with(
        "    { year = 2026 },\n",
        "    { year = 2026 },\n    { year = 2026 },\n",
    ));
    assert_eq!(field, "calendar.years[2].year");
    assert!(reason.contains("twice"), "{reason}");
    // A policy file written before `years` existed covers the years of its dates.
    let start = BUILTIN_TOML.find("years = [").expect("years");
    let end = start + BUILTIN_TOML[start..].find("]\n").expect("end") + 2;
    let mut text = BUILTIN_TOML.to_owned();
    text.replace_range(start..end, "");
    let policy = Policy::from_toml_str(&text).expect("valid without years");
    assert_eq!(
        policy.default_calendar().last_covered_day(),
        Some(jiff::civil::date(2027, 12, 31))
    );
    assert_eq!(policy.default_calendar().provisional_years().count(), 0);
}

/// `policy show` prints the document: the clocks of issue 13 §4 are in it.
#[test]
fn the_printed_policy_shows_the_plan_promise_cac_feedback_and_result_report() {
    let printed = Policy::builtin().to_toml_string().expect("prints");
    for table in [
        "[deadlines.plan_promise]",
        "[deadlines.cac_feedback]",
        "[deadlines.result_report]",
    ] {
        assert!(printed.contains(table), "{table} missing from\n{printed}");
    }
    let again = Policy::from_toml_str(&printed).expect("reads back");
    assert_eq!(again.document().deadlines.result_report.business_days, 3);
}

/// A policy file written before those clocks existed still loads, with their defaults.
#[test]
fn an_older_policy_file_without_the_new_clocks_gets_their_defaults() {
    let start = BUILTIN_TOML
        .find("[deadlines.plan_promise]")
        .expect("in default.toml");
    let end = BUILTIN_TOML
        .find("[deadlines.progress_report]")
        .expect("in default.toml");
    let older = format!("{}{}", &BUILTIN_TOML[..start], &BUILTIN_TOML[end..]);
    let policy = Policy::from_toml_str(&older).expect("older file loads");
    let deadlines = &policy.document().deadlines;
    assert_eq!(deadlines.plan_promise.warn_at_percent, Some(75));
    assert_eq!(deadlines.cac_feedback.warn_at_percent, Some(75));
    assert_eq!(deadlines.result_report.business_days, 3);
}
