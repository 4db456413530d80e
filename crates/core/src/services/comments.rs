//! Comments. Anyone who can browse an issue reads its comments; adding needs ADD_COMMENTS;
//! authors edit and delete their own comments while they may still comment, and project
//! administrators may edit or delete any.

use crate::authz::{AddComments, AdministerProject, Browse, OnIssue};
use crate::clock::Timestamp;
use crate::error::{Error, Missing};
use crate::ids::CommentId;
use crate::model::{Comment, Page, PageRequest};
use crate::store::{Store, StoreError};
use crate::validate;

fn body(text: &str) -> Result<String, Error> {
    if text.trim().is_empty() {
        return Err(Error::invalid("comment", "Comment body can not be empty!"));
    }
    validate::long_text(text).map_err(|e| Error::invalid("comment", e))
}

pub async fn list(
    store: &dyn Store,
    cap: &OnIssue<Browse>,
    page: PageRequest,
    newest_first: bool,
) -> Result<Page<Comment>, Error> {
    Ok(store
        .list_comments(cap.issue().id, page, newest_first)
        .await?)
}

pub async fn add(
    store: &dyn Store,
    cap: &OnIssue<AddComments>,
    text: &str,
    now: Timestamp,
) -> Result<Comment, Error> {
    let text = body(text)?;
    store
        .add_comment(cap.issue().id, cap.actor().id, &text, now)
        .await
        .map_err(|e| match e {
            // The issue was deleted since it was read.
            StoreError::MissingReference => Error::NotFound(Missing::Issue),
            other => other.into(),
        })
}

/// A comment of the capability's issue; comments of other issues are not found.
pub async fn get(store: &dyn Store, cap: &OnIssue<Browse>, id: &str) -> Result<Comment, Error> {
    let missing = || Error::NotFound(Missing::Comment(id.to_string()));
    let comment_id = CommentId::parse(id).ok_or_else(missing)?;
    match store.find_comment(comment_id).await? {
        Some(comment) if comment.issue_id == cap.issue().id => Ok(comment),
        _ => Err(missing()),
    }
}

/// Authors may change their own comments while they may comment; others need to administer
/// the project.
fn may_change(cap: &OnIssue<Browse>, comment: &Comment) -> Result<(), Error> {
    let is_author = comment
        .author
        .as_ref()
        .is_some_and(|a| a.id == cap.actor().id);
    if is_author {
        cap.also::<AddComments>().map(|_| ())
    } else {
        cap.also::<AdministerProject>().map(|_| ())
    }
}

pub async fn update(
    store: &dyn Store,
    cap: &OnIssue<Browse>,
    id: &str,
    text: &str,
    now: Timestamp,
) -> Result<Comment, Error> {
    let comment = get(store, cap, id).await?;
    may_change(cap, &comment)?;
    let text = body(text)?;
    store
        .update_comment(comment.id, &text, cap.actor().id, now)
        .await?
        .ok_or_else(|| Error::NotFound(Missing::Comment(id.to_string())))
}

pub async fn delete(store: &dyn Store, cap: &OnIssue<Browse>, id: &str) -> Result<(), Error> {
    let comment = get(store, cap, id).await?;
    may_change(cap, &comment)?;
    if store.delete_comment(comment.id).await? {
        Ok(())
    } else {
        Err(Error::NotFound(Missing::Comment(id.to_string())))
    }
}
