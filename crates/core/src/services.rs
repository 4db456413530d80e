//! Services: the operations tessera performs, each taking the capability that permits it.
//! They validate input against the domain rules, resolve names to records and call the store;
//! they know nothing of HTTP or SQL.

pub mod attachments;
pub mod avatars;
pub mod changelog;
pub mod comments;
pub mod filters;
pub mod groups;
pub mod issue_properties;
pub mod issues;
pub mod links;
pub mod planning;
pub mod projects;
pub mod search;
pub mod users;
pub mod votes;
pub mod watchers;
pub mod worklogs;

use crate::error::Error;
use crate::store::{Conflict, StoreError};

/// A catalogue entry named in a request by id or by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NamedRef {
    Id(i64),
    Name(String),
}

/// Translates a store conflict into Jira's field error, or passes other errors through.
fn conflict_as(error: StoreError, field: &str, message: &str) -> Error {
    match error {
        StoreError::Conflict(_) => Error::Conflict(crate::FieldErrors::field(field, message)),
        other => Error::Store(other),
    }
}

fn conflict_kind(error: &StoreError) -> Option<Conflict> {
    match error {
        StoreError::Conflict(kind) => Some(*kind),
        _ => None,
    }
}
