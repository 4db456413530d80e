//! `/filter`: saved filters and their share permissions, in Jira Server's shape. Who may do
//! what is [`tessera_core::services::filters`]'s: the owner everything, whoever a share
//! includes reads, favourites and runs it; for anyone else it is a 404.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::authz::BrowsableProjects;
use tessera_core::ids::ProjectId;
use tessera_core::model::{Filter, FilterFields, FilterShare, ShareTarget};
use tessera_core::principal::Principal;
use tessera_core::services::filters::{self, ShareInput};

use crate::error::ApiResult;
use crate::extract::{Auth, Jira, JsonBody, PathArgs, id_text, no_content};
use crate::render::{self, Viewer, optional_user};
use crate::state::AppState;
use crate::urls::{Urls, encode};

/// A shared-with project; by id only when the caller may not browse it (any longer) or the
/// store no longer has it, so that a share never tells its owner more than they may see.
async fn project_json(
    state: &AppState,
    cap: &BrowsableProjects,
    id: ProjectId,
) -> ApiResult<Value> {
    if !cap.contains(id) {
        return Ok(json!({"id": id.to_string()}));
    }
    Ok(
        match state
            .store
            .find_project(id)
            .await
            .map_err(tessera_core::Error::from)?
        {
            Some(p) => {
                render::project_summary(&state.urls, p.id.0, &p.key, &p.name, &p.project_type_key)
            }
            None => json!({"id": id.to_string()}),
        },
    )
}

/// A share as Jira lists it.
async fn share(state: &AppState, cap: &BrowsableProjects, share: &FilterShare) -> ApiResult<Value> {
    let urls = &state.urls;
    Ok(match &share.target {
        ShareTarget::Global => json!({"id": share.id, "type": "global"}),
        ShareTarget::Group(group) => {
            let found = state
                .store
                .find_group(group)
                .await
                .map_err(tessera_core::Error::from)?;
            let name = found.map_or_else(|| group.clone(), |g| g.display_name);
            json!({"id": share.id, "type": "group", "group": render::group(urls, &name)})
        }
        ShareTarget::Project(id) => {
            json!({"id": share.id, "type": "project", "project": project_json(state, cap, *id).await?})
        }
        ShareTarget::ProjectRole(id, role) => json!({
            "id": share.id,
            "type": "project",
            "project": project_json(state, cap, *id).await?,
            "role": {
                "self": urls.api(&format!("project/{}/role/{}", id.0, role.id())),
                "name": role.name(),
                "id": role.id(),
                "description": role.description(),
            },
        }),
    })
}

async fn shares(state: &AppState, cap: &BrowsableProjects, f: &Filter) -> ApiResult<Vec<Value>> {
    let mut shown = Vec::with_capacity(f.shares.len());
    for s in &f.shares {
        shown.push(share(state, cap, s).await?);
    }
    Ok(shown)
}

/// The filter with its shares, as the caller may see them.
async fn filter_json(
    state: &AppState,
    cap: &BrowsableProjects,
    principal: &Principal,
    f: &Filter,
) -> ApiResult<Value> {
    let mut value = filter(&state.urls, Viewer::of(principal), f);
    value["sharePermissions"] = json!(shares(state, cap, f).await?);
    Ok(value)
}

fn filter(urls: &Urls, viewer: Viewer, f: &Filter) -> Value {
    let empty_list =
        json!({"size": 0, "items": [], "max-results": 1000, "start-index": 0, "end-index": 0});
    let mut value = json!({
        "self": urls.api(&format!("filter/{}", f.id)),
        "id": f.id.to_string(),
        "name": f.name,
        "owner": optional_user(urls, viewer, f.owner.as_ref()),
        "jql": f.jql,
        "viewUrl": format!("{}/issues/?filter={}", urls.base(), f.id),
        "searchUrl": urls.api(&format!("search?jql={}", encode(&f.jql))),
        "favourite": f.favourite,
        "sharePermissions": [],
        "sharedUsers": empty_list,
        "subscriptions": empty_list,
    });
    // As Jira: a filter without a description has no such field.
    if let Some(description) = &f.description {
        value["description"] = json!(description);
    }
    value
}

#[derive(Debug, Deserialize)]
pub struct FilterBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::null_or")]
    description: Option<Option<String>>,
    jql: Option<String>,
    favourite: Option<bool>,
}

impl FilterBody {
    fn fields(self) -> (FilterFields, Option<bool>) {
        (
            FilterFields {
                name: self.name,
                description: self.description,
                jql: self.jql,
            },
            self.favourite,
        )
    }
}

