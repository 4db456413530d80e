//! External identity: tokens from identity providers tessera trusts (OpenID Connect, or any
//! OAuth 2.0 authorization server that signs JWT access tokens). An administrator registers
//! a provider by its issuer ([`providers`]); tessera reads its discovery document and keys
//! ([`discovery`]) and then accepts the JWTs it signs as bearer tokens for the users they
//! name (`crate::credentials::external_jwt`), with the keys cached by [`keys`].

pub mod discovery;
pub mod keys;
pub mod login;
pub mod providers;

use std::sync::Arc;
use std::time::Duration;

use tessera_core::clock::Clock;
use tessera_core::store::Store;

use crate::audit_log::AuditLog;
use crate::sealed::{Sealer, SealingKey};

/// Timeouts and tolerances.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExternalConfig {
    /// How long a provider may take to answer a request for its documents.
    pub http_timeout: Duration,
    /// How far `exp`, `nbf` and `iat` may be off (clocks differ).
    pub leeway: Duration,
    pub keys: keys::KeyRefresh,
    /// The key client secrets are sealed with; without one, a key kept in the database.
    pub secret_key: Option<SealingKey>,
    /// The longest an introspection answer is remembered (an active token's never beyond
    /// its expiry).
    pub introspection_cache: Duration,
}

impl Default for ExternalConfig {
    fn default() -> Self {
        Self {
            http_timeout: Duration::from_secs(5),
            leeway: Duration::from_secs(60),
            keys: keys::KeyRefresh::default(),
            secret_key: None,
            introspection_cache: Duration::from_secs(60),
        }
    }
}

/// The external identity server: the providers and what they publish.
#[derive(Debug)]
pub struct ExternalIdentity {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    audit: Arc<AuditLog>,
    http: reqwest::Client,
    sealer: Sealer,
}

impl ExternalIdentity {
    /// Reads (or, the first time, makes) the database's sealing key.
    pub async fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        audit: Arc<AuditLog>,
        config: ExternalConfig,
    ) -> Result<Self, tessera_core::store::StoreError> {
        let sealer = Sealer::load(store.as_ref(), config.secret_key.as_ref()).await?;
        Ok(Self {
            store,
            clock,
            audit,
            http: discovery::http_client(config.http_timeout),
            sealer,
        })
    }
}
