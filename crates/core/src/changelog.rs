//! The history of issues, as Jira's changelog shows it: each change of an issue is a group of
//! items (field, from, to), with its author, its time and the credential that made it.
//!
//! Invariants kept here: the items are computed from the issue as it was just before and
//! just after the change, both read inside the change's own transaction ([`diff`]), so the
//! history can neither miss nor misstate a field, even under concurrent changes; and the
//! credential is taken from the capability the change was authorized with
//! ([`crate::authz::Actor`]), so no change goes unattributed. Credentials are named by kind
//! and id as the audit trail names them, never by a secret.

use crate::clock::Timestamp;
use crate::ids::{IssueId, UserId};
use crate::model::{Issue, User};
use crate::principal::Principal;

/// Which credential made a change. Kept with the change, so an administrator can tell a
/// script's change (a token, an OAuth client) from a person's (a password, a session).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialUsed {
    /// The authentication method's stable name (`basic_password`, `session`, `basic_token`,
    /// `bearer_token`, `service_key`, `oauth2`, `oauth1`), or `offline_cli`.
    pub kind: String,
    /// The credential's id as the audit trail records it: a token's id, a session's
    /// reference, an OAuth 2.0 grant (`oauth:ID`) or client (`oauthclient:ID`), an OAuth
    /// 1.0a access token (`oauth1:ID`); `None` for a password, whose user is the author.
    pub id: Option<String>,
    /// For an OAuth access token: the OAuth 2.0 client's public id or the OAuth 1.0a
    /// consumer's key, and its name at the time.
    pub oauth_client: Option<OAuthClientUsed>,
}

/// An OAuth 2.0 client or OAuth 1.0a application link, as a change records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthClientUsed {
    pub client_id: String,
    pub name: String,
}

impl CredentialUsed {
    pub fn of(principal: &Principal) -> Self {
        let oauth2 = principal.oauth2.as_ref().map(|caller| OAuthClientUsed {
            client_id: caller.client_id.clone(),
            name: caller.client_name.clone(),
        });
        let oauth1 = principal.oauth1.as_ref().map(|caller| OAuthClientUsed {
            client_id: caller.consumer_key.clone(),
            name: caller.consumer_name.clone(),
        });
        Self {
            kind: principal.method.name().to_string(),
            id: principal.credential_id(),
            oauth_client: oauth2.or(oauth1),
        }
    }

    /// The offline command line, whose operator holds the database itself.
    pub fn offline_cli() -> Self {
        Self {
            kind: "offline_cli".into(),
            id: None,
            oauth_client: None,
        }
    }
}

/// Who makes a change, and with which credential.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeAuthor {
    pub user: UserId,
    pub credential: CredentialUsed,
}

/// One field changed: Jira's changelog item. `from`/`to` hold ids (or user keys) where the
/// field has them; `from_string`/`to_string` what a person reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeItem {
    pub field: String,
    /// `jira` for system fields.
    pub field_type: String,
    pub from: Option<String>,
    pub from_string: Option<String>,
    pub to: Option<String>,
    pub to_string: Option<String>,
}

/// One change of an issue: Jira's changelog "history".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeGroup {
    pub id: i64,
    pub issue_id: IssueId,
    /// `None` if the author's record is gone.
    pub author: Option<User>,
    pub created: Timestamp,
    pub credential: CredentialUsed,
    pub items: Vec<ChangeItem>,
}

fn item(
    field: &str,
    from: Option<String>,
    from_string: Option<String>,
    to: Option<String>,
    to_string: Option<String>,
) -> ChangeItem {
    ChangeItem {
        field: field.to_string(),
        field_type: "jira".to_string(),
        from,
        from_string,
        to,
        to_string,
    }
}

/// A text field: Jira keeps the text in the `*String` members only.
fn text_item(field: &str, before: Option<&str>, after: Option<&str>) -> Option<ChangeItem> {
    (before != after).then(|| {
        item(
            field,
            None,
            before.map(String::from),
            None,
            after.map(String::from),
        )
    })
}

/// A duration in seconds, written as Jira writes estimates: the seconds as value and text.
fn seconds_item(field: &str, before: Option<i64>, after: Option<i64>) -> Option<ChangeItem> {
    (before != after).then(|| {
        let text = |v: Option<i64>| v.map(|s| s.to_string());
        item(field, text(before), text(before), text(after), text(after))
    })
}

