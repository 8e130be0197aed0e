"""The package's retry policy and subscription bookkeeping, without a server: fake calls
that fail as a server or a network would."""

from __future__ import annotations

import random

import grpc
import pytest

import complaintflow
from complaintflow.retry import call_with_retry
from complaintflow.subscription import Subscription
from complaintflow.v1 import complaints_pb2, subscriptions_pb2


class FakeError(grpc.RpcError, grpc.Call):
    def __init__(self, code: grpc.StatusCode):
        self._code = code

    def code(self):
        return self._code

    def details(self):
        return self._code.name

    # The rest of grpc.Call, unused here.
    def initial_metadata(self):
        return ()

    def trailing_metadata(self):
        return ()

    def is_active(self):
        return False

    def time_remaining(self):
        return None

    def cancel(self):
        return False

    def add_callback(self, callback):
        return False


def test_backoff_grows_by_the_multiplier_up_to_the_cap_less_the_jitter():
    policy = complaintflow.RetryPolicy(initial_backoff=0.1, multiplier=2, max_backoff=1.0, jitter=0)
    assert [policy.backoff(n) for n in range(1, 7)] == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])
    jittered = complaintflow.RetryPolicy(initial_backoff=1.0, max_backoff=1.0, jitter=0.5)
    waits = [jittered.backoff(1, random.Random(seed)) for seed in range(200)]
    assert all(0.5 <= w <= 1.0 for w in waits) and len(set(waits)) > 100
    with pytest.raises(ValueError):
        complaintflow.RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError):
        complaintflow.RetryPolicy(initial_backoff=2, max_backoff=1)


@pytest.mark.parametrize("code", sorted(complaintflow.RETRYABLE_CODES, key=lambda c: c.name))
def test_a_retryable_failure_is_tried_again_with_the_same_request(code):
    sent, waits = [], []

    def attempt():
        sent.append(request)
        if len(sent) < 3:
            raise FakeError(code)
        return "done"

    request = object()
    policy = complaintflow.RetryPolicy(max_attempts=3, initial_backoff=0.5, jitter=0)
    assert call_with_retry(policy, waits.append, attempt) == "done"
    assert sent == [request] * 3 and waits == [0.5, 1.0]


@pytest.mark.parametrize(
    "code",
    [grpc.StatusCode.ABORTED, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.INTERNAL],
)
def test_other_failures_are_raised_at_once(code):
    waits = []

    def attempt():
        raise FakeError(code)

    with pytest.raises(grpc.RpcError) as raised:
        call_with_retry(complaintflow.RetryPolicy(), waits.append, attempt)
    assert raised.value.code() == code and waits == []


def test_retries_end_after_max_attempts_with_the_last_failure():
    tried, waits = [], []

    def attempt():
        tried.append(1)
        raise FakeError(grpc.StatusCode.UNAVAILABLE)

    with pytest.raises(grpc.RpcError) as raised:
        call_with_retry(complaintflow.RetryPolicy(max_attempts=4, jitter=0, initial_backoff=0.1), waits.append, attempt)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert len(tried) == 4 and waits == pytest.approx([0.1, 0.2, 0.4])


# ------------------------------------------------------------------ subscriptions


def event(position: int) -> subscriptions_pb2.SubscribeResponse:
    return subscriptions_pb2.SubscribeResponse(
        event=complaints_pb2.RecordedEvent(complaint_id=f"CMP-{position}", position=position)
    )


def checkpoint(next_position: int) -> subscriptions_pb2.SubscribeResponse:
    return subscriptions_pb2.SubscribeResponse(checkpoint=subscriptions_pb2.Checkpoint(next_position=next_position))


class FakeStream:
    """A stream that yields `messages` and then fails with `code` (or ends if None)."""

    def __init__(self, messages, code):
        self._messages = iter(messages)
        self._code = code

    def __iter__(self):
        return self

    def __next__(self):
        for message in self._messages:
            return message
        if self._code is None:
            raise StopIteration
        raise FakeError(self._code)

    def cancel(self):
        pass


def scripted(*streams):
    """open_stream for Subscription: the streams in turn, recording the start positions."""
    opened = []
    remaining = list(streams)

    def open_stream(position):
        opened.append(position)
        return remaining.pop(0)(position)

    return open_stream, opened


def log_from(log, code):
    """A stream over the log `log` (position -> message) from the asked position."""
    return lambda position: FakeStream([m for p, m in log if p >= position], code)


def test_a_subscription_resumes_at_the_first_position_not_yet_covered():
    # The whole log: 0..9, where 3..5 are not ours (a checkpoint covers them).
    log = [(0, event(0)), (1, event(1)), (2, event(2)), (3, checkpoint(6)), (6, event(6)), (7, event(7)), (8, event(8)), (9, event(9))]
    unavailable = grpc.StatusCode.UNAVAILABLE

    def cut_after(count, code=unavailable):
        return lambda position: FakeStream([m for p, m in log if p >= position][:count], code)

    open_stream, opened = scripted(
        cut_after(2),  # events 0, 1, then dropped
        cut_after(2),  # 2 and the checkpoint, then dropped
        cut_after(0, None),  # ended at once by the server (shutting down)
        # The server sends again what the client already has: it is not delivered twice.
        lambda position: FakeStream([event(6), event(7)], grpc.StatusCode.RESOURCE_EXHAUSTED),
        log_from(log, None),
    )
    waits = []
    policy = complaintflow.RetryPolicy(max_attempts=3, initial_backoff=0.1, jitter=0)
    subscription = Subscription(open_stream, 0, policy, waits.append)
    got = [next(subscription).position for _ in range(7)]
    assert got == [0, 1, 2, 6, 7, 8, 9]
    assert opened == [0, 2, 6, 6, 8]
    assert subscription.position == 10 and subscription.reconnects == 4
    # Each failure follows a message, so each is the first in a row.
    assert waits == [0.1, 0.1, 0.2, 0.1]


def test_a_subscription_gives_up_after_max_attempts_failures_in_a_row_and_not_on_others():
    def never(position):
        return FakeStream([], grpc.StatusCode.UNAVAILABLE)

    waits = []
    subscription = Subscription(never, 5, complaintflow.RetryPolicy(max_attempts=3, jitter=0, initial_backoff=1), waits.append)
    with pytest.raises(grpc.RpcError) as raised:
        next(subscription)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE and waits == [1, 2]

    denied = Subscription(
        lambda position: FakeStream([], grpc.StatusCode.PERMISSION_DENIED), 0, complaintflow.RetryPolicy(), waits.append
    )
    with pytest.raises(grpc.RpcError) as raised:
        next(denied)
    assert raised.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_a_cancelled_subscription_ends_its_iteration():
    subscription = Subscription(lambda position: FakeStream([event(position)], None), 0, complaintflow.RetryPolicy(), lambda s: None)
    assert next(subscription).position == 0
    subscription.cancel()
    assert list(subscription) == []
