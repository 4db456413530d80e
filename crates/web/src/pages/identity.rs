//! `/secure/admin/identity`: the administrators' identity providers. A list (issuer, user
//! claim, provisioning, state), a registration form (name, issuer, audiences, the claims and
//! the provisioning; discovery is read before anything is stored, and its failure is shown
//! with the form kept), a switch to enable or disable each, and delete with a required
//! confirmation. Every change needs the session's form token and websudo.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};
use secrecy::SecretString;
use tessera_auth::external::providers::{ClientInput, ProviderInput};
use tessera_core::error::{Error, FieldErrors};
use tessera_core::identity::ProviderId;

use super::confirm;
use super::layout::{document, error_summary, form_token, page_response, when};
use super::{
    AdminForm, Incoming, PageError, PageResult, SessionUser, admin_form, link, respond,
    session_user,
};
use crate::state::AppState;

const PROVIDERS: &str = "/secure/admin/identity";

/// What the registration form holds, to show it again after a mistake.
#[derive(Debug, Default)]
struct Draft {
    name: String,
    issuer: String,
    audiences: String,
    user_claim: String,
    provisioning: String,
    client_id: String,
}

async fn providers_page(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    draft: &Draft,
    errors: &FieldErrors,
    notice: Option<Markup>,
) -> PageResult<Response> {
    let admin = state.authz.administer(&user.principal)?;
    let providers = state.external.providers(&admin).await?;
    let claim = if draft.user_claim.is_empty() {
        "preferred_username"
    } else {
        &draft.user_claim
    };
    let provisioning = if draft.provisioning.is_empty() {
        "link"
    } else {
        &draft.provisioning
    };
    let content = html! {
        @if let Some(notice) = notice { div.secret role="status" { (notice) } }
        (error_summary(errors))
        @if providers.is_empty() {
            p id="no-providers" { "No identity provider is registered." }
        } @else {
            table id="providers" {
                thead { tr { th { "Name" } th { "Issuer" } th { "User claim" } th { "Provisioning" } th { "Sign-in client" } th { "State" } th { "Registered" } th { "" } } }
                tbody {
                    @for provider in &providers {
                        @let s = &provider.settings;
                        tr id=(format!("provider-{}", provider.id)) {
                            td.name { (s.name) }
                            td { code { (s.issuer) } }
                            td { (s.user_claim.name()) }
                            td { (s.provisioning.name()) }
                            td.login { @if let Some(login) = &s.login { code { (login.client_id) } } @else { "none" } }
                            td.state { @if s.enabled { "enabled" } @else { "disabled" } }
                            td { (when(provider.created)) }
                            td {
                                form method="post" action=(link(state, &format!("{PROVIDERS}/{}/{}", provider.id, if s.enabled { "disable" } else { "enable" }))) {
                                    (form_token(user))
                                    button type="submit" class="toggle" { @if s.enabled { "Disable" } @else { "Enable" } }
                                }
                                form method="post" action=(link(state, &format!("{PROVIDERS}/{}/delete", provider.id))) {
                                    (form_token(user))
                                    label.check { input type="checkbox" name="confirm" required; " sure" }
                                    " "
                                    button type="submit" class="delete" { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Register an identity provider" }
        form method="post" action=(link(state, PROVIDERS)) {
            fieldset {
                (form_token(user))
                label for="provider-name" { "Name" }
                input type="text" id="provider-name" name="name" value=(draft.name) required;
                label for="issuer" { "Issuer (exactly as its tokens' iss; https)" }
                input type="url" id="issuer" name="issuer" value=(draft.issuer) required;
                label for="audiences" { "Audiences (one per line; a token's aud must name one)" }
                textarea id="audiences" name="audiences" rows="2" { (draft.audiences) }
                label for="user-claim" { "User claim" }
                select id="user-claim" name="userClaim" {
                    @for option in ["preferred_username", "sub", "email"] {
                        option value=(option) selected[option == claim] { (option) }
                    }
                }
                label for="provisioning" { "Unknown users" }
                select id="provisioning" name="provisioning" {
                    option value="link" selected[provisioning == "link"] { "refused (link existing users only)" }
                    option value="create" selected[provisioning == "create"] { "created, without a password" }
                    option value="off" selected[provisioning == "off"] { "refused (no provisioning)" }
                }
                p.hint {
                    "To offer \"Sign in with\" on the login page, register tessera as a confidential client at the provider, with redirect URI "
                    code id="redirect-uri" { (state.urls.base()) "/login/sso/callback" }
                    ", and give its id and secret (the secret is stored sealed, and never shown again)."
                }
                label for="client-id" { "Sign-in client id (optional)" }
                input type="text" id="client-id" name="clientId" value=(draft.client_id) autocomplete="off";
                label for="client-secret" { "Sign-in client secret" }
                input type="password" id="client-secret" name="clientSecret" autocomplete="new-password";
                p { button type="submit" id="register-provider" { "Register" } }
            }
        }
    };
    Ok(page_response(
        status,
        document(state, "Identity providers", Some(user), content),
    ))
}

/// Global ADMINISTER: the providers and the registration form.
pub async fn get_providers(State(state): State<AppState>, incoming: Incoming) -> Response {
    let result = async {
        let user = session_user(&state, &incoming, None, PROVIDERS).await?;
        let draft = Draft::default();
        let said = confirm::said(&state, &user, incoming.query.as_deref());
        providers_page(
            &state,
            &user,
            StatusCode::OK,
            &draft,
            &FieldErrors::default(),
            said,
        )
        .await
    }
    .await;
    respond(&state, incoming.client, result)
}

/// Global ADMINISTER, with websudo and the form token: registers a provider.
pub async fn post_provider(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let AdminForm { form, user, admin } =
            admin_form(&state, &incoming, body, PROVIDERS).await?;
        let draft = Draft {
            name: form.text("name").to_string(),
            issuer: form.text("issuer").trim().to_string(),
            audiences: form.text("audiences").to_string(),
            user_claim: form.text("userClaim").to_string(),
            provisioning: form.text("provisioning").to_string(),
            client_id: form.text("clientId").trim().to_string(),
        };
        let login = Some(draft.client_id.clone())
            .filter(|id| !id.is_empty())
            .map(|client_id| {
                Some(ClientInput {
                    client_id,
                    client_secret: Some(SecretString::from(form.text("clientSecret").to_string())),
                })
            });
        let input = ProviderInput {
            name: Some(draft.name.clone()),
            issuer: Some(draft.issuer.clone()),
            audiences: Some(draft.audiences.lines().map(str::to_string).collect()),
            user_claim: Some(draft.user_claim.clone()).filter(|c| !c.is_empty()),
            provisioning: Some(draft.provisioning.clone()).filter(|p| !p.is_empty()),
            login,
            ..ProviderInput::default()
        };
        match state
            .external
            .register_provider(&admin, Some(&user.principal), input)
            .await
        {
            // Said by the page this redirects to: a reload there registers nothing.
            Ok(provider) => {
                let says = format!(
                    "Identity provider {} is registered.",
                    provider.settings.name
                );
                Ok(confirm::redirect_saying(&state, &user, PROVIDERS, &says))
            }
            Err(Error::Invalid(errors) | Error::Conflict(errors)) => {
                providers_page(
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

/// Global ADMINISTER, with websudo and the form token: enables, disables or deletes one.
pub async fn post_provider_action(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let AdminForm { form, user, admin } =
            admin_form(&state, &incoming, body, PROVIDERS).await?;
        let id = id
            .parse::<i64>()
            .map(ProviderId)
            .map_err(|_| PageError::NotFound("No such identity provider.".into()))?;
        let switch = |enabled| ProviderInput {
            enabled: Some(enabled),
            ..ProviderInput::default()
        };
        let principal = Some(&user.principal);
        let says = match action.as_str() {
            "enable" => "The identity provider is enabled.",
            "disable" => "The identity provider is disabled: its tokens and sign-ins are refused.",
            _ => "The identity provider is deleted: its tokens stop working.",
        };
        match action.as_str() {
            "enable" | "disable" => {
                let input = switch(action == "enable");
                state
                    .external
                    .update_provider(&admin, principal, id, input)
                    .await?;
            }
            "delete" if form.is_checked("confirm") => {
                state
                    .external
                    .delete_provider(&admin, principal, id)
                    .await?;
            }
            "delete" => {
                return Err(PageError::BadRequest(
                    "Tick \"sure\" to delete a provider: its tokens stop working at once.".into(),
                ));
            }
            _ => return Err(PageError::NotFound("No such action.".into())),
        }
        Ok(confirm::redirect_saying(&state, &user, PROVIDERS, says))
    }
    .await;
    respond(&state, incoming.client, result)
}
