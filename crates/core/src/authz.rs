//! The authorizer: the single place that decides what a caller may do.
//!
//! A grant needs both the user's permission (global, or in the project through a role) AND the
//! credential's scope. What it returns is a capability: a value proving the check passed,
//! which the services demand as an argument. Capabilities can only be made here (their fields
//! are private), so a handler that skipped the check does not compile. The one escape hatch,
//! for the offline command line, is [`Administer::trusted_offline_cli`].
//!
//! Things the caller may not see answer "not found", exactly as if they did not exist: an
//! issue in a project without BROWSE_PROJECTS, or in a project outside the credential's
//! project restriction. Things the caller may see but not change answer "denied". A search
//! reads only the projects of [`BrowsableProjects`], inside its query.

use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use crate::changelog::{ChangeAuthor, CredentialUsed};
pub use crate::error::{Denied, Needed};
use crate::error::{Error, Missing};
use crate::ids::{IssueId, ProjectId, TokenId, UserId};
use crate::model::{Issue, Project, ShareTarget, User};
use crate::permissions::{GlobalPermission, ProjectPermission, ProjectPermissions, ProjectRole};
use crate::principal::Principal;
use crate::scopes::{Scope, Scopes};
use crate::store::Store;
use crate::tokens::Token;

/// The user a capability acts for, and the credential they presented: every change made
/// under a capability is attributed to both (see [`crate::changelog`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Actor {
    pub id: UserId,
    pub name: String,
    pub credential: CredentialUsed,
}

impl Actor {
    fn of(principal: &Principal) -> Self {
        Self {
            id: principal.user.id,
            name: principal.user.name.clone(),
            credential: CredentialUsed::of(principal),
        }
    }

    /// The author of a change made under this capability.
    pub fn change_author(&self) -> ChangeAuthor {
        ChangeAuthor {
            user: self.id,
            credential: self.credential.clone(),
        }
    }
}

/// An action within a project, named by the permission it needs.
pub trait Action: private::Sealed {
    const PERMISSION: ProjectPermission;
    /// The scope a credential needs for it: the permission's, unless the action says
    /// otherwise.
    const SCOPE: Scope = Scope::for_project(Self::PERMISSION);
}

mod private {
    pub trait Sealed {}
}

