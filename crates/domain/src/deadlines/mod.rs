//! The open deadlines of a complaint, computed from its state and the
//! policy, and the events the timer scheduler appends when one warns or
//! falls due. Pure: the scheduler owns the clock and the timers.

mod callback;
mod clock;
mod key;

pub use key::{DeadlineKey, DeadlineKind};

use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

use clock::{Measure, Stop, run_until, share};

use super::calendar::BusinessCalendar;
use super::events::{self, ComplaintEvent};
use super::policy::Policy;
use super::state::{ComplaintState, Milestone};
use super::vocabulary::{DaySlot, EscalationReason, Origin};

/// One deadline the scheduler should hold a timer for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub kind: DeadlineKind,
    pub key: DeadlineKey,
    pub due_at: Timestamp,
    /// `None` when the policy asks for no warning or it was already given.
    pub warn_at: Option<Timestamp>,
}

/// Which of a deadline's two moments has come.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DueStage {
    Warning,
    Due,
}

/// When a clock ends.
#[derive(Debug, Clone, Copy)]
enum End {
    /// After this much wall-clock time (may be paused).
    AfterWall(SignedDuration),
    /// After this much business time (may be paused).
    AfterBusiness(SignedDuration),
    /// At a fixed instant (a promised date, an announced arrival).
    At(Timestamp),
    /// At the end of the business day the clock started in.
    SameBusinessDay,
}

/// A running clock before its instants are worked out.
#[derive(Debug, Clone, Copy)]
struct Clock {
    key: DeadlineKey,
    start: Timestamp,
    end: End,
    warn_at_percent: Option<u8>,
}

impl Clock {
    fn new(kind: DeadlineKind, started_by: Milestone, generation: u32, end: End) -> Self {
        Self {
            key: DeadlineKey {
                kind,
                started_by: started_by.version,
                generation,
            },
            start: started_by.at,
            end,
            warn_at_percent: None,
        }
    }

    fn warn_at(mut self, percent: Option<u8>) -> Self {
        self.warn_at_percent = percent;
        self
    }
}

/// The stops that apply to a clock of `kind`, per the policy.
fn stops_for(state: &ComplaintState, kind: DeadlineKind, policy: &Policy) -> Vec<Stop> {
    state
        .pauses
        .iter()
        .filter(|pause| policy.pauses(pause.waiting_for, kind))
        .map(|pause| Stop {
            starts: pause.started.at,
            ends: pause.ended_at,
        })
        .collect()
}

/// How a clock's time is counted and how much of it runs, and the instant it is due;
/// `None` while it is paused (or in the unlikely case the calendar runs out of range).
fn due_moment<'p>(
    clock: &Clock,
    stops: &[Stop],
    calendar: &'p BusinessCalendar,
) -> Option<(Measure<'p>, SignedDuration, Timestamp)> {
    let business = Measure::Business(calendar);
    // Duration clocks run (and pause); fixed instants warn at a share of
    // the time between start and due, counted the same way.
    Some(match clock.end {
        End::AfterWall(amount) => (
            Measure::Wall,
            amount,
            run_until(Measure::Wall, clock.start, amount, stops).ok()??,
        ),
        End::AfterBusiness(amount) => (
            business,
            amount,
            run_until(business, clock.start, amount, stops).ok()??,
        ),
        End::At(due) => (Measure::Wall, due.duration_since(clock.start), due),
        End::SameBusinessDay => {
            let due = calendar.end_of_business_day(clock.start).ok()?;
            (business, business.between(clock.start, due).ok()?, due)
        }
    })
}

/// Works out a clock's due and warning instants; `None` while it is paused.
fn resolve(clock: Clock, state: &ComplaintState, policy: &Policy) -> Option<Deadline> {
    let calendar = policy.calendar(&state.region);
    let stops = stops_for(state, clock.key.kind, policy);
    let (measure, amount, due_at) = due_moment(&clock, &stops, calendar)?;
    let warn_at = clock
        .warn_at_percent
        .filter(|_| !state.warned.contains(&clock.key))
        .and_then(|percent| {
            let stops = match clock.end {
                End::AfterWall(_) | End::AfterBusiness(_) => stops.as_slice(),
                End::At(_) | End::SameBusinessDay => &[],
            };
            run_until(measure, clock.start, share(amount, percent), stops).ok()?
        })
        .filter(|warn| *warn < due_at);
    Some(Deadline {
        kind: clock.key.kind,
        key: clock.key,
        due_at,
        warn_at,
    })
}

