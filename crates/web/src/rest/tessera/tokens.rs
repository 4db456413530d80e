//! `/rest/tessera/1/tokens`: the administrators' inventory of every token, and
//! `/rest/tessera/1/credentials/revoke`, where anyone may report leaked tokens.

use axum::Extension;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use serde_json::json;
use tessera_auth::tokens;
use tessera_core::clock::Timestamp;
use tessera_core::error::Error;
use tessera_core::services::users::UserSelector;
use tessera_core::tokens::{TokenFilter, TokenKind};
use time::macros::format_description;

use crate::client::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params, PathArgs, no_content};
use crate::rest::pat::{project_keys, token_id, token_json};
use crate::state::AppState;

/// A date filter: `YYYY-MM-DD` (midnight UTC) or milliseconds since the epoch.
pub(crate) fn date(params: &Params, name: &str) -> ApiResult<Option<Timestamp>> {
    let Some(text) = params.text(name).map(str::trim) else {
        return Ok(None);
    };
    if let Ok(millis) = text.parse::<i64>() {
        return Ok(Some(Timestamp::from_millis(millis)));
    }
    let day = time::Date::parse(text, format_description!("[year]-[month]-[day]"))
        .map_err(|_| ApiError::field(name, "Give a date as YYYY-MM-DD or milliseconds."))?;
    let millis = day.midnight().assume_utc().unix_timestamp() * 1000;
    Ok(Some(Timestamp::from_millis(millis)))
}

async fn filter(state: &AppState, params: &Params) -> ApiResult<TokenFilter> {
    let owner = match params.text("owner") {
        None => None,
        Some(name) => Some(UserSelector::Name(name).get(&*state.store).await?.id),
    };
    let kind = match params.text("kind") {
        None => None,
        Some(text) => Some(
            TokenKind::parse(text)
                .ok_or_else(|| ApiError::field("kind", "The kind is 'personal' or 'service'."))?,
        ),
    };
    Ok(TokenFilter {
        owner,
        kind,
        expiring_before: date(params, "expiringBefore")?,
        created_before: date(params, "createdBefore")?,
        last_used_before: date(params, "lastUsedBefore")?,
        never_used: params.flag("neverUsed", false),
        include_revoked: params.flag("includeRevoked", false),
        ..TokenFilter::default()
    })
}

/// Global ADMINISTER. Filters: `owner`, `kind`, `expiringBefore`, `createdBefore`,
/// `lastUsedBefore`, `neverUsed`, `includeRevoked`; paged by `startAt`/`maxResults`.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/tokens",
    tag = "tokens",
    params(
        ("owner" = Option<String>, Query, description = "Only this user's tokens."),
        ("kind" = Option<String>, Query, description = "`personal` or `service`."),
        ("neverUsed" = Option<String>, Query, description = "`true`: only tokens never used."),
        ("includeRevoked" = Option<String>, Query, description = "`true`: revoked tokens too."),
        super::openapi::Paging,
    ),
    responses(
        (status = 200, description = "A page of tokens.", body = Object),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn get_all_tokens(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let filter = filter(&state, &params).await?;
    let page = params.page(50, 1000);
    let found = state
        .store
        .list_tokens(&filter, page)
        .await
        .map_err(Error::from)?;
    let keys = project_keys(&state).await?;
    Ok(Jira::ok(json!({
        "startAt": found.start_at,
        "maxResults": found.max_results,
        "total": found.total,
        "isLast": found.start_at + found.items.len() as i64 >= found.total,
        "values": found.items.iter().map(|t| token_json(t, &keys)).collect::<Vec<_>>(),
    })))
}

/// Global ADMINISTER: revokes every live token of `?owner=` (required).
#[utoipa::path(
    delete,
    path = "/rest/tessera/1/tokens",
    tag = "tokens",
    params(
        ("owner" = String, Query, description = "The user whose tokens to revoke."),
    ),
    responses(
        (status = 200, description = "How many were revoked.", body = Object),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn delete_all_tokens(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let name = params
        .text("owner")
        .ok_or_else(|| ApiError::field("owner", "Name the user whose tokens to revoke."))?;
    let owner = UserSelector::Name(name).get(&*state.store).await?;
    let now = state.clock.now();
    let revoked =
        tokens::revoke_all_of(&*state.store, &admin, Some(&principal), &owner, now).await?;
    Ok(Jira::ok(json!({ "revoked": revoked })))
}

/// Global ADMINISTER: revokes any token.
#[utoipa::path(
    delete,
    path = "/rest/tessera/1/tokens/{id}",
    tag = "tokens",
    params(
        ("id" = String, Path, description = "The token's id."),
    ),
    responses(
        (status = 204, description = "Revoked."),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn delete_any_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Response> {
    let admin = state.authz.administer(&principal)?;
    tokens::revoke_any(
        &*state.store,
        &admin,
        Some(&principal),
        token_id(&id)?,
        state.clock.now(),
    )
    .await?;
    Ok(no_content())
}

/// A leaked-credential report: the tokens found (at most 100).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct Report {
    credentials: Vec<String>,
}

/// Anyone, authenticated or not (like GitHub's credential revocation API). The report is
/// queued for a background worker and the answer is always 202 with an empty body, so it
/// reveals nothing about whether any token existed (not even through its timing); a full queue
/// answers 503 with `Retry-After`.
#[utoipa::path(
    post,
    path = "/rest/tessera/1/credentials/revoke",
    tag = "tokens",
    request_body(content = Report, content_type = "application/json"),
    responses(
        (status = 202, description = "Queued; the same answer whether or not any token existed.", body = Object),
        super::openapi::Invalid,
        super::openapi::Busy,
    ),
    security(()),
)]
pub async fn post_credentials_revoke(
    State(state): State<AppState>,
    Extension(client): Extension<ClientAddr>,
    JsonBody(report): JsonBody<Report>,
) -> ApiResult<Response> {
    if report.credentials.len() > tessera_auth::leaks::MAX_REPORTED_TOKENS {
        return Err(ApiError::field(
            "credentials",
            format!(
                "Report at most {} tokens at a time.",
                tessera_auth::leaks::MAX_REPORTED_TOKENS
            ),
        ));
    }
    state
        .reports
        .report(report.credentials, client.ip, state.clock.now())
        .map_err(|busy| ApiError::Unavailable {
            message: busy.to_string(),
            retry_after_seconds: 1,
        })?;
    Ok(Jira(StatusCode::ACCEPTED, json!({})).into_response())
}