macro_rules! actions {
    ($($(#[$doc:meta])* $name:ident => $permission:ident,)*) => {$(
        $(#[$doc])*
        #[derive(Debug)]
        pub enum $name {}
        impl private::Sealed for $name {}
        impl Action for $name {
            const PERMISSION: ProjectPermission = ProjectPermission::$permission;
        }
    )*};
}

actions! {
    /// See the project and its issues.
    Browse => BrowseProjects,
    /// Create issues in the project.
    CreateIssues => CreateIssues,
    /// Edit an issue's fields.
    Edit => EditIssues,
    Delete => DeleteIssues,
    Assign => AssignIssues,
    Transition => TransitionIssues,
    AddComments => AddComments,
    /// Add or remove other users as watchers.
    ManageWatchers => ManageWatchers,
    /// Manage the project: its roles and settings.
    AdministerProject => AdministerProjects,
    /// Log work on an issue.
    WorkOnIssues => WorkOnIssues,
    EditOwnWorklogs => EditOwnWorklogs,
    EditAllWorklogs => EditAllWorklogs,
    DeleteOwnWorklogs => DeleteOwnWorklogs,
    DeleteAllWorklogs => DeleteAllWorklogs,
    /// Link issues, to each other and to things elsewhere.
    LinkIssues => LinkIssues,
    CreateAttachments => CreateAttachments,
    DeleteOwnAttachments => DeleteOwnAttachments,
    DeleteAllAttachments => DeleteAllAttachments,
}

/// Watch an issue, or stop watching it: anyone who can browse it may, but it is a change, so
/// the credential needs the write scope (a READ token only looks).
#[derive(Debug)]
pub enum Watch {}
impl private::Sealed for Watch {}
impl Action for Watch {
    const PERMISSION: ProjectPermission = ProjectPermission::BrowseProjects;
    const SCOPE: Scope = Scope::WriteJiraWork;
}

/// Vote for an issue, or take one's vote back: anyone who can browse it may, but it is a
/// change, so the credential needs the write scope.
#[derive(Debug)]
pub enum Vote {}
impl private::Sealed for Vote {}
impl Action for Vote {
    const PERMISSION: ProjectPermission = ProjectPermission::BrowseProjects;
    const SCOPE: Scope = Scope::WriteJiraWork;
}

/// Permission to act as a tessera administrator (users, groups, projects).
#[derive(Debug)]
pub struct Administer {
    actor: Option<Actor>,
}

impl Administer {
    /// The administrator, or `None` for the offline command line.
    pub fn actor(&self) -> Option<&Actor> {
        self.actor.as_ref()
    }

    /// ESCAPE HATCH: administration from the offline command line, whose operator already has
    /// the data directory or database credentials. Never call this from request handling.
    pub fn trusted_offline_cli() -> Self {
        Self { actor: None }
    }
}

/// Permission to manage one owner's tokens: a person's own, or a service account's.
#[derive(Debug)]
pub struct ManageTokens {
    actor: Actor,
    owner: User,
    /// Whether the caller authenticated with a token of any kind (personal, service key or
    /// OAuth 2.0): then it makes nothing and manages at most the token it presented.
    by_token: bool,
    /// The personal token or key the caller authenticated with, if any.
    presented: Option<TokenId>,
}

impl ManageTokens {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn owner(&self) -> &User {
        &self.owner
    }

    /// ESCAPE HATCH: token management from the offline command line, whose operator already
    /// has the data directory or database credentials. Never call this from request handling.
    pub fn trusted_offline_cli(owner: User) -> Self {
        Self {
            actor: Actor {
                id: owner.id,
                name: owner.name.clone(),
                credential: CredentialUsed::offline_cli(),
            },
            owner,
            by_token: false,
            presented: None,
        }
    }

    /// The token the caller presented, if it authenticated with a personal token or key.
    pub fn presented(&self) -> Option<TokenId> {
        self.presented
    }

    /// Whether the caller may see `token` listed: a token caller sees only itself.
    pub fn may_see(&self, token: &Token) -> bool {
        !self.by_token || self.presented == Some(token.id)
    }

    /// Making a token needs a password or session login.
    pub fn require_create(&self) -> Result<(), Error> {
        if self.by_token {
            return Err(Error::Denied(Denied::TokenNotAllowed));
        }
        Ok(())
    }

    /// Whether `token` may be read or revoked: one of the owner's (others are "not found"),
    /// and, for a caller holding a token, that very token. (Rotating needs
    /// [`ManageTokens::require_create`] as well.)
    pub fn require_change(&self, token: &Token) -> Result<(), Error> {
        if token.owner != self.owner.id {
            return Err(Error::NotFound(Missing::Token(token.id.to_string())));
        }
        if self.may_see(token) {
            Ok(())
        } else {
            Err(Error::Denied(Denied::TokenNotAllowed))
        }
    }
}

/// Permission to read the user directory (users, groups, members).
#[derive(Debug)]
pub struct ReadUsers {
    sees_emails: bool,
}

impl ReadUsers {
    /// Whether the reader may see (and search by) everyone's e-mail address.
    pub fn sees_all_emails(&self) -> bool {
        self.sees_emails
    }
}

/// What a grant in one project consists of: who, the user's permissions there, and the
/// credential's scopes. Shared by the project and issue capabilities.
#[derive(Clone, Debug)]
struct Grant {
    actor: Actor,
    granted: ProjectPermissions,
    scopes: Scopes,
}

impl Grant {
    fn effective(&self) -> ProjectPermissions {
        effective(self.granted, self.scopes)
    }

    fn require<A: Action>(&self) -> Result<(), Error> {
        require::<A>(self.granted, self.scopes)
    }
}

/// Permission to see a project: its details and role members, not necessarily its issues.
#[derive(Debug)]
pub struct VisibleProject {
    grant: Grant,
    project: Project,
}

impl VisibleProject {
    pub fn actor(&self) -> &Actor {
        &self.grant.actor
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    /// What the caller may do in this project: the user's permissions that the credential's
    /// scopes also allow.
    pub fn effective(&self) -> ProjectPermissions {
        self.grant.effective()
    }

    /// A permission in this project, without asking the store again.
    pub fn also<A: Action>(&self) -> Result<OnProject<A>, Error> {
        self.grant.require::<A>()?;
        Ok(OnProject {
            grant: self.grant.clone(),
            project: self.project.clone(),
            action: PhantomData,
        })
    }
}

/// Permission to perform `A` in a project.
pub struct OnProject<A> {
    grant: Grant,
    project: Project,
    action: PhantomData<A>,
}

impl<A> fmt::Debug for OnProject<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnProject")
            .field("grant", &self.grant)
            .field("project", &self.project.key)
            .finish()
    }
}

impl<A: Action> OnProject<A> {
    pub fn actor(&self) -> &Actor {
        &self.grant.actor
    }

    pub fn project(&self) -> &Project {
        &self.project
    }

    pub fn effective(&self) -> ProjectPermissions {
        self.grant.effective()
    }

    /// A further permission in the same project, without asking the store again.
    pub fn also<B: Action>(&self) -> Result<OnProject<B>, Error> {
        self.grant.require::<B>()?;
        Ok(OnProject {
            grant: self.grant.clone(),
            project: self.project.clone(),
            action: PhantomData,
        })
    }
}

/// Permission to perform `A` on one issue.
pub struct OnIssue<A> {
    grant: Grant,
    issue: Issue,
    action: PhantomData<A>,
}

impl<A> fmt::Debug for OnIssue<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OnIssue")
            .field("grant", &self.grant)
            .field("issue", &self.issue.key())
            .finish()
    }
}

