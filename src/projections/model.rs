//! The read models in memory: every complaint's record, the secondary indexes and the
//! deadline index derived from the records, and the statistics buckets.
//!
//! The indexes and timers are never stored on their own: they are a function of the
//! records, so a snapshot keeps only records and statistics and the rest is derived
//! when it is loaded, exactly as the live path derives it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::record::{ComplaintRecord, ScheduledTimer, TimerMoment};
use super::stats::{BucketKey, StatsBucket};
use crate::domain::values::ComplaintId;

#[derive(Debug, Default)]
pub struct Model {
    /// The next global position to apply.
    pub checkpoint: u64,
    pub records: HashMap<ComplaintId, Arc<ComplaintRecord>>,
    /// Encoded index keys (see `keys::index_key`): ordered, so a listing is a range.
    pub index: BTreeSet<Vec<u8>>,
    /// Encoded timer keys (see `keys::timer_key`), earliest first.
    pub timers: BTreeMap<Vec<u8>, ScheduledTimer>,
    pub stats: BTreeMap<BucketKey, StatsBucket>,
}

/// A change to one complaint with every key it implies, worked out before the model is
/// locked (on the folding threads), so that installing it is only set operations.
#[derive(Debug)]
pub struct Update {
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
    pub fn new(
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
    /// A model from a snapshot's parts, its indexes and timers derived on every core.
    pub fn from_parts(
        checkpoint: u64,
        records: Vec<ComplaintRecord>,
        stats: BTreeMap<BucketKey, StatsBucket>,
    ) -> Self {
        let mut model = Self {
            checkpoint,
            stats,
            records: HashMap::with_capacity(records.len()),
            ..Self::default()
        };
        let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
        let mut parts = Vec::with_capacity(threads);
        let mut records = records;
        let part = records.len().div_ceil(threads).max(1);
        while records.len() > part {
            parts.push(records.split_off(records.len() - part));
        }
        parts.push(records);
        let updates = std::thread::scope(|scope| {
            let workers: Vec<_> = parts
                .into_iter()
                .map(|part| {
                    scope.spawn(move || {
                        part.into_iter()
                            .map(|record| Update::new(record.state.id.clone(), None, Some(record)))
                            .collect::<Vec<_>>()
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|worker| {
                    worker
                        .join()
                        .unwrap_or_else(|p| std::panic::resume_unwind(p))
                })
                .collect::<Vec<_>>()
        });
        for update in updates.into_iter().flatten() {
            model.put(update);
        }
        model
    }

    /// Replaces (or removes) a complaint's record, with its index entries and timers.
    pub fn put(&mut self, update: Update) {
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
    pub fn add_stats(&mut self, deltas: impl IntoIterator<Item = (BucketKey, StatsBucket)>) {
        for (bucket, delta) in deltas {
            self.stats.entry(bucket).or_default().merge(&delta);
        }
    }
}
