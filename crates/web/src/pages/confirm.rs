//! Destructive actions are confirmed before they happen: a form's first POST (without
//! [`CONFIRM_FIELD`]) answers with a page that names what will change and posts the same
//! action again, confirmed; only that second POST acts. Both carry the session's form token,
//! so a page cannot be made to confirm for anyone. After the action, the page redirected to
//! says what changed ([`result`]).

use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};

use super::layout::{document, form_token, page_response};
use super::{FormBody, SessionUser, link};
use crate::state::AppState;

/// The field a confirmed form carries (`yes`).
pub const CONFIRM_FIELD: &str = "confirmed";

/// Whether the form was sent from the confirmation page.
pub fn is_confirmed(form: &FormBody) -> bool {
    form.text(CONFIRM_FIELD) == "yes"
}

/// What to ask, and where the answer goes.
#[derive(Debug)]
pub struct Question<'a> {
    pub title: &'a str,
    /// What will happen, in a sentence or two.
    pub says: Markup,
    /// The action's app-relative path (the form posted to it again, confirmed).
    pub action: &'a str,
    /// The confirming button's words.
    pub button: &'a str,
    /// The app-relative page "Cancel" goes back to.
    pub back: &'a str,
    /// Fields of the first form to send again with the confirmed one.
    pub keep: &'a [(&'a str, &'a str)],
}

/// The confirmation page.
pub fn ask(state: &AppState, user: &SessionUser, question: Question<'_>) -> Response {
    let content = html! {
        div.confirm id="confirm" {
            p { (question.says) }
            form method="post" action=(link(state, question.action)) {
                (form_token(user))
                input type="hidden" name=(CONFIRM_FIELD) value="yes";
                @for (name, value) in question.keep {
                    input type="hidden" name=(name) value=(value);
                }
                button type="submit" class="danger" id="confirm-action" { (question.button) }
                " "
                a.cancel href=(link(state, question.back)) id="cancel" { "Cancel" }
            }
        }
    };
    page_response(
        StatusCode::OK,
        document(state, question.title, Some(user), content),
    )
}

/// The message that says what an action changed.
pub fn result(says: Markup) -> Markup {
    html! { p.result id="result" role="status" { (says) } }
}

/// What a result message is sealed as, and for how long its redirect may be followed.
const SAID: &str = "said";
const SAID_LIFETIME: std::time::Duration = std::time::Duration::from_secs(60);

/// A `303` to the app-relative page `to` that says `says` there, for this session only: the
/// message travels sealed in the address ([`super::once::seal`]), so no link can make a page
/// say what did not happen.
pub fn redirect_saying(state: &AppState, user: &SessionUser, to: &str, says: &str) -> Response {
    let sealed = super::once::seal(state, &user.session, SAID, SAID_LIFETIME, says);
    let separator = if to.contains('?') { '&' } else { '?' };
    super::redirect(&link(
        state,
        &format!("{to}{separator}said={}", crate::urls::encode(&sealed)),
    ))
}

/// The message a [`redirect_saying`] left for this page, if any.
pub fn said(state: &AppState, user: &SessionUser, query: Option<&str>) -> Option<Markup> {
    let params = crate::extract::Params::parse(query);
    let says: String = super::once::open(state, &user.session, SAID, params.get("said")?)?;
    Some(result(html! { (says) }))
}
