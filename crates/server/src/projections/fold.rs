//! Applying a run of events: the complaints it touches are folded in memory, then their
//! new records and the statistics deltas are handed over to the model in one step.
//!
//! A run can be split into shards by complaint: each shard folds its own complaints
//! (in log order, as one would) on its own core, and the shards' results are disjoint
//! records plus statistics deltas, which add up in any order.

use std::hash::BuildHasher;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use foldhash::fast::RandomState;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use tracing::warn;

use super::ProjectionError;
use super::model::Update;
use super::record::ComplaintRecord;
use super::stats::{
    BucketKey, Buckets, StatsDelta, add_event, add_to, count_deadlines_met, merge_buckets,
};
use crate::engine::codec;
use complaintflow_domain::follow_up::{self, FollowUpEvent};
use complaintflow_domain::values::{ComplaintId, FollowUpId};
use complaintflow_domain::{ComplaintState, EventMeta, Obligations, Policy};
use complaintflow_log::codec::{Envelope, decode_envelope, stream_of};
use complaintflow_log::parallel;
use complaintflow_log::{BackendError, EncodedPage, RecordedEvent, StoreError};
use rayon::iter::{IntoParallelIterator, ParallelIterator};

/// What one run changed: an update of each touched complaint, and the statistics
/// deltas.
#[derive(Debug, Default)]
pub(crate) struct Changes {
    pub updates: Vec<Update>,
    pub stats: Buckets,
    pub skipped: u64,
    /// Follow-up events, in log order per follow-up: a handful per delivery, applied
    /// to the follow-ups' read model where it is installed.
    pub follow_ups: Vec<FollowUpChange>,
}

/// One follow-up event as the read model applies it.
#[derive(Debug)]
pub(crate) struct FollowUpChange {
    pub id: FollowUpId,
    pub event: FollowUpEvent,
    pub meta: EventMeta,
}

impl Changes {
    fn absorb(&mut self, other: Changes) {
        self.updates.extend(other.updates);
        merge_buckets(&mut self.stats, other.stats);
        self.skipped += other.skipped;
        self.follow_ups.extend(other.follow_ups);
    }
}

/// Where a run finds the records its complaints had before it.
pub(crate) type Lookup<'a> = &'a (dyn Fn(&ComplaintId) -> Option<Arc<ComplaintRecord>> + Sync);

/// A fold of this many events is split over every core.
const PARALLEL_FOLD: u64 = 20_000;

/// Folds `events` against the records `stored` gives.
pub(crate) fn fold(stored: Lookup<'_>, policy: &Policy, events: &[RecordedEvent]) -> Changes {
    let mut fold = Fold::new(stored, policy, events.len() as u64);
    fold.feed(events);
    fold.into_changes()
}

/// A fold over any number of runs of events, split by complaint into shards that each
/// keep their complaints from one run to the next: a complaint spread over many runs
/// is looked up, copied and made into a record once, not once per run.
pub(crate) struct Fold<'a> {
    shards: Vec<Working<'a>>,
}

impl<'a> Fold<'a> {
    /// A fold of about `events` events: on every core if they are many.
    pub(crate) fn new(stored: Lookup<'a>, policy: &'a Policy, events: u64) -> Self {
        let count = if events >= PARALLEL_FOLD {
            parallel::cores()
        } else {
            1
        };
        // One hasher for every shard, so that they agree on who owns which complaint.
        // Complaint ids come from clients: it is seeded per process (foldhash), fast
        // without being predictable.
        let hasher = RandomState::default();
        let shards = (0..count).map(|index| Shard {
            hasher: hasher.clone(),
            index,
            count,
        });
        Self {
            shards: shards
                .map(|shard| Working::new(shard, stored, policy))
                .collect(),
        }
    }

    /// Folds the next run of events, each shard on its own core.
    pub(crate) fn feed(&mut self, events: &[RecordedEvent]) {
        let events = || events.iter().map(Envelope::from);
        if let [working] = self.shards.as_mut_slice() {
            return working.run(events());
        }
        let shards = std::mem::take(&mut self.shards);
        self.shards = shards
            .into_par_iter()
            .map(|mut working| {
                working.run(events());
                working
            })
            .collect();
    }

