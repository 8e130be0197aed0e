use proptest::prelude::*;

use super::*;
use crate::deadlines::{DeadlineKey, DeadlineKind};
use crate::testkit::*;
use crate::values::*;
use crate::vocabulary::*;

fn key() -> DeadlineKey {
    DeadlineKey {
        kind: DeadlineKind::Result,
        started_by: 1,
        generation: 0,
    }
}

/// One event of every type.
fn one_of_each() -> Vec<ComplaintEvent> {
    let when = at("2025-09-02T10:00:00+08:00");
    let comp = CompensationId::parse("C1").expect("id");
    let action = ActionId::parse("A1").expect("id");
    vec![
        seed_004_filing().into(),
        Acknowledged {
            confirmed_facts: text("waited an hour"),
            plan_promised_by: Some(when),
        }
        .into(),
        Apologized { note: None }.into(),
        ReportedToCac {
            cac_reference: Some(label("CAC-77")),
        }
        .into(),
        call(false).into(),
        CustomerUnreachable { failed_attempts: 3 }.into(),
        InformationGathered {
            facts: text("car was ready at 10:05"),
        }
        .into(),
        CauseFound {
            root_cause: RootCause::DealerBrokenPromise,
            responsible: ResponsibleParty::Dealer(Department::Service),
            summary: text("no pick-up notification"),
            within_dealer_authority: true,
        }
        .into(),
        proposal(&[("O1", when)]).into(),
        accept("O1").into(),
        OptionRejected {
            option_id: option_id("O2"),
            reason: text("too slow"),
        }
        .into(),
        PromiseDateChanged {
            new_date: when,
            reason: text("part late"),
        }
        .into(),
        CompensationRequested {
            compensation_id: comp.clone(),
            kind: CompensationKind::Discount,
            amount: money(20_000),
            reason: text("goodwill"),
        }
        .into(),
        CompensationApproved {
            compensation_id: comp.clone(),
            level: Level::ServiceManager,
            amount: money(20_000),
            customer_signature: Some(DocumentRef::parse("sig://1").expect("ref")),
        }
        .into(),
        CompensationRejected {
            compensation_id: comp,
            level: Level::ManufacturerCac,
            reason: text("no"),
        }
        .into(),
        Escalated {
            from: Level::DealerDesk,
            to: Level::ManufacturerCac,
            reason: EscalationReason::CustomerRequest,
            note: None,
        }
        .into(),
        EngineerDispatched {
            engineer: label("Engineer Zhao"),
            expected_arrival: when,
        }
        .into(),
        OnSiteAppraisalRecorded {
            findings: text("burnt harness"),
        }
        .into(),
        ProgressReported {
            summary: text("parts ordered"),
        }
        .into(),
        paused(WaitingFor::Parts).into(),
        resumed().into(),
        WorkCarriedOut {
            description: text("replaced harness"),
        }
        .into(),
        resolved().into(),
        satisfaction(5).into(),
        closed().into(),
        Reopened {
            reason: text("noise came back"),
        }
        .into(),
        CorrectiveActionAssigned {
            action_id: action.clone(),
            department: Department::Service,
            description: text("notify customers when cars are ready"),
        }
        .into(),
        CorrectiveActionDone {
            action_id: action.clone(),
            note: None,
        }
        .into(),
        CorrectiveActionVerified {
            action_id: action,
            note: None,
        }
        .into(),
        NoteAdded { text: text("hi") }.into(),
        EvidenceAttached {
            reference: DocumentRef::parse("rec://call/1").expect("ref"),
            content_hash: ContentHash::parse(format!("blake3:{}", "0f".repeat(32))).expect("hash"),
            description: None,
        }
        .into(),
        MergedInto {
            target: ComplaintId::parse("CMP-1").expect("id"),
        }
        .into(),
        DeadlineWarning {
            deadline: key(),
            due_at: when,
        }
        .into(),
        DeadlineMissed {
            deadline: key(),
            due_at: when,
        }
        .into(),
        CallbackDue {
            deadline: key(),
            attempt: 2,
        }
        .into(),
        ProgressReportDue {
            deadline: key(),
            missed_periods: 275,
            overdue_since: Some(when),
        }
        .into(),
        DuplicateMerged {
            duplicate: ComplaintId::parse("CMP-DUP").expect("id"),
            open_obligations: vec![OpenObligation {
                deadline: key(),
                due_at: when,
                overdue: true,
            }],
            pending_compensations: vec![CompensationId::parse("C2").expect("id")],
        }
        .into(),
        PlanPromiseRenewed {
            new_date: when,
            progress: text("still testing"),
        }
        .into(),
        ResultReportedToCac {
            summary: text("repaired"),
            cac_reference: Some(label("CAC-1")),
        }
        .into(),
        SupplierNotified {
            supplier: label("Pump Co"),
            part: Some(label("water pump")),
            note: None,
        }
        .into(),
        SupplierChargedBack {
            supplier: label("Pump Co"),
            amount: money(80_000),
            settlement_reference: Some(label("S-2025-09")),
        }
        .into(),
        SupplierImprovementRequested {
            supplier: label("Pump Co"),
            request: text("seal test"),
        }
        .into(),
        ComplaintAssessed {
            nature: ComplaintNature::Malicious,
            wants: vec![CustomerWant::Compensation, CustomerWant::Respect],
            note: Some(text("threatens the media")),
        }
        .into(),
        ThreeChangesMade {
            changes: vec![ThreeChange::Place, ThreeChange::Time],
            appointment_at: Some(when),
            note: None,
        }
        .into(),
        CaseShared {
            audience: label("service team"),
            lessons: text("tell waiting customers"),
        }
        .into(),
        PreventionPlanned {
            department: Department::Service,
            plan: text("ready-call for every car"),
        }
        .into(),
    ]
}

