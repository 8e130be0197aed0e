//! Signed-in sessions: the cookie carries only a random id; the bearer token it stands
//! for stays on the server. Every request checks the token again against the token file
//! in force (the same check the gRPC interceptor makes), so a revoked or expired token
//! ends its sessions at once, and every form carries the session's CSRF token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use jiff::{SignedDuration, Timestamp};
use serde::Deserialize;

use super::i18n::Lang;
use crate::auth::Principal;
use crate::http::{HttpState, Ready, Serving};

pub(crate) const SESSION_COOKIE: &str = "cf_session";
pub(crate) const LANG_COOKIE: &str = "cf_lang";
/// The sign-in form's own CSRF value, before any session exists.
pub(crate) const SIGN_IN_COOKIE: &str = "cf_sign_in";

/// How long a session lasts after sign-in, on the server's clock.
pub(crate) const SESSION_LIFETIME: SignedDuration = SignedDuration::from_hours(12);
/// Sessions kept at most; expired ones are dropped first when the table is full.
const MAX_SESSIONS: usize = 10_000;

#[derive(Debug, thiserror::Error)]
pub(crate) enum SessionError {
    #[error("too many open sessions")]
    Full,
}

#[derive(Clone)]
struct Session {
    token: String,
    csrf: String,
    expires: Timestamp,
}

/// The open sessions of this node, by id.
#[derive(Default)]
pub(crate) struct Sessions {
    open: Mutex<HashMap<String, Session>>,
}

/// A fresh random value for ids and CSRF tokens: two v4 UUIDs, 244 random bits.
pub(crate) fn random_value() -> String {
    let (a, b) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    format!("{}{}", a.simple(), b.simple())
}

/// Equality that takes the same time wherever the values differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    blake3::hash(a.as_bytes()) == blake3::hash(b.as_bytes())
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Session>> {
        // A poisoned lock only means a panic between two map operations: the map is whole.
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Opens a session for `token` (already authenticated); returns its id.
    pub(crate) fn open(&self, token: String, now: Timestamp) -> Result<String, SessionError> {
        let mut open = self.lock();
        if open.len() >= MAX_SESSIONS {
            open.retain(|_, session| session.expires > now);
            if open.len() >= MAX_SESSIONS {
                return Err(SessionError::Full);
            }
        }
        let id = random_value();
        open.insert(
            id.clone(),
            Session {
                token,
                csrf: random_value(),
                expires: now + SESSION_LIFETIME,
            },
        );
        Ok(id)
    }

    fn get(&self, id: &str, now: Timestamp) -> Option<Session> {
        let mut open = self.lock();
        match open.get(id) {
            Some(session) if session.expires > now => Some(session.clone()),
            Some(_) => {
                open.remove(id);
                None
            }
            None => None,
        }
    }

    pub(crate) fn close(&self, id: &str) {
        self.lock().remove(id);
    }
}

/// The session cookie (or its removal), with the attributes a session cookie needs.
pub(crate) fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .max_age(time_duration(SESSION_LIFETIME))
        .build()
}

pub(crate) fn private_cookie(name: &'static str, value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure)
        .build()
}

fn time_duration(duration: SignedDuration) -> cookie::time::Duration {
    cookie::time::Duration::seconds(duration.as_secs())
}

/// Whether the browser reached us over TLS (directly or through a proxy that says so):
/// then cookies are marked Secure.
pub(crate) fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

#[derive(Deserialize)]
struct LangQuery {
    lang: Option<String>,
}

/// The page's language: `?lang=` first, then the language cookie, then zh-CN.
pub(crate) fn lang_of(parts: &Parts) -> Lang {
    let query = Query::<LangQuery>::try_from_uri(&parts.uri)
        .ok()
        .and_then(|Query(query)| query.lang)
        .and_then(|code| Lang::parse(&code));
    query
        .or_else(|| {
            CookieJar::from_headers(&parts.headers)
                .get(LANG_COOKIE)
                .and_then(|cookie| Lang::parse(cookie.value()))
        })
        .unwrap_or_default()
}

