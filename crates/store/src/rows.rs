//! Row shapes shared by the queries of both backends, and their conversion to domain records.
//! Column lists are macros so that queries stay `&'static str` literals built with `concat!`.

use tessera_core::catalog::{IssueType, Priority, Resolution, Status};
use tessera_core::changelog::{ChangeGroup, ChangeItem, CredentialUsed, OAuthClientUsed};
use tessera_core::clock::Timestamp;
use tessera_core::ids::{CommentId, IssueId, ProjectId, UserId, WorklogId};
use tessera_core::model::{
    Comment, Issue, Named, Project, TimeTracking, User, Visibility, Worklog,
};
use tessera_core::permissions::ProjectRole;
use tessera_core::store::StoreError;

/// The user columns, aliased with a prefix (`a` gives `a_id`, `a_name`, ...).
macro_rules! user_columns {
    ($alias:literal) => {
        concat!(
            $alias,
            ".id AS ",
            $alias,
            "_id, ",
            $alias,
            ".name AS ",
            $alias,
            "_name, COALESCE(",
            $alias,
            ".cased_name, ",
            $alias,
            ".name) AS ",
            $alias,
            "_cased_name, ",
            $alias,
            ".display_name AS ",
            $alias,
            "_display_name, ",
            $alias,
            ".email AS ",
            $alias,
            "_email, ",
            $alias,
            ".active AS ",
            $alias,
            "_active, ",
            "(",
            $alias,
            ".password_hash IS NOT NULL) AS ",
            $alias,
            "_has_password, ",
            $alias,
            ".created_at AS ",
            $alias,
            "_created_at, ",
            $alias,
            ".service_owner_group AS ",
            $alias,
            "_service_owner"
        )
    };
}
pub(crate) use user_columns;

/// A user selected with `user_columns!("u")`.
#[derive(sqlx::FromRow)]
pub(crate) struct UserRow {
    u_id: i64,
    u_name: String,
    u_cased_name: String,
    u_display_name: String,
    u_email: Option<String>,
    u_active: bool,
    u_has_password: bool,
    u_created_at: i64,
    u_service_owner: Option<String>,
}

impl From<UserRow> for User {
    fn from(row: UserRow) -> Self {
        User {
            id: UserId(row.u_id),
            name: row.u_name,
            cased_name: row.u_cased_name,
            display_name: row.u_display_name,
            email: row.u_email,
            active: row.u_active,
            has_password: row.u_has_password,
            created: Timestamp::from_millis(row.u_created_at),
            service_owner: row.u_service_owner,
        }
    }
}

/// A user reached through an outer join: every column may be NULL.
#[allow(clippy::too_many_arguments)]
pub(crate) fn joined_user(
    id: Option<i64>,
    name: Option<String>,
    cased_name: Option<String>,
    display_name: Option<String>,
    email: Option<String>,
    active: Option<bool>,
    has_password: Option<bool>,
    created_at: Option<i64>,
    service_owner: Option<String>,
) -> Option<User> {
    Some(User {
        id: UserId(id?),
        name: name?,
        cased_name: cased_name?,
        display_name: display_name?,
        email,
        active: active?,
        has_password: has_password.unwrap_or(false),
        created: Timestamp::from_millis(created_at?),
        service_owner,
    })
}

// `sqlx::FromRow` needs plain fields, so each joined user is spelled out; the helpers keep the
// conversions in one place.
#[derive(sqlx::FromRow)]
pub(crate) struct IssueRow {
    id: i64,
    project_id: i64,
    project_key: String,
    project_name: String,
    project_type_key: String,
    number: i64,
    issue_type_id: i64,
    summary: String,
    description: Option<String>,
    status_id: i64,
    priority_id: i64,
    resolution_id: Option<i64>,
    resolved_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
    original_estimate: Option<i64>,
    remaining_estimate: Option<i64>,
    time_spent: i64,
    a_id: Option<i64>,
    a_name: Option<String>,
    a_cased_name: Option<String>,
    a_display_name: Option<String>,
    a_email: Option<String>,
    a_active: Option<bool>,
    a_has_password: Option<bool>,
    a_created_at: Option<i64>,
    a_service_owner: Option<String>,
    r_id: Option<i64>,
    r_name: Option<String>,
    r_cased_name: Option<String>,
    r_display_name: Option<String>,
    r_email: Option<String>,
    r_active: Option<bool>,
    r_has_password: Option<bool>,
    r_created_at: Option<i64>,
    r_service_owner: Option<String>,
    c_id: Option<i64>,
    c_name: Option<String>,
    c_cased_name: Option<String>,
    c_display_name: Option<String>,
    c_email: Option<String>,
    c_active: Option<bool>,
    c_has_password: Option<bool>,
    c_created_at: Option<i64>,
    c_service_owner: Option<String>,
}

