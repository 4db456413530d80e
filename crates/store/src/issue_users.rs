//! Sets of users per issue (its watchers, its voters): each a table of `(issue_id, user_id,
//! created_at)` with one row per user, read and written the same way.

use tessera_core::clock::Timestamp;
use tessera_core::ids::{IssueId, UserId};
use tessera_core::model::User;
use tessera_core::store::StoreResult;

use crate::rows::{UserRow, user_columns};
use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

/// Which set.
#[derive(Clone, Copy, Debug)]
pub(crate) enum UserSet {
    Watchers,
    Voters,
}

impl UserSet {
    fn table(self) -> &'static str {
        match self {
            Self::Watchers => "issue_watchers",
            Self::Voters => "issue_votes",
        }
    }
}

impl SqlStore {
    /// The set's users, by name.
    pub(crate) async fn set_members(&self, set: UserSet, issue: IssueId) -> StoreResult<Vec<User>> {
        let query = format!(
            "SELECT {} FROM {} s JOIN users u ON u.id = s.user_id WHERE s.issue_id = $1 \
             ORDER BY u.name",
            user_columns!("u"),
            set.table()
        );
        let rows: Vec<UserRow> = on_pool!(self, read, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            query.clone()
        ))
        .bind(issue.0)
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    /// How many are in the set, and whether `viewer` is.
    pub(crate) async fn set_count(
        &self,
        set: UserSet,
        issue: IssueId,
        viewer: UserId,
    ) -> StoreResult<(i64, bool)> {
        let query = format!(
            "SELECT COUNT(*), COALESCE(SUM(CASE WHEN user_id = $2 THEN 1 ELSE 0 END), 0) \
             FROM {} WHERE issue_id = $1",
            set.table()
        );
        let (count, mine): (i64, i64) = on_pool!(self, read, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(query.clone())
        )
        .bind(issue.0)
        .bind(viewer.0)
        .fetch_one(pool)
        .await
        .map_err(backend))?;
        Ok((count, mine > 0))
    }

    /// `false` if the user was in the set already.
    pub(crate) async fn set_add(
        &self,
        set: UserSet,
        issue: IssueId,
        user: UserId,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let query = format!(
            "INSERT INTO {} (issue_id, user_id, created_at) VALUES ($1, $2, $3) \
             ON CONFLICT DO NOTHING",
            set.table()
        );
        let added = on_pool!(self, write_work, |pool| sqlx::query(sqlx::AssertSqlSafe(
            query.clone()
        ))
        .bind(issue.0)
        .bind(user.0)
        .bind(at.as_millis())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, any_conflict)))?;
        Ok(added == 1)
    }

    /// `false` if the user was not in the set.
    pub(crate) async fn set_remove(
        &self,
        set: UserSet,
        issue: IssueId,
        user: UserId,
    ) -> StoreResult<bool> {
        let query = format!(
            "DELETE FROM {} WHERE issue_id = $1 AND user_id = $2",
            set.table()
        );
        let removed = on_pool!(self, write_work, |pool| sqlx::query(sqlx::AssertSqlSafe(
            query.clone()
        ))
        .bind(issue.0)
        .bind(user.0)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(removed == 1)
    }
}
