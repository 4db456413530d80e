//! `/rest/auth/1/session`: Jira's cookie sessions.
//!
//! `POST` checks a username and password from a JSON body and opens a session: a new random
//! id every time (an id the client already held is ended, never reused), sent as
//! `JSESSIONID` (HttpOnly, SameSite=Lax, Secure over TLS) with the session's XSRF form token
//! in `atlassian.xsrf.token`. `GET` tells who the session belongs to; `DELETE` ends it.
//! Without a session, `GET` answers 401, never a redirect: clients probe with it.

use axum::Extension;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{HeaderValue, SET_COOKIE};
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_auth::credentials::session::SESSION_COOKIE;
use tessera_core::model::LoginInfo;
use tessera_core::principal::Principal;

use crate::client::ClientAddr;
use crate::cookies::{expired_session_cookie, set_session_cookies};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, CurrentSession, Jira, JsonBody};
use crate::render::time;
use crate::state::AppState;
use crate::urls::encode;

fn login_info(info: &LoginInfo) -> Value {
    let mut value = json!({
        "failedLoginCount": info.failed_login_count,
        "loginCount": info.login_count,
    });
    if let Some(at) = info.last_failed_login {
        value["lastFailedLoginTime"] = json!(time(at));
    }
    if let Some(at) = info.previous_login {
        value["previousLoginTime"] = json!(time(at));
    }
    value
}

#[derive(Debug, Deserialize)]
pub struct Credentials {
    username: Option<String>,
    password: Option<SecretString>,
}

/// Anyone: the body carries the credential. A session cookie sent along is ignored (and
/// ended if the login succeeds).
pub async fn post_session(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<Credentials>,
) -> ApiResult<Response> {
    let (Some(username), Some(password)) = (body.username, body.password) else {
        return Err(ApiError::bad_request(
            "Both username and password are required.",
        ));
    };
    let login = state
        .auth
        .login(&username, &password, client.ip, &headers)
        .await
        .inspect_err(|_| {
            tracing::info!(target: "tessera::security", client_ip = %client.ip, "session login failed");
        })?;
    let secure = client.is_tls;
    let session_value = login.session.expose().to_string();
    let body = json!({
        "session": { "name": SESSION_COOKIE, "value": session_value },
        "loginInfo": login_info(&login.login_info),
    });
    let mut response = Jira::ok(body).into_response();
    set_session_cookies(
        &mut response,
        &state.urls,
        secure,
        &login.session,
        &login.xsrf_token,
    )?;
    Ok(response)
}

fn current_user(state: &AppState, principal: &Principal, info: &LoginInfo) -> Value {
    json!({
        "self": format!("{}/rest/api/latest/user?username={}", state.urls.base(), encode(&principal.user.name)),
        "name": principal.user.cased_name,
        "loginInfo": login_info(info),
    })
}

/// Any authenticated caller.
pub async fn get_session(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Jira> {
    let info = state
        .store
        .login_info(principal.user.id)
        .await
        .map_err(tessera_core::Error::from)?;
    Ok(Jira::ok(current_user(&state, &principal, &info)))
}

/// A caller authenticated by a session: ends it.
pub async fn delete_session(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    Auth(_principal): Auth,
    CurrentSession(session): CurrentSession,
) -> ApiResult<Response> {
    let Some(session) = session else {
        return Err(ApiError::Unauthenticated {
            message: "This request was not made with a session; there is none to end.".into(),
            login_failed: false,
            clear_session: None,
            challenge: tessera_auth::Challenge::Basic,
        });
    };
    state.auth.logout(&session).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    if let Ok(value) = HeaderValue::from_str(&expired_session_cookie(&state.urls, client.is_tls)) {
        response.headers_mut().insert(SET_COOKIE, value);
    }
    Ok(response)
}
