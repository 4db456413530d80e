//! `/issue/{key}/worklog` and the incremental exports `/worklog/updated`, `/worklog/deleted`
//! and `/worklog/list`, as Jira Server serves them.
//!
//! `timeSpent` is Jira's duration ("1w 2d 3h 30m"; `timeSpentSeconds` also works), `started`
//! Jira's timestamp. `adjustEstimate` says what happens to the issue's remaining estimate:
//! `auto` (the default: reduced by the time logged, or by a change's difference, increased by
//! a deleted worklog's), `leave`, `new` (to `newEstimate`), `manual` (reduced by `reduceBy`
//! when logging, increased by `increaseBy` when deleting).

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::authz::{Browse, WorkOnIssues};
use tessera_core::clock::Timestamp;
use tessera_core::ids::WorklogId;
use tessera_core::model::EstimateChange;
use tessera_core::services::worklogs::{self, WorklogInput};
use tessera_core::worktime;

use super::issue_input::issue_ref;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params, PathArgs, no_content};
use crate::render::{Viewer, parse_time, worklog};
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WorklogBody {
    comment: Option<String>,
    started: Option<String>,
    time_spent: Option<String>,
    time_spent_seconds: Option<i64>,
    visibility: Option<Value>,
}

fn duration(field: &str, text: &str) -> ApiResult<i64> {
    worktime::parse(text).map_err(|e| ApiError::field(field, e))
}

impl WorklogBody {
    fn input(self) -> ApiResult<WorklogInput> {
        if self.visibility.is_some_and(|v| !v.is_null()) {
            return Err(ApiError::field(
                "visibility",
                "Worklog visibility restrictions are not supported.",
            ));
        }
        let started = match self.started.as_deref() {
            None => None,
            Some(text) => Some(parse_time(text).ok_or_else(|| {
                ApiError::field(
                    "started",
                    "Give the time the work started as 2024-01-15T10:30:00.000+0000.",
                )
            })?),
        };
        let time_spent_seconds = match (self.time_spent.as_deref(), self.time_spent_seconds) {
            (Some(text), _) => Some(duration("timeLogged", text)?),
            (None, Some(seconds)) if (60..=worktime::MAX_SECONDS).contains(&seconds) => {
                Some(seconds)
            }
            (None, Some(_)) => {
                return Err(ApiError::field(
                    "timeLogged",
                    "The time spent must be at least a minute.",
                ));
            }
            (None, None) => None,
        };
        Ok(WorklogInput {
            comment: self.comment,
            started,
            time_spent_seconds,
        })
    }
}

/// What `adjustEstimate` (and its companion parameter) asks; `increase` names the parameter
/// `manual` reads (`reduceBy` when logging, `increaseBy` when deleting).
fn estimate(params: &Params, manual: Option<&str>) -> ApiResult<EstimateChange> {
    let parameter = |name: &str| {
        params
            .get(name)
            .ok_or_else(|| ApiError::field(name, format!("Give {name} with this adjustEstimate.")))
            .and_then(|text| duration(name, text))
    };
    match params.get("adjustEstimate").unwrap_or("auto") {
        "auto" => Ok(EstimateChange::Auto),
        "leave" => Ok(EstimateChange::Leave),
        "new" => Ok(EstimateChange::Set(parameter("newEstimate")?)),
        "manual" => match manual {
            Some("reduceBy") => Ok(EstimateChange::Reduce(parameter("reduceBy")?)),
            Some(name) => Ok(EstimateChange::Reduce(-parameter(name)?)),
            None => Err(ApiError::field(
                "adjustEstimate",
                "manual is not accepted here: use auto, new or leave.",
            )),
        },
        _ => Err(ApiError::field(
            "adjustEstimate",
            "adjustEstimate is auto, new, manual or leave.",
        )),
    }
}

/// BROWSE_PROJECTS. `startAt`, `maxResults`.
pub async fn get_worklogs(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    params: Params,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let listed = worklogs::list(&*state.store, &cap, params.page(1000, 5000)).await?;
    let viewer = Viewer::of(&principal);
    Ok(Jira::ok(json!({
        "startAt": listed.start_at,
        "maxResults": listed.max_results,
        "total": listed.total,
        "worklogs": listed.items.iter().map(|w| worklog(&state.urls, viewer, w)).collect::<Vec<Value>>(),
    })))
}

