//! Secrets tessera must present to others (the client secret it signs in to an identity
//! provider with), sealed before they are stored. The credentials tessera checks are stored
//! only as hashes; these must be read back, so they are encrypted instead: ChaCha20-Poly1305
//! (ring's AEAD) under a 256-bit key, a fresh random nonce for every seal, and what the
//! secret is for as associated data, so a sealed value copied into another field does not
//! open.
//!
//! The key is the configured one (`secret_key`, `TESSERA_SECRET_KEY`), kept away from the
//! database; without one, a key kept in the database, shared by every instance that uses it
//! (which protects a copy of one table, not of the whole database). A sealed value names its
//! key (`v1:cfg:` or `v1:db:`), so what was sealed before a key was configured still opens,
//! and is sealed under the configured key when it is next set.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use secrecy::{ExposeSecret, SecretString};

use crate::secret::random_bytes;

/// Bytes in a sealing key.
pub const KEY_LEN: usize = 32;

/// A configured sealing key. Its `Debug` output never shows it.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SealingKey(pub [u8; KEY_LEN]);

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealingKey(<redacted>)")
    }
}

impl SealingKey {
    /// A key from its base64 text (standard or URL-safe, padded or not); `None` unless it is
    /// exactly 32 bytes.
    pub fn from_base64(text: &str) -> Option<Self> {
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
        let text = text.trim();
        [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD]
            .into_iter()
            .find_map(|engine| engine.decode(text).ok())
            .and_then(|bytes| <[u8; KEY_LEN]>::try_from(bytes).ok())
            .map(Self)
    }
}

/// A value that does not open: sealed under a key this server does not have, changed, or
/// moved from another field.
#[derive(Debug, thiserror::Error)]
#[error("the sealed secret does not open with this server's key")]
pub struct Unsealable;

pub struct Sealer {
    configured: Option<LessSafeKey>,
    database: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("configured", &self.configured.is_some())
            .finish_non_exhaustive()
    }
}

fn key(bytes: &[u8; KEY_LEN]) -> LessSafeKey {
    // A 32-byte key is ChaCha20-Poly1305's size, so it is always accepted.
    LessSafeKey::new(UnboundKey::new(&CHACHA20_POLY1305, bytes).unwrap_or_else(|_| unreachable!()))
}

impl Sealer {
    pub fn new(configured: Option<&SealingKey>, database: &[u8; KEY_LEN]) -> Self {
        Self {
            configured: configured.map(|k| key(&k.0)),
            database: key(database),
        }
    }

    /// The server's sealer: the configured key, and the one kept in the database (made the
    /// first time, the same for every instance that shares the database).
    pub async fn load(
        store: &dyn tessera_core::store::KeyStore,
        configured: Option<&SealingKey>,
    ) -> Result<Self, tessera_core::store::StoreError> {
        let stored = store
            .server_key("secret-sealing", &random_bytes::<KEY_LEN>())
            .await?;
        let database = <[u8; KEY_LEN]>::try_from(stored.as_slice()).map_err(|_| {
            tessera_core::store::StoreError::Backend(
                "the stored sealing key is not 32 bytes".into(),
            )
        })?;
        Ok(Self::new(configured, &database))
    }

    /// Seals `secret` for `purpose` under the configured key, else the database's.
    pub fn seal(&self, purpose: &str, secret: &SecretString) -> String {
        let (name, key) = match &self.configured {
            Some(configured) => ("cfg", configured),
            None => ("db", &self.database),
        };
        let nonce = random_bytes::<NONCE_LEN>();
        let mut sealed = secret.expose_secret().as_bytes().to_vec();
        if key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(purpose.as_bytes()),
                &mut sealed,
            )
            .is_err()
        {
            unreachable!("a secret shorter than 256 GiB always seals");
        }
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        format!("v1:{name}:{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Opens what [`Sealer::seal`] sealed for the same `purpose`.
    pub fn open(&self, purpose: &str, sealed: &str) -> Result<SecretString, Unsealable> {
        let (key, encoded) = if let Some(rest) = sealed.strip_prefix("v1:cfg:") {
            (self.configured.as_ref().ok_or(Unsealable)?, rest)
        } else if let Some(rest) = sealed.strip_prefix("v1:db:") {
            (&self.database, rest)
        } else {
            return Err(Unsealable);
        };
        let mut bytes = URL_SAFE_NO_PAD.decode(encoded).map_err(|_| Unsealable)?;
        if bytes.len() < NONCE_LEN {
            return Err(Unsealable);
        }
        let mut sealed = bytes.split_off(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(&bytes).map_err(|_| Unsealable)?;
        let plain = key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut sealed)
            .map_err(|_| Unsealable)?;
        String::from_utf8(plain.to_vec())
            .map(SecretString::from)
            .map_err(|_| Unsealable)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_string())
    }

    #[test]
    fn a_sealed_secret_opens_for_its_purpose_only_and_never_twice_the_same() {
        let sealer = Sealer::new(None, &[7; KEY_LEN]);
        let one = sealer.seal("login:tessera-web", &secret("s3cret-value"));
        let two = sealer.seal("login:tessera-web", &secret("s3cret-value"));
        assert!(one.starts_with("v1:db:"), "{one}");
        assert_ne!(one, two, "a fresh nonce each time");
        assert!(!one.contains("s3cret"));
        let opened = sealer.open("login:tessera-web", &one).unwrap();
        assert_eq!(opened.expose_secret(), "s3cret-value");
        assert!(sealer.open("login:other-client", &one).is_err());
        // A changed byte, a truncation, another key, another format: none opens.
        let mut changed = one.clone().into_bytes();
        let last = changed.len() - 2;
        changed[last] = if changed[last] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(changed).unwrap();
        for bad in [
            changed.as_str(),
            &one[..20],
            "v1:db:",
            "v2:db:AAAA",
            "plain",
        ] {
            assert!(sealer.open("login:tessera-web", bad).is_err(), "{bad}");
        }
        assert!(
            Sealer::new(None, &[8; KEY_LEN])
                .open("login:tessera-web", &one)
                .is_err()
        );
    }

    #[test]
    fn a_configured_key_seals_and_what_the_database_key_sealed_still_opens() {
        let before = Sealer::new(None, &[1; KEY_LEN]);
        let old = before.seal("p", &secret("old"));
        let after = Sealer::new(Some(&SealingKey([2; KEY_LEN])), &[1; KEY_LEN]);
        let new = after.seal("p", &secret("new"));
        assert!(new.starts_with("v1:cfg:"), "{new}");
        assert_eq!(after.open("p", &old).unwrap().expose_secret(), "old");
        assert_eq!(after.open("p", &new).unwrap().expose_secret(), "new");
        // Without the configured key, what it sealed does not open.
        assert!(before.open("p", &new).is_err());
    }

    #[test]
    fn a_configured_key_is_32_bytes_of_base64_and_never_shown() {
        let key =
            SealingKey::from_base64(" AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= ").unwrap();
        assert_eq!(key, SealingKey([1; KEY_LEN]));
        assert_eq!(format!("{key:?}"), "SealingKey(<redacted>)");
        assert!(SealingKey::from_base64("AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEB").is_none());
        assert!(SealingKey::from_base64("not base64 at all").is_none());
    }
}
