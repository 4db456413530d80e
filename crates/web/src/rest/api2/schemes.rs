//! The schemes Jira clients read before they create a project, and the application
//! properties: tessera has one of each kind, fixed, and shows them as Jira shows its defaults.
//!
//! - the **permission scheme** (id 0, "Default Permission Scheme"): what each project role
//!   grants, read from tessera's own role table, so it says what is enforced;
//! - one **issue security scheme** ("Default", no levels: issues are never restricted by one);
//! - **issue type schemes**: Jira's "Default Issue Type Scheme" (every issue type, used by no
//!   project) and one per project, as Jira makes one for each new software project (id: the
//!   project's id plus 10000; every issue type, Task by default);
//! - the **notification scheme**, **priority scheme** and **workflow scheme** a project uses;
//! - **project categories**: none (tessera's projects have no category).

use axum::extract::State;
use serde_json::{Value, json};
use tessera_core::authz::{AdministerProject, ProjectRef};
use tessera_core::catalog::{IssueType, Priority};
use tessera_core::ids::ProjectId;
use tessera_core::model::Project;
use tessera_core::permissions::ProjectRole;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params, PathArgs};
use crate::render::{self, Viewer};
use crate::state::AppState;
use crate::urls::Urls;

const PERMISSION_SCHEME: i64 = 0;
const SECURITY_SCHEME: i64 = 10000;
const NOTIFICATION_SCHEME: i64 = 10000;
const PRIORITY_SCHEME: i64 = 1;
const WORKFLOW_SCHEME: i64 = 10000;
const DEFAULT_ISSUE_TYPE_SCHEME: i64 = 10000;

/// The permission scheme, with each grant (a role and a permission key).
fn permission_scheme(urls: &Urls) -> Value {
    let mut grants = Vec::new();
    for role in [
        ProjectRole::Users,
        ProjectRole::Developers,
        ProjectRole::Administrators,
    ] {
        for permission in role.permissions().iter() {
            grants.push(json!({
                "id": 10000 + grants.len() as i64,
                "self": urls.api(&format!("permissionscheme/{PERMISSION_SCHEME}/permission/{}", 10000 + grants.len() as i64)),
                "holder": {"type": "projectRole", "parameter": role.id().to_string(), "expand": "projectRole"},
                "permission": permission.info().key,
            }));
        }
    }
    json!({
        "expand": "permissions,user,group,projectRole,field,all",
        "id": PERMISSION_SCHEME,
        "self": urls.api(&format!("permissionscheme/{PERMISSION_SCHEME}")),
        "name": "Default Permission Scheme",
        "description": "What each project role may do in every project (tessera's one scheme).",
        "permissions": grants,
    })
}

fn security_scheme(urls: &Urls, with_levels: bool) -> Value {
    let mut scheme = json!({
        "self": urls.api(&format!("issuesecurityschemes/{SECURITY_SCHEME}")),
        "id": SECURITY_SCHEME,
        "name": "Default",
        "description": "No security levels: tessera does not restrict single issues.",
    });
    if with_levels {
        scheme["levels"] = json!([]);
    }
    scheme
}

fn notification_scheme(urls: &Urls) -> Value {
    json!({
        "expand": "notificationSchemeEvents,user,group,projectRole,field,all",
        "id": NOTIFICATION_SCHEME,
        "self": urls.api(&format!("notificationscheme/{NOTIFICATION_SCHEME}")),
        "name": "Default Notification Scheme",
        "description": "tessera sends no notifications.",
        "notificationSchemeEvents": [],
    })
}

/// Global ADMINISTER: every permission scheme (one).
pub async fn get_permission_schemes(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    Ok(Jira::ok(
        json!({"permissionSchemes": [permission_scheme(&state.urls)]}),
    ))
}

/// Global ADMINISTER.
pub async fn get_permission_scheme(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    if id.trim() != PERMISSION_SCHEME.to_string() {
        return Err(ApiError::NotFound(format!(
            "No permission scheme exists with id '{id}'."
        )));
    }
    Ok(Jira::ok(permission_scheme(&state.urls)))
}

/// Global ADMINISTER: every issue security scheme (one, without levels).
pub async fn get_security_schemes(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    Ok(Jira::ok(
        json!({"issueSecuritySchemes": [security_scheme(&state.urls, false)]}),
    ))
}

