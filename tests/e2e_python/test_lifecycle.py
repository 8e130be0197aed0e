"""A complaint from filing to closing, and the questions asked about it afterwards."""

from __future__ import annotations

import datetime as dt
import re

import grpc

import cfsupport as cf
from cfsupport import cpb, voc

HEX64 = re.compile(r"^[0-9a-f]{64}$")

# The whole life of seed 004, by version.
LIFE = [
    "complaint.filed",
    "complaint.apologized",
    "complaint.reported_to_cac",
    "complaint.cause_found",
    "complaint.solution_proposed",
    "complaint.option_accepted",
    "complaint.work_carried_out",
    "complaint.resolved",
    "complaint.contact_attempted",
    "complaint.satisfaction_recorded",
    "complaint.closed",
]


def live_through(client: cf.Client, plan: cf.TimePlan, complaint_id: str) -> list:
    """Files a complaint and carries it to CLOSED in four appends, each pinned to the
    version the previous one returned. Returns the append responses."""
    filing = client.file(cf.file_request(plan, complaint_id=complaint_id))
    assert (filing.complaint_id, filing.name, filing.version, filing.replayed) == (
        complaint_id,
        f"complaints/{complaint_id}",
        0,
        False,
    )
    s = cf.submission
    batches = [
        [s(cf.apologized(), plan.at(1)), s(cf.reported(), plan.at(2)), s(cf.cause_found(), plan.at(3))],
        [s(cf.proposed("O1"), plan.at(4)), s(cf.accepted("O1"), plan.at(5))],
        [s(cf.work_done(), plan.at(6)), s(cf.resolved(), plan.at(7))],
        # The satisfaction call-back: inside calling hours, in the past.
        [s(cf.call(answered=True), plan.at(10)), s(cf.satisfied(5), plan.at(11))],
        [s(cf.closed(), plan.at(12))],
    ]
    responses, version, position = [], 0, filing.position
    for batch in batches:
        response = client.append(complaint_id, *batch, expected_version=version)
        assert not response.replayed
        assert [e.version for e in response.events] == list(range(version + 1, version + 1 + len(batch)))
        assert [e.position for e in response.events] == list(range(position + 1, position + 1 + len(batch)))
        assert response.version == version + len(batch) and response.position == position + len(batch)
        version, position = response.version, response.position
        responses.append(response)
    return responses


