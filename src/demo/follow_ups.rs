//! The demo's quality follow-up calls (seed 002): one for every third complaint's
//! customer, after a repair or a sale at the same dealer. Most are answered in time and
//! satisfied; some answers come late (after the engine recorded the miss), some never
//! come, some customers cannot be reached, some are unhappy but settled on the phone,
//! and some unhappy answers become the very complaint of the sample they stand beside.
//!
//! Follow-ups are appended after the complaints, their events dated in the simulated
//! weeks (the clock stands at the end, so every date is in the past). The misses are
//! recorded with the scheduler's own event ids, so a server started on the sample sees
//! them as fired; calls still owed when the sample ends are left to it.

use futures::StreamExt;
use jiff::{SignedDuration, Timestamp};
use rand::RngExt;
use rand_chacha::ChaCha8Rng;
use uuid::Uuid;

use super::steps::{hours, minutes, text};
use super::{DemoConfig, DemoError, Path, Planner, Stream, rng_for};
use complaintflow_domain::events::Filed;
use complaintflow_domain::follow_up::{
    Answered, BecameComplaint, CallUnanswered, Closed, DeadlineMissed, FollowUpEvent, Occasion,
    Opened, due_at,
};
use complaintflow_domain::values::{ActorId, FollowUpId, Label, SatisfactionScore};
use complaintflow_domain::{Actor, ComplaintEvent, Policy, Role};
use complaintflow_log::ExpectedVersion;
use complaintflow_server::engine::{Engine, EngineError, Submission, Trusted};
use complaintflow_server::timers::follow_up_firing_id;

/// One follow-up for this many complaints.
const EVERY: usize = 3;
/// Follow-ups with appends in flight at once.
const CONCURRENCY: usize = 256;
/// Namespace of the demo follow-ups' event ids.
const NAMESPACE: Uuid = Uuid::from_u128(0x9c2e_41f7_0b6d_4a58_8e13_d5a0_6f27_c4b9);

/// What the follow-ups added to the sample.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FollowUpSummary {
    pub follow_ups: usize,
    pub events: usize,
    pub missed: usize,
    pub became_complaints: usize,
}

/// One follow-up's planned history: (who, event, when).
struct FollowUpPlan {
    id: FollowUpId,
    events: Vec<(Actor, FollowUpEvent, Timestamp)>,
}

/// How a planned call goes.
enum Outcome {
    Satisfied,
    UnhappySettled,
    Late,
    Unreachable,
    NeverCalled,
}