/// Global ADMINISTER.
pub async fn get_security_scheme(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    if id.trim() != SECURITY_SCHEME.to_string() {
        return Err(ApiError::NotFound(format!(
            "No issue security scheme exists with id '{id}'."
        )));
    }
    Ok(Jira::ok(security_scheme(&state.urls, true)))
}

/// An issue type scheme: the default one (`project` None) or a project's; `expand` may name
/// `issueTypes` and `defaultIssueType`.
fn issue_type_scheme(urls: &Urls, project: Option<&Project>, expand: &[String]) -> Value {
    let (id, name, description) = match project {
        None => (
            DEFAULT_ISSUE_TYPE_SCHEME,
            "Default Issue Type Scheme".to_string(),
            "Every issue type; each project has its own scheme.",
        ),
        Some(p) => (
            DEFAULT_ISSUE_TYPE_SCHEME + p.id.0,
            // Named as Jira names the scheme a software project is made with.
            format!("{}: Software Simplified Issue Type Scheme", p.key),
            "Every issue type, Task by default.",
        ),
    };
    let mut scheme = json!({
        "expand": "issueTypes,defaultIssueType",
        "self": urls.api(&format!("issuetypescheme/{id}")),
        "id": id.to_string(),
        "name": name,
        "description": description,
    });
    let expands = |name: &str| expand.iter().any(|e| e == name || e == "*");
    if expands("issueTypes") {
        scheme["issueTypes"] = json!(IssueType::ALL.map(|t| render::issue_type(urls, t)));
    }
    if expands("defaultIssueType") {
        scheme["defaultIssueType"] = render::issue_type(urls, IssueType::DEFAULT);
    }
    scheme
}

/// The scheme with `id`: `None` for the default scheme, the project for a project's, or 404.
async fn find_issue_type_scheme(state: &AppState, id: &str) -> ApiResult<Option<Project>> {
    let missing = || ApiError::NotFound(format!("No issue type scheme exists with id '{id}'."));
    let id: i64 = id.trim().parse().map_err(|_| missing())?;
    if id == DEFAULT_ISSUE_TYPE_SCHEME {
        return Ok(None);
    }
    let project_id = id
        .checked_sub(DEFAULT_ISSUE_TYPE_SCHEME)
        .ok_or_else(missing)?;
    let project = state
        .store
        .find_project(ProjectId(project_id))
        .await
        .map_err(tessera_core::Error::from)?;
    project.map(Some).ok_or_else(missing)
}

/// Global ADMINISTER: every issue type scheme, the default first.
pub async fn get_issue_type_schemes(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let expand = params.list("expand");
    let projects = state
        .store
        .list_projects()
        .await
        .map_err(tessera_core::Error::from)?;
    let schemes: Vec<Value> = std::iter::once(None)
        .chain(projects.iter().map(Some))
        .map(|p| issue_type_scheme(&state.urls, p, &expand))
        .collect();
    Ok(Jira::ok(json!({"expand": "schemes", "schemes": schemes})))
}

/// Global ADMINISTER.
pub async fn get_issue_type_scheme(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    params: Params,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let project = find_issue_type_scheme(&state, &id).await?;
    Ok(Jira::ok(issue_type_scheme(
        &state.urls,
        project.as_ref(),
        &params.list("expand"),
    )))
}

/// Global ADMINISTER: the projects that use the scheme (none for the default scheme).
pub async fn get_issue_type_scheme_associations(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let viewer = Viewer::of(&principal);
    let project = find_issue_type_scheme(&state, &id).await?;
    let projects: Vec<Value> = project
        .iter()
        .map(|p| render::project(&state.urls, viewer, p))
        .collect();
    Ok(Jira::ok(Value::Array(projects)))
}

/// Any user: the notification schemes (one), paged as Jira pages them.
pub async fn get_notification_schemes(State(state): State<AppState>, Auth(_): Auth) -> Jira {
    Jira::ok(json!({
        "startAt": 0, "maxResults": 50, "total": 1, "isLast": true,
        "values": [notification_scheme(&state.urls)],
    }))
}

/// Any user: project categories (tessera's projects have none).
pub async fn get_project_categories(Auth(_): Auth) -> Jira {
    Jira::ok(json!([]))
}

