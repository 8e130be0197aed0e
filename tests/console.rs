//! The web console over real HTTP: sign-in and sessions, scopes in every page, chart and
//! CSV, CSRF refusals, the auditor's read-only view, desk steps recorded as the person.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests fail by panicking"
)]

mod support;

use std::collections::BTreeMap;

use complaintflow_log::clock::ManualClock;
use complaintflow_server::api::proto;
use complaintflow_server::auth::{Role, TokenFile};
use jiff::SignedDuration;
use reqwest::StatusCode;
use reqwest::redirect::Policy;
use support::server::{TestServer, filing_request, get_request, issue, signed, write_tokens};

struct Tokens {
    file: TokenFile,
    dealer_a: String,
    dealer_b: String,
    cac_east: String,
    auditor: String,
    admin: String,
}

fn tokens() -> Tokens {
    let mut file = TokenFile::default();
    let dealer_a = issue(&mut file, "dms-sh-0042", Role::Dealer, |e| {
        e.dealers = vec!["SH-0042".into()];
    });
    let dealer_b = issue(&mut file, "dms-bj-0007", Role::Dealer, |e| {
        e.dealers = vec!["BJ-0007".into()];
    });
    let cac_east = issue(&mut file, "cac-east", Role::Cac, |e| {
        e.regions = vec!["EAST".into()];
    });
    let auditor = issue(&mut file, "audit-1", Role::Auditor, |_| {});
    let admin = issue(&mut file, "root", Role::Admin, |_| {});
    Tokens {
        file,
        dealer_a,
        dealer_b,
        cac_east,
        auditor,
        admin,
    }
}

fn registry() -> BTreeMap<String, String> {
    BTreeMap::from([
        ("SH-0042".to_owned(), "EAST".to_owned()),
        ("BJ-0007".to_owned(), "NORTH".to_owned()),
    ])
}

/// A server with one complaint of each dealer: SH-0042:CMP-SH-1 (SH-0042, EAST) and BJ-0007:CMP-BJ-1
/// (BJ-0007, NORTH).
async fn start(root: &std::path::Path, t: &Tokens) -> TestServer {
    let clock = ManualClock::new("2026-03-02T01:00:00Z".parse().unwrap());
    let server = TestServer::start(root, &t.file, registry(), clock).await;
    let mut client = server.complaints().await;
    let mut last = 0;
    for (id, dealer, region) in [
        ("SH-0042:CMP-SH-1", "SH-0042", "EAST"),
        ("BJ-0007:CMP-BJ-1", "BJ-0007", "NORTH"),
    ] {
        last = client
            .file_complaint(signed(&t.admin, filing_request(id, dealer, region)))
            .await
            .unwrap()
            .into_inner()
            .position;
    }
    // The pages read the read models, which follow the log a moment behind the writes.
    let caught_up = proto::ListComplaintsRequest {
        min_position: Some(last),
        ..Default::default()
    };
    client
        .list_complaints(signed(&t.admin, caught_up))
        .await
        .unwrap();
    server
}

/// A browser: a cookie jar, no automatic redirects (the tests look at them).
struct Browser {
    client: reqwest::Client,
    base: String,
}

struct Page {
    status: StatusCode,
    location: String,
    set_cookies: Vec<String>,
    body: String,
}

/// The value of the first hidden input named `name`.
fn hidden(body: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body
        .find(&marker)
        .unwrap_or_else(|| panic!("no {name} in {body}"))
        + marker.len();
    body[start..].split('"').next().unwrap().to_owned()
}

impl Browser {
    fn new(server: &TestServer) -> Self {
        Self {
            client: reqwest::Client::builder()
                .cookie_store(true)
                .redirect(Policy::none())
                .build()
                .unwrap(),
            base: format!("http://{}", server.http_address),
        }
    }

    async fn page(response: reqwest::Response) -> Page {
        let status = response.status();
        let location = response
            .headers()
            .get("location")
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default();
        let set_cookies = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let body = response.text().await.unwrap();
        Page {
            status,
            location,
            set_cookies,
            body,
        }
    }

