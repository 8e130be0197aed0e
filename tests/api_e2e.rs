//! The real server on an ephemeral port, driven by the generated tonic clients: what a
//! dealer system, an auditor and a regional CAC service each do.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod support;

use std::collections::HashMap;

use complaintflow_domain::testkit::*;
use complaintflow_domain::{ComplaintEvent, Role};
use complaintflow_log::clock::ManualClock;
use complaintflow_server::api::convert::event_to_proto;
use complaintflow_server::api::proto::audit_service_client::AuditServiceClient;
use complaintflow_server::api::proto::complaint_service_client::ComplaintServiceClient;
use complaintflow_server::api::proto::subscription_service_client::SubscriptionServiceClient;
use complaintflow_server::api::proto::{self, subscribe_response::Message};
use complaintflow_server::auth::{Role as AuthRole, TokenFile};
use futures::StreamExt;
use support::at;
use support::server::{TestServer, code, filing_request, issue, signed};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_types::StatusExt;

struct Server {
    inner: TestServer,
    tokens: HashMap<&'static str, String>,
    _dir: tempfile::TempDir,
}

impl Server {
    /// A server with a token per kind of user, its clock on a Monday morning in Shanghai.
    async fn start() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut file = TokenFile::default();
        let mut tokens = HashMap::new();
        tokens.insert(
            "dealer_a",
            issue(&mut file, "dms-sh-0042", AuthRole::Dealer, |e| {
                e.dealers = vec!["SH-0042".into()];
            }),
        );
        tokens.insert(
            "manager_a",
            issue(&mut file, "sm-sh-0042", AuthRole::Dealer, |e| {
                e.dealers = vec!["SH-0042".into()];
                e.acts_as = Some(Role::ServiceManager);
            }),
        );
        tokens.insert(
            "dealer_b",
            issue(&mut file, "dms-bj-0007", AuthRole::Dealer, |e| {
                e.dealers = vec!["BJ-0007".into()];
            }),
        );
        tokens.insert(
            "cac_east",
            issue(&mut file, "cac-east", AuthRole::Cac, |e| {
                e.regions = vec!["EAST".into()];
            }),
        );
        tokens.insert(
            "auditor",
            issue(&mut file, "audit-1", AuthRole::Auditor, |_| {}),
        );
        let dealers = [("SH-0042", "EAST"), ("BJ-0007", "NORTH")]
            .map(|(dealer, region)| (dealer.to_owned(), region.to_owned()))
            .into();
        let clock = ManualClock::new(at("2026-11-23T10:00:00+08:00"));
        let inner = TestServer::start(dir.path(), &file, dealers, clock).await;
        Self {
            inner,
            tokens,
            _dir: dir,
        }
    }

    async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.inner.address))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    fn request<T>(&self, who: &str, message: T) -> Request<T> {
        signed(self.tokens.get(who).expect("known user"), message)
    }

    async fn complaints(&self) -> ComplaintServiceClient<Channel> {
        self.inner.complaints().await
    }

    async fn stop(self) {
        self.inner.stop().await;
    }
}

