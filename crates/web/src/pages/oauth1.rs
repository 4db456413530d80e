//! OAuth 1.0a pages. `GET/POST /plugins/servlet/oauth/authorize`: the user's leg of the dance,
//! at Jira's path. A logged-in user sees which application asks, and what it will be able to
//! do, and approves (read only, or read and write) or denies. `/secure/admin/oauth1`: the
//! administrators' application links (list with how many users approved each, register,
//! delete with every token), with websudo.
//!
//! Security invariants kept here: the user must hold a session (a login first, then back
//! here); the form carries the session's form token and passes the XSRF rule like every page
//! form, so another site cannot approve on the user's behalf; the request token is read again
//! from the store on submission, nothing in the form is trusted; the verifier goes only to the
//! callback the request token was issued with (checked against the consumer's origin when it
//! was issued), or is shown to the user for an `oob` consumer.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};
use tessera_auth::AuthError;
use tessera_auth::oauth1::consumers::ConsumerInput;
use tessera_auth::oauth1::dance::Access;
use tessera_auth::oauth1::verify::Problem;
use tessera_core::error::{Error, FieldErrors};
use tessera_core::principal::{AuthMethod, Principal};
use url::Url;

use super::confirm;
use super::layout::{
    document, error_summary, form_token, page_response, page_response_posting_to, when,
};
use super::{
    AdminForm, FormBody, Incoming, PageError, PageResult, SessionUser, admin_form, link, redirect,
    respond, session_user,
};
use crate::extract::Params;
use crate::rest::oauth1::AUTHORIZE_PATH;
use crate::state::AppState;
use crate::urls::encode;

fn token_error(problem: Problem) -> PageError {
    match problem {
        Problem::Internal => PageError::Internal("the OAuth 1.0a server failed".into()),
        Problem::TokenExpired => PageError::BadRequest(
            "This authorization request has expired: start again from the application.".into(),
        ),
        _ => PageError::BadRequest(
            "This authorization request is not valid (used, denied or unknown).".into(),
        ),
    }
}

/// Whether the access policy lets the user use application links: none may be approved
/// otherwise (the refusal is recorded with its reason, `method_disabled` or another).
async fn may_approve(state: &AppState, principal: &Principal) -> PageResult<()> {
    match state
        .auth
        .check_method_for(principal, AuthMethod::OAuth1)
        .await
    {
        Ok(()) => Ok(()),
        Err(AuthError::Denied(denial)) => Err(PageError::Forbidden(format!(
            "The access policy does not let you connect applications by OAuth 1.0a: {denial}"
        ))),
        Err(error) => Err(PageError::Internal(error.to_string())),
    }
}

/// Anyone with a session: the approval page for the request token in `oauth_token`.
pub async fn get_authorize(State(state): State<AppState>, incoming: Incoming) -> Response {
    let result = async {
        let query = Params::parse(incoming.query.as_deref());
        let raw = query.get("oauth_token").unwrap_or("").to_string();
        let pending = state.oauth1.pending(&raw).await.map_err(token_error)?;
        let back_to = incoming.path_and_query.clone();
        let user = session_user(&state, &incoming, None, &back_to).await?;
        may_approve(&state, &user.principal).await?;
        let consumer = &pending.consumer;
        let content = html! {
            p id="oauth1-app" {
                strong id="consumer-name" { (consumer.name) } " asks to use tessera as "
                strong { (user.principal.user.display_name) } " (" (user.principal.user.cased_name) ")."
            }
            form method="post" action=(link(&state, AUTHORIZE_PATH)) {
                (form_token(&user))
                input type="hidden" name="oauth_token" value=(raw);
                fieldset {
                    legend { "It will be able to" }
                    label { input type="radio" name="access" value="write" checked; " read and change what you can (READ and WRITE)" }
                    br;
                    label { input type="radio" name="access" value="read"; " only read what you can (READ)" }
                }
                p.muted { "It can never do more than you can. You can revoke its access at any time." }
                p {
                    button type="submit" name="decision" value="approve" id="approve" { "Allow" }
                    " "
                    button type="submit" name="decision" value="deny" id="deny" { "Deny" }
                }
            }
        };
        let origin = pending
            .callback
            .as_deref()
            .and_then(|c| Url::parse(c).ok())
            .map(|u| u.origin().ascii_serialization())
            .unwrap_or_default();
        Ok(page_response_posting_to(
            StatusCode::OK,
            document(&state, "Authorize an application", Some(&user), content),
            &origin,
        ))
    }
    .await;
    respond(&state, incoming.client, result)
}

