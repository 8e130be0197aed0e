//! The read models in memory: every complaint's record, the secondary indexes and the
//! deadline index derived from the records, and the statistics buckets.
//!
//! The indexes and timers are never stored on their own: they are a function of the
//! records, so a snapshot keeps only records and statistics and the rest is derived
//! when it is loaded, exactly as the live path derives it.

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;

use foldhash::HashMap;
use std::sync::Arc;

use super::fold::{Changes, FollowUpChange};
use super::record::{ComplaintRecord, ScheduledTimer, TimerMoment};
use super::stats::{Buckets, merge_buckets};
use complaintflow_domain::Policy;
use complaintflow_domain::follow_up::{self, FollowUpState};
use complaintflow_domain::values::{ComplaintId, FollowUpId};
use complaintflow_log::Hash;
use rayon::iter::{IntoParallelRefIterator, ParallelIterator};

#[derive(Debug, Default)]
pub(crate) struct Model {
    /// The next global position to apply.
    pub checkpoint: u64,
    /// The log's global chain hash at `checkpoint - 1`: which log the models were built
    /// from, so that a snapshot is never trusted against another one.
    pub log_hash: Hash,
    pub records: HashMap<ComplaintId, Arc<ComplaintRecord>>,
    /// Encoded index keys (see `keys::index_key`): ordered, so a listing is a range.
    pub index: BTreeSet<Vec<u8>>,
    /// Encoded timer keys (see `keys::timer_key`), earliest first.
    pub timers: BTreeMap<Vec<u8>, ScheduledTimer>,
    pub stats: Buckets,
    /// The quality follow-ups, each as it stands: few and small, so the listing, the
    /// statistics and the due calls are worked out from them when asked.
    pub follow_ups: BTreeMap<FollowUpId, FollowUpState>,
    /// The calls still owed, by due moment: what the scheduler looks at.
    pub follow_ups_due: BTreeSet<(Timestamp, FollowUpId)>,
}

/// A change to one complaint with every key it implies, worked out before the model is
/// locked (on the folding threads), so that installing it is only set operations.
#[derive(Debug)]
pub(crate) struct Update {
    pub id: ComplaintId,
    /// The keys of the record being replaced.
    pub old_index: Vec<Vec<u8>>,
    pub old_timers: Vec<Vec<u8>>,
    /// The new record (`None`: the complaint is gone).
    pub record: Option<ComplaintRecord>,
    pub index: Vec<Vec<u8>>,
    pub timers: Vec<(Vec<u8>, TimerMoment)>,
}

impl Update {
    pub(crate) fn new(
        id: ComplaintId,
        old: Option<&ComplaintRecord>,
        record: Option<ComplaintRecord>,
    ) -> Self {
        let old_timers = old
            .map(|old| old.timer_keys().into_iter().map(|(key, _)| key).collect())
            .unwrap_or_default();
        Self {
            id,
            old_index: old.map(ComplaintRecord::index_keys).unwrap_or_default(),
            old_timers,
            index: record
                .as_ref()
                .map(ComplaintRecord::index_keys)
                .unwrap_or_default(),
            timers: record
                .as_ref()
                .map(ComplaintRecord::timer_keys)
                .unwrap_or_default(),
            record,
        }
    }
}

impl Model {
    /// A model from records in parts (a snapshot's, or a rebuild's shards): their
    /// indexes and timers are derived and sorted on every core, then the records map,
    /// the index and the timers are each built in bulk, side by side.
    pub(crate) fn from_parts(
        checkpoint: u64,
        parts: Vec<Vec<Arc<ComplaintRecord>>>,
        stats: Buckets,
    ) -> Self {
        let derived: Vec<_> = parts
            .par_iter()
            .map(|part| {
                let mut index = Vec::new();
                let mut timers = Vec::new();
                for record in part {
                    index.extend(record.index_keys());
                    timers.extend(record.timer_keys().into_iter().map(|(key, moment)| {
                        let complaint = record.state.id.clone();
                        (key, ScheduledTimer { complaint, moment })
                    }));
                }
                index.sort_unstable();
                timers.sort_unstable_by(|a, b| a.0.cmp(&b.0));
                (index, timers)
            })
            .collect();
        let (index, timers): (Vec<_>, Vec<_>) = derived.into_iter().unzip();
        fn merge<T, C: FromIterator<T>>(runs: Vec<Vec<T>>) -> C {
            runs.into_iter().flatten().collect()
        }
        // The sorted runs only need merging.
        let ((index, timers), records) = rayon::join(
            || rayon::join(|| merge(index), || merge(timers)),
            || {
                parts
                    .into_iter()
                    .flatten()
                    .map(|record| (record.state.id.clone(), record))
                    .collect()
            },
        );
        Self {
            checkpoint,
            log_hash: Hash::GENESIS,
            records,
            index,
            timers,
            stats,
            follow_ups: BTreeMap::new(),
            follow_ups_due: BTreeSet::new(),
        }
    }

    /// Takes the follow-ups of a snapshot.
    pub(crate) fn load_follow_ups(&mut self, states: Vec<FollowUpState>) {
        for state in states {
            self.put_follow_up(state);
        }
    }

    fn put_follow_up(&mut self, state: FollowUpState) {
        if let Some(due) = state.pending_deadline() {
            self.follow_ups_due.insert((due, state.id().clone()));
        }
        self.follow_ups.insert(state.id().clone(), state);
    }

    /// Applies follow-up events, in the order each follow-up's came in the log.
    pub(crate) fn apply_follow_ups(&mut self, changes: Vec<FollowUpChange>, policy: &Policy) {
        for FollowUpChange { id, event, meta } in changes {
            let mut state = self.follow_ups.remove(&id);
            if let Some(due) = state.as_ref().and_then(FollowUpState::pending_deadline) {
                self.follow_ups_due.remove(&(due, id));
            }
            follow_up::apply(&mut state, &event, &meta, policy);
            if let Some(state) = state {
                self.put_follow_up(state);
            }
        }
    }

    /// Replaces (or removes) a complaint's record, with its index entries and timers.
    pub(crate) fn put(&mut self, update: Update) {
        let Update {
            id,
            old_index,
            old_timers,
            record,
            index,
            timers,
        } = update;
        for key in old_index {
            if !index.contains(&key) {
                self.index.remove(&key);
            }
        }
        for key in old_timers {
            if !timers.iter().any(|(new, _)| *new == key) {
                self.timers.remove(&key);
            }
        }
        self.index.extend(index);
        for (key, moment) in timers {
            let timer = ScheduledTimer {
                complaint: id.clone(),
                moment,
            };
            self.timers.insert(key, timer);
        }
        match record {
            Some(record) => self.records.insert(id, Arc::new(record)),
            None => self.records.remove(&id),
        };
    }
    /// Takes over what a run changed.
    pub(crate) fn install(&mut self, changes: Changes, checkpoint: u64, policy: &Policy) {
        for update in changes.updates {
            self.put(update);
        }
        self.apply_follow_ups(changes.follow_ups, policy);
        merge_buckets(&mut self.stats, changes.stats);
        self.checkpoint = checkpoint;
    }
}
