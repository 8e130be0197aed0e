"""The complaintflow package's client against the real server, through a proxy that
loses answers, drops connections and stands in for a server that is briefly away."""

from __future__ import annotations

import subprocess
import threading
import time

import grpc
import pytest

import cfsupport as cf
import complaintflow
from cfsupport import cpb
from faultproxy import FaultProxy

# Quick enough for a test, patient enough for a server start (about 20 attempts over
# several seconds).
PATIENT = complaintflow.RetryPolicy(max_attempts=20, initial_backoff=0.05, max_backoff=0.5)


@pytest.fixture
def proxy(server):
    with FaultProxy(server.address) as p:
        yield p


class Restarts:
    """Stops or kills the test's server and starts it again on its data directory, with
    the proxy pointed at the new one; stops the last one at teardown."""

    def __init__(self, server: cf.Server, tokens, tmp_path, proxy: FaultProxy):
        self.first = server
        self.current = server
        self.tokens = tokens
        self.tmp_path = tmp_path
        self.proxy = proxy
        self.restarted = threading.Event()

    def kill(self):
        self.current.stopped = True
        self.current.process.kill()
        self.current.process.wait(30)

    def stop(self):
        assert self.current.stop() == 0, self.current.log_tail()

    def start_once(self):
        if self.restarted.is_set():
            return
        self.current = cf.start_server(
            self.first.data_dir, self.tokens["_file"], self.tmp_path / f"server-{self.proxy.accepted}.log"
        )
        self.proxy.upstream = self.current.address
        self.restarted.set()

    def close(self):
        if self.current is not self.first and not self.current.stopped:
            assert self.current.stop() == 0, self.current.log_tail()


@pytest.fixture
def restarts(server, tokens, tmp_path, proxy):
    r = Restarts(server, tokens, tmp_path, proxy)
    yield r
    r.close()


def test_a_write_whose_answer_is_lost_is_retried_with_its_request_id(proxy, clients, tokens, plan):
    """The proxy closes the connection instead of passing on the server's answer: the
    server wrote, the client saw UNAVAILABLE. The retry must be a replay: a client that
    picked a new request id would be refused the filing (the id is taken) and would
    append the note twice."""
    cid = "SH-0042:CMP-LOST-ANSWER"
    waits = []
    with complaintflow.Client(proxy.address, token=tokens["dealer_a"], retry=PATIENT, sleep=waits.append) as client:
        filing = cf.file_request(cf.time_plan(), complaint_id=cid)
        filing.request_id = ""  # the client picks one, once
        proxy.lose_answers(1)
        filed = client.file_complaint(filing)
        assert proxy.lost == 1 and waits, "the first answer was lost and the call retried"
        assert filed.replayed and (filed.complaint_id, filed.version) == (cid, 0)
        assert filing.request_id == "", "the caller's message is left as it was"

        proxy.lose_answers(2)
        appended = client.append_events(
            cpb.AppendEventsRequest(name=f"complaints/{cid}", events=[cf.submission(cf.note("once"))])
        )
        assert proxy.lost == 3 and appended.replayed and appended.version == 1

    timeline = clients.admin.timeline(cid)
    assert [e.event_type for e in timeline] == ["complaint.filed", "complaint.note_added"], "each written once"
    assert timeline[1].event_id == appended.events[0].event_id


def test_a_call_waits_out_a_server_that_is_briefly_away(proxy, restarts, tokens, plan):
    """The server stops; a filing made meanwhile fails with UNAVAILABLE until it is back
    (started again by the client's second wait), then goes through once."""
    restarts.stop()
    waits = []

    def wait(seconds):
        waits.append(seconds)
        if len(waits) == 2:
            restarts.start_once()
        time.sleep(seconds)  # the channel reconnects meanwhile

    with complaintflow.Client(proxy.address, token=tokens["dealer_a"], retry=PATIENT, sleep=wait) as client:
        filed = client.file_complaint(cf.file_request(plan, complaint_id="SH-0042:CMP-AWAY"))
        assert not filed.replayed and len(waits) >= 2
        assert client.get_complaint("SH-0042:CMP-AWAY").version == 0

        # Giving up: with the proxy refusing, the last UNAVAILABLE comes out after the
        # policy's attempts.
        proxy.refusing = True
        proxy.drop_all()
        waits.clear()
        brief = complaintflow.Client.from_channel(
            client.channel,
            token=tokens["dealer_a"],
            retry=complaintflow.RetryPolicy(max_attempts=3, initial_backoff=0.01, jitter=0),
            sleep=waits.append,
        )
        with pytest.raises(grpc.RpcError) as raised:
            brief.get_complaint("SH-0042:CMP-AWAY")
        assert raised.value.code() == grpc.StatusCode.UNAVAILABLE and waits == [0.01, 0.02]


