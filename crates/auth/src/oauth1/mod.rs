//! OAuth 1.0a application links, the way Jira Data Center does them: consumers registered
//! with an RSA public key, the three-legged dance at Jira's paths, and requests signed by
//! RFC 5849. This module holds the protocol; signed requests are verified, like every other
//! credential, through the authenticator's pipeline.

pub mod consumers;
pub mod signature;

use std::sync::Arc;

use tessera_core::clock::Clock;
use tessera_core::store::Store;

use crate::audit_log::AuditLog;

/// The OAuth 1.0a server: consumers, and (to come) the three-legged dance.
#[derive(Debug)]
pub struct OAuth1Server {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    audit: Arc<AuditLog>,
}

impl OAuth1Server {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, audit: Arc<AuditLog>) -> Self {
        Self {
            store,
            clock,
            audit,
        }
    }
}
