//! `/secure/admin/policy`: the access policy as a form. Global ADMINISTER to see it; a change
//! also needs websudo and the form token, and goes through the same checks as
//! `PUT /rest/tessera/1/policy` (groups must exist, no policy that refuses its own author, the
//! version the form was built from must still be stored).
//!
//! Lists are written one entry per line or comma-separated; group address lists and group
//! rate quotas one group per line (`group: 10.0.0.0/8, 192.0.2.0/24`, `group: 500/50`).

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::Response;
use http::StatusCode;
use maud::{Markup, html};
use tessera_auth::policy::ActivePolicy;
use tessera_core::error::{Error, FieldErrors};
use tessera_core::policy::{MethodRule, Policy, Quota, RateLimitPolicy, Surface};
use tessera_core::principal::AuthMethod;
use tessera_core::tokens::{TokenPolicy, parse_network};

use super::layout::{document, error_summary, field_error, form_token, page_response, when};
use super::{
    FormBody, Incoming, PageError, PageResult, SessionUser, link, redirect, require_websudo,
    respond, session_user,
};
use crate::state::AppState;

const PAGE: &str = "/secure/admin/policy";

fn method_label(method: AuthMethod) -> &'static str {
    match method {
        AuthMethod::BasicPassword => "Basic with a password",
        AuthMethod::BasicToken => "Basic with a token in the password",
        AuthMethod::BearerToken => "Bearer personal access token",
        AuthMethod::ServiceKey => "Service-account API key",
        AuthMethod::Session => "Session cookie (login)",
        AuthMethod::OAuth2 => "OAuth 2.0 access token",
        AuthMethod::OAuth1 => "OAuth 1.0a application link (signed request)",
        AuthMethod::ExternalJwt => "External identity provider JWT (Bearer)",
    }
}

/// The form's fields as text, to show them again after a mistake.
#[derive(Debug, Default)]
struct Draft {
    version: String,
    methods: BTreeMap<AuthMethod, (bool, String)>,
    api_groups: String,
    allowed_ips: String,
    group_allowed_ips: String,
    default_days: String,
    max_days: String,
    allow_non_expiring: bool,
    creator_groups: String,
    max_per_user: String,
    rate_enabled: bool,
    capacity: String,
    per_second: String,
    anonymous_capacity: String,
    anonymous_per_second: String,
    exempt_groups: String,
    group_quotas: String,
}

