"""Following the global log: resuming after a disconnect, and what a dealer sees."""

from __future__ import annotations

import cfsupport as cf
from cfsupport import sub


def seed(clients, plan, prefix: str, count: int) -> list[str]:
    """`count` complaints alternately of dealer A and dealer B, each with two events.
    Returns their ids in filing order."""
    ids = []
    for i in range(count):
        ours = i % 2 == 0
        client = clients.dealer_a if ours else clients.dealer_b
        dealer, region = (cf.DEALER_A, cf.REGION_A) if ours else (cf.DEALER_B, cf.REGION_B)
        cid = f"{dealer}:{prefix}-{'A' if ours else 'B'}{i}"
        client.file(cf.file_request(plan, complaint_id=cid, dealer=dealer, region=region))
        client.append(cid, cf.submission(cf.apologized(), plan.at(1)), expected_version=0)
        ids.append(cid)
    return ids


def read_events(reader: cf.StreamReader, until, timeout=10.0) -> tuple[list, list]:
    """Reads until `until(events, checkpoints)` holds; returns both lists. Checks on the
    way that the stream only moves forward: an event never comes at or before a
    position already covered by an earlier event or checkpoint."""
    events, checkpoints = [], []
    frontier = reader.frontier if hasattr(reader, "frontier") else 0
    while not until(events, checkpoints):
        message = reader.next(timeout)
        assert message is not None, f"the stream ended early: {reader.error}"
        kind = message.WhichOneof("message")
        if kind == "event":
            assert message.event.position >= frontier, (message.event.position, frontier)
            frontier = message.event.position + 1
            events.append(message.event)
        elif kind == "checkpoint":
            assert message.checkpoint.next_position >= frontier, (message.checkpoint.next_position, frontier)
            frontier = message.checkpoint.next_position
            checkpoints.append(message.checkpoint.next_position)
        else:
            raise AssertionError(f"a message with neither event nor checkpoint: {message}")
    reader.frontier = frontier
    return events, checkpoints


def test_a_subscription_resumes_after_a_disconnect_without_gap_or_duplicate(clients, plan):
    admin = clients.admin
    seed(clients, plan, "CMP-SUB1", 4)  # positions 0..7

    first = cf.StreamReader(admin.subscriptions.Subscribe(sub.SubscribeRequest(start_position=0), timeout=60))
    got, _ = read_events(first, lambda events, _: len(events) == 5)
    first.cancel()
    assert [e.position for e in got] == [0, 1, 2, 3, 4]
    last = got[-1].position

    # While disconnected: more events, for both dealers.
    seed(clients, plan, "CMP-SUB2", 3)  # positions 8..13
    head = 13

    second = cf.StreamReader(admin.subscriptions.Subscribe(sub.SubscribeRequest(start_position=last + 1), timeout=60))
    more, _ = read_events(second, lambda events, _: events and events[-1].position >= head)
    # Then live: an event appended now arrives on the open stream.
    clients.dealer_a.append("SH-0042:CMP-SUB2-A0", cf.submission(cf.note("live")))
    live, _ = read_events(second, lambda events, _: len(events) == 1)
    second.cancel()

    positions = [e.position for e in got + more + live]
    assert positions == list(range(head + 2)), f"contiguous, no gap, no duplicate: {positions}"
    assert live[0].complaint_id == "SH-0042:CMP-SUB2-A0" and live[0].event_type == "complaint.note_added"
    # Each event as the timeline has it.
    timeline = {(e.complaint_id, e.version): e for cid in {e.complaint_id for e in got + more} for e in admin.timeline(cid)}
    for e in got + more:
        assert e.SerializeToString() == timeline[(e.complaint_id, e.version)].SerializeToString()


