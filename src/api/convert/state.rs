//! A complaint's folded state as the API shows it.

use crate::api::proto;
use crate::domain::ComplaintState;
use crate::domain::deadlines::Deadline;
use crate::domain::state::Milestone;

use super::enums::{enum_to_proto, optional_enum_to_proto};
use super::names::complaint_name;
use super::time::{optional_timestamp_to_proto, timestamp_to_proto};

/// An open deadline with what the engine knows about it at the moment of the
/// answer (the domain's `Deadline` does not know the time).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeadlineView {
    pub deadline: Deadline,
    /// Its warning has fired.
    pub warned: bool,
    /// It has fallen due.
    pub overdue: bool,
}

/// Fills every `Complaint` field the state knows. The state keeps no customer,
/// vehicle, description, customer request or record time, so `customer`,
/// `vehicle`, `description`, `customer_request` and `update_time` stay unset.
pub fn complaint_to_proto(state: &ComplaintState, deadlines: &[DeadlineView]) -> proto::Complaint {
    let mut views = deadlines.to_vec();
    // The API promises soonest first; do not rely on the caller's order.
    views.sort_by_key(|view| (view.deadline.due_at, view.deadline.key));
    proto::Complaint {
        name: complaint_name(&state.id),
        complaint_id: state.id.to_string(),
        version: state.version,
        status: enum_to_proto(state.status),
        origin: enum_to_proto(state.origin),
        channel: enum_to_proto(state.channel),
        dealer_code: state.dealer.to_string(),
        region_code: state.region.to_string(),
        categories: state
            .categories
            .iter()
            .copied()
            .map(enum_to_proto)
            .collect(),
        severity: enum_to_proto(state.severity),
        emergency: optional_enum_to_proto(state.emergency),
        customer: None,
        vehicle: None,
        description: String::new(),
        customer_request: String::new(),
        level: enum_to_proto(state.level),
        escalation_count: state.escalation_count,
        reopen_count: state.reopen_count,
        contact_attempts: state.contacts.attempts,
        customer_unreachable: state.contacts.unreachable.is_some(),
        waiting_for: optional_enum_to_proto(state.current_pause().map(|pause| pause.waiting_for)),
        accepted_option_id: state
            .accepted_option
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        promise_time: state
            .promise
            .as_ref()
            .map(|promise| timestamp_to_proto(promise.due)),
        satisfaction_score: state
            .satisfaction
            .map_or(0, |satisfaction| satisfaction.score.get().into()),
        merged_into: state
            .merged_into
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        file_time: Some(timestamp_to_proto(state.filed.at)),
        report_time: milestone_time(state.reported_to_cac),
        resolve_time: milestone_time(state.resolved),
        close_time: milestone_time(state.closed),
        update_time: None,
        overdue: views.iter().any(|view| view.overdue),
        at_risk: views.iter().any(|view| view.warned && !view.overdue),
        deadlines: views.iter().map(deadline_to_proto).collect(),
    }
}

fn milestone_time(milestone: Option<Milestone>) -> Option<prost_types::Timestamp> {
    optional_timestamp_to_proto(milestone.map(|m| m.at))
}

fn deadline_to_proto(view: &DeadlineView) -> proto::Deadline {
    proto::Deadline {
        kind: enum_to_proto(view.deadline.kind),
        key: view.deadline.key.to_string(),
        due_time: Some(timestamp_to_proto(view.deadline.due_at)),
        warn_time: optional_timestamp_to_proto(view.deadline.warn_at),
        warned: view.warned,
        overdue: view.overdue,
    }
}
