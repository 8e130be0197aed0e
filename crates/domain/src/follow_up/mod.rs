//! The quality follow-up call after a sale or a repair (seed 002: "销售或维修后三天内进行
//! 质量跟踪电话回访"). It exists outside any complaint, as a stream of its own kind beside
//! the complaints: opened when a car is delivered, due within the policy's business days
//! (counted on the region's business calendar, like the complaints' deadlines), answered
//! or unanswered, and, when the customer is unhappy, turned into a complaint that names
//! it while the follow-up records which complaint it became.
//!
//! Pure, like the rest of the domain: `now` is always an argument.

mod events;
mod rules;
mod state;
mod stats;

pub use events::{
    Answered, BecameComplaint, CallUnanswered, Closed, DeadlineMissed, FollowUpEvent, Occasion,
    Opened,
};
pub use rules::{FollowUpContext, FollowUpViolation, check, check_complaint_link};
pub use state::{FollowUpState, FollowUpStatus, apply, due_at, on_deadline_due, replay};
pub use stats::FollowUpStatistics;

use crate::values::FollowUpId;

/// Where follow-up streams are named in the log. Complaint ids may not start with it
/// (see `ComplaintId`), so the two kinds of stream can never share a name.
pub(crate) const STREAM_PREFIX: &str = "follow-up:";

/// The name of a follow-up's stream.
pub fn stream_name(id: &FollowUpId) -> String {
    format!("{STREAM_PREFIX}{id}")
}

/// The follow-up a stream holds, if it is a follow-up stream.
pub fn of_stream(stream: &str) -> Option<FollowUpId> {
    FollowUpId::parse(stream.strip_prefix(STREAM_PREFIX)?).ok()
}

#[cfg(test)]
mod tests;