#[test]
fn type_names_are_unique_dotted_and_all_covered() {
    let mut names: Vec<&str> = ComplaintEvent::TYPES.to_vec();
    assert!(names.iter().all(|name| name.starts_with("complaint.")));
    names.sort_unstable();
    names.dedup();
    assert_eq!(
        names.len(),
        ComplaintEvent::TYPES.len(),
        "duplicate type name"
    );
    let mut covered: Vec<&str> = one_of_each()
        .iter()
        .map(ComplaintEvent::event_type)
        .collect();
    covered.sort_unstable();
    assert_eq!(covered, names, "one_of_each must cover every event type");
}

#[test]
fn stored_names_never_change() {
    assert_eq!(
        ComplaintEvent::from(seed_004_filing()).event_type(),
        "complaint.filed"
    );
    assert_eq!(
        ComplaintEvent::from(accept("O1")).event_type(),
        "complaint.option_accepted"
    );
    assert_eq!(
        ComplaintEvent::from(resolved()).event_type(),
        "complaint.resolved"
    );
    assert_eq!(
        ComplaintEvent::from(satisfaction(4)).event_type(),
        "complaint.satisfaction_recorded"
    );
}

#[test]
fn every_event_round_trips_through_the_codec() {
    for event in one_of_each() {
        let bytes = event.encode_payload();
        let decoded = ComplaintEvent::decode(event.event_type(), event.schema_version(), &bytes);
        assert_eq!(decoded.as_ref(), Ok(&event), "{}", event.event_type());
    }
}

#[test]
fn payload_layout_is_stable() {
    // Golden bytes: a change here breaks stored data and needs a new schema version.
    let note: ComplaintEvent = NoteAdded { text: text("hi") }.into();
    assert_eq!(note.encode_payload(), vec![2, b'h', b'i']);
    assert_eq!(ComplaintEvent::from(closed()).encode_payload(), vec![0]);
    assert_eq!(
        ComplaintEvent::from(satisfaction(4)).encode_payload(),
        vec![4, 1, 2, b'O', b'K']
    );
}

#[test]
fn progress_reports_due_of_schema_1_still_decode_as_one_missed_period() {
    // Schema 1 held the deadline key alone: kind (as its index), started_by, generation.
    let v1 = ProgressReportDueV1 { deadline: key() };
    let bytes = encode_payload(&v1);
    assert_eq!(bytes.len(), 3, "{bytes:?}");
    let decoded = ComplaintEvent::decode("complaint.progress_report_due", 1, &bytes);
    assert_eq!(
        decoded,
        Ok(ProgressReportDue {
            deadline: key(),
            missed_periods: 1,
            overdue_since: None,
        }
        .into())
    );
    let json = serde_json::json!({ "deadline": serde_json::to_value(key()).unwrap() });
    assert_eq!(
        ComplaintEvent::from_json("complaint.progress_report_due", json),
        decoded
    );
    assert!(matches!(
        ComplaintEvent::decode("complaint.progress_report_due", 3, &bytes),
        Err(DecodeError::UnsupportedSchemaVersion { version: 3, .. })
    ));
}

#[test]
fn unknown_type_is_an_error() {
    assert_eq!(
        ComplaintEvent::decode("complaint.teleported", 1, &[]),
        Err(DecodeError::UnknownType("complaint.teleported".into()))
    );
}

#[test]
fn unsupported_schema_version_is_an_error() {
    let err = ComplaintEvent::decode("complaint.closed", 2, &[0]).expect_err("v2 unknown");
    assert!(matches!(
        err,
        DecodeError::UnsupportedSchemaVersion {
            version: 2,
            supported: 1,
            ..
        }
    ));
}

#[test]
fn malformed_and_trailing_bytes_are_errors() {
    assert!(matches!(
        ComplaintEvent::decode("complaint.filed", 1, &[1, 2, 3]),
        Err(DecodeError::Malformed { .. })
    ));
    assert!(matches!(
        ComplaintEvent::decode("complaint.closed", 1, &[0, 0]),
        Err(DecodeError::TrailingBytes { extra: 1, .. })
    ));
}

#[test]
fn decoding_enforces_value_invariants() {
    // A satisfaction score of 9, laid out like SatisfactionRecorded.
    let forged = bincode::serde::encode_to_vec((9u8, Option::<String>::None), codec_config())
        .expect("encode");
    let err =
        ComplaintEvent::decode("complaint.satisfaction_recorded", 1, &forged).expect_err("score 9");
    assert!(err.to_string().contains("satisfaction_score"), "{err}");
}

proptest! {
    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        index in 0..ComplaintEvent::TYPES.len(),
        bytes in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let _ = ComplaintEvent::decode(ComplaintEvent::TYPES[index], 1, &bytes);
    }
}

#[test]
fn payloads_round_trip_through_json_and_bad_json_is_refused() {
    let event: ComplaintEvent = crate::testkit::seed_004_filing().into();
    let json = event.payload_json();
    assert_eq!(json["channel"], "walk_in");
    assert_eq!(
        ComplaintEvent::from_json(event.event_type(), json.clone()).unwrap(),
        event
    );
    assert!(matches!(
        ComplaintEvent::from_json("complaint.nonsense", json.clone()),
        Err(DecodeError::UnknownType(_))
    ));
    let mut bad = json;
    bad["vehicle"]["vin"] = serde_json::Value::from("short");
    assert!(matches!(
        ComplaintEvent::from_json("complaint.filed", bad),
        Err(DecodeError::Malformed { .. })
    ));
}
