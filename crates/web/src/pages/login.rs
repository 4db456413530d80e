//! `/login` and `/logout`: the browser's way in and out.
//!
//! A login opens a fresh session (any session the browser held is ended, so ids are never
//! reused) with the same cookies as `POST /rest/auth/1/session`, then follows `next` only if
//! it is a local path, so the form cannot be used as an open redirect. Every failure gets the
//! same generic answer. A login form posted from another site is refused (login CSRF); logging
//! out needs the session's form token.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use http::StatusCode;
use http::header::{HeaderValue, SET_COOKIE};
use maud::html;
use secrecy::SecretString;
use tessera_auth::authenticator::AuthError;

use super::layout::{document, page_response};
use super::{
    FormBody, Incoming, PageError, PageResult, is_local_path, link, redirect, respond, session_user,
};
use crate::cookies::{expired_session_cookie, set_session_cookies};
use crate::extract::Params;
use crate::rate_limit::Decision;
use crate::state::AppState;

/// Where a login goes when it was given no usable `next`.
const DEFAULT_NEXT: &str = "/secure/tokens";

fn safe_next(next: Option<&str>) -> &str {
    next.map(str::trim)
        .filter(|n| is_local_path(n))
        .unwrap_or(DEFAULT_NEXT)
}

fn login_form(
    state: &AppState,
    status: StatusCode,
    username: &str,
    next: &str,
    error: Option<&str>,
) -> Response {
    let content = html! {
        @if let Some(error) = error {
            div.errors role="alert" { p id="login-error" { (error) } }
        }
        form method="post" action=(link(state, "/login")) {
            fieldset {
                label for="username" { "Username" }
                input type="text" id="username" name="username" value=(username)
                    autocomplete="username" autofocus required;
                label for="password" { "Password" }
                input type="password" id="password" name="password"
                    autocomplete="current-password" required;
                input type="hidden" name="next" value=(next);
                p { button type="submit" id="login" { "Log in" } }
            }
        }
    };
    page_response(status, document(state, "Log in", None, content))
}

/// Anyone: the login form.
pub async fn get_login(State(state): State<AppState>, incoming: Incoming) -> Response {
    let params = Params::parse(incoming.query.as_deref());
    let next = safe_next(params.get("next"));
    login_form(&state, StatusCode::OK, "", next, None)
}

/// Anyone: checks the password and opens a session.
pub async fn post_login(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let client = incoming.client;
    respond(&state, client, login(&state, &incoming, body).await)
}

async fn login(
    state: &AppState,
    incoming: &Incoming,
    body: Result<Bytes, BytesRejection>,
) -> PageResult<Response> {
    let form = FormBody::parse(&incoming.headers, body)?;
    if !incoming.is_from_own_site(state) {
        tracing::info!(target: "tessera::security", client_ip = %incoming.client.ip, "login form posted from another site");
        return Err(PageError::FormToken);
    }
    let anonymous = tessera_core::principal::Caller::Anonymous {
        client_ip: incoming.client.ip,
    };
    let policy = state.auth.policy().current();
    if let Decision::Limited { retry_after, .. } = state.rate_limits.check(&anonymous, &policy) {
        return Err(PageError::RateLimited {
            retry_after_seconds: retry_after.as_millis().div_ceil(1000) as u64,
        });
    }
    let username = form.text("username");
    let password = SecretString::from(form.get("password").unwrap_or("").to_string());
    let next = safe_next(form.get("next"));
    let client = incoming.client;
    let failed = || {
        login_form(
            state,
            StatusCode::UNAUTHORIZED,
            username,
            next,
            Some("Login failed: the username or password is incorrect."),
        )
    };
    let login = match state
        .auth
        .login(username, &password, client.ip, &incoming.headers)
        .await
    {
        Ok(login) => login,
        Err(AuthError::Internal(cause)) => return Err(PageError::Internal(cause)),
        Err(AuthError::LoginThrottled { .. }) => {
            return Ok(login_form(
                state,
                StatusCode::FORBIDDEN,
                username,
                next,
                Some("Too many failed logins: password logins are suspended for a while."),
            ));
        }
        Err(AuthError::Denied(denial)) => {
            return Ok(login_form(
                state,
                StatusCode::FORBIDDEN,
                username,
                next,
                Some(&denial.to_string()),
            ));
        }
        Err(AuthError::Forbidden(denied)) => {
            return Err(tessera_core::error::Error::Denied(denied).into());
        }
        Err(AuthError::Busy) => {
            return Ok(login_form(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                username,
                next,
                Some("The server is busy; please try again in a moment."),
            ));
        }
        Err(_) => {
            tracing::info!(target: "tessera::security", client_ip = %client.ip, "page login failed");
            return Ok(failed());
        }
    };
    let mut response = redirect(&link(state, next));
    set_session_cookies(
        &mut response,
        &state.urls,
        client.is_tls,
        &login.session,
        &login.xsrf_token,
    )
    .map_err(|_| PageError::Internal("a session cookie is not a valid header".into()))?;
    Ok(response)
}

/// A logged-in user, with the form token: ends the session.
pub async fn post_logout(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let client = incoming.client;
    respond(&state, client, logout(&state, &incoming, body).await)
}

async fn logout(
    state: &AppState,
    incoming: &Incoming,
    body: Result<Bytes, BytesRejection>,
) -> PageResult<Response> {
    let form = FormBody::parse(&incoming.headers, body)?;
    let user = session_user(state, incoming, Some(&form), DEFAULT_NEXT).await?;
    state
        .auth
        .logout(&user.session)
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let mut response = redirect(&link(state, "/login"));
    if let Ok(value) =
        HeaderValue::from_str(&expired_session_cookie(&state.urls, incoming.client.is_tls))
    {
        response.headers_mut().append(SET_COOKIE, value);
    }
    Ok(response)
}
