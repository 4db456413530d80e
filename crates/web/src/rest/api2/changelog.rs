//! `/issue/{key}/changelog`: an issue's history, paged as Jira pages it (`startAt`,
//! `maxResults`, `total`, `isLast`, `values`), each entry with the credential that made the
//! change in `tessera.credential` for those allowed to see it: the project's administrators
//! (every entry) and each change's author (their own).

use axum::extract::State;
use serde_json::{Value, json};
use tessera_core::authz::{AdministerProject, Browse, OnIssue};
use tessera_core::services::changelog;

use super::issue_input::issue_ref;
use crate::error::ApiResult;
use crate::extract::{Auth, Jira, Params, PathArgs};
use crate::render::{self, CredentialsShown, Viewer};
use crate::state::AppState;

/// Entries per page unless `maxResults` says otherwise, and at most (Jira's own figures).
const PAGE: i64 = 100;
/// Entries shown inside `GET issue?expand=changelog`; `total` counts them all, and the rest
/// are read through this route.
pub(crate) const EMBEDDED_HISTORIES: i64 = 100;

/// Whether the caller sees the credential of every change (ADMINISTER_PROJECTS, scope
/// included), or only of their own.
pub(crate) fn credentials_shown(cap: &OnIssue<Browse>) -> CredentialsShown {
    CredentialsShown {
        all: cap.also::<AdministerProject>().is_ok(),
    }
}

/// BROWSE_PROJECTS. `startAt`, `maxResults` (100 unless given, at most 100).
pub async fn get_changelog(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    params: Params,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let page = params.page(PAGE, PAGE);
    let listed = changelog::list(&*state.store, &cap, page).await?;
    let viewer = Viewer::of(&principal);
    let shown = credentials_shown(&cap);
    let values: Vec<Value> = listed
        .items
        .iter()
        .map(|group| render::history(&state.urls, viewer, group, shown))
        .collect();
    let issue = cap.issue().id;
    let path = |start_at: i64| {
        state.urls.api(&format!(
            "issue/{issue}/changelog?startAt={start_at}&maxResults={}",
            listed.max_results
        ))
    };
    let next = listed.start_at + values.len() as i64;
    let is_last = next >= listed.total || values.is_empty();
    let mut body = json!({
        "self": path(listed.start_at),
        "maxResults": listed.max_results,
        "startAt": listed.start_at,
        "total": listed.total,
        "isLast": is_last,
        "values": values,
    });
    if !is_last {
        body["nextPage"] = json!(path(next));
    }
    Ok(Jira::ok(body))
}
