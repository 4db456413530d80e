//! `/user`: read by any user, created and changed by administrators.

use axum::extract::State;
use axum::response::Response;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::Value;
use tessera_core::authz::Authorizer;
use tessera_core::model::UserUpdate;
use tessera_core::services::users::{self, UserInput, UserSelector};
use tessera_core::validate;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params, no_content};
use crate::render::{Viewer, user, user_with_groups};
use crate::state::AppState;

/// Any authenticated user (scope `read:jira-user`). `?username=` or `?key=`; `expand=groups`.
pub async fn get_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    let reader = state.authz.read_users(&principal)?;
    let found = users::find_user(&*state.store, &reader, target(&params)?).await?;
    let viewer = Viewer::of(&principal);
    if params.list("expand").iter().any(|e| e == "groups") {
        let groups = state
            .store
            .user_access(found.id)
            .await
            .map_err(tessera_core::Error::from)?
            .group_names;
        return Ok(Jira::ok(user_with_groups(
            &state.urls,
            viewer,
            &found,
            &groups,
        )));
    }
    Ok(Jira::ok(user(&state.urls, viewer, &found)))
}

/// Any authenticated user (scope `read:jira-user`). Matches the start of the username, of any
/// word of the display name, and (for administrators) of the e-mail address; `.` matches all.
pub async fn get_user_search(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    let reader = state.authz.read_users(&principal)?;
    let text = params
        .text("username")
        .or_else(|| params.text("query"))
        .ok_or_else(|| ApiError::bad_request("The username query parameter was not provided"))?;
    let page = params.page(50, 1000);
    let found = users::search_users(
        &*state.store,
        &reader,
        text,
        params.flag("includeActive", true),
        params.flag("includeInactive", false),
        page,
    )
    .await?;
    let viewer = Viewer::of(&principal);
    Ok(Jira::ok(Value::Array(
        found.iter().map(|u| user(&state.urls, viewer, u)).collect(),
    )))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewUserBody {
    name: Option<String>,
    password: Option<SecretString>,
    email_address: Option<String>,
    display_name: Option<String>,
}

/// Administrators. `{"name", "password", "emailAddress", "displayName"}`; the user joins
/// `jira-users`. Without a password the user can only come in through single sign-on.
pub async fn post_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<NewUserBody>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let password_hash = match body.password.filter(|p| !p.expose_secret().is_empty()) {
        Some(password) => {
            Authorizer::manage_passwords(&principal)?;
            validate::new_password(password.expose_secret())
                .map_err(|e| ApiError::field("password", e))?;
            Some(state.auth.hash_password(&password).await?)
        }
        None => None,
    };
    let input = UserInput {
        name: body.name.unwrap_or_default(),
        display_name: body.display_name.filter(|d| !d.trim().is_empty()),
        email: body.email_address.filter(|e| !e.trim().is_empty()),
        password_hash,
        admin: false,
    };
    let created = users::create_user(&*state.store, &admin, input, state.clock.now()).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, user = %created.name, "user created");
    Ok(Jira::created(user(
        &state.urls,
        Viewer::of(&principal),
        &created,
    )))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UserChangesBody {
    display_name: Option<String>,
    email_address: Option<String>,
    active: Option<bool>,
}

/// The user a request names: `?username=` or `?key=`.
pub(crate) fn target(params: &Params) -> ApiResult<UserSelector<'_>> {
    match (params.text("username"), params.text("key")) {
        (Some(name), _) => Ok(UserSelector::Name(name)),
        (None, Some(key)) => Ok(UserSelector::Key(key)),
        (None, None) => Err(ApiError::bad_request(
            "Either the 'username' or the 'key' query parameter must be given.",
        )),
    }
}

/// Administrators. `?username=`; `{"displayName", "emailAddress", "active"}`. Deactivating a
/// user ends their sessions at once and stops every credential they hold.
pub async fn put_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
    JsonBody(body): JsonBody<UserChangesBody>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let update = UserUpdate {
        display_name: body.display_name,
        email: body
            .email_address
            .map(|e| Some(e).filter(|e| !e.trim().is_empty())),
        active: body.active,
    };
    let updated = users::update_user(&*state.store, &admin, target(&params)?, update).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, user = %updated.name, active = updated.active, "user changed");
    Ok(Jira::ok(user(
        &state.urls,
        Viewer::of(&principal),
        &updated,
    )))
}

/// Administrators. `?username=` or `?key=`; 204. A user whose work names them is kept (400:
/// deactivate them instead).
pub async fn delete_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Response> {
    let admin = state.authz.administer(&principal)?;
    let deleted = users::delete_user(&*state.store, &admin, target(&params)?).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, user = %deleted.name, "user deleted");
    Ok(no_content())
}

#[derive(Debug, Deserialize)]
pub struct PasswordBody {
    password: Option<SecretString>,
}

/// Administrators, with a password or session (not a token). `?username=`; `{"password"}`.
/// Every session of the user ends.
pub async fn put_user_password(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
    JsonBody(body): JsonBody<PasswordBody>,
) -> ApiResult<Response> {
    let admin = state.authz.administer(&principal)?;
    Authorizer::manage_passwords(&principal)?;
    let who = target(&params)?;
    let password = body
        .password
        .ok_or_else(|| ApiError::field("password", "You must specify a new password."))?;
    validate::new_password(password.expose_secret()).map_err(|e| ApiError::field("password", e))?;
    let hash = state.auth.hash_password(&password).await?;
    let changed = users::set_password(&*state.store, &admin, who, &hash).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, user = %changed.name, "password set by an administrator");
    Ok(no_content())
}
