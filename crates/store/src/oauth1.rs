//! OAuth 1.0a application links' records: consumers, their tokens (kept as digests), and the
//! nonces of signed requests.
//!
//! A nonce is recorded by an INSERT that only its first use can win (the primary key is the
//! consumer, token, timestamp and nonce), so a replay is refused on every instance sharing
//! the database, however close together the two requests come. A consumer is deleted with
//! its tokens (ON DELETE CASCADE) and its audit event in one transaction.

use std::collections::HashSet;

use async_trait::async_trait;
use tessera_core::audit::AuditEvent;
use tessera_core::clock::Timestamp;
use tessera_core::ids::UserId;
use tessera_core::oauth1::{
    Consumer, ConsumerChanges, ConsumerId, NewConsumer, NewOAuth1Token, Nonce, OAuth1Token,
    OAuth1TokenKind,
};
use tessera_core::scopes::Scopes;
use tessera_core::store::{Conflict, OAuth1Store, StoreError, StoreResult};
use tessera_core::tokens::{scopes_from_text, scopes_to_text};

use crate::audit::insert_audit;
use crate::rows::{joined_user, user_columns};
use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

#[derive(sqlx::FromRow)]
struct ConsumerRow {
    id: i64,
    consumer_key: String,
    name: String,
    public_key: String,
    callback: String,
    created_at: i64,
    created_by: Option<i64>,
    run_as_user_id: Option<i64>,
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
            run_as: row.run_as_user_id.map(UserId),
        }
    }
}

macro_rules! consumer_columns {
    () => {
        "id, consumer_key, name, public_key, callback, created_at, created_by, run_as_user_id"
    };
}

