//! The HTTP port beside gRPC: liveness, readiness, and its place in the node's life.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod support;

use std::collections::BTreeMap;

use complaintflow_log::clock::ManualClock;
use complaintflow_server::auth::TokenFile;
use support::server::TestServer;

#[tokio::test(flavor = "multi_thread")]
async fn a_serving_node_is_alive_and_ready_and_says_how_far_it_is() {
    let root = tempfile::tempdir().unwrap();
    let server = TestServer::start(
        root.path(),
        &TokenFile::default(),
        BTreeMap::new(),
        ManualClock::new("2026-03-02T01:00:00Z".parse().unwrap()),
    )
    .await;
    let base = format!("http://{}", server.http_address);

    let alive = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(alive.status(), 200);
    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 200);
    let text = ready.text().await.unwrap();
    assert!(text.starts_with("ready: log head 0"), "{text}");

    let unknown = reqwest::get(format!("{base}/no-such-page")).await.unwrap();
    assert_eq!(unknown.status(), 404);
    server.stop().await;
}
