//! `/secure/admin/websudo`: the administrator confirms the password before administrative
//! changes (Jira's secure administrator sessions). A success opens the session's websudo
//! window and goes back to `next` (a local path only); a wrong password counts as a failed
//! login, throttled like one.
//!
//! A form posted without the window open ([`asked_for`]) is not lost: the password form is
//! the answer to that POST, and carries it sealed for the session ([`Pending`]); once the
//! password is confirmed, the form is sent on to where it was going (by the pages' script,
//! or with a Continue button), with a fresh form token, so the change is made as it was
//! asked for, confirmed first where it needs a confirmation.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use http::StatusCode;
use maud::html;
use secrecy::SecretString;
use tessera_auth::AuthError;

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::layout::{document, form_token, page_response};
use super::{
    FORM_TOKEN_FIELD, FormBody, Incoming, PageError, PageResult, SessionUser, is_local_path, link,
    once, redirect, respond, session_user,
};
use crate::extract::Params;
use crate::state::AppState;

const PAGE: &str = "/secure/admin/websudo";
const DEFAULT_NEXT: &str = "/secure/admin/policy";

fn safe_next(next: Option<&str>) -> &str {
    next.map(str::trim)
        .filter(|n| is_local_path(n))
        .unwrap_or(DEFAULT_NEXT)
}

/// A form posted while the websudo window was closed: where it went and what it held (but
/// its form token). Its `Debug` output names the fields, never their values (a form may hold
/// a secret the administrator typed).
#[derive(Serialize, Deserialize)]
pub struct Pending {
    action: String,
    fields: Vec<(String, String)>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.fields.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Pending")
            .field("action", &self.action)
            .field("fields", &names)
            .finish()
    }
}

/// What a pending form is sealed as, and for how long it waits for the password.
const PENDING_KIND: &str = "websudo-pending";
const PENDING_LIFETIME: Duration = Duration::from_secs(10 * 60);
const PENDING_FIELD: &str = "pending";

/// The password form, as the answer to `posted` (sent to this request's address), which it
/// carries sealed to be sent on once the password is confirmed.
pub fn asked_for(
    state: &AppState,
    user: &SessionUser,
    incoming: &Incoming,
    posted: &FormBody,
    next: &str,
) -> Response {
    let pending = Pending {
        action: incoming.path_and_query.clone(),
        fields: (posted.pairs().iter())
            .filter(|(name, _)| name != FORM_TOKEN_FIELD)
            .cloned()
            .collect(),
    };
    let sealed = once::seal(
        state,
        &user.session,
        PENDING_KIND,
        PENDING_LIFETIME,
        pending,
    );
    form(state, user, StatusCode::OK, next, None, Some(&sealed))
}

/// The page that sends a pending form on: at once where the pages' script runs, else with
/// its Continue button.
fn send_on(state: &AppState, user: &SessionUser, pending: &Pending) -> Response {
    let content = html! {
        p { "Password confirmed. Sending on what you asked for..." }
        form method="post" action=(link(state, &pending.action)) id="pending-form" data-autosubmit {
            (form_token(user))
            @for (name, value) in &pending.fields {
                input type="hidden" name=(name) value=(value);
            }
            button type="submit" class="primary" id="continue" { "Continue" }
        }
    };
    page_response(
        StatusCode::OK,
        document(state, "Password confirmed", Some(user), content),
    )
}

fn form(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    next: &str,
    error: Option<&str>,
    pending: Option<&str>,
) -> Response {
    let content = html! {
        p { "Administrative changes need your password again. It lets you make them for the next few minutes." }
        @if pending.is_some() {
            p { "What you sent is kept, and goes on once the password is confirmed." }
        }
        @if let Some(error) = error {
            div.errors role="alert" { p id="websudo-error" { (error) } }
        }
        form method="post" action=(link(state, PAGE)) {
            fieldset {
                (form_token(user))
                input type="hidden" name="next" value=(next);
                @if let Some(pending) = pending {
                    input type="hidden" name=(PENDING_FIELD) value=(pending);
                }
                label for="password" { "Password" }
                input type="password" id="password" name="password"
                    autocomplete="current-password" autofocus required;
                p { button type="submit" id="confirm" { "Confirm" } }
            }
        }
    };
    page_response(
        status,
        document(state, "Confirm your password", Some(user), content),
    )
}

/// A logged-in user: the password form.
pub async fn get_websudo(State(state): State<AppState>, incoming: Incoming) -> Response {
    let result = async {
        let user = session_user(&state, &incoming, None, PAGE).await?;
        let params = Params::parse(incoming.query.as_deref());
        let next = safe_next(params.get("next"));
        Ok(form(&state, &user, StatusCode::OK, next, None, None))
    }
    .await;
    respond(&state, incoming.client, result)
}

/// A logged-in user, with the form token: checks the password and opens the window.
pub async fn post_websudo(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = confirm(&state, &incoming, body).await;
    respond(&state, incoming.client, result)
}

async fn confirm(
    state: &AppState,
    incoming: &Incoming,
    body: Result<Bytes, BytesRejection>,
) -> PageResult<Response> {
    let posted = FormBody::parse(&incoming.headers, body)?;
    let user = session_user(state, incoming, Some(&posted), PAGE).await?;
    let next = safe_next(posted.get("next"));
    let sealed = posted.get(PENDING_FIELD);
    let password = SecretString::from(posted.get("password").unwrap_or("").to_string());
    match state
        .auth
        .grant_websudo(&user.principal, &user.session, &password)
        .await
    {
        Ok(_) => {
            let pending = sealed
                .and_then(|s| once::open::<Pending>(state, &user.session, PENDING_KIND, s))
                .filter(|p| is_local_path(&p.action));
            Ok(match pending {
                Some(pending) => send_on(state, &user, &pending),
                None => redirect(&link(state, next)),
            })
        }
        Err(AuthError::BadCredentials) => Ok(form(
            state,
            &user,
            StatusCode::FORBIDDEN,
            next,
            Some("The password is not correct."),
            sealed,
        )),
        Err(AuthError::LoginThrottled { .. }) => Ok(form(
            state,
            &user,
            StatusCode::FORBIDDEN,
            next,
            Some("Too many failed logins: password checks are suspended for a while."),
            sealed,
        )),
        Err(other) => Err(PageError::Internal(other.to_string())),
    }
}
