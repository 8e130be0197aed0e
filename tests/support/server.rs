//! The real server, in this process, on an ephemeral port and a manual clock, with a
//! token file the test can rewrite and a data directory the test may fill beforehand.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use complaintflow_domain::ComplaintEvent;
use complaintflow_domain::testkit::filing;
use complaintflow_domain::values::{DealerCode, RegionCode};
use complaintflow_log::clock::ManualClock;
use complaintflow_server::api::convert::event_to_proto;
use complaintflow_server::api::proto;
use complaintflow_server::api::proto::complaint_service_client::ComplaintServiceClient;
use complaintflow_server::auth::{Role, TokenEntry, TokenFile};
use complaintflow_server::config::Config;
use complaintflow_server::node::Listening;
use tokio::sync::oneshot;
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request, Status};
use tonic_types::StatusExt;

pub(crate) struct TestServer {
    pub address: SocketAddr,
    /// The HTTP port: the console, `/healthz`, `/readyz`.
    pub http_address: SocketAddr,
    pub clock: ManualClock,
    pub token_file: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

/// Adds a token to `file` and returns it.
pub(crate) fn issue(
    file: &mut TokenFile,
    identity: &str,
    role: Role,
    customise: impl FnOnce(&mut TokenEntry),
) -> String {
    let (mut entry, token) = TokenEntry::issue(identity, role);
    customise(&mut entry);
    file.tokens.push(entry);
    token
}

pub(crate) fn write_tokens(path: &Path, file: &TokenFile) {
    std::fs::write(path, toml::to_string(file).expect("token file")).expect("write tokens");
}

impl TestServer {
    /// Serves `root/data` with the tokens of `tokens` (written to `root/tokens.toml`) and
    /// the dealer registry `dealers`.
    pub(crate) async fn start(
        root: &Path,
        tokens: &TokenFile,
        dealers: BTreeMap<String, String>,
        clock: ManualClock,
    ) -> Self {
        Self::start_with(root, tokens, dealers, clock, |_| {}).await
    }

    /// As `start`, with the rest of the config set by `customise`.
    pub(crate) async fn start_with(
        root: &Path,
        tokens: &TokenFile,
        dealers: BTreeMap<String, String>,
        clock: ManualClock,
        customise: impl FnOnce(&mut Config),
    ) -> Self {
        let token_file = root.join("tokens.toml");
        write_tokens(&token_file, tokens);
        let mut config = Config {
            data_dir: root.join("data"),
            listen: "127.0.0.1:0".parse().unwrap(),
            http_listen: Some("127.0.0.1:0".parse().unwrap()),
            metrics_listen: None,
            tokens: Some(token_file.clone()),
            dealers,
            ..Config::default()
        };
        customise(&mut config);
        let (stop, stopped) = oneshot::channel::<()>();
        let (ready, listening) = oneshot::channel();
        let server_clock = Arc::new(clock.clone());
        let done = tokio::spawn(async move {
            complaintflow_server::node::serve_with_clock(
                config,
                server_clock,
                async {
                    let _ = stopped.await;
                },
                |address| {
                    let _ = ready.send(address);
                },
            )
            .await
            .expect("server runs and stops cleanly");
        });
        let listening: Listening = listening.await.expect("server listening");
        Self {
            address: listening.grpc,
            http_address: listening.http.expect("HTTP is on"),
            clock,
            token_file,
            stop: Some(stop),
            done,
        }
    }

    pub(crate) async fn complaints(&self) -> ComplaintServiceClient<Channel> {
        let channel = Channel::from_shared(format!("http://{}", self.address))
            .unwrap()
            .connect()
            .await
            .unwrap();
        ComplaintServiceClient::new(channel)
    }

    pub(crate) async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        self.done.await.unwrap();
    }
}

/// `message` as `token` sends it.
pub(crate) fn signed<T>(token: &str, message: T) -> Request<T> {
    let mut request = Request::new(message);
    request.metadata_mut().insert(
        "authorization",
        MetadataValue::try_from(format!("Bearer {token}")).unwrap(),
    );
    request
}

/// The status code of a call that must fail.
pub(crate) fn code<T: std::fmt::Debug>(result: Result<tonic::Response<T>, Status>) -> Code {
    result.expect_err("the call must be refused").code()
}

/// The workflow rule a refusal names.
pub(crate) fn rule<T: std::fmt::Debug>(result: Result<tonic::Response<T>, Status>) -> String {
    let status = result.expect_err("the call must be refused");
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    let info = status.get_details_error_info().expect("error info");
    info.metadata.get("rule").cloned().expect("a rule name")
}

pub(crate) fn filing_request(
    complaint: &str,
    dealer: &str,
    region: &str,
) -> proto::FileComplaintRequest {
    filing_request_with(complaint, |f| {
        f.dealer = DealerCode::parse(dealer).unwrap();
        f.region = RegionCode::parse(region).unwrap();
    })
}

/// A filing request for `testkit::filing(complaint, customise)`.
pub(crate) fn filing_request_with(
    complaint: &str,
    customise: impl FnOnce(&mut complaintflow_domain::events::Filed),
) -> proto::FileComplaintRequest {
    let filed = filing(complaint, customise);
    let Some(proto::workflow_event::Kind::Filed(filed)) =
        event_to_proto(&ComplaintEvent::from(filed)).kind
    else {
        unreachable!("a filing converts to a filing")
    };
    proto::FileComplaintRequest {
        request_id: uuid::Uuid::new_v4().to_string(),
        complaint_id: complaint.into(),
        filed: Some(filed),
        ..Default::default()
    }
}

pub(crate) fn append_request(
    complaint: &str,
    events: Vec<ComplaintEvent>,
) -> proto::AppendEventsRequest {
    proto::AppendEventsRequest {
        name: format!("complaints/{complaint}"),
        request_id: uuid::Uuid::new_v4().to_string(),
        expected_version: None,
        events: events
            .iter()
            .map(|event| proto::EventSubmission {
                event: Some(event_to_proto(event)),
                ..Default::default()
            })
            .collect(),
        backfill: false,
    }
}

pub(crate) fn get_request(complaint: &str) -> proto::GetComplaintRequest {
    proto::GetComplaintRequest {
        name: format!("complaints/{complaint}"),
        as_of: None,
        min_position: None,
    }
}
