//! The verified-credential cache: what a token's verification and its user's access came to,
//! remembered so that the next request with the same token reaches its handler with no
//! database read for authentication or policy.
//!
//! - **Keyed** by an HMAC (per-process random key) of the credential's kind and secret (and the
//!   Basic user name it came with): the cache never holds a secret, nor a digest of one that
//!   could be attacked offline.
//! - **Only what was verified and admitted** is remembered: a wrong, unknown, expired or
//!   revoked credential never enters, so a flood of them cannot fill it.
//! - **Never past its credential's end** ([`Cacheable`]), nor past [`MAX_AGE`] in any case.
//! - **Never past a change**: each answer is kept under the store's auth epoch
//!   ([`tessera_core::store::AuthChangeStore`]), which moves with every change a credential
//!   depends on (revocation, deletion, user deactivation, group or password change, policy,
//!   scopes, IP rules, OAuth clients, identity providers), made through this instance at once
//!   and through any other within a second; an answer kept under another epoch is not used.
//!   While the store cannot vouch for its epoch (its watch interrupted), nothing is used.
//!
//! A hit still goes through everything that does not read the database: the credential's
//! address allowlist and the policy's rules for the request's method, address and surface.
//! A Basic password's answer is remembered as long as the password cache remembers its
//! verification (2 minutes), so Argon2 runs once per client and a wrong password never enters.
//! A session's answer is remembered until its last use is due to be written again (a minute
//! at most), so its idle timeout keeps counting as before; the XSRF rule is each request's
//! own and is checked on every hit. An OAuth 1.0a call's answer is looked for only once its
//! signature held and its nonce was spent (each request is signed anew), by its consumer and
//! token. Opaque tokens are not remembered here (their introspection has its own cache).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;
use secrecy::ExposeSecret;
use tessera_core::clock::Timestamp;
use tessera_core::store::UserAccess;

use crate::credentials::oauth1::SignedCall;
use crate::credentials::{Cacheable, Presented, Verified};
use crate::secret::HmacKey;

/// The longest any answer is remembered, whatever the credential's own end: a bound on what a
/// change the epoch did not cover could ever cost.
pub const MAX_AGE: Duration = Duration::from_secs(5 * 60);

#[derive(Debug)]
struct Entry {
    epoch: u64,
    until: Timestamp,
    verified: Verified,
    access: UserAccess,
}

/// The cache (disabled with a capacity of zero).
#[derive(Debug)]
pub struct Remembered {
    key: HmacKey,
    entries: Option<Cache<[u8; 32], Arc<Entry>>>,
    /// Answers found (and still holding), for the metrics.
    hits: AtomicU64,
    /// Credentials looked for and not found, or found stale.
    misses: AtomicU64,
}

