//! Deterministic demo data: realistic complaints from a dealer network, submitted
//! through the engine so that every rule applies.
//!
//! # How it works
//! 1. **Plan** (pure): complaint `n` gets its own ChaCha8 generator seeded from
//!    (seed, n), picks a [`Path`] through the workflow and writes its whole history
//!    with a `story::Story`, which checks every event with the domain's rules and
//!    plays the timer scheduler. Same seed, same complaints, same events, same
//!    `occurred_at`, same event ids (UUID v5 of seed, complaint and index; timer events
//!    use the scheduler's own ids).
//! 2. **Replay** (I/O): the plans are merged into one global time order and submitted
//!    in *waves*: up to `concurrency` distinct complaints per wave, each with the run of
//!    its next events, all in flight at once so that the store's group commit pays one
//!    fsync for many appends. Before a wave the [`ManualClock`] is set to the latest
//!    `occurred_at` in it, so the clock never goes back and no event is in the future.
//!    Every planned event was checked with `now` equal to its own time; the rules only
//!    get more lenient as `now` moves on, so the engine accepts it too.
//!
//! Plans are made lazily, when the merge reaches their filing time, so memory holds only
//! the complaints still running. Global positions depend on how the appends of a wave
//! interleave; streams, payloads and times do not.

mod catalog;
mod follow_ups;
mod guide;
mod paths;
mod schedule;
mod steps;
mod story;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use futures::future::join_all;
use jiff::{SignedDuration, Timestamp};
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use catalog::MAX_REGIONS;
pub use follow_ups::FollowUpSummary;
pub use guide::guide;
pub use paths::Path;
pub use story::PlanError;

use complaintflow_domain::state::Status;
use complaintflow_domain::values::{ComplaintId, DealerCode};
use complaintflow_domain::{ComplaintState, InvalidValue, Policy};
use complaintflow_log::clock::{Clock, ManualClock};
use complaintflow_log::{AppendOutcome, ExpectedVersion};
use complaintflow_server::engine::{Engine, EngineError, Submission, Trusted};
use schedule::{Batch, Schedule};
use story::Story;

/// What kind of history to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mix {
    /// Every path of the workflow, with the engine's timers played as time passes;
    /// recent complaints (and about one in ten older ones) are left open.
    Workflow,
    /// Complaints filed and barely touched, with no timers fired: a backlog of
    /// deadlines waiting, as after an outage of the scheduler.
    Backlog,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DemoConfig {
    pub complaints: usize,
    pub seed: u64,
    pub dealers: usize,
    /// At most [`MAX_REGIONS`].
    pub regions: usize,
    /// When the first complaint may be filed.
    pub start: Timestamp,
    /// Filings spread over this many days; the history ends then.
    pub days: u32,
    /// Complaints with appends in flight at once.
    pub concurrency: usize,
    pub mix: Mix,
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            complaints: 1_000,
            seed: 42,
            dealers: 24,
            regions: 6,
            // A Monday, 08:00 in Beijing.
            start: Timestamp::from_second(1_767_571_200).unwrap_or(Timestamp::UNIX_EPOCH),
            days: 56,
            concurrency: 256,
            mix: Mix::Workflow,
        }
    }
}

