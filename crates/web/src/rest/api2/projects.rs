//! `/project`: listed and read by those who can see each project, created by administrators;
//! role membership changed by project administrators.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Map, Value, json};
use tessera_core::authz::{AdministerProject, ProjectRef, VisibleProject};
use tessera_core::catalog::{IssueType, Status};
use tessera_core::model::RoleActor;
use tessera_core::permissions::ProjectRole;
use tessera_core::services::planning;
use tessera_core::services::projects::{self, MemberNames, ProjectInput};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params, PathArgs, no_content};
use crate::render::{Viewer, optional_user, project, project_summary, role_url, status};
use crate::state::AppState;

/// Any authenticated user; lists the projects the caller can see.
/// Any user: the projects the caller can see. `projectKeys=A,B` keeps those named;
/// `expand=description,lead,url,projectKeys` adds those members.
pub async fn get_projects(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    let visible = state.authz.visible_projects(&principal).await?;
    let keys: Vec<String> = params
        .list("projectKeys")
        .iter()
        .map(|k| k.to_ascii_uppercase())
        .collect();
    let expand = params.list("expand");
    let expands = |name: &str| expand.iter().any(|e| e == name || e == "*");
    let viewer = Viewer::of(&principal);
    let list: Vec<Value> = visible
        .iter()
        .filter(|(p, _)| keys.is_empty() || keys.contains(&p.key))
        .map(|(p, _)| {
            let mut value =
                project_summary(&state.urls, p.id.0, &p.key, &p.name, &p.project_type_key);
            value["expand"] = json!("description,lead,url,projectKeys");
            value["archived"] = json!(false);
            if expands("description") {
                value["description"] = json!(p.description.clone().unwrap_or_default());
            }
            if expands("lead") {
                value["lead"] = optional_user(&state.urls, viewer, p.lead.as_ref());
            }
            if expands("url") {
                value["url"] = json!("");
            }
            if expands("projectKeys") {
                value["projectKeys"] = json!([p.key]);
            }
            value
        })
        .collect();
    Ok(Jira::ok(Value::Array(list)))
}

/// Those who can see the project (BROWSE_PROJECTS or ADMINISTER_PROJECTS); its versions and
/// components for those who may browse it.
pub async fn get_project(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    params: Params,
) -> ApiResult<Jira> {
    let visible = state
        .authz
        .visible_project(&principal, &ProjectRef::parse(&key))
        .await?;
    let viewer = Viewer::of(&principal);
    let mut value = project(&state.urls, viewer, visible.project());
    // As Jira: the project's keys (past ones included) only when asked for.
    if params.list("expand").iter().any(|e| e == "projectKeys") {
        value["projectKeys"] = json!([visible.project().key]);
    }
    if let Ok(cap) = visible.also::<tessera_core::authz::Browse>() {
        let today = super::planning::today(&state);
        let versions = planning::versions(&*state.store, &cap).await?;
        value["versions"] = versions
            .iter()
            .map(|v| super::planning::version(&state.urls, v, &today))
            .collect();
        let components = planning::components(&*state.store, &cap).await?;
        let key = &visible.project().key;
        value["components"] = components
            .iter()
            .map(|c| super::planning::component(&state, viewer, c, key))
            .collect();
    }
    Ok(Jira::ok(value))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewProjectBody {
    key: Option<String>,
    name: Option<String>,
    description: Option<String>,
    lead: Option<String>,
    project_type_key: Option<String>,
}

/// Administrators. `{"key", "name", "projectTypeKey", "lead", "description"}`; other Jira
/// members (schemes, templates) are accepted and ignored.
pub async fn post_project(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<NewProjectBody>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let input = ProjectInput {
        key: body.key,
        name: body.name,
        description: body.description,
        lead: body.lead.filter(|l| !l.trim().is_empty()),
        project_type_key: body.project_type_key,
    };
    let created = projects::create_project(&*state.store, &admin, input, state.clock.now()).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, project = %created.key, "project created");
    Ok(Jira::created(json!({
        "self": state.urls.api(&format!("project/{}", created.id)),
        "id": created.id.0,
        "key": created.key,
    })))
}

/// Global ADMINISTER: deletes the project with all its issues (in one transaction).
pub async fn delete_project(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
) -> ApiResult<axum::response::Response> {
    let admin = state.authz.administer(&principal)?;
    let deleted = projects::delete_project(&*state.store, &admin, &ProjectRef::parse(&key)).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, project = %deleted.key, "project deleted");
    Ok(crate::extract::no_content())
}

/// Those who can see the project: each issue type with the statuses its workflow has (one
/// workflow for all, To Do → In Progress → Done).
pub async fn get_project_statuses(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
) -> ApiResult<Jira> {
    state
        .authz
        .visible_project(&principal, &ProjectRef::parse(&key))
        .await?;
    let statuses: Vec<Value> = Status::ALL
        .into_iter()
        .map(|s| status(&state.urls, s))
        .collect();
    let types: Vec<Value> = IssueType::ALL
        .into_iter()
        .map(|t| {
            json!({
                "self": state.urls.api(&format!("issuetype/{}", t.id())),
                "id": t.id().to_string(),
                "name": t.name(),
                "subtask": false,
                "statuses": statuses,
            })
        })
        .collect();
    Ok(Jira::ok(Value::Array(types)))
}

