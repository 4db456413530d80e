//! The fixed catalogues: fields, issue types, priorities, statuses, status categories,
//! resolutions. Any authenticated user.

use axum::extract::State;
use serde_json::Value;
use tessera_core::catalog::{FIELDS, IssueType, Priority, Resolution, Status, StatusCategory};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, PathArgs};
use crate::render;
use crate::state::AppState;

fn list(items: impl IntoIterator<Item = Value>) -> Jira {
    Jira::ok(Value::Array(items.into_iter().collect()))
}

/// One catalogue entry by its numeric id, or 404 naming the kind of thing.
fn one<T>(
    id: &str,
    from_id: fn(i64) -> Option<T>,
    render: impl FnOnce(T) -> Value,
    kind: &str,
) -> ApiResult<Jira> {
    id.parse()
        .ok()
        .and_then(from_id)
        .map(|entry| Jira::ok(render(entry)))
        .ok_or_else(|| ApiError::NotFound(format!("No {kind} with id '{id}' exists.")))
}

/// Any authenticated user.
pub async fn get_fields(Auth(_): Auth) -> Jira {
    list(FIELDS.iter().map(render::field))
}

/// Any authenticated user.
pub async fn get_issue_types(State(state): State<AppState>, Auth(_): Auth) -> Jira {
    list(IssueType::ALL.map(|t| render::issue_type(&state.urls, t)))
}

/// Any authenticated user.
pub async fn get_issue_type(
    State(state): State<AppState>,
    Auth(_): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    one(
        &id,
        IssueType::from_id,
        |t| render::issue_type(&state.urls, t),
        "issue type",
    )
}

/// Any authenticated user.
pub async fn get_priorities(State(state): State<AppState>, Auth(_): Auth) -> Jira {
    list(Priority::ALL.map(|p| render::priority_full(&state.urls, p)))
}

/// Any authenticated user.
pub async fn get_priority(
    State(state): State<AppState>,
    Auth(_): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    one(
        &id,
        Priority::from_id,
        |p| render::priority_full(&state.urls, p),
        "priority",
    )
}

/// Any authenticated user.
pub async fn get_statuses(State(state): State<AppState>, Auth(_): Auth) -> Jira {
    list(Status::ALL.map(|s| render::status(&state.urls, s)))
}

/// Any authenticated user. By id or by name.
pub async fn get_status(
    State(state): State<AppState>,
    Auth(_): Auth,
    PathArgs(id_or_name): PathArgs<String>,
) -> ApiResult<Jira> {
    Status::ALL
        .into_iter()
        .find(|s| s.id().to_string() == id_or_name || s.name().eq_ignore_ascii_case(&id_or_name))
        .map(|s| Jira::ok(render::status(&state.urls, s)))
        .ok_or_else(|| {
            ApiError::NotFound(format!("The status with id '{id_or_name}' does not exist"))
        })
}

/// Any authenticated user.
pub async fn get_status_categories(State(state): State<AppState>, Auth(_): Auth) -> Jira {
    list(StatusCategory::ALL.map(|c| render::status_category(&state.urls, c)))
}

/// Any authenticated user. By id or by key.
pub async fn get_status_category(
    State(state): State<AppState>,
    Auth(_): Auth,
    PathArgs(id_or_key): PathArgs<String>,
) -> ApiResult<Jira> {
    StatusCategory::ALL
        .into_iter()
        .find(|c| c.id().to_string() == id_or_key || c.key() == id_or_key)
        .map(|c| Jira::ok(render::status_category(&state.urls, c)))
        .ok_or_else(|| ApiError::NotFound(format!("No status category '{id_or_key}' exists.")))
}

/// Any authenticated user.
pub async fn get_resolutions(State(state): State<AppState>, Auth(_): Auth) -> Jira {
    list(Resolution::ALL.map(|r| render::resolution(&state.urls, r)))
}

/// Any authenticated user.
pub async fn get_resolution(
    State(state): State<AppState>,
    Auth(_): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    one(
        &id,
        Resolution::from_id,
        |r| render::resolution(&state.urls, r),
        "resolution",
    )
}