fn business_days(days: u32, policy: &Policy, state: &ComplaintState) -> SignedDuration {
    policy.calendar(&state.region).working_day_length() * i32::try_from(days).unwrap_or(i32::MAX)
}

/// The later of two milestones (by stream position).
fn latest(a: Milestone, b: Option<Milestone>) -> Milestone {
    match b {
        Some(b) if b.version > a.version => b,
        _ => a,
    }
}

/// The desk's report to the CAC; for a case the CAC pushed to the dealer, its feedback on
/// the handling, the same business day whatever the severity (the CAC knows the case).
fn report_to_cac_clock(state: &ComplaintState, policy: &Policy) -> Option<Clock> {
    if state.cac_informed_this_round(policy) {
        return None;
    }
    let deadlines = &policy.document().deadlines;
    if state.origin == Origin::ManufacturerCac {
        return Some(
            Clock::new(
                DeadlineKind::CacFeedback,
                state.round_started,
                0,
                End::SameBusinessDay,
            )
            .warn_at(deadlines.cac_feedback.warn_at_percent),
        );
    }
    let spec = &deadlines.report_to_cac;
    let end = if policy.reports_immediately(state.severity, state.emergency) {
        End::AfterWall(SignedDuration::from_mins(i64::from(
            spec.urgent_within_minutes,
        )))
    } else {
        End::SameBusinessDay
    };
    Some(
        Clock::new(DeadlineKind::ReportToCac, state.round_started, 0, end)
            .warn_at(spec.warn_at_percent),
    )
}

/// An agreed plan, or the case resolved, within N business days. Each
/// escalation hands the case to a new owner with a fresh clock, so a case
/// that keeps missing it walks up the ladder.
fn result_clock(state: &ComplaintState, policy: &Policy) -> Option<Clock> {
    if state.resolved.is_some() || state.accepted_option.is_some() {
        return None;
    }
    let doc = policy.document();
    let days = match state.reopen_count {
        0 => doc.deadlines.result.business_days,
        _ => doc.reopen.result_business_days,
    };
    let started_by = latest(state.round_started, state.last_escalation);
    let end = End::AfterBusiness(business_days(days, policy, state));
    Some(
        Clock::new(DeadlineKind::Result, started_by, 0, end)
            .warn_at(doc.deadlines.result.warn_at_percent),
    )
}

fn promise_clock(state: &ComplaintState, policy: &Policy) -> Option<Clock> {
    let promise = state
        .promise
        .as_ref()
        .filter(|_| state.resolved.is_none())?;
    let warn = policy.document().deadlines.promise.warn_at_percent;
    Some(
        Clock::new(
            DeadlineKind::Promise,
            promise.set_by,
            0,
            End::At(promise.due),
        )
        .warn_at(warn),
    )
}

/// The plan date told to the customer at reception, until options are put to them;
/// each call with a new date starts it again.
fn plan_promise_clock(state: &ComplaintState, policy: &Policy) -> Option<Clock> {
    let promise = state.plan_promise_open()?;
    let warn = policy.document().deadlines.plan_promise.warn_at_percent;
    Some(
        Clock::new(
            DeadlineKind::PlanPromise,
            promise.set_by,
            0,
            End::At(promise.due),
        )
        .warn_at(warn),
    )
}

/// The result reported to the CAC, N business days from the start of the round.
fn result_report_clock(state: &ComplaintState, policy: &Policy) -> Option<Clock> {
    if state.result_reported.is_some() {
        return None;
    }
    let spec = &policy.document().deadlines.result_report;
    let end = End::AfterBusiness(business_days(spec.business_days, policy, state));
    Some(
        Clock::new(DeadlineKind::ResultReport, state.round_started, 0, end)
            .warn_at(spec.warn_at_percent),
    )
}

