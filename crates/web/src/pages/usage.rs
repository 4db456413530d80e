//! `/secure/admin/usage`: API use for administrators: credentials nobody used for a number of
//! days (`unusedDays`, 90), credentials seen from a new network lately (`newDays`, 7), and
//! one credential's requests per day and latest addresses (`credential=token:42`).
//! Read-only.

use std::time::Duration;

use axum::extract::State;
use axum::response::Response;
use http::StatusCode;
use maud::html;
use tessera_core::error::{Error, FieldErrors};
use tessera_core::usage::{Credential, day_of, start_of_day};

use super::layout::{document, error_summary, page_response, short_agent, when};
use super::{Incoming, respond, session_user};
use crate::extract::Params;
use crate::rest::tessera::usage::{
    CLIENTS_SHOWN, MAX_DAYS, describe, new_networks_since, unused_since,
};
use crate::state::AppState;
use crate::urls::encode;

const PAGE: &str = "/secure/admin/usage";

fn days(params: &Params, name: &str, default: i64, errors: &mut FieldErrors) -> i64 {
    match params.text(name) {
        None => default,
        Some(text) => match text.trim().parse::<i64>() {
            Ok(days) if (1..=MAX_DAYS).contains(&days) => days,
            _ => {
                errors.add_field(name, format!("Give a number of days from 1 to {MAX_DAYS}."));
                default
            }
        },
    }
}

fn ago(now: tessera_core::clock::Timestamp, days: i64) -> tessera_core::clock::Timestamp {
    now.minus(Duration::from_secs(
        u64::try_from(days).unwrap_or(0) * 24 * 60 * 60,
    ))
}

/// Global ADMINISTER.
pub async fn get_usage(State(state): State<AppState>, incoming: Incoming) -> Response {
    let result = async {
        let user = session_user(&state, &incoming, None, PAGE).await?;
        state.authz.administer(&user.principal)?;
        let params = Params::parse(incoming.query.as_deref());
        let mut errors = FieldErrors::default();
        let unused_days = days(&params, "unusedDays", 90, &mut errors);
        let new_days = days(&params, "newDays", 7, &mut errors);
        let now = state.clock.now();
        let unused = unused_since(&state, ago(now, unused_days)).await?;
        let new_networks = new_networks_since(&state, ago(now, new_days)).await?;
        let detail = match params.text("credential") {
            None => None,
            Some(text) => match Credential::parse(text.trim()) {
                None => {
                    errors.add_field(
                        "credential",
                        "Name a credential: token:<id>, password:<user id> or session:<user id>.",
                    );
                    None
                }
                Some(credential) => match describe(&state, credential).await {
                    Ok(described) => {
                        let report = state
                            .store
                            .credential_usage(&described.credential, day_of(now) - 29, CLIENTS_SHOWN)
                            .await
                            .map_err(Error::from)?;
                        Some((described, report))
                    }
                    Err(Error::NotFound(missing)) => {
                        errors.add_field("credential", missing.to_string());
                        None
                    }
                    Err(other) => return Err(other.into()),
                },
            },
        };
        let detail_link = |credential: &str| {
            format!("{}{PAGE}?credential={}", state.urls.context_path(), encode(credential))
        };
        let content = html! {
            (error_summary(&errors))
            form method="get" action=(super::link(&state, PAGE)) {
                fieldset {
                    label for="unusedDays" { "Unused for at least (days)" }
                    input type="number" id="unusedDays" name="unusedDays" value=(unused_days);
                    label for="newDays" { "New networks within (days)" }
                    input type="number" id="newDays" name="newDays" value=(new_days);
                    label for="credential" { "One credential (token:<id>, password:<user id>, session:<user id>)" }
                    input type="text" id="credential" name="credential" value=(params.get("credential").unwrap_or(""));
                    p { button type="submit" id="show" { "Show" } }
                }
            }
            @if let Some((described, report)) = &detail {
                h2 { "Use of " (described.credential) }
                p id="credential-summary" {
                    (described.kind) " of " strong { (described.owner) }
                    @if let Some(name) = &described.name { " named " strong { (name) } }
                }
                table id="usage-days" {
                    thead { tr { th { "Day (UTC)" } th { "Requests" } } }
                    tbody {
                        @for (day, requests) in &report.days {
                            tr { td { (when(start_of_day(*day))) } td.requests { (requests) } }
                        }
                    }
                }
                table id="usage-clients" {
                    thead { tr { th { "Address" } th { "Last user agent" } th { "First seen" } th { "Last seen" } th { "Requests" } } }
                    tbody {
                        @for client in &report.clients {
                            tr {
                                td.ip { (client.ip) }
                                td title=(client.user_agent.as_deref().unwrap_or("")) { (short_agent(client.user_agent.as_deref().unwrap_or(""))) }
                                td { (when(client.first_seen)) }
                                td { (when(client.last_seen)) }
                                td { (client.requests) }
                            }
                        }
                    }
                }
            }
            h2 { "Seen from a new network in the last " (new_days) " days" }
            @if new_networks.is_empty() {
                p.muted id="no-new-networks" { "None." }
            } @else {
                table id="new-networks" {
                    thead { tr { th { "Credential" } th { "Owner" } th { "Network" } th { "First address" } th { "User agent" } th { "First seen" } } }
                    tbody {
                        @for found in &new_networks {
                            tr {
                                td { a href=(detail_link(&found.credential)) { (found.credential) } }
                                td { (found.owner) }
                                td.network { (found.network.to_string()) }
                                td { (found.first.ip) }
                                td title=(found.first.user_agent.as_deref().unwrap_or("")) { (short_agent(found.first.user_agent.as_deref().unwrap_or(""))) }
                                td { (when(found.first.first_seen)) }
                            }
                        }
                    }
                }
            }
            h2 { "Unused for " (unused_days) " days or more" }
            @if unused.is_empty() {
                p.muted id="no-unused" { "None." }
            } @else {
                table id="unused" {
                    thead { tr { th { "Credential" } th { "Kind" } th { "Owner" } th { "Name" } th { "Created" } th { "Last used" } } }
                    tbody {
                        @for item in &unused {
                            tr {
                                td { a href=(detail_link(&item.described.credential)) { (item.described.credential) } }
                                td { (item.described.kind) }
                                td { (item.described.owner) }
                                td { (item.described.name.as_deref().unwrap_or("")) }
                                td { @if let Some(at) = item.created { (when(at)) } }
                                td { @match item.last_used { Some(at) => (when(at)), None => "never" } }
                            }
                        }
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
            document(&state, "API usage", Some(&user), content),
        ))
    }
    .await;
    respond(&state, incoming.client, result)
}