    async fn get(&self, path: &str) -> Page {
        Self::page(
            self.client
                .get(format!("{}{path}", self.base))
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn post(&self, path: &str, form: &[(&str, &str)]) -> Page {
        Self::page(
            self.client
                .post(format!("{}{path}", self.base))
                .form(form)
                .send()
                .await
                .unwrap(),
        )
        .await
    }

    async fn post_owned(&self, path: &str, form: &[(&str, String)]) -> Page {
        let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (*k, v.as_str())).collect();
        self.post(path, &form).await
    }

    async fn sign_in(&self, token: &str) -> Page {
        let form = self.get("/sign-in").await;
        assert_eq!(form.status, StatusCode::OK);
        let csrf = hidden(&form.body, "csrf");
        self.post("/sign-in", &[("token", token), ("csrf", &csrf)])
            .await
    }

    async fn signed_in(server: &TestServer, token: &str) -> Self {
        let browser = Self::new(server);
        let page = browser.sign_in(token).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location, "/");
        browser
    }
}

async fn version(server: &TestServer, token: &str, complaint: &str) -> u64 {
    let mut client = server.complaints().await;
    client
        .get_complaint(signed(token, get_request(complaint)))
        .await
        .unwrap()
        .into_inner()
        .complaint
        .unwrap()
        .version
}

