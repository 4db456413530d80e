//! Comments. Anyone who can browse an issue reads its comments; adding needs ADD_COMMENTS;
//! authors edit and delete their own comments while they may still comment, and project
//! administrators may edit or delete any.
//!
//! A comment may be restricted to a project role or a group (Jira's `visibility`): then only
//! those who can browse the issue *and* hold that role in its project (or belong to that
//! group) see it, in lists, by id, in issues and in searches; to everyone else it does not
//! exist. Its author must be in the role or group they restrict it to (Jira's rule), so no one
//! writes a comment they could not read.

use crate::authz::{AddComments, AdministerProject, Browse, OnIssue};
use crate::clock::Timestamp;
use crate::error::{Error, Missing};
use crate::ids::CommentId;
use crate::model::{Comment, Page, PageRequest, Visibility};
use crate::permissions::ProjectRole;
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
        .list_comments(cap.issue().id, cap.actor().id, page, newest_first)
        .await?)
}

/// A restriction as a request names it: `{"type": "role"|"group", "value": name}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VisibilityInput {
    Role(String),
    Group(String),
}

/// Whether the caller is in the role (in the issue's project) or group.
async fn is_in<A: crate::authz::Action>(
    store: &dyn Store,
    cap: &OnIssue<A>,
    visibility: &Visibility,
) -> Result<bool, Error> {
    let me = cap.actor().id;
    Ok(match visibility {
        Visibility::Role(role) => store
            .user_roles(cap.issue().project_id, me)
            .await?
            .contains(role),
        Visibility::Group(group) => store.user_access(me).await?.groups.contains(group),
    })
}

/// The restriction a request asks for, checked: the role or group must exist and the caller
/// must be in it.
async fn visibility<A: crate::authz::Action>(
    store: &dyn Store,
    cap: &OnIssue<A>,
    input: Option<&VisibilityInput>,
) -> Result<Option<Visibility>, Error> {
    let Some(input) = input else {
        return Ok(None);
    };
    let (visibility, shown, what) = match input {
        VisibilityInput::Role(name) => {
            let wanted = name.trim();
            let role = ProjectRole::ALL
                .into_iter()
                .find(|r| r.name().eq_ignore_ascii_case(wanted) || r.id().to_string() == wanted)
                .ok_or_else(|| {
                    Error::invalid(
                        "commentLevel",
                        format!("Project role: {wanted} does not exist."),
                    )
                })?;
            (
                Visibility::Role(role),
                role.name().to_string(),
                "project role",
            )
        }
        VisibilityInput::Group(name) => {
            let stored = name.trim().to_lowercase();
            if store.find_group(&stored).await?.is_none() {
                return Err(Error::invalid(
                    "commentLevel",
                    format!("Group: {} does not exist.", name.trim()),
                ));
            }
            (Visibility::Group(stored), name.trim().to_string(), "group")
        }
    };
    if !is_in(store, cap, &visibility).await? {
        return Err(Error::invalid(
            "commentLevel",
            format!("You are currently not a member of the {what}: {shown}."),
        ));
    }
    Ok(Some(visibility))
}

pub async fn add(
    store: &dyn Store,
    cap: &OnIssue<AddComments>,
    text: &str,
    restricted: Option<&VisibilityInput>,
    now: Timestamp,
) -> Result<Comment, Error> {
    let text = body(text)?;
    let visibility = visibility(store, cap, restricted).await?;
    store
        .add_comment(
            cap.issue().id,
            cap.actor().id,
            &text,
            visibility.as_ref(),
            now,
        )
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
        Some(comment) if comment.issue_id == cap.issue().id => {
            // A comment the caller may not see does not exist for them.
            match &comment.visibility {
                Some(restricted) if !is_in(store, cap, restricted).await? => Err(missing()),
                _ => Ok(comment),
            }
        }
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
    restricted: Option<Option<&VisibilityInput>>,
    now: Timestamp,
) -> Result<Comment, Error> {
    let comment = get(store, cap, id).await?;
    may_change(cap, &comment)?;
    let text = body(text)?;
    // Not named: kept as it is; `null`: lifted.
    let visibility = match restricted {
        None => comment.visibility.clone(),
        Some(input) => visibility(store, cap, input).await?,
    };
    store
        .update_comment(comment.id, &text, visibility.as_ref(), cap.actor().id, now)
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
