//! The current state of one complaint, folded from its events.
//!
//! `apply` never fails and never looks at anything but the event and its
//! meta: replaying the same stream always gives the same state. Whether an
//! event is allowed is decided before it is stored, by `rules::check`.

use std::collections::BTreeSet;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::actor::EventMeta;
use super::deadlines::DeadlineKey;
use super::events::{self, ComplaintEvent};
use super::policy::Policy;
use super::values::{
    ActionId, CompensationId, ComplaintId, DealerCode, DocumentRef, Label, Money, OptionId,
    RegionCode, SatisfactionScore, Text,
};
use super::vocabulary::{
    Category, Channel, CompensationKind, ComplaintNature, ContactPurpose, CustomerWant, Department,
    EmergencyKind, Level, Origin, Severity, ThreeChange, WaitingFor,
};

/// Where the case stands in the four-step process.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// Received; facts being gathered.
    Received,
    /// Root cause known; a plan is being prepared.
    Investigating,
    /// Options are on the table.
    SolutionProposed,
    /// The customer accepted an option.
    SolutionAgreed,
    Resolved,
    /// The satisfaction call-back is done (or the customer could not be reached).
    FollowedUp,
    Closed,
    /// Folded into another complaint; this stream takes no more events.
    Merged,
}

impl Status {
    pub const ALL: &'static [Status] = &[
        Status::Received,
        Status::Investigating,
        Status::SolutionProposed,
        Status::SolutionAgreed,
        Status::Resolved,
        Status::FollowedUp,
        Status::Closed,
        Status::Merged,
    ];

    /// The stable snake_case name (the same as serde's).
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Received => "received",
            Status::Investigating => "investigating",
            Status::SolutionProposed => "solution_proposed",
            Status::SolutionAgreed => "solution_agreed",
            Status::Resolved => "resolved",
            Status::FollowedUp => "followed_up",
            Status::Closed => "closed",
            Status::Merged => "merged",
        }
    }
}

/// When something happened and which event recorded it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Milestone {
    pub at: Timestamp,
    pub version: u64,
}

