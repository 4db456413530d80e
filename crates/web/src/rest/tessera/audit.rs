//! `/rest/tessera/1/audit`: the audit trail for administrators, as pages of JSON or as a JSON
//! Lines export. Events name credentials by kind and id, never by secret.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_DISPOSITION, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use serde_json::{Value, json};
use tessera_core::audit::{ActionMatch, AuditEvent, AuditFilter, Outcome};
use tessera_core::error::Error;
use tessera_core::model::PageRequest;
use tessera_core::tokens::parse_network;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, Params};
use crate::render::time;
use crate::rest::tessera::tokens::date;
use crate::state::AppState;

/// Most events one export carries (page with `from`/`to` for more).
const MAX_EXPORT: i64 = 100_000;

fn non_empty(text: Option<&str>) -> Option<&str> {
    text.map(str::trim).filter(|t| !t.is_empty())
}

/// The filter of the audit API and page: `from`, `to`, `actor`, `action` (exact, or a prefix
/// ending in `*`), `outcome`, `ip` (an address or a CIDR range), `target`.
pub fn filter(params: &Params) -> ApiResult<AuditFilter> {
    if params.has_nul() {
        return Err(ApiError::bad_request(
            "The request contains a NUL character, which no field accepts.",
        ));
    }
    let outcome = match non_empty(params.text("outcome")) {
        None => None,
        Some(text) => Some(Outcome::parse(text.trim()).ok_or_else(|| {
            ApiError::field("outcome", "The outcome is success, failure or denied.")
        })?),
    };
    let client_net = match params.text("ip").map(str::trim) {
        None | Some("") => None,
        Some(text) => Some(parse_network(text).ok_or_else(|| {
            ApiError::field(
                "ip",
                "Give an IP address or a CIDR range (10.0.0.0/8, 2001:db8::/32).",
            )
        })?),
    };
    Ok(AuditFilter {
        from: date(params, "from")?,
        to: date(params, "to")?,
        actor: non_empty(params.text("actor")).map(str::to_lowercase),
        action: non_empty(params.text("action")).map(ActionMatch::parse),
        outcome,
        client_net,
        target: non_empty(params.text("target")).map(str::to_string),
        request_id: non_empty(params.text("requestId")).map(str::to_string),
    })
}

pub fn event_json(event: &AuditEvent) -> Value {
    json!({
        "at": time(event.at),
        "actor": event.actor_name.as_ref().map(|name| json!({"id": event.actor_id, "name": name})),
        "credential": event.credential_kind.as_ref().map(|kind| json!({"kind": kind, "id": event.credential_id})),
        "clientIp": event.client_ip,
        "userAgent": event.user_agent,
        "action": event.action,
        "target": event.target,
        "outcome": event.outcome.name(),
        "reason": event.reason,
        "count": event.repeats,
        "requestId": event.request_id,
    })
}

/// Global ADMINISTER. Filters `from`, `to` (YYYY-MM-DD or milliseconds), `actor`, `action`,
/// `outcome`, `ip`, `target`, `requestId`; paged by `startAt`/`maxResults`, newest first.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/audit",
    tag = "audit",
    params(
        super::openapi::AuditFilters,
        super::openapi::Paging,
    ),
    responses(
        (status = 200, description = "A page of events, newest first.", body = Object),
        super::openapi::Refused,
    ),
)]
pub async fn get_audit(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let filter = filter(&params)?;
    let found = state
        .store
        .list_audit(&filter, params.page(50, 1000))
        .await
        .map_err(Error::from)?;
    Ok(Jira::ok(json!({
        "startAt": found.start_at,
        "maxResults": found.max_results,
        "total": found.total,
        "isLast": found.start_at + found.items.len() as i64 >= found.total,
        "values": found.items.iter().map(event_json).collect::<Vec<_>>(),
    })))
}

/// Global ADMINISTER. The same filters; JSON Lines, one event per line, newest first.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/audit/export",
    tag = "audit",
    params(
        super::openapi::AuditFilters,
    ),
    responses(
        (status = 200, description = "Events as JSON Lines.", body = String, content_type = "application/x-ndjson"),
        super::openapi::Refused,
    ),
)]
pub async fn get_audit_export(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Response> {
    state.authz.administer(&principal)?;
    let filter = filter(&params)?;
    let page = PageRequest {
        start_at: 0,
        limit: MAX_EXPORT,
    };
    let found = state
        .store
        .list_audit(&filter, page)
        .await
        .map_err(Error::from)?;
    let mut body = String::new();
    for event in &found.items {
        body.push_str(&event_json(event).to_string());
        body.push('\n');
    }
    Ok((
        StatusCode::OK,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("application/x-ndjson"),
            ),
            (
                CONTENT_DISPOSITION,
                HeaderValue::from_static("attachment; filename=\"tessera-audit.jsonl\""),
            ),
        ],
        body,
    )
        .into_response())
}
