use super::*;
use crate::actor::Role::*;
use crate::events::*;
use crate::state::replay;
use crate::testkit::*;
use crate::vocabulary::*;

/// A September 2025 instant in Beijing time (1 September is a Monday).
fn t(day: u8, hm: &str) -> Timestamp {
    at(&format!("2025-09-{day:02}T{hm}:00+08:00"))
}

fn open(h: &Harness) -> Vec<Deadline> {
    open_deadlines(h.state(), &h.policy)
}

fn find(h: &Harness, kind: DeadlineKind) -> Option<Deadline> {
    open(h).into_iter().find(|deadline| deadline.kind == kind)
}

#[track_caller]
fn get(h: &Harness, kind: DeadlineKind) -> Deadline {
    find(h, kind).unwrap_or_else(|| panic!("no open {kind} deadline in {:?}", open(h)))
}

fn kinds(h: &Harness) -> Vec<DeadlineKind> {
    let mut kinds: Vec<DeadlineKind> = open(h).iter().map(|d| d.kind).collect();
    kinds.sort();
    kinds
}

fn filed_with(change: impl FnOnce(&mut Filed), when: Timestamp) -> Harness {
    let mut filing = seed_004_filing();
    change(&mut filing);
    let mut h = Harness::new();
    h.try_at(filing, DealerStaff, when).expect("filed");
    h
}

fn filed_monday() -> Harness {
    filed_with(|_| {}, t(1, "10:00"))
}

/// Filed Monday 10:00; option O1 (promised Wednesday 17:00) proposed at
/// 11:00 and accepted at `accepted_at`.
fn agreed_monday(accepted_at: &str) -> Harness {
    let mut h = filed_monday();
    h.try_at(
        proposal(&[("O1", t(3, "17:00"))]),
        DealerStaff,
        t(1, "11:00"),
    )
    .expect("propose");
    h.try_at(accept("O1"), DealerStaff, t(1, accepted_at))
        .expect("accept");
    h
}

/// Runs the timer for `deadline` at `now` and appends what it produces.
fn fire(
    h: &mut Harness,
    deadline: &Deadline,
    stage: DueStage,
    now: Timestamp,
) -> Vec<&'static str> {
    let events = on_deadline_due(h.state(), deadline, stage, &h.policy, now);
    let types = events.iter().map(ComplaintEvent::event_type).collect();
    for event in events {
        h.try_at(event, Engine, now)
            .expect("timer event passes check");
    }
    types
}

#[test]
fn a_fresh_normal_case_owes_a_same_day_report_and_a_result_in_three_business_days() {
    let h = filed_monday();
    assert_eq!(
        kinds(&h),
        vec![
            DeadlineKind::ReportToCac,
            DeadlineKind::Result,
            DeadlineKind::ResultReport
        ]
    );
    // The result is reported to the CAC within the same 3 business days (五(4)).
    assert_eq!(get(&h, DeadlineKind::ResultReport).due_at, t(4, "10:00"));
    let report = get(&h, DeadlineKind::ReportToCac);
    assert_eq!(report.due_at, t(1, "17:30"));
    // 75 % of the 7.5 business hours left that day.
    assert_eq!(report.warn_at, Some(at("2025-09-01T15:37:30+08:00")));
    let result = get(&h, DeadlineKind::Result);
    assert_eq!(result.due_at, t(4, "10:00"));
    // 75 % of 27 business hours = 20h15m: Mon 7.5h, Tue 9h, Wed 3h45m.
    assert_eq!(result.warn_at, Some(t(3, "12:15")));
    assert_eq!(
        result.key,
        DeadlineKey {
            kind: DeadlineKind::Result,
            started_by: 1,
            generation: 0
        }
    );
}

#[test]
fn reporting_to_the_cac_ends_that_deadline() {
    let mut h = filed_monday();
    h.try_at(reported_to_cac(), DealerStaff, t(1, "11:00"))
        .expect("report");
    assert_eq!(find(&h, DeadlineKind::ReportToCac), None);
}

