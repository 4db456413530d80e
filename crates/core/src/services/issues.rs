//! Issues: creation, edits with Jira's `fields` and `update` semantics, workflow transitions,
//! assignment and deletion. Every change is one store transaction.
//!
//! Changing the assignee needs ASSIGN_ISSUES, setting someone else as reporter needs
//! ADMINISTER_PROJECTS and adding a comment needs ADD_COMMENTS, whichever request carries the
//! change; an assignee must be an active user who can browse the project. Every change is
//! recorded in the issue's changelog with the capability's actor and credential, in the
//! change's transaction.

use crate::authz::{Action, AdministerProject};
use crate::authz::{
    AddComments, Assign, Browse, CreateIssues, Delete, Edit, OnIssue, OnProject, Transition,
};
use crate::catalog::{IssueType, Priority, Resolution, Status, Transition as Step};
use crate::changelog::ChangeAuthor;
use crate::clock::Timestamp;
use crate::error::{Error, FieldErrors, Missing};
use crate::ids::{ProjectId, UserId};
use crate::model::{Issue, IssueChanges, NewIssue, StatusChange, User};
use crate::store::{Conflict, Store, StoreError};
use crate::validate;

use super::NamedRef;

/// Who an issue should be assigned to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Assignee {
    Nobody,
    /// Jira's `-1`: the project lead, if the lead may be assigned issues.
    Automatic,
    User(String),
}

/// Label operations from `fields.labels` (set) and `update.labels` (set/add/remove).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LabelOps {
    pub set: Option<Vec<String>>,
    pub add: Vec<String>,
    pub remove: Vec<String>,
}

impl LabelOps {
    fn is_empty(&self) -> bool {
        self.set.is_none() && self.add.is_empty() && self.remove.is_empty()
    }
}

/// What a request asks to set on an issue, with names not yet resolved.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IssueInput {
    pub summary: Option<String>,
    pub description: Option<Option<String>>,
    pub issue_type: Option<NamedRef>,
    pub priority: Option<NamedRef>,
    pub assignee: Option<Assignee>,
    pub reporter: Option<Option<String>>,
    pub labels: LabelOps,
    pub comments: Vec<String>,
    pub resolution: Option<NamedRef>,
    pub time_tracking: Option<TimeTrackingInput>,
    /// Versions and components, named by id or name.
    pub planned: Vec<PlannedInput>,
}

/// A request's operations on one of an issue's version or component lists.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlannedInput {
    pub list: crate::model::Planned,
    pub set: Option<Vec<NamedRef>>,
    pub add: Vec<NamedRef>,
    pub remove: Vec<NamedRef>,
}

impl PlannedInput {
    pub fn new(list: crate::model::Planned) -> Self {
        Self {
            list,
            set: None,
            add: Vec::new(),
            remove: Vec::new(),
        }
    }
}

/// The project's versions and components a request names, resolved to their ids; a name or
/// id that is not the project's is a field error.
async fn resolve_planned(
    store: &dyn Store,
    project: ProjectId,
    inputs: &[PlannedInput],
    errors: &mut FieldErrors,
) -> Result<Vec<crate::model::PlannedChange>, Error> {
    use crate::model::Planned;
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let versions: Vec<(i64, String)> = store
        .list_versions(project)
        .await?
        .into_iter()
        .map(|v| (v.id.0, v.name))
        .collect();
    let components: Vec<(i64, String)> = store
        .list_components(project)
        .await?
        .into_iter()
        .map(|c| (c.id.0, c.name))
        .collect();
    let mut changes = Vec::new();
    for input in inputs {
        let (known, what) = match input.list {
            Planned::Components => (&components, "Component"),
            Planned::FixVersions | Planned::Versions => (&versions, "Version"),
        };
        let mut resolve = |refs: &[NamedRef]| -> Vec<i64> {
            refs.iter()
                .filter_map(|r| {
                    let found = match r {
                        NamedRef::Id(id) => known.iter().find(|(k, _)| k == id),
                        NamedRef::Name(name) => known
                            .iter()
                            .find(|(_, n)| n.eq_ignore_ascii_case(name.trim())),
                    };
                    if found.is_none() {
                        let shown = match r {
                            NamedRef::Id(id) => format!("id '{id}'"),
                            NamedRef::Name(name) => format!("name '{name}'"),
                        };
                        errors.add_field(
                            input.list.field(),
                            format!("{what} {shown} is not valid in this project."),
                        );
                    }
                    found.map(|(id, _)| *id)
                })
                .collect()
        };
        let set = input.set.as_deref().map(&mut resolve);
        let add = resolve(&input.add);
        let remove = resolve(&input.remove);
        changes.push(crate::model::PlannedChange {
            list: input.list,
            set,
            add,
            remove,
        });
    }
    Ok(changes)
}

