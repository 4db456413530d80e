//! `GET mypermissions`: what the caller may do, globally or in a project or issue context.
//! Each answer is the user's permission narrowed by the credential's scopes.

use axum::extract::State;
use serde_json::{Map, Value, json};
use tessera_core::authz::{Authorizer, Browse, IssueRef, ProjectRef};
use tessera_core::permissions::{
    Flag, GlobalPermission, HeldAs, JIRA_PERMISSIONS, PermissionInfo, ProjectPermission,
    ProjectPermissions,
};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, Params};
use crate::state::AppState;

fn entry(info: PermissionInfo, have: bool) -> Value {
    json!({
        "id": info.id.to_string(),
        "key": info.key,
        "name": info.name,
        "type": info.kind,
        "description": info.description,
        "havePermission": have,
    })
}

/// Any authenticated user. `projectKey`/`projectId`/`issueKey`/`issueId` set the context;
/// without one, a project permission is held if it is held in any project. `permissions=`
/// limits the answer to the keys named.
pub async fn get_my_permissions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    let wanted = params.list("permissions");
    for key in &wanted {
        if GlobalPermission::from_key(key).is_none()
            && ProjectPermission::from_key(key).is_none()
            && !JIRA_PERMISSIONS.iter().any(|(info, _)| info.key == key)
        {
            return Err(ApiError::bad_request(format!(
                "Invalid permission key: {key}"
            )));
        }
    }
    let issue = params.text("issueKey").or_else(|| params.text("issueId"));
    let project = params
        .text("projectKey")
        .or_else(|| params.text("projectId"));
    let held: ProjectPermissions = match (issue, project) {
        (Some(issue), _) => state
            .authz
            .issue::<Browse>(&principal, &IssueRef::parse(issue))
            .await?
            .effective(),
        (None, Some(project)) => state
            .authz
            .visible_project(&principal, &ProjectRef::parse(project))
            .await?
            .effective(),
        (None, None) => state
            .authz
            .visible_projects(&principal)
            .await?
            .into_iter()
            .fold(ProjectPermissions::empty(), |acc, (_, held)| {
                acc.union(held)
            }),
    };
    let include = |key: &str| wanted.is_empty() || wanted.iter().any(|w| w == key);
    let mut out = Map::new();
    for permission in GlobalPermission::ALL {
        let info = permission.info();
        if include(info.key) {
            let have = Authorizer::has_global(&principal, *permission);
            out.insert(info.key.to_string(), entry(info, have));
        }
    }
    for permission in ProjectPermission::ALL {
        let info = permission.info();
        if include(info.key) {
            out.insert(
                info.key.to_string(),
                entry(info, held.contains(*permission)),
            );
        }
    }
    for (info, held_as) in JIRA_PERMISSIONS {
        if include(info.key) {
            let have = match held_as {
                HeldAs::Project(permission) => held.contains(*permission),
                HeldAs::Global(permission) => Authorizer::has_global(&principal, *permission),
                HeldAs::Never => false,
            };
            out.insert(info.key.to_string(), entry(*info, have));
        }
    }
    Ok(Jira::ok(json!({ "permissions": out })))
}
