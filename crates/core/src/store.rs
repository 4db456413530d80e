//! The storage interface. Two implementations live in the storage crate (SQLite and
//! PostgreSQL) and pass the same test suite. Every method that changes several rows does so in
//! one transaction: a failure leaves nothing half-written.

use async_trait::async_trait;

use crate::audit::{AuditEvent, AuditFilter};
use crate::changelog::{ChangeAuthor, ChangeGroup};
use crate::clock::Timestamp;
use crate::identity::{
    Endpoints, IdentityProvider, NewIdentityProvider, ProviderId, ProviderSettings, SsoLogin,
};
use crate::ids::{
    AttachmentId, CommentId, ComponentId, FilterId, IssueId, IssueLinkId, LinkTypeId, ProjectId,
    RemoteLinkId, TokenId, UserId, VersionId, WorklogId,
};
use crate::model::{
    Attachment, Comment, Component, ComponentFields, EstimateChange, Filter, FilterFields, Group,
    Issue, IssueChanges, IssueLink, LinkType, LinkTypeFields, LoginInfo, NewAttachment, NewIssue,
    NewProject, NewUser, NewWorklog, Page, PageRequest, Project, RemoteLink, RemoteLinkFields,
    RoleActor, RoleMember, Session, ShareTarget, User, UserUpdate, Version, VersionFields,
    Visibility, Votes, Watches, Worklog, WorklogChange, WorklogChanges,
};
use crate::oauth1::{Consumer, ConsumerChanges, NewConsumer, NewOAuth1Token, Nonce, OAuth1Token};
use crate::oauth2::{
    Client, ClientChanges, ClientKey, ClientMatch, Code, Grant, GrantId, NewClient, NewCode,
    NewOAuth2Token, OAuth2TokenMatch, Redemption, Rotation,
};
use crate::permissions::{GlobalPermissions, ProjectRole};
use crate::scopes::Scopes;
use crate::search::{IssueLocation, NamesFound, PlanningName, SearchQuery};
use crate::tokens::{NewToken, RevokeReason, Token, TokenFilter, TokenMatch};
use crate::usage::{ClientSeen, CredentialUse, UsageReport};

pub use crate::error::{Conflict, StoreError};

pub type StoreResult<T> = Result<T, StoreError>;

/// A user with the digest of their password, for the authenticators only.
#[derive(Clone)]
pub struct UserCredentials {
    pub user: User,
    /// Argon2 PHC string; `None` for users without a local password.
    pub password_hash: Option<String>,
    /// Until when password logins of this user name are suspended (see [`ThrottleStore`]).
    pub login_blocked_until: Option<Timestamp>,
    /// Whether failed password attempts are counted against this user name.
    pub has_login_failures: bool,
}

impl std::fmt::Debug for UserCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCredentials")
            .field("user", &self.user)
            .field(
                "password_hash",
                &crate::model::redacted(&self.password_hash),
            )
            .field("login_blocked_until", &self.login_blocked_until)
            .field("has_login_failures", &self.has_login_failures)
            .finish()
    }
}

/// A session kept across a password change, under a new id: the digests of both.
#[derive(Clone, Copy, Debug)]
pub struct SessionSwap<'a> {
    pub old: &'a [u8],
    pub new: &'a [u8],
}

/// What a user's group memberships grant.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserAccess {
    /// The groups' keys (lower-case names).
    pub groups: Vec<String>,
    /// The same groups, in the same order, as named for display.
    pub group_names: Vec<String>,
    pub global: GlobalPermissions,
    /// The version of the stored access policy, read in the same query (0: none stored), so
    /// that every authenticated request learns of a policy change at no extra cost.
    pub policy_version: i64,
}

/// A user search. `text` is lower-case; `"."` alone matches everyone, as in Jira.
#[derive(Clone, Debug)]
pub struct UserQuery {
    pub text: String,
    pub include_active: bool,
    pub include_inactive: bool,
    /// Whether the text may match e-mail addresses (only for callers who may see them).
    pub match_email: bool,
}

#[async_trait]
pub trait UserStore: Send + Sync {
    async fn count_users(&self) -> StoreResult<i64>;
    /// Creates the user and their group memberships; `Conflict(UserName)` if the name is taken.
    async fn create_user(&self, user: NewUser) -> StoreResult<User>;
    async fn find_user(&self, id: UserId) -> StoreResult<Option<User>>;
    /// `name` must already be normalised (lower-case).
    async fn find_user_by_name(&self, name: &str) -> StoreResult<Option<User>>;
    async fn find_credentials(&self, name: &str) -> StoreResult<Option<UserCredentials>>;
    async fn search_users(&self, query: &UserQuery, page: PageRequest) -> StoreResult<Vec<User>>;
    /// `None` if the user does not exist. Deactivating a user ends their sessions in the same
    /// transaction.
    async fn update_user(&self, id: UserId, update: &UserUpdate) -> StoreResult<Option<User>>;
    /// Sets (or removes) the password and ends every session of the user, except the one in
    /// `keep`, which continues under its new id (all in one transaction).
    async fn set_password_hash(
        &self,
        id: UserId,
        hash: Option<&str>,
        keep: Option<SessionSwap<'_>>,
    ) -> StoreResult<bool>;
    /// Replaces the password hash only if it is still `old`, keeping sessions: used to upgrade
    /// a hash to stronger parameters after a successful login.
    async fn upgrade_password_hash(&self, id: UserId, old: &str, new: &str) -> StoreResult<bool>;
    async fn login_info(&self, id: UserId) -> StoreResult<LoginInfo>;
    async fn record_login(&self, id: UserId, at: Timestamp) -> StoreResult<()>;
    async fn record_failed_login(&self, id: UserId, at: Timestamp) -> StoreResult<()>;
    /// The user's groups and the global permissions they grant.
    async fn user_access(&self, id: UserId) -> StoreResult<UserAccess>;
    /// Every service account, by name.
    async fn list_service_accounts(&self) -> StoreResult<Vec<User>>;
    /// Deletes the user with their sessions, tokens, memberships, roles, watches and votes,
    /// in one transaction, unless work is attributed to them (see [`UserDeletion`]).
    async fn delete_user(&self, id: UserId) -> StoreResult<UserDeletion>;
}