def test_a_complaint_lives_from_filing_to_closing(clients, plan):
    dealer = clients.dealer_a
    cid = "SH-0042:CMP-LIFE-1"
    appended = live_through(dealer, plan, cid)
    assert appended[-1].version == len(LIFE) - 1

    complaint = dealer.get(cid)
    assert complaint.status == voc.STATUS_CLOSED
    assert complaint.version == len(LIFE) - 1
    assert complaint.name == f"complaints/{cid}" and complaint.complaint_id == cid
    assert (complaint.dealer_code, complaint.region_code) == (cf.DEALER_A, cf.REGION_A)
    assert complaint.accepted_option_id == "O1"
    assert complaint.satisfaction_score == 5
    assert complaint.contact_attempts == 1
    assert complaint.level == voc.LEVEL_DEALER_DESK and complaint.escalation_count == 0
    assert not complaint.overdue and not complaint.at_risk
    assert list(complaint.deadlines) == [], "a closed complaint has no open deadline"
    assert cf.from_ts(complaint.file_time) == plan.filed_at
    assert cf.from_ts(complaint.report_time) == plan.at(2)
    assert cf.from_ts(complaint.resolve_time) == plan.at(7)
    assert cf.from_ts(complaint.close_time) == plan.at(12)
    assert complaint.vehicle.vin == cf.VIN and complaint.customer.phone == cf.PHONE

    # The timeline, oldest first, three pages of at most 4.
    pages, token = [], ""
    while True:
        page = dealer.complaints.ListComplaintEvents(
            cpb.ListComplaintEventsRequest(parent=f"complaints/{cid}", page_size=4, page_token=token)
        )
        pages.append([e.version for e in page.events])
        token = page.next_page_token
        if not token:
            break
    assert pages == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10]]

    forwards = dealer.timeline(cid, page_size=4)
    assert [e.event_type for e in forwards] == LIFE
    assert [e.version for e in forwards] == list(range(len(LIFE)))
    assert [e.position for e in forwards] == list(range(len(LIFE))), "the only complaint on this server"
    for e in forwards:
        assert e.complaint_id == cid
        assert e.actor == "dealer_staff:dealer-a"
        assert HEX64.match(e.hash) and HEX64.match(e.content_hash)
        assert e.schema_version >= 1
        assert e.event.WhichOneof("kind") == e.event_type.removeprefix("complaint.")
    assert len({e.hash for e in forwards}) == len(forwards)
    assert len({e.event_id for e in forwards}) == len(forwards)
    assert cf.from_ts(forwards[8].occur_time) == plan.at(10), "the call keeps the time it was made"
    assert forwards[8].event.contact_attempted.purpose == voc.CONTACT_PURPOSE_SATISFACTION_CALLBACK
    assert forwards[9].event.satisfaction_recorded.score == 5
    record_times = [cf.from_ts(e.record_time) for e in forwards]
    assert record_times == sorted(record_times)
    assert all(cf.from_ts(e.occur_time) <= cf.from_ts(e.record_time) for e in forwards)

    # Newest first, pages of 4: 10..7, 6..3, 2..0.
    backwards_pages, token = [], ""
    while True:
        page = dealer.complaints.ListComplaintEvents(
            cpb.ListComplaintEventsRequest(parent=f"complaints/{cid}", page_size=4, page_token=token, descending=True)
        )
        backwards_pages.append([e.version for e in page.events])
        token = page.next_page_token
        if not token:
            break
    assert backwards_pages == [[10, 9, 8, 7], [6, 5, 4, 3], [2, 1, 0]]
    backwards = dealer.timeline(cid, descending=True, page_size=4)
    assert [e.SerializeToString() for e in backwards] == [e.SerializeToString() for e in reversed(forwards)]

    # As it was: right after version 5 (the option accepted), at filing, and at the
    # record time of the first batch's last event.
    agreed = dealer.get(cid, as_of_version=5)
    assert (agreed.version, agreed.status, agreed.accepted_option_id) == (5, voc.STATUS_SOLUTION_AGREED, "O1")
    assert not agreed.HasField("resolve_time") and agreed.satisfaction_score == 0
    assert any(d.kind == voc.DEADLINE_KIND_PROMISE for d in agreed.deadlines)
    at_filing = dealer.get(cid, as_of_version=0)
    assert (at_filing.version, at_filing.status) == (0, voc.STATUS_RECEIVED)
    kinds = {d.kind for d in at_filing.deadlines}
    due = [cf.from_ts(d.due_time) for d in at_filing.deadlines]
    assert due == sorted(due), "deadlines soonest first"
    assert {voc.DEADLINE_KIND_REPORT_TO_CAC, voc.DEADLINE_KIND_RESULT} <= kinds, kinds
    investigating = dealer.get(cid, as_of_time=forwards[3].record_time)
    assert (investigating.version, investigating.status) == (3, voc.STATUS_INVESTIGATING)
    resolved = dealer.get(cid, as_of_version=7)
    assert resolved.status == voc.STATUS_RESOLVED
    assert any(d.kind == voc.DEADLINE_KIND_SATISFACTION_CALLBACK for d in resolved.deadlines)
    assert dealer.get(cid, as_of_version=9).status == voc.STATUS_FOLLOWED_UP


