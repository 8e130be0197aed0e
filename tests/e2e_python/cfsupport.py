"""Helpers for the end-to-end suite: a running server, clients bound to a token, sample
requests, the choice of event times, and error-detail decoding.

The stubs and the client come from the `complaintflow` package of clients/python, which
scripts/test.sh installs into the suite's virtualenv (`pip install ./clients/python`):
the suite checks the package a dealer's developer installs, not a copy of its own.
Nothing here builds the binary: scripts/test.sh does, and passes its path in
COMPLAINTFLOW_BIN.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import queue
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path

import grpc

try:
    import complaintflow
except ImportError as missing:
    raise ImportError(
        "the suite uses the client package: install it with `pip install ./clients/python` "
        "into the suite's virtualenv (scripts/test.sh does)"
    ) from missing
from complaintflow.errors import Failure, decode
from complaintflow.v1 import audit_pb2 as audit
from complaintflow.v1 import complaints_pb2 as cpb
from complaintflow.v1 import events_pb2 as ev
from complaintflow.v1 import subscriptions_pb2 as sub
from complaintflow.v1 import vocabulary_pb2 as voc
from google.protobuf import timestamp_pb2

REPO = Path(__file__).resolve().parents[2]

# Every unary call gets a deadline, so a hung server fails a test instead of the run.
CALL_TIMEOUT = 15.0

BEIJING = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")

DEALER_A, REGION_A = "SH-0042", "EAST"
DEALER_B, REGION_B = "BJ-0007", "NORTH"
VIN = "LSVAG2180E2100001"
PHONE = "+86 138 0013 8000"


__all__ = ["Failure", "audit", "cpb", "decode", "ev", "sub", "voc"]


# --------------------------------------------------------------------------------------
# Tokens and the server process.


def binary() -> str:
    path = os.environ.get("COMPLAINTFLOW_BIN")
    if not path:
        raise RuntimeError(
            "COMPLAINTFLOW_BIN is not set: build with `cargo build --bin complaintflow` and "
            "point it at target/debug/complaintflow (scripts/test.sh does both)"
        )
    path = str(Path(path).resolve()) if not Path(path).is_absolute() else path
    if not os.access(path, os.X_OK):
        raise RuntimeError(f"COMPLAINTFLOW_BIN={path} is not an executable file")
    return path


# name -> (identity, role, dealers, regions, acts_as)
TOKEN_SPECS = {
    "dealer_a": ("dealer-a", "dealer", [DEALER_A], [REGION_A], None),
    "dealer_b": ("dealer-b", "dealer", [DEALER_B], [REGION_B], None),
    "manager_a": ("manager-a", "dealer", [DEALER_A], [REGION_A], "service_manager"),
    "cac_east": ("cac-east", "cac", [], [REGION_A], None),
    "auditor": ("auditor-1", "auditor", [], [], None),
    "admin": ("admin-1", "admin", [], [], None),
}


def issue_tokens(token_file: Path) -> dict[str, str]:
    tokens = {}
    for name, (identity, role, dealers, regions, acts_as) in TOKEN_SPECS.items():
        cmd = [binary(), "token", "issue", "--tokens", str(token_file), "--identity", identity, "--role", role]
        for d in dealers:
            cmd += ["--dealer", d]
        for r in regions:
            cmd += ["--region", r]
        if acts_as:
            cmd += ["--acts-as", acts_as]
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        assert result.returncode == 0, f"{cmd} failed: {result.stderr}"
        token = result.stdout.strip()
        assert token and "\n" not in token, f"unexpected token output {result.stdout!r}"
        tokens[name] = token
    return tokens


@dataclasses.dataclass
class Server:
    process: subprocess.Popen
    address: str
    data_dir: Path
    log_path: Path
    stopped: bool = False

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 30.0) -> int:
        """SIGTERM, then the exit code (killing it if it does not stop in time)."""
        self.stopped = True
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
                raise AssertionError(
                    f"the server did not stop within {timeout}s of SIGTERM\n{self.log_tail()}"
                )
        if self.process.stdout:
            self.process.stdout.close()
        return self.process.returncode


LISTEN_PREFIX = "complaintflow listening on "


def start_server(
    data_dir: Path, token_file: Path, log_path: Path, startup_timeout: float = 60.0, extra_args: tuple[str, ...] = ()
) -> Server:
    log = open(log_path, "wb")
    process = subprocess.Popen(
        [
            binary(),
            "serve",
            "--data-dir",
            str(data_dir),
            "--listen",
            "127.0.0.1:0",
            "--no-metrics",
            "--no-http",
            "--tokens",
            str(token_file),
            *extra_args,
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    log.close()
    lines: queue.Queue = queue.Queue()

    def read_first_line():
        lines.put(process.stdout.readline())

    threading.Thread(target=read_first_line, daemon=True).start()
    try:
        line = lines.get(timeout=startup_timeout)
    except queue.Empty:
        process.kill()
        process.wait()
        raise RuntimeError(f"the server printed nothing within {startup_timeout}s")
    server = Server(process, "", data_dir, log_path)
    if not line.startswith(LISTEN_PREFIX):
        process.kill()
        process.wait()
        raise RuntimeError(f"unexpected first stdout line {line!r}; log:\n{server.log_tail()}")
    server.address = line[len(LISTEN_PREFIX):].strip()
    host, _, port = server.address.rpartition(":")
    assert host == "127.0.0.1" and int(port) > 0, server.address
    return server


# --------------------------------------------------------------------------------------
# Clients bound to a token.


class _Bound:
    """A raw stub whose calls carry the caller's metadata and a deadline by default: the
    suite sends requests exactly as written (an empty request id included) and sees the
    server's answers unretried."""

    def __init__(self, stub, metadata):
        self._stub = stub
        self._metadata = metadata

    def __getattr__(self, name):
        method = getattr(self._stub, name)

        def call(request, **kwargs):
            kwargs.setdefault("metadata", self._metadata)
            kwargs.setdefault("timeout", CALL_TIMEOUT)
            return method(request, **kwargs)

        call.with_call = lambda request, **kwargs: method.with_call(
            request, metadata=kwargs.pop("metadata", self._metadata), timeout=kwargs.pop("timeout", CALL_TIMEOUT), **kwargs
        )
        return call


