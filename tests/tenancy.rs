//! Tenants are sealed: what one dealer or region may learn and touch of another's
//! complaints through the API (page tokens, filings, references such as merges), and the
//! tokens themselves (expiry, revocation without a restart, SIGHUP).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test or benchmark stops at the first surprise"
)]

mod support;

use std::collections::BTreeMap;

use base64::Engine as _;
use complaintflow_domain::events::MergedInto;
use complaintflow_domain::{ComplaintEvent, Role};
use complaintflow_log::ExpectedVersion;
use complaintflow_log::clock::ManualClock;
use complaintflow_server::api::proto;
use complaintflow_server::auth::{Role as AuthRole, TokenFile};
use complaintflow_server::engine::{Submission, Trusted};
use futures::future::join_all;
use support::server::*;
use support::{World, actor, at, id};
use tonic::Code;

const MONDAY_10: &str = "2026-11-23T10:00:00+08:00";

fn registry() -> BTreeMap<String, String> {
    [("SH-0042", "EAST"), ("BJ-0007", "NORTH")]
        .map(|(d, r)| (d.to_owned(), r.to_owned()))
        .into()
}

struct Tokens {
    file: TokenFile,
    dealer_a: String,
    dealer_b: String,
    cac_east: String,
    cac_north: String,
    cac_both: String,
    admin: String,
}

fn tokens() -> Tokens {
    let mut file = TokenFile::default();
    let dealer_a = issue(&mut file, "dms-sh-0042", AuthRole::Dealer, |e| {
        e.dealers = vec!["SH-0042".into()];
    });
    let dealer_b = issue(&mut file, "dms-bj-0007", AuthRole::Dealer, |e| {
        e.dealers = vec!["BJ-0007".into()];
    });
    let cac_east = issue(&mut file, "cac-east", AuthRole::Cac, |e| {
        e.regions = vec!["EAST".into()];
    });
    let cac_north = issue(&mut file, "cac-north", AuthRole::Cac, |e| {
        e.regions = vec!["NORTH".into()];
    });
    let cac_both = issue(&mut file, "cac-both", AuthRole::Cac, |e| {
        e.regions = vec!["EAST".into(), "NORTH".into()];
    });
    let admin = issue(&mut file, "root", AuthRole::Admin, |_| {});
    Tokens {
        file,
        dealer_a,
        dealer_b,
        cac_east,
        cac_north,
        cac_both,
        admin,
    }
}

/// Files `count` complaints of `dealer` straight through the engine, before the server
/// starts on the same data directory.
async fn fill(data_dir: &std::path::Path, dealer: &str, region: &str, count: usize) {
    let world = World::open(data_dir, ManualClock::new(at(MONDAY_10)));
    let filer = actor(Role::DealerStaff);
    for chunk in (0..count).collect::<Vec<_>>().chunks(500) {
        let filings = chunk.iter().map(|n| {
            let complaint = format!("CMP-{dealer}-{n:06}");
            let filed = complaintflow_domain::testkit::filing(&complaint, |f| {
                f.dealer = complaintflow_domain::values::DealerCode::parse(dealer).unwrap();
                f.region = complaintflow_domain::values::RegionCode::parse(region).unwrap();
            });
            let (engine, filer) = (world.engine.clone(), filer.clone());
            async move {
                engine
                    .submit(
                        &filer,
                        &id(&complaint),
                        ExpectedVersion::NoStream,
                        &[Submission::new(uuid::Uuid::new_v4(), filed)],
                        &Trusted,
                    )
                    .await
                    .expect("filed")
            }
        });
        join_all(filings).await;
    }
    world.stop().await;
}

fn list(page_token: String, page_size: i32) -> proto::ListComplaintsRequest {
    proto::ListComplaintsRequest {
        page_size,
        page_token,
        ..Default::default()
    }
}

