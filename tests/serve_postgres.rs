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

use complaintflow_log::LogReader;
use complaintflow_server::node::DataDir;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

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
    let token = std::fs::read_to_string(DataDir::new(data_dir).admin_token())
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
    assert!(
        !DataDir::new(dir_a.path()).events().exists(),
        "no embedded log"
    );
    a.stop().await;
    b.stop().await;

    let store = schema.store(&clock).await;
    assert!(store.head() > 0, "{filed:?}");
    assert!(verify_log(&store).await.unwrap().is_intact());
    store.close().await.unwrap();
    drop(store);
    schema.drop_schema().await;
}

/// Runs the binary; its trimmed stdout, or the test fails with everything it said.
fn ok(args: &[&str]) -> String {
    let output = support::cli::run(args);
    assert!(
        output.status.success(),
        "{args:?}: {}",
        support::cli::text(&output)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_owned()
}

/// Two schemas of the test database, with the runtime that made them (none without
/// `COMPLAINTFLOW_TEST_POSTGRES`).
fn two_schemas() -> Option<(tokio::runtime::Runtime, Schema, Schema)> {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let first = runtime.block_on(Schema::create())?;
    let second = runtime.block_on(Schema::create()).unwrap();
    Some((runtime, first, second))
}

/// An embedded deployment moves to PostgreSQL and back (issue 14, backup, restore and
/// copy): every step keeps the log verbatim, so the digest never changes, and a store
/// that already holds events is never written into.
#[test]
fn a_log_moves_between_sled_and_postgres_with_the_same_digest() {
    use support::cli::{run, text};

    let Some((_runtime, restored, copied)) = two_schemas() else {
        return;
    };
    let (restored_url, copied_url) = (restored.url("restore"), copied.url("copy"));
    let tmp = tempfile::tempdir().unwrap();
    let path = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    let sled = path("sled");
    ok(&["demo", "--data-dir", &sled, "--complaints", "30"]);
    let digest = ok(&["digest", "--data-dir", &sled]);
    let digest_of = |url: &str| ok(&["digest", "--data-dir", &path("unused"), "--store", url]);

    let archive = path("log.cfarc");
    ok(&["backup", "--data-dir", &sled, "--out", &archive]);
    let node = path("node");
    let restore = [
        "restore",
        "--from",
        &archive,
        "--data-dir",
        &node,
        "--store",
        &restored_url,
    ];
    ok(&restore);
    assert_eq!(digest_of(&restored_url), digest);
    ok(&["copy", "--from", &restored_url, "--to", &path("back")]);
    assert_eq!(ok(&["digest", "--data-dir", &path("back")]), digest);
    ok(&[
        "copy",
        "--from",
        &format!("sled:{sled}"),
        "--to",
        &copied_url,
    ]);
    assert_eq!(digest_of(&copied_url), digest);
    // A backup of the database is the same archive, byte for byte.
    let again = path("again.cfarc");
    ok(&[
        "backup",
        "--data-dir",
        &path("unused"),
        "--store",
        &copied_url,
        "--out",
        &again,
    ]);
    assert_eq!(
        std::fs::read(&archive).unwrap(),
        std::fs::read(&again).unwrap()
    );

    for refused in [
        run(&restore),
        run(&["copy", "--from", &sled, "--to", &copied_url]),
    ] {
        assert!(!refused.status.success(), "{}", text(&refused));
        assert!(
            text(&refused).contains("already holds"),
            "{}",
            text(&refused)
        );
        assert!(
            !text(&refused).contains("postgres://"),
            "no URL in messages"
        );
    }
    assert_eq!(digest_of(&copied_url), digest);
}

/// Every command that writes or rebuilds takes `--store` as `serve` does: the demo fills
/// a database as it fills a data directory (the same timelines), `rebuild` builds a
/// node's read models from the database, `import` back-fills into it, `export` reads it,
/// and `--accept-log-loss`, which only the embedded log knows, is refused with a database.
#[test]
fn demo_rebuild_and_import_work_on_a_database() {
    use support::cli::{run, text};

    let Some((_runtime, demo, imported)) = two_schemas() else {
        return;
    };
    let (demo_url, imported_url) = (demo.url("demo"), imported.url("import"));
    let tmp = tempfile::tempdir().unwrap();
    let path = |name: &str| tmp.path().join(name).to_str().unwrap().to_owned();
    let node = path("node");
    let with_store = |url: &str, args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(["--data-dir", &node, "--store", url]);
        all.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>()
    };
    let ok_store = |url: &str, args: &[&str]| {
        let all = with_store(url, args);
        ok(&all.iter().map(String::as_str).collect::<Vec<_>>())
    };

    ok(&["demo", "--data-dir", &path("sled"), "--complaints", "25"]);
    let printed = ok_store(&demo_url, &["demo", "--complaints", "25"]);
    // The database is named without the URL's options (nor a password, were there one).
    assert!(!printed.contains(&demo_url), "{printed}");
    // The demo files complaints side by side, so the log's order varies from run to run;
    // each complaint's timeline does not.
    let timelines = |export: String| -> Vec<serde_json::Value> {
        export
            .lines()
            .map(|line| {
                let mut event: serde_json::Value = serde_json::from_str(line).unwrap();
                let fields = event.as_object_mut().unwrap();
                fields.remove("position").unwrap();
                fields.remove("hash").unwrap();
                event
            })
            .collect()
    };
    assert_eq!(
        timelines(ok_store(&demo_url, &["export"])),
        timelines(ok(&["export", "--data-dir", &path("sled")])),
        "the same demo on either backend"
    );
    let again = run(&with_store(&demo_url, &["demo", "--complaints", "1"])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(!again.status.success());
    assert!(text(&again).contains("already holds"), "{}", text(&again));
    assert!(!text(&again).contains(&demo_url), "{}", text(&again));

    let rebuilt = ok_store(&demo_url, &["rebuild"]);
    assert!(
        rebuilt.starts_with("rebuilt projections from "),
        "{rebuilt}"
    );
    assert!(DataDir::new(Path::new(&node)).projections().exists());

    // An export is no restore (the engine's own events cannot be submitted), so its
    // import into another database stops at the first of them, saying what went in.
    let file = path("timelines.jsonl");
    ok_store(&demo_url, &["export", "--output", &file]);
    let import = || {
        let output = run(&with_store(&imported_url, &["import", &file])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>());
        assert!(!output.status.success());
        text(&output)
    };
    let first = import();
    assert!(first.contains("went in and stay"), "{first}");
    assert!(!first.contains(&imported_url), "{first}");
    assert_eq!(import(), first, "a second run stops at the same line");
    // What a dealer system back-fills, its filings, goes in, and again as a replay.
    let filings = path("filings.jsonl");
    let exported = std::fs::read_to_string(&file).unwrap();
    let filed: Vec<&str> = exported
        .lines()
        .filter(|line| line.contains(r#""event_type":"complaint.filed""#))
        .collect();
    assert_eq!(filed.len(), 25);
    std::fs::write(&filings, filed.join("\n")).unwrap();
    assert_eq!(
        ok_store(&imported_url, &["import", &filings]),
        "imported 25 events (0 already present)"
    );
    assert_eq!(
        ok_store(&imported_url, &["import", &filings]),
        "imported 0 events (25 already present)"
    );
    assert_eq!(
        ok_store(&imported_url, &["verify"]),
        "intact: 25 events verified"
    );

    let refused = run(&with_store(&demo_url, &["serve", "--accept-log-loss"])
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>());
    assert!(!refused.status.success());
    assert!(
        text(&refused).contains("--accept-log-loss applies to the embedded log only"),
        "{}",
        text(&refused)
    );
}
