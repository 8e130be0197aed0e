//! The quality follow-up call after a sale or a repair, end to end on a manual clock:
//! its own streams beside the complaints, checked by the engine, projected, fired by
//! the scheduler when the call is not made in time, counted, and turned into a
//! complaint when the customer is unhappy.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod support;

use complaintflow_log::LogReader;
use std::sync::atomic::{AtomicU64, Ordering};

use complaintflow_domain::follow_up::{
    Answered, BecameComplaint, CallUnanswered, Closed, FollowUpEvent, FollowUpStatus, Occasion,
    Opened,
};
use complaintflow_domain::testkit::filing;
use complaintflow_domain::values::{
    DealerCode, FollowUpId, Label, RegionCode, SatisfactionScore, Text, Vin,
};
use complaintflow_domain::{Role, Status};
use complaintflow_log::{AppendOutcome, Direction, ExpectedVersion};
use complaintflow_server::engine::{EngineError, Submission, Trusted, follow_up_stream};
use support::{World, actor, at};
use uuid::Uuid;

// 2026-11-23 is a Monday; the built-in calendar is Asia/Shanghai, 08:30-17:30.
const MONDAY_10: &str = "2026-11-23T10:00:00+08:00";
/// A car handed over on Monday at 09:30 is owed its call 27 business hours later.
const DUE: &str = "2026-11-26T09:30:00+08:00";

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

fn fresh_id() -> Uuid {
    Uuid::from_u128(
        0xf011_0000_0000_0000_0000_0000_0000_0000
            | u128::from(NEXT_ID.fetch_add(1, Ordering::Relaxed)),
    )
}

fn fid(text: &str) -> FollowUpId {
    FollowUpId::parse(text).expect("follow-up id")
}

/// A delivery of the car `testkit::filing` complains about, at SH-0042.
fn opened(id: &str, occasion: Occasion, dealer: &str) -> Opened {
    let complaint = filing("CMP-TEMPLATE", |_| {});
    Opened {
        follow_up_id: fid(id),
        occasion,
        dealer: DealerCode::parse(dealer).expect("dealer"),
        region: RegionCode::parse("EAST").expect("region"),
        customer: complaint.customer,
        vehicle: complaint.vehicle,
        delivered_at: at("2026-11-23T09:30:00+08:00"),
        reference: Some(Label::parse("RO-1").expect("label")),
    }
}

fn answered(score: u8, concern: Option<&str>) -> Answered {
    Answered {
        score: SatisfactionScore::new(score).expect("score"),
        concern: concern.map(|c| Text::parse(c).expect("text")),
    }
}

async fn submit_as(
    world: &World,
    role: Role,
    id: &str,
    event_id: Uuid,
    event: impl Into<FollowUpEvent>,
) -> Result<AppendOutcome, EngineError> {
    let submission = Submission {
        event_id,
        event: event.into(),
        occurred_at: None,
        correlation_id: None,
        causation_id: None,
    };
    world
        .engine
        .submit(
            &actor(role),
            &fid(id),
            ExpectedVersion::Any,
            &[submission],
            &Trusted,
        )
        .await
}

async fn submit(
    world: &World,
    id: &str,
    event: impl Into<FollowUpEvent>,
) -> Result<AppendOutcome, EngineError> {
    submit_as(world, Role::DealerStaff, id, fresh_id(), event).await
}

async fn refused(world: &World, id: &str, event: impl Into<FollowUpEvent>) -> &'static str {
    let head = world.store.head();
    match submit(world, id, event).await {
        Err(EngineError::FollowUpRule { violation, .. }) => {
            assert_eq!(world.store.head(), head, "a refused event writes nothing");
            violation.code()
        }
        other => panic!("expected a follow-up rule violation, got {other:?}"),
    }
}