fn optional(n: Option<u32>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

impl Draft {
    fn of(active: &ActivePolicy) -> Self {
        let policy = &active.policy;
        let tokens = &policy.tokens;
        let limits = &policy.rate_limit;
        Self {
            version: active.version.to_string(),
            methods: AuthMethod::ALL
                .into_iter()
                .map(|m| {
                    let rule = policy.method(m);
                    (m, (rule.enabled, rule.except_groups.join(", ")))
                })
                .collect(),
            api_groups: policy.api_groups.join(", "),
            allowed_ips: lines(policy.allowed_ips.iter()),
            group_allowed_ips: policy
                .group_allowed_ips
                .iter()
                .map(|(group, list)| {
                    let nets: Vec<String> = list.iter().map(ToString::to_string).collect();
                    format!("{group}: {}", nets.join(", "))
                })
                .collect::<Vec<_>>()
                .join("\n"),
            default_days: optional(tokens.default_lifetime_days),
            max_days: optional(tokens.max_lifetime_days),
            allow_non_expiring: tokens.allow_non_expiring,
            creator_groups: tokens.creator_groups.join(", "),
            max_per_user: optional(tokens.max_per_user),
            rate_enabled: limits.enabled,
            capacity: limits.default.capacity.to_string(),
            per_second: limits.default.per_second.to_string(),
            anonymous_capacity: limits.anonymous.capacity.to_string(),
            anonymous_per_second: limits.anonymous.per_second.to_string(),
            exempt_groups: limits.exempt_groups.join(", "),
            group_quotas: limits
                .groups
                .iter()
                .map(|(group, q)| format!("{group}: {}/{}", q.capacity, q.per_second))
                .collect::<Vec<_>>()
                .join("\n"),
        }
    }

    fn from_form(form: &FormBody) -> Self {
        let text = |name: &str| form.text(name).to_string();
        Self {
            version: text("version"),
            methods: AuthMethod::ALL
                .into_iter()
                .map(|m| {
                    let name = m.name();
                    let enabled = form.is_checked(&format!("{name}.enabled"));
                    (m, (enabled, text(&format!("{name}.except"))))
                })
                .collect(),
            api_groups: text("apiGroups"),
            allowed_ips: text("allowedIps"),
            group_allowed_ips: text("groupAllowedIps"),
            default_days: text("defaultLifetimeDays"),
            max_days: text("maxLifetimeDays"),
            allow_non_expiring: form.is_checked("allowNonExpiring"),
            creator_groups: text("creatorGroups"),
            max_per_user: text("maxPerUser"),
            rate_enabled: form.is_checked("rateLimitEnabled"),
            capacity: text("capacity"),
            per_second: text("perSecond"),
            anonymous_capacity: text("anonymousCapacity"),
            anonymous_per_second: text("anonymousPerSecond"),
            exempt_groups: text("exemptGroups"),
            group_quotas: text("groupQuotas"),
        }
    }

    /// The policy the form describes; problems are recorded by field.
    fn to_policy(&self, errors: &mut FieldErrors) -> Policy {
        let mut group_allowed_ips = BTreeMap::new();
        for (group, rest) in group_lines(&self.group_allowed_ips, "groupAllowedIps", errors) {
            let list = entries(&rest)
                .filter_map(|entry| {
                    let net = parse_network(entry);
                    if net.is_none() {
                        errors.add_field(
                            "groupAllowedIps",
                            format!("'{entry}' is not an IP address or CIDR range."),
                        );
                    }
                    net
                })
                .collect();
            group_allowed_ips.insert(group, list);
        }
        let mut groups = BTreeMap::new();
        for (group, rest) in group_lines(&self.group_quotas, "groupQuotas", errors) {
            match rest
                .split_once('/')
                .and_then(|(c, p)| Some((c.trim().parse().ok()?, p.trim().parse().ok()?)))
            {
                Some((capacity, per_second)) => {
                    groups.insert(
                        group,
                        Quota {
                            capacity,
                            per_second,
                        },
                    );
                }
                None => errors.add_field(
                    "groupQuotas",
                    format!("Write each group's quota as '{group}: capacity/perSecond'."),
                ),
            }
        }
        let allowed_ips = entries(&self.allowed_ips)
            .filter_map(|entry| {
                let net = parse_network(entry);
                if net.is_none() {
                    errors.add_field(
                        "allowedIps",
                        format!("'{entry}' is not an IP address or CIDR range."),
                    );
                }
                net
            })
            .collect();
        Policy {
            methods: self
                .methods
                .iter()
                .map(|(m, (enabled, except))| {
                    let rule = MethodRule {
                        enabled: *enabled,
                        except_groups: entries(except).map(String::from).collect(),
                    };
                    (*m, rule)
                })
                .collect(),
            api_groups: entries(&self.api_groups).map(String::from).collect(),
            allowed_ips,
            group_allowed_ips,
            tokens: TokenPolicy {
                default_lifetime_days: number(&self.default_days, "defaultLifetimeDays", errors),
                max_lifetime_days: number(&self.max_days, "maxLifetimeDays", errors),
                allow_non_expiring: self.allow_non_expiring,
                creator_groups: entries(&self.creator_groups).map(String::from).collect(),
                max_per_user: number(&self.max_per_user, "maxPerUser", errors),
            },
            rate_limit: RateLimitPolicy {
                enabled: self.rate_enabled,
                default: Quota {
                    capacity: required(&self.capacity, "capacity", errors),
                    per_second: required(&self.per_second, "perSecond", errors),
                },
                anonymous: Quota {
                    capacity: required(&self.anonymous_capacity, "anonymousCapacity", errors),
                    per_second: required(&self.anonymous_per_second, "anonymousPerSecond", errors),
                },
                groups,
                exempt_groups: entries(&self.exempt_groups).map(String::from).collect(),
            },
        }
    }
}

fn lines<T: ToString>(items: impl Iterator<Item = T>) -> String {
    items.map(|i| i.to_string()).collect::<Vec<_>>().join("\n")
}

/// Entries separated by commas or white space, empty ones dropped.
fn entries(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| c == ',' || c.is_whitespace())
        .filter(|e| !e.is_empty())
}

