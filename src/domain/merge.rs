//! What a merged duplicate hands to the complaint that carries on.

use super::deadlines::tracked_deadlines;
use super::events::{DuplicateMerged, OpenObligation};
use super::policy::Policy;
use super::state::{CompensationDecision, ComplaintState};

/// The survivor's record of `duplicate`, worked out from the duplicate's state right
/// before it was merged away: every clock still running on it, overdue ones included
/// (a paused clock has no due moment and is left out), and every compensation still
/// undecided. After the merge the duplicate takes no more events, so nothing else would
/// remember them.
pub fn duplicate_merged(duplicate: &ComplaintState, policy: &Policy) -> DuplicateMerged {
    let open_obligations = tracked_deadlines(duplicate, policy)
        .into_iter()
        .map(|tracked| OpenObligation {
            deadline: tracked.deadline.key,
            due_at: tracked.deadline.due_at,
            overdue: tracked.is_overdue(),
        })
        .collect();
    let pending_compensations = duplicate
        .compensations
        .iter()
        .filter(|record| record.decision == CompensationDecision::Pending)
        .map(|record| record.id.clone())
        .collect();
    DuplicateMerged {
        duplicate: duplicate.id.clone(),
        open_obligations,
        pending_compensations,
    }
}