def test_listing_and_statistics_follow_dealers(clients, plan):
    admin = clients.admin
    live_through(clients.dealer_a, plan, "SH-0042:CMP-LIST-A1")
    clients.dealer_a.file(cf.file_request(plan, complaint_id="SH-0042:CMP-LIST-A2"))
    clients.dealer_b.file(
        cf.file_request(
            plan,
            complaint_id="BJ-0007:CMP-LIST-B1",
            dealer=cf.DEALER_B,
            region=cf.REGION_B,
            channel=voc.CHANNEL_DEALER_HOTLINE,
            categories=[voc.CATEGORY_REPAIR_COST, voc.CATEGORY_SPARE_PARTS],
        )
    )

    def listed(client, **filters):
        ids, token = [], ""
        for _ in range(100):
            page = client.complaints.ListComplaints(cpb.ListComplaintsRequest(page_token=token, **filters))
            ids.extend(c.complaint_id for c in page.complaints)
            token = page.next_page_token
            if not token:
                return ids
        raise AssertionError("ListComplaints never ended")

    # Projections follow the log asynchronously: wait until all three are listed.
    cf.wait_until(lambda: len(listed(admin)) == 3, what="three complaints listed")
    assert sorted(listed(admin, dealer_code=cf.DEALER_A)) == ["SH-0042:CMP-LIST-A1", "SH-0042:CMP-LIST-A2"]
    assert listed(admin, dealer_code=cf.DEALER_B) == ["BJ-0007:CMP-LIST-B1"]
    assert listed(admin, dealer_code="XX-0000") == []
    assert listed(admin, region_code=cf.REGION_B) == ["BJ-0007:CMP-LIST-B1"]
    assert listed(admin, dealer_code=cf.DEALER_A, status=voc.STATUS_CLOSED) == ["SH-0042:CMP-LIST-A1"]
    assert listed(admin, status=voc.STATUS_RECEIVED, category=voc.CATEGORY_SPARE_PARTS) == ["BJ-0007:CMP-LIST-B1"]
    # Page by page, one at a time, newest first, nothing twice.
    one_by_one = listed(admin, page_size=1)
    assert sorted(one_by_one) == ["BJ-0007:CMP-LIST-B1", "SH-0042:CMP-LIST-A1", "SH-0042:CMP-LIST-A2"]
    # A dealer asking for everything sees its own; the CAC sees its region.
    assert sorted(listed(clients.dealer_a)) == ["SH-0042:CMP-LIST-A1", "SH-0042:CMP-LIST-A2"]
    assert listed(clients.dealer_b) == ["BJ-0007:CMP-LIST-B1"]
    assert listed(clients.dealer_b, dealer_code=cf.DEALER_A) == []
    assert sorted(listed(clients.cac_east)) == ["SH-0042:CMP-LIST-A1", "SH-0042:CMP-LIST-A2"]
    closed = admin.complaints.ListComplaints(cpb.ListComplaintsRequest(dealer_code=cf.DEALER_A, status=voc.STATUS_CLOSED))
    assert closed.complaints[0].version == len(LIFE) - 1 and closed.next_page_token == ""

    stats = admin.complaints.GetStatistics(cpb.GetStatisticsRequest())
    assert stats.complaints == 3
    assert {c.key: c.count for c in stats.by_dealer} == {cf.DEALER_A: 2, cf.DEALER_B: 1}
    assert sum(c.count for c in stats.by_channel) == 3 and len(stats.by_channel) == 2
    assert sum(c.count for c in stats.by_category) == 4, "a complaint about two things counts in each"
    month = plan.filed_at.astimezone(cf.BEIJING).strftime("%Y-%m")
    assert {c.key: c.count for c in stats.by_month} == {month: 3}
    assert stats.satisfaction_count == 1 and stats.average_satisfaction == 5.0
    assert stats.escalation_rate == 0.0 and stats.reopen_rate == 0.0
    assert [c.count for c in stats.by_root_cause] == [1]
    outcomes = {d.kind: (d.met, d.missed) for d in stats.deadlines}
    assert outcomes.get(voc.DEADLINE_KIND_REPORT_TO_CAC) == (1, 0), outcomes
    assert outcomes.get(voc.DEADLINE_KIND_RESULT) == (1, 0), outcomes
    assert outcomes.get(voc.DEADLINE_KIND_SATISFACTION_CALLBACK) == (1, 0), outcomes
    assert all(missed == 0 for _, missed in outcomes.values()), outcomes

    only_a = admin.complaints.GetStatistics(cpb.GetStatisticsRequest(dealer_code=cf.DEALER_A))
    assert only_a.complaints == 2 and {c.key for c in only_a.by_dealer} == {cf.DEALER_A}
    # Statistics are scoped like everything else.
    as_b = clients.dealer_b.complaints.GetStatistics(cpb.GetStatisticsRequest())
    assert as_b.complaints == 1 and as_b.satisfaction_count == 0
    # A period with nothing in it.
    later = plan.filed_at + dt.timedelta(days=400)
    empty = admin.complaints.GetStatistics(
        cpb.GetStatisticsRequest(start_time=cf.ts(later), end_time=cf.ts(later + dt.timedelta(days=31)))
    )
    assert empty.complaints == 0


