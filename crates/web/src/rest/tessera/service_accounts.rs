//! `/rest/tessera/1/serviceaccounts`: non-human accounts owned by a group, and their API keys.
//!
//! Administrators create accounts; administrators and members of an account's owning group
//! manage its keys (with a password or session login, never with a token). To anyone else an
//! account's keys do not exist.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::authz::{Authorizer, ManageTokens};
use tessera_core::model::User;
use tessera_core::principal::Principal;
use tessera_core::services::users::{self, ServiceAccountInput};

use crate::error::ApiResult;
use crate::extract::{Auth, Jira, JsonBody, Params, PathArgs, no_content};
use crate::render::{Viewer, user};
use crate::rest::pat::{self, TokenBody};
use crate::state::AppState;

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountBody {
    name: String,
    display_name: Option<String>,
    owner_group: String,
    #[serde(default)]
    groups: Vec<String>,
}

fn account_json(state: &AppState, principal: &Principal, account: &User) -> Value {
    let mut value = user(&state.urls, Viewer::of(principal), account);
    value["serviceAccount"] = Value::Bool(true);
    value["ownerGroup"] = json!(account.service_owner);
    value
}

/// Global ADMINISTER.
#[utoipa::path(
    post,
    path = "/rest/tessera/1/serviceaccounts",
    tag = "service accounts",
    request_body(content = AccountBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Made.", body = Object),
        super::openapi::Refused,
        super::openapi::Conflicting,
    ),
)]
pub async fn post_service_account(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<AccountBody>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let input = ServiceAccountInput {
        name: body.name,
        display_name: body.display_name,
        owner_group: body.owner_group,
        groups: body.groups,
    };
    let account =
        users::create_service_account(&*state.store, &admin, input, state.clock.now()).await?;
    Ok(Jira::created(account_json(&state, &principal, &account)))
}

/// Global ADMINISTER.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/serviceaccounts",
    tag = "service accounts",
    responses(
        (status = 200, description = "Every service account.", body = [Object]),
        super::openapi::Refused,
    ),
)]
pub async fn get_service_accounts(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let accounts = state
        .store
        .list_service_accounts()
        .await
        .map_err(tessera_core::Error::from)?;
    Ok(Jira::ok(Value::Array(
        accounts
            .iter()
            .map(|a| account_json(&state, &principal, a))
            .collect(),
    )))
}

async fn manage(state: &AppState, principal: &Principal, name: &str) -> ApiResult<ManageTokens> {
    let account = users::get_service_account(&*state.store, name).await?;
    Ok(Authorizer::service_account_tokens(principal, account)?)
}

/// ADMINISTER or membership of the owning group; password or session.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/serviceaccounts/{name}/keys",
    tag = "service accounts",
    params(
        ("name" = String, Path, description = "The service account."),
    ),
    responses(
        (status = 200, description = "Its keys.", body = [Object]),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn get_keys(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(name): PathArgs<String>,
) -> ApiResult<Jira> {
    let manage = manage(&state, &principal, &name).await?;
    pat::list_owned(&state, &manage).await
}

/// ADMINISTER or membership of the owning group; password or session.
#[utoipa::path(
    post,
    path = "/rest/tessera/1/serviceaccounts/{name}/keys",
    tag = "service accounts",
    params(
        ("name" = String, Path, description = "The service account."),
    ),
    request_body(content = crate::rest::pat::TokenBody, content_type = "application/json"),
    responses(
        (status = 201, description = "The key, shown this once.", body = Object),
        super::openapi::Refused,
        super::openapi::Missing,
        super::openapi::Conflicting,
    ),
)]
pub async fn post_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(name): PathArgs<String>,
    JsonBody(body): JsonBody<TokenBody>,
) -> ApiResult<Jira> {
    let manage = manage(&state, &principal, &name).await?;
    pat::issue_from_body(&state, &principal, &manage, body).await
}

/// ADMINISTER or membership of the owning group; password or session.
#[utoipa::path(
    delete,
    path = "/rest/tessera/1/serviceaccounts/{name}/keys/{id}",
    tag = "service accounts",
    params(
        ("name" = String, Path, description = "The service account."),
        ("id" = String, Path, description = "The key's id."),
    ),
    responses(
        (status = 204, description = "Revoked."),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn delete_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((name, id)): PathArgs<(String, String)>,
) -> ApiResult<Response> {
    let manage = manage(&state, &principal, &name).await?;
    let id = pat::token_id(&id)?;
    tessera_auth::tokens::revoke(&*state.store, &manage, &principal, id, state.clock.now()).await?;
    Ok(no_content())
}

/// ADMINISTER or membership of the owning group; password or session.
#[utoipa::path(
    post,
    path = "/rest/tessera/1/serviceaccounts/{name}/keys/{id}/rotate",
    tag = "service accounts",
    params(
        ("name" = String, Path, description = "The service account."),
        ("id" = String, Path, description = "The key's id."),
        ("overlapSeconds" = Option<i64>, Query, description = "How long the old key keeps working."),
    ),
    responses(
        (status = 201, description = "The new key, shown this once.", body = Object),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn post_rotate_key(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((name, id)): PathArgs<(String, String)>,
    params: Params,
) -> ApiResult<Jira> {
    let manage = manage(&state, &principal, &name).await?;
    pat::rotate_owned(&state, &principal, &manage, pat::token_id(&id)?, &params).await
}
