//! The records tessera keeps. Passwords never appear here: only the storage and
//! authentication crates see password hashes, through [`crate::store::UserCredentials`].

use crate::catalog::{IssueType, Priority, Resolution, Status};
use crate::clock::Timestamp;
use crate::ids::{
    AttachmentId, CommentId, ComponentId, FilterId, IssueId, IssueLinkId, LinkTypeId, ProjectId,
    RemoteLinkId, UserId, VersionId, WorklogId,
};
use crate::permissions::ProjectRole;

/// The groups every installation has.
pub const USERS_GROUP: &str = "jira-users";
pub const ADMINISTRATORS_GROUP: &str = "jira-administrators";

/// A person, or a service account (a non-human user owned by a group).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    /// The login name in lower case: the key every lookup, comparison and record uses.
    pub name: String,
    /// The login name in the case it was created with, as Jira shows it in `name`.
    pub cased_name: String,
    pub display_name: String,
    pub email: Option<String>,
    pub active: bool,
    /// Whether the user has a local password (users from single sign-on have none).
    pub has_password: bool,
    pub created: Timestamp,
    /// For a service account, the group that owns it; `None` for a person.
    pub service_owner: Option<String>,
}

impl User {
    pub fn is_service_account(&self) -> bool {
        self.service_owner.is_some()
    }

    /// Jira's stable user key.
    pub fn key(&self) -> String {
        user_key(self.id)
    }
}

pub fn user_key(id: UserId) -> String {
    format!("JIRAUSER{id}")
}

/// Parses a key made by [`user_key`].
pub fn parse_user_key(key: &str) -> Option<UserId> {
    key.strip_prefix("JIRAUSER").and_then(UserId::parse)
}

/// Shows whether a secret is present, never the secret.
pub fn redacted(secret: &Option<String>) -> &'static str {
    if secret.is_some() {
        "Some(<redacted>)"
    } else {
        "None"
    }
}

/// A new user to store.
#[derive(Clone)]
pub struct NewUser {
    /// The key: the login name lower-cased.
    pub name: String,
    /// The login name as it was given, for display.
    pub cased_name: String,
    pub display_name: String,
    pub email: Option<String>,
    /// An Argon2 PHC string, or `None` for a user who cannot log in with a password.
    pub password_hash: Option<String>,
    pub groups: Vec<String>,
    pub created: Timestamp,
    /// Makes the user a service account owned by this group.
    pub service_owner: Option<String>,
}

impl std::fmt::Debug for NewUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewUser")
            .field("name", &self.name)
            .field("cased_name", &self.cased_name)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field("password_hash", &redacted(&self.password_hash))
            .field("groups", &self.groups)
            .field("created", &self.created)
            .field("service_owner", &self.service_owner)
            .finish()
    }
}

/// Changes to a user's profile; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct UserUpdate {
    pub display_name: Option<String>,
    pub email: Option<Option<String>>,
    pub active: Option<bool>,
}

/// Login statistics, as `/rest/auth/1/session` reports them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoginInfo {
    pub login_count: i64,
    pub failed_login_count: i64,
    pub last_failed_login: Option<Timestamp>,
    pub previous_login: Option<Timestamp>,
    pub last_login: Option<Timestamp>,
}

/// A group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    /// The key: the name lower-cased, as memberships, roles and policies name the group.
    pub name: String,
    /// The name as it was created, for display.
    pub display_name: String,
}

/// A project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Project {
    pub id: ProjectId,
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub lead: Option<User>,
    pub project_type_key: String,
    pub created: Timestamp,
}

/// A new project to store.
#[derive(Clone, Debug)]
pub struct NewProject {
    pub key: String,
    pub name: String,
    pub description: Option<String>,
    pub lead: UserId,
    pub project_type_key: String,
    pub created: Timestamp,
    /// Role members the project starts with.
    pub actors: Vec<(ProjectRole, RoleMember)>,
}

/// A member of a project role.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RoleMember {
    User(UserId),
    Group(String),
}

/// A member of a project role, with the user's details for display.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleActor {
    User(User),
    /// The group's name as created (for display).
    Group(String),
}

/// An issue, with everything `GET issue` shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Issue {
    pub id: IssueId,
    pub project_id: ProjectId,
    pub project_key: String,
    pub project_name: String,
    pub project_type_key: String,
    /// The number after the dash in the key.
    pub number: i64,
    pub issue_type: IssueType,
    pub summary: String,
    pub description: Option<String>,
    pub status: Status,
    pub priority: Priority,
    pub resolution: Option<Resolution>,
    pub resolution_date: Option<Timestamp>,
    pub assignee: Option<User>,
    pub reporter: Option<User>,
    pub creator: Option<User>,
    pub labels: Vec<String>,
    pub time_tracking: TimeTracking,
    /// The versions it is fixed in and affects, in the project's order, and its components,
    /// by name.
    pub fix_versions: Vec<Named>,
    pub versions: Vec<Named>,
    pub components: Vec<Named>,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// A version or component an issue names: its id and name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Named {
    pub id: i64,
    pub name: String,
}

/// Which of an issue's lists a version or component is on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Planned {
    FixVersions,
    Versions,
    Components,
}

