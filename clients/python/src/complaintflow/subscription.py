"""A subscription to the global log that survives dropped streams.

The server streams events in log order, with checkpoints that cover positions the
subscriber may not see (other dealers' events, filtered-out types). `Subscription` keeps
`position`, the first log position not yet covered, and when the stream drops it opens a
new one from there: no event is missed, and none that was delivered comes again.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable, Iterator, Optional, Protocol

import grpc

from .retry import RetryPolicy, status_code
from .v1 import complaints_pb2, subscriptions_pb2

__all__ = ["Stream", "Subscription"]

log = logging.getLogger("complaintflow")



class Stream(Protocol):
    """A server stream of SubscribeResponse, as a stub's Subscribe call returns it."""

    def __iter__(self) -> Iterator[subscriptions_pb2.SubscribeResponse]: ...

    def cancel(self) -> bool: ...


OpenStream = Callable[[int], Stream]


class Subscription(Iterator[complaints_pb2.RecordedEvent]):
    """Iterates the events of a subscription, from `start_position` on, without end.

    A stream that ends or fails with a status the retry policy retries (the server
    restarted, the connection dropped, the subscription limit was reached) is reopened at
    `position` after the policy's backoff; `policy.max_attempts` failures in a row, with no
    message in between, end the iteration with the last error. `cancel()` (from any
    thread) ends the iteration cleanly. Store `position` to resume later from there.
    """

    def __init__(self, open_stream: OpenStream, start_position: int, policy: RetryPolicy, sleep: Callable[[float], None]):
        self._open_stream = open_stream
        self._policy = policy
        self._sleep = sleep
        self._lock = threading.Lock()
        self._call: Optional[Stream] = None
        self._stream: Optional[Iterator[subscriptions_pb2.SubscribeResponse]] = None
        self._cancelled = False
        self._failures = 0
        #: The first log position not yet delivered or skipped by a checkpoint.
        self.position = start_position
        #: How many times a new stream was opened after the first.
        self.reconnects = 0

    def __iter__(self) -> "Subscription":
        return self

    def __next__(self) -> complaints_pb2.RecordedEvent:
        while True:
            stream = self._current_stream()
            try:
                message = next(stream)
            except StopIteration:
                # A subscription never ends by itself; the server closes it only when it
                # shuts down, which is one more reason to resume.
                self._dropped(None)
                continue
            except grpc.RpcError as err:
                if self._cancelled:
                    raise StopIteration from None
                self._dropped(err)
                continue
            self._failures = 0
            kind = message.WhichOneof("message")
            if kind == "checkpoint":
                self.position = max(self.position, message.checkpoint.next_position)
            elif kind == "event":
                event = message.event
                if event.position < self.position:
                    continue  # delivered before the stream was reopened
                self.position = event.position + 1
                return event

    def _current_stream(self) -> Iterator[subscriptions_pb2.SubscribeResponse]:
        with self._lock:
            if self._cancelled:
                raise StopIteration
            if self._stream is None:
                self._call = self._open_stream(self.position)
                self._stream = iter(self._call)
            return self._stream

    def _dropped(self, err: Optional[grpc.RpcError]) -> None:
        with self._lock:
            self._call = self._stream = None
            if self._cancelled:
                raise StopIteration
        code = status_code(err) if err is not None else None
        if err is not None and (code is None or not self._policy.retries(code)):
            raise err
        self._failures += 1
        if self._failures >= self._policy.max_attempts:
            if err is not None:
                raise err
            raise StopIteration
        delay = self._policy.backoff(self._failures)
        log.info("subscription stream lost (%s); resuming at position %d in %.2fs", code.name if code else "ended", self.position, delay)
        self._sleep(delay)
        self.reconnects += 1

    def cancel(self) -> None:
        """Ends the subscription: the iteration stops (also one blocked in another thread)."""
        with self._lock:
            self._cancelled = True
            call = self._call
        if call is not None:
            call.cancel()

    def __enter__(self) -> "Subscription":
        return self

    def __exit__(self, *exc: object) -> None:
        self.cancel()
