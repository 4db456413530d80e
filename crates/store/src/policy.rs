//! The access policy: one row holding the JSON document and its version. A change is a
//! compare-and-set on the version, written with its audit event in one transaction, so two
//! administrators changing the policy at once cannot silently overwrite each other.

use async_trait::async_trait;
use tessera_core::audit::AuditEvent;
use tessera_core::clock::Timestamp;
use tessera_core::store::{PolicyStore, StoreResult, StoredPolicy};

use crate::audit::insert_audit;
use crate::{SqlStore, backend, on_pool};

#[derive(sqlx::FromRow)]
struct PolicyRow {
    version: i64,
    document: String,
    updated_at: i64,
    updated_by: Option<String>,
}

impl From<PolicyRow> for StoredPolicy {
    fn from(row: PolicyRow) -> Self {
        Self {
            version: row.version,
            document: row.document,
            updated: Timestamp::from_millis(row.updated_at),
            updated_by: row.updated_by,
        }
    }
}

const SELECT: &str = "SELECT version, document, updated_at, updated_by FROM access_policy";

#[async_trait]
impl PolicyStore for SqlStore {
    async fn find_policy(&self) -> StoreResult<Option<StoredPolicy>> {
        let row: Option<PolicyRow> = on_pool!(self, read, |pool| sqlx::query_as(SELECT)
            .fetch_optional(pool)
            .await
            .map_err(backend))?;
        Ok(row.map(StoredPolicy::from))
    }

    async fn seed_policy(&self, document: &str, at: Timestamp) -> StoreResult<StoredPolicy> {
        let row: PolicyRow = on_pool!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO access_policy (id, version, document, updated_at) \
                 VALUES (1, 1, $1, $2) ON CONFLICT (id) DO NOTHING",
            )
            .bind(document)
            .bind(at.as_millis())
            .execute(pool)
            .await
            .map_err(backend)?;
            sqlx::query_as(SELECT)
                .fetch_one(pool)
                .await
                .map_err(backend)?
        });
        Ok(row.into())
    }

    async fn replace_policy(
        &self,
        expected: i64,
        document: &str,
        at: Timestamp,
        by: Option<&str>,
        audit: &AuditEvent,
    ) -> StoreResult<Option<i64>> {
        let version = expected.saturating_add(1);
        let done = on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let done = sqlx::query(
                "UPDATE access_policy SET version = $2, document = $3, updated_at = $4, \
                 updated_by = $5 WHERE id = 1 AND version = $1",
            )
            .bind(expected)
            .bind(version)
            .bind(document)
            .bind(at.as_millis())
            .bind(by)
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
            if done > 0 {
                insert_audit!(&mut *tx, audit);
            }
            tx.commit().await.map_err(backend)?;
            done
        });
        Ok((done > 0).then_some(version))
    }

    async fn policy_version(&self) -> StoreResult<i64> {
        let version: Option<i64> = on_pool!(self, read, |pool| sqlx::query_scalar(
            "SELECT version FROM access_policy WHERE id = 1"
        )
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(version.unwrap_or(0))
    }
}
