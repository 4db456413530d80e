//! `/rest/pat/latest/tokens`: Jira Data Center's personal-access-token API, with tessera's
//! extensions (`scopes`, `projects`, `allowedIps`, rotation, `current`).
//!
//! A token never appears in a response except once, as `rawToken`, when it is made or rotated.
//! A caller holding a token may read its own list but may create none and change only itself.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_auth::tokens::{self, Issued};
use tessera_core::authz::{Authorizer, ManageTokens, ProjectRef};
use tessera_core::error::{Error, FieldErrors, Missing};
use tessera_core::ids::{ProjectId, TokenId, UserId};
use tessera_core::model::PageRequest;
use tessera_core::permissions::GlobalPermission;
use tessera_core::principal::Principal;
use tessera_core::scopes::Scope;
use tessera_core::tokens::{Token, TokenFilter, TokenRequest};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params, PathArgs, no_content};
use crate::render::time;
use crate::state::AppState;

/// The body of `POST /rest/pat/latest/tokens` (and of a service key request).
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct TokenBody {
    #[serde(default)]
    name: Option<String>,
    /// Days until expiry; 0 for none (if policy allows).
    #[serde(default)]
    expiration_duration: Option<i64>,
    #[serde(default)]
    scopes: Option<Vec<String>>,
    #[serde(default)]
    projects: Option<Vec<String>>,
    #[serde(default)]
    allowed_ips: Option<Vec<String>>,
}

/// Project keys → ids, for a project restriction. `check_visible` resolves through the
/// authorizer (for a person's own token, so an invisible project is as unknown as a missing
/// one); otherwise existence is enough (an administrator or owner issuing a service key).
pub(crate) async fn resolve_projects(
    state: &AppState,
    principal: &Principal,
    keys: Option<&[String]>,
    check_visible: bool,
) -> Result<Option<Vec<ProjectId>>, Error> {
    let Some(keys) = keys else { return Ok(None) };
    if keys.is_empty() {
        // An empty list would make a token that reaches nothing: surely not what was meant.
        return Err(Error::invalid(
            "projects",
            "Give at least one project key, or leave projects out for every project.",
        ));
    }
    let mut ids = Vec::new();
    let mut errors = FieldErrors::default();
    for key in keys {
        let reference = ProjectRef::parse(key.trim());
        let found = if check_visible {
            match state.authz.visible_project(principal, &reference).await {
                Ok(visible) => Some(visible.project().id),
                Err(Error::NotFound(_)) => None,
                Err(other) => return Err(other),
            }
        } else {
            let found = match &reference {
                ProjectRef::Id(id) => state.store.find_project(*id).await?,
                ProjectRef::Key(key) => state.store.find_project_by_key(key).await?,
            };
            found.map(|p| p.id)
        };
        match found {
            Some(id) if !ids.contains(&id) => ids.push(id),
            Some(_) => {}
            None => errors.add_field("projects", Missing::Project(key.clone()).to_string()),
        }
    }
    errors.into_result()?;
    Ok(Some(ids))
}

/// Issues a token for the capability's owner from a request body; answers 201 with the
/// secret, once.
pub async fn issue_from_body(
    state: &AppState,
    principal: &Principal,
    manage: &ManageTokens,
    body: TokenBody,
) -> ApiResult<Jira> {
    manage.require_create()?;
    // Restrictions name projects the caller can see; only administrators see them all (an
    // owning group's member issuing a service key must not learn of hidden projects).
    let check_visible = !Authorizer::has_global(principal, GlobalPermission::Administer);
    let projects =
        resolve_projects(state, principal, body.projects.as_deref(), check_visible).await?;
    let request = TokenRequest {
        name: body.name.unwrap_or_default(),
        expiration_days: body.expiration_duration,
        scopes: body.scopes,
        allowed_ips: body.allowed_ips,
    };
    let now = state.clock.now();
    // Token rules are read fresh: a policy change elsewhere applies to this creation.
    let active = state
        .auth
        .policy()
        .refresh()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let issued = tokens::issue(
        &*state.store,
        &active.policy.tokens,
        manage,
        Some(principal),
        &request,
        projects,
        now,
    )
    .await?;
    Ok(Jira::created(issued_json(state, issued).await?))
}

async fn issued_json(state: &AppState, issued: Issued) -> ApiResult<Value> {
    let keys = project_keys(state).await?;
    let mut value = token_json(&issued.token, &keys);
    value["rawToken"] = Value::String(issued.raw.into_string());
    Ok(value)
}

/// Project ids → keys, to show restrictions by key.
pub async fn project_keys(state: &AppState) -> Result<HashMap<ProjectId, String>, Error> {
    Ok(state
        .store
        .list_projects()
        .await?
        .into_iter()
        .map(|p| (p.id, p.key))
        .collect())
}

