//! OAuth 1.0a application links, the way Jira Data Center does them: consumers registered
//! with an RSA public key, the three-legged dance at Jira's paths, and requests signed by
//! RFC 5849. This module holds the protocol; signed requests are verified, like every other
//! credential, through the authenticator's pipeline.

pub mod consumers;
pub mod dance;
pub mod nonces;
pub mod signature;
pub mod tokens;
pub mod verify;

use std::sync::Arc;
use std::time::Duration;

use tessera_core::clock::Clock;
use tessera_core::store::Store;

use crate::audit_log::AuditLog;
use verify::{Problem, Signatures, Signed, SignedRequest};

/// Lifetimes and windows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OAuth1Config {
    /// How far a request's `oauth_timestamp` may be from the server's clock, either way; the
    /// nonces of older requests are forgotten.
    pub timestamp_window: Duration,
    /// How long a request token may wait for its approval and exchange.
    pub request_token_lifetime: Duration,
}

impl Default for OAuth1Config {
    fn default() -> Self {
        Self {
            timestamp_window: Duration::from_secs(5 * 60),
            request_token_lifetime: Duration::from_secs(10 * 60),
        }
    }
}

/// The OAuth 1.0a server: consumers, signature checks and the three-legged dance.
#[derive(Debug)]
pub struct OAuth1Server {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    audit: Arc<AuditLog>,
    config: OAuth1Config,
    signatures: Signatures,
}

impl OAuth1Server {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        audit: Arc<AuditLog>,
        config: OAuth1Config,
    ) -> Self {
        Self {
            signatures: Signatures::new(store.clone(), clock.clone(), config.timestamp_window),
            store,
            clock,
            audit,
            config,
        }
    }

    /// Checks a signed request (see [`Signatures::check`]).
    pub async fn check_signature(&self, request: &SignedRequest<'_>) -> Result<Signed, Problem> {
        self.signatures.check(request).await
    }

    /// Forgets the nonces of requests too old to be accepted anyway.
    pub async fn prune_nonces(&self) -> Result<u64, tessera_core::store::StoreError> {
        let window = i64::try_from(self.config.timestamp_window.as_secs()).unwrap_or(i64::MAX);
        let now = self.clock.now().as_millis() / 1000;
        self.store.prune_nonces(now.saturating_sub(window)).await
    }
}
