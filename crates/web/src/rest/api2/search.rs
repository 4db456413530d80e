//! `/search`: JQL search, `GET` with query parameters and `POST` with the same in a JSON body.
//! Each issue is shaped as `GET issue` shapes it (with the navigable fields unless `fields`
//! says otherwise, as Jira's search does); `total` is exact and `maxResults` echoes the page
//! size used, so clients that page through results stop. A query that is not valid JQL, or
//! names something that does not exist, is a 400 with Jira's message.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::response::Response;
use serde_json::{Value, json};
use tessera_core::authz::Browse;
use tessera_core::model::PageRequest;
use tessera_core::principal::Principal;
use tessera_core::services::search::{self, Validation};
use tessera_core::services::{
    attachments, changelog, comments, issues, links, votes, watchers, worklogs,
};

use super::changelog::{EMBEDDED_HISTORIES, credentials_shown};
use super::issues::{EMBEDDED_COMMENTS, EMBEDDED_WORKLOGS};
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params};
use crate::render::{self, IssueExtras, Viewer};
use crate::responses::{ReadKey, json_response};
use crate::state::AppState;

/// Issues per page unless `maxResults` says otherwise.
const DEFAULT_PAGE: i64 = 50;
/// The largest page served, as Jira's default `jira.search.views.default.max`.
const MAX_PAGE: i64 = 1000;

/// A search as either method asks for it.
#[derive(Debug)]
struct SearchRequest {
    jql: String,
    page: PageRequest,
    fields: Vec<String>,
    expand: Vec<String>,
    validation: Validation,
}

/// `validateQuery`: an unknown value validates strictly, the safe reading.
fn validation(value: Option<&str>) -> Validation {
    value.and_then(Validation::from_name).unwrap_or_default()
}

/// Any user; the issues found are those of projects where the caller holds BROWSE_PROJECTS
/// (and the credential the read scope, within its project restriction). `jql`, `startAt`,
/// `maxResults` (50 unless given, at most 1000), `fields`, `expand` (`names`, `schema`,
/// `transitions`, `changelog`), `validateQuery` (`strict`, `warn`, `none`).
///
/// Remembered for the same caller until anything changes (see [`crate::responses`]), unless
/// the query reads the clock or names a saved filter (then what it finds changes with time).
pub async fn get_search(
    State(state): State<AppState>,
    Auth(principal): Auth,
    OriginalUri(uri): OriginalUri,
    params: Params,
) -> ApiResult<Response> {
    let remembered = ReadKey::new(&principal, &uri);
    let epochs = state.responses.epochs();
    if let Some(response) = state.responses.get(&remembered, epochs) {
        return Ok(response);
    }
    let request = SearchRequest {
        jql: params.get("jql").unwrap_or_default().to_string(),
        page: params.page(DEFAULT_PAGE, MAX_PAGE),
        fields: params.list("fields"),
        expand: params.list("expand"),
        validation: validation(params.get("validateQuery")),
    };
    let (body, timeless) = run(&state, &principal, request).await?;
    let body = Bytes::from(body.to_string());
    if timeless {
        state.responses.keep(remembered, epochs, body.clone());
    }
    Ok(json_response(body))
}

/// As `GET`, from `{"jql", "startAt", "maxResults", "fields", "expand", "validateQuery"}`.
pub async fn post_search(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Jira> {
    let request = request_of(&body)?;
    let (body, _) = run(&state, &principal, request).await?;
    Ok(Jira::ok(body))
}

/// Reads a `POST` body with the leniency of the query string: `null` members are absent,
/// numbers may be strings, lists may be comma-joined strings, `validateQuery` a boolean.
fn request_of(body: &Value) -> ApiResult<SearchRequest> {
    let Some(body) = body.as_object() else {
        return Err(ApiError::bad_request(
            "The request body must be a JSON object.",
        ));
    };
    let jql = match body.get("jql") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(jql)) => jql.clone(),
        Some(_) => return Err(ApiError::field("jql", "The JQL query must be a string.")),
    };
    let number = |name: &str| match body.get(name) {
        Some(Value::Number(n)) => n.as_i64(),
        Some(Value::String(text)) => text.trim().parse().ok(),
        _ => None,
    };
    let start_at = number("startAt").filter(|n| *n >= 0).unwrap_or(0);
    let limit = number("maxResults")
        .filter(|n| *n >= 0)
        .unwrap_or(DEFAULT_PAGE)
        .min(MAX_PAGE);
    let list = |name: &str| -> Vec<String> {
        let items: Vec<&str> = match body.get(name) {
            Some(Value::String(text)) => text.split(',').collect(),
            Some(Value::Array(items)) => items
                .iter()
                .filter_map(Value::as_str)
                .flat_map(|item| item.split(','))
                .collect(),
            _ => Vec::new(),
        };
        items
            .into_iter()
            .map(str::trim)
            .filter(|item| !item.is_empty())
            .map(String::from)
            .collect()
    };
    let validation = match body.get("validateQuery") {
        Some(Value::Bool(true)) => Validation::Strict,
        Some(Value::Bool(false)) => Validation::Off,
        Some(Value::String(text)) => validation(Some(text)),
        _ => Validation::default(),
    };
    Ok(SearchRequest {
        jql,
        page: PageRequest { start_at, limit },
        fields: list("fields"),
        expand: list("expand"),
        validation,
    })
}