/// A catalogue field: its id and its name.
fn named_item<T: PartialEq + Copy>(
    field: &str,
    before: Option<T>,
    after: Option<T>,
    id: impl Fn(T) -> i64,
    name: impl Fn(T) -> &'static str,
) -> Option<ChangeItem> {
    (before != after).then(|| {
        item(
            field,
            before.map(|v| id(v).to_string()),
            before.map(|v| name(v).to_string()),
            after.map(|v| id(v).to_string()),
            after.map(|v| name(v).to_string()),
        )
    })
}

/// A user field: the user's key and display name.
fn user_item(field: &str, before: Option<&User>, after: Option<&User>) -> Option<ChangeItem> {
    (before.map(|u| u.id) != after.map(|u| u.id)).then(|| {
        item(
            field,
            before.map(User::key),
            before.map(|u| u.display_name.clone()),
            after.map(User::key),
            after.map(|u| u.display_name.clone()),
        )
    })
}

/// A link made (`added`) or taken away, as Jira records it on each end: on the source
/// "This issue `<outward>` DEST-1", on the destination "This issue `<inward>` SRC-1", the other
/// issue's key as the value.
pub fn link_items(link: &crate::model::IssueLink, added: bool) -> [(IssueId, ChangeItem); 2] {
    let entry = |other: &crate::model::LinkedIssue, words: &str| {
        let key = other.key();
        let text = format!("This issue {words} {key}");
        let (from, to) = if added {
            ((None, None), (Some(key), Some(text)))
        } else {
            ((Some(key), Some(text)), (None, None))
        };
        item("Link", from.0, from.1, to.0, to.1)
    };
    [
        (
            link.source.id,
            entry(&link.destination, &link.link_type.outward),
        ),
        (
            link.destination.id,
            entry(&link.source, &link.link_type.inward),
        ),
    ]
}

/// A file attached (`added`) or deleted, as Jira records it: its id and file name.
pub fn attachment_item(attachment: &crate::model::Attachment, added: bool) -> ChangeItem {
    let id = Some(attachment.id.to_string());
    let name = Some(attachment.filename.clone());
    if added {
        item("Attachment", None, None, id, name)
    } else {
        item("Attachment", id, name, None, None)
    }
}

/// Labels: the whole sorted set before and after, space-separated as Jira shows them.
fn labels_item(before: &[String], after: &[String]) -> Option<ChangeItem> {
    let sorted = |labels: &[String]| {
        let mut labels = labels.to_vec();
        labels.sort();
        labels
    };
    let (before, after) = (sorted(before), sorted(after));
    (before != after).then(|| {
        let shown = |labels: Vec<String>| (!labels.is_empty()).then(|| labels.join(" "));
        item("labels", None, shown(before), None, shown(after))
    })
}

/// A version or component list's items, as Jira writes them: one per value taken away (from
/// its id and name) and one per value added (to its id and name).
fn named_list_items(
    field: &str,
    before: &[crate::model::Named],
    after: &[crate::model::Named],
) -> Vec<ChangeItem> {
    let removed = before
        .iter()
        .filter(|b| !after.iter().any(|a| a.id == b.id));
    let added = after
        .iter()
        .filter(|a| !before.iter().any(|b| b.id == a.id));
    removed
        .map(|b| {
            item(
                field,
                Some(b.id.to_string()),
                Some(b.name.clone()),
                None,
                None,
            )
        })
        .chain(added.map(|a| {
            item(
                field,
                None,
                None,
                Some(a.id.to_string()),
                Some(a.name.clone()),
            )
        }))
        .collect()
}

