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

use super::model::Update;
use super::record::ComplaintRecord;
use super::stats::{
    BucketKey, Buckets, StatsBucket, add_to, count_deadlines_met, event_delta, merge_buckets,
};
use crate::domain::values::ComplaintId;
use crate::domain::{ComplaintState, Policy};
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
    stats: Buckets,
    skipped: u64,
}

impl<'a> Working<'a> {
    fn new(stored: Lookup<'a>, policy: &'a Policy) -> Self {
        Self {
            stored,
            policy,
            states: HashMap::new(),
            stats: Buckets::new(),
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
                add_to(&mut self.stats, BucketKey::of(after, self.policy), &delta);
            }
        }
        *state = after;
    }
}
