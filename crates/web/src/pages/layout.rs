//! The pages' common frame: document skeleton, navigation, error pages, and the response
//! headers every page carries.
//!
//! Everything is rendered with `maud`, which escapes every interpolated value; the only
//! `PreEscaped` markup in the pages is [`STYLE`] and [`SCRIPT`], constants. The headers forbid
//! any other script (the one is allowed by its hash), framing, caching and form submission
//! to any other origin.

use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE, REFERRER_POLICY};
use http::{HeaderValue, StatusCode};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use tessera_core::clock::Timestamp;
use tessera_core::error::FieldErrors;
use time::OffsetDateTime;
use time::macros::format_description;

use super::{FORM_TOKEN_FIELD, SessionUser, link};
use crate::render::time;
use crate::state::AppState;

/// The one script: copy buttons (shown only where it runs) copy their field, a secret shown
/// once is selected, and a form kept across the password confirmation is sent on. Allowed by
/// its hash alone ([`content_security_policy`]).
const SCRIPT: &str = "for (const b of document.querySelectorAll('button[data-copy]')) { \
b.hidden = false; b.addEventListener('click', () => { \
const f = document.getElementById(b.dataset.copy); f.select(); \
const done = () => { b.textContent = 'Copied'; }; \
if (navigator.clipboard) { navigator.clipboard.writeText(f.value).then(done, () => { document.execCommand('copy'); done(); }); } \
else { document.execCommand('copy'); done(); } }); } \
const s = document.querySelector('.secret input'); if (s) { s.focus(); s.select(); } \
const a = document.querySelector('form[data-autosubmit]'); if (a) { a.submit(); }";

/// No script but [`SCRIPT`]; styles only inline or from tessera; forms only to `form_action`;
/// never framed.
fn content_security_policy(form_action: &str) -> String {
    use base64::Engine;
    static SCRIPT_HASH: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        let digest = tessera_auth::secret::sha256(SCRIPT.as_bytes());
        base64::engine::general_purpose::STANDARD.encode(digest)
    });
    format!(
        "default-src 'none'; script-src 'sha256-{}'; style-src 'self' 'unsafe-inline'; \
         form-action {form_action}; frame-ancestors 'none'; base-uri 'none'",
        *SCRIPT_HASH
    )
}

/// A secret shown once: in a legible read-only field, with a copy button where scripts run.
pub fn secret_field(id: &str, label: &str, secret: &str) -> Markup {
    html! {
        label for=(id) { (label) }
        div.copy-row {
            input type="text" id=(id) readonly value=(secret) autocomplete="off"
                spellcheck="false";
            button type="button" data-copy=(id) hidden { "Copy" }
        }
    }
}

