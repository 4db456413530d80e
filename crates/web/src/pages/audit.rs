//! `/secure/admin/audit`: the audit trail for administrators, newest first, with the filters
//! of `GET /rest/tessera/1/audit` (time range, actor, action or action prefix, outcome,
//! address or CIDR range, target) and paging. Read-only: nothing here changes anything.

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use maud::html;
use tessera_core::error::{Error, FieldErrors};
use tessera_core::model::PageRequest;

use super::layout::{document, error_summary, page_response, short_agent, when};
use super::{Incoming, respond, session_user};
use crate::error::ApiError;
use crate::extract::Params;
use crate::rest::tessera::audit::filter;
use crate::state::AppState;
use crate::urls::encode;

const PAGE: &str = "/secure/admin/audit";
const PAGE_SIZE: i64 = 100;

/// The filter fields, in the form's order, with their labels and input types.
const FIELDS: [(&str, &str, &str); 7] = [
    ("from", "From", "date"),
    ("to", "Before", "date"),
    ("actor", "Actor", "text"),
    ("action", "Action (a trailing * matches a prefix)", "text"),
    ("outcome", "Outcome", "select"),
    ("ip", "Address or CIDR range", "text"),
    ("target", "Target (user:alice, token:42)", "text"),
];

/// The outcomes the filter offers.
const OUTCOMES: [&str; 3] = ["success", "failure", "denied"];

/// Global ADMINISTER: the filtered trail.
pub async fn get_audit(State(state): State<AppState>, incoming: Incoming) -> Response {
    let result = async {
        let user = session_user(&state, &incoming, None, PAGE).await?;
        state.authz.administer(&user.principal)?;
        let params = Params::parse(incoming.query.as_deref());
        let start_at = params.number("startAt").filter(|n| *n >= 0).unwrap_or(0);
        let (found, errors) = match filter(&params) {
            Ok(filter) => {
                let page = PageRequest {
                    start_at,
                    limit: PAGE_SIZE,
                };
                let found = state
                    .store
                    .list_audit(&filter, page)
                    .await
                    .map_err(Error::from)?;
                (Some(found), FieldErrors::default())
            }
            Err(ApiError::BadRequest(errors)) => (None, errors),
            Err(other) => return Err(super::PageError::Internal(format!("{other:?}"))),
        };
        // The filters as given, re-encoded, for the paging links.
        let query: String = FIELDS
            .iter()
            .filter_map(|(name, _, _)| params.text(name).map(|v| format!("{name}={}&", encode(v))))
            .collect();
        let page_link = |start: i64| format!("{}{PAGE}?{query}startAt={start}", state.urls.context_path());
        let content = html! {
            (error_summary(&errors))
            form method="get" action=(super::link(&state, PAGE)) id="audit-filters" {
                fieldset.filters {
                    @for (name, label, kind) in FIELDS {
                        div.filter {
                            label for=(name) { (label) }
                            @if kind == "select" {
                                select id=(name) name=(name) {
                                    option value="" { "any" }
                                    @for outcome in OUTCOMES {
                                        option value=(outcome) selected[params.get(name) == Some(outcome)] { (outcome) }
                                    }
                                }
                            } @else {
                                input type=(kind) id=(name) name=(name) value=(params.get(name).unwrap_or(""));
                            }
                        }
                    }
                    div.filter { button type="submit" id="filter" class="primary" { "Filter" } }
                }
            }
            @if let Some(found) = &found {
                p id="event-count" { (found.total) " event" @if found.total != 1 { "s" } }
                table id="events" class="compact" {
                    thead { tr {
                        th { "Time (UTC)" } th { "Actor" } th { "Credential" } th { "Address" }
                        th { "Action" } th { "Target" } th { "Outcome" } th { "Client" }
                    } }
                    tbody {
                        @for event in &found.items {
                            tr.event {
                                td.time title=[event.request_id.as_ref().map(|id| format!("request {id}"))] { (when(event.at)) }
                                td.actor { (event.actor_name.as_deref().unwrap_or("")) }
                                td {
                                    (event.credential_kind.as_deref().unwrap_or(""))
                                    @if let Some(id) = &event.credential_id { " " span.muted { (id) } }
                                }
                                td { (event.client_ip.as_deref().unwrap_or("")) }
                                td.action {
                                    (event.action)
                                    @if event.repeats > 1 { " " span.muted.repeats { "×" (event.repeats) } }
                                }
                                td.target { (event.target.as_deref().unwrap_or("")) }
                                td.outcome {
                                    (event.outcome.name())
                                    @if let Some(reason) = &event.reason { br; span.reason.muted { (reason) } }
                                }
                                td.muted title=(event.user_agent.as_deref().unwrap_or("")) {
                                    (short_agent(event.user_agent.as_deref().unwrap_or("")))
                                }
                            }
                        }
                    }
                }
                nav.paging {
                    @if start_at > 0 {
                        a id="newer" href=(page_link((start_at - PAGE_SIZE).max(0))) { "Newer" }
                    }
                    @if start_at + (found.items.len() as i64) < found.total {
                        a id="older" href=(page_link(start_at + PAGE_SIZE)) { "Older" }
                    }
                }
            }
        };
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        Ok(page_response(
            status,
            document(&state, "Audit log", Some(&user), content),
        ))
    }
    .await;
    respond(&state, incoming.client, result)
}