impl Milestone {
    fn of(meta: &EventMeta) -> Self {
        Self {
            at: meta.occurred_at,
            version: meta.version,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    Open,
    Accepted,
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OptionRecord {
    pub option: events::SolutionOption,
    pub decision: Decision,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Promise {
    pub due: Timestamp,
    /// The acceptance or date change that set this date.
    pub set_by: Milestone,
    pub changes: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CompensationDecision {
    Pending,
    Approved {
        level: Level,
        amount: Money,
        customer_signature: DocumentRef,
    },
    Rejected {
        level: Level,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompensationRecord {
    pub id: CompensationId,
    pub kind: CompensationKind,
    pub requested: Money,
    pub decision: CompensationDecision,
    /// Every approval given, in order: one for a sole approval, one per side for a
    /// joint one (which stays pending until both sides are in).
    pub approvals: Vec<(Level, Money)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Assigned,
    Done,
    Verified,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CorrectiveActionRecord {
    pub id: ActionId,
    pub department: Department,
    pub status: ActionStatus,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseRecord {
    pub waiting_for: WaitingFor,
    pub started: Milestone,
    pub ended_at: Option<Timestamp>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EngineerVisit {
    pub dispatched: Milestone,
    pub expected_arrival: Timestamp,
    pub appraised: Option<Milestone>,
}

/// A duplicate merged into this complaint, and what it still owed then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedDuplicate {
    pub duplicate: ComplaintId,
    pub open_obligations: Vec<events::OpenObligation>,
    pub pending_compensations: Vec<CompensationId>,
    pub recorded: Milestone,
}

/// What was done with one supplier whose part was at fault (seed 000).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SupplierRecord {
    pub supplier: Label,
    pub notified: Milestone,
    pub charge_backs: u32,
    pub charged_back: Money,
    pub improvement_requested: Option<Milestone>,
}

/// The desk's judgement of the complaint and of what the customer wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assessment {
    pub nature: ComplaintNature,
    pub wants: Vec<CustomerWant>,
    pub recorded: Milestone,
}

/// Call attempts since the customer last answered.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactLog {
    pub attempts: u32,
    pub failed_streak: Vec<Milestone>,
    pub unreachable: Option<Milestone>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Satisfaction {
    pub score: SatisfactionScore,
    pub recorded: Milestone,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ComplaintState {
    pub id: ComplaintId,
    /// Version of the last applied event.
    pub version: u64,
    pub status: Status,
    pub origin: Origin,
    pub channel: Channel,
    pub dealer: DealerCode,
    pub region: RegionCode,
    pub categories: Vec<Category>,
    pub severity: Severity,
    pub emergency: Option<EmergencyKind>,
    /// What the customer told us when the complaint was filed.
    pub customer: events::Customer,
    pub vehicle: events::Vehicle,
    pub description: Text,
    pub customer_request: Text,
    pub filed: Milestone,
    /// The last event applied: when the case last moved.
    pub updated: Milestone,
    /// Start of the current handling round: filing, or the latest reopening.
    pub round_started: Milestone,
    pub reopen_count: u32,
    pub level: Level,
    pub last_escalation: Option<Milestone>,
    pub escalation_count: u32,
    pub acknowledged: Option<Milestone>,
    pub apologized: Option<Milestone>,
    pub reported_to_cac: Option<Milestone>,
    pub contacts: ContactLog,
    pub cause_found: Option<events::CauseFound>,
    pub options: Vec<OptionRecord>,
    pub accepted_option: Option<OptionId>,
    pub promise: Option<Promise>,
    pub compensations: Vec<CompensationRecord>,
    pub engineer: Option<EngineerVisit>,
    pub last_progress_report: Option<Milestone>,
    pub progress_report_count: u32,
    pub pauses: Vec<PauseRecord>,
    pub work_done: Option<Milestone>,
    pub resolved: Option<Milestone>,
    pub satisfaction: Option<Satisfaction>,
    pub closed: Option<Milestone>,
    pub corrective_actions: Vec<CorrectiveActionRecord>,
    pub note_count: u32,
    pub evidence: Vec<events::EvidenceAttached>,
    pub merged_into: Option<ComplaintId>,
    /// Duplicates merged into this one: the survivor carries on with what they owed.
    pub merged_duplicates: Vec<MergedDuplicate>,
    /// The date given at reception (or since) for a plan.
    pub plan_promise: Option<Promise>,
    /// When options were first put to the customer in this round: the plan promised.
    pub plan_delivered: Option<Milestone>,
    /// The handling result reported to the CAC in this round.
    pub result_reported: Option<Milestone>,
    pub suppliers: Vec<SupplierRecord>,
    pub assessment: Option<Assessment>,
    /// Each of the three changes made so far (place, person, time), once.
    pub three_changes: Vec<ThreeChange>,
    pub times_shared: u32,
    /// Departments with a prevention plan, one entry per plan.
    pub prevention_plans: Vec<Department>,
    /// Deadline instances whose warning / due event has been appended.
    pub warned: BTreeSet<DeadlineKey>,
    pub fired: BTreeSet<DeadlineKey>,
}

impl ComplaintState {
    fn filed(payload: &events::Filed, meta: &EventMeta) -> Self {
        let filed = Milestone::of(meta);
        Self {
            id: payload.complaint_id.clone(),
            version: meta.version,
            status: Status::Received,
            origin: payload.origin,
            channel: payload.channel,
            dealer: payload.dealer.clone(),
            region: payload.region.clone(),
            categories: payload.categories.clone(),
            severity: payload.severity,
            emergency: payload.emergency,
            customer: payload.customer.clone(),
            vehicle: payload.vehicle.clone(),
            description: payload.description.clone(),
            customer_request: payload.customer_request.clone(),
            filed,
            updated: filed,
            round_started: filed,
            reopen_count: 0,
            level: Level::DealerDesk,
            last_escalation: None,
            escalation_count: 0,
            acknowledged: None,
            apologized: None,
            reported_to_cac: None,
            contacts: ContactLog::default(),
            cause_found: None,
            options: Vec::new(),
            accepted_option: None,
            promise: None,
            compensations: Vec::new(),
            engineer: None,
            last_progress_report: None,
            progress_report_count: 0,
            pauses: Vec::new(),
            work_done: None,
            resolved: None,
            satisfaction: None,
            closed: None,
            corrective_actions: Vec::new(),
            note_count: 0,
            evidence: Vec::new(),
            merged_into: None,
            merged_duplicates: Vec::new(),
            plan_promise: None,
            plan_delivered: None,
            result_reported: None,
            suppliers: Vec::new(),
            assessment: None,
            three_changes: Vec::new(),
            times_shared: 0,
            prevention_plans: Vec::new(),
            warned: BTreeSet::new(),
            fired: BTreeSet::new(),
        }
    }

    /// Whether the desk has reported the current round to the CAC (again, after a
    /// reopening, when the policy asks for that). A case the CAC pushed to the dealer
    /// is known to the CAC already, but the dealer still owes it feedback on the
    /// handling the same day (seed 002 五(4)): that feedback is the desk's report.
    pub fn cac_informed_this_round(&self, policy: &Policy) -> bool {
        let ever_known = self.reported_to_cac.is_some();
        let reported_this_round = self
            .reported_to_cac
            .is_some_and(|report| report.version >= self.round_started.version);
        match self.reopen_count {
            0 => ever_known,
            _ if policy.document().reopen.report_to_cac_again => reported_this_round,
            _ => ever_known,
        }
    }

    pub fn is_paused(&self) -> bool {
        self.current_pause().is_some()
    }

    pub fn current_pause(&self) -> Option<&PauseRecord> {
        self.pauses.last().filter(|pause| pause.ended_at.is_none())
    }

    pub fn option(&self, id: &OptionId) -> Option<&OptionRecord> {
        self.options
            .iter()
            .find(|record| &record.option.option_id == id)
    }

    pub fn supplier(&self, name: &Label) -> Option<&SupplierRecord> {
        self.suppliers
            .iter()
            .find(|record| &record.supplier == name)
    }

    /// A plan was promised at reception (or since) and is not delivered yet.
    pub fn plan_promise_open(&self) -> Option<&Promise> {
        self.plan_promise.as_ref().filter(|_| {
            self.plan_delivered.is_none()
                && self.accepted_option.is_none()
                && self.resolved.is_none()
        })
    }

    pub fn compensation(&self, id: &CompensationId) -> Option<&CompensationRecord> {
        self.compensations.iter().find(|record| &record.id == id)
    }

    pub fn corrective_action(&self, id: &ActionId) -> Option<&CorrectiveActionRecord> {
        self.corrective_actions
            .iter()
            .find(|record| &record.id == id)
    }

    /// True once the case is closed or merged: only record keeping may follow.
    pub fn is_finished(&self) -> bool {
        matches!(self.status, Status::Closed | Status::Merged)
    }

    fn set_option_decision(&mut self, id: &OptionId, decision: Decision) {
        if let Some(record) = self
            .options
            .iter_mut()
            .find(|record| &record.option.option_id == id)
        {
            record.decision = decision;
        }
    }

    fn set_compensation_decision(&mut self, id: &CompensationId, decision: CompensationDecision) {
        if let Some(record) = self
            .compensations
            .iter_mut()
            .find(|record| &record.id == id)
        {
            record.decision = decision;
        }
    }

    fn set_action_status(&mut self, id: &ActionId, status: ActionStatus) {
        if let Some(record) = self.corrective_actions.iter_mut().find(|r| &r.id == id) {
            record.status = status;
        }
    }

    /// A reopened case starts a new handling round: the previous plan,
    /// resolution and follow-up no longer count, the cause and history stay.
    fn start_new_round(&mut self, meta: &EventMeta) {
        self.round_started = Milestone::of(meta);
        self.reopen_count += 1;
        self.status = if self.cause_found.is_some() {
            Status::Investigating
        } else {
            Status::Received
        };
        for record in &mut self.options {
            if record.decision == Decision::Open {
                record.decision = Decision::Rejected;
            }
        }
        self.accepted_option = None;
        self.promise = None;
        self.work_done = None;
        self.resolved = None;
        self.satisfaction = None;
        self.closed = None;
        self.contacts = ContactLog::default();
        self.plan_promise = None;
        self.plan_delivered = None;
        self.result_reported = None;
    }

    /// Every call is counted; only satisfaction call-backs make or break the run of
    /// unanswered tries that ends in "unreachable".
    fn record_contact(&mut self, call: &events::ContactAttempted, meta: &EventMeta) {
        self.contacts.attempts += 1;
        if call.purpose != ContactPurpose::SatisfactionCallback {
            return;
        }
        if call.answered {
            self.contacts.failed_streak.clear();
        } else {
            self.contacts.failed_streak.push(Milestone::of(meta));
        }
    }

    fn apply_event(&mut self, event: &ComplaintEvent, meta: &EventMeta) {
        use ComplaintEvent as E;
        let now = Milestone::of(meta);
        match event {
            // A second filing is refused by `check`; replay ignores it.
            E::Filed(_) => {}
            E::Acknowledged(p) => {
                self.acknowledged = Some(now);
                if let Some(due) = p.plan_promised_by {
                    let changes = self.plan_promise.as_ref().map_or(0, |p| p.changes + 1);
                    self.plan_promise = Some(Promise {
                        due,
                        set_by: now,
                        changes,
                    });
                }
            }
            E::Apologized(_) => self.apologized = Some(now),
            E::ReportedToCac(_) => self.reported_to_cac = Some(now),
            E::ContactAttempted(p) => self.record_contact(p, meta),
            E::CustomerUnreachable(_) => {
                self.contacts.unreachable = Some(now);
                if self.resolved.is_some() && self.satisfaction.is_none() {
                    self.status = Status::FollowedUp;
                }
            }
            E::InformationGathered(_) => {}
            E::CauseFound(p) => {
                self.cause_found = Some(p.clone());
                if self.status == Status::Received {
                    self.status = Status::Investigating;
                }
            }
            E::SolutionProposed(p) => {
                self.options
                    .extend(p.options.iter().map(|option| OptionRecord {
                        option: option.clone(),
                        decision: Decision::Open,
                    }));
                self.plan_delivered.get_or_insert(now);
                self.status = Status::SolutionProposed;
            }
            E::OptionAccepted(p) => {
                self.set_option_decision(&p.option_id, Decision::Accepted);
                if let Some(record) = self.option(&p.option_id) {
                    self.promise = Some(Promise {
                        due: record.option.promised_by,
                        set_by: now,
                        changes: 0,
                    });
                }
                self.accepted_option = Some(p.option_id.clone());
                self.status = Status::SolutionAgreed;
            }
            E::OptionRejected(p) => self.set_option_decision(&p.option_id, Decision::Rejected),
            E::PromiseDateChanged(p) => {
                if let Some(promise) = &mut self.promise {
                    promise.due = p.new_date;
                    promise.set_by = now;
                    promise.changes += 1;
                }
            }
            E::CompensationRequested(p) => self.compensations.push(CompensationRecord {
                id: p.compensation_id.clone(),
                kind: p.kind,
                requested: p.amount,
                decision: CompensationDecision::Pending,
                approvals: Vec::new(),
            }),
            E::CompensationApproved(p) => self.approve_compensation(p),
            E::CompensationRejected(p) => self.set_compensation_decision(
                &p.compensation_id,
                CompensationDecision::Rejected { level: p.level },
            ),
            E::Escalated(p) => {
                self.level = p.to;
                self.last_escalation = Some(now);
                self.escalation_count += 1;
            }
            E::EngineerDispatched(p) => {
                self.engineer = Some(EngineerVisit {
                    dispatched: now,
                    expected_arrival: p.expected_arrival,
                    appraised: None,
                });
            }
            E::OnSiteAppraisalRecorded(_) => {
                if let Some(visit) = &mut self.engineer {
                    visit.appraised = Some(now);
                }
            }
            E::ProgressReported(_) => {
                self.last_progress_report = Some(now);
                self.progress_report_count += 1;
            }
            E::Paused(p) => self.pauses.push(PauseRecord {
                waiting_for: p.waiting_for,
                started: now,
                ended_at: None,
            }),
            E::Resumed(_) => {
                if let Some(pause) = self.pauses.last_mut() {
                    pause.ended_at.get_or_insert(meta.occurred_at);
                }
            }
            E::WorkCarriedOut(_) => self.work_done = Some(now),
            E::Resolved(_) => {
                self.resolved = Some(now);
                self.status = Status::Resolved;
            }
            E::SatisfactionRecorded(p) => {
                self.satisfaction = Some(Satisfaction {
                    score: p.score,
                    recorded: now,
                });
                // Talking to the customer ends any run of unanswered calls.
                self.contacts.failed_streak.clear();
                self.status = Status::FollowedUp;
            }
            E::Closed(_) => {
                self.closed = Some(now);
                self.status = Status::Closed;
            }
            E::Reopened(_) => self.start_new_round(meta),
            E::CorrectiveActionAssigned(p) => {
                self.corrective_actions.push(CorrectiveActionRecord {
                    id: p.action_id.clone(),
                    department: p.department,
                    status: ActionStatus::Assigned,
                });
            }
            E::CorrectiveActionDone(p) => self.set_action_status(&p.action_id, ActionStatus::Done),
            E::CorrectiveActionVerified(p) => {
                self.set_action_status(&p.action_id, ActionStatus::Verified);
            }
            E::NoteAdded(_) => self.note_count += 1,
            E::EvidenceAttached(p) => self.evidence.push(p.clone()),
            E::MergedInto(p) => {
                self.merged_into = Some(p.target.clone());
                self.status = Status::Merged;
            }
            E::DeadlineWarning(p) => {
                self.warned.insert(p.deadline);
            }
            E::DeadlineMissed(p) => {
                self.fired.insert(p.deadline);
            }
            E::CallbackDue(p) => {
                self.fired.insert(p.deadline);
            }
            E::ProgressReportDue(p) => {
                self.fired.insert(p.deadline);
            }
            E::DuplicateMerged(p) => self.merged_duplicates.push(MergedDuplicate {
                duplicate: p.duplicate.clone(),
                open_obligations: p.open_obligations.clone(),
                pending_compensations: p.pending_compensations.clone(),
                recorded: now,
            }),
            E::PlanPromiseRenewed(p) => {
                if let Some(promise) = &mut self.plan_promise {
                    promise.due = p.new_date;
                    promise.set_by = now;
                    promise.changes += 1;
                }
            }
            E::ResultReportedToCac(_) => self.result_reported = Some(now),
            E::SupplierNotified(p) => self.suppliers.push(SupplierRecord {
                supplier: p.supplier.clone(),
                notified: now,
                charge_backs: 0,
                charged_back: Money::ZERO,
                improvement_requested: None,
            }),
            E::SupplierChargedBack(p) => {
                if let Some(record) = self.supplier_mut(&p.supplier) {
                    record.charge_backs += 1;
                    // Amounts are bounded so that sums of them cannot overflow.
                    record.charged_back =
                        Money::new(record.charged_back.fen().saturating_add(p.amount.fen()))
                            .unwrap_or(record.charged_back);
                }
            }
            E::SupplierImprovementRequested(p) => {
                if let Some(record) = self.supplier_mut(&p.supplier) {
                    record.improvement_requested.get_or_insert(now);
                }
            }
            E::ComplaintAssessed(p) => {
                self.assessment = Some(Assessment {
                    nature: p.nature,
                    wants: p.wants.clone(),
                    recorded: now,
                });
            }
            E::ThreeChangesMade(p) => {
                for change in &p.changes {
                    if !self.three_changes.contains(change) {
                        self.three_changes.push(*change);
                    }
                }
            }
            E::CaseShared(_) => self.times_shared += 1,
            E::PreventionPlanned(p) => self.prevention_plans.push(p.department),
        }
    }

    fn supplier_mut(&mut self, name: &Label) -> Option<&mut SupplierRecord> {
        self.suppliers
            .iter_mut()
            .find(|record| &record.supplier == name)
    }

    /// A sole approval decides the compensation; a joint one (vehicle return or
    /// replacement) decides it when the second side's approval comes in.
    fn approve_compensation(&mut self, approval: &events::CompensationApproved) {
        let Some(signature) = &approval.customer_signature else {
            return;
        };
        let Some(record) = self
            .compensations
            .iter_mut()
            .find(|record| record.id == approval.compensation_id)
        else {
            return;
        };
        record.approvals.push((approval.level, approval.amount));
        let sides: BTreeSet<usize> = record
            .approvals
            .iter()
            .filter_map(|(level, _)| super::vocabulary::joint_approval_side(*level))
            .collect();
        let complete = !record.kind.needs_joint_approval()
            || sides.len() == super::vocabulary::JOINT_APPROVAL_SIDES;
        if complete {
            record.decision = CompensationDecision::Approved {
                level: approval.level,
                amount: approval.amount,
                customer_signature: signature.clone(),
            };
        }
    }
}

/// Folds one event into the state, in place (a state is large: moving or copying it per
/// event is what a rebuild would spend its time on). Total: an event that cannot apply
/// (anything before `Filed`) leaves the state as it was.
pub fn apply(state: &mut Option<ComplaintState>, event: &ComplaintEvent, meta: &EventMeta) {
    match (state.as_mut(), event) {
        (None, ComplaintEvent::Filed(payload)) => {
            *state = Some(ComplaintState::filed(payload, meta));
        }
        (None, _) => {}
        (Some(state), event) => {
            state.apply_event(event, meta);
            state.version = meta.version;
            state.updated = Milestone::of(meta);
        }
    }
}

/// Rebuilds a state from a whole stream.
pub fn replay<'a>(
    events: impl IntoIterator<Item = (&'a ComplaintEvent, &'a EventMeta)>,
) -> Option<ComplaintState> {
    let mut state = None;
    for (event, meta) in events {
        apply(&mut state, event, meta);
    }
    state
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actor::Role;
    use crate::testkit::*;

    fn meta(version: u64, when: &str) -> EventMeta {
        EventMeta {
            version,
            occurred_at: at(when),
            recorded_at: at(when),
            actor: actor(Role::DealerStaff),
        }
    }

    fn applied(
        mut state: Option<ComplaintState>,
        event: &ComplaintEvent,
        meta: &EventMeta,
    ) -> Option<ComplaintState> {
        apply(&mut state, event, meta);
        state
    }

    fn filed_state() -> ComplaintState {
        let filing: ComplaintEvent = seed_004_filing().into();
        applied(None, &filing, &meta(1, "2025-09-01T10:00:00+08:00")).expect("filed")
    }

    #[test]
    fn events_before_filing_leave_no_state() {
        assert_eq!(
            applied(
                None,
                &resolved().into(),
                &meta(1, "2025-09-01T10:00:00+08:00")
            ),
            None
        );
    }

    #[test]
    fn filing_sets_identity_and_starts_at_the_dealer_desk() {
        let state = filed_state();
        assert_eq!(state.id, complaint_id());
        assert_eq!(state.level, Level::DealerDesk);
        assert_eq!(state.status, Status::Received);
        assert_eq!(state.round_started, state.filed);
    }

    #[test]
    fn a_second_filing_only_advances_the_version() {
        let state = filed_state();
        let filing: ComplaintEvent = seed_004_filing().into();
        let second = meta(2, "2025-09-01T11:00:00+08:00");
        let again = applied(Some(state.clone()), &filing, &second).expect("state");
        assert_eq!(
            again,
            ComplaintState {
                version: 2,
                updated: Milestone::of(&second),
                ..state
            }
        );
    }

    #[test]
    fn pauses_open_and_close() {
        let state = filed_state();
        let state = applied(
            Some(state),
            &paused(WaitingFor::Parts).into(),
            &meta(2, "2025-09-01T11:00:00+08:00"),
        );
        assert!(state.as_ref().is_some_and(ComplaintState::is_paused));
        let state = applied(
            state,
            &resumed().into(),
            &meta(3, "2025-09-02T11:00:00+08:00"),
        )
        .expect("state");
        assert!(!state.is_paused());
        assert_eq!(
            state.pauses[0].ended_at,
            Some(at("2025-09-02T11:00:00+08:00"))
        );
    }

    #[test]
    fn reopening_starts_a_new_round_and_keeps_the_history() {
        let events = [
            proposal(&[
                ("O1", at("2025-09-03T17:00:00+08:00")),
                ("O2", at("2025-09-04T17:00:00+08:00")),
            ])
            .into(),
            accept("O1").into(),
            resolved().into(),
            satisfaction(1).into(),
            events::Reopened {
                reason: text("still unhappy"),
            }
            .into(),
        ];
        let mut state = filed_state();
        for (event, version) in events.iter().zip(2..) {
            let when = meta(version, "2025-09-03T10:00:00+08:00");
            state = applied(Some(state), event, &when).expect("state");
        }
        assert_eq!(state.reopen_count, 1);
        assert_eq!(state.round_started.version, 6);
        assert_eq!(state.status, Status::Received);
        assert_eq!(
            (
                state.resolved,
                state.satisfaction,
                state.accepted_option.clone()
            ),
            (None, None, None)
        );
        assert_eq!(
            state.option(&option_id("O2")).map(|o| o.decision),
            Some(Decision::Rejected)
        );
        assert_eq!(
            state.option(&option_id("O1")).map(|o| o.decision),
            Some(Decision::Accepted)
        );
    }
}