impl DemoConfig {
    /// When the history ends (and the clock stands after [`generate`]).
    pub fn end(&self) -> Timestamp {
        let days = SignedDuration::from_hours(24 * i64::from(self.days.max(1)));
        self.start.checked_add(days).unwrap_or(Timestamp::MAX)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum DemoError {
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// A generated event the rules refuse: a bug in the generator.
    #[error(transparent)]
    Plan(#[from] PlanError),
    /// A generated value that does not validate: a bug in the generator.
    #[error("generated value: {0}")]
    Value(#[from] InvalidValue),
}

/// What [`generate`] wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DemoSummary {
    pub complaints: usize,
    pub events: usize,
    /// Events the timers appended (warnings, misses, escalations, ...).
    pub engine_events: usize,
    pub appends: usize,
    pub by_path: BTreeMap<&'static str, usize>,
    /// Where each complaint stands at the end.
    pub by_status: BTreeMap<Status, usize>,
    /// The quality follow-up calls (their events are counted in `events` too).
    pub follow_ups: FollowUpSummary,
    pub end: Option<Timestamp>,
    pub elapsed: Duration,
}

impl DemoSummary {
    pub fn complaints_per_second(&self) -> f64 {
        self.complaints as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    pub fn events_per_second(&self) -> f64 {
        self.events as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Complaints neither closed nor merged.
    pub fn open(&self) -> usize {
        let finished = [Status::Closed, Status::Merged];
        self.by_status
            .iter()
            .filter(|(s, _)| !finished.contains(s))
            .map(|(_, n)| n)
            .sum()
    }
}

impl std::fmt::Display for DemoSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} complaints, {} events ({} by the timers) in {} appends, {:.1} s: {:.0} complaints/s, {:.0} events/s",
            self.complaints,
            self.events,
            self.engine_events,
            self.appends,
            self.elapsed.as_secs_f64(),
            self.complaints_per_second(),
            self.events_per_second()
        )?;
        let paths: Vec<String> = self
            .by_path
            .iter()
            .map(|(p, n)| format!("{p} {n}"))
            .collect();
        writeln!(f, "paths: {}", paths.join(", "))?;
        let statuses: Vec<String> = self
            .by_status
            .iter()
            .map(|(s, n)| format!("{} {n}", s.as_str()))
            .collect();
        writeln!(
            f,
            "status at the end: {} ({} open)",
            statuses.join(", "),
            self.open()
        )?;
        let follow_ups = &self.follow_ups;
        write!(
            f,
            "quality follow-up calls: {} ({} recorded missed by the timers, {} became complaints)",
            follow_ups.follow_ups, follow_ups.missed, follow_ups.became_complaints
        )
    }
}

/// One complaint's planned history.
pub struct Plan {
    pub id: ComplaintId,
    pub path: Path,
    pub events: Vec<story::PlannedEvent>,
    pub state: Option<ComplaintState>,
}

/// Independent random streams of one complaint.
#[derive(Clone, Copy)]
enum Stream {
    Identity = 1,
    Story = 2,
    FollowUp = 3,
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

fn rng_for(seed: u64, number: usize, stream: Stream) -> ChaCha8Rng {
    let key = (number as u64).wrapping_mul(4).wrapping_add(stream as u64);
    ChaCha8Rng::seed_from_u64(splitmix64(seed ^ splitmix64(key)))
}

/// Complaint `number`'s id, in its dealer's namespace as a dealer system would choose it.
pub fn complaint_id(dealer: &DealerCode, number: usize) -> Result<ComplaintId, InvalidValue> {
    ComplaintId::parse(format!("{dealer}:CMP-{:07}", number + 1))
}

/// Makes the plans; pure.
pub struct Planner<'a> {
    config: &'a DemoConfig,
    policy: &'a Policy,
    network: Vec<catalog::Dealer>,
}

impl<'a> Planner<'a> {
    pub fn new(config: &'a DemoConfig, policy: &'a Policy) -> Result<Self, DemoError> {
        Ok(Self {
            config,
            policy,
            network: catalog::dealers(config.dealers, config.regions)?,
        })
    }

