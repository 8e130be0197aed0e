//! Questions the read models answer: one complaint, a filtered page of complaints,
//! statistics, and the timers that are due.

use std::collections::BTreeSet;
use std::ops::Bound;

use jiff::Timestamp;

use super::keys::{self, Index};
use super::record::{ComplaintRecord, ScheduledTimer};
use super::stats::{BucketKey, Statistics, StatsFilter};
use super::{ProjectionError, Projections};
use complaintflow_domain::Policy;
use complaintflow_domain::follow_up::{FollowUpState, FollowUpStatistics};
use complaintflow_domain::state::Status;
use complaintflow_domain::values::{ComplaintId, FollowUpId};
use complaintflow_domain::vocabulary::{Category, Severity};

/// At most this many index entries are read for one page, so that a filter that
/// matches almost nothing cannot make one request scan everything; the page then comes
/// back short, with a token to go on.
const MAX_SCAN: usize = 20_000;

/// Filters for listing complaints; they combine with AND.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListQuery {
    pub dealer: Option<String>,
    pub region: Option<String>,
    pub status: Option<Status>,
    pub category: Option<Category>,
    pub severity: Option<Severity>,
    pub overdue_only: bool,
    pub at_risk_only: bool,
    pub filed_after: Option<Timestamp>,
    pub filed_before: Option<Timestamp>,
    /// The caller's scope: only these complaints are ever read, so that neither a page
    /// nor where it stopped depends on complaints the caller may not see.
    pub within: Within,
}

/// The complaints a listing may read at all.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Within {
    #[default]
    Everything,
    Dealers(BTreeSet<String>),
    Regions(BTreeSet<String>),
}

impl ListQuery {
    /// The index ranges to read, merged newest first: the most selective index the
    /// filters allow, or the caller's own dealers or regions when its scope is narrower.
    fn lanes(&self) -> Vec<Vec<u8>> {
        let lanes = |index, values: &mut dyn Iterator<Item = &String>| {
            values.map(|v| keys::index_prefix(index, v)).collect()
        };
        let (index, value) = self.index();
        match &self.within {
            Within::Everything => vec![keys::index_prefix(index, &value)],
            Within::Dealers(dealers) => match &self.dealer {
                Some(dealer) => lanes(Index::Dealer, &mut dealers.get(dealer).into_iter()),
                None => lanes(Index::Dealer, &mut dealers.iter()),
            },
            Within::Regions(regions) => match (&self.dealer, &self.region) {
                (Some(dealer), _) => vec![keys::index_prefix(Index::Dealer, dealer)],
                (None, Some(region)) => lanes(Index::Region, &mut regions.get(region).into_iter()),
                (None, None) => lanes(Index::Region, &mut regions.iter()),
            },
        }
    }

    /// The most selective index the filters allow.
    fn index(&self) -> (Index, String) {
        let named = |index, value: &str| (index, value.to_owned());
        if let Some(dealer) = &self.dealer {
            named(Index::Dealer, dealer)
        } else if self.overdue_only {
            named(Index::Overdue, "")
        } else if self.at_risk_only {
            named(Index::AtRisk, "")
        } else if let Some(region) = &self.region {
            named(Index::Region, region)
        } else if let Some(status) = self.status {
            named(Index::Status, status.as_str())
        } else if let Some(category) = self.category {
            named(Index::Category, category.as_str())
        } else if let Some(severity) = self.severity {
            named(Index::Severity, severity.as_str())
        } else {
            named(Index::All, "")
        }
    }

    fn admits(&self, record: &ComplaintRecord) -> bool {
        let state = &record.state;
        self.dealer
            .as_ref()
            .is_none_or(|d| d == state.dealer.as_str())
            && self
                .region
                .as_ref()
                .is_none_or(|r| r == state.region.as_str())
            && self.status.is_none_or(|s| s == state.status)
            && self.category.is_none_or(|c| state.categories.contains(&c))
            && self.severity.is_none_or(|s| s == state.severity)
            && (!self.overdue_only || record.is_overdue())
            && (!self.at_risk_only || record.is_at_risk())
            && self.filed_after.is_none_or(|t| state.filed.at >= t)
            && self.filed_before.is_none_or(|t| state.filed.at < t)
    }
}

/// One page of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    pub records: Vec<ComplaintRecord>,
    /// Where the next page starts; `None` after the last page.
    pub next: Option<Vec<u8>>,
}

impl Projections {
    pub fn get(&self, id: &ComplaintId) -> Result<Option<ComplaintRecord>, ProjectionError> {
        Ok(self
            .read()
            .records
            .get(id)
            .map(|record| record.as_ref().clone()))
    }

