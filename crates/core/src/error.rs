//! The domain's errors. Each variant maps to exactly one HTTP status in the web crate, and the
//! messages are Jira's own wording where clients are known to read them.

use std::collections::BTreeMap;

use std::fmt;

use crate::permissions::{GlobalPermission, ProjectPermission};
use crate::scopes::Scope;

/// Jira's error body: general messages, and messages keyed by field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FieldErrors {
    pub messages: Vec<String>,
    pub fields: BTreeMap<String, String>,
}

impl FieldErrors {
    pub fn message(message: impl Into<String>) -> Self {
        Self {
            messages: vec![message.into()],
            fields: BTreeMap::new(),
        }
    }

    pub fn field(field: impl Into<String>, message: impl Into<String>) -> Self {
        let mut errors = Self::default();
        errors.add_field(field, message);
        errors
    }

    /// Records a message for a field, keeping the first one if the field already has one.
    pub fn add_field(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.fields
            .entry(field.into())
            .or_insert_with(|| message.into());
    }

    pub fn add_message(&mut self, message: impl Into<String>) {
        self.messages.push(message.into());
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.fields.is_empty()
    }

    /// `Ok(())` if nothing was recorded, else the errors as [`Error::Invalid`].
    pub fn into_result(self) -> Result<(), Error> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(Error::Invalid(self))
        }
    }
}

impl std::fmt::Display for FieldErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields = self.fields.iter().map(|(k, v)| format!("{k}: {v}"));
        let all: Vec<String> = self.messages.iter().cloned().chain(fields).collect();
        f.write_str(&all.join("; "))
    }
}

/// What was not found, worded as Jira words it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Missing {
    #[error("Issue Does Not Exist")]
    Issue,
    #[error("No project could be found with key '{0}'.")]
    Project(String),
    #[error("The user named '{0}' does not exist")]
    User(String),
    #[error("No group could be found with name '{0}'.")]
    Group(String),
    #[error("Can not find a comment for the id: {0}.")]
    Comment(String),
    #[error("No project role exists with id '{0}'.")]
    Role(String),
    #[error("User '{0}' is not a member of group '{1}'.")]
    Membership(String, String),
    #[error("No token exists with id '{0}'.")]
    Token(String),
    #[error("No OAuth 2.0 client exists with id '{0}'.")]
    OAuth2Client(String),
    #[error("No authorized application exists with id '{0}'.")]
    OAuth2Grant(String),
    #[error("No OAuth 1.0a consumer exists with key '{0}'.")]
    OAuth1Consumer(String),
    #[error("No OAuth 1.0a access token exists with id '{0}'.")]
    OAuth1Token(String),
    #[error("No identity provider exists with id '{0}'.")]
    IdentityProvider(String),
    #[error("Cannot find worklog with id: '{0}'.")]
    Worklog(String),
    #[error("Could not find version for id '{0}'")]
    Version(String),
    #[error("The component with id {0} does not exist.")]
    Component(String),
    #[error("No issue link type with name or id '{0}' found.")]
    LinkType(String),
    #[error("No issue link with id '{0}' exists.")]
    IssueLink(String),
    #[error("No remote link with id '{0}' exists on this issue.")]
    RemoteLink(String),
    #[error("The property with key '{0}' does not exist.")]
    IssueProperty(String),
    #[error("The attachment with id '{0}' does not exist.")]
    Attachment(String),
    #[error(
        "The selected filter is not available to you, perhaps it has been deleted or had its permissions changed."
    )]
    Filter(String),
    #[error("The share permission with id '{0}' does not exist.")]
    FilterShare(String),
    /// What Jira answers with a 404 though the thing exists: the reason, as Jira words it.
    #[error("{0}")]
    Refused(String),
}