/// What deleting a user came to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UserDeletion {
    Deleted,
    /// There was no such user.
    Gone,
    /// Kept: issues, comments, worklogs, changes or projects name them (Jira's rule, so that
    /// history stays attributable); how many of each.
    InUse(Vec<(&'static str, i64)>),
}

#[async_trait]
pub trait GroupStore: Send + Sync {
    /// `Conflict(GroupName)` if it exists.
    /// A group named `name` (kept for display; its key is `name` lower-cased).
    async fn create_group(&self, name: &str) -> StoreResult<Group>;
    async fn delete_group(&self, name: &str) -> StoreResult<bool>;
    async fn find_group(&self, name: &str) -> StoreResult<Option<Group>>;
    /// Groups whose name contains `text` (all for an empty one), by name, at most `limit`,
    /// with how many match in all.
    async fn search_groups(&self, text: &str, limit: i64) -> StoreResult<(Vec<Group>, i64)>;
    async fn group_members(
        &self,
        name: &str,
        include_inactive: bool,
        page: PageRequest,
    ) -> StoreResult<Page<User>>;
    /// `false` if the user already was a member.
    async fn add_group_member(&self, group: &str, user: UserId) -> StoreResult<bool>;
    /// `false` if the user was not a member.
    async fn remove_group_member(&self, group: &str, user: UserId) -> StoreResult<bool>;
}

#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Creates the project with its initial role members.
    async fn create_project(&self, project: NewProject) -> StoreResult<Project>;
    async fn find_project(&self, id: ProjectId) -> StoreResult<Option<Project>>;
    async fn find_project_by_key(&self, key: &str) -> StoreResult<Option<Project>>;
    async fn list_projects(&self) -> StoreResult<Vec<Project>>;
    /// Deletes the project with its issues and everything theirs (comments, worklogs,
    /// changelog, labels, watchers) and its roles, in one transaction; `false` if it was gone.
    async fn delete_project(&self, id: ProjectId) -> StoreResult<bool>;
    async fn role_actors(&self, project: ProjectId) -> StoreResult<Vec<(ProjectRole, RoleActor)>>;
    /// The roles the user holds in the project, directly or through a group.
    async fn user_roles(&self, project: ProjectId, user: UserId) -> StoreResult<Vec<ProjectRole>>;
    /// The roles the user holds in every project.
    async fn user_roles_everywhere(
        &self,
        user: UserId,
    ) -> StoreResult<Vec<(ProjectId, ProjectRole)>>;
    /// Adds members, ignoring those already present.
    async fn add_role_members(
        &self,
        project: ProjectId,
        role: ProjectRole,
        members: &[RoleMember],
    ) -> StoreResult<()>;
    async fn remove_role_member(
        &self,
        project: ProjectId,
        role: ProjectRole,
        member: &RoleMember,
    ) -> StoreResult<bool>;
    /// Replaces the role's members.
    async fn set_role_members(
        &self,
        project: ProjectId,
        role: ProjectRole,
        members: &[RoleMember],
    ) -> StoreResult<()>;
}

