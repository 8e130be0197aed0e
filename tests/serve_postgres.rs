//! `serve` with the log in PostgreSQL: two nodes on one database, each with a data
//! directory of its own for its read models. What one node is told, the other answers.
//! Needs `COMPLAINTFLOW_TEST_POSTGRES` (see `scripts/postgres.sh`); skipped without it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod conformance;
mod support;
#[allow(unused_macros)]
#[macro_use]
mod store_suite;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use complaintflow_log::EventStore;
use complaintflow_log::verify::verify_log;
use complaintflow_server::api::proto::complaint_service_client::ComplaintServiceClient;
use complaintflow_server::config::Config;
use store_suite::postgres::Schema;
use support::server::{filing_request, get_request, signed};
use tokio::sync::oneshot;
use tonic::transport::Channel;

struct Node {
    address: SocketAddr,
    token: String,
    stop: oneshot::Sender<()>,
    done: tokio::task::JoinHandle<()>,
}

async fn node(
    schema: &Schema,
    data_dir: &Path,
    clock: &complaintflow_log::clock::ManualClock,
) -> Node {
    let base = store_suite::postgres::base_url().expect("a test database");
    let separator = if base.contains('?') { '&' } else { '?' };
    let config = Config {
        data_dir: data_dir.to_path_buf(),
        store_url: Some(format!(
            "{base}{separator}options=-c%20search_path%3D{}",
            schema.name
        )),
        listen: "127.0.0.1:0".parse().unwrap(),
        http_listen: None,
        metrics_listen: None,
        ..Config::default()
    };
    let (stop, stopped) = oneshot::channel::<()>();
    let (ready, listening) = oneshot::channel();
    let clock = Arc::new(clock.clone());
    let done = tokio::spawn(async move {
        complaintflow_server::node::serve_with_clock(
            config,
            clock,
            async {
                let _ = stopped.await;
            },
            |listening| {
                let _ = ready.send(listening.grpc);
            },
        )
        .await
        .expect("the node runs and stops cleanly");
    });
    let address = listening.await.expect("the node listens");
    let token = std::fs::read_to_string(data_dir.join("admin.token"))
        .unwrap()
        .trim()
        .to_owned();
    Node {
        address,
        token,
        stop,
        done,
    }
}

impl Node {
    async fn client(&self) -> ComplaintServiceClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .unwrap();
        ComplaintServiceClient::new(channel)
    }

    async fn stop(self) {
        let _ = self.stop.send(());
        self.done.await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_complaint_filed_on_one_node_is_answered_by_another() {
    let Some(schema) = Schema::create().await else {
        return;
    };
    let clock = complaintflow_log::clock::ManualClock::new(support::at("2026-03-02T09:00:00Z"));
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = node(&schema, dir_a.path(), &clock).await;
    let b = node(&schema, dir_b.path(), &clock).await;
    let c = "SH-0042:CMP-PG-0001";
    let filed = a
        .client()
        .await
        .file_complaint(signed(&a.token, filing_request(c, "SH-0042", "EAST")))
        .await
        .expect("filed through node a")
        .into_inner();
    let mut on_b = b.client().await;
    let seen = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match on_b.get_complaint(signed(&b.token, get_request(c))).await {
                Ok(found) => return found.into_inner(),
                Err(status) if status.code() == tonic::Code::NotFound => {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                Err(status) => panic!("node b: {status:?}"),
            }
        }
    })
    .await
    .expect("node b never saw the complaint node a filed");
    assert_eq!(
        seen.complaint.expect("a complaint").name,
        format!("complaints/{c}")
    );
    assert!(!dir_a.path().join("events").exists(), "no embedded log");
    a.stop().await;
    b.stop().await;

    let store = schema.store(&clock).await;
    assert!(store.head() > 0, "{filed:?}");
    assert!(verify_log(&store).await.unwrap().is_intact());
    store.close().await.unwrap();
    drop(store);
    schema.drop_schema().await;
}
