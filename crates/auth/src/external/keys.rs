//! The providers' signing keys, cached. A key is looked for in the provider's cached key set
//! first; a key set is fetched again only when a token names a key the cache does not hold
//! (key rotation, without a restart) or when the cached set is older than its maximum age (so
//! a key the provider removed stops working), and never more than once per provider per
//! refetch interval, whatever tokens arrive (no refetch storm from forged key ids).
//!
//! When the provider is down, the cached keys keep working and a key not among them fails
//! closed. Fetches for one provider wait for each other (the first one's keys serve the rest).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use tessera_core::clock::{Clock, Timestamp};
use tessera_core::identity::{IdentityProvider, ProviderId};

use super::discovery::{fetch_keys, http_client, is_signing_key};

/// How keys are refreshed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyRefresh {
    /// The least time between two fetches of one provider's keys.
    pub refetch_interval: Duration,
    /// How long a fetched key set is trusted before it is fetched again.
    pub max_age: Duration,
    /// How long a provider may take to answer.
    pub timeout: Duration,
}

impl Default for KeyRefresh {
    fn default() -> Self {
        Self {
            refetch_interval: Duration::from_secs(30),
            max_age: Duration::from_secs(10 * 60),
            timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Default)]
struct Entry {
    jwks_uri: String,
    keys: JwkSet,
    /// When the keys were last fetched successfully.
    fetched: Option<Timestamp>,
    /// When a fetch was last tried.
    tried: Option<Timestamp>,
}

/// The key caches of every provider.
#[derive(Debug)]
pub struct KeyCache {
    http: reqwest::Client,
    clock: Arc<dyn Clock>,
    refresh: KeyRefresh,
    entries: Mutex<HashMap<ProviderId, Arc<tokio::sync::Mutex<Entry>>>>,
}

/// A key found for a token's `kid` (or, without one, the set's only signing key).
fn find(keys: &JwkSet, kid: Option<&str>) -> Option<Jwk> {
    let signing = keys.keys.iter().filter(|key| is_signing_key(key));
    match kid {
        Some(kid) => signing
            .into_iter()
            .find(|key| key.common.key_id.as_deref() == Some(kid))
            .cloned(),
        None => {
            let all: Vec<&Jwk> = signing.collect();
            (all.len() == 1).then(|| all[0].clone())
        }
    }
}

impl KeyCache {
    pub fn new(clock: Arc<dyn Clock>, refresh: KeyRefresh) -> Self {
        Self {
            http: http_client(refresh.timeout),
            clock,
            refresh,
            entries: Mutex::new(HashMap::new()),
        }
    }

    /// The key a token names, fetching the provider's keys again if the rules allow; `None`
    /// if there is none (unknown, or the provider cannot be reached and never was).
    pub async fn key(&self, provider: &IdentityProvider, kid: Option<&str>) -> Option<Jwk> {
        let slot = {
            let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.entry(provider.id).or_default().clone()
        };
        let mut entry = slot.lock().await;
        let now = self.clock.now();
        let uri = &provider.endpoints.jwks_uri;
        if entry.jwks_uri != *uri {
            // A new key set location: nothing cached from the old one counts.
            *entry = Entry {
                jwks_uri: uri.clone(),
                ..Entry::default()
            };
        }
        let fresh = entry
            .fetched
            .is_some_and(|at| now < at.plus(self.refresh.max_age));
        if fresh && let Some(key) = find(&entry.keys, kid) {
            return Some(key);
        }
        let may_fetch = entry
            .tried
            .is_none_or(|at| now >= at.plus(self.refresh.refetch_interval));
        if may_fetch {
            entry.tried = Some(now);
            match fetch_keys(&self.http, uri).await {
                Ok(keys) => {
                    entry.keys = keys;
                    entry.fetched = Some(now);
                }
                Err(error) => {
                    tracing::warn!(provider = %provider.id, %error, "an identity provider's keys could not be fetched; the cached ones stay in use");
                }
            }
        }
        find(&entry.keys, kid)
    }
}