class Client:
    """`api`, the package's client on the channel, without retries: the suite checks each
    answer of the server as it is (a retry would hide a RESOURCE_EXHAUSTED the test
    expects); the package's retries have tests of their own (test_client.py). The raw
    stubs, bound to the same metadata, are `complaints`, `audit` and `subscriptions`."""

    def __init__(self, channel: grpc.Channel, token: str | None, raw_authorization: str | None = None):
        metadata = (("authorization", raw_authorization),) if raw_authorization is not None else None
        self.api = complaintflow.Client.from_channel(
            channel, token=token, metadata=metadata, retry=complaintflow.NO_RETRY, timeout=CALL_TIMEOUT
        )
        self.metadata = self.api.metadata
        self.complaints = _Bound(self.api.complaints, self.metadata)
        self.audit = _Bound(self.api.audit, self.metadata)
        self.subscriptions = _Bound(self.api.subscriptions, self.metadata)

    # Shorthands for the calls most tests make.

    def file(self, request: cpb.FileComplaintRequest) -> cpb.FileComplaintResponse:
        # Raw: the malformed-request tests send an empty request id, which the package
        # would fill in.
        return self.complaints.FileComplaint(request)

    def append(self, complaint_id: str, *submissions: cpb.EventSubmission, expected_version=None, request_id=None):
        request = cpb.AppendEventsRequest(
            name=complaintflow.complaint_name(complaint_id),
            request_id=request_id or new_id(),
            events=list(submissions),
        )
        if expected_version is not None:
            request.expected_version = expected_version
        return self.api.append_events(request)

    def get(self, complaint_id: str, **as_of) -> cpb.Complaint:
        return self.api.get_complaint(complaint_id, **as_of)

    def timeline(self, complaint_id: str, descending=False, page_size=0) -> list:
        """Every event of a complaint, following page tokens."""
        return list(self.api.list_complaint_events(complaint_id, descending=descending, page_size=page_size))


# --------------------------------------------------------------------------------------
# Error details.