/// The approval form's answer, with the session's form token.
pub async fn post_authorize(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result: PageResult<Response> = async {
        let form = FormBody::parse(&incoming.headers, body)?;
        let user = session_user(&state, &incoming, Some(&form), AUTHORIZE_PATH).await?;
        let raw = form.get("oauth_token").unwrap_or("");
        match form.get("decision") {
            Some("approve") => {
                may_approve(&state, &user.principal).await?;
                let access = match form.get("access") {
                    Some("read") => Access::ReadOnly,
                    Some("write") | None => Access::ReadWrite,
                    Some(_) => return Err(PageError::BadRequest("Choose read or write.".into())),
                };
                let approved = state
                    .oauth1
                    .approve(&user.principal, raw, access)
                    .await
                    .map_err(token_error)?;
                match approved.callback {
                    Some(callback) => {
                        let mut url = Url::parse(&callback).map_err(|_| {
                            PageError::BadRequest("The callback is not a URL.".into())
                        })?;
                        url.query_pairs_mut()
                            .append_pair("oauth_token", raw)
                            .append_pair("oauth_verifier", &approved.verifier);
                        Ok(redirect(url.as_str()))
                    }
                    None => {
                        let content = html! {
                            p { "Access is allowed. Give the application this verification code:" }
                            p { code id="oauth-verifier" { (approved.verifier) } }
                        };
                        Ok(page_response(
                            StatusCode::OK,
                            document(&state, "Access allowed", Some(&user), content),
                        ))
                    }
                }
            }
            Some("deny") => {
                let consumer = state
                    .oauth1
                    .deny(&user.principal, raw)
                    .await
                    .map_err(token_error)?;
                let content = html! {
                    p id="oauth1-denied" { (consumer.name) " was not given access." }
                };
                Ok(page_response(
                    StatusCode::OK,
                    document(&state, "Access denied", Some(&user), content),
                ))
            }
            _ => Err(PageError::BadRequest("Choose Allow or Deny.".into())),
        }
    }
    .await;
    respond(&state, incoming.client, result)
}

const CONSUMERS: &str = "/secure/admin/oauth1";

/// What the registration form holds, to show it again after a mistake.
#[derive(Debug, Default)]
struct Draft {
    consumer_key: String,
    name: String,
    public_key: String,
    callback: String,
}

