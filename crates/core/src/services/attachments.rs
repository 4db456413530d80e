//! Files attached to issues, by Jira's rules: CREATE_ATTACHMENTS to attach, BROWSE_PROJECTS
//! to read and download, DELETE_OWN_ATTACHMENTS for one's own and DELETE_ALL_ATTACHMENTS for
//! anyone's to delete. An attachment of an issue the caller cannot browse is "not found".
//!
//! File names keep only their last path component, without control characters, at most 255
//! characters; a media type is kept only if it reads as `type/subtype` (else
//! `application/octet-stream`), and it is never what decides how a download is shown (the
//! web layer serves every file as a download).

use crate::authz::{
    Authorizer, Browse, CreateAttachments, DeleteAllAttachments, DeleteOwnAttachments, IssueRef,
    OnIssue,
};
use std::collections::HashMap;

use crate::clock::Timestamp;
use crate::error::{Error, Missing};
use crate::ids::{AttachmentId, IssueId};
use crate::model::{Attachment, NewAttachment};
use crate::principal::Principal;
use crate::store::{Store, StoreError};

/// A file as uploaded, before it is checked.
#[derive(Clone, Debug)]
pub struct Upload {
    pub filename: String,
    pub mime_type: Option<String>,
    pub content: Vec<u8>,
}

/// The name a file is kept under: the last component of what the client sent.
pub fn file_name(sent: &str) -> Option<String> {
    let last = sent.rsplit(['/', '\\']).next().unwrap_or(sent).trim();
    let ok = !last.is_empty()
        && last != "."
        && last != ".."
        && last.chars().count() <= 255
        && !last.chars().any(char::is_control);
    ok.then(|| last.to_string())
}

/// `type/subtype` in lower case, if that is what `sent` is (parameters dropped).
pub fn media_type(sent: Option<&str>) -> String {
    let essence = sent
        .and_then(|s| s.split(';').next())
        .map(|s| s.trim().to_ascii_lowercase())
        .unwrap_or_default();
    let token = |s: &str| {
        !s.is_empty()
            && s.len() <= 100
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"!#$&-^_.+".contains(&b))
    };
    match essence.split_once('/') {
        Some((kind, sub)) if token(kind) && token(sub) => essence,
        _ => "application/octet-stream".to_string(),
    }
}

fn missing(id: &str) -> Error {
    Error::NotFound(Missing::Attachment(id.to_string()))
}

/// CREATE_ATTACHMENTS: keeps every file, or none.
pub async fn add(
    store: &dyn Store,
    cap: &OnIssue<CreateAttachments>,
    uploads: Vec<Upload>,
    now: Timestamp,
) -> Result<Vec<Attachment>, Error> {
    if uploads.is_empty() {
        return Err(Error::invalid_message(
            "No file was sent: send each as a multipart part named 'file'.",
        ));
    }
    let mut files = Vec::with_capacity(uploads.len());
    for upload in uploads {
        let Some(filename) = file_name(&upload.filename) else {
            return Err(Error::invalid(
                "file",
                "A file name must be 1 to 255 characters, without control characters.",
            ));
        };
        files.push(NewAttachment {
            filename,
            mime_type: media_type(upload.mime_type.as_deref()),
            content: upload.content,
        });
    }
    store
        .add_attachments(cap.issue().id, &files, &cap.actor().change_author(), now)
        .await
        .map_err(|e| match e {
            StoreError::MissingReference => Error::NotFound(Missing::Issue),
            other => other.into(),
        })
}

pub async fn list(store: &dyn Store, cap: &OnIssue<Browse>) -> Result<Vec<Attachment>, Error> {
    Ok(store.list_attachments(cap.issue().id).await?)
}

/// The attachments of several issues the caller may browse (a page of a search), in one read,
/// by issue.
pub async fn of_issues(
    store: &dyn Store,
    caps: &[OnIssue<Browse>],
) -> Result<HashMap<IssueId, Vec<Attachment>>, Error> {
    let ids: Vec<IssueId> = caps.iter().map(|cap| cap.issue().id).collect();
    let mut by_issue: HashMap<IssueId, Vec<Attachment>> = HashMap::new();
    for attachment in store.attachments_of(&ids).await? {
        by_issue
            .entry(attachment.issue_id)
            .or_default()
            .push(attachment);
    }
    Ok(by_issue)
}

/// An attachment of an issue the caller may browse, with that permission.
pub async fn find(
    store: &dyn Store,
    authz: &Authorizer,
    principal: &Principal,
    id: &str,
) -> Result<(Attachment, OnIssue<Browse>), Error> {
    let attachment_id = AttachmentId::parse(id).ok_or_else(|| missing(id))?;
    let attachment = store
        .find_attachment(attachment_id)
        .await?
        .ok_or_else(|| missing(id))?;
    let cap = authz
        .issue::<Browse>(principal, &IssueRef::Id(attachment.issue_id))
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => missing(id),
            other => other,
        })?;
    Ok((attachment, cap))
}

/// The attachment's bytes.
pub async fn content(
    store: &dyn Store,
    _cap: &OnIssue<Browse>,
    attachment: &Attachment,
) -> Result<Vec<u8>, Error> {
    store
        .attachment_content(attachment.id)
        .await?
        .ok_or_else(|| missing(&attachment.id.to_string()))
}

/// DELETE_OWN_ATTACHMENTS for one's own, DELETE_ALL_ATTACHMENTS for anyone's.
pub async fn delete(
    store: &dyn Store,
    authz: &Authorizer,
    principal: &Principal,
    id: &str,
    now: Timestamp,
) -> Result<(), Error> {
    let (attachment, cap) = find(store, authz, principal, id).await?;
    let own = attachment
        .author
        .as_ref()
        .is_some_and(|a| a.id == cap.actor().id);
    if own {
        cap.also::<DeleteOwnAttachments>()
            .map(|_| ())
            .or_else(|_| cap.also::<DeleteAllAttachments>().map(|_| ()))?;
    } else {
        cap.also::<DeleteAllAttachments>()?;
    }
    if store
        .delete_attachment(attachment.id, &cap.actor().change_author(), now)
        .await?
    {
        Ok(())
    } else {
        Err(missing(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_keep_their_last_component() {
        assert_eq!(file_name("report.pdf").as_deref(), Some("report.pdf"));
        assert_eq!(file_name("../../etc/passwd").as_deref(), Some("passwd"));
        assert_eq!(
            file_name("C:\\Users\\me\\a b.txt").as_deref(),
            Some("a b.txt")
        );
        assert_eq!(file_name("dir/"), None);
        assert_eq!(file_name(".."), None);
        assert_eq!(file_name("bad\nname"), None);
        assert_eq!(file_name(&"x".repeat(256)), None);
    }

    #[test]
    fn media_types_are_kept_only_when_well_formed() {
        assert_eq!(media_type(Some("image/PNG; charset=x")), "image/png");
        assert_eq!(media_type(Some("text/html")), "text/html");
        assert_eq!(media_type(Some("nonsense")), "application/octet-stream");
        assert_eq!(
            media_type(Some("a/b\r\nX-Evil: 1")),
            "application/octet-stream"
        );
        assert_eq!(media_type(None), "application/octet-stream");
    }
}