fn satisfaction_callback_clock(state: &ComplaintState, policy: &Policy) -> Option<Clock> {
    let resolved = state.resolved?;
    if state.satisfaction.is_some() || state.contacts.unreachable.is_some() {
        return None;
    }
    let spec = &policy.document().deadlines.satisfaction_callback;
    let end = End::AfterBusiness(business_days(spec.business_days, policy, state));
    Some(
        Clock::new(DeadlineKind::SatisfactionCallback, resolved, 0, end)
            .warn_at(spec.warn_at_percent),
    )
}

/// After an unanswered call: the next try, or, when the tries are used up,
/// marking the customer unreachable right away.
fn callback_clock(state: &ComplaintState, policy: &Policy) -> Option<Clock> {
    if state.contacts.unreachable.is_some() {
        return None;
    }
    let streak = &state.contacts.failed_streak;
    let last = *streak.last()?;
    let attempts = u32::try_from(streak.len()).unwrap_or(u32::MAX);
    if streak.len() >= usize::from(policy.callbacks().max_failed_attempts) {
        return Some(Clock::new(
            DeadlineKind::MarkUnreachable,
            last,
            attempts,
            End::At(last.at),
        ));
    }
    let used: Vec<DaySlot> = streak
        .iter()
        .filter_map(|failed| policy.day_slot(&state.region, failed.at))
        .collect();
    let next = callback::next_attempt_at(policy, &state.region, last.at, &used)?;
    Some(Clock::new(
        DeadlineKind::CallbackRetry,
        last,
        attempts,
        End::At(next),
    ))
}

/// Major cases report progress every N hours until resolved; each report restarts the
/// clock. A period that ends without a report makes the obligation overdue, and it stays
/// one overdue obligation until the next report: the periods that go by meanwhile are
/// counted when it fires, not fired one by one.
fn progress_report_clock(state: &ComplaintState, policy: &Policy) -> Option<Clock> {
    if state.resolved.is_some() || !policy.needs_progress_reports(state.severity) {
        return None;
    }
    let spec = &policy.document().deadlines.progress_report;
    let started_by = latest(state.round_started, state.last_progress_report);
    // Logs written before this rule hold later generations fired after the first one;
    // the first is the obligation they all belong to.
    Some(
        Clock::new(
            DeadlineKind::ProgressReport,
            started_by,
            0,
            End::AfterWall(progress_period(policy)),
        )
        .warn_at(spec.warn_at_percent),
    )
}

fn progress_period(policy: &Policy) -> SignedDuration {
    SignedDuration::from_hours(i64::from(
        policy.document().deadlines.progress_report.every_hours,
    ))
}

/// How many whole progress-report periods had gone by without a report at `now`, for a
/// report first due at `due_at` (at least 1 once it is due).
pub(crate) fn progress_periods_missed(policy: &Policy, due_at: Timestamp, now: Timestamp) -> u32 {
    let period = progress_period(policy).as_secs().max(1);
    let late = now.duration_since(due_at).as_secs().max(0);
    u32::try_from(late / period)
        .unwrap_or(u32::MAX)
        .saturating_add(1)
}

fn engineer_clocks(state: &ComplaintState, policy: &Policy) -> Option<Clock> {
    state.emergency?;
    match state.engineer {
        None if state.resolved.is_none() => {
            let spec = &policy.document().deadlines.engineer_dispatch;
            let end = End::AfterWall(SignedDuration::from_hours(i64::from(spec.within_hours)));
            Some(
                Clock::new(DeadlineKind::EngineerDispatch, state.filed, 0, end)
                    .warn_at(spec.warn_at_percent),
            )
        }
        Some(visit) if visit.appraised.is_none() => Some(Clock::new(
            DeadlineKind::EngineerArrival,
            visit.dispatched,
            0,
            End::At(visit.expected_arrival),
        )),
        _ => None,
    }
}

/// A running clock and what has happened to it so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrackedDeadline {
    pub deadline: Deadline,
    /// Its warning event has been appended.
    pub warned: bool,
    /// Its due event has been appended (for most kinds: it was missed) and the
    /// obligation still stands.
    pub fired: bool,
}