/// `SELECT` of everything an [`Issue`] holds but its labels; append a `WHERE`.
macro_rules! issue_select {
    () => {
        concat!(
            "SELECT i.id, i.project_id, p.project_key, p.name AS project_name, ",
            "p.project_type_key, i.number, i.issue_type_id, i.summary, i.description, ",
            "i.status_id, i.priority_id, i.resolution_id, i.resolved_at, i.created_at, ",
            "i.updated_at, i.original_estimate, i.remaining_estimate, i.time_spent, ",
            $crate::rows::user_columns!("a"),
            ", ",
            $crate::rows::user_columns!("r"),
            ", ",
            $crate::rows::user_columns!("c"),
            " FROM issues i JOIN projects p ON p.id = i.project_id",
            " LEFT JOIN users a ON a.id = i.assignee_id",
            " LEFT JOIN users r ON r.id = i.reporter_id",
            " LEFT JOIN users c ON c.id = i.creator_id"
        )
    };
}
pub(crate) use issue_select;

pub(crate) fn corrupt(what: &str, value: i64) -> StoreError {
    StoreError::Backend(format!("stored {what} {value} is not in the catalogue").into())
}

impl IssueRow {
    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    pub(crate) fn into_issue(self) -> Result<Issue, StoreError> {
        let resolution = match self.resolution_id {
            Some(id) => Some(Resolution::from_id(id).ok_or_else(|| corrupt("resolution", id))?),
            None => None,
        };
        Ok(Issue {
            id: IssueId(self.id),
            project_id: ProjectId(self.project_id),
            project_key: self.project_key,
            project_name: self.project_name,
            project_type_key: self.project_type_key,
            number: self.number,
            issue_type: IssueType::from_id(self.issue_type_id)
                .ok_or_else(|| corrupt("issue type", self.issue_type_id))?,
            summary: self.summary,
            description: self.description,
            status: Status::from_id(self.status_id)
                .ok_or_else(|| corrupt("status", self.status_id))?,
            priority: Priority::from_id(self.priority_id)
                .ok_or_else(|| corrupt("priority", self.priority_id))?,
            resolution,
            resolution_date: self.resolved_at.map(Timestamp::from_millis),
            time_tracking: TimeTracking {
                original_estimate: self.original_estimate,
                remaining_estimate: self.remaining_estimate,
                time_spent: self.time_spent,
            },
            assignee: joined_user(
                self.a_id,
                self.a_name,
                self.a_cased_name,
                self.a_display_name,
                self.a_email,
                self.a_active,
                self.a_has_password,
                self.a_created_at,
                self.a_service_owner,
            ),
            reporter: joined_user(
                self.r_id,
                self.r_name,
                self.r_cased_name,
                self.r_display_name,
                self.r_email,
                self.r_active,
                self.r_has_password,
                self.r_created_at,
                self.r_service_owner,
            ),
            creator: joined_user(
                self.c_id,
                self.c_name,
                self.c_cased_name,
                self.c_display_name,
                self.c_email,
                self.c_active,
                self.c_has_password,
                self.c_created_at,
                self.c_service_owner,
            ),
            // Filled in by `attach_parts`.
            labels: Vec::new(),
            fix_versions: Vec::new(),
            versions: Vec::new(),
            components: Vec::new(),
            created: Timestamp::from_millis(self.created_at),
            updated: Timestamp::from_millis(self.updated_at),
        })
    }
}

/// A row of [`parts_sql`].
pub(crate) type PartRow = (i64, String, i64, String, i64);

