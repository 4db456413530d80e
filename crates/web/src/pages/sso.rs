//! `/login/sso/{id}` and `/login/sso/callback`: "Sign in with" an identity provider.
//!
//! The start sends the browser to the provider (OpenID Connect's code flow with PKCE, state
//! and nonce; see `tessera_auth::external::login`) and binds the sign-in to the browser with
//! an HttpOnly cookie holding its state. The callback needs that cookie to match the state
//! the provider returned (so nobody can make a victim's browser finish a sign-in they
//! started: login CSRF), takes the sign-in once, exchanges the code, has the authenticator
//! check the ID token and open a session under the same rules as a password login, and goes
//! on to the local path the sign-in started with. Every failure shows the login form with
//! what went wrong.

use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use http::header::{HeaderValue, SET_COOKIE};
use tessera_auth::external::login::SignInError;
use tessera_core::identity::ProviderId;

use super::login::{login_form, opened, refused, safe_next};
use super::{Incoming, PageError, PageResult, respond};
use crate::cookies::sso_cookie;
use crate::extract::Params;
use crate::rate_limit::Decision;
use crate::state::AppState;

/// The cookie that binds a sign-in to the browser that started it.
pub const SSO_COOKIE: &str = "tessera.sso";

/// Where providers send the browser back, under the public base URL.
pub fn redirect_uri(state: &AppState) -> String {
    format!("{}/login/sso/callback", state.urls.base())
}

/// The sign-in's state from the request's cookie, if it has exactly one.
fn state_cookie(incoming: &Incoming) -> Option<String> {
    incoming.single_cookie(SSO_COOKIE)
}

/// Anyone: starts a sign-in through provider `id`.
pub async fn get_start(
    State(state): State<AppState>,
    Path(id): Path<String>,
    incoming: Incoming,
) -> Response {
    let client = incoming.client;
    respond(&state, client, start(&state, &id, &incoming).await)
}

async fn start(state: &AppState, id: &str, incoming: &Incoming) -> PageResult<Response> {
    let anonymous = tessera_core::principal::Caller::Anonymous {
        client_ip: incoming.client.ip,
    };
    let policy = state.auth.policy().current();
    if let Decision::Limited { retry_after, .. } = state.rate_limits.check(&anonymous, &policy) {
        return Err(PageError::RateLimited {
            retry_after_seconds: retry_after.as_millis().div_ceil(1000) as u64,
        });
    }
    let params = Params::parse(incoming.query.as_deref());
    let next = safe_next(params.get("next"));
    let not_offered =
        || PageError::NotFound("This identity provider does not offer sign-in.".into());
    let id = id
        .parse::<i64>()
        .map(ProviderId)
        .map_err(|_| not_offered())?;
    let started = match state
        .external
        .start_sign_in(id, &redirect_uri(state), next)
        .await
    {
        Ok(started) => started,
        Err(SignInError::Store(error)) => return Err(PageError::Internal(error.to_string())),
        Err(SignInError::Busy) => {
            return Ok(login_form(
                state,
                StatusCode::SERVICE_UNAVAILABLE,
                "",
                next,
                Some(&SignInError::Busy.to_string()),
            )
            .await);
        }
        Err(_) => return Err(not_offered()),
    };
    let mut response = super::redirect(&started.location);
    set_cookie(&mut response, state, incoming, &started.state)?;
    Ok(response)
}

fn set_cookie(
    response: &mut Response,
    state: &AppState,
    incoming: &Incoming,
    value: &str,
) -> PageResult<()> {
    let cookie = sso_cookie(&state.urls, incoming.client.is_tls, value);
    let value = HeaderValue::from_str(&cookie)
        .map_err(|_| PageError::Internal("the sign-in cookie is not a valid header".into()))?;
    response.headers_mut().append(SET_COOKIE, value);
    Ok(())
}

/// The provider's answer: `code` and `state`, or `error`.
pub async fn get_callback(State(state): State<AppState>, incoming: Incoming) -> Response {
    let client = incoming.client;
    let result = callback(&state, &incoming).await.and_then(|mut response| {
        // The sign-in is over, whichever way it went.
        set_cookie(&mut response, &state, &incoming, "")?;
        Ok(response)
    });
    respond(&state, client, result)
}

/// The login form, saying why the sign-in failed.
async fn failed(state: &AppState, status: StatusCode, message: &str) -> PageResult<Response> {
    Ok(login_form(state, status, "", safe_next(None), Some(message)).await)
}

async fn callback(state: &AppState, incoming: &Incoming) -> PageResult<Response> {
    let params = Params::parse(incoming.query.as_deref());
    if let Some(error) = params.get("error") {
        let code = tessera_auth::external::login::shown_code(error);
        tracing::info!(target: "tessera::security", client_ip = %incoming.client.ip, error = %code, "a provider refused a sign-in");
        return failed(
            state,
            StatusCode::UNAUTHORIZED,
            &format!("The identity provider refused the sign-in ({code})."),
        )
        .await;
    }
    let (Some(returned), Some(code)) = (params.get("state"), params.get("code")) else {
        return failed(
            state,
            StatusCode::BAD_REQUEST,
            "The sign-in's answer is incomplete.",
        )
        .await;
    };
    let bound = state_cookie(incoming).is_some_and(|cookie| {
        tessera_auth::secret::constant_time_eq(cookie.as_bytes(), returned.as_bytes())
    });
    if !bound {
        tracing::info!(target: "tessera::security", client_ip = %incoming.client.ip, "a sign-in's answer came to a browser that did not start it");
        return failed(
            state,
            StatusCode::BAD_REQUEST,
            "This sign-in was not started in this browser; please sign in again.",
        )
        .await;
    }
    let answer = match state
        .external
        .finish_sign_in(returned, code, &redirect_uri(state))
        .await
    {
        Ok(answer) => answer,
        Err(SignInError::Store(error)) => return Err(PageError::Internal(error.to_string())),
        Err(error) => {
            tracing::info!(target: "tessera::security", client_ip = %incoming.client.ip, %error, "a sign-in through a provider failed");
            let status = match error {
                SignInError::Unreachable(_) => StatusCode::BAD_GATEWAY,
                SignInError::Expired | SignInError::NotOffered => StatusCode::BAD_REQUEST,
                _ => StatusCode::UNAUTHORIZED,
            };
            return failed(state, status, &error.to_string()).await;
        }
    };
    let login = state
        .auth
        .login_sso(
            &answer.provider,
            &answer.id_token,
            &answer.client_id,
            &answer.nonce,
            incoming.client.ip,
            &incoming.headers,
        )
        .await;
    let next = safe_next(Some(&answer.next));
    match login {
        Ok(login) => opened(state, incoming, &login, next),
        Err(error) => refused(state, error, "", next, incoming.client.ip).await,
    }
}
