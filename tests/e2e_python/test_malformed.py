"""Malformed requests: INVALID_ARGUMENT with the exact field path in a BadRequest detail,
and a message over the size limit that leaves the server healthy."""

from __future__ import annotations

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import cfsupport as cf
from cfsupport import audit, cpb, ev, sub, voc


def only_field(fn, *args, **kwargs) -> str:
    fields = cf.invalid_field(fn, *args, **kwargs)
    assert len(fields) == 1, fields
    return fields[0]


def filing_with(plan, mutate) -> cpb.FileComplaintRequest:
    request = cf.file_request(plan)
    mutate(request)
    return request


FILING_CASES = {
    # name: (mutation, field path)
    "missing request_id": (lambda r: setattr(r, "request_id", ""), "request_id"),
    "request_id not a UUID": (lambda r: setattr(r, "request_id", "retry-1"), "request_id"),
    "bad complaint id": (lambda r: setattr(r, "complaint_id", "CMP 1/2"), "complaint_id"),
    "missing filing": (lambda r: r.ClearField("filed"), "filed"),
    "unspecified origin": (lambda r: setattr(r.filed, "origin", voc.ORIGIN_UNSPECIFIED), "filed.origin"),
    "unspecified channel": (lambda r: setattr(r.filed, "channel", voc.CHANNEL_UNSPECIFIED), "filed.channel"),
    "unknown channel": (lambda r: setattr(r.filed, "channel", 99), "filed.channel"),
    "unspecified severity": (lambda r: setattr(r.filed, "severity", voc.SEVERITY_UNSPECIFIED), "filed.severity"),
    "unspecified category": (
        lambda r: r.filed.categories.append(voc.CATEGORY_UNSPECIFIED),
        "filed.categories[1]",
    ),
    "missing dealer code": (lambda r: setattr(r.filed, "dealer_code", ""), "filed.dealer_code"),
    "short VIN": (lambda r: setattr(r.filed.vehicle, "vin", "LSVAG2180E21"), "filed.vehicle.vin"),
    "VIN with an O": (lambda r: setattr(r.filed.vehicle, "vin", "LSVAG2180E210000O"), "filed.vehicle.vin"),
    "missing VIN": (lambda r: setattr(r.filed.vehicle, "vin", ""), "filed.vehicle.vin"),
    "missing vehicle": (lambda r: r.filed.ClearField("vehicle"), "filed.vehicle"),
    "bad purchase date": (lambda r: setattr(r.filed.vehicle, "purchase_date", "2024-13-40"), "filed.vehicle.purchase_date"),
    "bad phone": (lambda r: setattr(r.filed.customer, "phone", "call me"), "filed.customer.phone"),
    "description too long": (lambda r: setattr(r.filed, "description", "x" * 4001), "filed.description"),
}


@pytest.mark.parametrize("case", list(FILING_CASES))
def test_a_malformed_filing_names_the_field(clients, plan, case):
    mutate, field = FILING_CASES[case]
    request = filing_with(plan, mutate)
    assert only_field(clients.dealer_a.file, request) == field
    if request.complaint_id and field != "complaint_id":
        cf.fails(grpc.StatusCode.NOT_FOUND, clients.admin.get, request.complaint_id)