/// `timetracking` as a client sets it: Jira's durations ("1d 4h"); an empty one removes
/// the estimate.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TimeTrackingInput {
    pub original: Option<String>,
    pub remaining: Option<String>,
}

/// An estimate a client gave: `None` to remove it.
fn estimate(text: &str, errors: &mut FieldErrors) -> Option<Option<i64>> {
    if text.trim().is_empty() {
        return Some(None);
    }
    match crate::worktime::parse_estimate(text) {
        Ok(seconds) => Some(Some(seconds)),
        Err(message) => {
            errors.add_field("timetracking", message);
            None
        }
    }
}

/// The estimates `input` sets on an issue that has `current` (Jira's rule: an original
/// estimate given alone to an issue with no remaining estimate and no work logged is the
/// remaining estimate too).
fn estimates(
    input: &TimeTrackingInput,
    current: &crate::model::TimeTracking,
    errors: &mut FieldErrors,
) -> (Option<Option<i64>>, Option<Option<i64>>) {
    let original = input.original.as_deref().and_then(|t| estimate(t, errors));
    let mut remaining = input.remaining.as_deref().and_then(|t| estimate(t, errors));
    if remaining.is_none()
        && input.remaining.is_none()
        && current.remaining_estimate.is_none()
        && current.time_spent == 0
    {
        remaining = original;
    }
    (original, remaining)
}

fn not_settable(errors: &mut FieldErrors, field: &str) {
    errors.add_field(
        field,
        format!("Field '{field}' cannot be set. It is not on the appropriate screen, or unknown."),
    );
}

/// Whether `user` may be assigned issues in the project: active and able to browse it.
async fn is_assignable(store: &dyn Store, project: ProjectId, user: &User) -> Result<bool, Error> {
    if !user.active {
        return Ok(false);
    }
    crate::authz::user_can_browse(store, project, user).await
}

/// Resolves an assignee choice to a user id (or nobody), recording field errors.
async fn resolve_assignee(
    store: &dyn Store,
    project: ProjectId,
    lead: Option<UserId>,
    choice: &Assignee,
    errors: &mut FieldErrors,
) -> Result<Option<UserId>, Error> {
    match choice {
        Assignee::Nobody => Ok(None),
        Assignee::Automatic => {
            let Some(lead) = lead else { return Ok(None) };
            match store.find_user(lead).await? {
                Some(user) if is_assignable(store, project, &user).await? => Ok(Some(user.id)),
                _ => Ok(None),
            }
        }
        Assignee::User(name) => match super::users::find_named(store, name).await? {
            None => {
                errors.add_field("assignee", format!("User '{name}' does not exist."));
                Ok(None)
            }
            Some(user) if !is_assignable(store, project, &user).await? => {
                errors.add_field(
                    "assignee",
                    format!("User '{name}' cannot be assigned issues."),
                );
                Ok(None)
            }
            Some(user) => Ok(Some(user.id)),
        },
    }
}

fn resolve_type(choice: &NamedRef, errors: &mut FieldErrors) -> Option<IssueType> {
    let found = match choice {
        NamedRef::Id(id) => IssueType::from_id(*id),
        NamedRef::Name(name) => IssueType::from_name(name),
    };
    match (found, choice) {
        (Some(_), _) => {}
        // Jira resolves the name first and then finds no type: its words.
        (None, NamedRef::Name(_)) => errors.add_field("issuetype", "issue type is required"),
        (None, NamedRef::Id(_)) => {
            errors.add_field("issuetype", "The issue type selected is invalid.");
        }
    }
    found
}

fn resolve_priority(choice: &NamedRef, errors: &mut FieldErrors) -> Option<Priority> {
    let found = match choice {
        NamedRef::Id(id) => Priority::from_id(*id),
        NamedRef::Name(name) => Priority::from_name(name),
    };
    if found.is_none() {
        errors.add_field("priority", "The priority selected is invalid.");
    }
    found
}

fn resolve_resolution(choice: &NamedRef, errors: &mut FieldErrors) -> Option<Resolution> {
    let found = match choice {
        NamedRef::Id(id) => Resolution::from_id(*id),
        NamedRef::Name(name) => Resolution::from_name(name),
    };
    if found.is_none() {
        errors.add_field("resolution", "The resolution selected is invalid.");
    }
    found
}