    /// Folds every page of `pages` while the pages are still being read: each shard
    /// works on a thread of its own, through the pages at its own pace (see
    /// `parallel::broadcast`), and decodes only the records of its own complaints. The
    /// fold is left empty if this fails.
    pub(crate) fn feed_pages(
        &mut self,
        pages: impl IntoIterator<Item = Result<EncodedPage, StoreError>>,
    ) -> Result<(), ProjectionError> {
        let shards = std::mem::take(&mut self.shards);
        // A shard that met an unreadable record stops the reading: the fold is lost.
        let failed = AtomicBool::new(false);
        let pages = pages
            .into_iter()
            .take_while(|_| !failed.load(Ordering::Relaxed));
        let fold = |working: &mut Working<'_>, page: &EncodedPage| {
            working.run_page(page);
            if working.failure.is_some() {
                failed.store(true, Ordering::Relaxed);
            }
        };
        let shards = parallel::broadcast(shards, pages, fold).map_err(|stopped| match stopped {
            parallel::Stopped::Source(err) => ProjectionError::Store(err),
            parallel::Stopped::Panicked => {
                ProjectionError::Backend(BackendError::new("folding events panicked"))
            }
        })?;
        for working in shards {
            if let Some(err) = working.failure {
                return Err(ProjectionError::Store(err));
            }
            self.shards.push(working);
        }
        Ok(())
    }

    /// What the runs changed, as updates to the records they started from.
    pub(crate) fn into_changes(self) -> Changes {
        let mut changes = Changes::default();
        let parts: Vec<_> = self
            .shards
            .into_par_iter()
            .map(Working::into_changes)
            .collect();
        for part in parts {
            changes.absorb(part);
        }
        changes
    }

    /// The complaints' records, one part per shard, for a fold that started from no
    /// records at all; with the statistics and the events skipped.
    pub(crate) fn into_records(self) -> Records {
        let mut built = Records {
            parts: Vec::with_capacity(self.shards.len()),
            ..Records::default()
        };
        let parts: Vec<_> = self
            .shards
            .into_par_iter()
            .map(Working::into_records)
            .collect();
        for (records, part_stats, part_skipped, follow_ups) in parts {
            built.parts.push(records);
            merge_buckets(&mut built.stats, part_stats);
            built.skipped += part_skipped;
            built.follow_ups.extend(follow_ups);
        }
        built
    }
}

/// The read models a fold from no records at all builds: the complaints' records in
/// parts (one per shard), the statistics, the events skipped and the follow-ups' events.
#[derive(Debug, Default)]
pub(crate) struct Records {
    pub parts: Vec<Vec<Arc<ComplaintRecord>>>,
    pub stats: Buckets,
    pub skipped: u64,
    pub follow_ups: Vec<FollowUpChange>,
}

/// Which complaints a shard folds: those whose stream hashes to it.
#[derive(Debug, Clone)]
struct Shard {
    hasher: RandomState,
    index: usize,
    count: usize,
}

impl Shard {
    /// The stream's hash, if this shard owns the stream. Ownership is read from the
    /// hash's middle bits: the shard's table places entries by its low bits and tags
    /// them with its top seven, which must not be the same in every entry.
    fn owns(&self, stream: &str) -> Option<u64> {
        let hash = self.hasher.hash_one(stream);
        ((hash >> 32) as usize % self.count == self.index).then_some(hash)
    }
}

