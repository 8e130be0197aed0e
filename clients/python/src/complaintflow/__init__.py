"""Python client of complaintflow, the event-sourced complaint-workflow engine.

`complaintflow.Client` is a thin, typed client over the generated gRPC stubs in
`complaintflow.v1` (built from the repository's protos when the package is installed).
"""

from .client import Client, complaint_name, timestamp
from .errors import Failure, decode
from .retry import NO_RETRY, RETRYABLE_CODES, RetryPolicy
from .subscription import Subscription

__all__ = [
    "NO_RETRY",
    "RETRYABLE_CODES",
    "Client",
    "Failure",
    "RetryPolicy",
    "Subscription",
    "complaint_name",
    "decode",
    "timestamp",
]

__version__ = "0.1.0"