fn validate_labels(labels: &[String], errors: &mut FieldErrors) -> Vec<String> {
    let mut valid = Vec::with_capacity(labels.len());
    for label in labels {
        match validate::label(label) {
            Ok(label) if !valid.contains(&label) => valid.push(label),
            Ok(_) => {}
            Err(message) => errors.add_field("labels", message),
        }
    }
    valid
}

fn validate_comments(comments: &[String], errors: &mut FieldErrors) -> Vec<String> {
    let mut valid = Vec::with_capacity(comments.len());
    for body in comments {
        if body.trim().is_empty() {
            errors.add_field("comment", "Comment body can not be empty!");
        } else {
            match validate::long_text(body) {
                Ok(body) => valid.push(body),
                Err(message) => errors.add_field("comment", message),
            }
        }
    }
    valid
}

/// Checks a further permission on the capability's grant, for a field that needs it.
fn need<A: Action, B: Action>(cap: &OnIssue<A>) -> Result<(), Error> {
    cap.also::<B>().map(|_| ())
}

/// The parts of an edit common to `PUT issue` and transitions.
struct Resolved {
    changes: IssueChanges,
    errors: FieldErrors,
}

/// Resolves the edits every change path supports: assignee, comments, and (when `all_fields`)
/// everything else editable.
async fn resolve_edit<A: Action>(
    store: &dyn Store,
    cap: &OnIssue<A>,
    lead: Option<UserId>,
    input: &IssueInput,
    all_fields: bool,
) -> Result<Resolved, Error> {
    let issue = cap.issue();
    let mut errors = FieldErrors::default();
    let mut changes = IssueChanges::default();
    if all_fields {
        if let Some(summary) = &input.summary {
            changes.summary = validate::summary(summary)
                .map_err(|e| errors.add_field("summary", e))
                .ok();
        }
        if let Some(description) = &input.description {
            changes.description = match description {
                None => Some(None),
                Some(text) if text.trim().is_empty() => Some(None),
                Some(text) => validate::long_text(text)
                    .map_err(|e| errors.add_field("description", e))
                    .ok()
                    .map(Some),
            };
        }
        if let Some(choice) = &input.issue_type {
            changes.issue_type = resolve_type(choice, &mut errors);
        }
        if let Some(choice) = &input.priority {
            changes.priority = resolve_priority(choice, &mut errors);
        }
        if let Some(reporter) = &input.reporter {
            need::<A, AdministerProject>(cap)?;
            changes.reporter = match reporter {
                None => {
                    errors.add_field("reporter", "Reporter is required.");
                    None
                }
                Some(name) => match super::users::find_named(store, name).await? {
                    Some(user) if user.active => Some(Some(user.id)),
                    _ => {
                        errors.add_field("reporter", "The reporter specified is not a user.");
                        None
                    }
                },
            };
        }
        if let Some(tracking) = &input.time_tracking {
            (changes.original_estimate, changes.remaining_estimate) =
                estimates(tracking, &issue.time_tracking, &mut errors);
        }
        changes.planned =
            resolve_planned(store, issue.project_id, &input.planned, &mut errors).await?;
        if !input.labels.is_empty() {
            changes.set_labels = input
                .labels
                .set
                .as_ref()
                .map(|labels| validate_labels(labels, &mut errors));
            changes.add_labels = validate_labels(&input.labels.add, &mut errors);
            changes.remove_labels = input.labels.remove.clone();
        }
    } else {
        let others = [
            ("summary", input.summary.is_some()),
            ("description", input.description.is_some()),
            ("issuetype", input.issue_type.is_some()),
            ("priority", input.priority.is_some()),
            ("reporter", input.reporter.is_some()),
            ("labels", !input.labels.is_empty()),
            ("timetracking", input.time_tracking.is_some()),
            ("fixVersions", !input.planned.is_empty()),
        ];
        for (field, present) in others {
            if present {
                not_settable(&mut errors, field);
            }
        }
    }
    if let Some(choice) = &input.assignee {
        need::<A, Assign>(cap)?;
        changes.assignee =
            Some(resolve_assignee(store, issue.project_id, lead, choice, &mut errors).await?);
    }
    if !input.comments.is_empty() {
        need::<A, AddComments>(cap)?;
        changes.comments = validate_comments(&input.comments, &mut errors);
    }
    Ok(Resolved { changes, errors })
}

async fn project_lead(store: &dyn Store, issue: &Issue) -> Result<Option<UserId>, Error> {
    Ok(store
        .find_project(issue.project_id)
        .await?
        .and_then(|p| p.lead)
        .map(|lead| lead.id))
}

fn stale() -> Error {
    Error::Conflict(FieldErrors::message(
        "The issue was changed by someone else at the same time; reload it and try again.",
    ))
}

