//! Applying a run of events: the complaints it touches are folded in memory, then their
//! new records and the statistics deltas are handed over to the model in one step.
//!
//! A run can be split into shards by complaint: each shard folds its own complaints
//! (in log order, as one would) on its own core, and the shards' results are disjoint
//! records plus statistics deltas, which add up in any order.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, RandomState};
use std::sync::Arc;

use tracing::warn;

use super::model::{Model, Update};
use super::parallel;
use super::record::ComplaintRecord;
use super::stats::{BucketKey, StatsBucket, count_deadlines_met, event_delta};
use crate::domain::values::ComplaintId;
use crate::domain::{ComplaintState, Policy};
use crate::engine::codec;
use crate::store::RecordedEvent;

/// What one run changed: each touched complaint's new record (`None`: gone) and the
/// statistics deltas.
#[derive(Debug, Default)]
pub struct Changes {
    pub updates: Vec<Update>,
    pub stats: HashMap<BucketKey, StatsBucket>,
    pub skipped: u64,
}

impl Changes {
    fn absorb(&mut self, other: Changes) {
        self.updates.extend(other.updates);
        for (bucket, delta) in other.stats {
            self.stats.entry(bucket).or_default().merge(&delta);
        }
        self.skipped += other.skipped;
    }
}

/// Where a run finds the records its complaints had before it.
pub type Lookup<'a> = &'a (dyn Fn(&ComplaintId) -> Option<Arc<ComplaintRecord>> + Sync);

/// Folds `events` against the records `stored` gives, on `shards` threads.
pub fn fold(
    stored: Lookup<'_>,
    policy: &Policy,
    events: &[RecordedEvent],
    shards: usize,
) -> Changes {
    if shards <= 1 {
        return Working::new(stored, policy).run(events, |_| true);
    }
    // One hasher for every shard, so that they agree on who owns which complaint.
    let owner = RandomState::new();
    let mut changes = Changes::default();
    for part in parallel::each(0..shards, |shard| {
        Working::new(stored, policy).run(events, |stream| {
            owner.hash_one(stream) as usize % shards == shard
        })
    }) {
        changes.absorb(part);
    }
    changes
}

struct Working<'a> {
    stored: Lookup<'a>,
    policy: &'a Policy,
    /// Each touched complaint: its stored record, and its state now.
    states: HashMap<ComplaintId, (Option<Arc<ComplaintRecord>>, Option<ComplaintState>)>,
    stats: HashMap<BucketKey, StatsBucket>,
    skipped: u64,
}

impl<'a> Working<'a> {
    fn new(stored: Lookup<'a>, policy: &'a Policy) -> Self {
        Self {
            stored,
            policy,
            states: HashMap::new(),
            stats: HashMap::new(),
            skipped: 0,
        }
    }

    fn run(mut self, events: &[RecordedEvent], mine: impl Fn(&str) -> bool) -> Changes {
        for recorded in events.iter().filter(|e| mine(e.stream.as_str())) {
            self.apply(recorded);
        }
        let policy = self.policy;
        Changes {
            updates: self
                .states
                .into_iter()
                .map(|(id, (stored, state))| {
                    let record = state.map(|state| ComplaintRecord::new(state, policy));
                    Update::new(id, stored.as_deref(), record)
                })
                .collect(),
            stats: self.stats,
            skipped: self.skipped,
        }
    }

    fn apply(&mut self, recorded: &RecordedEvent) {
        let (Ok(event), Ok(id)) = (
            codec::decode(recorded),
            ComplaintId::parse(recorded.stream.as_str()),
        ) else {
            // Not a complaint event (or unreadable): the log keeps it, the read models
            // cannot use it. `verify` and the timeline still show it.
            warn!(position = recorded.position, event_type = %recorded.event_type, "event skipped by projections");
            self.skipped += 1;
            return;
        };
        let (_, state) = match self.states.entry(id) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let stored = (self.stored)(entry.key());
                let state = stored.as_ref().map(|record| record.state.clone());
                entry.insert((stored, state))
            }
        };
        let before = state.take();
        let mut delta = event_delta(before.as_ref(), &event.event);
        let snapshot = before
            .as_ref()
            .filter(|_| event.event.may_meet_deadlines())
            .cloned();
        let after = crate::domain::apply(before, &event.event, &event.meta);
        if let Some(after) = &after {
            if let Some(before) = &snapshot {
                count_deadlines_met(&mut delta, before, after, &event.meta, self.policy);
            }
            if delta != StatsBucket::default() {
                self.stats
                    .entry(BucketKey::of(after, self.policy))
                    .or_default()
                    .merge(&delta);
            }
        }
        *state = after;
    }
}

impl Model {
    /// Takes over what a run changed.
    pub fn install(&mut self, changes: Changes, checkpoint: u64) {
        for update in changes.updates {
            self.put(update);
        }
        self.add_stats(changes.stats);
        self.checkpoint = checkpoint;
    }
}