#[async_trait]
pub trait IssueStore: Send + Sync {
    /// Allocates the next number in the project (gap-free under concurrency) and stores the
    /// issue in the same transaction, with its reporter and creator as its watchers (Jira's
    /// autowatch).
    async fn create_issue(&self, issue: NewIssue) -> StoreResult<Issue>;
    async fn find_issue(&self, id: IssueId) -> StoreResult<Option<Issue>>;
    async fn find_issue_by_key(&self, project_key: &str, number: i64)
    -> StoreResult<Option<Issue>>;
    /// Applies all changes in one transaction, recording in it the fields that changed (as
    /// read before and after, inside the transaction) as one changelog entry of `author`, if
    /// any did; `None` if the issue is gone.
    async fn update_issue(
        &self,
        id: IssueId,
        changes: &IssueChanges,
        author: &ChangeAuthor,
        at: Timestamp,
    ) -> StoreResult<Option<Issue>>;
    /// The issue's changelog, oldest first.
    async fn list_changelog(
        &self,
        issue: IssueId,
        page: PageRequest,
    ) -> StoreResult<Page<ChangeGroup>>;
    /// The issue's watchers, by name.
    async fn list_watchers(&self, issue: IssueId) -> StoreResult<Vec<User>>;
    /// How many watch the issue, and whether `viewer` does.
    async fn watches(&self, issue: IssueId, viewer: UserId) -> StoreResult<Watches>;
    /// [`Self::watches`] and the issue's votes (whether `viewer` voted), in one read.
    async fn watches_and_votes(
        &self,
        issue: IssueId,
        viewer: UserId,
    ) -> StoreResult<(Watches, Votes)>;
    /// `false` if the user already watched it; `MissingReference` if the issue or user is
    /// gone.
    async fn add_watcher(&self, issue: IssueId, user: UserId, at: Timestamp) -> StoreResult<bool>;
    /// `false` if the user did not watch it.
    async fn remove_watcher(&self, issue: IssueId, user: UserId) -> StoreResult<bool>;
    async fn delete_issue(&self, id: IssueId) -> StoreResult<bool>;
    /// The issue's comments that `viewer` may see (those without a visibility restriction,
    /// and those of a role or group `viewer` is in); `total` counts those alone.
    async fn list_comments(
        &self,
        issue: IssueId,
        viewer: UserId,
        page: PageRequest,
        newest_first: bool,
    ) -> StoreResult<Page<Comment>>;
    /// A comment, whoever may see it (the caller checks its visibility).
    async fn find_comment(&self, id: CommentId) -> StoreResult<Option<Comment>>;
    async fn add_comment(
        &self,
        issue: IssueId,
        author: UserId,
        body: &str,
        visibility: Option<&Visibility>,
        at: Timestamp,
    ) -> StoreResult<Comment>;
    /// Replaces the body and the visibility.
    async fn update_comment(
        &self,
        id: CommentId,
        body: &str,
        visibility: Option<&Visibility>,
        editor: UserId,
        at: Timestamp,
    ) -> StoreResult<Option<Comment>>;
    async fn delete_comment(&self, id: CommentId) -> StoreResult<bool>;
    /// The issues that exist among those named by key (`(project key, number)`) or by id, in
    /// a few reads however many are named (a query may name thousands).
    async fn locate_issues(
        &self,
        keys: &[(String, i64)],
        ids: &[IssueId],
    ) -> StoreResult<Vec<IssueLocation>>;
    /// The users that exist among those named (lower-cased names) or numbered, and the groups
    /// among those named (stored names), in at most three reads however many are named.
    async fn locate_names(
        &self,
        user_names: &[String],
        user_ids: &[UserId],
        groups: &[String],
    ) -> StoreResult<NamesFound>;
    /// One page of the issues the search matches, in its order (ties broken by issue id), and
    /// the exact number matched. Reads only issues of [`SearchQuery::projects`].
    async fn search_issues(
        &self,
        query: &SearchQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Issue>>;
}

#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn create_session(&self, session: &Session) -> StoreResult<()>;
    /// A session with its user, in one read (it runs on every cookie-authenticated request).
    async fn find_session(&self, id_digest: &[u8]) -> StoreResult<Option<(Session, User)>>;
    async fn touch_session(&self, id_digest: &[u8], at: Timestamp) -> StoreResult<()>;
    /// Sets (or with `None` drops) the session's websudo window; `false` if the session is
    /// gone.
    async fn set_websudo(&self, id_digest: &[u8], until: Option<Timestamp>) -> StoreResult<bool>;
    async fn delete_session(&self, id_digest: &[u8]) -> StoreResult<bool>;
    async fn delete_user_sessions(&self, user: UserId, keep: Option<&[u8]>) -> StoreResult<u64>;
    /// Deletes sessions idle since before `idle_before` or created before `created_before`.
    async fn delete_expired_sessions(
        &self,
        idle_before: Timestamp,
        created_before: Timestamp,
    ) -> StoreResult<u64>;
}

#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a token; with `max_live`, only if its owner holds fewer live (not revoked, not
    /// expired at `token.created`) tokens, checked in the same transaction
    /// (`Conflict(TokenLimit)` otherwise).
    async fn create_token(&self, token: NewToken, max_live: Option<u32>) -> StoreResult<Token>;
    async fn find_token(&self, id: TokenId) -> StoreResult<Option<Token>>;
    /// The token whose current secret, or whose secret before the last rotation, has this
    /// digest.
    async fn find_token_by_digest(&self, digest: &[u8]) -> StoreResult<Option<TokenMatch>>;
    /// Tokens matching the filter, newest first.
    async fn list_tokens(
        &self,
        filter: &TokenFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Token>>;
    /// Revokes a live token and records `audit` in the same transaction; `false` (and no
    /// event) if it was already revoked or does not exist.
    async fn revoke_token(
        &self,
        id: TokenId,
        at: Timestamp,
        reason: RevokeReason,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Revokes every live token of a user; the ids revoked.
    async fn revoke_user_tokens(
        &self,
        owner: UserId,
        at: Timestamp,
        reason: RevokeReason,
    ) -> StoreResult<Vec<TokenId>>;
    /// Replaces a live token's secret. The old secret stays valid until `overlap_until`, or
    /// stops at once if that is `None`. `false` if the token is revoked or gone.
    async fn rotate_token(
        &self,
        id: TokenId,
        new_digest: &[u8],
        overlap_until: Option<Timestamp>,
    ) -> StoreResult<bool>;
}

/// Failed password attempts per subject (see [`crate::throttle`]).
#[async_trait]
pub trait ThrottleStore: Send + Sync {
    /// Takes a number for a password attempt in one atomic step, unless the subject is
    /// suspended at `at` (then `None`, and nothing is counted). A subject whose last attempt and
    /// last wait both ended before `window_start` starts again at one. The attempt that brings
    /// the count to `threshold` or beyond suspends the subject at once for `first_wait`
    /// (before its password is even checked), so concurrent guesses cannot all slip under
    /// the threshold; [`ThrottleStore::block_login`] then lengthens the wait as the count says.
    async fn take_login_attempt(
        &self,
        subject: &str,
        at: Timestamp,
        window_start: Timestamp,
        threshold: i64,
        first_wait_ms: i64,
    ) -> StoreResult<Option<i64>>;
    /// Gives back the number of an attempt that succeeded, lifting a wait the count no longer
    /// reaches.
    async fn return_login_attempt(&self, subject: &str, threshold: i64) -> StoreResult<()>;
    /// Makes password logins of the subject wait until `until` (never shortening a wait).
    async fn block_login(&self, subject: &str, until: Timestamp) -> StoreResult<()>;
    /// The latest end of a wait among the subjects, if any.
    async fn login_blocked_until(&self, subjects: &[String]) -> StoreResult<Option<Timestamp>>;
    /// Forgets a subject's failures and wait; `false` if there were none.
    async fn clear_login_failures(&self, subject: &str) -> StoreResult<bool>;
    /// Retention: forgets subjects whose last failure and wait both ended before `before`.
    async fn delete_stale_login_failures(&self, before: Timestamp) -> StoreResult<u64>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    async fn record_audit(&self, events: &[AuditEvent]) -> StoreResult<()>;
    /// The most recent events, newest first.
    async fn recent_audit(&self, limit: i64) -> StoreResult<Vec<AuditEvent>>;
    /// Events matching the filter, newest first.
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEvent>>;
    /// Retention: deletes events older than `before`; how many.
    async fn delete_audit_before(&self, before: Timestamp) -> StoreResult<u64>;
}

/// The stored access policy (see [`crate::policy`]), as its JSON document.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPolicy {
    pub version: i64,
    pub document: String,
    pub updated: Timestamp,
    /// Who made the last change; `None` for the initial state from the configuration.
    pub updated_by: Option<String>,
}