def test_a_dealers_subscription_never_shows_another_dealers_events(clients, plan):
    ids = seed(clients, plan, "CMP-SUB3", 6)  # A0 B1 A2 B3 A4 B5: positions 0..11
    ours = [cid for cid in ids if "-A" in cid]
    theirs = [cid for cid in ids if "-B" in cid]
    head = 11

    def everything_considered(events, checkpoints):
        seen = max([e.position + 1 for e in events] + checkpoints + [0])
        return seen > head

    reader = cf.StreamReader(clients.dealer_a.subscriptions.Subscribe(sub.SubscribeRequest(), timeout=60))
    events, checkpoints = read_events(reader, everything_considered)
    # A new event of B, then one of A: only A's arrives as an event.
    clients.dealer_b.append(theirs[0], cf.submission(cf.note("B live")))
    clients.dealer_a.append(ours[0], cf.submission(cf.note("A live")))
    live, _ = read_events(reader, lambda evs, _: len(evs) == 1)
    reader.cancel()

    assert {e.complaint_id for e in events + live} <= set(ours)
    assert [(e.complaint_id, e.version) for e in events] == [(cid, v) for cid in ours for v in (0, 1)]
    assert (live[0].complaint_id, live[0].event_type) == (ours[0], "complaint.note_added")
    assert checkpoints, "B's events were skipped with checkpoints"

    # B's subscription, with a filter on its own dealer code, shows B's and nothing else;
    # asking for A's dealer code shows nothing at all.
    reader = cf.StreamReader(clients.dealer_b.subscriptions.Subscribe(sub.SubscribeRequest(), timeout=60))
    b_events, _ = read_events(reader, lambda evs, cps: max([e.position + 1 for e in evs] + cps + [0]) > head + 2)
    reader.cancel()
    assert {e.complaint_id for e in b_events} == set(theirs)
    reader = cf.StreamReader(
        clients.dealer_b.subscriptions.Subscribe(sub.SubscribeRequest(dealer_codes=[cf.DEALER_A]), timeout=60)
    )
    nothing, checkpoints = read_events(reader, lambda evs, cps: max([e.position + 1 for e in evs] + cps + [0]) > head + 2)
    reader.cancel()
    assert nothing == [] and checkpoints, "only checkpoints"

    # The CAC of A's region follows A; filters by event type work for it too.
    reader = cf.StreamReader(
        clients.cac_east.subscriptions.Subscribe(sub.SubscribeRequest(event_types=["complaint.filed"]), timeout=60)
    )
    filings, _ = read_events(reader, lambda evs, cps: max([e.position + 1 for e in evs] + cps + [0]) > head + 2)
    reader.cancel()
    assert [e.complaint_id for e in filings] == ours
    assert {e.event_type for e in filings} == {"complaint.filed"}


def test_the_subscription_limit_refuses_one_more_and_frees_on_cancel(clients, plan):
    """The server serves 256 live subscriptions; the 257th is RESOURCE_EXHAUSTED until
    one ends."""
    clients.dealer_a.file(cf.file_request(plan, complaint_id="SH-0042:CMP-MANY"))
    admin = clients.admin
    readers = []
    try:
        for _ in range(256):
            reader = cf.StreamReader(admin.subscriptions.Subscribe(sub.SubscribeRequest(), timeout=120))
            assert reader.next(20).event.complaint_id == "SH-0042:CMP-MANY"
            readers.append(reader)
        extra = cf.StreamReader(admin.subscriptions.Subscribe(sub.SubscribeRequest(), timeout=120))
        assert extra.next(20) is None
        assert extra.error is not None and extra.error.code() == cf.grpc.StatusCode.RESOURCE_EXHAUSTED, extra.error
        # Unary calls still go through meanwhile.
        assert admin.get("SH-0042:CMP-MANY").version == 0
    finally:
        for reader in readers:
            reader.cancel()

    def one_more_works():
        reader = cf.StreamReader(admin.subscriptions.Subscribe(sub.SubscribeRequest(), timeout=60))
        message = reader.next(20)
        reader.cancel()
        return message is not None

    cf.wait_until(one_more_works, timeout=20, interval=0.2, what="a subscription after the others ended")


def test_a_subscriber_that_stops_reading_holds_back_only_itself(server, clients, plan, tokens):
    """A subscriber that reads nothing for a while: writers go on at full speed (the
    server buffers per subscriber), and it later receives everything, in order."""
    cid = "SH-0042:CMP-SLOW-READER"
    # The writer on a connection of its own, so that only the subscriber's stalls.
    with cf.grpc.insecure_channel(server.address, options=[("grpc.use_local_subchannel_pool", 1)]) as own:
        writer = cf.Client(own, tokens["dealer_a"])
        writer.file(cf.file_request(plan, complaint_id=cid))
        call = clients.admin.subscriptions.Subscribe(sub.SubscribeRequest(), timeout=120)
        stream = iter(call)
        assert next(stream).event.position == 0
        # ~4 MB in 1000 events, well past the 256 buffered messages and the window.
        for k in range(10):
            batch = [cf.submission(cf.note(f"{k}-{i} " + "x" * 3900)) for i in range(100)]
            response = writer.append(cid, *batch, expected_version=100 * k)
            assert response.version == 100 * (k + 1)
    positions = []
    for message in stream:
        positions.append(message.event.position)
        if len(positions) == 1000:
            break
    call.cancel()
    assert positions == list(range(1, 1001))

    # Page sizes as documented: 100 by default, at most 1000.
    timeline = clients.admin.complaints.ListComplaintEvents
    default = timeline(cf.cpb.ListComplaintEventsRequest(parent=f"complaints/{cid}"))
    assert len(default.events) == 100 and default.next_page_token
    capped = timeline(cf.cpb.ListComplaintEventsRequest(parent=f"complaints/{cid}", page_size=5000))
    assert [e.version for e in capped.events] == list(range(1000)) and capped.next_page_token
    last = timeline(cf.cpb.ListComplaintEventsRequest(parent=f"complaints/{cid}", page_size=5000, page_token=capped.next_page_token))
    assert [e.version for e in last.events] == [1000] and last.next_page_token == ""