/// `group: rest` lines.
fn group_lines(text: &str, field: &str, errors: &mut FieldErrors) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        match line.split_once(':') {
            Some((group, rest)) if !group.trim().is_empty() => {
                let group = group.trim();
                // One line per group: a second would silently replace the first.
                if found.iter().any(|(seen, _)| seen == group) {
                    errors.add_field(field, format!("'{group}' has more than one line."));
                }
                found.push((group.to_string(), rest.trim().to_string()));
            }
            _ => errors.add_field(
                field,
                format!("Start each line with a group name: '{line}'."),
            ),
        }
    }
    found
}

/// An optional whole number (empty: none).
fn number(text: &str, field: &str, errors: &mut FieldErrors) -> Option<u32> {
    if text.is_empty() {
        return None;
    }
    match text.parse() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add_field(field, "Give a whole number, or leave it empty.");
            None
        }
    }
}

fn required(text: &str, field: &str, errors: &mut FieldErrors) -> u32 {
    match text.parse() {
        Ok(n) => n,
        Err(_) => {
            errors.add_field(field, "Give a whole number.");
            0
        }
    }
}

fn render(
    state: &AppState,
    user: &SessionUser,
    active: &ActivePolicy,
    draft: &Draft,
    errors: &FieldErrors,
    saved: bool,
) -> Markup {
    let text_field = |name: &str, label: &str, value: &str, hint: &str| {
        html! {
            label for=(name) { (label) }
            input type="text" id=(name) name=(name) value=(value);
            @if !hint.is_empty() { div.muted { (hint) } }
            (field_error(errors, name))
        }
    };
    let area = |name: &str, label: &str, value: &str, hint: &str| {
        html! {
            label for=(name) { (label) }
            textarea id=(name) name=(name) { (value) }
            div.muted { (hint) }
            (field_error(errors, name))
        }
    };
    let content = html! {
        p.muted id="policy-version" {
            "Version " (active.version) ", changed " (when(active.updated))
            @if let Some(by) = &active.updated_by { " by " (by) } @else { " from the configuration" }
        }
        @if saved { div.secret role="status" id="policy-saved" { p { "The policy was saved." } } }
        (error_summary(errors))
        form method="post" action=(link(state, PAGE)) {
            (form_token(user))
            input type="hidden" name="version" value=(draft.version);
            fieldset {
                legend { "Authentication methods" }
                p.muted { "A method can be switched off, with groups whose members are the exception (or on, with groups excluded)." }
                table id="methods" {
                    thead { tr { th { "Method" } th { "Enabled" } th { "Except for members of" } } }
                    tbody {
                        @for (method, (enabled, except)) in &draft.methods {
                            tr {
                                td { (method_label(*method)) " " span.muted { "(" (method.name()) ")" } }
                                td { input type="checkbox" id=(format!("{}.enabled", method.name())) name=(format!("{}.enabled", method.name())) checked[*enabled]
                                    aria-label=(format!("{} enabled", method_label(*method))); }
                                td { input type="text" id=(format!("{}.except", method.name())) name=(format!("{}.except", method.name())) value=(except)
                                    aria-label=(format!("{}: except for members of", method_label(*method))); }
                            }
                        }
                    }
                }
                (field_error(errors, "groups"))
            }
            fieldset {
                legend { "REST API and addresses" }
                (text_field("apiGroups", "Groups that may use the REST API", &draft.api_groups, "Empty: every user."))
                (area("allowedIps", "Addresses every request must come from", &draft.allowed_ips, "CIDR ranges or addresses, IPv4 or IPv6, one per line. Empty: anywhere."))
                (area("groupAllowedIps", "Addresses per group", &draft.group_allowed_ips, "One group per line: 'contractors: 203.0.113.0/24, 2001:db8::/32'. These narrow the global list for the group's members."))
            }
            fieldset {
                legend { "Tokens" }
                (text_field("defaultLifetimeDays", "Default lifetime (days)", &draft.default_days, "Empty: no expiry unless one is given."))
                (text_field("maxLifetimeDays", "Maximum lifetime (days)", &draft.max_days, "Empty: no maximum."))
                label.check { input type="checkbox" name="allowNonExpiring" checked[draft.allow_non_expiring]; " Allow tokens that never expire" }
                (text_field("creatorGroups", "Groups that may create personal tokens", &draft.creator_groups, "Empty: everyone."))
                (text_field("maxPerUser", "Most live tokens per user", &draft.max_per_user, "Empty: no limit."))
                (field_error(errors, "tokens"))
            }
            fieldset {
                legend { "Rate limits" }
                label.check { input type="checkbox" id="rateLimitEnabled" name="rateLimitEnabled" checked[draft.rate_enabled]; " Limit request rates" }
                (text_field("capacity", "Requests at once, per user", &draft.capacity, ""))
                (text_field("perSecond", "Refilled per second", &draft.per_second, ""))
                (text_field("anonymousCapacity", "Requests at once, per anonymous address", &draft.anonymous_capacity, ""))
                (text_field("anonymousPerSecond", "Refilled per second", &draft.anonymous_per_second, ""))
                (text_field("exemptGroups", "Groups not limited", &draft.exempt_groups, ""))
                (area("groupQuotas", "Quotas per group", &draft.group_quotas, "One group per line: 'bots: 500/50' (capacity/per second); a member of several gets the largest."))
                (field_error(errors, "rateLimit.default"))
                (field_error(errors, "rateLimit.anonymous"))
            }
            p { button type="submit" id="save-policy" { "Save the policy" } }
        }
    };
    document(state, "Access policy", Some(user), content)
}

