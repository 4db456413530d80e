//! External identity providers' records. Lists and maps (audiences, group mappings) are kept
//! as JSON text; a provider is deleted with its audit event in one transaction.

use std::collections::BTreeMap;

use async_trait::async_trait;
use tessera_core::audit::AuditEvent;
use tessera_core::clock::Timestamp;
use tessera_core::identity::{
    Endpoints, GroupSync, IdentityProvider, Introspection, NewIdentityProvider, ProviderClient,
    ProviderId, ProviderSettings, Provisioning, SsoLogin, UserClaim,
};
use tessera_core::ids::UserId;
use tessera_core::store::{Conflict, IdentityStore, StoreError, StoreResult};
use tessera_core::tokens::{scopes_from_text, scopes_to_text};

use crate::audit::insert_audit;
use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

macro_rules! provider_columns {
    () => {
        "id, name, issuer, audiences, user_claim, groups_claim, group_mapping, provisioning, \
         default_scopes, enabled, jwks_uri, authorization_endpoint, token_endpoint, \
         introspection_endpoint, created_at, created_by, login_client_id, login_client_secret, \
         introspection_url, introspection_client_id, introspection_client_secret, first_used_at, group_sync"
    };
}

#[derive(sqlx::FromRow)]
struct ProviderRow {
    id: i64,
    name: String,
    issuer: String,
    audiences: String,
    user_claim: String,
    groups_claim: Option<String>,
    group_mapping: String,
    provisioning: String,
    default_scopes: String,
    enabled: bool,
    jwks_uri: String,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    introspection_endpoint: Option<String>,
    created_at: i64,
    created_by: Option<i64>,
    login_client_id: Option<String>,
    login_client_secret: Option<String>,
    introspection_url: Option<String>,
    introspection_client_id: Option<String>,
    introspection_client_secret: Option<String>,
    first_used_at: Option<i64>,
    group_sync: String,
}

fn corrupt(what: &str, id: i64) -> StoreError {
    StoreError::Backend(format!("identity provider {id}: unreadable {what}").into())
}

impl ProviderRow {
    fn into_provider(self) -> StoreResult<IdentityProvider> {
        let id = self.id;
        let audiences: Vec<String> =
            serde_json::from_str(&self.audiences).map_err(|_| corrupt("audiences", id))?;
        let group_mapping: BTreeMap<String, String> =
            serde_json::from_str(&self.group_mapping).map_err(|_| corrupt("group mapping", id))?;
        Ok(IdentityProvider {
            id: ProviderId(id),
            settings: ProviderSettings {
                name: self.name,
                issuer: self.issuer,
                audiences,
                user_claim: UserClaim::parse(&self.user_claim)
                    .ok_or_else(|| corrupt("user claim", id))?,
                groups_claim: self.groups_claim,
                group_mapping,
                group_sync: GroupSync::parse(&self.group_sync)
                    .ok_or_else(|| corrupt("group sync", id))?,
                provisioning: Provisioning::parse(&self.provisioning)
                    .ok_or_else(|| corrupt("provisioning", id))?,
                default_scopes: scopes_from_text(&self.default_scopes),
                enabled: self.enabled,
                login: match (self.login_client_id, self.login_client_secret) {
                    (Some(client_id), Some(sealed_secret)) => Some(ProviderClient {
                        client_id,
                        sealed_secret,
                    }),
                    _ => None,
                },
                introspection: match (
                    self.introspection_client_id,
                    self.introspection_client_secret,
                ) {
                    (Some(client_id), Some(sealed_secret)) => Some(Introspection {
                        endpoint: self.introspection_url,
                        client: ProviderClient {
                            client_id,
                            sealed_secret,
                        },
                    }),
                    _ => None,
                },
            },
            endpoints: Endpoints {
                jwks_uri: self.jwks_uri,
                authorization_endpoint: self.authorization_endpoint,
                token_endpoint: self.token_endpoint,
                introspection_endpoint: self.introspection_endpoint,
            },
            created: Timestamp::from_millis(self.created_at),
            created_by: self.created_by.map(UserId),
            first_used: self.first_used_at.map(Timestamp::from_millis),
        })
    }
}

