//! The paths a complaint can take through the workflow, and how each is filed. Every
//! path is a short script over the steps in [`super::steps`]; the timers the story
//! plays add what the engine does on its own (warnings, missed deadlines, escalations,
//! call-back prompts, unreachable customers).

use jiff::{SignedDuration, Timestamp};
use rand::RngExt;
use rand::seq::IndexedRandom;
use rand_chacha::ChaCha8Rng;

use super::DemoError;
use super::catalog::Identity;
use super::steps::{
    Cast, StepResult, agree, business_days, carry_out, close, co_approve, compensate, escalate,
    evidence, finish_satisfied, follow_up, hours, investigate, label, minutes, money, note, pause,
    prevent, receive, renew_plan_promise, report_to_cac, share_case, supplier_handling, text,
    three_changes, unanswered_calls,
};
use super::story::Story;
use complaintflow_domain::events::{
    EngineerDispatched, Filed, MergedInto, OnSiteAppraisalRecorded, ProgressReported,
};
use complaintflow_domain::values::{ComplaintId, DealerCode, RegionCode};
use complaintflow_domain::vocabulary::{
    Category, Channel, CompensationKind, Department, EmergencyKind, EscalationReason, Origin,
    ResponsibleParty, RootCause, Severity, WaitingFor,
};

/// A path through the workflow; every one appears in a few hundred complaints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Path {
    /// Seed 004: kept waiting, apology, small goodwill, prevention. Closed satisfied.
    Reception,
    /// A defect: evidence, options, parts pause, new promise date, repair.
    QualityRepair,
    /// Fire, flood, accident, major new-car defect: CAC at once, engineer on site,
    /// progress reports, rental car or vehicle replacement.
    Emergency,
    /// A refund refused by the dealer, escalated, a smaller goodwill approved by the CAC.
    CompensationDispute,
    /// Resolved, then three unanswered call-backs: unreachable, closed.
    Unreachable,
    /// Not satisfied: reopened, reported again, three changes, escalated, solved.
    Reopened,
    /// A second complaint about the same case, merged into the first.
    Duplicate,
    /// Waiting for the customer or an insurer, then resumed.
    Waiting,
    /// The dealer does nothing for days: deadlines missed, the engine escalates.
    SlowDealer,
}

impl Path {
    pub const ALL: &'static [Path] = &[
        Path::Reception,
        Path::QualityRepair,
        Path::Emergency,
        Path::CompensationDispute,
        Path::Unreachable,
        Path::Reopened,
        Path::Duplicate,
        Path::Waiting,
        Path::SlowDealer,
    ];

    /// Relative frequencies, in the order of `ALL`.
    const WEIGHTS: &'static [u32] = &[22, 20, 6, 10, 8, 8, 5, 11, 10];

    pub fn as_str(self) -> &'static str {
        match self {
            Path::Reception => "reception",
            Path::QualityRepair => "quality_repair",
            Path::Emergency => "emergency",
            Path::CompensationDispute => "compensation_dispute",
            Path::Unreachable => "unreachable",
            Path::Reopened => "reopened",
            Path::Duplicate => "duplicate",
            Path::Waiting => "waiting",
            Path::SlowDealer => "slow_dealer",
        }
    }

    pub fn pick(rng: &mut ChaCha8Rng) -> Path {
        let total: u32 = Self::WEIGHTS.iter().sum();
        let mut roll = rng.random_range(0..total);
        for (path, weight) in Self::ALL.iter().zip(Self::WEIGHTS) {
            if roll < *weight {
                return *path;
            }
            roll -= weight;
        }
        Path::Reception
    }
}

/// Where the complaint is handled.
pub(super) struct Venue<'a> {
    pub id: &'a ComplaintId,
    pub dealer: &'a DealerCode,
    pub region: &'a RegionCode,
}

