"""A dealer system's first steps with complaintflow, through Python's grpcio.

Files the seed-004 complaint (a customer left waiting in the showroom), appends the
apology and the report to the CAC, then reads the complaint and its timeline.

    python3 -m venv .venv && .venv/bin/pip install grpcio-tools
    mkdir -p gen && .venv/bin/python -m grpc_tools.protoc -I proto \
        --python_out=gen --grpc_python_out=gen proto/complaintflow/v1/*.proto proto/google/api/*.proto
    .venv/bin/python examples/walkthrough.py --token "$(cat data/admin.token)"
"""

import argparse
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "gen"))

import grpc  # noqa: E402
from complaintflow.v1 import complaints_pb2 as cpb  # noqa: E402
from complaintflow.v1 import complaints_pb2_grpc as cgrpc  # noqa: E402
from complaintflow.v1 import events_pb2 as ev  # noqa: E402
from complaintflow.v1 import vocabulary_pb2 as voc  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--token", required=True)
    parser.add_argument("--complaint", default=f"CMP-DEMO-{uuid.uuid4().hex[:6].upper()}")
    args = parser.parse_args()

    metadata = [("authorization", f"Bearer {args.token}")]
    complaints = cgrpc.ComplaintServiceStub(grpc.insecure_channel(args.target))

    filing = ev.Filed(
        origin=voc.ORIGIN_DEALER,
        channel=voc.CHANNEL_WALK_IN,
        dealer_code="SH-0042",
        region_code="EAST",
        received_by="Service advisor Wang",
        customer=ev.Customer(name="Ms Li", phone="+86 138 0013 8000"),
        vehicle=ev.Vehicle(vin="LSVAG2180E2100001", plate="沪A12345", model="Sedan 1.6", mileage_km=23500),
        categories=[voc.CATEGORY_RECEPTION_ATTITUDE],
        severity=voc.SEVERITY_NORMAL,
        description="Waited an hour in the showroom; the repaired car stood in the car park and nobody told her.",
        customer_request="An apology, and to be told when the car is ready.",
    )
    # The request id makes retries safe: send the same request again and nothing is filed twice.
    filed = complaints.FileComplaint(
        cpb.FileComplaintRequest(request_id=str(uuid.uuid4()), complaint_id=args.complaint, filed=filing),
        metadata=metadata,
    )
    print(f"filed {filed.name} at version {filed.version}, log position {filed.position}")

    appended = complaints.AppendEvents(
        cpb.AppendEventsRequest(
            name=filed.name,
            request_id=str(uuid.uuid4()),
            expected_version=filed.version,
            events=[
                cpb.EventSubmission(event=ev.WorkflowEvent(apologized=ev.Apologized(note="Apologized in person"))),
                cpb.EventSubmission(event=ev.WorkflowEvent(reported_to_cac=ev.ReportedToCac(cac_reference="CAC-118"))),
            ],
        ),
        metadata=metadata,
    )
    print(f"appended {len(appended.events)} events; now at version {appended.version}")

    complaint = complaints.GetComplaint(cpb.GetComplaintRequest(name=filed.name), metadata=metadata).complaint
    print(f"status {voc.Status.Name(complaint.status)}, level {voc.Level.Name(complaint.level)}")
    for deadline in complaint.deadlines:
        print(f"  deadline {voc.DeadlineKind.Name(deadline.kind)} due {deadline.due_time.ToJsonString()}")

    timeline = complaints.ListComplaintEvents(cpb.ListComplaintEventsRequest(parent=filed.name), metadata=metadata)
    for event in timeline.events:
        print(f"  v{event.version} @{event.position} {event.event_type} by {event.actor} hash {event.hash[:16]}…")


if __name__ == "__main__":
    main()