    /// Every projected complaint id, in id order.
    pub fn complaint_ids(&self) -> impl Iterator<Item = Result<ComplaintId, ProjectionError>> + '_ {
        let mut ids: Vec<ComplaintId> = self.read().records.keys().cloned().collect();
        ids.sort_unstable();
        ids.into_iter().map(Ok)
    }

    /// Complaints matching `query` that `visible` admits, newest filing first. `after`
    /// is the `next` of the previous page: the filing time and id an index entry ends
    /// with, the same in every index, never a key of another caller's scope.
    pub fn list(
        &self,
        query: &ListQuery,
        visible: &dyn Fn(&ComplaintRecord) -> bool,
        page_size: usize,
        after: Option<&[u8]>,
    ) -> Result<Page, ProjectionError> {
        let model = self.read();
        let mut lanes: Vec<_> = query
            .lanes()
            .into_iter()
            .map(|prefix| {
                let cut = prefix.len();
                let start = match after {
                    Some(cursor) => Bound::Excluded([&prefix[..], cursor].concat()),
                    None => Bound::Included(prefix.clone()),
                };
                let entries = model
                    .index
                    .range((start, Bound::Unbounded))
                    .take_while(move |key| key.starts_with(&prefix))
                    .map(move |key| &key[key.len().min(cut)..]);
                entries.peekable()
            })
            .collect();
        let mut records = Vec::new();
        let mut last_cursor: Option<&[u8]> = None;
        let mut scanned = 0;
        loop {
            // The newest entry left in any lane.
            let Some(lane) = (0..lanes.len())
                .filter_map(|i| lanes[i].peek().map(|cursor| (*cursor, i)))
                .min()
                .map(|(_, i)| i)
            else {
                return Ok(Page {
                    records,
                    next: None,
                });
            };
            if scanned >= MAX_SCAN || records.len() >= page_size {
                return Ok(Page {
                    records,
                    next: last_cursor.map(<[u8]>::to_vec),
                });
            }
            let Some(cursor) = lanes[lane].next() else {
                continue;
            };
            scanned += 1;
            last_cursor = Some(cursor);
            let Some(record) = keys::id_of_cursor(cursor)
                .and_then(|id| ComplaintId::parse(id).ok())
                .and_then(|id| model.records.get(&id))
            else {
                continue;
            };
            if let Some(after) = query.filed_after
                && record.state.filed.at < after
            {
                // Newest first: everything further is older still.
                return Ok(Page {
                    records,
                    next: None,
                });
            }
            if query.admits(record) && visible(record) {
                records.push(record.as_ref().clone());
            }
        }
    }

    /// Adds up the statistics buckets that `filter` and `visible(region, dealer)` admit.
    pub fn statistics(
        &self,
        filter: &StatsFilter,
        visible: &dyn Fn(&str, &str) -> bool,
    ) -> Result<Statistics, ProjectionError> {
        let model = self.read();
        Ok(Statistics::from_buckets(model.stats.iter().filter(
            |(key, _)| filter.admits(key) && visible(&key.region, &key.dealer),
        )))
    }

    /// Timers due at or before `now`, earliest first, at most `limit`.
    pub fn due_timers(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<ScheduledTimer>, ProjectionError> {
        Ok(self
            .read()
            .timers
            .range(vec![keys::TIMER]..keys::timers_after(now))
            .take(limit)
            .map(|(_, timer)| timer.clone())
            .collect())
    }

    /// When the earliest pending timer is due.
    pub(crate) fn next_timer_at(&self) -> Option<Timestamp> {
        self.read()
            .timers
            .values()
            .next()
            .map(|timer| timer.moment.at)
    }
}

/// Questions about the quality follow-ups.
impl Projections {
    pub fn follow_up(&self, id: &FollowUpId) -> Option<FollowUpState> {
        self.read().follow_ups.get(id).cloned()
    }

    /// The follow-ups `visible(region, dealer)` admits, by id, after `after`, at most
    /// `limit`; only those still owing the call if `open_only`.
    pub fn list_follow_ups(
        &self,
        visible: &dyn Fn(&str, &str) -> bool,
        open_only: bool,
        after: Option<&FollowUpId>,
        limit: usize,
    ) -> Vec<FollowUpState> {
        let model = self.read();
        let from = match after {
            Some(id) => Bound::Excluded(id),
            None => Bound::Unbounded,
        };
        model
            .follow_ups
            .range::<FollowUpId, _>((from, Bound::Unbounded))
            .map(|(_, state)| state)
            .filter(|state| visible(state.opened.region.as_str(), state.opened.dealer.as_str()))
            .filter(|state| !open_only || !state.is_finished())
            .take(limit)
            .cloned()
            .collect()
    }

    /// The follow-ups' statistics over those `filter` and `visible` admit (the month is
    /// the month of the delivery).
    pub fn follow_up_statistics(
        &self,
        filter: &StatsFilter,
        visible: &dyn Fn(&str, &str) -> bool,
    ) -> FollowUpStatistics {
        let model = self.read();
        let mut stats = FollowUpStatistics::default();
        for state in model.follow_ups.values() {
            let key = follow_up_bucket(state, &self.policy);
            if filter.admits(&key) && visible(&key.region, &key.dealer) {
                stats.add(state, &self.policy);
            }
        }
        stats
    }

    /// Follow-up calls due at or before `now` and not yet recorded missed, earliest
    /// first, at most `limit`.
    pub(crate) fn due_follow_ups(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Vec<(FollowUpId, Timestamp)> {
        self.read()
            .follow_ups_due
            .iter()
            .take_while(|(due, _)| *due <= now)
            .take(limit)
            .map(|(due, id)| (id.clone(), *due))
            .collect()
    }

    /// When the earliest follow-up call still owed is due.
    pub(crate) fn next_follow_up_due(&self) -> Option<Timestamp> {
        self.read().follow_ups_due.first().map(|(due, _)| *due)
    }
}

/// A follow-up counts where its delivery was: its region, dealer and month.
fn follow_up_bucket(state: &FollowUpState, policy: &Policy) -> BucketKey {
    let opened = &state.opened;
    let zone = policy.calendar(&opened.region).time_zone();
    BucketKey {
        region: opened.region.as_str().to_owned(),
        dealer: opened.dealer.as_str().to_owned(),
        month: zone
            .to_datetime(opened.delivered_at)
            .strftime("%Y-%m")
            .to_string(),
    }
}
