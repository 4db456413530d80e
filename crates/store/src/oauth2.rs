//! The OAuth 2.0 authorization server's records: clients, grants (users' consents), codes
//! and tokens, each secret kept as its SHA-256 digest.
//!
//! What must not race is one statement or one transaction: a code is spent by an UPDATE that
//! only the first redemption can win; a refresh token likewise, and a second exchange of it
//! revokes its grant in the same transaction; a grant is revoked with all its tokens at once.

use async_trait::async_trait;
use tessera_core::audit::AuditEvent;
use tessera_core::clock::Timestamp;
use tessera_core::ids::UserId;
use tessera_core::model::User;
use tessera_core::oauth2::{
    Client, ClientChanges, ClientKey, ClientMatch, Code, Grant, GrantId, NewClient, NewCode,
    NewOAuth2Token, OAuth2TokenKind, OAuth2TokenMatch, Redemption, Rotation,
};
use tessera_core::scopes::Scopes;
use tessera_core::store::{OAuth2Store, StoreError, StoreResult};
use tessera_core::tokens::{scopes_from_text, scopes_to_text};

use crate::audit::insert_audit;
use crate::rows::{UserRow, user_columns};
use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

macro_rules! client_columns {
    ($alias:literal) => {
        concat!(
            $alias,
            ".id AS c_id, ",
            $alias,
            ".client_id AS c_client_id, ",
            $alias,
            ".name AS c_name, ",
            $alias,
            ".redirect_uris AS c_redirect_uris, ",
            $alias,
            ".confidential AS c_confidential, ",
            $alias,
            ".secret_digest AS c_secret_digest, ",
            $alias,
            ".scopes AS c_scopes, ",
            $alias,
            ".service_user_id AS c_service_user_id, ",
            $alias,
            ".enabled AS c_enabled, ",
            $alias,
            ".created_at AS c_created_at, ",
            $alias,
            ".created_by AS c_created_by"
        )
    };
}

#[derive(sqlx::FromRow)]
struct ClientRow {
    c_id: i64,
    c_client_id: String,
    c_name: String,
    c_redirect_uris: String,
    c_confidential: bool,
    c_secret_digest: Option<Vec<u8>>,
    c_scopes: String,
    c_service_user_id: Option<i64>,
    c_enabled: bool,
    c_created_at: i64,
    c_created_by: Option<i64>,
}

impl ClientRow {
    fn into_match(self) -> ClientMatch {
        let client = Client {
            key: ClientKey(self.c_id),
            client_id: self.c_client_id,
            name: self.c_name,
            redirect_uris: self.c_redirect_uris.lines().map(str::to_string).collect(),
            confidential: self.c_confidential,
            scopes: scopes_from_text(&self.c_scopes),
            service_account: self.c_service_user_id.map(UserId),
            enabled: self.c_enabled,
            created: Timestamp::from_millis(self.c_created_at),
            created_by: self.c_created_by.map(UserId),
        };
        ClientMatch {
            client,
            secret_digest: self.c_secret_digest,
        }
    }
}

#[derive(sqlx::FromRow)]
struct GrantRow {
    id: i64,
    client_id: i64,
    public_id: String,
    client_name: String,
    user_id: i64,
    scopes: String,
    created_at: i64,
    revoked_at: Option<i64>,
    last_used: Option<i64>,
}

impl From<GrantRow> for Grant {
    fn from(row: GrantRow) -> Self {
        Self {
            id: GrantId(row.id),
            client: ClientKey(row.client_id),
            client_id: row.public_id,
            client_name: row.client_name,
            user: UserId(row.user_id),
            scopes: scopes_from_text(&row.scopes),
            created: Timestamp::from_millis(row.created_at),
            revoked: row.revoked_at.map(Timestamp::from_millis),
            last_used: row.last_used.map(Timestamp::from_millis),
        }
    }
}

/// A grant with its client's names and its last use (from the usage counts of `oauth:<id>`).
macro_rules! grant_select {
    () => {
        "SELECT g.id, g.client_id, c.client_id AS public_id, c.name AS client_name, g.user_id, \
         g.scopes, g.created_at, g.revoked_at, \
         (SELECT MAX(u.last_seen) FROM credential_clients u \
          WHERE u.credential = 'oauth:' || CAST(g.id AS TEXT)) AS last_used \
         FROM oauth_grants g JOIN oauth_clients c ON c.id = g.client_id "
    };
}

