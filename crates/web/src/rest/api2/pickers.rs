//! The pickers a client fills its fields from: `user/assignable/search`,
//! `user/assignable/multiProjectSearch`, `user/viewissue/search` and `groups/picker`.
//! Looking users and groups up needs the credential's `read:jira-user` scope; naming a
//! project or issue needs seeing it. Assignable means active and able to browse the project,
//! tessera's assignment rule.

use axum::extract::State;
use serde_json::{Value, json};
use tessera_core::authz::{Browse, IssueRef, ProjectRef};
use tessera_core::ids::ProjectId;
use tessera_core::principal::Principal;
use tessera_core::services::users;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, Params};
use crate::render::{Viewer, user};
use crate::state::AppState;

/// The project a picker is about: `project`/`projectKey`, or the project of `issueKey`.
async fn project_of(
    state: &AppState,
    principal: &Principal,
    params: &Params,
) -> ApiResult<ProjectId> {
    if let Some(issue) = params.text("issueKey").or_else(|| params.text("issueId")) {
        let cap = state
            .authz
            .issue::<Browse>(principal, &IssueRef::parse(issue))
            .await?;
        return Ok(cap.issue().project_id);
    }
    let key = params
        .text("project")
        .or_else(|| params.text("projectKey"))
        .ok_or_else(|| {
            ApiError::bad_request("Give the project (project or projectKey) or the issueKey.")
        })?;
    let cap = state
        .authz
        .project::<Browse>(principal, &ProjectRef::parse(key))
        .await?;
    Ok(cap.project().id)
}

async fn answer(
    state: &AppState,
    principal: &Principal,
    params: &Params,
    projects: &[ProjectId],
) -> ApiResult<Jira> {
    let reader = state.authz.read_users(principal)?;
    let text = params
        .get("username")
        .or_else(|| params.get("query"))
        .unwrap_or("");
    let found = users::assignable(
        &*state.store,
        &reader,
        projects,
        text,
        params.page(50, 1000),
    )
    .await?;
    let viewer = Viewer::of(principal);
    Ok(Jira::ok(Value::Array(
        found.iter().map(|u| user(&state.urls, viewer, u)).collect(),
    )))
}

/// Any user who sees the project (or issue): `user/assignable/search`, users who may be
/// assigned its issues, and `user/viewissue/search`, users who may see it: in tessera the
/// same users (assignable is able to browse).
pub async fn get_project_users(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    let project = project_of(&state, &principal, &params).await?;
    answer(&state, &principal, &params, &[project]).await
}

/// Any user who sees every project in `projectKeys`: users assignable in all of them.
pub async fn get_assignable_multi(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    let keys = params.list("projectKeys");
    if keys.is_empty() {
        return Err(ApiError::bad_request("Give projectKeys."));
    }
    let mut projects = Vec::with_capacity(keys.len());
    for key in &keys {
        let cap = state
            .authz
            .project::<Browse>(&principal, &ProjectRef::parse(key))
            .await?;
        projects.push(cap.project().id);
    }
    answer(&state, &principal, &params, &projects).await
}

/// Any user (with `read:jira-user`): groups whose name contains `query`, without those in
/// `exclude`, at most `maxResults` (20).
pub async fn get_groups_picker(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    state.authz.read_users(&principal)?;
    let query = params.get("query").unwrap_or("").trim().to_string();
    let exclude = params.list("exclude");
    let limit = params
        .number("maxResults")
        .filter(|n| *n >= 0)
        .unwrap_or(20)
        .min(1000);
    let (groups, total) = state
        .store
        .search_groups(&query, limit + exclude.len() as i64)
        .await
        .map_err(tessera_core::error::Error::from)?;
    let shown: Vec<Value> = groups
        .iter()
        .filter(|g| !exclude.iter().any(|e| e.trim().to_lowercase() == g.name))
        .take(usize::try_from(limit).unwrap_or(0))
        .map(|g| {
            let html = maud::html! { (g.display_name) }.into_string();
            json!({"name": g.display_name, "html": html, "labels": []})
        })
        .collect();
    Ok(Jira::ok(json!({
        "header": format!("Showing {} of {} matching groups", shown.len(), total),
        "total": total,
        "groups": shown,
    })))
}
