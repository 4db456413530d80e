//! Jira's JSON representations of tessera's records. Ids are strings, times are
//! `yyyy-MM-dd'T'HH:mm:ss.SSSZ` in UTC, every `self` is absolute.

use serde_json::{Map, Value, json};
use tessera_core::authz::Authorizer;
use tessera_core::catalog::{
    FIELDS, Field, IssueType, Priority, Resolution, Status, StatusCategory, Transition,
};
use tessera_core::changelog::{ChangeGroup, ChangeItem, CredentialUsed};
use tessera_core::clock::Timestamp;
use tessera_core::ids::UserId;
use tessera_core::model::{Comment, Issue, Page, Project, TimeTracking, User, Watches, Worklog};
use tessera_core::permissions::ProjectRole;
use tessera_core::principal::Principal;
use tessera_core::services::avatars;
use time::OffsetDateTime;
use time::macros::format_description;

use crate::urls::{Urls, encode};

/// A time a client sends: Jira's format (`2024-01-15T10:30:00.000+0000`), or RFC 3339.
pub fn parse_time(text: &str) -> Option<Timestamp> {
    let jira = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond][offset_hour sign:mandatory][offset_minute]"
    );
    let text = text.trim();
    let parsed = OffsetDateTime::parse(text, &jira)
        .or_else(|_| OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339))
        .ok()?;
    let millis = parsed.unix_timestamp_nanos() / 1_000_000;
    i64::try_from(millis).ok().map(Timestamp::from_millis)
}

/// Work logged on an issue, as Jira shows it.
pub fn worklog(urls: &Urls, viewer: Viewer, w: &Worklog) -> Value {
    json!({
        "self": urls.api(&format!("issue/{}/worklog/{}", w.issue_id, w.id)),
        "author": optional_user(urls, viewer, w.author.as_ref()),
        "updateAuthor": optional_user(urls, viewer, w.update_author.as_ref()),
        "comment": w.comment,
        "created": time(w.created),
        "updated": time(w.updated),
        "started": time(w.started),
        "timeSpent": tessera_core::worktime::format(w.time_spent_seconds),
        "timeSpentSeconds": w.time_spent_seconds,
        "id": w.id.to_string(),
        "issueId": w.issue_id.to_string(),
    })
}

/// An issue's versions or components, as its fields show them: `self`, `id`, `name`.
fn named_list(urls: &Urls, kind: &str, list: &[tessera_core::model::Named]) -> Value {
    Value::Array(
        list.iter()
            .map(|n| {
                json!({
                    "self": urls.api(&format!("{kind}/{}", n.id)),
                    "id": n.id.to_string(),
                    "name": n.name,
                })
            })
            .collect(),
    )
}

/// An issue's `timetracking`: each part only once it is set (or work is logged).
pub fn time_tracking(t: &TimeTracking) -> Value {
    let mut out = Map::new();
    let mut part = |name: &str, seconds: Option<i64>| {
        if let Some(seconds) = seconds {
            out.insert(name.into(), json!(tessera_core::worktime::format(seconds)));
            out.insert(format!("{name}Seconds"), json!(seconds));
        }
    };
    part("originalEstimate", t.original_estimate);
    part("remainingEstimate", t.remaining_estimate);
    part("timeSpent", (t.time_spent > 0).then_some(t.time_spent));
    Value::Object(out)
}

/// Jira's timestamp format, e.g. `2024-01-15T10:30:00.000+0000`.
pub fn time(at: Timestamp) -> String {
    let format = format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]+0000"
    );
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(at.as_millis()) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_default()
}

/// Who is looking: decides whether e-mail addresses are shown.
#[derive(Clone, Copy, Debug)]
pub struct Viewer {
    pub user: UserId,
    pub sees_all_emails: bool,
}

impl Viewer {
    pub fn of(principal: &Principal) -> Self {
        Self {
            user: principal.user.id,
            sees_all_emails: Authorizer::sees_all_emails(principal),
        }
    }

    fn sees_email_of(&self, user: UserId) -> bool {
        self.sees_all_emails || self.user == user
    }
}

/// An avatar's image addresses by size. `owner` (a user name) makes the address show that
/// user's chosen avatar, whichever it is when the image is fetched.
pub fn avatar_urls(urls: &Urls, kind: &str, id: i64, owner: Option<&str>) -> Value {
    let owner = owner.map_or_else(String::new, |name| format!("&ownerId={}", encode(name)));
    let url = |size: u32| {
        urls.static_path(&format!(
            "secure/{kind}avatar?size={size}{owner}&avatarId={id}"
        ))
    };
    json!({ "48x48": url(48), "24x24": url(24), "16x16": url(16), "32x32": url(32) })
}

