//! The building blocks of every path through the workflow (seed 002's four steps:
//! receive, find the cause and plan, explain and carry out, follow up and prevent),
//! each written against a [`Story`] so that the domain checks it as it is planned.

use std::ops::Range;

use jiff::SignedDuration;
use rand::RngExt;
use rand_chacha::ChaCha8Rng;

use super::DemoError;
use super::catalog::Dealer;
use super::story::Story;
use complaintflow_domain::events::{
    Acknowledged, Apologized, CaseShared, CauseFound, Closed, CompensationApproved,
    CompensationRejected, CompensationRequested, ComplaintAssessed, ContactAttempted,
    CorrectiveActionAssigned, CorrectiveActionDone, CorrectiveActionVerified, Escalated,
    EvidenceAttached, InformationGathered, NoteAdded, OptionAccepted, OptionRejected, Paused,
    PlanPromiseRenewed, PreventionPlanned, PromiseDateChanged, ReportedToCac, Resolved,
    ResultReportedToCac, Resumed, SatisfactionRecorded, SolutionOption, SolutionProposed,
    SupplierChargedBack, SupplierImprovementRequested, SupplierNotified, ThreeChangesMade,
    WorkCarriedOut,
};
use complaintflow_domain::values::{
    ActionId, ActorId, CompensationId, ContentHash, DocumentRef, Label, Money, OptionId,
    SatisfactionScore, Text,
};
use complaintflow_domain::vocabulary::{
    CompensationKind, ComplaintNature, ContactPurpose, CustomerWant, DaySlot, Department,
    EscalationReason, Level, ResponsibleParty, RootCause, ThreeChange, WaitingFor,
};
use complaintflow_domain::{Actor, Role};

pub(super) type StepResult = Result<(), DemoError>;

/// The people who work on one complaint.
pub(super) struct Cast {
    pub advisor: Actor,
    pub manager: Actor,
    pub supervisor: Actor,
    pub cac: Actor,
    pub regional_manager: Actor,
    pub engineer: Actor,
}

impl Cast {
    pub(super) fn new(dealer: &Dealer, rng: &mut ChaCha8Rng) -> Result<Self, DemoError> {
        let code = dealer.code.as_str().to_ascii_lowercase();
        let region = dealer.region.as_str().to_ascii_lowercase();
        let actor = |id: String, role| Ok::<_, DemoError>(Actor::new(ActorId::parse(id)?, role));
        Ok(Self {
            advisor: actor(
                format!("{code}.advisor.{}", rng.random_range(1..=4)),
                Role::DealerStaff,
            )?,
            manager: actor(format!("{code}.service-manager"), Role::ServiceManager)?,
            supervisor: actor(format!("{code}.shift-supervisor"), Role::ShiftSupervisor)?,
            cac: actor(
                format!("cac.agent.{:02}", rng.random_range(1..=12)),
                Role::CacAgent,
            )?,
            regional_manager: actor(format!("{region}.regional-manager"), Role::RegionalManager)?,
            engineer: actor(
                format!("{region}.engineer.{}", rng.random_range(1..=3)),
                Role::RegionalEngineer,
            )?,
        })
    }
}

pub(super) fn text(value: &str) -> Result<Text, DemoError> {
    Ok(Text::parse(value)?)
}

pub(super) fn label(value: &str) -> Result<Label, DemoError> {
    Ok(Label::parse(value)?)
}

pub(super) fn minutes(rng: &mut ChaCha8Rng, range: Range<i64>) -> SignedDuration {
    SignedDuration::from_mins(rng.random_range(range))
}

pub(super) fn hours(rng: &mut ChaCha8Rng, range: Range<i64>) -> SignedDuration {
    SignedDuration::from_hours(rng.random_range(range))
}

/// Working days as business time (the policy's day length).
pub(super) fn business_days(
    story: &Story,
    rng: &mut ChaCha8Rng,
    range: Range<i64>,
) -> SignedDuration {
    let region = story.state().map(|s| s.region.clone());
    let day = region.map_or(SignedDuration::from_hours(9), |r| {
        story.policy().calendar(&r).working_day_length()
    });
    let tenths = rng.random_range(range.start * 10..range.end * 10);
    day * i32::try_from(tenths).unwrap_or(10) / 10
}

/// A reference to a stored document of this complaint.
fn document(story: &Story, kind: &str, extension: &str) -> Result<DocumentRef, DemoError> {
    let count = story.state().map_or(0, |s| s.version + 1);
    Ok(DocumentRef::parse(format!(
        "dms://{kind}/{}/{count}.{extension}",
        story.id()
    ))?)
}

