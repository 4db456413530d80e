//! Links between issues, their types, and remote links (links from an issue to something
//! elsewhere), by Jira's rules: anyone may read the link types and administrators manage
//! them; linking needs LINK_ISSUES on the source issue and BROWSE_PROJECTS on both; removing
//! a link needs LINK_ISSUES on either end and BROWSE_PROJECTS on both; a link to an issue the
//! caller cannot browse is not shown, and reading it by id is "not found". Remote links are
//! read with BROWSE_PROJECTS and changed with LINK_ISSUES on their issue.

use std::collections::{HashMap, HashSet};

use crate::authz::{Administer, Authorizer, Browse, IssueRef, LinkIssues, OnIssue};
use crate::clock::Timestamp;
use crate::error::{Error, FieldErrors, Missing};
use crate::ids::{IssueId, IssueLinkId, LinkTypeId, ProjectId, RemoteLinkId};
use crate::model::{IssueLink, LinkType, LinkTypeFields, RemoteLink, RemoteLinkFields};
use crate::principal::Principal;
use crate::store::{Conflict, Store, StoreError};

/// Most bytes of a remote link's JSON (`object` and `application` together).
pub const MAX_REMOTE_LINK_BYTES: usize = 32 * 1024;

/// A link type as a request names it: by id, else by name (without regard to case).
pub async fn find_type(store: &dyn Store, id_or_name: &str) -> Result<LinkType, Error> {
    let missing = || Error::NotFound(Missing::LinkType(id_or_name.to_string()));
    if let Some(id) = LinkTypeId::parse(id_or_name)
        && let Some(found) = store.find_link_type(id).await?
    {
        return Ok(found);
    }
    let wanted = id_or_name.trim().to_lowercase();
    store
        .list_link_types()
        .await?
        .into_iter()
        .find(|t| t.name.to_lowercase() == wanted)
        .ok_or_else(missing)
}

/// A link type by id.
pub async fn type_by_id(store: &dyn Store, id: &str) -> Result<LinkType, Error> {
    let missing = || Error::NotFound(Missing::LinkType(id.to_string()));
    let type_id = LinkTypeId::parse(id).ok_or_else(missing)?;
    store.find_link_type(type_id).await?.ok_or_else(missing)
}

pub async fn types(store: &dyn Store) -> Result<Vec<LinkType>, Error> {
    Ok(store.list_link_types().await?)
}

/// One of a link type's texts: 1 to 255 characters, no control characters.
fn text(
    value: Option<&str>,
    field: &str,
    required: bool,
    errors: &mut FieldErrors,
) -> Option<String> {
    let Some(value) = value else {
        if required {
            errors.add_field(field, format!("The link type's {field} is required."));
        }
        return None;
    };
    let trimmed = value.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 255 || trimmed.chars().any(char::is_control)
    {
        errors.add_field(
            field,
            format!(
                "The link type's {field} must be 1 to 255 characters, without control characters."
            ),
        );
        return None;
    }
    Some(trimmed.to_string())
}

fn type_fields(input: &LinkTypeFields, required: bool) -> Result<LinkTypeFields, Error> {
    let mut errors = FieldErrors::default();
    let fields = LinkTypeFields {
        name: text(input.name.as_deref(), "name", required, &mut errors),
        inward: text(input.inward.as_deref(), "inward", required, &mut errors),
        outward: text(input.outward.as_deref(), "outward", required, &mut errors),
    };
    if errors.is_empty() {
        Ok(fields)
    } else {
        Err(Error::Invalid(errors))
    }
}

fn type_conflict(error: StoreError) -> Error {
    match error {
        StoreError::Conflict(Conflict::LinkTypeName) => {
            Error::invalid("name", "An issue link type with this name already exists.")
        }
        other => other.into(),
    }
}

/// ADMINISTER: a new link type; every text is required.
pub async fn create_type(
    store: &dyn Store,
    _cap: &Administer,
    input: &LinkTypeFields,
) -> Result<LinkType, Error> {
    let fields = type_fields(input, true)?;
    store.create_link_type(&fields).await.map_err(type_conflict)
}

/// ADMINISTER: changes the texts given.
pub async fn update_type(
    store: &dyn Store,
    _cap: &Administer,
    id: &str,
    input: &LinkTypeFields,
) -> Result<LinkType, Error> {
    let missing = || Error::NotFound(Missing::LinkType(id.to_string()));
    let type_id = LinkTypeId::parse(id).ok_or_else(missing)?;
    let fields = type_fields(input, false)?;
    store
        .update_link_type(type_id, &fields)
        .await
        .map_err(type_conflict)?
        .ok_or_else(missing)
}

/// ADMINISTER: deletes the type and every link of it.
pub async fn delete_type(store: &dyn Store, _cap: &Administer, id: &str) -> Result<(), Error> {
    let missing = || Error::NotFound(Missing::LinkType(id.to_string()));
    let type_id = LinkTypeId::parse(id).ok_or_else(missing)?;
    if store.delete_link_type(type_id).await? {
        Ok(())
    } else {
        Err(missing())
    }
}