/// ADMINISTER_PROJECTS: a project's scheme of `kind` (`permissionscheme`,
/// `notificationscheme`, `priorityscheme`, `workflowscheme`, `issuesecuritylevelscheme`).
async fn project_scheme(
    state: &AppState,
    principal: &tessera_core::principal::Principal,
    key: &str,
    kind: &str,
) -> ApiResult<Jira> {
    let visible = state
        .authz
        .visible_project(principal, &ProjectRef::parse(key))
        .await?;
    visible.also::<AdministerProject>()?;
    let project = visible.project();
    let urls = &state.urls;
    Ok(Jira::ok(match kind {
        "permissionscheme" => permission_scheme(urls),
        "notificationscheme" => notification_scheme(urls),
        "issuesecuritylevelscheme" => security_scheme(urls, true),
        "priorityscheme" => json!({
            "expand": "projectKeys",
            "self": urls.api(&format!("priorityschemes/{PRIORITY_SCHEME}")),
            "id": PRIORITY_SCHEME,
            "name": "Default priority scheme",
            "description": "Every priority, Medium by default.",
            "defaultOptionId": Priority::DEFAULT.id().to_string(),
            "optionIds": Priority::ALL.map(|p| p.id().to_string()),
            "defaultScheme": true,
            "projectKeys": [project.key],
        }),
        _ => json!({
            "id": WORKFLOW_SCHEME,
            "self": urls.api(&format!("workflowscheme/{WORKFLOW_SCHEME}")),
            // Named as Jira names the scheme a software project is made with.
            "name": format!("{}: Software Simplified Workflow Scheme", project.key),
            "description": "One workflow for every issue type: To Do, In Progress, Done.",
            "defaultWorkflow": "tessera workflow",
            "issueTypeMappings": IssueType::ALL.iter().map(|t| (t.id().to_string(), json!("tessera workflow"))).collect::<serde_json::Map<_, _>>(),
            "draft": false,
        }),
    }))
}

macro_rules! project_scheme_route {
    ($name:ident, $kind:literal) => {
        /// ADMINISTER_PROJECTS.
        pub async fn $name(
            State(state): State<AppState>,
            Auth(principal): Auth,
            PathArgs(key): PathArgs<String>,
        ) -> ApiResult<Jira> {
            project_scheme(&state, &principal, &key, $kind).await
        }
    };
}

project_scheme_route!(get_project_permission_scheme, "permissionscheme");
project_scheme_route!(get_project_notification_scheme, "notificationscheme");
project_scheme_route!(get_project_priority_scheme, "priorityscheme");
project_scheme_route!(get_project_workflow_scheme, "workflowscheme");
project_scheme_route!(
    get_project_security_level_scheme,
    "issuesecuritylevelscheme"
);

/// The application properties a client reads: key, name, type, value, default.
fn default_properties(
    base: String,
) -> Vec<(
    &'static str,
    &'static str,
    &'static str,
    String,
    &'static str,
)> {
    vec![
        (
            "jira.title",
            "Title",
            "string",
            "tessera".to_string(),
            "tessera",
        ),
        ("jira.baseurl", "Base URL", "string", base, ""),
        (
            "jira.lf.favicon.url",
            "Favicon",
            "string",
            "/favicon.ico".into(),
            "/favicon.ico",
        ),
        (
            "jira.lf.favicon.hires.url",
            "High-resolution favicon",
            "string",
            "/images/64jira.png".into(),
            "/images/64jira.png",
        ),
        // Jira's look and feel, which clients read to match its colours.
        (
            "jira.lf.text.headingcolour",
            "Heading colour",
            "colour",
            "#172b4d".into(),
            "#172b4d",
        ),
        (
            "jira.option.timetracking",
            "Time tracking",
            "boolean",
            "true".into(),
            "true",
        ),
        (
            "jira.timetracking.hours.per.day",
            "Working hours per day",
            "number",
            "8".into(),
            "8",
        ),
        (
            "jira.timetracking.days.per.week",
            "Working days per week",
            "number",
            "5".into(),
            "5",
        ),
        (
            "jira.timetracking.default.unit",
            "Default unit for time tracking",
            "string",
            "minute".into(),
            "minute",
        ),
        (
            "jira.option.allowunassigned",
            "Allow unassigned issues",
            "boolean",
            "true".into(),
            "true",
        ),
        (
            "jira.option.watching",
            "Watching",
            "boolean",
            "true".into(),
            "true",
        ),
        (
            "jira.option.voting",
            "Voting",
            "boolean",
            "true".into(),
            "true",
        ),
        (
            "jira.option.issuelinking",
            "Issue linking",
            "boolean",
            "true".into(),
            "true",
        ),
        (
            "jira.option.user.externalmanagement",
            "External user management",
            "boolean",
            "false".into(),
            "false",
        ),
    ]
}

