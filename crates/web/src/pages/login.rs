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
use tessera_auth::authenticator::{AuthError, Login};

use super::layout::{document, page_response};
use super::{
    FormBody, Incoming, PageError, PageResult, is_local_path, link, redirect, respond, session_user,
};
use crate::cookies::{expired_session_cookie, set_session_cookies};
use crate::extract::Params;
use crate::rate_limit::Decision;
use crate::state::AppState;
use crate::urls::encode;

/// Where a login goes when it was given no usable `next`.
const DEFAULT_NEXT: &str = "/secure/tokens";

pub(super) fn safe_next(next: Option<&str>) -> &str {
    next.map(str::trim)
        .filter(|n| is_local_path(n))
        .unwrap_or(DEFAULT_NEXT)
}

pub(super) async fn login_form(
    state: &AppState,
    status: StatusCode,
    username: &str,
    next: &str,
    error: Option<&str>,
) -> Response {
    // The providers users may sign in with; the password form stays if they cannot be read.
    let providers = state
        .external
        .sign_in_providers()
        .await
        .unwrap_or_else(|error| {
            tracing::warn!(%error, "the identity providers cannot be read for the login page");
            Vec::new()
        });
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
        @if !providers.is_empty() {
            section id="sign-in-with" {
                h2 { "Or sign in with" }
                ul {
                    @for provider in &providers {
                        li {
                            a.button id=(format!("sso-{}", provider.id))
                                href=(format!("{}?next={}", link(state, &format!("/login/sso/{}", provider.id)), encode(next))) {
                                "Sign in with " (provider.settings.name)
                            }
                        }
                    }
                }
            }
        }
    };
    page_response(status, document(state, "Log in", None, content))
}

/// Anyone: the login form.
pub async fn get_login(State(state): State<AppState>, incoming: Incoming) -> Response {
    let params = Params::parse(incoming.query.as_deref());
    let next = safe_next(params.get("next"));
    login_form(&state, StatusCode::OK, "", next, None).await
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
    let login = state
        .auth
        .login(username, &password, client.ip, &incoming.headers)
        .await;
    match login {
        Ok(login) => opened(state, incoming, &login, next),
        Err(error) => refused(state, error, username, next, client.ip).await,
    }
}

/// A login's answer: its session's cookies, and on to `next`.
pub(super) fn opened(
    state: &AppState,
    incoming: &Incoming,
    login: &Login,
    next: &str,
) -> PageResult<Response> {
    let mut response = redirect(&link(state, next));
    set_session_cookies(
        &mut response,
        &state.urls,
        incoming.client.is_tls,
        &login.session,
        &login.xsrf_token,
    )
    .map_err(|_| PageError::Internal("a session cookie is not a valid header".into()))?;
    Ok(response)
}

/// The login form again, saying why a login was refused (generically where a detail would
/// help someone guessing passwords).
pub(super) async fn refused(
    state: &AppState,
    error: AuthError,
    username: &str,
    next: &str,
    client_ip: std::net::IpAddr,
) -> PageResult<Response> {
    let (status, message) = match error {
        AuthError::Internal(cause) => return Err(PageError::Internal(cause)),
        AuthError::Forbidden(denied) => {
            return Err(tessera_core::error::Error::Denied(denied).into());
        }
        AuthError::LoginThrottled { .. } => (
            StatusCode::FORBIDDEN,
            "Too many failed logins: password logins are suspended for a while.".to_string(),
        ),
        AuthError::Denied(denial) => (StatusCode::FORBIDDEN, denial.to_string()),
        AuthError::Busy => (
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is busy; please try again in a moment.".to_string(),
        ),
        AuthError::Jwt(why) => {
            tracing::info!(target: "tessera::security", %client_ip, reason = why.reason_code(), "sign-in through a provider failed");
            (StatusCode::UNAUTHORIZED, format!("Sign-in failed: {why}"))
        }
        _ => {
            tracing::info!(target: "tessera::security", %client_ip, "page login failed");
            (
                StatusCode::UNAUTHORIZED,
                "Login failed: the username or password is incorrect.".to_string(),
            )
        }
    };
    Ok(login_form(state, status, username, next, Some(&message)).await)
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