impl Remembered {
    pub fn new(capacity: u64) -> Self {
        let entries = (capacity > 0).then(|| {
            Cache::builder()
                .max_capacity(capacity)
                .time_to_live(MAX_AGE)
                .build()
        });
        Self {
            key: HmacKey::random(),
            entries,
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    /// How many looked-for answers were found and how many were not, since the start.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }

    pub fn is_enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// Where a presented credential's answer is kept; `None` for the kinds never remembered.
    pub fn slot(&self, presented: &Presented) -> Option<[u8; 32]> {
        self.entries.as_ref()?;
        Some(match presented {
            Presented::Token { raw, basic_user } => {
                let (tag, user): (&[u8], &str) = match basic_user {
                    Some(user) => (b"basic-token", user),
                    None => (b"bearer-token", ""),
                };
                let secret = raw.expose_secret().as_bytes();
                self.key.digest(&[tag, user.as_bytes(), secret])
            }
            Presented::OAuth2Access(raw) => self
                .key
                .digest(&[b"oauth2", raw.expose_secret().as_bytes()]),
            Presented::ExternalJwt(raw) => {
                self.key.digest(&[b"jwt", raw.expose_secret().as_bytes()])
            }
            Presented::Password { username, password } => {
                let name = username.trim().to_lowercase();
                let secret = password.expose_secret().as_bytes();
                self.key.digest(&[b"password", name.as_bytes(), secret])
            }
            Presented::Session(session) => self.key.digest(&[b"session", &session.digest()]),
            Presented::OAuth1(_) | Presented::Opaque(_) => return None,
        })
    }

    /// Where a signed OAuth 1.0a call's answer is kept, once its signature held: by its
    /// consumer and token. `None` for calls never remembered.
    pub fn signed_slot(&self, call: &SignedCall) -> Option<[u8; 32]> {
        self.entries.as_ref()?;
        let (consumer, token) = call.remembered_as()?;
        Some(
            self.key
                .digest(&[b"oauth1", consumer.as_bytes(), token.as_bytes()]),
        )
    }

    /// The answer kept at `slot` under `epoch`, if it still holds at `now`: a fresh copy of the
    /// verified credential (with no events) and the user's access.
    pub fn get(
        &self,
        slot: &[u8; 32],
        epoch: u64,
        now: Timestamp,
    ) -> Option<(Verified, UserAccess)> {
        let entries = self.entries.as_ref()?;
        let Some(entry) = entries.get(slot) else {
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        if entry.epoch != epoch || now >= entry.until {
            entries.invalidate(slot);
            self.misses.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        self.hits.fetch_add(1, Ordering::Relaxed);
        Some((copy(&entry.verified), entry.access.clone()))
    }

    /// Keeps an admitted credential's answer, verified under `epoch` (read before the
    /// verification started, so that a change made meanwhile leaves it stale).
    pub fn keep(
        &self,
        slot: [u8; 32],
        epoch: u64,
        verified: &Verified,
        access: &UserAccess,
        now: Timestamp,
    ) {
        let Some(entries) = &self.entries else { return };
        let longest = now.plus(MAX_AGE);
        let until = match verified.cacheable {
            Cacheable::Never => return,
            Cacheable::Until(end) => end.min(longest),
            Cacheable::UntilRevoked => longest,
        };
        if until <= now {
            return;
        }
        entries.insert(
            slot,
            Arc::new(Entry {
                epoch,
                until,
                verified: copy(verified),
                access: access.clone(),
            }),
        );
    }
}

/// What a remembered answer hands each request: the verified credential without the events its
/// verification recorded (recorded once, then) and without a session (never remembered).
fn copy(verified: &Verified) -> Verified {
    Verified {
        user: verified.user.clone(),
        method: verified.method,
        credential_ref: verified.credential_ref.clone(),
        token: verified.token,
        limits: verified.limits.clone(),
        oauth2: verified.oauth2.clone(),
        oauth1: verified.oauth1.clone(),
        external: verified.external,
        session: None,
        websudo_until: verified.websudo_until,
        success_event: None,
        changes: Vec::new(),
        cacheable: verified.cacheable,
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;
    use tessera_core::ids::UserId;

    use crate::credentials::session::SessionId;
    use tessera_core::model::User;
    use tessera_core::principal::AuthMethod;

    use super::*;

    const NOW: Timestamp = Timestamp::from_millis(1_700_000_000_000);

    fn token(raw: &str, basic_user: Option<&str>) -> Presented {
        Presented::Token {
            raw: SecretString::from(raw.to_string()),
            basic_user: basic_user.map(str::to_string),
        }
    }

    fn verified(cacheable: Cacheable) -> Verified {
        let user = User {
            id: UserId(10001),
            name: "dev".into(),
            cased_name: "Dev".into(),
            display_name: "Dev".into(),
            email: None,
            active: true,
            has_password: true,
            created: NOW,
            service_owner: None,
        };
        Verified {
            cacheable,
            ..Verified::user(user, AuthMethod::BearerToken)
        }
    }

    #[test]
    fn answers_are_kept_per_secret_and_only_for_their_epoch_and_life() {
        let cache = Remembered::new(10);
        let access = UserAccess::default();
        let slot = cache.slot(&token("tspat_a", None)).unwrap();
        assert_ne!(Some(slot), cache.slot(&token("tspat_b", None)));
        assert_ne!(
            Some(slot),
            cache.slot(&token("tspat_a", Some(""))),
            "Basic is another way in"
        );
        assert_ne!(
            cache.slot(&token("tspat_a", Some("dev"))),
            cache.slot(&token("tspat_a", Some("eve")))
        );
        let password = Presented::Password {
            username: "dev".into(),
            password: SecretString::from("pw".to_string()),
        };
        let basic = |name: &str, secret: &str| Presented::Password {
            username: name.into(),
            password: SecretString::from(secret.to_string()),
        };
        assert_eq!(
            cache.slot(&password),
            cache.slot(&basic(" DEV", "pw")),
            "names match in any case"
        );
        assert_ne!(cache.slot(&password), cache.slot(&basic("dev", "pw2")));
        assert_ne!(cache.slot(&password), cache.slot(&token("pw", Some("dev"))));

        let later = NOW.plus(Duration::from_secs(60));
        cache.keep(slot, 7, &verified(Cacheable::Until(later)), &access, NOW);
        assert!(cache.get(&slot, 7, NOW).is_some());
        assert!(cache.get(&slot, 8, NOW).is_none(), "another epoch: stale");
        assert!(cache.get(&slot, 7, NOW).is_none(), "and forgotten");
        cache.keep(slot, 7, &verified(Cacheable::Until(later)), &access, NOW);
        assert!(
            cache.get(&slot, 7, later).is_none(),
            "not past the credential's end"
        );
        cache.keep(slot, 7, &verified(Cacheable::UntilRevoked), &access, NOW);
        assert!(
            cache.get(&slot, 7, NOW.plus(MAX_AGE)).is_none(),
            "nor past the longest age"
        );
        cache.keep(slot, 7, &verified(Cacheable::Never), &access, NOW);
        assert!(
            cache.get(&slot, 7, NOW).is_none(),
            "what may never be kept is not"
        );
        let off = Remembered::new(0);
        assert_eq!(off.slot(&token("tspat_a", None)), None);
        // Sessions are remembered, each under its own id.
        let session = |id: &str| Presented::Session(SessionId::from_cookie(id).unwrap());
        let (one, two) = ("a".repeat(43), "b".repeat(43));
        assert!(cache.slot(&session(&one)).is_some());
        assert_ne!(cache.slot(&session(&one)), cache.slot(&session(&two)));
        assert_eq!(cache.slot(&session(&one)), cache.slot(&session(&one)));
    }
}
