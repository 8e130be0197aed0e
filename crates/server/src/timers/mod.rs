//! Durable escalation timers.
//!
//! Deadlines are not kept here: the projections hold them in a time-ordered index,
//! derived from the log like everything else (snapshotted, then caught up at start), so
//! they survive restarts. The scheduler fires what is due by appending events through
//! the normal checked path. Each firing's event ids are derived from the complaint, the
//! deadline instance and the stage, so a firing repeated after a crash (appended, but not
//! yet seen by the projections) is recognised by the store and takes effect once.

mod follow_ups;

pub use follow_ups::follow_up_firing_id;

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use jiff::Timestamp;
use tokio::sync::watch;
use tracing::{debug, info, warn};
use uuid::Uuid;

use crate::engine::{AsOf, Engine, EngineError, Submission, Trusted};
use crate::projections::{Projections, ScheduledTimer, TimerMoment};
use complaintflow_domain::policy::CALENDAR_WARNING_DAYS;
use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::{Actor, DueStage, Policy, beyond_calendar, on_deadline_due};
use complaintflow_log::{ExpectedVersion, Lease, StoreError};

/// Longest the scheduler sleeps between looks at the clock: the bound on how late a
/// deadline fires.
const MAX_SLEEP: Duration = Duration::from_millis(250);
/// Timers read from the index per pass.
const BATCH: usize = 1024;
/// Complaints whose timers fire at the same time.
const CONCURRENT_COMPLAINTS: usize = 256;
/// A firing this long after its moment is a catch-up (the engine was down or behind).
const LATE_AFTER: jiff::SignedDuration = jiff::SignedDuration::from_mins(1);
/// The namespace of the event ids the scheduler derives.
const FIRING_NAMESPACE: Uuid = Uuid::from_u128(0x6a0c_3f2e_5b7d_4c1a_9e8f_0d2b_4a6c_8e10);

/// The event id of the `index`-th event of one firing.
pub fn firing_event_id(complaint: &ComplaintId, timer: &ScheduledTimer, index: usize) -> Uuid {
    let stage = match timer.moment.stage {
        DueStage::Warning => "warning",
        DueStage::Due => "due",
    };
    let name = format!("{complaint}/{}/{stage}/{index}", timer.moment.deadline.key);
    Uuid::new_v5(&FIRING_NAMESPACE, name.as_bytes())
}

/// What one pass fired.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct FireReport {
    /// Timers that appended events.
    pub fired: usize,
    /// Events appended.
    pub events: usize,
    /// Timers that turned out stale (the complaint moved on) or were refused.
    pub skipped: usize,
}

pub struct Scheduler {
    engine: Arc<Engine>,
    projections: Arc<Projections>,
}

impl Scheduler {
    pub fn new(engine: Arc<Engine>, projections: Arc<Projections>) -> Self {
        Self {
            engine,
            projections,
        }
    }