/// Which uniqueness rule a write broke: the constraint's (or the message's) column.
fn provider_conflict(detail: &str) -> Conflict {
    if detail.contains("issuer") {
        Conflict::ProviderIssuer
    } else {
        Conflict::ProviderName
    }
}

fn audiences_json(audiences: &[String]) -> String {
    serde_json::Value::from(audiences.to_vec()).to_string()
}

fn mapping_json(mapping: &BTreeMap<String, String>) -> String {
    let object: serde_json::Map<String, serde_json::Value> = mapping
        .iter()
        .map(|(theirs, ours)| (theirs.clone(), ours.clone().into()))
        .collect();
    serde_json::Value::Object(object).to_string()
}

#[async_trait]
impl IdentityStore for SqlStore {
    async fn create_provider(
        &self,
        provider: NewIdentityProvider,
    ) -> StoreResult<IdentityProvider> {
        let s = &provider.settings;
        let e = &provider.endpoints;
        let id: i64 = on_pool!(self, write, |pool| {
            sqlx::query_scalar(
            "INSERT INTO identity_providers (name, issuer, audiences, user_claim, groups_claim, \
             group_mapping, provisioning, default_scopes, enabled, jwks_uri, \
             authorization_endpoint, token_endpoint, introspection_endpoint, created_at, \
             created_by, login_client_id, login_client_secret, introspection_url, \
             introspection_client_id, introspection_client_secret, group_sync) VALUES ($1, $2, $3, \
             $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21) \
             RETURNING id"
        )
        .bind(&s.name)
        .bind(&s.issuer)
        .bind(audiences_json(&s.audiences))
        .bind(s.user_claim.name())
        .bind(&s.groups_claim)
        .bind(mapping_json(&s.group_mapping))
        .bind(s.provisioning.name())
        .bind(scopes_to_text(s.default_scopes))
        .bind(s.enabled)
        .bind(&e.jwks_uri)
        .bind(&e.authorization_endpoint)
        .bind(&e.token_endpoint)
        .bind(&e.introspection_endpoint)
        .bind(provider.created.as_millis())
        .bind(provider.created_by.map(|u| u.0))
        .bind(s.login.as_ref().map(|c| &c.client_id))
        .bind(s.login.as_ref().map(|c| &c.sealed_secret))
        .bind(s.introspection.as_ref().and_then(|i| i.endpoint.as_ref()))
        .bind(s.introspection.as_ref().map(|i| &i.client.client_id))
        .bind(s.introspection.as_ref().map(|i| &i.client.sealed_secret))
        .bind(s.group_sync.name())
        .fetch_one(pool)
        .await
        .map_err(|e| write_error(e, provider_conflict))
        })?;
        self.get_provider(ProviderId(id))
            .await?
            .ok_or(StoreError::MissingReference)
    }