/// Seed 002 五(2), (4): a complaint the CAC pushed to the dealer is recorded and fed
/// back to the CAC the same business day, whatever its severity; the dealer's report is
/// that feedback.
#[test]
fn a_case_pushed_by_the_cac_owes_feedback_the_same_business_day() {
    for severity in [Severity::Normal, Severity::Major] {
        let mut h = filed_with(
            |f| {
                f.origin = Origin::ManufacturerCac;
                f.severity = severity;
            },
            t(1, "10:00"),
        );
        assert_eq!(find(&h, DeadlineKind::ReportToCac), None);
        let feedback = get(&h, DeadlineKind::CacFeedback);
        assert_eq!(feedback.due_at, t(1, "17:30"), "{severity}");
        assert_eq!(get(&h, DeadlineKind::ResultReport).due_at, t(4, "10:00"));
        h.try_at(reported_to_cac(), DealerStaff, t(1, "16:00"))
            .expect("feedback");
        assert_eq!(find(&h, DeadlineKind::CacFeedback), None);
    }
}

/// Seed 002 step 1 and seed 001: the plan date told at reception is a promise; missed,
/// the customer is called with the progress and a new date, which starts it again.
#[test]
fn a_plan_promised_at_reception_warns_falls_due_and_starts_again_with_a_new_date() {
    let mut h = filed_monday();
    h.try_at(
        Acknowledged {
            confirmed_facts: text("waited an hour"),
            plan_promised_by: Some(t(1, "16:00")),
        },
        DealerStaff,
        t(1, "11:00"),
    )
    .expect("acknowledged");
    let promise = get(&h, DeadlineKind::PlanPromise);
    assert_eq!(promise.due_at, t(1, "16:00"));
    // 75 % of the 5 hours between the promise and its date.
    assert_eq!(promise.warn_at, Some(t(1, "14:45")));
    assert_eq!(
        fire(&mut h, &promise, DueStage::Due, t(1, "16:00")),
        ["complaint.deadline_missed"],
        "a missed plan date is overdue, not escalated"
    );
    assert!(
        tracked_deadlines(h.state(), &h.policy)
            .iter()
            .any(|d| d.deadline.kind == DeadlineKind::PlanPromise && d.is_overdue())
    );
    h.try_at(
        PlanPromiseRenewed {
            new_date: t(2, "12:00"),
            progress: text("the workshop is still testing the pump"),
        },
        DealerStaff,
        t(1, "16:30"),
    )
    .expect("called with a new date");
    let renewed = get(&h, DeadlineKind::PlanPromise);
    assert_eq!(renewed.due_at, t(2, "12:00"));
    assert!(!h.state().fired.contains(&renewed.key), "a new promise");
    h.try_at(
        proposal(&[("O1", t(3, "17:00"))]),
        DealerStaff,
        t(2, "11:00"),
    )
    .expect("plan");
    assert_eq!(find(&h, DeadlineKind::PlanPromise), None, "kept");
}

#[test]
fn filed_after_hours_the_same_day_report_is_due_next_business_day() {
    let friday_night = filed_with(|_| {}, t(5, "19:00"));
    assert_eq!(
        get(&friday_night, DeadlineKind::ReportToCac).due_at,
        t(8, "17:30")
    );
    assert_eq!(
        get(&friday_night, DeadlineKind::Result).due_at,
        t(10, "17:30")
    );
}

#[test]
fn major_cases_report_within_the_hour_even_at_night_and_owe_progress_reports() {
    let h = filed_with(|f| f.severity = Severity::Major, t(6, "22:00"));
    let report = get(&h, DeadlineKind::ReportToCac);
    assert_eq!(report.due_at, t(6, "23:00"));
    assert_eq!(report.warn_at, Some(t(6, "22:45")));
    assert_eq!(get(&h, DeadlineKind::ProgressReport).due_at, t(7, "22:00"));
}

#[test]
fn waiting_for_the_customer_stops_the_result_clock_but_not_the_report() {
    let mut h = filed_monday();
    h.try_at(paused(WaitingFor::Customer), DealerStaff, t(1, "11:00"))
        .expect("pause");
    assert_eq!(
        kinds(&h),
        vec![DeadlineKind::ReportToCac],
        "result clock is suspended"
    );
    h.try_at(resumed(), DealerStaff, t(2, "11:00"))
        .expect("resume");
    // Paused for 9 business hours (Mon 11:00 - Tue 11:00), so due 9h later.
    assert_eq!(get(&h, DeadlineKind::Result).due_at, t(5, "10:00"));
    assert_eq!(
        get(&h, DeadlineKind::Result).key.started_by,
        1,
        "same instance, moved"
    );
}