impl TrackedDeadline {
    /// Missed and still unmet: what makes a complaint overdue.
    pub fn is_overdue(&self) -> bool {
        self.fired
            && (records_misses(self.deadline.kind)
                || self.deadline.kind == DeadlineKind::ProgressReport)
    }

    /// Warned, not yet due: what makes a complaint at risk.
    pub fn is_at_risk(&self) -> bool {
        self.warned && !self.fired
    }
}

/// Kinds whose due moment means "missed" and whose meeting statistics judge in time or
/// late (the others prompt an action instead; a progress report that falls due is
/// overdue, but is counted by its own event).
fn records_misses(kind: DeadlineKind) -> bool {
    !matches!(
        kind,
        DeadlineKind::CallbackRetry | DeadlineKind::MarkUnreachable | DeadlineKind::ProgressReport
    )
}

/// Every clock running for the complaint, earliest first, including those already
/// warned or fired. Paused clocks are left out.
pub fn tracked_deadlines(state: &ComplaintState, policy: &Policy) -> Vec<TrackedDeadline> {
    let mut tracked: Vec<TrackedDeadline> = clocks(state, policy)
        .filter_map(|clock| resolve(clock, state, policy))
        .map(|deadline| TrackedDeadline {
            deadline,
            warned: state.warned.contains(&deadline.key),
            fired: state.fired.contains(&deadline.key),
        })
        .collect();
    tracked.sort_by_key(|t| (t.deadline.due_at, t.deadline.key));
    tracked
}

/// The clocks the complaint has, paused or not, before their instants are worked out.
fn clocks(state: &ComplaintState, policy: &Policy) -> impl Iterator<Item = Clock> {
    let clocks = if state.is_finished() {
        Default::default()
    } else {
        [
            report_to_cac_clock(state, policy),
            result_clock(state, policy),
            promise_clock(state, policy),
            satisfaction_callback_clock(state, policy),
            callback_clock(state, policy),
            progress_report_clock(state, policy),
            engineer_clocks(state, policy),
            plan_promise_clock(state, policy),
            result_report_clock(state, policy),
        ]
    };
    clocks.into_iter().flatten()
}

/// Every deadline currently running for the complaint, earliest first.
/// Deadlines that already fired, or whose clock is paused, are left out.
pub(crate) fn open_deadlines(state: &ComplaintState, policy: &Policy) -> Vec<Deadline> {
    tracked_deadlines(state, policy)
        .into_iter()
        .filter(|tracked| !tracked.fired)
        .map(|tracked| tracked.deadline)
        .collect()
}

/// Whether `deadline` counts business time into days its calendar has no public
/// holidays for (past its last covered year): it was worked out on the working week
/// alone, and the caller should say so.
pub fn beyond_calendar(state: &ComplaintState, deadline: &Deadline, policy: &Policy) -> bool {
    if policy.calendar(&state.region).covers(deadline.due_at) {
        return false;
    }
    clocks(state, policy).any(|clock| {
        clock.key == deadline.key
            && matches!(clock.end, End::AfterBusiness(_) | End::SameBusinessDay)
    })
}

/// How an obligation with a deadline ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeadlineOutcome {
    Met,
    /// Met, but after its due moment, before the timer noticed (e.g. while the
    /// engine was down): it counts as missed.
    MetLate,
}

/// What a complaint owed before an event: enough to tell, once the event is applied,
/// which obligations it met, without a copy of the whole state before it. The clocks'
/// instants are worked out only for those the event stopped.
#[derive(Debug)]
pub struct Obligations<'p> {
    paused: bool,
    calendar: &'p BusinessCalendar,
    /// The clocks running before (not yet fired) whose end can be met or missed, with
    /// the pauses that applied to each.
    running: Vec<(Clock, Vec<Stop>)>,
}

impl<'p> Obligations<'p> {
    pub fn of(before: &ComplaintState, policy: &'p Policy) -> Self {
        Self {
            paused: before.is_paused(),
            calendar: policy.calendar(&before.region),
            running: clocks(before, policy)
                .filter(|clock| records_misses(clock.key.kind))
                .filter(|clock| !before.fired.contains(&clock.key))
                .map(|clock| (clock, stops_for(before, clock.key.kind, policy)))
                .collect(),
        }
    }

