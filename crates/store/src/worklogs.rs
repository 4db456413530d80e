//! Work logged on issues. Each change to a worklog changes its issue's time spent (and,
//! as asked, remaining estimate) in the same transaction, so the issue's sum is never off;
//! a deleted worklog is remembered (id, project, time) for the incremental exports.

use async_trait::async_trait;
use sqlx::AssertSqlSafe;
use tessera_core::clock::Timestamp;
use tessera_core::ids::{IssueId, ProjectId, UserId, WorklogId};
use tessera_core::model::{
    EstimateChange, NewWorklog, Page, PageRequest, Worklog, WorklogChange, WorklogChanges,
};
use tessera_core::store::{StoreError, StoreResult, WorklogStore};

use crate::rows::{WorklogRow, worklog_select};
use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

const REDUCE: &str = "UPDATE issues SET time_spent = time_spent + $2, updated_at = $3, \
    remaining_estimate = CASE WHEN remaining_estimate IS NULL THEN NULL \
    WHEN remaining_estimate > $4 THEN remaining_estimate - $4 ELSE 0 END WHERE id = $1";
/// As [`REDUCE`], an issue without an estimate counting as zero left: what Jira's `auto` does
/// when a worklog's time shrinks or the worklog goes (the time given back becomes remaining).
const REDUCE_FROM_ZERO: &str = "UPDATE issues SET time_spent = time_spent + $2, \
    updated_at = $3, remaining_estimate = CASE WHEN COALESCE(remaining_estimate, 0) > $4 \
    THEN COALESCE(remaining_estimate, 0) - $4 ELSE 0 END WHERE id = $1";
const SET: &str = "UPDATE issues SET time_spent = time_spent + $2, updated_at = $3, \
    remaining_estimate = $4 WHERE id = $1";
const LEAVE: &str = "UPDATE issues SET time_spent = time_spent + $2, updated_at = $3 WHERE id = $1";

/// The statement that applies `spent` (a difference) to an issue's time spent and
/// `estimate` to its remaining estimate, and the estimate's value to bind as `$4`, if any.
/// `auto` on a new worklog leaves an issue without an estimate without one; on a changed or
/// deleted worklog it counts from zero, as Jira does.
fn accounting(spent: i64, estimate: EstimateChange, new: bool) -> (&'static str, Option<i64>) {
    match estimate {
        EstimateChange::Auto if new => (REDUCE, Some(spent)),
        EstimateChange::Auto => (REDUCE_FROM_ZERO, Some(spent)),
        EstimateChange::Reduce(by) => (REDUCE, Some(by)),
        EstimateChange::Set(to) => (SET, Some(to.max(0))),
        EstimateChange::Leave => (LEAVE, None),
    }
}

/// Runs [`accounting`]'s statement on `$tx` for issue `$issue`; `true` if the issue exists.
macro_rules! account {
    ($tx:expr, $issue:expr, $spent:expr, $estimate:expr, $at:expr, $new:expr) => {{
        let (sql, value) = accounting($spent, $estimate, $new);
        let mut query = sqlx::query(sql)
            .bind($issue)
            .bind($spent)
            .bind($at.as_millis());
        if let Some(value) = value {
            query = query.bind(value);
        }
        query
            .execute(&mut *$tx)
            .await
            .map(|done| done.rows_affected() > 0)
            .map_err(backend)
    }};
}