/// The stylesheet: static, so it is the one piece of markup not escaped.
const STYLE: &str = "
body { font-family: system-ui, sans-serif; margin: 0; color: #172b4d; background: #f4f5f7; }
header { background: #0747a6; color: #fff; padding: .6em 1.5em; display: flex; flex-wrap: wrap; gap: .5em 1.5em; align-items: center; }
header nav.main { display: flex; flex-wrap: wrap; gap: .3em 1.1em; }
header a { color: #fff; }
header .who { margin-left: auto; }
header form { display: inline; }
main { padding: 1em 1.5em; max-width: 75em; }
table { border-collapse: collapse; background: #fff; width: 100%; margin: 1em 0; }
th, td { border: 1px solid #dfe1e6; padding: .35em .6em; text-align: left; vertical-align: top; font-size: .95em; }
th { background: #ebecf0; }
fieldset { background: #fff; border: 1px solid #dfe1e6; margin: 1em 0; }
label { display: block; margin: .5em 0 .2em; font-weight: 600; }
label.check { display: inline; font-weight: normal; margin-right: 1em; }
label.check.scope { display: block; margin: .2em 0; }
label.inline { display: inline; font-weight: normal; }
fieldset.choices { border: 0; padding: .3em 0; margin: .5em 0; }
fieldset.choices legend { font-weight: 600; padding: 0; }
input[type=text], input[type=password], input[type=number], input[type=date] { padding: .3em; min-width: 20em; }
textarea { min-width: 30em; min-height: 4em; font-family: monospace; }
nav.paging a { margin-right: 1em; }
nav.links { margin: 1em 0; }
time { white-space: nowrap; }
@media (max-width: 640px) {
  header, main { padding: .5em .8em; }
  input[type=text], input[type=password], input[type=number], input[type=date], textarea { min-width: 0; width: 100%; box-sizing: border-box; }
  table { display: block; overflow-x: auto; }
}
table.compact td { font-size: .85em; padding: .25em .45em; overflow-wrap: anywhere; }
fieldset.filters { display: flex; flex-wrap: wrap; gap: .2em 1em; align-items: flex-end; }
fieldset.filters input[type=text] { min-width: 12em; }
.error { color: #bf2600; }
.errors { background: #ffebe6; border: 1px solid #bf2600; padding: .5em 1em; }
.secret { background: #e3fcef; border: 1px solid #006644; padding: .5em 1em; }
.secret input { width: 100%; box-sizing: border-box; font-family: ui-monospace, monospace; font-size: 1.05em; line-height: 1.6; padding: .4em; }
.secret .copy-row { display: flex; gap: .5em; align-items: center; }
code.usage { background: #fff; padding: .1em .3em; word-break: break-all; }
.muted { color: #505f79; }
button { cursor: pointer; }
button.danger { background: #bf2600; color: #fff; border: 1px solid #bf2600; border-radius: 3px; padding: .35em .9em; }
button.primary { background: #0747a6; color: #fff; border: 1px solid #0747a6; border-radius: 3px; padding: .35em .9em; }
button.secondary { background: #fff; color: #172b4d; border: 1px solid #6b778c; border-radius: 3px; padding: .35em .9em; }
.warning { background: #fffae6; border: 1px solid #974f0c; padding: .2em 1em; margin: 1em 0; }
.result { background: #e3fcef; border: 1px solid #006644; padding: .5em 1em; }
.confirm { background: #fff; border: 1px solid #dfe1e6; padding: .5em 1em; }
";

/// A page response: HTML with the pages' security headers.
pub fn page_response(status: StatusCode, markup: Markup) -> Response {
    (
        status,
        [
            (
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_str(&content_security_policy("'self'"))
                    .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'")),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            // Not `no-referrer`: with it, browsers send `Origin: null` on form posts, which the
            // XSRF rule refuses as foreign.
            (REFERRER_POLICY, HeaderValue::from_static("same-origin")),
        ],
        markup.into_string(),
    )
        .into_response()
}

/// A page whose form's answer redirects to another origin (the OAuth consent form, answered
/// with a redirect to the client): browsers enforce `form-action` on that redirect too, so the
/// one origin is allowed besides tessera's own.
pub fn page_response_posting_to(status: StatusCode, markup: Markup, origin: &str) -> Response {
    let mut response = page_response(status, markup);
    let policy = content_security_policy(&format!("'self' {origin}"));
    if let Ok(value) = HeaderValue::from_str(&policy) {
        response
            .headers_mut()
            .insert(CONTENT_SECURITY_POLICY, value);
    }
    response
}

/// A whole document. `user` adds the navigation of a logged-in user.
pub fn document(
    state: &AppState,
    title: &str,
    user: Option<&SessionUser>,
    content: Markup,
) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="same-origin";
                title { (title) " · " (state.settings.server_title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                header {
                    strong { (state.settings.server_title) }
                    @if let Some(user) = user {
                        nav.main aria-label="Pages" {
                            a href=(link(state, "/secure/tokens")) title="Personal access tokens" { "Tokens" }
                            a href=(link(state, "/secure/authorized-apps")) title="Authorized applications" { "Apps" }
                            @if user.is_admin {
                                a href=(link(state, "/secure/admin/tokens")) title="Token inventory" { "Inventory" }
                                a href=(link(state, "/secure/admin/policy")) title="Access policy" { "Policy" }
                                a href=(link(state, "/secure/admin/audit")) title="Audit log" { "Audit" }
                                a href=(link(state, "/secure/admin/usage")) title="API usage" { "Usage" }
                                a href=(link(state, "/secure/admin/oauth2")) title="OAuth 2.0 clients" { "OAuth clients" }
                                a href=(link(state, "/secure/admin/oauth1")) title="Application links (OAuth 1.0a)" { "App links" }
                                a href=(link(state, "/secure/admin/identity")) title="Identity providers" { "Identity" }
                            }
                        }
                        span.who {
                            (user.principal.user.display_name) " (" (user.principal.user.cased_name) ") "
                            form method="post" action=(link(state, "/logout")) {
                                (form_token(user))
                                button type="submit" id="logout" { "Log out" }
                            }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (content)
                }
                script { (PreEscaped(SCRIPT)) }
            }
        }
    }
}

/// The hidden form-token field every POST form carries.
pub fn form_token(user: &SessionUser) -> Markup {
    html! { input type="hidden" name=(FORM_TOKEN_FIELD) value=(user.form_token); }
}

/// An error page (no navigation: the page may be shown to someone not logged in).
pub fn error_page(state: &AppState, status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let content = html! {
        p.error { (message) }
        nav.links {
            a href=(link(state, "/secure/tokens")) { "Your tokens" } " · "
            a href=(link(state, "/login")) { "Sign in" } " · "
            a href=(link(state, "/rest/api/2/serverInfo")) { "Server information (REST)" }
        }
    };
    page_response(status, document(state, title, None, content))
}

/// A user agent made short for the table: its first product (`python-requests/2.32.3`,
/// `Mozilla/5.0`), at most 32 characters; the whole one is the cell's title.
pub fn short_agent(agent: &str) -> String {
    let first = agent
        .split([' ', '('])
        .find(|p| !p.is_empty())
        .unwrap_or("");
    if first.chars().count() > 32 {
        format!("{}…", first.chars().take(31).collect::<String>())
    } else {
        first.to_string()
    }
}

/// A time for people, with the machine-readable value in the `datetime` attribute.
pub fn when(at: Timestamp) -> Markup {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    let human = OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.as_millis()) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default();
    html! { time datetime=(time(at)) { (human) } }
}

/// Every message of a failed form, at its top (each field's is also shown beside it).
pub fn error_summary(errors: &FieldErrors) -> Markup {
    html! {
        @if !errors.is_empty() {
            div.errors role="alert" {
                p { strong { "Please correct the following:" } }
                ul {
                    @for message in &errors.messages { li { (message) } }
                    @for message in errors.fields.values() { li { (message) } }
                }
            }
        }
    }
}

/// The message for one field, shown beside it.
pub fn field_error(errors: &FieldErrors, field: &str) -> Markup {
    html! {
        @if let Some(message) = errors.fields.get(field) {
            div.error id=(format!("error-{field}")) { (message) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::short_agent;

    #[test]
    fn user_agents_are_cut_to_their_first_product() {
        assert_eq!(
            short_agent("python-requests/2.32.3"),
            "python-requests/2.32.3"
        );
        assert_eq!(
            short_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 Chrome/156"),
            "Mozilla/5.0"
        );
        assert_eq!(short_agent(""), "");
        assert_eq!(short_agent(&"x".repeat(50)).chars().count(), 32);
    }
}
