//! The read models in memory: every complaint's record, the secondary indexes and the
//! deadline index derived from the records, and the statistics buckets.
//!
//! The indexes and timers are never stored on their own: they are a function of the
//! records, so a snapshot keeps only records and statistics and the rest is derived
//! when it is loaded, exactly as the live path derives it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use super::record::{ComplaintRecord, ScheduledTimer};
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

impl Model {
    /// A model from a snapshot's parts, its indexes and timers derived.
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
        for record in records {
            model.put(record.state.id.clone(), Some(record));
        }
        model
    }

    /// Replaces (or with `None` removes) a complaint's record, with its index entries
    /// and timers.
    pub fn put(&mut self, id: ComplaintId, record: Option<ComplaintRecord>) {
        let old = match &record {
            Some(_) => self.records.get(&id).cloned(),
            None => self.records.remove(&id),
        };
        let new_index = record
            .as_ref()
            .map(ComplaintRecord::index_keys)
            .unwrap_or_default();
        let new_timers = record
            .as_ref()
            .map(ComplaintRecord::timer_keys)
            .unwrap_or_default();
        if let Some(old) = old {
            for key in old.index_keys() {
                if !new_index.contains(&key) {
                    self.index.remove(&key);
                }
            }
            for (key, _) in old.timer_keys() {
                if !new_timers.iter().any(|(new, _)| *new == key) {
                    self.timers.remove(&key);
                }
            }
        }
        self.index.extend(new_index);
        for (key, moment) in new_timers {
            let timer = ScheduledTimer {
                complaint: id.clone(),
                moment,
            };
            self.timers.insert(key, timer);
        }
        if let Some(record) = record {
            self.records.insert(id, Arc::new(record));
        }
    }

    pub fn add_stats(&mut self, deltas: impl IntoIterator<Item = (BucketKey, StatsBucket)>) {
        for (bucket, delta) in deltas {
            self.stats.entry(bucket).or_default().merge(&delta);
        }
    }
}