/// The filing of a complaint on `path`.
pub(super) fn filing(
    rng: &mut ChaCha8Rng,
    path: Path,
    venue: &Venue,
    identity: &Identity,
    at: Timestamp,
) -> Result<Filed, DemoError> {
    let emergency = (path == Path::Emergency).then(|| {
        *EmergencyKind::ALL
            .choose(rng)
            .unwrap_or(&EmergencyKind::Flood)
    });
    let by_cac = rng.random_bool(if emergency.is_some() { 0.5 } else { 0.25 });
    let channels: &[Channel] = match (by_cac, emergency) {
        (true, Some(_)) => &[Channel::ManufacturerHotline],
        (false, Some(_)) => &[Channel::DealerHotline, Channel::WalkIn],
        (true, None) => &[
            Channel::ManufacturerHotline,
            Channel::Website,
            Channel::NewModelQualitySurvey,
            Channel::CsiSurvey,
            Channel::Media,
            Channel::ConsumerRights,
            Channel::InternalTransfer,
        ],
        (false, None) => &[
            Channel::WalkIn,
            Channel::WalkIn,
            Channel::DealerHotline,
            Channel::Email,
            Channel::Letter,
            Channel::Fax,
        ],
    };
    let (categories, description, request) = complaint_text(path, emergency);
    let severity = match emergency {
        Some(_) => *[Severity::Major, Severity::Special, Severity::Urgent]
            .choose(rng)
            .unwrap_or(&Severity::Major),
        None if rng.random_bool(0.03) => Severity::Major,
        None => Severity::Normal,
    };
    let received_by = if by_cac {
        "CAC hotline desk".to_owned()
    } else {
        format!("Service advisor desk {}", venue.dealer)
    };
    let happened_at = at.checked_sub(hours(rng, 1..72)).ok();
    Ok(Filed {
        complaint_id: venue.id.clone(),
        origin: if by_cac {
            Origin::ManufacturerCac
        } else {
            Origin::Dealer
        },
        channel: *channels.choose(rng).unwrap_or(&Channel::WalkIn),
        dealer: venue.dealer.clone(),
        region: venue.region.clone(),
        received_by: label(&received_by)?,
        customer: identity.customer.clone(),
        vehicle: identity.vehicle.clone(),
        categories: categories.to_vec(),
        severity,
        emergency,
        description: text(description)?,
        customer_request: text(request)?,
        happened_at,
    })
}

fn complaint_text(
    path: Path,
    emergency: Option<EmergencyKind>,
) -> (&'static [Category], &'static str, &'static str) {
    use Category::{
        ProductQuality, Purchase, ReceptionAttitude, RepairCost, RepairWorkmanship, SpareParts,
    };
    match (path, emergency) {
        (_, Some(EmergencyKind::VehicleFire)) => (
            &[ProductQuality],
            "Smoke from the engine bay on the expressway, then a fire",
            "Wants the cause found and the car replaced",
        ),
        (_, Some(EmergencyKind::Flood)) => (
            &[ProductQuality, SpareParts],
            "Car stalled in a flooded underpass after the rainstorm",
            "Wants it repaired under warranty and a car meanwhile",
        ),
        (_, Some(EmergencyKind::AccidentVehicle)) => (
            &[RepairWorkmanship],
            "Brakes failed two days after the brake service; rear-end collision",
            "Wants the dealer to pay for the accident",
        ),
        (_, Some(_)) => (
            &[ProductQuality, Purchase],
            "New car, 300 km: gearbox warning and loss of drive",
            "Wants a new car",
        ),
        (Path::Reception | Path::Unreachable, None) => (
            &[ReceptionAttitude, RepairWorkmanship],
            "Waited an hour in the showroom; the repaired car stood in the car park and nobody said so",
            "An apology and to be told when the car is ready",
        ),
        (Path::QualityRepair | Path::Duplicate, None) => (
            &[ProductQuality],
            "Rattle from the dashboard and the infotainment screen reboots while driving",
            "Wants it fixed for good",
        ),
        (Path::CompensationDispute, None) => (
            &[RepairCost],
            "Invoice for the 30,000 km service was twice the quote; work done that was not asked for",
            "Wants the difference refunded",
        ),
        (Path::Reopened, None) => (
            &[RepairWorkmanship],
            "Oil leak came back a week after the repair",
            "Wants it repaired properly this time",
        ),
        (Path::Waiting, None) => (
            &[SpareParts, ProductQuality],
            "Air conditioning blows warm air; dealer says the part must be ordered",
            "Wants a date for the repair",
        ),
        (Path::SlowDealer | Path::Emergency, None) => (
            &[Purchase],
            "Registration papers still missing a month after delivery",
            "Wants the papers this week",
        ),
    }
}

