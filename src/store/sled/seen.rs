//! Which event ids (and streams) might already be stored, answered from memory.
//!
//! Almost every append carries new ids, and many open a new stream; asking sled about
//! each (a miss, every time) was a large share of the single writer's work. A Bloom
//! filter says "certainly new" for nearly all of them; only a "maybe" goes to sled. Filters are added with doubling
//! capacity as the log grows, so the false-positive rate stays bounded without ever
//! rebuilding.

use fastbloom::BloomFilter;
const FALSE_POSITIVE_RATE: f64 = 0.001;
const FIRST_CAPACITY: usize = 1 << 20;

pub struct Seen {
    filters: Vec<(BloomFilter, usize)>,
    capacity: usize,
}

impl Seen {
    /// A filter holding `keys`, with room for at least as many again.
    pub fn new<K: AsRef<[u8]>>(keys: impl ExactSizeIterator<Item = K>) -> Self {
        let mut seen = Self {
            filters: Vec::new(),
            capacity: FIRST_CAPACITY.max(keys.len() * 2),
        };
        for key in keys {
            seen.insert(key.as_ref());
        }
        seen
    }

    pub fn insert(&mut self, key: &[u8]) {
        let full = self
            .filters
            .last()
            .is_none_or(|(_, count)| *count >= self.capacity);
        if full {
            if !self.filters.is_empty() {
                self.capacity *= 2;
            }
            let filter =
                BloomFilter::with_false_pos(FALSE_POSITIVE_RATE).expected_items(self.capacity);
            self.filters.push((filter, 0));
        }
        if let Some((filter, count)) = self.filters.last_mut() {
            filter.insert(key);
            *count += 1;
        }
    }

    /// False means certainly never inserted; true means perhaps.
    pub fn may_contain(&self, key: &[u8]) -> bool {
        self.filters.iter().any(|(filter, _)| filter.contains(key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inserted_ids_are_always_found_and_most_others_are_not() {
        let keys: Vec<[u8; 16]> = (0..5_000u128).map(u128::to_be_bytes).collect();
        let mut seen = Seen::new(keys[..1000].iter());
        for key in &keys[1000..] {
            seen.insert(key);
        }
        assert!(keys.iter().all(|key| seen.may_contain(key)));
        let strangers = (10_000..20_000u128)
            .filter(|n| seen.may_contain(&n.to_be_bytes()))
            .count();
        assert!(strangers < 100, "{strangers} false positives in 10,000");
    }
}