/// Links `source` to `destination` ("source <outward> destination"). Linking twice the same
/// way is not an error and changes nothing.
pub async fn link(
    store: &dyn Store,
    source: &OnIssue<LinkIssues>,
    destination: &OnIssue<Browse>,
    link_type: &LinkType,
    now: Timestamp,
) -> Result<IssueLink, Error> {
    if source.issue().id == destination.issue().id {
        return Err(Error::invalid_message(
            "An issue cannot be linked to itself.",
        ));
    }
    store
        .link_issues(
            link_type.id,
            source.issue().id,
            destination.issue().id,
            &source.actor().change_author(),
            now,
        )
        .await
        .map_err(|e| match e {
            StoreError::MissingReference => Error::NotFound(Missing::Issue),
            other => other.into(),
        })
}

/// A link both of whose issues the caller may browse, with the permission to browse its
/// source and its destination; any other is "not found".
pub async fn find(
    store: &dyn Store,
    authz: &Authorizer,
    principal: &Principal,
    id: &str,
) -> Result<(IssueLink, OnIssue<Browse>, OnIssue<Browse>), Error> {
    let missing = || Error::NotFound(Missing::IssueLink(id.to_string()));
    let link_id = IssueLinkId::parse(id).ok_or_else(missing)?;
    let link = store.find_issue_link(link_id).await?.ok_or_else(missing)?;
    let browse = |issue| async move {
        authz
            .issue::<Browse>(principal, &IssueRef::Id(issue))
            .await
            .map_err(|e| match e {
                Error::NotFound(_) => missing(),
                other => other,
            })
    };
    let source = browse(link.source.id).await?;
    let destination = browse(link.destination.id).await?;
    Ok((link, source, destination))
}

/// Removes a link: LINK_ISSUES on either of its issues.
pub async fn unlink(
    store: &dyn Store,
    authz: &Authorizer,
    principal: &Principal,
    id: &str,
    now: Timestamp,
) -> Result<(), Error> {
    let (link, source, destination) = find(store, authz, principal, id).await?;
    let cap = source
        .also::<LinkIssues>()
        .or_else(|_| destination.also::<LinkIssues>())?;
    if store
        .delete_issue_link(link.id, &cap.actor().change_author(), now)
        .await?
    {
        Ok(())
    } else {
        Err(Error::NotFound(Missing::IssueLink(id.to_string())))
    }
}

/// The issue's links whose other issue the caller may also browse, oldest first.
pub async fn of_issue(
    store: &dyn Store,
    authz: &Authorizer,
    principal: &Principal,
    cap: &OnIssue<Browse>,
) -> Result<Vec<IssueLink>, Error> {
    let links = store.issue_links(cap.issue().id).await?;
    let mut shown = shown_to(authz, principal, links, std::slice::from_ref(cap)).await?;
    Ok(shown.remove(&cap.issue().id).unwrap_or_default())
}

/// [`of_issue`] for several issues the caller may browse (a page of a search), in one read of
/// links, by issue (a link between two of them is shown with both).
pub async fn of_issues(
    store: &dyn Store,
    authz: &Authorizer,
    principal: &Principal,
    caps: &[OnIssue<Browse>],
) -> Result<HashMap<IssueId, Vec<IssueLink>>, Error> {
    let ids: Vec<IssueId> = caps.iter().map(|cap| cap.issue().id).collect();
    let links = store.issue_links_of(&ids).await?;
    shown_to(authz, principal, links, caps).await
}

/// Each of `links` under each of the issues of `caps` it joins, when the caller may browse
/// the issue at its other end (asked once per project).
async fn shown_to(
    authz: &Authorizer,
    principal: &Principal,
    links: Vec<IssueLink>,
    caps: &[OnIssue<Browse>],
) -> Result<HashMap<IssueId, Vec<IssueLink>>, Error> {
    let mut browsable: HashMap<ProjectId, bool> = caps
        .iter()
        .map(|cap| (cap.issue().project_id, true))
        .collect();
    let asked: HashSet<IssueId> = caps.iter().map(|cap| cap.issue().id).collect();
    let mut shown: HashMap<IssueId, Vec<IssueLink>> = HashMap::new();
    for link in links {
        let ends = [
            (link.source.id, link.destination.project_id),
            (link.destination.id, link.source.project_id),
        ];
        let joins_itself = link.source.id == link.destination.id;
        for (issue, other) in ends.into_iter().take(if joins_itself { 1 } else { 2 }) {
            if !asked.contains(&issue) {
                continue;
            }
            let may = match browsable.get(&other) {
                Some(may) => *may,
                None => {
                    let may = authz.may_browse(principal, other).await?;
                    browsable.insert(other, may);
                    may
                }
            };
            if may {
                shown.entry(issue).or_default().push(link.clone());
            }
        }
    }
    Ok(shown)
}