fn append_request(
    complaint: &str,
    expected: Option<u64>,
    events: Vec<ComplaintEvent>,
) -> proto::AppendEventsRequest {
    proto::AppendEventsRequest {
        name: format!("complaints/{complaint}"),
        request_id: uuid::Uuid::new_v4().to_string(),
        expected_version: expected,
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

fn get_request(complaint: &str) -> proto::GetComplaintRequest {
    proto::GetComplaintRequest {
        name: format!("complaints/{complaint}"),
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dealer_files_and_works_a_complaint_and_reads_it_back() {
    let server = Server::start().await;
    let mut client = server.complaints().await;
    let c = "SH-0042:CMP-E2E-1";
    let filed = client
        .file_complaint(server.request("dealer_a", filing_request(c, "SH-0042", "EAST")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        (filed.name.as_str(), filed.version, filed.replayed),
        ("complaints/SH-0042:CMP-E2E-1", 0, false)
    );

    let events: Vec<ComplaintEvent> =
        vec![apologized().into(), reported_to_cac_with_reference().into()];
    let appended = client
        .append_events(server.request("dealer_a", append_request(c, Some(0), events)))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(appended.version, 2);
    assert_eq!(appended.events.len(), 2);

    let complaint = client
        .get_complaint(server.request("dealer_a", get_request(c)))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!(complaint.version, 2);
    assert_eq!(complaint.dealer_code, "SH-0042");
    assert!(complaint.report_time.is_some());
    assert_eq!(complaint.customer.unwrap().name, "Ms Li");
    assert!(
        complaint
            .deadlines
            .iter()
            .any(|d| d.kind == i32::from(proto::DeadlineKind::Result))
    );

    let before = proto::GetComplaintRequest {
        name: format!("complaints/{c}"),
        as_of: Some(proto::get_complaint_request::AsOf::AsOfVersion(0)),
        ..Default::default()
    };
    let then = client
        .get_complaint(server.request("dealer_a", before))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap();
    assert_eq!((then.version, then.report_time), (0, None));

    let mut versions = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_complaint_events(server.request(
                "dealer_a",
                proto::ListComplaintEventsRequest {
                    parent: format!("complaints/{c}"),
                    page_size: 2,
                    page_token: token,
                    descending: true,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner();
        versions.extend(page.events.iter().map(|e| e.version));
        assert!(
            page.events
                .iter()
                .all(|e| e.actor == "dealer_staff:dms-sh-0042" && e.hash.len() == 64)
        );
        if page.next_page_token.is_empty() {
            break;
        }
        token = page.next_page_token;
    }
    assert_eq!(versions, [2, 1, 0]);

    let listed = client
        .list_complaints(server.request(
            "cac_east",
            proto::ListComplaintsRequest {
                region_code: "EAST".into(),
                // The read models follow the log a moment behind the appends.
                min_position: Some(appended.position),
                ..Default::default()
            },
        ))
        .await;
    assert_eq!(listed.unwrap().into_inner().complaints.len(), 1);
    let stats = client
        .get_statistics(server.request(
            "cac_east",
            proto::GetStatisticsRequest {
                min_position: Some(appended.position),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(stats.complaints, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dealer_never_sees_nor_touches_another_dealers_complaint() {
    let server = Server::start().await;
    let mut client = server.complaints().await;
    let c = "SH-0042:CMP-E2E-PRIVATE";
    client
        .file_complaint(server.request("dealer_a", filing_request(c, "SH-0042", "EAST")))
        .await
        .unwrap();

    assert_eq!(
        code(
            client
                .get_complaint(server.request("dealer_b", get_request(c)))
                .await
        ),
        Code::NotFound
    );
    let append = append_request(c, None, vec![apologized().into()]);
    assert_eq!(
        code(
            client
                .append_events(server.request("dealer_b", append.clone()))
                .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            client
                .append_events(server.request("auditor", append))
                .await
        ),
        Code::PermissionDenied
    );
    let timeline = proto::ListComplaintEventsRequest {
        parent: format!("complaints/{c}"),
        ..Default::default()
    };
    assert_eq!(
        code(
            client
                .list_complaint_events(server.request("dealer_b", timeline))
                .await
        ),
        Code::NotFound
    );
    let listed = client
        .list_complaints(server.request("dealer_b", proto::ListComplaintsRequest::default()))
        .await
        .unwrap();
    assert!(listed.into_inner().complaints.is_empty());
    let stats = client
        .get_statistics(server.request("dealer_b", proto::GetStatisticsRequest::default()))
        .await
        .unwrap();
    assert_eq!(stats.into_inner().complaints, 0);
    let foreign = filing_request("SH-0042:CMP-E2E-FOREIGN", "SH-0042", "EAST");
    assert_eq!(
        code(
            client
                .file_complaint(server.request("dealer_b", foreign))
                .await
        ),
        Code::PermissionDenied
    );
    let mut audit = AuditServiceClient::new(server.channel().await);
    let verify = proto::VerifyComplaintRequest {
        name: format!("complaints/{c}"),
    };
    assert_eq!(
        code(
            audit
                .verify_complaint(server.request("dealer_b", verify))
                .await
        ),
        Code::NotFound
    );
    assert_eq!(
        code(
            audit
                .verify_log(server.request("dealer_a", proto::VerifyLogRequest {}))
                .await
        ),
        Code::PermissionDenied
    );

    let anonymous = client.get_complaint(Request::new(get_request(c))).await;
    assert_eq!(code(anonymous), Code::Unauthenticated);
    let mut forged = Request::new(get_request(c));
    forged.metadata_mut().insert(
        "authorization",
        MetadataValue::from_static("Bearer cft_forged"),
    );
    assert_eq!(
        code(client.get_complaint(forged).await),
        Code::Unauthenticated
    );

    let mut subscription = SubscriptionServiceClient::new(server.channel().await)
        .subscribe(server.request("dealer_b", proto::SubscribeRequest::default()))
        .await
        .unwrap()
        .into_inner();
    // A checkpoint, or nothing: never the other dealer's event.
    if let Ok(Some(Ok(proto::SubscribeResponse {
        message: Some(Message::Event(event)),
    }))) = tokio::time::timeout(std::time::Duration::from_secs(2), subscription.next()).await
    {
        panic!("leaked {event:?}");
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn conflicts_retries_and_rules_answer_with_precise_statuses() {
    let server = Server::start().await;
    let mut client = server.complaints().await;
    let c = "SH-0042:CMP-E2E-ERRORS";
    let filing = filing_request(c, "SH-0042", "EAST");
    client
        .file_complaint(server.request("dealer_a", filing.clone()))
        .await
        .unwrap();
    let retry = client
        .file_complaint(server.request("dealer_a", filing.clone()))
        .await
        .unwrap()
        .into_inner();
    assert!(
        retry.replayed,
        "a retried filing is answered, not filed twice"
    );
    let mut other = filing_request(c, "SH-0042", "EAST");
    other.request_id = uuid::Uuid::new_v4().to_string();
    assert_eq!(
        client
            .file_complaint(server.request("dealer_a", other))
            .await
            .unwrap_err()
            .code(),
        Code::AlreadyExists
    );

    let append = append_request(c, Some(0), vec![apologized().into()]);
    let first = client
        .append_events(server.request("dealer_a", append.clone()))
        .await
        .unwrap()
        .into_inner();
    let again = client
        .append_events(server.request("dealer_a", append))
        .await
        .unwrap()
        .into_inner();
    assert!(again.replayed);
    assert_eq!(
        (again.version, again.position),
        (first.version, first.position)
    );

    let stale = append_request(c, Some(0), vec![reported_to_cac_with_reference().into()]);
    let status = client
        .append_events(server.request("dealer_a", stale))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Aborted);
    let info = status.get_details_error_info().expect("error info");
    assert_eq!(
        info.metadata.get("expected_version").map(String::as_str),
        Some("0")
    );
    assert_eq!(
        info.metadata.get("actual_version").map(String::as_str),
        Some("1")
    );

    let status = client
        .append_events(server.request(
            "dealer_a",
            append_request(c, None, vec![closed_with_summary().into()]),
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        status
            .get_details_error_info()
            .unwrap()
            .metadata
            .get("rule")
            .map(String::as_str),
        Some("close_requires_follow_up")
    );

    let mut missing = append_request(c, None, vec![apologized().into()]);
    missing.request_id.clear();
    let status = client
        .append_events(server.request("dealer_a", missing))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(
        status.get_details_bad_request().unwrap().field_violations[0].field,
        "request_id"
    );
    let mut bad_vin = filing_request("SH-0042:CMP-E2E-VIN", "SH-0042", "EAST");
    bad_vin
        .filed
        .as_mut()
        .unwrap()
        .vehicle
        .as_mut()
        .unwrap()
        .vin = "WRONG".into();
    let status = client
        .file_complaint(server.request("dealer_a", bad_vin))
        .await
        .unwrap_err();
    assert_eq!(
        status.get_details_bad_request().unwrap().field_violations[0].field,
        "filed.vehicle.vin"
    );
    let status = client
        .get_complaint(server.request(
            "dealer_a",
            proto::GetComplaintRequest {
                name: "nonsense".into(),
                ..Default::default()
            },
        ))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    let status = client
        .get_complaint(server.request("dealer_a", get_request("SH-0042:CMP-NOPE")))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::NotFound);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cac_service_follows_its_region_and_resumes_without_gap_or_duplicate() {
    let server = Server::start().await;
    let mut client = server.complaints().await;
    for i in 0..4 {
        let (dealer, region) = if i % 2 == 0 {
            ("SH-0042", "EAST")
        } else {
            ("BJ-0007", "NORTH")
        };
        let who = if i % 2 == 0 { "dealer_a" } else { "dealer_b" };
        client
            .file_complaint(server.request(
                who,
                filing_request(&format!("{dealer}:CMP-SUB-{i}"), dealer, region),
            ))
            .await
            .unwrap();
    }
    let mut subscriptions = SubscriptionServiceClient::new(server.channel().await);
    let mut stream = subscriptions
        .subscribe(server.request("cac_east", proto::SubscribeRequest::default()))
        .await
        .unwrap()
        .into_inner();
    let mut seen = Vec::new();
    while seen.len() < 2 {
        if let Some(Message::Event(event)) = stream.next().await.unwrap().unwrap().message {
            assert!(
                event.complaint_id == "SH-0042:CMP-SUB-0"
                    || event.complaint_id == "SH-0042:CMP-SUB-2",
                "{event:?}"
            );
            seen.push(event.position);
        }
    }
    drop(stream); // disconnect
    client
        .append_events(server.request(
            "dealer_a",
            append_request("SH-0042:CMP-SUB-0", None, vec![apologized().into()]),
        ))
        .await
        .unwrap();
    let resume = proto::SubscribeRequest {
        start_position: seen[1] + 1,
        ..Default::default()
    };
    let mut stream = subscriptions
        .subscribe(server.request("cac_east", resume))
        .await
        .unwrap()
        .into_inner();
    loop {
        if let Some(Message::Event(event)) = stream.next().await.unwrap().unwrap().message {
            assert!(event.position > seen[1], "no duplicate after resuming");
            assert_eq!(
                (event.complaint_id.as_str(), event.event_type.as_str()),
                ("SH-0042:CMP-SUB-0", "complaint.apologized")
            );
            break;
        }
    }
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_auditor_verifies_the_log_and_checks_a_saved_digest() {
    let server = Server::start().await;
    let mut client = server.complaints().await;
    client
        .file_complaint(server.request(
            "dealer_a",
            filing_request("SH-0042:CMP-AUDIT", "SH-0042", "EAST"),
        ))
        .await
        .unwrap();
    let mut audit = AuditServiceClient::new(server.channel().await);
    let result = audit
        .verify_log(server.request("auditor", proto::VerifyLogRequest {}))
        .await
        .unwrap()
        .into_inner()
        .result
        .unwrap();
    assert!(result.intact && result.events_checked == 1);
    let digest = audit
        .take_digest(server.request("auditor", proto::TakeDigestRequest {}))
        .await
        .unwrap()
        .into_inner()
        .digest;
    client
        .append_events(server.request(
            "dealer_a",
            append_request("SH-0042:CMP-AUDIT", None, vec![apologized().into()]),
        ))
        .await
        .unwrap();
    let check = audit
        .check_digest(server.request(
            "auditor",
            proto::CheckDigestRequest {
                digest: digest.clone(),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        check.verdict(),
        proto::check_digest_response::Verdict::Consistent
    );
    let mut forged = digest.unwrap();
    forged.head_hash = "00".repeat(32);
    let check = audit
        .check_digest(server.request(
            "auditor",
            proto::CheckDigestRequest {
                digest: Some(forged),
            },
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        check.verdict(),
        proto::check_digest_response::Verdict::HashMismatch
    );
    let verified = audit
        .verify_complaint(server.request(
            "dealer_a",
            proto::VerifyComplaintRequest {
                name: "complaints/SH-0042:CMP-AUDIT".into(),
            },
        ))
        .await
        .unwrap();
    assert!(verified.into_inner().result.unwrap().intact);
    let mut export = audit
        .export_timelines(server.request(
            "auditor",
            proto::ExportTimelinesRequest {
                complaint_ids: vec!["SH-0042:CMP-AUDIT".into()],
            },
        ))
        .await
        .unwrap()
        .into_inner();
    let mut exported = Vec::new();
    while let Some(item) = export.next().await {
        exported.push(item.unwrap().event.unwrap().event_type);
    }
    assert_eq!(exported, ["complaint.filed", "complaint.apologized"]);
    server.stop().await;
}
