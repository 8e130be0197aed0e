//! The writer's failure is a typed error: an append refused because the writer stopped
//! says why, keeps its cause, and reaches clients with the gRPC code that cause calls for.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod conformance;

use complaintflow_log::LogReader;
use std::path::Path;

use complaintflow_log::{EventStore, ExpectedVersion, LogLoss, StoreError, WriterFailure};
use complaintflow_server::api::status::ApiError;
use complaintflow_store_sled::{SledOptions, SledStore};
use conformance::{events, stream};
use tonic::Code;

fn open(dir: &Path) -> SledStore {
    SledStore::open(dir, SledOptions::default()).expect("open store")
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// A log that lost acknowledged events: the directory as it was after three events,
/// with the record of how far the log reached taken after six.
async fn log_short_of_its_record(root: &Path) -> std::path::PathBuf {
    let (whole, short) = (root.join("whole"), root.join("short"));
    let store = open(&whole);
    store
        .append(&stream("C-1"), ExpectedVersion::NoStream, events(3))
        .await
        .unwrap();
    store.close().await.unwrap();
    drop(store);
    copy_dir(&whole, &short);
    let store = open(&whole);
    store
        .append(&stream("C-1"), ExpectedVersion::Exact(2), events(3))
        .await
        .unwrap();
    store.close().await.unwrap();
    drop(store);
    std::fs::copy(whole.join("acknowledged"), short.join("acknowledged")).unwrap();
    short
}

#[tokio::test]
async fn appends_to_a_log_that_lost_events_are_refused_with_the_loss_as_data_loss() {
    let root = tempfile::tempdir().unwrap();
    let store = open(&log_short_of_its_record(root.path()).await);
    let err = store
        .append(&stream("C-2"), ExpectedVersion::NoStream, events(1))
        .await
        .unwrap_err();
    let StoreError::WriterStopped(failure) = &err else {
        panic!("a typed writer failure, not {err:?}");
    };
    assert!(
        matches!(
            **failure,
            WriterFailure::LogLoss(LogLoss::Truncated {
                found: 3,
                acknowledged: 6
            })
        ),
        "{failure:?}"
    );
    assert!(
        err.to_string().contains("positions 3..5 are missing"),
        "{err}"
    );
    let status = tonic::Status::from(ApiError::from(err));
    assert_eq!(status.code(), Code::DataLoss, "{status:?}");
    assert_eq!(store.head(), 3, "nothing was written");
}

#[test]
fn each_writer_failure_maps_to_the_code_its_cause_calls_for() {
    let io = || std::io::Error::other("the disk went away");
    for (failure, code) in [
        (WriterFailure::Sync(io()), Code::Unavailable),
        (WriterFailure::RecordAcknowledged(io()), Code::Unavailable),
        (WriterFailure::Apply(Box::new(io())), Code::Unavailable),
        (WriterFailure::Flush(Box::new(io())), Code::Unavailable),
        (WriterFailure::FlusherStart(io()), Code::Internal),
        (WriterFailure::FlusherStopped, Code::Internal),
        (
            WriterFailure::TailUnreadable(Box::new(StoreError::Corrupt {
                location: "position 7".into(),
                reason: "bad".into(),
            })),
            Code::DataLoss,
        ),
    ] {
        let err = StoreError::WriterStopped(std::sync::Arc::new(failure));
        // The cause stays reachable for logs and callers that look.
        assert!(std::error::Error::source(&err).is_some());
        let status = tonic::Status::from(ApiError::from(err));
        assert_eq!(status.code(), code, "{status:?}");
    }
}