/// The answer, and whether it may be remembered ([`search::SearchResults::timeless`]).
async fn run(
    state: &AppState,
    principal: &Principal,
    request: SearchRequest,
) -> ApiResult<(Value, bool)> {
    let cap = state.authz.browsable_projects(principal).await?;
    let found = search::search(
        &*state.store,
        &cap,
        &request.jql,
        request.validation,
        request.page,
        state.clock.now(),
    )
    .await?;
    let requested = if request.fields.is_empty() {
        vec!["*navigable".to_string()]
    } else {
        request.fields
    };
    let fields = render::selected_fields(&requested);
    let expands = |name: &str| request.expand.iter().any(|e| e == name);
    let with_transitions = expands("transitions");
    let with_changelog = expands("changelog");
    let with_comments = fields.contains(&"comment");
    let with_watches = fields.contains(&"watches");
    let with_worklogs = fields.contains(&"worklog");
    let with_links = fields.contains(&"issuelinks");
    let with_attachments = fields.contains(&"attachment");
    let with_votes = fields.contains(&"votes");
    let viewer = Viewer::of(principal);
    let mut shown = Vec::with_capacity(found.issues.items.len());
    let with_extras = with_transitions
        || with_comments
        || with_watches
        || with_changelog
        || with_worklogs
        || with_links
        || with_attachments
        || with_votes;
    let caps = if with_extras {
        found
            .issues
            .items
            .iter()
            .map(|issue| cap.issue::<Browse>(issue))
            .collect::<Result<Vec<_>, _>>()?
    } else {
        Vec::new()
    };
    // What `*navigable` shows of every issue is read once for the whole page.
    let mut page_attachments = if with_attachments {
        attachments::of_issues(&*state.store, &caps).await?
    } else {
        HashMap::new()
    };
    let mut page_links = if with_links {
        links::of_issues(&*state.store, &state.authz, principal, &caps).await?
    } else {
        HashMap::new()
    };
    for (index, issue) in found.issues.items.iter().enumerate() {
        let mut extras = IssueExtras::default();
        if let Some(on_issue) = caps.get(index) {
            if with_transitions {
                extras.transitions = Some(issues::available_transitions(on_issue));
            }
            if with_comments {
                let page = PageRequest {
                    start_at: 0,
                    limit: EMBEDDED_COMMENTS,
                };
                let listed = comments::list(&*state.store, on_issue, page, false).await?;
                extras.comments = Some((listed.items, listed.total));
            }
            if with_watches {
                extras.watches = Some(watchers::watches(&*state.store, on_issue).await?);
            }
            if with_worklogs {
                let page = PageRequest {
                    start_at: 0,
                    limit: EMBEDDED_WORKLOGS,
                };
                let listed = worklogs::list(&*state.store, on_issue, page).await?;
                extras.worklogs = Some((listed.items, listed.total));
            }
            if with_votes {
                let counted = votes::votes(&*state.store, on_issue).await?;
                extras.votes = Some(super::votes::votes_field(&state.urls, issue, counted));
            }
            if with_attachments {
                let found = page_attachments.remove(&issue.id).unwrap_or_default();
                extras.attachments = Some(
                    found
                        .iter()
                        .map(|a| super::attachments::attachment(&state.urls, viewer, a))
                        .collect(),
                );
            }
            if with_links {
                let found = page_links.remove(&issue.id).unwrap_or_default();
                extras.links = Some(
                    found
                        .iter()
                        .map(|l| super::links::issue_link_of(&state.urls, l, issue.id))
                        .collect(),
                );
            }
            if with_changelog {
                let page = PageRequest {
                    start_at: 0,
                    limit: EMBEDDED_HISTORIES,
                };
                let listed = changelog::list(&*state.store, on_issue, page).await?;
                extras.changelog = Some((listed, credentials_shown(on_issue)));
            }
        }
        shown.push(render::issue(&state.urls, viewer, issue, &fields, &extras));
    }
    let mut body = json!({
        "expand": "schema,names",
        "startAt": found.issues.start_at,
        "maxResults": found.issues.max_results,
        "total": found.issues.total,
        "issues": shown,
    });
    if !found.warnings.is_empty() {
        body["warningMessages"] = json!(found.warnings);
    }
    if expands("names") {
        body["names"] = render::field_names(&fields);
    }
    if expands("schema") {
        body["schema"] = render::field_schemas(&fields);
    }
    Ok((body, found.timeless))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn post_bodies_are_read_leniently() {
        let request = request_of(&json!({
            "jql": "project = A",
            "startAt": "10",
            "maxResults": 5000,
            "fields": ["summary,status", "labels"],
            "expand": "names, schema",
            "validateQuery": false,
        }))
        .unwrap();
        assert_eq!(request.jql, "project = A");
        assert_eq!(
            request.page,
            PageRequest {
                start_at: 10,
                limit: MAX_PAGE
            }
        );
        assert_eq!(request.fields, ["summary", "status", "labels"]);
        assert_eq!(request.expand, ["names", "schema"]);
        assert_eq!(request.validation, Validation::Off);

        let defaults = request_of(&json!({"jql": null, "startAt": -1, "maxResults": "x"})).unwrap();
        assert_eq!(defaults.jql, "");
        assert_eq!(
            defaults.page,
            PageRequest {
                start_at: 0,
                limit: DEFAULT_PAGE
            }
        );
        assert_eq!(defaults.validation, Validation::Strict);
        assert!(request_of(&json!({"jql": 5})).is_err());
        assert!(request_of(&json!(["jql"])).is_err());
        assert_eq!(
            request_of(&json!({"validateQuery": "warn"}))
                .unwrap()
                .validation,
            Validation::Warn
        );
    }
}
