//! A secret shown once, across POST/redirect/GET: the page that creates a token (or a client
//! secret) answers with a redirect to itself, and the secret travels to the next GET in a
//! cookie, so that reloading the page shows the list again and creates nothing.
//!
//! The cookie is sealed ([`tessera_auth::sealed`]: ChaCha20-Poly1305 under the server's key)
//! for the session that created the secret and the page that shows it, so another session, a
//! copy sent to another page, or anything tampered with does not open; it is HttpOnly, lives
//! [`LIFETIME`] at most (a time inside the sealed value says so too), and the GET that shows
//! it removes it. The secret is never stored on the server.

use std::time::Duration;

use axum::response::Response;
use http::HeaderValue;
use http::header::SET_COOKIE;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use tessera_auth::credentials::session::SessionId;

use super::{Incoming, SessionUser, link, redirect};
use crate::cookies::once_cookie;
use crate::state::AppState;

/// The cookie's name.
pub const ONCE_COOKIE: &str = "tessera.once";

/// How long the secret waits for its page.
pub const LIFETIME: Duration = Duration::from_secs(120);

/// What a page shows once: what was created, and its secret.
#[derive(Debug, Serialize, Deserialize)]
pub struct ShownOnce {
    /// What was created (a token's name, a client's id).
    pub label: String,
    pub secret: String,
}

#[derive(Serialize, Deserialize)]
struct Sealed {
    page: String,
    until: i64,
    shown: ShownOnce,
}

fn purpose(session: &SessionId) -> String {
    let digest: String = session
        .digest()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("shown-once:{digest}")
}

fn set(response: &mut Response, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        response.headers_mut().append(SET_COOKIE, value);
    }
}

/// A `303` to `to` (an app-relative path, perhaps with a query, of `page`) that carries
/// `shown` to `page` for this session.
pub fn redirect_showing(
    state: &AppState,
    incoming: &Incoming,
    user: &SessionUser,
    (page, to): (&str, &str),
    shown: ShownOnce,
) -> Response {
    let sealed = Sealed {
        page: page.to_string(),
        until: state.clock.now().plus(LIFETIME).as_millis(),
        shown,
    };
    let plain = SecretString::from(serde_json::to_string(&sealed).unwrap_or_default());
    let value = state.auth.sealer().seal(&purpose(&user.session), &plain);
    let mut response = redirect(&link(state, to));
    let cookie = once_cookie(
        &state.urls,
        incoming.client.is_tls,
        &value,
        LIFETIME.as_secs(),
    );
    set(&mut response, &cookie);
    response
}

/// What the request carries for `page` from this session, if anything (it opens, is for this
/// page and is still due); and whether a cookie came at all (then the response must
/// [`forget`] it).
pub fn take(
    state: &AppState,
    incoming: &Incoming,
    user: &SessionUser,
    page: &str,
) -> (Option<ShownOnce>, bool) {
    let Some(value) = incoming.single_cookie(ONCE_COOKIE) else {
        return (None, false);
    };
    let shown = state
        .auth
        .sealer()
        .open(&purpose(&user.session), &value)
        .ok()
        .and_then(|plain| serde_json::from_str::<Sealed>(plain.expose_secret()).ok())
        .filter(|sealed| sealed.page == page && state.clock.now().as_millis() < sealed.until)
        .map(|sealed| sealed.shown);
    (shown, true)
}

/// Removes the cookie in the browser.
pub fn forget(state: &AppState, incoming: &Incoming, response: &mut Response) {
    set(
        response,
        &once_cookie(&state.urls, incoming.client.is_tls, "", 0),
    );
}
