//! One unary call through the in-process gRPC service, framed as a gRPC client frames
//! it, so that authentication, rules, idempotency, size limits and admission are the
//! gRPC services' own.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::header::{AUTHORIZATION, CONTENT_TYPE, TE};
use http::{HeaderValue, Request};
use http_body_util::{BodyExt, Full, Limited};
use tonic::{Code, Status};
use tower::ServiceExt;

use crate::http::GrpcService;

/// The gRPC message frame's header: a compression flag and a big-endian length.
const FRAME_HEADER: usize = 5;

/// Calls `path` with the encoded request `message`, passing the caller's
/// `Authorization` header; the encoded response message, or the status the service
/// answered with. `max_bytes` bounds the response read.
pub(crate) async fn unary(
    grpc: GrpcService,
    path: &str,
    authorization: Option<HeaderValue>,
    message: &[u8],
    max_bytes: usize,
) -> Result<Bytes, Status> {
    let mut frame = BytesMut::with_capacity(FRAME_HEADER + message.len());
    frame.put_u8(0);
    let length = u32::try_from(message.len())
        .map_err(|_| Status::resource_exhausted("the request message is too large"))?;
    frame.put_u32(length);
    frame.put_slice(message);
    let mut request = Request::post(path)
        .header(CONTENT_TYPE, "application/grpc")
        .header(TE, "trailers")
        .body(tonic::body::Body::new(Full::new(frame.freeze())))
        .map_err(|err| Status::internal(format!("the gRPC request could not be made: {err}")))?;
    if let Some(authorization) = authorization {
        request.headers_mut().insert(AUTHORIZATION, authorization);
    }
    let response = match grpc.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    // A trailers-only answer: the status is in the headers and there is no message.
    if let Some(status) = Status::from_header_map(&parts.headers)
        && status.code() != Code::Ok
    {
        return Err(status);
    }
    let collected = Limited::new(body, max_bytes.saturating_add(FRAME_HEADER))
        .collect()
        .await
        .map_err(|err| match err.downcast::<Status>() {
            Ok(status) => *status,
            Err(err) => Status::internal(format!("the gRPC response could not be read: {err}")),
        })?;
    let status = collected
        .trailers()
        .and_then(Status::from_header_map)
        .unwrap_or_else(|| Status::internal("the gRPC response ended without a status"));
    if status.code() != Code::Ok {
        return Err(status);
    }
    unframe(collected.to_bytes())
}

/// The one message of a unary response.
fn unframe(mut data: Bytes) -> Result<Bytes, Status> {
    if data.len() < FRAME_HEADER {
        return Err(Status::internal("the gRPC response carries no message"));
    }
    let compressed = data.get_u8();
    let length = data.get_u32() as usize;
    if compressed != 0 || length != data.len() {
        return Err(Status::internal(
            "the gRPC response is not one uncompressed message",
        ));
    }
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_response_frame_holds_exactly_one_message() {
        assert_eq!(
            unframe(Bytes::from_static(&[0, 0, 0, 0, 2, 8, 1])).unwrap(),
            Bytes::from_static(&[8, 1])
        );
        assert_eq!(
            unframe(Bytes::from_static(&[0, 0, 0, 0, 0])).unwrap(),
            Bytes::new()
        );
        for bad in [&[0, 0, 0][..], &[1, 0, 0, 0, 1, 8], &[0, 0, 0, 0, 3, 8, 1]] {
            assert_eq!(
                unframe(Bytes::copy_from_slice(bad)).unwrap_err().code(),
                Code::Internal
            );
        }
    }
}
