//! Why an event was refused. Each variant is one rule, with a stable machine
//! code (clients switch on it, so never change one) and a human message.

use jiff::Timestamp;

use crate::deadlines::DeadlineKey;
use crate::values::{ActionId, CompensationId, ComplaintId, Label, Money, OptionId};
use crate::vocabulary::{
    CompensationKind, CustomerWant, DaySlot, EmergencyKind, Level, Severity, ThreeChange,
};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RuleViolation {
    #[error("the complaint has not been filed yet")]
    NotFiled,
    #[error("the complaint has already been filed")]
    AlreadyFiled,
    #[error("the filing is for complaint {got}, but the stream is {expected}")]
    ComplaintIdMismatch {
        expected: ComplaintId,
        got: ComplaintId,
    },
    #[error("the event is dated {occurred_at}, after the current time {now}")]
    OccurredInFuture {
        occurred_at: Timestamp,
        now: Timestamp,
    },
    #[error("the event is dated {occurred_at}, before the complaint was filed at {filed_at}")]
    OccurredBeforeFiling {
        occurred_at: Timestamp,
        filed_at: Timestamp,
    },
    #[error("the problem is said to have happened at {happened_at}, after it was reported")]
    HappenedAfterFiling { happened_at: Timestamp },
    #[error("only the engine's timers may append {event_type}")]
    EngineOnlyEvent { event_type: &'static str },
    #[error("the engine may not append {event_type}")]
    NotAnEngineEvent { event_type: &'static str },
    #[error("the complaint was merged into {target}; it takes no more events")]
    ComplaintMerged { target: ComplaintId },
    #[error("the complaint is closed; reopen it first")]
    ComplaintClosed,
    #[error("a complaint needs at least one category")]
    CategoryRequired,
    #[error("a category is listed twice")]
    DuplicateCategory,
    #[error("a {emergency} case must be at least {minimum}, not {severity}")]
    EmergencySeverityTooLow {
        emergency: EmergencyKind,
        severity: Severity,
        minimum: Severity,
    },
    #[error("the CAC already knows about this case in this round")]
    AlreadyReportedToCac,
    #[error("the customer was marked unreachable; no more call attempts")]
    CustomerUnreachable,
    #[error("calls are made only during calling hours; {at} is outside them")]
    OutsideCallingHours { at: Timestamp },
    #[error(
        "the satisfaction call-back comes after the complaint is handled; calls before that gather information or report progress"
    )]
    CallbackRequiresResolution,
    #[error("the previous unanswered call was less than {min_gap_minutes} minutes ago")]
    CallbackTooSoon { min_gap_minutes: u32 },
    #[error("an unanswered call was already made in the {slot}; retry at another time of day")]
    CallbackNeedsOtherTimeOfDay { slot: DaySlot },
    #[error(
        "a customer is unreachable only after {required} unanswered calls in a row ({actual} so far)"
    )]
    UnreachableNeedsFailedAttempts { required: u8, actual: usize },
    #[error("a solution needs at least one option")]
    SolutionNeedsOptions,
    #[error("option {0} is proposed twice")]
    DuplicateOptionId(OptionId),
    #[error("an option was already agreed in this round")]
    SolutionAlreadyAgreed,
    #[error("the promised date {promised} is before the event itself")]
    PromiseInPast { promised: Timestamp },
    #[error("option {0} was never proposed")]
    OptionNotProposed(OptionId),
    #[error("option {0} was already accepted or rejected")]
    OptionAlreadyDecided(OptionId),
    #[error("there is no promised date to change")]
    NoPromiseToChange,
    #[error("the new promised date is the same as the current one")]
    PromiseDateUnchanged,
    #[error("compensation {0} was already requested")]
    DuplicateCompensationId(CompensationId),
    #[error("compensation {0} was never requested")]
    CompensationNotRequested(CompensationId),
    #[error("compensation {0} was already approved or rejected")]
    CompensationAlreadyDecided(CompensationId),
    #[error("the approver does not act at level {claimed}")]
    ApproverLacksLevel { claimed: Level },
    #[error("{level} may not approve {amount} fen of {kind}")]
    CompensationBeyondAuthority {
        level: Level,
        kind: CompensationKind,
        amount: u64,
    },
    #[error("a compensation needs the customer's signature")]
    CompensationRequiresSignature,
    #[error("approved amount {approved:?} is more than the {requested:?} requested")]
    ApprovalExceedsRequest { approved: Money, requested: Money },
    #[error("the case is at {current}, not {claimed}")]
    EscalationFromMismatch { current: Level, claimed: Level },
    #[error("escalation must go up the ladder ({from} -> {to})")]
    EscalationMustGoUp { from: Level, to: Level },
    #[error("the engineer's arrival {arrival} is before the dispatch")]
    ArrivalBeforeDispatch { arrival: Timestamp },
    #[error("an on-site appraisal needs a dispatched engineer")]
    AppraisalRequiresEngineer,
    #[error("the case is already paused")]
    AlreadyPaused,
    #[error("the case is not paused")]
    ResumeRequiresPause,
    #[error("work is carried out only after the customer accepted a solution")]
    WorkRequiresAcceptedSolution,
    #[error("a case is resolved only after the customer accepted a solution")]
    ResolveRequiresAcceptedSolution,
    #[error("the case is already resolved in this round; reopen it to change the plan")]
    AlreadyResolved,
    #[error("the satisfaction follow-up comes after the resolution")]
    FollowUpRequiresResolution,
    #[error("satisfaction was already recorded in this round")]
    AlreadyFollowedUp,
    #[error(
        "a case is closed only after the satisfaction follow-up (or the customer proved unreachable)"
    )]
    CloseRequiresFollowUp,
    #[error("the customer rated {score}, below {minimum}: clarify and reopen instead of closing")]
    CloseRequiresSatisfiedCustomer { score: u8, minimum: u8 },
    #[error("only a resolved or closed case can be reopened")]
    ReopenRequiresResolution,
    #[error("corrective action {0} was already assigned")]
    DuplicateCorrectiveAction(ActionId),
    #[error("corrective action {0} was never assigned")]
    CorrectiveActionUnknown(ActionId),
    #[error("corrective action {0} must be done before it is verified, and each step happens once")]
    CorrectiveActionOutOfOrder(ActionId),
    #[error("a complaint cannot be merged into itself")]
    MergeIntoSelf,
    #[error("only the engine records that a deadline was missed; escalate with another reason")]
    DeadlineMissedIsTheEngines,
    #[error("progress report {key} can have missed at most {at_most} periods, not {claimed}")]
    ProgressReportDueMisstated {
        key: DeadlineKey,
        claimed: u32,
        at_most: u32,
    },
    #[error("there is no complaint {target} to merge into")]
    MergeTargetUnknown { target: ComplaintId },
    #[error(
        "complaint {target} is closed or merged itself; merge into the complaint that carries on"
    )]
    MergeTargetNotLive { target: ComplaintId },
    #[error("deadline {0} is not open")]
    DeadlineNotOpen(DeadlineKey),
    #[error("duplicate {0} was already merged into this complaint")]
    DuplicateAlreadyMerged(ComplaintId),
    #[error("no plan date was promised, or the plan was already put to the customer")]
    NoPlanPromise,
    #[error("the result is reported to the CAC once the case is resolved")]
    ResultReportRequiresResolution,
    #[error("the result of this round was already reported to the CAC")]
    ResultAlreadyReported,
    #[error("no supplier is found responsible: record a supplier's part as the cause first")]
    SupplierNotResponsible,
    #[error("supplier {0} was already notified")]
    SupplierAlreadyNotified(Label),
    #[error("supplier {0} was never notified")]
    SupplierNotNotified(Label),
    #[error("an assessment names at least one thing the customer wants")]
    AssessmentNeedsWants,
    #[error("{0} is listed twice")]
    DuplicateWant(CustomerWant),
    #[error("name at least one of the three changes (place, person, time)")]
    ThreeChangesNeedAChange,
    #[error("the change of {0} is listed twice")]
    DuplicateThreeChange(ThreeChange),
    #[error("a change of time is an appointment: give it, and only with a change of time")]
    TimeChangeNeedsAppointment,
    #[error("the appointment {at} is before the event itself")]
    AppointmentInPast { at: Timestamp },
    #[error("a prevention plan needs the root cause found first")]
    PreventionRequiresCause,
    #[error(
        "{kind} is approved jointly by the CAC and the region (manager or engineer); {level} is neither"
    )]
    JointApprovalOutsideSides {
        kind: CompensationKind,
        level: Level,
    },
    #[error("the side of {level} has already approved this compensation")]
    JointApprovalSideAlreadyGiven { level: Level },
    #[error("both sides approve the same amount: {earlier:?} before, {now:?} now")]
    JointApprovalAmountMismatch { earlier: Money, now: Money },
    #[error("deadline {key} does not warn or fall due before {at}")]
    DeadlineNotDue { key: DeadlineKey, at: Timestamp },
}

