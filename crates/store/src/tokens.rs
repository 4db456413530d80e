//! Personal access tokens and service keys, kept by the SHA-256 digest of their secret.
//!
//! A token's project restriction is stored with the token (not in a join table that a deleted
//! project could empty, silently widening the token to every project).

use async_trait::async_trait;
use tessera_core::audit::AuditEvent;
use tessera_core::clock::Timestamp;
use tessera_core::ids::{ProjectId, TokenId, UserId};
use tessera_core::model::{Page, PageRequest, User};
use tessera_core::store::{Conflict, StoreError, StoreResult, TokenStore};
use tessera_core::tokens::{
    NewToken, RevokeReason, Token, TokenFilter, TokenKind, TokenMatch, parse_network,
    scopes_from_text, scopes_to_text,
};

use crate::audit::insert_audit;
use crate::rows::{UserRow, user_columns};
use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

macro_rules! token_select {
    () => {
        concat!(
            "SELECT t.id, t.kind, t.user_id, t.name, t.scopes, t.project_ids, t.allowed_ips, ",
            "t.created_at, t.created_by, t.expires_at, t.revoked_at, t.last_used_at, ",
            "t.last_used_ip, t.use_count, t.digest, t.previous_digest, t.previous_valid_until, ",
            user_columns!("u"),
            " FROM api_tokens t JOIN users u ON u.id = t.user_id "
        )
    };
}

/// The filter of an administrator's token list; `$1`..`$9` are bound by `bind_filter!`.
macro_rules! token_filter {
    () => {
        "WHERE ($1 IS NULL OR t.user_id = $1) \
         AND ($2 IS NULL OR t.kind = $2) \
         AND ($3 IS NULL OR (t.expires_at IS NOT NULL AND t.expires_at < $3)) \
         AND ($4 IS NULL OR t.created_at < $4) \
         AND ($5 IS NULL OR (t.last_used_at IS NOT NULL AND t.last_used_at < $5)) \
         AND (NOT $6 OR t.last_used_at IS NULL) \
         AND ($7 OR t.revoked_at IS NULL) \
         AND ($8 IS NULL OR (t.created_at < $8 AND (t.last_used_at IS NULL OR t.last_used_at < $8))) \
         AND ($9 IS NULL OR t.expires_at IS NULL OR t.expires_at > $9)"
    };
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    id: i64,
    kind: String,
    user_id: i64,
    name: String,
    scopes: String,
    project_ids: Option<String>,
    allowed_ips: Option<String>,
    created_at: i64,
    created_by: Option<i64>,
    expires_at: Option<i64>,
    revoked_at: Option<i64>,
    last_used_at: Option<i64>,
    last_used_ip: Option<String>,
    use_count: i64,
    digest: Vec<u8>,
    previous_digest: Option<Vec<u8>>,
    previous_valid_until: Option<i64>,
    #[sqlx(flatten)]
    owner: UserRow,
}