/// Applies changes, returning the issue as it is afterwards.
async fn apply(
    store: &dyn Store,
    issue: &Issue,
    changes: &IssueChanges,
    author: &ChangeAuthor,
    now: Timestamp,
) -> Result<Issue, Error> {
    if changes.is_empty() {
        return Ok(issue.clone());
    }
    match store.update_issue(issue.id, changes, author, now).await {
        Ok(Some(updated)) => Ok(updated),
        Ok(None) => Err(Error::NotFound(Missing::Issue)),
        Err(StoreError::Conflict(Conflict::StaleStatus)) => Err(stale()),
        Err(other) => Err(other.into()),
    }
}

pub async fn create_issue(
    store: &dyn Store,
    cap: &OnProject<CreateIssues>,
    input: &IssueInput,
    now: Timestamp,
) -> Result<Issue, Error> {
    let project = cap.project();
    let mut errors = FieldErrors::default();
    let summary = match &input.summary {
        Some(summary) => validate::summary(summary)
            .map_err(|e| errors.add_field("summary", e))
            .ok(),
        None => {
            errors.add_field("summary", "You must specify a summary of the issue.");
            None
        }
    };
    let description = match &input.description {
        Some(Some(text)) if !text.trim().is_empty() => validate::long_text(text)
            .map_err(|e| errors.add_field("description", e))
            .ok(),
        _ => None,
    };
    let issue_type = match &input.issue_type {
        Some(choice) => resolve_type(choice, &mut errors),
        None => {
            errors.add_field("issuetype", "The issue type selected is invalid.");
            None
        }
    };
    let priority = match &input.priority {
        Some(choice) => resolve_priority(choice, &mut errors),
        None => Some(Priority::DEFAULT),
    };
    let actor = cap.actor().id;
    let reporter = match &input.reporter {
        None => Some(actor),
        Some(Some(name)) => match super::users::find_named(store, name).await? {
            Some(user) if user.id == actor => Some(actor),
            Some(user) if user.active => {
                cap.also::<AdministerProject>()?;
                Some(user.id)
            }
            _ => {
                errors.add_field("reporter", "The reporter specified is not a user.");
                None
            }
        },
        Some(None) => {
            errors.add_field("reporter", "Reporter is required.");
            None
        }
    };
    let assignee = match &input.assignee {
        None | Some(Assignee::Nobody) => None,
        Some(choice) => {
            cap.also::<crate::authz::Assign>()?;
            let lead = project.lead.as_ref().map(|u| u.id);
            resolve_assignee(store, project.id, lead, choice, &mut errors).await?
        }
    };
    let mut labels = input
        .labels
        .set
        .as_ref()
        .map(|l| validate_labels(l, &mut errors))
        .unwrap_or_default();
    for label in validate_labels(&input.labels.add, &mut errors) {
        if !labels.contains(&label) {
            labels.push(label);
        }
    }
    if !input.comments.is_empty() {
        not_settable(&mut errors, "comment");
    }
    if input.resolution.is_some() {
        not_settable(&mut errors, "resolution");
    }
    let planned: Vec<(crate::model::Planned, Vec<i64>)> =
        resolve_planned(store, project.id, &input.planned, &mut errors)
            .await?
            .into_iter()
            .map(|change| {
                let mut ids = change.set.unwrap_or_default();
                ids.extend(change.add);
                ids.retain(|id| !change.remove.contains(id));
                ids.dedup();
                (change.list, ids)
            })
            .collect();
    let (original_estimate, remaining_estimate) = match &input.time_tracking {
        Some(tracking) => {
            let (original, remaining) = estimates(
                tracking,
                &crate::model::TimeTracking::default(),
                &mut errors,
            );
            (original.flatten(), remaining.flatten())
        }
        None => (None, None),
    };
    errors.into_result()?;
    let (Some(summary), Some(issue_type), Some(priority), Some(reporter)) =
        (summary, issue_type, priority, reporter)
    else {
        return Err(Error::invalid_message("The issue could not be created."));
    };
    let new = NewIssue {
        project_id: project.id,
        issue_type,
        summary,
        description,
        priority,
        assignee,
        reporter: Some(reporter),
        creator: actor,
        labels,
        original_estimate,
        remaining_estimate,
        planned,
        created: now,
    };
    store.create_issue(new).await.map_err(|e| match e {
        // The project, or a user named in the issue, was deleted since it was read.
        StoreError::MissingReference => Error::Conflict(FieldErrors::message(
            "The project or a user named in the issue no longer exists.",
        )),
        other => other.into(),
    })
}