def test_malformed_appends_and_reads_name_the_field(clients, plan):
    dealer = clients.dealer_a
    cid = "SH-0042:CMP-MALFORMED"
    dealer.file(cf.file_request(plan, complaint_id=cid))
    name = f"complaints/{cid}"
    good = cf.submission(cf.note("fine"))

    def append(**fields):
        request = cpb.AppendEventsRequest(name=name, request_id=cf.new_id(), events=[good])
        for key, value in fields.items():
            if key == "events":
                del request.events[:]
                request.events.extend(value)
            else:
                setattr(request, key, value)
        return dealer.complaints.AppendEvents(request)

    assert only_field(append, request_id="") == "request_id"
    assert only_field(append, request_id="not-a-uuid") == "request_id"
    for bad_name in ["", cid, f"complaint/{cid}", "complaints/", f"complaints/{cid}/events", "complaints/bad id"]:
        assert only_field(append, name=bad_name) == "name", bad_name
    assert only_field(append, events=[]) == "events"
    assert only_field(append, events=[good, cpb.EventSubmission()]) == "events[1].event"
    assert only_field(append, events=[cf.submission(ev.WorkflowEvent())]) == "events[0].event"
    assert only_field(append, events=[cpb.EventSubmission(event_id="event-1", event=cf.note())]) == "events[0].event_id"
    assert only_field(append, events=[cpb.EventSubmission(correlation_id="c-1", event=cf.note())]) == "events[0].correlation_id"
    no_purpose = cf.call(purpose=voc.CONTACT_PURPOSE_UNSPECIFIED)
    assert only_field(append, events=[good, cf.submission(no_purpose)]) == "events[1].event.contact_attempted.purpose"
    no_cause = cf.cause_found()
    no_cause.cause_found.root_cause = voc.ROOT_CAUSE_UNSPECIFIED
    assert only_field(append, events=[cf.submission(no_cause)]) == "events[0].event.cause_found.root_cause"
    nobody = cf.cause_found()
    nobody.cause_found.responsible.kind = voc.RESPONSIBLE_PARTY_KIND_UNSPECIFIED
    assert only_field(append, events=[cf.submission(nobody)]) == "events[0].event.cause_found.responsible.kind"
    undated = cf.proposed()
    undated.solution_proposed.options.add(option_id="O2", summary="s", pros="p", cons="c")
    assert only_field(append, events=[cf.submission(undated)]) == "events[0].event.solution_proposed.options[1].promised_by"
    negative = cf.proposed()
    negative.solution_proposed.options[0].cost_minor_units = -1
    assert only_field(append, events=[cf.submission(negative)]) == "events[0].event.solution_proposed.options[0].cost_minor_units"
    empty_note = ev.WorkflowEvent(note_added=ev.NoteAdded(text=""))
    assert only_field(append, events=[cf.submission(empty_note)]) == "events[0].event.note_added.text"
    refiled = ev.WorkflowEvent(filed=cf.filed())
    assert only_field(append, events=[cf.submission(refiled)]) == "events[0].event.filed"
    assert dealer.get(cid).version == 0, "nothing malformed was written"

    # Reads.
    get = dealer.complaints.GetComplaint
    assert only_field(get, cpb.GetComplaintRequest(name="")) == "name"
    assert only_field(get, cpb.GetComplaintRequest(name=f"complaint/{cid}")) == "name"
    events = dealer.complaints.ListComplaintEvents
    assert only_field(events, cpb.ListComplaintEventsRequest(parent=cid)) == "parent"
    assert only_field(events, cpb.ListComplaintEventsRequest(parent=name, page_size=-1)) == "page_size"
    assert only_field(events, cpb.ListComplaintEventsRequest(parent=name, page_token="%%%")) == "page_token"
    assert only_field(events, cpb.ListComplaintEventsRequest(parent=name, page_token="AAA")) == "page_token"
    listing = dealer.complaints.ListComplaints
    assert only_field(listing, cpb.ListComplaintsRequest(page_size=-5)) == "page_size"
    assert only_field(listing, cpb.ListComplaintsRequest(status=42)) == "status"
    assert only_field(listing, cpb.ListComplaintsRequest(page_token="%%%")) == "page_token"
    assert only_field(clients.dealer_a.audit.VerifyComplaint, audit.VerifyComplaintRequest(name="SH-0042:CMP-1")) == "name"
    check = clients.auditor.audit.CheckDigest
    assert only_field(check, audit.CheckDigestRequest()) == "digest"
    assert only_field(check, audit.CheckDigestRequest(digest=audit.Digest(position=0, head_hash="beef"))) == "digest.head_hash"
    stream = dealer.subscriptions.Subscribe(sub.SubscribeRequest(event_types=["complaint.filed", "complaint.nonsense"]))
    assert only_field(lambda: next(iter(stream))) == "event_types[1]"


def health_status(channel, service=""):
    stub = health_pb2_grpc.HealthStub(channel)
    return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=cf.CALL_TIMEOUT).status


def test_an_oversized_message_is_refused_and_the_server_stays_healthy(clients, plan, server):
    serving = health_pb2.HealthCheckResponse.SERVING
    assert health_status(clients.channel) == serving
    assert health_status(clients.channel, "complaintflow.v1.ComplaintService") == serving

    # 5 MiB of description: over the server's 4 MiB message limit (Python's grpcio
    # sends it; it has no send limit by default).
    huge = cf.file_request(plan, complaint_id="SH-0042:CMP-HUGE")
    huge.filed.description = "x" * (5 * 1024 * 1024)
    assert huge.ByteSize() > 4 * 1024 * 1024
    failure = cf.fails(
        (grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.OUT_OF_RANGE), clients.dealer_a.file, huge
    )
    # What the server really answers (tonic's decoder limit).
    assert failure.code == grpc.StatusCode.OUT_OF_RANGE, failure
    assert "4194304" in failure.message, failure.message

    # Still healthy, and a normal call on the same channel works.
    assert health_status(clients.channel) == serving
    normal = cf.file_request(plan, complaint_id="SH-0042:CMP-NORMAL")
    assert clients.dealer_a.file(normal).version == 0
    cf.fails(grpc.StatusCode.NOT_FOUND, clients.admin.get, "SH-0042:CMP-HUGE")
    assert clients.admin.get("SH-0042:CMP-NORMAL").version == 0
    # And a fresh connection too.
    with grpc.insecure_channel(server.address) as fresh:
        assert health_status(fresh) == serving
        assert cf.Client(fresh, None, raw_authorization=clients.admin.metadata[0][1]).get("SH-0042:CMP-NORMAL").version == 0


def test_a_message_just_under_the_limit_is_judged_on_its_content(clients, plan):
    """3.9 MiB passes the transport; the 4000-character description limit refuses it."""
    big = cf.file_request(plan, complaint_id="SH-0042:CMP-BIG")
    big.filed.description = "x" * (4 * 1024 * 1024 - 64 * 1024)
    assert big.ByteSize() < 4 * 1024 * 1024
    assert only_field(clients.dealer_a.file, big) == "filed.description"
