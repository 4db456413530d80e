//! `/version` and `/component`, and a project's `versions`, `version` (paged) and
//! `components`, as Jira Server serves them. Reading needs BROWSE_PROJECTS on the project,
//! managing ADMINISTER_PROJECTS; a version or component of a project the caller cannot see
//! is not found.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::authz::{AdministerProject, Browse, ProjectRef};
use tessera_core::ids::VersionId;
use tessera_core::model::{Component, Version};
use tessera_core::services::planning::{self, ComponentInput, Placement, VersionInput};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params, PathArgs, no_content};
use crate::render::{Viewer, optional_user};
use crate::state::AppState;
use crate::urls::Urls;

/// Jira's `userReleaseDate` form of `YYYY-MM-DD`: `1/Mar/26`.
fn user_date(date: &str) -> Option<String> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let mut parts = date.split('-');
    let (year, month, day) = (parts.next()?, parts.next()?, parts.next()?);
    let month = MONTHS.get(month.parse::<usize>().ok()?.checked_sub(1)?)?;
    Some(format!(
        "{}/{month}/{}",
        day.parse::<u8>().ok()?,
        year.get(2..)?
    ))
}

pub fn version(urls: &Urls, v: &Version, today: &str) -> Value {
    let mut value = json!({
        "self": urls.api(&format!("version/{}", v.id)),
        "id": v.id.to_string(),
        "name": v.name,
        "archived": v.archived,
        "released": v.released,
        "projectId": v.project_id.0,
    });
    if let Some(description) = &v.description {
        value["description"] = json!(description);
    }
    if let Some(date) = &v.start_date {
        value["startDate"] = json!(date);
        value["userStartDate"] = json!(user_date(date));
    }
    if let Some(date) = &v.release_date {
        value["releaseDate"] = json!(date);
        value["userReleaseDate"] = json!(user_date(date));
        value["overdue"] = json!(!v.released && date.as_str() < today);
    }
    value
}

pub fn component(state: &AppState, viewer: Viewer, c: &Component, project_key: &str) -> Value {
    let lead = optional_user(&state.urls, viewer, c.lead.as_ref());
    let mut value = json!({
        "self": state.urls.api(&format!("component/{}", c.id)),
        "id": c.id.to_string(),
        "name": c.name,
        "assigneeType": c.assignee_type,
        "realAssigneeType": c.assignee_type,
        "isAssigneeTypeValid": c.assignee_type != "COMPONENT_LEAD" || c.lead.is_some(),
        "project": project_key,
        "projectId": c.project_id.0,
    });
    if let Some(description) = &c.description {
        value["description"] = json!(description);
    }
    if !lead.is_null() {
        value["lead"] = lead;
    }
    value
}

/// Today, UTC, as `YYYY-MM-DD` (for `overdue`).
pub fn today(state: &AppState) -> String {
    crate::render::time(state.clock.now())
        .get(..10)
        .unwrap_or_default()
        .to_string()
}

/// `null` removes a date or the description; absence keeps it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::null_or")]
    description: Option<Option<String>>,
    released: Option<bool>,
    archived: Option<bool>,
    #[serde(default, deserialize_with = "crate::extract::null_or")]
    release_date: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::null_or")]
    start_date: Option<Option<String>>,
    project: Option<String>,
    project_id: Option<Value>,
}

/// The project a body names: `project` (a key) or `projectId` (a number or a string).
fn project_ref(project: Option<&str>, project_id: Option<&Value>) -> ApiResult<ProjectRef> {
    match (project, project_id) {
        (Some(key), _) => Ok(ProjectRef::parse(key.trim())),
        (None, Some(Value::Number(id))) => Ok(ProjectRef::parse(&id.to_string())),
        (None, Some(Value::String(id))) => Ok(ProjectRef::parse(id.trim())),
        _ => Err(ApiError::field("project", "Give the project's key or id.")),
    }
}

impl VersionBody {
    fn project_ref(&self) -> ApiResult<ProjectRef> {
        project_ref(self.project.as_deref(), self.project_id.as_ref())
    }

    fn input(self) -> VersionInput {
        VersionInput {
            name: self.name,
            description: self.description,
            released: self.released,
            archived: self.archived,
            release_date: self.release_date,
            start_date: self.start_date,
        }
    }
}

/// ADMINISTER_PROJECTS on the body's project.
pub async fn post_version(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<VersionBody>,
) -> ApiResult<Jira> {
    let project = body.project_ref()?;
    let cap = state
        .authz
        .project::<AdministerProject>(&principal, &project)
        .await?;
    let made = planning::create_version(&*state.store, &cap, body.input()).await?;
    Ok(Jira::created(version(&state.urls, &made, &today(&state))))
}

