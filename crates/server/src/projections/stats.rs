//! The annual analysis: counts per (region, dealer, month of filing) bucket, changed
//! event by event, so a rebuild and the live path add up to exactly the same numbers.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

use complaintflow_domain::deadlines::DeadlineKind;
use complaintflow_domain::vocabulary::{
    Category, Channel, ComplaintNature, CustomerWant, Named, RootCause, ThreeChange,
};
use complaintflow_domain::{
    ComplaintEvent, ComplaintState, DeadlineOutcome, EventMeta, Obligations, Policy,
};

/// Signed counts, so that a correction (a second root cause) can take one back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct StatsBucket {
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
    /// Assessed complaints by nature (good faith, malicious); a reassessment moves one.
    pub by_nature: BTreeMap<String, i64>,
    /// Assessed complaints by what the customer wants (one complaint may want several).
    pub by_customer_want: BTreeMap<String, i64>,
    /// Complaints by each of the three changes made for them.
    pub by_three_change: BTreeMap<String, i64>,
    pub handling: HandlingCounts,
}

/// What the seeds ask the desk to do besides the main line, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct HandlingCounts {
    /// Complaints shared inside the dealer at least once.
    pub cases_shared: i64,
    pub prevention_plans: i64,
    pub suppliers_notified: i64,
    pub supplier_charge_backs: i64,
    pub supplier_charged_back_fen: i64,
    /// Suppliers asked to improve (each supplier of a complaint once).
    pub supplier_improvements_requested: i64,
    /// Calls with the progress and a new date for a plan promised at reception.
    pub plan_promises_renewed: i64,
    pub results_reported: i64,
    /// Duplicates merged into a complaint that carries on.
    pub duplicates_merged: i64,
    /// Vehicle returns and replacements approved by both the CAC and the region.
    pub joint_approvals: i64,
}

impl HandlingCounts {
    fn fields(&self) -> [i64; 10] {
        [
            self.cases_shared,
            self.prevention_plans,
            self.suppliers_notified,
            self.supplier_charge_backs,
            self.supplier_charged_back_fen,
            self.supplier_improvements_requested,
            self.plan_promises_renewed,
            self.results_reported,
            self.duplicates_merged,
            self.joint_approvals,
        ]
    }

    fn fields_mut(&mut self) -> [&mut i64; 10] {
        [
            &mut self.cases_shared,
            &mut self.prevention_plans,
            &mut self.suppliers_notified,
            &mut self.supplier_charge_backs,
            &mut self.supplier_charged_back_fen,
            &mut self.supplier_improvements_requested,
            &mut self.plan_promises_renewed,
            &mut self.results_reported,
            &mut self.duplicates_merged,
            &mut self.joint_approvals,
        ]
    }

    fn merge(&mut self, other: &HandlingCounts) {
        for (count, by) in self.fields_mut().into_iter().zip(other.fields()) {
            *count += by;
        }
    }

    fn is_zero(&self) -> bool {
        self.fields().iter().all(|count| *count == 0)
    }
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
    pub(crate) fn merge(&mut self, other: &StatsBucket) {
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
        merge_map(&mut self.by_nature, &other.by_nature);
        merge_map(&mut self.by_customer_want, &other.by_customer_want);
        merge_map(&mut self.by_three_change, &other.by_three_change);
        self.handling.merge(&other.handling);
    }
}

/// Signed counts per value of a vocabulary, in an array of its size: counting
/// allocates nothing, which matters when a rebuild keeps one tally per complaint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally<V, const N: usize> {
    counts: [i64; N],
    vocabulary: PhantomData<V>,
}

impl<V: Named, const N: usize> Tally<V, N> {
    /// Checked when the type is used: `N` is the vocabulary's size.
    const SIZED: () = assert!(N == V::ALL.len(), "a tally has one count per value");

    fn new() -> Self {
        let () = Self::SIZED;
        Self {
            counts: [0; N],
            vocabulary: PhantomData,
        }
    }

    fn add(&mut self, value: V, by: i64) {
        self.counts[value.index()] += by;
    }

    fn is_zero(&self) -> bool {
        self.counts.iter().all(|count| *count == 0)
    }

    /// Adds the counts into a bucket's map, by name.
    fn add_into(&self, map: &mut BTreeMap<String, i64>) {
        for (value, count) in V::ALL.iter().zip(self.counts) {
            if count != 0 {
                add(map, value.as_str(), count);
            }
        }
    }
}