/// Plays `path` after the filing. `original` is the complaint a duplicate repeats.
pub(super) fn play(
    path: Path,
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    original: Option<&ComplaintId>,
) -> StepResult {
    match path {
        Path::Reception => reception(story, cast, rng),
        Path::QualityRepair => quality_repair(story, cast, rng),
        Path::Emergency => emergency(story, cast, rng),
        Path::CompensationDispute => compensation_dispute(story, cast, rng),
        Path::Unreachable => unreachable(story, cast, rng),
        Path::Reopened => reopened(story, cast, rng),
        Path::Duplicate => duplicate(story, cast, rng, original),
        Path::Waiting => waiting(story, cast, rng),
        Path::SlowDealer => slow_dealer(story, cast, rng),
    }
}

fn dealer_fault(rng: &mut ChaCha8Rng) -> RootCause {
    *[
        RootCause::DealerBrokenPromise,
        RootCause::DealerAttitude,
        RootCause::DealerPoorExplanation,
    ]
    .choose(rng)
    .unwrap_or(&RootCause::DealerBrokenPromise)
}

fn reception(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    receive(story, cast, rng)?;
    let cause = dealer_fault(rng);
    investigate(
        story,
        cast,
        rng,
        cause,
        ResponsibleParty::Dealer(Department::Service),
    )?;
    let rejected = usize::from(rng.random_bool(0.5));
    agree(story, cast, rng, 2, rejected)?;
    if rng.random_bool(0.5) {
        let decider = if rng.random_bool(0.7) {
            &cast.manager
        } else {
            &cast.supervisor
        };
        let amount = money(rng.random_range(50..300) * 100)?;
        compensate(
            story,
            cast,
            rng,
            CompensationKind::Discount,
            amount,
            decider,
            true,
        )?;
    }
    finish_satisfied(
        story,
        cast,
        rng,
        false,
        4..=5,
        "Customer satisfied; reported to the CAC",
    )?;
    if rng.random_bool(0.6) {
        prevent(
            story,
            cast,
            rng,
            Department::Service,
            "Hand over waiting customers at every shift change; tell customers when the car is ready",
        )?;
    }
    if rng.random_bool(0.3) {
        share_case(story, cast, rng)?;
    }
    Ok(())
}

fn quality_repair(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    receive(story, cast, rng)?;
    evidence(
        story,
        &cast.advisor,
        "Video of the screen rebooting, taken by the customer",
    )?;
    let (cause, responsible) = *[
        (RootCause::ProductDefect, ResponsibleParty::Manufacturer),
        (RootCause::SupplierPart, ResponsibleParty::Supplier),
        (
            RootCause::EquipmentDefect,
            ResponsibleParty::Dealer(Department::Service),
        ),
    ]
    .choose(rng)
    .unwrap_or(&(RootCause::ProductDefect, ResponsibleParty::Manufacturer));
    investigate(story, cast, rng, cause, responsible)?;
    if responsible == ResponsibleParty::Supplier {
        supplier_handling(story, cast, rng)?;
    }
    if rng.random_bool(0.3) {
        renew_plan_promise(story, cast, rng)?;
    }
    let options = rng.random_range(2..=3);
    let rejected = rng.random_range(0..options);
    agree(story, cast, rng, options, rejected)?;
    if rng.random_bool(0.6) {
        pause(story, cast, rng, WaitingFor::Parts)?;
    }
    if rng.random_bool(0.3) {
        let amount = money(rng.random_range(200..3_000) * 100)?;
        compensate(
            story,
            cast,
            rng,
            CompensationKind::PartReplacement,
            amount,
            &cast.manager,
            true,
        )?;
    }
    let new_date = rng.random_bool(0.5);
    finish_satisfied(
        story,
        cast,
        rng,
        new_date,
        3..=5,
        "Repaired; customer satisfied",
    )?;
    if rng.random_bool(0.4) {
        prevent(
            story,
            cast,
            rng,
            Department::Parts,
            "Keep two of the part in stock; supplier informed of the defect",
        )?;
    }
    Ok(())
}

/// Waits `total` in steps, reporting progress to the CAC between them.
fn progress_wait(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    total: SignedDuration,
) -> StepResult {
    let mut left = total;
    while left > SignedDuration::ZERO && story.is_live() {
        let step = hours(rng, 8..20).min(left);
        story.wall(step);
        left -= step;
        if left > SignedDuration::ZERO {
            let summary = text("Progress to the CAC: vehicle at the dealer, work continuing")?;
            story.act(&cast.advisor, ProgressReported { summary })?;
        }
    }
    Ok(())
}