struct Working<'a> {
    shard: Shard,
    stored: Lookup<'a>,
    policy: &'a Policy,
    /// Each complaint touched, found by the hash of its stream that `shard` computed
    /// anyway: one hash and one probe per event. Boxed: a state is large, and the
    /// table's growth should move pointers, not states.
    touched: HashTable<(ComplaintId, Box<Touched>)>,
    skipped: u64,
    /// The first record of a page that could not be read: the fold stops there.
    failure: Option<StoreError>,
    follow_ups: Vec<FollowUpChange>,
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
    fn new(shard: Shard, stored: Lookup<'a>, policy: &'a Policy) -> Self {
        Self {
            shard,
            stored,
            policy,
            touched: HashTable::new(),
            skipped: 0,
            failure: None,
            follow_ups: Vec::new(),
        }
    }

    fn run<'e>(&mut self, events: impl IntoIterator<Item = Envelope<'e>>) {
        for envelope in events {
            if let Some(hash) = self.shard.owns(envelope.stream) {
                self.apply(hash, &envelope);
            }
        }
    }

    /// Folds the records of `page` that this shard owns, decoding only those.
    fn run_page(&mut self, page: &EncodedPage) {
        if self.failure.is_some() {
            return;
        }
        for (position, record) in page.records() {
            let owned = record.and_then(|record| match self.shard.owns(stream_of(record)?) {
                Some(hash) => Ok(Some((hash, decode_envelope(record)?))),
                None => Ok(None),
            });
            match owned {
                Ok(Some((hash, envelope))) => self.apply(hash, &envelope),
                Ok(None) => {}
                Err(err) => {
                    let location = format!("position {position}");
                    let reason = err.to_string();
                    self.failure = Some(StoreError::Corrupt { location, reason });
                    return;
                }
            }
        }
    }

    /// Adds each complaint's statistics delta to its bucket, once per complaint.
    fn bucket_stats(&self) -> Buckets {
        let mut stats = Buckets::new();
        for (_, touched) in &self.touched {
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
            follow_ups: self.follow_ups,
        }
    }

    fn into_records(self) -> (Vec<Arc<ComplaintRecord>>, Buckets, u64, Vec<FollowUpChange>) {
        let (policy, stats) = (self.policy, self.bucket_stats());
        let records = self
            .touched
            .into_iter()
            .filter_map(|(_, touched)| touched.state)
            .map(|state| Arc::new(ComplaintRecord::new(state, policy)))
            .collect();
        (records, stats, self.skipped, self.follow_ups)
    }

    /// Keeps a follow-up stream's event for the follow-ups' read model; false if it
    /// cannot be read as one.
    fn keep_follow_up(&mut self, id: FollowUpId, recorded: &Envelope<'_>) -> bool {
        let event = FollowUpEvent::decode(
            recorded.event_type,
            recorded.schema_version,
            recorded.payload,
        );
        let actor = codec::actor_from_str(recorded.actor);
        let (Ok(event), Ok(actor)) = (event, actor) else {
            return false;
        };
        let meta = EventMeta {
            version: recorded.version,
            occurred_at: recorded.occurred_at,
            recorded_at: recorded.recorded_at,
            actor,
        };
        self.follow_ups.push(FollowUpChange { id, event, meta });
        true
    }

    /// The complaint of a stream (`hash` is its hash), touched by this run from now on;
    /// `None` if the stream is not a complaint id. An id is checked and copied once per
    /// complaint, not per event.
    fn touch(&mut self, hash: u64, stream: &str) -> Option<&mut Touched> {
        let hasher = &self.shard.hasher;
        let entry = self.touched.entry(
            hash,
            |(id, _)| id.as_str() == stream,
            |(id, _)| hasher.hash_one(id.as_str()),
        );
        let entry = match entry {
            Entry::Occupied(entry) => entry,
            Entry::Vacant(entry) => {
                let id = ComplaintId::parse(stream).ok()?;
                let stored = (self.stored)(&id);
                let state = stored.as_ref().map(|record| record.state.clone());
                let delta = StatsDelta::default();
                let touched = Touched {
                    stored,
                    state,
                    delta,
                };
                entry.insert((id, Box::new(touched)))
            }
        };
        Some(&mut *entry.into_mut().1)
    }

    fn apply(&mut self, hash: u64, recorded: &Envelope<'_>) {
        if let Some(id) = follow_up::of_stream(recorded.stream) {
            if !self.keep_follow_up(id, recorded) {
                warn!(position = recorded.position, event_type = %recorded.event_type, "follow-up event skipped by projections");
                self.skipped += 1;
            }
            return;
        }
        let policy = self.policy;
        let decoded = codec::domain_event_of(recorded);
        let touched = match decoded {
            Ok(_) => self.touch(hash, recorded.stream),
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
        complaintflow_domain::apply(&mut touched.state, &event.event, &event.meta);
        if let (Some(owed), Some(after)) = (&owed, &touched.state) {
            count_deadlines_met(&mut touched.delta, owed, after, &event.meta, policy);
        }
    }
}
