//! Issues, their labels, comments, changelog and watchers.
//!
//! Every write of a summary, description or comment body also writes its lower-cased copy
//! (`*_lower`, lower-cased here in Rust), which text search matches against.
//!
//! A change reads the issue after locking its row and again after writing, inside its
//! transaction, and records the difference as its changelog entry in that same transaction:
//! the history holds exactly the changes that were committed, attributed to their author and
//! credential.
//!
//! Issue numbers come from a per-project counter incremented in the same transaction as the
//! insert: the counter row's lock (PostgreSQL) or the single writer (SQLite) serialises
//! concurrent creations, and a failed insert rolls the counter back, so keys stay unique and
//! gap-free.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use tessera_core::changelog::{self, ChangeAuthor, ChangeGroup, ChangeItem};
use tessera_core::clock::Timestamp;
use tessera_core::ids::{CommentId, IssueId, UserId};
use tessera_core::model::{
    Comment, Issue, IssueChanges, NewIssue, Page, PageRequest, Planned, User, Visibility, Votes,
    Watches,
};
use tessera_core::search::{IssueLocation, NamesFound, SearchQuery};
use tessera_core::store::{Conflict, IssueStore, StoreError, StoreResult};

use crate::issue_users::UserSet;
use crate::rows::{
    ChangeGroupRow, ChangeItemRow, CommentRow, IssueRow, change_group_select, comment_select,
    comment_visible, issue_select, load_parts, visibility_columns,
};
use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

/// Reads an issue with its labels, versions and components inside the transaction `$tx`; `?`
/// leaves on an error.
macro_rules! issue_in_tx {
    ($tx:ident, $id:expr) => {{
        let row: Option<IssueRow> = sqlx::query_as(concat!(issue_select!(), " WHERE i.id = $1"))
            .bind($id)
            .fetch_optional(&mut *$tx)
            .await
            .map_err(backend)?;
        match row {
            Some(row) => {
                let mut issue = row.into_issue()?;
                load_parts!(&mut *$tx, std::slice::from_mut(&mut issue));
                Some(issue)
            }
            None => None,
        }
    }};
}

/// Puts a version or component on an issue's list inside `$tx` (nothing if it is there).
macro_rules! insert_planned {
    ($tx:ident, $list:expr, $issue:expr, $value:expr) => {{
        let query = match version_kind($list) {
            Some(kind) => sqlx::query(
                "INSERT INTO issue_versions (issue_id, version_id, kind) VALUES ($1, $2, $3) \
                 ON CONFLICT DO NOTHING",
            )
            .bind($issue)
            .bind($value)
            .bind(kind),
            None => sqlx::query(
                "INSERT INTO issue_components (issue_id, component_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING",
            )
            .bind($issue)
            .bind($value),
        };
        query
            .execute(&mut *$tx)
            .await
            .map_err(|e| write_error(e, any_conflict))
    }};
}

/// The `kind` a version list is stored under; `None` for components.
fn version_kind(list: Planned) -> Option<&'static str> {
    match list {
        Planned::FixVersions => Some("fix"),
        Planned::Versions => Some("affects"),
        Planned::Components => None,
    }
}

/// How an issue is looked up.
enum IssueKey<'a> {
    Id(i64),
    Key(&'a str, i64),
}

impl SqlStore {
    /// An issue with its labels, versions and components, in two reads.
    async fn issue_where(&self, key: IssueKey<'_>) -> StoreResult<Option<Issue>> {
        let (row, parts): (Option<IssueRow>, Vec<crate::rows::PartRow>) =
            on_pool!(self, read, |pool| {
                let row: Option<IssueRow> = match key {
                    IssueKey::Id(id) => {
                        sqlx::query_as(concat!(issue_select!(), " WHERE i.id = $1"))
                            .bind(id)
                            .fetch_optional(pool)
                            .await
                    }
                    IssueKey::Key(project, number) => {
                        sqlx::query_as(concat!(
                            issue_select!(),
                            " WHERE p.project_key = $1 AND i.number = $2"
                        ))
                        .bind(project)
                        .bind(number)
                        .fetch_optional(pool)
                        .await
                    }
                }
                .map_err(backend)?;
                let parts = match &row {
                    Some(row) => sqlx::query_as(sqlx::AssertSqlSafe(crate::rows::parts_sql(1)))
                        .bind(row.id())
                        .fetch_all(pool)
                        .await
                        .map_err(backend)?,
                    None => Vec::new(),
                };
                (row, parts)
            });
        let Some(row) = row else {
            return Ok(None);
        };
        let mut issue = row.into_issue()?;
        crate::rows::attach_parts(std::slice::from_mut(&mut issue), parts);
        Ok(Some(issue))
    }

