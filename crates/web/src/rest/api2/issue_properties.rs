//! `issue/{key}/properties`: issue properties in Jira Server's shapes (`{"keys": [{"self",
//! "key"}]}`, `{"key", "value"}`), as [`tessera_core::services::issue_properties`] allows.

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use tessera_core::authz::{Browse, Edit};
use tessera_core::services::issue_properties;

use crate::error::ApiResult;
use crate::extract::{Auth, Jira, JsonBody, PathArgs, no_content};
use crate::rest::api2::issue_input::issue_ref;
use crate::state::AppState;
use crate::urls::encode;

fn property_url(state: &AppState, issue: &str, key: &str) -> String {
    state
        .urls
        .api(&format!("issue/{issue}/properties/{}", encode(key)))
}

/// BROWSE_PROJECTS: the issue's property keys.
pub async fn get_properties(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(issue): PathArgs<String>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&issue))
        .await?;
    let key = cap.issue().key();
    let keys: Vec<Value> = issue_properties::keys(&*state.store, &cap)
        .await?
        .iter()
        .map(|k| json!({"self": property_url(&state, &key, k), "key": k}))
        .collect();
    Ok(Jira::ok(json!({ "keys": keys })))
}

/// BROWSE_PROJECTS: one property.
pub async fn get_property(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((issue, key)): PathArgs<(String, String)>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&issue))
        .await?;
    let text = issue_properties::get(&*state.store, &cap, &key).await?;
    let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    Ok(Jira::ok(json!({"key": key, "value": value})))
}

/// EDIT_ISSUES: the body (any JSON, at most 32 KiB) becomes the property's value. 201 when
/// new, 200 when replaced, as Jira.
pub async fn put_property(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((issue, key)): PathArgs<(String, String)>,
    JsonBody(value): JsonBody<Value>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Edit>(&principal, &issue_ref(&issue))
        .await?;
    let created = issue_properties::set(
        &*state.store,
        &cap,
        &key,
        &value.to_string(),
        state.clock.now(),
    )
    .await?;
    let body = json!({"key": key, "value": value});
    Ok(if created {
        Jira::created(body)
    } else {
        Jira::ok(body)
    })
}

/// EDIT_ISSUES. 204.
pub async fn delete_property(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((issue, key)): PathArgs<(String, String)>,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<Edit>(&principal, &issue_ref(&issue))
        .await?;
    issue_properties::delete(&*state.store, &cap, &key).await?;
    Ok(no_content())
}
