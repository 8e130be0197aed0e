//! JSON over HTTP, driven with a plain HTTP client as a dealer system would: the gRPC
//! API's methods through their `google.api.http` bindings, the protobuf JSON mapping of
//! the same messages, the same rules, idempotency, auth and limits, and errors as
//! `google.rpc.Status` JSON under AIP-193's HTTP statuses.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod support;

use std::collections::BTreeMap;

use complaintflow_log::clock::ManualClock;
use complaintflow_server::auth::{Role as AuthRole, TokenFile};
use jiff::SignedDuration;
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use support::NowExt;
use support::server::*;

const MONDAY_10: &str = "2026-11-23T10:00:00+08:00";

struct Tokens {
    file: TokenFile,
    dealer_a: String,
    dealer_b: String,
    auditor: String,
}

fn tokens() -> Tokens {
    let mut file = TokenFile::default();
    let dealer_a = issue(&mut file, "dms-sh-0042", AuthRole::Dealer, |e| {
        e.dealers = vec!["SH-0042".into()];
    });
    let dealer_b = issue(&mut file, "dms-bj-0007", AuthRole::Dealer, |e| {
        e.dealers = vec!["BJ-0007".into()];
    });
    let auditor = issue(&mut file, "audit-1", AuthRole::Auditor, |_| {});
    Tokens {
        file,
        dealer_a,
        dealer_b,
        auditor,
    }
}

async fn start(root: &std::path::Path, tokens: &Tokens) -> TestServer {
    let registry = [("SH-0042", "EAST"), ("BJ-0007", "NORTH")]
        .map(|(d, r)| (d.to_owned(), r.to_owned()))
        .into();
    TestServer::start(
        root,
        &tokens.file,
        registry,
        ManualClock::new(MONDAY_10.parse().unwrap()),
    )
    .await
}

/// The seed-004 complaint: a customer left waiting in the showroom.
fn filing(request_id: &str, complaint_id: &str, dealer: &str, region: &str) -> Value {
    json!({
        "requestId": request_id,
        "complaintId": complaint_id,
        "filed": {
            "origin": "ORIGIN_DEALER",
            "channel": "CHANNEL_WALK_IN",
            "dealerCode": dealer,
            "regionCode": region,
            "receivedBy": "Service advisor Wang",
            "customer": { "name": "Ms Li", "phone": "+86 138 0013 8000" },
            "vehicle": {
                "vin": "LSVAG2180E2100001",
                "plate": "沪A12345",
                "model": "Sedan 1.6",
                "mileageKm": 23500
            },
            "categories": ["CATEGORY_RECEPTION_ATTITUDE"],
            "severity": "SEVERITY_NORMAL",
            "description": "Waited an hour in the showroom; the repaired car stood in the car park and nobody told her.",
            "customerRequest": "An apology, and to be told when the car is ready."
        }
    })
}

fn apology_and_report(request_id: &str, expected_version: &str) -> Value {
    json!({
        "requestId": request_id,
        "expectedVersion": expected_version,
        "events": [
            { "event": { "apologized": { "note": "Apologized in person" } } },
            { "event": { "reportedToCac": { "cacReference": "CAC-118" } } }
        ]
    })
}

struct Api {
    client: Client,
    base: String,
}

impl Api {
    fn new(server: &TestServer) -> Self {
        Self {
            client: Client::new(),
            base: format!("http://{}", server.http_address),
        }
    }

    async fn send(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (StatusCode, reqwest::header::HeaderMap, Value) {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(body);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text)
            .unwrap_or_else(|err| panic!("{path} answered {status} with no JSON ({err}): {text}"));
        (status, headers, json)
    }

    async fn get(&self, path: &str, token: &str) -> (StatusCode, Value) {
        let (status, _, json) = self.send(Method::GET, path, Some(token), None).await;
        (status, json)
    }

    async fn post(&self, path: &str, token: &str, body: &Value) -> (StatusCode, Value) {
        let (status, _, json) = self
            .send(
                Method::POST,
                path,
                Some(token),
                Some(serde_json::to_vec(body).unwrap()),
            )
            .await;
        (status, json)
    }

