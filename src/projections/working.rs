//! Applying a run of events: the complaints it touches are folded in memory, then their
//! new records and the statistics deltas are handed over to the model in one step.
//!
//! A run can be split into shards by complaint: each shard folds its own complaints
//! (in log order, as one would) on its own core, and the shards' results are disjoint
//! records plus statistics deltas, which add up in any order.

use std::hash::BuildHasher;
use std::sync::Arc;

use foldhash::HashMap;
use foldhash::fast::RandomState;
use tracing::warn;

use super::model::Update;
use super::record::ComplaintRecord;
use super::stats::{
    BucketKey, Buckets, StatsDelta, add_event, add_to, count_deadlines_met, merge_buckets,
};
use crate::domain::values::ComplaintId;
use crate::domain::{ComplaintState, Obligations, Policy};
use crate::engine::codec;
use crate::parallel;
use crate::store::RecordedEvent;

/// What one run changed: an update of each touched complaint, and the statistics
/// deltas.
#[derive(Debug, Default)]
pub struct Changes {
    pub updates: Vec<Update>,
    pub stats: Buckets,
    pub skipped: u64,
}

impl Changes {
    fn absorb(&mut self, other: Changes) {
        self.updates.extend(other.updates);
        merge_buckets(&mut self.stats, other.stats);
        self.skipped += other.skipped;
    }
}

/// Where a run finds the records its complaints had before it.
pub type Lookup<'a> = &'a (dyn Fn(&ComplaintId) -> Option<Arc<ComplaintRecord>> + Sync);

/// A fold of this many events is split over every core.
const PARALLEL_FOLD: u64 = 20_000;

/// Folds `events` against the records `stored` gives.
pub fn fold(stored: Lookup<'_>, policy: &Policy, events: &[RecordedEvent]) -> Changes {
    let mut fold = Fold::new(stored, policy, events.len() as u64);
    fold.feed(events);
    fold.into_changes()
}

/// A fold over any number of runs of events, split by complaint into shards that each
/// keep their complaints from one run to the next: a complaint spread over many runs
/// is looked up, copied and made into a record once, not once per run.
pub struct Fold<'a> {
    /// One hasher for every shard, so that they agree on who owns which complaint.
    /// Complaint ids come from clients: the hashers here are seeded per process
    /// (foldhash), fast without being predictable.
    owner: RandomState,
    shards: Vec<Working<'a>>,
}

impl<'a> Fold<'a> {
    /// A fold of about `events` events: on every core if they are many.
    pub fn new(stored: Lookup<'a>, policy: &'a Policy, events: u64) -> Self {
        let shards = match events >= PARALLEL_FOLD {
            true => parallel::cores(),
            false => 1,
        };
        Self {
            owner: RandomState::default(),
            shards: (0..shards).map(|_| Working::new(stored, policy)).collect(),
        }
    }

    /// Folds the next run of events, each shard on its own core.
    pub fn feed<'e>(&mut self, events: impl IntoIterator<Item = &'e RecordedEvent> + Clone + Sync) {
        if let [working] = self.shards.as_mut_slice() {
            return working.run(events, |_| true);
        }
        let (owner, count) = (&self.owner, self.shards.len());
        let shards = std::mem::take(&mut self.shards);
        self.shards = parallel::each(shards.into_iter().enumerate(), |(shard, mut working)| {
            working.run(events.clone(), |stream| {
                owner.hash_one(stream) as usize % count == shard
            });
            working
        });
    }

    /// Folds every page of `pages` while the pages are still being read: each shard
    /// works on a thread of its own, through the pages at its own pace (see
    /// `parallel::broadcast`). The fold is left empty if this fails.
    pub fn feed_pages<E>(
        &mut self,
        pages: impl IntoIterator<Item = Result<Vec<RecordedEvent>, E>>,
    ) -> Result<(), parallel::Stopped<E>> {
        let (owner, count) = (&self.owner, self.shards.len());
        let shards = std::mem::take(&mut self.shards).into_iter().enumerate();
        let shards = parallel::broadcast(shards.collect(), pages, |(shard, working), page| {
            working.run(page, |stream| {
                count == 1 || owner.hash_one(stream) as usize % count == *shard
            });
        })?;
        self.shards = shards.into_iter().map(|(_, working)| working).collect();
        Ok(())
    }

    /// What the runs changed, as updates to the records they started from.
    pub fn into_changes(self) -> Changes {
        let mut changes = Changes::default();
        for part in parallel::each(self.shards, Working::into_changes) {
            changes.absorb(part);
        }
        changes
    }

    /// The complaints' records, one part per shard, for a fold that started from no
    /// records at all; with the statistics and the events skipped.
    pub fn into_records(self) -> (Vec<Vec<Arc<ComplaintRecord>>>, Buckets, u64) {
        let mut parts = Vec::with_capacity(self.shards.len());
        let (mut stats, mut skipped) = (Buckets::new(), 0);
        for (records, part_stats, part_skipped) in
            parallel::each(self.shards, Working::into_records)
        {
            parts.push(records);
            merge_buckets(&mut stats, part_stats);
            skipped += part_skipped;
        }
        (parts, stats, skipped)
    }
}

