//! The avatars users chose, and the images they uploaded.

use async_trait::async_trait;
use tessera_core::clock::Timestamp;
use tessera_core::ids::UserId;
use tessera_core::store::{AvatarStore, StoreResult};

use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

#[async_trait]
impl AvatarStore for SqlStore {
    async fn chosen_avatar(&self, user: UserId) -> StoreResult<Option<i64>> {
        on_pool!(self, read, |pool| sqlx::query_scalar(
            "SELECT avatar_id FROM user_avatar_choices WHERE user_id = $1"
        )
        .bind(user.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))
    }

    async fn choose_avatar(&self, user: UserId, avatar: i64) -> StoreResult<()> {
        on_pool!(self, write_work, |pool| sqlx::query(
            "INSERT INTO user_avatar_choices (user_id, avatar_id) VALUES ($1, $2) \
             ON CONFLICT (user_id) DO UPDATE SET avatar_id = excluded.avatar_id"
        )
        .bind(user.0)
        .bind(avatar)
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(|e| write_error(e, any_conflict)))
    }

    async fn add_avatar_image(
        &self,
        user: UserId,
        mime_type: &str,
        content: &[u8],
        at: Timestamp,
    ) -> StoreResult<i64> {
        on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            sqlx::query("DELETE FROM user_avatar_images WHERE user_id = $1 AND NOT confirmed")
                .bind(user.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO user_avatar_images (user_id, mime_type, content, confirmed, \
                 created_at) VALUES ($1, $2, $3, FALSE, $4) RETURNING id",
            )
            .bind(user.0)
            .bind(mime_type)
            .bind(content)
            .bind(at.as_millis())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, any_conflict))?;
            tx.commit().await.map_err(backend)?;
            Ok(id)
        })
    }

    async fn confirm_avatar_image(&self, user: UserId) -> StoreResult<Option<i64>> {
        on_pool!(self, write_work, |pool| sqlx::query_scalar(
            "UPDATE user_avatar_images SET confirmed = TRUE \
             WHERE user_id = $1 AND NOT confirmed RETURNING id"
        )
        .bind(user.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))
    }

    async fn avatar_images(&self, user: UserId) -> StoreResult<Vec<i64>> {
        on_pool!(self, read, |pool| sqlx::query_scalar(
            "SELECT id FROM user_avatar_images WHERE user_id = $1 AND confirmed ORDER BY id"
        )
        .bind(user.0)
        .fetch_all(pool)
        .await
        .map_err(backend))
    }

    async fn avatar_image(&self, id: i64) -> StoreResult<Option<(UserId, String, Vec<u8>)>> {
        let row: Option<(i64, String, Vec<u8>)> = on_pool!(self, read, |pool| sqlx::query_as(
            "SELECT user_id, mime_type, content FROM user_avatar_images \
             WHERE id = $1 AND confirmed"
        )
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(|(user, mime, content)| (UserId(user), mime, content)))
    }

    async fn delete_avatar_image(&self, user: UserId, id: i64) -> StoreResult<bool> {
        on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let deleted = sqlx::query(
                "DELETE FROM user_avatar_images WHERE id = $1 AND user_id = $2 AND confirmed",
            )
            .bind(id)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
            sqlx::query("DELETE FROM user_avatar_choices WHERE user_id = $1 AND avatar_id = $2")
                .bind(user.0)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            Ok(deleted == 1)
        })
    }
}