/// `PUT issue`: sets fields and applies update operations.
pub async fn edit_issue(
    store: &dyn Store,
    cap: &OnIssue<Edit>,
    input: &IssueInput,
    now: Timestamp,
) -> Result<Issue, Error> {
    let mut errors = FieldErrors::default();
    let lead = match input.assignee {
        Some(Assignee::Automatic) => project_lead(store, cap.issue()).await?,
        _ => None,
    };
    let mut resolved = resolve_edit(store, cap, lead, input, true).await?;
    // A resolved issue's resolution may be corrected (Done → Won't Do); an unresolved issue
    // gets one only by moving to Done, so status and resolution never disagree.
    if let Some(choice) = &input.resolution {
        if cap.issue().resolution.is_some() {
            resolved.changes.resolution = resolve_resolution(choice, &mut errors);
        } else {
            errors.add_field(
                "resolution",
                "Only a resolved issue's resolution can be changed: move the issue to Done \
                 with a transition, which takes the resolution.",
            );
        }
    }
    for (field, message) in resolved.errors.fields {
        errors.add_field(field, message);
    }
    errors.into_result()?;
    apply(
        store,
        cap.issue(),
        &resolved.changes,
        &cap.actor().change_author(),
        now,
    )
    .await
}

/// A transition named in a request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TransitionRef {
    Id(String),
    Name(String),
}

/// The transitions the caller may perform on the issue now (none without
/// TRANSITION_ISSUES, as in Jira).
pub fn available_transitions(cap: &OnIssue<Browse>) -> Vec<Step> {
    if cap.also::<Transition>().is_err() {
        return Vec::new();
    }
    cap.issue().status.transitions().collect()
}

pub async fn transition_issue(
    store: &dyn Store,
    cap: &OnIssue<Transition>,
    which: &TransitionRef,
    input: &IssueInput,
    now: Timestamp,
) -> Result<Issue, Error> {
    let issue = cap.issue();
    let step = match which {
        TransitionRef::Id(id) => id.trim().parse().ok().and_then(Step::from_id),
        TransitionRef::Name(name) => Step::from_name(name.trim()),
    };
    let shown = match which {
        TransitionRef::Id(id) | TransitionRef::Name(id) => id,
    };
    let Some(step) = step else {
        return Err(Error::invalid_message(format!(
            "Transition '{shown}' is not valid for this issue."
        )));
    };
    if !step.from().contains(&issue.status) {
        return Err(Error::invalid_message(format!(
            "It seems that you have tried to perform a workflow operation ({}) that is not \
             valid for the current state of this issue ({}). The likely cause is that somebody \
             has changed the issue recently, please look at the issue history for details.",
            step.name(),
            issue.key()
        )));
    }
    let lead = match input.assignee {
        Some(Assignee::Automatic) => project_lead(store, issue).await?,
        _ => None,
    };
    let mut resolved = resolve_edit(store, cap, lead, input, false).await?;
    let resolution = match (&input.resolution, step.to()) {
        (Some(choice), Status::Done) => resolve_resolution(choice, &mut resolved.errors),
        (None, Status::Done) => Some(Resolution::DEFAULT),
        (Some(_), _) => {
            not_settable(&mut resolved.errors, "resolution");
            None
        }
        (None, _) => None,
    };
    resolved.errors.into_result()?;
    resolved.changes.status = Some(StatusChange {
        from: issue.status,
        to: step.to(),
        resolution,
    });
    apply(
        store,
        issue,
        &resolved.changes,
        &cap.actor().change_author(),
        now,
    )
    .await
}

pub async fn assign_issue(
    store: &dyn Store,
    cap: &OnIssue<Assign>,
    choice: &Assignee,
    now: Timestamp,
) -> Result<Issue, Error> {
    let issue = cap.issue();
    let lead = match choice {
        Assignee::Automatic => project_lead(store, issue).await?,
        _ => None,
    };
    let mut errors = FieldErrors::default();
    let assignee = resolve_assignee(store, issue.project_id, lead, choice, &mut errors).await?;
    errors.into_result()?;
    let changes = IssueChanges {
        assignee: Some(assignee),
        ..IssueChanges::default()
    };
    if issue.assignee.as_ref().map(|u| u.id) == assignee {
        return Ok(issue.clone());
    }
    apply(store, issue, &changes, &cap.actor().change_author(), now).await
}

pub async fn delete_issue(store: &dyn Store, cap: &OnIssue<Delete>) -> Result<(), Error> {
    if store.delete_issue(cap.issue().id).await? {
        Ok(())
    } else {
        Err(Error::NotFound(Missing::Issue))
    }
}
