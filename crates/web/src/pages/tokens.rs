//! `/secure/tokens`: a logged-in user's personal access tokens: the list, a form to create
//! one, and a revoke button per token.
//!
//! The raw token is rendered once, by the page the creation redirects to (served `no-store`;
//! the secret travels in a sealed cookie, [`super::once`], so a reload creates nothing and
//! shows it no more), and never logged; the list shows only what the store keeps, never a secret. Creating and
//! revoking need the session's form token ([`super::session_user`]); project restrictions
//! resolve only projects the user can see, so an invisible project is as unknown as a
//! missing one.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};
use tessera_auth::tokens;
use tessera_core::authz::Authorizer;
use tessera_core::error::{Error, FieldErrors, Missing};
use tessera_core::ids::{ProjectId, TokenId};
use tessera_core::oauth2::describe_scope;
use tessera_core::permissions::Flag;
use tessera_core::scopes::Scope;
use tessera_core::tokens::{Token, TokenRequest};

use super::confirm;
use super::layout::{
    document, error_summary, field_error, form_token, page_response, secret_field, when,
};
use super::once::{self, ShownOnce};
use super::{FormBody, Incoming, PageError, PageResult, SessionUser, link, respond, session_user};
use crate::rest::pat::project_keys;
use crate::state::AppState;

const PAGE: &str = "/secure/tokens";

/// Jira Data Center's coarse scopes, offered first, each with what it allows, and whether
/// only an administrator may choose it.
const COARSE_SCOPES: [(&str, &str, bool); 4] = [
    (
        "READ",
        "View the issues, projects and users you can see",
        false,
    ),
    ("WRITE", "View, and change the issues you can change", false),
    (
        "ADMIN",
        "Everything above, and administer what you administer",
        true,
    ),
    (
        "SYSTEM_ADMIN",
        "Everything you can do, system administration included",
        true,
    ),
];

/// The expiry presets offered, in days (those past the policy's longest are left out).
const EXPIRY_PRESETS: [i64; 4] = [7, 30, 90, 365];

/// A day for people: `2026-12-14`.
fn day(at: tessera_core::clock::Timestamp) -> String {
    crate::render::time(at)[..10].to_string()
}

/// What the create form holds, to show it again after a mistake.
#[derive(Debug, Default)]
struct Draft {
    name: String,
    days: String,
    scopes: Vec<String>,
    projects: String,
    allowed_ips: String,
}

impl Draft {
    fn from_form(form: &FormBody) -> Self {
        Self {
            name: form.text("name").to_string(),
            // The number typed wins; else the preset chosen.
            days: match (form.text("expirationDays"), form.text("expirationPreset")) {
                ("", "other") | ("", "") => String::new(),
                ("", preset) => preset.to_string(),
                (typed, _) => typed.to_string(),
            },
            scopes: form.all("scopes"),
            projects: form.text("projects").to_string(),
            allowed_ips: form.text("allowedIps").to_string(),
        }
    }
}

/// Comma- (or whitespace-) separated entries, empty ones dropped.
fn entries(text: &str) -> Vec<String> {
    text.split([',', ' ', '\n', '\r', '\t'])
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .map(String::from)
        .collect()
}

/// Project ids and keys, to show restrictions by key.
fn project_names(token: &Token, keys: &HashMap<ProjectId, String>) -> Option<Vec<String>> {
    token.projects.as_ref().map(|ids| {
        ids.iter()
            .map(|id| keys.get(id).cloned().unwrap_or_else(|| id.to_string()))
            .collect()
    })
}

fn scope_names(token: &Token) -> String {
    token
        .scopes
        .iter()
        .map(Scope::name)
        .collect::<Vec<_>>()
        .join(", ")
}