def new_id() -> str:
    return str(uuid.uuid4())


def fails(code, fn, *args, **kwargs) -> Failure:
    """Calls `fn`, expects it to fail with `code` (or one of a tuple of codes), returns
    the decoded failure."""
    codes = code if isinstance(code, tuple) else (code,)
    try:
        result = fn(*args, **kwargs)
    except grpc.RpcError as err:
        failure = decode(err)
        assert failure.code in codes, f"expected {code}, got {failure.code}: {failure.message}"
        return failure
    raise AssertionError(f"expected {code}, but the call succeeded: {result}")


def invalid_field(fn, *args, **kwargs) -> list[str]:
    """Expects INVALID_ARGUMENT with a BadRequest detail; returns the violated fields."""
    failure = fails(grpc.StatusCode.INVALID_ARGUMENT, fn, *args, **kwargs)
    assert failure.bad_request is not None, f"INVALID_ARGUMENT without BadRequest: {failure.message}"
    return failure.fields


# --------------------------------------------------------------------------------------
# Time: every event date is chosen so that it is in the past, calls fall in calling
# hours (Asia/Shanghai 09:00-21:00), and no deadline of the complaint warns or falls
# due while the test runs (otherwise the engine's timers append events of their own
# and the versions a test expects move under it).


ts = complaintflow.timestamp


def from_ts(value: timestamp_pb2.Timestamp) -> dt.datetime:
    return value.ToDatetime(tzinfo=dt.timezone.utc)


@dataclasses.dataclass
class TimePlan:
    """`filed_at` and the moments after it; `severity` the one that keeps the
    report-to-CAC deadline out of the test's way at this time of day."""

    filed_at: dt.datetime
    severity: int
    mode: str

    def at(self, minutes: float) -> dt.datetime:
        return self.filed_at + dt.timedelta(minutes=minutes)


def time_plan(now: dt.datetime | None = None) -> TimePlan:
    """Daytime in Beijing (09:30-20:55): filed 20 minutes ago as a MAJOR case, whose
    report-to-CAC deadline is 60 wall minutes (warning at 45), and calls may be made
    until now. Otherwise (evening and night): filed at 20:00 Beijing of the last
    evening, a NORMAL case, after closing, so its report deadline is the next business
    day's 17:30 (warning at 15:15), still ahead; calls are made before 21:00."""
    now = (now or dt.datetime.now(dt.timezone.utc)).astimezone(BEIJING)
    minute_of_day = now.hour * 60 + now.minute
    if 9 * 60 + 30 <= minute_of_day < 20 * 60 + 55:
        filed = (now - dt.timedelta(minutes=20)).replace(microsecond=0)
        return TimePlan(filed, voc.SEVERITY_MAJOR, "day")
    evening = now.date() if minute_of_day >= 20 * 60 + 55 else now.date() - dt.timedelta(days=1)
    filed = dt.datetime.combine(evening, dt.time(20, 0), tzinfo=BEIJING)
    return TimePlan(filed, voc.SEVERITY_NORMAL, "night")


# --------------------------------------------------------------------------------------
# Sample requests (the valid payloads of tests/support/events.rs).


def filed(dealer=DEALER_A, region=REGION_A, severity=voc.SEVERITY_NORMAL, **overrides) -> ev.Filed:
    message = ev.Filed(
        origin=voc.ORIGIN_DEALER,
        channel=voc.CHANNEL_WALK_IN,
        dealer_code=dealer,
        region_code=region,
        received_by="Service advisor Wang",
        customer=ev.Customer(name="Ms Li", phone=PHONE),
        vehicle=ev.Vehicle(
            vin=VIN, plate="沪A12345", model="Sedan 1.6", mileage_km=23500, purchase_date="2024-05-20"
        ),
        categories=[voc.CATEGORY_RECEPTION_ATTITUDE],
        severity=severity,
        description="Waited an hour in the showroom; the repaired car stood in the car park and nobody told her.",
        customer_request="An apology, and to be told when the car is ready.",
    )
    for key, value in overrides.items():
        if isinstance(value, (list, tuple)):
            field = getattr(message, key)
            del field[:]
            field.extend(value)
        elif hasattr(value, "DESCRIPTOR"):
            getattr(message, key).CopyFrom(value)
        else:
            setattr(message, key, value)
    return message


