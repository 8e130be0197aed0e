"""AuditService: hash chains, digests, exports, and who may use them."""

from __future__ import annotations

import grpc

import cfsupport as cf
from cfsupport import audit

DENIED = grpc.StatusCode.PERMISSION_DENIED
Verdict = audit.CheckDigestResponse


def test_chains_verify_and_a_digest_stays_consistent(clients, plan):
    auditor, dealer = clients.auditor, clients.dealer_a
    # An empty log has no digest.
    cf.fails(grpc.StatusCode.FAILED_PRECONDITION, auditor.audit.TakeDigest, audit.TakeDigestRequest())

    cid = "SH-0042:CMP-AUDIT"
    dealer.file(cf.file_request(plan, complaint_id=cid))
    dealer.append(cid, cf.submission(cf.apologized(), plan.at(1)), cf.submission(cf.reported(), plan.at(2)))
    clients.dealer_b.file(
        cf.file_request(plan, complaint_id="BJ-0007:CMP-AUDIT-B", dealer=cf.DEALER_B, region=cf.REGION_B)
    )

    one = auditor.audit.VerifyComplaint(audit.VerifyComplaintRequest(name=f"complaints/{cid}")).result
    assert (one.intact, one.events_checked) == (True, 3)
    assert not one.HasField("first_break")
    # Open to anyone who may read the complaint.
    own = dealer.audit.VerifyComplaint(audit.VerifyComplaintRequest(name=f"complaints/{cid}")).result
    assert (own.intact, own.events_checked) == (True, 3)
    cf.fails(grpc.StatusCode.NOT_FOUND, dealer.audit.VerifyComplaint, audit.VerifyComplaintRequest(name="complaints/SH-0042:CMP-NONE"))

    whole = auditor.audit.VerifyLog(audit.VerifyLogRequest()).result
    assert (whole.intact, whole.events_checked) == (True, 4)

    digest = auditor.audit.TakeDigest(audit.TakeDigestRequest()).digest
    assert digest.position == 3 and len(digest.head_hash) == 64
    last = clients.admin.timeline("BJ-0007:CMP-AUDIT-B")[-1]
    assert (last.position, last.hash) == (digest.position, digest.head_hash), "the digest is the head's chained hash"

    # The log grows; the saved digest is still a prefix of it.
    dealer.append(cid, cf.submission(cf.note("after the digest")))
    check = auditor.audit.CheckDigest(audit.CheckDigestRequest(digest=digest))
    assert check.verdict == Verdict.VERDICT_CONSISTENT, check
    assert clients.admin.audit.CheckDigest(audit.CheckDigestRequest(digest=digest)).verdict == Verdict.VERDICT_CONSISTENT

    # A digest this log never had.
    forged = audit.Digest(position=digest.position, head_hash="0" * 64)
    assert auditor.audit.CheckDigest(audit.CheckDigestRequest(digest=forged)).verdict == Verdict.VERDICT_HASH_MISMATCH
    beyond = audit.Digest(position=1000, head_hash=digest.head_hash)
    assert auditor.audit.CheckDigest(audit.CheckDigestRequest(digest=beyond)).verdict == Verdict.VERDICT_TRUNCATED

    # Exports: every event of the chosen complaints, in version order.
    exported = [r.event for r in auditor.audit.ExportTimelines(audit.ExportTimelinesRequest(complaint_ids=[cid]))]
    assert [(e.complaint_id, e.version) for e in exported] == [(cid, v) for v in range(4)]
    assert [e.SerializeToString() for e in exported] == [e.SerializeToString() for e in auditor.timeline(cid)]
    # (Exporting everything lists the complaints from the projections, which follow
    # the log: wait until they have caught up.)
    def export_all():
        return [r.event for r in auditor.audit.ExportTimelines(audit.ExportTimelinesRequest())]

    cf.wait_until(lambda: len(export_all()) == 5, what="every event exported")
    assert sorted(e.position for e in export_all()) == list(range(5))


def test_dealers_and_the_cac_may_not_audit_the_whole_log(clients, plan):
    clients.dealer_a.file(cf.file_request(plan, complaint_id="SH-0042:CMP-AUDIT-2"))
    digest = clients.auditor.audit.TakeDigest(audit.TakeDigestRequest()).digest
    for who in ("dealer_a", "dealer_b", "manager_a", "cac_east"):
        caller = getattr(clients, who)
        failure = cf.fails(DENIED, caller.audit.VerifyLog, audit.VerifyLogRequest())
        assert "auditor" in failure.message, (who, failure.message)
        cf.fails(DENIED, caller.audit.TakeDigest, audit.TakeDigestRequest())
        cf.fails(DENIED, caller.audit.CheckDigest, audit.CheckDigestRequest(digest=digest))
        stream = caller.audit.ExportTimelines(audit.ExportTimelinesRequest())
        cf.fails(DENIED, lambda: list(stream))