/// BROWSE_PROJECTS.
pub async fn get_version(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    let (found, _) =
        planning::version_with::<Browse>(&*state.store, &state.authz, &principal, &id).await?;
    Ok(Jira::ok(version(&state.urls, &found, &today(&state))))
}

/// ADMINISTER_PROJECTS.
pub async fn put_version(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    JsonBody(body): JsonBody<VersionBody>,
) -> ApiResult<Jira> {
    let (found, _) =
        planning::version_with::<AdministerProject>(&*state.store, &state.authz, &principal, &id)
            .await?;
    let changed = planning::update_version(&*state.store, &found, body.input()).await?;
    Ok(Jira::ok(version(&state.urls, &changed, &today(&state))))
}

/// ADMINISTER_PROJECTS. `moveFixIssuesTo`, `moveAffectedIssuesTo`.
pub async fn delete_version(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    params: Params,
) -> ApiResult<Response> {
    let (found, _) =
        planning::version_with::<AdministerProject>(&*state.store, &state.authz, &principal, &id)
            .await?;
    planning::delete_version(
        &*state.store,
        &found,
        params.get("moveFixIssuesTo"),
        params.get("moveAffectedIssuesTo"),
    )
    .await?;
    Ok(no_content())
}

#[derive(Debug, Deserialize)]
pub struct MoveBody {
    position: Option<String>,
    after: Option<String>,
}

/// ADMINISTER_PROJECTS. `{"position": "First|Last|Earlier|Later"}` or `{"after": URL}`.
pub async fn post_move_version(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    JsonBody(body): JsonBody<MoveBody>,
) -> ApiResult<Jira> {
    let (found, _) =
        planning::version_with::<AdministerProject>(&*state.store, &state.authz, &principal, &id)
            .await?;
    let placement =
        match (body.position.as_deref(), body.after.as_deref()) {
            (Some("First"), _) => Placement::First,
            (Some("Last"), _) => Placement::Last,
            (Some("Earlier"), _) => Placement::Earlier,
            (Some("Later"), _) => Placement::Later,
            (None, Some(after)) => {
                let id = after.trim_end_matches('/').rsplit('/').next().unwrap_or("");
                Placement::After(VersionId::parse(id).ok_or_else(|| {
                    ApiError::field("after", "Give the self URL of another version.")
                })?)
            }
            _ => {
                return Err(ApiError::field(
                    "position",
                    "The position is First, Last, Earlier or Later, or give after.",
                ));
            }
        };
    let moved = planning::move_version(&*state.store, &found, placement).await?;
    Ok(Jira::ok(version(&state.urls, &moved, &today(&state))))
}

/// BROWSE_PROJECTS: `{"self", "issuesFixedCount", "issuesAffectedCount"}`.
pub async fn get_version_counts(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    let (found, _) =
        planning::version_with::<Browse>(&*state.store, &state.authz, &principal, &id).await?;
    let (fixed, affected) = state
        .store
        .version_issue_counts(found.id)
        .await
        .map_err(tessera_core::error::Error::from)?;
    Ok(Jira::ok(json!({
        "self": state.urls.api(&format!("version/{}", found.id)),
        "issuesFixedCount": fixed,
        "issuesAffectedCount": affected,
    })))
}

/// BROWSE_PROJECTS: every version of the project, in order.
pub async fn get_project_versions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .project::<Browse>(&principal, &ProjectRef::parse(&key))
        .await?;
    let today = today(&state);
    let all = planning::versions(&*state.store, &cap).await?;
    Ok(Jira::ok(Value::Array(
        all.iter()
            .map(|v| version(&state.urls, v, &today))
            .collect(),
    )))
}