    /// Filing moments, sorted: mostly opening hours, some evenings, a few at night.
    pub fn filing_times(&self) -> Vec<Timestamp> {
        let mut rng = ChaCha8Rng::seed_from_u64(splitmix64(self.config.seed));
        let zone = self
            .policy
            .calendar(&self.network[0].region)
            .time_zone()
            .clone();
        let first_day = zone.to_datetime(self.config.start).date();
        let end = self.config.end();
        let mut times: Vec<Timestamp> = (0..self.config.complaints)
            .map(|_| {
                let day = first_day
                    .checked_add(
                        jiff::Span::new()
                            .days(rng.random_range(0..i64::from(self.config.days.max(1)))),
                    )
                    .unwrap_or(first_day);
                let minute = match rng.random_range(0..100) {
                    0..70 => rng.random_range(8 * 60 + 30..17 * 60 + 30),
                    70..95 => rng.random_range(8 * 60..21 * 60),
                    _ => rng.random_range(0..24 * 60),
                };
                let local = day
                    .to_datetime(jiff::civil::Time::midnight())
                    .checked_add(jiff::Span::new().minutes(minute))
                    .unwrap_or_default();
                let at = zone.to_timestamp(local).unwrap_or(self.config.start);
                at.clamp(
                    self.config.start,
                    end.checked_sub(SignedDuration::from_secs(1)).unwrap_or(end),
                )
            })
            .collect();
        times.sort();
        times
    }

    /// The complaint a duplicate of `number` is merged into: `number`, or, if that is a
    /// duplicate itself, the one it was merged into (a merge target must carry on).
    fn survivor(&self, mut number: usize) -> usize {
        loop {
            let mut rng = rng_for(self.config.seed, number, Stream::Story);
            if Path::pick(&mut rng) != Path::Duplicate || number == 0 {
                return number;
            }
            number = number - 1 - rng.random_range(0..number.min(40));
        }
    }

