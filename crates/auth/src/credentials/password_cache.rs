//! Remembers successful password verifications for a short time, so scripts that send Basic
//! auth on every request do not pay for Argon2 each time.
//!
//! The key is an HMAC (with a per-process random key) of the username and password: the cache
//! never holds a password or a digest that could be attacked offline without the key. The
//! value names the user and a digest of the stored password hash that was verified. A hit
//! counts only while that digest still matches the user's current hash (read on every request
//! anyway) and the user is active, so a password change or deactivation, by this instance or
//! another sharing the database, makes the entry useless at once. Only successes are cached:
//! a flood of wrong passwords cannot fill it.

use std::time::Duration;

use moka::sync::Cache;
use tessera_core::clock::Timestamp;
use tessera_core::ids::UserId;

use crate::secret::{HmacKey, constant_time_eq, sha256};

#[derive(Clone, Debug)]
struct Entry {
    user: UserId,
    hash_digest: [u8; 32],
    expires: Timestamp,
}

/// The verified-password cache.
#[derive(Debug)]
pub struct VerifiedPasswords {
    key: HmacKey,
    ttl: Duration,
    entries: Option<Cache<[u8; 32], Entry>>,
}

impl VerifiedPasswords {
    /// A cache keeping entries for `ttl` (zero disables it), holding at most `capacity`.
    pub fn new(ttl: Duration, capacity: u64) -> Self {
        let entries = (!ttl.is_zero()).then(|| {
            Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build()
        });
        Self {
            key: HmacKey::random(),
            ttl,
            entries,
        }
    }

    /// How long a verification is remembered; zero when it is not.
    pub fn ttl(&self) -> Duration {
        if self.entries.is_some() {
            self.ttl
        } else {
            Duration::ZERO
        }
    }

    fn slot(&self, username: &str, password: &str) -> [u8; 32] {
        self.key.digest(&[username.as_bytes(), password.as_bytes()])
    }

    /// Whether this username and password were verified against `stored_hash` recently.
    pub fn is_verified(
        &self,
        username: &str,
        password: &str,
        user: UserId,
        stored_hash: &str,
        now: Timestamp,
    ) -> bool {
        let Some(entries) = &self.entries else {
            return false;
        };
        let Some(entry) = entries.get(&self.slot(username, password)) else {
            return false;
        };
        entry.user == user
            && now < entry.expires
            && constant_time_eq(&entry.hash_digest, &sha256(stored_hash.as_bytes()))
    }

    /// Records a successful verification.
    pub fn remember(
        &self,
        username: &str,
        password: &str,
        user: UserId,
        stored_hash: &str,
        now: Timestamp,
    ) {
        let Some(entries) = &self.entries else { return };
        let entry = Entry {
            user,
            hash_digest: sha256(stored_hash.as_bytes()),
            expires: now.plus(self.ttl),
        };
        entries.insert(self.slot(username, password), entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_millis(1_000_000);

    #[test]
    fn hits_only_for_the_same_password_hash_and_within_the_ttl() {
        let cache = VerifiedPasswords::new(Duration::from_secs(60), 100);
        let alice = UserId(10_000);
        assert!(!cache.is_verified("alice", "pw", alice, "$hash1", T0));
        cache.remember("alice", "pw", alice, "$hash1", T0);
        assert!(cache.is_verified("alice", "pw", alice, "$hash1", T0));
        assert!(
            !cache.is_verified("alice", "other", alice, "$hash1", T0),
            "wrong password"
        );
        assert!(
            !cache.is_verified("alice", "pw", alice, "$hash2", T0),
            "password changed"
        );
        assert!(
            !cache.is_verified("alice", "pw", UserId(10_001), "$hash1", T0),
            "other user"
        );
        let later = T0.plus(Duration::from_secs(61));
        assert!(
            !cache.is_verified("alice", "pw", alice, "$hash1", later),
            "expired"
        );
    }

    #[test]
    fn the_separator_cannot_be_forged() {
        let cache = VerifiedPasswords::new(Duration::from_secs(60), 100);
        cache.remember("ab", "c", UserId(1), "$h", T0);
        assert!(!cache.is_verified("a", "bc", UserId(1), "$h", T0));
    }

    #[test]
    fn a_zero_ttl_disables_it() {
        let cache = VerifiedPasswords::new(Duration::ZERO, 100);
        cache.remember("alice", "pw", UserId(1), "$h", T0);
        assert!(!cache.is_verified("alice", "pw", UserId(1), "$h", T0));
    }
}
