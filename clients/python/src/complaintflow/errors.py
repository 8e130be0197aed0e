"""The details a failed call carries (`google.rpc.Status` in the `grpc-status-details-bin`
trailer): why it failed (`ErrorInfo.reason`, e.g. WRONG_EXPECTED_VERSION), which fields were
wrong (`BadRequest`), which rule did not hold (`PreconditionFailure`)."""

from __future__ import annotations

import dataclasses
from typing import Dict, List, Optional

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

__all__ = ["Failure", "decode"]


@dataclasses.dataclass(frozen=True)
class Failure:
    code: grpc.StatusCode
    message: str
    error_info: Optional[error_details_pb2.ErrorInfo]
    bad_request: Optional[error_details_pb2.BadRequest]
    precondition: Optional[error_details_pb2.PreconditionFailure]
    #: False when the server sent a bare status (no google.rpc.Status at all).
    has_status_details: bool

    @property
    def reason(self) -> str:
        """`ErrorInfo.reason`, or "" when there is none."""
        return self.error_info.reason if self.error_info else ""

    @property
    def metadata(self) -> Dict[str, str]:
        return dict(self.error_info.metadata) if self.error_info else {}

    @property
    def fields(self) -> List[str]:
        """The fields a BadRequest names, in its order."""
        return [v.field for v in self.bad_request.field_violations] if self.bad_request else []


def decode(err: grpc.RpcError) -> Failure:
    """Reads the status and its details from a failed call (a `grpc.RpcError` raised by a
    stub or by `complaintflow.Client`)."""
    call: grpc.Call = err  # type: ignore[assignment]  # a failed call's RpcError is also its Call
    status = rpc_status.from_call(call)
    info: Optional[error_details_pb2.ErrorInfo] = None
    bad: Optional[error_details_pb2.BadRequest] = None
    pre: Optional[error_details_pb2.PreconditionFailure] = None
    if status is not None:
        for detail in status.details:
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
            elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
                bad = error_details_pb2.BadRequest()
                detail.Unpack(bad)
            elif detail.Is(error_details_pb2.PreconditionFailure.DESCRIPTOR):
                pre = error_details_pb2.PreconditionFailure()
                detail.Unpack(pre)
    return Failure(call.code(), call.details() or "", info, bad, pre, status is not None)
