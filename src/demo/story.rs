//! One complaint's history, written step by step against the domain exactly as the
//! engine will judge it: every event is checked with `domain::check` and folded with
//! `domain::apply` before it is planned, so a planned event the engine refuses is a
//! generator bug, found here rather than half-way through filling a store.
//!
//! The story also plays the timer scheduler: before each step it fires every deadline
//! that came due since the previous one (with `on_deadline_due`, the event ids the
//! scheduler would derive, and its actor), so the history is the one a live system
//! with a running scheduler would have recorded, warnings and escalations included.

use jiff::{SignedDuration, Timestamp};
use uuid::Uuid;

use complaintflow_domain::values::{ComplaintId, RegionCode};
use complaintflow_domain::vocabulary::DaySlot;
use complaintflow_domain::{
    Actor, BusinessCalendar, CheckContext, ComplaintEvent, ComplaintState, EventMeta, Policy,
    RuleViolation, on_deadline_due,
};
use complaintflow_server::engine::Submission;
use complaintflow_server::projections::{ComplaintRecord, ScheduledTimer, TimerMoment};
use complaintflow_server::timers::firing_event_id;

/// Namespace of the demo's event ids (UUID v5 of seed, complaint and index).
const DEMO_NAMESPACE: Uuid = Uuid::from_u128(0x2f6d_9a41_7c3e_4b85_a0d2_5e18_c7f3_9b64);

/// Days ahead a call is looked for: longer than the longest run of holidays (the
/// Spring Festival), so a working day with a free time of day is always found.
const CALL_DAYS_AHEAD: i64 = 31;

/// One event to submit, by whom.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedEvent {
    /// Its version in the complaint's stream.
    pub version: u64,
    pub actor: Actor,
    pub submission: Submission,
}

impl PlannedEvent {
    pub fn at(&self) -> Timestamp {
        self.submission.occurred_at.unwrap_or(Timestamp::MIN)
    }
}

/// A planned event the domain refuses: a bug in the generator.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("demo complaint {complaint}: planned event {index} ({event_type}) breaks rule {}: {violation}", violation.code())]
pub struct PlanError {
    pub complaint: ComplaintId,
    pub index: usize,
    pub event_type: &'static str,
    pub violation: RuleViolation,
}

pub(super) struct Story<'p> {
    policy: &'p Policy,
    id: ComplaintId,
    region: RegionCode,
    seed: u64,
    state: Option<ComplaintState>,
    cursor: Timestamp,
    end: Timestamp,
    fire_timers: bool,
    /// When the earliest unfired timer is due; worked out after each event.
    next_timer: Option<Timestamp>,
    /// Human events still to come before the dealer stops working on the case.
    budget: Option<usize>,
    events: Vec<PlannedEvent>,
}

impl<'p> Story<'p> {
    pub(super) fn new(policy: &'p Policy, id: ComplaintId, region: RegionCode, seed: u64) -> Self {
        Self {
            policy,
            id,
            region,
            seed,
            state: None,
            cursor: Timestamp::MIN,
            end: Timestamp::MAX,
            fire_timers: true,
            next_timer: None,
            budget: None,
            events: Vec::new(),
        }
    }

    /// Nothing after `end` is planned: cases still running then are left open.
    pub(super) fn until(mut self, end: Timestamp) -> Self {
        self.end = end;
        self
    }

    /// Whether to play the timer scheduler.
    pub(super) fn with_timers(mut self, fire: bool) -> Self {
        self.fire_timers = fire;
        self
    }

    /// The dealer stops after `human_events` events (the case is left open).
    pub(super) fn stalling_after(mut self, human_events: Option<usize>) -> Self {
        self.budget = human_events;
        self
    }

    pub(super) fn id(&self) -> &ComplaintId {
        &self.id
    }

    pub(super) fn now(&self) -> Timestamp {
        self.cursor
    }

    pub(super) fn state(&self) -> Option<&ComplaintState> {
        self.state.as_ref()
    }