#[test]
fn waiting_for_parts_stops_the_result_clock_but_not_progress_reports() {
    let mut h = filed_with(|f| f.severity = Severity::Major, t(1, "10:00"));
    h.try_at(paused(WaitingFor::Parts), DealerStaff, t(1, "11:00"))
        .expect("pause");
    assert_eq!(find(&h, DeadlineKind::Result), None);
    assert_eq!(get(&h, DeadlineKind::ProgressReport).due_at, t(2, "10:00"));
}

#[test]
fn an_agreed_plan_replaces_the_result_clock_with_the_promise() {
    let h = agreed_monday("13:00");
    assert_eq!(find(&h, DeadlineKind::Result), None);
    let promise = get(&h, DeadlineKind::Promise);
    assert_eq!(promise.due_at, t(3, "17:00"));
    // 75 % of the 52 wall-clock hours.
    assert_eq!(promise.warn_at, Some(t(3, "04:00")));
}

#[test]
fn changing_the_promise_date_moves_the_deadline_under_a_new_key() {
    let mut h = agreed_monday("13:00");
    let before = get(&h, DeadlineKind::Promise);
    let change = PromiseDateChanged {
        new_date: t(8, "17:00"),
        reason: text("part delayed"),
    };
    h.try_at(change, DealerStaff, t(3, "10:00"))
        .expect("change");
    let after = get(&h, DeadlineKind::Promise);
    assert_eq!(after.due_at, t(8, "17:00"));
    assert_ne!(after.key, before.key);
    assert_eq!(
        on_deadline_due(h.state(), &before, DueStage::Due, &h.policy, t(3, "17:00")),
        vec![]
    );
}

#[test]
fn resolution_starts_the_satisfaction_call_back_clock() {
    let mut h = agreed_monday("13:00");
    h.try_at(resolved(), DealerStaff, t(2, "15:00"))
        .expect("resolve");
    assert_eq!(find(&h, DeadlineKind::Promise), None);
    assert_eq!(
        get(&h, DeadlineKind::SatisfactionCallback).due_at,
        t(5, "15:00")
    );
    h.try_at(satisfaction(5), DealerStaff, t(3, "10:00"))
        .expect("follow-up");
    assert_eq!(find(&h, DeadlineKind::SatisfactionCallback), None);
}

#[test]
fn unanswered_calls_are_retried_at_other_times_of_day_then_the_customer_is_unreachable() {
    let mut h = agreed_monday("11:30");
    h.try_at(resolved(), DealerStaff, t(1, "15:00"))
        .expect("resolve");
    h.try_at(call(false), DealerStaff, t(2, "09:30"))
        .expect("call 1");
    let retry = get(&h, DeadlineKind::CallbackRetry);
    assert_eq!(retry.due_at, t(2, "12:00"));
    assert_eq!(
        fire(&mut h, &retry, DueStage::Due, t(2, "12:00")),
        vec!["complaint.callback_due"]
    );
    assert_eq!(find(&h, DeadlineKind::CallbackRetry), None, "fired once");

    h.try_at(call(false), DealerStaff, t(2, "12:30"))
        .expect("call 2");
    assert_eq!(get(&h, DeadlineKind::CallbackRetry).due_at, t(2, "18:00"));
    h.try_at(call(false), DealerStaff, t(2, "18:30"))
        .expect("call 3");
    let mark = get(&h, DeadlineKind::MarkUnreachable);
    assert_eq!(mark.due_at, t(2, "18:30"));
    assert_eq!(
        fire(&mut h, &mark, DueStage::Due, t(2, "18:31")),
        vec!["complaint.customer_unreachable"]
    );
    assert!(h.state().contacts.unreachable.is_some());
    assert_eq!(find(&h, DeadlineKind::MarkUnreachable), None);
}