/// A token as the API shows it: Jira's fields, then tessera's. Never the secret.
pub fn token_json(token: &Token, keys: &HashMap<ProjectId, String>) -> Value {
    json!({
        "id": token.id.0,
        "name": token.name,
        "createdAt": time(token.created),
        "expiringAt": token.expires.map(time),
        "lastAccessedAt": token.last_used.map(time),
        "lastAccessedFrom": token.last_used_ip,
        "useCount": token.use_count,
        "kind": token.kind.name(),
        "owner": token.owner_name,
        "scopes": token.scopes.iter().map(Scope::name).collect::<Vec<_>>(),
        "projects": token.projects.as_ref().map(|ids| ids.iter()
            .map(|id| keys.get(id).cloned().unwrap_or_else(|| id.to_string()))
            .collect::<Vec<_>>()),
        "allowedIps": token.allowed_ips.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "revokedAt": token.revoked.map(time),
    })
}

/// A user's tokens that are not revoked, newest first.
pub async fn live_tokens(state: &AppState, owner: UserId) -> Result<Vec<Token>, Error> {
    let filter = TokenFilter {
        owner: Some(owner),
        ..TokenFilter::default()
    };
    let page = PageRequest {
        start_at: 0,
        limit: 1000,
    };
    Ok(state.store.list_tokens(&filter, page).await?.items)
}

/// Lists the owner's tokens that are not revoked, newest first; a caller holding a token sees
/// only that token.
pub async fn list_owned(state: &AppState, manage: &ManageTokens) -> ApiResult<Jira> {
    let found = live_tokens(state, manage.owner().id).await?;
    let keys = project_keys(state).await?;
    Ok(Jira::ok(Value::Array(
        found
            .iter()
            .filter(|t| manage.may_see(t))
            .map(|t| token_json(t, &keys))
            .collect(),
    )))
}

/// Rotates one of the owner's tokens; `?overlapSeconds=` keeps the old secret alive that long.
pub async fn rotate_owned(
    state: &AppState,
    principal: &Principal,
    manage: &ManageTokens,
    id: TokenId,
    params: &Params,
) -> ApiResult<Jira> {
    let overlap = match params.get("overlapSeconds") {
        None => None,
        Some(text) => Some(Duration::from_secs(text.trim().parse().map_err(|_| {
            ApiError::field(
                "overlapSeconds",
                "The overlap must be a whole number of seconds.",
            )
        })?)),
    };
    let now = state.clock.now();
    let issued = tokens::rotate(&*state.store, manage, principal, id, overlap, now).await?;
    Ok(Jira::ok(issued_json(state, issued).await?))
}

pub fn token_id(text: &str) -> Result<TokenId, ApiError> {
    TokenId::parse(text)
        .ok_or_else(|| ApiError::NotFound(Missing::Token(text.to_string()).to_string()))
}

/// Any authenticated user, for themselves; not with a token.
pub async fn post_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<TokenBody>,
) -> ApiResult<Jira> {
    let manage = Authorizer::own_tokens(&principal);
    issue_from_body(&state, &principal, &manage, body).await
}

/// Any authenticated user: their own tokens (a caller holding a token: only that one).
pub async fn get_tokens(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Jira> {
    list_owned(&state, &Authorizer::own_tokens(&principal)).await
}

/// Any authenticated user: one of their own tokens (a caller holding a token: only that one).
pub async fn get_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    let manage = Authorizer::own_tokens(&principal);
    let token = tokens::owned(&*state.store, &manage, token_id(&id)?).await?;
    manage.require_change(&token)?;
    Ok(Jira::ok(token_json(&token, &project_keys(&state).await?)))
}

/// A caller authenticated with a token: that token.
pub async fn get_current_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Jira> {
    let Some(id) = principal.token else {
        return Err(ApiError::NotFound(
            "The request was not authenticated with a token.".into(),
        ));
    };
    let manage = Authorizer::own_tokens(&principal);
    let token = tokens::owned(&*state.store, &manage, id).await?;
    Ok(Jira::ok(token_json(&token, &project_keys(&state).await?)))
}

/// Any authenticated user, for their own token (a token-authenticated caller: only itself).
pub async fn delete_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Response> {
    let manage = Authorizer::own_tokens(&principal);
    let now = state.clock.now();
    tokens::revoke(&*state.store, &manage, &principal, token_id(&id)?, now).await?;
    Ok(no_content())
}

/// Any authenticated user, for their own token, with a password or session (not a token).
pub async fn post_rotate_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    params: Params,
) -> ApiResult<Jira> {
    let manage = Authorizer::own_tokens(&principal);
    rotate_owned(&state, &principal, &manage, token_id(&id)?, &params).await
}