/// The items of a change, from the issue as it was before and after it. The time of the last
/// update is not an item (Jira does not log it), nor are comments.
pub fn diff(before: &Issue, after: &Issue) -> Vec<ChangeItem> {
    [
        named_item(
            "issuetype",
            Some(before.issue_type),
            Some(after.issue_type),
            |t| t.id(),
            |t| t.name(),
        ),
        text_item("summary", Some(&before.summary), Some(&after.summary)),
        text_item(
            "description",
            before.description.as_deref(),
            after.description.as_deref(),
        ),
        named_item(
            "priority",
            Some(before.priority),
            Some(after.priority),
            |p| p.id(),
            |p| p.name(),
        ),
        user_item(
            "assignee",
            before.assignee.as_ref(),
            after.assignee.as_ref(),
        ),
        user_item(
            "reporter",
            before.reporter.as_ref(),
            after.reporter.as_ref(),
        ),
        labels_item(&before.labels, &after.labels),
        named_item(
            "status",
            Some(before.status),
            Some(after.status),
            |s| s.id(),
            |s| s.name(),
        ),
        named_item(
            "resolution",
            before.resolution,
            after.resolution,
            |r| r.id(),
            |r| r.name(),
        ),
        seconds_item(
            "timeoriginalestimate",
            before.time_tracking.original_estimate,
            after.time_tracking.original_estimate,
        ),
        seconds_item(
            "timeestimate",
            before.time_tracking.remaining_estimate,
            after.time_tracking.remaining_estimate,
        ),
    ]
    .into_iter()
    .flatten()
    .chain(named_list_items(
        "Fix Version",
        &before.fix_versions,
        &after.fix_versions,
    ))
    .chain(named_list_items(
        "Version",
        &before.versions,
        &after.versions,
    ))
    .chain(named_list_items(
        "Component",
        &before.components,
        &after.components,
    ))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalog::{IssueType, Priority, Resolution, Status};
    use crate::ids::ProjectId;

    fn person(id: i64, name: &str) -> User {
        User {
            id: UserId(id),
            name: name.into(),
            cased_name: name.into(),
            display_name: format!("{name} Person"),
            email: None,
            active: true,
            has_password: true,
            created: Timestamp::from_millis(0),
            service_owner: None,
        }
    }

    fn issue() -> Issue {
        Issue {
            id: IssueId(10000),
            project_id: ProjectId(10000),
            project_key: "ABC".into(),
            project_name: "Project".into(),
            project_type_key: "software".into(),
            number: 1,
            issue_type: IssueType::Task,
            summary: "before".into(),
            description: Some("old text".into()),
            status: Status::InProgress,
            priority: Priority::Medium,
            resolution: None,
            resolution_date: None,
            assignee: Some(person(10001, "ann")),
            reporter: Some(person(10002, "rob")),
            creator: Some(person(10002, "rob")),
            labels: vec!["b".into(), "a".into()],
            time_tracking: crate::model::TimeTracking::default(),
            fix_versions: Vec::new(),
            versions: Vec::new(),
            components: Vec::new(),
            created: Timestamp::from_millis(0),
            updated: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn an_unchanged_issue_has_no_items() {
        let mut after = issue();
        after.updated = Timestamp::from_millis(5);
        after.labels = vec!["a".into(), "b".into()];
        assert_eq!(diff(&issue(), &after), Vec::new());
    }

    #[test]
    fn each_field_is_an_item_as_jira_writes_it() {
        let before = issue();
        let mut after = issue();
        after.issue_type = IssueType::Bug;
        after.summary = "after".into();
        after.description = None;
        after.priority = Priority::High;
        after.assignee = None;
        after.reporter = Some(person(10001, "ann"));
        after.labels = vec!["c".into(), "a".into()];
        after.status = Status::Done;
        after.resolution = Some(Resolution::WontDo);
        let items = diff(&before, &after);
        let fields: Vec<&str> = items.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "issuetype",
                "summary",
                "description",
                "priority",
                "assignee",
                "reporter",
                "labels",
                "status",
                "resolution"
            ]
        );
        let s = |v: &str| Some(v.to_string());
        assert_eq!(
            items[0],
            item("issuetype", s("3"), s("Task"), s("1"), s("Bug"))
        );
        assert_eq!(
            items[1],
            item("summary", None, s("before"), None, s("after"))
        );
        assert_eq!(
            items[2],
            item("description", None, s("old text"), None, None)
        );
        assert_eq!(
            items[3],
            item("priority", s("3"), s("Medium"), s("2"), s("High"))
        );
        assert_eq!(
            items[4],
            item("assignee", s("JIRAUSER10001"), s("ann Person"), None, None)
        );
        assert_eq!(
            items[5],
            item(
                "reporter",
                s("JIRAUSER10002"),
                s("rob Person"),
                s("JIRAUSER10001"),
                s("ann Person")
            )
        );
        assert_eq!(items[6], item("labels", None, s("a b"), None, s("a c")));
        assert_eq!(
            items[7],
            item("status", s("3"), s("In Progress"), s("10001"), s("Done"))
        );
        assert_eq!(
            items[8],
            item("resolution", None, None, s("10001"), s("Won't Do"))
        );
        assert!(items.iter().all(|i| i.field_type == "jira"));
    }

    #[test]
    fn labels_emptied_show_nothing_after() {
        let before = issue();
        let mut after = issue();
        after.labels.clear();
        assert_eq!(
            diff(&before, &after),
            [item("labels", None, Some("a b".into()), None, None)]
        );
    }
}
