//! `/issue`: create, read, edit, delete, transitions and assignment.

use axum::body::Bytes;
use axum::extract::{OriginalUri, State};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tessera_core::authz::{Assign, Browse, CreateIssues, Delete, Edit, Transition};
use tessera_core::model::PageRequest;
use tessera_core::principal::Principal;
use tessera_core::services::{
    attachments, changelog, comments, issues, links, votes, watchers, worklogs,
};

use super::changelog::{EMBEDDED_HISTORIES, credentials_shown};
use super::issue_input::{self, Mode, issue_ref};
use super::issue_meta;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params, PathArgs, no_content};
use crate::render::{self, IssueExtras, Viewer};
use crate::responses::{ReadKey, json_response};
use crate::state::AppState;

/// Comments shown inside `GET issue` (the rest through `GET issue/{key}/comment`; `total`
/// counts them all). Bounded, so that one issue cannot make every read of it huge.
pub(crate) const EMBEDDED_COMMENTS: i64 = 100;
/// Worklogs shown in an issue's `worklog` field (Jira shows 20; the rest by `issue/{key}/worklog`).
pub(crate) const EMBEDDED_WORKLOGS: i64 = 20;

/// CREATE_ISSUES in the project named by `fields.project`.
pub async fn post_issue(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Jira> {
    let project = issue_input::project_of(&body)?;
    let cap = state
        .authz
        .project::<CreateIssues>(&principal, &project)
        .await?;
    let input = issue_input::parse(&body, Mode::Create)?;
    let created = issues::create_issue(&*state.store, &cap, &input, state.clock.now()).await?;
    Ok(Jira::created(json!({
        "id": created.id.to_string(),
        "key": created.key(),
        "self": state.urls.api(&format!("issue/{}", created.id)),
    })))
}

/// Most issues one `POST issue/bulk` creates.
pub const MAX_BULK_ISSUES: usize = 1000;

/// One issue of a bulk request: CREATE_ISSUES in its project, as for `POST issue`.
async fn create_one(
    state: &AppState,
    principal: &tessera_core::principal::Principal,
    body: &Value,
) -> ApiResult<Value> {
    let project = issue_input::project_of(body)?;
    let cap = state
        .authz
        .project::<CreateIssues>(principal, &project)
        .await?;
    let input = issue_input::parse(body, Mode::Create)?;
    let created = issues::create_issue(&*state.store, &cap, &input, state.clock.now()).await?;
    Ok(json!({
        "id": created.id.to_string(),
        "key": created.key(),
        "self": state.urls.api(&format!("issue/{}", created.id)),
    }))
}

/// `{"issueUpdates": [{"fields": ..., "update": ...}, ...]}`: each issue created as by
/// `POST issue`, on its own (one refused does not stop the others), at most
/// [`MAX_BULK_ISSUES`]. 201 `{"issues": [...], "errors": [{"status", "elementErrors",
/// "failedElementNumber"}]}` when any was created; when none was, the first refusal's status
/// with the same body.
pub async fn post_issue_bulk(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let Some(updates) = body.get("issueUpdates").and_then(Value::as_array) else {
        return Err(ApiError::field(
            "issueUpdates",
            "Send the issues to create as a list in issueUpdates.",
        ));
    };
    if updates.len() > MAX_BULK_ISSUES {
        return Err(ApiError::field(
            "issueUpdates",
            format!("At most {MAX_BULK_ISSUES} issues can be created at once."),
        ));
    }
    let mut made = Vec::new();
    let mut errors = Vec::new();
    let mut first_status = None;
    for (n, update) in updates.iter().enumerate() {
        match create_one(&state, &principal, update).await {
            Ok(issue) => made.push(issue),
            Err(error @ ApiError::Internal(_)) => return Err(error),
            Err(error) => {
                let status = error.status();
                first_status.get_or_insert(status);
                errors.push(json!({
                    "status": status.as_u16(),
                    "elementErrors": crate::error::body_of(error),
                    "failedElementNumber": n,
                }));
            }
        }
    }
    let status = match (made.is_empty(), first_status) {
        (true, Some(status)) => status,
        _ => axum::http::StatusCode::CREATED,
    };
    let body = json!({"issues": made, "errors": errors});
    Ok(Jira(status, body).into_response())
}

/// BROWSE_PROJECTS. Honours `fields=` and `expand=names,schema,transitions,changelog,editmeta`.
/// Remembered for the same caller until anything changes (see [`crate::responses`]): the
/// response depends on nothing of the caller but what [`ReadKey`] holds.
pub async fn get_issue(
    State(state): State<AppState>,
    Auth(principal): Auth,
    OriginalUri(uri): OriginalUri,
    PathArgs(key): PathArgs<String>,
    params: Params,
) -> ApiResult<Response> {
    let remembered = ReadKey::new(&principal, &uri);
    let epochs = state.responses.epochs();
    if let Some(response) = state.responses.get(&remembered, epochs) {
        return Ok(response);
    }
    let body = issue_body(&state, &principal, &key, &params).await?;
    let body = Bytes::from(body.to_string());
    state.responses.keep(remembered, epochs, body.clone());
    Ok(json_response(body))
}

/// What `GET issue` answers.
async fn issue_body(
    state: &AppState,
    principal: &Principal,
    key: &str,
    params: &Params,
) -> ApiResult<Value> {
    let cap = state
        .authz
        .issue::<Browse>(principal, &issue_ref(key))
        .await?;
    let requested = params.list("fields");
    let fields = render::selected_fields(&requested);
    let expand = params.list("expand");
    let mut extras = IssueExtras {
        names: expand.iter().any(|e| e == "names"),
        schema: expand.iter().any(|e| e == "schema"),
        ..IssueExtras::default()
    };
    if expand.iter().any(|e| e == "transitions") {
        extras.transitions = Some(issues::available_transitions(&cap));
    }
    if fields.contains(&"comment") {
        let page = PageRequest {
            start_at: 0,
            limit: EMBEDDED_COMMENTS,
        };
        let listed = comments::list(&*state.store, &cap, page, false).await?;
        extras.comments = Some((listed.items, listed.total));
    }
    if fields.contains(&"worklog") {
        let page = PageRequest {
            start_at: 0,
            limit: EMBEDDED_WORKLOGS,
        };
        let listed = worklogs::list(&*state.store, &cap, page).await?;
        extras.worklogs = Some((listed.items, listed.total));
    }
    let counted = match (fields.contains(&"watches"), fields.contains(&"votes")) {
        (true, true) => {
            let (watches, votes) = watchers::watches_and_votes(&*state.store, &cap).await?;
            (Some(watches), Some(votes))
        }
        (true, false) => (Some(watchers::watches(&*state.store, &cap).await?), None),
        (false, true) => (None, Some(votes::votes(&*state.store, &cap).await?)),
        (false, false) => (None, None),
    };
    extras.watches = counted.0;
    extras.votes = counted
        .1
        .map(|votes| super::votes::votes_field(&state.urls, cap.issue(), votes));
    if fields.contains(&"attachment") {
        let found = attachments::list(&*state.store, &cap).await?;
        let viewer = Viewer::of(principal);
        extras.attachments = Some(
            found
                .iter()
                .map(|a| super::attachments::attachment(&state.urls, viewer, a))
                .collect(),
        );
    }
    if fields.contains(&"issuelinks") {
        let found = links::of_issue(&*state.store, &state.authz, principal, &cap).await?;
        extras.links = Some(
            found
                .iter()
                .map(|l| super::links::issue_link_of(&state.urls, l, cap.issue().id))
                .collect(),
        );
    }
    if expand.iter().any(|e| e == "changelog") {
        let page = PageRequest {
            start_at: 0,
            limit: EMBEDDED_HISTORIES,
        };
        let listed = changelog::list(&*state.store, &cap, page).await?;
        extras.changelog = Some((listed, credentials_shown(&cap)));
    }
    if expand.iter().any(|e| e == "editmeta") {
        extras.editmeta = Some(issue_meta::editmeta(&state.urls, &cap));
    }
    let viewer = Viewer::of(principal);
    Ok(render::issue(
        &state.urls,
        viewer,
        cap.issue(),
        &fields,
        &extras,
    ))
}

/// EDIT_ISSUES; changing the assignee also needs ASSIGN_ISSUES, adding a comment
/// ADD_COMMENTS, setting another reporter ADMINISTER_PROJECTS.
pub async fn put_issue(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<Edit>(&principal, &issue_ref(&key))
        .await?;
    let input = issue_input::parse(&body, Mode::Edit)?;
    issues::edit_issue(&*state.store, &cap, &input, state.clock.now()).await?;
    Ok(no_content())
}

/// DELETE_ISSUES. `deleteSubtasks` is accepted; tessera has no sub-tasks.
pub async fn delete_issue(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<Delete>(&principal, &issue_ref(&key))
        .await?;
    issues::delete_issue(&*state.store, &cap).await?;
    tracing::info!(target: "tessera::security", user = %principal.user.name, issue = %cap.issue().key(), "issue deleted");
    Ok(no_content())
}

/// BROWSE_PROJECTS; lists the transitions available now (none without TRANSITION_ISSUES).
/// `transitionId=` filters, `expand=transitions.fields` adds each transition's fields.
pub async fn get_transitions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    params: Params,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let with_fields = params
        .list("expand")
        .iter()
        .any(|e| e == "transitions.fields");
    let only = params.text("transitionId").map(str::trim);
    let list: Vec<Value> = issues::available_transitions(&cap)
        .into_iter()
        .filter(|t| only.is_none_or(|id| id == t.id().to_string()))
        .map(|t| render::transition(&state.urls, t, with_fields))
        .collect();
    Ok(Jira::ok(
        json!({ "expand": "transitions", "transitions": list }),
    ))
}

/// TRANSITION_ISSUES. `{"transition": {"id"}|{"name"}, "fields": {"resolution", "assignee"},
/// "update": {"comment": [{"add": {"body"}}]}}`.
pub async fn post_transitions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<Transition>(&principal, &issue_ref(&key))
        .await?;
    let which = issue_input::transition_of(&body)?;
    let input = issue_input::parse(&body, Mode::Transition)?;
    issues::transition_issue(&*state.store, &cap, &which, &input, state.clock.now()).await?;
    Ok(no_content())
}

/// ASSIGN_ISSUES. `{"name": "user"}`; `null` or `{"name": null}` unassigns; `"-1"` assigns
/// automatically (the project lead, if assignable).
pub async fn put_assignee(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<Assign>(&principal, &issue_ref(&key))
        .await?;
    let choice = issue_input::assignee(&body).ok_or_else(|| {
        ApiError::field(
            "assignee",
            "Give the assignee as {\"name\": \"user\"}, or null to unassign.",
        )
    })?;
    issues::assign_issue(&*state.store, &cap, &choice, state.clock.now()).await?;
    Ok(no_content())
}
