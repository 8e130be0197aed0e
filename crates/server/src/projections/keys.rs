//! Ordered keys of the read models: the secondary indexes and the deadline index are
//! sets of these keys, so that a listing or the due timers are one range. `dump` gives
//! every read model in the same key space, for comparing two builds.
//!
//! | prefix | key                                        | value                     |
//! |--------|--------------------------------------------|---------------------------|
//! | `C`    | complaint id                               | `ComplaintRecord` (dump)  |
//! | `I`    | index, value, `\0`, newest-first time, id  | empty                     |
//! | `T`    | due time, id, `\0`, deadline key, stage    | `ScheduledTimer`          |
//! | `S`    | region, `\0`, dealer, `\0`, month          | `StatsBucket` (dump)      |

use jiff::Timestamp;

use complaintflow_domain::values::ComplaintId;
use complaintflow_domain::{DeadlineKey, DueStage};

pub(crate) const RECORD: u8 = b'C';
pub(crate) const INDEX: u8 = b'I';
pub(crate) const TIMER: u8 = b'T';
pub(crate) const STATS: u8 = b'S';
const SEP: u8 = 0;

pub(crate) fn record_key(id: &ComplaintId) -> Vec<u8> {
    let mut key = Vec::with_capacity(id.as_str().len() + 1);
    key.push(RECORD);
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// The secondary indexes a complaint can be listed by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Index {
    All,
    Dealer,
    Region,
    Status,
    Category,
    Severity,
    Overdue,
    AtRisk,
}

impl Index {
    fn tag(self) -> u8 {
        match self {
            Self::All => b'a',
            Self::Dealer => b'd',
            Self::Region => b'r',
            Self::Status => b's',
            Self::Category => b'c',
            Self::Severity => b'v',
            Self::Overdue => b'o',
            Self::AtRisk => b'k',
        }
    }
}

/// The prefix of every entry of `index` under `value`.
pub(crate) fn index_prefix(index: Index, value: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(value.len() + 3);
    key.extend_from_slice(&[INDEX, index.tag()]);
    key.extend_from_slice(value.as_bytes());
    key.push(SEP);
    key
}

/// Newest first: the index orders by the complement of the filing time.
pub(crate) fn index_key(
    index: Index,
    value: &str,
    filed_at: Timestamp,
    id: &ComplaintId,
) -> Vec<u8> {
    let mut key = index_prefix(index, value);
    let newest_first = u64::MAX - filed_at.as_microsecond() as u64;
    key.extend_from_slice(&newest_first.to_be_bytes());
    key.extend_from_slice(id.as_str().as_bytes());
    key
}

/// The complaint id of what follows an index key's prefix (its filing time and id).
pub(crate) fn id_of_cursor(cursor: &[u8]) -> Option<&str> {
    cursor.get(8..).and_then(|id| std::str::from_utf8(id).ok())
}

pub(crate) fn timer_key(
    at: Timestamp,
    id: &ComplaintId,
    deadline: &DeadlineKey,
    stage: DueStage,
) -> Vec<u8> {
    let mut key = Vec::with_capacity(64);
    key.push(TIMER);
    key.extend_from_slice(&(at.as_microsecond() as u64 ^ (1 << 63)).to_be_bytes());
    key.extend_from_slice(id.as_str().as_bytes());
    key.push(SEP);
    key.extend_from_slice(deadline.to_string().as_bytes());
    key.push(match stage {
        DueStage::Warning => b'w',
        DueStage::Due => b'd',
    });
    key
}

/// The first timer key after every timer due at or before `at`.
pub(crate) fn timers_after(at: Timestamp) -> Vec<u8> {
    let mut key = vec![TIMER];
    let bound = (at.as_microsecond() as u64 ^ (1 << 63)).saturating_add(1);
    key.extend_from_slice(&bound.to_be_bytes());
    key
}

pub(crate) fn stats_key(region: &str, dealer: &str, month: &str) -> Vec<u8> {
    let mut key = Vec::with_capacity(region.len() + dealer.len() + month.len() + 3);
    key.push(STATS);
    key.extend_from_slice(region.as_bytes());
    key.push(SEP);
    key.extend_from_slice(dealer.as_bytes());
    key.push(SEP);
    key.extend_from_slice(month.as_bytes());
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ComplaintId {
        ComplaintId::parse(s).unwrap()
    }

    #[test]
    fn indexes_list_newest_first_and_recover_the_id() {
        let old = index_key(
            Index::Dealer,
            "D1",
            Timestamp::from_second(100).unwrap(),
            &id("A"),
        );
        let new = index_key(
            Index::Dealer,
            "D1",
            Timestamp::from_second(200).unwrap(),
            &id("B"),
        );
        assert!(new < old);
        let prefix = index_prefix(Index::Dealer, "D1");
        assert_eq!(id_of_cursor(&new[prefix.len()..]), Some("B"));
        assert!(
            !index_key(Index::Dealer, "D10", Timestamp::UNIX_EPOCH, &id("C")).starts_with(&prefix)
        );
    }

    #[test]
    fn timers_sort_by_time_including_before_1970() {
        let key = |s| {
            timer_key(
                Timestamp::from_second(s).unwrap(),
                &id("A"),
                &DeadlineKey {
                    kind: complaintflow_domain::DeadlineKind::Result,
                    started_by: 0,
                    generation: 0,
                },
                DueStage::Due,
            )
        };
        assert!(key(-5) < key(5));
        assert!(key(5) < timers_after(Timestamp::from_second(5).unwrap()));
        assert!(key(6) > timers_after(Timestamp::from_second(5).unwrap()));
    }
}
