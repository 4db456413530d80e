//! OAuth 2.0 pages: the administrators' client registrations (`/secure/admin/oauth2`: list,
//! register, enable and disable, new secret). A user's authorized applications are
//! `super::apps`'s.
//!
//! A client secret is rendered once, by the page its creation or reset redirects to (served
//! `no-store`; the secret travels there sealed, [`super::once`], so a reload registers
//! nothing and shows it no more). Administrative changes need the session's form token and
//! websudo; disabling a client and giving it a new secret are confirmed first, and the page
//! then says what changed.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};
use tessera_auth::oauth2::ClientInput;
use tessera_core::error::{Error, FieldErrors};
use tessera_core::oauth2::{ClientChanges, scope_string};

use super::confirm;
use super::layout::{document, error_summary, form_token, page_response, secret_field};
use super::once::{self, ShownOnce};
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

/// What the page says after a change: the client's id, and what happened to it.
#[derive(Debug, Default)]
struct Outcome {
    /// `registered`, `secret`, `disabled` or `enabled`, with the client's id.
    done: Option<(String, String)>,
    /// The secret carried from the registration or reset, for that client.
    secret: Option<ShownOnce>,
}

impl Outcome {
    fn from_query(incoming: &Incoming) -> Option<(String, String)> {
        let params = crate::extract::Params::parse(incoming.query.as_deref());
        ["registered", "secret", "disabled", "enabled"]
            .into_iter()
            .find_map(|what| Some((what.to_string(), params.get(what)?.to_string())))
    }
}

async fn clients_page(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    draft: &Draft,
    errors: &FieldErrors,
    outcome: Outcome,
) -> PageResult<Response> {
    let content = |clients: Vec<tessera_core::oauth2::Client>| -> Markup {
        let done = outcome.done.as_ref().and_then(|(what, id)| {
            let client = clients.iter().find(|c| &c.client_id == id)?;
            Some((what.as_str(), client))
        });
        let secret = outcome
            .secret
            .as_ref()
            .filter(|s| done.is_some_and(|(_, c)| c.client_id == s.label));
        html! {
            @if let Some((what, client)) = done {
                div.secret role="status" id="result" {
                    p {
                        "Client " strong { (client.name) } " "
                        @match what {
                            "registered" => { "is registered. Its client_id is " code id="client-id" { (client.client_id) } "." }
                            "secret" => { "has a new secret; the old one no longer works." }
                            "disabled" => { "is disabled: it gets no tokens and its tokens do not work until it is enabled." }
                            _ => { "is enabled again." }
                        }
                    }
                    @if let Some(secret) = secret {
                        (secret_field("client-secret", "Its client secret (it will not be shown again)", &secret.secret))
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
                                    @if client.confidential {
                                        form method="post" action=(link(state, &format!("{CLIENTS}/{}/secret", client.client_id))) {
                                            (form_token(user))
                                            button type="submit" class="new-secret" { "New secret" }
                                        }
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
        let (secret, carried) = once::take(&state, &incoming, &user, CLIENTS);
        let outcome = Outcome {
            done: Outcome::from_query(&incoming),
            secret,
        };
        let mut response = clients_page(
            &state,
            &user,
            StatusCode::OK,
            &draft,
            &FieldErrors::default(),
            outcome,
        )
        .await?;
        if carried {
            once::forget(&state, &incoming, &mut response);
        }
        Ok(response)
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
            // Shown by the page this redirects to: a reload there registers nothing.
            Ok((client, secret)) => {
                let page = format!("{CLIENTS}?registered={}", client.client_id);
                Ok(match secret {
                    Some(secret) => once::redirect_showing(
                        &state,
                        &incoming,
                        &user,
                        (CLIENTS, &page),
                        ShownOnce {
                            label: client.client_id,
                            secret: secret.into_string(),
                            renewed: false,
                        },
                    ),
                    None => redirect(&link(&state, &page)),
                })
            }
            Err(Error::Invalid(errors)) => {
                clients_page(
                    &state,
                    &user,
                    StatusCode::BAD_REQUEST,
                    &draft,
                    &errors,
                    Outcome::default(),
                )
                .await
            }
            Err(other) => Err(other.into()),
        }
    }
    .await;
    respond(&state, incoming.client, result)
}

/// Global ADMINISTER, with websudo and the form token: enables or disables a client, or gives
/// a confidential one a new secret (disabling and a new secret are confirmed first).
pub async fn post_client_state(
    State(state): State<AppState>,
    Path((client_id, action)): Path<(String, String)>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let AdminForm { form, user, admin } =
            admin_form(&state, &incoming, body, CLIENTS).await?;
        let (enabled, said) = match action.as_str() {
            "enable" => (true, "enabled"),
            "disable" => (false, "disabled"),
            "secret" => (false, "secret"),
            _ => return Err(PageError::NotFound("No such action.".into())),
        };
        let client = state.oauth2.find_client(&client_id).await?;
        let done = format!("{CLIENTS}?{said}={}", client.client_id);
        if action != "enable" && !confirm::is_confirmed(&form) {
            let path = format!("{CLIENTS}/{}/{action}", client.client_id);
            let (title, says, button) = if action == "secret" {
                (
                    "Give a client a new secret",
                    html! { "Give " strong { (client.name) } " a new secret? The current one stops working at once, and so do the tokens issued under it." },
                    "Make a new secret",
                )
            } else {
                (
                    "Disable a client",
                    html! { "Disable " strong { (client.name) } "? It gets no more tokens, and the tokens it holds stop working until it is enabled again." },
                    "Disable client",
                )
            };
            return Ok(confirm::ask(
                &state,
                &user,
                confirm::Question {
                    title,
                    says,
                    action: &path,
                    button,
                    back: CLIENTS,
                    keep: &[],
                },
            ));
        }
        if action == "secret" {
            let secret = state
                .oauth2
                .reset_client_secret(&admin, Some(&user.principal), &client_id)
                .await?;
            let shown = ShownOnce {
                label: client.client_id,
                secret: secret.into_string(),
                renewed: true,
            };
            return Ok(once::redirect_showing(
                &state,
                &incoming,
                &user,
                (CLIENTS, &done),
                shown,
            ));
        }
        let changes = ClientChanges {
            enabled: Some(enabled),
            ..ClientChanges::default()
        };
        state
            .oauth2
            .update_client(&admin, Some(&user.principal), &client_id, changes)
            .await?;
        Ok(redirect(&link(&state, &done)))
    }
    .await;
    respond(&state, incoming.client, result)
}
