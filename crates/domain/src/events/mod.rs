//! Everything that can happen to a complaint, as typed events, and their codec.
//!
//! Stored data is keyed by the dotted type name and a schema version, never by
//! the variant's position in `ComplaintEvent`, so variants may be reordered
//! freely. Type names are stored forever: never rename one.

mod payloads;

pub use payloads::*;

use bincode::config::{Configuration, Limit, LittleEndian, Varint};

/// Largest payload the codec will decode; guards against hostile lengths.
const MAX_PAYLOAD_BYTES: usize = 1 << 20;

fn codec_config() -> Configuration<LittleEndian, Varint, Limit<MAX_PAYLOAD_BYTES>> {
    bincode::config::standard().with_limit::<MAX_PAYLOAD_BYTES>()
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("unknown event type {0:?}")]
    UnknownType(String),
    #[error(
        "event type {event_type}: unsupported schema version {version} (supported: {supported})"
    )]
    UnsupportedSchemaVersion {
        event_type: &'static str,
        version: u16,
        supported: u16,
    },
    #[error("event type {event_type}: malformed payload: {reason}")]
    Malformed {
        event_type: &'static str,
        reason: String,
    },
    #[error("event type {event_type}: {extra} trailing bytes after the payload")]
    TrailingBytes {
        event_type: &'static str,
        extra: usize,
    },
}

pub(crate) fn decode_payload<T: serde::de::DeserializeOwned>(
    event_type: &'static str,
    payload: &[u8],
) -> Result<T, DecodeError> {
    let (value, read) =
        bincode::serde::decode_from_slice(payload, codec_config()).map_err(|err| {
            DecodeError::Malformed {
                event_type,
                reason: err.to_string(),
            }
        })?;
    match payload.len().saturating_sub(read) {
        0 => Ok(value),
        extra => Err(DecodeError::TrailingBytes { event_type, extra }),
    }
}

pub(crate) fn encode_payload<T: serde::Serialize>(payload: &T) -> Vec<u8> {
    // Encoding plain data into a Vec cannot fail; an empty payload would be
    // refused on decode, so a bug here cannot go unnoticed.
    bincode::serde::encode_to_vec(payload, codec_config()).unwrap_or_default()
}

/// Payload layouts replaced by a newer schema version: stored logs keep them forever,
/// so they are read into the current payload. `None` for a version never written.
fn decode_superseded(
    event_type: &str,
    schema_version: u16,
    payload: &[u8],
) -> Option<Result<ComplaintEvent, DecodeError>> {
    match (event_type, schema_version) {
        ("complaint.progress_report_due", 1) => Some(
            decode_payload::<payloads::ProgressReportDueV1>(
                "complaint.progress_report_due",
                payload,
            )
            .map(|v1| ProgressReportDue::from(v1).into()),
        ),
        _ => None,
    }
}