impl<A: Action> OnIssue<A> {
    pub fn actor(&self) -> &Actor {
        &self.grant.actor
    }

    pub fn issue(&self) -> &Issue {
        &self.issue
    }

    pub fn effective(&self) -> ProjectPermissions {
        self.grant.effective()
    }

    /// A further permission on the same issue, without asking the store again.
    pub fn also<B: Action>(&self) -> Result<OnIssue<B>, Error> {
        self.grant.require::<B>()?;
        Ok(OnIssue {
            grant: self.grant.clone(),
            issue: self.issue.clone(),
            action: PhantomData,
        })
    }

    /// Whether the credential may look users up by name (`read:jira-user`).
    pub fn may_look_users_up(&self) -> Result<(), Error> {
        require_user_scope(self.grant.scopes)
    }
}

/// Permission to search issues: every project whose issues the caller may see (the user's
/// BROWSE_PROJECTS narrowed by the credential's scopes, within its project restriction), with
/// the user's permissions in each. A search binds these projects into its query, so that
/// totals are exact and nothing outside them is ever read.
#[derive(Debug)]
pub struct BrowsableProjects {
    actor: Actor,
    scopes: Scopes,
    /// Each project with the user's own permissions there (before scopes).
    projects: Vec<(Project, ProjectPermissions)>,
    /// The user's groups (stored names), for what is shared with a group.
    groups: Vec<String>,
    /// The roles the user holds, within the credential's project restriction, for what is
    /// shared with a project role.
    roles: Vec<(ProjectId, ProjectRole)>,
}

impl BrowsableProjects {
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn projects(&self) -> impl Iterator<Item = &Project> {
        self.projects.iter().map(|(project, _)| project)
    }

    pub fn ids(&self) -> Vec<ProjectId> {
        self.projects().map(|project| project.id).collect()
    }

    pub fn is_empty(&self) -> bool {
        self.projects.is_empty()
    }

    pub fn contains(&self, project: ProjectId) -> bool {
        self.projects().any(|p| p.id == project)
    }

    /// Whether the credential may look users and groups up by name (`read:jira-user`).
    pub fn may_look_users_up(&self) -> Result<(), Error> {
        require_user_scope(self.scopes)
    }

    /// Whether the caller is in the audience of something shared with `target` (a saved
    /// filter): everyone is; a group's members; whoever may browse the project (as a search
    /// would); a role's members in the project, within the credential's project restriction.
    pub fn in_audience(&self, target: &ShareTarget) -> bool {
        match target {
            ShareTarget::Global => true,
            ShareTarget::Group(group) => self.groups.iter().any(|g| g == group),
            ShareTarget::Project(project) => self.contains(*project),
            ShareTarget::ProjectRole(project, role) => {
                self.roles.iter().any(|held| held == &(*project, *role))
            }
        }
    }

