//! Issue properties: JSON values kept on an issue under a key.

use async_trait::async_trait;
use tessera_core::clock::Timestamp;
use tessera_core::ids::IssueId;
use tessera_core::store::{IssuePropertyStore, StoreResult};

use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

#[async_trait]
impl IssuePropertyStore for SqlStore {
    async fn issue_property_keys(&self, issue: IssueId) -> StoreResult<Vec<String>> {
        on_pool!(self, read, |pool| sqlx::query_scalar(
            "SELECT prop_key FROM issue_properties WHERE issue_id = $1 ORDER BY prop_key"
        )
        .bind(issue.0)
        .fetch_all(pool)
        .await
        .map_err(backend))
    }

    async fn issue_property(&self, issue: IssueId, key: &str) -> StoreResult<Option<String>> {
        on_pool!(self, read, |pool| sqlx::query_scalar(
            "SELECT value FROM issue_properties WHERE issue_id = $1 AND prop_key = $2"
        )
        .bind(issue.0)
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(backend))
    }

    async fn set_issue_property(
        &self,
        issue: IssueId,
        key: &str,
        value: &str,
        at: Timestamp,
    ) -> StoreResult<bool> {
        on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let updated = sqlx::query(
                "UPDATE issue_properties SET value = $3, updated_at = $4 \
                 WHERE issue_id = $1 AND prop_key = $2",
            )
            .bind(issue.0)
            .bind(key)
            .bind(value)
            .bind(at.as_millis())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
            if updated == 0 {
                sqlx::query(
                    "INSERT INTO issue_properties (issue_id, prop_key, value, updated_at) \
                     VALUES ($1, $2, $3, $4)",
                )
                .bind(issue.0)
                .bind(key)
                .bind(value)
                .bind(at.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, any_conflict))?;
            }
            tx.commit().await.map_err(backend)?;
            Ok(updated == 0)
        })
    }

    async fn delete_issue_property(&self, issue: IssueId, key: &str) -> StoreResult<bool> {
        let deleted = on_pool!(self, write_work, |pool| sqlx::query(
            "DELETE FROM issue_properties WHERE issue_id = $1 AND prop_key = $2"
        )
        .bind(issue.0)
        .bind(key)
        .execute(pool)
        .await
        .map_err(backend)?
        .rows_affected());
        Ok(deleted == 1)
    }
}
