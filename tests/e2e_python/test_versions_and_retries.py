"""Optimistic concurrency (expected_version) and idempotent retries (request_id)."""

from __future__ import annotations

import grpc

import cfsupport as cf
from cfsupport import cpb

ABORTED = grpc.StatusCode.ABORTED
ALREADY_EXISTS = grpc.StatusCode.ALREADY_EXISTS


def test_a_stale_expected_version_is_aborted_with_both_versions(clients, plan):
    dealer = clients.dealer_a
    cid = "SH-0042:CMP-STALE"
    dealer.file(cf.file_request(plan, complaint_id=cid))
    first = dealer.append(cid, cf.submission(cf.apologized(), plan.at(1)), expected_version=0)
    assert first.version == 1
    second = dealer.append(cid, cf.submission(cf.reported(), plan.at(2)), expected_version=1)
    assert second.version == 2

    # Someone who last saw version 0 tries to write.
    failure = cf.fails(ABORTED, dealer.append, cid, cf.submission(cf.note("stale")), expected_version=0)
    assert failure.error_info is not None, f"ABORTED without ErrorInfo: {failure.message}"
    assert failure.error_info.reason == "WRONG_EXPECTED_VERSION"
    assert failure.error_info.domain == "complaintflow"
    assert dict(failure.error_info.metadata) == {
        "complaint_id": cid,
        "expected_version": "0",
        "actual_version": "2",
    }
    # Ahead of the stream is as wrong as behind it.
    ahead = cf.fails(ABORTED, dealer.append, cid, cf.submission(cf.note("ahead")), expected_version=7)
    assert (ahead.error_info.metadata["expected_version"], ahead.error_info.metadata["actual_version"]) == ("7", "2")
    # Nothing was written by either.
    assert dealer.get(cid).version == 2
    assert len(dealer.timeline(cid)) == 3

    # With the current version it goes through; with no expected version, too.
    assert dealer.append(cid, cf.submission(cf.note("fresh")), expected_version=2).version == 3
    assert dealer.append(cid, cf.submission(cf.note("unconditional"))).version == 4
    # A complaint that was never filed is NOT_FOUND for writes as for reads, with or
    # without an expected version: answers never tell which complaints exist.
    cf.fails(grpc.StatusCode.NOT_FOUND, dealer.append, "SH-0042:CMP-NEVER-FILED", cf.submission(cf.note("x")), expected_version=0)
    cf.fails(grpc.StatusCode.NOT_FOUND, dealer.append, "SH-0042:CMP-NEVER-FILED", cf.submission(cf.note("x")))
    cf.fails(grpc.StatusCode.NOT_FOUND, clients.admin.get, "SH-0042:CMP-NEVER-FILED")


def test_retrying_a_request_returns_the_original_answer_and_writes_once(clients, plan):
    dealer = clients.dealer_a
    cid = "SH-0042:CMP-RETRY"
    filing = cf.file_request(plan, complaint_id=cid)
    original = dealer.file(filing)
    assert not original.replayed
    retried = dealer.file(filing)
    assert retried.replayed
    assert (retried.complaint_id, retried.name, retried.version, retried.position) == (
        original.complaint_id,
        original.name,
        original.version,
        original.position,
    )

    # An append retried: once with its own event times, once with the server's time
    # (the retry must take the stored time again to be the same request).
    request = cpb.AppendEventsRequest(
        name=f"complaints/{cid}",
        request_id=cf.new_id(),
        expected_version=0,
        events=[cf.submission(cf.apologized(), plan.at(1)), cf.submission(cf.reported(), plan.at(2))],
    )
    first = dealer.complaints.AppendEvents(request)
    again = dealer.complaints.AppendEvents(request)  # expected_version 0 is stale by now
    assert (first.replayed, again.replayed) == (False, True)
    assert (again.version, again.position) == (first.version, first.position) == (2, 2)
    assert list(again.events) == list(first.events)
    assert all(e.event_id for e in first.events)

    untimed = cpb.AppendEventsRequest(
        name=f"complaints/{cid}", request_id=cf.new_id(), events=[cf.submission(cf.note("untimed"))]
    )
    u1 = dealer.complaints.AppendEvents(untimed)
    u2 = dealer.complaints.AppendEvents(untimed)
    assert (u1.replayed, u2.replayed, u2.version, u2.position) == (False, True, u1.version, u1.position)

    timeline = dealer.timeline(cid)
    assert [e.event_type for e in timeline] == [
        "complaint.filed",
        "complaint.apologized",
        "complaint.reported_to_cac",
        "complaint.note_added",
    ], "every event once"
    assert [e.event_id for e in timeline[1:3]] == [e.event_id for e in first.events]
    assert dealer.get(cid).version == 3

    # The same request id with different content is a conflict, not a replay.
    changed = cpb.AppendEventsRequest()
    changed.CopyFrom(request)
    changed.events[0].event.apologized.note = "A different apology"
    conflict = cf.fails(ALREADY_EXISTS, dealer.complaints.AppendEvents, changed)
    assert conflict.error_info is not None and conflict.error_info.reason == "EVENT_ID_REUSED"
    assert conflict.error_info.metadata["event_id"] == first.events[0].event_id

    changed_filing = cpb.FileComplaintRequest()
    changed_filing.CopyFrom(filing)
    changed_filing.filed.description = "Another story altogether"
    cf.fails(ALREADY_EXISTS, dealer.file, changed_filing)
    # Filing the same complaint id again under a new request id.
    again_filing = cpb.FileComplaintRequest()
    again_filing.CopyFrom(filing)
    again_filing.request_id = cf.new_id()
    refiled = cf.fails(ALREADY_EXISTS, dealer.file, again_filing)
    assert cid in refiled.message
    assert dealer.get(cid).version == 3
    assert len(dealer.timeline(cid)) == 4


def test_a_filing_without_complaint_id_derives_a_stable_one(clients, plan):
    dealer = clients.dealer_a
    request = cf.file_request(plan)
    request.complaint_id = ""
    first = dealer.file(request)
    second = dealer.file(request)
    assert first.complaint_id and first.name == f"complaints/{first.complaint_id}"
    assert (second.replayed, second.complaint_id, second.position) == (True, first.complaint_id, first.position)
    other = cf.file_request(plan)
    other.complaint_id = ""
    assert dealer.file(other).complaint_id != first.complaint_id