/// A complaint's events as `token` reads them through gRPC.
async fn timeline(server: &TestServer, token: &str, complaint: &str) -> Vec<proto::RecordedEvent> {
    let mut client = server.complaints().await;
    client
        .list_complaint_events(signed(
            token,
            proto::ListComplaintEventsRequest {
                parent: format!("complaints/{complaint}"),
                ..Default::default()
            },
        ))
        .await
        .unwrap()
        .into_inner()
        .events
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_takes_a_token_of_the_file_and_sets_a_strict_cookie() {
    let root = tempfile::tempdir().unwrap();
    let t = tokens();
    let server = start(root.path(), &t).await;
    let browser = Browser::new(&server);

    let anonymous = browser.get("/").await;
    assert_eq!(anonymous.status, StatusCode::SEE_OTHER);
    assert_eq!(anonymous.location, "/sign-in");
    assert_eq!(
        browser.get("/complaints/SH-0042:CMP-SH-1").await.status,
        StatusCode::SEE_OTHER
    );

    let refused = browser.sign_in("cft_not-a-token").await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert!(refused.body.contains("id=\"error\""), "{}", refused.body);
    // A sign-in without the form's own CSRF value (a forged cross-site sign-in) fails.
    let forged = browser.post("/sign-in", &[("token", &t.dealer_a)]).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);

    let accepted = browser.sign_in(&t.dealer_a).await;
    assert_eq!(accepted.status, StatusCode::SEE_OTHER);
    let cookie = accepted
        .set_cookies
        .iter()
        .find(|c| c.starts_with("cf_session="))
        .expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/", "Max-Age=43200"] {
        assert!(cookie.contains(attribute), "{attribute} missing: {cookie}");
    }
    assert!(
        !cookie.contains(&t.dealer_a),
        "the cookie never carries the token"
    );
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");

    let queue = browser.get("/").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains("dms-sh-0042"), "{}", queue.body);

    // Sign-out needs the session's CSRF token, and ends the session.
    let csrf = hidden(&queue.body, "csrf");
    assert_eq!(
        browser.post("/sign-out", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let out = browser.post("/sign-out", &[("csrf", &csrf)]).await;
    assert_eq!(out.location, "/sign-in");
    assert_eq!(browser.get("/").await.status, StatusCode::SEE_OTHER);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn cookies_are_secure_behind_a_tls_proxy() {
    let root = tempfile::tempdir().unwrap();
    let t = tokens();
    let server = start(root.path(), &t).await;
    let client = reqwest::Client::builder()
        .redirect(Policy::none())
        .build()
        .unwrap();
    let base = format!("http://{}", server.http_address);
    let form = client
        .get(format!("{base}/sign-in"))
        .header("x-forwarded-proto", "https")
        .send()
        .await
        .unwrap();
    let pre = form
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_owned();
    assert!(pre.contains("Secure"), "{pre}");
    let csrf = hidden(&form.text().await.unwrap(), "csrf");
    let signed_in = client
        .post(format!("{base}/sign-in"))
        .header("x-forwarded-proto", "https")
        .header("cookie", pre.split(';').next().unwrap())
        .form(&[("token", t.dealer_a.as_str()), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(signed_in.status(), StatusCode::SEE_OTHER);
    let session = signed_in
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("cf_session="))
        .unwrap()
        .to_owned();
    assert!(session.contains("Secure"), "{session}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dealer_never_sees_another_dealers_complaint_in_any_page_chart_or_csv() {
    let root = tempfile::tempdir().unwrap();
    let t = tokens();
    let server = start(root.path(), &t).await;
    let browser = Browser::signed_in(&server, &t.dealer_a).await;

    let queue = browser.get("/").await;
    assert_eq!(queue.status, StatusCode::OK);
    assert!(queue.body.contains("SH-0042:CMP-SH-1"), "{}", queue.body);
    for other in ["BJ-0007:CMP-BJ-1", "BJ-0007", "NORTH"] {
        assert!(!queue.body.contains(other), "{other} in the queue");
    }
    let filtered = browser.get("/?dealer=BJ-0007&region=NORTH").await;
    assert_eq!(filtered.status, StatusCode::OK);
    assert!(!filtered.body.contains("BJ-0007:CMP-BJ-1"));

    let mine = browser.get("/complaints/SH-0042:CMP-SH-1").await;
    assert_eq!(mine.status, StatusCode::OK);
    assert!(mine.body.contains("complaint.filed"), "{}", mine.body);
    for path in [
        "/complaints/BJ-0007:CMP-BJ-1",
        "/complaints/BJ-0007:CMP-BJ-1?version=0",
        "/complaints/NO-SUCH-1",
    ] {
        let theirs = browser.get(path).await;
        assert_eq!(theirs.status, StatusCode::NOT_FOUND, "{path}");
        // The page links back to the address asked for; nothing else names the dealer.
        let asked = path.split('?').next().unwrap();
        let shown = theirs.body.replace(asked, "");
        assert!(!shown.contains("BJ-0007"), "{path}: {}", theirs.body);
    }
    // Nobody else's complaint takes a step through the dealer's session either.
    let csrf = hidden(&mine.body, "csrf");
    let step = browser
        .post(
            "/complaints/BJ-0007:CMP-BJ-1/actions/note",
            &[
                ("csrf", &csrf),
                ("request_id", &uuid::Uuid::new_v4().to_string()),
                ("expected_version", "0"),
                ("text", "not mine"),
            ],
        )
        .await;
    assert_eq!(step.status, StatusCode::NOT_FOUND);
    assert_eq!(version(&server, &t.dealer_b, "BJ-0007:CMP-BJ-1").await, 0);

    let stats = browser.get("/statistics").await;
    assert_eq!(stats.status, StatusCode::OK);
    assert!(stats.body.contains("SH-0042"), "{}", stats.body);
    assert!(stats.body.contains("id=\"total\">1<"), "{}", stats.body);
    assert!(!stats.body.contains("BJ-0007"));
    let other = browser.get("/statistics?dealer=BJ-0007").await;
    assert!(other.body.contains("id=\"total\">0<"), "{}", other.body);
    for chart in [
        "per-month-by-category",
        "per-month-by-channel",
        "per-month-by-root-cause",
        "deadlines",
        "rates",
        "satisfaction",
        "dealers",
    ] {
        for query in ["", "?dealer=BJ-0007", "?region=NORTH"] {
            let csv = browser
                .get(&format!("/statistics/{chart}.csv{query}"))
                .await;
            assert_eq!(csv.status, StatusCode::OK, "{chart}{query}");
            assert!(
                !csv.body.contains("BJ-0007"),
                "{chart}{query}: {}",
                csv.body
            );
        }
    }
    let dealers = browser.get("/statistics/dealers.csv").await;
    assert!(dealers.body.contains("SH-0042,1"), "{}", dealers.body);
    let satisfaction = browser
        .get("/statistics/satisfaction.csv?dealer=BJ-0007")
        .await;
    assert!(
        satisfaction
            .body
            .lines()
            .skip(1)
            .all(|line| line.ends_with(",0"))
    );

    // The auditor's page and its export are not a dealer's.
    assert_eq!(browser.get("/audit").await.status, StatusCode::FORBIDDEN);
    assert_eq!(
        browser.get("/audit/export").await.status,
        StatusCode::FORBIDDEN
    );
    assert!(!queue.body.contains("href=\"/audit\""));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_post_without_the_sessions_csrf_token_is_refused_and_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let t = tokens();
    let server = start(root.path(), &t).await;
    let browser = Browser::signed_in(&server, &t.dealer_a).await;
    let page = browser.get("/complaints/SH-0042:CMP-SH-1").await;
    let request_id = uuid::Uuid::new_v4().to_string();
    for csrf in [None, Some("0123456789abcdef"), Some("")] {
        let mut form = vec![
            ("request_id", request_id.as_str()),
            ("expected_version", "0"),
            ("text", "forged"),
        ];
        if let Some(csrf) = csrf {
            form.push(("csrf", csrf));
        }
        let refused = browser
            .post("/complaints/SH-0042:CMP-SH-1/actions/note", &form)
            .await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{csrf:?}");
    }
    // Another session's token is no better.
    let other = Browser::signed_in(&server, &t.dealer_a).await;
    let other_csrf = hidden(&other.get("/").await.body, "csrf");
    assert_ne!(other_csrf, hidden(&page.body, "csrf"));
    let refused = browser
        .post(
            "/complaints/SH-0042:CMP-SH-1/actions/note",
            &[
                ("csrf", &other_csrf),
                ("request_id", &request_id),
                ("expected_version", "0"),
                ("text", "forged"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(version(&server, &t.dealer_a, "SH-0042:CMP-SH-1").await, 0);
    let after = browser.get("/complaints/SH-0042:CMP-SH-1").await;
    assert!(!after.body.contains("forged"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_auditor_reads_verifies_and_exports_but_changes_nothing() {
    let root = tempfile::tempdir().unwrap();
    let t = tokens();
    let server = start(root.path(), &t).await;
    let browser = Browser::signed_in(&server, &t.auditor).await;

    let queue = browser.get("/").await;
    assert!(queue.body.contains("SH-0042:CMP-SH-1") && queue.body.contains("BJ-0007:CMP-BJ-1"));
    let page = browser.get("/complaints/SH-0042:CMP-SH-1").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(!page.body.contains("id=\"actions\""), "no step forms");
    assert!(!page.body.contains("/actions/"), "no step forms");
    let csrf = hidden(&page.body, "csrf");
    for (step, field, value) in [
        ("note", "text", "an auditor's note"),
        ("apologize", "note", "sorry"),
        ("contact-attempt", "purpose", "1"),
    ] {
        let refused = browser
            .post(
                &format!("/complaints/SH-0042:CMP-SH-1/actions/{step}"),
                &[
                    ("csrf", &csrf),
                    ("request_id", &uuid::Uuid::new_v4().to_string()),
                    ("expected_version", "0"),
                    (field, value),
                ],
            )
            .await;
        assert_eq!(
            refused.status,
            StatusCode::FORBIDDEN,
            "{step}: {}",
            refused.body
        );
    }
    assert_eq!(version(&server, &t.admin, "SH-0042:CMP-SH-1").await, 0);

    let audit = browser.get("/audit").await;
    assert_eq!(audit.status, StatusCode::OK);
    assert!(queue.body.contains("href=\"/audit\""));
    let verified = browser.post("/audit/verify", &[("csrf", &csrf)]).await;
    assert_eq!(verified.status, StatusCode::OK);
    assert!(verified.body.contains("2 "), "{}", verified.body);
    assert!(
        verified.body.contains("class=\"banner good\""),
        "{}",
        verified.body
    );
    assert_eq!(
        browser.post("/audit/verify", &[]).await.status,
        StatusCode::FORBIDDEN
    );
    let digest = browser.post("/audit/digest", &[("csrf", &csrf)]).await;
    let start = digest.body.find("id=\"digest\">").unwrap() + "id=\"digest\">".len();
    let taken = &digest.body[start..digest.body[start..].find('<').unwrap() + start];
    let (position, hash) = taken.split_once(':').unwrap();
    assert_eq!(position, "1");
    let checked = browser
        .post(
            "/audit/check",
            &[("csrf", &csrf), ("position", position), ("head_hash", hash)],
        )
        .await;
    assert!(
        checked.body.contains("class=\"banner good\""),
        "{}",
        checked.body
    );
    let wrong = "0".repeat(64);
    let mismatch = browser
        .post(
            "/audit/check",
            &[
                ("csrf", &csrf),
                ("position", position),
                ("head_hash", &wrong),
            ],
        )
        .await;
    assert!(
        mismatch.body.contains("class=\"banner bad\""),
        "{}",
        mismatch.body
    );

    let export = browser
        .get("/audit/export?complaints=SH-0042:CMP-SH-1")
        .await;
    assert_eq!(export.status, StatusCode::OK);
    let lines: Vec<serde_json::Value> = export
        .body
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0]["complaint_id"], "SH-0042:CMP-SH-1");
    assert_eq!(lines[0]["event_type"], "complaint.filed");
    assert_eq!(lines[0]["actor"], "cac_agent:root");
    let all = browser.get("/audit/export").await;
    assert_eq!(all.body.lines().count(), 2);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_contact_attempt_from_the_page_shows_in_the_timeline_as_the_person() {
    let root = tempfile::tempdir().unwrap();
    let t = tokens();
    let server = start(root.path(), &t).await;
    let browser = Browser::signed_in(&server, &t.cac_east).await;
    let page = browser.get("/complaints/SH-0042:CMP-SH-1").await;
    assert!(
        page.body.contains("id=\"step-contact-attempt\""),
        "{}",
        page.body
    );
    let form_start = page.body.find("id=\"step-contact-attempt\"").unwrap();
    let form = &page.body[form_start..];
    let csrf = hidden(form, "csrf");
    let request_id = hidden(form, "request_id");
    let expected = hidden(form, "expected_version");
    assert_eq!(expected, "0");
    let fields = [
        ("csrf", csrf.as_str()),
        ("request_id", request_id.as_str()),
        ("expected_version", expected.as_str()),
        ("purpose", "1"),
        ("answered", "yes"),
        ("note", "客户确认了到店时间"),
    ];
    let done = browser
        .post(
            "/complaints/SH-0042:CMP-SH-1/actions/contact-attempt",
            &fields,
        )
        .await;
    assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
    assert_eq!(done.location, "/complaints/SH-0042:CMP-SH-1?done=recorded");
    let after = browser.get(&done.location).await;
    assert!(
        after
            .body
            .contains("data-type=\"complaint.contact_attempted\""),
        "{}",
        after.body
    );
    assert!(after.body.contains("cac_agent:cac-east"), "{}", after.body);
    assert!(after.body.contains("客户确认了到店时间"));
    // The same form sent again is a replay: nothing recorded twice.
    let again = browser
        .post(
            "/complaints/SH-0042:CMP-SH-1/actions/contact-attempt",
            &fields,
        )
        .await;
    assert_eq!(again.location, "/complaints/SH-0042:CMP-SH-1?done=replayed");
    assert_eq!(version(&server, &t.cac_east, "SH-0042:CMP-SH-1").await, 1);
    // The same events through gRPC carry the same actor.
    let events = timeline(&server, &t.cac_east, "SH-0042:CMP-SH-1").await;
    assert_eq!(events[1].actor, "cac_agent:cac-east");

    // The complaint as it was before the call.
    let before = browser.get("/complaints/SH-0042:CMP-SH-1?version=0").await;
    assert!(before.body.contains("id=\"historical\""));
    assert!(!before.body.contains("complaint.contact_attempted"));
    assert!(!before.body.contains("id=\"actions\""));

    // A stale form (drawn at version 0) is a version conflict, and says so.
    let stale = browser
        .post(
            "/complaints/SH-0042:CMP-SH-1/actions/note",
            &[
                ("csrf", &csrf),
                ("request_id", &uuid::Uuid::new_v4().to_string()),
                ("expected_version", "0"),
                ("text", "late"),
            ],
        )
        .await;
    assert_eq!(stale.status, StatusCode::CONFLICT);
    assert!(stale.body.contains("id=\"refused\""));

    // A rule's refusal names the rule.
    let refused = browser
        .post(
            "/complaints/SH-0042:CMP-SH-1/actions/contact-attempt",
            &[
                ("csrf", &csrf),
                ("request_id", &uuid::Uuid::new_v4().to_string()),
                ("expected_version", "1"),
                ("purpose", "3"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::CONFLICT, "{}", refused.body);
    assert!(
        refused.body.contains("callback_requires_resolution"),
        "{}",
        refused.body
    );
    assert_eq!(version(&server, &t.cac_east, "SH-0042:CMP-SH-1").await, 1);

    // A call logged after it was made carries its own time, read in the region's zone,
    // and that time is what the calling-hours rule judges.
    server.clock.advance(jiff::SignedDuration::from_hours(14)); // 23:00 in Shanghai
    let browser = Browser::signed_in(&server, &t.cac_east).await; // the session expired
    let page = browser.get("/complaints/SH-0042:CMP-SH-1").await;
    let csrf = hidden(&page.body, "csrf");
    let logged = |called_at: &'static str| {
        [
            ("csrf", csrf.clone()),
            ("request_id", uuid::Uuid::new_v4().to_string()),
            ("expected_version", "1".to_owned()),
            ("purpose", "2".to_owned()),
            ("answered", "yes".to_owned()),
            ("called_at", called_at.to_owned()),
        ]
    };
    let late = browser
        .post_owned(
            "/complaints/SH-0042:CMP-SH-1/actions/contact-attempt",
            &logged("2026-03-02T22:30"),
        )
        .await;
    assert!(late.body.contains("outside_calling_hours"), "{}", late.body);
    let logged_later = browser
        .post_owned(
            "/complaints/SH-0042:CMP-SH-1/actions/contact-attempt",
            &logged("2026-03-02T16:45"),
        )
        .await;
    assert_eq!(
        logged_later.status,
        StatusCode::SEE_OTHER,
        "{}",
        logged_later.body
    );
    // The timers fire what fell due in the 14 hours alongside, so the call is the last
    // contact attempt, not always the last event.
    let events = timeline(&server, &t.cac_east, "SH-0042:CMP-SH-1").await;
    let calls: Vec<_> = events
        .iter()
        .filter(|e| e.event_type == "complaint.contact_attempted")
        .collect();
    assert_eq!(calls.len(), 2, "the first call and the one logged later");
    let call = calls[1];
    assert_eq!(
        call.occur_time.unwrap().seconds,
        "2026-03-02T08:45:00Z"
            .parse::<jiff::Timestamp>()
            .unwrap()
            .as_second()
    );
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sessions_end_with_their_token_and_at_expiry() {
    let root = tempfile::tempdir().unwrap();
    let mut t = tokens();
    let server = start(root.path(), &t).await;
    let dealer = Browser::signed_in(&server, &t.dealer_a).await;
    let cac = Browser::signed_in(&server, &t.cac_east).await;
    assert_eq!(dealer.get("/").await.status, StatusCode::OK);

    // Revoked in the file: the server picks the change up within a second or so.
    t.file
        .tokens
        .retain(|entry| entry.identity != "dms-sh-0042");
    write_tokens(&server.token_file, &t.file);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let page = dealer.get("/").await;
        if page.status == StatusCode::SEE_OTHER {
            assert_eq!(page.location, "/sign-in");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the revoked session still works"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(cac.get("/").await.status, StatusCode::OK, "others carry on");

    // Twelve hours on the server's clock end the session.
    server.clock.advance(SignedDuration::from_hours(12));
    assert_eq!(cac.get("/").await.status, StatusCode::SEE_OTHER);
    let _ = &t.dealer_b;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn chinese_by_default_english_on_request_and_everything_served_locally() {
    let root = tempfile::tempdir().unwrap();
    let t = tokens();
    let server = start(root.path(), &t).await;
    let browser = Browser::signed_in(&server, &t.cac_east).await;
    let zh = browser.get("/").await;
    assert!(zh.body.contains("lang=\"zh-CN\"") && zh.body.contains("工作队列"));
    let en = browser.get("/?lang=en").await;
    assert!(en.body.contains("lang=\"en\"") && en.body.contains("Work queue"));
    let switch = browser.get("/lang?to=en&back=/statistics").await;
    assert_eq!(switch.location, "/statistics");
    assert!(
        browser.get("/").await.body.contains("Work queue"),
        "kept in a cookie"
    );
    let away = browser.get("/lang?to=zh&back=//evil.example/").await;
    assert_eq!(away.location, "/", "never redirected off the site");
    assert!(browser.get("/").await.body.contains("工作队列"));

    // Times in the region's zone: filed at 01:00Z is 09:00 in Shanghai.
    let page = browser.get("/complaints/SH-0042:CMP-SH-1").await;
    assert!(page.body.contains("2026-03-02 09:00"), "{}", page.body);

    for path in [
        "/",
        "/complaints/SH-0042:CMP-SH-1",
        "/statistics",
        "/sign-in",
    ] {
        let body = browser.get(path).await.body;
        for external in ["src=\"http", "href=\"http", "src=\"//", "href=\"//"] {
            assert!(!body.contains(external), "{path} loads {external}");
        }
    }
    let headers = browser
        .client
        .get(format!("{}/", browser.base))
        .send()
        .await
        .unwrap();
    let policy = headers.headers()["content-security-policy"]
        .to_str()
        .unwrap();
    assert!(policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(policy.contains("default-src 'none'"), "{policy}");
    assert_eq!(headers.headers()["x-content-type-options"], "nosniff");
    let css_path = {
        let start = zh.body.find("rel=\"stylesheet\" href=\"").unwrap() + 23;
        zh.body[start..].split('"').next().unwrap().to_owned()
    };
    let css = browser
        .client
        .get(format!("{}{css_path}", browser.base))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), StatusCode::OK);
    assert!(
        css.headers()["cache-control"]
            .to_str()
            .unwrap()
            .contains("max-age")
    );
    assert!(
        css.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/css")
    );
    server.stop().await;
}
