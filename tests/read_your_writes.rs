//! A query that names a `min_position` answers once the node has read the log through
//! it, waiting if it must, and is refused with UNAVAILABLE and the node's position when
//! the position is not reached within the call's deadline. Several nodes on PostgreSQL
//! are in `cluster_postgres.rs`; one embedded node shows the contract.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use complaintflow_domain::ComplaintEvent;
use complaintflow_domain::events::NoteAdded;
use complaintflow_log::clock::ManualClock;
use complaintflow_server::api::proto;
use complaintflow_server::auth::{Role as AuthRole, TokenFile};
use support::at;
use support::server::*;
use tonic::{Code, Status};
use tonic_types::StatusExt;

const MONDAY_10: &str = "2026-11-23T10:00:00+08:00";

/// The call's deadline for the refusals: generous, and far below the server's maximum.
const DEADLINE: Duration = Duration::from_millis(600);

fn note() -> ComplaintEvent {
    ComplaintEvent::NoteAdded(NoteAdded {
        text: complaintflow_domain::testkit::text("called the customer back"),
    })
}

fn with_deadline<T>(token: &str, message: T) -> tonic::Request<T> {
    let mut request = signed(token, message);
    request.set_timeout(DEADLINE);
    request
}

/// The node's `next_position` from a refusal, after checking it is the documented one.
fn not_reached(status: &Status, wanted: u64) -> u64 {
    assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    let info = status.get_details_error_info().expect("error info");
    assert_eq!(info.reason, "POSITION_NOT_REACHED");
    assert_eq!(info.metadata["min_position"], wanted.to_string());
    info.metadata["next_position"].parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_query_waits_for_its_position_and_is_refused_past_its_deadline() {
    let root = tempfile::tempdir().unwrap();
    let mut tokens = TokenFile::default();
    let admin = issue(&mut tokens, "root", AuthRole::Admin, |_| {});
    let server = TestServer::start(
        root.path(),
        &tokens,
        BTreeMap::new(),
        ManualClock::new(at(MONDAY_10)),
    )
    .await;
    let mut client = server.complaints().await;
    let c = "SH-0042:CMP-RYW";
    let filed = client
        .file_complaint(signed(&admin, filing_request(c, "SH-0042", "EAST")))
        .await
        .unwrap()
        .into_inner();
    let name = format!("complaints/{c}");

    // Through the position an append returned: every query answers, with the write.
    let reached = Some(filed.position);
    let got = client
        .get_complaint(with_deadline(
            &admin,
            proto::GetComplaintRequest {
                name: name.clone(),
                min_position: reached,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(got.complaint.unwrap().version, filed.version);
    let listed = client
        .list_complaints(with_deadline(
            &admin,
            proto::ListComplaintsRequest {
                min_position: reached,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(listed.complaints.len(), 1);
    let timeline = client
        .list_complaint_events(with_deadline(
            &admin,
            proto::ListComplaintEventsRequest {
                parent: name.clone(),
                min_position: reached,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(timeline.events.len(), 1);
    let stats = client
        .get_statistics(with_deadline(
            &admin,
            proto::GetStatisticsRequest {
                min_position: reached,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.complaints, 1);

    // A position the log has not reached: each query is refused once its deadline is
    // near, with how far this node has read.
    let ahead = filed.position + 1000;
    let next = filed.position + 1;
    let far = Some(ahead);
    let refusals = [
        client
            .get_complaint(with_deadline(
                &admin,
                proto::GetComplaintRequest {
                    name: name.clone(),
                    min_position: far,
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err(),
        client
            .list_complaints(with_deadline(
                &admin,
                proto::ListComplaintsRequest {
                    min_position: far,
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err(),
        client
            .list_complaint_events(with_deadline(
                &admin,
                proto::ListComplaintEventsRequest {
                    parent: name.clone(),
                    min_position: far,
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err(),
        client
            .get_statistics(with_deadline(
                &admin,
                proto::GetStatisticsRequest {
                    min_position: far,
                    ..Default::default()
                },
            ))
            .await
            .unwrap_err(),
    ];
    for status in &refusals {
        assert_eq!(not_reached(status, ahead), next);
    }

    // A query for the position the next write will get waits for it, and answers with it.
    let waiting = tokio::spawn({
        let mut client = server.complaints().await;
        let (admin, name) = (admin.clone(), name.clone());
        async move {
            let mut request = signed(
                &admin,
                proto::ListComplaintEventsRequest {
                    parent: name,
                    min_position: Some(next),
                    ..Default::default()
                },
            );
            request.set_timeout(Duration::from_secs(60));
            client.list_complaint_events(request).await
        }
    });
    // Long enough for an answer that did not wait to have come back.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "the query waits for its position");
    client
        .append_events(signed(&admin, append_request(c, vec![note()])))
        .await
        .unwrap();
    let timeline = waiting.await.unwrap().unwrap().into_inner();
    assert_eq!(timeline.events.len(), 2);

    server.stop().await;
}