/// Inserts a token with the executor given (a pool or a transaction).
macro_rules! insert_token {
    ($executor:expr, $token:expr) => {{
        let token: &NewOAuth1Token = $token;
        sqlx::query(
            "INSERT INTO oauth1_tokens (digest, kind, consumer_id, user_id, scopes, callback, \
             created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&token.digest)
        .bind(token.kind.name())
        .bind(token.consumer.0)
        .bind(token.user.map(|u| u.0))
        .bind(scopes_to_text(token.scopes))
        .bind(&token.callback)
        .bind(token.created.as_millis())
        .bind(token.expires.map(|t| t.as_millis()))
        .execute($executor)
        .await
        .map(|_| ())
        .map_err(|e| write_error(e, any_conflict))
    }};
}

/// A token with its consumer (`c_` columns) and its user, if approved (`u_` columns).
macro_rules! token_columns {
    () => {
        concat!(
            "t.id, t.digest, t.kind, t.scopes, t.callback, t.verifier_digest, t.created_at, ",
            "t.expires_at, t.used_at, t.revoked_at, ",
            "c.id AS c_id, c.consumer_key AS c_consumer_key, c.name AS c_name, ",
            "c.public_key AS c_public_key, c.callback AS c_callback, ",
            "c.created_at AS c_created_at, c.created_by AS c_created_by, ",
            "c.run_as_user_id AS c_run_as_user_id, t.user_id, ",
            user_columns!("u"),
            " FROM oauth1_tokens t JOIN oauth1_consumers c ON c.id = t.consumer_id ",
            "LEFT JOIN users u ON u.id = t.user_id"
        )
    };
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    digest: Vec<u8>,
    kind: String,
    scopes: String,
    callback: Option<String>,
    verifier_digest: Option<Vec<u8>>,
    created_at: i64,
    expires_at: Option<i64>,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    c_id: i64,
    c_consumer_key: String,
    c_name: String,
    c_public_key: String,
    c_callback: String,
    c_created_at: i64,
    c_created_by: Option<i64>,
    c_run_as_user_id: Option<i64>,
    user_id: Option<i64>,
    u_id: Option<i64>,
    u_name: Option<String>,
    u_cased_name: Option<String>,
    u_display_name: Option<String>,
    u_email: Option<String>,
    u_active: Option<bool>,
    u_has_password: Option<bool>,
    u_created_at: Option<i64>,
    u_service_owner: Option<String>,
}

impl TokenRow {
    fn into_token(self) -> StoreResult<OAuth1Token> {
        let kind = OAuth1TokenKind::parse(&self.kind).ok_or_else(|| {
            StoreError::Backend(format!("unknown OAuth 1.0a token kind '{}'", self.kind).into())
        })?;
        let user = self.user_id.and_then(|_| {
            joined_user(
                self.u_id,
                self.u_name,
                self.u_cased_name,
                self.u_display_name,
                self.u_email,
                self.u_active,
                self.u_has_password,
                self.u_created_at,
                self.u_service_owner,
            )
        });
        Ok(OAuth1Token {
            id: self.id,
            digest: self.digest,
            kind,
            consumer: Consumer {
                id: ConsumerId(self.c_id),
                consumer_key: self.c_consumer_key,
                name: self.c_name,
                public_key: self.c_public_key,
                callback: self.c_callback,
                created: Timestamp::from_millis(self.c_created_at),
                created_by: self.c_created_by.map(UserId),
                run_as: self.c_run_as_user_id.map(UserId),
            },
            user,
            scopes: scopes_from_text(&self.scopes),
            callback: self.callback,
            verifier_digest: self.verifier_digest,
            created: Timestamp::from_millis(self.created_at),
            expires: self.expires_at.map(Timestamp::from_millis),
            used: self.used_at.map(Timestamp::from_millis),
            revoked: self.revoked_at.map(Timestamp::from_millis),
        })
    }
}

/// The most nonces one INSERT writes (four parameters each).
const NONCES_PER_STATEMENT: usize = 200;

fn key_of(nonce: &Nonce) -> (&str, &str, i64, &str) {
    (
        &nonce.consumer_key,
        &nonce.token,
        nonce.timestamp,
        &nonce.nonce,
    )
}

/// `INSERT` of `count` nonces that returns the ones it wrote (those not seen before).
fn nonces_insert(count: usize) -> String {
    let values: Vec<String> = (0..count)
        .map(|i| {
            let n = i * 4;
            format!("(${}, ${}, ${}, ${})", n + 1, n + 2, n + 3, n + 4)
        })
        .collect();
    format!(
        "INSERT INTO oauth1_nonces (consumer_key, token, ts, nonce) VALUES {} \
         ON CONFLICT DO NOTHING RETURNING consumer_key, token, ts, nonce",
        values.join(", ")
    )
}

fn consumer_key_conflict(_: &str) -> Conflict {
    Conflict::ConsumerKey
}

#[async_trait]
impl OAuth1Store for SqlStore {
    async fn create_consumer(&self, consumer: NewConsumer) -> StoreResult<Consumer> {
        on_pool!(self, write, |pool| sqlx::query(
            "INSERT INTO oauth1_consumers (consumer_key, name, public_key, callback, \
             created_at, created_by, run_as_user_id) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(&consumer.consumer_key)
        .bind(&consumer.name)
        .bind(&consumer.public_key)
        .bind(&consumer.callback)
        .bind(consumer.created.as_millis())
        .bind(consumer.created_by.map(|u| u.0))
        .bind(consumer.run_as.map(|u| u.0))
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
             public_key = COALESCE($3, public_key), callback = COALESCE($4, callback), \
             run_as_user_id = CASE WHEN $5 THEN $6 ELSE run_as_user_id END \
             WHERE consumer_key = $1"
        )
        .bind(consumer_key)
        .bind(&changes.name)
        .bind(&changes.public_key)
        .bind(&changes.callback)
        .bind(changes.run_as.is_some())
        .bind(changes.run_as.flatten().map(|u| u.0))
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

    async fn create_oauth1_token(&self, token: NewOAuth1Token) -> StoreResult<()> {
        on_pool!(self, write, |pool| insert_token!(pool, &token))?;
        Ok(())
    }

    async fn find_oauth1_token(&self, digest: &[u8]) -> StoreResult<Option<OAuth1Token>> {
        let row: Option<TokenRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " WHERE t.digest = $1"
        ))
        .bind(digest)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        row.map(TokenRow::into_token).transpose()
    }

    async fn get_oauth1_token(&self, id: i64) -> StoreResult<Option<OAuth1Token>> {
        let row: Option<TokenRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " WHERE t.id = $1"
        ))
        .bind(id)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        row.map(TokenRow::into_token).transpose()
    }

    async fn approve_request_token(
        &self,
        digest: &[u8],
        user: UserId,
        scopes: Scopes,
        verifier_digest: &[u8],
        at: Timestamp,
    ) -> StoreResult<bool> {
        let approved = on_pool!(self, write, |pool| sqlx::query(
            "UPDATE oauth1_tokens SET user_id = $2, scopes = $3, verifier_digest = $4 \
             WHERE digest = $1 AND kind = 'request' AND user_id IS NULL AND used_at IS NULL \
             AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $5)"
        )
        .bind(digest)
        .bind(user.0)
        .bind(scopes_to_text(scopes))
        .bind(verifier_digest)
        .bind(at.as_millis())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, any_conflict)))?;
        Ok(approved == 1)
    }

    async fn exchange_request_token(
        &self,
        digest: &[u8],
        access: NewOAuth1Token,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let exchanged = on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let spent = sqlx::query(
                "UPDATE oauth1_tokens SET used_at = $2 WHERE digest = $1 AND kind = 'request' \
                 AND user_id IS NOT NULL AND used_at IS NULL AND revoked_at IS NULL",
            )
            .bind(digest)
            .bind(at.as_millis())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
            if spent == 1 {
                insert_token!(&mut *tx, &access)?;
            }
            tx.commit().await.map_err(backend)?;
            spent
        });
        Ok(exchanged == 1)
    }

    async fn list_oauth1_tokens(&self, user: Option<UserId>) -> StoreResult<Vec<OAuth1Token>> {
        let rows: Vec<TokenRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            token_columns!(),
            " WHERE t.kind = 'access' AND t.revoked_at IS NULL \
             AND ($1 IS NULL OR t.user_id = $1) ORDER BY t.created_at DESC, t.id DESC"
        ))
        .bind(user.map(|u| u.0))
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        rows.into_iter().map(TokenRow::into_token).collect()
    }

    async fn revoke_oauth1_token(
        &self,
        id: i64,
        at: Timestamp,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let revoked = on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let revoked = sqlx::query(
                "UPDATE oauth1_tokens SET revoked_at = $2 WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id)
            .bind(at.as_millis())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
            if revoked > 0 {
                insert_audit!(&mut *tx, audit);
            }
            tx.commit().await.map_err(backend)?;
            revoked
        });
        Ok(revoked > 0)
    }

    async fn use_nonces(&self, nonces: &[Nonce]) -> StoreResult<Vec<bool>> {
        // The first of equal nonces is the one written; the others are replays.
        let mut seen = HashSet::with_capacity(nonces.len());
        let mut fresh: Vec<bool> = nonces.iter().map(|n| seen.insert(key_of(n))).collect();
        let firsts: Vec<&Nonce> = nonces
            .iter()
            .zip(&fresh)
            .filter_map(|(nonce, first)| first.then_some(nonce))
            .collect();
        let mut rows: Vec<(String, String, i64, String)> = Vec::with_capacity(firsts.len());
        // One statement per chunk, each its own transaction: one commit for a whole chunk.
        for chunk in firsts.chunks(NONCES_PER_STATEMENT) {
            let sql = nonces_insert(chunk.len());
            let written: Vec<(String, String, i64, String)> = on_pool!(self, write_log, |pool| {
                // Only placeholders are written into the text.
                let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
                for nonce in chunk {
                    query = query
                        .bind(&nonce.consumer_key)
                        .bind(&nonce.token)
                        .bind(nonce.timestamp)
                        .bind(&nonce.nonce);
                }
                query.fetch_all(pool).await.map_err(backend)
            })?;
            rows.extend(written);
        }
        let written: HashSet<_> = rows
            .iter()
            .map(|(consumer, token, timestamp, value)| {
                (
                    consumer.as_str(),
                    token.as_str(),
                    *timestamp,
                    value.as_str(),
                )
            })
            .collect();
        for (nonce, first) in nonces.iter().zip(fresh.iter_mut()) {
            *first = *first && written.contains(&key_of(nonce));
        }
        Ok(fresh)
    }

    async fn prune_nonces(&self, before: i64) -> StoreResult<u64> {
        on_pool!(self, write_log, |pool| sqlx::query(
            "DELETE FROM oauth1_nonces WHERE ts < $1"
        )
        .bind(before)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))
    }
}
