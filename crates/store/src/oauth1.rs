//! OAuth 1.0a application links' records: consumers, their tokens (kept as digests), and the
//! nonces of signed requests.
//!
//! A nonce is recorded by an INSERT that only its first use can win (the primary key is the
//! consumer, token, timestamp and nonce), so a replay is refused on every instance sharing
//! the database, however close together the two requests come. A consumer is deleted with
//! its tokens (ON DELETE CASCADE) and its audit event in one transaction.

use async_trait::async_trait;
use tessera_core::audit::AuditEvent;
use tessera_core::clock::Timestamp;
use tessera_core::ids::UserId;
use tessera_core::oauth1::{Consumer, ConsumerChanges, ConsumerId, NewConsumer, Nonce};
use tessera_core::store::{Conflict, OAuth1Store, StoreError, StoreResult};

use crate::audit::insert_audit;
use crate::{SqlStore, backend, on_pool, write_error};

#[derive(sqlx::FromRow)]
struct ConsumerRow {
    id: i64,
    consumer_key: String,
    name: String,
    public_key: String,
    callback: String,
    created_at: i64,
    created_by: Option<i64>,
}

impl From<ConsumerRow> for Consumer {
    fn from(row: ConsumerRow) -> Self {
        Self {
            id: ConsumerId(row.id),
            consumer_key: row.consumer_key,
            name: row.name,
            public_key: row.public_key,
            callback: row.callback,
            created: Timestamp::from_millis(row.created_at),
            created_by: row.created_by.map(UserId),
        }
    }
}

macro_rules! consumer_columns {
    () => {
        "id, consumer_key, name, public_key, callback, created_at, created_by"
    };
}

fn consumer_key_conflict(_: &str) -> Conflict {
    Conflict::ConsumerKey
}

#[async_trait]
impl OAuth1Store for SqlStore {
    async fn create_consumer(&self, consumer: NewConsumer) -> StoreResult<Consumer> {
        on_pool!(self, write, |pool| sqlx::query(
            "INSERT INTO oauth1_consumers (consumer_key, name, public_key, callback, \
             created_at, created_by) VALUES ($1, $2, $3, $4, $5, $6)"
        )
        .bind(&consumer.consumer_key)
        .bind(&consumer.name)
        .bind(&consumer.public_key)
        .bind(&consumer.callback)
        .bind(consumer.created.as_millis())
        .bind(consumer.created_by.map(|u| u.0))
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, consumer_key_conflict)))?;
        self.find_consumer(&consumer.consumer_key)
            .await?
            .ok_or(StoreError::MissingReference)
    }

    async fn list_consumers(&self) -> StoreResult<Vec<Consumer>> {
        let rows: Vec<ConsumerRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            consumer_columns!(),
            " FROM oauth1_consumers ORDER BY name, id"
        ))
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows.into_iter().map(Consumer::from).collect())
    }

    async fn find_consumer(&self, consumer_key: &str) -> StoreResult<Option<Consumer>> {
        let row: Option<ConsumerRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            consumer_columns!(),
            " FROM oauth1_consumers WHERE consumer_key = $1"
        ))
        .bind(consumer_key)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(Consumer::from))
    }

    async fn update_consumer(
        &self,
        consumer_key: &str,
        changes: &ConsumerChanges,
    ) -> StoreResult<Option<Consumer>> {
        let updated = on_pool!(self, write, |pool| sqlx::query(
            "UPDATE oauth1_consumers SET name = COALESCE($2, name), \
             public_key = COALESCE($3, public_key), callback = COALESCE($4, callback) \
             WHERE consumer_key = $1"
        )
        .bind(consumer_key)
        .bind(&changes.name)
        .bind(&changes.public_key)
        .bind(&changes.callback)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        if updated == 0 {
            return Ok(None);
        }
        self.find_consumer(consumer_key).await
    }

    async fn delete_consumer(&self, consumer_key: &str, audit: &AuditEvent) -> StoreResult<bool> {
        let deleted = on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            // The tokens go first, explicitly: the cascade is the schema's promise, this is
            // the statement's.
            sqlx::query(
                "DELETE FROM oauth1_tokens WHERE consumer_id IN \
                 (SELECT id FROM oauth1_consumers WHERE consumer_key = $1)",
            )
            .bind(consumer_key)
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            let deleted = sqlx::query("DELETE FROM oauth1_consumers WHERE consumer_key = $1")
                .bind(consumer_key)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            if deleted > 0 {
                insert_audit!(&mut *tx, audit);
            }
            tx.commit().await.map_err(backend)?;
            deleted
        });
        Ok(deleted > 0)
    }

    async fn use_nonce(&self, nonce: &Nonce) -> StoreResult<bool> {
        let inserted = on_pool!(self, write, |pool| {
            sqlx::query(
            "INSERT INTO oauth1_nonces (consumer_key, token, ts, nonce) VALUES ($1, $2, $3, $4) \
             ON CONFLICT DO NOTHING"
        )
        .bind(&nonce.consumer_key)
        .bind(&nonce.token)
        .bind(nonce.timestamp)
        .bind(&nonce.nonce)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend)
        })?;
        Ok(inserted == 1)
    }

    async fn prune_nonces(&self, before: i64) -> StoreResult<u64> {
        on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM oauth1_nonces WHERE ts < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))
    }
}