/// A remote link as a client sends it, before it is checked.
#[derive(Clone, Debug, Default)]
pub struct RemoteLinkInput {
    pub global_id: Option<String>,
    pub relationship: Option<String>,
    /// JSON texts of the `application` and `object` objects, with whether `object` holds a
    /// non-empty `url` and `title` (the caller parses; the rules are here).
    pub application: Option<String>,
    pub object: Option<String>,
    pub has_url: bool,
    pub has_title: bool,
}

fn remote_fields(input: RemoteLinkInput) -> Result<RemoteLinkFields, Error> {
    let mut errors = FieldErrors::default();
    let short = |value: Option<String>, field: &str, errors: &mut FieldErrors| {
        let value = value.filter(|v| !v.trim().is_empty())?;
        if value.chars().count() > 255 || value.chars().any(char::is_control) {
            errors.add_field(
                field,
                format!("{field} must be at most 255 characters, without control characters."),
            );
            return None;
        }
        Some(value)
    };
    let global_id = short(input.global_id, "globalId", &mut errors);
    let relationship = short(input.relationship, "relationship", &mut errors);
    if !input.has_url {
        errors.add_field("url", "'url' is required.");
    }
    if !input.has_title {
        errors.add_field("title", "'title' is required.");
    }
    let size = input.object.as_ref().map_or(0, String::len)
        + input.application.as_ref().map_or(0, String::len);
    if size > MAX_REMOTE_LINK_BYTES {
        errors.add_field(
            "object",
            format!("A remote link holds at most {MAX_REMOTE_LINK_BYTES} bytes of JSON."),
        );
    }
    match input.object {
        Some(object) if errors.is_empty() => Ok(RemoteLinkFields {
            global_id,
            application: input.application,
            relationship,
            object,
        }),
        _ => Err(Error::Invalid(errors)),
    }
}

fn remote_conflict(error: StoreError) -> Error {
    match error {
        StoreError::Conflict(Conflict::RemoteLinkGlobalId) => Error::invalid(
            "globalId",
            "Another remote link of this issue has this globalId.",
        ),
        StoreError::MissingReference => Error::NotFound(Missing::Issue),
        other => other.into(),
    }
}

/// LINK_ISSUES: a new remote link, or (same `globalId`) a new version of one; `true` when
/// created.
pub async fn save_remote(
    store: &dyn Store,
    cap: &OnIssue<LinkIssues>,
    input: RemoteLinkInput,
    now: Timestamp,
) -> Result<(RemoteLink, bool), Error> {
    let fields = remote_fields(input)?;
    store
        .save_remote_link(cap.issue().id, &fields, now)
        .await
        .map_err(remote_conflict)
}

pub async fn remote_links(
    store: &dyn Store,
    cap: &OnIssue<Browse>,
    global_id: Option<&str>,
) -> Result<Vec<RemoteLink>, Error> {
    Ok(store.list_remote_links(cap.issue().id, global_id).await?)
}

/// A remote link of the capability's issue; those of other issues are not found.
pub async fn remote_link<A: crate::authz::Action>(
    store: &dyn Store,
    cap: &OnIssue<A>,
    id: &str,
) -> Result<RemoteLink, Error> {
    let missing = || Error::NotFound(Missing::RemoteLink(id.to_string()));
    let link_id = RemoteLinkId::parse(id).ok_or_else(missing)?;
    match store.find_remote_link(link_id).await? {
        Some(link) if link.issue_id == cap.issue().id => Ok(link),
        _ => Err(missing()),
    }
}

/// LINK_ISSUES: replaces a remote link.
pub async fn update_remote(
    store: &dyn Store,
    cap: &OnIssue<LinkIssues>,
    id: &str,
    input: RemoteLinkInput,
    now: Timestamp,
) -> Result<RemoteLink, Error> {
    let link = remote_link(store, cap, id).await?;
    let fields = remote_fields(input)?;
    store
        .update_remote_link(link.id, &fields, now)
        .await
        .map_err(remote_conflict)?
        .ok_or_else(|| Error::NotFound(Missing::RemoteLink(id.to_string())))
}

/// LINK_ISSUES: deletes a remote link by id.
pub async fn delete_remote(
    store: &dyn Store,
    cap: &OnIssue<LinkIssues>,
    id: &str,
) -> Result<(), Error> {
    let link = remote_link(store, cap, id).await?;
    if store.delete_remote_link(link.id).await? {
        Ok(())
    } else {
        Err(Error::NotFound(Missing::RemoteLink(id.to_string())))
    }
}

/// LINK_ISSUES: deletes the issue's remote link of `global_id`.
pub async fn delete_remote_by_global_id(
    store: &dyn Store,
    cap: &OnIssue<LinkIssues>,
    global_id: &str,
) -> Result<(), Error> {
    let found = store
        .list_remote_links(cap.issue().id, Some(global_id))
        .await?;
    let Some(link) = found.into_iter().next() else {
        return Err(Error::NotFound(Missing::RemoteLink(global_id.to_string())));
    };
    store.delete_remote_link(link.id).await?;
    Ok(())
}
