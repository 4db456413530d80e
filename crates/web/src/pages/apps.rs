//! `/secure/authorized-apps`: the applications a user authorized, of both kinds: OAuth 2.0
//! clients (grants) and OAuth 1.0a application links (access tokens), each with a revoke
//! button. Revoking needs the session's form token, and takes effect at once.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use maud::html;
use tessera_auth::oauth1::dance::Access;
use tessera_core::oauth2::{GrantId, describe_scope};

use super::layout::{document, form_token, page_response, when};
use super::{FormBody, Incoming, PageError, confirm, link, respond, session_user};
use crate::state::AppState;

const APPS: &str = "/secure/authorized-apps";

/// Any logged-in user: their authorized applications.
pub async fn get_apps(State(state): State<AppState>, incoming: Incoming) -> Response {
    let result = async {
        let user = session_user(&state, &incoming, None, APPS).await?;
        let grants = state.oauth2.grants_of(&user.principal).await?;
        let links = state.oauth1.tokens_of(&user.principal).await?;
        let said = confirm::said(&state, &user, incoming.query.as_deref());
        let content = html! {
            @if let Some(said) = said { (said) }
            h2 { "OAuth 2.0" }
            @if grants.is_empty() {
                p id="no-apps" { "You have not authorized any application." }
            } @else {
                table id="apps" {
                    thead { tr { th { "Application" } th { "Can" } th { "Authorized" } th { "Last used" } th { "" } } }
                    tbody {
                        @for grant in &grants {
                            tr id=(format!("app-{}", grant.id)) {
                                td.name { (grant.client_name) }
                                td { ul { @for scope in grant.scopes.iter() { li { (describe_scope(scope)) } } } }
                                td { (when(grant.created)) }
                                td { @match grant.last_used { Some(at) => (when(at)), None => "never" } }
                                td {
                                    form method="post" action=(link(&state, &format!("{APPS}/{}/revoke", grant.id))) {
                                        (form_token(&user))
                                        button type="submit" class="revoke" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Application links (OAuth 1.0a)" }
            @if links.is_empty() {
                p id="no-links" { "You have not authorized any application link." }
            } @else {
                table id="links" {
                    thead { tr { th { "Application" } th { "Can" } th { "Authorized" } th { "Expires" } th { "" } } }
                    tbody {
                        @for token in &links {
                            tr id=(format!("link-{}", token.id)) {
                                td.name { (token.consumer.name) }
                                td { @match Access::of(token.scopes) {
                                    Access::ReadWrite => "read and change what you can",
                                    Access::ReadOnly => "read what you can",
                                } }
                                td { (when(token.created)) }
                                td { @match token.expires { Some(at) => (when(at)), None => "never" } }
                                td {
                                    form method="post" action=(link(&state, &format!("{APPS}/oauth1/{}/revoke", token.id))) {
                                        (form_token(&user))
                                        button type="submit" class="revoke" { "Revoke" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        };
        Ok(page_response(
            StatusCode::OK,
            document(&state, "Authorized applications", Some(&user), content),
        ))
    }
    .await;
    respond(&state, incoming.client, result)
}

/// What a Revoke button ends.
#[derive(Clone, Copy, Debug)]
enum Authorization {
    OAuth2Grant,
    OAuth1Token,
}

/// The user, with the form token: revokes one of their authorizations (others' are "not
/// found") and comes back to the list.
async fn revoke(
    state: AppState,
    incoming: Incoming,
    id: String,
    body: Result<Bytes, BytesRejection>,
    what: Authorization,
) -> Response {
    let result = async {
        let form = FormBody::parse(&incoming.headers, body)?;
        let user = session_user(&state, &incoming, Some(&form), APPS).await?;
        let id = id
            .parse::<i64>()
            .map_err(|_| PageError::NotFound("No such application.".into()))?;
        let missing = || PageError::NotFound("No such application.".into());
        let name = match what {
            Authorization::OAuth2Grant => (state.oauth2.grants_of(&user.principal).await?)
                .into_iter()
                .find(|grant| grant.id == GrantId(id))
                .map(|grant| grant.client_name),
            Authorization::OAuth1Token => (state.oauth1.tokens_of(&user.principal).await?)
                .into_iter()
                .find(|token| token.id == id)
                .map(|token| token.consumer.name),
        }
        .ok_or_else(missing)?;
        if !confirm::is_confirmed(&form) {
            let action = match what {
                Authorization::OAuth2Grant => format!("{APPS}/{id}/revoke"),
                Authorization::OAuth1Token => format!("{APPS}/oauth1/{id}/revoke"),
            };
            return Ok(confirm::ask(
                &state,
                &user,
                confirm::Question {
                    title: "Revoke an application's access",
                    says: html! { "Revoke the access of " strong { (name) } "? It stops working at once, and must be authorized again to come back." },
                    action: &action,
                    button: "Revoke access",
                    back: APPS,
                    keep: &[],
                },
            ));
        }
        match what {
            Authorization::OAuth2Grant => {
                state
                    .oauth2
                    .revoke_own_grant(&user.principal, GrantId(id))
                    .await?;
            }
            Authorization::OAuth1Token => {
                state.oauth1.revoke_own_token(&user.principal, id).await?;
            }
        }
        let says = format!("The access of {name} was revoked.");
        Ok(confirm::redirect_saying(&state, &user, APPS, &says))
    }
    .await;
    respond(&state, incoming.client, result)
}

/// The grant's user, with the form token: revokes it.
pub async fn post_revoke_app(
    State(state): State<AppState>,
    Path(id): Path<String>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    revoke(state, incoming, id, body, Authorization::OAuth2Grant).await
}

/// The token's user, with the form token: revokes an application link's access.
pub async fn post_revoke_link(
    State(state): State<AppState>,
    Path(id): Path<String>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    revoke(state, incoming, id, body, Authorization::OAuth1Token).await
}
