//! Complaints as a page needs them: every complaint a filter matches, read page by page
//! through ListComplaints (so the caller's scope applies), up to a bound.

use super::error::ConsoleError;
use super::session::Desk;
use crate::api::proto;

/// At most this many complaints are read for one page; beyond it the page says so.
pub(crate) const SCAN_LIMIT: usize = 20_000;
/// ListComplaints' largest page.
const PAGE: i32 = 500;

/// The complaints `filter` matches, newest first, and whether the bound cut the list.
pub(crate) async fn scan(
    desk: &Desk,
    filter: proto::ListComplaintsRequest,
) -> Result<(Vec<proto::Complaint>, bool), ConsoleError> {
    let mut client = desk.complaints();
    let mut found = Vec::new();
    let mut page_token = String::new();
    loop {
        let response = client
            .list_complaints(proto::ListComplaintsRequest {
                page_size: PAGE,
                page_token: std::mem::take(&mut page_token),
                ..filter.clone()
            })
            .await?
            .into_inner();
        found.extend(response.complaints);
        if response.next_page_token.is_empty() {
            return Ok((found, false));
        }
        if found.len() >= SCAN_LIMIT {
            return Ok((found, true));
        }
        page_token = response.next_page_token;
    }
}

/// Whether a complaint is still being handled.
pub(crate) fn is_open(complaint: &proto::Complaint) -> bool {
    !matches!(
        proto::Status::try_from(complaint.status),
        Ok(proto::Status::Closed | proto::Status::Merged)
    )
}

/// The id in a complaint's resource name.
pub(crate) fn path_of(complaint_id: &str) -> String {
    format!("/complaints/{complaint_id}")
}