    /// Waits until the read models have caught up with the log, as `/readyz` reports
    /// them: lists and statistics read the read models, which follow the log.
    async fn settled(&self) {
        for _ in 0..1000 {
            let text = reqwest::get(format!("{}/readyz", self.base))
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            let positions: Vec<&str> = text
                .trim()
                .split([' ', ','])
                .filter(|word| word.chars().all(|c| c.is_ascii_digit()) && !word.is_empty())
                .collect();
            if positions.len() == 2 && positions[0] == positions[1] {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        panic!("the read models did not catch up with the log");
    }

    async fn events(&self, complaint: &str, token: &str) -> Vec<Value> {
        let (status, page) = self
            .get(&format!("/v1/complaints/{complaint}/events"), token)
            .await;
        assert_eq!(status, StatusCode::OK, "{page}");
        page["events"].as_array().unwrap().clone()
    }
}

/// The `@type`d detail of an error, by its short type name.
fn detail<'a>(error: &'a Value, type_name: &str) -> &'a Value {
    let wanted = format!("type.googleapis.com/google.rpc.{type_name}");
    error["details"]
        .as_array()
        .unwrap_or_else(|| panic!("no details: {error}"))
        .iter()
        .find(|d| d["@type"] == wanted.as_str())
        .unwrap_or_else(|| panic!("no {type_name} in {error}"))
}