/// One token's row cells shared by the user's list and the administrators' inventory.
pub(super) fn token_cells(
    token: &Token,
    keys: &HashMap<ProjectId, String>,
    now: tessera_core::clock::Timestamp,
) -> Markup {
    html! {
        td.name { (token.name) }
        td { (when(token.created)) }
        td {
            @match token.expires {
                Some(expires) => {
                    (when(expires))
                    @if token.is_expired(now) { " " strong.error { "expired" } }
                }
                None => span.muted { "never" },
            }
        }
        td {
            @match token.last_used {
                Some(at) => {
                    (when(at))
                    @if let Some(ip) = &token.last_used_ip { br; span.muted { "from " (ip) } }
                }
                None => span.muted { "never used" },
            }
        }
        td { (scope_names(token)) }
        td {
            @match project_names(token, keys) {
                Some(names) => (names.join(", ")),
                None => span.muted { "all visible" },
            }
        }
        td {
            @if token.allowed_ips.is_empty() {
                span.muted { "anywhere" }
            } @else {
                (token.allowed_ips.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
            }
        }
    }
}

/// What the list page shows besides the list.
#[derive(Debug, Default)]
struct Extras {
    draft: Draft,
    errors: FieldErrors,
    /// A token just created: its name and raw secret.
    created: Option<ShownOnce>,
    /// What the page was sent to say (after a revocation).
    said: Option<Markup>,
}

async fn render(
    state: &AppState,
    user: &SessionUser,
    status: StatusCode,
    extras: Extras,
) -> PageResult<Response> {
    let found = crate::rest::pat::live_tokens(state, user.principal.user.id).await?;
    let keys = project_keys(state).await?;
    let now = state.clock.now();
    let Extras {
        draft,
        errors,
        created,
        said,
    } = extras;
    // Only what the user could use: the administrative scopes are an administrator's.
    let admin = user.is_admin;
    let coarse: Vec<(&str, &str)> = (COARSE_SCOPES.iter())
        .filter(|(_, _, for_admins)| admin || !for_admins)
        .map(|(name, says, _)| (*name, *says))
        .collect();
    let fine: Vec<(&str, &str)> = (Scope::ALL.iter())
        .filter(|scope| admin || **scope != Scope::ManageJiraConfiguration)
        .map(|scope| (scope.name(), describe_scope(*scope)))
        .collect();
    let active = state.auth.policy().current();
    let policy = &active.policy.tokens;
    let presets: Vec<i64> = (EXPIRY_PRESETS.iter().copied())
        .filter(|days| {
            policy
                .max_lifetime_days
                .is_none_or(|max| *days <= i64::from(max))
        })
        .collect();
    let chosen_days = if draft.days.is_empty() {
        policy.default_lifetime_days.unwrap_or(30).to_string()
    } else {
        draft.days.clone()
    };
    let other_days = !presets.iter().any(|d| d.to_string() == chosen_days);
    let until =
        |days: i64| day(now.plus(std::time::Duration::from_secs(days.max(0) as u64 * 86_400)));
    let content = html! {
        @if let Some(said) = said {
            (said)
        }
        @if let Some(created) = &created {
            div.secret role="status" {
                p { "Token " strong { (created.label) } @if created.renewed { " has a new secret; the old one no longer works." } @else { " was created." } }
                (secret_field("raw-token", "Your new personal access token", &created.secret))
                p { strong { "Copy it now: it will not be shown again." }
                    " tessera keeps only a digest of it; if you lose it, revoke it and create another." }
                p { "Use it as a Bearer token: " code.usage {
                    "curl -H \"Authorization: Bearer <token>\" " (state.urls.base()) "/rest/api/2/myself" } }
            }
        }
        h2 { "Your tokens" }
        @if found.is_empty() {
            p.muted id="no-tokens" { "You have no personal access tokens." }
        } @else {
            table id="tokens" {
                thead { tr {
                    th { "Name" } th { "Created" } th { "Expires" } th { "Last used" }
                    th { "Scopes" } th { "Projects" } th { "Allowed IPs" } th { "" }
                } }
                tbody {
                    @for token in &found {
                        tr id=(format!("token-{}", token.id)) {
                            (token_cells(token, &keys, now))
                            td {
                                form method="post"
                                    action=(link(state, &format!("{PAGE}/{}/rotate", token.id))) {
                                    (form_token(user))
                                    button type="submit" class="rotate" { "Rotate" }
                                }
                                form method="post"
                                    action=(link(state, &format!("{PAGE}/{}/revoke", token.id))) {
                                    (form_token(user))
                                    button type="submit" class="revoke" { "Revoke" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Create a token" }
        (error_summary(&errors))
        form method="post" action=(link(state, PAGE)) id="create-token-form" {
            (form_token(user))
            fieldset {
                label for="token-name" { "Name" }
                input type="text" id="token-name" name="name" value=(draft.name) required
                    maxlength="255";
                (field_error(&errors, "name"))

                fieldset.choices id="token-expiry" {
                    legend { "Expires" }
                    @for days in &presets {
                        label.check {
                            input type="radio" name="expirationPreset" value=(days)
                                id=(format!("expires-{days}"))
                                checked[!other_days && chosen_days == days.to_string()];
                            " in " (days) " days " span.muted { "(" (until(*days)) ")" }
                        }
                    }
                    label.check {
                        input type="radio" name="expirationPreset" value="other" id="expires-other"
                            checked[other_days];
                        " after "
                    }
                    label.inline for="token-days" { "days" }
                    input type="number" id="token-days" name="expirationDays" min="1"
                        max=[policy.max_lifetime_days]
                        value=(if other_days { draft.days.clone() } else { String::new() })
                        placeholder=[policy.default_lifetime_days];
                    @if let Some(max) = policy.max_lifetime_days {
                        span.muted { " At most " (max) " days (" (until(i64::from(max))) ")." }
                    }
                }
                (field_error(&errors, "expirationDuration"))

                fieldset.choices id="token-scopes" {
                    legend { "Scopes" }
                    @for (scope, says) in coarse.iter().chain(fine.iter()) {
                        label.check.scope {
                            input type="checkbox" name="scopes" value=(scope)
                                id=(format!("scope-{scope}"))
                                checked[draft.scopes.iter().any(|s| s == scope)];
                            " " strong { (scope) } " " span.muted { (says) }
                        }
                    }
                }
                (field_error(&errors, "scopes"))

                label for="token-projects" { "Projects (comma-separated keys, optional)" }
                input type="text" id="token-projects" name="projects" value=(draft.projects)
                    placeholder="all projects you can see";
                (field_error(&errors, "projects"))

                label for="token-ips" { "Allowed IP addresses or CIDR ranges (comma-separated, optional)" }
                input type="text" id="token-ips" name="allowedIps" value=(draft.allowed_ips)
                    placeholder="anywhere";
                (field_error(&errors, "allowedIps"))

                p { button type="submit" id="create-token" { "Create token" } }
            }
        }
    };
    Ok(page_response(
        status,
        document(state, "Personal access tokens", Some(user), content),
    ))
}

/// Any logged-in user: their tokens and the form to create one; once, right after a creation,
/// the new token's secret.
pub async fn get_tokens(State(state): State<AppState>, incoming: Incoming) -> Response {
    let result = async {
        let user = session_user(&state, &incoming, None, &incoming.path_and_query).await?;
        let (shown, carried) = once::take(&state, &incoming, &user, PAGE);
        let said = confirm::said(&state, &user, incoming.query.as_deref());
        let extras = Extras {
            created: shown,
            said,
            ..Extras::default()
        };
        let mut response = render(&state, &user, StatusCode::OK, extras).await?;
        if carried {
            once::forget(&state, &incoming, &mut response);
        }
        Ok(response)
    }
    .await;
    respond(&state, incoming.client, result)
}

/// Any logged-in user, with the form token: creates a token and shows its secret, once.
pub async fn post_tokens(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = create(&state, &incoming, body).await;
    respond(&state, incoming.client, result)
}

/// Project keys → ids (none given: every project), as the REST API resolves them; problems
/// join the form's other errors.
async fn resolve_projects(
    state: &AppState,
    user: &SessionUser,
    keys: &[String],
    errors: &mut FieldErrors,
) -> PageResult<Option<Vec<ProjectId>>> {
    if keys.is_empty() {
        return Ok(None);
    }
    match crate::rest::pat::resolve_projects(state, &user.principal, Some(keys), true).await {
        Ok(ids) => Ok(ids),
        Err(Error::Invalid(found)) => {
            for (field, message) in found.fields {
                errors.add_field(field, message);
            }
            Ok(None)
        }
        Err(other) => Err(other.into()),
    }
}

async fn create(
    state: &AppState,
    incoming: &Incoming,
    body: Result<Bytes, BytesRejection>,
) -> PageResult<Response> {
    let form = FormBody::parse(&incoming.headers, body)?;
    let user = session_user(state, incoming, Some(&form), PAGE).await?;
    let draft = Draft::from_form(&form);
    let mut errors = FieldErrors::default();
    let expiration_days = if draft.days.is_empty() {
        None
    } else {
        match draft.days.parse::<i64>() {
            Ok(days) if days > 0 => Some(days),
            _ => {
                errors.add_field(
                    "expirationDuration",
                    "Give the expiry as a whole number of days, 1 or more.",
                );
                None
            }
        }
    };
    if draft.scopes.is_empty() {
        errors.add_field("scopes", "Choose at least one scope.");
    }
    let projects = resolve_projects(state, &user, &entries(&draft.projects), &mut errors).await?;
    let allowed_ips = entries(&draft.allowed_ips);
    let request = TokenRequest {
        name: draft.name.clone(),
        expiration_days,
        scopes: Some(draft.scopes.clone()),
        allowed_ips: (!allowed_ips.is_empty()).then_some(allowed_ips),
    };
    let now = state.clock.now();
    // Token rules are read fresh: a policy change elsewhere applies to this creation.
    let active = state
        .auth
        .policy()
        .refresh()
        .await
        .map_err(|e| PageError::Internal(e.to_string()))?;
    let policy = &active.policy.tokens;
    if !errors.is_empty() {
        // Report the service's objections too, all at once.
        if let Err(more) = policy.terms(&request, now) {
            for (field, message) in more.fields {
                errors.add_field(field, message);
            }
            errors.messages.extend(more.messages);
        }
        let extras = Extras {
            draft,
            errors,
            ..Extras::default()
        };
        return render(state, &user, StatusCode::BAD_REQUEST, extras).await;
    }
    let manage = Authorizer::own_tokens(&user.principal);
    let issued = tokens::issue(
        &*state.store,
        policy,
        &manage,
        Some(&user.principal),
        &request,
        projects,
        now,
    )
    .await;
    match issued {
        // Shown by the page this redirects to: a reload there creates nothing.
        Ok(issued) => Ok(once::redirect_showing(
            state,
            incoming,
            &user,
            (PAGE, PAGE),
            ShownOnce {
                label: issued.token.name.clone(),
                secret: issued.raw.expose().to_string(),
                renewed: false,
            },
        )),
        Err(Error::Invalid(errors)) => {
            let extras = Extras {
                draft,
                errors,
                ..Extras::default()
            };
            render(state, &user, StatusCode::BAD_REQUEST, extras).await
        }
        // An administrator's token with administrative scopes: the password again first.
        Err(Error::Denied(tessera_core::authz::Denied::WebsudoRequired)) => {
            Err(super::websudo_for(state, &user, incoming, &form, PAGE))
        }
        Err(other) => Err(other.into()),
    }
}

/// Any logged-in user, with the form token: `revoke`s one of their tokens, or `rotate`s a live
/// one (a new secret, shown once as a new token's; the old one stops at once). Each is asked
/// first, naming the token; another user's token is "not found".
pub async fn post_token_action(
    State(state): State<AppState>,
    Path((id, action)): Path<(String, String)>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let form = FormBody::parse(&incoming.headers, body)?;
        let user = session_user(&state, &incoming, Some(&form), PAGE).await?;
        let id = token_id(&id)?;
        let rotate = match action.as_str() {
            "revoke" => false,
            "rotate" => true,
            _ => return Err(PageError::NotFound("No such action.".into())),
        };
        let manage = Authorizer::own_tokens(&user.principal);
        let token = tokens::owned(&*state.store, &manage, id).await?;
        if !confirm::is_confirmed(&form) {
            let path = format!("{PAGE}/{id}/{action}");
            let (title, says, button) = if rotate {
                (
                    "Rotate a token",
                    html! { "Give token " strong { (token.name) } " a new secret? The current one stops working at once: update everything that uses it." },
                    "Rotate token",
                )
            } else {
                (
                    "Revoke a token",
                    html! { "Revoke token " strong { (token.name) } "? Everything that uses it stops working at once; this cannot be undone." },
                    "Revoke token",
                )
            };
            let question = confirm::Question {
                title,
                says,
                action: &path,
                button,
                back: PAGE,
                keep: &[],
            };
            return Ok(confirm::ask(&state, &user, question));
        }
        let now = state.clock.now();
        if !rotate {
            tokens::revoke(&*state.store, &manage, &user.principal, id, now).await?;
            let says = format!("Token {} was revoked.", token.name);
            return Ok(confirm::redirect_saying(&state, &user, PAGE, &says));
        }
        match tokens::rotate(&*state.store, &manage, &user.principal, id, None, now).await {
            Ok(issued) => Ok(once::redirect_showing(
                &state,
                &incoming,
                &user,
                (PAGE, PAGE),
                ShownOnce {
                    label: issued.token.name.clone(),
                    secret: issued.raw.expose().to_string(),
                    renewed: true,
                },
            )),
            Err(Error::Denied(tessera_core::authz::Denied::WebsudoRequired)) => {
                Err(super::websudo_for(&state, &user, &incoming, &form, PAGE))
            }
            Err(other) => Err(other.into()),
        }
    }
    .await;
    respond(&state, incoming.client, result)
}

pub(super) fn token_id(text: &str) -> PageResult<TokenId> {
    TokenId::parse(text)
        .ok_or_else(|| PageError::NotFound(Missing::Token(text.to_string()).to_string()))
}
