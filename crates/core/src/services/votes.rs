//! Votes for issues, by Jira's rules: anyone who can browse an issue sees its votes and its
//! voters, and may vote for it (a change: the credential needs the write scope), except for
//! an issue they reported or one that is resolved; each user votes once. Taking a vote back
//! is always allowed, and taking back one never cast is no error.

use crate::authz::{Browse, OnIssue, Vote};
use crate::clock::Timestamp;
use crate::error::{Error, Missing};
use crate::model::{User, Votes};
use crate::store::{Store, StoreError};

pub async fn voters(store: &dyn Store, cap: &OnIssue<Browse>) -> Result<Vec<User>, Error> {
    Ok(store.list_voters(cap.issue().id).await?)
}

pub async fn votes(store: &dyn Store, cap: &OnIssue<Browse>) -> Result<Votes, Error> {
    Ok(store.votes(cap.issue().id, cap.actor().id).await?)
}

/// Jira answers a vote it refuses with a 404 and its reason.
fn refused(message: &str) -> Error {
    Error::NotFound(Missing::Refused(message.to_string()))
}

/// The caller votes for the issue; voting twice is no error.
pub async fn add(store: &dyn Store, cap: &OnIssue<Browse>, now: Timestamp) -> Result<(), Error> {
    cap.also::<Vote>()?;
    let issue = cap.issue();
    if issue
        .reporter
        .as_ref()
        .is_some_and(|r| r.id == cap.actor().id)
    {
        return Err(refused("You cannot vote for an issue you have reported."));
    }
    if issue.resolution.is_some() {
        return Err(refused(
            "You cannot vote on an issue that has been resolved.",
        ));
    }
    match store.add_vote(issue.id, cap.actor().id, now).await {
        Ok(_) => Ok(()),
        Err(StoreError::MissingReference) => Err(Error::NotFound(Missing::Issue)),
        Err(other) => Err(other.into()),
    }
}

/// The caller takes their vote back.
pub async fn remove(store: &dyn Store, cap: &OnIssue<Browse>) -> Result<(), Error> {
    cap.also::<Vote>()?;
    store.remove_vote(cap.issue().id, cap.actor().id).await?;
    Ok(())
}