fn uuid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dealer_system_files_appends_and_reads_over_json() {
    let root = tempfile::tempdir().unwrap();
    let tokens = tokens();
    let server = start(root.path(), &tokens).await;
    let api = Api::new(&server);
    let dealer = tokens.dealer_a.as_str();

    let request_id = uuid();
    let body = filing(&request_id, "SH-0042:CMP-J-1", "SH-0042", "EAST");
    let (status, filed) = api.post("/v1/complaints", dealer, &body).await;
    assert_eq!(status, StatusCode::OK, "{filed}");
    assert_eq!(filed["name"], "complaints/SH-0042:CMP-J-1");
    assert_eq!(filed["complaintId"], "SH-0042:CMP-J-1");
    // Every field is written, defaults included, 64-bit integers as strings.
    assert_eq!(filed["version"], "0");
    assert_eq!(filed["replayed"], false);
    let (status, again) = api.post("/v1/complaints", dealer, &body).await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again["replayed"], true);
    assert_eq!(again["position"], filed["position"]);
    let filed_at = server.clock.now_ts();

    server.clock.advance(SignedDuration::from_hours(1));
    let append = apology_and_report(&uuid(), "0");
    let path = "/v1/complaints/SH-0042:CMP-J-1:appendEvents";
    let (status, appended) = api.post(path, dealer, &append).await;
    assert_eq!(status, StatusCode::OK, "{appended}");
    assert_eq!(appended["version"], "2");
    assert_eq!(appended["replayed"], false);
    assert_eq!(appended["events"].as_array().unwrap().len(), 2);
    // A retry is a replay: the same answer, nothing written twice.
    let (status, replayed) = api.post(path, dealer, &append).await;
    assert_eq!(status, StatusCode::OK, "{replayed}");
    assert_eq!(replayed["replayed"], true);
    assert_eq!(replayed["events"], appended["events"]);
    let timeline = api.events("SH-0042:CMP-J-1", dealer).await;
    let types: Vec<&str> = timeline
        .iter()
        .map(|e| e["eventType"].as_str().unwrap())
        .collect();
    assert_eq!(types.len(), 3, "{types:?}");
    assert_eq!(
        timeline[1]["event"]["apologized"]["note"],
        "Apologized in person"
    );
    assert_eq!(timeline[0]["actor"], "dealer_staff:dms-sh-0042");
    assert!(timeline[2]["hash"].as_str().unwrap().len() >= 32);

    // Now, as of a version, as of a time.
    let (status, now) = api.get("/v1/complaints/SH-0042:CMP-J-1", dealer).await;
    assert_eq!(status, StatusCode::OK, "{now}");
    assert_eq!(now["complaint"]["version"], "2");
    assert_eq!(now["complaint"]["dealerCode"], "SH-0042");
    assert!(
        now["complaint"]["status"]
            .as_str()
            .unwrap()
            .starts_with("STATUS_")
    );
    let (status, then) = api
        .get("/v1/complaints/SH-0042:CMP-J-1?asOfVersion=0", dealer)
        .await;
    assert_eq!(status, StatusCode::OK, "{then}");
    assert_eq!(then["complaint"]["version"], "0");
    let half_hour_later = filed_at + SignedDuration::from_mins(30);
    let (status, then) = api
        .get(
            &format!("/v1/complaints/SH-0042:CMP-J-1?as_of_time={half_hour_later}"),
            dealer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{then}");
    assert_eq!(then["complaint"]["version"], "0");

    // A second complaint, then lists with filters and page tokens.
    let (status, _) = api
        .post(
            "/v1/complaints",
            dealer,
            &filing(&uuid(), "SH-0042:CMP-J-2", "SH-0042", "EAST"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    api.settled().await;
    let (status, first) = api
        .get("/v1/complaints?dealerCode=SH-0042&pageSize=1", dealer)
        .await;
    assert_eq!(status, StatusCode::OK, "{first}");
    assert_eq!(first["complaints"].as_array().unwrap().len(), 1);
    let token = first["nextPageToken"].as_str().unwrap();
    assert!(!token.is_empty());
    let (status, second) = api
        .get(
            &format!("/v1/complaints?dealerCode=SH-0042&pageSize=1&pageToken={token}"),
            dealer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{second}");
    let ids: Vec<&Value> = [&first, &second]
        .iter()
        .map(|page| &page["complaints"][0]["complaintId"])
        .collect();
    assert!(ids.contains(&&json!("SH-0042:CMP-J-1")) && ids.contains(&&json!("SH-0042:CMP-J-2")));
    let (_, filtered) = api
        .get(
            "/v1/complaints?status=STATUS_RECEIVED&category=CATEGORY_PRODUCT_QUALITY",
            dealer,
        )
        .await;
    assert_eq!(filtered["complaints"], json!([]), "{filtered}");
    let (_, filtered) = api
        .get(
            "/v1/complaints?status=1&category=CATEGORY_RECEPTION_ATTITUDE",
            dealer,
        )
        .await;
    assert_eq!(
        filtered["complaints"].as_array().unwrap().len(),
        2,
        "{filtered}"
    );

    // The timeline, page by page, newest first.
    let (status, page) = api
        .get(
            "/v1/complaints/SH-0042:CMP-J-1/events?pageSize=2&descending=true",
            dealer,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert_eq!(page["events"][0]["version"], "2");
    let token = page["nextPageToken"].as_str().unwrap();
    let (_, rest) = api
        .get(
            &format!(
                "/v1/complaints/SH-0042:CMP-J-1/events?pageSize=2&descending=true&pageToken={token}"
            ),
            dealer,
        )
        .await;
    assert_eq!(rest["events"].as_array().unwrap().len(), 1, "{rest}");

    let (status, statistics) = api
        .get("/v1/complaints:statistics?regionCode=EAST", dealer)
        .await;
    assert_eq!(status, StatusCode::OK, "{statistics}");
    assert_eq!(statistics["complaints"], "2");

    // An auditor verifies the chain through the audit bindings.
    let (status, verified) = api
        .get("/v1/complaints/SH-0042:CMP-J-1:verify", &tokens.auditor)
        .await;
    assert_eq!(status, StatusCode::OK, "{verified}");
    assert_eq!(verified["result"]["intact"], true);
    assert_eq!(verified["result"]["eventsChecked"], "3");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_are_google_rpc_status_json_under_aip_193_statuses() {
    let root = tempfile::tempdir().unwrap();
    let tokens = tokens();
    let server = start(root.path(), &tokens).await;
    let api = Api::new(&server);
    let dealer = tokens.dealer_a.as_str();
    let (status, _) = api
        .post(
            "/v1/complaints",
            dealer,
            &filing(&uuid(), "SH-0042:CMP-E-1", "SH-0042", "EAST"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let unchanged = |timeline: Vec<Value>| assert_eq!(timeline.len(), 1, "{timeline:?}");

    // No token, a wrong token: 401, UNAUTHENTICATED, and how to authenticate.
    let (status, headers, error) = api
        .send(Method::GET, "/v1/complaints/SH-0042:CMP-E-1", None, None)
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(error["code"], 16, "{error}");
    assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()));
    assert_eq!(headers["www-authenticate"], "Bearer");
    let (status, error) = api
        .get("/v1/complaints/SH-0042:CMP-E-1", "not-a-token")
        .await;
    assert_eq!(
        (status, &error["code"]),
        (StatusCode::UNAUTHORIZED, &json!(16))
    );

    // Another dealer's complaint: the same answer as gRPC gives.
    let (status, error) = api
        .get("/v1/complaints/SH-0042:CMP-E-1", &tokens.dealer_b)
        .await;
    let grpc = server
        .complaints()
        .await
        .get_complaint(signed(&tokens.dealer_b, get_request("SH-0042:CMP-E-1")))
        .await;
    let grpc = grpc.expect_err("another dealer's complaint is not shown");
    assert_eq!(error["code"], grpc.code() as i32, "{error}");
    assert_eq!(error["message"], grpc.message());
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, error) = api.get("/v1/complaints/NOPE", dealer).await;
    assert_eq!((status, &error["code"]), (StatusCode::NOT_FOUND, &json!(5)));

    // PERMISSION_DENIED: a dealer may not verify the whole log.
    let (status, error) = api.get("/v1/log:verify", dealer).await;
    assert_eq!(
        (status, &error["code"]),
        (StatusCode::FORBIDDEN, &json!(7)),
        "{error}"
    );

    // INVALID_ARGUMENT from the service, with its field violations.
    let mut no_request_id = filing("", "SH-0042:CMP-E-2", "SH-0042", "EAST");
    no_request_id["requestId"] = json!("");
    let (status, error) = api.post("/v1/complaints", dealer, &no_request_id).await;
    assert_eq!(
        (status, &error["code"]),
        (StatusCode::BAD_REQUEST, &json!(3)),
        "{error}"
    );
    let violation = &detail(&error, "BadRequest")["fieldViolations"][0];
    assert_eq!(violation["field"], "request_id", "{error}");

    // ABORTED: the complaint moved on since the version the caller saw.
    let path = "/v1/complaints/SH-0042:CMP-E-1:appendEvents";
    let (status, _) = api
        .post(path, dealer, &apology_and_report(&uuid(), "0"))
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, error) = api
        .post(path, dealer, &apology_and_report(&uuid(), "0"))
        .await;
    assert_eq!(
        (status, &error["code"]),
        (StatusCode::CONFLICT, &json!(10)),
        "{error}"
    );
    let info = detail(&error, "ErrorInfo");
    assert_eq!(info["reason"], "WRONG_EXPECTED_VERSION");
    assert_eq!(info["domain"], "complaintflow");
    assert_eq!(info["metadata"]["actual_version"], "2");

    // ALREADY_EXISTS: an event id reused for another event.
    let event_id = uuid();
    let with_id = |note: &str| {
        json!({
            "requestId": uuid(),
            "events": [{ "eventId": event_id, "event": { "apologized": { "note": note } } }]
        })
    };
    let (status, reused) = api.post(path, dealer, &with_id("first")).await;
    assert_eq!(status, StatusCode::OK, "{reused}");
    let (status, error) = api.post(path, dealer, &with_id("second")).await;
    assert_eq!(
        (status, &error["code"]),
        (StatusCode::CONFLICT, &json!(6)),
        "{error}"
    );
    assert_eq!(detail(&error, "ErrorInfo")["reason"], "EVENT_ID_REUSED");

    // FAILED_PRECONDITION: a workflow rule, named.
    let (status, _) = api
        .post(
            "/v1/complaints",
            dealer,
            &filing(&uuid(), "SH-0042:CMP-E-3", "SH-0042", "EAST"),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let closing = json!({ "requestId": uuid(), "events": [{ "event": { "closed": {} } }] });
    let (status, error) = api
        .post(
            "/v1/complaints/SH-0042:CMP-E-3:appendEvents",
            dealer,
            &closing,
        )
        .await;
    assert_eq!(
        (status, &error["code"]),
        (StatusCode::BAD_REQUEST, &json!(9)),
        "{error}"
    );
    assert!(
        detail(&error, "ErrorInfo")["metadata"]["rule"]
            .as_str()
            .is_some_and(|rule| !rule.is_empty()),
        "{error}"
    );
    assert_eq!(
        detail(&error, "PreconditionFailure")["violations"][0]["subject"],
        "events[0]"
    );
    assert_eq!(api.events("SH-0042:CMP-E-3", dealer).await.len(), 1);

    // The gateway's own refusals change nothing and say why.
    let timeline_before = api.events("SH-0042:CMP-E-1", dealer).await.len();
    let (status, _, error) = api
        .send(
            Method::POST,
            path,
            Some(dealer),
            Some(b"{\"requestId\": ".to_vec()),
        )
        .await;
    assert_eq!(
        (status, &error["code"]),
        (StatusCode::BAD_REQUEST, &json!(3)),
        "{error}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("not valid JSON")
    );
    let mut unknown = apology_and_report(&uuid(), "4");
    unknown["priority"] = json!("urgent");
    let (status, error) = api.post(path, dealer, &unknown).await;
    assert_eq!(
        (status, &error["code"]),
        (StatusCode::BAD_REQUEST, &json!(3)),
        "{error}"
    );
    assert!(
        error["message"].as_str().unwrap().contains("priority"),
        "{error}"
    );
    let (status, error) = api
        .post(
            path,
            dealer,
            &json!({ "requestId": uuid(), "events": "apologized" }),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let oversized = vec![b' '; 4 * 1024 * 1024 + 1];
    let (status, _, error) = api
        .send(Method::POST, path, Some(dealer), Some(oversized))
        .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");
    assert_eq!(error["code"], 3);
    assert_eq!(
        detail(&error, "BadRequest")["fieldViolations"][0]["field"],
        "body"
    );
    let (status, error) = api
        .get("/v1/complaints/SH-0042:CMP-E-1?colour=red", dealer)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(
        detail(&error, "BadRequest")["fieldViolations"][0]["field"],
        "colour"
    );
    let (status, error) = api.get("/v1/complaints?overdueOnly=perhaps", dealer).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    let mut elsewhere = apology_and_report(&uuid(), "4");
    elsewhere["name"] = json!("complaints/SH-0042:CMP-E-3");
    let (status, error) = api.post(path, dealer, &elsewhere).await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
    assert_eq!(
        api.events("SH-0042:CMP-E-1", dealer).await.len(),
        timeline_before
    );
    unchanged(api.events("SH-0042:CMP-E-3", dealer).await);

    // No such route, or not with this method.
    let (status, _, error) = api
        .send(Method::GET, "/v1/dealers", Some(dealer), None)
        .await;
    assert_eq!((status, &error["code"]), (StatusCode::NOT_FOUND, &json!(5)));
    let (status, headers, error) = api
        .send(
            Method::DELETE,
            "/v1/complaints/SH-0042:CMP-E-1",
            Some(dealer),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{error}");
    assert_eq!(headers["allow"], "GET");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_openapi_document_describes_every_binding() {
    let root = tempfile::tempdir().unwrap();
    let tokens = tokens();
    let server = start(root.path(), &tokens).await;
    let api = Api::new(&server);
    // Served without a token: it describes the interface, not the data.
    let (status, _, document) = api.send(Method::GET, "/openapi.json", None, None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(document["openapi"], "3.0.3");
    let operations: BTreeMap<String, String> = document["paths"]
        .as_object()
        .unwrap()
        .iter()
        .flat_map(|(path, item)| {
            item.as_object().unwrap().iter().map(move |(method, op)| {
                (
                    op["operationId"].as_str().unwrap().to_owned(),
                    format!("{} {path}", method.to_uppercase()),
                )
            })
        })
        .collect();
    for (operation, route) in [
        ("ComplaintService_FileComplaint", "POST /v1/complaints"),
        (
            "ComplaintService_AppendEvents",
            "POST /v1/complaints/{name}:appendEvents",
        ),
        ("ComplaintService_GetComplaint", "GET /v1/complaints/{name}"),
        ("ComplaintService_ListComplaints", "GET /v1/complaints"),
        (
            "ComplaintService_ListComplaintEvents",
            "GET /v1/complaints/{parent}/events",
        ),
        (
            "ComplaintService_GetStatistics",
            "GET /v1/complaints:statistics",
        ),
        (
            "AuditService_VerifyComplaint",
            "GET /v1/complaints/{name}:verify",
        ),
        ("FollowUpService_OpenFollowUp", "POST /v1/followUps"),
    ] {
        assert_eq!(
            operations.get(operation).map(String::as_str),
            Some(route),
            "{operations:?}"
        );
    }
    assert_eq!(operations.len(), 15, "{operations:?}");
    server.stop().await;
}
