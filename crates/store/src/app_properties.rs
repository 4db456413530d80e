//! Application properties an administrator changed.

use async_trait::async_trait;
use tessera_core::clock::Timestamp;
use tessera_core::store::{AppPropertyStore, StoreResult};

use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

#[async_trait]
impl AppPropertyStore for SqlStore {
    async fn app_properties(&self) -> StoreResult<Vec<(String, String)>> {
        on_pool!(self, read, |pool| sqlx::query_as(
            "SELECT prop_key, value FROM application_properties ORDER BY prop_key"
        )
        .fetch_all(pool)
        .await
        .map_err(backend))
    }

    async fn set_app_property(&self, key: &str, value: &str, at: Timestamp) -> StoreResult<()> {
        on_pool!(self, write_work, |pool| sqlx::query(
            "INSERT INTO application_properties (prop_key, value, updated_at) VALUES ($1, $2, $3) \
             ON CONFLICT (prop_key) DO UPDATE SET value = excluded.value, \
             updated_at = excluded.updated_at"
        )
        .bind(key)
        .bind(value)
        .bind(at.as_millis())
        .execute(pool)
        .await
        .map(|_| ())
        .map_err(|e| write_error(e, any_conflict)))
    }
}