/// Any user whose credential may write. `{"name", "jql", "description", "favourite"}` (a
/// favourite unless `false`). 200 with the filter, as Jira answers.
pub async fn post_filter(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<FilterBody>,
) -> ApiResult<Jira> {
    let (fields, favourite) = body.fields();
    let cap = state.authz.browsable_projects(&principal).await?;
    let made = filters::create(
        &*state.store,
        &principal,
        fields,
        favourite,
        state.clock.now(),
    )
    .await?;
    Ok(Jira::ok(
        filter_json(&state, &cap, &principal, &made).await?,
    ))
}

/// The owner, or someone it is shared with.
pub async fn get_filter(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    let cap = state.authz.browsable_projects(&principal).await?;
    let found = filters::get(&*state.store, &principal, &cap, &id).await?;
    Ok(Jira::ok(
        filter_json(&state, &cap, &principal, &found).await?,
    ))
}

/// The owner: the fields given change.
pub async fn put_filter(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    JsonBody(body): JsonBody<FilterBody>,
) -> ApiResult<Jira> {
    let (fields, favourite) = body.fields();
    let cap = state.authz.browsable_projects(&principal).await?;
    let updated = filters::update(&*state.store, &principal, &cap, &id, fields, favourite).await?;
    Ok(Jira::ok(
        filter_json(&state, &cap, &principal, &updated).await?,
    ))
}

/// The owner. 204.
pub async fn delete_filter(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Response> {
    let cap = state.authz.browsable_projects(&principal).await?;
    filters::delete(&*state.store, &principal, &cap, &id).await?;
    Ok(no_content())
}

async fn favourite(state: AppState, principal: Principal, id: String, on: bool) -> ApiResult<Jira> {
    let cap = state.authz.browsable_projects(&principal).await?;
    let found = filters::set_favourite(&*state.store, &principal, &cap, &id, on).await?;
    Ok(Jira::ok(
        filter_json(&state, &cap, &principal, &found).await?,
    ))
}

/// The owner or someone it is shared with: marks it a favourite (Jira Cloud's path). The filter.
pub async fn put_favourite(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    favourite(state, principal, id, true).await
}

/// As [`put_favourite`], unmarking it.
pub async fn delete_favourite(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    favourite(state, principal, id, false).await
}

/// The caller's favourite filters.
pub async fn get_favourite_filters(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Jira> {
    let cap = state.authz.browsable_projects(&principal).await?;
    let found = filters::favourites(&*state.store, &principal, &cap).await?;
    let mut listed = Vec::with_capacity(found.len());
    for f in &found {
        listed.push(filter_json(&state, &cap, &principal, f).await?);
    }
    Ok(Jira::ok(json!(listed)))
}

/// The filter's shares (those that include the caller, unless they own it).
pub async fn get_permissions(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    let cap = state.authz.browsable_projects(&principal).await?;
    let found = filters::get(&*state.store, &principal, &cap, &id).await?;
    Ok(Jira::ok(json!(shares(&state, &cap, &found).await?)))
}

/// `{"type": "global" | "group" | "project" | "projectRole", "groupname", "projectId",
/// "projectRoleId"}`, as Jira Server takes it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShareBody {
    #[serde(rename = "type")]
    kind: String,
    groupname: Option<String>,
    project_id: Option<Value>,
    project_role_id: Option<Value>,
}

/// The owner. 201 with all the filter's shares, as Jira answers.
pub async fn post_permission(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    JsonBody(body): JsonBody<ShareBody>,
) -> ApiResult<Jira> {
    let cap = state.authz.browsable_projects(&principal).await?;
    let input = ShareInput {
        kind: body.kind,
        group: body.groupname,
        project: id_text(body.project_id),
        role: id_text(body.project_role_id),
    };
    let shared = filters::share(&*state.store, &principal, &cap, &id, &input).await?;
    Ok(Jira::created(json!(shares(&state, &cap, &shared).await?)))
}

/// One share, as [`get_permissions`] lists it.
pub async fn get_permission(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((id, share_id)): PathArgs<(String, String)>,
) -> ApiResult<Jira> {
    let cap = state.authz.browsable_projects(&principal).await?;
    let found = filters::share_of(&*state.store, &principal, &cap, &id, &share_id).await?;
    Ok(Jira::ok(share(&state, &cap, &found).await?))
}

/// The owner. 204.
pub async fn delete_permission(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((id, share_id)): PathArgs<(String, String)>,
) -> ApiResult<Response> {
    let cap = state.authz.browsable_projects(&principal).await?;
    filters::unshare(&*state.store, &principal, &cap, &id, &share_id).await?;
    Ok(no_content())
}
