//! `/rest/tessera/1/oauth2`: OAuth 2.0 client registrations (administrators) and a user's own
//! authorized applications (grants).
//!
//! A client's secret appears in exactly one response, the one answering its creation or
//! reset; the store keeps its digest. A user sees and revokes only their own grants; a token
//! cannot revoke grants (it would be a credential managing credentials).

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_auth::oauth2::ClientInput;
use tessera_core::authz::Authorizer;
use tessera_core::error::Error;
use tessera_core::oauth2::{Client, ClientChanges, Grant, GrantId, scope_string};
use tessera_core::scopes::parse_scope;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, PathArgs, no_content};
use crate::render::time;
use crate::state::AppState;

pub fn client_json(state: &AppState, client: &Client, service_account: Option<&str>) -> Value {
    json!({
        "self": format!("{}/rest/tessera/1/oauth2/clients/{}", state.urls.base(), client.client_id),
        "clientId": client.client_id,
        "name": client.name,
        "redirectUris": client.redirect_uris,
        "confidential": client.confidential,
        "scopes": scope_string(client.scopes).split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "serviceAccount": service_account,
        "enabled": client.enabled,
        "created": time(client.created),
    })
}

pub fn grant_json(grant: &Grant) -> Value {
    json!({
        "id": grant.id.0,
        "clientId": grant.client_id,
        "clientName": grant.client_name,
        "scopes": scope_string(grant.scopes).split(' ').filter(|s| !s.is_empty()).collect::<Vec<_>>(),
        "created": time(grant.created),
        "lastUsed": grant.last_used.map(time),
    })
}

async fn service_account_name(state: &AppState, client: &Client) -> Result<Option<String>, Error> {
    match client.service_account {
        Some(id) => Ok(state.store.find_user(id).await?.map(|u| u.name)),
        None => Ok(None),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClientBody {
    name: Option<String>,
    redirect_uris: Option<Vec<String>>,
    confidential: Option<bool>,
    scopes: Option<Vec<String>>,
    service_account: Option<String>,
    enabled: Option<bool>,
}

/// Global ADMINISTER: every client, enabled or not.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/oauth2/clients",
    tag = "oauth2",
    responses(
        (status = 200, description = "Every client.", body = [Object]),
        super::openapi::Refused,
    ),
)]
pub async fn get_clients(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let mut values = Vec::new();
    for client in state.store.list_clients().await.map_err(Error::from)? {
        let account = service_account_name(&state, &client).await?;
        values.push(client_json(&state, &client, account.as_deref()));
    }
    Ok(Jira::ok(Value::Array(values)))
}

/// Global ADMINISTER: registers a client; 201 with `clientSecret` (confidential clients, once).
#[utoipa::path(
    post,
    path = "/rest/tessera/1/oauth2/clients",
    tag = "oauth2",
    request_body(content = ClientBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered; a confidential client's secret is shown this once.", body = Object),
        super::openapi::Refused,
        super::openapi::Conflicting,
    ),
)]
pub async fn post_client(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<ClientBody>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let input = ClientInput {
        name: body.name.unwrap_or_default(),
        redirect_uris: body.redirect_uris.unwrap_or_default(),
        confidential: body.confidential.unwrap_or(true),
        scopes: body.scopes.unwrap_or_default(),
        service_account: body.service_account,
    };
    let (client, secret) = state
        .oauth2
        .register_client(&admin, Some(&principal), input)
        .await?;
    let account = service_account_name(&state, &client).await?;
    let mut value = client_json(&state, &client, account.as_deref());
    if let Some(secret) = secret {
        value["clientSecret"] = json!(secret.into_string());
    }
    Ok(Jira::created(value))
}

