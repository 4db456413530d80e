//! `/group`, `/group/member`, `/group/user`: read by any user, changed by administrators.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::model::PageRequest;
use tessera_core::services::groups;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params};
use crate::render::{Viewer, group, user};
use crate::state::AppState;
use crate::urls::encode;

fn group_name(params: &Params) -> ApiResult<&str> {
    params
        .text("groupname")
        .ok_or_else(|| ApiError::bad_request("The groupname query parameter was not provided"))
}

/// `users[10:59]` from `expand`, as the Python client pages group members.
fn users_range(params: &Params) -> Option<PageRequest> {
    params.list("expand").iter().find_map(|e| {
        let rest = e.strip_prefix("users")?;
        if rest.is_empty() {
            return Some(PageRequest {
                start_at: 0,
                limit: 50,
            });
        }
        let (from, to) = rest.strip_prefix('[')?.strip_suffix(']')?.split_once(':')?;
        let from: i64 = from.trim().parse().ok()?;
        let to: i64 = to.trim().parse().ok()?;
        let size = to.checked_sub(from)?.checked_add(1)?;
        (from >= 0 && size > 0).then(|| PageRequest {
            start_at: from,
            limit: size.min(1000),
        })
    })
}

/// Any authenticated user. `?groupname=`; `expand=users` or `users[a:b]` lists members.
pub async fn get_group(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    let reader = state.authz.read_users(&principal)?;
    let name = group_name(&params)?;
    let found = groups::find_group(&*state.store, &reader, name).await?;
    let page = users_range(&params).unwrap_or(PageRequest {
        start_at: 0,
        limit: 0,
    });
    let members = groups::members(&*state.store, &reader, &found.name, false, page).await?;
    let viewer = Viewer::of(&principal);
    let items: Vec<Value> = members
        .items
        .iter()
        .map(|u| user(&state.urls, viewer, u))
        .collect();
    let end = if items.is_empty() {
        0
    } else {
        page.start_at + items.len() as i64 - 1
    };
    let mut value = group(&state.urls, &found.display_name);
    value["users"] = json!({
        "size": members.total,
        "items": items,
        "max-results": page.limit,
        "start-index": page.start_at,
        "end-index": end,
    });
    value["expand"] = json!("users");
    Ok(Jira::ok(value))
}

/// Any authenticated user. `?groupname=&includeInactiveUsers=&startAt=&maxResults=`.
pub async fn get_group_member(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    let reader = state.authz.read_users(&principal)?;
    let name = group_name(&params)?;
    let page = params.page(50, 1000);
    let include_inactive = params.flag("includeInactiveUsers", false);
    let members = groups::members(&*state.store, &reader, name, include_inactive, page).await?;
    let viewer = Viewer::of(&principal);
    // A page of zero never reaches the end: say it is the last, or clients page forever.
    let is_last = page.limit == 0
        || page.start_at.saturating_add(members.items.len() as i64) >= members.total;
    let self_url = |start: i64| {
        state.urls.api(&format!(
            "group/member?groupname={}&includeInactiveUsers={include_inactive}&startAt={start}&maxResults={}",
            encode(name),
            page.limit
        ))
    };
    let mut value = json!({
        "self": self_url(page.start_at),
        "maxResults": page.limit,
        "startAt": page.start_at,
        "total": members.total,
        "isLast": is_last,
        "values": members.items.iter().map(|u| user(&state.urls, viewer, u)).collect::<Vec<_>>(),
    });
    if !is_last {
        value["nextPage"] = json!(self_url(page.start_at + page.limit));
    }
    Ok(Jira::ok(value))
}

#[derive(Debug, Deserialize)]
pub struct NameBody {
    name: Option<String>,
}

fn empty_group(state: &AppState, name: &str) -> Value {
    let mut value = group(&state.urls, name);
    value["users"] =
        json!({"size": 0, "items": [], "max-results": 50, "start-index": 0, "end-index": 0});
    value["expand"] = json!("users");
    value
}

/// Administrators. `{"name"}`.
pub async fn post_group(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<NameBody>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let created =
        groups::create_group(&*state.store, &admin, body.name.as_deref().unwrap_or("")).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, group = %created.name, "group created");
    Ok(Jira::created(empty_group(&state, &created.display_name)))
}

/// Administrators. `?groupname=`. The built-in groups cannot be deleted.
pub async fn delete_group(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Response> {
    let admin = state.authz.administer(&principal)?;
    let name = group_name(&params)?;
    groups::delete_group(&*state.store, &admin, name).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, group = %name, "group deleted");
    Ok(StatusCode::OK.into_response())
}

/// Administrators. `?groupname=`; `{"name": username}`.
pub async fn post_group_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
    JsonBody(body): JsonBody<NameBody>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let name = group_name(&params)?;
    let username = body
        .name
        .ok_or_else(|| ApiError::field("name", "You must specify a username."))?;
    let joined = groups::add_member(&*state.store, &admin, name, &username).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, user = %username, group = %joined.name, "user added to group");
    Ok(Jira::created(empty_group(&state, &joined.display_name)))
}

/// Administrators. `?groupname=&username=`.
pub async fn delete_group_user(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Response> {
    let admin = state.authz.administer(&principal)?;
    let name = group_name(&params)?;
    let username = params
        .text("username")
        .ok_or_else(|| ApiError::bad_request("The username query parameter was not provided"))?;
    groups::remove_member(&*state.store, &admin, name, username).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, user = %username, group = %name, "user removed from group");
    Ok(StatusCode::OK.into_response())
}
