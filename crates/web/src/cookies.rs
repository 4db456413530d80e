//! The session's cookies: `JSESSIONID` (HttpOnly, SameSite=Lax, Secure over TLS), scoped to
//! the context path, and Jira's `atlassian.xsrf.token` with the session's form token
//! (readable by the page's scripts, which send it back).

use axum::response::Response;
use http::header::{HeaderValue, SET_COOKIE};
use tessera_auth::credentials::session::{SESSION_COOKIE, SessionId, XSRF_COOKIE};

use crate::error::{ApiError, ApiResult};
use crate::urls::Urls;

fn cookie(
    urls: &Urls,
    secure: bool,
    name: &str,
    value: &str,
    http_only: bool,
    expire: bool,
) -> String {
    let mut cookie = format!("{name}={value}; Path={}; SameSite=Lax", urls.cookie_path());
    if http_only {
        cookie.push_str("; HttpOnly");
    }
    if secure {
        cookie.push_str("; Secure");
    }
    if expire {
        cookie.push_str("; Max-Age=0");
    }
    cookie
}

/// A `Set-Cookie` value that removes the session cookie.
pub fn expired_session_cookie(urls: &Urls, secure: bool) -> String {
    cookie(urls, secure, SESSION_COOKIE, "", true, true)
}

/// A `Set-Cookie` value for the cookie that binds a sign-in through an identity provider to
/// the browser that started it (HttpOnly; SameSite=Lax, so it comes back with the provider's
/// top-level redirect); an empty value removes it.
pub fn sso_cookie(urls: &Urls, secure: bool, value: &str) -> String {
    cookie(
        urls,
        secure,
        crate::pages::sso::SSO_COOKIE,
        value,
        true,
        value.is_empty(),
    )
}

/// A `Set-Cookie` value for the cookie that carries a secret shown once across the redirect
/// after its creation (HttpOnly, gone after `max_age` seconds); an empty value removes it.
pub fn once_cookie(urls: &Urls, secure: bool, value: &str, max_age: u64) -> String {
    let mut cookie = cookie(
        urls,
        secure,
        crate::pages::ONCE_COOKIE,
        value,
        true,
        value.is_empty(),
    );
    if !value.is_empty() {
        cookie.push_str(&format!("; Max-Age={max_age}"));
    }
    cookie
}

/// Sends a new session's cookies: the id (HttpOnly) and its XSRF form token (readable by the
/// page's scripts).
pub fn set_session_cookies(
    response: &mut Response,
    urls: &Urls,
    secure: bool,
    session: &SessionId,
    xsrf_token: &str,
) -> ApiResult<()> {
    for value in [
        cookie(urls, secure, SESSION_COOKIE, session.expose(), true, false),
        cookie(urls, secure, XSRF_COOKIE, xsrf_token, false, false),
    ] {
        let value = HeaderValue::from_str(&value)
            .map_err(|_| ApiError::Internal("a cookie value is not a valid header".into()))?;
        response.headers_mut().append(SET_COOKIE, value);
    }
    Ok(())
}
