//! The annual analysis: counts per (region, dealer, month of filing) bucket, changed
//! event by event, so a rebuild and the live path add up to exactly the same numbers.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::domain::{
    ComplaintEvent, ComplaintState, DeadlineOutcome, EventMeta, Obligations, Policy,
};

/// Signed counts, so that a correction (a second root cause) can take one back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsBucket {
    pub complaints: i64,
    pub by_category: BTreeMap<String, i64>,
    pub by_channel: BTreeMap<String, i64>,
    pub by_root_cause: BTreeMap<String, i64>,
    pub deadlines_met: BTreeMap<String, i64>,
    pub deadlines_missed: BTreeMap<String, i64>,
    pub escalated: i64,
    pub reopened: i64,
    pub satisfaction_sum: i64,
    pub satisfaction_count: i64,
}

fn add(map: &mut BTreeMap<String, i64>, key: &str, by: i64) {
    // Most adds hit a key already there: only a new key costs an allocation.
    match map.get_mut(key) {
        Some(count) => *count += by,
        None => {
            map.insert(key.to_owned(), by);
        }
    }
}

fn merge_map(into: &mut BTreeMap<String, i64>, from: &BTreeMap<String, i64>) {
    for (key, value) in from {
        add(into, key, *value);
    }
}

impl StatsBucket {
    pub fn merge(&mut self, other: &StatsBucket) {
        self.complaints += other.complaints;
        merge_map(&mut self.by_category, &other.by_category);
        merge_map(&mut self.by_channel, &other.by_channel);
        merge_map(&mut self.by_root_cause, &other.by_root_cause);
        merge_map(&mut self.deadlines_met, &other.deadlines_met);
        merge_map(&mut self.deadlines_missed, &other.deadlines_missed);
        self.escalated += other.escalated;
        self.reopened += other.reopened;
        self.satisfaction_sum += other.satisfaction_sum;
        self.satisfaction_count += other.satisfaction_count;
    }
}

/// Statistics buckets by key.
pub type Buckets = BTreeMap<BucketKey, StatsBucket>;

/// Adds `delta` into its bucket.
pub fn add_to(buckets: &mut Buckets, bucket: BucketKey, delta: &StatsBucket) {
    buckets.entry(bucket).or_default().merge(delta);
}

/// Adds every bucket of `deltas` into `buckets`.
pub fn merge_buckets(buckets: &mut Buckets, deltas: Buckets) {
    for (bucket, delta) in deltas {
        add_to(buckets, bucket, &delta);
    }
}

/// Which bucket a complaint counts in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct BucketKey {
    pub region: String,
    pub dealer: String,
    /// `YYYY-MM` of the filing, in the region's time zone.
    pub month: String,
}

impl BucketKey {
    pub fn of(state: &ComplaintState, policy: &Policy) -> Self {
        let zone = policy.calendar(&state.region).time_zone();
        Self {
            region: state.region.as_str().to_owned(),
            dealer: state.dealer.as_str().to_owned(),
            month: zone
                .to_datetime(state.filed.at)
                .strftime("%Y-%m")
                .to_string(),
        }
    }
}

/// Adds to `delta` what one event changes in its complaint's bucket, judged from the
/// state before it. A complaint's bucket never changes (region, dealer and filing are
/// fixed at filing), so one delta can gather a run of its events.
pub fn add_event(delta: &mut StatsBucket, before: Option<&ComplaintState>, event: &ComplaintEvent) {
    match (event, before) {
        (ComplaintEvent::Filed(filed), None) => {
            delta.complaints += 1;
            for category in &filed.categories {
                add(&mut delta.by_category, category.as_str(), 1);
            }
            add(&mut delta.by_channel, filed.channel.as_str(), 1);
        }
        (ComplaintEvent::CauseFound(found), Some(before)) => {
            if let Some(previous) = &before.cause_found {
                add(&mut delta.by_root_cause, previous.root_cause.as_str(), -1);
            }
            add(&mut delta.by_root_cause, found.root_cause.as_str(), 1);
        }
        (ComplaintEvent::Escalated(_), Some(before)) if before.escalation_count == 0 => {
            delta.escalated += 1;
        }
        (ComplaintEvent::Reopened(_), Some(before)) if before.reopen_count == 0 => {
            delta.reopened += 1;
        }
        (ComplaintEvent::SatisfactionRecorded(recorded), Some(_)) => {
            delta.satisfaction_sum += i64::from(recorded.score.get());
            delta.satisfaction_count += 1;
        }
        (ComplaintEvent::DeadlineMissed(missed), Some(_)) => {
            add(
                &mut delta.deadlines_missed,
                missed.deadline.kind.as_str(),
                1,
            );
        }
        _ => {}
    }
}

