//! `/secure/admin/tokens`: the administrators' inventory of every token (personal tokens and
//! service-account keys), with filters and a revoke button per token.
//!
//! Global ADMINISTER only: anyone else gets a 403 page before any token is read. Revoking
//! needs the session's form token ([`super::session_user`]). The inventory never shows a
//! secret: the store has none.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::Response;
use http::StatusCode;
use maud::html;
use tessera_auth::tokens;
use tessera_core::clock::Timestamp;
use tessera_core::error::{Error, FieldErrors};
use tessera_core::model::PageRequest;
use tessera_core::services::users::UserSelector;
use tessera_core::tokens::{TokenFilter, TokenKind};
use time::macros::format_description;

use super::confirm;
use super::layout::{document, error_summary, field_error, form_token, page_response};
use super::tokens::{token_cells, token_id};
use super::{AdminForm, FormBody, Incoming, PageResult, admin_form, link, respond, session_user};
use crate::rest::pat::project_keys;
use crate::state::AppState;
use crate::urls::encode;

const PAGE: &str = "/secure/admin/tokens";
/// Most tokens one page lists.
const LIMIT: i64 = 1000;

/// The filter form's fields, as given.
#[derive(Debug, Default)]
struct Filters {
    owner: String,
    kind: String,
    expiring_before: String,
    last_used_before: String,
    never_used: bool,
    include_revoked: bool,
}

impl Filters {
    fn from_form(form: &FormBody) -> Self {
        Self {
            owner: form.text("owner").to_string(),
            kind: form.text("kind").to_string(),
            expiring_before: form.text("expiringBefore").to_string(),
            last_used_before: form.text("lastUsedBefore").to_string(),
            never_used: form.is_checked("neverUsed"),
            include_revoked: form.is_checked("includeRevoked"),
        }
    }

    /// The filters as a query string (known fields only, re-encoded).
    fn query(&self) -> String {
        let mut pairs = Vec::new();
        for (name, value) in [
            ("owner", &self.owner),
            ("kind", &self.kind),
            ("expiringBefore", &self.expiring_before),
            ("lastUsedBefore", &self.last_used_before),
        ] {
            if !value.is_empty() {
                pairs.push(format!("{name}={}", encode(value)));
            }
        }
        if self.never_used {
            pairs.push("neverUsed=on".into());
        }
        if self.include_revoked {
            pairs.push("includeRevoked=on".into());
        }
        pairs.join("&")
    }

    /// The store's filter; problems are recorded by field.
    async fn to_filter(
        &self,
        state: &AppState,
        errors: &mut FieldErrors,
    ) -> PageResult<TokenFilter> {
        let owner = if self.owner.is_empty() {
            None
        } else {
            match UserSelector::Name(&self.owner).get(&*state.store).await {
                Ok(user) => Some(user.id),
                Err(Error::NotFound(missing)) => {
                    errors.add_field("owner", missing.to_string());
                    None
                }
                Err(other) => return Err(other.into()),
            }
        };
        let kind = match self.kind.as_str() {
            "" => None,
            text => {
                let kind = TokenKind::parse(text);
                if kind.is_none() {
                    errors.add_field("kind", "The kind is 'personal' or 'service'.");
                }
                kind
            }
        };
        Ok(TokenFilter {
            owner,
            kind,
            expiring_before: date(&self.expiring_before, "expiringBefore", errors),
            created_before: None,
            last_used_before: date(&self.last_used_before, "lastUsedBefore", errors),
            never_used: self.never_used,
            include_revoked: self.include_revoked,
            ..TokenFilter::default()
        })
    }
}

/// A `YYYY-MM-DD` date as midnight UTC.
fn date(text: &str, field: &str, errors: &mut FieldErrors) -> Option<Timestamp> {
    if text.is_empty() {
        return None;
    }
    match time::Date::parse(text, format_description!("[year]-[month]-[day]")) {
        Ok(day) => Some(Timestamp::from_millis(
            day.midnight().assume_utc().unix_timestamp() * 1000,
        )),
        Err(_) => {
            errors.add_field(field, "Give a date as YYYY-MM-DD.");
            None
        }
    }
}