    /// Permission to perform `A` on an issue a search found, decided from the permissions
    /// read when this capability was made; an issue outside these projects is "not found".
    pub fn issue<A: Action>(&self, issue: &Issue) -> Result<OnIssue<A>, Error> {
        let Some((_, granted)) = self.projects.iter().find(|(p, _)| p.id == issue.project_id)
        else {
            return Err(Error::NotFound(Missing::Issue));
        };
        require::<A>(*granted, self.scopes)?;
        Ok(OnIssue {
            grant: Grant {
                actor: self.actor.clone(),
                granted: *granted,
                scopes: self.scopes,
            },
            issue: issue.clone(),
            action: PhantomData,
        })
    }
}

/// A project named in a URL: by id or by key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProjectRef {
    Id(ProjectId),
    Key(String),
}

impl ProjectRef {
    pub fn parse(text: &str) -> Self {
        match ProjectId::parse(text) {
            Some(id) => Self::Id(id),
            None => Self::Key(text.to_ascii_uppercase()),
        }
    }

    fn missing(&self) -> Error {
        let shown = match self {
            Self::Id(id) => id.to_string(),
            Self::Key(key) => key.clone(),
        };
        Error::NotFound(Missing::Project(shown))
    }
}

/// An issue named in a URL: by id or by key (`PROJ-42`, case-insensitive).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IssueRef {
    Id(IssueId),
    Key {
        project: String,
        number: i64,
    },
    /// Neither: no such issue can exist.
    Invalid,
}

impl IssueRef {
    pub fn parse(text: &str) -> Self {
        if let Some(id) = IssueId::parse(text) {
            return Self::Id(id);
        }
        let Some((project, number)) = text.rsplit_once('-') else {
            return Self::Invalid;
        };
        let project_ok = project.starts_with(|c: char| c.is_ascii_alphabetic())
            && project
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        match (project_ok, IssueId::parse(number)) {
            (true, Some(IssueId(number))) => Self::Key {
                project: project.to_ascii_uppercase(),
                number,
            },
            _ => Self::Invalid,
        }
    }
}

fn effective(granted: ProjectPermissions, scopes: Scopes) -> ProjectPermissions {
    granted
        .iter()
        .filter(|p| scopes.contains(Scope::for_project(*p)))
        .collect()
}

/// The `read:jira-user` scope, which looking users and groups up by name needs (naming one in
/// a query or a watcher request would otherwise tell whether they exist).
fn require_user_scope(scopes: Scopes) -> Result<(), Error> {
    if scopes.contains(Scope::ReadJiraUser) {
        Ok(())
    } else {
        Err(Error::Denied(Denied::Scope(Scope::ReadJiraUser)))
    }
}

fn require<A: Action>(granted: ProjectPermissions, scopes: Scopes) -> Result<(), Error> {
    if !granted.contains(A::PERMISSION) {
        return Err(Error::Denied(Denied::Permission(Needed::Project(
            A::PERMISSION,
        ))));
    }
    let scope = A::SCOPE;
    if !scopes.contains(scope) {
        return Err(Error::Denied(Denied::Scope(scope)));
    }
    Ok(())
}

/// Whether a user other than the caller can see a project's issues (BROWSE_PROJECTS through
/// a role), deciding who may be assigned an issue or added as its watcher. Only the user's
/// own roles count: the caller's credential grants that user nothing.
pub async fn user_can_browse(
    store: &dyn Store,
    project: ProjectId,
    user: &User,
) -> Result<bool, Error> {
    let roles = store.user_roles(project, user.id).await?;
    Ok(roles
        .iter()
        .any(|r| r.permissions().contains(ProjectPermission::BrowseProjects)))
}

fn is_visible(granted: ProjectPermissions) -> bool {
    granted.contains(ProjectPermission::BrowseProjects)
        || granted.contains(ProjectPermission::AdministerProjects)
}

/// The authorizer. Cheap to clone.
#[derive(Clone, Debug)]
pub struct Authorizer {
    store: Arc<dyn Store>,
}

impl Authorizer {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// A global permission, with the scope it needs.
    fn require_global(principal: &Principal, permission: GlobalPermission) -> Result<(), Error> {
        if !principal.has_global(permission) {
            return Err(Error::Denied(Denied::Permission(Needed::Global(
                permission,
            ))));
        }
        match Scope::for_global(permission) {
            Some(scope) if !principal.scopes.contains(scope) => {
                Err(Error::Denied(Denied::Scope(scope)))
            }
            _ => Ok(()),
        }
    }