#[async_trait]
impl WorklogStore for SqlStore {
    async fn add_worklog(
        &self,
        worklog: &NewWorklog,
        estimate: EstimateChange,
    ) -> StoreResult<Worklog> {
        let id: i64 = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO worklogs (issue_id, author_id, update_author_id, comment, started_at, \
                 time_spent, created_at, updated_at) VALUES ($1, $2, $2, $3, $4, $5, $6, $6) \
                 RETURNING id",
            )
            .bind(worklog.issue.0)
            .bind(worklog.author.0)
            .bind(&worklog.comment)
            .bind(worklog.started.as_millis())
            .bind(worklog.time_spent_seconds)
            .bind(worklog.at.as_millis())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, any_conflict))?;
            let found = account!(
                tx,
                worklog.issue.0,
                worklog.time_spent_seconds,
                estimate,
                worklog.at,
                true
            )?;
            if !found {
                return Err(StoreError::MissingReference);
            }
            tx.commit().await.map_err(backend)?;
            id
        });
        self.find_worklog(WorklogId(id))
            .await?
            .ok_or(StoreError::MissingReference)
    }

    async fn list_worklogs(&self, issue: IssueId, page: PageRequest) -> StoreResult<Page<Worklog>> {
        let (total, rows): (i64, Vec<WorklogRow>) = on_pool!(self, read, |pool| {
            let rows: Vec<WorklogRow> = sqlx::query_as(concat!(
                worklog_select!(),
                " WHERE w.issue_id = $1 ORDER BY w.id LIMIT $2 OFFSET $3"
            ))
            .bind(issue.0)
            .bind(page.limit)
            .bind(page.start_at)
            .fetch_all(pool)
            .await
            .map_err(backend)?;
            let total: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM worklogs WHERE issue_id = $1")
                    .bind(issue.0)
                    .fetch_one(pool)
                    .await
                    .map_err(backend)?;
            (total, rows)
        });
        Ok(Page {
            items: rows.into_iter().map(Worklog::from).collect(),
            start_at: page.start_at,
            max_results: page.limit,
            total,
        })
    }

    async fn find_worklog(&self, id: WorklogId) -> StoreResult<Option<Worklog>> {
        let row: Option<WorklogRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            worklog_select!(),
            " WHERE w.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(Worklog::from))
    }

    async fn update_worklog(
        &self,
        id: WorklogId,
        changes: &WorklogChanges,
        editor: UserId,
        estimate: EstimateChange,
        at: Timestamp,
    ) -> StoreResult<Option<Worklog>> {
        let updated = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            // Locks the worklog's row (an update that changes nothing yet) and reads it.
            let current: Option<(i64, i64)> = sqlx::query_as(
                "UPDATE worklogs SET updated_at = updated_at WHERE id = $1 \
                 RETURNING issue_id, time_spent",
            )
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            let Some((issue, spent)) = current else {
                return Ok(None);
            };
            let new_spent = changes.time_spent_seconds.unwrap_or(spent);
            sqlx::query(
                "UPDATE worklogs SET comment = COALESCE($2, comment), \
                 started_at = COALESCE($3, started_at), time_spent = $4, update_author_id = $5, \
                 updated_at = $6 WHERE id = $1",
            )
            .bind(id.0)
            .bind(changes.comment.as_deref())
            .bind(changes.started.map(Timestamp::as_millis))
            .bind(new_spent)
            .bind(editor.0)
            .bind(at.as_millis())
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, any_conflict))?;
            account!(tx, issue, new_spent - spent, estimate, at, false)?;
            tx.commit().await.map_err(backend)?;
            true
        });
        if !updated {
            return Ok(None);
        }
        self.find_worklog(id).await
    }

    async fn delete_worklog(
        &self,
        id: WorklogId,
        estimate: EstimateChange,
        at: Timestamp,
    ) -> StoreResult<bool> {
        Ok(on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let deleted: Option<(i64, i64)> =
                sqlx::query_as("DELETE FROM worklogs WHERE id = $1 RETURNING issue_id, time_spent")
                    .bind(id.0)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
            let Some((issue, spent)) = deleted else {
                return Ok(false);
            };
            account!(tx, issue, -spent, estimate, at, false)?;
            sqlx::query(
                "INSERT INTO worklog_deletions (worklog_id, project_id, deleted_at) \
                 SELECT $1, project_id, $2 FROM issues WHERE id = $3",
            )
            .bind(id.0)
            .bind(at.as_millis())
            .bind(issue)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            true
        }))
    }

    async fn worklog_changes(
        &self,
        since: Timestamp,
        deleted: bool,
        limit: i64,
    ) -> StoreResult<Vec<WorklogChange>> {
        let sql = if deleted {
            "SELECT worklog_id, project_id, deleted_at FROM worklog_deletions \
             WHERE deleted_at >= $1 ORDER BY deleted_at, worklog_id LIMIT $2"
        } else {
            "SELECT w.id, i.project_id, w.updated_at FROM worklogs w \
             JOIN issues i ON i.id = w.issue_id WHERE w.updated_at >= $1 \
             ORDER BY w.updated_at, w.id LIMIT $2"
        };
        let rows: Vec<(i64, i64, i64)> = on_pool!(self, read, |pool| sqlx::query_as(sql)
            .bind(since.as_millis())
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(backend))?;
        Ok(rows
            .into_iter()
            .map(|(worklog, project, at)| WorklogChange {
                worklog: WorklogId(worklog),
                project: ProjectId(project),
                at: Timestamp::from_millis(at),
            })
            .collect())
    }

    async fn find_worklogs(&self, ids: &[WorklogId]) -> StoreResult<Vec<(Worklog, ProjectId)>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let placeholders: Vec<String> = (1..=ids.len()).map(|n| format!("${n}")).collect();
        let sql = format!(
            "{} WHERE w.id IN ({}) ORDER BY w.id",
            worklog_select!(),
            placeholders.join(", ")
        );
        let rows: Vec<WorklogRow> = on_pool!(self, read, |pool| {
            // Only numbered placeholders are formatted in; the ids are bound.
            let mut query = sqlx::query_as(AssertSqlSafe(sql.as_str()));
            for id in ids {
                query = query.bind(id.0);
            }
            query.fetch_all(pool).await.map_err(backend)?
        });
        Ok(rows
            .into_iter()
            .map(|row| {
                let project = ProjectId(row.project_id);
                (Worklog::from(row), project)
            })
            .collect())
    }
}