    pub(super) fn policy(&self) -> &'p Policy {
        self.policy
    }

    /// False once the story reached its end or the dealer stalled: later steps are
    /// dropped, so scenarios need not check.
    pub(super) fn is_live(&self) -> bool {
        self.cursor <= self.end && self.budget != Some(0)
    }

    fn calendar(&self) -> &'p BusinessCalendar {
        self.policy.calendar(&self.region)
    }

    /// Moves to `at` (never back).
    pub(super) fn to(&mut self, at: Timestamp) -> &mut Self {
        self.cursor = self.cursor.max(at);
        self
    }

    /// Lets wall-clock time pass (nights and weekends included).
    pub(super) fn wall(&mut self, by: SignedDuration) -> &mut Self {
        let at = self.cursor.checked_add(by).unwrap_or(Timestamp::MAX);
        self.to(at)
    }

    /// Lets business time pass: a step taken during the dealer's opening hours.
    pub(super) fn business(&mut self, by: SignedDuration) -> &mut Self {
        let at = self
            .calendar()
            .add_business_duration(self.cursor, by)
            .unwrap_or(Timestamp::MAX);
        self.to(at)
    }

    /// The moment `by` of business time after `from` (no move).
    pub(super) fn business_after(&self, from: Timestamp, by: SignedDuration) -> Timestamp {
        self.calendar()
            .add_business_duration(from, by)
            .unwrap_or(Timestamp::MAX)
    }

    /// The moment `by` of business time from now (no move).
    pub(super) fn business_from_now(&self, by: SignedDuration) -> Timestamp {
        self.business_after(self.cursor, by)
    }

    /// Moves `percent` of the business time between now and `until` ahead.
    pub(super) fn business_share_until(&mut self, until: Timestamp, percent: i32) -> &mut Self {
        let left = self
            .calendar()
            .business_time_between(self.cursor, until)
            .unwrap_or(SignedDuration::ZERO);
        self.business(left * percent / 100)
    }

    /// The promised date of the accepted option, if one stands.
    pub(super) fn promise_due(&self) -> Option<Timestamp> {
        self.state.as_ref()?.promise.as_ref().map(|p| p.due)
    }

    /// Fires the timers due by now without acting (to see what the engine did).
    pub(super) fn fire_due_now(&mut self) -> Result<(), PlanError> {
        if self.is_live() {
            self.fire_due(self.cursor)?;
        }
        Ok(())
    }

    /// Moves to a moment `at_least` from now in a time of day not in `avoid`, on a
    /// working day, `offset` into that time of day (but before it ends).
    pub(super) fn move_to_call_time(
        &mut self,
        at_least: SignedDuration,
        avoid: &[DaySlot],
        offset: SignedDuration,
    ) -> Option<DaySlot> {
        let earliest = self.cursor.checked_add(at_least).ok()?;
        let zone = self.calendar().time_zone();
        let first_day = zone.to_datetime(earliest).date();
        let (at, slot) = (0..CALL_DAYS_AHEAD)
            .filter_map(|days| first_day.checked_add(jiff::Span::new().days(days)).ok())
            .filter(|day| self.calendar().is_working_day(*day))
            .flat_map(|day| DaySlot::ALL.iter().map(move |slot| (day, *slot)))
            .filter(|(_, slot)| !avoid.contains(slot))
            .find_map(|(day, slot)| {
                let (opens, closes) = self.policy.slot_bounds(slot);
                let opens = zone.to_timestamp(day.to_datetime(opens)).ok()?;
                let closes = zone.to_timestamp(day.to_datetime(closes)).ok()?;
                let last = closes.checked_sub(SignedDuration::from_mins(1)).ok()?;
                let start = earliest.max(opens);
                let at = start.checked_add(offset).ok()?.min(last).max(start);
                (start < closes).then_some((at, slot))
            })?;
        self.to(at);
        Some(slot)
    }

    /// Plans `event` by `actor` at the current moment, after firing the timers due by
    /// then. Dropped once the story is no longer live.
    pub(super) fn act(
        &mut self,
        actor: &Actor,
        event: impl Into<ComplaintEvent>,
    ) -> Result<(), PlanError> {
        if !self.is_live() {
            return Ok(());
        }
        self.fire_due(self.cursor)?;
        if let Some(budget) = &mut self.budget {
            *budget -= 1;
        }
        let at = self.cursor;
        let index = self.events.len();
        let name = format!("{}/{}/{index}", self.seed, self.id);
        let event_id = Uuid::new_v5(&DEMO_NAMESPACE, name.as_bytes());
        self.record(actor, event.into(), at, event_id)
    }

    /// Checks and applies one event, then works out when the next timer is due.
    fn record(
        &mut self,
        actor: &Actor,
        event: ComplaintEvent,
        at: Timestamp,
        event_id: Uuid,
    ) -> Result<(), PlanError> {
        let context = CheckContext {
            complaint_id: self.id.clone(),
            actor: actor.clone(),
            occurred_at: at,
            now: at,
        };
        let index = self.events.len();
        complaintflow_domain::check(self.state.as_ref(), &event, &context, self.policy).map_err(
            |violation| PlanError {
                complaint: self.id.clone(),
                index,
                event_type: event.event_type(),
                violation,
            },
        )?;
        let meta = EventMeta {
            version: index as u64,
            occurred_at: at,
            recorded_at: at,
            actor: actor.clone(),
        };
        complaintflow_domain::apply(&mut self.state, &event, &meta);
        self.events.push(PlannedEvent {
            version: meta.version,
            actor: actor.clone(),
            submission: Submission::new(event_id, event).at(at),
        });
        self.next_timer = self.next_moment().map(|moment| moment.at);
        Ok(())
    }

    /// The timer the scheduler would meet first for the complaint now.
    fn next_moment(&self) -> Option<TimerMoment> {
        if !self.fire_timers {
            return None;
        }
        let state = self.state.clone()?;
        ComplaintRecord::new(state, self.policy).next_timer()
    }

    /// Fires every timer due by `until`, as the scheduler would, earliest first.
    fn fire_due(&mut self, until: Timestamp) -> Result<(), PlanError> {
        while let Some(due) = self.next_timer.filter(|at| *at <= until) {
            let (Some(moment), Some(state)) = (self.next_moment(), self.state.as_ref()) else {
                break;
            };
            let events = on_deadline_due(state, &moment.deadline, moment.stage, self.policy, due);
            if events.is_empty() {
                // Cannot happen for a moment read off the current state; stop rather
                // than loop.
                self.next_timer = None;
                break;
            }
            let timer = ScheduledTimer {
                complaint: self.id.clone(),
                moment,
            };
            for (i, event) in events.into_iter().enumerate() {
                let event_id = firing_event_id(&self.id, &timer, i);
                self.record(&Actor::engine(), event, moment.at, event_id)?;
            }
        }
        Ok(())
    }

    /// The whole plan and the state it leaves: the timers due by the story's end
    /// fired, the rest left pending.
    pub(super) fn finish(
        mut self,
    ) -> Result<(Vec<PlannedEvent>, Option<ComplaintState>), PlanError> {
        if self.end < Timestamp::MAX {
            self.fire_due(self.end)?;
        }
        Ok((self.events, self.state))
    }
}