fn emergency(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    report_to_cac(story, cast, rng)?;
    // Most engineers are found within the policy's two hours; some regions are short
    // of one, and the dispatch comes late.
    let dispatch_late = rng.random_bool(0.25);
    story.wall(if dispatch_late {
        minutes(rng, 130..240)
    } else {
        minutes(rng, 10..60)
    });
    let expected_arrival = story
        .now()
        .checked_add(hours(rng, 1..4))
        .unwrap_or(story.now());
    let engineer = label(&format!("Regional engineer {}", cast.engineer.id))?;
    story.act(
        &cast.cac,
        EngineerDispatched {
            engineer,
            expected_arrival,
        },
    )?;
    escalate(
        story,
        &cast.cac,
        EscalationReason::Severity,
        "Emergency: regional support",
    )?;
    receive(story, cast, rng)?;
    // Most engineers arrive by the time the owner was told; traffic makes some late.
    let arrival = if rng.random_bool(0.7) {
        expected_arrival.checked_sub(minutes(rng, 0..40))
    } else {
        expected_arrival.checked_add(minutes(rng, 15..90))
    };
    story.to(arrival.unwrap_or(expected_arrival));
    let findings = text("Inspected on site; photos and fault codes taken")?;
    story.act(&cast.engineer, OnSiteAppraisalRecorded { findings })?;
    evidence(story, &cast.engineer, "On-site photos and diagnostic log")?;
    let wait = hours(rng, 6..30);
    progress_wait(story, cast, rng, wait)?;
    let cause = *[
        RootCause::ProductDefect,
        RootCause::SupplierPart,
        RootCause::CustomerMisuse,
    ]
    .choose(rng)
    .unwrap_or(&RootCause::ProductDefect);
    let responsible = match cause {
        RootCause::CustomerMisuse => ResponsibleParty::Customer,
        RootCause::SupplierPart => ResponsibleParty::Supplier,
        _ => ResponsibleParty::Manufacturer,
    };
    story.act(
        &cast.engineer,
        complaintflow_domain::events::CauseFound {
            root_cause: cause,
            responsible,
            summary: text("Technical appraisal by the regional engineer")?,
            within_dealer_authority: false,
        },
    )?;
    let wait = hours(rng, 4..20);
    progress_wait(story, cast, rng, wait)?;
    let rental = money(rng.random_range(300..1_500) * 100)?;
    compensate(
        story,
        cast,
        rng,
        CompensationKind::RentalCar,
        rental,
        &cast.cac,
        true,
    )?;
    if cause != RootCause::CustomerMisuse && rng.random_bool(0.4) {
        escalate(
            story,
            &cast.cac,
            EscalationReason::BeyondAuthority,
            "Vehicle replacement needs the regional manager",
        )?;
        let price = money(rng.random_range(120_000..300_000) * 100)?;
        compensate(
            story,
            cast,
            rng,
            CompensationKind::VehicleReplacement,
            price,
            &cast.regional_manager,
            true,
        )?;
        // A vehicle replacement is the CAC's and the region's together (seed 002).
        co_approve(story, &cast.cac, price)?;
    }
    let options = rng.random_range(1..=2);
    agree(story, cast, rng, options, 0)?;
    let wait = hours(rng, 12..60);
    progress_wait(story, cast, rng, wait)?;
    finish_satisfied(
        story,
        cast,
        rng,
        false,
        3..=5,
        "Emergency case closed with the CAC and the region",
    )
}

fn compensation_dispute(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    receive(story, cast, rng)?;
    investigate(
        story,
        cast,
        rng,
        RootCause::DealerPoorExplanation,
        ResponsibleParty::Dealer(Department::Service),
    )?;
    let refund = money(rng.random_range(800..3_000) * 100)?;
    compensate(
        story,
        cast,
        rng,
        CompensationKind::Refund,
        refund,
        &cast.manager,
        false,
    )?;
    note(
        story,
        &cast.advisor,
        "Customer insists on the refund and asks for the manufacturer",
    )?;
    escalate(
        story,
        &cast.cac,
        EscalationReason::CustomerRequest,
        "Customer asked for the CAC",
    )?;
    let goodwill = money(rng.random_range(200..1_500) * 100)?;
    compensate(
        story,
        cast,
        rng,
        CompensationKind::Discount,
        goodwill,
        &cast.cac,
        true,
    )?;
    if rng.random_bool(0.4) {
        let subsidy = money(rng.random_range(50..200) * 100)?;
        compensate(
            story,
            cast,
            rng,
            CompensationKind::TransportSubsidy,
            subsidy,
            &cast.cac,
            true,
        )?;
    }
    agree(story, cast, rng, 2, 1)?;
    finish_satisfied(
        story,
        cast,
        rng,
        false,
        3..=4,
        "Goodwill agreed with the CAC; customer signed",
    )?;
    prevent(
        story,
        cast,
        rng,
        Department::Service,
        "Quote every job in writing before work starts",
    )
}