    /// Whether the caller may use tessera at all (Jira's application access).
    pub fn require_use(principal: &Principal) -> Result<(), Error> {
        Self::require_global(principal, GlobalPermission::Use)
    }

    pub fn administer(&self, principal: &Principal) -> Result<Administer, Error> {
        Self::require_global(principal, GlobalPermission::Administer)?;
        Ok(Administer {
            actor: Some(Actor::of(principal)),
        })
    }

    /// Whether the caller may see everyone's e-mail address (administrators may; others see
    /// only their own).
    pub fn sees_all_emails(principal: &Principal) -> bool {
        Self::has_global(principal, GlobalPermission::Administer)
    }

    /// Setting a password (one's own, or as an administrator someone else's) needs a password
    /// or session login: a token, even an administrator's, does not manage credentials, or a
    /// leaked token could reset its owner's password and outlive its own revocation.
    pub fn manage_passwords(principal: &Principal) -> Result<(), Error> {
        Self::manage_credentials(principal)
    }

    /// A credential that could administer tessera, made or renewed over a session by an
    /// administrator, is itself an administrative change: it needs the password re-entered
    /// (websudo) like the changes it would then allow, or minting a token would be the way
    /// around websudo. Basic with a password proves it on every request.
    pub fn require_fresh_password_for(
        principal: &Principal,
        scopes: Scopes,
        now: crate::clock::Timestamp,
    ) -> Result<(), Error> {
        let could_administer = scopes.contains(Scope::ManageJiraConfiguration)
            && principal.has_global(GlobalPermission::Administer);
        if could_administer && !principal.has_fresh_password(now) {
            return Err(Error::Denied(Denied::WebsudoRequired));
        }
        Ok(())
    }

    /// Managing credentials (passwords, tokens other than the one presented, OAuth grants)
    /// needs a password or session login: a token may not manage credentials.
    pub fn manage_credentials(principal: &Principal) -> Result<(), Error> {
        if principal.method.is_token() {
            return Err(Error::Denied(Denied::TokenNotAllowed));
        }
        Ok(())
    }

    /// The caller's own tokens. Every user may manage them (within [`ManageTokens`]' rules).
    pub fn own_tokens(principal: &Principal) -> ManageTokens {
        ManageTokens {
            actor: Actor::of(principal),
            owner: principal.user.clone(),
            by_token: principal.method.is_token(),
            presented: principal.token,
        }
    }

    /// A service account's keys: for administrators and members of the account's owning
    /// group, logged in with a password or session. Anything else is "not found".
    pub fn service_account_tokens(
        principal: &Principal,
        account: User,
    ) -> Result<ManageTokens, Error> {
        let missing = || Error::NotFound(Missing::User(account.name.clone()));
        let Some(owner_group) = &account.service_owner else {
            return Err(missing());
        };
        let is_admin = Self::has_global(principal, GlobalPermission::Administer);
        if !is_admin && !principal.groups.contains(owner_group) {
            return Err(missing());
        }
        if principal.method.is_token() {
            return Err(Error::Denied(Denied::TokenNotAllowed));
        }
        Ok(ManageTokens {
            actor: Actor::of(principal),
            owner: account,
            by_token: false,
            presented: None,
        })
    }

    pub fn read_users(&self, principal: &Principal) -> Result<ReadUsers, Error> {
        if !principal.scopes.contains(Scope::ReadJiraUser) {
            return Err(Error::Denied(Denied::Scope(Scope::ReadJiraUser)));
        }
        Ok(ReadUsers {
            sees_emails: Self::sees_all_emails(principal),
        })
    }

    /// The user's own permissions in a project (before scopes), or nothing if the credential
    /// is restricted to other projects.
    async fn granted(
        &self,
        principal: &Principal,
        project: ProjectId,
    ) -> Result<ProjectPermissions, Error> {
        if let Some(allowed) = &principal.projects
            && !allowed.contains(&project)
        {
            return Ok(ProjectPermissions::empty());
        }
        let roles = self.store.user_roles(project, principal.user.id).await?;
        Ok(Self::from_roles(principal, roles))
    }