async fn types(world: &World, id: &str) -> Vec<String> {
    let stream = follow_up_stream(&fid(id)).expect("stream");
    world
        .store
        .read_stream(&stream, 0, Direction::Forwards, 100)
        .await
        .expect("read")
        .into_iter()
        .map(|e| e.event_type)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_ups_are_called_in_time_missed_once_and_become_complaints() {
    let world = World::start(MONDAY_10).await;
    for (id, occasion) in [
        ("FU-MET", Occasion::Repair),
        ("FU-MISSED", Occasion::Sale),
        ("FU-UNHAPPY", Occasion::Repair),
    ] {
        world.ok(submit(&world, id, opened(id, occasion, "SH-0042")).await);
    }
    world.ok(submit(
        &world,
        "FU-OTHER-DEALER",
        opened("FU-OTHER-DEALER", Occasion::Sale, "HZ-0048"),
    )
    .await);
    world.projections.wait_for(world.store.head()).await;
    let due = world
        .projections
        .follow_up(&fid("FU-MET"))
        .expect("projected");
    assert_eq!(due.due_at, at(DUE));
    assert_eq!(due.status, FollowUpStatus::Open);

    // Tuesday: one customer is happy; one is not, and her answer becomes a complaint.
    world.at("2026-11-24T10:00:00+08:00").await;
    world.ok(submit(&world, "FU-MET", CallUnanswered {}).await);
    world.ok(submit(&world, "FU-MET", answered(5, None)).await);
    assert_eq!(
        refused(
            &world,
            "FU-MET",
            BecameComplaint {
                complaint_id: support::id("CMP-FU-MET")
            }
        )
        .await,
        "follow_up_complaint_needs_unhappy_answer"
    );
    world.ok(submit(&world, "FU-MET", Closed { note: None }).await);

    world.ok(submit(
        &world,
        "FU-UNHAPPY",
        answered(2, Some("A rattle from the door since the repair")),
    )
    .await);
    let became = BecameComplaint {
        complaint_id: support::id("CMP-FU-UNHAPPY"),
    };
    assert_eq!(
        refused(&world, "FU-UNHAPPY", became.clone()).await,
        "follow_up_complaint_unknown"
    );
    // A complaint about another car is not this follow-up's.
    world.ok(world
        .submit(
            Role::DealerStaff,
            "CMP-OTHER-CAR",
            filing("CMP-OTHER-CAR", |f| {
                f.vehicle.vin = Vin::parse("LSVAG2180E2100002").expect("vin");
            }),
        )
        .await);
    assert_eq!(
        refused(
            &world,
            "FU-UNHAPPY",
            BecameComplaint {
                complaint_id: support::id("CMP-OTHER-CAR")
            }
        )
        .await,
        "follow_up_complaint_not_about_this_delivery"
    );
    world.ok(world
        .submit(
            Role::DealerStaff,
            "CMP-FU-UNHAPPY",
            filing("CMP-FU-UNHAPPY", |_| {}),
        )
        .await);
    world.ok(submit(&world, "FU-UNHAPPY", became).await);
    assert_eq!(
        world.record("CMP-FU-UNHAPPY").await.state.status,
        Status::Received
    );

    // Nobody calls the third customer: on Thursday the call is recorded missed, once,
    // and months of further silence add nothing.
    // (The complaints filed on Tuesday fire their own deadlines meanwhile.)
    world.at("2026-11-26T09:29:00+08:00").await;
    assert_eq!(types(&world, "FU-MISSED").await, ["follow_up.opened"]);
    world.at("2026-11-26T09:31:00+08:00").await;
    let missed = ["follow_up.opened", "follow_up.deadline_missed"];
    assert_eq!(types(&world, "FU-MISSED").await, missed);
    assert_eq!(types(&world, "FU-OTHER-DEALER").await, missed);
    world.at("2027-03-01T10:00:00+08:00").await;
    assert_eq!(types(&world, "FU-MISSED").await, missed);
    assert_eq!(types(&world, "FU-MET").await.len(), 4);
    // The call made late is still recorded; it stays a miss.
    world.ok(submit(&world, "FU-MISSED", answered(4, None)).await);

    world.projections.wait_for(world.store.head()).await;
    let sh_0042 = |_: &str, dealer: &str| dealer == "SH-0042";
    let stats = world
        .projections
        .follow_up_statistics(&Default::default(), &sh_0042);
    assert_eq!(stats.follow_ups, 3);
    assert_eq!((stats.deadline_met, stats.deadline_missed), (2, 1));
    assert_eq!((stats.answered, stats.unhappy), (3, 1));
    assert_eq!(stats.became_complaints, 1);
    assert_eq!(stats.closed_without_complaint, 1);
    assert_eq!(stats.by_occasion.get("repair"), Some(&2));
    let became = world
        .projections
        .follow_up(&fid("FU-UNHAPPY"))
        .expect("projected");
    assert_eq!(
        became
            .complaint
            .as_ref()
            .map(complaintflow_domain::values::ComplaintId::as_str),
        Some("CMP-FU-UNHAPPY")
    );

    // A dealer's listing holds its own follow-ups only.
    let listed: Vec<_> = world
        .projections
        .list_follow_ups(&sh_0042, false, None, 10)
        .into_iter()
        .map(|s| s.id().as_str().to_owned())
        .collect();
    assert_eq!(listed, ["FU-MET", "FU-MISSED", "FU-UNHAPPY"]);
    let open: Vec<_> = world
        .projections
        .list_follow_ups(&|_, _| true, true, None, 10);
    assert_eq!(
        open.len(),
        2,
        "answered and missed ones are not finished: {open:?}"
    );

    // A restart reads the follow-ups back from the snapshot and fires nothing again.
    let before = world.store.head();
    let (temp, dir, clock) = world.stop().await;
    let world = World::open_caught_up(&dir, clock).await;
    assert_eq!(world.fire().await.events, 0);
    assert_eq!(world.store.head(), before);
    let again = world
        .projections
        .follow_up_statistics(&Default::default(), &sh_0042);
    assert_eq!(again, stats);
    drop(temp);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retried_follow_up_event_is_stored_once() {
    let world = World::start(MONDAY_10).await;
    let event_id = fresh_id();
    let first = world.ok(submit_as(
        &world,
        Role::DealerStaff,
        "FU-RETRY",
        event_id,
        opened("FU-RETRY", Occasion::Sale, "SH-0042"),
    )
    .await);
    let again = world.ok(submit_as(
        &world,
        Role::DealerStaff,
        "FU-RETRY",
        event_id,
        opened("FU-RETRY", Occasion::Sale, "SH-0042"),
    )
    .await);
    assert!(!first.replayed);
    assert!(again.replayed);
    assert_eq!(again.slots, first.slots);
    assert_eq!(types(&world, "FU-RETRY").await, ["follow_up.opened"]);
    // The projections keep a follow-up event out of the complaints' read models.
    world.projections.wait_for(world.store.head()).await;
    assert!(world.projections.complaint_ids().next().is_none());
}

mod api {
    use complaintflow_domain::ComplaintEvent;
    use complaintflow_log::clock::ManualClock;
    use complaintflow_server::api::convert::event_to_proto;
    use complaintflow_server::api::proto::complaint_service_client::ComplaintServiceClient;
    use complaintflow_server::api::proto::follow_up_service_client::FollowUpServiceClient;
    use complaintflow_server::api::proto::{self, record_follow_up_event_request::Event};
    use complaintflow_server::auth::{Role as AuthRole, TokenFile};
    use tonic::Code;
    use tonic::transport::Channel;

    use super::support::at;
    use super::support::server::{TestServer, code, filing_request, issue, rule, signed};
    use super::{Occasion, opened};

    fn open_request(id: &str, dealer: &str, region: &str) -> proto::OpenFollowUpRequest {
        let mut opened = opened(id, Occasion::Repair, dealer);
        opened.region = complaintflow_domain::values::RegionCode::parse(region).expect("region");
        let filed = super::filing("CMP-TEMPLATE", |_| {});
        let Some(proto::workflow_event::Kind::Filed(filed)) =
            event_to_proto(&ComplaintEvent::from(filed)).kind
        else {
            unreachable!("a filing converts to a filing")
        };
        proto::OpenFollowUpRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            follow_up_id: id.into(),
            occasion: proto::FollowUpOccasion::Repair.into(),
            dealer_code: dealer.into(),
            region_code: region.into(),
            customer: filed.customer,
            vehicle: filed.vehicle,
            deliver_time: Some(complaintflow_server::api::convert::timestamp_to_proto(
                opened.delivered_at,
            )),
            reference: "RO-1".into(),
        }
    }

    fn record(id: &str, event: Event) -> proto::RecordFollowUpEventRequest {
        proto::RecordFollowUpEventRequest {
            request_id: uuid::Uuid::new_v4().to_string(),
            name: format!("followUps/{id}"),
            occur_time: None,
            event: Some(event),
        }
    }

    fn get(id: &str) -> proto::GetFollowUpRequest {
        proto::GetFollowUpRequest {
            name: format!("followUps/{id}"),
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn follow_ups_over_grpc_keep_to_the_callers_scope() {
        let dir = tempfile::tempdir().unwrap();
        let mut file = TokenFile::default();
        let dealer_a = issue(&mut file, "dms-sh-0042", AuthRole::Dealer, |e| {
            e.dealers = vec!["SH-0042".into()];
        });
        let dealer_b = issue(&mut file, "dms-bj-0007", AuthRole::Dealer, |e| {
            e.dealers = vec!["BJ-0007".into()];
        });
        let cac_east = issue(&mut file, "cac-east", AuthRole::Cac, |e| {
            e.regions = vec!["EAST".into()];
        });
        let auditor = issue(&mut file, "audit-1", AuthRole::Auditor, |_| {});
        let dealers = [("SH-0042", "EAST"), ("BJ-0007", "NORTH")]
            .map(|(dealer, region)| (dealer.to_owned(), region.to_owned()))
            .into();
        let clock = ManualClock::new(at("2026-11-24T10:00:00+08:00"));
        let server = TestServer::start(dir.path(), &file, dealers, clock).await;
        let channel = Channel::from_shared(format!("http://{}", server.address))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut follow_ups = FollowUpServiceClient::new(channel.clone());
        let mut complaints = ComplaintServiceClient::new(channel);

        let request = open_request("SH-0042:FU-A", "SH-0042", "EAST");
        let first = follow_ups
            .open_follow_up(signed(&dealer_a, request.clone()))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(first.name, "followUps/SH-0042:FU-A");
        let again = follow_ups
            .open_follow_up(signed(&dealer_a, request))
            .await
            .unwrap()
            .into_inner();
        assert!(again.replayed);
        assert_eq!(again.position, first.position);
        // Another dealer's delivery, another dealer's follow-up: out of scope, and the
        // same answer whether the other dealer has opened that id or not.
        follow_ups
            .open_follow_up(signed(
                &dealer_b,
                open_request("BJ-0007:FU-B", "BJ-0007", "NORTH"),
            ))
            .await
            .unwrap();
        for id in ["BJ-0007:FU-B", "BJ-0007:FU-FRESH"] {
            let foreign = open_request(id, "BJ-0007", "NORTH");
            assert_eq!(
                code(follow_ups.open_follow_up(signed(&dealer_a, foreign)).await),
                Code::PermissionDenied,
                "{id}"
            );
        }
        // An id outside the dealer's namespace is refused before anything is looked up.
        for id in ["FU-C", "BJ-0007:FU-B"] {
            let request = open_request(id, "SH-0042", "EAST");
            assert_eq!(
                code(follow_ups.open_follow_up(signed(&dealer_a, request)).await),
                Code::InvalidArgument,
                "{id}"
            );
        }
        assert_eq!(
            code(
                follow_ups
                    .get_follow_up(signed(&dealer_b, get("SH-0042:FU-A")))
                    .await
            ),
            Code::NotFound
        );
        let answer = Event::Answered(proto::FollowUpAnswered {
            score: 2,
            concern: "A rattle from the door since the repair".into(),
        });
        assert_eq!(
            code(
                follow_ups
                    .record_follow_up_event(signed(
                        &dealer_b,
                        record("SH-0042:FU-A", answer.clone())
                    ))
                    .await
            ),
            Code::NotFound
        );
        assert_eq!(
            code(
                follow_ups
                    .record_follow_up_event(signed(
                        &auditor,
                        record("SH-0042:FU-A", answer.clone())
                    ))
                    .await
            ),
            Code::PermissionDenied
        );
        follow_ups
            .record_follow_up_event(signed(&dealer_a, record("SH-0042:FU-A", answer)))
            .await
            .unwrap();

        // The unhappy answer becomes a complaint about the same car at the same dealer.
        let became = Event::BecameComplaint(proto::FollowUpBecameComplaint {
            complaint_id: "SH-0042:CMP-FU-A".into(),
        });
        assert_eq!(
            rule(
                follow_ups
                    .record_follow_up_event(signed(
                        &dealer_a,
                        record("SH-0042:FU-A", became.clone())
                    ))
                    .await
            ),
            "follow_up_complaint_unknown"
        );
        complaints
            .file_complaint(signed(
                &dealer_a,
                filing_request("SH-0042:CMP-FU-A", "SH-0042", "EAST"),
            ))
            .await
            .unwrap();
        follow_ups
            .record_follow_up_event(signed(&dealer_a, record("SH-0042:FU-A", became.clone())))
            .await
            .unwrap();
        assert_eq!(
            rule(
                follow_ups
                    .record_follow_up_event(signed(&dealer_a, record("SH-0042:FU-A", became)))
                    .await
            ),
            "follow_up_finished"
        );
        let state = follow_ups
            .get_follow_up(signed(&auditor, get("SH-0042:FU-A")))
            .await
            .unwrap()
            .into_inner()
            .follow_up
            .expect("follow-up");
        assert_eq!(
            state.status,
            i32::from(proto::FollowUpStatus::BecameComplaint)
        );
        assert_eq!(state.complaint_id, "SH-0042:CMP-FU-A");
        assert_eq!(state.score, 2);

        let listed = |token: &str| {
            let mut client = follow_ups.clone();
            let request = signed(token, proto::ListFollowUpsRequest::default());
            async move { client.list_follow_ups(request).await.unwrap().into_inner() }
        };
        assert_eq!(listed(&cac_east).await.follow_ups.len(), 1);
        // Dealer B sees its own follow-up at most, never dealer A's.
        let theirs = listed(&dealer_b).await.follow_ups;
        assert!(
            theirs.iter().all(|f| f.dealer_code == "BJ-0007"),
            "{theirs:?}"
        );
        let stats = |token: &str| {
            let mut client = follow_ups.clone();
            let request = signed(token, proto::GetFollowUpStatisticsRequest::default());
            async move {
                client
                    .get_follow_up_statistics(request)
                    .await
                    .unwrap()
                    .into_inner()
            }
        };
        let mine = stats(&dealer_a).await;
        assert_eq!(
            (mine.follow_ups, mine.became_complaints, mine.unhappy),
            (1, 1, 1)
        );
        assert_eq!(mine.deadline_met, 1);
        assert!(stats(&dealer_b).await.follow_ups <= 1);
        server.stop().await;
    }
}
