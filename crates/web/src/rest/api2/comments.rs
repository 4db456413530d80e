//! `/issue/{key}/comment`.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::authz::{AddComments, Browse};
use tessera_core::services::comments::{self, VisibilityInput};

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
    #[serde(default, deserialize_with = "crate::extract::null_or")]
    visibility: Option<Option<Value>>,
}

/// Jira's `{"type": "role"|"group", "value": name}`.
pub fn visibility_input(value: &Value) -> ApiResult<VisibilityInput> {
    let text = |name: &str| value.get(name).and_then(Value::as_str).map(str::trim);
    match (text("type"), text("value")) {
        (Some(kind), Some(name)) if !name.is_empty() => match kind.to_ascii_lowercase().as_str() {
            "role" => Ok(VisibilityInput::Role(name.to_string())),
            "group" => Ok(VisibilityInput::Group(name.to_string())),
            _ => Err(ApiError::field(
                "visibility",
                "The visibility type is role or group.",
            )),
        },
        _ => Err(ApiError::field(
            "visibility",
            "Give the visibility as {\"type\": \"role\" or \"group\", \"value\": its name}.",
        )),
    }
}

/// The text (an absent body is checked, as empty, by the service after the permission
/// check) and the restriction asked: `None` not named, `Some(None)` lifted.
fn parts(body: CommentBody) -> ApiResult<(String, Option<Option<VisibilityInput>>)> {
    let visibility = match body.visibility {
        None => None,
        Some(None) => Some(None),
        Some(Some(value)) => Some(Some(visibility_input(&value)?)),
    };
    Ok((body.body.unwrap_or_default(), visibility))
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
    let (text, visibility) = parts(body)?;
    let restricted = visibility.flatten();
    let added = comments::add(
        &*state.store,
        &cap,
        &text,
        restricted.as_ref(),
        state.clock.now(),
    )
    .await?;
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
    let (text, visibility) = parts(body)?;
    let restricted = visibility.as_ref().map(Option::as_ref);
    let updated = comments::update(
        &*state.store,
        &cap,
        &id,
        &text,
        restricted,
        state.clock.now(),
    )
    .await?;
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