    fn from_roles(
        principal: &Principal,
        roles: impl IntoIterator<Item = ProjectRole>,
    ) -> ProjectPermissions {
        let mut granted = roles
            .into_iter()
            .fold(ProjectPermissions::empty(), |acc, role| {
                acc.union(role.permissions())
            });
        // Jira administrators may administer every project (its roles and settings), though
        // they see its issues only through a role, as in Jira.
        if principal.has_global(GlobalPermission::Administer) {
            granted.insert(ProjectPermission::AdministerProjects);
        }
        granted
    }

    /// A project the caller can see (with BROWSE_PROJECTS or ADMINISTER_PROJECTS).
    pub async fn visible_project(
        &self,
        principal: &Principal,
        project_ref: &ProjectRef,
    ) -> Result<VisibleProject, Error> {
        let found = match project_ref {
            ProjectRef::Id(id) => self.store.find_project(*id).await?,
            ProjectRef::Key(key) => self.store.find_project_by_key(key).await?,
        };
        let project = found.ok_or_else(|| project_ref.missing())?;
        let granted = self.granted(principal, project.id).await?;
        if !is_visible(effective(granted, principal.scopes)) {
            return Err(project_ref.missing());
        }
        let grant = Grant {
            actor: Actor::of(principal),
            granted,
            scopes: principal.scopes,
        };
        Ok(VisibleProject { grant, project })
    }

    /// Permission to perform `A` in a project the caller can see.
    pub async fn project<A: Action>(
        &self,
        principal: &Principal,
        project_ref: &ProjectRef,
    ) -> Result<OnProject<A>, Error> {
        self.visible_project(principal, project_ref)
            .await?
            .also::<A>()
    }

    /// Whether the caller may browse the project's issues (the user's permission and the
    /// credential's scopes and project restriction), as reading one of them would find.
    pub async fn may_browse(
        &self,
        principal: &Principal,
        project: ProjectId,
    ) -> Result<bool, Error> {
        let granted = self.granted(principal, project).await?;
        Ok(effective(granted, principal.scopes).contains(ProjectPermission::BrowseProjects))
    }

    /// Permission to perform `A` on an issue the caller can see.
    pub async fn issue<A: Action>(
        &self,
        principal: &Principal,
        issue_ref: &IssueRef,
    ) -> Result<OnIssue<A>, Error> {
        let found = match issue_ref {
            IssueRef::Id(id) => self.store.find_issue(*id).await?,
            IssueRef::Key { project, number } => {
                self.store.find_issue_by_key(project, *number).await?
            }
            IssueRef::Invalid => None,
        };
        let issue = found.ok_or(Error::NotFound(Missing::Issue))?;
        let granted = self.granted(principal, issue.project_id).await?;
        // A credential without the read scope cannot see issues at all, so it gets "not
        // found" like any invisible issue, not a "denied" that would confirm it exists.
        if !effective(granted, principal.scopes).contains(ProjectPermission::BrowseProjects) {
            return Err(Error::NotFound(Missing::Issue));
        }
        require::<A>(granted, principal.scopes)?;
        let grant = Grant {
            actor: Actor::of(principal),
            granted,
            scopes: principal.scopes,
        };
        Ok(OnIssue {
            grant,
            issue,
            action: PhantomData,
        })
    }

    /// Every project within the credential's project restriction, with the user's own
    /// permissions there (before scopes).
    async fn granted_everywhere(
        &self,
        principal: &Principal,
    ) -> Result<Vec<(Project, ProjectPermissions)>, Error> {
        Ok(self.granted_with_roles(principal).await?.0)
    }

    /// [`Self::granted_everywhere`], with the roles the user holds in those projects.
    async fn granted_with_roles(
        &self,
        principal: &Principal,
    ) -> Result<
        (
            Vec<(Project, ProjectPermissions)>,
            Vec<(ProjectId, ProjectRole)>,
        ),
        Error,
    > {
        let mut roles: HashMap<ProjectId, Vec<ProjectRole>> = HashMap::new();
        for (project, role) in self.store.user_roles_everywhere(principal.user.id).await? {
            roles.entry(project).or_default().push(role);
        }
        let projects = self.store.list_projects().await?;
        let mut held_roles = Vec::new();
        let granted = projects
            .into_iter()
            .filter(|p| {
                principal
                    .projects
                    .as_ref()
                    .is_none_or(|allowed| allowed.contains(&p.id))
            })
            .map(|project| {
                let held = roles.remove(&project.id).unwrap_or_default();
                held_roles.extend(held.iter().map(|role| (project.id, *role)));
                (project, Self::from_roles(principal, held))
            })
            .collect();
        Ok((granted, held_roles))
    }