#[async_trait]
pub trait PolicyStore: Send + Sync {
    async fn find_policy(&self) -> StoreResult<Option<StoredPolicy>>;
    /// Stores `document` as version 1 if no policy is stored yet; the stored policy either way
    /// (instances starting together agree on one).
    async fn seed_policy(&self, document: &str, at: Timestamp) -> StoreResult<StoredPolicy>;
    /// Replaces the policy if its version is still `expected`, recording `audit` in the same
    /// transaction; the new version, or `None` if another change came first.
    async fn replace_policy(
        &self,
        expected: i64,
        document: &str,
        at: Timestamp,
        by: Option<&str>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<i64>>;
    /// The stored policy's version (0: none).
    async fn policy_version(&self) -> StoreResult<i64>;
}

/// External identity providers (see [`crate::identity`]).
#[async_trait]
pub trait IdentityStore: Send + Sync {
    /// A conflict (`ProviderName`, `ProviderIssuer`) if the name or the issuer is taken.
    async fn create_provider(&self, provider: NewIdentityProvider)
    -> StoreResult<IdentityProvider>;
    /// Every provider, by name.
    async fn list_providers(&self) -> StoreResult<Vec<IdentityProvider>>;
    async fn get_provider(&self, id: ProviderId) -> StoreResult<Option<IdentityProvider>>;
    /// The provider whose issuer is exactly `issuer`.
    async fn find_provider_by_issuer(&self, issuer: &str) -> StoreResult<Option<IdentityProvider>>;
    /// Replaces a provider's settings and endpoints; `None` if it does not exist.
    async fn update_provider(
        &self,
        id: ProviderId,
        settings: &ProviderSettings,
        endpoints: &Endpoints,
    ) -> StoreResult<Option<IdentityProvider>>;
    /// Deletes a provider and records `audit` in the same transaction; `false` (and no event)
    /// if there was none.
    async fn delete_provider(&self, id: ProviderId, audit: &AuditEvent) -> StoreResult<bool>;
    /// Notes the first use of a provider's credentials: `true` only for the call that set it
    /// (so its audit event is recorded once, whatever instances race).
    async fn mark_provider_used(&self, id: ProviderId, at: Timestamp) -> StoreResult<bool>;
    /// Keeps a sign-in that went to a provider (and drops those expired by `login.created`);
    /// `false` (and nothing kept) if `max_pending` sign-ins are under way already.
    async fn create_sso_login(&self, login: &SsoLogin, max_pending: i64) -> StoreResult<bool>;
    /// Takes the sign-in whose state has this digest: deleted as it is read, so it is used
    /// once; `None` if there is none or it expired before `now`.
    async fn take_sso_login(
        &self,
        state_digest: &str,
        now: Timestamp,
    ) -> StoreResult<Option<SsoLogin>>;
}

/// Projects' versions and components.
#[async_trait]
pub trait PlanningStore: Send + Sync {
    /// Placed last in the project's order; a conflict (`VersionName`) if the name is taken.
    async fn create_version(
        &self,
        project: ProjectId,
        fields: &VersionFields,
    ) -> StoreResult<Version>;
    async fn find_version(&self, id: VersionId) -> StoreResult<Option<Version>>;
    /// The project's versions, in their order.
    async fn list_versions(&self, project: ProjectId) -> StoreResult<Vec<Version>>;
    /// `None` if it is gone; a conflict if the new name is taken.
    async fn update_version(
        &self,
        id: VersionId,
        fields: &VersionFields,
    ) -> StoreResult<Option<Version>>;
    /// Moves the version to `position` (0 first) in its project's order.
    async fn move_version(&self, id: VersionId, position: usize) -> StoreResult<Option<Version>>;
    /// Deletes the version; its issues name `fix_to` / `affected_to` instead (or nothing),
    /// in the same transaction. `false` if it was gone.
    async fn delete_version(
        &self,
        id: VersionId,
        fix_to: Option<VersionId>,
        affected_to: Option<VersionId>,
    ) -> StoreResult<bool>;
    /// How many issues name the version as fix version, and as affected version.
    async fn version_issue_counts(&self, id: VersionId) -> StoreResult<(i64, i64)>;
    /// A conflict (`ComponentName`) if the name is taken in the project.
    async fn create_component(
        &self,
        project: ProjectId,
        fields: &ComponentFields,
    ) -> StoreResult<Component>;
    async fn find_component(&self, id: ComponentId) -> StoreResult<Option<Component>>;
    /// The project's components, by name.
    async fn list_components(&self, project: ProjectId) -> StoreResult<Vec<Component>>;
    async fn update_component(
        &self,
        id: ComponentId,
        fields: &ComponentFields,
    ) -> StoreResult<Option<Component>>;
    /// Deletes the component; its issues name `move_to` instead (or nothing).
    async fn delete_component(
        &self,
        id: ComponentId,
        move_to: Option<ComponentId>,
    ) -> StoreResult<bool>;
    async fn component_issue_count(&self, id: ComponentId) -> StoreResult<i64>;
    /// The versions named (lower-cased names) or numbered, in any project, in a few reads
    /// however many are named; the caller keeps those of projects it may see.
    async fn locate_versions(
        &self,
        names: &[String],
        ids: &[i64],
    ) -> StoreResult<Vec<PlanningName>>;
    /// As [`Self::locate_versions`], for components.
    async fn locate_components(
        &self,
        names: &[String],
        ids: &[i64],
    ) -> StoreResult<Vec<PlanningName>>;
}

/// Links between issues, their types, and remote links.
#[async_trait]
pub trait LinkStore: Send + Sync {
    /// Every link type, by name.
    async fn list_link_types(&self) -> StoreResult<Vec<LinkType>>;
    async fn find_link_type(&self, id: LinkTypeId) -> StoreResult<Option<LinkType>>;
    /// Every field must be given; a conflict (`LinkTypeName`) if the name is taken.
    async fn create_link_type(&self, fields: &LinkTypeFields) -> StoreResult<LinkType>;
    /// `None` if it is gone; a conflict if the new name is taken.
    async fn update_link_type(
        &self,
        id: LinkTypeId,
        fields: &LinkTypeFields,
    ) -> StoreResult<Option<LinkType>>;
    /// Deletes the type and every link of it; `false` if it was gone.
    async fn delete_link_type(&self, id: LinkTypeId) -> StoreResult<bool>;
    /// Links `source` to `destination` and records the link on both issues' changelogs, in
    /// one transaction. A link that exists already is returned as it is, with nothing
    /// recorded. `MissingReference` if an issue or the type is gone.
    async fn link_issues(
        &self,
        link_type: LinkTypeId,
        source: IssueId,
        destination: IssueId,
        author: &ChangeAuthor,
        at: Timestamp,
    ) -> StoreResult<IssueLink>;
    async fn find_issue_link(&self, id: IssueLinkId) -> StoreResult<Option<IssueLink>>;
    /// The issue's links, either way, oldest first.
    async fn issue_links(&self, issue: IssueId) -> StoreResult<Vec<IssueLink>>;
    /// The links of any of `issues`, either way, oldest first, each once: one read for a page
    /// of issues.
    async fn issue_links_of(&self, issues: &[IssueId]) -> StoreResult<Vec<IssueLink>>;
    /// Deletes the link and records it on both issues' changelogs; `false` if it was gone.
    async fn delete_issue_link(
        &self,
        id: IssueLinkId,
        author: &ChangeAuthor,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Stores a remote link on `issue`; with a global id the issue already has, that link is
    /// replaced instead (`true`: created). `MissingReference` if the issue is gone.
    async fn save_remote_link(
        &self,
        issue: IssueId,
        link: &RemoteLinkFields,
        at: Timestamp,
    ) -> StoreResult<(RemoteLink, bool)>;
    /// The issue's remote links (only the one of `global_id`, if given), oldest first.
    async fn list_remote_links(
        &self,
        issue: IssueId,
        global_id: Option<&str>,
    ) -> StoreResult<Vec<RemoteLink>>;
    async fn find_remote_link(&self, id: RemoteLinkId) -> StoreResult<Option<RemoteLink>>;
    /// Replaces the link's fields; `None` if it is gone; a conflict if the global id is
    /// another link's of the issue.
    async fn update_remote_link(
        &self,
        id: RemoteLinkId,
        link: &RemoteLinkFields,
        at: Timestamp,
    ) -> StoreResult<Option<RemoteLink>>;
    async fn delete_remote_link(&self, id: RemoteLinkId) -> StoreResult<bool>;
}

/// Saved filters.
#[async_trait]
pub trait FilterStore: Send + Sync {
    /// A conflict (`FilterName`) if the owner has a filter of that name.
    async fn create_filter(
        &self,
        owner: UserId,
        fields: &FilterFields,
        favourite: bool,
        at: Timestamp,
    ) -> StoreResult<Filter>;
    /// The filter, with whether `viewer` counts it as a favourite.
    async fn find_filter(&self, id: FilterId, viewer: UserId) -> StoreResult<Option<Filter>>;
    /// `None` if it is gone; a conflict if the new name is taken.
    async fn update_filter(
        &self,
        id: FilterId,
        fields: &FilterFields,
        viewer: UserId,
    ) -> StoreResult<Option<Filter>>;
    async fn delete_filter(&self, id: FilterId) -> StoreResult<bool>;
    /// The filters `user` counts as favourites, by name.
    async fn favourite_filters(&self, user: UserId) -> StoreResult<Vec<Filter>>;
    async fn set_favourite(&self, id: FilterId, user: UserId, favourite: bool) -> StoreResult<()>;
    /// The filters of that name (lower-cased), whoever owns them, by id.
    async fn filters_named(&self, name_lower: &str, viewer: UserId) -> StoreResult<Vec<Filter>>;
    /// Shares the filter with `target`, keeping the share it already has with that audience;
    /// the share's id. `MissingReference` if the filter, group or project is gone.
    async fn add_filter_share(&self, id: FilterId, target: &ShareTarget) -> StoreResult<i64>;
    /// `false` if the filter had no such share.
    async fn remove_filter_share(&self, id: FilterId, share: i64) -> StoreResult<bool>;
}

/// Issue properties: JSON values kept on an issue under a key.
#[async_trait]
pub trait IssuePropertyStore: Send + Sync {
    /// The issue's property keys, sorted.
    async fn issue_property_keys(&self, issue: IssueId) -> StoreResult<Vec<String>>;
    /// The property's JSON text.
    async fn issue_property(&self, issue: IssueId, key: &str) -> StoreResult<Option<String>>;
    /// Sets the property; `true` if it was new. `MissingReference` if the issue is gone.
    async fn set_issue_property(
        &self,
        issue: IssueId,
        key: &str,
        value: &str,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// `false` if there was no such property.
    async fn delete_issue_property(&self, issue: IssueId, key: &str) -> StoreResult<bool>;
}

/// Application properties an administrator changed.
#[async_trait]
pub trait AppPropertyStore: Send + Sync {
    /// Every changed property: key and value.
    async fn app_properties(&self) -> StoreResult<Vec<(String, String)>>;
    async fn set_app_property(&self, key: &str, value: &str, at: Timestamp) -> StoreResult<()>;
}

/// The avatars users chose.
#[async_trait]
pub trait AvatarStore: Send + Sync {
    /// The avatar the user chose; `None` for the default.
    async fn chosen_avatar(&self, user: UserId) -> StoreResult<Option<i64>>;
    /// `MissingReference` if the user is gone.
    async fn choose_avatar(&self, user: UserId, avatar: i64) -> StoreResult<()>;
    /// Holds an uploaded image unconfirmed, in place of the user's previous unconfirmed one;
    /// its id. `MissingReference` if the user is gone.
    async fn add_avatar_image(
        &self,
        user: UserId,
        mime_type: &str,
        content: &[u8],
        at: Timestamp,
    ) -> StoreResult<i64>;
    /// Confirms the user's unconfirmed image; its id, `None` if there is none.
    async fn confirm_avatar_image(&self, user: UserId) -> StoreResult<Option<i64>>;
    /// The user's confirmed images' ids, oldest first.
    async fn avatar_images(&self, user: UserId) -> StoreResult<Vec<i64>>;
    /// A confirmed image: its owner, type and bytes.
    async fn avatar_image(&self, id: i64) -> StoreResult<Option<(UserId, String, Vec<u8>)>>;
    /// Deletes one of the user's confirmed images (and the choice of it, so the user shows the
    /// default); `false` if the user has no such image.
    async fn delete_avatar_image(&self, user: UserId, id: i64) -> StoreResult<bool>;
}

/// Votes for issues.
#[async_trait]
pub trait VoteStore: Send + Sync {
    /// Those who voted for the issue, by name.
    async fn list_voters(&self, issue: IssueId) -> StoreResult<Vec<User>>;
    /// How many voted for the issue, and whether `viewer` did.
    async fn votes(&self, issue: IssueId, viewer: UserId) -> StoreResult<Votes>;
    /// `false` if the user had voted already; `MissingReference` if the issue is gone.
    async fn add_vote(&self, issue: IssueId, user: UserId, at: Timestamp) -> StoreResult<bool>;
    /// `false` if the user had not voted.
    async fn remove_vote(&self, issue: IssueId, user: UserId) -> StoreResult<bool>;
}

/// Files attached to issues.
#[async_trait]
pub trait AttachmentStore: Send + Sync {
    /// Stores the files and records each on the issue's changelog, in one transaction:
    /// all are kept, or none. `MissingReference` if the issue is gone.
    async fn add_attachments(
        &self,
        issue: IssueId,
        files: &[NewAttachment],
        author: &ChangeAuthor,
        at: Timestamp,
    ) -> StoreResult<Vec<Attachment>>;
    /// The issue's attachments, oldest first (without their content).
    async fn list_attachments(&self, issue: IssueId) -> StoreResult<Vec<Attachment>>;
    /// The attachments of any of `issues`, oldest first: one read for a page of issues.
    async fn attachments_of(&self, issues: &[IssueId]) -> StoreResult<Vec<Attachment>>;
    async fn find_attachment(&self, id: AttachmentId) -> StoreResult<Option<Attachment>>;
    async fn attachment_content(&self, id: AttachmentId) -> StoreResult<Option<Vec<u8>>>;
    /// Deletes the attachment and records it on its issue's changelog; `false` if it was
    /// gone.
    async fn delete_attachment(
        &self,
        id: AttachmentId,
        author: &ChangeAuthor,
        at: Timestamp,
    ) -> StoreResult<bool>;
}

/// Work logged on issues.
#[async_trait]
pub trait WorklogStore: Send + Sync {
    /// Stores the worklog and, in the same transaction, adds its time to the issue's time
    /// spent and applies `estimate` to its remaining estimate; `MissingReference` if the
    /// issue is gone.
    async fn add_worklog(
        &self,
        worklog: &NewWorklog,
        estimate: EstimateChange,
    ) -> StoreResult<Worklog>;
    /// The issue's worklogs, oldest first.
    async fn list_worklogs(&self, issue: IssueId, page: PageRequest) -> StoreResult<Page<Worklog>>;
    async fn find_worklog(&self, id: WorklogId) -> StoreResult<Option<Worklog>>;
    /// Changes a worklog, its issue's time spent by the difference and its remaining
    /// estimate by `estimate`, in one transaction; `None` if it is gone.
    async fn update_worklog(
        &self,
        id: WorklogId,
        changes: &WorklogChanges,
        editor: UserId,
        estimate: EstimateChange,
        at: Timestamp,
    ) -> StoreResult<Option<Worklog>>;
    /// Deletes a worklog, takes its time from the issue's time spent, applies `estimate`
    /// and notes the deletion for exports, in one transaction; `false` if it was gone.
    async fn delete_worklog(
        &self,
        id: WorklogId,
        estimate: EstimateChange,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Worklogs changed (or, with `deleted`, deleted) at or after `since`, in the order of
    /// that time, at most `limit`.
    async fn worklog_changes(
        &self,
        since: Timestamp,
        deleted: bool,
        limit: i64,
    ) -> StoreResult<Vec<WorklogChange>>;
    /// The worklogs among `ids` that exist, with their issue's project.
    async fn find_worklogs(&self, ids: &[WorklogId]) -> StoreResult<Vec<(Worklog, ProjectId)>>;
}

/// OAuth 1.0a application links (see [`crate::oauth1`]).
#[async_trait]
pub trait OAuth1Store: Send + Sync {
    /// A conflict if the consumer key is taken.
    async fn create_consumer(&self, consumer: NewConsumer) -> StoreResult<Consumer>;
    /// Every consumer, by name.
    async fn list_consumers(&self) -> StoreResult<Vec<Consumer>>;
    async fn find_consumer(&self, consumer_key: &str) -> StoreResult<Option<Consumer>>;
    /// `None` if the consumer does not exist.
    async fn update_consumer(
        &self,
        consumer_key: &str,
        changes: &ConsumerChanges,
    ) -> StoreResult<Option<Consumer>>;
    /// Deletes a consumer with every token it holds, and records `audit` in the same
    /// transaction; `false` (and no event) if there was none.
    async fn delete_consumer(&self, consumer_key: &str, audit: &AuditEvent) -> StoreResult<bool>;
    async fn create_oauth1_token(&self, token: NewOAuth1Token) -> StoreResult<()>;
    async fn find_oauth1_token(&self, digest: &[u8]) -> StoreResult<Option<OAuth1Token>>;
    /// A token by its id, whatever its state.
    async fn get_oauth1_token(&self, id: i64) -> StoreResult<Option<OAuth1Token>>;
    /// A user approves a live request token, once: it records the user, the scopes granted
    /// and the verifier's digest. `false` if the token is not a live, unapproved request
    /// token (or was approved meanwhile).
    async fn approve_request_token(
        &self,
        digest: &[u8],
        user: UserId,
        scopes: Scopes,
        verifier_digest: &[u8],
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Spends an approved request token and stores the access token issued for it, in one
    /// transaction: only the first exchange wins; `false` and nothing stored for the rest.
    async fn exchange_request_token(
        &self,
        digest: &[u8],
        access: NewOAuth1Token,
        at: Timestamp,
    ) -> StoreResult<bool>;
    /// Live access tokens (of one user, or of everyone), newest first.
    async fn list_oauth1_tokens(&self, user: Option<UserId>) -> StoreResult<Vec<OAuth1Token>>;
    /// Revokes a live token and records `audit` in the same transaction; `false` (and no
    /// event) if it was not live.
    async fn revoke_oauth1_token(
        &self,
        id: i64,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    /// Records nonces, all in one write; for each, `false` if it was seen before (a replay,
    /// or the same nonce earlier in `nonces`). Every instance sharing the database sees the
    /// same nonces.
    async fn use_nonces(&self, nonces: &[Nonce]) -> StoreResult<Vec<bool>>;
    /// Records one nonce; `false` if it was seen before.
    async fn use_nonce(&self, nonce: &Nonce) -> StoreResult<bool> {
        let fresh = self.use_nonces(std::slice::from_ref(nonce)).await?;
        Ok(fresh.first().copied().unwrap_or(false))
    }
    /// Forgets nonces whose timestamp is older than `before` (seconds): requests that old are
    /// refused by their timestamp anyway.
    async fn prune_nonces(&self, before: i64) -> StoreResult<u64>;
}

/// The OAuth 2.0 authorization server's records (see [`crate::oauth2`]).
#[async_trait]
pub trait OAuth2Store: Send + Sync {
    async fn create_client(&self, client: NewClient) -> StoreResult<Client>;
    /// Every client, by name.
    async fn list_clients(&self) -> StoreResult<Vec<Client>>;
    /// A client by its public `client_id`, with its secret's digest.
    async fn find_client(&self, client_id: &str) -> StoreResult<Option<ClientMatch>>;
    /// `None` if the client does not exist. A new secret revokes, as of `at`, the client's
    /// `client_credentials` tokens (the old secret alone could mint them).
    async fn update_client(
        &self,
        key: ClientKey,
        changes: &ClientChanges,
        at: Timestamp,
    ) -> StoreResult<Option<Client>>;
    /// Records a user's consent: a live grant of the pair has its scopes widened, else a new
    /// grant is made (one transaction; concurrent consents end with one live grant).
    async fn grant(
        &self,
        client: ClientKey,
        user: UserId,
        scopes: Scopes,
        at: Timestamp,
    ) -> StoreResult<Grant>;
    async fn find_live_grant(&self, client: ClientKey, user: UserId) -> StoreResult<Option<Grant>>;
    async fn find_grant(&self, id: GrantId) -> StoreResult<Option<Grant>>;
    /// Live grants (of one user, or of everyone), newest first, with their last use.
    async fn list_grants(&self, user: Option<UserId>) -> StoreResult<Vec<Grant>>;
    /// Revokes a live grant, with every token of it, and records `audit` in the same
    /// transaction; `false` (and no event) if it was not live.
    async fn revoke_grant(
        &self,
        id: GrantId,
        at: Timestamp,
        reason: &str,
        audit: &AuditEvent,
    ) -> StoreResult<bool>;
    async fn create_code(&self, code: NewCode) -> StoreResult<()>;
    /// A code, and whether it was spent already.
    async fn find_code(&self, digest: &[u8]) -> StoreResult<Option<(Code, bool)>>;
    /// Spends a code and stores the tokens issued for it, in one transaction: the first
    /// redemption wins; a later one stores nothing and revokes what the code issued.
    async fn redeem_code(
        &self,
        digest: &[u8],
        at: Timestamp,
        tokens: &[NewOAuth2Token],
    ) -> StoreResult<Redemption>;
    /// Disables the client whose secret has this digest (a leaked secret); its id.
    async fn disable_client_with_secret(&self, digest: &[u8]) -> StoreResult<Option<String>>;
    /// Stores tokens together (an access token and its refresh token).
    async fn create_oauth_tokens(&self, tokens: &[NewOAuth2Token]) -> StoreResult<()>;
    async fn find_oauth_token(&self, digest: &[u8]) -> StoreResult<Option<OAuth2TokenMatch>>;
    /// Exchanges a refresh token in one transaction: a live one is spent and `replacements`
    /// stored; one spent before revokes its grant (reuse detection), recording `reuse_audit`.
    async fn rotate_refresh_token(
        &self,
        digest: &[u8],
        at: Timestamp,
        replacements: &[NewOAuth2Token],
        reuse_audit: &AuditEvent,
    ) -> StoreResult<Rotation>;
    /// Revokes one token; a refresh token takes the access tokens of its grant with it
    /// (RFC 7009 §2.1). `false` if no live token has the digest.
    async fn revoke_oauth_token(&self, digest: &[u8], at: Timestamp) -> StoreResult<bool>;
    /// Retention: deletes codes and tokens that expired before `before` (an expired token is
    /// refused whatever else is true of it, so nothing is lost with it); how many.
    async fn delete_expired_oauth(&self, before: Timestamp) -> StoreResult<u64>;
}

/// API use per credential (see [`crate::usage`]).
#[async_trait]
pub trait UsageStore: Send + Sync {
    /// Adds coalesced uses in one transaction, with the tokens' last-use figures (counts add
    /// up, last-seen times only move forward); the addresses each credential was seen at for
    /// the first time. A credential keeps at most `max_addresses` addresses: beyond, new ones
    /// are counted in its days but not kept, nor reported.
    async fn record_usage(
        &self,
        uses: &[CredentialUse],
        token_uses: &[crate::tokens::TokenUse],
        max_addresses: i64,
    ) -> StoreResult<Vec<ClientSeen>>;
    /// Requests per day from `since_day` on, newest first, and the `clients` most recent
    /// addresses.
    async fn credential_usage(
        &self,
        credential: &str,
        since_day: i64,
        clients: i64,
    ) -> StoreResult<UsageReport>;
    /// Credentials with an address first seen at or after `since`, latest first (at most
    /// `limit`).
    async fn credentials_with_new_clients(
        &self,
        since: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<String>>;
    /// Every address of these credentials.
    async fn clients_of(&self, credentials: &[String]) -> StoreResult<Vec<ClientSeen>>;
    /// Active users with a password, each with the last use of that password (Basic or a
    /// login), if any.
    async fn password_last_used(&self) -> StoreResult<Vec<(User, Option<Timestamp>)>>;
    /// Retention: forgets daily counts before `before_day` and addresses last seen before
    /// `before`.
    async fn delete_usage_before(&self, before_day: i64, before: Timestamp) -> StoreResult<u64>;
}

#[async_trait]
pub trait KeyStore: Send + Sync {
    /// The server-wide secret named `name`, created from `fresh` if there is none yet. Every
    /// instance sharing the database gets the same value.
    async fn server_key(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>>;
}

/// Whether the database answers (the readiness check of `GET /status`).
#[async_trait]
pub trait HealthStore: Send + Sync {
    /// One trivial query; an error if the database does not answer it.
    async fn ping(&self) -> StoreResult<()>;

    /// Each connection pool's open and idle connections.
    fn pools(&self) -> Vec<PoolUsage>;
}

/// One connection pool's connections (for the metrics).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolUsage {
    pub name: &'static str,
    pub size: u32,
    pub idle: usize,
}

/// How far this instance can vouch for what it remembers about credentials.
pub trait AuthChangeStore: Send + Sync {
    /// Starts following the changes every instance sharing the database makes (needs a Tokio
    /// runtime; calling it again does nothing). Until then [`Self::auth_epoch`] is `None`.
    fn watch_auth_changes(&self);

    /// `None` while this instance cannot be sure it has heard of every change (not watching,
    /// or its watch was interrupted): nothing remembered may be used. Otherwise a number that
    /// moves whenever anything a verified credential depends on may have changed (a
    /// credential, a user's standing or groups, a global grant, the access policy, an OAuth
    /// client or consumer, an identity provider), through this instance at once, through
    /// another within a second: an answer remembered under another number is stale.
    fn auth_epoch(&self) -> Option<u64>;

    /// Like [`Self::auth_epoch`], for the work data: `None` when the instance cannot vouch,
    /// otherwise a number that moves whenever a project, a role, an issue or anything shown
    /// with it, a filter, an avatar or an application property may have changed (through this
    /// instance at once, through another within a second). A response remembered under
    /// another pair of numbers is stale.
    fn data_epoch(&self) -> Option<u64>;
}

/// Everything tessera stores.
pub trait Store:
    UserStore
    + GroupStore
    + ProjectStore
    + IssueStore
    + SessionStore
    + TokenStore
    + AuditStore
    + ThrottleStore
    + PolicyStore
    + UsageStore
    + OAuth2Store
    + OAuth1Store
    + IdentityStore
    + WorklogStore
    + PlanningStore
    + LinkStore
    + AttachmentStore
    + VoteStore
    + AvatarStore
    + AppPropertyStore
    + IssuePropertyStore
    + FilterStore
    + KeyStore
    + AuthChangeStore
    + HealthStore
    + std::fmt::Debug
{
}

impl<T> Store for T where
    T: UserStore
        + GroupStore
        + ProjectStore
        + IssueStore
        + SessionStore
        + TokenStore
        + AuditStore
        + ThrottleStore
        + PolicyStore
        + UsageStore
        + OAuth2Store
        + OAuth1Store
        + IdentityStore
        + WorklogStore
        + PlanningStore
        + LinkStore
        + AttachmentStore
        + VoteStore
        + AvatarStore
        + AppPropertyStore
        + IssuePropertyStore
        + FilterStore
        + KeyStore
        + AuthChangeStore
        + HealthStore
        + std::fmt::Debug
{
}
