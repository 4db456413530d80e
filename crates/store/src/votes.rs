//! Votes for issues: one row per user and issue.

use async_trait::async_trait;
use tessera_core::clock::Timestamp;
use tessera_core::ids::{IssueId, UserId};
use tessera_core::model::{User, Votes};
use tessera_core::store::{StoreResult, VoteStore};

use crate::rows::{UserRow, user_columns};
use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

#[async_trait]
impl VoteStore for SqlStore {
    async fn list_voters(&self, issue: IssueId) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            user_columns!("u"),
            " FROM issue_votes v JOIN users u ON u.id = v.user_id",
            " WHERE v.issue_id = $1 ORDER BY u.name"
        ))
        .bind(issue.0)
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    async fn votes(&self, issue: IssueId, viewer: UserId) -> StoreResult<Votes> {
        let (count, mine): (i64, i64) = on_pool!(self, read, |pool| sqlx::query_as(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN user_id = $2 THEN 1 ELSE 0 END), 0) \
             FROM issue_votes WHERE issue_id = $1",
        )
        .bind(issue.0)
        .bind(viewer.0)
        .fetch_one(pool)
        .await
        .map_err(backend))?;
        Ok(Votes {
            count,
            has_voted: mine > 0,
        })
    }

    async fn add_vote(&self, issue: IssueId, user: UserId, at: Timestamp) -> StoreResult<bool> {
        let added = on_pool!(self, write, |pool| sqlx::query(
            "INSERT INTO issue_votes (issue_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
        )
        .bind(issue.0)
        .bind(user.0)
        .bind(at.as_millis())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, any_conflict)))?;
        Ok(added == 1)
    }

    async fn remove_vote(&self, issue: IssueId, user: UserId) -> StoreResult<bool> {
        let removed = on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM issue_votes WHERE issue_id = $1 AND user_id = $2"
        )
        .bind(issue.0)
        .bind(user.0)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(removed == 1)
    }
}
