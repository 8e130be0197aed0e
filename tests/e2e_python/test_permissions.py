"""Who may see and write what: dealers, the CAC, auditors, and callers without a token."""

from __future__ import annotations

import grpc

import cfsupport as cf
from cfsupport import audit, cpb, sub

NOT_FOUND = grpc.StatusCode.NOT_FOUND
DENIED = grpc.StatusCode.PERMISSION_DENIED
UNAUTHENTICATED = grpc.StatusCode.UNAUTHENTICATED


def test_a_dealer_cannot_reach_another_dealers_complaint(clients, plan):
    a, b = clients.dealer_a, clients.dealer_b
    cid = "SH-0042:CMP-PRIVATE-A"
    a.file(cf.file_request(plan, complaint_id=cid))
    a.append(cid, cf.submission(cf.apologized(), plan.at(1)), expected_version=0)
    name = f"complaints/{cid}"

    # Reads: NOT_FOUND, exactly like a complaint that does not exist.
    hidden = cf.fails(NOT_FOUND, b.get, cid)
    missing = cf.fails(NOT_FOUND, b.get, "SH-0042:CMP-DOES-NOT-EXIST")
    assert hidden.message.replace(cid, "X") == missing.message.replace("SH-0042:CMP-DOES-NOT-EXIST", "X"), (
        "the refusal must not tell a hidden complaint from a missing one"
    )
    cf.fails(NOT_FOUND, b.get, cid, as_of_version=0)
    cf.fails(NOT_FOUND, b.timeline, cid)
    cf.fails(NOT_FOUND, b.timeline, cid, descending=True)
    cf.fails(NOT_FOUND, b.audit.VerifyComplaint, audit.VerifyComplaintRequest(name=name))

    # Listing and statistics leave it out, even when asked for by dealer code.
    assert list(b.complaints.ListComplaints(cpb.ListComplaintsRequest()).complaints) == []
    assert list(b.complaints.ListComplaints(cpb.ListComplaintsRequest(dealer_code=cf.DEALER_A)).complaints) == []
    assert b.complaints.GetStatistics(cpb.GetStatisticsRequest(dealer_code=cf.DEALER_A)).complaints == 0

    # Writes: refused, and nothing is written.
    # (PERMISSION_DENIED or NOT_FOUND are both allowed; the server answers NOT_FOUND,
    # which does not even tell B that the complaint exists.)
    for expected_version in (None, 1, 0):
        cf.fails((DENIED, NOT_FOUND), b.append, cid, cf.submission(cf.note("B was here")), expected_version=expected_version)
    # Filing for a dealer it does not act for.
    cf.fails(DENIED, b.file, cf.file_request(plan, complaint_id="SH-0042:CMP-B-FOR-A"))
    cf.fails(NOT_FOUND, clients.admin.get, "SH-0042:CMP-B-FOR-A")

    assert a.get(cid).version == 1
    assert [e.actor for e in a.timeline(cid)] == ["dealer_staff:dealer-a"] * 2

    # A's own service manager and the CAC of A's region see it; the manager writes as
    # a service manager.
    assert clients.cac_east.get(cid).version == 1
    clients.manager_a.append(cid, cf.submission(cf.note("Manager looked")), expected_version=1)
    assert a.timeline(cid)[-1].actor == "service_manager:manager-a"
    assert clients.cac_east.timeline(cid)[-1].version == 2


def test_the_auditor_reads_everything_and_writes_nothing(clients, plan):
    cid = "SH-0042:CMP-AUDITED"
    clients.dealer_a.file(cf.file_request(plan, complaint_id=cid))
    auditor = clients.auditor
    assert auditor.get(cid).complaint_id == cid
    assert len(auditor.timeline(cid)) == 1
    cf.wait_until(
        lambda: len(auditor.complaints.ListComplaints(cpb.ListComplaintsRequest()).complaints) == 1,
        what="the complaint listed for the auditor",
    )

    failure = cf.fails(DENIED, auditor.append, cid, cf.submission(cf.note("auditor note")))
    assert "auditor" in failure.message
    cf.fails(DENIED, auditor.append, cid, cf.submission(cf.note("auditor note")), expected_version=0)
    cf.fails(DENIED, auditor.file, cf.file_request(plan, complaint_id="SH-0042:CMP-BY-AUDITOR"))
    assert clients.admin.get(cid).version == 0
    cf.fails(NOT_FOUND, clients.admin.get, "SH-0042:CMP-BY-AUDITOR")


def test_calls_without_a_valid_token_are_unauthenticated(clients, plan):
    cid = "SH-0042:CMP-AUTH"
    clients.dealer_a.file(cf.file_request(plan, complaint_id=cid))
    callers = {
        "no token": clients.anonymous,
        "unknown token": clients.with_authorization("Bearer cft_" + "0" * 64),
        "not bearer": clients.with_authorization("Basic ZGVhbGVyOnNlY3JldA=="),
        "empty bearer": clients.with_authorization("Bearer "),
    }
    for label, caller in callers.items():
        calls = {
            "GetComplaint": lambda: caller.get(cid),
            "ListComplaints": lambda: caller.complaints.ListComplaints(cpb.ListComplaintsRequest()),
            "FileComplaint": lambda: caller.file(cf.file_request(plan)),
            "AppendEvents": lambda: caller.append(cid, cf.submission(cf.note())),
            "ListComplaintEvents": lambda: caller.timeline(cid),
            "GetStatistics": lambda: caller.complaints.GetStatistics(cpb.GetStatisticsRequest()),
            "VerifyComplaint": lambda: caller.audit.VerifyComplaint(audit.VerifyComplaintRequest(name=f"complaints/{cid}")),
            "VerifyLog": lambda: caller.audit.VerifyLog(audit.VerifyLogRequest()),
            "Subscribe": lambda: next(iter(caller.subscriptions.Subscribe(sub.SubscribeRequest(), timeout=10))),
        }
        for method, invoke in calls.items():
            try:
                invoke()
            except grpc.RpcError as err:
                assert err.code() == UNAUTHENTICATED, f"{label} / {method}: {err.code()} {err.details()}"
            else:
                raise AssertionError(f"{label} / {method}: accepted")
    assert clients.admin.get(cid).version == 0
