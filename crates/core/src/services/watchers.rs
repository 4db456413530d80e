//! Watchers of an issue. Anyone who can browse an issue sees its watchers and may watch it or
//! stop watching it (a change: the credential needs the write scope); adding or removing
//! someone else needs MANAGE_WATCHERS, as in Jira, and only a user who can browse the issue
//! may be added, so a watch list never reveals an issue to someone who may not see it.

use crate::authz::{Browse, ManageWatchers, OnIssue, Watch, user_can_browse};
use crate::clock::Timestamp;
use crate::error::{Error, Missing};
use crate::model::{User, Votes, Watches};
use crate::store::{Store, StoreError};

pub async fn list(store: &dyn Store, cap: &OnIssue<Browse>) -> Result<Vec<User>, Error> {
    Ok(store.list_watchers(cap.issue().id).await?)
}

/// How many watch the issue, and whether the caller does.
pub async fn watches(store: &dyn Store, cap: &OnIssue<Browse>) -> Result<Watches, Error> {
    Ok(store.watches(cap.issue().id, cap.actor().id).await?)
}

/// [`watches`] and the votes (as [`super::votes::votes`]) in one read, for `GET issue`.
pub async fn watches_and_votes(
    store: &dyn Store,
    cap: &OnIssue<Browse>,
) -> Result<(Watches, Votes), Error> {
    Ok(store
        .watches_and_votes(cap.issue().id, cap.actor().id)
        .await?)
}

/// The user a watcher request names (`None`: the caller), with the further permission that
/// naming them needs: the write scope for oneself; for anyone else MANAGE_WATCHERS, and the
/// `read:jira-user` scope to look them up. Both are checked before the name is looked up, so
/// a caller without them cannot probe which users exist.
async fn subject(
    store: &dyn Store,
    cap: &OnIssue<Browse>,
    name: Option<&str>,
) -> Result<User, Error> {
    let me = cap.actor();
    match name {
        Some(name) if name.trim().to_lowercase() != me.name.to_lowercase() => {
            cap.also::<ManageWatchers>()?;
            cap.may_look_users_up()?;
            super::users::find_named(store, name)
                .await?
                .ok_or_else(|| Error::NotFound(Missing::User(name.to_string())))
        }
        _ => {
            cap.also::<Watch>()?;
            store
                .find_user(me.id)
                .await?
                .ok_or_else(|| Error::NotFound(Missing::User(me.name.clone())))
        }
    }
}

/// Adds a watcher (the caller, if `name` is `None`). Watching twice is no error.
pub async fn add(
    store: &dyn Store,
    cap: &OnIssue<Browse>,
    name: Option<&str>,
    now: Timestamp,
) -> Result<(), Error> {
    let user = subject(store, cap, name).await?;
    let issue = cap.issue();
    if !user.active || !user_can_browse(store, issue.project_id, &user).await? {
        return Err(Error::invalid(
            "watcher",
            format!(
                "The user \"{}\" does not have permission to view this issue. This user will \
                 not be added to the watch list.",
                user.name
            ),
        ));
    }
    match store.add_watcher(issue.id, user.id, now).await {
        Ok(_) => Ok(()),
        // The issue was deleted since it was read.
        Err(StoreError::MissingReference) => Err(Error::NotFound(Missing::Issue)),
        Err(other) => Err(other.into()),
    }
}

/// Removes a watcher. Removing someone who does not watch the issue is no error.
pub async fn remove(
    store: &dyn Store,
    cap: &OnIssue<Browse>,
    name: Option<&str>,
) -> Result<(), Error> {
    let user = subject(store, cap, name).await?;
    store.remove_watcher(cap.issue().id, user.id).await?;
    Ok(())
}
