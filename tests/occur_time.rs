//! An `occur_time` far in the past is refused by name unless the request back-fills on
//! purpose: a mistyped year would otherwise make every deadline of the complaint fire at
//! once. "Now" is the server's injected clock.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod support;

use std::collections::BTreeMap;

use complaintflow_domain::ComplaintEvent;
use complaintflow_domain::events::NoteAdded;
use complaintflow_log::clock::ManualClock;
use complaintflow_server::api::convert::timestamp_to_proto;
use complaintflow_server::api::proto;
use complaintflow_server::auth::{Role as AuthRole, TokenFile};
use jiff::{SignedDuration, Timestamp};
use support::at;
use support::server::*;
use tonic::Code;
use tonic_types::StatusExt;

const MONDAY_10: &str = "2026-11-23T10:00:00+08:00";

fn days_ago(days: i64) -> prost_types::Timestamp {
    timestamp_to_proto(at(MONDAY_10) - SignedDuration::from_hours(24 * days))
}

fn refused_field(status: &tonic::Status) -> String {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    let bad = status
        .get_details_bad_request()
        .expect("BadRequest details");
    bad.field_violations[0].field.clone()
}

fn note() -> ComplaintEvent {
    ComplaintEvent::NoteAdded(NoteAdded {
        text: complaintflow_domain::testkit::text("called the customer back"),
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_occur_time_older_than_the_bound_needs_the_backfill_flag() {
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

    // Twenty-six years back: the year typed as 2000 instead of 2026.
    let mut decades_old = filing_request("SH-0042:CMP-OLD", "SH-0042", "EAST");
    decades_old.occur_time = Some(timestamp_to_proto(at("2000-11-23T10:00:00+08:00")));
    let status = client
        .file_complaint(signed(&admin, decades_old.clone()))
        .await
        .expect_err("refused");
    assert_eq!(refused_field(&status), "occur_time");
    assert!(status.message().contains("backfill"), "{status:?}");

    // Within the default bound of 366 days, a late report is fine.
    let mut late = filing_request("SH-0042:CMP-LATE", "SH-0042", "EAST");
    late.occur_time = Some(days_ago(300));
    client
        .file_complaint(signed(&admin, late))
        .await
        .expect("a late filing within the bound");

    // An append names the event whose time is too old.
    let mut old_note = append_request("SH-0042:CMP-LATE", vec![note(), note()]);
    old_note.events[1].occur_time = Some(days_ago(400));
    let status = client
        .append_events(signed(&admin, old_note))
        .await
        .expect_err("refused");
    assert_eq!(refused_field(&status), "events[1].occur_time");

    // On purpose, both go through, with the time given.
    decades_old.backfill = true;
    let filed = client
        .file_complaint(signed(&admin, decades_old))
        .await
        .expect("a back-filled filing")
        .into_inner();
    let mut old_note = append_request("SH-0042:CMP-OLD", vec![note(), note()]);
    old_note.events[0].occur_time = Some(days_ago(401));
    old_note.events[1].occur_time = Some(days_ago(400));
    old_note.backfill = true;
    client
        .append_events(signed(&admin, old_note))
        .await
        .expect("a back-filled append");
    let timeline = client
        .list_complaint_events(signed(
            &admin,
            proto::ListComplaintEventsRequest {
                parent: filed.name,
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let occurred = timeline.events[0].occur_time.expect("occur_time");
    assert_eq!(
        Timestamp::new(occurred.seconds, occurred.nanos).unwrap(),
        at("2000-11-23T10:00:00+08:00")
    );
    server.stop().await;
}