pub(super) fn note(story: &mut Story, actor: &Actor, words: &str) -> StepResult {
    Ok(story.act(actor, NoteAdded { text: text(words)? })?)
}

pub(super) fn evidence(story: &mut Story, actor: &Actor, what: &str) -> StepResult {
    let reference = document(story, "evidence", "jpg")?;
    let hash = blake3::hash(reference.as_str().as_bytes()).to_hex();
    let event = EvidenceAttached {
        content_hash: ContentHash::parse(format!("blake3:{hash}"))?,
        reference,
        description: Some(text(what)?),
    };
    Ok(story.act(actor, event)?)
}

/// Step 1: apologize, confirm what was heard, say when a plan comes, report to the CAC.
pub(super) fn receive(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    story.wall(minutes(rng, 2..15));
    if rng.random_bool(0.75) {
        let note = Some(text("Apologized in the quiet room and offered tea")?);
        story.act(&cast.advisor, Apologized { note })?;
    }
    story.wall(minutes(rng, 3..25));
    let plan_promised_by = story.business_from_now(business_days(story, rng, 1..2));
    let facts = text("Read back the customer's account and request; customer confirmed")?;
    story.act(
        &cast.advisor,
        Acknowledged {
            confirmed_facts: facts,
            plan_promised_by: Some(plan_promised_by),
        },
    )?;
    if rng.random_bool(0.5) {
        assess(story, cast, rng)?;
    }
    report_to_cac(story, cast, rng)
}

/// The desk's judgement of the complaint and of what the customer wants (seeds 001, 003):
/// nearly always in good faith.
fn assess(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    let nature = if rng.random_bool(0.05) {
        ComplaintNature::Malicious
    } else {
        ComplaintNature::GoodFaith
    };
    let mut wants: Vec<CustomerWant> = [
        CustomerWant::Vent,
        CustomerWant::Compensation,
        CustomerWant::Respect,
    ]
    .into_iter()
    .filter(|_| rng.random_bool(0.5))
    .collect();
    if wants.is_empty() {
        wants.push(CustomerWant::Respect);
    }
    story.wall(minutes(rng, 1..10));
    Ok(story.act(
        &cast.advisor,
        ComplaintAssessed {
            nature,
            wants,
            note: None,
        },
    )?)
}

/// The plan date given at reception cannot be kept: the customer is called with the
/// progress and a new date (seed 001).
pub(super) fn renew_plan_promise(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
) -> StepResult {
    story.business(minutes(rng, 30..240));
    let new_date = story.business_from_now(business_days(story, rng, 1..3));
    Ok(story.act(
        &cast.advisor,
        PlanPromiseRenewed {
            new_date,
            progress: text(
                "Still diagnosing with the manufacturer's engineer; called the customer",
            )?,
        },
    )?)
}

/// A supplier's part at fault: the supplier is told, charged back at settlement and
/// asked to improve (seed 000).
pub(super) fn supplier_handling(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
) -> StepResult {
    let supplier = label("Huayu Electronics")?;
    story.business(minutes(rng, 30..300));
    story.act(
        &cast.manager,
        SupplierNotified {
            supplier: supplier.clone(),
            part: Some(label("head unit")?),
            note: None,
        },
    )?;
    if rng.random_bool(0.7) {
        story.business(business_days(story, rng, 1..4));
        story.act(
            &cast.manager,
            SupplierChargedBack {
                supplier: supplier.clone(),
                amount: money(rng.random_range(500..4_000) * 100)?,
                settlement_reference: None,
            },
        )?;
    }
    if rng.random_bool(0.6) {
        story.business(minutes(rng, 30..300));
        story.act(
            &cast.manager,
            SupplierImprovementRequested {
                supplier,
                request: text("Screen firmware reboots under heat: 8D report requested")?,
            },
        )?;
    }
    Ok(())
}

/// The case is shared inside the dealer so that others learn from it (step 4).
pub(super) fn share_case(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    story.business(minutes(rng, 60..600));
    Ok(story.act(
        &cast.manager,
        CaseShared {
            audience: label("service morning meeting")?,
            lessons: text("Tell waiting customers when the car will be ready, every hour")?,
        },
    )?)
}

