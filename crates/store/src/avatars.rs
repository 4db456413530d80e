//! The avatars users chose.

use async_trait::async_trait;
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
        on_pool!(self, write, |pool| sqlx::query(
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
}