def test_refusals_are_not_retried(server, tokens, plan):
    waits = []
    with complaintflow.Client(server.address, token=tokens["dealer_a"], sleep=waits.append) as client:
        with pytest.raises(grpc.RpcError) as raised:
            client.get_complaint("SH-0042:CMP-NEVER")
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND
        client.file_complaint(cf.file_request(plan, complaint_id="SH-0042:CMP-ONCE"))
        with pytest.raises(grpc.RpcError) as raised:
            client.append_events(
                cpb.AppendEventsRequest(name="complaints/SH-0042:CMP-ONCE", expected_version=5, events=[cf.submission(cf.note())])
            )
        failure = complaintflow.decode(raised.value)
        assert (failure.code, failure.reason) == (grpc.StatusCode.ABORTED, "WRONG_EXPECTED_VERSION")
        assert failure.metadata["actual_version"] == "0"
    assert waits == []


def test_listings_page_through_everything_once(server, clients, tokens, plan):
    ours = [f"SH-0042:CMP-PAGE-{i:02}" for i in range(7)]
    for cid in ours:
        clients.dealer_a.file(cf.file_request(plan, complaint_id=cid))
    clients.dealer_b.file(cf.file_request(plan, complaint_id="BJ-0007:CMP-PAGE-B", dealer=cf.DEALER_B, region=cf.REGION_B))
    cid = ours[0]
    for k in range(3):
        clients.dealer_a.append(cid, *[cf.submission(cf.note(f"{k}-{i}")) for i in range(80)])

    with complaintflow.Client(server.address, token=tokens["dealer_a"]) as client:
        first = client.complaints.ListComplaints(cpb.ListComplaintsRequest(page_size=2), metadata=client.metadata)
        assert len(first.complaints) == 2 and first.next_page_token, "more than one page"
        paged = [c.complaint_id for c in client.list_complaints(cpb.ListComplaintsRequest(page_size=2))]
        assert sorted(paged) == ours and len(paged) == len(set(paged)), "each of ours once, not B's"
        whole = [c.complaint_id for c in client.list_complaints()]
        assert paged == whole
        filtered = cpb.ListComplaintsRequest(page_size=3, dealer_code=cf.DEALER_B)
        assert list(client.list_complaints(filtered)) == []

        # 241 events: three pages at the server's default of 100, many at 7.
        versions = [e.version for e in client.list_complaint_events(cid)]
        assert versions == list(range(241))
        assert [e.version for e in client.list_complaint_events(f"complaints/{cid}", page_size=7)] == versions
        assert [e.version for e in client.list_complaint_events(cid, descending=True, page_size=50)] == versions[::-1]
        notes = [e.event.note_added.text for e in client.list_complaint_events(cid)][1:]
        assert notes == [f"{k}-{i}" for k in range(3) for i in range(80)]


def read(reader: cf.StreamReader, count: int) -> list:
    events = []
    for _ in range(count):
        event = reader.next(30)
        assert event is not None, f"the subscription ended: {reader.error}"
        events.append(event)
    return events


def seed(clients, plan, prefix, count):
    """`count` complaints of dealer A with two events each."""
    for i in range(count):
        cid = f"{prefix}-{i}"
        clients.dealer_a.file(cf.file_request(plan, complaint_id=cid))
        clients.dealer_a.append(cid, cf.submission(cf.apologized(), plan.at(1)), expected_version=0)