/// BROWSE_PROJECTS: the versions a page at a time (`startAt`, `maxResults`, `query` on the
/// name, `status=released,unreleased,archived`).
pub async fn get_project_versions_paged(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    params: Params,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .project::<Browse>(&principal, &ProjectRef::parse(&key))
        .await?;
    let today = today(&state);
    let query = params.get("query").map(str::to_lowercase);
    let statuses = params.list("status");
    let wanted = |v: &Version| {
        let status = if v.archived {
            "archived"
        } else if v.released {
            "released"
        } else {
            "unreleased"
        };
        (statuses.is_empty() || statuses.iter().any(|s| s == status))
            && query
                .as_deref()
                .is_none_or(|q| v.name.to_lowercase().contains(q))
    };
    let all: Vec<Version> = planning::versions(&*state.store, &cap)
        .await?
        .into_iter()
        .filter(wanted)
        .collect();
    let page = params.page(50, 1000);
    let start = usize::try_from(page.start_at).unwrap_or(usize::MAX);
    let shown: Vec<Value> = all
        .iter()
        .skip(start)
        .take(usize::try_from(page.limit).unwrap_or(0))
        .map(|v| version(&state.urls, v, &today))
        .collect();
    let is_last = start.saturating_add(shown.len()) >= all.len();
    Ok(Jira::ok(json!({
        "self": state.urls.api(&format!("project/{key}/version")),
        "maxResults": page.limit,
        "startAt": page.start_at,
        "total": all.len(),
        "isLast": is_last,
        "values": shown,
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ComponentBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::null_or")]
    description: Option<Option<String>>,
    #[serde(default, deserialize_with = "crate::extract::null_or")]
    lead_user_name: Option<Option<String>>,
    assignee_type: Option<String>,
    project: Option<String>,
    project_id: Option<Value>,
}

impl ComponentBody {
    fn project_ref(&self) -> ApiResult<ProjectRef> {
        project_ref(self.project.as_deref(), self.project_id.as_ref())
    }

    fn input(self) -> ComponentInput {
        ComponentInput {
            name: self.name,
            description: self.description,
            lead: self.lead_user_name,
            assignee_type: self.assignee_type,
        }
    }
}

/// ADMINISTER_PROJECTS on the body's project.
pub async fn post_component(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<ComponentBody>,
) -> ApiResult<Jira> {
    let project = body.project_ref()?;
    let cap = state
        .authz
        .project::<AdministerProject>(&principal, &project)
        .await?;
    let key = cap.project().key.clone();
    let made = planning::create_component(&*state.store, &cap, body.input()).await?;
    Ok(Jira::created(component(
        &state,
        Viewer::of(&principal),
        &made,
        &key,
    )))
}

/// BROWSE_PROJECTS.
pub async fn get_component(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    let (found, cap) =
        planning::component_with::<Browse>(&*state.store, &state.authz, &principal, &id).await?;
    Ok(Jira::ok(component(
        &state,
        Viewer::of(&principal),
        &found,
        &cap.project().key,
    )))
}

/// ADMINISTER_PROJECTS.
pub async fn put_component(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    JsonBody(body): JsonBody<ComponentBody>,
) -> ApiResult<Jira> {
    let (found, cap) =
        planning::component_with::<AdministerProject>(&*state.store, &state.authz, &principal, &id)
            .await?;
    let changed = planning::update_component(&*state.store, &found, body.input()).await?;
    Ok(Jira::ok(component(
        &state,
        Viewer::of(&principal),
        &changed,
        &cap.project().key,
    )))
}

/// ADMINISTER_PROJECTS. `moveIssuesTo`.
pub async fn delete_component(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    params: Params,
) -> ApiResult<Response> {
    let (found, _) =
        planning::component_with::<AdministerProject>(&*state.store, &state.authz, &principal, &id)
            .await?;
    planning::delete_component(&*state.store, &found, params.get("moveIssuesTo")).await?;
    Ok(no_content())
}

/// BROWSE_PROJECTS: `{"self", "issueCount"}`.
pub async fn get_component_counts(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    let (found, _) =
        planning::component_with::<Browse>(&*state.store, &state.authz, &principal, &id).await?;
    let count = state
        .store
        .component_issue_count(found.id)
        .await
        .map_err(tessera_core::error::Error::from)?;
    Ok(Jira::ok(json!({
        "self": state.urls.api(&format!("component/{}", found.id)),
        "issueCount": count,
    })))
}

/// BROWSE_PROJECTS: the project's components, by name.
pub async fn get_project_components(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .project::<Browse>(&principal, &ProjectRef::parse(&key))
        .await?;
    let viewer = Viewer::of(&principal);
    let all = planning::components(&*state.store, &cap).await?;
    let project_key = cap.project().key.clone();
    Ok(Jira::ok(Value::Array(
        all.iter()
            .map(|c| component(&state, viewer, c, &project_key))
            .collect(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_dates_are_jiras() {
        assert_eq!(user_date("2026-03-01").as_deref(), Some("1/Mar/26"));
        assert_eq!(user_date("2026-12-31").as_deref(), Some("31/Dec/26"));
        assert_eq!(user_date("2026-13-01"), None);
    }
}
