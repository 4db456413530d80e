//! Issue properties (Jira's entity properties): JSON values that apps and integrations keep on
//! an issue under their own keys. Whoever may browse the issue reads them; EDIT_ISSUES (with
//! the write scope) sets and deletes them.

use crate::authz::{Browse, Edit, OnIssue};
use crate::clock::Timestamp;
use crate::error::{Error, Missing};
use crate::store::Store;

/// The longest key, in characters, as Jira's.
pub const MAX_KEY_CHARS: usize = 255;
/// The largest value, in bytes of JSON, as Jira's 32 KiB.
pub const MAX_VALUE_BYTES: usize = 32 * 1024;

fn checked_key(key: &str) -> Result<&str, Error> {
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS || key.chars().any(char::is_control) {
        return Err(Error::invalid_message(format!(
            "The property key must be 1 to {MAX_KEY_CHARS} characters, without control \
             characters."
        )));
    }
    Ok(key)
}

fn missing(key: &str) -> Error {
    Error::NotFound(Missing::IssueProperty(key.to_string()))
}

/// The issue's property keys.
pub async fn keys(store: &dyn Store, cap: &OnIssue<Browse>) -> Result<Vec<String>, Error> {
    Ok(store.issue_property_keys(cap.issue().id).await?)
}

/// A property's value (JSON text).
pub async fn get(store: &dyn Store, cap: &OnIssue<Browse>, key: &str) -> Result<String, Error> {
    store
        .issue_property(cap.issue().id, key)
        .await?
        .ok_or_else(|| missing(key))
}

/// Sets a property to `value`, JSON text (the caller parsed it) of at most
/// [`MAX_VALUE_BYTES`]; `true` if it was new.
pub async fn set(
    store: &dyn Store,
    cap: &OnIssue<Edit>,
    key: &str,
    value: &str,
    now: Timestamp,
) -> Result<bool, Error> {
    let key = checked_key(key)?;
    if value.len() > MAX_VALUE_BYTES {
        return Err(Error::invalid_message(format!(
            "The property value is {} bytes of JSON, over the {MAX_VALUE_BYTES} allowed.",
            value.len()
        )));
    }
    Ok(store
        .set_issue_property(cap.issue().id, key, value, now)
        .await?)
}

pub async fn delete(store: &dyn Store, cap: &OnIssue<Edit>, key: &str) -> Result<(), Error> {
    if store.delete_issue_property(cap.issue().id, key).await? {
        Ok(())
    } else {
        Err(missing(key))
    }
}
