//! Signing in with a token of the token file, signing out, and the language switch.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Form, FromRequestParts, Query};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum_extra::extract::cookie::{Cookie, CookieJar};
use maud::html;
use serde::Deserialize;

use crate::http::console::i18n::{Lang, Msg};
use crate::http::console::layout::{Chrome, page};
use crate::http::console::session::{
    self, Desk, LANG_COOKIE, SESSION_COOKIE, SIGN_IN_COOKIE, Sessions, over_tls,
};
use crate::http::{HttpState, Ready};

/// The language of a page drawn before anyone signed in.
pub(crate) struct PageLang(Lang);

impl FromRequestParts<HttpState> for PageLang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &HttpState) -> Result<Self, Self::Rejection> {
        Ok(Self(session::lang_of(parts)))
    }
}

fn sign_in_page(lang: Lang, secure: bool, refused: bool) -> Response {
    let csrf = session::random_value();
    let chrome = Chrome {
        lang,
        here: "/sign-in",
        user: None,
    };
    let body = html! {
        h1 { (Msg::SignInTitle.text(lang)) }
        @if refused {
            p.banner.bad id="error" { (Msg::SignInRefused.text(lang)) }
        }
        form.card method="post" action="/sign-in" id="sign-in" {
            input type="hidden" name="csrf" value=(csrf);
            label { (Msg::TokenLabel.text(lang)) br;
                input type="password" name="token" size="60" autocomplete="off" required;
            }
            " "
            button type="submit" { (Msg::SignIn.text(lang)) }
            p.muted { (Msg::SignInHelp.text(lang)) }
        }
    };
    let status = if refused {
        StatusCode::UNAUTHORIZED
    } else {
        StatusCode::OK
    };
    let jar = CookieJar::new().add(session::private_cookie(SIGN_IN_COOKIE, csrf, secure));
    (status, jar, page(&chrome, Msg::SignIn.text(lang), body)).into_response()
}

pub(crate) async fn form(PageLang(lang): PageLang, headers: HeaderMap) -> Response {
    sign_in_page(lang, over_tls(&headers), false)
}

#[derive(Deserialize)]
pub(crate) struct SignIn {
    token: String,
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn submit(
    Ready(serving): Ready,
    PageLang(lang): PageLang,
    Extension(sessions): Extension<Arc<Sessions>>,
    jar: CookieJar,
    headers: HeaderMap,
    Form(form): Form<SignIn>,
) -> Response {
    let secure = over_tls(&headers);
    // The form's value must match the cookie set with it: a sign-in forged by another
    // site (which can set neither) is refused.
    let expected = jar.get(SIGN_IN_COOKIE).map(|c| c.value().to_owned());
    if !expected.is_some_and(|expected| session::same_secret(&expected, &form.csrf)) {
        return sign_in_page(lang, secure, true);
    }
    let token = form.token.trim();
    let now = serving.clock.now();
    // The token registry's own check, as the gRPC interceptor makes it.
    if serving.tokens.current().authenticate(token, now).is_none() {
        return sign_in_page(lang, secure, true);
    }
    match sessions.open(token.to_owned(), now) {
        Ok(id) => {
            let jar = jar
                .remove(Cookie::build(SIGN_IN_COOKIE).path("/"))
                .add(session::session_cookie(id, secure));
            (jar, Redirect::to("/")).into_response()
        }
        Err(err) => (StatusCode::SERVICE_UNAVAILABLE, err.to_string()).into_response(),
    }
}

#[derive(Deserialize)]
pub(crate) struct SignOut {
    #[serde(default)]
    csrf: String,
}

pub(crate) async fn sign_out(
    desk: Desk,
    Extension(sessions): Extension<Arc<Sessions>>,
    jar: CookieJar,
    Form(form): Form<SignOut>,
) -> Response {
    if !desk.csrf_ok(&form.csrf) {
        return desk.failure(&crate::http::console::error::ConsoleError::Csrf);
    }
    sessions.close(&desk.session_id);
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, Redirect::to("/sign-in")).into_response()
}

#[derive(Deserialize)]
pub(crate) struct Switch {
    #[serde(default)]
    to: String,
    #[serde(default)]
    back: String,
}

/// Keeps the chosen language in a cookie and goes back to the page.
pub(crate) async fn switch_language(
    headers: HeaderMap,
    jar: CookieJar,
    Query(switch): Query<Switch>,
) -> Response {
    let lang = Lang::parse(&switch.to).unwrap_or_default();
    let mut cookie =
        session::private_cookie(LANG_COOKIE, lang.code().to_owned(), over_tls(&headers));
    cookie.set_max_age(cookie::time::Duration::days(365));
    let back = strip_lang(session::local_path(&switch.back));
    (jar.add(cookie), Redirect::to(&back)).into_response()
}

/// The way back without a `lang=` that would override the new cookie.
fn strip_lang(path: &str) -> String {
    match path.split_once('?') {
        None => path.to_owned(),
        Some((path, query)) => {
            let kept: Vec<_> = query
                .split('&')
                .filter(|pair| !pair.starts_with("lang="))
                .collect();
            if kept.is_empty() {
                path.to_owned()
            } else {
                format!("{path}?{}", kept.join("&"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_way_back_drops_the_language_parameter() {
        assert_eq!(super::strip_lang("/?lang=en"), "/");
        assert_eq!(super::strip_lang("/x?a=1&lang=en&b=2"), "/x?a=1&b=2");
        assert_eq!(super::strip_lang("/x"), "/x");
    }
}