/// Global ADMINISTER.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/oauth2/clients/{clientId}",
    tag = "oauth2",
    params(
        ("clientId" = String, Path, description = "The client id."),
    ),
    responses(
        (status = 200, description = "The client.", body = Object),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn get_client(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(client_id): PathArgs<String>,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let client = state.oauth2.find_client(&client_id).await?;
    let account = service_account_name(&state, &client).await?;
    Ok(Jira::ok(client_json(&state, &client, account.as_deref())))
}

/// Global ADMINISTER: changes `name`, `redirectUris`, `scopes` or `enabled` (a disabled client
/// gets nothing, and its tokens stop working at once).
#[utoipa::path(
    put,
    path = "/rest/tessera/1/oauth2/clients/{clientId}",
    tag = "oauth2",
    params(
        ("clientId" = String, Path, description = "The client id."),
    ),
    request_body(content = ClientBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed.", body = Object),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn put_client(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(client_id): PathArgs<String>,
    JsonBody(body): JsonBody<ClientBody>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    if body.confidential.is_some() || body.service_account.is_some() {
        return Err(ApiError::bad_request(
            "A client's confidentiality and service account are fixed: register a new client.",
        ));
    }
    let scopes = match body.scopes {
        None => None,
        Some(names) => {
            let mut set = tessera_core::scopes::Scopes::empty();
            for name in &names {
                set = set.union(parse_scope(name.trim()).ok_or_else(|| {
                    ApiError::field("scopes", format!("'{name}' is not a scope."))
                })?);
            }
            Some(set)
        }
    };
    let changes = ClientChanges {
        name: body.name,
        redirect_uris: body.redirect_uris,
        scopes,
        enabled: body.enabled,
        secret_digest: None,
    };
    let client = state
        .oauth2
        .update_client(&admin, Some(&principal), &client_id, changes)
        .await?;
    let account = service_account_name(&state, &client).await?;
    Ok(Jira::ok(client_json(&state, &client, account.as_deref())))
}

/// Global ADMINISTER: a confidential client's new secret (shown once); the old one stops.
#[utoipa::path(
    post,
    path = "/rest/tessera/1/oauth2/clients/{clientId}/secret",
    tag = "oauth2",
    params(
        ("clientId" = String, Path, description = "The client id."),
    ),
    responses(
        (status = 200, description = "The new secret, shown this once.", body = Object),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn post_client_secret(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(client_id): PathArgs<String>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let secret = state
        .oauth2
        .reset_client_secret(&admin, Some(&principal), &client_id)
        .await?;
    Ok(Jira::ok(
        json!({"clientId": client_id, "clientSecret": secret.into_string()}),
    ))
}

/// Any user: the applications they authorized, with their scopes and last use. A caller
/// with a token sees at most the grant it acts under (an application does not learn which
/// others the user authorized).
#[utoipa::path(
    get,
    path = "/rest/tessera/1/oauth2/grants",
    tag = "oauth2",
    responses(
        (status = 200, description = "The caller's authorized applications.", body = [Object]),
        super::openapi::Refused,
    ),
)]
pub async fn get_grants(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Jira> {
    let grants = state.oauth2.grants_of(&principal).await?;
    let own = principal.oauth2.as_ref().and_then(|o| o.grant);
    let visible = grants
        .iter()
        .filter(|g| !principal.method.is_token() || Some(g.id) == own)
        .map(grant_json)
        .collect();
    Ok(Jira::ok(Value::Array(visible)))
}

/// The grant's user, with a password or session: revokes it and every token issued under it.
#[utoipa::path(
    delete,
    path = "/rest/tessera/1/oauth2/grants/{id}",
    tag = "oauth2",
    params(
        ("id" = String, Path, description = "The grant's id."),
    ),
    responses(
        (status = 204, description = "Revoked."),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn delete_grant(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Response> {
    let id = id.parse::<i64>().map(GrantId).map_err(|_| {
        ApiError::NotFound(format!("No authorized application exists with id '{id}'."))
    })?;
    // Existence first: another user's grant is "not found" even to a token.
    let grants = state.oauth2.grants_of(&principal).await?;
    if !grants.iter().any(|g| g.id == id) {
        return Err(
            Error::NotFound(tessera_core::error::Missing::OAuth2Grant(id.to_string())).into(),
        );
    }
    Authorizer::manage_credentials(&principal)?;
    state.oauth2.revoke_own_grant(&principal, id).await?;
    Ok(no_content())
}