/// Why a service refused.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The thing does not exist, or the caller may not know that it does.
    #[error("{0}")]
    NotFound(Missing),
    /// The caller may see the thing but not do this to it.
    #[error("{0}")]
    Denied(Denied),
    /// The request is wrong; the errors say where.
    #[error("{0}")]
    Invalid(FieldErrors),
    /// The request collides with existing data (a duplicate name, a membership that exists).
    #[error("{0}")]
    Conflict(FieldErrors),
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Self {
        Self::Invalid(FieldErrors::field(field, message))
    }

    pub fn invalid_message(message: impl Into<String>) -> Self {
        Self::Invalid(FieldErrors::message(message))
    }
}

/// What the caller lacked.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needed {
    Global(GlobalPermission),
    Project(ProjectPermission),
}

/// Why an action on something the caller can see was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Denied {
    /// The user lacks a permission.
    Permission(Needed),
    /// The user could, but the credential's scopes do not cover it.
    Scope(Scope),
    /// The request needs a password or session login; a token may not make or manage other
    /// tokens (a leaked token could otherwise mint successors).
    TokenNotAllowed,
    /// The policy lets only some groups create personal tokens.
    TokenCreationNotAllowed,
    /// The owner holds as many live tokens as the policy allows.
    TokenLimit(u32),
    /// An administrative change over a session needs the password re-entered (websudo).
    WebsudoRequired,
    /// Only its owner may change what the caller may see (a shared filter).
    OwnerOnly,
}

impl Denied {
    /// Stable reason code, for the body and `X-Authentication-Denied-Reason`.
    pub fn reason_code(self) -> &'static str {
        match self {
            Self::Permission(_) => "permission_missing",
            Self::Scope(_) => "scope_missing",
            Self::TokenNotAllowed => "token_not_allowed",
            Self::TokenCreationNotAllowed => "group_not_allowed",
            Self::TokenLimit(_) => "token_limit_reached",
            Self::WebsudoRequired => "websudo_required",
            Self::OwnerOnly => "owner_only",
        }
    }
}

impl fmt::Display for Denied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Permission(Needed::Global(p)) => {
                write!(f, "You do not have the '{}' permission.", p.info().name)
            }
            Self::Permission(Needed::Project(p)) => write!(
                f,
                "You do not have the '{}' permission in this project.",
                p.info().name
            ),
            Self::Scope(scope) => write!(
                f,
                "The credential used does not have the scope '{}' needed for this request.",
                scope.name()
            ),
            Self::TokenNotAllowed => f.write_str(
                "This needs a password or session login: a token cannot manage credentials \
                 (create tokens, change a password, or manage tokens other than itself).",
            ),
            Self::TokenCreationNotAllowed => {
                f.write_str("Your groups are not allowed to create personal access tokens.")
            }
            Self::TokenLimit(max) => write!(
                f,
                "The limit of {max} live tokens per user is reached: revoke one first."
            ),
            Self::OwnerOnly => f.write_str("Only its owner may change or delete this."),
            Self::WebsudoRequired => f.write_str(
                "This administrative change needs your password again: confirm it with \
                 POST /rest/auth/1/websudo {\"password\": ...} (or on the page you are sent \
                 to), then repeat the request.",
            ),
        }
    }
}

/// Which uniqueness rule a write broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Conflict {
    UserName,
    GroupName,
    ProjectKey,
    ProjectName,
    /// A status change whose starting status no longer holds (another change won the race).
    StaleStatus,
    /// The owner already holds as many live tokens as the policy allows.
    TokenLimit,
    /// An OAuth 1.0a consumer key is taken.
    ConsumerKey,
    /// An identity provider's name, or its issuer, is taken.
    ProviderName,
    ProviderIssuer,
    /// A version's or component's name is taken in its project.
    VersionName,
    ComponentName,
    /// An issue link type's name is taken.
    LinkTypeName,
    /// A remote link's global id is taken on its issue.
    RemoteLinkGlobalId,
    /// The owner has a filter of this name.
    FilterName,
    /// A uniqueness rule the store could not name (a race lost inside the database).
    Other,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("conflict: {0:?} already exists")]
    Conflict(Conflict),
    /// A row a write depends on is gone (deleted concurrently).
    #[error("a referenced record does not exist")]
    MissingReference,
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync>),
}
