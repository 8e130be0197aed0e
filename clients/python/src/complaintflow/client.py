"""`Client`: the complaintflow API with a bearer token, deadlines, retries that keep the
request id, page iterators and a resumable subscription. The messages are the generated
ones (`complaintflow.v1.*_pb2`): the client adds behaviour, not a second model."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from typing import Any, Callable, Iterator, Optional, Protocol, Sequence, Tuple, TypeVar, Union

import grpc
from google.protobuf import timestamp_pb2
from google.protobuf.message import Message

from .retry import RetryPolicy, call_with_retry
from .subscription import Stream, Subscription
from .v1 import (
    audit_pb2_grpc,
    complaints_pb2,
    complaints_pb2_grpc,
    follow_ups_pb2,
    follow_ups_pb2_grpc,
    subscriptions_pb2,
    subscriptions_pb2_grpc,
)

__all__ = ["Client", "complaint_name", "timestamp"]

M = TypeVar("M", bound=Message)
R = TypeVar("R")


class _Page(Protocol):
    @property
    def next_page_token(self) -> str: ...


P = TypeVar("P", bound=_Page)
Metadata = Tuple[Tuple[str, str], ...]

#: Seconds each attempt of a unary call may take.
DEFAULT_TIMEOUT = 30.0


def complaint_name(complaint: str) -> str:
    """`complaints/{id}` for an id or a name."""
    return complaint if complaint.startswith("complaints/") else f"complaints/{complaint}"


def timestamp(moment: dt.datetime) -> timestamp_pb2.Timestamp:
    """A protobuf Timestamp of an aware datetime (a naive one is refused: the engine keeps
    times in UTC and takes calling hours in Asia/Shanghai, so a guessed zone is a bug)."""
    if moment.tzinfo is None:
        raise ValueError("a naive datetime has no zone; give one, e.g. tzinfo=datetime.timezone.utc")
    out = timestamp_pb2.Timestamp()
    out.FromDatetime(moment.astimezone(dt.timezone.utc))
    return out


def _with_request_id(request: M) -> M:
    """The request itself when it has a request id; otherwise a copy with a new one, made
    once so that every attempt of the call sends the same id."""
    if getattr(request, "request_id", "x"):
        return request
    copy = type(request)()
    copy.CopyFrom(request)
    setattr(copy, "request_id", str(uuid.uuid4()))
    return copy


class Client:
    """A connection to a complaintflow server.

    `target` is `host:port`. `token` is the bearer token (`complaintflow token issue`),
    sent as `authorization: Bearer …` on every call. With `tls=True` the channel is
    encrypted and the server's certificate checked against `root_certificates` (PEM; the
    system's roots when None); `certificate_chain` and `private_key` add a client
    certificate. Each attempt of a unary call has `timeout` seconds; `retry` says which
    failures are tried again and how long to wait (`sleep` waits, injectable for tests).

    The raw stubs are `complaints`, `follow_ups`, `audit` and `subscriptions`; call them
    with `metadata=client.metadata`, or through `client.unary(...)` to get the deadline
    and retries too.
    """

    def __init__(
        self,
        target: str,
        *,
        token: Optional[str] = None,
        tls: bool = False,
        root_certificates: Optional[bytes] = None,
        certificate_chain: Optional[bytes] = None,
        private_key: Optional[bytes] = None,
        options: Sequence[Tuple[str, Any]] = (),
        retry: RetryPolicy = RetryPolicy(),
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        # gRPC waits up to two minutes between reconnection attempts after a long outage,
        # which would outlast every retry; the channel keeps to the policy's pace instead.
        merged = {
            "grpc.initial_reconnect_backoff_ms": max(1, int(retry.initial_backoff * 1000)),
            "grpc.max_reconnect_backoff_ms": max(1, int(retry.max_backoff * 1000)),
            **dict(options),
        }
        if tls:
            credentials = grpc.ssl_channel_credentials(root_certificates, private_key, certificate_chain)
            channel = grpc.secure_channel(target, credentials, options=list(merged.items()))
        elif root_certificates or certificate_chain or private_key:
            raise ValueError("certificates were given but tls=False: pass tls=True to use them")
        else:
            channel = grpc.insecure_channel(target, options=list(merged.items()))
        self._owns_channel = True
        self._setup(channel, token, retry, timeout, sleep)

    @classmethod
    def from_channel(
        cls,
        channel: grpc.Channel,
        *,
        token: Optional[str] = None,
        retry: RetryPolicy = RetryPolicy(),
        timeout: Optional[float] = DEFAULT_TIMEOUT,
        sleep: Callable[[float], None] = time.sleep,
        metadata: Optional[Metadata] = None,
    ) -> "Client":
        """A client over a channel the caller made (and closes). `metadata`, when given,
        replaces the authorization header the token would make."""
        client = cls.__new__(cls)
        client._owns_channel = False
        client._setup(channel, token, retry, timeout, sleep, metadata)
        return client

    def _setup(
        self,
        channel: grpc.Channel,
        token: Optional[str],
        retry: RetryPolicy,
        timeout: Optional[float],
        sleep: Callable[[float], None],
        metadata: Optional[Metadata] = None,
    ) -> None:
        self.channel = channel
        self.retry = retry
        self.timeout = timeout
        self._sleep = sleep
        if metadata is None:
            metadata = (("authorization", f"Bearer {token}"),) if token is not None else ()
        self.metadata: Metadata = metadata
        self.complaints = complaints_pb2_grpc.ComplaintServiceStub(channel)
        self.follow_ups = follow_ups_pb2_grpc.FollowUpServiceStub(channel)
        self.audit = audit_pb2_grpc.AuditServiceStub(channel)
        self.subscriptions = subscriptions_pb2_grpc.SubscriptionServiceStub(channel)

    def close(self) -> None:
        if self._owns_channel:
            self.channel.close()

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------------- any unary call

    def unary(
        self, method: grpc.UnaryUnaryMultiCallable[M, R], request: M, *, retry: Optional[RetryPolicy] = None
    ) -> R:
        """Calls a unary method of a raw stub with the token, the per-attempt deadline and
        the retry policy. A request with an empty `request_id` field gets one first, and
        keeps it across attempts: a retry is then a replay on the server."""
        request = _with_request_id(request)
        return call_with_retry(
            retry or self.retry,
            self._sleep,
            lambda: method(request, metadata=self.metadata, timeout=self.timeout),
            what=type(request).DESCRIPTOR.name,
        )

    # ---------------------------------------------------------------- complaints

    def file_complaint(self, request: complaints_pb2.FileComplaintRequest) -> complaints_pb2.FileComplaintResponse:
        """Files a complaint; `replayed` in the answer says the request id was seen before."""
        return self.unary(self.complaints.FileComplaint, request)

    def append_events(self, request: complaints_pb2.AppendEventsRequest) -> complaints_pb2.AppendEventsResponse:
        """Appends events (all or none), optionally at an `expected_version`."""
        return self.unary(self.complaints.AppendEvents, request)

    def get_complaint(
        self,
        complaint: str,
        *,
        as_of_version: Optional[int] = None,
        as_of_time: Union[dt.datetime, timestamp_pb2.Timestamp, None] = None,
    ) -> complaints_pb2.Complaint:
        """The complaint now, or as it stood at a version or a moment (`complaint` is an
        id or a `complaints/{id}` name)."""
        request = complaints_pb2.GetComplaintRequest(name=complaint_name(complaint))
        if as_of_version is not None and as_of_time is not None:
            raise ValueError("as_of_version and as_of_time exclude each other")
        if as_of_version is not None:
            request.as_of_version = as_of_version
        if as_of_time is not None:
            request.as_of_time.CopyFrom(as_of_time if isinstance(as_of_time, timestamp_pb2.Timestamp) else timestamp(as_of_time))
        return self.unary(self.complaints.GetComplaint, request).complaint

    def list_complaints(self, request: Optional[complaints_pb2.ListComplaintsRequest] = None) -> Iterator[complaints_pb2.Complaint]:
        """Every complaint the filters of `request` select (and the caller may see), page
        after page; `request.page_size` sets the page (the server's default when 0)."""
        for page in self._pages(self.complaints.ListComplaints, request or complaints_pb2.ListComplaintsRequest()):
            yield from page.complaints

    def list_complaint_events(
        self, complaint: str, *, descending: bool = False, page_size: int = 0
    ) -> Iterator[complaints_pb2.RecordedEvent]:
        """The timeline of a complaint, oldest first (or newest first), page after page."""
        request = complaints_pb2.ListComplaintEventsRequest(
            parent=complaint_name(complaint), descending=descending, page_size=page_size
        )
        for page in self._pages(self.complaints.ListComplaintEvents, request):
            yield from page.events

    def get_statistics(
        self, request: Optional[complaints_pb2.GetStatisticsRequest] = None
    ) -> complaints_pb2.GetStatisticsResponse:
        return self.unary(self.complaints.GetStatistics, request or complaints_pb2.GetStatisticsRequest())

    # ---------------------------------------------------------------- follow-ups

    def open_follow_up(self, request: follow_ups_pb2.OpenFollowUpRequest) -> follow_ups_pb2.OpenFollowUpResponse:
        return self.unary(self.follow_ups.OpenFollowUp, request)

    def record_follow_up_event(
        self, request: follow_ups_pb2.RecordFollowUpEventRequest
    ) -> follow_ups_pb2.RecordFollowUpEventResponse:
        return self.unary(self.follow_ups.RecordFollowUpEvent, request)

    def list_follow_ups(self, request: Optional[follow_ups_pb2.ListFollowUpsRequest] = None) -> Iterator[follow_ups_pb2.FollowUp]:
        for page in self._pages(self.follow_ups.ListFollowUps, request or follow_ups_pb2.ListFollowUpsRequest()):
            yield from page.follow_ups

    # ---------------------------------------------------------------- the global log

    def subscribe(
        self,
        start_position: int = 0,
        *,
        region_codes: Sequence[str] = (),
        dealer_codes: Sequence[str] = (),
        event_types: Sequence[str] = (),
        retry: Optional[RetryPolicy] = None,
    ) -> Subscription:
        """The events of the global log from `start_position` on, live, resumed after a
        dropped stream from the last position seen. The server shows only the events the
        token may see; the codes and types narrow it further."""

        def open_stream(position: int) -> Stream:
            request = subscriptions_pb2.SubscribeRequest(
                start_position=position,
                region_codes=list(region_codes),
                dealer_codes=list(dealer_codes),
                event_types=list(event_types),
            )
            # No deadline: a subscription lasts as long as its reader wants it.
            return self.subscriptions.Subscribe(request, metadata=self.metadata)

        return Subscription(open_stream, start_position, retry or self.retry, self._sleep)

    # ---------------------------------------------------------------- paging

    def _pages(self, method: grpc.UnaryUnaryMultiCallable[M, P], request: M) -> Iterator[P]:
        """The pages of a List call, following `next_page_token`; each page is one call
        with its own retries, so a failure costs one page, not the listing."""
        page_request = type(request)()
        page_request.CopyFrom(request)
        seen = set()
        while True:
            page = self.unary(method, page_request)
            yield page
            token = page.next_page_token
            if not token:
                return
            if token in seen:
                raise RuntimeError(f"the server repeated page token {token!r}: the listing would never end")
            seen.add(token)
            setattr(page_request, "page_token", token)
