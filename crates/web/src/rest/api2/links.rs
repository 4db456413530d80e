//! Issue links and their types (`/issueLinkType`, `/issueLink`, the `issuelinks` field) and
//! remote links (`/issue/{key}/remotelink`), as Jira Server serves them.
//!
//! `POST issueLink` with `{"type": {"name"|"id"}, "inwardIssue", "outwardIssue"}` makes the
//! link "inwardIssue `<outward>` outwardIssue" (as Jira: with type Blocks, the inward issue
//! blocks the outward one); its optional `comment` goes on the inward issue. A remote link's
//! `object` needs an `http`/`https` `url` and a `title`; `object` and `application` are kept
//! as sent and shown back unchanged.

use axum::extract::State;
use axum::http::StatusCode;
use axum::http::header::LOCATION;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tessera_core::authz::{AddComments, Browse, IssueRef, LinkIssues};
use tessera_core::model::{IssueLink, LinkType, LinkTypeFields, LinkedIssue, RemoteLink};
use tessera_core::services::comments;
use tessera_core::services::links::{self, RemoteLinkInput};

use super::issue_input::issue_ref;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params, PathArgs, no_content};
use crate::render::{issue_type, priority, status};
use crate::state::AppState;
use crate::urls::Urls;

pub fn link_type(urls: &Urls, t: &LinkType) -> Value {
    json!({
        "id": t.id.to_string(),
        "name": t.name,
        "inward": t.inward,
        "outward": t.outward,
        "self": urls.api(&format!("issueLinkType/{}", t.id)),
    })
}

fn linked_issue(urls: &Urls, issue: &LinkedIssue) -> Value {
    json!({
        "id": issue.id.to_string(),
        "key": issue.key(),
        "self": urls.api(&format!("issue/{}", issue.id)),
        "fields": {
            "summary": issue.summary,
            "status": status(urls, issue.status),
            "priority": priority(urls, issue.priority),
            "issuetype": issue_type(urls, issue.issue_type),
        },
    })
}

/// A link as the `issuelinks` field of `from` shows it: the other issue, as `outwardIssue`
/// when `from` is the source ("from `<outward>` other"), else as `inwardIssue`.
pub fn issue_link_of(urls: &Urls, link: &IssueLink, from: tessera_core::ids::IssueId) -> Value {
    let (side, other) = if link.source.id == from {
        ("outwardIssue", &link.destination)
    } else {
        ("inwardIssue", &link.source)
    };
    let mut value = json!({
        "id": link.id.to_string(),
        "self": urls.api(&format!("issueLink/{}", link.id)),
        "type": link_type(urls, &link.link_type),
    });
    value[side] = linked_issue(urls, other);
    value
}

fn text_of(body: &Value, field: &str) -> ApiResult<Option<String>> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) => Ok(Some(text.clone())),
        Some(_) => Err(ApiError::field(field, format!("{field} must be text."))),
    }
}

fn type_fields(body: &Value) -> ApiResult<LinkTypeFields> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "Send the link type as a JSON object.",
        ));
    }
    Ok(LinkTypeFields {
        name: text_of(body, "name")?,
        inward: text_of(body, "inward")?,
        outward: text_of(body, "outward")?,
    })
}

/// Any user.
pub async fn get_link_types(State(state): State<AppState>, Auth(_): Auth) -> ApiResult<Jira> {
    let types = links::types(&*state.store).await?;
    Ok(Jira::ok(json!({
        "issueLinkTypes": types.iter().map(|t| link_type(&state.urls, t)).collect::<Vec<_>>(),
    })))
}

/// Any user.
pub async fn get_link_type(
    State(state): State<AppState>,
    Auth(_): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    let found = links::type_by_id(&*state.store, &id).await?;
    Ok(Jira::ok(link_type(&state.urls, &found)))
}