    /// The deadlines the event satisfied: those open before it (running, not fired,
    /// not paused) whose clock is gone after it, judged by when the event happened.
    /// Pausing satisfies nothing: a paused clock is still there.
    pub fn met_by(
        &self,
        after: &ComplaintState,
        occurred_at: Timestamp,
        policy: &Policy,
    ) -> Vec<(DeadlineKind, DeadlineOutcome)> {
        if self.running.is_empty() || (after.is_paused() && !self.paused) {
            return Vec::new();
        }
        // Only which clocks exist matters here, not when they end.
        let still_running: Vec<DeadlineKey> = clocks(after, policy).map(|c| c.key).collect();
        self.running
            .iter()
            .filter(|(clock, _)| !still_running.contains(&clock.key))
            .filter_map(|(clock, stops)| {
                let (_, _, due_at) = due_moment(clock, stops, self.calendar)?;
                let outcome = if occurred_at <= due_at {
                    DeadlineOutcome::Met
                } else {
                    DeadlineOutcome::MetLate
                };
                Some((clock.key.kind, outcome))
            })
            .collect()
    }
}

/// The events the scheduler appends when `deadline` reaches `stage` at `now`.
/// Empty when the deadline is no longer open as given (the state moved on
/// since the timer was set) or its moment has not come.
pub fn on_deadline_due(
    state: &ComplaintState,
    deadline: &Deadline,
    stage: DueStage,
    policy: &Policy,
    now: Timestamp,
) -> Vec<ComplaintEvent> {
    let Some(current) = open_deadlines(state, policy)
        .into_iter()
        .find(|open| open.key == deadline.key)
    else {
        return Vec::new();
    };
    let key = current.key;
    match stage {
        // A warning whose deadline has passed too (the engine was down) warns of
        // nothing: the due firing says it all.
        DueStage::Warning => match current.warn_at {
            Some(warn_at) if warn_at <= now && now < current.due_at => vec![
                events::DeadlineWarning {
                    deadline: key,
                    due_at: current.due_at,
                }
                .into(),
            ],
            _ => Vec::new(),
        },
        DueStage::Due if current.due_at > now => Vec::new(),
        DueStage::Due => due_events(state, &current, policy, now),
    }
}

fn due_events(
    state: &ComplaintState,
    deadline: &Deadline,
    policy: &Policy,
    now: Timestamp,
) -> Vec<ComplaintEvent> {
    let key = deadline.key;
    let failed_attempts = u8::try_from(state.contacts.failed_streak.len()).unwrap_or(u8::MAX);
    match key.kind {
        DeadlineKind::CallbackRetry => vec![
            events::CallbackDue {
                deadline: key,
                attempt: failed_attempts.saturating_add(1),
            }
            .into(),
        ],
        DeadlineKind::MarkUnreachable => {
            vec![events::CustomerUnreachable { failed_attempts }.into()]
        }
        DeadlineKind::ProgressReport => {
            let due: ComplaintEvent = events::ProgressReportDue {
                deadline: key,
                missed_periods: progress_periods_missed(policy, deadline.due_at, now),
                overdue_since: Some(deadline.due_at),
            }
            .into();
            std::iter::once(due)
                .chain(escalation_for_miss(state, key.kind, policy))
                .collect()
        }
        kind => {
            let missed: ComplaintEvent = events::DeadlineMissed {
                deadline: key,
                due_at: deadline.due_at,
            }
            .into();
            std::iter::once(missed)
                .chain(escalation_for_miss(state, kind, policy))
                .collect()
        }
    }
}

/// One rung up the ladder, when the policy escalates misses of `kind` and there is a
/// rung above.
fn escalation_for_miss(
    state: &ComplaintState,
    kind: DeadlineKind,
    policy: &Policy,
) -> Option<ComplaintEvent> {
    let to = policy
        .next_level(state.level)
        .filter(|_| policy.escalates_when_missed(kind))?;
    Some(
        events::Escalated {
            from: state.level,
            to,
            reason: EscalationReason::DeadlineMissed,
            note: None,
        }
        .into(),
    )
}

#[cfg(test)]
mod tests;
