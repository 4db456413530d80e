//! `/issue/{key}/comment`.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::authz::{AddComments, Browse};
use tessera_core::services::comments;

use super::issue_input::issue_ref;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params, PathArgs, no_content};
use crate::render::{Viewer, comment, rendered_body};
use crate::state::AppState;

/// BROWSE_PROJECTS. `startAt`, `maxResults`, `orderBy=created|-created`.
pub async fn get_comments(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    params: Params,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let page = params.page(100, 500);
    let newest_first = params
        .get("orderBy")
        .is_some_and(|o| o.trim().starts_with('-'));
    let listed = comments::list(&*state.store, &cap, page, newest_first).await?;
    let viewer = Viewer::of(&principal);
    let rendered = params.list("expand").iter().any(|e| e == "renderedBody");
    Ok(Jira::ok(json!({
        "startAt": listed.start_at,
        "maxResults": listed.max_results,
        "total": listed.total,
        "comments": listed.items.iter().map(|c| shown(&state, viewer, c, rendered)).collect::<Vec<Value>>(),
    })))
}

#[derive(Debug, Deserialize)]
pub struct CommentBody {
    body: Option<String>,
    visibility: Option<Value>,
}

fn body_text(body: CommentBody) -> ApiResult<String> {
    if body.visibility.is_some_and(|v| !v.is_null()) {
        return Err(ApiError::field(
            "visibility",
            "Comment visibility restrictions are not supported.",
        ));
    }
    // An absent body is checked (as empty) by the service, after the permission check.
    Ok(body.body.unwrap_or_default())
}

/// ADD_COMMENTS. `{"body"}`; `visibility` restrictions are refused rather than ignored.
pub async fn post_comment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    JsonBody(body): JsonBody<CommentBody>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<AddComments>(&principal, &issue_ref(&key))
        .await?;
    let text = body_text(body)?;
    let added = comments::add(&*state.store, &cap, &text, state.clock.now()).await?;
    Ok(Jira::created(comment(
        &state.urls,
        Viewer::of(&principal),
        &added,
    )))
}

/// A comment, with its `renderedBody` when `expand=renderedBody` asks for it.
fn shown(
    state: &AppState,
    viewer: Viewer,
    found: &tessera_core::model::Comment,
    rendered: bool,
) -> Value {
    let mut value = comment(&state.urls, viewer, found);
    if rendered {
        value["renderedBody"] = json!(rendered_body(&found.body));
    }
    value
}

/// BROWSE_PROJECTS. `expand=renderedBody`.
pub async fn get_comment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
    params: Params,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let found = comments::get(&*state.store, &cap, &id).await?;
    let rendered = params.list("expand").iter().any(|e| e == "renderedBody");
    Ok(Jira::ok(shown(
        &state,
        Viewer::of(&principal),
        &found,
        rendered,
    )))
}

/// The comment's author (while they may add comments), or ADMINISTER_PROJECTS.
pub async fn put_comment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<CommentBody>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let text = body_text(body)?;
    let updated = comments::update(&*state.store, &cap, &id, &text, state.clock.now()).await?;
    Ok(Jira::ok(comment(
        &state.urls,
        Viewer::of(&principal),
        &updated,
    )))
}

/// The comment's author (while they may add comments), or ADMINISTER_PROJECTS.
pub async fn delete_comment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    comments::delete(&*state.store, &cap, &id).await?;
    Ok(no_content())
}