/// Counts the deadlines an event met (or met too late) into `delta`. Only called for
/// events that may meet deadlines: working deadlines out is the expensive part.
pub fn count_deadlines_met(
    delta: &mut StatsBucket,
    before: &Obligations,
    after: &ComplaintState,
    meta: &EventMeta,
    policy: &Policy,
) {
    for (kind, outcome) in before.met_by(after, meta.occurred_at, policy) {
        let counts = match outcome {
            DeadlineOutcome::Met => &mut delta.deadlines_met,
            DeadlineOutcome::MetLate => &mut delta.deadlines_missed,
        };
        add(counts, kind.as_str(), 1);
    }
}

/// Which buckets a statistics query adds up. Periods are whole months of filing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsFilter {
    pub region: Option<String>,
    pub dealer: Option<String>,
    /// First month included, `YYYY-MM`.
    pub from_month: Option<String>,
    /// Last month included, `YYYY-MM`.
    pub to_month: Option<String>,
}

impl StatsFilter {
    pub fn admits(&self, key: &BucketKey) -> bool {
        self.region.as_ref().is_none_or(|r| *r == key.region)
            && self.dealer.as_ref().is_none_or(|d| *d == key.dealer)
            && self.from_month.as_ref().is_none_or(|m| key.month >= *m)
            && self.to_month.as_ref().is_none_or(|m| key.month <= *m)
    }
}

/// The answer to a statistics query.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Statistics {
    pub complaints: u64,
    pub by_category: BTreeMap<String, u64>,
    pub by_channel: BTreeMap<String, u64>,
    pub by_root_cause: BTreeMap<String, u64>,
    pub by_dealer: BTreeMap<String, u64>,
    pub by_month: BTreeMap<String, u64>,
    /// Per deadline kind: (met, missed).
    pub deadlines: BTreeMap<String, (u64, u64)>,
    pub escalation_rate: f64,
    pub reopen_rate: f64,
    pub average_satisfaction: f64,
    pub satisfaction_count: u64,
}

fn positive(map: &BTreeMap<String, i64>) -> BTreeMap<String, u64> {
    map.iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| (k.clone(), *v as u64))
        .collect()
}

fn ratio(part: i64, whole: i64) -> f64 {
    if whole > 0 {
        part as f64 / whole as f64
    } else {
        0.0
    }
}

impl Statistics {
    /// Adds up the buckets that passed the filter.
    pub fn from_buckets<'a>(
        buckets: impl IntoIterator<Item = (&'a BucketKey, &'a StatsBucket)>,
    ) -> Self {
        let mut total = StatsBucket::default();
        let mut by_dealer: BTreeMap<String, i64> = BTreeMap::new();
        let mut by_month: BTreeMap<String, i64> = BTreeMap::new();
        for (key, bucket) in buckets {
            total.merge(bucket);
            add(&mut by_dealer, &key.dealer, bucket.complaints);
            add(&mut by_month, &key.month, bucket.complaints);
        }
        let kinds: std::collections::BTreeSet<&String> = total
            .deadlines_met
            .keys()
            .chain(total.deadlines_missed.keys())
            .collect();
        let count = |map: &BTreeMap<String, i64>, kind: &String| {
            map.get(kind).copied().unwrap_or(0).max(0) as u64
        };
        Self {
            complaints: total.complaints.max(0) as u64,
            by_category: positive(&total.by_category),
            by_channel: positive(&total.by_channel),
            by_root_cause: positive(&total.by_root_cause),
            by_dealer: positive(&by_dealer),
            by_month: positive(&by_month),
            deadlines: kinds
                .into_iter()
                .map(|kind| {
                    let counts = (
                        count(&total.deadlines_met, kind),
                        count(&total.deadlines_missed, kind),
                    );
                    (kind.clone(), counts)
                })
                .collect(),
            escalation_rate: ratio(total.escalated, total.complaints),
            reopen_rate: ratio(total.reopened, total.complaints),
            average_satisfaction: ratio(total.satisfaction_sum, total.satisfaction_count),
            satisfaction_count: total.satisfaction_count.max(0) as u64,
        }
    }
}