/// Declares `ComplaintEvent` from one table: variant, payload, type name,
/// schema version. Keeping the table in one place is what guarantees that
/// `event_type`, `encode_payload` and `decode` agree.
macro_rules! complaint_events {
    ($($(#[$doc:meta])* $variant:ident($payload:ident) = $type_name:literal v $version:literal,)+) => {
        // Filed is much larger than the rest; boxing it would buy little
        // (one filing per stream) and cost every match on the enum.
        #[allow(clippy::large_enum_variant)]
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum ComplaintEvent {
            $($(#[$doc])* $variant($payload),)+
        }

        impl ComplaintEvent {
            /// Every stored type name, in table order.
            pub const TYPES: &'static [&'static str] = &[$($type_name),+];

            /// The stable dotted name stored with the event.
            pub fn event_type(&self) -> &'static str {
                match self {
                    $(ComplaintEvent::$variant(_) => $type_name,)+
                }
            }

            /// The schema version of this event's payload layout.
            pub fn schema_version(&self) -> u16 {
                match self {
                    $(ComplaintEvent::$variant(_) => $version,)+
                }
            }

            pub fn encode_payload(&self) -> Vec<u8> {
                match self {
                    $(ComplaintEvent::$variant(payload) => encode_payload(payload),)+
                }
            }

            /// The payload as JSON: what exports and imports carry.
            pub fn payload_json(&self) -> serde_json::Value {
                match self {
                    // Payloads are plain data: serializing them to a JSON value cannot fail.
                    $(ComplaintEvent::$variant(payload) => serde_json::to_value(payload).unwrap_or_default(),)+
                }
            }

            /// An event from its type name and JSON payload (the import format).
            pub fn from_json(event_type: &str, payload: serde_json::Value) -> Result<ComplaintEvent, DecodeError> {
                match event_type {
                    $($type_name => serde_json::from_value(payload)
                        .map(ComplaintEvent::$variant)
                        .map_err(|err| DecodeError::Malformed { event_type: $type_name, reason: err.to_string() }),)+
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }

            pub fn decode(
                event_type: &str,
                schema_version: u16,
                payload: &[u8],
            ) -> Result<ComplaintEvent, DecodeError> {
                match event_type {
                    $($type_name => {
                        if schema_version != $version {
                            if let Some(decoded) = decode_superseded(event_type, schema_version, payload) {
                                return decoded;
                            }
                            return Err(DecodeError::UnsupportedSchemaVersion {
                                event_type: $type_name,
                                version: schema_version,
                                supported: $version,
                            });
                        }
                        decode_payload($type_name, payload).map(ComplaintEvent::$variant)
                    })+
                    other => Err(DecodeError::UnknownType(other.to_owned())),
                }
            }
        }

        $(impl From<$payload> for ComplaintEvent {
            fn from(payload: $payload) -> Self {
                ComplaintEvent::$variant(payload)
            }
        })+
    };
}

complaint_events! {
    Filed(Filed) = "complaint.filed" v 1,
    Acknowledged(Acknowledged) = "complaint.acknowledged" v 1,
    Apologized(Apologized) = "complaint.apologized" v 1,
    ReportedToCac(ReportedToCac) = "complaint.reported_to_cac" v 1,
    ContactAttempted(ContactAttempted) = "complaint.contact_attempted" v 1,
    CustomerUnreachable(CustomerUnreachable) = "complaint.customer_unreachable" v 1,
    InformationGathered(InformationGathered) = "complaint.information_gathered" v 1,
    CauseFound(CauseFound) = "complaint.cause_found" v 1,
    SolutionProposed(SolutionProposed) = "complaint.solution_proposed" v 1,
    OptionAccepted(OptionAccepted) = "complaint.option_accepted" v 1,
    OptionRejected(OptionRejected) = "complaint.option_rejected" v 1,
    PromiseDateChanged(PromiseDateChanged) = "complaint.promise_date_changed" v 1,
    CompensationRequested(CompensationRequested) = "complaint.compensation_requested" v 1,
    CompensationApproved(CompensationApproved) = "complaint.compensation_approved" v 1,
    CompensationRejected(CompensationRejected) = "complaint.compensation_rejected" v 1,
    Escalated(Escalated) = "complaint.escalated" v 1,
    EngineerDispatched(EngineerDispatched) = "complaint.engineer_dispatched" v 1,
    OnSiteAppraisalRecorded(OnSiteAppraisalRecorded) = "complaint.on_site_appraisal_recorded" v 1,
    ProgressReported(ProgressReported) = "complaint.progress_reported" v 1,
    Paused(Paused) = "complaint.paused" v 1,
    Resumed(Resumed) = "complaint.resumed" v 1,
    WorkCarriedOut(WorkCarriedOut) = "complaint.work_carried_out" v 1,
    Resolved(Resolved) = "complaint.resolved" v 1,
    SatisfactionRecorded(SatisfactionRecorded) = "complaint.satisfaction_recorded" v 1,
    Closed(Closed) = "complaint.closed" v 1,
    Reopened(Reopened) = "complaint.reopened" v 1,
    CorrectiveActionAssigned(CorrectiveActionAssigned) = "complaint.corrective_action_assigned" v 1,
    CorrectiveActionDone(CorrectiveActionDone) = "complaint.corrective_action_done" v 1,
    CorrectiveActionVerified(CorrectiveActionVerified) = "complaint.corrective_action_verified" v 1,
    NoteAdded(NoteAdded) = "complaint.note_added" v 1,
    EvidenceAttached(EvidenceAttached) = "complaint.evidence_attached" v 1,
    MergedInto(MergedInto) = "complaint.merged_into" v 1,
    DeadlineWarning(DeadlineWarning) = "complaint.deadline_warning" v 1,
    DeadlineMissed(DeadlineMissed) = "complaint.deadline_missed" v 1,
    CallbackDue(CallbackDue) = "complaint.callback_due" v 1,
    ProgressReportDue(ProgressReportDue) = "complaint.progress_report_due" v 2,
    // Issue 13 §3–§4, together after every older event.
    DuplicateMerged(DuplicateMerged) = "complaint.duplicate_merged" v 1,
    PlanPromiseRenewed(PlanPromiseRenewed) = "complaint.plan_promise_renewed" v 1,
    ResultReportedToCac(ResultReportedToCac) = "complaint.result_reported_to_cac" v 1,
    SupplierNotified(SupplierNotified) = "complaint.supplier_notified" v 1,
    SupplierChargedBack(SupplierChargedBack) = "complaint.supplier_charged_back" v 1,
    SupplierImprovementRequested(SupplierImprovementRequested) = "complaint.supplier_improvement_requested" v 1,
    ComplaintAssessed(ComplaintAssessed) = "complaint.assessed" v 1,
    ThreeChangesMade(ThreeChangesMade) = "complaint.three_changes_made" v 1,
    CaseShared(CaseShared) = "complaint.case_shared" v 1,
    PreventionPlanned(PreventionPlanned) = "complaint.prevention_planned" v 1,
}

impl ComplaintEvent {
    /// Events only the engine's timers may append.
    pub(crate) fn is_engine_only(&self) -> bool {
        matches!(
            self,
            ComplaintEvent::DeadlineWarning(_)
                | ComplaintEvent::DeadlineMissed(_)
                | ComplaintEvent::CallbackDue(_)
                | ComplaintEvent::ProgressReportDue(_)
                | ComplaintEvent::DuplicateMerged(_)
        )
    }

    /// Events that can fulfil an obligation that has a deadline (the report to the CAC,
    /// the result, a promise, the call-back, the engineer's dispatch and arrival, a
    /// progress report). Statistics judge deadlines met or late only at these.
    pub fn may_meet_deadlines(&self) -> bool {
        matches!(
            self,
            ComplaintEvent::ReportedToCac(_)
                | ComplaintEvent::OptionAccepted(_)
                | ComplaintEvent::WorkCarriedOut(_)
                | ComplaintEvent::Resolved(_)
                | ComplaintEvent::SatisfactionRecorded(_)
                | ComplaintEvent::CustomerUnreachable(_)
                | ComplaintEvent::EngineerDispatched(_)
                | ComplaintEvent::OnSiteAppraisalRecorded(_)
                | ComplaintEvent::ProgressReported(_)
                | ComplaintEvent::SolutionProposed(_)
                | ComplaintEvent::PlanPromiseRenewed(_)
                | ComplaintEvent::ResultReportedToCac(_)
        )
    }

    /// Events that only record something and may still be added to a closed case
    /// (the handling report, evidence, prevention work, the result reported to the CAC
    /// after closing, a supplier charged back at a later settlement).
    pub(crate) fn is_record_keeping(&self) -> bool {
        matches!(
            self,
            ComplaintEvent::NoteAdded(_)
                | ComplaintEvent::EvidenceAttached(_)
                | ComplaintEvent::CorrectiveActionAssigned(_)
                | ComplaintEvent::CorrectiveActionDone(_)
                | ComplaintEvent::CorrectiveActionVerified(_)
                | ComplaintEvent::ResultReportedToCac(_)
                | ComplaintEvent::DuplicateMerged(_)
                | ComplaintEvent::SupplierNotified(_)
                | ComplaintEvent::SupplierChargedBack(_)
                | ComplaintEvent::SupplierImprovementRequested(_)
                | ComplaintEvent::ComplaintAssessed(_)
                | ComplaintEvent::CaseShared(_)
                | ComplaintEvent::PreventionPlanned(_)
        )
    }
}

#[cfg(test)]
mod tests;
