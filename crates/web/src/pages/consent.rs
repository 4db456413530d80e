//! `GET/POST /rest/oauth2/latest/authorize`: the authorization endpoint (RFC 6749 §3.1) and its
//! consent page.
//!
//! Security invariants kept here:
//! - A request whose client or redirect URI cannot be trusted is answered with an error page
//!   and never redirected (RFC 6749 §4.1.2.1); every other answer goes to the registered
//!   redirect URI with `state` and `iss` (RFC 9207 §2).
//! - The user must be logged in with a session (a login first, then back here); the consent
//!   form carries the session's form token and passes the XSRF rule like every page form, so
//!   another site cannot approve on the user's behalf (RFC 6749 §10.12).
//! - The consent form's hidden fields are checked again on submission, exactly as the first
//!   request was: nothing in them is trusted.
//! - Consent is skipped only when the user's live grant already covers every scope asked for.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use http::StatusCode;
use maud::html;
use tessera_auth::oauth2::{AuthorizationParams, AuthorizationRequest, AuthorizeError};
use tessera_core::authz::Authorizer;
use tessera_core::oauth2::{describe_scope, scope_string};
use url::Url;

use super::layout::{document, form_token, page_response_posting_to};
use super::{
    FormBody, Incoming, PageError, PageResult, SessionUser, link, redirect, respond, session_user,
};
use crate::extract::Params;
use crate::rest::oauth2::AUTHORIZE_PATH;
use crate::state::AppState;

/// The request's parameters, each of which may be sent once (RFC 6749 §3.1).
const PARAMETERS: [&str; 7] = [
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
];

/// A repeated parameter: the client or redirect URI cannot be trusted then (an error page);
/// anything else goes back to the client as `invalid_request`.
fn repeated(
    count: impl Fn(&str) -> usize,
    request: Result<&AuthorizationRequest, &AuthorizeError>,
) -> Option<AuthorizeError> {
    let name = PARAMETERS.iter().find(|name| count(name) > 1)?;
    let description = format!("The parameter '{name}' was sent more than once.");
    match (request, *name) {
        (_, "client_id" | "redirect_uri") | (Err(_), _) => {
            Some(AuthorizeError::NoRedirect(description))
        }
        (Ok(request), name) => Some(AuthorizeError::Redirect {
            redirect_uri: request.redirect_uri.clone(),
            error: "invalid_request",
            description,
            // RFC 6749 §4.1.2.1: the client's `state` goes back, unless it is what was repeated.
            state: (name != "state").then(|| request.state.clone()).flatten(),
        }),
    }
}

fn params_of(get: impl Fn(&str) -> Option<String>) -> AuthorizationParams {
    AuthorizationParams {
        response_type: get("response_type"),
        client_id: get("client_id"),
        redirect_uri: get("redirect_uri"),
        scope: get("scope"),
        state: get("state"),
        code_challenge: get("code_challenge"),
        code_challenge_method: get("code_challenge_method"),
    }
}

/// The redirect URI with the answer's parameters added (its own query kept).
fn answer(
    state: &AppState,
    redirect_uri: &str,
    pairs: &[(&str, &str)],
    client_state: Option<&str>,
) -> PageResult<Response> {
    let mut url = Url::parse(redirect_uri).map_err(|_| {
        PageError::Internal(format!(
            "a registered redirect URI does not parse: {redirect_uri}"
        ))
    })?;
    {
        let mut query = url.query_pairs_mut();
        for (name, value) in pairs {
            query.append_pair(name, value);
        }
        if let Some(client_state) = client_state {
            query.append_pair("state", client_state);
        }
        // RFC 9207: who answered, so the client can tell authorization servers apart.
        query.append_pair("iss", state.urls.base());
    }
    Ok(redirect(url.as_str()))
}

fn refuse(state: &AppState, error: AuthorizeError) -> PageResult<Response> {
    match error {
        AuthorizeError::NoRedirect(message) => Err(PageError::BadRequest(message)),
        AuthorizeError::Redirect {
            redirect_uri,
            error,
            description,
            state: client_state,
        } => answer(
            state,
            &redirect_uri,
            &[("error", error), ("error_description", &description)],
            client_state.as_deref(),
        ),
    }
}

/// Where the browser comes back to after websudo: the authorization request itself.
fn authorize_again(request: &AuthorizationRequest) -> String {
    let mut query = url::form_urlencoded::Serializer::new(String::new());
    query.append_pair("response_type", "code");
    query.append_pair("client_id", &request.client.client_id);
    if request.redirect_uri_given {
        query.append_pair("redirect_uri", &request.redirect_uri);
    }
    query.append_pair("scope", &scope_string(request.scopes));
    if let Some(client_state) = &request.state {
        query.append_pair("state", client_state);
    }
    if let Some(challenge) = &request.code_challenge {
        query.append_pair("code_challenge", challenge);
        query.append_pair("code_challenge_method", "S256");
    }
    format!("{AUTHORIZE_PATH}?{}", query.finish())
}

async fn send_code(
    state: &AppState,
    request: &AuthorizationRequest,
    user: &SessionUser,
) -> PageResult<Response> {
    // An application that could administer tessera as an administrator is an administrative
    // change: the password again first, as for a token (websudo cannot be got around).
    let now = state.clock.now();
    if Authorizer::require_fresh_password_for(&user.principal, request.scopes, now).is_err() {
        return Err(PageError::WebsudoRequired {
            next: authorize_again(request),
        });
    }
    let code = state
        .oauth2
        .approve(request, &user.principal)
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    answer(
        state,
        &request.redirect_uri,
        &[("code", code.expose())],
        request.state.as_deref(),
    )
}