def test_a_subscription_resumes_after_dropped_connections_without_gap_or_duplicate(proxy, clients, tokens, plan):
    seed(clients, plan, "SH-0042:CMP-RESUME", 3)  # positions 0..5
    with complaintflow.Client(proxy.address, token=tokens["admin"], retry=PATIENT) as client:
        subscription = client.subscribe()
        reader = cf.StreamReader(subscription)
        try:
            got = read(reader, 4)
            # The rest of the seed is probably in the client's buffers: lost with the
            # connection, it must come again from the server.
            proxy.drop_all()
            seed(clients, plan, "SH-0042:CMP-RESUME-MORE", 2)  # 6..9
            got += read(reader, 6)
            proxy.drop_all()
            clients.dealer_a.append("SH-0042:CMP-RESUME-0", cf.submission(cf.note("live")))  # 10
            got += read(reader, 1)
        finally:
            reader.cancel()
        assert [e.position for e in got] == list(range(11)), "contiguous: no gap, no duplicate"
        assert subscription.reconnects >= 2 and subscription.position == 11
        assert got[-1].event.note_added.text == "live"
        assert reader.next(5) is None and reader.error is None, "cancel() ends it cleanly"

        # A stored position resumes a later subscription where this one stopped.
        clients.dealer_a.append("SH-0042:CMP-RESUME-0", cf.submission(cf.note("later")))
        later = cf.StreamReader(client.subscribe(subscription.position))
        try:
            assert [e.position for e in read(later, 1)] == [11]
        finally:
            later.cancel()


def test_a_subscription_resumes_across_a_kill_of_the_server(proxy, restarts, clients, tokens, plan):
    seed(clients, plan, "SH-0042:CMP-KILL", 2)  # positions 0..3

    def wait(seconds):
        restarts.start_once()
        time.sleep(seconds)

    with complaintflow.Client(proxy.address, token=tokens["dealer_a"], retry=PATIENT, sleep=wait) as client:
        subscription = client.subscribe(event_types=["complaint.filed", "complaint.note_added"])
        reader = cf.StreamReader(subscription)
        try:
            before = read(reader, 2)
            restarts.kill()
            assert restarts.restarted.wait(60), "the subscription noticed the server gone and waited"
            with grpc.insecure_channel(restarts.current.address) as channel:
                dealer = cf.Client(channel, tokens["dealer_a"])
                dealer.append("SH-0042:CMP-KILL-0", cf.submission(cf.note("after the restart")))  # 4
                dealer.append("SH-0042:CMP-KILL-1", cf.submission(cf.apologized()))  # 5, filtered out
                dealer.append("SH-0042:CMP-KILL-1", cf.submission(cf.note("and another")))  # 6
            after = read(reader, 2)
        finally:
            reader.cancel()
    assert [(e.position, e.event_type) for e in before + after] == [
        (0, "complaint.filed"),
        (2, "complaint.filed"),
        (4, "complaint.note_added"),
        (6, "complaint.note_added"),
    ]
    assert subscription.reconnects >= 1 and subscription.position == 7


def self_signed(directory, name):
    """A certificate for 127.0.0.1 and its key, made with the openssl command."""
    cert, key = directory / f"{name}.pem", directory / f"{name}.key"
    command = [
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", f"/CN={name}", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
        "-keyout", str(key), "-out", str(cert),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return cert, key


def test_tls_checks_the_servers_certificate(tmp_path, tokens, plan):
    cert, key = self_signed(tmp_path, "complaintflow-test")
    stranger, _ = self_signed(tmp_path, "someone-else")
    srv = cf.start_server(
        tmp_path / "tls-data", tokens["_file"], tmp_path / "tls.log", extra_args=("--tls-cert", str(cert), "--tls-key", str(key))
    )
    try:
        with complaintflow.Client(srv.address, token=tokens["dealer_a"], tls=True, root_certificates=cert.read_bytes()) as client:
            assert client.file_complaint(cf.file_request(plan, complaint_id="SH-0042:CMP-TLS")).version == 0
        refused = dict(token=tokens["dealer_a"], retry=complaintflow.NO_RETRY, timeout=10)
        with complaintflow.Client(srv.address, tls=True, root_certificates=stranger.read_bytes(), **refused) as client:
            with pytest.raises(grpc.RpcError) as raised:
                client.get_complaint("SH-0042:CMP-TLS")
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        with complaintflow.Client(srv.address, **refused) as plaintext:
            with pytest.raises(grpc.RpcError) as raised:
                plaintext.get_complaint("SH-0042:CMP-TLS")
            assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
        with pytest.raises(ValueError):
            complaintflow.Client(srv.address, root_certificates=cert.read_bytes())
    finally:
        assert srv.stop() == 0, srv.log_tail()
