//! The domain's errors. Each variant maps to exactly one HTTP status in the web crate, and the
//! messages are Jira's own wording where clients are known to read them.

use std::collections::BTreeMap;

use crate::authz::Denied;
use crate::store::StoreError;

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
    OAuthClient(String),
    #[error("No authorized application exists with id '{0}'.")]
    OAuthGrant(String),
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