fn origin_of(uri: &str) -> String {
    Url::parse(uri)
        .map(|u| u.origin().ascii_serialization())
        .unwrap_or_default()
}

/// Whether `uri` sends the browser back to this computer (a loopback address or `localhost`).
fn is_loopback(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|u| match u.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(name)) => {
            name.eq_ignore_ascii_case("localhost")
                || name.to_ascii_lowercase().ends_with(".localhost")
        }
        None => false,
    })
}

fn consent_page(state: &AppState, user: &SessionUser, request: &AuthorizationRequest) -> Response {
    let client = &request.client;
    let hidden = [
        ("response_type", Some("code".to_string())),
        ("client_id", Some(client.client_id.clone())),
        (
            "redirect_uri",
            request
                .redirect_uri_given
                .then(|| request.redirect_uri.clone()),
        ),
        ("scope", Some(scope_string(request.scopes))),
        ("state", request.state.clone()),
        ("code_challenge", request.code_challenge.clone()),
        (
            "code_challenge_method",
            request.code_challenge.as_ref().map(|_| "S256".to_string()),
        ),
    ];
    let content = html! {
        p id="consent-app" {
            strong id="client-name" { (client.name) } " asks to use tessera as "
            strong { (user.principal.user.display_name) } " (" (user.principal.user.cased_name) "). It will be able to:"
        }
        ul id="consent-scopes" {
            @for scope in request.scopes.iter() {
                li data-scope=(scope.name()) { (describe_scope(scope)) }
            }
        }
        p.muted {
            "It can never do more than you can. It will be sent back to "
            code id="redirect-target" { (origin_of(&request.redirect_uri)) }
            ". You can revoke its access at any time under Authorized applications."
        }
        @if !client.confidential || is_loopback(&request.redirect_uri) {
            div.warning role="note" id="consent-warning" {
                @if !client.confidential {
                    p { strong { "This application has no secret" } " (a public client): tessera cannot \
                        confirm who runs it, only where it sends you back. Allow it only if you \
                        started this yourself, from an application you trust." }
                }
                @if is_loopback(&request.redirect_uri) {
                    p { strong { "It sends you back to a program on your own computer" } " (" code { (origin_of(&request.redirect_uri)) } "): \
                        any program running there could receive this access." }
                }
            }
        }
        form method="post" action=(link(state, AUTHORIZE_PATH)) {
            (form_token(user))
            @for (name, value) in &hidden {
                @if let Some(value) = value {
                    input type="hidden" name=(name) value=(value);
                }
            }
            p {
                button type="submit" name="decision" value="approve" id="approve" class="primary" { "Allow" }
                " "
                button type="submit" name="decision" value="deny" id="deny" class="secondary" { "Deny" }
            }
        }
    };
    page_response_posting_to(
        StatusCode::OK,
        document(state, "Authorize an application", Some(user), content),
        &origin_of(&request.redirect_uri),
    )
}

/// The authorization endpoint: checks the request, asks a logged-in user for consent (or
/// remembers it), and sends the code.
pub async fn get_authorize(State(state): State<AppState>, incoming: Incoming) -> Response {
    let result = async {
        let query = Params::parse(incoming.query.as_deref());
        if query.has_nul() {
            // No store takes a NUL; nothing with one can be a registered value either.
            return Err(PageError::BadRequest(
                "The request contains a NUL character.".into(),
            ));
        }
        let params = params_of(|name| query.get(name).map(str::to_string));
        let checked = state.oauth2.check_authorization(&params).await;
        if let Some(error) = repeated(|name| query.count(name), checked.as_ref()) {
            return refuse(&state, error);
        }
        let request = match checked {
            Ok(request) => request,
            Err(error) => return refuse(&state, error),
        };
        // Back here after a login: the whole request, as a local path.
        let back_to = incoming.path_and_query.clone();
        let user = session_user(&state, &incoming, None, &back_to).await?;
        let consented = state
            .oauth2
            .has_consented(&request, &user.principal)
            .await
            .map_err(|e| PageError::Internal(e.to_string()))?;
        if consented {
            return send_code(&state, &request, &user).await;
        }
        Ok(consent_page(&state, &user, &request))
    }
    .await;
    respond(&state, incoming.client, result)
}

/// The consent form's answer, with the session's form token.
pub async fn post_authorize(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let form = FormBody::parse(&incoming.headers, body)?;
        let user = session_user(&state, &incoming, Some(&form), AUTHORIZE_PATH).await?;
        let params = params_of(|name| form.get(name).map(str::to_string));
        let checked = state.oauth2.check_authorization(&params).await;
        if let Some(error) = repeated(|name| form.all(name).len(), checked.as_ref()) {
            return refuse(&state, error);
        }
        let request = match checked {
            Ok(request) => request,
            Err(error) => return refuse(&state, error),
        };
        match form.get("decision") {
            Some("approve") => send_code(&state, &request, &user).await,
            Some("deny") => {
                state.oauth2.deny(&request, &user.principal);
                answer(
                    &state,
                    &request.redirect_uri,
                    &[
                        ("error", "access_denied"),
                        ("error_description", "The user denied the request."),
                    ],
                    request.state.as_deref(),
                )
            }
            _ => Err(PageError::BadRequest("Choose Allow or Deny.".into())),
        }
    }
    .await;
    respond(&state, incoming.client, result)
}
