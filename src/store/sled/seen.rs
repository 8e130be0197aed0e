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

use std::sync::RwLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use fastbloom::AtomicBloomFilter;

const FALSE_POSITIVE_RATE: f64 = 0.001;
const FIRST_CAPACITY: usize = 1 << 20;

pub struct Seen {
    filters: RwLock<Vec<Filter>>,
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

impl Seen {
    /// A filter holding `keys`, with room for at least as many again.
    pub fn new<K: AsRef<[u8]>>(keys: impl ExactSizeIterator<Item = K>) -> Self {
        Self::starting_at(FIRST_CAPACITY, keys)
    }

    fn starting_at<K: AsRef<[u8]>>(
        capacity: usize,
        keys: impl ExactSizeIterator<Item = K>,
    ) -> Self {
        let first = Filter::new(capacity.max(keys.len() * 2));
        let seen = Self {
            filters: RwLock::new(vec![first]),
        };
        for key in keys {
            seen.insert(key.as_ref());
        }
        seen
    }

    /// Only the writer inserts; an id is inserted before its event can be read as stored.
    pub fn insert(&self, key: &[u8]) {
        if let Some(filter) = self.read().last().filter(|filter| !filter.is_full()) {
            filter.add(key);
            return;
        }
        let mut filters = self.filters.write().unwrap_or_else(|e| e.into_inner());
        let filter = Filter::new(filters.last().map_or(FIRST_CAPACITY, |f| f.capacity * 2));
        filter.add(key);
        filters.push(filter);
    }

    /// False means certainly never inserted; true means perhaps.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        self.read().iter().any(|filter| filter.bloom.contains(key))
    }

    /// The filters; a panic elsewhere while holding the lock leaves them valid (bits
    /// are only ever set), so a poisoned lock is used as it is.
    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Filter>> {
        self.filters.read().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_ids_are_always_found_and_most_others_are_not() {
        let keys: Vec<[u8; 16]> = (0..5_000u128).map(u128::to_be_bytes).collect();
        let seen = Seen::new(keys[..1000].iter());
        for key in &keys[1000..] {
            seen.insert(key);
        }
        assert!(keys.iter().all(|key| seen.may_contain(key)));
        let strangers = (10_000..20_000u128)
            .filter(|n| seen.may_contain(&n.to_be_bytes()))
            .count();
        assert!(strangers < 100, "{strangers} false positives in 10,000");
    }

    #[test]
    fn a_full_filter_is_followed_by_a_larger_one() {
        let seen = Seen::starting_at(100, std::iter::empty::<[u8; 16]>());
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