/// A very upset customer: another room, the service manager in person, an appointment
/// (seeds 003, 004).
pub(super) fn three_changes(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    story.business(minutes(rng, 10..60));
    let appointment_at = story.business_from_now(business_days(story, rng, 1..2));
    Ok(story.act(
        &cast.manager,
        ThreeChangesMade {
            changes: vec![ThreeChange::Place, ThreeChange::Person, ThreeChange::Time],
            appointment_at: Some(appointment_at),
            note: Some(text(
                "Quiet room, the service manager in person, an appointment",
            )?),
        },
    )?)
}

/// The DCAC's report to the CAC: at once for major cases, else the same day.
pub(super) fn report_to_cac(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    let Some(state) = story.state() else {
        return Ok(());
    };
    if state.cac_informed_this_round(story.policy()) {
        return Ok(());
    }
    let urgent = story
        .policy()
        .reports_immediately(state.severity, state.emergency);
    if urgent {
        story.wall(minutes(rng, 5..40));
    } else {
        story.business(minutes(rng, 20..300));
    }
    let reference = format!("CAC-{}", rng.random_range(100_000..1_000_000));
    Ok(story.act(
        &cast.advisor,
        ReportedToCac {
            cac_reference: Some(label(&reference)?),
        },
    )?)
}

/// Step 2: gather the facts (sometimes on the phone) and name the root cause.
pub(super) fn investigate(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    cause: RootCause,
    responsible: ResponsibleParty,
) -> StepResult {
    story.business(minutes(rng, 20..240));
    let facts = text("Checked the repair order, the workshop log and the parking camera")?;
    story.act(&cast.advisor, InformationGathered { facts })?;
    if rng.random_bool(0.4) {
        call(
            story,
            cast,
            rng,
            ContactPurpose::GatherInformation,
            true,
            &[],
        )?;
    }
    story.business(minutes(rng, 30..480));
    let found = CauseFound {
        root_cause: cause,
        responsible,
        summary: text(&format!("Root cause: {}", cause.as_str().replace('_', " ")))?,
        within_dealer_authority: !matches!(
            responsible,
            ResponsibleParty::Manufacturer | ResponsibleParty::Supplier
        ),
    };
    Ok(story.act(&cast.manager, found)?)
}

/// A phone call to the customer in a time of day not in `avoid`; the slot it fell in.
pub(super) fn call(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    purpose: ContactPurpose,
    answered: bool,
    avoid: &[DaySlot],
) -> Result<Option<DaySlot>, DemoError> {
    let gap = story.policy().min_callback_gap() + minutes(rng, 5..90);
    let offset = minutes(rng, 0..120);
    let Some(slot) = story.move_to_call_time(gap, avoid, offset) else {
        return Ok(None); // no calling time within a month: nobody calls
    };
    let attempt = ContactAttempted {
        purpose,
        answered,
        recording: Some(document(story, "recordings", "mp3")?),
        note: (!answered).then(|| text("No answer")).transpose()?,
    };
    story.act(&cast.advisor, attempt)?;
    Ok(Some(slot))
}

const OPTIONS: &[(&str, &str, &str)] = &[
    (
        "Repair free of charge this week",
        "Quick",
        "Customer needs to bring the car in again",
    ),
    (
        "Replace the part with a new one from the plant",
        "Lasting fix",
        "Parts take a few days",
    ),
    (
        "Maintenance voucher and a written apology",
        "Shows respect",
        "Does not fix anything",
    ),
    (
        "Courtesy car while the work is done",
        "Customer stays mobile",
        "Costs the dealer",
    ),
    (
        "Pick-up and delivery service for the repair",
        "Saves the customer time",
        "Needs a driver",
    ),
];

/// Proposes options, has the customer reject `rejected` of them, accept the next.
pub(super) fn agree(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    options: usize,
    rejected: usize,
) -> StepResult {
    story.business(minutes(rng, 30..420));
    let first = story.state().map_or(0, |s| s.options.len()) + 1;
    let mut proposed = Vec::with_capacity(options);
    for number in first..first + options.max(1) {
        let (summary, pros, cons) = OPTIONS[rng.random_range(0..OPTIONS.len())];
        proposed.push(SolutionOption {
            option_id: OptionId::parse(format!("OPT-{number}"))?,
            summary: text(summary)?,
            pros: text(pros)?,
            cons: text(cons)?,
            cost: Money::new(rng.random_range(0..400) * 100)?,
            promised_by: story.business_from_now(business_days(story, rng, 1..5)),
        });
    }
    let ids: Vec<OptionId> = proposed.iter().map(|o| o.option_id.clone()).collect();
    story.act(&cast.manager, SolutionProposed { options: proposed })?;
    for option_id in ids.iter().take(rejected.min(ids.len() - 1)) {
        story.business(minutes(rng, 10..180));
        let reason = text("Customer wants the problem fixed, not a gesture")?;
        story.act(
            &cast.advisor,
            OptionRejected {
                option_id: option_id.clone(),
                reason,
            },
        )?;
    }
    story.business(minutes(rng, 10..180));
    let accepted = ids[rejected.min(ids.len() - 1)].clone();
    Ok(story.act(
        &cast.advisor,
        OptionAccepted {
            option_id: accepted,
        },
    )?)
}