def test_a_missing_complaint_is_not_found(clients):
    failure = cf.fails(grpc.StatusCode.NOT_FOUND, clients.admin.get, "SH-0042:CMP-NOBODY")
    assert "SH-0042:CMP-NOBODY" in failure.message
    cf.fails(grpc.StatusCode.NOT_FOUND, clients.admin.timeline, "SH-0042:CMP-NOBODY")


def test_listing_is_newest_first_and_filters_by_filing_time(clients, plan):
    for cid, minute in (("SH-0042:CMP-T1", 1), ("SH-0042:CMP-T0", 0), ("SH-0042:CMP-T2", 2)):
        clients.dealer_a.file(cf.file_request(cf.TimePlan(plan.at(minute), plan.severity, plan.mode), complaint_id=cid))

    def listed(**filters):
        return [c.complaint_id for c in clients.admin.complaints.ListComplaints(cpb.ListComplaintsRequest(**filters)).complaints]

    cf.wait_until(lambda: len(listed()) == 3, what="three complaints listed")
    assert listed() == ["SH-0042:CMP-T2", "SH-0042:CMP-T1", "SH-0042:CMP-T0"], "newest filing first, not newest write"
    assert listed(filed_after=cf.ts(plan.at(0))) == ["SH-0042:CMP-T2", "SH-0042:CMP-T1", "SH-0042:CMP-T0"], "at or after"
    assert listed(filed_after=cf.ts(plan.at(1))) == ["SH-0042:CMP-T2", "SH-0042:CMP-T1"]
    assert listed(filed_before=cf.ts(plan.at(1))) == ["SH-0042:CMP-T0"], "strictly before"
    assert listed(filed_before=cf.ts(plan.at(0))) == []
    first = clients.admin.complaints.ListComplaints(cpb.ListComplaintsRequest(page_size=2))
    assert [c.complaint_id for c in first.complaints] == ["SH-0042:CMP-T2", "SH-0042:CMP-T1"] and first.next_page_token
    rest = clients.admin.complaints.ListComplaints(cpb.ListComplaintsRequest(page_size=2, page_token=first.next_page_token))
    assert [c.complaint_id for c in rest.complaints] == ["SH-0042:CMP-T0"] and rest.next_page_token == ""

    # Statistics periods are whole months of filing in Beijing time; the end is exclusive.
    local = plan.filed_at.astimezone(cf.BEIJING)
    month_start = dt.datetime(local.year, local.month, 1, tzinfo=cf.BEIJING)
    next_month = dt.datetime(local.year + (local.month == 12), local.month % 12 + 1, 1, tzinfo=cf.BEIJING)

    def count(**period):
        return clients.admin.complaints.GetStatistics(cpb.GetStatisticsRequest(**period)).complaints

    assert count(end_time=cf.ts(month_start)) == 0
    assert count(end_time=cf.ts(month_start + dt.timedelta(seconds=1))) == 3
    assert count(start_time=cf.ts(next_month)) == 0
    assert count(start_time=cf.ts(next_month - dt.timedelta(seconds=1))) == 3
    assert count(start_time=cf.ts(month_start), end_time=cf.ts(next_month)) == 3
