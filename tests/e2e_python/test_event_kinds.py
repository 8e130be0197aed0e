"""Every event a person may submit goes in through the API and comes back out of the
timeline exactly as it was sent."""

from __future__ import annotations

import datetime as dt

import grpc
import pytest

import cfsupport as cf
from cfsupport import ev, voc

HEX = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
# The server wants `algorithm:hex` (see test_a_plain_hex_evidence_hash_as_documented).
HASH = f"sha256:{HEX}"


def test_every_event_kind_round_trips(clients, plan):
    staff, manager = clients.dealer_a, clients.manager_a
    cid, target = "SH-0042:CMP-KINDS", "SH-0042:CMP-KINDS-TARGET"
    staff.file(cf.file_request(plan, complaint_id=target))
    # Recorded by the CAC and pushed to the dealer, which owes it same-day feedback.
    filing = cf.file_request(
        plan,
        complaint_id=cid,
        happened_at=cf.ts(plan.at(-24 * 60)),
        categories=[voc.CATEGORY_PRODUCT_QUALITY, voc.CATEGORY_REPAIR_WORKMANSHIP],
        channel=voc.CHANNEL_MANUFACTURER_HOTLINE,
        origin=voc.ORIGIN_MANUFACTURER_CAC,
    )
    staff.file(filing)
    soon = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    W = ev.WorkflowEvent
    # (who submits, event), in order; each dated half a minute after the previous one.
    script = [
        (staff, W(acknowledged=ev.Acknowledged(confirmed_facts="Confirmed by phone", plan_promised_by=cf.ts(soon + dt.timedelta(days=1))))),
        (staff, W(information_gathered=ev.InformationGathered(facts="Noise from the front axle above 80 km/h"))),
        (staff, W(evidence_attached=ev.EvidenceAttached(reference="doc://photos/axle-1", content_hash=HASH, description="Photo of the axle"))),
        (staff, W(paused=ev.Paused(waiting_for=voc.WAITING_FOR_PARTS, reason="Bearing on order"))),
        (staff, W(resumed=ev.Resumed(note="Bearing arrived"))),
        (staff, W(escalated=ev.Escalated(**{"from": voc.LEVEL_DEALER_DESK}, to=voc.LEVEL_MANUFACTURER_CAC, reason=voc.ESCALATION_REASON_CUSTOMER_REQUEST, note="Asked for the CAC"))),
        (staff, W(progress_reported=ev.ProgressReported(summary="Vehicle at the workshop"))),
        (staff, W(engineer_dispatched=ev.EngineerDispatched(engineer="Regional engineer Zhao", expected_arrival=cf.ts(soon + dt.timedelta(hours=3))))),
        (staff, W(on_site_appraisal_recorded=ev.OnSiteAppraisalRecorded(findings="Worn bearing"))),
        (staff, cf.cause_found()),
        (staff, W(solution_proposed=ev.SolutionProposed(options=[
            ev.SolutionOption(option_id="O1", summary="Replace the bearing", pros="Fixes it", cons="A day off the road", cost_minor_units=120_000, promised_by=cf.ts(soon + dt.timedelta(days=10))),
            ev.SolutionOption(option_id="O2", summary="Replace the hub", pros="Belt and braces", cons="Three days", cost_minor_units=480_000, promised_by=cf.ts(soon + dt.timedelta(days=12))),
        ]))),
        (staff, W(option_rejected=ev.OptionRejected(option_id="O2", reason="Too long without the car"))),
        (staff, cf.accepted("O1")),
        (staff, W(promise_date_changed=ev.PromiseDateChanged(new_date=cf.ts(soon + dt.timedelta(days=11)), reason="Parts late"))),
        (staff, W(compensation_requested=ev.CompensationRequested(compensation_id="K1", kind=voc.COMPENSATION_KIND_TRANSPORT_SUBSIDY, amount_minor_units=20_000, reason="Taxi fares"))),
        (staff, W(compensation_rejected=ev.CompensationRejected(compensation_id="K1", level=voc.LEVEL_DEALER_DESK, reason="Not within the desk's authority"))),
        (staff, W(corrective_action_assigned=ev.CorrectiveActionAssigned(action_id="A1", department=voc.DEPARTMENT_SERVICE, description="Check bearings at every service"))),
        (staff, W(corrective_action_done=ev.CorrectiveActionDone(action_id="A1", note="Checklist updated"))),
        (manager, W(corrective_action_verified=ev.CorrectiveActionVerified(action_id="A1", note="Seen in use"))),
        (staff, cf.work_done()),
        (staff, cf.resolved()),
        (staff, W(contact_attempted=ev.ContactAttempted(purpose=voc.CONTACT_PURPOSE_SATISFACTION_CALLBACK, answered=True, recording="rec://calls/2", note="Happy"))),
        (staff, cf.satisfied(4)),
        (staff, cf.closed()),
        (staff, W(reopened=ev.Reopened(reason="Noise is back"))),
        (staff, cf.note("Same customer filed it again")),
        (staff, W(merged_into=ev.MergedInto(target_complaint_id=target))),
    ]
    assert len(script) * 0.5 <= 15, "every event stays in the past"
    sent = []
    for i, (client, event) in enumerate(script):
        submission = cf.submission(event, plan.at(0.5 * (i + 1)))
        response = client.append(cid, submission, expected_version=i)
        assert response.version == i + 1
        sent.append(submission)

    timeline = clients.admin.timeline(cid)
    assert len(timeline) == len(script) + 1
    assert timeline[0].event.filed == filing.filed
    for submitted, recorded in zip(sent, timeline[1:]):
        kind = submitted.event.WhichOneof("kind")
        assert recorded.event_type == f"complaint.{kind}"
        assert recorded.event == submitted.event, f"{kind}: sent {submitted.event}, got back {recorded.event}"
        assert recorded.occur_time == submitted.occur_time
    actors = [e.actor for e in timeline[1:]]
    assert actors == ["service_manager:manager-a" if c is manager else "dealer_staff:dealer-a" for c, _ in script]

    complaint = clients.admin.get(cid)
    assert complaint.status == voc.STATUS_MERGED
    assert complaint.merged_into == target
    assert complaint.reopen_count == 1 and complaint.escalation_count == 1
    assert complaint.level == voc.LEVEL_MANUFACTURER_CAC
    assert list(complaint.categories) == [voc.CATEGORY_PRODUCT_QUALITY, voc.CATEGORY_REPAIR_WORKMANSHIP]
    assert complaint.origin == voc.ORIGIN_MANUFACTURER_CAC and complaint.channel == voc.CHANNEL_MANUFACTURER_HOTLINE
    # A merged complaint takes nothing more.
    failure = cf.fails(cf.grpc.StatusCode.FAILED_PRECONDITION, staff.append, cid, cf.submission(cf.note("late")))
    assert failure.error_info.metadata["rule"] == "complaint_merged"


def test_an_evidence_hash_must_name_its_algorithm_as_documented(clients, plan):
    """events.proto: `algorithm:lowercase-hex`; plain hex is refused on the exact field."""
    cid = "SH-0042:CMP-EVIDENCE"
    clients.dealer_a.file(cf.file_request(plan, complaint_id=cid))

    def attach(content_hash):
        evidence = ev.WorkflowEvent(
            evidence_attached=ev.EvidenceAttached(reference="doc://photos/axle-1", content_hash=content_hash, description="Photo")
        )
        return clients.dealer_a.append(cid, cf.submission(evidence, plan.at(1)))

    with pytest.raises(grpc.RpcError) as refused:
        attach(HEX)
    failure = cf.decode(refused.value)
    assert failure.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failure.fields == ["events[0].event.evidence_attached.content_hash"]
    attach(f"sha256:{HEX}")
    assert clients.dealer_a.timeline(cid)[-1].event.evidence_attached.content_hash == f"sha256:{HEX}"