/// Waits for the customer, parts or a third party, then resumes.
pub(super) fn pause(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    waiting_for: WaitingFor,
) -> StepResult {
    story.business(minutes(rng, 30..240));
    let reason = match waiting_for {
        WaitingFor::Customer => "Customer is on a business trip; appointment after return",
        WaitingFor::Parts => "Part on back order from the central warehouse",
        WaitingFor::ThirdParty => "Waiting for the insurer's assessor",
    };
    story.act(
        &cast.advisor,
        Paused {
            waiting_for,
            reason: text(reason)?,
        },
    )?;
    story.business(business_days(story, rng, 1..6));
    Ok(story.act(
        &cast.advisor,
        Resumed {
            note: Some(text("Can go on now")?),
        },
    )?)
}

/// Step 3: carry out the agreed plan, usually before the promised date.
pub(super) fn carry_out(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    new_date: bool,
) -> StepResult {
    if new_date {
        call(story, cast, rng, ContactPurpose::ProgressUpdate, true, &[])?;
        story.wall(minutes(rng, 2..10));
        let from = story.promise_due().unwrap_or(story.now()).max(story.now());
        let moved = story.business_after(from, business_days(story, rng, 1..3));
        let change = PromiseDateChanged {
            new_date: moved,
            reason: text("Part arrives later than planned")?,
        };
        story.act(&cast.advisor, change)?;
    }
    let due = story.promise_due().unwrap_or(story.now());
    if rng.random_bool(0.1) {
        story.to(due).business(minutes(rng, 60..600)); // late: the engine notices
    } else {
        story.business_share_until(due, rng.random_range(20..95));
    }
    story.act(
        &cast.advisor,
        WorkCarriedOut {
            description: text("Work done as agreed; road-tested")?,
        },
    )?;
    story.wall(minutes(rng, 10..90));
    Ok(story.act(
        &cast.advisor,
        Resolved {
            summary: text("Agreed solution delivered")?,
        },
    )?)
}

/// Step 4: the satisfaction call-back, answered.
pub(super) fn follow_up(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    score: u8,
) -> StepResult {
    story.business(minutes(rng, 60..900));
    call(
        story,
        cast,
        rng,
        ContactPurpose::SatisfactionCallback,
        true,
        &[],
    )?;
    story.wall(minutes(rng, 2..10));
    let words = match score {
        1 | 2 => "Still not happy, nobody really listened",
        3 => "Acceptable",
        _ => "Thank you, well handled",
    };
    let recorded = SatisfactionRecorded {
        score: SatisfactionScore::new(score)?,
        customer_words: Some(text(words)?),
    };
    Ok(story.act(&cast.advisor, recorded)?)
}

/// Three unanswered call-backs at three times of day; the engine then marks the
/// customer unreachable (or the desk does, when no scheduler runs).
pub(super) fn unanswered_calls(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    story.business(minutes(rng, 60..600));
    let mut used = Vec::new();
    let attempts = story.policy().callbacks().max_failed_attempts;
    for _ in 0..attempts {
        if let Some(slot) = call(
            story,
            cast,
            rng,
            ContactPurpose::SatisfactionCallback,
            false,
            &used,
        )? {
            used.push(slot);
        }
    }
    story.business(minutes(rng, 30..240));
    story.fire_due_now()?;
    let marked = story
        .state()
        .is_none_or(|s| s.contacts.unreachable.is_some());
    if !marked {
        let event = complaintflow_domain::events::CustomerUnreachable {
            failed_attempts: attempts,
        };
        story.act(&cast.advisor, event)?;
    }
    Ok(())
}

