//! OAuth 2.0 pages: the administrators' client registrations (`/secure/admin/oauth2`: list,
//! register, enable and disable, new secret). A user's authorized applications are
//! `super::apps`'s.
//!
//! A client secret is rendered once, in the page answering its creation or reset (served
//! `no-store`). Administrative changes need the session's form token and websudo.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};
use tessera_auth::oauth2::ClientInput;
use tessera_core::error::{Error, FieldErrors};
use tessera_core::oauth2::{ClientChanges, scope_string};

use super::layout::{document, error_summary, form_token, page_response};
use super::{
    AdminForm, Incoming, PageError, PageResult, SessionUser, admin_form, link, redirect, respond,
    session_user,
};
use crate::state::AppState;

const CLIENTS: &str = "/secure/admin/oauth2";

/// What the registration form holds, to show it again after a mistake.
#[derive(Debug, Default)]
struct Draft {
    name: String,
    redirect_uris: String,
    confidential: bool,
    scopes: Vec<String>,
    service_account: String,
}

const SCOPE_CHOICES: [&str; 4] = ["READ", "WRITE", "ADMIN", "SYSTEM_ADMIN"];

async fn clients_page(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    draft: &Draft,
    errors: &FieldErrors,
    created: Option<(String, String, Option<String>)>,
) -> PageResult<Response> {
    let content = |clients: Vec<tessera_core::oauth2::Client>| -> Markup {
        html! {
            @if let Some((name, client_id, secret)) = &created {
                div.secret role="status" {
                    p { "Client " strong { (name) } " is registered. Its client_id is " code id="client-id" { (client_id) } "." }
                    @if let Some(secret) = secret {
                        label for="client-secret" { "Its client secret (it will not be shown again)" }
                        input type="text" id="client-secret" readonly value=(secret) autocomplete="off" spellcheck="false";
                    }
                }
            }
            (error_summary(errors))
            @if !clients.is_empty() {
                table id="clients" {
                    thead { tr { th { "Name" } th { "client_id" } th { "Type" } th { "Redirect URIs" } th { "Scopes" } th { "State" } th { "" } } }
                    tbody {
                        @for client in &clients {
                            tr id=(format!("client-{}", client.client_id)) {
                                td.name { (client.name) }
                                td { code { (client.client_id) } }
                                td { @if client.confidential { "confidential" } @else { "public" } }
                                td { @for uri in &client.redirect_uris { div { (uri) } } }
                                td { (scope_string(client.scopes)) }
                                td.state { @if client.enabled { "enabled" } @else { "disabled" } }
                                td {
                                    form method="post" action=(link(state, &format!("{CLIENTS}/{}/{}", client.client_id, if client.enabled { "disable" } else { "enable" }))) {
                                        (form_token(user))
                                        button type="submit" class="toggle" { @if client.enabled { "Disable" } @else { "Enable" } }
                                    }
                                }
                            }
                        }
                    }
                }
            }
            h2 { "Register a client" }
            form method="post" action=(link(state, CLIENTS)) {
                fieldset {
                    (form_token(user))
                    label for="client-name" { "Name shown to users" }
                    input type="text" id="client-name" name="name" value=(draft.name) required;
                    label for="redirect-uris" { "Redirect URIs (one per line; https, or http on a loopback address)" }
                    textarea id="redirect-uris" name="redirectUris" { (draft.redirect_uris) }
                    label.check { input type="checkbox" id="confidential" name="confidential" checked[draft.confidential]; " Confidential (has a secret; public clients must use PKCE)" }
                    p { "May ask for: "
                        @for scope in SCOPE_CHOICES {
                            label.check { input type="checkbox" name="scopes" value=(scope) id=(format!("client-scope-{scope}")) checked[draft.scopes.iter().any(|s| s == scope)]; " " (scope) }
                        }
                    }
                    label for="service-account" { "Service account for client_credentials (confidential clients; optional)" }
                    input type="text" id="service-account" name="serviceAccount" value=(draft.service_account);
                    p { button type="submit" id="register-client" { "Register" } }
                }
            }
        }
    };
    let clients = state.store.list_clients().await.map_err(Error::from)?;
    Ok(page_response(
        status,
        document(state, "OAuth 2.0 clients", Some(user), content(clients)),
    ))
}

/// Global ADMINISTER: the clients and the registration form.
pub async fn get_clients(State(state): State<AppState>, incoming: Incoming) -> Response {
    let result = async {
        let user = session_user(&state, &incoming, None, CLIENTS).await?;
        state.authz.administer(&user.principal)?;
        let draft = Draft {
            confidential: true,
            ..Draft::default()
        };
        clients_page(
            &state,
            &user,
            StatusCode::OK,
            &draft,
            &FieldErrors::default(),
            None,
        )
        .await
    }
    .await;
    respond(&state, incoming.client, result)
}

/// Global ADMINISTER, with websudo and the form token: registers a client.
pub async fn post_client(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let AdminForm { form, user, admin } = admin_form(&state, &incoming, body, CLIENTS).await?;
        let draft = Draft {
            name: form.text("name").to_string(),
            redirect_uris: form.text("redirectUris").to_string(),
            confidential: form.is_checked("confidential"),
            scopes: form.all("scopes"),
            service_account: form.text("serviceAccount").to_string(),
        };
        let input = ClientInput {
            name: draft.name.clone(),
            redirect_uris: draft
                .redirect_uris
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect(),
            confidential: draft.confidential,
            scopes: draft.scopes.clone(),
            service_account: (!draft.service_account.is_empty())
                .then(|| draft.service_account.clone()),
        };
        match state
            .oauth2
            .register_client(&admin, Some(&user.principal), input)
            .await
        {
            Ok((client, secret)) => {
                let created = Some((
                    client.name,
                    client.client_id,
                    secret.map(|s| s.into_string()),
                ));
                let fresh = Draft {
                    confidential: true,
                    ..Draft::default()
                };
                clients_page(
                    &state,
                    &user,
                    StatusCode::CREATED,
                    &fresh,
                    &FieldErrors::default(),
                    created,
                )
                .await
            }
            Err(Error::Invalid(errors)) => {
                clients_page(
                    &state,
                    &user,
                    StatusCode::BAD_REQUEST,
                    &draft,
                    &errors,
                    None,
                )
                .await
            }
            Err(other) => Err(other.into()),
        }
    }
    .await;
    respond(&state, incoming.client, result)
}

/// Global ADMINISTER, with websudo and the form token: enables or disables a client.
pub async fn post_client_state(
    State(state): State<AppState>,
    Path((client_id, action)): Path<(String, String)>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let AdminForm {
            form: _,
            user,
            admin,
        } = admin_form(&state, &incoming, body, CLIENTS).await?;
        let enabled = match action.as_str() {
            "enable" => true,
            "disable" => false,
            _ => return Err(PageError::NotFound("No such action.".into())),
        };
        let changes = ClientChanges {
            enabled: Some(enabled),
            ..ClientChanges::default()
        };
        state
            .oauth2
            .update_client(&admin, Some(&user.principal), &client_id, changes)
            .await?;
        Ok(redirect(&link(&state, CLIENTS)))
    }
    .await;
    respond(&state, incoming.client, result)
}