/// ADMINISTER. `{"name", "inward", "outward"}`.
pub async fn post_link_type(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Jira> {
    let cap = state.authz.administer(&principal)?;
    let fields = type_fields(&body)?;
    let created = links::create_type(&*state.store, &cap, &fields).await?;
    Ok(Jira::created(link_type(&state.urls, &created)))
}

/// ADMINISTER. The texts given change.
pub async fn put_link_type(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Jira> {
    let cap = state.authz.administer(&principal)?;
    let fields = type_fields(&body)?;
    let updated = links::update_type(&*state.store, &cap, &id, &fields).await?;
    Ok(Jira::ok(link_type(&state.urls, &updated)))
}

/// ADMINISTER. Deletes the type and every link of it.
pub async fn delete_link_type(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Response> {
    let cap = state.authz.administer(&principal)?;
    links::delete_type(&*state.store, &cap, &id).await?;
    Ok(no_content())
}

/// What `body[field]` names: its `by` text (a key or name), else its `id` (text or number).
fn named(body: &Value, field: &str, by: &str) -> Option<String> {
    let named = body.get(field)?;
    named
        .get(by)
        .and_then(Value::as_str)
        .map(str::to_string)
        .or_else(|| match named.get("id") {
            Some(Value::String(id)) => Some(id.clone()),
            Some(Value::Number(id)) => Some(id.to_string()),
            _ => None,
        })
}

/// An issue named by `{"key"}` or `{"id"}` in a link request.
fn named_issue(body: &Value, field: &str) -> ApiResult<IssueRef> {
    match named(body, field, "key") {
        Some(text) => Ok(issue_ref(&text)),
        None => Err(ApiError::field(
            field,
            format!("Name the {field} by key or id."),
        )),
    }
}

/// LINK_ISSUES on the inward issue, BROWSE_PROJECTS on the outward one (and ADD_COMMENTS on
/// the inward issue with a `comment`). 201 with the link's address in `Location`.
pub async fn post_issue_link(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let Some(type_name) = named(&body, "type", "name") else {
        return Err(ApiError::field(
            "issuelinks",
            "Name the link type by name or id.",
        ));
    };
    let inward = named_issue(&body, "inwardIssue")?;
    let outward = named_issue(&body, "outwardIssue")?;
    let comment = match body.get("comment") {
        None | Some(Value::Null) => None,
        Some(comment) => {
            let restricted = match comment.get("visibility") {
                None | Some(Value::Null) => None,
                Some(value) => Some(super::comments::visibility_input(value)?),
            };
            let text = comment
                .get("body")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            Some((text, restricted))
        }
    };
    let source = state.authz.issue::<LinkIssues>(&principal, &inward).await?;
    let destination = state.authz.issue::<Browse>(&principal, &outward).await?;
    let commenting = match &comment {
        Some(_) => Some(source.also::<AddComments>()?),
        None => None,
    };
    let link_type = links::find_type(&*state.store, &type_name)
        .await
        .map_err(|e| match e {
            tessera_core::error::Error::NotFound(missing) => {
                ApiError::field("issuelinks", missing.to_string())
            }
            other => other.into(),
        })?;
    let now = state.clock.now();
    let made = links::link(&*state.store, &source, &destination, &link_type, now).await?;
    if let (Some(cap), Some((text, restricted))) = (commenting, comment) {
        comments::add(&*state.store, &cap, &text, restricted.as_ref(), now).await?;
    }
    let location = state.urls.api(&format!("issueLink/{}", made.id));
    Ok((StatusCode::CREATED, [(LOCATION, location)]).into_response())
}

/// BROWSE_PROJECTS on both issues.
pub async fn get_issue_link(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    let (link, _, _) = links::find(&*state.store, &state.authz, &principal, &id).await?;
    Ok(Jira::ok(json!({
        "id": link.id.to_string(),
        "self": state.urls.api(&format!("issueLink/{}", link.id)),
        "type": link_type(&state.urls, &link.link_type),
        "inwardIssue": linked_issue(&state.urls, &link.source),
        "outwardIssue": linked_issue(&state.urls, &link.destination),
    })))
}

/// BROWSE_PROJECTS on both issues and LINK_ISSUES on either.
pub async fn delete_issue_link(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Response> {
    links::unlink(
        &*state.store,
        &state.authz,
        &principal,
        &id,
        state.clock.now(),
    )
    .await?;
    Ok(no_content())
}

fn remote_link(urls: &Urls, issue_key: &str, link: &RemoteLink) -> Value {
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let mut value = json!({
        "id": link.id.0,
        "self": urls.api(&format!("issue/{issue_key}/remotelink/{}", link.id)),
        "application": link.application.as_deref().map_or_else(|| json!({}), parse),
        "object": parse(&link.object),
    });
    if let Some(global_id) = &link.global_id {
        value["globalId"] = json!(global_id);
    }
    if let Some(relationship) = &link.relationship {
        value["relationship"] = json!(relationship);
    }
    value
}

fn is_web_url(text: &str) -> bool {
    url::Url::parse(text).is_ok_and(|u| matches!(u.scheme(), "http" | "https") && u.has_host())
}

/// A remote link request: `object` (with `url`, `title`) and `application` must be objects.
fn remote_input(body: &Value) -> ApiResult<RemoteLinkInput> {
    let object = match body.get("object") {
        Some(Value::Object(object)) => object,
        _ => {
            return Err(ApiError::field(
                "object",
                "Send the remote link's object as a JSON object.",
            ));
        }
    };
    let application = match body.get("application") {
        None | Some(Value::Null) => None,
        Some(Value::Object(application)) => Some(Value::Object(application.clone()).to_string()),
        Some(_) => {
            return Err(ApiError::field(
                "application",
                "Send the application as a JSON object.",
            ));
        }
    };
    let non_empty = |map: &Map<String, Value>, name: &str| {
        map.get(name)
            .and_then(Value::as_str)
            .filter(|v| !v.trim().is_empty())
            .map(str::to_string)
    };
    let url = non_empty(object, "url");
    if url.as_deref().is_some_and(|u| !is_web_url(u)) {
        return Err(ApiError::field(
            "url",
            "The url must be an http or https address.",
        ));
    }
    Ok(RemoteLinkInput {
        global_id: text_of(body, "globalId")?,
        relationship: text_of(body, "relationship")?,
        application,
        object: Some(Value::Object(object.clone()).to_string()),
        has_url: url.is_some(),
        has_title: non_empty(object, "title").is_some(),
    })
}

/// BROWSE_PROJECTS. With `globalId`, the one link of that global id.
pub async fn get_remote_links(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    params: Params,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let issue_key = cap.issue().key();
    match params.get("globalId") {
        Some(global_id) => {
            let found = links::remote_links(&*state.store, &cap, Some(global_id)).await?;
            let link = found.first().ok_or_else(|| {
                ApiError::from(tessera_core::error::Error::NotFound(
                    tessera_core::error::Missing::RemoteLink(global_id.to_string()),
                ))
            })?;
            Ok(Jira::ok(remote_link(&state.urls, &issue_key, link)))
        }
        None => {
            let found = links::remote_links(&*state.store, &cap, None).await?;
            Ok(Jira::ok(json!(
                found
                    .iter()
                    .map(|l| remote_link(&state.urls, &issue_key, l))
                    .collect::<Vec<_>>()
            )))
        }
    }
}

/// LINK_ISSUES. 201 `{"id", "self"}` for a new link, 200 for one replaced by `globalId`.
pub async fn post_remote_link(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<LinkIssues>(&principal, &issue_ref(&key))
        .await?;
    let input = remote_input(&body)?;
    let (link, created) = links::save_remote(&*state.store, &cap, input, state.clock.now()).await?;
    let shown = json!({
        "id": link.id.0,
        "self": state.urls.api(&format!("issue/{}/remotelink/{}", cap.issue().key(), link.id)),
    });
    Ok(if created {
        Jira::created(shown)
    } else {
        Jira::ok(shown)
    })
}

/// BROWSE_PROJECTS.
pub async fn get_remote_link(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let link = links::remote_link(&*state.store, &cap, &id).await?;
    Ok(Jira::ok(remote_link(
        &state.urls,
        &cap.issue().key(),
        &link,
    )))
}

/// LINK_ISSUES. Replaces the link; 204.
pub async fn put_remote_link(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<LinkIssues>(&principal, &issue_ref(&key))
        .await?;
    let input = remote_input(&body)?;
    links::update_remote(&*state.store, &cap, &id, input, state.clock.now()).await?;
    Ok(no_content())
}

/// LINK_ISSUES.
pub async fn delete_remote_link(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<LinkIssues>(&principal, &issue_ref(&key))
        .await?;
    links::delete_remote(&*state.store, &cap, &id).await?;
    Ok(no_content())
}

/// LINK_ISSUES. `?globalId=`: the issue's link of that global id.
pub async fn delete_remote_links(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    params: Params,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<LinkIssues>(&principal, &issue_ref(&key))
        .await?;
    let Some(global_id) = params.get("globalId") else {
        return Err(ApiError::field(
            "globalId",
            "Name the remote link to delete by globalId.",
        ));
    };
    links::delete_remote_by_global_id(&*state.store, &cap, global_id).await?;
    Ok(no_content())
}