    /// Every project the caller can see, with what the caller may do in each (user
    /// permissions narrowed by the credential's scopes).
    pub async fn visible_projects(
        &self,
        principal: &Principal,
    ) -> Result<Vec<(Project, ProjectPermissions)>, Error> {
        Ok(self
            .granted_everywhere(principal)
            .await?
            .into_iter()
            .filter_map(|(project, granted)| {
                let allowed = effective(granted, principal.scopes);
                is_visible(allowed).then_some((project, allowed))
            })
            .collect())
    }

    /// Every project where the caller may perform `A` (the user's permission and the
    /// credential's scope), as capabilities: for listings such as `createmeta`.
    pub async fn projects_where<A: Action>(
        &self,
        principal: &Principal,
    ) -> Result<Vec<OnProject<A>>, Error> {
        Ok(self
            .granted_everywhere(principal)
            .await?
            .into_iter()
            .filter(|(_, granted)| {
                is_visible(effective(*granted, principal.scopes))
                    && require::<A>(*granted, principal.scopes).is_ok()
            })
            .map(|(project, granted)| OnProject {
                grant: Grant {
                    actor: Actor::of(principal),
                    granted,
                    scopes: principal.scopes,
                },
                project,
                action: PhantomData,
            })
            .collect())
    }

    /// The projects whose issues the caller may search: BROWSE_PROJECTS after the credential's
    /// scopes, as for reading one issue (a Jira administrator without a role sees none). A
    /// credential without the read scope gets an empty set, so its searches find nothing.
    pub async fn browsable_projects(
        &self,
        principal: &Principal,
    ) -> Result<BrowsableProjects, Error> {
        let (granted, roles) = self.granted_with_roles(principal).await?;
        let projects = granted
            .into_iter()
            .filter(|(_, granted)| {
                effective(*granted, principal.scopes).contains(ProjectPermission::BrowseProjects)
            })
            .collect();
        Ok(BrowsableProjects {
            actor: Actor::of(principal),
            scopes: principal.scopes,
            projects,
            groups: principal.groups.clone(),
            roles,
        })
    }

    /// Whether the caller holds a global permission, scopes included (for `mypermissions`).
    pub fn has_global(principal: &Principal, permission: GlobalPermission) -> bool {
        Self::require_global(principal, permission).is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_refs() {
        assert_eq!(IssueRef::parse("10001"), IssueRef::Id(IssueId(10001)));
        assert_eq!(
            IssueRef::parse("abc-12"),
            IssueRef::Key {
                project: "ABC".into(),
                number: 12
            }
        );
        assert_eq!(
            IssueRef::parse("A_B1-3"),
            IssueRef::Key {
                project: "A_B1".into(),
                number: 3
            }
        );
        for bad in [
            "", "-1", "ABC-", "ABC-x", "1AB-2", "AB C-1", "ABC--1", "ABC-1.5", "ABC",
        ] {
            assert_eq!(IssueRef::parse(bad), IssueRef::Invalid, "{bad:?}");
        }
    }

    #[test]
    fn project_refs() {
        assert_eq!(ProjectRef::parse("10000"), ProjectRef::Id(ProjectId(10000)));
        assert_eq!(ProjectRef::parse("abc"), ProjectRef::Key("ABC".into()));
    }

    #[test]
    fn scopes_narrow_the_user_permissions() {
        let all = ProjectRole::Administrators.permissions();
        let read = crate::scopes::parse_scope("READ").unwrap();
        let narrowed: Vec<_> = effective(all, read).iter().collect();
        assert_eq!(narrowed, vec![ProjectPermission::BrowseProjects]);
        assert!(matches!(
            require::<Edit>(all, read),
            Err(Error::Denied(Denied::Scope(Scope::WriteJiraWork)))
        ));
        let users = ProjectRole::Users.permissions();
        assert!(matches!(
            require::<Edit>(users, Scopes::all()),
            Err(Error::Denied(Denied::Permission(Needed::Project(
                ProjectPermission::EditIssues
            ))))
        ));
        assert!(require::<AddComments>(users, Scopes::all()).is_ok());
    }
}
