//! Work logged on issues. Anyone who can browse an issue reads its worklogs; logging work
//! needs WORK_ON_ISSUES; changing or deleting a worklog needs EDIT_OWN_WORKLOGS or
//! DELETE_OWN_WORKLOGS for one's own, EDIT_ALL_WORKLOGS or DELETE_ALL_WORKLOGS for anyone's
//! (Jira's rules). The incremental exports (`worklog/updated`, `/deleted`, `/list`) name only
//! worklogs of projects the caller may browse.

use crate::authz::{
    BrowsableProjects, Browse, DeleteAllWorklogs, DeleteOwnWorklogs, EditAllWorklogs,
    EditOwnWorklogs, OnIssue, WorkOnIssues,
};
use crate::clock::Timestamp;
use crate::error::{Error, Missing};
use crate::ids::WorklogId;
use crate::model::{
    EstimateChange, NewWorklog, Page, PageRequest, Worklog, WorklogChange, WorklogChanges,
};
use crate::store::{Store, StoreError};
use crate::validate;

/// Most entries of one `worklog/updated` or `/deleted` page, and ids of one `worklog/list`
/// (Jira's limit).
pub const EXPORT_LIMIT: i64 = 1000;

/// Work as a client sends it (checked here).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WorklogInput {
    pub comment: Option<String>,
    pub started: Option<Timestamp>,
    pub time_spent_seconds: Option<i64>,
}

fn comment(text: &str) -> Result<String, Error> {
    validate::long_text(text).map_err(|e| Error::invalid("comment", e))
}

fn missing(id: &str) -> Error {
    Error::NotFound(Missing::Worklog(id.to_string()))
}

pub async fn list(
    store: &dyn Store,
    cap: &OnIssue<Browse>,
    page: PageRequest,
) -> Result<Page<Worklog>, Error> {
    Ok(store.list_worklogs(cap.issue().id, page).await?)
}

/// WORK_ON_ISSUES: logs `input` (its time spent is required), adjusting the remaining
/// estimate as `estimate` says.
pub async fn add(
    store: &dyn Store,
    cap: &OnIssue<WorkOnIssues>,
    input: WorklogInput,
    estimate: EstimateChange,
    now: Timestamp,
) -> Result<Worklog, Error> {
    let Some(time_spent_seconds) = input.time_spent_seconds else {
        return Err(Error::invalid(
            "timeLogged",
            "You must indicate the time spent working.",
        ));
    };
    let worklog = NewWorklog {
        issue: cap.issue().id,
        author: cap.actor().id,
        comment: comment(input.comment.as_deref().unwrap_or(""))?,
        started: input.started.unwrap_or(now),
        time_spent_seconds,
        at: now,
    };
    store
        .add_worklog(&worklog, estimate)
        .await
        .map_err(|e| match e {
            // The issue was deleted since it was read.
            StoreError::MissingReference => Error::NotFound(Missing::Issue),
            other => other.into(),
        })
}

/// A worklog of the capability's issue; worklogs of other issues are not found.
pub async fn get(store: &dyn Store, cap: &OnIssue<Browse>, id: &str) -> Result<Worklog, Error> {
    let worklog_id = WorklogId::parse(id).ok_or_else(|| missing(id))?;
    match store.find_worklog(worklog_id).await? {
        Some(worklog) if worklog.issue_id == cap.issue().id => Ok(worklog),
        _ => Err(missing(id)),
    }
}

fn is_author(cap: &OnIssue<Browse>, worklog: &Worklog) -> bool {
    worklog
        .author
        .as_ref()
        .is_some_and(|a| a.id == cap.actor().id)
}

/// EDIT_OWN_WORKLOGS for one's own, EDIT_ALL_WORKLOGS for anyone's.
pub async fn update(
    store: &dyn Store,
    cap: &OnIssue<Browse>,
    id: &str,
    input: WorklogInput,
    estimate: EstimateChange,
    now: Timestamp,
) -> Result<Worklog, Error> {
    let worklog = get(store, cap, id).await?;
    if is_author(cap, &worklog) {
        cap.also::<EditOwnWorklogs>()
            .map(|_| ())
            .or_else(|_| cap.also::<EditAllWorklogs>().map(|_| ()))?;
    } else {
        cap.also::<EditAllWorklogs>()?;
    }
    let changes = WorklogChanges {
        comment: input.comment.as_deref().map(comment).transpose()?,
        started: input.started,
        time_spent_seconds: input.time_spent_seconds,
    };
    store
        .update_worklog(worklog.id, &changes, cap.actor().id, estimate, now)
        .await?
        .ok_or_else(|| missing(id))
}

/// DELETE_OWN_WORKLOGS for one's own, DELETE_ALL_WORKLOGS for anyone's.
pub async fn delete(
    store: &dyn Store,
    cap: &OnIssue<Browse>,
    id: &str,
    estimate: EstimateChange,
    now: Timestamp,
) -> Result<(), Error> {
    let worklog = get(store, cap, id).await?;
    if is_author(cap, &worklog) {
        cap.also::<DeleteOwnWorklogs>()
            .map(|_| ())
            .or_else(|_| cap.also::<DeleteAllWorklogs>().map(|_| ()))?;
    } else {
        cap.also::<DeleteAllWorklogs>()?;
    }
    if store.delete_worklog(worklog.id, estimate, now).await? {
        Ok(())
    } else {
        Err(missing(id))
    }
}

/// One page of an incremental export: the changes the caller may see, and whether more
/// follow (then `until` is where the next page starts).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExportPage {
    pub changes: Vec<WorklogChange>,
    pub since: Timestamp,
    pub until: Timestamp,
    pub last_page: bool,
}

/// Worklogs changed (or deleted) at or after `since`, in projects `browsable` holds.
pub async fn changes(
    store: &dyn Store,
    browsable: &BrowsableProjects,
    since: Timestamp,
    deleted: bool,
) -> Result<ExportPage, Error> {
    let read = store.worklog_changes(since, deleted, EXPORT_LIMIT).await?;
    let last_page = (read.len() as i64) < EXPORT_LIMIT;
    let until = read.last().map_or(since, |c| c.at);
    Ok(ExportPage {
        changes: read
            .into_iter()
            .filter(|c| browsable.contains(c.project))
            .collect(),
        since,
        until,
        last_page,
    })
}

/// The worklogs among `ids` in projects `browsable` holds (at most [`EXPORT_LIMIT`] ids).
pub async fn by_ids(
    store: &dyn Store,
    browsable: &BrowsableProjects,
    ids: &[WorklogId],
) -> Result<Vec<Worklog>, Error> {
    if ids.len() as i64 > EXPORT_LIMIT {
        return Err(Error::invalid(
            "ids",
            format!("At most {EXPORT_LIMIT} worklog ids at once."),
        ));
    }
    Ok(store
        .find_worklogs(ids)
        .await?
        .into_iter()
        .filter(|(_, project)| browsable.contains(*project))
        .map(|(worklog, _)| worklog)
        .collect())
}