struct Working<'a> {
    stored: Lookup<'a>,
    policy: &'a Policy,
    /// Boxed: a state is large, and the map's growth should move pointers, not states.
    touched: HashMap<ComplaintId, Box<Touched>>,
    skipped: u64,
}

/// A complaint the run touched.
struct Touched {
    /// Its record before the run.
    stored: Option<Arc<ComplaintRecord>>,
    /// Its state now.
    state: Option<ComplaintState>,
    /// What the run changed in its statistics bucket, which is fixed at filing: one
    /// bucket lookup per complaint, not per event.
    delta: StatsDelta,
}

impl<'a> Working<'a> {
    fn new(stored: Lookup<'a>, policy: &'a Policy) -> Self {
        Self {
            stored,
            policy,
            touched: HashMap::default(),
            skipped: 0,
        }
    }

    fn run<'e>(
        &mut self,
        events: impl IntoIterator<Item = &'e RecordedEvent>,
        mine: impl Fn(&str) -> bool,
    ) {
        for recorded in events.into_iter().filter(|e| mine(e.stream.as_str())) {
            self.apply(recorded);
        }
    }

    /// Adds each complaint's statistics delta to its bucket, once per complaint.
    fn bucket_stats(&self) -> Buckets {
        let mut stats = Buckets::new();
        for touched in self.touched.values() {
            if let Some(state) = &touched.state
                && !touched.delta.is_zero()
            {
                add_to(
                    &mut stats,
                    BucketKey::of(state, self.policy),
                    &touched.delta,
                );
            }
        }
        stats
    }

    fn into_changes(self) -> Changes {
        let (policy, stats) = (self.policy, self.bucket_stats());
        let updates = self
            .touched
            .into_iter()
            .map(|(id, touched)| {
                let record = touched
                    .state
                    .map(|state| ComplaintRecord::new(state, policy));
                Update::new(id, touched.stored.as_deref(), record)
            })
            .collect();
        Changes {
            updates,
            stats,
            skipped: self.skipped,
        }
    }

    fn into_records(self) -> (Vec<Arc<ComplaintRecord>>, Buckets, u64) {
        let (policy, stats) = (self.policy, self.bucket_stats());
        let records = self
            .touched
            .into_values()
            .filter_map(|touched| touched.state)
            .map(|state| Arc::new(ComplaintRecord::new(state, policy)))
            .collect();
        (records, stats, self.skipped)
    }

    /// The complaint of a recorded event, touched by this run from now on; `None` if its
    /// stream is not a complaint id. Looked up by name: an id is checked and copied
    /// once per complaint, not per event.
    fn touch(&mut self, recorded: &RecordedEvent) -> Option<&mut Touched> {
        let stream = recorded.stream.as_str();
        if !self.touched.contains_key(stream) {
            let id = ComplaintId::parse(stream).ok()?;
            let stored = (self.stored)(&id);
            let state = stored.as_ref().map(|record| record.state.clone());
            let delta = StatsDelta::default();
            let touched = Touched {
                stored,
                state,
                delta,
            };
            self.touched.insert(id, Box::new(touched));
        }
        self.touched.get_mut(stream).map(|touched| &mut **touched)
    }

    fn apply(&mut self, recorded: &RecordedEvent) {
        let policy = self.policy;
        let decoded = codec::decode(recorded);
        let touched = match decoded {
            Ok(_) => self.touch(recorded),
            Err(_) => None,
        };
        let (Ok(event), Some(touched)) = (decoded, touched) else {
            // Not a complaint event (or unreadable): the log keeps it, the read models
            // cannot use it. `verify` and the timeline still show it.
            warn!(position = recorded.position, event_type = %recorded.event_type, "event skipped by projections");
            self.skipped += 1;
            return;
        };
        // Only a state's open deadlines are kept from before the event, not the state.
        let owed = touched
            .state
            .as_ref()
            .filter(|_| event.event.may_meet_deadlines())
            .map(|before| Obligations::of(before, policy));
        add_event(&mut touched.delta, touched.state.as_ref(), &event.event);
        crate::domain::apply(&mut touched.state, &event.event, &event.meta);
        if let (Some(owed), Some(after)) = (&owed, &touched.state) {
            count_deadlines_met(&mut touched.delta, owed, after, &event.meta, policy);
        }
    }
}