#[test]
fn a_missed_result_escalates_one_level_and_restarts_the_clock_for_the_new_owner() {
    let mut h = filed_monday();
    let result = get(&h, DeadlineKind::Result);
    assert_eq!(
        fire(&mut h, &result, DueStage::Due, result.due_at),
        vec!["complaint.deadline_missed", "complaint.escalated"]
    );
    assert_eq!(h.state().level, Level::ManufacturerCac);
    let next = get(&h, DeadlineKind::Result);
    assert_eq!(
        next.key.started_by,
        h.state().version,
        "started by the escalation"
    );
    assert_eq!(next.due_at, t(9, "10:00"));
}

#[test]
fn at_the_top_of_the_ladder_a_miss_is_only_recorded() {
    let mut h = filed_monday();
    let up = Escalated {
        from: Level::DealerDesk,
        to: Level::RegionalEngineer,
        reason: EscalationReason::Severity,
        note: None,
    };
    h.try_at(up, CacAgent, t(1, "11:00")).expect("escalate");
    let result = get(&h, DeadlineKind::Result);
    assert_eq!(
        fire(&mut h, &result, DueStage::Due, result.due_at),
        vec!["complaint.deadline_missed"]
    );
    assert_eq!(find(&h, DeadlineKind::Result), None);
}

#[test]
fn warnings_fire_once_and_only_when_their_time_has_come() {
    let mut h = filed_monday();
    let report = get(&h, DeadlineKind::ReportToCac);
    let warn_at = report.warn_at.expect("warns");
    assert_eq!(
        on_deadline_due(
            h.state(),
            &report,
            DueStage::Warning,
            &h.policy,
            t(1, "12:00")
        ),
        vec![]
    );
    assert_eq!(
        on_deadline_due(h.state(), &report, DueStage::Due, &h.policy, warn_at),
        vec![]
    );
    assert_eq!(
        fire(&mut h, &report, DueStage::Warning, warn_at),
        vec!["complaint.deadline_warning"]
    );
    let again = get(&h, DeadlineKind::ReportToCac);
    assert_eq!((again.key, again.warn_at), (report.key, None));
    assert_eq!(
        on_deadline_due(
            h.state(),
            &report,
            DueStage::Warning,
            &h.policy,
            report.due_at
        ),
        vec![]
    );
}

#[test]
fn reopening_restarts_the_result_clock_and_the_cac_report() {
    let mut h = filed_monday();
    h.try_at(reported_to_cac(), DealerStaff, t(1, "11:00"))
        .expect("report");
    h.try_at(
        proposal(&[("O1", t(3, "17:00"))]),
        DealerStaff,
        t(1, "11:30"),
    )
    .expect("propose");
    h.try_at(accept("O1"), DealerStaff, t(1, "12:00"))
        .expect("accept");
    h.try_at(resolved(), DealerStaff, t(2, "10:00"))
        .expect("resolve");
    h.try_at(satisfaction(2), DealerStaff, t(3, "10:00"))
        .expect("follow-up");
    h.try_at(
        Reopened {
            reason: text("still unhappy"),
        },
        DealerStaff,
        t(3, "10:30"),
    )
    .expect("reopen");
    let reopened_by = h.state().version;
    assert_eq!(
        kinds(&h),
        vec![
            DeadlineKind::ReportToCac,
            DeadlineKind::Result,
            DeadlineKind::ResultReport
        ]
    );
    let result = get(&h, DeadlineKind::Result);
    assert_eq!(result.key.started_by, reopened_by);
    assert_eq!(result.due_at, t(8, "10:30"));
    assert_eq!(get(&h, DeadlineKind::ReportToCac).due_at, t(3, "17:30"));
}

#[test]
fn emergencies_need_an_engineer_on_site() {
    let mut h = filed_with(
        |f| {
            f.severity = Severity::Urgent;
            f.emergency = Some(EmergencyKind::VehicleFire);
        },
        t(6, "20:00"),
    );
    let dispatch = get(&h, DeadlineKind::EngineerDispatch);
    assert_eq!(dispatch.due_at, t(6, "22:00"));
    let engineer = EngineerDispatched {
        engineer: label("Zhao"),
        expected_arrival: t(6, "23:30"),
    };
    h.try_at(engineer, RegionalEngineer, t(6, "21:00"))
        .expect("dispatch");
    assert_eq!(find(&h, DeadlineKind::EngineerDispatch), None);
    assert_eq!(get(&h, DeadlineKind::EngineerArrival).due_at, t(6, "23:30"));
    let appraisal = OnSiteAppraisalRecorded {
        findings: text("wiring fire"),
    };
    h.try_at(appraisal, RegionalEngineer, t(6, "23:40"))
        .expect("appraisal");
    assert_eq!(find(&h, DeadlineKind::EngineerArrival), None);
}

