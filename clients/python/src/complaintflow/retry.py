"""The retry policy: which failures are worth another attempt, and how long to wait first.

Every write of the complaintflow API carries a `request_id`, and the server answers a
request id it has seen with the stored outcome (`replayed: true`) instead of writing
again. So a retry must send the very same request, id included: then a write whose
answer was lost on the way back is not written twice. `Client` fills the id in once,
before the first attempt, and every attempt sends that same message.
"""

from __future__ import annotations

import dataclasses
import logging
import random
from typing import Callable, FrozenSet, TypeVar

import grpc

__all__ = ["NO_RETRY", "RETRYABLE_CODES", "RetryPolicy", "call_with_retry"]

T = TypeVar("T")

log = logging.getLogger("complaintflow")

#: The server was away or busy, or the attempt ran out of time: the same request may
#: succeed later. Anything else (a rule refused it, a version conflict, no permission) will
#: be answered the same way again, so it is raised at once.
RETRYABLE_CODES: FrozenSet[grpc.StatusCode] = frozenset(
    {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.DEADLINE_EXCEEDED}
)


@dataclasses.dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter and a cap.

    `max_attempts` counts the first attempt too (1 = no retry). Before retry `n`
    (1-based) the client waits `min(max_backoff, initial_backoff * multiplier**(n-1))`,
    less a random share of up to `jitter` of it, so that many clients that failed together
    do not come back together.
    """

    max_attempts: int = 5
    initial_backoff: float = 0.2
    max_backoff: float = 5.0
    multiplier: float = 2.0
    jitter: float = 0.2
    retryable_codes: FrozenSet[grpc.StatusCode] = RETRYABLE_CODES

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, not {self.max_attempts}")
        if self.initial_backoff < 0 or self.max_backoff < self.initial_backoff:
            raise ValueError("backoffs must satisfy 0 <= initial_backoff <= max_backoff")
        if self.multiplier < 1:
            raise ValueError(f"multiplier must be at least 1, not {self.multiplier}")
        if not 0 <= self.jitter <= 1:
            raise ValueError(f"jitter must be between 0 and 1, not {self.jitter}")

    def retries(self, code: grpc.StatusCode) -> bool:
        return code in self.retryable_codes

    def backoff(self, retry: int, rng: random.Random | None = None) -> float:
        """Seconds to wait before retry number `retry` (1 for the first retry)."""
        if retry < 1:
            raise ValueError(f"retries are numbered from 1, not {retry}")
        base = min(self.max_backoff, self.initial_backoff * self.multiplier ** (retry - 1))
        share = (rng or random).random() * self.jitter
        return base * (1.0 - share)


#: For callers that handle failures themselves.
NO_RETRY = RetryPolicy(max_attempts=1)


def status_code(err: grpc.RpcError) -> grpc.StatusCode | None:
    """The status of a failed call; None for an RpcError that carries none."""
    code = getattr(err, "code", None)
    return code() if callable(code) else None


def call_with_retry(policy: RetryPolicy, sleep: Callable[[float], None], attempt: Callable[[], T], what: str = "call") -> T:
    """Runs `attempt` until it succeeds, fails with a status the policy does not retry,
    or has been tried `policy.max_attempts` times; then the last failure is raised."""
    tried = 0
    while True:
        tried += 1
        try:
            return attempt()
        except grpc.RpcError as err:
            code = status_code(err)
            if code is None or not policy.retries(code) or tried >= policy.max_attempts:
                raise
            delay = policy.backoff(tried)
            log.info("%s failed with %s (attempt %d of %d); retrying in %.2fs", what, code.name, tried, policy.max_attempts, delay)
            sleep(delay)