/// What a run of events changes in one complaint's bucket, gathered event by event
/// and added to the bucket once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StatsDelta {
    complaints: i64,
    by_category: Tally<Category, { Category::ALL.len() }>,
    by_channel: Tally<Channel, { Channel::ALL.len() }>,
    by_root_cause: Tally<RootCause, { RootCause::ALL.len() }>,
    deadlines_met: Tally<DeadlineKind, { DeadlineKind::ALL.len() }>,
    deadlines_missed: Tally<DeadlineKind, { DeadlineKind::ALL.len() }>,
    escalated: i64,
    reopened: i64,
    satisfaction_sum: i64,
    satisfaction_count: i64,
    by_nature: Tally<ComplaintNature, { ComplaintNature::ALL.len() }>,
    by_customer_want: Tally<CustomerWant, { CustomerWant::ALL.len() }>,
    by_three_change: Tally<ThreeChange, { ThreeChange::ALL.len() }>,
    handling: HandlingCounts,
}

impl Default for StatsDelta {
    fn default() -> Self {
        Self {
            complaints: 0,
            by_category: Tally::new(),
            by_channel: Tally::new(),
            by_root_cause: Tally::new(),
            deadlines_met: Tally::new(),
            deadlines_missed: Tally::new(),
            escalated: 0,
            reopened: 0,
            satisfaction_sum: 0,
            satisfaction_count: 0,
            by_nature: Tally::new(),
            by_customer_want: Tally::new(),
            by_three_change: Tally::new(),
            handling: HandlingCounts::default(),
        }
    }
}

impl StatsDelta {
    pub(crate) fn is_zero(&self) -> bool {
        let Self {
            complaints,
            by_category,
            by_channel,
            by_root_cause,
            deadlines_met,
            deadlines_missed,
            escalated,
            reopened,
            satisfaction_sum,
            satisfaction_count,
            by_nature,
            by_customer_want,
            by_three_change,
            handling,
        } = self;
        [
            complaints,
            escalated,
            reopened,
            satisfaction_sum,
            satisfaction_count,
        ]
        .into_iter()
        .all(|count| *count == 0)
            && by_category.is_zero()
            && by_channel.is_zero()
            && by_root_cause.is_zero()
            && deadlines_met.is_zero()
            && deadlines_missed.is_zero()
            && by_nature.is_zero()
            && by_customer_want.is_zero()
            && by_three_change.is_zero()
            && handling.is_zero()
    }

    fn add_into(&self, bucket: &mut StatsBucket) {
        bucket.complaints += self.complaints;
        self.by_category.add_into(&mut bucket.by_category);
        self.by_channel.add_into(&mut bucket.by_channel);
        self.by_root_cause.add_into(&mut bucket.by_root_cause);
        self.deadlines_met.add_into(&mut bucket.deadlines_met);
        self.deadlines_missed.add_into(&mut bucket.deadlines_missed);
        bucket.escalated += self.escalated;
        bucket.reopened += self.reopened;
        bucket.satisfaction_sum += self.satisfaction_sum;
        bucket.satisfaction_count += self.satisfaction_count;
        self.by_nature.add_into(&mut bucket.by_nature);
        self.by_customer_want.add_into(&mut bucket.by_customer_want);
        self.by_three_change.add_into(&mut bucket.by_three_change);
        bucket.handling.merge(&self.handling);
    }
}

/// Statistics buckets by key.
pub(crate) type Buckets = BTreeMap<BucketKey, StatsBucket>;

/// Adds a complaint's `delta` into its bucket.
pub(crate) fn add_to(buckets: &mut Buckets, bucket: BucketKey, delta: &StatsDelta) {
    delta.add_into(buckets.entry(bucket).or_default());
}

