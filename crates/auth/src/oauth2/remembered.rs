//! What the client endpoints read again and again, remembered under the store's auth epoch:
//! a client's successful authentication and a presented token's row. A resource server that
//! introspects every request it serves sends the same client and often the same token each
//! time; with these, an introspection reads nothing from the database.
//!
//! The rules are the verified-credential cache's ([`crate::authenticator`]'s `remembered`):
//! - **Keyed** by an HMAC (per-process random key) of what was presented, never the secret.
//! - **Only what succeeded** is remembered: a wrong secret, an unknown client or an unknown
//!   token never enters, so a flood of them cannot fill it or evict the good ones.
//! - **Never past a change**: an answer is used only under the auth epoch it was read under,
//!   read before the database was; every client change (disable, new secret, scopes), token
//!   revocation, rotation or grant revocation, and user deactivation moves the epoch, here at
//!   once and on another instance within a second. While the store cannot vouch for its epoch,
//!   nothing is used. A token's own expiry is checked on every use, and nothing is kept past
//!   [`MAX_AGE`].

use std::sync::Arc;
use std::time::Duration;

use moka::sync::Cache;
use secrecy::{ExposeSecret, SecretString};
use tessera_core::oauth2::{Client, OAuth2TokenMatch};

use crate::secret::HmacKey;

/// The longest anything is remembered.
pub const MAX_AGE: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Kept<T> {
    epoch: u64,
    value: T,
}

/// The two caches (disabled with a capacity of zero).
#[derive(Debug)]
pub(super) struct Remembered {
    key: HmacKey,
    clients: Option<Cache<[u8; 32], Arc<Kept<Client>>>>,
    tokens: Option<Cache<[u8; 32], Arc<Kept<OAuth2TokenMatch>>>>,
}

fn cache<T: Send + Sync + 'static>(capacity: u64) -> Option<Cache<[u8; 32], Arc<Kept<T>>>> {
    (capacity > 0).then(|| {
        Cache::builder()
            .max_capacity(capacity)
            .time_to_live(MAX_AGE)
            .build()
    })
}

fn fresh<T: Clone + Send + Sync + 'static>(
    entries: &Cache<[u8; 32], Arc<Kept<T>>>,
    slot: &[u8; 32],
    epoch: u64,
) -> Option<T> {
    let kept = entries.get(slot)?;
    if kept.epoch != epoch {
        entries.invalidate(slot);
        return None;
    }
    Some(kept.value.clone())
}

impl Remembered {
    pub(super) fn new(capacity: u64) -> Self {
        Self {
            key: HmacKey::random(),
            clients: cache(capacity),
            // A client has few live tokens at a time, but each may be introspected.
            tokens: cache(capacity),
        }
    }

    /// Where a client authentication is kept: its id and, for a confidential client, the
    /// secret it sent (so that a different secret never finds the slot).
    pub(super) fn client_slot(&self, client_id: &str, secret: Option<&SecretString>) -> [u8; 32] {
        let (tag, secret): (&[u8], &[u8]) = match secret {
            Some(secret) => (b"client-secret", secret.expose_secret().as_bytes()),
            None => (b"client-public", b""),
        };
        self.key.digest(&[tag, client_id.as_bytes(), secret])
    }

    /// Where a token's row is kept, by the digest of the presented token.
    pub(super) fn token_slot(&self, digest: &[u8]) -> [u8; 32] {
        self.key.digest(&[b"oauth2-token", digest])
    }

    pub(super) fn client(&self, slot: &[u8; 32], epoch: Option<u64>) -> Option<Client> {
        fresh(self.clients.as_ref()?, slot, epoch?)
    }

    pub(super) fn keep_client(&self, slot: [u8; 32], epoch: Option<u64>, client: &Client) {
        if let (Some(entries), Some(epoch)) = (&self.clients, epoch) {
            let value = client.clone();
            entries.insert(slot, Arc::new(Kept { epoch, value }));
        }
    }

    pub(super) fn token(&self, slot: &[u8; 32], epoch: Option<u64>) -> Option<OAuth2TokenMatch> {
        fresh(self.tokens.as_ref()?, slot, epoch?)
    }

    pub(super) fn keep_token(&self, slot: [u8; 32], epoch: Option<u64>, token: &OAuth2TokenMatch) {
        if let (Some(entries), Some(epoch)) = (&self.tokens, epoch) {
            let value = token.clone();
            entries.insert(slot, Arc::new(Kept { epoch, value }));
        }
    }
}

#[cfg(test)]
mod tests {
    use tessera_core::clock::Timestamp;
    use tessera_core::oauth2::ClientKey;
    use tessera_core::scopes::Scopes;

    use super::*;

    fn client(name: &str) -> Client {
        Client {
            key: ClientKey(1),
            client_id: "id".into(),
            name: name.into(),
            redirect_uris: Vec::new(),
            confidential: false,
            scopes: Scopes::default(),
            service_account: None,
            enabled: true,
            created: Timestamp::from_millis(0),
            created_by: None,
        }
    }

    #[test]
    fn a_client_slot_depends_on_the_secret_and_on_whether_one_was_sent() {
        let remembered = Remembered::new(10);
        let a = SecretString::from("a".to_string());
        let b = SecretString::from("b".to_string());
        let empty = SecretString::from(String::new());
        let with_a = remembered.client_slot("id", Some(&a));
        assert_eq!(with_a, remembered.client_slot("id", Some(&a)));
        assert_ne!(with_a, remembered.client_slot("id", Some(&b)));
        assert_ne!(with_a, remembered.client_slot("other", Some(&a)));
        assert_ne!(
            remembered.client_slot("id", None),
            remembered.client_slot("id", Some(&empty))
        );
    }

    #[test]
    fn nothing_is_used_under_another_epoch_or_without_one() {
        let remembered = Remembered::new(10);
        let one = client("one");
        let slot = remembered.client_slot("id", None);
        remembered.keep_client(slot, Some(7), &one);
        assert_eq!(remembered.client(&slot, Some(7)), Some(one.clone()));
        assert_eq!(remembered.client(&slot, None), None);
        assert_eq!(remembered.client(&slot, Some(8)), None);
        // A stale entry is dropped: the old epoch no longer finds it either.
        assert_eq!(remembered.client(&slot, Some(7)), None);
        remembered.keep_client(slot, None, &client("two"));
        assert_eq!(remembered.client(&slot, Some(7)), None);
    }
}