    /// Fires every timer due by the clock's now, earliest first, including those that
    /// come due because of what was fired. Waits for the projections to see each round
    /// of firings before looking again; never fires one timer twice in a pass.
    pub async fn fire_due(&self) -> Result<FireReport, SchedulerError> {
        let mut report = FireReport::default();
        let mut attempted = HashSet::new();
        loop {
            let now = self.engine.clock().now();
            self.projections.wait_for(self.engine.log().head()).await;
            let due = self.projections.due_timers(now, BATCH)?;
            let fresh: Vec<_> = due
                .into_iter()
                .filter(|timer| {
                    attempted.insert((
                        timer.complaint.clone(),
                        timer.moment.deadline.key,
                        timer.moment.stage,
                    ))
                })
                .collect();
            if fresh.is_empty() {
                let follow_ups = self.fire_follow_ups(now).await?;
                report.fired += follow_ups.fired;
                report.events += follow_ups.events;
                report.skipped += follow_ups.skipped;
                return Ok(report);
            }
            // Complaints fire concurrently, so that their appends share group commits;
            // one complaint's timers fire in due order.
            let mut by_complaint: Vec<(ComplaintId, Vec<ScheduledTimer>)> = Vec::new();
            let mut slot_of: HashMap<ComplaintId, usize> = HashMap::new();
            for timer in fresh {
                let slot = *slot_of.entry(timer.complaint.clone()).or_insert_with(|| {
                    by_complaint.push((timer.complaint.clone(), Vec::new()));
                    by_complaint.len() - 1
                });
                by_complaint[slot].1.push(timer);
            }
            let results: Vec<Result<Vec<usize>, EngineError>> = futures::stream::iter(by_complaint)
                .map(|(_, timers)| async move {
                    let mut fired = Vec::with_capacity(timers.len());
                    for timer in &timers {
                        fired.push(self.fire(timer, now).await?);
                    }
                    Ok(fired)
                })
                .buffer_unordered(CONCURRENT_COMPLAINTS)
                .collect()
                .await;
            for events in results {
                for events in events? {
                    match events {
                        0 => report.skipped += 1,
                        events => {
                            report.fired += 1;
                            report.events += events;
                        }
                    }
                }
            }
        }
    }

    /// Fires one timer: the events the domain says its moment calls for. Returns how
    /// many events that took (0 for a stale timer).
    pub async fn fire(&self, timer: &ScheduledTimer, now: Timestamp) -> Result<usize, EngineError> {
        let complaint = &timer.complaint;
        // A warning whose deadline has passed too warns of nothing; it stands for the due
        // firing instead (with that firing's ids), so that a catch-up whose first batch
        // is all such warnings still moves on.
        let due_instead;
        let timer = match timer.moment.stage {
            DueStage::Warning if timer.moment.deadline.due_at <= now => {
                due_instead = ScheduledTimer {
                    complaint: complaint.clone(),
                    moment: TimerMoment {
                        at: timer.moment.deadline.due_at,
                        stage: DueStage::Due,
                        ..timer.moment
                    },
                };
                &due_instead
            }
            _ => timer,
        };
        let state = match self.engine.load(complaint, AsOf::Now).await {
            Ok(state) => state,
            Err(EngineError::NotFound(_)) => return Ok(0),
            Err(err) => return Err(err),
        };
        let policy = self.engine.policy();
        let events = on_deadline_due(
            &state,
            &timer.moment.deadline,
            timer.moment.stage,
            policy,
            now,
        );
        if events.is_empty() {
            debug!(%complaint, deadline = %timer.moment.deadline.key, "stale timer skipped");
            return Ok(0);
        }
        if beyond_calendar(&state, &timer.moment.deadline, policy) {
            warn!(
                %complaint,
                deadline = %timer.moment.deadline.key,
                due_at = %timer.moment.deadline.due_at,
                "deadline counted past the calendar's last year of public holidays, on the working week alone: add the next year to the policy"
            );
        }
        let at = firing_time(timer.moment.at, now);
        let submissions: Vec<Submission> = events
            .into_iter()
            .enumerate()
            .map(|(i, event)| Submission::new(firing_event_id(complaint, timer, i), event).at(at))
            .collect();
        let expected = ExpectedVersion::Exact(state.version);
        match self
            .engine
            .submit(
                &Actor::engine(),
                complaint,
                expected,
                &submissions,
                &Trusted,
            )
            .await
        {
            Ok(outcome) => {
                let stage = match timer.moment.stage {
                    DueStage::Warning => "warning",
                    DueStage::Due => "due",
                };
                metrics::counter!("complaintflow_deadlines_fired_total", "stage" => stage)
                    .increment(1);
                info!(%complaint, deadline = %timer.moment.deadline.key, stage, replayed = outcome.replayed, "deadline fired");
                Ok(submissions.len())
            }
            // The complaint moved on between reading and appending: the next pass
            // sees the newer state (and the projections' newer timers).
            Err(EngineError::Store(StoreError::WrongExpectedVersion { .. })) => Ok(0),
            // These ids belong to this very firing: it was stored already, by a pass
            // that counted the missed periods at another moment. It took effect once.
            Err(EngineError::Store(StoreError::IdempotencyConflict { .. })) => {
                debug!(%complaint, deadline = %timer.moment.deadline.key, "deadline already fired");
                Ok(0)
            }
            Err(EngineError::Rule { violation, .. }) => {
                warn!(%complaint, deadline = %timer.moment.deadline.key, rule = violation.code(), "timer event refused by the rules");
                Ok(0)
            }
            Err(err) => Err(err),
        }
    }

