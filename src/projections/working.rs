//! Applying a run of events: complaints are changed in memory, then written with their
//! index and timer entries, the statistics and the checkpoint in one atomic batch.

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use tracing::warn;

use super::keys;
use super::record::ComplaintRecord;
use super::stats::{BucketKey, StatsBucket, count_deadlines_met, event_delta};
use super::{ProjectionError, decode_value, encode_value};
use crate::domain::values::ComplaintId;
use crate::domain::{ComplaintState, Policy};
use crate::engine::codec;
use crate::store::RecordedEvent;

/// A complaint touched by this run: what the tree holds, and the state now.
struct Touched {
    stored: Option<ComplaintRecord>,
    state: Option<ComplaintState>,
}

pub struct Working<'a> {
    tree: &'a sled::Tree,
    policy: &'a Policy,
    complaints: HashMap<ComplaintId, Touched>,
    stats: HashMap<BucketKey, StatsBucket>,
    pub skipped: u64,
}

impl<'a> Working<'a> {
    pub fn new(tree: &'a sled::Tree, policy: &'a Policy) -> Self {
        Self {
            tree,
            policy,
            complaints: HashMap::new(),
            stats: HashMap::new(),
            skipped: 0,
        }
    }

    pub fn apply(&mut self, recorded: &RecordedEvent) -> Result<(), ProjectionError> {
        let (Ok(event), Ok(id)) = (
            codec::decode(recorded),
            ComplaintId::parse(recorded.stream.as_str()),
        ) else {
            // Not a complaint event (or unreadable): the log keeps it, the read models
            // cannot use it. `verify` and the timeline still show it.
            warn!(position = recorded.position, event_type = %recorded.event_type, "event skipped by projections");
            self.skipped += 1;
            return Ok(());
        };
        let touched = match self.complaints.entry(id) {
            Entry::Occupied(entry) => entry.into_mut(),
            Entry::Vacant(entry) => {
                let stored: Option<ComplaintRecord> = self
                    .tree
                    .get(keys::record_key(entry.key()))?
                    .map(|bytes| decode_value(&bytes))
                    .transpose()?;
                let state = stored.as_ref().map(|record| record.state.clone());
                entry.insert(Touched { stored, state })
            }
        };
        let before = touched.state.take();
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
        touched.state = after;
        Ok(())
    }

    /// Everything this run changed, with the checkpoint, as one batch. Returns the batch
    /// and how the number of pending timers changed.
    pub fn into_batch(self, checkpoint: u64) -> Result<(sled::Batch, i64), ProjectionError> {
        let mut batch = sled::Batch::default();
        let mut timer_change = 0i64;
        for (id, touched) in self.complaints {
            let record = touched
                .state
                .map(|state| ComplaintRecord::new(state, self.policy));
            let old_index = touched
                .stored
                .as_ref()
                .map(ComplaintRecord::index_keys)
                .unwrap_or_default();
            let new_index = record
                .as_ref()
                .map(ComplaintRecord::index_keys)
                .unwrap_or_default();
            for key in old_index.iter().filter(|k| !new_index.contains(k)) {
                batch.remove(key.as_slice());
            }
            for key in new_index.iter().filter(|k| !old_index.contains(k)) {
                batch.insert(key.as_slice(), &[][..]);
            }
            let old_timers = touched
                .stored
                .as_ref()
                .map(ComplaintRecord::timer_keys)
                .unwrap_or_default();
            let new_timers = record
                .as_ref()
                .map(ComplaintRecord::timer_keys)
                .unwrap_or_default();
            for (key, _) in old_timers
                .iter()
                .filter(|(k, _)| !new_timers.iter().any(|(n, _)| n == k))
            {
                batch.remove(key.as_slice());
                timer_change -= 1;
            }
            for (key, moment) in &new_timers {
                // A timer is kept only if its whole moment is unchanged: the same key can
                // carry a different deadline (a warning given meanwhile clears `warn_at`),
                // and a rebuild must store exactly what the live path stores.
                match old_timers.iter().find(|(old, _)| old == key) {
                    Some((_, old_moment)) if old_moment == moment => continue,
                    Some(_) => {}
                    None => timer_change += 1,
                }
                let timer = super::ScheduledTimer {
                    complaint: id.clone(),
                    moment: *moment,
                };
                batch.insert(key.as_slice(), encode_value(&timer)?);
            }
            match record {
                Some(record) => batch.insert(keys::record_key(&id), encode_value(&record)?),
                None => batch.remove(keys::record_key(&id)),
            }
        }
        for (bucket, delta) in self.stats {
            let key = keys::stats_key(&bucket.region, &bucket.dealer, &bucket.month);
            let mut total: StatsBucket = self
                .tree
                .get(&key)?
                .map(|bytes| decode_value(&bytes))
                .transpose()?
                .unwrap_or_default();
            total.merge(&delta);
            batch.insert(key, encode_value(&total)?);
        }
        batch.insert(
            keys::meta_key(super::CHECKPOINT),
            &checkpoint.to_be_bytes()[..],
        );
        Ok((batch, timer_change))
    }
}
