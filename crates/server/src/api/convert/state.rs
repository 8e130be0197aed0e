//! A complaint's folded state as the API shows it.

use crate::api::proto;
use complaintflow_domain::state::{
    CompensationDecision, CompensationRecord, MergedDuplicate, Milestone, SupplierRecord,
};
use complaintflow_domain::{ComplaintState, TrackedDeadline};

use super::enums::{enum_to_proto, optional_enum_to_proto};
use super::events::{customer_to_proto, minor_units, open_obligation_to_proto, vehicle_to_proto};
use super::names::complaint_name;
use super::time::{optional_timestamp_to_proto, timestamp_to_proto};

/// A complaint as the API shows it: its state and its running deadlines.
pub(crate) fn complaint_to_proto(
    state: &ComplaintState,
    deadlines: &[TrackedDeadline],
) -> proto::Complaint {
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
        customer: Some(customer_to_proto(&state.customer)),
        vehicle: Some(vehicle_to_proto(&state.vehicle)),
        description: state.description.to_string(),
        customer_request: state.customer_request.to_string(),
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
        update_time: Some(timestamp_to_proto(state.updated.at)),
        overdue: views.iter().any(TrackedDeadline::is_overdue),
        at_risk: views.iter().any(TrackedDeadline::is_at_risk),
        deadlines: views.iter().map(deadline_to_proto).collect(),
        merged_duplicates: state
            .merged_duplicates
            .iter()
            .map(merged_duplicate_to_proto)
            .collect(),
        plan_promise_time: state
            .plan_promise_open()
            .map(|promise| timestamp_to_proto(promise.due)),
        result_report_time: milestone_time(state.result_reported),
        suppliers: state.suppliers.iter().map(supplier_to_proto).collect(),
        nature: optional_enum_to_proto(state.assessment.as_ref().map(|a| a.nature)),
        customer_wants: state
            .assessment
            .iter()
            .flat_map(|a| a.wants.iter().copied().map(enum_to_proto))
            .collect(),
        three_changes: state
            .three_changes
            .iter()
            .copied()
            .map(enum_to_proto)
            .collect(),
        times_shared: state.times_shared,
        prevention_plans: state
            .prevention_plans
            .iter()
            .copied()
            .map(enum_to_proto)
            .collect(),
        compensations: state
            .compensations
            .iter()
            .map(compensation_to_proto)
            .collect(),
    }
}

fn merged_duplicate_to_proto(merged: &MergedDuplicate) -> proto::MergedDuplicate {
    proto::MergedDuplicate {
        duplicate_complaint_id: merged.duplicate.to_string(),
        open_obligations: merged
            .open_obligations
            .iter()
            .map(open_obligation_to_proto)
            .collect(),
        pending_compensation_ids: merged
            .pending_compensations
            .iter()
            .map(ToString::to_string)
            .collect(),
        merge_time: Some(timestamp_to_proto(merged.recorded.at)),
    }
}

fn supplier_to_proto(supplier: &SupplierRecord) -> proto::SupplierHandling {
    proto::SupplierHandling {
        supplier: supplier.supplier.to_string(),
        notify_time: Some(timestamp_to_proto(supplier.notified.at)),
        charge_backs: supplier.charge_backs,
        charged_back_minor_units: minor_units(supplier.charged_back),
        improvement_request_time: milestone_time(supplier.improvement_requested),
    }
}

fn compensation_to_proto(record: &CompensationRecord) -> proto::Compensation {
    let decision = match record.decision {
        CompensationDecision::Pending => proto::CompensationDecision::Pending,
        CompensationDecision::Approved { .. } => proto::CompensationDecision::Approved,
        CompensationDecision::Rejected { .. } => proto::CompensationDecision::Rejected,
    };
    proto::Compensation {
        compensation_id: record.id.to_string(),
        kind: enum_to_proto(record.kind),
        requested_minor_units: minor_units(record.requested),
        decision: decision.into(),
        approvals: record
            .approvals
            .iter()
            .map(|(level, amount)| proto::CompensationApproval {
                level: enum_to_proto(*level),
                amount_minor_units: minor_units(*amount),
            })
            .collect(),
    }
}

fn milestone_time(milestone: Option<Milestone>) -> Option<prost_types::Timestamp> {
    optional_timestamp_to_proto(milestone.map(|m| m.at))
}

