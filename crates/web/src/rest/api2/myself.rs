//! `GET myself` and `PUT myself/password`.

use axum::Extension;
use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tessera_auth::credentials::session::SessionId;
use tessera_core::authz::Authorizer;
use tessera_core::services::users;
use tessera_core::store::SessionSwap;
use tessera_core::validate;

use crate::client::ClientAddr;
use crate::cookies::set_session_cookies;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, CurrentSession, JsonBody, no_content};
use crate::render::{Viewer, user_with_groups};
use crate::responses::{ReadKey, json_response};
use crate::state::AppState;

/// Any authenticated user. The user comes from the principal, read when the credential was
/// checked. Remembered for the same caller until anything changes (see [`crate::responses`]):
/// the body depends on nothing of the caller but what [`ReadKey`] holds and the user and
/// groups the store holds for it.
pub async fn get_myself(
    State(state): State<AppState>,
    Auth(principal): Auth,
    OriginalUri(uri): OriginalUri,
) -> Response {
    let remembered = ReadKey::new(&principal, &uri);
    let epochs = state.responses.epochs();
    if let Some(response) = state.responses.get(&remembered, epochs) {
        return response;
    }
    let viewer = Viewer::of(&principal);
    let body = user_with_groups(&state.urls, viewer, &principal.user, &principal.group_names);
    let body = Bytes::from(body.to_string());
    state.responses.keep(remembered, epochs, body.clone());
    json_response(body)
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordChange {
    password: Option<SecretString>,
    current_password: Option<SecretString>,
}

/// Any authenticated user, for their own password, logged in with a password or session (not
/// a token); the current password must be given. Every
/// other session of the user ends; the one making the change (if any) continues under a new
/// id, sent in new cookies, so a stolen copy of the old cookie dies too.
pub async fn put_myself_password(
    State(state): State<AppState>,
    Auth(principal): Auth,
    Extension(client): Extension<ClientAddr>,
    CurrentSession(session): CurrentSession,
    JsonBody(change): JsonBody<PasswordChange>,
) -> ApiResult<Response> {
    Authorizer::manage_passwords(&principal)?;
    let password = change
        .password
        .ok_or_else(|| ApiError::field("password", "You must specify a new password."))?;
    validate::new_password(password.expose_secret()).map_err(|e| ApiError::field("password", e))?;
    let current = change
        .current_password
        .unwrap_or_else(|| SecretString::from(String::new()));
    if !state.auth.check_own_password(&principal, &current).await? {
        return Err(ApiError::Forbidden {
            message: "The current password was incorrect.".into(),
            reason: "current_password_incorrect",
        });
    }
    let hash = state.auth.hash_password(&password).await?;
    let renewed = session
        .as_ref()
        .map(|old| (old.digest(), SessionId::generate()));
    let swap = renewed
        .as_ref()
        .map(|(old, new)| (old.as_slice(), new.digest()));
    let swap = swap.as_ref().map(|(old, new)| SessionSwap { old, new });
    users::set_own_password(&*state.store, &principal, &hash, swap).await?;
    tracing::info!(target: "tessera::security", user = %principal.user.name, "password changed by its owner");
    let mut response = no_content();
    if let Some((_, new)) = &renewed {
        let token = state.auth.xsrf_token(new);
        set_session_cookies(&mut response, &state.urls, client.is_tls, new, &token)?;
    }
    Ok(response)
}