fn plan_one(
    config: &DemoConfig,
    policy: &Policy,
    number: usize,
    path: Path,
    filed: &Filed,
    filed_at: Timestamp,
) -> Result<FollowUpPlan, DemoError> {
    let mut rng: ChaCha8Rng = rng_for(config.seed, number, Stream::FollowUp);
    let id = FollowUpId::parse(format!("{}:FU-{:07}", filed.dealer, number + 1))?;
    let advisor = Actor::new(
        ActorId::parse(format!(
            "{}.advisor.{}",
            filed.dealer.as_str().to_ascii_lowercase(),
            rng.random_range(1..=4)
        ))?,
        Role::DealerStaff,
    );
    let about_a_repair = matches!(path, Path::QualityRepair | Path::Reopened | Path::Waiting);
    let becomes_complaint = about_a_repair && rng.random_bool(0.5);
    // The complaint came out of the call: the car was handed back some days before.
    // Otherwise the delivery is the one the customer had at the dealer that day.
    let delivered_at = if becomes_complaint {
        filed_at
            .checked_sub(hours(&mut rng, 20..60))
            .unwrap_or(filed_at)
    } else {
        filed_at
    };
    let opened = Opened {
        follow_up_id: id.clone(),
        occasion: if about_a_repair || rng.random_bool(0.6) {
            Occasion::Repair
        } else {
            Occasion::Sale
        },
        dealer: filed.dealer.clone(),
        region: filed.region.clone(),
        customer: filed.customer.clone(),
        vehicle: filed.vehicle.clone(),
        delivered_at,
        reference: Some(Label::parse(format!(
            "RO-{}",
            rng.random_range(100_000..1_000_000)
        ))?),
    };
    let due = due_at(&opened, policy).unwrap_or(delivered_at);
    let mut events = vec![(advisor.clone(), opened.into(), delivered_at)];
    let score = |rng: &mut ChaCha8Rng, range| SatisfactionScore::new(rng.random_range(range));
    let in_time = |rng: &mut ChaCha8Rng| {
        let window = due.duration_since(delivered_at).as_secs().max(60);
        let share = rng.random_range(window / 10..window * 9 / 10).max(1);
        delivered_at
            .checked_add(SignedDuration::from_secs(share))
            .unwrap_or(due)
    };
    let missed = |events: &mut Vec<(Actor, FollowUpEvent, Timestamp)>| {
        events.push((Actor::engine(), DeadlineMissed { due_at: due }.into(), due));
    };
    if becomes_complaint {
        let answered_at = filed_at
            .checked_sub(minutes(&mut rng, 5..60))
            .unwrap_or(filed_at)
            .max(delivered_at);
        if answered_at > due {
            missed(&mut events);
        }
        let concern = text("Not happy with the repair; wants it looked at again")?;
        let answer = Answered {
            score: score(&mut rng, 1..=2)?,
            concern: Some(concern),
        };
        events.push((advisor.clone(), answer.into(), answered_at));
        let became = BecameComplaint {
            complaint_id: filed.complaint_id.clone(),
        };
        events.push((advisor, became.into(), filed_at.max(answered_at)));
        return Ok(FollowUpPlan { id, events });
    }
    let outcome = match rng.random_range(0..100) {
        0..55 => Outcome::Satisfied,
        55..67 => Outcome::UnhappySettled,
        67..80 => Outcome::Late,
        80..90 => Outcome::Unreachable,
        _ => Outcome::NeverCalled,
    };
    match outcome {
        Outcome::Satisfied | Outcome::UnhappySettled => {
            let at = in_time(&mut rng);
            let answer = match outcome {
                Outcome::Satisfied => Answered {
                    score: score(&mut rng, 4..=5)?,
                    concern: None,
                },
                _ => Answered {
                    score: score(&mut rng, 2..=3)?,
                    concern: Some(text("The invoice was not explained at the hand-over")?),
                },
            };
            events.push((advisor.clone(), answer.into(), at));
            let note = match outcome {
                Outcome::Satisfied => None,
                _ => Some(text("Explained on the phone; the customer accepted")?),
            };
            let later = at.checked_add(minutes(&mut rng, 5..30)).unwrap_or(at);
            events.push((advisor, Closed { note }.into(), later));
        }
        Outcome::Late => {
            missed(&mut events);
            let at = due.checked_add(hours(&mut rng, 2..48)).unwrap_or(due);
            let answer = Answered {
                score: score(&mut rng, 3..=5)?,
                concern: None,
            };
            events.push((advisor.clone(), answer.into(), at));
            let later = at.checked_add(minutes(&mut rng, 5..30)).unwrap_or(at);
            events.push((advisor, Closed { note: None }.into(), later));
        }
        Outcome::Unreachable => {
            let mut at = in_time(&mut rng);
            let attempts = policy.callbacks().max_failed_attempts;
            for _ in 0..attempts {
                events.push((advisor.clone(), CallUnanswered {}.into(), at));
                at = at.checked_add(hours(&mut rng, 3..8)).unwrap_or(at);
            }
            if at > due {
                missed(&mut events);
            }
            let note = Some(text("Unreachable after the calls; letter sent")?);
            events.push((advisor, Closed { note }.into(), at));
        }
        Outcome::NeverCalled => missed(&mut events),
    }
    // The sample ends: what comes later is left to the server's timers and people.
    events.sort_by_key(|(_, _, at)| *at);
    events.retain(|(_, _, at)| *at < config.end());
    Ok(FollowUpPlan { id, events })
}

/// Appends the sample's follow-ups (the clock stands at the end of the simulated weeks).
pub(super) async fn generate(
    engine: &Engine,
    config: &DemoConfig,
    planner: &Planner<'_>,
    filing_times: &[Timestamp],
) -> Result<FollowUpSummary, DemoError> {
    let mut plans = Vec::new();
    for (number, &filed_at) in filing_times.iter().enumerate().step_by(EVERY) {
        let plan = planner.plan(number, filed_at)?;
        let Some(ComplaintEvent::Filed(filed)) = plan.events.first().map(|e| &e.submission.event)
        else {
            continue;
        };
        plans.push(plan_one(
            config,
            engine.policy(),
            number,
            plan.path,
            filed,
            filed_at,
        )?);
    }
    let mut summary = FollowUpSummary::default();
    for plan in &plans {
        summary.follow_ups += 1;
        summary.events += plan.events.len();
        for (_, event, _) in &plan.events {
            match event {
                FollowUpEvent::DeadlineMissed(_) => summary.missed += 1,
                FollowUpEvent::BecameComplaint(_) => summary.became_complaints += 1,
                _ => {}
            }
        }
    }
    let results: Vec<Result<(), EngineError>> = futures::stream::iter(&plans)
        .map(|plan| submit(engine, config.seed, plan))
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    for result in results {
        result?;
    }
    Ok(summary)
}

async fn submit(engine: &Engine, seed: u64, plan: &FollowUpPlan) -> Result<(), EngineError> {
    for (index, (actor, event, at)) in plan.events.iter().enumerate() {
        let event_id = match event {
            FollowUpEvent::DeadlineMissed(missed) => follow_up_firing_id(&plan.id, missed.due_at),
            _ => Uuid::new_v5(&NAMESPACE, format!("{seed}/{}/{index}", plan.id).as_bytes()),
        };
        let submission = Submission {
            event_id,
            event: event.clone(),
            occurred_at: Some(*at),
            correlation_id: None,
            causation_id: None,
        };
        let expected = match index {
            0 => ExpectedVersion::NoStream,
            n => ExpectedVersion::Exact(n as u64 - 1),
        };
        engine
            .submit(actor, &plan.id, expected, &[submission], &Trusted)
            .await?;
    }
    Ok(())
}
