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
    Category, Channel, CompensationKind, ComplaintNature, ContactPurpose, CustomerWant, Department,
    EmergencyKind, EscalationReason, Level, Origin, ResponsibleParty, RootCause, Severity,
    ThreeChange, WaitingFor,
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

// Issue 13 §3–§4: the merge's survivor, the promises and reports the seeds name.
// New events go here, together, after every older one.

/// One obligation a merged duplicate still had open when it was merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OpenObligation {
    /// The deadline instance, as keyed on the duplicate's stream.
    pub deadline: DeadlineKey,
    pub due_at: Timestamp,
    /// It had already fallen due unmet on the duplicate.
    pub overdue: bool,
}

/// Engine: a duplicate was merged into this complaint, which carries on with what the
/// duplicate still owed. Appended on the survivor as the consequence of the duplicate's
/// `complaint.merged_into`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DuplicateMerged {
    pub duplicate: ComplaintId,
    pub open_obligations: Vec<OpenObligation>,
    /// Compensations requested on the duplicate and not yet decided.
    pub pending_compensations: Vec<CompensationId>,
}

/// The date given at reception for a plan could not be kept: the customer was called
/// with the progress and a new date (seed 001 "约定给客户回话的时间…确保准时给客户回话").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanPromiseRenewed {
    pub new_date: Timestamp,
    /// The progress the customer was told.
    pub progress: Text,
}

/// The handling result reported to the CAC (seed 002 五(4), 七 "结案并回报 CAC"):
/// not a progress report, the final word on this round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResultReportedToCac {
    pub summary: Text,
    pub cac_reference: Option<Label>,
}

/// A supplier's part is at fault: the supplier was told (seed 000 "及时通知供方").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierNotified {
    pub supplier: Label,
    pub part: Option<Label>,
    pub note: Option<Text>,
}

/// The cost is deducted from the supplier at settlement (seed 000 "告知出纳在结算时进行扣除").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierChargedBack {
    pub supplier: Label,
    pub amount: Money,
    pub settlement_reference: Option<Label>,
}

/// The supplier is asked to improve (seed 000 "督促供方改进").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierImprovementRequested {
    pub supplier: Label,
    pub request: Text,
}

/// The desk's judgement of the complaint (seed 003: good faith or malicious) and of
/// what the customer wants (seed 001: to vent, to be compensated, to be respected). A
/// later assessment replaces the earlier one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintAssessed {
    pub nature: ComplaintNature,
    /// At least one, each once.
    pub wants: Vec<CustomerWant>,
    pub note: Option<Text>,
}

/// A very upset customer: the place, the person or the time was changed (seeds 003, 004).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThreeChangesMade {
    /// At least one, each once.
    pub changes: Vec<ThreeChange>,
    /// The appointment made when the time was changed (required then).
    pub appointment_at: Option<Timestamp>,
    pub note: Option<Text>,
}

/// The case was shared inside the dealer so that others learn from it (step 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseShared {
    /// Who heard it: a team, a meeting.
    pub audience: Label,
    pub lessons: Text,
}

/// How the dealer will prevent it from happening again (step 4).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreventionPlanned {
    pub department: Department,
    pub plan: Text,
}
