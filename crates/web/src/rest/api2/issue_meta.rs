//! What a client may set on an issue: `GET issue/createmeta` (Jira Server's, with
//! `projectKeys`, `projectIds`, `issuetypeIds`, `issuetypeNames` and
//! `expand=projects.issuetypes.fields`), its Jira 8.4+ replacements
//! `GET issue/createmeta/{project}/issuetypes[/{issueTypeId}]` (which clients use against a
//! Jira 9 such as tessera reports), and `GET issue/{key}/editmeta` (or
//! `GET issue/{key}?expand=editmeta`).
//!
//! The fields offered follow what the caller's permissions let the services accept, so a form
//! built from them never gets a 403 back: the assignee only with ASSIGN_ISSUES, another
//! reporter only with ADMINISTER_PROJECTS, the comment only with ADD_COMMENTS, the
//! resolution only on a resolved issue, and nothing at all to edit without EDIT_ISSUES.

use axum::extract::State;
use serde_json::{Map, Value, json};
use tessera_core::authz::{Browse, CreateIssues, OnIssue, OnProject, ProjectRef};
use tessera_core::catalog::{IssueType, Priority, Resolution, find_field};
use tessera_core::permissions::{ProjectPermission, ProjectPermissions};

use super::issue_input::issue_ref;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, Params, PathArgs};
use crate::render;
use crate::state::AppState;
use crate::urls::Urls;

/// One field a form may show: whether it must be given, how it may be changed, and the
/// values it takes (for catalogue fields).
struct FieldMeta {
    id: &'static str,
    required: bool,
    operations: &'static [&'static str],
    allowed: Option<Vec<Value>>,
    default: Option<Value>,
}