/// Global ADMINISTER: every token matching the filters.
pub async fn get_admin_tokens(State(state): State<AppState>, incoming: Incoming) -> Response {
    let result = async {
        let user = session_user(&state, &incoming, None, &incoming.path_and_query).await?;
        state.authz.administer(&user.principal)?;
        let form = FormBody::from_query(incoming.query.as_deref().unwrap_or("").as_bytes())?;
        let filters = Filters::from_form(&form);
        let mut errors = FieldErrors::default();
        let filter = filters.to_filter(&state, &mut errors).await?;
        let found = if errors.is_empty() {
            let page = PageRequest {
                start_at: 0,
                limit: LIMIT,
            };
            Some(
                state
                    .store
                    .list_tokens(&filter, page)
                    .await
                    .map_err(Error::from)?,
            )
        } else {
            None
        };
        let keys = project_keys(&state).await?;
        let now = state.clock.now();
        let back = filters.query();
        // What the page redirected to after a revocation says.
        let said = confirm::said(&state, &user, incoming.query.as_deref());
        let content = html! {
            @if let Some(said) = said { (said) }
            form method="get" action=(link(&state, PAGE)) id="filters" {
                fieldset {
                    legend { "Filter" }
                    label for="filter-owner" { "Owner (user name)" }
                    input type="text" id="filter-owner" name="owner" value=(filters.owner);
                    (field_error(&errors, "owner"))
                    label for="filter-kind" { "Kind" }
                    select id="filter-kind" name="kind" {
                        option value="" selected[filters.kind.is_empty()] { "any" }
                        option value="personal" selected[filters.kind == "personal"] { "personal" }
                        option value="service" selected[filters.kind == "service"] { "service" }
                    }
                    (field_error(&errors, "kind"))
                    label for="filter-expiring" { "Expiring before" }
                    input type="date" id="filter-expiring" name="expiringBefore"
                        value=(filters.expiring_before) placeholder="YYYY-MM-DD";
                    (field_error(&errors, "expiringBefore"))
                    label for="filter-last-used" { "Last used before" }
                    input type="date" id="filter-last-used" name="lastUsedBefore"
                        value=(filters.last_used_before) placeholder="YYYY-MM-DD";
                    (field_error(&errors, "lastUsedBefore"))
                    p {
                        label.check {
                            input type="checkbox" id="filter-never-used" name="neverUsed"
                                checked[filters.never_used];
                            " Never used"
                        }
                        label.check {
                            input type="checkbox" id="filter-include-revoked" name="includeRevoked"
                                checked[filters.include_revoked];
                            " Include revoked"
                        }
                    }
                    p { button type="submit" id="filter" { "Apply" } }
                }
            }
            (error_summary(&errors))
            @if let Some(found) = &found {
                p id="token-count" {
                    (found.total) " token" @if found.total != 1 { "s" }
                    @if found.total > found.items.len() as i64 {
                        " (showing the newest " (found.items.len()) ")"
                    }
                }
                @if !found.items.is_empty() {
                    table id="tokens" class="compact" {
                        thead { tr {
                            th { "ID" } th { "Owner" } th { "Kind" }
                            th { "Name" } th { "Created" } th { "Expires" } th { "Last used" }
                            th { "Scopes" } th { "Projects" } th { "Allowed IPs" } th { "" }
                        } }
                        tbody {
                            @for token in &found.items {
                                tr id=(format!("token-{}", token.id)) {
                                    td.id {
                                        a href=(link(&state, &format!("/secure/admin/usage?credential=token:{}", token.id)))
                                            title="Its use" { (token.id) }
                                        " "
                                        a.muted href=(link(&state, &format!("/secure/admin/audit?target={}", encode(&format!("token:{} owner:{}", token.id, token.owner_name)))))
                                            title="Its audit events" { "events" }
                                    }
                                    td.owner { (token.owner_name) }
                                    td { (token.kind.name()) }
                                    (token_cells(token, &keys, now))
                                    td {
                                        @match token.revoked {
                                            Some(at) => { "revoked " (super::layout::when(at)) }
                                            None => {
                                                form method="post" action=(link(&state, &format!("{PAGE}/{}/revoke", token.id))) {
                                                    (form_token(&user))
                                                    input type="hidden" name="filter" value=(back);
                                                    button type="submit" class="revoke" { "Revoke" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        };
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        Ok(page_response(
            status,
            document(&state, "Token inventory", Some(&user), content),
        ))
    }
    .await;
    respond(&state, incoming.client, result)
}

/// Global ADMINISTER, with the form token: revokes any token, then back to the inventory with
/// the same filters.
pub async fn post_admin_revoke(
    State(state): State<AppState>,
    Path(id): Path<String>,
    incoming: Incoming,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let AdminForm { form, user, admin } = admin_form(&state, &incoming, body, PAGE).await?;
        let id = token_id(&id)?;
        let filters = Filters::from_form(&FormBody::from_query(form.text("filter").as_bytes())?);
        let query = filters.query();
        // The inventory as it was filtered, to go back to.
        let back = if query.is_empty() {
            PAGE.to_string()
        } else {
            format!("{PAGE}?{query}")
        };
        let token = (state.store.find_token(id).await)
            .map_err(Error::from)?
            .ok_or_else(|| super::PageError::NotFound(format!("No token {id}.")))?;
        if !confirm::is_confirmed(&form) {
            let action = format!("{PAGE}/{id}/revoke");
            return Ok(confirm::ask(
                &state,
                &user,
                confirm::Question {
                    title: "Revoke a token",
                    says: html! {
                        "Revoke token " strong { (token.name) } " (id " (id) ") of "
                        strong { (token.owner_name) } "? Everything that uses it stops working at once; this cannot be undone."
                    },
                    action: &action,
                    button: "Revoke token",
                    back: &back,
                    keep: &[("filter", form.text("filter"))],
                },
            ));
        }
        tokens::revoke_any(
            &*state.store,
            &admin,
            Some(&user.principal),
            id,
            state.clock.now(),
        )
        .await?;
        let says = format!(
            "Token {} (id {id}) of {} was revoked.",
            token.name, token.owner_name
        );
        Ok(confirm::redirect_saying(&state, &user, &back, &says))
    }
    .await;
    respond(&state, incoming.client, result)
}