/// A signed-in person's request: the serving node, who they are, their session.
pub(crate) struct Desk {
    pub serving: Arc<Serving>,
    pub principal: Principal,
    /// The bearer token the in-process gRPC calls carry.
    pub token: String,
    pub csrf: String,
    pub session_id: String,
    pub lang: Lang,
    /// Path and query of this request, for the language switch's way back.
    pub here: String,
}

impl Desk {
    /// The first instant of `date` in the network's zone, for a filter's bound.
    pub(crate) fn day_start(&self, date: jiff::civil::Date) -> Option<prost_types::Timestamp> {
        let policy = self.serving.app.engine.policy();
        let zone = policy.default_calendar().time_zone();
        let start = zone
            .to_timestamp(date.to_datetime(jiff::civil::Time::midnight()))
            .ok()?;
        Some(super::clock::to_proto(start))
    }

    /// Whether a submitted form carries this session's CSRF token.
    pub(crate) fn csrf_ok(&self, submitted: &str) -> bool {
        same_secret(&self.csrf, submitted)
    }
}

/// Why a request is not a signed-in person's.
pub(crate) enum NoDesk {
    NotReady(Response),
    SignIn,
}

impl IntoResponse for NoDesk {
    fn into_response(self) -> Response {
        match self {
            Self::NotReady(response) => response,
            Self::SignIn => {
                let jar = CookieJar::new().remove(Cookie::build(SESSION_COOKIE).path("/"));
                (jar, Redirect::to("/sign-in")).into_response()
            }
        }
    }
}

impl FromRequestParts<HttpState> for Desk {
    type Rejection = NoDesk;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &HttpState,
    ) -> Result<Self, Self::Rejection> {
        let Ready(serving) = Ready::from_request_parts(parts, state)
            .await
            .map_err(|rejection| NoDesk::NotReady(rejection.into_response()))?;
        let sessions = parts
            .extensions
            .get::<Arc<Sessions>>()
            .cloned()
            .ok_or_else(|| {
                NoDesk::NotReady(
                    (
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "console sessions missing",
                    )
                        .into_response(),
                )
            })?;
        let jar = CookieJar::from_headers(&parts.headers);
        let session_id = jar
            .get(SESSION_COOKIE)
            .map(|cookie| cookie.value().to_owned())
            .ok_or(NoDesk::SignIn)?;
        let now = serving.clock.now();
        let session = sessions.get(&session_id, now).ok_or(NoDesk::SignIn)?;
        // The same registry lookup the gRPC interceptor makes, on the tokens in force now.
        let Some(principal) = serving
            .tokens
            .current()
            .authenticate(&session.token, now)
            .cloned()
        else {
            sessions.close(&session_id);
            return Err(NoDesk::SignIn);
        };
        let here = parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned());
        Ok(Self {
            serving,
            principal,
            token: session.token,
            csrf: session.csrf,
            session_id,
            lang: lang_of(parts),
            here,
        })
    }
}

/// A redirect target that stays on this site: a path, never a scheme or another host.
pub(crate) fn local_path(candidate: &str) -> &str {
    let local = candidate.starts_with('/')
        && !candidate.starts_with("//")
        && !candidate.contains('\\')
        && !candidate.chars().any(char::is_control);
    if local { candidate } else { "/" }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sessions_expire_and_close() {
        let sessions = Sessions::default();
        let now = Timestamp::UNIX_EPOCH;
        let id = sessions.open("t".to_owned(), now).unwrap();
        assert!(sessions.get(&id, now).is_some());
        assert!(sessions.get(&id, now + SESSION_LIFETIME).is_none());
        assert!(
            sessions.get(&id, now).is_none(),
            "an expired session is gone"
        );
        let id = sessions.open("t".to_owned(), now).unwrap();
        sessions.close(&id);
        assert!(sessions.get(&id, now).is_none());
    }

    #[test]
    fn redirects_stay_on_the_site() {
        assert_eq!(local_path("/complaints/A?x=1"), "/complaints/A?x=1");
        assert_eq!(local_path("//evil.example/"), "/");
        assert_eq!(local_path("https://evil.example/"), "/");
        assert_eq!(local_path("/\\evil"), "/");
    }

    #[test]
    fn secrets_compare_by_value() {
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
    }
}
