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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Role::*;
    use crate::deadlines::DeadlineKind;
    use crate::events::{Acknowledged, CompensationRequested};
    use crate::testkit::*;
    use crate::values::CompensationId;
    use crate::vocabulary::CompensationKind;

    #[test]
    fn the_record_lists_running_clocks_overdue_ones_marked_and_undecided_compensations() {
        let mut h = Harness::filed_at("2025-09-01T10:00:00+08:00");
        h.ok(
            Acknowledged {
                confirmed_facts: text("waited an hour"),
                plan_promised_by: Some(at("2025-09-01T12:00:00+08:00")),
            },
            DealerStaff,
            "2025-09-01T10:30:00+08:00",
        );
        h.ok(
            CompensationRequested {
                compensation_id: CompensationId::parse("C1").expect("id"),
                kind: CompensationKind::Discount,
                amount: money(10_000),
                reason: text("goodwill"),
            },
            DealerStaff,
            "2025-09-01T11:00:00+08:00",
        );
        let plan = crate::deadlines::open_deadlines(h.state(), &h.policy)
            .into_iter()
            .find(|d| d.kind == DeadlineKind::PlanPromise)
            .expect("plan promise");
        let when = plan.due_at;
        for event in crate::on_deadline_due(h.state(), &plan, crate::DueStage::Due, &h.policy, when)
        {
            h.try_at(event, Engine, when).expect("fires");
        }
        let record = duplicate_merged(h.state(), &h.policy);
        assert_eq!(record.duplicate, complaint_id());
        let open: Vec<(DeadlineKind, bool)> = record
            .open_obligations
            .iter()
            .map(|o| (o.deadline.kind, o.overdue))
            .collect();
        assert_eq!(
            open,
            [
                (DeadlineKind::PlanPromise, true),
                (DeadlineKind::ReportToCac, false),
                (DeadlineKind::Result, false),
                (DeadlineKind::ResultReport, false),
            ]
        );
        assert_eq!(record.pending_compensations.len(), 1);
    }
}