async fn consumers_page(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    draft: &Draft,
    errors: &FieldErrors,
    notice: Option<Markup>,
) -> PageResult<Response> {
    let admin = state.authz.administer(&user.principal)?;
    let consumers = state.oauth1.consumers(&admin).await?;
    let mut held = Vec::with_capacity(consumers.len());
    for consumer in &consumers {
        let tokens = state
            .oauth1
            .tokens_of_consumer(&admin, &consumer.consumer_key)
            .await?;
        held.push(tokens.len());
    }
    let content = html! {
        @if let Some(notice) = notice { div.secret role="status" { (notice) } }
        (error_summary(errors))
        @if consumers.is_empty() {
            p id="no-consumers" { "No application link is registered." }
        } @else {
            table id="consumers" {
                thead { tr { th { "Name" } th { "Consumer key" } th { "Callback" } th { "Users" } th { "Registered" } th { "" } } }
                tbody {
                    @for (consumer, users) in consumers.iter().zip(&held) {
                        tr id=(format!("consumer-{}", consumer.consumer_key)) {
                            td.name { (consumer.name) }
                            td { code { (consumer.consumer_key) } }
                            td { (consumer.callback) }
                            td.users { (users) }
                            td { (when(consumer.created)) }
                            td {
                                form method="post" action=(link(state, &format!("{CONSUMERS}/{}/delete", encode(&consumer.consumer_key)))) {
                                    (form_token(user))
                                    label.check title="Deleting ends the access of every user who approved it" {
                                        input type="checkbox" name="confirm" required; " sure"
                                    }
                                    " "
                                    button type="submit" class="delete" { "Delete" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Register an application link" }
        form method="post" action=(link(state, CONSUMERS)) {
            fieldset {
                (form_token(user))
                label for="consumer-key" { "Consumer key (what the application sends as oauth_consumer_key)" }
                input type="text" id="consumer-key" name="consumerKey" value=(draft.consumer_key) required;
                label for="consumer-name" { "Name shown to users" }
                input type="text" id="consumer-name" name="name" value=(draft.name) required;
                label for="public-key" { "Public key (PEM, RSA of 2048 bits or more)" }
                textarea id="public-key" name="publicKey" rows="8" spellcheck="false" { (draft.public_key) }
                label for="callback" { "Callback URL (empty, or oob, when the application shows the code to its user)" }
                input type="text" id="callback" name="callback" value=(draft.callback);
                p { button type="submit" id="register-consumer" { "Register" } }
            }
        }
    };
    Ok(page_response(
        status,
        document(state, "Application links (OAuth 1.0a)", Some(user), content),
    ))
}

/// Global ADMINISTER: the application links and the registration form.
pub async fn get_consumers(State(state): State<AppState>, incoming: Incoming) -> Response {
    let result = async {
        let user = session_user(&state, &incoming, None, CONSUMERS).await?;
        let draft = Draft::default();
        let errors = FieldErrors::default();
        let said = confirm::said(&state, &user, incoming.query.as_deref());
        consumers_page(&state, &user, StatusCode::OK, &draft, &errors, said).await
    }
    .await;
    respond(&state, incoming.client, result)
}

/// Global ADMINISTER, with websudo and the form token: registers an application link.
pub async fn post_consumer(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let AdminForm { form, user, admin } =
            admin_form(&state, &incoming, body, CONSUMERS).await?;
        let draft = Draft {
            consumer_key: form.text("consumerKey").trim().to_string(),
            name: form.text("name").to_string(),
            public_key: form.text("publicKey").to_string(),
            callback: form.text("callback").trim().to_string(),
        };
        let input = ConsumerInput {
            consumer_key: draft.consumer_key.clone(),
            name: draft.name.clone(),
            public_key: draft.public_key.clone(),
            callback: (!draft.callback.is_empty()).then(|| draft.callback.clone()),
            execute_as: None,
        };
        let registered = state
            .oauth1
            .register_consumer(&admin, Some(&user.principal), input)
            .await;
        match registered {
            // Said by the page this redirects to: a reload there registers nothing.
            Ok(consumer) => {
                let says = format!("Application link {} is registered.", consumer.name);
                Ok(confirm::redirect_saying(&state, &user, CONSUMERS, &says))
            }
            Err(Error::Invalid(errors) | Error::Conflict(errors)) => {
                consumers_page(
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

/// Global ADMINISTER, with websudo and the form token: deletes an application link and
/// every token it holds.
pub async fn post_delete_consumer(
    State(state): State<AppState>,
    Path(consumer_key): Path<String>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let AdminForm { form, user, admin } =
            admin_form(&state, &incoming, body, CONSUMERS).await?;
        if !form.is_checked("confirm") {
            return Err(PageError::BadRequest(
                "Tick \"sure\" to delete an application link: every user's access through it ends."
                    .into(),
            ));
        }
        state
            .oauth1
            .delete_consumer(&admin, Some(&user.principal), &consumer_key)
            .await?;
        let says = format!(
            "Application link {consumer_key} is deleted: every access through it has ended."
        );
        Ok(confirm::redirect_saying(&state, &user, CONSUMERS, &says))
    }
    .await;
    respond(&state, incoming.client, result)
}
