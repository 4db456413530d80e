//! Password attempts per subject, shared by every instance on the database. Taking a number is
//! one atomic upsert that also suspends the subject when the count reaches its threshold, so
//! concurrent attempts are neither lost nor able to slip past the threshold together.

use async_trait::async_trait;
use tessera_core::clock::Timestamp;
use tessera_core::store::{StoreResult, ThrottleStore};

use crate::{SqlStore, backend, on_pool};

#[async_trait]
impl ThrottleStore for SqlStore {
    async fn take_login_attempt(
        &self,
        subject: &str,
        at: Timestamp,
        window_start: Timestamp,
        threshold: i64,
        first_wait_ms: i64,
    ) -> StoreResult<Option<i64>> {
        // `next` is the count this attempt takes; SET expressions read the row as it was.
        macro_rules! next {
            () => {
                "(CASE WHEN login_failures.last_failure_at < $3 \
                   AND (login_failures.blocked_until IS NULL \
                        OR login_failures.blocked_until < $3) \
                 THEN 1 ELSE login_failures.failures + 1 END)"
            };
        }
        let taken: Option<i64> = on_pool!(self, write_log, |pool| {
            sqlx::query_scalar(concat!(
                "INSERT INTO login_failures (subject, failures, last_failure_at, blocked_until) \
             VALUES ($1, 1, $2, CASE WHEN 1 >= $4 THEN $2 + $5 ELSE NULL END) \
             ON CONFLICT (subject) DO UPDATE SET failures = ",
                next!(),
                ", last_failure_at = $2, blocked_until = CASE WHEN ",
                next!(),
                " >= $4 THEN $2 + $5 ELSE login_failures.blocked_until END \
             WHERE login_failures.blocked_until IS NULL OR login_failures.blocked_until <= $2 \
             RETURNING failures"
            ))
            .bind(subject)
            .bind(at.as_millis())
            .bind(window_start.as_millis())
            .bind(threshold)
            .bind(first_wait_ms)
            .fetch_optional(pool)
            .await
            .map_err(backend)
        })?;
        // The attempt that reaches the threshold suspends the subject: a password this instance
        // remembered must not outlive that (migration 0028 tells the other instances).
        if taken.is_some_and(|count| count >= threshold) {
            self.changes.changed();
        }
        Ok(taken)
    }

    async fn return_login_attempt(&self, subject: &str, threshold: i64) -> StoreResult<()> {
        on_pool!(self, write_log, |pool| sqlx::query(
            "UPDATE login_failures SET failures = failures - 1, \
             blocked_until = CASE WHEN failures - 1 < $2 THEN NULL ELSE blocked_until END \
             WHERE subject = $1 AND failures > 0"
        )
        .bind(subject)
        .bind(threshold)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(())
    }

    async fn block_login(&self, subject: &str, until: Timestamp) -> StoreResult<()> {
        // A longer wait: as above.
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
        let done = on_pool!(self, write_log, |pool| sqlx::query(
            "DELETE FROM login_failures WHERE subject = $1"
        )
        .bind(subject)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(done > 0)
    }

    async fn delete_stale_login_failures(&self, before: Timestamp) -> StoreResult<u64> {
        on_pool!(self, write_log, |pool| sqlx::query(
            "DELETE FROM login_failures WHERE last_failure_at < $1 \
             AND (blocked_until IS NULL OR blocked_until < $1)"
        )
        .bind(before.as_millis())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))
    }
}