impl Planned {
    pub const ALL: [Self; 3] = [Self::FixVersions, Self::Versions, Self::Components];

    /// The field's id in Jira's REST API.
    pub fn field(self) -> &'static str {
        match self {
            Self::FixVersions => "fixVersions",
            Self::Versions => "versions",
            Self::Components => "components",
        }
    }
}

impl Issue {
    pub fn key(&self) -> String {
        format!("{}-{}", self.project_key, self.number)
    }
}

/// A new issue to store; the store assigns its number.
#[derive(Clone, Debug)]
pub struct NewIssue {
    pub project_id: ProjectId,
    pub issue_type: IssueType,
    pub summary: String,
    pub description: Option<String>,
    pub priority: Priority,
    pub assignee: Option<UserId>,
    pub reporter: Option<UserId>,
    pub creator: UserId,
    pub labels: Vec<String>,
    /// Seconds.
    pub original_estimate: Option<i64>,
    pub remaining_estimate: Option<i64>,
    /// Ids of the project's versions and components, by list.
    pub planned: Vec<(Planned, Vec<i64>)>,
    pub created: Timestamp,
}

/// Changes to an issue, applied in one transaction. `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IssueChanges {
    pub summary: Option<String>,
    pub description: Option<Option<String>>,
    pub issue_type: Option<IssueType>,
    pub priority: Option<Priority>,
    pub assignee: Option<Option<UserId>>,
    pub reporter: Option<Option<UserId>>,
    /// A workflow step; applied only if the issue is still in `from`.
    pub status: Option<StatusChange>,
    /// Another resolution for a resolved issue; applied only if it is still resolved.
    pub resolution: Option<Resolution>,
    /// Replace all labels.
    pub set_labels: Option<Vec<String>>,
    pub add_labels: Vec<String>,
    pub remove_labels: Vec<String>,
    /// Comment bodies to add, written by the author `update_issue` is given.
    pub comments: Vec<String>,
    /// Seconds; `Some(None)` removes the estimate.
    pub original_estimate: Option<Option<i64>>,
    pub remaining_estimate: Option<Option<i64>>,
    /// Versions and components: each list replaced when set, else added to and taken from.
    pub planned: Vec<PlannedChange>,
}

/// A change to one of an issue's version or component lists (ids of the issue's project's).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedChange {
    pub list: Planned,
    pub set: Option<Vec<i64>>,
    pub add: Vec<i64>,
    pub remove: Vec<i64>,
}

/// A move from one status to another, with the resolution it brings (set on Done, cleared
/// elsewhere).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusChange {
    pub from: Status,
    pub to: Status,
    pub resolution: Option<Resolution>,
}

impl IssueChanges {
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// A comment on an issue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Comment {
    pub id: CommentId,
    pub issue_id: IssueId,
    pub author: Option<User>,
    pub update_author: Option<User>,
    pub body: String,
    pub created: Timestamp,
    pub updated: Timestamp,
    /// Who besides those who can browse the issue must also be to see it; `None`: everyone
    /// who can browse the issue.
    pub visibility: Option<Visibility>,
}

/// A comment restricted to the members of a project role (in the issue's project) or of a
/// group (Jira's comment visibility).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Visibility {
    Role(ProjectRole),
    /// A group's stored (lower-case) name.
    Group(String),
}

/// A project's version (a release): its issues name it as fix or affected version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Version {
    pub id: VersionId,
    pub project_id: ProjectId,
    pub name: String,
    pub description: Option<String>,
    pub released: bool,
    pub archived: bool,
    /// `YYYY-MM-DD`.
    pub release_date: Option<String>,
    pub start_date: Option<String>,
    /// Its place in the project's order of versions.
    pub sequence: i64,
}

/// A version's fields as set on creation or change (`None`: as it is, or none).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VersionFields {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub released: Option<bool>,
    pub archived: Option<bool>,
    pub release_date: Option<Option<String>>,
    pub start_date: Option<Option<String>>,
}

/// A project's component: part of the product its issues belong to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Component {
    pub id: ComponentId,
    pub project_id: ProjectId,
    pub name: String,
    pub description: Option<String>,
    pub lead: Option<User>,
    /// Jira's `PROJECT_DEFAULT`, `COMPONENT_LEAD`, `PROJECT_LEAD` or `UNASSIGNED`.
    pub assignee_type: String,
}

/// A kind of link between issues: "A `<outward>` B" read from A, "B `<inward>` A" from B.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkType {
    pub id: LinkTypeId,
    pub name: String,
    pub inward: String,
    pub outward: String,
}

/// A link type's fields as set on creation or change (`None`: unchanged).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LinkTypeFields {
    pub name: Option<String>,
    pub inward: Option<String>,
    pub outward: Option<String>,
}

/// An issue at one end of a link, as much of it as a link shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LinkedIssue {
    pub id: IssueId,
    pub project_id: ProjectId,
    pub project_key: String,
    pub number: i64,
    pub summary: String,
    pub status: Status,
    pub priority: Priority,
    pub issue_type: IssueType,
}