    /// Fires deadlines as they fall due until `shutdown` turns true, only while `lease`
    /// is held: a pass under way stops as soon as it is lost. Wakes at the next due
    /// moment, or at least every `MAX_SLEEP`, or when new timers appear.
    pub async fn run_leased(self, lease: &dyn Lease, mut shutdown: watch::Receiver<bool>) {
        let mut holding = lease.holding();
        let mut checkpoint = self.projections.watch_checkpoint();
        let mut calendar_reported = None;
        while !*shutdown.borrow() {
            let held = *holding.borrow_and_update();
            metrics::gauge!("complaintflow_scheduler_lease_held").set(if held { 1.0 } else { 0.0 });
            if !held {
                tokio::select! {
                    changed = holding.changed() => if changed.is_err() {
                        // The lease is gone for good: nothing to fire until shutdown.
                        let _ = shutdown.wait_for(|stop| *stop).await;
                    },
                    _ = shutdown.changed() => {}
                }
                continue;
            }
            let today = self.engine.clock().now().as_second() / SECONDS_A_DAY;
            if calendar_reported != Some(today) {
                report_calendar(self.engine.policy(), self.engine.clock().now());
                calendar_reported = Some(today);
            }
            tokio::select! {
                fired = self.fire_due() => if let Err(err) = fired {
                    warn!(error = %err, "firing due deadlines failed; will retry");
                },
                // Another node may hold it now: what this pass has not appended yet is
                // that node's to fire (what it did append, the other's firing replays).
                _ = holding.wait_for(|held| !*held) => continue,
            }
            let now = self.engine.clock().now();
            let next_timer = self.projections.next_timer_at();
            let next = next_timer
                .into_iter()
                .chain(self.projections.next_follow_up_due())
                .min();
            let sleep = match next {
                Some(next) => Duration::try_from(next.duration_since(now))
                    .unwrap_or(Duration::ZERO)
                    .min(MAX_SLEEP),
                _ => MAX_SLEEP,
            };
            tokio::select! {
                () = tokio::time::sleep(sleep) => {}
                _ = checkpoint.changed() => {}
                _ = holding.changed() => {}
                _ = shutdown.changed() => {}
            }
        }
    }
}

const SECONDS_A_DAY: i64 = 24 * 60 * 60;

/// Tells operators, at start and then once a day, what they must hear about the policy's
/// calendars (one that ends within 90 days, provisional years), and sets the
/// `complaintflow_calendar_days_left` gauge.
pub(crate) fn report_calendar(policy: &Policy, now: Timestamp) {
    if let Some(days) = policy.calendar_days_left(now) {
        metrics::gauge!("complaintflow_calendar_days_left").set(days as f64);
    }
    for notice in policy.calendar_notices(now, CALENDAR_WARNING_DAYS) {
        warn!("{notice}");
    }
}

/// When a firing happened. On time, at its moment exactly (so a repeated firing has the
/// same content). Late, when the engine appends it: an escalation made on catching up
/// hands the case over now, and the new owner's clock starts now, not in the downtime
/// (the events still name the moment that was missed).
pub(crate) fn firing_time(moment: Timestamp, now: Timestamp) -> Timestamp {
    if now.duration_since(moment) > LATE_AFTER {
        now
    } else {
        moment
    }
}

/// Why a pass of the scheduler stopped: a firing refused, or the deadline index unread.
#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("reading the due deadlines: {0}")]
    Projection(#[from] crate::projections::ProjectionError),
}
