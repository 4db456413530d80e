//! Failed password attempts per subject, shared by every instance on the database. Counting is
//! one atomic upsert, so concurrent failures are never lost.

use async_trait::async_trait;
use tessera_core::clock::Timestamp;
use tessera_core::store::{StoreResult, ThrottleStore};

use crate::{SqlStore, backend, on_pool};

#[async_trait]
impl ThrottleStore for SqlStore {
    async fn record_login_failure(
        &self,
        subject: &str,
        at: Timestamp,
        window_start: Timestamp,
    ) -> StoreResult<i64> {
        on_pool!(self, write, |pool| sqlx::query_scalar(
            "INSERT INTO login_failures (subject, failures, last_failure_at) VALUES ($1, 1, $2) \
             ON CONFLICT (subject) DO UPDATE SET \
             failures = CASE WHEN login_failures.last_failure_at < $3 THEN 1 \
                        ELSE login_failures.failures + 1 END, \
             last_failure_at = $2 \
             RETURNING failures"
        )
        .bind(subject)
        .bind(at.as_millis())
        .bind(window_start.as_millis())
        .fetch_one(pool)
        .await
        .map_err(backend))
    }

    async fn block_login(&self, subject: &str, until: Timestamp) -> StoreResult<()> {
        on_pool!(self, write, |pool| sqlx::query(
            "UPDATE login_failures SET blocked_until = $2 \
             WHERE subject = $1 AND (blocked_until IS NULL OR blocked_until < $2)"
        )
        .bind(subject)
        .bind(until.as_millis())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(())
    }

    async fn login_blocked_until(&self, subjects: &[String]) -> StoreResult<Option<Timestamp>> {
        let mut latest: Option<i64> = None;
        for subject in subjects {
            let until: Option<Option<i64>> = on_pool!(self, read, |pool| sqlx::query_scalar(
                "SELECT blocked_until FROM login_failures WHERE subject = $1"
            )
            .bind(subject)
            .fetch_optional(pool)
            .await
            .map_err(backend))?;
            latest = latest.max(until.flatten());
        }
        Ok(latest.map(Timestamp::from_millis))
    }

    async fn clear_login_failures(&self, subject: &str) -> StoreResult<bool> {
        let done = on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM login_failures WHERE subject = $1"
        )
        .bind(subject)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(done > 0)
    }
}