/// Every complaint `token` lists, page by page.
async fn list_all(server: &TestServer, token: &str) -> usize {
    let mut client = server.complaints().await;
    let (mut count, mut page_token) = (0, String::new());
    loop {
        let page = client
            .list_complaints(signed(token, list(page_token, 500)))
            .await
            .expect("listed")
            .into_inner();
        count += page.complaints.len();
        if page.next_page_token.is_empty() {
            return count;
        }
        page_token = page.next_page_token;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn page_tokens_reveal_nothing_and_a_scan_limit_leaks_nothing() {
    let root = tempfile::tempdir().unwrap();
    let data = root.path().join("data");
    fill(&data, "BJ-0007", "NORTH", 20_100).await;
    fill(&data, "SH-0042", "EAST", 3).await;
    let t = tokens();
    let server = TestServer::start(
        root.path(),
        &t.file,
        registry(),
        ManualClock::new(at(MONDAY_10)),
    )
    .await;
    let mut client = server.complaints().await;

    // SH-0042's whole listing: its own three, and no token pointing into BJ-0007's.
    let page = client
        .list_complaints(signed(&t.dealer_a, list(String::new(), 50)))
        .await
        .unwrap()
        .into_inner();
    let leaked = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&page.next_page_token)
        .unwrap_or_default();
    assert!(
        !String::from_utf8_lossy(&leaked).contains("BJ-0007"),
        "the page token names another dealer's complaint: {}",
        String::from_utf8_lossy(&leaked)
    );
    assert_eq!(page.complaints.len(), 3);
    assert!(page.next_page_token.is_empty(), "nothing more to see");

    // Tokens are bound to their caller and query, and cannot be edited.
    let first = client
        .list_complaints(signed(&t.admin, list(String::new(), 10)))
        .await
        .unwrap()
        .into_inner();
    let token = first.next_page_token.clone();
    assert!(!token.is_empty());
    let stolen = client
        .list_complaints(signed(&t.dealer_b, list(token.clone(), 10)))
        .await;
    assert_eq!(code(stolen), Code::InvalidArgument);
    let other_query = proto::ListComplaintsRequest {
        region_code: "NORTH".into(),
        ..list(token.clone(), 10)
    };
    assert_eq!(
        code(client.list_complaints(signed(&t.admin, other_query)).await),
        Code::InvalidArgument
    );
    let mut edited = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(&token)
        .unwrap();
    let middle = edited.len() / 2;
    edited[middle] ^= 0x20;
    let edited = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(edited);
    assert_eq!(
        code(
            client
                .list_complaints(signed(&t.admin, list(edited, 10)))
                .await
        ),
        Code::InvalidArgument
    );
    let second = client
        .list_complaints(signed(&t.admin, list(token, 10)))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(second.complaints[0].name, first.complaints[0].name);

    // Paging goes through everything, in one index or merged from a CAC's two regions.
    assert_eq!(list_all(&server, &t.admin).await, 20_103);
    assert_eq!(list_all(&server, &t.cac_both).await, 20_103);
    assert_eq!(list_all(&server, &t.cac_east).await, 3);

    // Timeline tokens too: bound to their complaint.
    let events = |parent: &str, page_token: String| proto::ListComplaintEventsRequest {
        parent: format!("complaints/{parent}"),
        page_size: 1,
        page_token,
        ..Default::default()
    };
    client
        .append_events(signed(
            &t.dealer_a,
            append_request(
                "CMP-SH-0042-000000",
                vec![complaintflow_domain::testkit::apologized().into()],
            ),
        ))
        .await
        .unwrap();
    let page = client
        .list_complaint_events(signed(
            &t.dealer_a,
            events("CMP-SH-0042-000000", String::new()),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_ne!(page.next_page_token, "AAAAAAAAAAE", "not the bare version");
    assert_eq!(
        code(
            client
                .list_complaint_events(signed(
                    &t.dealer_a,
                    events("CMP-SH-0042-000001", page.next_page_token.clone())
                ))
                .await
        ),
        Code::InvalidArgument
    );
    let next = client
        .list_complaint_events(signed(
            &t.dealer_a,
            events("CMP-SH-0042-000000", page.next_page_token),
        ))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(next.events[0].version, 1);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filings_go_to_the_dealers_own_region_only() {
    let root = tempfile::tempdir().unwrap();
    let t = tokens();
    let server = TestServer::start(
        root.path(),
        &t.file,
        registry(),
        ManualClock::new(at(MONDAY_10)),
    )
    .await;
    let mut client = server.complaints().await;

    // An EAST dealer claiming NORTH.
    let wrong_region = client
        .file_complaint(signed(
            &t.dealer_a,
            filing_request("SH-0042:CMP-T-1", "SH-0042", "NORTH"),
        ))
        .await;
    assert_eq!(code(wrong_region), Code::PermissionDenied);
    // An EAST CAC filing for a NORTH dealer, under EAST.
    let foreign_dealer = client
        .file_complaint(signed(
            &t.cac_east,
            filing_request("BJ-0007:CMP-T-2", "BJ-0007", "EAST"),
        ))
        .await;
    assert_eq!(code(foreign_dealer), Code::PermissionDenied);
    for (token, complaint) in [
        (&t.cac_north, "SH-0042:CMP-T-1"),
        (&t.dealer_b, "BJ-0007:CMP-T-2"),
    ] {
        let seen = client
            .get_complaint(signed(token, get_request(complaint)))
            .await;
        assert_eq!(code(seen), Code::NotFound);
    }
    // Where they belong, both go through.
    client
        .file_complaint(signed(
            &t.dealer_a,
            filing_request("SH-0042:CMP-T-1", "SH-0042", "EAST"),
        ))
        .await
        .expect("an EAST dealer files in EAST");
    client
        .file_complaint(signed(
            &t.cac_north,
            filing_request("BJ-0007:CMP-T-2", "BJ-0007", "NORTH"),
        ))
        .await
        .expect("a NORTH CAC files for a NORTH dealer");
    server.stop().await;
}

fn merge_into(target: &str) -> ComplaintEvent {
    MergedInto { target: id(target) }.into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_merge_needs_a_live_target_in_the_callers_scope() {
    let root = tempfile::tempdir().unwrap();
    let t = tokens();
    let server = TestServer::start(
        root.path(),
        &t.file,
        registry(),
        ManualClock::new(at(MONDAY_10)),
    )
    .await;
    let mut client = server.complaints().await;
    for (token, complaint, dealer, region) in [
        (&t.dealer_a, "SH-0042:CMP-A-1", "SH-0042", "EAST"),
        (&t.dealer_a, "SH-0042:CMP-A-2", "SH-0042", "EAST"),
        (&t.dealer_a, "SH-0042:CMP-A-3", "SH-0042", "EAST"),
        (&t.dealer_b, "BJ-0007:CMP-B-1", "BJ-0007", "NORTH"),
    ] {
        client
            .file_complaint(signed(token, filing_request(complaint, dealer, region)))
            .await
            .expect("filed");
    }
    let merge = |complaint: &str, target: &str| {
        signed(
            &t.dealer_a,
            append_request(complaint, vec![merge_into(target)]),
        )
    };
    // Another dealer's complaint answers as one that does not exist.
    let foreign = client
        .append_events(merge("SH-0042:CMP-A-1", "BJ-0007:CMP-B-1"))
        .await;
    assert_eq!(rule(foreign), "merge_target_unknown");
    let missing = client
        .append_events(merge("SH-0042:CMP-A-1", "CMP-NOWHERE"))
        .await;
    assert_eq!(rule(missing), "merge_target_unknown");
    let b = client
        .get_complaint(signed(&t.dealer_b, get_request("BJ-0007:CMP-B-1")))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(b.complaint.unwrap().version, 0, "B-1 is untouched");

    // Into a live complaint of its own: yes; into one merged away: no.
    client
        .append_events(merge("SH-0042:CMP-A-2", "SH-0042:CMP-A-1"))
        .await
        .expect("merged into a live complaint");
    let chained = client
        .append_events(merge("SH-0042:CMP-A-3", "SH-0042:CMP-A-2"))
        .await;
    assert_eq!(rule(chained), "merge_target_not_live");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_expire_and_removed_ones_stop_working_without_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let mut t = tokens();
    let clock = ManualClock::new(at(MONDAY_10));
    let short_lived = issue(&mut t.file, "temp", AuthRole::Auditor, |e| {
        e.expires_at = Some(at("2026-11-23T11:00:00+08:00"));
    });
    let server = TestServer::start(root.path(), &t.file, registry(), clock.clone()).await;
    let mut client = server.complaints().await;
    let listed = |token: &str| signed(token, list(String::new(), 1));

    client.list_complaints(listed(&short_lived)).await.unwrap();
    clock.set(at("2026-11-23T11:00:00+08:00"));
    assert_eq!(
        code(client.list_complaints(listed(&short_lived)).await),
        Code::Unauthenticated
    );

    // dealer_b's token leaves the file; the server notices within seconds.
    client.list_complaints(listed(&t.dealer_b)).await.unwrap();
    t.file.tokens.retain(|e| e.identity != "dms-bj-0007");
    write_tokens(&server.token_file, &t.file);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        match client.list_complaints(listed(&t.dealer_b)).await {
            Err(status) if status.code() == Code::Unauthenticated => break,
            _ if std::time::Instant::now() > deadline => {
                panic!("a removed token still works 20 s later")
            }
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    client.list_complaints(listed(&t.dealer_a)).await.unwrap();
    server.stop().await;
}

/// `complaintflow serve` as a process: SIGHUP reloads the token file instead of ending it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_the_tokens_and_the_server_carries_on() {
    use std::process::Stdio;

    let root = tempfile::tempdir().unwrap();
    let mut t = tokens();
    let token_file = root.path().join("tokens.toml");
    write_tokens(&token_file, &t.file);
    let mut child = support::cli::serve(&root.path().join("data"))
        .arg("--tokens")
        .arg(&token_file)
        .stderr(Stdio::null())
        .spawn()
        .expect("start the server");
    let address = support::cli::listening(&mut child, None);
    let channel = tonic::transport::Channel::from_shared(format!("http://{address}"))
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut client =
        complaintflow_server::api::proto::complaint_service_client::ComplaintServiceClient::new(
            channel,
        );
    let listed = |token: &str| signed(token, list(String::new(), 1));
    client.list_complaints(listed(&t.dealer_b)).await.unwrap();

    t.file.tokens.retain(|e| e.identity != "dms-bj-0007");
    write_tokens(&token_file, &t.file);
    let pid = i32::try_from(child.id()).unwrap();
    // SAFETY: sends a signal to the child this test started and has not reaped.
    assert_eq!(unsafe { libc::kill(pid, libc::SIGHUP) }, 0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        assert!(
            child.try_wait().unwrap().is_none(),
            "SIGHUP ended the server"
        );
        match client.list_complaints(listed(&t.dealer_b)).await {
            Err(status) if status.code() == Code::Unauthenticated => break,
            _ if std::time::Instant::now() > deadline => panic!("the token file was not reloaded"),
            _ => tokio::time::sleep(std::time::Duration::from_millis(100)).await,
        }
    }
    client.list_complaints(listed(&t.dealer_a)).await.unwrap();
    assert!(child.try_wait().unwrap().is_none(), "still serving");
    child.kill().unwrap();
    child.wait().unwrap();
}

/// Client-chosen complaint ids are in the dealer's namespace (`<dealer>:<number>`), so a
/// taken id is always one the caller may see: no answer tells whether another tenant
/// filed something, and two dealers' systems may use the same numbers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_complaint_id_tells_nothing_of_another_tenants_complaints() {
    let root = tempfile::tempdir().unwrap();
    let t = tokens();
    let server = TestServer::start(
        root.path(),
        &t.file,
        registry(),
        ManualClock::new(at(MONDAY_10)),
    )
    .await;
    let mut client = server.complaints().await;
    let mut file = async |token: &str, complaint: &str, dealer: &str, region: &str| {
        client
            .file_complaint(signed(token, filing_request(complaint, dealer, region)))
            .await
    };
    file(&t.dealer_b, "BJ-0007:RO-1", "BJ-0007", "NORTH")
        .await
        .expect("filed");

    // Filing in another dealer's namespace: refused alike, taken or not.
    let mut answers = Vec::new();
    for complaint in ["BJ-0007:RO-1", "BJ-0007:RO-2"] {
        let status = file(&t.dealer_a, complaint, "BJ-0007", "NORTH")
            .await
            .expect_err("not the caller's dealer");
        answers.push((status.code(), status.message().replace(complaint, "<id>")));
    }
    assert_eq!(answers[0].0, Code::PermissionDenied, "{answers:?}");
    assert_eq!(answers[0], answers[1], "taken and free ids answer alike");
    // An id outside the filing dealer's namespace, or in none, is refused before anything
    // is looked up.
    for complaint in ["BJ-0007:RO-1", "RO-1", "SH-0042:RO:1"] {
        let status = file(&t.dealer_a, complaint, "SH-0042", "EAST")
            .await
            .expect_err("not in the dealer's namespace");
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{complaint}: {status:?}"
        );
        assert!(status.message().contains("complaint_id"), "{status:?}");
    }
    // The same number in its own namespace is the dealer's own complaint; filing it again
    // (a new request) is ALREADY_EXISTS, about a complaint the dealer sees.
    file(&t.dealer_a, "SH-0042:RO-1", "SH-0042", "EAST")
        .await
        .expect("the same number, another dealer");
    let again = file(&t.dealer_a, "SH-0042:RO-1", "SH-0042", "EAST")
        .await
        .expect_err("taken by the caller itself");
    assert_eq!(again.code(), Code::AlreadyExists);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_event_id_another_tenant_used_answers_like_a_fresh_one() {
    let root = tempfile::tempdir().unwrap();
    let t = tokens();
    let server = TestServer::start(
        root.path(),
        &t.file,
        registry(),
        ManualClock::new(at(MONDAY_10)),
    )
    .await;
    let mut client = server.complaints().await;
    for (token, complaint, dealer, region) in [
        (&t.dealer_a, "SH-0042:CMP-OWN", "SH-0042", "EAST"),
        (&t.dealer_b, "BJ-0007:CMP-THEIRS", "BJ-0007", "NORTH"),
    ] {
        client
            .file_complaint(signed(token, filing_request(complaint, dealer, region)))
            .await
            .expect("filed");
    }
    let note = |text: &str| {
        ComplaintEvent::NoteAdded(complaintflow_domain::events::NoteAdded {
            text: complaintflow_domain::testkit::text(text),
        })
    };
    let with_id = |complaint: &str, text: &str, event_id: uuid::Uuid| {
        let mut request = append_request(complaint, vec![note(text)]);
        request.events[0].event_id = event_id.to_string();
        request
    };
    let used = uuid::Uuid::new_v4();
    client
        .append_events(signed(
            &t.dealer_b,
            with_id("BJ-0007:CMP-THEIRS", "theirs", used),
        ))
        .await
        .expect("appended");
    let mut answers = Vec::new();
    for event_id in [used, uuid::Uuid::new_v4()] {
        let appended = client
            .append_events(signed(
                &t.dealer_a,
                with_id("SH-0042:CMP-OWN", "ours", event_id),
            ))
            .await
            .map(tonic::Response::into_inner);
        answers.push(
            appended
                .map(|r| (r.replayed, r.events.len()))
                .map_err(|s| s.code()),
        );
    }
    assert_eq!(
        answers[0],
        Ok((false, 1)),
        "a foreign id is a new event here"
    );
    assert_eq!(answers[0], answers[1], "used and fresh ids answer alike");
    // And each complaint's retry is still a replay of its own event.
    let retry = client
        .append_events(signed(
            &t.dealer_b,
            with_id("BJ-0007:CMP-THEIRS", "theirs", used),
        ))
        .await
        .expect("replayed")
        .into_inner();
    assert!(retry.replayed);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_id_another_tenant_used_files_a_complaint_of_ones_own() {
    let root = tempfile::tempdir().unwrap();
    let t = tokens();
    let server = TestServer::start(
        root.path(),
        &t.file,
        registry(),
        ManualClock::new(at(MONDAY_10)),
    )
    .await;
    let mut client = server.complaints().await;
    // Both dealer systems derive request ids the same way, and leave the id to the server.
    let shared = uuid::Uuid::new_v4();
    let unnamed = |dealer: &str, region: &str, request_id: uuid::Uuid| {
        let mut request = filing_request("unused", dealer, region);
        request.complaint_id = String::new();
        request.request_id = request_id.to_string();
        request
    };
    let theirs = client
        .file_complaint(signed(&t.dealer_b, unnamed("BJ-0007", "NORTH", shared)))
        .await
        .expect("filed")
        .into_inner();
    let mut answers = Vec::new();
    for request_id in [shared, uuid::Uuid::new_v4()] {
        let filed = client
            .file_complaint(signed(&t.dealer_a, unnamed("SH-0042", "EAST", request_id)))
            .await
            .map(tonic::Response::into_inner);
        answers.push(filed);
    }
    let ours = answers[0].as_ref().expect("a complaint of its own");
    assert!(!ours.replayed);
    assert_ne!(ours.complaint_id, theirs.complaint_id);
    let fresh = answers[1].as_ref().expect("filed");
    assert_eq!(
        (ours.version, ours.replayed),
        (fresh.version, fresh.replayed)
    );
    // A retry is still a replay of the caller's own filing.
    let retry = client
        .file_complaint(signed(&t.dealer_a, unnamed("SH-0042", "EAST", shared)))
        .await
        .expect("replayed")
        .into_inner();
    assert!(retry.replayed);
    assert_eq!(retry.complaint_id, ours.complaint_id);
    server.stop().await;
}
