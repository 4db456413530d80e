//! Login sessions, kept by the digest of their id.

use async_trait::async_trait;
use tessera_core::clock::Timestamp;
use tessera_core::ids::UserId;
use tessera_core::model::{Session, User};
use tessera_core::store::{SessionStore, StoreResult};

use crate::rows::{UserRow, user_columns};
use crate::{SqlStore, backend, on_pool, write_error};

#[derive(sqlx::FromRow)]
struct SessionRow {
    id_digest: Vec<u8>,
    created_at: i64,
    last_seen_at: i64,
    websudo_until: Option<i64>,
    #[sqlx(flatten)]
    user: UserRow,
}

#[async_trait]
impl SessionStore for SqlStore {
    async fn create_session(&self, session: &Session) -> StoreResult<()> {
        on_pool!(self, write, |pool| sqlx::query(
            "INSERT INTO sessions (id_digest, user_id, created_at, last_seen_at) \
             VALUES ($1, $2, $3, $4)"
        )
        .bind(&session.id_digest)
        .bind(session.user_id.0)
        .bind(session.created.as_millis())
        .bind(session.last_seen.as_millis())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, crate::any_conflict)))?;
        Ok(())
    }

    async fn find_session(&self, id_digest: &[u8]) -> StoreResult<Option<(Session, User)>> {
        let row: Option<SessionRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT s.id_digest, s.created_at, s.last_seen_at, s.websudo_until, ",
            user_columns!("u"),
            " FROM sessions s JOIN users u ON u.id = s.user_id WHERE s.id_digest = $1"
        ))
        .bind(id_digest)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(|row| {
            let user = User::from(row.user);
            let session = Session {
                id_digest: row.id_digest,
                user_id: user.id,
                created: Timestamp::from_millis(row.created_at),
                last_seen: Timestamp::from_millis(row.last_seen_at),
                websudo_until: row.websudo_until.map(Timestamp::from_millis),
            };
            (session, user)
        }))
    }

    async fn touch_session(&self, id_digest: &[u8], at: Timestamp) -> StoreResult<()> {
        on_pool!(self, write_log, |pool| sqlx::query(
            "UPDATE sessions SET last_seen_at = $1 WHERE id_digest = $2 AND last_seen_at < $1"
        )
        .bind(at.as_millis())
        .bind(id_digest)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(())
    }

    async fn set_websudo(&self, id_digest: &[u8], until: Option<Timestamp>) -> StoreResult<bool> {
        let done = on_pool!(self, write, |pool| sqlx::query(
            "UPDATE sessions SET websudo_until = $1 WHERE id_digest = $2"
        )
        .bind(until.map(Timestamp::as_millis))
        .bind(id_digest)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(done > 0)
    }

    async fn delete_session(&self, id_digest: &[u8]) -> StoreResult<bool> {
        let deleted = on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM sessions WHERE id_digest = $1"
        )
        .bind(id_digest)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(deleted == 1)
    }

    async fn delete_user_sessions(&self, user: UserId, keep: Option<&[u8]>) -> StoreResult<u64> {
        let deleted = on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id_digest <> $2)"
        )
        .bind(user.0)
        .bind(keep)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(deleted)
    }

    async fn delete_expired_sessions(
        &self,
        idle_before: Timestamp,
        created_before: Timestamp,
    ) -> StoreResult<u64> {
        let deleted = on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM sessions WHERE last_seen_at < $1 OR created_at < $2"
        )
        .bind(idle_before.as_millis())
        .bind(created_before.as_millis())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(deleted)
    }
}