fn deadline_to_proto(view: &TrackedDeadline) -> proto::Deadline {
    proto::Deadline {
        kind: enum_to_proto(view.deadline.kind),
        key: view.deadline.key.to_string(),
        due_time: Some(timestamp_to_proto(view.deadline.due_at)),
        warn_time: optional_timestamp_to_proto(view.deadline.warn_at),
        warned: view.warned,
        overdue: view.is_overdue(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::convert::fixtures::{key, v};
    use complaintflow_domain::deadlines::Deadline;
    use complaintflow_domain::deadlines::DeadlineKind;
    use complaintflow_domain::events as ev;
    use complaintflow_domain::testkit::{at, cause, complaint_id, major_flood_filing, option};
    use complaintflow_domain::values::{ActorId, SatisfactionScore};
    use complaintflow_domain::vocabulary::{
        ContactPurpose, Department, EscalationReason, Level, ResponsibleParty, RootCause,
        WaitingFor,
    };
    use complaintflow_domain::{
        Actor, ComplaintEvent, EventMeta, Policy, Role, replay, tracked_deadlines,
    };

    #[allow(
        clippy::unnecessary_wraps,
        reason = "shaped like the optional proto field it fills"
    )]
    fn pb_time(s: &str) -> Option<prost_types::Timestamp> {
        Some(timestamp_to_proto(at(s)))
    }

    /// Events dated one hour apart from 2025-09-01T01:00Z, versions from 0.
    fn stream(events: Vec<ComplaintEvent>) -> Vec<(ComplaintEvent, EventMeta)> {
        let actor = Actor::new(ActorId::parse("wang").expect("actor id"), Role::DealerStaff);
        let start = at("2025-09-01T01:00:00Z");
        (0u64..)
            .zip(events)
            .map(|(version, event)| {
                let when = start
                    + jiff::SignedDuration::from_hours(i64::try_from(version).expect("small"));
                let meta = EventMeta {
                    version,
                    occurred_at: when,
                    recorded_at: when,
                    actor: actor.clone(),
                };
                (event, meta)
            })
            .collect()
    }

    fn state_of(events: Vec<ComplaintEvent>) -> ComplaintState {
        let log = stream(events);
        replay(log.iter().map(|(event, meta)| (event, meta))).expect("a filed complaint")
    }

    fn agreed_and_paused() -> Vec<ComplaintEvent> {
        vec![
            major_flood_filing().into(),
            ev::ReportedToCac {
                cac_reference: None,
            }
            .into(),
            cause(
                RootCause::DealerBrokenPromise,
                ResponsibleParty::Dealer(Department::Service),
            )
            .into(),
            ev::SolutionProposed {
                options: vec![option("opt-1", at("2025-09-03T10:00:00Z"))],
            }
            .into(),
            ev::OptionAccepted {
                option_id: v("opt-1"),
            }
            .into(),
            ev::Escalated {
                from: Level::DealerDesk,
                to: Level::ServiceManager,
                reason: EscalationReason::CustomerRequest,
                note: None,
            }
            .into(),
            ev::ContactAttempted {
                purpose: ContactPurpose::ProgressUpdate,
                answered: false,
                recording: None,
                note: None,
            }
            .into(),
            ev::Paused {
                waiting_for: WaitingFor::Parts,
                reason: v("Pump on order"),
            }
            .into(),
        ]
    }

    #[test]
    fn an_agreed_paused_case_shows_everything_the_state_knows() {
        let state = state_of(agreed_and_paused());
        let pb = complaint_to_proto(&state, &[]);
        assert_eq!(
            pb,
            proto::Complaint {
                name: "complaints/CMP-2025-0004".into(),
                complaint_id: "CMP-2025-0004".into(),
                version: 7,
                status: proto::Status::SolutionAgreed.into(),
                origin: proto::Origin::Dealer.into(),
                channel: proto::Channel::WalkIn.into(),
                dealer_code: "D-14001".into(),
                region_code: "CN-NORTH".into(),
                categories: vec![
                    proto::Category::ReceptionAttitude.into(),
                    proto::Category::RepairWorkmanship.into(),
                ],
                severity: proto::Severity::Major.into(),
                emergency: proto::EmergencyKind::Flood.into(),
                level: proto::Level::ServiceManager.into(),
                escalation_count: 1,
                contact_attempts: 1,
                waiting_for: proto::WaitingFor::Parts.into(),
                accepted_option_id: "opt-1".into(),
                promise_time: pb_time("2025-09-03T10:00:00Z"),
                file_time: pb_time("2025-09-01T01:00:00Z"),
                report_time: pb_time("2025-09-01T02:00:00Z"),
                update_time: pb_time("2025-09-01T08:00:00Z"),
                customer: Some(customer_to_proto(&state.customer)),
                vehicle: Some(vehicle_to_proto(&state.vehicle)),
                description: state.description.to_string(),
                customer_request: state.customer_request.to_string(),
                ..Default::default()
            }
        );
    }

    #[test]
    fn a_resumed_resolved_closed_case_shows_its_milestones() {
        let mut events = agreed_and_paused();
        events.extend([
            ev::Resumed { note: None }.into(),
            ev::Resolved {
                summary: v("Fixed"),
            }
            .into(),
            ev::SatisfactionRecorded {
                score: SatisfactionScore::new(4).expect("score"),
                customer_words: None,
            }
            .into(),
            ev::Closed { summary: None }.into(),
        ]);
        let pb = complaint_to_proto(&state_of(events), &[]);
        assert_eq!(pb.status, i32::from(proto::Status::Closed));
        assert_eq!(pb.waiting_for, 0, "no longer paused");
        assert_eq!(pb.satisfaction_score, 4);
        assert_eq!(pb.resolve_time, pb_time("2025-09-01T10:00:00Z"));
        assert_eq!(pb.close_time, pb_time("2025-09-01T12:00:00Z"));
        assert_eq!(pb.version, 11);
    }

    #[test]
    fn a_merged_case_names_its_target() {
        let pb = complaint_to_proto(
            &state_of(vec![
                major_flood_filing().into(),
                ev::MergedInto {
                    target: v("CMP-2025-0001"),
                }
                .into(),
            ]),
            &[],
        );
        assert_eq!(pb.status, i32::from(proto::Status::Merged));
        assert_eq!(pb.merged_into, "CMP-2025-0001");
    }

    fn view(kind: DeadlineKind, due: &str, warned: bool, fired: bool) -> TrackedDeadline {
        TrackedDeadline {
            deadline: Deadline {
                kind,
                key: key(kind, 0, 0),
                due_at: at(due),
                warn_at: Some(at("2025-09-01T05:00:00Z")),
            },
            warned,
            fired,
        }
    }

    #[test]
    fn deadlines_come_soonest_first_with_their_flags() {
        let state = state_of(vec![major_flood_filing().into()]);
        let late = view(DeadlineKind::Result, "2025-09-08T10:00:00Z", false, false);
        let soon = view(
            DeadlineKind::ReportToCac,
            "2025-09-01T09:00:00Z",
            true,
            false,
        );
        let pb = complaint_to_proto(&state, &[late, soon]);
        let keys: Vec<&str> = pb.deadlines.iter().map(|d| d.key.as_str()).collect();
        assert_eq!(keys, ["report_to_cac@0#0", "result@0#0"]);
        assert_eq!(
            pb.deadlines[0],
            proto::Deadline {
                kind: proto::DeadlineKind::ReportToCac.into(),
                key: "report_to_cac@0#0".into(),
                due_time: pb_time("2025-09-01T09:00:00Z"),
                warn_time: pb_time("2025-09-01T05:00:00Z"),
                warned: true,
                overdue: false,
            }
        );
        assert!(pb.at_risk && !pb.overdue);

        let missed = view(
            DeadlineKind::ReportToCac,
            "2025-09-01T09:00:00Z",
            true,
            true,
        );
        let pb = complaint_to_proto(&state, &[missed]);
        assert!(
            pb.overdue && !pb.at_risk,
            "a due deadline is overdue, not at risk"
        );
    }

    #[test]
    fn the_domains_own_open_deadlines_convert() {
        let state = state_of(vec![major_flood_filing().into()]);
        let views = tracked_deadlines(&state, &Policy::builtin());
        assert!(!views.is_empty(), "a fresh major case has running clocks");
        let pb = complaint_to_proto(&state, &views);
        assert_eq!(pb.deadlines.len(), views.len());
        for (wire, view) in pb.deadlines.iter().zip(&views) {
            assert_eq!(wire.key, view.deadline.key.to_string());
        }
        assert_eq!(complaint_id().to_string(), pb.complaint_id);
    }
}