/// Adds every bucket of `deltas` into `buckets`.
pub(crate) fn merge_buckets(buckets: &mut Buckets, deltas: Buckets) {
    for (bucket, delta) in deltas {
        buckets.entry(bucket).or_default().merge(&delta);
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
pub(crate) fn add_event(
    delta: &mut StatsDelta,
    before: Option<&ComplaintState>,
    event: &ComplaintEvent,
) {
    match (event, before) {
        (ComplaintEvent::Filed(filed), None) => {
            delta.complaints += 1;
            for category in &filed.categories {
                delta.by_category.add(*category, 1);
            }
            delta.by_channel.add(filed.channel, 1);
        }
        (ComplaintEvent::CauseFound(found), Some(before)) => {
            if let Some(previous) = &before.cause_found {
                delta.by_root_cause.add(previous.root_cause, -1);
            }
            delta.by_root_cause.add(found.root_cause, 1);
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
            delta.deadlines_missed.add(missed.deadline.kind, 1);
        }
        (event, Some(before)) => add_handling(delta, before, event),
        _ => {}
    }
}

/// The counts of the seeds' side work (issue 13 §3–§4), judged from the state before
/// the event so that a repeat or a correction counts right.
fn add_handling(delta: &mut StatsDelta, before: &ComplaintState, event: &ComplaintEvent) {
    let handling = &mut delta.handling;
    match event {
        ComplaintEvent::ComplaintAssessed(assessed) => {
            if let Some(previous) = &before.assessment {
                delta.by_nature.add(previous.nature, -1);
                for want in &previous.wants {
                    delta.by_customer_want.add(*want, -1);
                }
            }
            delta.by_nature.add(assessed.nature, 1);
            for want in &assessed.wants {
                delta.by_customer_want.add(*want, 1);
            }
        }
        ComplaintEvent::ThreeChangesMade(made) => {
            for change in &made.changes {
                if !before.three_changes.contains(change) {
                    delta.by_three_change.add(*change, 1);
                }
            }
        }
        ComplaintEvent::CaseShared(_) if before.times_shared == 0 => handling.cases_shared += 1,
        ComplaintEvent::PreventionPlanned(_) => handling.prevention_plans += 1,
        ComplaintEvent::SupplierNotified(_) => handling.suppliers_notified += 1,
        ComplaintEvent::SupplierChargedBack(charged) => {
            handling.supplier_charge_backs += 1;
            handling.supplier_charged_back_fen +=
                i64::try_from(charged.amount.fen()).unwrap_or(i64::MAX);
        }
        ComplaintEvent::SupplierImprovementRequested(requested) => {
            let first = before
                .supplier(&requested.supplier)
                .is_some_and(|record| record.improvement_requested.is_none());
            if first {
                handling.supplier_improvements_requested += 1;
            }
        }
        ComplaintEvent::PlanPromiseRenewed(_) => handling.plan_promises_renewed += 1,
        ComplaintEvent::ResultReportedToCac(_) => handling.results_reported += 1,
        ComplaintEvent::DuplicateMerged(_) => handling.duplicates_merged += 1,
        ComplaintEvent::CompensationApproved(approved) => {
            // The rules let the second side's approval through only; it completes the pair.
            let completes_joint =
                before
                    .compensation(&approved.compensation_id)
                    .is_some_and(|record| {
                        record.kind.needs_joint_approval() && !record.approvals.is_empty()
                    });
            if completes_joint && approved.customer_signature.is_some() {
                handling.joint_approvals += 1;
            }
        }
        _ => {}
    }
}

/// Counts the deadlines an event met (or met too late) into `delta`. Only called for
/// events that may meet deadlines: working deadlines out is the expensive part.
pub(crate) fn count_deadlines_met(
    delta: &mut StatsDelta,
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
        counts.add(kind, 1);
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
    pub by_nature: BTreeMap<String, u64>,
    pub by_customer_want: BTreeMap<String, u64>,
    pub by_three_change: BTreeMap<String, u64>,
    /// Signed in the buckets; never below zero in a whole answer.
    pub handling: HandlingCounts,
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
    pub(crate) fn from_buckets<'a>(
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
            by_nature: positive(&total.by_nature),
            by_customer_want: positive(&total.by_customer_want),
            by_three_change: positive(&total.by_three_change),
            handling: total.handling,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_delta_adds_into_its_bucket_by_name_and_a_correction_takes_one_back() {
        let mut delta = StatsDelta::default();
        assert!(delta.is_zero());
        delta.complaints += 1;
        delta.by_category.add(Category::ALL[1], 1);
        delta.by_channel.add(Channel::WalkIn, 1);
        delta.by_root_cause.add(RootCause::ALL[0], 1);
        delta.by_root_cause.add(RootCause::ALL[0], -1);
        delta.by_root_cause.add(RootCause::ALL[2], 1);
        delta.deadlines_met.add(DeadlineKind::Result, 2);
        assert!(!delta.is_zero());

        let mut buckets = Buckets::new();
        let key = BucketKey {
            region: "east".into(),
            dealer: "D001".into(),
            month: "2026-03".into(),
        };
        add_to(&mut buckets, key.clone(), &delta);
        add_to(&mut buckets, key.clone(), &delta);
        let bucket = &buckets[&key];
        assert_eq!(bucket.complaints, 2);
        assert_eq!(bucket.by_category[Category::ALL[1].as_str()], 2);
        assert_eq!(bucket.by_channel["walk_in"], 2);
        assert_eq!(
            bucket.by_root_cause.keys().collect::<Vec<_>>(),
            vec![RootCause::ALL[2].as_str()],
            "a count taken back to zero leaves no name behind"
        );
        assert_eq!(bucket.deadlines_met["result"], 4);
        assert!(bucket.deadlines_missed.is_empty());
    }
}