fn unreachable(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    receive(story, cast, rng)?;
    let cause = dealer_fault(rng);
    investigate(
        story,
        cast,
        rng,
        cause,
        ResponsibleParty::Dealer(Department::Service),
    )?;
    let options = rng.random_range(1..=2);
    agree(story, cast, rng, options, 0)?;
    carry_out(story, cast, rng, false)?;
    unanswered_calls(story, cast, rng)?;
    note(
        story,
        &cast.advisor,
        "Letter sent to the customer's address",
    )?;
    close(
        story,
        cast,
        rng,
        "Closed: customer unreachable after three call-backs",
    )
}

fn reopened(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    receive(story, cast, rng)?;
    investigate(
        story,
        cast,
        rng,
        RootCause::EquipmentDefect,
        ResponsibleParty::Dealer(Department::Service),
    )?;
    let rejected = usize::from(rng.random_bool(0.5));
    agree(story, cast, rng, 2, rejected)?;
    carry_out(story, cast, rng, false)?;
    let score = rng.random_range(1..=2);
    follow_up(story, cast, rng, score)?;
    story.business(minutes(rng, 30..300));
    let reason = text("Customer not satisfied with the repair")?;
    story.act(
        &cast.manager,
        complaintflow_domain::events::Reopened { reason },
    )?;
    report_to_cac(story, cast, rng)?;
    three_changes(story, cast, rng)?;
    escalate(
        story,
        &cast.cac,
        EscalationReason::CustomerRequest,
        "Customer asked for someone more senior",
    )?;
    agree(story, cast, rng, 2, 1)?;
    let new_date = rng.random_bool(0.3);
    finish_satisfied(
        story,
        cast,
        rng,
        new_date,
        4..=5,
        "Second repair held; customer satisfied",
    )?;
    prevent(
        story,
        cast,
        rng,
        Department::Service,
        "Road test after every oil-seal repair",
    )
}

fn duplicate(
    story: &mut Story,
    cast: &Cast,
    rng: &mut ChaCha8Rng,
    original: Option<&ComplaintId>,
) -> StepResult {
    story.business(minutes(rng, 10..120));
    let Some(target) = original else {
        return quality_repair(story, cast, rng);
    };
    note(
        story,
        &cast.advisor,
        &format!("Same customer and VIN as {target}; handled there"),
    )?;
    Ok(story.act(
        &cast.advisor,
        MergedInto {
            target: target.clone(),
        },
    )?)
}

fn waiting(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    receive(story, cast, rng)?;
    let cause = *[
        RootCause::CustomerMisunderstanding,
        RootCause::CustomerMisuse,
    ]
    .choose(rng)
    .unwrap_or(&RootCause::CustomerMisuse);
    investigate(story, cast, rng, cause, ResponsibleParty::Customer)?;
    let waiting_for = if rng.random_bool(0.7) {
        WaitingFor::Customer
    } else {
        WaitingFor::ThirdParty
    };
    pause(story, cast, rng, waiting_for)?;
    agree(story, cast, rng, 2, 1)?;
    finish_satisfied(
        story,
        cast,
        rng,
        false,
        3..=5,
        "Explained and repaired at the customer's cost, with goodwill labour",
    )
}

fn slow_dealer(story: &mut Story, cast: &Cast, rng: &mut ChaCha8Rng) -> StepResult {
    story.business(business_days(story, rng, 1..5));
    note(
        story,
        &cast.cac,
        "CAC chased the dealer: no report, no answer to the customer",
    )?;
    report_to_cac(story, cast, rng)?;
    receive(story, cast, rng)?;
    investigate(
        story,
        cast,
        rng,
        RootCause::DealerBrokenPromise,
        ResponsibleParty::Dealer(Department::Sales),
    )?;
    agree(story, cast, rng, 2, 0)?;
    finish_satisfied(
        story,
        cast,
        rng,
        false,
        3..=4,
        "Papers delivered late; apology accepted",
    )?;
    prevent(
        story,
        cast,
        rng,
        Department::Sales,
        "DCAC checks open cases every day",
    )
}