/// A user as embedded in other resources.
pub fn user(urls: &Urls, viewer: Viewer, user: &User) -> Value {
    let mut value = json!({
        "self": urls.user(&user.name),
        "key": user.key(),
        "name": user.cased_name,
        "displayName": user.display_name,
        "active": user.active,
        "deleted": false,
        "timeZone": "UTC",
        "locale": "en_US",
        "avatarUrls": avatar_urls(urls, "user", avatars::DEFAULT, Some(&user.name)),
    });
    if let (Some(email), true) = (&user.email, viewer.sees_email_of(user.id)) {
        value["emailAddress"] = json!(email);
    }
    value
}

pub fn optional_user(urls: &Urls, viewer: Viewer, found: Option<&User>) -> Value {
    found.map_or(Value::Null, |u| user(urls, viewer, u))
}

/// A user with their groups, as `GET user?expand=groups` and `GET myself` show it.
pub fn user_with_groups(urls: &Urls, viewer: Viewer, found: &User, groups: &[String]) -> Value {
    let mut value = user(urls, viewer, found);
    let items: Vec<Value> = groups
        .iter()
        .map(|g| json!({ "name": g, "self": urls.group(g) }))
        .collect();
    value["groups"] = json!({ "size": items.len(), "items": items });
    value["applicationRoles"] = json!({ "size": 1, "items": [] });
    value["expand"] = json!("groups,applicationRoles");
    value
}

pub fn group(urls: &Urls, name: &str) -> Value {
    json!({ "name": name, "self": urls.group(name) })
}

pub fn issue_type(urls: &Urls, t: IssueType) -> Value {
    json!({
        "self": urls.api(&format!("issuetype/{}", t.id())),
        "id": t.id().to_string(),
        "description": t.description(),
        "iconUrl": urls.static_path(&format!("images/icons/issuetypes/{}.svg", t.name().to_lowercase())),
        "name": t.name(),
        "subtask": false,
    })
}

pub fn priority(urls: &Urls, p: Priority) -> Value {
    json!({
        "self": urls.api(&format!("priority/{}", p.id())),
        "iconUrl": urls.static_path(&format!("images/icons/priorities/{}.svg", p.name().to_lowercase())),
        "name": p.name(),
        "id": p.id().to_string(),
    })
}

/// A priority with the details of `GET priority`.
pub fn priority_full(urls: &Urls, p: Priority) -> Value {
    let mut value = priority(urls, p);
    value["description"] = json!(p.description());
    value["statusColor"] = json!(p.color());
    value
}

pub fn status(urls: &Urls, s: Status) -> Value {
    let category = s.category();
    json!({
        "self": urls.api(&format!("status/{}", s.id())),
        "description": s.description(),
        "iconUrl": urls.static_path("images/icons/statuses/generic.png"),
        "name": s.name(),
        "id": s.id().to_string(),
        "statusCategory": status_category(urls, category),
    })
}

pub fn status_category(urls: &Urls, category: StatusCategory) -> Value {
    json!({
        "self": urls.api(&format!("statuscategory/{}", category.id())),
        "id": category.id(),
        "key": category.key(),
        "colorName": category.color_name(),
        "name": category.name(),
    })
}

pub fn resolution(urls: &Urls, r: Resolution) -> Value {
    json!({
        "self": urls.api(&format!("resolution/{}", r.id())),
        "id": r.id().to_string(),
        "description": r.description(),
        "name": r.name(),
    })
}

/// A project as embedded in issues and listed by `GET project`.
pub fn project_summary(urls: &Urls, id: i64, key: &str, name: &str, type_key: &str) -> Value {
    json!({
        "self": urls.api(&format!("project/{id}")),
        "id": id.to_string(),
        "key": key,
        "name": name,
        "projectTypeKey": type_key,
        "avatarUrls": avatar_urls(urls, "project", 10324, None),
    })
}