impl RuleViolation {
    /// The stable machine code of the rule.
    pub fn code(&self) -> &'static str {
        use RuleViolation as V;
        match self {
            V::NotFiled => "not_filed",
            V::AlreadyFiled => "already_filed",
            V::ComplaintIdMismatch { .. } => "complaint_id_mismatch",
            V::OccurredInFuture { .. } => "occurred_in_future",
            V::OccurredBeforeFiling { .. } => "occurred_before_filing",
            V::HappenedAfterFiling { .. } => "happened_after_filing",
            V::EngineOnlyEvent { .. } => "engine_only_event",
            V::NotAnEngineEvent { .. } => "not_an_engine_event",
            V::ComplaintMerged { .. } => "complaint_merged",
            V::ComplaintClosed => "complaint_closed",
            V::CategoryRequired => "category_required",
            V::DuplicateCategory => "duplicate_category",
            V::EmergencySeverityTooLow { .. } => "emergency_severity_too_low",
            V::AlreadyReportedToCac => "already_reported_to_cac",
            V::CustomerUnreachable => "customer_unreachable",
            V::OutsideCallingHours { .. } => "outside_calling_hours",
            V::CallbackRequiresResolution => "callback_requires_resolution",
            V::CallbackTooSoon { .. } => "callback_too_soon",
            V::CallbackNeedsOtherTimeOfDay { .. } => "callback_needs_other_time_of_day",
            V::UnreachableNeedsFailedAttempts { .. } => "unreachable_needs_failed_attempts",
            V::SolutionNeedsOptions => "solution_needs_options",
            V::DuplicateOptionId(_) => "duplicate_option_id",
            V::SolutionAlreadyAgreed => "solution_already_agreed",
            V::PromiseInPast { .. } => "promise_in_past",
            V::OptionNotProposed(_) => "option_not_proposed",
            V::OptionAlreadyDecided(_) => "option_already_decided",
            V::NoPromiseToChange => "no_promise_to_change",
            V::PromiseDateUnchanged => "promise_date_unchanged",
            V::DuplicateCompensationId(_) => "duplicate_compensation_id",
            V::CompensationNotRequested(_) => "compensation_not_requested",
            V::CompensationAlreadyDecided(_) => "compensation_already_decided",
            V::ApproverLacksLevel { .. } => "approver_lacks_level",
            V::CompensationBeyondAuthority { .. } => "compensation_beyond_authority",
            V::CompensationRequiresSignature => "compensation_requires_signature",
            V::ApprovalExceedsRequest { .. } => "approval_exceeds_request",
            V::EscalationFromMismatch { .. } => "escalation_from_mismatch",
            V::EscalationMustGoUp { .. } => "escalation_must_go_up",
            V::ArrivalBeforeDispatch { .. } => "arrival_before_dispatch",
            V::AppraisalRequiresEngineer => "appraisal_requires_engineer",
            V::AlreadyPaused => "already_paused",
            V::ResumeRequiresPause => "resume_requires_pause",
            V::WorkRequiresAcceptedSolution => "work_requires_accepted_solution",
            V::ResolveRequiresAcceptedSolution => "resolve_requires_accepted_solution",
            V::AlreadyResolved => "already_resolved",
            V::FollowUpRequiresResolution => "follow_up_requires_resolution",
            V::AlreadyFollowedUp => "already_followed_up",
            V::CloseRequiresFollowUp => "close_requires_follow_up",
            V::CloseRequiresSatisfiedCustomer { .. } => "close_requires_satisfied_customer",
            V::ReopenRequiresResolution => "reopen_requires_resolution",
            V::DuplicateCorrectiveAction(_) => "duplicate_corrective_action",
            V::CorrectiveActionUnknown(_) => "corrective_action_unknown",
            V::CorrectiveActionOutOfOrder(_) => "corrective_action_out_of_order",
            V::MergeIntoSelf => "merge_into_self",
            V::DeadlineMissedIsTheEngines => "deadline_missed_is_the_engines",
            V::ProgressReportDueMisstated { .. } => "progress_report_due_misstated",
            V::MergeTargetUnknown { .. } => "merge_target_unknown",
            V::MergeTargetNotLive { .. } => "merge_target_not_live",
            V::DeadlineNotOpen(_) => "deadline_not_open",
            V::DuplicateAlreadyMerged(_) => "duplicate_already_merged",
            V::NoPlanPromise => "no_plan_promise",
            V::ResultReportRequiresResolution => "result_report_requires_resolution",
            V::ResultAlreadyReported => "result_already_reported",
            V::SupplierNotResponsible => "supplier_not_responsible",
            V::SupplierAlreadyNotified(_) => "supplier_already_notified",
            V::SupplierNotNotified(_) => "supplier_not_notified",
            V::AssessmentNeedsWants => "assessment_needs_wants",
            V::DuplicateWant(_) => "duplicate_want",
            V::ThreeChangesNeedAChange => "three_changes_need_a_change",
            V::DuplicateThreeChange(_) => "duplicate_three_change",
            V::TimeChangeNeedsAppointment => "time_change_needs_appointment",
            V::AppointmentInPast { .. } => "appointment_in_past",
            V::PreventionRequiresCause => "prevention_requires_cause",
            V::JointApprovalOutsideSides { .. } => "joint_approval_outside_sides",
            V::JointApprovalSideAlreadyGiven { .. } => "joint_approval_side_already_given",
            V::JointApprovalAmountMismatch { .. } => "joint_approval_amount_mismatch",
            V::DeadlineNotDue { .. } => "deadline_not_due",
        }
    }
}