/// The labels, versions and components of the issues whose ids the query lists (`$1`..`$n`),
/// in one read: (issue id, kind `label`/`fix`/`affects`/`component`, id (0 for a label), name
/// or label, rank).
pub(crate) fn parts_sql(count: usize) -> String {
    let list = (1..=count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "SELECT il.issue_id, 'label', 0, il.label, 0 FROM issue_labels il \
         WHERE il.issue_id IN ({list}) \
         UNION ALL SELECT iv.issue_id, iv.kind, v.id, v.name, v.sequence AS rank \
         FROM issue_versions iv JOIN versions v ON v.id = iv.version_id \
         WHERE iv.issue_id IN ({list}) \
         UNION ALL SELECT ic.issue_id, 'component', c.id, c.name, 0 FROM issue_components ic \
         JOIN components c ON c.id = ic.component_id WHERE ic.issue_id IN ({list})"
    )
}

/// Puts each issue's parts (rows of [`parts_sql`]) on it: labels in byte order (the order of
/// the databases' binary collation), versions in their project's order, components by name.
pub(crate) fn attach_parts(issues: &mut [Issue], rows: Vec<PartRow>) {
    let mut rows = rows;
    rows.sort_by_key(|row| (row.4, row.3.to_lowercase(), row.2));
    for (issue_id, kind, id, name, _) in rows {
        let Some(issue) = issues.iter_mut().find(|i| i.id.0 == issue_id) else {
            continue;
        };
        let list = match kind.as_str() {
            "label" => {
                issue.labels.push(name);
                continue;
            }
            "fix" => &mut issue.fix_versions,
            "affects" => &mut issue.versions,
            _ => &mut issue.components,
        };
        list.push(Named { id, name });
    }
    for issue in issues {
        issue.labels.sort_unstable();
    }
}

/// Reads and attaches the labels, versions and components of `$issues` (a `&mut [Issue]`) on
/// `$conn`; `?` leaves on an error.
macro_rules! load_parts {
    ($conn:expr, $issues:expr) => {{
        let issues: &mut [tessera_core::model::Issue] = $issues;
        if !issues.is_empty() {
            let sql = $crate::rows::parts_sql(issues.len());
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
            for issue in issues.iter() {
                query = query.bind(issue.id.0);
            }
            let rows: Vec<$crate::rows::PartRow> = query.fetch_all($conn).await.map_err(backend)?;
            $crate::rows::attach_parts(issues, rows);
        }
    }};
}
pub(crate) use load_parts;

/// `SELECT` of a project with its lead; append a `WHERE` or `ORDER BY`.
macro_rules! project_select {
    () => {
        concat!(
            "SELECT p.id, p.project_key, p.name, p.description, p.project_type_key, p.created_at, ",
            $crate::rows::user_columns!("l"),
            " FROM projects p LEFT JOIN users l ON l.id = p.lead_id"
        )
    };
}
pub(crate) use project_select;

#[derive(sqlx::FromRow)]
pub(crate) struct ProjectRow {
    id: i64,
    project_key: String,
    name: String,
    description: Option<String>,
    project_type_key: String,
    created_at: i64,
    l_id: Option<i64>,
    l_name: Option<String>,
    l_cased_name: Option<String>,
    l_display_name: Option<String>,
    l_email: Option<String>,
    l_active: Option<bool>,
    l_has_password: Option<bool>,
    l_created_at: Option<i64>,
    l_service_owner: Option<String>,
}

impl From<ProjectRow> for Project {
    fn from(row: ProjectRow) -> Self {
        Project {
            id: ProjectId(row.id),
            key: row.project_key,
            name: row.name,
            description: row.description,
            lead: joined_user(
                row.l_id,
                row.l_name,
                row.l_cased_name,
                row.l_display_name,
                row.l_email,
                row.l_active,
                row.l_has_password,
                row.l_created_at,
                row.l_service_owner,
            ),
            project_type_key: row.project_type_key,
            created: Timestamp::from_millis(row.created_at),
        }
    }
}

/// `SELECT` of a comment with its author and last editor; append a `WHERE`.
macro_rules! comment_select {
    () => {
        concat!(
            "SELECT c.id, c.issue_id, c.body, c.created_at, c.updated_at, c.visibility_role, ",
            "c.visibility_group, ",
            $crate::rows::user_columns!("a"),
            ", ",
            $crate::rows::user_columns!("e"),
            " FROM comments c LEFT JOIN users a ON a.id = c.author_id",
            " LEFT JOIN users e ON e.id = c.update_author_id"
        )
    };
}
pub(crate) use comment_select;