#[test]
fn a_missed_progress_report_is_one_overdue_obligation_until_one_is_sent() {
    let mut h = filed_with(|f| f.severity = Severity::Special, t(1, "10:00"));
    let first = get(&h, DeadlineKind::ProgressReport);
    assert_eq!(
        fire(&mut h, &first, DueStage::Due, first.due_at),
        vec!["complaint.progress_report_due"]
    );
    assert_eq!(
        find(&h, DeadlineKind::ProgressReport),
        None,
        "no new reminder every period while nobody reports"
    );
    let overdue = tracked_deadlines(h.state(), &h.policy)
        .into_iter()
        .find(|t| t.deadline.key == first.key)
        .expect("still tracked");
    assert!(overdue.is_overdue());
    h.try_at(
        ProgressReported {
            summary: text("parts ordered"),
        },
        DealerStaff,
        t(4, "15:00"),
    )
    .expect("report");
    let next = get(&h, DeadlineKind::ProgressReport);
    assert_eq!((next.due_at, next.key.generation), (t(5, "15:00"), 0));
    assert!(
        tracked_deadlines(h.state(), &h.policy)
            .iter()
            .all(|t| !t.is_overdue())
    );
}

#[test]
fn progress_reports_fired_one_by_one_in_older_logs_are_one_overdue_obligation() {
    let mut h = filed_with(|f| f.severity = Severity::Major, t(1, "10:00"));
    let first = get(&h, DeadlineKind::ProgressReport);
    // Schema 1 logs fired generation after generation of the same clock.
    for generation in 0..3 {
        let key = DeadlineKey {
            generation,
            ..first.key
        };
        h.append(
            ProgressReportDue {
                deadline: key,
                missed_periods: 1,
                overdue_since: None,
            },
            Engine,
            first.due_at + SignedDuration::from_hours(24 * i64::from(generation)),
        );
    }
    assert_eq!(find(&h, DeadlineKind::ProgressReport), None);
    assert!(
        tracked_deadlines(h.state(), &h.policy)
            .iter()
            .any(|t| t.deadline.key == first.key && t.is_overdue())
    );
}

/// Fires every warning and due moment reached by `now`, earliest first, as the
/// scheduler does after downtime, until nothing more is due. Returns what was appended.
fn catch_up(h: &mut Harness, now: Timestamp) -> Vec<ComplaintEvent> {
    let mut appended = Vec::new();
    let mut attempted = std::collections::BTreeSet::new();
    loop {
        let next = open(h)
            .into_iter()
            .flat_map(|d| {
                let warning = d.warn_at.map(|at| (at, d, DueStage::Warning));
                [warning, Some((d.due_at, d, DueStage::Due))]
            })
            .flatten()
            .filter(|(at, d, stage)| {
                *at <= now && !attempted.contains(&(d.key, *stage == DueStage::Due))
            })
            .min_by_key(|(at, d, _)| (*at, d.key));
        let Some((_, deadline, stage)) = next else {
            return appended;
        };
        attempted.insert((deadline.key, stage == DueStage::Due));
        for event in on_deadline_due(h.state(), &deadline, stage, &h.policy, now) {
            // A late firing is stamped when it is appended, as the scheduler does.
            h.try_at(event.clone(), Engine, now)
                .expect("timer event passes check");
            appended.push(event);
        }
    }
}