    async fn list_providers(&self) -> StoreResult<Vec<IdentityProvider>> {
        let rows: Vec<ProviderRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            provider_columns!(),
            " FROM identity_providers ORDER BY name, id"
        ))
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        rows.into_iter().map(ProviderRow::into_provider).collect()
    }

    async fn get_provider(&self, id: ProviderId) -> StoreResult<Option<IdentityProvider>> {
        let row: Option<ProviderRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            provider_columns!(),
            " FROM identity_providers WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        row.map(ProviderRow::into_provider).transpose()
    }

    async fn find_provider_by_issuer(&self, issuer: &str) -> StoreResult<Option<IdentityProvider>> {
        let row: Option<ProviderRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            provider_columns!(),
            " FROM identity_providers WHERE issuer = $1"
        ))
        .bind(issuer)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        row.map(ProviderRow::into_provider).transpose()
    }

    async fn update_provider(
        &self,
        id: ProviderId,
        s: &ProviderSettings,
        e: &Endpoints,
    ) -> StoreResult<Option<IdentityProvider>> {
        let updated = on_pool!(self, write, |pool| sqlx::query(
            "UPDATE identity_providers SET name = $2, issuer = $3, audiences = $4, \
             user_claim = $5, groups_claim = $6, group_mapping = $7, provisioning = $8, \
             default_scopes = $9, enabled = $10, jwks_uri = $11, authorization_endpoint = $12, \
             token_endpoint = $13, introspection_endpoint = $14, login_client_id = $15, \
             login_client_secret = $16, introspection_url = $17, introspection_client_id = $18, \
             introspection_client_secret = $19, group_sync = $20 WHERE id = $1"
        )
        .bind(id.0)
        .bind(&s.name)
        .bind(&s.issuer)
        .bind(audiences_json(&s.audiences))
        .bind(s.user_claim.name())
        .bind(&s.groups_claim)
        .bind(mapping_json(&s.group_mapping))
        .bind(s.provisioning.name())
        .bind(scopes_to_text(s.default_scopes))
        .bind(s.enabled)
        .bind(&e.jwks_uri)
        .bind(&e.authorization_endpoint)
        .bind(&e.token_endpoint)
        .bind(&e.introspection_endpoint)
        .bind(s.login.as_ref().map(|c| &c.client_id))
        .bind(s.login.as_ref().map(|c| &c.sealed_secret))
        .bind(s.introspection.as_ref().and_then(|i| i.endpoint.as_ref()))
        .bind(s.introspection.as_ref().map(|i| &i.client.client_id))
        .bind(s.introspection.as_ref().map(|i| &i.client.sealed_secret))
        .bind(s.group_sync.name())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, provider_conflict)))?;
        if updated == 0 {
            return Ok(None);
        }
        self.get_provider(id).await
    }

    async fn delete_provider(&self, id: ProviderId, audit: &AuditEvent) -> StoreResult<bool> {
        let deleted = on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let deleted = sqlx::query("DELETE FROM identity_providers WHERE id = $1")
                .bind(id.0)
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

    async fn mark_provider_used(&self, id: ProviderId, at: Timestamp) -> StoreResult<bool> {
        let updated = on_pool!(self, write, |pool| {
            sqlx::query(
            "UPDATE identity_providers SET first_used_at = $2 WHERE id = $1 AND first_used_at IS NULL"
        )
        .bind(id.0)
        .bind(at.as_millis())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend)
        })?;
        Ok(updated > 0)
    }

    async fn create_sso_login(&self, login: &SsoLogin, max_pending: i64) -> StoreResult<bool> {
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            sqlx::query("DELETE FROM sso_logins WHERE expires_at <= $1")
                .bind(login.created.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let pending: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM sso_logins")
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
            if pending >= max_pending {
                tx.commit().await.map_err(backend)?;
                return Ok(false);
            }
            sqlx::query(
                "INSERT INTO sso_logins (state_digest, provider_id, nonce, code_verifier, next, \
                 created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(&login.state_digest)
            .bind(login.provider.0)
            .bind(&login.nonce)
            .bind(&login.code_verifier)
            .bind(&login.next)
            .bind(login.created.as_millis())
            .bind(login.expires.as_millis())
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, any_conflict))?;
            tx.commit().await.map_err(backend)?;
            Ok(true)
        })
    }

    async fn take_sso_login(
        &self,
        state_digest: &str,
        now: Timestamp,
    ) -> StoreResult<Option<SsoLogin>> {
        let row: Option<SsoRow> = on_pool!(self, write, |pool| sqlx::query_as(
            "DELETE FROM sso_logins WHERE state_digest = $1 RETURNING state_digest, \
             provider_id, nonce, code_verifier, next, created_at, expires_at"
        )
        .bind(state_digest)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row
            .filter(|row| row.expires_at > now.as_millis())
            .map(|row| SsoLogin {
                state_digest: row.state_digest,
                provider: ProviderId(row.provider_id),
                nonce: row.nonce,
                code_verifier: row.code_verifier,
                next: row.next,
                created: Timestamp::from_millis(row.created_at),
                expires: Timestamp::from_millis(row.expires_at),
            }))
    }
}

#[derive(sqlx::FromRow)]
struct SsoRow {
    state_digest: String,
    provider_id: i64,
    nonce: String,
    code_verifier: String,
    next: String,
    created_at: i64,
    expires_at: i64,
}
