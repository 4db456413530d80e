//! `/issue/{key}/watchers`: who watches an issue. Those who can browse the issue list its
//! watchers and watch or unwatch it themselves (with a credential that may write); adding or
//! removing others needs MANAGE_WATCHERS (project administrators). An issue the caller cannot
//! see has no watcher list (404).

use axum::extract::State;
use axum::response::Response;
use serde_json::Value;
use tessera_core::authz::Browse;
use tessera_core::services::watchers;

use super::issue_input::issue_ref;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, OptionalJsonBody, Params, PathArgs, no_content};
use crate::render::{self, Viewer};
use crate::state::AppState;

/// BROWSE_PROJECTS: `{self, isWatching, watchCount, watchers[]}`.
pub async fn get_watchers(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let list = watchers::list(&*state.store, &cap).await?;
    Ok(Jira::ok(render::watchers(
        &state.urls,
        Viewer::of(&principal),
        cap.issue(),
        &list,
    )))
}

/// BROWSE_PROJECTS (and the write scope) to add oneself; MANAGE_WATCHERS to add another.
/// The body is the user name as a JSON string (`"alice"`), as Jira takes it; no body (or
/// `null`) adds the caller. 204.
pub async fn post_watcher(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    OptionalJsonBody(body): OptionalJsonBody<Value>,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let name = match &body {
        None | Some(Value::Null) => None,
        Some(Value::String(name)) if !name.trim().is_empty() => Some(name.as_str()),
        Some(_) => {
            return Err(ApiError::field(
                "watcher",
                "Give the user to add as a JSON string: \"username\".",
            ));
        }
    };
    watchers::add(&*state.store, &cap, name, state.clock.now()).await?;
    Ok(no_content())
}

/// BROWSE_PROJECTS (and the write scope) to remove oneself; MANAGE_WATCHERS to remove
/// another. `?username=` names the user (required, as in Jira). 204.
pub async fn delete_watcher(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    params: Params,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let Some(name) = params.text("username") else {
        return Err(ApiError::field(
            "username",
            "The user to remove is required: ?username=NAME.",
        ));
    };
    watchers::remove(&*state.store, &cap, Some(name)).await?;
    Ok(no_content())
}