    async fn issue_where_id(&self, id: i64) -> StoreResult<Option<Issue>> {
        self.issue_where(IssueKey::Id(id)).await
    }
}

/// Records `items` (if any) as one change of issue `issue` by `author` at `now`, in the open
/// transaction `tx`: the changelog is written with the change it describes, or not at all.
macro_rules! record_change {
    ($tx:ident, $issue:expr, $author:expr, $now:expr, $items:expr) => {{
        let items: &[ChangeItem] = $items;
        if !items.is_empty() {
            let author: &ChangeAuthor = $author;
            let credential = &author.credential;
            let client = credential.oauth_client.as_ref();
            let group: i64 = sqlx::query_scalar(
                "INSERT INTO changelog_groups (issue_id, author_id, created_at, \
                 credential_kind, credential_id, oauth_client_id, oauth_client_name) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind($issue)
            .bind(author.user.0)
            .bind($now)
            .bind(&credential.kind)
            .bind(&credential.id)
            .bind(client.map(|c| c.client_id.as_str()))
            .bind(client.map(|c| c.name.as_str()))
            .fetch_one(&mut *$tx)
            .await
            .map_err(|e| $crate::write_error(e, $crate::any_conflict))?;
            for (position, item) in items.iter().enumerate() {
                sqlx::query(
                    "INSERT INTO changelog_items (group_id, position, field, field_type, \
                     from_value, from_string, to_value, to_string) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(group)
                .bind(position as i64)
                .bind(&item.field)
                .bind(&item.field_type)
                .bind(&item.from)
                .bind(&item.from_string)
                .bind(&item.to)
                .bind(&item.to_string)
                .execute(&mut *$tx)
                .await
                .map_err($crate::backend)?;
            }
        }
    }};
}
pub(crate) use record_change;

#[async_trait]
impl IssueStore for SqlStore {
    async fn create_issue(&self, issue: NewIssue) -> StoreResult<Issue> {
        let id: i64 = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let number: i64 = sqlx::query_scalar(
                "UPDATE projects SET issue_counter = issue_counter + 1 WHERE id = $1 \
                 RETURNING issue_counter",
            )
            .bind(issue.project_id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?
            .ok_or(StoreError::MissingReference)?;
            let created = issue.created.as_millis();
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO issues (project_id, number, issue_type_id, summary, description, \
                 status_id, priority_id, assignee_id, reporter_id, creator_id, created_at, \
                 updated_at, summary_lower, description_lower, original_estimate, \
                 remaining_estimate) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14, $15) \
                 RETURNING id",
            )
            .bind(issue.project_id.0)
            .bind(number)
            .bind(issue.issue_type.id())
            .bind(&issue.summary)
            .bind(&issue.description)
            .bind(tessera_core::catalog::Status::INITIAL.id())
            .bind(issue.priority.id())
            .bind(issue.assignee.map(|u| u.0))
            .bind(issue.reporter.map(|u| u.0))
            .bind(issue.creator.0)
            .bind(created)
            .bind(issue.summary.to_lowercase())
            .bind(issue.description.as_deref().map(str::to_lowercase))
            .bind(issue.original_estimate)
            .bind(issue.remaining_estimate)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, any_conflict))?;
            for (list, values) in &issue.planned {
                for value in values {
                    insert_planned!(tx, *list, id, *value)?;
                }
            }
            for label in &issue.labels {
                sqlx::query(
                    "INSERT INTO issue_labels (issue_id, label) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(label)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            }
            // Jira's autowatch: the reporter and the creator watch what they file (usually one
            // user, written once).
            let creator = Some(issue.creator).filter(|c| issue.reporter != Some(*c));
            for watcher in issue.reporter.iter().chain(creator.iter()) {
                sqlx::query(
                    "INSERT INTO issue_watchers (issue_id, user_id, created_at) \
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                )
                .bind(id)
                .bind(watcher.0)
                .bind(created)
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, any_conflict))?;
            }
            tx.commit().await.map_err(backend)?;
            id
        });
        self.issue_where_id(id)
            .await?
            .ok_or(StoreError::MissingReference)
    }

    async fn find_issue(&self, id: IssueId) -> StoreResult<Option<Issue>> {
        self.issue_where_id(id.0).await
    }

    async fn find_issue_by_key(
        &self,
        project_key: &str,
        number: i64,
    ) -> StoreResult<Option<Issue>> {
        self.issue_where(IssueKey::Key(project_key, number)).await
    }

    async fn update_issue(
        &self,
        id: IssueId,
        changes: &IssueChanges,
        author: &ChangeAuthor,
        at: Timestamp,
    ) -> StoreResult<Option<Issue>> {
        let now = at.as_millis();
        on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            // Touch the row first: it must exist, and the write locks it for the transaction.
            let touched = sqlx::query("UPDATE issues SET updated_at = $1 WHERE id = $2")
                .bind(now)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            if touched == 0 {
                Ok(None)
            } else {
                let before = issue_in_tx!(tx, id.0).ok_or(StoreError::MissingReference)?;
                if let Some(step) = &changes.status {
                    let moved = sqlx::query(
                        "UPDATE issues SET status_id = $1, resolution_id = $2, resolved_at = $3 \
                         WHERE id = $4 AND status_id = $5",
                    )
                    .bind(step.to.id())
                    .bind(step.resolution.map(|r| r.id()))
                    .bind(step.resolution.map(|_| now))
                    .bind(id.0)
                    .bind(step.from.id())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
                    if moved == 0 {
                        return Err(StoreError::Conflict(Conflict::StaleStatus));
                    }
                }
                if let Some(resolution) = changes.resolution {
                    let kept = sqlx::query(
                        "UPDATE issues SET resolution_id = $1 WHERE id = $2 \
                         AND resolution_id IS NOT NULL",
                    )
                    .bind(resolution.id())
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
                    if kept == 0 {
                        return Err(StoreError::Conflict(Conflict::StaleStatus));
                    }
                }
                if let Some(summary) = &changes.summary {
                    sqlx::query("UPDATE issues SET summary = $1, summary_lower = $2 WHERE id = $3")
                        .bind(summary)
                        .bind(summary.to_lowercase())
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                if let Some(description) = &changes.description {
                    sqlx::query(
                        "UPDATE issues SET description = $1, description_lower = $2 WHERE id = $3",
                    )
                    .bind(description)
                    .bind(description.as_deref().map(str::to_lowercase))
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                }
                if let Some(original) = changes.original_estimate {
                    sqlx::query("UPDATE issues SET original_estimate = $1 WHERE id = $2")
                        .bind(original)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                if let Some(remaining) = changes.remaining_estimate {
                    sqlx::query("UPDATE issues SET remaining_estimate = $1 WHERE id = $2")
                        .bind(remaining)
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                if let Some(issue_type) = changes.issue_type {
                    sqlx::query("UPDATE issues SET issue_type_id = $1 WHERE id = $2")
                        .bind(issue_type.id())
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                if let Some(priority) = changes.priority {
                    sqlx::query("UPDATE issues SET priority_id = $1 WHERE id = $2")
                        .bind(priority.id())
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                if let Some(assignee) = changes.assignee {
                    sqlx::query("UPDATE issues SET assignee_id = $1 WHERE id = $2")
                        .bind(assignee.map(|u| u.0))
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| write_error(e, any_conflict))?;
                }
                if let Some(reporter) = changes.reporter {
                    sqlx::query("UPDATE issues SET reporter_id = $1 WHERE id = $2")
                        .bind(reporter.map(|u| u.0))
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| write_error(e, any_conflict))?;
                }
                for change in &changes.planned {
                    if change.set.is_some() {
                        let query = match version_kind(change.list) {
                            Some(kind) => sqlx::query(
                                "DELETE FROM issue_versions WHERE issue_id = $1 AND kind = $2",
                            )
                            .bind(id.0)
                            .bind(kind),
                            None => sqlx::query("DELETE FROM issue_components WHERE issue_id = $1")
                                .bind(id.0),
                        };
                        query.execute(&mut *tx).await.map_err(backend)?;
                    }
                    for value in change.set.iter().flatten().chain(&change.add) {
                        insert_planned!(tx, change.list, id.0, *value)?;
                    }
                    for value in &change.remove {
                        let sql = match change.list {
                            Planned::FixVersions => {
                                "DELETE FROM issue_versions WHERE issue_id = $1 \
                                 AND version_id = $2 AND kind = 'fix'"
                            }
                            Planned::Versions => {
                                "DELETE FROM issue_versions WHERE issue_id = $1 \
                                 AND version_id = $2 AND kind = 'affects'"
                            }
                            Planned::Components => {
                                "DELETE FROM issue_components WHERE \
                                 issue_id = $1 AND component_id = $2"
                            }
                        };
                        sqlx::query(sql)
                            .bind(id.0)
                            .bind(*value)
                            .execute(&mut *tx)
                            .await
                            .map_err(backend)?;
                    }
                }
                if changes.set_labels.is_some() {
                    sqlx::query("DELETE FROM issue_labels WHERE issue_id = $1")
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                let added = changes
                    .set_labels
                    .iter()
                    .flatten()
                    .chain(&changes.add_labels);
                for label in added {
                    sqlx::query(
                        "INSERT INTO issue_labels (issue_id, label) VALUES ($1, $2) \
                         ON CONFLICT DO NOTHING",
                    )
                    .bind(id.0)
                    .bind(label)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                }
                for label in &changes.remove_labels {
                    sqlx::query("DELETE FROM issue_labels WHERE issue_id = $1 AND label = $2")
                        .bind(id.0)
                        .bind(label)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
                for body in &changes.comments {
                    sqlx::query(
                        "INSERT INTO comments (issue_id, author_id, update_author_id, body, \
                         created_at, updated_at, body_lower) VALUES ($1, $2, $2, $3, $4, $4, $5)",
                    )
                    .bind(id.0)
                    .bind(author.user.0)
                    .bind(body)
                    .bind(now)
                    .bind(body.to_lowercase())
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| write_error(e, any_conflict))?;
                }
                let after = issue_in_tx!(tx, id.0).ok_or(StoreError::MissingReference)?;
                let items = changelog::diff(&before, &after);
                record_change!(tx, id.0, author, now, &items);
                tx.commit().await.map_err(backend)?;
                Ok(Some(after))
            }
        })
    }

    async fn delete_issue(&self, id: IssueId) -> StoreResult<bool> {
        let deleted = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            for statement in [
                "DELETE FROM comments WHERE issue_id = $1",
                "DELETE FROM issue_labels WHERE issue_id = $1",
                "DELETE FROM issue_watchers WHERE issue_id = $1",
                "DELETE FROM changelog_items WHERE group_id IN \
                 (SELECT id FROM changelog_groups WHERE issue_id = $1)",
                "DELETE FROM changelog_groups WHERE issue_id = $1",
            ] {
                sqlx::query(statement)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            let deleted = sqlx::query("DELETE FROM issues WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            tx.commit().await.map_err(backend)?;
            deleted
        });
        Ok(deleted == 1)
    }

    async fn list_comments(
        &self,
        issue: IssueId,
        viewer: UserId,
        page: PageRequest,
        newest_first: bool,
    ) -> StoreResult<Page<Comment>> {
        let visible = comment_visible("$4", "(SELECT project_id FROM issues WHERE id = $1)");
        let order = if newest_first { "DESC" } else { "ASC" };
        let query = format!(
            "{} WHERE c.issue_id = $1 AND {visible} ORDER BY c.id {order} LIMIT $2 OFFSET $3",
            comment_select!()
        );
        let count = format!(
            "SELECT COUNT(*) FROM comments c WHERE c.issue_id = $1 AND {}",
            comment_visible("$2", "(SELECT project_id FROM issues WHERE id = $1)")
        );
        let (total, rows): (i64, Vec<CommentRow>) = on_pool!(self, read, |pool| {
            let rows: Vec<CommentRow> = sqlx::query_as(AssertSqlSafe(query.clone()))
                .bind(issue.0)
                .bind(page.limit)
                .bind(page.start_at)
                .bind(viewer.0)
                .fetch_all(pool)
                .await
                .map_err(backend)?;
            // A page that is not full, and not past the end, tells the total itself.
            let shown = rows.len() as i64;
            let total = if shown < page.limit && (shown > 0 || page.start_at == 0) {
                page.start_at + shown
            } else {
                sqlx::query_scalar(AssertSqlSafe(count.clone()))
                    .bind(issue.0)
                    .bind(viewer.0)
                    .fetch_one(pool)
                    .await
                    .map_err(backend)?
            };
            (total, rows)
        });
        Ok(Page {
            items: rows.into_iter().map(Comment::from).collect(),
            start_at: page.start_at,
            max_results: page.limit,
            total,
        })
    }

    async fn find_comment(&self, id: CommentId) -> StoreResult<Option<Comment>> {
        let row: Option<CommentRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            comment_select!(),
            " WHERE c.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(Comment::from))
    }

    async fn add_comment(
        &self,
        issue: IssueId,
        author: UserId,
        body: &str,
        visibility: Option<&Visibility>,
        at: Timestamp,
    ) -> StoreResult<Comment> {
        let (role, group) = visibility_columns(visibility);
        let id: i64 = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let id = sqlx::query_scalar(
                "INSERT INTO comments (issue_id, author_id, update_author_id, body, created_at, \
                 updated_at, body_lower, visibility_role, visibility_group) \
                 VALUES ($1, $2, $2, $3, $4, $4, $5, $6, $7) RETURNING id",
            )
            .bind(issue.0)
            .bind(author.0)
            .bind(body)
            .bind(at.as_millis())
            .bind(body.to_lowercase())
            .bind(role)
            .bind(&group)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, any_conflict))?;
            sqlx::query("UPDATE issues SET updated_at = $1 WHERE id = $2")
                .bind(at.as_millis())
                .bind(issue.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            id
        });
        self.find_comment(CommentId(id))
            .await?
            .ok_or(StoreError::MissingReference)
    }

    async fn update_comment(
        &self,
        id: CommentId,
        body: &str,
        visibility: Option<&Visibility>,
        editor: UserId,
        at: Timestamp,
    ) -> StoreResult<Option<Comment>> {
        let (role, group) = visibility_columns(visibility);
        let updated = on_pool!(self, write_work, |pool| {
            sqlx::query(
                "UPDATE comments SET body = $1, update_author_id = $2, updated_at = $3, \
             body_lower = $4, visibility_role = $6, visibility_group = $7 WHERE id = $5",
            )
            .bind(body)
            .bind(editor.0)
            .bind(at.as_millis())
            .bind(body.to_lowercase())
            .bind(id.0)
            .bind(role)
            .bind(&group)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(|e| write_error(e, any_conflict))
        })?;
        if updated == 0 {
            return Ok(None);
        }
        self.find_comment(id).await
    }

    async fn delete_comment(&self, id: CommentId) -> StoreResult<bool> {
        let deleted = on_pool!(self, write_work, |pool| sqlx::query(
            "DELETE FROM comments WHERE id = $1"
        )
        .bind(id.0)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(deleted == 1)
    }

    async fn list_changelog(
        &self,
        issue: IssueId,
        page: PageRequest,
    ) -> StoreResult<Page<ChangeGroup>> {
        let (total, groups, items): (i64, Vec<ChangeGroupRow>, Vec<ChangeItemRow>) =
            on_pool!(self, read, |pool| {
                let groups: Vec<ChangeGroupRow> = sqlx::query_as(concat!(
                    change_group_select!(),
                    " WHERE g.issue_id = $1 ORDER BY g.id LIMIT $2 OFFSET $3"
                ))
                .bind(issue.0)
                .bind(page.limit)
                .bind(page.start_at)
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                // The page's entries are consecutive in id order: their items are one range.
                let items: Vec<ChangeItemRow> = match (groups.first(), groups.last()) {
                    (Some(first), Some(last)) => sqlx::query_as(
                        "SELECT ci.group_id, ci.field, ci.field_type, ci.from_value, \
                         ci.from_string, ci.to_value, ci.to_string \
                         FROM changelog_items ci JOIN changelog_groups g ON g.id = ci.group_id \
                         WHERE g.issue_id = $1 AND g.id >= $2 AND g.id <= $3 \
                         ORDER BY ci.group_id, ci.position",
                    )
                    .bind(issue.0)
                    .bind(first.id())
                    .bind(last.id())
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?,
                    _ => Vec::new(),
                };
                // A page that is not full, and not past the end, tells the total itself.
                let shown = groups.len() as i64;
                let total = if shown < page.limit && (shown > 0 || page.start_at == 0) {
                    page.start_at + shown
                } else {
                    sqlx::query_scalar("SELECT COUNT(*) FROM changelog_groups WHERE issue_id = $1")
                        .bind(issue.0)
                        .fetch_one(pool)
                        .await
                        .map_err(backend)?
                };
                (total, groups, items)
            });
        let mut items = items.into_iter().peekable();
        let groups = groups
            .into_iter()
            .map(|group| {
                let mut own: Vec<ChangeItem> = Vec::new();
                while let Some(item) = items.next_if(|item| item.group_id == group.id()) {
                    own.push(item.into());
                }
                group.into_group(own)
            })
            .collect();
        Ok(Page {
            items: groups,
            start_at: page.start_at,
            max_results: page.limit,
            total,
        })
    }

    async fn list_watchers(&self, issue: IssueId) -> StoreResult<Vec<User>> {
        self.set_members(UserSet::Watchers, issue).await
    }

    async fn watches(&self, issue: IssueId, viewer: UserId) -> StoreResult<Watches> {
        let (count, is_watching) = self.set_count(UserSet::Watchers, issue, viewer).await?;
        Ok(Watches { count, is_watching })
    }

    async fn watches_and_votes(
        &self,
        issue: IssueId,
        viewer: UserId,
    ) -> StoreResult<(Watches, Votes)> {
        let (watchers, watching, votes, voted): (i64, bool, i64, bool) =
            on_pool!(self, read, |pool| sqlx::query_as(
                "SELECT (SELECT COUNT(*) FROM issue_watchers WHERE issue_id = $1), \
                 EXISTS (SELECT 1 FROM issue_watchers WHERE issue_id = $1 AND user_id = $2), \
                 (SELECT COUNT(*) FROM issue_votes WHERE issue_id = $1), \
                 EXISTS (SELECT 1 FROM issue_votes WHERE issue_id = $1 AND user_id = $2)"
            )
            .bind(issue.0)
            .bind(viewer.0)
            .fetch_one(pool)
            .await
            .map_err(backend))?;
        let watches = Watches {
            count: watchers,
            is_watching: watching,
        };
        let votes = Votes {
            count: votes,
            has_voted: voted,
        };
        Ok((watches, votes))
    }

    async fn add_watcher(&self, issue: IssueId, user: UserId, at: Timestamp) -> StoreResult<bool> {
        self.set_add(UserSet::Watchers, issue, user, at).await
    }

    async fn remove_watcher(&self, issue: IssueId, user: UserId) -> StoreResult<bool> {
        self.set_remove(UserSet::Watchers, issue, user).await
    }

    async fn locate_issues(
        &self,
        keys: &[(String, i64)],
        ids: &[IssueId],
    ) -> StoreResult<Vec<IssueLocation>> {
        self.find_locations(keys, ids).await
    }

    async fn locate_names(
        &self,
        user_names: &[String],
        user_ids: &[UserId],
        groups: &[String],
    ) -> StoreResult<NamesFound> {
        self.find_names(user_names, user_ids, groups).await
    }

    async fn search_issues(
        &self,
        query: &SearchQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Issue>> {
        self.run_search(query, page).await
    }
}
