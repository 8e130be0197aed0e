"""A dealer system's first steps with complaintflow, through its Python client.

Files the seed-004 complaint (a customer left waiting in the showroom), appends the
apology and the report to the CAC, then reads the complaint and its timeline.

    python3 -m venv .venv && .venv/bin/pip install ./clients/python
    .venv/bin/python examples/walkthrough.py --token "$(cat data/admin.token)"
"""

from __future__ import annotations

import argparse
import uuid

import complaintflow
from complaintflow.v1 import complaints_pb2 as cpb
from complaintflow.v1 import events_pb2 as ev
from complaintflow.v1 import vocabulary_pb2 as voc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--target", default="127.0.0.1:50051")
    parser.add_argument("--token", required=True)
    parser.add_argument("--complaint", default=f"SH-0042:CMP-DEMO-{uuid.uuid4().hex[:6].upper()}")
    args = parser.parse_args()

    with complaintflow.Client(args.target, token=args.token) as client:
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
        # The client gives the request an id and keeps it when it retries (server away,
        # answer lost): the server then replays the first outcome instead of filing twice.
        filed = client.file_complaint(cpb.FileComplaintRequest(complaint_id=args.complaint, filed=filing))
        print(f"filed {filed.name} at version {filed.version}, log position {filed.position}")

        appended = client.append_events(
            cpb.AppendEventsRequest(
                name=filed.name,
                expected_version=filed.version,
                events=[
                    cpb.EventSubmission(event=ev.WorkflowEvent(apologized=ev.Apologized(note="Apologized in person"))),
                    cpb.EventSubmission(
                        event=ev.WorkflowEvent(reported_to_cac=ev.ReportedToCac(cac_reference="CAC-118"))
                    ),
                ],
            )
        )
        print(f"appended {len(appended.events)} events; now at version {appended.version}")

        complaint = client.get_complaint(filed.complaint_id)
        print(f"status {voc.Status.Name(complaint.status)}, level {voc.Level.Name(complaint.level)}")
        for deadline in complaint.deadlines:
            print(f"  deadline {voc.DeadlineKind.Name(deadline.kind)} due {deadline.due_time.ToJsonString()}")

        # The timeline, page after page (the iterator follows the page tokens).
        for event in client.list_complaint_events(filed.complaint_id):
            print(f"  v{event.version} @{event.position} {event.event_type} by {event.actor} hash {event.hash[:16]}…")


if __name__ == "__main__":
    main()