/// The properties an administrator may change (Jira's title and look and feel), each with the
/// rule its value follows.
fn editable(key: &str, value: &str) -> Option<Result<(), &'static str>> {
    let plain = !value.is_empty() && !value.chars().any(char::is_control);
    Some(match key {
        "jira.title" if plain && value.chars().count() <= 255 => Ok(()),
        "jira.title" => Err("The title is 1 to 255 characters."),
        "jira.lf.text.headingcolour" => {
            let hex = value.strip_prefix('#').unwrap_or_default();
            if matches!(hex.len(), 3 | 6) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                Ok(())
            } else {
                Err("A colour is written #rgb or #rrggbb.")
            }
        }
        "jira.lf.favicon.url" | "jira.lf.favicon.hires.url" => {
            let is_address = value.starts_with('/')
                || value.starts_with("https://")
                || value.starts_with("http://");
            if plain && is_address && value.len() <= 2000 && !value.contains(char::is_whitespace) {
                Ok(())
            } else {
                Err("An image address is a path on this server (/...) or an http(s) URL.")
            }
        }
        _ => return None,
    })
}

/// The properties as they stand: the defaults, with what administrators changed.
async fn application_properties(state: &AppState) -> ApiResult<Vec<Value>> {
    let changed = state
        .store
        .app_properties()
        .await
        .map_err(tessera_core::Error::from)?;
    Ok(default_properties(state.urls.base().to_string())
        .into_iter()
        .map(|(key, name, kind, value, default)| {
            let value = changed
                .iter()
                .find(|(k, _)| k == key)
                .map_or(value, |(_, v)| v.clone());
            json!({
                "id": key, "key": key, "value": value, "name": name, "desc": name,
                "type": kind, "defaultValue": default,
            })
        })
        .collect())
}

/// Global ADMINISTER: the application properties a client reads, or the one `key` names.
pub async fn get_application_properties(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let shown = application_properties(&state).await?;
    match params.get("key") {
        None => Ok(Jira::ok(Value::Array(shown))),
        Some(wanted) => shown
            .into_iter()
            .find(|p| p["key"] == wanted)
            .map(Jira::ok)
            .ok_or_else(|| ApiError::NotFound(format!("Property '{wanted}' does not exist."))),
    }
}

#[derive(Debug, serde::Deserialize)]
pub struct PropertyBody {
    value: Option<String>,
}

/// Global ADMINISTER (a change: websudo, audited): `{"id", "value"}` sets one of the
/// properties [`editable`] names; the property as it now stands.
pub async fn put_application_property(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    JsonBody(body): JsonBody<PropertyBody>,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let value = body
        .value
        .ok_or_else(|| ApiError::field("value", "You must give the property's value."))?;
    match editable(&key, &value) {
        None if default_properties(String::new()).iter().any(|p| p.0 == key) => {
            return Err(ApiError::bad_request(format!(
                "The property '{key}' cannot be changed here."
            )));
        }
        None => {
            return Err(ApiError::NotFound(format!(
                "Property '{key}' does not exist."
            )));
        }
        Some(Err(why)) => return Err(ApiError::field("value", why)),
        Some(Ok(())) => {}
    }
    state
        .store
        .set_app_property(&key, &value, state.clock.now())
        .await
        .map_err(tessera_core::Error::from)?;
    let shown = application_properties(&state).await?;
    shown
        .into_iter()
        .find(|p| p["key"] == key.as_str())
        .map(Jira::ok)
        .ok_or_else(|| ApiError::NotFound(format!("Property '{key}' does not exist.")))
}
