//! `/rest/auth/1/websudo`: Jira's secure administrator sessions. A session makes
//! administrative changes only within a few minutes of re-entering its password: `POST` with
//! `{"password": ...}` opens that window (a tessera addition; Jira asks on a page), `DELETE`
//! drops it (Jira's own). A wrong password counts as a failed login and is throttled like one.

use axum::extract::State;
use axum::response::Response;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use tessera_auth::AuthError;
use tessera_auth::credentials::session::SessionId;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, CurrentSession, Jira, JsonBody, no_content};
use crate::render::time;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
pub struct WebsudoBody {
    password: Option<SecretString>,
}

fn session_only(session: Option<SessionId>) -> ApiResult<SessionId> {
    session.ok_or_else(|| ApiError::Unauthenticated {
        message: "Websudo belongs to a session: log in with POST /rest/auth/1/session first."
            .into(),
        login_failed: false,
        clear_session: None,
        challenge: tessera_auth::Challenge::Basic,
    })
}

/// A caller authenticated by a session: re-enters the password; 200 `{"websudoUntil"}`.
pub async fn post_websudo(
    State(state): State<AppState>,
    Auth(principal): Auth,
    CurrentSession(session): CurrentSession,
    JsonBody(body): JsonBody<WebsudoBody>,
) -> ApiResult<Jira> {
    let session = session_only(session)?;
    let Some(password) = body.password else {
        return Err(ApiError::field("password", "Your password is required."));
    };
    match state
        .auth
        .grant_websudo(&principal, &session, &password)
        .await
    {
        Ok(until) => Ok(Jira::ok(json!({ "websudoUntil": time(until) }))),
        Err(AuthError::BadCredentials) => Err(ApiError::Forbidden {
            message: "The password is not correct.".into(),
            reason: "websudo_failed",
        }),
        Err(other) => Err(other.into()),
    }
}

/// Any user: ends the session's websudo window. A caller without a session (Basic, a token)
/// has none to end: 204, as Jira answers.
pub async fn delete_websudo(
    State(state): State<AppState>,
    Auth(principal): Auth,
    CurrentSession(session): CurrentSession,
) -> ApiResult<Response> {
    if let Some(session) = session {
        state.auth.drop_websudo(&principal, &session).await?;
    }
    Ok(no_content())
}