impl LinkedIssue {
    pub fn key(&self) -> String {
        format!("{}-{}", self.project_key, self.number)
    }
}

/// "source <outward> destination".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueLink {
    pub id: IssueLinkId,
    pub link_type: LinkType,
    pub source: LinkedIssue,
    pub destination: LinkedIssue,
}

/// A link from an issue to something elsewhere. `application` and `object` are JSON objects
/// as the client sent them (checked to be objects), shown back unchanged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteLink {
    pub id: RemoteLinkId,
    pub issue_id: IssueId,
    pub global_id: Option<String>,
    pub application: Option<String>,
    pub relationship: Option<String>,
    pub object: String,
}

/// A file attached to an issue (its content is read separately).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub id: AttachmentId,
    pub issue_id: IssueId,
    /// `None` if the author's record is gone.
    pub author: Option<User>,
    pub filename: String,
    pub mime_type: String,
    pub size: i64,
    pub created: Timestamp,
}

/// A saved filter: a named JQL query of its owner's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Filter {
    pub id: FilterId,
    /// `None` if the owner's record is gone.
    pub owner: Option<User>,
    pub name: String,
    pub description: Option<String>,
    pub jql: String,
    /// Whether the user it was read for counts it as a favourite.
    pub favourite: bool,
    /// Who else may see it and run it, oldest share first.
    pub shares: Vec<FilterShare>,
}

/// One audience a filter is shared with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilterShare {
    pub id: i64,
    pub target: ShareTarget,
}

/// Who a share lets see a filter, besides its owner.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ShareTarget {
    /// Every user of tessera.
    Global,
    /// The members of a group (its stored, lower-case name).
    Group(String),
    /// Whoever may browse the project.
    Project(ProjectId),
    /// The members of a role in a project.
    ProjectRole(ProjectId, ProjectRole),
}

/// A filter's fields as set on creation (all but `description` required) or change (`None`:
/// unchanged; `description: Some(None)` removes it).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FilterFields {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub jql: Option<String>,
}

/// A file to attach, checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewAttachment {
    pub filename: String,
    pub mime_type: String,
    pub content: Vec<u8>,
}

/// A remote link as a client gives it: `object` and `application` JSON objects (as text).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RemoteLinkFields {
    pub global_id: Option<String>,
    pub application: Option<String>,
    pub relationship: Option<String>,
    pub object: String,
}

/// A component's fields as set on creation or change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ComponentFields {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub lead: Option<Option<UserId>>,
    pub assignee_type: Option<String>,
}

/// Work logged on an issue: how long, from when, by whom.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Worklog {
    pub id: WorklogId,
    pub issue_id: IssueId,
    pub author: Option<User>,
    pub update_author: Option<User>,
    pub comment: String,
    /// When the work started.
    pub started: Timestamp,
    pub time_spent_seconds: i64,
    pub created: Timestamp,
    pub updated: Timestamp,
}

/// Work to log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewWorklog {
    pub issue: IssueId,
    pub author: UserId,
    pub comment: String,
    pub started: Timestamp,
    pub time_spent_seconds: i64,
    pub at: Timestamp,
}

/// A change to logged work: the fields given replace the worklog's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorklogChanges {
    pub comment: Option<String>,
    pub started: Option<Timestamp>,
    pub time_spent_seconds: Option<i64>,
}

/// What logging (or changing, or deleting) work does to the issue's remaining estimate.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EstimateChange {
    /// By the time logged: reduced by a new worklog's time, by a change's difference, and
    /// increased by a deleted worklog's (Jira's `auto`). An issue without an estimate keeps
    /// none when work is logged, and counts from zero when a worklog shrinks or goes, as
    /// Jira's does.
    Auto,
    /// Left as it is.
    Leave,
    /// Set to this many seconds.
    Set(i64),
    /// Reduced by this many seconds (increased if negative), never below zero; an issue
    /// without an estimate keeps none.
    Reduce(i64),
}

/// An issue's time tracking, in seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TimeTracking {
    pub original_estimate: Option<i64>,
    pub remaining_estimate: Option<i64>,
    /// The sum of its worklogs.
    pub time_spent: i64,
}

/// A worklog changed or deleted at `at`, for incremental exports; `project` says who may
/// learn of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WorklogChange {
    pub worklog: WorklogId,
    pub project: ProjectId,
    pub at: Timestamp,
}

/// How many watch an issue, and whether the viewer is one of them (`fields.watches`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Watches {
    pub count: i64,
    pub is_watching: bool,
}

/// How many voted for an issue, and whether the viewer did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Votes {
    pub count: i64,
    pub has_voted: bool,
}

/// A page of a longer list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub start_at: i64,
    pub max_results: i64,
    pub total: i64,
}

/// Which slice of a list to return. `limit` is already capped by the caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageRequest {
    pub start_at: i64,
    pub limit: i64,
}

/// A login session. The store keeps only a digest of the session id the client holds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    pub id_digest: Vec<u8>,
    pub user_id: UserId,
    pub created: Timestamp,
    pub last_seen: Timestamp,
    /// Until when the session may make administrative changes (its password re-entered).
    pub websudo_until: Option<Timestamp>,
}