#[derive(sqlx::FromRow)]
struct CodeRow {
    grant_id: i64,
    client_id: i64,
    user_id: i64,
    redirect_uri: String,
    redirect_uri_given: bool,
    scopes: String,
    code_challenge: Option<String>,
    expires_at: i64,
    used_at: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct TokenRow {
    t_id: i64,
    t_digest: Vec<u8>,
    t_kind: String,
    t_grant_id: Option<i64>,
    t_scopes: String,
    t_created_at: i64,
    t_expires_at: Option<i64>,
    t_used_at: Option<i64>,
    t_revoked_at: Option<i64>,
    t_code_digest: Option<Vec<u8>>,
    g_revoked_at: Option<i64>,
    #[sqlx(flatten)]
    client: ClientRow,
    #[sqlx(flatten)]
    user: UserRow,
}

fn join_lines(items: &[String]) -> String {
    items.join("\n")
}

/// Inserts tokens on a transaction (either backend).
macro_rules! insert_tokens {
    ($tx:expr, $tokens:expr) => {
        for token in $tokens {
            sqlx::query(
                "INSERT INTO oauth_tokens (digest, kind, grant_id, client_id, user_id, scopes, \
                 code_digest, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(&token.digest)
            .bind(token.kind.name())
            .bind(token.grant.map(|g| g.0))
            .bind(token.client.0)
            .bind(token.user.0)
            .bind(scopes_to_text(token.scopes))
            .bind(&token.code_digest)
            .bind(token.created.as_millis())
            .bind(token.expires.map(Timestamp::as_millis))
            .execute(&mut *$tx)
            .await
            .map_err(|e| write_error(e, any_conflict))?;
        }
    };
}

/// Revokes a grant and every token of it, on a transaction; the rows changed in the grant.
macro_rules! revoke_grant_on {
    ($tx:expr, $grant:expr, $at:expr, $reason:expr) => {{
        let done = sqlx::query(
            "UPDATE oauth_grants SET revoked_at = $2, revoked_reason = $3 \
             WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind($grant)
        .bind($at)
        .bind($reason)
        .execute(&mut *$tx)
        .await
        .map_err(backend)?
        .rows_affected();
        sqlx::query(
            "UPDATE oauth_tokens SET revoked_at = $2 WHERE grant_id = $1 AND revoked_at IS NULL",
        )
        .bind($grant)
        .bind($at)
        .execute(&mut *$tx)
        .await
        .map_err(backend)?;
        done
    }};
}

#[async_trait]
impl OAuth2Store for SqlStore {
    async fn create_client(&self, client: NewClient) -> StoreResult<Client> {
        on_pool!(self, write, |pool| sqlx::query(
            "INSERT INTO oauth_clients (client_id, name, redirect_uris, confidential, \
             secret_digest, scopes, service_user_id, created_at, created_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        )
        .bind(&client.client_id)
        .bind(&client.name)
        .bind(join_lines(&client.redirect_uris))
        .bind(client.confidential)
        .bind(&client.secret_digest)
        .bind(scopes_to_text(client.scopes))
        .bind(client.service_account.map(|u| u.0))
        .bind(client.created.as_millis())
        .bind(client.created_by.map(|u| u.0))
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, any_conflict)))?;
        self.find_client(&client.client_id)
            .await?
            .map(|found| found.client)
            .ok_or(StoreError::MissingReference)
    }

    async fn list_clients(&self) -> StoreResult<Vec<Client>> {
        let rows: Vec<ClientRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            client_columns!("c"),
            " FROM oauth_clients c ORDER BY c.name, c.id"
        ))
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows.into_iter().map(|r| r.into_match().client).collect())
    }

    async fn find_client(&self, client_id: &str) -> StoreResult<Option<ClientMatch>> {
        let row: Option<ClientRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            client_columns!("c"),
            " FROM oauth_clients c WHERE c.client_id = $1"
        ))
        .bind(client_id)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(ClientRow::into_match))
    }

    async fn update_client(
        &self,
        key: ClientKey,
        changes: &ClientChanges,
        at: Timestamp,
    ) -> StoreResult<Option<Client>> {
        let public: Option<String> = on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let public: Option<String> = sqlx::query_scalar(
                "UPDATE oauth_clients SET name = COALESCE($2, name), \
                 redirect_uris = COALESCE($3, redirect_uris), scopes = COALESCE($4, scopes), \
                 enabled = COALESCE($5, enabled), secret_digest = COALESCE($6, secret_digest) \
                 WHERE id = $1 RETURNING client_id",
            )
            .bind(key.0)
            .bind(&changes.name)
            .bind(changes.redirect_uris.as_deref().map(join_lines))
            .bind(changes.scopes.map(scopes_to_text))
            .bind(changes.enabled)
            .bind(&changes.secret_digest)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            if public.is_some() && changes.secret_digest.is_some() {
                // Whoever held the old secret could mint client_credentials tokens with it
                // alone: a new secret ends them. Tokens of users' grants need a user's code or
                // refresh token as well and are kept.
                sqlx::query(
                    "UPDATE oauth_tokens SET revoked_at = $2 WHERE client_id = $1 \
                     AND grant_id IS NULL AND revoked_at IS NULL",
                )
                .bind(key.0)
                .bind(at.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            }
            tx.commit().await.map_err(backend)?;
            public
        });
        match public {
            Some(client_id) => Ok(self.find_client(&client_id).await?.map(|f| f.client)),
            None => Ok(None),
        }
    }

    async fn grant(
        &self,
        client: ClientKey,
        user: UserId,
        scopes: Scopes,
        at: Timestamp,
    ) -> StoreResult<Grant> {
        let id: i64 = on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let live: Option<(i64, String)> = sqlx::query_as(
                "SELECT id, scopes FROM oauth_grants \
                 WHERE client_id = $1 AND user_id = $2 AND revoked_at IS NULL",
            )
            .bind(client.0)
            .bind(user.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            let id = match live {
                Some((id, held)) => {
                    let widened = scopes_from_text(&held).union(scopes);
                    sqlx::query("UPDATE oauth_grants SET scopes = $2 WHERE id = $1")
                        .bind(id)
                        .bind(scopes_to_text(widened))
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                    id
                }
                // The partial unique index refuses a second live grant of the pair: a
                // concurrent consent that lost the race fails here and is retried by the caller.
                None => sqlx::query_scalar(
                    "INSERT INTO oauth_grants (client_id, user_id, scopes, created_at) \
                     VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(client.0)
                .bind(user.0)
                .bind(scopes_to_text(scopes))
                .bind(at.as_millis())
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| write_error(e, any_conflict))?,
            };
            tx.commit().await.map_err(backend)?;
            id
        });
        self.find_grant(GrantId(id))
            .await?
            .ok_or(StoreError::MissingReference)
    }

    async fn find_live_grant(&self, client: ClientKey, user: UserId) -> StoreResult<Option<Grant>> {
        let row: Option<GrantRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            grant_select!(),
            "WHERE g.client_id = $1 AND g.user_id = $2 AND g.revoked_at IS NULL"
        ))
        .bind(client.0)
        .bind(user.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(Grant::from))
    }

    async fn find_grant(&self, id: GrantId) -> StoreResult<Option<Grant>> {
        let row: Option<GrantRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            grant_select!(),
            "WHERE g.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(Grant::from))
    }

    async fn list_grants(&self, user: Option<UserId>) -> StoreResult<Vec<Grant>> {
        let rows: Vec<GrantRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            grant_select!(),
            "WHERE g.revoked_at IS NULL AND ($1 IS NULL OR g.user_id = $1) ORDER BY g.id DESC"
        ))
        .bind(user.map(|u| u.0))
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows.into_iter().map(Grant::from).collect())
    }

    async fn revoke_grant(
        &self,
        id: GrantId,
        at: Timestamp,
        reason: &str,
        audit: &AuditEvent,
    ) -> StoreResult<bool> {
        let done = on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let done = revoke_grant_on!(tx, id.0, at.as_millis(), reason);
            if done > 0 {
                insert_audit!(&mut *tx, audit);
            }
            tx.commit().await.map_err(backend)?;
            done
        });
        Ok(done > 0)
    }

    async fn create_code(&self, code: NewCode) -> StoreResult<()> {
        on_pool!(self, write, |pool| sqlx::query(
            "INSERT INTO oauth_codes (digest, grant_id, redirect_uri, redirect_uri_given, scopes, \
             code_challenge, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)"
        )
        .bind(&code.digest)
        .bind(code.grant.0)
        .bind(&code.redirect_uri)
        .bind(code.redirect_uri_given)
        .bind(scopes_to_text(code.scopes))
        .bind(&code.code_challenge)
        .bind(code.expires.as_millis())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, any_conflict)))?;
        Ok(())
    }

    async fn find_code(&self, digest: &[u8]) -> StoreResult<Option<(Code, bool)>> {
        let row: Option<CodeRow> = on_pool!(self, read, |pool| sqlx::query_as(
            "SELECT k.grant_id, g.client_id, g.user_id, k.redirect_uri, k.redirect_uri_given, \
             k.scopes, k.code_challenge, k.expires_at, k.used_at \
             FROM oauth_codes k JOIN oauth_grants g ON g.id = k.grant_id WHERE k.digest = $1"
        )
        .bind(digest)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(|row| {
            let code = Code {
                grant: GrantId(row.grant_id),
                client: ClientKey(row.client_id),
                user: UserId(row.user_id),
                redirect_uri: row.redirect_uri,
                redirect_uri_given: row.redirect_uri_given,
                scopes: scopes_from_text(&row.scopes),
                code_challenge: row.code_challenge,
                expires: Timestamp::from_millis(row.expires_at),
            };
            (code, row.used_at.is_some())
        }))
    }

    async fn redeem_code(
        &self,
        digest: &[u8],
        at: Timestamp,
        tokens: &[NewOAuth2Token],
    ) -> StoreResult<Redemption> {
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            // Only the first redemption changes the row (PostgreSQL makes a concurrent one wait
            // for this transaction; SQLite has one writer).
            let won = sqlx::query(
                "UPDATE oauth_codes SET used_at = $2 WHERE digest = $1 AND used_at IS NULL",
            )
            .bind(digest)
            .bind(at.as_millis())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected()
                > 0;
            if won {
                insert_tokens!(tx, tokens);
                tx.commit().await.map_err(backend)?;
                return Ok(Redemption::Fresh);
            }
            let grant: Option<i64> =
                sqlx::query_scalar("SELECT grant_id FROM oauth_codes WHERE digest = $1")
                    .bind(digest)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
            let Some(grant) = grant else {
                return Ok(Redemption::Unknown);
            };
            // A replay: the grant the code was issued under is revoked, with everything issued
            // under it. Revoking only the code's own tokens would miss a pair a concurrent
            // refresh inserts meanwhile (PostgreSQL would not see the new rows); a revoked
            // grant is checked on every use, so those die too.
            revoke_grant_on!(tx, grant, at.as_millis(), "code_reused");
            tx.commit().await.map_err(backend)?;
            Ok(Redemption::Replayed)
        })
    }

    async fn disable_client_with_secret(&self, digest: &[u8]) -> StoreResult<Option<String>> {
        on_pool!(self, write, |pool| sqlx::query_scalar(
            "UPDATE oauth_clients SET enabled = FALSE WHERE secret_digest = $1 RETURNING client_id"
        )
        .bind(digest)
        .fetch_optional(pool)
        .await
        .map_err(backend))
    }

    async fn create_oauth_tokens(&self, tokens: &[NewOAuth2Token]) -> StoreResult<()> {
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            insert_tokens!(tx, tokens);
            tx.commit().await.map_err(backend)?;
        });
        Ok(())
    }

    async fn find_oauth_token(&self, digest: &[u8]) -> StoreResult<Option<OAuth2TokenMatch>> {
        let row: Option<TokenRow> = on_pool!(self, read, |pool| {
            sqlx::query_as(concat!(
            "SELECT t.id AS t_id, t.digest AS t_digest, t.kind AS t_kind, t.grant_id AS t_grant_id, \
             t.scopes AS t_scopes, t.created_at AS t_created_at, t.expires_at AS t_expires_at, \
             t.used_at AS t_used_at, t.revoked_at AS t_revoked_at, t.code_digest AS t_code_digest, \
             g.revoked_at AS g_revoked_at, ",
            client_columns!("c"),
            ", ",
            user_columns!("u"),
            " FROM oauth_tokens t JOIN oauth_clients c ON c.id = t.client_id \
             JOIN users u ON u.id = t.user_id LEFT JOIN oauth_grants g ON g.id = t.grant_id \
             WHERE t.digest = $1"
        ))
        .bind(digest)
        .fetch_optional(pool)
        .await
        .map_err(backend)
        })?;
        let Some(row) = row else { return Ok(None) };
        let kind = OAuth2TokenKind::parse(&row.t_kind).ok_or_else(|| {
            StoreError::Backend(
                format!("OAuth token {} has kind '{}'", row.t_id, row.t_kind).into(),
            )
        })?;
        Ok(Some(OAuth2TokenMatch {
            id: row.t_id,
            digest: row.t_digest,
            kind,
            grant: row.t_grant_id.map(GrantId),
            client: row.client.into_match().client,
            user: User::from(row.user),
            scopes: scopes_from_text(&row.t_scopes),
            created: Timestamp::from_millis(row.t_created_at),
            expires: row.t_expires_at.map(Timestamp::from_millis),
            used: row.t_used_at.map(Timestamp::from_millis),
            revoked: row.t_revoked_at.map(Timestamp::from_millis),
            grant_revoked: row.g_revoked_at.map(Timestamp::from_millis),
            code_digest: row.t_code_digest,
        }))
    }

    async fn rotate_refresh_token(
        &self,
        digest: &[u8],
        at: Timestamp,
        replacements: &[NewOAuth2Token],
        reuse_audit: &AuditEvent,
    ) -> StoreResult<Rotation> {
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let spent = sqlx::query(
                "UPDATE oauth_tokens SET used_at = $2 WHERE digest = $1 AND kind = 'refresh' \
                 AND used_at IS NULL AND revoked_at IS NULL",
            )
            .bind(digest)
            .bind(at.as_millis())
            .execute(&mut *tx)
            .await
            .map_err(backend)?
            .rows_affected();
            if spent > 0 {
                insert_tokens!(tx, replacements);
                tx.commit().await.map_err(backend)?;
                return Ok(Rotation::Rotated);
            }
            let before: Option<(Option<i64>, Option<i64>)> = sqlx::query_as(
                "SELECT grant_id, used_at FROM oauth_tokens WHERE digest = $1 AND kind = 'refresh'",
            )
            .bind(digest)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            let rotation = match before {
                // Exchanged before: whoever presents it now (or presented it then) is not the
                // only holder. Revoke the grant and everything issued under it.
                Some((grant, Some(_))) => {
                    if let Some(grant) = grant {
                        let done =
                            revoke_grant_on!(tx, grant, at.as_millis(), "refresh_token_reused");
                        if done > 0 {
                            insert_audit!(&mut *tx, reuse_audit);
                        }
                    }
                    Rotation::Reused(grant.map(GrantId))
                }
                _ => Rotation::Unknown,
            };
            tx.commit().await.map_err(backend)?;
            Ok(rotation)
        })
    }

    async fn revoke_oauth_token(&self, digest: &[u8], at: Timestamp) -> StoreResult<bool> {
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let found: Option<(String, Option<i64>)> = sqlx::query_as(
                "SELECT kind, grant_id FROM oauth_tokens WHERE digest = $1 AND revoked_at IS NULL",
            )
            .bind(digest)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            let Some((kind, grant)) = found else {
                return Ok(false);
            };
            sqlx::query("UPDATE oauth_tokens SET revoked_at = $2 WHERE digest = $1")
                .bind(digest)
                .bind(at.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            // RFC 7009 §2.1: revoking a refresh token also invalidates the access tokens
            // issued with the same grant.
            if kind == OAuth2TokenKind::Refresh.name()
                && let Some(grant) = grant
            {
                sqlx::query(
                    "UPDATE oauth_tokens SET revoked_at = $2 \
                     WHERE grant_id = $1 AND kind = 'access' AND revoked_at IS NULL",
                )
                .bind(grant)
                .bind(at.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            }
            tx.commit().await.map_err(backend)?;
            Ok(true)
        })
    }

    async fn delete_expired_oauth(&self, before: Timestamp) -> StoreResult<u64> {
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let codes = sqlx::query("DELETE FROM oauth_codes WHERE expires_at < $1")
                .bind(before.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            let tokens = sqlx::query("DELETE FROM oauth_tokens WHERE expires_at < $1")
                .bind(before.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            tx.commit().await.map_err(backend)?;
            Ok(codes + tokens)
        })
    }
}