/// A project with the details of `GET project/{key}`.
pub fn project(urls: &Urls, viewer: Viewer, p: &Project) -> Value {
    let mut value = project_summary(urls, p.id.0, &p.key, &p.name, &p.project_type_key);
    value["expand"] = json!("description,lead,issueTypes,url,projectKeys");
    value["description"] = json!(p.description.clone().unwrap_or_default());
    value["lead"] = optional_user(urls, viewer, p.lead.as_ref());
    value["components"] = json!([]);
    value["versions"] = json!([]);
    value["issueTypes"] = json!(IssueType::ALL.map(|t| issue_type(urls, t)));
    value["assigneeType"] = json!("UNASSIGNED");
    value["archived"] = json!(false);
    let roles: Map<String, Value> = ProjectRole::ALL
        .into_iter()
        .map(|role| (role.name().to_string(), json!(role_url(urls, p.id.0, role))))
        .collect();
    value["roles"] = Value::Object(roles);
    value
}

pub fn role_url(urls: &Urls, project: i64, role: ProjectRole) -> String {
    urls.api(&format!("project/{project}/role/{}", role.id()))
}

/// A comment's body as Jira's `renderedBody`: HTML, every character of the text escaped,
/// paragraphs at blank lines and line breaks within them.
pub fn rendered_body(text: &str) -> String {
    let text = text.replace("\r\n", "\n");
    text.split("\n\n")
        .filter(|p| !p.trim().is_empty())
        .map(|p| {
            let lines: Vec<String> = p
                .lines()
                .map(|l| maud::html! { (l) }.into_string())
                .collect();
            format!("<p>{}</p>", lines.join("<br/>\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

pub fn comment(urls: &Urls, viewer: Viewer, c: &Comment) -> Value {
    let mut value = json!({
        "self": urls.api(&format!("issue/{}/comment/{}", c.issue_id, c.id)),
        "id": c.id.to_string(),
        "author": optional_user(urls, viewer, c.author.as_ref()),
        "body": c.body,
        "updateAuthor": optional_user(urls, viewer, c.update_author.as_ref()),
        "created": time(c.created),
        "updated": time(c.updated),
    });
    match &c.visibility {
        Some(tessera_core::model::Visibility::Role(role)) => {
            value["visibility"] = json!({"type": "role", "value": role.name()});
        }
        Some(tessera_core::model::Visibility::Group(group)) => {
            value["visibility"] = json!({"type": "group", "value": group});
        }
        None => {}
    }
    value
}

pub fn transition(urls: &Urls, t: Transition, with_fields: bool) -> Value {
    let mut value = json!({
        "id": t.id().to_string(),
        "name": t.name(),
        "to": status(urls, t.to()),
        "hasScreen": t.to() == Status::Done,
        "isGlobal": false,
        "isInitial": false,
        "isAvailable": true,
        "isConditional": false,
        "isLooped": false,
    });
    if with_fields {
        let fields = if t.to() == Status::Done {
            json!({ "resolution": {
                "required": false,
                "schema": { "type": "resolution", "system": "resolution" },
                "name": "Resolution",
                "key": "resolution",
                "operations": ["set"],
                "allowedValues": Resolution::ALL.map(|r| resolution(urls, r)),
            }})
        } else {
            json!({})
        };
        value["fields"] = fields;
    }
    value
}

pub fn field(f: &Field) -> Value {
    let mut schema = json!({ "type": f.schema_type, "system": f.id });
    if let Some(items) = f.schema_items {
        schema["items"] = json!(items);
    }
    json!({
        "id": f.id,
        "key": f.id,
        "name": f.name,
        "custom": false,
        "orderable": f.orderable,
        "navigable": f.navigable,
        "searchable": f.searchable,
        "clauseNames": f.clause_names,
        "schema": schema,
    })
}

/// Which fields of an issue to show, from `fields=`: `*all` (the default), `*navigable`,
/// field ids, and `-id` exclusions.
pub fn selected_fields(requested: &[String]) -> Vec<&'static str> {
    let includes: Vec<&str> = requested
        .iter()
        .map(String::as_str)
        .filter(|f| !f.starts_with('-'))
        .collect();
    let excluded: Vec<&str> = requested
        .iter()
        .filter_map(|f| f.strip_prefix('-'))
        .collect();
    FIELDS
        .iter()
        .filter(|f| f.id != "issuekey")
        .filter(|f| {
            includes.is_empty()
                || includes.contains(&"*all")
                || (includes.contains(&"*navigable") && f.navigable)
                || includes.contains(&f.id)
        })
        .filter(|f| !excluded.contains(&f.id))
        .map(|f| f.id)
        .collect()
}

/// `expand=names`: each shown field's display name, by id.
pub fn field_names(fields: &[&str]) -> Value {
    let names: Map<String, Value> = fields
        .iter()
        .filter_map(|id| tessera_core::catalog::find_field(id))
        .map(|f| (f.id.to_string(), json!(f.name)))
        .collect();
    Value::Object(names)
}

/// `expand=schema`: each shown field's schema, by id.
pub fn field_schemas(fields: &[&str]) -> Value {
    let schema: Map<String, Value> = fields
        .iter()
        .filter_map(|id| tessera_core::catalog::find_field(id))
        .map(|f| (f.id.to_string(), field(f)["schema"].clone()))
        .collect();
    Value::Object(schema)
}

/// `fields.watches`, and the watcher list's summary.
pub fn watches(urls: &Urls, issue: &Issue, watches: Watches) -> Value {
    json!({
        "self": urls.api(&format!("issue/{}/watchers", issue.id)),
        "watchCount": watches.count,
        "isWatching": watches.is_watching,
    })
}

/// `GET issue/{key}/watchers`.
pub fn watchers(urls: &Urls, viewer: Viewer, issue: &Issue, list: &[User]) -> Value {
    let mut value = watches(
        urls,
        issue,
        Watches {
            count: list.len() as i64,
            is_watching: list.iter().any(|u| u.id == viewer.user),
        },
    );
    value["watchers"] = json!(
        list.iter()
            .map(|u| user(urls, viewer, u))
            .collect::<Vec<_>>()
    );
    value
}

fn change_item(item: &ChangeItem) -> Value {
    json!({
        "field": item.field,
        "fieldtype": item.field_type,
        "fieldId": item.field,
        "from": item.from,
        "fromString": item.from_string,
        "to": item.to,
        "toString": item.to_string,
    })
}

/// The credential of a change, in tessera's own member of a history:
/// `{"kind": "bearer_token", "id": "42"}`, with `"client": {"id", "name"}` for OAuth 2.0.
pub fn credential(used: &CredentialUsed) -> Value {
    let mut value = json!({ "kind": used.kind, "id": used.id });
    if let Some(client) = &used.oauth_client {
        value["client"] = json!({ "id": client.client_id, "name": client.name });
    }
    value
}

/// Who may see which credential made each change: project administrators see every
/// change's, everyone else only their own changes'.
#[derive(Clone, Copy, Debug)]
pub struct CredentialsShown {
    pub all: bool,
}

impl CredentialsShown {
    fn of(self, viewer: Viewer, group: &ChangeGroup) -> bool {
        self.all || group.author.as_ref().is_some_and(|a| a.id == viewer.user)
    }
}

/// One changelog entry, as Jira's `histories[]`, plus `tessera.credential` for those who may
/// see it.
pub fn history(urls: &Urls, viewer: Viewer, group: &ChangeGroup, shown: CredentialsShown) -> Value {
    let mut value = json!({
        "id": group.id.to_string(),
        "author": optional_user(urls, viewer, group.author.as_ref()),
        "created": time(group.created),
        "items": group.items.iter().map(change_item).collect::<Vec<_>>(),
    });
    if shown.of(viewer, group) {
        value["tessera"] = json!({ "credential": credential(&group.credential) });
    }
    value
}

/// `expand=changelog`: the first page of the history.
pub fn changelog(
    urls: &Urls,
    viewer: Viewer,
    page: &Page<ChangeGroup>,
    shown: CredentialsShown,
) -> Value {
    json!({
        "startAt": page.start_at,
        "maxResults": page.items.len(),
        "total": page.total,
        "histories": page.items.iter().map(|g| history(urls, viewer, g, shown)).collect::<Vec<_>>(),
    })
}

/// What `GET issue` adds beyond the fields.
#[derive(Clone, Debug, Default)]
pub struct IssueExtras {
    pub names: bool,
    pub schema: bool,
    pub transitions: Option<Vec<Transition>>,
    pub comments: Option<(Vec<Comment>, i64)>,
    pub worklogs: Option<(Vec<Worklog>, i64)>,
    pub watches: Option<Watches>,
    pub changelog: Option<(Page<ChangeGroup>, CredentialsShown)>,
    /// `expand=editmeta`, already rendered.
    pub editmeta: Option<Value>,
    /// The `issuelinks` field, already rendered.
    pub links: Option<Vec<Value>>,
    /// The `attachment` field, already rendered.
    pub attachments: Option<Vec<Value>>,
    /// The `votes` field, already rendered.
    pub votes: Option<Value>,
}

pub fn issue(
    urls: &Urls,
    viewer: Viewer,
    issue: &Issue,
    fields: &[&str],
    extras: &IssueExtras,
) -> Value {
    let mut out = Map::new();
    for &id in fields {
        let value = match id {
            "summary" => json!(issue.summary),
            "description" => json!(issue.description),
            "issuetype" => issue_type(urls, issue.issue_type),
            "project" => project_summary(
                urls,
                issue.project_id.0,
                &issue.project_key,
                &issue.project_name,
                &issue.project_type_key,
            ),
            "status" => status(urls, issue.status),
            "priority" => priority(urls, issue.priority),
            "resolution" => issue
                .resolution
                .map_or(Value::Null, |r| resolution(urls, r)),
            "resolutiondate" => issue
                .resolution_date
                .map_or(Value::Null, |t| json!(time(t))),
            "assignee" => optional_user(urls, viewer, issue.assignee.as_ref()),
            "reporter" => optional_user(urls, viewer, issue.reporter.as_ref()),
            "creator" => optional_user(urls, viewer, issue.creator.as_ref()),
            "labels" => json!(issue.labels),
            "created" => json!(time(issue.created)),
            "updated" => json!(time(issue.updated)),
            "comment" => match &extras.comments {
                Some((comments, total)) => json!({
                    "comments": comments.iter().map(|c| comment(urls, viewer, c)).collect::<Vec<_>>(),
                    "maxResults": comments.len(),
                    "total": total,
                    "startAt": 0,
                }),
                None => continue,
            },
            "timespent" => json!(
                (issue.time_tracking.time_spent > 0).then_some(issue.time_tracking.time_spent)
            ),
            "timeestimate" => json!(issue.time_tracking.remaining_estimate),
            "timeoriginalestimate" => json!(issue.time_tracking.original_estimate),
            "timetracking" => time_tracking(&issue.time_tracking),
            "fixVersions" => named_list(urls, "version", &issue.fix_versions),
            "versions" => named_list(urls, "version", &issue.versions),
            "components" => named_list(urls, "component", &issue.components),
            "worklog" => match &extras.worklogs {
                Some((worklogs, total)) => json!({
                    "worklogs": worklogs.iter().map(|w| worklog(urls, viewer, w)).collect::<Vec<_>>(),
                    "maxResults": worklogs.len(),
                    "total": total,
                    "startAt": 0,
                }),
                None => continue,
            },
            "votes" => match &extras.votes {
                Some(votes) => votes.clone(),
                None => continue,
            },
            "attachment" => match &extras.attachments {
                Some(attachments) => json!(attachments),
                None => continue,
            },
            "issuelinks" => match &extras.links {
                Some(links) => json!(links),
                None => continue,
            },
            "watches" => match extras.watches {
                Some(counted) => watches(urls, issue, counted),
                None => continue,
            },
            _ => continue,
        };
        out.insert(id.to_string(), value);
    }
    let mut value = json!({
        "expand": "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations",
        "id": issue.id.to_string(),
        "self": urls.api(&format!("issue/{}", issue.id)),
        "key": issue.key(),
        "fields": out,
    });
    if extras.names {
        value["names"] = field_names(fields);
    }
    if extras.schema {
        value["schema"] = field_schemas(fields);
    }
    if let Some((page, shown)) = &extras.changelog {
        value["changelog"] = changelog(urls, viewer, page, *shown);
    }
    if let Some(editmeta) = &extras.editmeta {
        value["editmeta"] = editmeta.clone();
    }
    if let Some(transitions) = &extras.transitions {
        value["transitions"] = json!(
            transitions
                .iter()
                .map(|t| transition(urls, *t, false))
                .collect::<Vec<_>>()
        );
    }
    value
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_use_jira_format() {
        assert_eq!(
            time(Timestamp::from_millis(0)),
            "1970-01-01T00:00:00.000+0000"
        );
        assert_eq!(
            time(Timestamp::from_millis(1_700_000_000_123)),
            "2023-11-14T22:13:20.123+0000"
        );
    }

    #[test]
    fn field_selection() {
        assert!(selected_fields(&[]).contains(&"comment"));
        let navigable = selected_fields(&["*navigable".into()]);
        assert!(navigable.contains(&"summary") && !navigable.contains(&"comment"));
        assert_eq!(
            selected_fields(&["summary".into(), "status".into(), "bogus".into()]),
            ["summary", "status"]
        );
        let all_but = selected_fields(&["*all".into(), "-comment".into()]);
        assert!(all_but.contains(&"labels") && !all_but.contains(&"comment"));
        let only_excluded = selected_fields(&["-description".into()]);
        assert!(only_excluded.contains(&"summary") && !only_excluded.contains(&"description"));
    }
}