/// Global ADMINISTER: the policy in force, as a form.
pub async fn get_policy(State(state): State<AppState>, incoming: Incoming) -> Response {
    let result = async {
        let user = session_user(&state, &incoming, None, PAGE).await?;
        state.authz.administer(&user.principal)?;
        let active = state
            .auth
            .policy()
            .refresh()
            .await
            .map_err(|e| PageError::Internal(e.to_string()))?;
        let saved = incoming.query.as_deref() == Some("saved");
        let markup = render(
            &state,
            &user,
            &active,
            &Draft::of(&active),
            &FieldErrors::default(),
            saved,
        );
        Ok(page_response(StatusCode::OK, markup))
    }
    .await;
    respond(&state, incoming.client, result)
}

/// Global ADMINISTER, with websudo and the form token: replaces the policy.
pub async fn post_policy(
    State(state): State<AppState>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = save(&state, &incoming, body).await;
    respond(&state, incoming.client, result)
}

async fn save(
    state: &AppState,
    incoming: &Incoming,
    body: Result<Bytes, BytesRejection>,
) -> PageResult<Response> {
    let form = FormBody::parse(&incoming.headers, body)?;
    let user = session_user(state, incoming, Some(&form), PAGE).await?;
    let admin = state.authz.administer(&user.principal)?;
    require_websudo(state, &user, incoming, &form, PAGE)?;
    let draft = Draft::from_form(&form);
    let mut errors = FieldErrors::default();
    let proposed = draft.to_policy(&mut errors);
    // The form says which version it was built from; without one, nothing is overwritten.
    let expected = draft.version.parse::<i64>().ok();
    if expected.is_none() {
        errors.add_message("The form is incomplete (its version is missing): reload the page.");
    }
    let outcome = if errors.is_empty() {
        state
            .auth
            .policy()
            .change(
                &admin,
                &user.principal,
                Surface::Pages,
                expected,
                proposed,
                state.clock.now(),
            )
            .await
    } else {
        Err(Error::Invalid(errors))
    };
    let (status, errors) = match outcome {
        Ok(_) => return Ok(redirect(&link(state, &format!("{PAGE}?saved")))),
        Err(Error::Invalid(errors)) => (StatusCode::BAD_REQUEST, errors),
        Err(Error::Conflict(errors)) => (StatusCode::CONFLICT, errors),
        Err(other) => return Err(other.into()),
    };
    let active = state.auth.policy().current();
    let markup = render(state, &user, &active, &draft, &errors, false);
    Ok(page_response(status, markup))
}
