"""Workflow rules: refused with FAILED_PRECONDITION, an ErrorInfo naming the rule and a
PreconditionFailure naming the event, and nothing of the batch written."""

from __future__ import annotations

import datetime as dt

import grpc

import cfsupport as cf
from cfsupport import ev, voc

FAILED = grpc.StatusCode.FAILED_PRECONDITION


def refused(client, cid, *submissions, expected_version=None) -> cf.Failure:
    failure = cf.fails(FAILED, client.append, cid, *submissions, expected_version=expected_version)
    assert failure.error_info is not None, f"no ErrorInfo: {failure.message}"
    assert failure.precondition is not None, f"no PreconditionFailure: {failure.message}"
    info = failure.error_info
    assert info.domain == "complaintflow"
    assert info.reason == info.metadata["rule"].upper()
    (violation,) = failure.precondition.violations
    assert violation.type == "WORKFLOW_RULE"
    assert violation.description
    return failure


def rule(failure: cf.Failure) -> str:
    return failure.error_info.metadata["rule"]


def test_rule_violations_name_the_rule_and_write_nothing(clients, plan):
    dealer = clients.dealer_a
    cid = "SH-0042:CMP-RULES"
    dealer.file(cf.file_request(plan, complaint_id=cid))
    s = cf.submission

    # Resolving before an option was accepted: the second event of the batch breaks
    # the rule, so the first is not written either.
    failure = refused(dealer, cid, s(cf.apologized(), plan.at(1)), s(cf.resolved(), plan.at(2)), expected_version=0)
    assert rule(failure) == "resolve_requires_accepted_solution"
    assert failure.error_info.reason == "RESOLVE_REQUIRES_ACCEPTED_SOLUTION"
    assert failure.error_info.metadata["event_type"] == "complaint.resolved"
    assert failure.precondition.violations[0].subject == "events[1]"
    assert dealer.get(cid).version == 0, "all or nothing"

    assert rule(refused(dealer, cid, s(cf.closed(), plan.at(1)))) == "close_requires_follow_up"
    assert rule(refused(dealer, cid, s(cf.work_done(), plan.at(1)))) == "work_requires_accepted_solution"
    assert rule(refused(dealer, cid, s(cf.satisfied(5), plan.at(1)))) == "follow_up_requires_resolution"
    assert rule(refused(dealer, cid, s(cf.accepted("O9"), plan.at(1)))) == "option_not_proposed"
    # Dated in the future (beyond the 5 minutes of clock skew allowed), or before filing.
    future = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=1)
    assert rule(refused(dealer, cid, s(cf.apologized(), future))) == "occurred_in_future"
    assert rule(refused(dealer, cid, s(cf.apologized(), plan.at(-60)))) == "occurred_before_filing"
    # Timer events are the engine's.
    warning = ev.WorkflowEvent(
        deadline_warning=ev.DeadlineWarning(
            deadline=ev.DeadlineRef(kind=voc.DEADLINE_KIND_RESULT, key="result@0#0"), due_time=cf.ts(future)
        )
    )
    failure = refused(dealer, cid, s(warning))
    assert rule(failure) == "engine_only_event"
    assert failure.error_info.metadata["event_type"] == "complaint.deadline_warning"

    # The complete path, up to the close that now succeeds.
    dealer.append(cid, s(cf.reported(), plan.at(1)), s(cf.cause_found(), plan.at(2)), expected_version=0)
    dealer.append(cid, s(cf.proposed("O1"), plan.at(3)), s(cf.accepted("O1"), plan.at(4)))
    assert rule(refused(dealer, cid, s(cf.accepted("O1"), plan.at(5)))) == "solution_already_agreed"
    assert rule(refused(dealer, cid, s(cf.reported(), plan.at(5)))) == "already_reported_to_cac"
    dealer.append(cid, s(cf.work_done(), plan.at(5)), s(cf.resolved(), plan.at(6)))
    assert rule(refused(dealer, cid, s(cf.closed(), plan.at(7)))) == "close_requires_follow_up"
    # An unhappy customer is not closed on.
    dealer.append(cid, s(cf.call(True), plan.at(8)), s(cf.satisfied(2), plan.at(9)))
    assert rule(refused(dealer, cid, s(cf.closed(), plan.at(10)))) == "close_requires_satisfied_customer"
    assert dealer.get(cid).status == voc.STATUS_FOLLOWED_UP
    version = dealer.get(cid).version
    assert len(dealer.timeline(cid)) == version + 1


def test_compensation_needs_the_right_level(clients, plan):
    staff, manager = clients.dealer_a, clients.manager_a
    cid = "SH-0042:CMP-COMPENSATION"
    staff.file(cf.file_request(plan, complaint_id=cid))
    s = cf.submission
    request = ev.WorkflowEvent(
        compensation_requested=ev.CompensationRequested(
            compensation_id="K1", kind=voc.COMPENSATION_KIND_DISCOUNT, amount_minor_units=100_000, reason="Waited an hour"
        )
    )
    staff.append(cid, s(request, plan.at(1)), expected_version=0)

    def approval(signature="sig://K1", amount=100_000):
        return ev.WorkflowEvent(
            compensation_approved=ev.CompensationApproved(
                compensation_id="K1",
                level=voc.LEVEL_SERVICE_MANAGER,
                amount_minor_units=amount,
                customer_signature=signature,
            )
        )

    # The desk does not act at the service manager's level.
    assert rule(refused(staff, cid, s(approval(), plan.at(2)))) == "approver_lacks_level"
    assert rule(refused(manager, cid, s(approval(signature=""), plan.at(2)))) == "compensation_requires_signature"
    assert rule(refused(manager, cid, s(approval(amount=200_000), plan.at(2)))) == "approval_exceeds_request"
    approved = manager.append(cid, s(approval(), plan.at(2)), expected_version=1)
    assert approved.version == 2
    assert rule(refused(manager, cid, s(approval(), plan.at(3)))) == "compensation_already_decided"
    last = staff.timeline(cid)[-1]
    assert (last.event_type, last.actor) == ("complaint.compensation_approved", "service_manager:manager-a")


def test_calls_outside_calling_hours_are_refused(clients):
    """A complaint filed late in an evening two days ago (its deadlines may fire while
    the test runs: nothing here depends on its version)."""
    dealer = clients.dealer_a
    cid = "SH-0042:CMP-NIGHT-CALL"
    two_days_ago = dt.datetime.now(cf.BEIJING).date() - dt.timedelta(days=2)
    filed_at = dt.datetime.combine(two_days_ago, dt.time(21, 30), tzinfo=cf.BEIJING)
    plan = cf.TimePlan(filed_at, voc.SEVERITY_NORMAL, "old")
    dealer.file(cf.file_request(plan, complaint_id=cid))
    s = cf.submission
    for minutes in (30, 9 * 60):  # 22:00, and 06:30 the next morning
        failure = refused(dealer, cid, s(cf.call(answered=False), plan.at(minutes)))
        assert rule(failure) == "outside_calling_hours"
        assert failure.error_info.metadata["event_type"] == "complaint.contact_attempted"
    # 09:30 the next morning is inside them.
    dealer.append(cid, s(cf.call(answered=True, purpose=voc.CONTACT_PURPOSE_GATHER_INFORMATION), plan.at(12 * 60)))
    assert dealer.get(cid).contact_attempts == 1