/// Whether comment `c` may be seen by the user whose id is bound at `viewer` (a placeholder),
/// in the project `project` (an SQL expression): unrestricted, or restricted to a group the
/// user is in, or to a role the user holds there (directly or through a group).
pub(crate) fn comment_visible(viewer: &str, project: &str) -> String {
    format!(
        "((c.visibility_role IS NULL AND c.visibility_group IS NULL) \
         OR EXISTS (SELECT 1 FROM group_members vg WHERE vg.group_name = c.visibility_group \
         AND vg.user_id = {viewer}) \
         OR EXISTS (SELECT 1 FROM project_role_users vu WHERE vu.project_id = {project} \
         AND vu.role_id = c.visibility_role AND vu.user_id = {viewer}) \
         OR EXISTS (SELECT 1 FROM project_role_groups vr JOIN group_members vm \
         ON vm.group_name = vr.group_name WHERE vr.project_id = {project} \
         AND vr.role_id = c.visibility_role AND vm.user_id = {viewer}))"
    )
}

/// A comment's visibility as stored: its role id, its group name.
pub(crate) fn visibility_columns(
    visibility: Option<&tessera_core::model::Visibility>,
) -> (Option<i64>, Option<String>) {
    use tessera_core::model::Visibility;
    match visibility {
        None => (None, None),
        Some(Visibility::Role(role)) => (Some(role.id()), None),
        Some(Visibility::Group(group)) => (None, Some(group.clone())),
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct CommentRow {
    id: i64,
    issue_id: i64,
    body: String,
    created_at: i64,
    updated_at: i64,
    visibility_role: Option<i64>,
    visibility_group: Option<String>,
    a_id: Option<i64>,
    a_name: Option<String>,
    a_cased_name: Option<String>,
    a_display_name: Option<String>,
    a_email: Option<String>,
    a_active: Option<bool>,
    a_has_password: Option<bool>,
    a_created_at: Option<i64>,
    a_service_owner: Option<String>,
    e_id: Option<i64>,
    e_name: Option<String>,
    e_cased_name: Option<String>,
    e_display_name: Option<String>,
    e_email: Option<String>,
    e_active: Option<bool>,
    e_has_password: Option<bool>,
    e_created_at: Option<i64>,
    e_service_owner: Option<String>,
}

impl From<CommentRow> for Comment {
    fn from(row: CommentRow) -> Self {
        Comment {
            visibility: match (row.visibility_role, row.visibility_group) {
                // A role id tessera never writes reads as the narrowest role: closed, not open.
                (Some(role), _) => Some(Visibility::Role(
                    ProjectRole::from_id(role).unwrap_or(ProjectRole::Administrators),
                )),
                (None, Some(group)) => Some(Visibility::Group(group)),
                (None, None) => None,
            },
            id: CommentId(row.id),
            issue_id: IssueId(row.issue_id),
            author: joined_user(
                row.a_id,
                row.a_name,
                row.a_cased_name,
                row.a_display_name,
                row.a_email,
                row.a_active,
                row.a_has_password,
                row.a_created_at,
                row.a_service_owner,
            ),
            update_author: joined_user(
                row.e_id,
                row.e_name,
                row.e_cased_name,
                row.e_display_name,
                row.e_email,
                row.e_active,
                row.e_has_password,
                row.e_created_at,
                row.e_service_owner,
            ),
            body: row.body,
            created: Timestamp::from_millis(row.created_at),
            updated: Timestamp::from_millis(row.updated_at),
        }
    }
}

/// `SELECT` of a worklog with its author and last editor; append a `WHERE`.
macro_rules! worklog_select {
    () => {
        concat!(
            "SELECT w.id, w.issue_id, w.comment, w.started_at, w.time_spent, w.created_at, ",
            "w.updated_at, i.project_id, ",
            $crate::rows::user_columns!("a"),
            ", ",
            $crate::rows::user_columns!("e"),
            " FROM worklogs w JOIN issues i ON i.id = w.issue_id",
            " LEFT JOIN users a ON a.id = w.author_id",
            " LEFT JOIN users e ON e.id = w.update_author_id"
        )
    };
}
pub(crate) use worklog_select;

#[derive(sqlx::FromRow)]
pub(crate) struct WorklogRow {
    id: i64,
    issue_id: i64,
    comment: String,
    started_at: i64,
    time_spent: i64,
    created_at: i64,
    updated_at: i64,
    pub(crate) project_id: i64,
    a_id: Option<i64>,
    a_name: Option<String>,
    a_cased_name: Option<String>,
    a_display_name: Option<String>,
    a_email: Option<String>,
    a_active: Option<bool>,
    a_has_password: Option<bool>,
    a_created_at: Option<i64>,
    a_service_owner: Option<String>,
    e_id: Option<i64>,
    e_name: Option<String>,
    e_cased_name: Option<String>,
    e_display_name: Option<String>,
    e_email: Option<String>,
    e_active: Option<bool>,
    e_has_password: Option<bool>,
    e_created_at: Option<i64>,
    e_service_owner: Option<String>,
}

impl From<WorklogRow> for Worklog {
    fn from(row: WorklogRow) -> Self {
        Worklog {
            id: WorklogId(row.id),
            issue_id: IssueId(row.issue_id),
            author: joined_user(
                row.a_id,
                row.a_name,
                row.a_cased_name,
                row.a_display_name,
                row.a_email,
                row.a_active,
                row.a_has_password,
                row.a_created_at,
                row.a_service_owner,
            ),
            update_author: joined_user(
                row.e_id,
                row.e_name,
                row.e_cased_name,
                row.e_display_name,
                row.e_email,
                row.e_active,
                row.e_has_password,
                row.e_created_at,
                row.e_service_owner,
            ),
            comment: row.comment,
            started: Timestamp::from_millis(row.started_at),
            time_spent_seconds: row.time_spent,
            created: Timestamp::from_millis(row.created_at),
            updated: Timestamp::from_millis(row.updated_at),
        }
    }
}

/// `SELECT` of a changelog entry with its author; append a `WHERE`.
macro_rules! change_group_select {
    () => {
        concat!(
            "SELECT g.id, g.issue_id, g.created_at, g.credential_kind, g.credential_id, ",
            "g.oauth_client_id, g.oauth_client_name, ",
            $crate::rows::user_columns!("a"),
            " FROM changelog_groups g LEFT JOIN users a ON a.id = g.author_id"
        )
    };
}
pub(crate) use change_group_select;

#[derive(sqlx::FromRow)]
pub(crate) struct ChangeGroupRow {
    id: i64,
    issue_id: i64,
    created_at: i64,
    credential_kind: String,
    credential_id: Option<String>,
    oauth_client_id: Option<String>,
    oauth_client_name: Option<String>,
    a_id: Option<i64>,
    a_name: Option<String>,
    a_cased_name: Option<String>,
    a_display_name: Option<String>,
    a_email: Option<String>,
    a_active: Option<bool>,
    a_has_password: Option<bool>,
    a_created_at: Option<i64>,
    a_service_owner: Option<String>,
}

impl ChangeGroupRow {
    pub(crate) fn id(&self) -> i64 {
        self.id
    }

    /// The entry, with its items (already in order).
    pub(crate) fn into_group(self, items: Vec<ChangeItem>) -> ChangeGroup {
        let oauth_client = match (self.oauth_client_id, self.oauth_client_name) {
            (Some(client_id), name) => Some(OAuthClientUsed {
                name: name.unwrap_or_else(|| client_id.clone()),
                client_id,
            }),
            (None, _) => None,
        };
        ChangeGroup {
            id: self.id,
            issue_id: IssueId(self.issue_id),
            author: joined_user(
                self.a_id,
                self.a_name,
                self.a_cased_name,
                self.a_display_name,
                self.a_email,
                self.a_active,
                self.a_has_password,
                self.a_created_at,
                self.a_service_owner,
            ),
            created: Timestamp::from_millis(self.created_at),
            credential: CredentialUsed {
                kind: self.credential_kind,
                id: self.credential_id,
                oauth_client,
            },
            items,
        }
    }
}

#[derive(sqlx::FromRow)]
pub(crate) struct ChangeItemRow {
    pub(crate) group_id: i64,
    field: String,
    field_type: String,
    from_value: Option<String>,
    from_string: Option<String>,
    to_value: Option<String>,
    to_string: Option<String>,
}

impl From<ChangeItemRow> for ChangeItem {
    fn from(row: ChangeItemRow) -> Self {
        ChangeItem {
            field: row.field,
            field_type: row.field_type,
            from: row.from_value,
            from_string: row.from_string,
            to: row.to_value,
            to_string: row.to_string,
        }
    }
}