#[test]
fn months_of_downtime_append_a_bounded_catch_up_with_one_progress_report_due() {
    // A vehicle fire left open; the engine comes back 275 days later.
    let filed_at = t(1, "10:00");
    let mut h = filed_with(
        |f| {
            f.severity = Severity::Major;
            f.emergency = Some(EmergencyKind::VehicleFire);
        },
        filed_at,
    );
    let now = filed_at + SignedDuration::from_hours(24 * 275);
    let events = catch_up(&mut h, now);
    let types: Vec<&str> = events.iter().map(ComplaintEvent::event_type).collect();
    let progress: Vec<&ProgressReportDue> = events
        .iter()
        .filter_map(|e| match e {
            ComplaintEvent::ProgressReportDue(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(progress.len(), 1, "{types:?}");
    assert_eq!(progress[0].missed_periods, 275);
    assert_eq!(
        progress[0].overdue_since,
        Some(filed_at + SignedDuration::from_hours(24))
    );
    assert!(
        !types.contains(&"complaint.deadline_warning"),
        "no warning for a deadline already missed: {types:?}"
    );
    // The report to the CAC missed and escalated once (the new owner's result clock
    // starts when the case reaches it), the engineer's dispatch missed, one progress
    // report due, the result report to the CAC missed (it does not escalate).
    assert_eq!(h.state().level, Level::ManufacturerCac);
    assert_eq!(
        types,
        [
            "complaint.deadline_missed",
            "complaint.escalated",
            "complaint.deadline_missed",
            "complaint.progress_report_due",
            "complaint.deadline_missed",
        ]
    );
    // Another pass finds nothing: the catch-up is complete and bounded.
    assert!(catch_up(&mut h, now).is_empty());
}

#[test]
fn a_warning_fires_while_its_deadline_is_ahead_and_not_once_it_passed() {
    let h = filed_monday();
    let report = get(&h, DeadlineKind::ReportToCac);
    let warn_at = report.warn_at.expect("warns");
    let state = h.state();
    assert_eq!(
        on_deadline_due(state, &report, DueStage::Warning, &h.policy, warn_at).len(),
        1
    );
    assert!(
        on_deadline_due(state, &report, DueStage::Warning, &h.policy, report.due_at).is_empty()
    );
}

#[test]
fn a_closed_case_has_no_deadlines() {
    let mut h = agreed_monday("11:30");
    h.try_at(resolved(), DealerStaff, t(1, "15:00"))
        .expect("resolve");
    h.try_at(satisfaction(4), DealerStaff, t(2, "10:00"))
        .expect("follow-up");
    h.try_at(closed(), DealerStaff, t(2, "10:05"))
        .expect("close");
    assert_eq!(open(&h), vec![]);
}

#[test]
fn replay_gives_the_same_deadlines() {
    let mut h = filed_monday();
    h.try_at(paused(WaitingFor::ThirdParty), DealerStaff, t(1, "12:00"))
        .expect("pause");
    h.try_at(resumed(), DealerStaff, t(2, "12:00"))
        .expect("resume");
    let replayed = replay(h.log.iter().map(|(event, meta)| (event, meta))).expect("state");
    assert_eq!(&replayed, h.state());
    assert_eq!(open_deadlines(&replayed, &h.policy), open(&h));
}

#[test]
fn tracked_deadlines_keep_a_missed_clock_as_overdue_until_it_is_met() {
    let mut h = filed_monday();
    let report = get(&h, DeadlineKind::ReportToCac);
    let late = report.due_at + SignedDuration::from_mins(1);
    fire(&mut h, &report, DueStage::Due, late);
    let tracked = tracked_deadlines(h.state(), &h.policy);
    let missed = tracked
        .iter()
        .find(|t| t.deadline.key == report.key)
        .expect("still tracked");
    assert!(missed.is_overdue());
    assert!(
        find(&h, DeadlineKind::ReportToCac).is_none(),
        "no longer open"
    );
    h.try_at(
        reported_to_cac(),
        DealerStaff,
        late + SignedDuration::from_mins(5),
    )
    .expect("report");
    let tracked = tracked_deadlines(h.state(), &h.policy);
    assert!(tracked.iter().all(|t| !t.is_overdue()), "{tracked:?}");
}

#[test]
fn an_event_that_meets_a_deadline_in_time_is_counted_met_and_late_is_counted_late() {
    for (when, outcome) in [
        (t(1, "15:00"), DeadlineOutcome::Met),
        (t(2, "09:00"), DeadlineOutcome::MetLate),
    ] {
        let mut h = filed_monday();
        let policy = h.policy.clone();
        let before = Obligations::of(h.state(), &policy);
        h.try_at(reported_to_cac(), DealerStaff, when)
            .expect("report");
        let met = before.met_by(h.state(), when, &policy);
        assert_eq!(met, vec![(DeadlineKind::ReportToCac, outcome)]);
    }
}

#[test]
fn pausing_is_not_meeting_and_a_note_meets_nothing() {
    let mut h = filed_monday();
    let policy = h.policy.clone();
    let before = Obligations::of(h.state(), &policy);
    h.try_at(paused(WaitingFor::Customer), DealerStaff, t(1, "11:00"))
        .expect("pause");
    assert!(
        before
            .met_by(h.state(), t(1, "11:00"), &h.policy)
            .is_empty()
    );
    let before = Obligations::of(h.state(), &policy);
    h.try_at(
        NoteAdded {
            text: text("called the workshop"),
        },
        DealerStaff,
        t(1, "11:30"),
    )
    .expect("note");
    assert!(
        before
            .met_by(h.state(), t(1, "11:30"), &h.policy)
            .is_empty()
    );
}

#[test]
fn a_progress_report_counts_the_periods_missed_by_the_time_it_fires() {
    let mut h = filed_with(|f| f.severity = Severity::Major, t(1, "10:00"));
    let report = get(&h, DeadlineKind::ProgressReport);
    assert_eq!(report.due_at, t(2, "10:00"));
    assert_eq!(report.warn_at, Some(t(2, "04:00")));
    // Noticed at Friday 09:59: Tuesday's, Wednesday's and Thursday's reports were missed.
    let events = on_deadline_due(h.state(), &report, DueStage::Due, &h.policy, t(5, "09:59"));
    assert_eq!(
        events,
        vec![
            ProgressReportDue {
                deadline: report.key,
                missed_periods: 3,
                overdue_since: Some(t(2, "10:00")),
            }
            .into()
        ]
    );
    for event in events {
        h.try_at(event, Engine, t(5, "09:59"))
            .expect("passes check");
    }
}

#[test]
fn a_policy_that_escalates_missed_progress_reports_escalates_once() {
    let mut doc = Policy::builtin().document().clone();
    doc.deadlines
        .escalate_when_missed
        .push(DeadlineKind::ProgressReport);
    let policy = Policy::from_document(doc).expect("valid policy");
    let mut h = Harness::with_policy(policy);
    let mut filing = seed_004_filing();
    filing.severity = Severity::Major;
    h.try_at(filing, DealerStaff, t(1, "10:00")).expect("filed");
    h.try_at(reported_to_cac(), DealerStaff, t(1, "10:30"))
        .expect("reported");
    let report = get(&h, DeadlineKind::ProgressReport);
    let types = fire(&mut h, &report, DueStage::Due, t(9, "10:00"));
    assert_eq!(
        types,
        vec!["complaint.progress_report_due", "complaint.escalated"]
    );
    assert_eq!(h.state().level, Level::ManufacturerCac);
    assert_eq!(find(&h, DeadlineKind::ProgressReport), None);
}

#[test]
fn a_deadline_past_the_calendars_last_year_is_flagged_and_counted_on_weekends_only() {
    let policy = Policy::builtin();
    // Filed Thursday 2027-12-30 10:00: 3 business days run into 2028, whose holidays
    // are not listed, so they are counted on the working week alone: the result is due
    // Tuesday 2028-01-04 10:00.
    let mut h = Harness::with_policy(policy.clone());
    h.try_at(
        seed_004_filing(),
        DealerStaff,
        at("2027-12-30T10:00:00+08:00"),
    )
    .expect("filed");
    let result = get(&h, DeadlineKind::Result);
    assert_eq!(result.due_at, at("2028-01-04T10:00:00+08:00"));
    assert!(beyond_calendar(h.state(), &result, &policy));
    let report = get(&h, DeadlineKind::ReportToCac);
    assert!(
        !beyond_calendar(h.state(), &report, &policy),
        "due inside the calendar"
    );
    // In a covered year, nothing to say.
    let h = filed_monday();
    let result = get(&h, DeadlineKind::Result);
    assert!(!beyond_calendar(h.state(), &result, &h.policy));
}
