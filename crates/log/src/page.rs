//! A page of the global log as the store keeps it, for readers that go through the
//! whole log and decode only what they use (a catch-up): the stored values are handed
//! over whole, and each record is decoded borrowed from them, where it is used.

use super::chunk;
use super::codec::{self, DecodeError};
use super::types::RecordedEvent;

/// A stored value: one record, or a chunk of consecutive records (see `chunk`).
pub type StoredValue = Box<dyn AsRef<[u8]> + Send + Sync>;

/// A record of a page: its position, and its bytes in the store's record format.
pub type PageRecord<'a> = (u64, Result<&'a [u8], DecodeError>);

pub struct EncodedPage {
    /// Each value with the position of its first record, in log order.
    values: Vec<(u64, StoredValue)>,
    /// The page holds the records at positions `from..end` of its values.
    from: u64,
    end: u64,
}

impl EncodedPage {
    /// The records at positions `from..end` of `values`, which hold them in order
    /// (a value may begin before `from` or run past `end`).
    pub fn new(values: Vec<(u64, StoredValue)>, from: u64, end: u64) -> Self {
        Self {
            values,
            from,
            end: end.max(from),
        }
    }

    /// A page of `events`, encoded: for a store that keeps them in another form.
    pub fn encode(events: &[RecordedEvent]) -> Self {
        let (Some(first), Some(last)) = (events.first(), events.last()) else {
            return Self::new(Vec::new(), 0, 0);
        };
        let values = events
            .iter()
            .map(|event| {
                let value: StoredValue = Box::new(codec::encode(event.into()));
                (event.position, value)
            })
            .collect();
        Self::new(values, first.position, last.position + 1)
    }

    /// The page without its records before `position`.
    #[must_use]
    pub fn starting_at(mut self, position: u64) -> Self {
        self.from = self.from.max(position).min(self.end);
        self
    }

    pub fn is_empty(&self) -> bool {
        self.end == self.from
    }

    /// How many records the page holds.
    pub fn len(&self) -> usize {
        (self.end - self.from) as usize
    }

    /// The position of the page's first record.
    pub fn start(&self) -> u64 {
        self.from
    }

    /// The position after the page's last record.
    pub fn end(&self) -> u64 {
        self.end
    }

    /// Each record of the page, in order.
    pub fn records(&self) -> impl Iterator<Item = PageRecord<'_>> + '_ {
        records_in(&self.values, self.from, self.end)
    }

    /// The records in about `parts` runs of consecutive records, to decode side by side.
    pub fn runs(
        &self,
        parts: usize,
    ) -> impl Iterator<Item = impl Iterator<Item = PageRecord<'_>> + Send + '_> + '_ {
        let size = self.values.len().div_ceil(parts.max(1)).max(1);
        self.values
            .chunks(size)
            .map(|values| records_in(values, self.from, self.end))
    }
}

/// The records of `values` at positions `from..end`.
fn records_in(
    values: &[(u64, StoredValue)],
    from: u64,
    end: u64,
) -> impl Iterator<Item = PageRecord<'_>> + Send + '_ {
    values
        .iter()
        .take_while(move |(first, _)| *first < end)
        .flat_map(move |(first, value)| {
            // Records before `from` are skipped undecoded.
            let skip = from.saturating_sub(*first);
            chunk::records((**value).as_ref())
                .zip(*first..)
                .skip(skip as usize)
                .take_while(move |(_, position)| *position < end)
                .map(|(record, position)| (position, record))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(records: &[&[u8]]) -> StoredValue {
        let records: Vec<Vec<u8>> = records.iter().map(|r| r.to_vec()).collect();
        Box::new(chunk::pack(&records))
    }

    fn positions(page: &EncodedPage) -> Vec<(u64, Vec<u8>)> {
        page.records()
            .map(|(position, record)| (position, record.unwrap().to_vec()))
            .collect()
    }

    #[test]
    fn a_page_is_cut_to_its_positions_across_chunks() {
        let values = vec![
            (10, value(&[&[1, 10], &[1, 11], &[1, 12]])),
            (13, value(&[&[1, 13]])),
            (14, value(&[&[1, 14], &[1, 15]])),
        ];
        let page = EncodedPage::new(values, 10, 15).starting_at(11);
        assert_eq!((page.start(), page.len(), page.end()), (11, 4, 15));
        let expected: Vec<(u64, Vec<u8>)> = (11..15).map(|p| (p, vec![1, p as u8])).collect();
        assert_eq!(positions(&page), expected);
        let runs: Vec<(u64, Vec<u8>)> = page
            .runs(2)
            .flatten()
            .map(|(position, record)| (position, record.unwrap().to_vec()))
            .collect();
        assert_eq!(runs, expected);
    }

    #[test]
    fn an_encoded_page_of_events_reads_back() {
        let event = crate::codec::tests::sample();
        let page = EncodedPage::encode(std::slice::from_ref(&event));
        let records: Vec<_> = page.records().collect();
        assert_eq!(records.len(), 1);
        let (position, bytes) = (records[0].0, records[0].1.as_ref().unwrap());
        assert_eq!(position, event.position);
        assert_eq!(codec::decode(bytes).unwrap(), event);
        assert!(EncodedPage::encode(&[]).is_empty());
    }
}