/// WORK_ON_ISSUES.
pub async fn post_worklog(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    params: Params,
    JsonBody(body): JsonBody<WorklogBody>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<WorkOnIssues>(&principal, &issue_ref(&key))
        .await?;
    let change = estimate(&params, Some("reduceBy"))?;
    let input = body.input()?;
    let added = worklogs::add(&*state.store, &cap, input, change, state.clock.now()).await?;
    Ok(Jira::created(worklog(
        &state.urls,
        Viewer::of(&principal),
        &added,
    )))
}

/// BROWSE_PROJECTS.
pub async fn get_worklog(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let found = worklogs::get(&*state.store, &cap, &id).await?;
    Ok(Jira::ok(worklog(
        &state.urls,
        Viewer::of(&principal),
        &found,
    )))
}

/// EDIT_OWN_WORKLOGS (one's own) or EDIT_ALL_WORKLOGS.
pub async fn put_worklog(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
    params: Params,
    JsonBody(body): JsonBody<WorklogBody>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let change = estimate(&params, None)?;
    let input = body.input()?;
    let updated =
        worklogs::update(&*state.store, &cap, &id, input, change, state.clock.now()).await?;
    Ok(Jira::ok(worklog(
        &state.urls,
        Viewer::of(&principal),
        &updated,
    )))
}

/// DELETE_OWN_WORKLOGS (one's own) or DELETE_ALL_WORKLOGS.
pub async fn delete_worklog(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let change = estimate(&params, Some("increaseBy"))?;
    worklogs::delete(&*state.store, &cap, &id, change, state.clock.now()).await?;
    Ok(no_content())
}

/// `since` in milliseconds (0 if absent).
fn since(params: &Params) -> ApiResult<Timestamp> {
    match params.get("since") {
        None => Ok(Timestamp::from_millis(0)),
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|ms| *ms >= 0)
            .map(Timestamp::from_millis)
            .ok_or_else(|| ApiError::field("since", "since is a time in milliseconds.")),
    }
}

async fn export(
    state: &AppState,
    principal: &tessera_core::principal::Principal,
    params: &Params,
    deleted: bool,
) -> ApiResult<Jira> {
    let browsable = state.authz.browsable_projects(principal).await?;
    let from = since(params)?;
    let page = worklogs::changes(&*state.store, &browsable, from, deleted).await?;
    let name = if deleted { "deleted" } else { "updated" };
    let until = page.until.as_millis();
    let mut body = json!({
        "values": page.changes.iter().map(|c| json!({
            "worklogId": c.worklog.0,
            "updatedTime": c.at.as_millis(),
            "properties": [],
        })).collect::<Vec<Value>>(),
        "since": from.as_millis(),
        "until": until,
        "self": state.urls.api(&format!("worklog/{name}?since={}", from.as_millis())),
        "lastPage": page.last_page,
    });
    if !page.last_page {
        body["nextPage"] = json!(state.urls.api(&format!("worklog/{name}?since={until}")));
    }
    Ok(Jira::ok(body))
}

/// Any user: worklogs changed at or after `since` (ms) in projects the caller may browse,
/// at most 1000 a page, oldest change first; `nextPage` while more follow.
pub async fn get_updated(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    export(&state, &principal, &params, false).await
}

/// Any user: worklogs deleted at or after `since` (ms), as `worklog/updated`.
pub async fn get_deleted(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    export(&state, &principal, &params, true).await
}

#[derive(Debug, Deserialize)]
pub struct IdsBody {
    ids: Vec<Value>,
}

/// Any user: the worklogs among `ids` (at most 1000) in projects the caller may browse.
pub async fn post_list(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<IdsBody>,
) -> ApiResult<Jira> {
    let ids: Vec<WorklogId> = body
        .ids
        .iter()
        .filter_map(|id| match id {
            Value::Number(n) => n.as_i64().map(WorklogId),
            Value::String(s) => WorklogId::parse(s),
            _ => None,
        })
        .collect();
    let browsable = state.authz.browsable_projects(&principal).await?;
    let found = worklogs::by_ids(&*state.store, &browsable, &ids).await?;
    let viewer = Viewer::of(&principal);
    Ok(Jira::ok(Value::Array(
        found
            .iter()
            .map(|w| worklog(&state.urls, viewer, w))
            .collect(),
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::render::time;

    #[test]
    fn jira_times_are_read() {
        let at = parse_time("2024-01-15T10:30:00.000+0000").unwrap();
        assert_eq!(time(at), "2024-01-15T10:30:00.000+0000");
        assert_eq!(parse_time("2024-01-15T12:30:00.000+0200"), Some(at));
        assert_eq!(parse_time("2024-01-15T10:30:00Z"), Some(at));
        assert_eq!(parse_time("2024-01-15"), None);
    }
}