def file_request(plan: TimePlan, complaint_id=None, request_id=None, dealer=DEALER_A, region=REGION_A, **overrides):
    return cpb.FileComplaintRequest(
        request_id=request_id or new_id(),
        complaint_id=complaint_id or f"{dealer}:CMP-{uuid.uuid4().hex[:12].upper()}",
        occur_time=ts(plan.filed_at),
        filed=filed(dealer=dealer, region=region, severity=plan.severity, **overrides),
    )


def submission(event: ev.WorkflowEvent, at: dt.datetime | None = None, event_id: str = "") -> cpb.EventSubmission:
    out = cpb.EventSubmission(event=event, event_id=event_id)
    if at is not None:
        out.occur_time.CopyFrom(ts(at))
    return out


def apologized(note="Apologized in person"):
    return ev.WorkflowEvent(apologized=ev.Apologized(note=note))


def reported(reference="CAC-2026-118"):
    return ev.WorkflowEvent(reported_to_cac=ev.ReportedToCac(cac_reference=reference))


def cause_found():
    return ev.WorkflowEvent(
        cause_found=ev.CauseFound(
            root_cause=voc.ROOT_CAUSE_DEALER_BROKEN_PROMISE,
            responsible=ev.ResponsibleParty(kind=voc.RESPONSIBLE_PARTY_KIND_DEALER, department=voc.DEPARTMENT_SERVICE),
            summary="Root cause established",
            within_dealer_authority=True,
        )
    )


def proposed(option_id="O1", promised_by: dt.datetime | None = None):
    promised_by = promised_by or dt.datetime.now(dt.timezone.utc) + dt.timedelta(days=14)
    return ev.WorkflowEvent(
        solution_proposed=ev.SolutionProposed(
            options=[
                ev.SolutionOption(
                    option_id=option_id,
                    summary="Apology, explanation, and a call when the car is ready from now on",
                    pros="Quick",
                    cons="Nothing material",
                    cost_minor_units=0,
                    promised_by=ts(promised_by),
                )
            ]
        )
    )


def accepted(option_id="O1"):
    return ev.WorkflowEvent(option_accepted=ev.OptionAccepted(option_id=option_id))


def work_done():
    return ev.WorkflowEvent(work_carried_out=ev.WorkCarriedOut(description="Done as agreed"))


def resolved():
    return ev.WorkflowEvent(resolved=ev.Resolved(summary="Resolved as agreed"))


def call(answered=True, purpose=voc.CONTACT_PURPOSE_SATISFACTION_CALLBACK):
    return ev.WorkflowEvent(
        contact_attempted=ev.ContactAttempted(purpose=purpose, answered=answered, recording="rec://calls/0001")
    )


def satisfied(score=5):
    return ev.WorkflowEvent(
        satisfaction_recorded=ev.SatisfactionRecorded(score=score, customer_words="Thank you for calling back")
    )


def closed():
    return ev.WorkflowEvent(closed=ev.Closed(summary="Closed, customer satisfied"))


def note(text="A note"):
    return ev.WorkflowEvent(note_added=ev.NoteAdded(text=text))


# --------------------------------------------------------------------------------------
# Subscriptions: a stream read in a thread, so that the test can stop reading at will.


class StreamReader:
    """Reads a server stream in a background thread into a queue."""

    _END = object()

    def __init__(self, call):
        self.call = call
        self.items: queue.Queue = queue.Queue()
        self.error: grpc.RpcError | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        try:
            for item in self.call:
                self.items.put(item)
        except grpc.RpcError as err:
            self.error = err
        finally:
            self.items.put(self._END)

    def next(self, timeout: float = 10.0):
        """The next message; None when the stream ended."""
        try:
            item = self.items.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no message from the stream within {timeout}s") from None
        return None if item is self._END else item

    def cancel(self, timeout: float = 10.0):
        self.call.cancel()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the stream reader did not stop after cancel()"


def wait_until(predicate, timeout=10.0, interval=0.05, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