/// Steps 3 and 4 for a customer who ends up satisfied: carry out, call back, close.
pub(super) fn finish_satisfied(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    new_date: bool,
    scores: std::ops::RangeInclusive<u8>,
    summary: &str,
) -> StepResult {
    carry_out(story, cast, rng, new_date)?;
    // Most desks report the result to the CAC in time; some late, some never.
    if rng.random_bool(0.85) {
        let late = rng.random_bool(0.2);
        story.business(minutes(rng, 30..if late { 3_000 } else { 600 }));
        story.act(
            &cast.advisor,
            ResultReportedToCac {
                summary: text("Solved as agreed; customer informed")?,
                cac_reference: None,
            },
        )?;
    }
    let score = rng.random_range(scores);
    follow_up(story, cast, rng, score)?;
    close(story, cast, rng, summary)
}

pub(super) fn close(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    summary: &str,
) -> StepResult {
    story.business(minutes(rng, 20..300));
    Ok(story.act(
        &cast.advisor,
        Closed {
            summary: Some(text(summary)?),
        },
    )?)
}

/// Prevention: a corrective action assigned, done and verified.
pub(super) fn prevent(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    department: Department,
    what: &str,
) -> StepResult {
    let number = story.state().map_or(0, |s| s.corrective_actions.len()) + 1;
    let action_id = ActionId::parse(format!("CA-{number}"))?;
    story.business(minutes(rng, 60..600));
    story.act(
        &cast.manager,
        PreventionPlanned {
            department,
            plan: text(what)?,
        },
    )?;
    story.business(minutes(rng, 10..120));
    let assigned = CorrectiveActionAssigned {
        action_id: action_id.clone(),
        department,
        description: text(what)?,
    };
    story.act(&cast.manager, assigned)?;
    story.business(business_days(story, rng, 1..5));
    story.act(
        &cast.advisor,
        CorrectiveActionDone {
            action_id: action_id.clone(),
            note: None,
        },
    )?;
    story.business(business_days(story, rng, 1..8));
    let verified = CorrectiveActionVerified {
        action_id,
        note: Some(text("Checked at the weekly meeting")?),
    };
    Ok(story.act(&cast.manager, verified)?)
}

/// A compensation request, decided by `decider` at the level its role holds.
pub(super) fn compensate(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    kind: CompensationKind,
    amount: Money,
    decider: &Actor,
    approve: bool,
) -> StepResult {
    let number = story.state().map_or(0, |s| s.compensations.len()) + 1;
    let compensation_id = CompensationId::parse(format!("COMP-{number}"))?;
    story.business(minutes(rng, 10..120));
    let reason = text(&format!(
        "Customer asks for {}",
        kind.as_str().replace('_', " ")
    ))?;
    let request = CompensationRequested {
        compensation_id: compensation_id.clone(),
        kind,
        amount,
        reason,
    };
    story.act(&cast.advisor, request)?;
    story.business(minutes(rng, 30..600));
    let level = decider.role.level().unwrap_or(Level::DealerDesk);
    if approve {
        let signature = document(story, "signatures", "pdf")?;
        let approval = CompensationApproved {
            compensation_id,
            level,
            amount,
            customer_signature: Some(signature),
        };
        Ok(story.act(decider, approval)?)
    } else {
        let reason = text("Beyond what the case justifies")?;
        Ok(story.act(
            decider,
            CompensationRejected {
                compensation_id,
                level,
                reason,
            },
        )?)
    }
}

/// One rung up the escalation ladder from wherever the case is now (timers may have
/// moved it already); nothing at the top.
pub(super) fn escalate(
    story: &mut Story,
    actor: &Actor,
    reason: EscalationReason,
    why: &str,
) -> StepResult {
    let Some(from) = story.state().map(|s| s.level) else {
        return Ok(());
    };
    let Some(to) = story.policy().next_level(from) else {
        return Ok(());
    };
    let escalation = Escalated {
        from,
        to,
        reason,
        note: Some(text(why)?),
    };
    Ok(story.act(actor, escalation)?)
}

pub(super) fn money(fen: u64) -> Result<Money, DemoError> {
    Ok(Money::new(fen)?)
}

/// The second side of a joint approval (vehicle return or replacement: the CAC and the
/// region together, seed 002): the latest compensation, approved for the same amount.
pub(super) fn co_approve(story: &mut Story, approver: &Actor, amount: Money) -> StepResult {
    let Some(compensation_id) = story
        .state()
        .and_then(|s| s.compensations.last())
        .map(|c| c.id.clone())
    else {
        return Ok(());
    };
    story.wall(SignedDuration::from_mins(30));
    let signature = document(story, "signatures", "pdf")?;
    let approval = CompensationApproved {
        compensation_id,
        level: approver.role.level().unwrap_or(Level::ManufacturerCac),
        amount,
        customer_signature: Some(signature),
    };
    Ok(story.act(approver, approval)?)
}
