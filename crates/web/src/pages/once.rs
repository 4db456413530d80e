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
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tessera_auth::credentials::session::SessionId;

use super::{Incoming, SessionUser, link, redirect};
use crate::cookies::once_cookie;
use crate::state::AppState;

/// The cookie's name.
pub const ONCE_COOKIE: &str = "tessera.once";

/// What a secret shown once is sealed as.
const KIND: &str = "shown-once";

/// How long the secret waits for its page.
pub const LIFETIME: Duration = Duration::from_secs(120);

/// What a page shows once: what was created, and its secret (never in its `Debug` output).
#[derive(Serialize, Deserialize)]
pub struct ShownOnce {
    /// What was created (a token's name, a client's id).
    pub label: String,
    pub secret: String,
    /// A new secret for something that existed (a rotation), not a new thing.
    #[serde(default)]
    pub renewed: bool,
}

impl std::fmt::Debug for ShownOnce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ShownOnce")
            .field("label", &self.label)
            .field("secret", &"<redacted>")
            .field("renewed", &self.renewed)
            .finish()
    }
}

/// What a sealed value holds: when it stops counting, and the value.
#[derive(Serialize, Deserialize)]
struct Sealed<T> {
    until: i64,
    value: T,
}

/// What a value of `kind` is sealed for: that kind, for that session only.
fn purpose(kind: &str, session: &SessionId) -> String {
    let digest: String = session
        .digest()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    format!("{kind}:{digest}")
}

/// Seals `value` as a `kind` for this session, for `lifetime` from now.
pub fn seal<T: Serialize>(
    state: &AppState,
    session: &SessionId,
    kind: &str,
    lifetime: Duration,
    value: T,
) -> String {
    let sealed = Sealed {
        until: state.clock.now().plus(lifetime).as_millis(),
        value,
    };
    let plain = SecretString::from(serde_json::to_string(&sealed).unwrap_or_default());
    state.auth.sealer().seal(&purpose(kind, session), &plain)
}

/// Opens what [`seal`] sealed as a `kind` for this session, if it is still due.
pub fn open<T: DeserializeOwned>(
    state: &AppState,
    session: &SessionId,
    kind: &str,
    sealed: &str,
) -> Option<T> {
    let plain = state
        .auth
        .sealer()
        .open(&purpose(kind, session), sealed)
        .ok()?;
    let sealed: Sealed<T> = serde_json::from_str(plain.expose_secret()).ok()?;
    (state.clock.now().as_millis() < sealed.until).then_some(sealed.value)
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
    let value = seal(state, &user.session, KIND, LIFETIME, (page, shown));
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
    let shown = open::<(String, ShownOnce)>(state, &user.session, KIND, &value)
        .filter(|(for_page, _)| for_page == page)
        .map(|(_, shown)| shown);
    (shown, true)
}

/// Removes the cookie in the browser.
pub fn forget(state: &AppState, incoming: &Incoming, response: &mut Response) {
    set(
        response,
        &once_cookie(&state.urls, incoming.client.is_tls, "", 0),
    );
}

#[cfg(test)]
mod tests {
    use super::ShownOnce;

    #[test]
    fn a_secret_shown_once_never_appears_in_debug_output() {
        let shown = ShownOnce {
            label: "ci".into(),
            secret: "tspat_secret".into(),
            renewed: false,
        };
        let printed = format!("{shown:?}");
        assert!(
            printed.contains("ci") && !printed.contains("tspat_secret"),
            "{printed}"
        );
    }
}
