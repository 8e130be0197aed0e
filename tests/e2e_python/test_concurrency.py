"""Many clients at once: appends stay atomic and contiguous, and a request retried while
its first attempt is still in flight is still answered as a retry."""

from __future__ import annotations

import collections
import threading
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest

import cfsupport as cf
from cfsupport import cpb

WORKERS = 8
TRIALS = 60


@pytest.fixture
def dealers(server, tokens):
    """WORKERS clients of dealer A, each on a connection of its own."""
    channels = [
        grpc.insecure_channel(server.address, options=[("grpc.use_local_subchannel_pool", 1)]) for _ in range(WORKERS)
    ]
    yield [cf.Client(ch, tokens["dealer_a"]) for ch in channels]
    for ch in channels:
        ch.close()


def outcome(fn):
    try:
        response = fn()
    except grpc.RpcError as err:
        return (err.code().name, err.details())
    return ("OK", response)


def all_at_once(pool, calls):
    """Runs the calls together (released by one barrier); their outcomes, in order."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        barrier.wait(10)
        return outcome(call)

    return list(pool.map(run, calls))


def test_concurrent_appends_are_atomic_and_contiguous(dealers, plan):
    cid = "SH-0042:CMP-BUSY"
    dealers[0].file(cf.file_request(plan, complaint_id=cid))
    per_worker = 8

    def work(i):
        results = []
        for k in range(per_worker):
            pair = (cf.submission(cf.note(f"w{i} n{k} a")), cf.submission(cf.note(f"w{i} n{k} b")))
            results.append(outcome(lambda: dealers[i].append(cid, *pair)))
        return results

    with ThreadPoolExecutor(WORKERS) as pool:
        results = [r for rs in pool.map(work, range(WORKERS)) for r in rs]
    codes = collections.Counter(code for code, _ in results)
    # Without an expected version the engine retries a lost race; under heavy
    # contention it may give up with ABORTED (the client retries), never anything else.
    assert set(codes) <= {"OK", "ABORTED"}, codes
    assert codes["OK"] >= len(results) // 2, codes
    accepted = [response for code, response in results if code == "OK"]

    timeline = dealers[0].timeline(cid)
    assert [e.version for e in timeline] == list(range(len(timeline)))
    assert len(timeline) == 1 + 2 * len(accepted), "every accepted append wrote both events, nothing else"
    # Each append's two events are adjacent: nobody got in between.
    for response in accepted:
        assert [e.version for e in response.events] == [response.version - 1, response.version]
    texts = [e.event.note_added.text for e in timeline[1:]]
    assert all(a.endswith(" a") and b == a[:-1] + "b" for a, b in zip(texts[::2], texts[1::2]))
    assert dealers[0].get(cid).version == len(timeline) - 1


# Bug: concurrent retries of one FileComplaint.
def test_concurrent_retries_of_one_filing_are_all_answered_as_retries(dealers, plan):
    with ThreadPoolExecutor(WORKERS) as pool:
        for trial in range(TRIALS):
            request = cf.file_request(plan, complaint_id=f"SH-0042:CMP-RACE-{trial}")
            results = all_at_once(pool, [lambda c=c: c.file(request) for c in dealers])
            refused = [r for r in results if r[0] != "OK"]
            unexpected = [r for r in refused if r[0] != "ALREADY_EXISTS"]
            if unexpected:
                raise RuntimeError(f"trial {trial}: {unexpected[0]}")
            assert not refused, f"trial {trial}: {refused[0]} ({len(refused)} of {WORKERS} refused)"
            responses = [r for _, r in results]
            assert sorted(r.replayed for r in responses) == [False] + [True] * (WORKERS - 1)
            assert len({(r.complaint_id, r.version, r.position) for r in responses}) == 1


# Bug: concurrent retries of one AppendEvents.
def test_concurrent_retries_of_one_append_are_all_answered_as_retries(dealers, plan):
    with ThreadPoolExecutor(WORKERS) as pool:
        for trial in range(TRIALS):
            cid = f"SH-0042:CMP-APPEND-RACE-{trial}"
            dealers[0].file(cf.file_request(plan, complaint_id=cid))
            request = cpb.AppendEventsRequest(
                name=f"complaints/{cid}",
                request_id=cf.new_id(),
                events=[cf.submission(cf.reported(), plan.at(1))],
            )
            results = all_at_once(pool, [lambda c=c: c.complaints.AppendEvents(request) for c in dealers])
            refused = [r for r in results if r[0] != "OK"]
            unexpected = [r for r in refused if r[0] != "FAILED_PRECONDITION"]
            if unexpected:
                raise RuntimeError(f"trial {trial}: {unexpected[0]}")
            assert not refused, f"trial {trial}: {refused[0]} ({len(refused)} of {WORKERS} refused)"
            responses = [r for _, r in results]
            assert sorted(r.replayed for r in responses) == [False] + [True] * (WORKERS - 1)
            assert {(r.version, r.position) for r in responses} == {(responses[0].version, responses[0].position)}
            assert len(dealers[0].timeline(cid)) == 2