    /// The whole history of complaint `number`, filed at `filed_at`.
    pub fn plan(&self, number: usize, filed_at: Timestamp) -> Result<Plan, DemoError> {
        let mut rng = rng_for(self.config.seed, number, Stream::Story);
        let path = Path::pick(&mut rng);
        // A duplicate repeats a recent complaint of the same customer and car.
        let original = (path == Path::Duplicate && number > 0)
            .then(|| self.survivor(number - 1 - rng.random_range(0..number.min(40))));
        let identity_of = original.unwrap_or(number);
        let identity = catalog::identity(
            &mut rng_for(self.config.seed, identity_of, Stream::Identity),
            &self.network,
        )?;
        let dealer = &self.network[identity.dealer];
        // The original is a survivor, filed with this identity, so at this dealer.
        let original = original
            .map(|number| complaint_id(&dealer.code, number))
            .transpose()?;
        let id = complaint_id(&dealer.code, number)?;
        let cast = steps::Cast::new(dealer, &mut rng)?;
        let venue = paths::Venue {
            id: &id,
            dealer: &dealer.code,
            region: &dealer.region,
        };
        let filed = paths::filing(&mut rng, path, &venue, &identity, filed_at)?;
        let receiver = match filed.origin {
            complaintflow_domain::vocabulary::Origin::ManufacturerCac => &cast.cac,
            complaintflow_domain::vocabulary::Origin::Dealer => &cast.advisor,
        };
        let stall = match self.config.mix {
            Mix::Workflow => rng.random_bool(0.1).then(|| rng.random_range(2..25)),
            Mix::Backlog => Some(rng.random_range(1..=2)),
        };
        let mut story = Story::new(
            self.policy,
            id.clone(),
            dealer.region.clone(),
            self.config.seed,
        )
        .until(self.config.end())
        .with_timers(self.config.mix == Mix::Workflow)
        .stalling_after(stall);
        story.to(filed_at).act(receiver, filed)?;
        paths::play(path, &mut story, &cast, &mut rng, original.as_ref())?;
        let (events, state) = story.finish()?;
        Ok(Plan {
            id,
            path,
            events,
            state,
        })
    }
}

/// Fills the engine's store with `config.complaints` generated complaints, driving
/// `clock` through the simulated weeks (it stands at [`DemoConfig::end`] afterwards).
/// `progress` hears how many complaints have been filed so far, after each wave.
pub async fn generate(
    engine: &Engine,
    clock: &ManualClock,
    config: &DemoConfig,
    mut progress: impl FnMut(usize),
) -> Result<DemoSummary, DemoError> {
    let started = Instant::now();
    let planner = Planner::new(config, engine.policy())?;
    let mut schedule = Schedule::new(&planner, planner.filing_times());
    let mut summary = DemoSummary::default();
    // Each merge is recorded on its survivor once the run is over: the survivors' own
    // histories are planned version by version, so the engine's record of a merge goes
    // after them, as a retried merge would write it.
    let mut stored_merges: Vec<StoredMerge> = Vec::new();
    loop {
        let wave = schedule.next_wave(config.concurrency.max(1))?;
        if wave.batches.is_empty() {
            break;
        }
        if clock.now() < wave.latest {
            clock.set(wave.latest);
        }
        // A merge goes after the rest of its wave, which may file its target.
        let (merges, others): (Vec<&Batch>, Vec<&Batch>) = wave.batches.iter().partition(|batch| {
            batch
                .events
                .iter()
                .any(|e| complaintflow_domain::referenced_complaint(&e.submission.event).is_some())
        });
        let mut appends = join_all(others.into_iter().map(|batch| submit(engine, batch))).await;
        appends.extend(join_all(merges.into_iter().map(|batch| submit(engine, batch))).await);
        for batch in &wave.batches {
            summary.events += batch.events.len();
            summary.engine_events += batch
                .events
                .iter()
                .filter(|e| e.actor.role == complaintflow_domain::Role::Engine)
                .count();
            summary.complaints += usize::from(batch.events.first().is_some_and(|e| e.version == 0));
        }
        for outcome in appends {
            let submitted = outcome?;
            summary.appends += submitted.appends;
            stored_merges.extend(submitted.merges);
        }
        progress(summary.complaints);
    }
    if clock.now() < config.end() {
        clock.set(config.end());
    }
    for merge in &stored_merges {
        let before = engine.log().head();
        engine
            .carry_merges(&merge.complaint, &merge.submissions, &merge.outcome)
            .await?;
        let records = (engine.log().head() - before) as usize;
        summary.events += records;
        summary.engine_events += records;
    }
    if config.mix == Mix::Workflow {
        summary.follow_ups =
            follow_ups::generate(engine, config, &planner, &planner.filing_times()).await?;
        summary.events += summary.follow_ups.events;
        summary.engine_events += summary.follow_ups.missed;
    }
    summary.by_path = schedule.paths;
    summary.by_status = schedule.statuses;
    summary.end = Some(config.end());
    summary.elapsed = started.elapsed();
    Ok(summary)
}

/// A stored append that merged its complaint into another: what the engine needs to
/// record the merge on the survivor.
struct StoredMerge {
    complaint: ComplaintId,
    submissions: Vec<Submission>,
    outcome: AppendOutcome,
}

/// What one batch's submission stored.
struct Submitted {
    appends: usize,
    merges: Vec<StoredMerge>,
}

/// Submits one complaint's run of events, one append per run of the same actor.
async fn submit(engine: &Engine, batch: &Batch) -> Result<Submitted, EngineError> {
    let mut submitted = Submitted {
        appends: 0,
        merges: Vec::new(),
    };
    for run in batch.events.chunk_by(|a, b| a.actor == b.actor) {
        let expected = match run[0].version {
            0 => ExpectedVersion::NoStream,
            version => ExpectedVersion::Exact(version - 1),
        };
        let submissions: Vec<_> = run.iter().map(|e| e.submission.clone()).collect();
        let outcome = engine
            .submit(&run[0].actor, &batch.id, expected, &submissions, &Trusted)
            .await?;
        submitted.appends += 1;
        if submissions
            .iter()
            .any(|s| matches!(s.event, complaintflow_domain::ComplaintEvent::MergedInto(_)))
        {
            submitted.merges.push(StoredMerge {
                complaint: batch.id.clone(),
                submissions,
                outcome,
            });
        }
    }
    Ok(submitted)
}

#[cfg(test)]
mod tests;