impl FieldMeta {
    fn new(id: &'static str, required: bool, operations: &'static [&'static str]) -> Self {
        Self {
            id,
            required,
            operations,
            allowed: None,
            default: None,
        }
    }

    fn allowed(mut self, values: Vec<Value>) -> Self {
        self.allowed = Some(values);
        self
    }

    fn default(mut self, value: Value) -> Self {
        self.default = Some(value);
        self
    }

    /// Jira's shape; the 8.4+ listings also name the field in `fieldId`.
    fn render(&self, with_field_id: bool) -> Value {
        let (name, schema) = match find_field(self.id) {
            Some(field) => (field.name, render::field(field)["schema"].clone()),
            None => (self.id, Value::Null),
        };
        let mut value = json!({
            "required": self.required,
            "schema": schema,
            "name": name,
            "key": self.id,
            "hasDefaultValue": self.default.is_some(),
            "operations": self.operations,
        });
        if let Some(allowed) = &self.allowed {
            value["allowedValues"] = json!(allowed);
        }
        if let Some(default) = &self.default {
            value["defaultValue"] = default.clone();
        }
        if with_field_id {
            value["fieldId"] = json!(self.id);
        }
        value
    }
}

fn issue_types(urls: &Urls) -> Vec<Value> {
    IssueType::ALL
        .iter()
        .map(|t| render::issue_type(urls, *t))
        .collect()
}

fn priorities(urls: &Urls) -> Vec<Value> {
    Priority::ALL
        .iter()
        .map(|p| render::priority(urls, *p))
        .collect()
}

/// The fields of a new issue in the project, for a caller holding `held` there.
fn create_fields(urls: &Urls, cap: &OnProject<CreateIssues>) -> Vec<FieldMeta> {
    let held = cap.effective();
    let project = cap.project();
    let mut fields = vec![
        FieldMeta::new("summary", true, &["set"]),
        FieldMeta::new("issuetype", true, &[]).allowed(issue_types(urls)),
        FieldMeta::new("project", true, &["set"]).allowed(vec![render::project_summary(
            urls,
            project.id.0,
            &project.key,
            &project.name,
            &project.project_type_key,
        )]),
        FieldMeta::new("description", false, &["set"]),
        FieldMeta::new("priority", false, &["set"])
            .allowed(priorities(urls))
            .default(render::priority(urls, Priority::DEFAULT)),
        FieldMeta::new("labels", false, &["add", "set", "remove"]),
        FieldMeta::new("timetracking", false, &["set"]),
        FieldMeta::new("fixVersions", false, &["set", "add", "remove"]),
        FieldMeta::new("versions", false, &["set", "add", "remove"]),
        FieldMeta::new("components", false, &["set", "add", "remove"]),
    ];
    // The reporter defaults to the caller; naming another needs ADMINISTER_PROJECTS.
    if held.contains(ProjectPermission::AdministerProjects) {
        fields.push(FieldMeta::new("reporter", false, &["set"]));
    }
    if held.contains(ProjectPermission::AssignIssues) {
        fields.push(FieldMeta::new("assignee", false, &["set"]));
    }
    fields
}

fn fields_object(fields: &[FieldMeta]) -> Value {
    let map: Map<String, Value> = fields
        .iter()
        .map(|f| (f.id.to_string(), f.render(false)))
        .collect();
    Value::Object(map)
}

/// An issue type as the create listings show it.
fn create_issue_type(urls: &Urls, issue_type: IssueType, fields: Option<&[FieldMeta]>) -> Value {
    let mut value = render::issue_type(urls, issue_type);
    value["expand"] = json!("fields");
    if let Some(fields) = fields {
        value["fields"] = fields_object(fields);
    }
    value
}

/// Whether a filter of ids and names (either may be empty) lets an issue type through.
fn type_wanted(ids: &[String], names: &[String], issue_type: IssueType) -> bool {
    (ids.is_empty() && names.is_empty())
        || ids
            .iter()
            .any(|id| id.trim() == issue_type.id().to_string())
        || names
            .iter()
            .any(|name| name.trim().eq_ignore_ascii_case(issue_type.name()))
}

/// Any user; lists the projects where the caller may create issues (CREATE_ISSUES, scope
/// included), narrowed by `projectKeys`/`projectIds` and `issuetypeIds`/`issuetypeNames`;
/// `expand=projects.issuetypes.fields` adds each issue type's fields. Projects named but not
/// creatable are left out, as Jira leaves them out.
pub async fn get_createmeta(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    let keys: Vec<String> = params
        .list("projectKeys")
        .iter()
        .map(|k| k.to_ascii_uppercase())
        .collect();
    let ids = params.list("projectIds");
    let type_ids = params.list("issuetypeIds");
    let type_names = params.list("issuetypeNames");
    let with_fields = params
        .list("expand")
        .iter()
        .any(|e| e == "projects.issuetypes.fields");
    let creatable = state
        .authz
        .projects_where::<CreateIssues>(&principal)
        .await?;
    let urls = &state.urls;
    let projects: Vec<Value> = creatable
        .iter()
        .filter(|cap| {
            let project = cap.project();
            (keys.is_empty() && ids.is_empty())
                || keys.contains(&project.key)
                || ids.iter().any(|id| *id == project.id.to_string())
        })
        .map(|cap| {
            let project = cap.project();
            let fields = with_fields.then(|| create_fields(urls, cap));
            let types: Vec<Value> = IssueType::ALL
                .into_iter()
                .filter(|t| type_wanted(&type_ids, &type_names, *t))
                .map(|t| create_issue_type(urls, t, fields.as_deref()))
                .collect();
            let mut value = render::project_summary(
                urls,
                project.id.0,
                &project.key,
                &project.name,
                &project.project_type_key,
            );
            value["expand"] = json!("issuetypes");
            value["issuetypes"] = json!(types);
            value
        })
        .collect();
    Ok(Jira::ok(
        json!({ "expand": "projects", "projects": projects }),
    ))
}

/// A page of a fixed list, in the shape of Jira's 8.4+ createmeta listings.
fn paged(params: &Params, items: Vec<Value>) -> Jira {
    let page = params.page(50, 1000);
    let total = items.len() as i64;
    let values: Vec<Value> = items
        .into_iter()
        .skip(usize::try_from(page.start_at).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(0))
        .collect();
    let is_last = page.start_at + values.len() as i64 >= total;
    Jira::ok(json!({
        "maxResults": page.limit,
        "startAt": page.start_at,
        "total": total,
        "isLast": is_last,
        "values": values,
    }))
}

/// CREATE_ISSUES in the project: its issue types, paged (`startAt`, `maxResults`).
pub async fn get_createmeta_issue_types(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(project): PathArgs<String>,
    params: Params,
) -> ApiResult<Jira> {
    state
        .authz
        .project::<CreateIssues>(&principal, &ProjectRef::parse(&project))
        .await?;
    let types = IssueType::ALL
        .into_iter()
        .map(|t| create_issue_type(&state.urls, t, None))
        .collect();
    Ok(paged(&params, types))
}

/// CREATE_ISSUES in the project: the fields of a new issue of the type, paged.
pub async fn get_createmeta_fields(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((project, type_id)): PathArgs<(String, String)>,
    params: Params,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .project::<CreateIssues>(&principal, &ProjectRef::parse(&project))
        .await?;
    if type_id
        .trim()
        .parse()
        .ok()
        .and_then(IssueType::from_id)
        .is_none()
    {
        return Err(ApiError::NotFound(format!(
            "No issue type with id '{type_id}' exists in project '{}'.",
            cap.project().key
        )));
    }
    let fields = create_fields(&state.urls, &cap)
        .iter()
        .map(|f| f.render(true))
        .collect();
    Ok(paged(&params, fields))
}

/// The fields of an existing issue the caller may change.
fn edit_fields(urls: &Urls, held: ProjectPermissions, is_resolved: bool) -> Vec<FieldMeta> {
    if !held.contains(ProjectPermission::EditIssues) {
        return Vec::new();
    }
    let mut fields = vec![
        FieldMeta::new("summary", true, &["set"]),
        FieldMeta::new("issuetype", true, &["set"]).allowed(issue_types(urls)),
        FieldMeta::new("description", false, &["set"]),
        FieldMeta::new("priority", false, &["set"]).allowed(priorities(urls)),
        FieldMeta::new("labels", false, &["add", "set", "remove"]),
    ];
    fields.push(FieldMeta::new("timetracking", false, &["set"]));
    for list in ["fixVersions", "versions", "components"] {
        fields.push(FieldMeta::new(list, false, &["set", "add", "remove"]));
    }
    if held.contains(ProjectPermission::AssignIssues) {
        fields.push(FieldMeta::new("assignee", false, &["set"]));
    }
    if held.contains(ProjectPermission::AdministerProjects) {
        fields.push(FieldMeta::new("reporter", true, &["set"]));
    }
    if held.contains(ProjectPermission::AddComments) {
        fields.push(FieldMeta::new("comment", false, &["add"]));
    }
    // Listed as Jira lists them; changed through their own resources (`issue/{key}/
    // attachments`, `issueLink`), so `PUT issue` offers no operation on them.
    if held.contains(ProjectPermission::CreateAttachments) {
        fields.push(FieldMeta::new("attachment", false, &[]));
    }
    if held.contains(ProjectPermission::LinkIssues) {
        fields.push(FieldMeta::new("issuelinks", false, &[]));
    }
    if is_resolved {
        let resolutions = Resolution::ALL
            .iter()
            .map(|r| render::resolution(urls, *r))
            .collect();
        fields.push(FieldMeta::new("resolution", true, &["set"]).allowed(resolutions));
    }
    fields
}

/// `{"fields": {...}}`: what the caller may set on the issue with `PUT issue` (also
/// `GET issue?expand=editmeta`).
pub(crate) fn editmeta(urls: &Urls, cap: &OnIssue<Browse>) -> Value {
    let is_resolved = cap.issue().resolution.is_some();
    let fields = edit_fields(urls, cap.effective(), is_resolved);
    json!({ "fields": fields_object(&fields) })
}

/// BROWSE_PROJECTS: `{"fields": {...}}`, the fields the caller may set with `PUT issue`
/// (none without EDIT_ISSUES, as in Jira).
pub async fn get_editmeta(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    Ok(Jira::ok(editmeta(&state.urls, &cap)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_type_filters() {
        let none: Vec<String> = Vec::new();
        assert!(type_wanted(&none, &none, IssueType::Bug));
        assert!(type_wanted(&["1".into()], &none, IssueType::Bug));
        assert!(!type_wanted(&["1".into()], &none, IssueType::Task));
        assert!(type_wanted(&none, &["task".into()], IssueType::Task));
        assert!(type_wanted(
            &["1".into()],
            &["Task".into()],
            IssueType::Task
        ));
    }

    #[test]
    fn edit_fields_follow_permissions() {
        let urls = Urls::parse("http://localhost:8080").unwrap();
        let ids = |fields: Vec<FieldMeta>| fields.iter().map(|f| f.id).collect::<Vec<_>>();
        let users = tessera_core::permissions::ProjectRole::Users.permissions();
        assert!(edit_fields(&urls, users, false).is_empty());
        let developers = tessera_core::permissions::ProjectRole::Developers.permissions();
        assert_eq!(
            ids(edit_fields(&urls, developers, false)),
            [
                "summary",
                "issuetype",
                "description",
                "priority",
                "labels",
                "timetracking",
                "fixVersions",
                "versions",
                "components",
                "assignee",
                "comment",
                "attachment",
                "issuelinks"
            ]
        );
        let administrators = tessera_core::permissions::ProjectRole::Administrators.permissions();
        let all = ids(edit_fields(&urls, administrators, true));
        assert!(all.contains(&"reporter") && all.contains(&"resolution"));
    }
}
