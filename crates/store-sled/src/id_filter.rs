//! Which event ids might already be stored, answered from memory.
//!
//! Almost every append carries new ids, and many open a new stream; asking sled about
//! each (a miss, every time) was a large share of the single writer's work, and the
//! engine asks the same before every append, to spot a retry. A Bloom filter says
//! "certainly new" for nearly all of them; only a "maybe" goes to sled. Filters are added
//! with doubling capacity as the log grows, so the false-positive rate stays bounded
//! without ever rebuilding.
//!
//! The writer inserts while readers ask: the filters' bits are atomic, and the lock
//! around the list of filters is only taken for writing when a new filter is added.
//!
//! The ids stored before the store opened are added by a backfill (see `backfill`);
//! until it is complete, the filter answers "perhaps" to everything.

use std::sync::RwLock;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use fastbloom::AtomicBloomFilter;

const FALSE_POSITIVE_RATE: f64 = 0.001;
const FIRST_CAPACITY: usize = 1 << 20;

pub(crate) struct IdFilter {
    filters: RwLock<Vec<Filter>>,
    /// Every id stored before the store opened has been inserted.
    complete: AtomicBool,
}

struct Filter {
    bloom: AtomicBloomFilter,
    capacity: usize,
    count: AtomicUsize,
}

impl Filter {
    fn new(capacity: usize) -> Self {
        Self {
            bloom: AtomicBloomFilter::with_false_pos(FALSE_POSITIVE_RATE).expected_items(capacity),
            capacity,
            count: AtomicUsize::new(0),
        }
    }

    fn add(&self, key: &[u8]) {
        self.bloom.insert(key);
        self.count.fetch_add(1, Ordering::Relaxed);
    }

    fn is_full(&self) -> bool {
        self.count.load(Ordering::Relaxed) >= self.capacity
    }
}

impl IdFilter {
    /// An incomplete filter with room for `expected` ids and as many again.
    pub(crate) fn new(expected: usize) -> Self {
        Self::starting_at(FIRST_CAPACITY, expected)
    }

    fn starting_at(capacity: usize, expected: usize) -> Self {
        Self {
            filters: RwLock::new(vec![Filter::new(capacity.max(expected * 2))]),
            complete: AtomicBool::new(false),
        }
    }

    /// Every id stored before the store opened is in: from now on a "no" is certain.
    pub(crate) fn mark_complete(&self) {
        self.complete.store(true, Ordering::Release);
    }

    /// The writer inserts each id before its event can be read as stored; the backfill
    /// inserts the ids stored before.
    pub(crate) fn insert(&self, key: &[u8]) {
        if let Some(filter) = self.read().last().filter(|filter| !filter.is_full()) {
            filter.add(key);
            return;
        }
        let mut filters = self
            .filters
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let filter = Filter::new(filters.last().map_or(FIRST_CAPACITY, |f| f.capacity * 2));
        filter.add(key);
        filters.push(filter);
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.complete.load(Ordering::Acquire)
    }

    /// False means certainly not stored; true means perhaps.
    pub(crate) fn may_contain(&self, key: &[u8]) -> bool {
        // Acquire: the backfill's bits are visible once its completion is.
        !self.is_complete() || self.read().iter().any(|filter| filter.bloom.contains(key))
    }

    /// The filters; a panic elsewhere while holding the lock leaves them valid (bits
    /// are only ever set), so a poisoned lock is used as it is.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Filter>> {
        self.filters
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// How many of 10,000 ids never inserted the filter does not rule out.
    pub(crate) fn false_positives(seen: &IdFilter) -> usize {
        (10_000..20_000u128)
            .filter(|n| seen.may_contain(&n.to_be_bytes()))
            .count()
    }

    #[test]
    fn inserted_ids_are_always_found_and_most_others_are_not() {
        let keys: Vec<[u8; 16]> = (0..5_000u128).map(u128::to_be_bytes).collect();
        let seen = IdFilter::new(1000);
        for key in &keys {
            seen.insert(key);
        }
        seen.mark_complete();
        assert!(keys.iter().all(|key| seen.may_contain(key)));
        let strangers = false_positives(&seen);
        assert!(strangers < 100, "{strangers} false positives in 10,000");
    }

    #[test]
    fn an_incomplete_filter_rules_nothing_out() {
        let seen = IdFilter::new(0);
        seen.insert(&[1; 16]);
        assert!((0..100u128).all(|n| seen.may_contain(&n.to_be_bytes())));
        seen.mark_complete();
        assert!(seen.may_contain(&[1; 16]));
        assert!(!seen.may_contain(&[2; 16]));
    }

    #[test]
    fn a_full_filter_is_followed_by_a_larger_one() {
        let seen = IdFilter::starting_at(100, 0);
        seen.mark_complete();
        let keys = (0..110u128).map(u128::to_be_bytes);
        for key in keys.clone() {
            seen.insert(&key);
        }
        let filters = seen.read();
        assert_eq!(filters.len(), 2);
        assert_eq!(filters[1].capacity, 200);
        drop(filters);
        assert!(keys.into_iter().all(|key| seen.may_contain(&key)));
    }
}
