//! Session ids and the tokens derived from them.
//!
//! A session id is 256 random bits, sent to the client in the `JSESSIONID` cookie and stored
//! only as its SHA-256 digest, so a copy of the database cannot be used to hijack sessions.
//! The XSRF form token of a session is an HMAC of its id under a server-wide key: it needs no
//! storage, changes with the session and cannot be computed without the key.

use secrecy::{ExposeSecret, SecretString};

use crate::secret::{HmacKey, base64url, constant_time_eq, random_token, sha256};

pub const SESSION_COOKIE: &str = "JSESSIONID";
/// Jira's cookie for the XSRF form token; readable by page scripts, unlike the session cookie.
pub const XSRF_COOKIE: &str = "atlassian.xsrf.token";

/// A session id as the client holds it. Redacts itself in `Debug`.
#[derive(Clone, Debug)]
pub struct SessionId(SecretString);

impl SessionId {
    pub fn generate() -> Self {
        Self(SecretString::from(random_token()))
    }

    /// Takes a value from a cookie; `None` if it cannot be a session id tessera issued.
    pub fn from_cookie(value: &str) -> Option<Self> {
        let plausible = value.len() == 43
            && value
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        plausible.then(|| Self(SecretString::from(value.to_string())))
    }

    /// The value to put in the cookie.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// What the store keeps.
    pub fn digest(&self) -> Vec<u8> {
        sha256(self.0.expose_secret().as_bytes()).to_vec()
    }

    /// A short, non-secret reference for logs: the first bytes of the digest.
    pub fn reference(&self) -> String {
        hex::encode(&self.digest()[..6])
    }
}

/// Derives and checks the XSRF form tokens of sessions.
#[derive(Clone, Debug)]
pub struct XsrfTokens {
    key: HmacKey,
}

impl XsrfTokens {
    pub fn new(key: HmacKey) -> Self {
        Self { key }
    }

    pub fn token_for(&self, session: &SessionId) -> String {
        base64url(&self.key.digest(&[b"xsrf", session.expose().as_bytes()]))
    }

    pub fn is_valid(&self, session: &SessionId, presented: &str) -> bool {
        constant_time_eq(self.token_for(session).as_bytes(), presented.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_only_in_the_issued_form() {
        let id = SessionId::generate();
        assert!(SessionId::from_cookie(id.expose()).is_some());
        assert!(SessionId::from_cookie("short").is_none());
        assert!(SessionId::from_cookie(&"a".repeat(42)).is_none());
        assert!(SessionId::from_cookie(&format!("{}=", &"a".repeat(42))).is_none());
        assert_eq!(id.digest().len(), 32);
        assert_eq!(id.reference().len(), 12);
        assert!(
            !format!("{id:?}").contains(id.expose()),
            "Debug must not show the id"
        );
    }

    #[test]
    fn xsrf_tokens_belong_to_one_session_and_key() {
        let tokens = XsrfTokens::new(HmacKey::random());
        let a = SessionId::generate();
        let b = SessionId::generate();
        let token = tokens.token_for(&a);
        assert!(tokens.is_valid(&a, &token));
        assert!(!tokens.is_valid(&b, &token));
        assert!(!tokens.is_valid(&a, ""));
        assert!(!XsrfTokens::new(HmacKey::random()).is_valid(&a, &token));
    }
}
