//! One payload struct per event. Stored with bincode by field position:
//! a change to a struct's fields needs a new schema version of its event.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::deadlines::DeadlineKey;
use crate::values::{
    ActionId, CompensationId, ComplaintId, ContentHash, DealerCode, DocumentRef, Label, Mileage,
    Money, OptionId, PhoneNumber, Plate, RegionCode, SatisfactionScore, Text, Vin,
};
use crate::vocabulary::{
    Category, Channel, CompensationKind, ContactPurpose, Department, EmergencyKind,
    EscalationReason, Level, Origin, ResponsibleParty, RootCause, Severity, WaitingFor,
};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    pub name: Label,
    pub phone: PhoneNumber,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Vehicle {
    pub vin: Vin,
    pub plate: Option<Plate>,
    pub model: Label,
    pub mileage: Mileage,
    pub purchased_on: Option<jiff::civil::Date>,
}

/// The complaint is received and recorded (step 1 of the process).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Filed {
    pub complaint_id: ComplaintId,
    pub origin: Origin,
    pub channel: Channel,
    /// The dealer that handles the case (for CAC-filed cases: the one assigned).
    pub dealer: DealerCode,
    pub region: RegionCode,
    /// Who took the complaint, as the customer knows them (name or desk).
    pub received_by: Label,
    pub customer: Customer,
    pub vehicle: Vehicle,
    /// At least one; several when the complaint is about several things.
    pub categories: Vec<Category>,
    pub severity: Severity,
    pub emergency: Option<EmergencyKind>,
    pub description: Text,
    pub customer_request: Text,
    /// When the problem happened (not when it was reported).
    pub happened_at: Option<Timestamp>,
}

/// The dealer confirmed what it heard and told the customer when a plan comes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Acknowledged {
    pub confirmed_facts: Text,
    pub plan_promised_by: Option<Timestamp>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Apologized {
    pub note: Option<Text>,
}

/// The dealer's desk reported the case to the manufacturer's CAC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReportedToCac {
    pub cac_reference: Option<Label>,
}

/// A phone call to the customer; `occurred_at` of the event is when it was made,
/// which decides its time-of-day slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactAttempted {
    pub purpose: ContactPurpose,
    pub answered: bool,
    pub recording: Option<DocumentRef>,
    pub note: Option<Text>,
}

/// Three failed attempts in a row: the customer is marked unreachable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomerUnreachable {
    pub failed_attempts: u8,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InformationGathered {
    pub facts: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CauseFound {
    pub root_cause: RootCause,
    pub responsible: ResponsibleParty,
    pub summary: Text,
    /// Whether the dealer can solve it within its own capability and authority.
    pub within_dealer_authority: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SolutionOption {
    pub option_id: OptionId,
    pub summary: Text,
    pub pros: Text,
    pub cons: Text,
    pub cost: Money,
    pub promised_by: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SolutionProposed {
    pub options: Vec<SolutionOption>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionAccepted {
    pub option_id: OptionId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionRejected {
    pub option_id: OptionId,
    pub reason: Text,
}

/// The agreed date cannot be kept: the customer was called with a new one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PromiseDateChanged {
    pub new_date: Timestamp,
    pub reason: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompensationRequested {
    pub compensation_id: CompensationId,
    pub kind: CompensationKind,
    pub amount: Money,
    pub reason: Text,
}

/// Approved by the event's actor, acting at `level`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompensationApproved {
    pub compensation_id: CompensationId,
    pub level: Level,
    pub amount: Money,
    /// The customer's signature on the agreement. Optional in the type so that
    /// a missing one reaches `check` and is refused with a clear rule.
    pub customer_signature: Option<DocumentRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompensationRejected {
    pub compensation_id: CompensationId,
    pub level: Level,
    pub reason: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Escalated {
    pub from: Level,
    pub to: Level,
    pub reason: EscalationReason,
    pub note: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineerDispatched {
    pub engineer: Label,
    pub expected_arrival: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnSiteAppraisalRecorded {
    pub findings: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressReported {
    pub summary: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Paused {
    pub waiting_for: WaitingFor,
    pub reason: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resumed {
    pub note: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkCarriedOut {
    pub description: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resolved {
    pub summary: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SatisfactionRecorded {
    pub score: SatisfactionScore,
    pub customer_words: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Closed {
    pub summary: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reopened {
    pub reason: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectiveActionAssigned {
    pub action_id: ActionId,
    pub department: Department,
    pub description: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectiveActionDone {
    pub action_id: ActionId,
    pub note: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectiveActionVerified {
    pub action_id: ActionId,
    pub note: Option<Text>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoteAdded {
    pub text: Text,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceAttached {
    pub reference: DocumentRef,
    pub content_hash: ContentHash,
    pub description: Option<Text>,
}

/// This complaint duplicates another one; the other stream carries on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedInto {
    pub target: ComplaintId,
}

/// Engine: a deadline is close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineWarning {
    pub deadline: DeadlineKey,
    pub due_at: Timestamp,
}

/// Engine: a deadline passed unmet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadlineMissed {
    pub deadline: DeadlineKey,
    pub due_at: Timestamp,
}

/// Engine: time to try the customer again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallbackDue {
    pub deadline: DeadlineKey,
    pub attempt: u8,
}

/// Engine: a major case owes the CAC a progress report. However many periods went by
/// without one (the engine down, or nobody acting), this is one overdue obligation:
/// it is appended once and stands until a report is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProgressReportDue {
    pub deadline: DeadlineKey,
    /// Periods without a report when the engine appended this (1 when on time).
    /// Schema 2; records of schema 1 read as 1.
    #[serde(default = "one_period")]
    pub missed_periods: u32,
    /// When the first of those periods fell due. Schema 2; `None` in schema 1 records.
    #[serde(default)]
    pub overdue_since: Option<Timestamp>,
}

fn one_period() -> u32 {
    1
}

/// Schema 1 of `complaint.progress_report_due`, still read from stored logs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct ProgressReportDueV1 {
    pub deadline: DeadlineKey,
}

impl From<ProgressReportDueV1> for ProgressReportDue {
    fn from(v1: ProgressReportDueV1) -> Self {
        ProgressReportDue {
            deadline: v1.deadline,
            missed_periods: one_period(),
            overdue_since: None,
        }
    }
}