/// Those who can see the project: `{role name: role URL}`.
pub async fn get_project_roles(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
) -> ApiResult<Jira> {
    let visible = state
        .authz
        .visible_project(&principal, &ProjectRef::parse(&key))
        .await?;
    let id = visible.project().id.0;
    let roles: Map<String, Value> = ProjectRole::ALL
        .into_iter()
        .map(|role| {
            (
                role.name().to_string(),
                json!(role_url(&state.urls, id, role)),
            )
        })
        .collect();
    Ok(Jira::ok(Value::Object(roles)))
}

async fn role_body(
    state: &AppState,
    visible: &VisibleProject,
    role: ProjectRole,
) -> ApiResult<Value> {
    let actors = projects::role_actors(&*state.store, visible, role).await?;
    let actors: Vec<Value> = actors
        .iter()
        .enumerate()
        .map(|(index, actor)| match actor {
            RoleActor::User(user) => json!({
                "id": user.id.0,
                "displayName": user.display_name,
                "type": "atlassian-user-role-actor",
                "name": user.cased_name,
                "avatarUrl": state.urls.static_path("secure/useravatar?size=xsmall&avatarId=10122"),
            }),
            RoleActor::Group(group) => json!({
                "id": index,
                "displayName": group,
                "type": "atlassian-group-role-actor",
                "name": group,
                "avatarUrl": state.urls.static_path("secure/useravatar?size=xsmall&avatarId=10123"),
            }),
        })
        .collect();
    Ok(json!({
        "self": role_url(&state.urls, visible.project().id.0, role),
        "name": role.name(),
        "id": role.id(),
        "description": role.description(),
        "actors": actors,
    }))
}

/// Those who can see the project: a role and its members.
pub async fn get_project_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
) -> ApiResult<Jira> {
    let visible = state
        .authz
        .visible_project(&principal, &ProjectRef::parse(&key))
        .await?;
    let role = projects::parse_role(&id)?;
    Ok(Jira::ok(role_body(&state, &visible, role).await?))
}

fn names(value: Option<&Value>) -> ApiResult<Vec<String>> {
    match value {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(String::from))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| ApiError::bad_request("Role members must be given as arrays of names.")),
        Some(Value::String(one)) => Ok(vec![one.clone()]),
        Some(_) => Err(ApiError::bad_request(
            "Role members must be given as arrays of names.",
        )),
    }
}

async fn administer(
    state: &AppState,
    principal: &tessera_core::principal::Principal,
    key: &str,
) -> ApiResult<(
    VisibleProject,
    tessera_core::authz::OnProject<AdministerProject>,
)> {
    let visible = state
        .authz
        .visible_project(principal, &ProjectRef::parse(key))
        .await?;
    let cap = visible.also::<AdministerProject>()?;
    Ok((visible, cap))
}

/// ADMINISTER_PROJECTS. `{"user": [names], "group": [names]}` adds members.
pub async fn post_project_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Jira> {
    let (visible, cap) = administer(&state, &principal, &key).await?;
    let role = projects::parse_role(&id)?;
    let members = MemberNames {
        users: names(body.get("user"))?,
        groups: names(body.get("group"))?,
    };
    projects::add_role_members(&*state.store, &cap, role, &members).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, project = %visible.project().key, role = role.name(), ?members, "role members added");
    Ok(Jira::ok(role_body(&state, &visible, role).await?))
}

/// ADMINISTER_PROJECTS. `{"categorisedActors": {"atlassian-user-role-actor": [..],
/// "atlassian-group-role-actor": [..]}}` replaces the members.
pub async fn put_project_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Jira> {
    let (visible, cap) = administer(&state, &principal, &key).await?;
    let role = projects::parse_role(&id)?;
    let actors = body
        .get("categorisedActors")
        .ok_or_else(|| ApiError::bad_request("categorisedActors is required."))?;
    let members = MemberNames {
        users: names(actors.get("atlassian-user-role-actor"))?,
        groups: names(actors.get("atlassian-group-role-actor"))?,
    };
    projects::set_role_members(&*state.store, &cap, role, &members).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, project = %visible.project().key, role = role.name(), ?members, "role members replaced");
    Ok(Jira::ok(role_body(&state, &visible, role).await?))
}

/// ADMINISTER_PROJECTS. `?user=name` or `?group=name` removes one member.
pub async fn delete_project_role(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((key, id)): PathArgs<(String, String)>,
    params: Params,
) -> ApiResult<Response> {
    let (visible, cap) = administer(&state, &principal, &key).await?;
    let role = projects::parse_role(&id)?;
    let members = MemberNames {
        users: params.text("user").into_iter().map(String::from).collect(),
        groups: params.text("group").into_iter().map(String::from).collect(),
    };
    projects::remove_role_member(&*state.store, &cap, role, &members).await?;
    tracing::info!(target: "tessera::security", admin = %principal.user.name, project = %visible.project().key, role = role.name(), ?members, "role member removed");
    Ok(no_content())
}
