//! Authentication at the door: every call to the complaintflow services carries
//! `authorization: Bearer <token>`; the interceptor turns it into a [`Principal`] in the
//! request's extensions, or refuses the call.

use std::sync::Arc;

use tonic::service::Interceptor;
use tonic::{Request, Status};

use crate::auth::{LiveTokens, Principal};
use complaintflow_log::clock::SharedClock;

#[derive(Clone)]
pub(crate) struct Authenticate {
    tokens: Arc<LiveTokens>,
    /// Token expiry is judged on the server's clock.
    clock: SharedClock,
}

impl Authenticate {
    pub(crate) fn new(tokens: Arc<LiveTokens>, clock: SharedClock) -> Self {
        Self { tokens, clock }
    }
}

impl Interceptor for Authenticate {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        let header = request
            .metadata()
            .get("authorization")
            .ok_or_else(|| Status::unauthenticated("missing `authorization: Bearer <token>`"))?;
        let token = header
            .to_str()
            .ok()
            .and_then(|value| value.strip_prefix("Bearer "))
            .ok_or_else(|| {
                Status::unauthenticated("the authorization header must be `Bearer <token>`")
            })?;
        let principal = self
            .tokens
            .current()
            .authenticate(token.trim(), self.clock.now())
            // Unknown, revoked and expired tokens get the same answer.
            .ok_or_else(|| Status::unauthenticated("unknown token"))?
            .clone();
        request.extensions_mut().insert(principal);
        Ok(request)
    }
}

/// The principal the interceptor attached.
pub(crate) fn principal<T>(request: &Request<T>) -> Result<Principal, Status> {
    request
        .extensions()
        .get::<Principal>()
        .cloned()
        .ok_or_else(|| Status::unauthenticated("not authenticated"))
}
