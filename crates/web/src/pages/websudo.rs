//! `/secure/admin/websudo`: the administrator confirms the password before administrative
//! changes (Jira's secure administrator sessions). A success opens the session's websudo
//! window and goes back to `next` (a local path only); a wrong password counts as a failed
//! login, throttled like one.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use http::StatusCode;
use maud::html;
use secrecy::SecretString;
use tessera_auth::AuthError;

use super::layout::{document, form_token, page_response};
use super::{
    FormBody, Incoming, PageError, PageResult, SessionUser, is_local_path, link, redirect, respond,
    session_user,
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

fn form(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    next: &str,
    error: Option<&str>,
) -> Response {
    let content = html! {
        p { "Administrative changes need your password again. It lets you make them for the next few minutes." }
        @if let Some(error) = error {
            div.errors role="alert" { p id="websudo-error" { (error) } }
        }
        form method="post" action=(link(state, PAGE)) {
            fieldset {
                (form_token(user))
                input type="hidden" name="next" value=(next);
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
        Ok(form(&state, &user, StatusCode::OK, next, None))
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
    let password = SecretString::from(posted.get("password").unwrap_or("").to_string());
    match state
        .auth
        .grant_websudo(&user.principal, &user.session, &password)
        .await
    {
        Ok(_) => Ok(redirect(&link(state, next))),
        Err(AuthError::BadCredentials) => Ok(form(
            state,
            &user,
            StatusCode::FORBIDDEN,
            next,
            Some("The password is not correct."),
        )),
        Err(AuthError::LoginThrottled { .. }) => Ok(form(
            state,
            &user,
            StatusCode::FORBIDDEN,
            next,
            Some("Too many failed logins: password checks are suspended for a while."),
        )),
        Err(other) => Err(PageError::Internal(other.to_string())),
    }
}