impl TokenRow {
    fn into_token_and_owner(self) -> StoreResult<(Token, User)> {
        let kind = TokenKind::parse(&self.kind)
            .ok_or_else(|| corrupt(format!("token {} has kind '{}'", self.id, self.kind)))?;
        let projects = match self.project_ids {
            None => None,
            Some(text) => Some(
                text.split_whitespace()
                    .map(|id| {
                        ProjectId::parse(id)
                            .ok_or_else(|| corrupt(format!("token {} project '{id}'", self.id)))
                    })
                    .collect::<StoreResult<Vec<_>>>()?,
            ),
        };
        let allowed_ips = self
            .allowed_ips
            .unwrap_or_default()
            .split_whitespace()
            .map(|net| {
                parse_network(net)
                    .ok_or_else(|| corrupt(format!("token {} network '{net}'", self.id)))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        let owner = User::from(self.owner);
        let token = Token {
            id: TokenId(self.id),
            kind,
            owner: UserId(self.user_id),
            owner_name: owner.name.clone(),
            name: self.name,
            scopes: scopes_from_text(&self.scopes),
            projects,
            allowed_ips,
            created: Timestamp::from_millis(self.created_at),
            created_by: self.created_by.map(UserId),
            expires: self.expires_at.map(Timestamp::from_millis),
            revoked: self.revoked_at.map(Timestamp::from_millis),
            last_used: self.last_used_at.map(Timestamp::from_millis),
            last_used_ip: self.last_used_ip,
            use_count: self.use_count,
        };
        Ok((token, owner))
    }

    fn into_token(self) -> StoreResult<Token> {
        self.into_token_and_owner().map(|(token, _)| token)
    }
}

/// A stored value tessera cannot have written: refuse rather than guess (a token must never
/// be read as wider than it was made).
fn corrupt(what: String) -> StoreError {
    StoreError::Backend(format!("unreadable stored value: {what}").into())
}

fn join_text<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

#[async_trait]
impl TokenStore for SqlStore {
    async fn create_token(&self, token: NewToken, max_live: Option<u32>) -> StoreResult<Token> {
        let projects = token.projects.as_deref().map(join_text);
        let ips = (!token.allowed_ips.is_empty()).then(|| join_text(&token.allowed_ips));
        let id: i64 = on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            if let Some(max) = max_live {
                // A no-op update takes the owner's row lock on PostgreSQL (SQLite has one
                // writer), so two creations cannot both count below the limit.
                sqlx::query("UPDATE users SET id = id WHERE id = $1")
                    .bind(token.owner.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                let live: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM api_tokens WHERE user_id = $1 AND revoked_at IS NULL \
                     AND (expires_at IS NULL OR expires_at > $2)",
                )
                .bind(token.owner.0)
                .bind(token.created.as_millis())
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
                if live >= i64::from(max) {
                    return Err(StoreError::Conflict(Conflict::TokenLimit));
                }
            }
            let id = sqlx::query_scalar(
                "INSERT INTO api_tokens (kind, user_id, name, digest, scopes, project_ids, \
                 allowed_ips, created_at, created_by, expires_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
            )
            .bind(token.kind.name())
            .bind(token.owner.0)
            .bind(&token.name)
            .bind(&token.digest)
            .bind(scopes_to_text(token.scopes))
            .bind(&projects)
            .bind(&ips)
            .bind(token.created.as_millis())
            .bind(token.created_by.map(|u| u.0))
            .bind(token.expires.map(Timestamp::as_millis))
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, any_conflict))?;
            tx.commit().await.map_err(backend)?;
            id
        });
        self.find_token(TokenId(id))
            .await?
            .ok_or(StoreError::MissingReference)
    }

    async fn find_token(&self, id: TokenId) -> StoreResult<Option<Token>> {
        let row: Option<TokenRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            token_select!(),
            "WHERE t.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        row.map(TokenRow::into_token).transpose()
    }

    async fn find_token_by_digest(&self, digest: &[u8]) -> StoreResult<Option<TokenMatch>> {
        let row: Option<TokenRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            token_select!(),
            "WHERE t.digest = $1 OR t.previous_digest = $1"
        ))
        .bind(digest)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        let Some(mut row) = row else { return Ok(None) };
        let current = std::mem::take(&mut row.digest);
        let previous = row.previous_digest.take();
        let previous_until = row.previous_valid_until;
        let (token, owner) = row.into_token_and_owner()?;
        let is_previous = current != digest;
        let previous_secret_until = is_previous.then(|| previous_until.map(Timestamp::from_millis));
        let matched = if is_previous {
            previous.unwrap_or_default()
        } else {
            current
        };
        Ok(Some(TokenMatch {
            token,
            owner,
            digest: matched,
            previous_secret_until,
        }))
    }

    async fn list_tokens(
        &self,
        filter: &TokenFilter,
        page: PageRequest,
    ) -> StoreResult<Page<Token>> {
        macro_rules! bind_filter {
            ($query:expr) => {
                $query
                    .bind(filter.owner.map(|u| u.0))
                    .bind(filter.kind.map(TokenKind::name))
                    .bind(filter.expiring_before.map(Timestamp::as_millis))
                    .bind(filter.created_before.map(Timestamp::as_millis))
                    .bind(filter.last_used_before.map(Timestamp::as_millis))
                    .bind(filter.never_used)
                    .bind(filter.include_revoked)
                    .bind(filter.unused_since.map(Timestamp::as_millis))
                    .bind(filter.live_at.map(Timestamp::as_millis))
            };
        }
        let (rows, total): (Vec<TokenRow>, i64) = on_pool!(self, read, |pool| {
            let rows = bind_filter!(sqlx::query_as(concat!(
                token_select!(),
                token_filter!(),
                " ORDER BY t.id DESC LIMIT $10 OFFSET $11"
            )))
            .bind(page.limit)
            .bind(page.start_at)
            .fetch_all(pool)
            .await
            .map_err(backend)?;
            let total = bind_filter!(sqlx::query_scalar(concat!(
                "SELECT COUNT(*) FROM api_tokens t ",
                token_filter!()
            )))
            .fetch_one(pool)
            .await
            .map_err(backend)?;
            (rows, total)
        });
        Ok(Page {
            items: rows
                .into_iter()
                .map(TokenRow::into_token)
                .collect::<StoreResult<_>>()?,
            start_at: page.start_at,
            max_results: page.limit,
            total,
        })
    }

    async fn revoke_token(
        &self,
        id: TokenId,
        at: Timestamp,
        reason: RevokeReason,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let done = on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let done = sqlx::query(
                "UPDATE api_tokens SET revoked_at = $2, revoked_reason = $3 \
                 WHERE id = $1 AND revoked_at IS NULL",
            )
            .bind(id.0)
            .bind(at.as_millis())
            .bind(reason.name())
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
        Ok(done > 0)
    }

    async fn revoke_user_tokens(
        &self,
        owner: UserId,
        at: Timestamp,
        reason: RevokeReason,
    ) -> StoreResult<Vec<TokenId>> {
        let ids: Vec<i64> = on_pool!(self, write, |pool| {
            sqlx::query_scalar(
                "UPDATE api_tokens SET revoked_at = $2, revoked_reason = $3 \
             WHERE user_id = $1 AND revoked_at IS NULL RETURNING id",
            )
            .bind(owner.0)
            .bind(at.as_millis())
            .bind(reason.name())
            .fetch_all(pool)
            .await
            .map_err(backend)
        })?;
        Ok(ids.into_iter().map(TokenId).collect())
    }

    async fn rotate_token(
        &self,
        id: TokenId,
        new_digest: &[u8],
        overlap_until: Option<Timestamp>,
    ) -> StoreResult<bool> {
        // SET expressions read the row as it was, so `digest` here is the old secret's.
        let done = on_pool!(self, write, |pool| sqlx::query(
            "UPDATE api_tokens SET \
             previous_digest = CASE WHEN $3 IS NULL THEN NULL ELSE digest END, \
             previous_valid_until = $3, digest = $2 \
             WHERE id = $1 AND revoked_at IS NULL"
        )
        .bind(id.0)
        .bind(new_digest)
        .bind(overlap_until.map(Timestamp::as_millis))
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, any_conflict)))?;
        Ok(done > 0)
    }
}
