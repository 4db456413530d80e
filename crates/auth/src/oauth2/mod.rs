//! The OAuth 2.0 authorization server: client registration, the authorization-code grant with
//! PKCE (RFC 6749 §4.1, RFC 7636), refresh tokens that rotate on every use (RFC 9700 §4.14.2),
//! `client_credentials` for confidential clients bound to a service account (RFC 6749 §4.4),
//! revocation (RFC 7009) and introspection (RFC 7662). Access tokens authenticate API requests
//! as `Authorization: Bearer` ([`crate::credentials::oauth2_access`]).
//!
//! Security invariants kept here:
//! - Codes, tokens and client secrets are 256-bit random strings with a typed prefix and a
//!   checksum ([`crate::token_format`]); only their SHA-256 is stored, and stored digests are
//!   confirmed in constant time.
//! - A code is single-use and expires within [`OAuth2Config::code_lifetime`]; redeeming it twice
//!   revokes every token issued from it. It is bound to its client, redirect URI and PKCE
//!   challenge; public clients must use PKCE with S256 (`plain` is refused, RFC 9700 §2.1.1).
//! - A refresh token is exchanged once; presenting a spent one revokes the whole grant, so a
//!   stolen token and the legitimate one both die.
//! - A token never carries scopes beyond what its client is registered for and its user
//!   consented to; what it can do is further capped by the user's permissions, checked by the
//!   authorizer like any other credential.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::SecretString;
use tessera_core::clock::{Clock, Timestamp};
use tessera_core::oauth2::{Client, Grant, OAuth2TokenKind, OAuth2TokenMatch};
use tessera_core::scopes::Scopes;
use tessera_core::secrets::SecretKind;
use tessera_core::store::{Store, StoreError};

use crate::audit_log::AuditLog;
use crate::secret::{constant_time_eq, sha256};
use crate::token_format::{self, RawToken};

/// Lifetimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OAuth2Config {
    pub access_lifetime: Duration,
    /// A refresh token expires this long after it was issued (each rotation issues a new one).
    pub refresh_lifetime: Duration,
    pub code_lifetime: Duration,
    /// How many client authentications, and how many tokens, introspection remembers
    /// (zero: none).
    pub remembered_capacity: u64,
}

impl Default for OAuth2Config {
    fn default() -> Self {
        Self {
            access_lifetime: Duration::from_secs(60 * 60),
            refresh_lifetime: Duration::from_secs(90 * 24 * 60 * 60),
            code_lifetime: Duration::from_secs(10 * 60),
            remembered_capacity: 20_000,
        }
    }
}

/// An error of the token, revocation or introspection endpoints, in RFC 6749 §5.2's form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuth2Error {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope` (or `server_error`).
    pub error: &'static str,
    pub description: String,
    /// `invalid_client` is 401 (with a challenge when the client used Basic), the rest 400.
    pub status: u16,
}

impl OAuth2Error {
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        let status = if error == "invalid_client" { 401 } else { 400 };
        Self {
            error,
            description: description.into(),
            status,
        }
    }

    fn server(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "the OAuth 2.0 server failed");
        Self {
            error: "server_error",
            description: "The server failed; try again later.".into(),
            status: 500,
        }
    }
}

impl From<StoreError> for OAuth2Error {
    fn from(error: StoreError) -> Self {
        Self::server(error)
    }
}

/// How a client authenticated at the token, revocation or introspection endpoint.
#[derive(Debug, Default)]
pub struct ClientCredentials {
    pub client_id: Option<String>,
    pub client_secret: Option<SecretString>,
}

/// An authorization request (RFC 6749 §4.1.1), as received.
#[derive(Clone, Debug, Default)]
pub struct AuthorizationParams {
    pub response_type: Option<String>,
    pub client_id: Option<String>,
    pub redirect_uri: Option<String>,
    pub scope: Option<String>,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
    pub code_challenge_method: Option<String>,
}

/// A checked authorization request.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    pub client: Client,
    pub redirect_uri: String,
    /// Whether the request named the redirect URI (or relied on the only registered one).
    pub redirect_uri_given: bool,
    pub scopes: Scopes,
    pub state: Option<String>,
    pub code_challenge: Option<String>,
}

/// Why an authorization request fails.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeError {
    /// The client or the redirect URI cannot be trusted: shown to the user, never redirected
    /// to (RFC 6749 §4.1.2.1).
    NoRedirect(String),
    /// Sent back to the client's redirect URI with `state` and `iss` (RFC 9207).
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: String,
        state: Option<String>,
    },
}

/// A token response (RFC 6749 §5.1).
#[derive(Debug)]
pub struct Issued {
    pub access_token: RawToken,
    pub expires_in: u64,
    pub refresh_token: Option<RawToken>,
    pub scopes: Scopes,
}

/// A token request (RFC 6749 §4.1.3, §6, §4.4.2).
#[derive(Debug, Default)]
pub struct TokenParams {
    pub grant_type: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
}

/// What introspection tells (RFC 7662 §2.2).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Introspection {
    pub kind: OAuth2TokenKind,
    pub scopes: Scopes,
    pub client_id: String,
    pub username: String,
    pub issued: Timestamp,
    pub expires: Option<Timestamp>,
}

/// A client registration as an administrator sends it.
#[derive(Clone, Debug, Default)]
pub struct ClientInput {
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub confidential: bool,
    pub scopes: Vec<String>,
    /// The service account a confidential client acts as with `client_credentials`.
    pub service_account: Option<String>,
}

/// `S256`: BASE64URL(SHA256(ASCII(verifier))) (RFC 7636 §4.2).
pub fn pkce_challenge(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(sha256(verifier.as_bytes()))
}

/// RFC 7636 §4.1: 43 to 128 unreserved characters.
fn is_pkce_value(text: &str) -> bool {
    (43..=128).contains(&text.len())
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

mod clients;
mod consent;
mod grants;
mod introspect;
mod remembered;
mod revoke;

/// The OAuth 2.0 authorization server. Its access tokens are verified, like every other
/// credential, by the authenticator ([`crate::credentials::oauth2_access`]).
#[derive(Debug)]
pub struct OAuth2Server {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    audit: Arc<AuditLog>,
    config: OAuth2Config,
    remembered: remembered::Remembered,
}

impl OAuth2Server {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        audit: Arc<AuditLog>,
        config: OAuth2Config,
    ) -> Self {
        Self {
            store,
            clock,
            audit,
            remembered: remembered::Remembered::new(config.remembered_capacity),
            config,
        }
    }

    pub fn config(&self) -> &OAuth2Config {
        &self.config
    }

    /// Finds a presented access or refresh token of this server.
    async fn presented(&self, text: &str) -> Result<Option<OAuth2TokenMatch>, OAuth2Error> {
        let Some(digest) = token_digest(text) else {
            return Ok(None);
        };
        self.find_token(&digest).await
    }

    async fn find_token(&self, digest: &[u8]) -> Result<Option<OAuth2TokenMatch>, OAuth2Error> {
        Ok(self
            .store
            .find_oauth_token(digest)
            .await?
            .filter(|t| constant_time_eq(&t.digest, digest)))
    }

    /// [`Self::presented`] for a read that changes nothing (introspection): a row read under
    /// the current auth epoch may come from memory. Whether it is live is still the caller's
    /// to check, at its own time.
    async fn presented_remembered(
        &self,
        text: &str,
    ) -> Result<Option<OAuth2TokenMatch>, OAuth2Error> {
        let Some(digest) = token_digest(text) else {
            return Ok(None);
        };
        let slot = self.remembered.token_slot(&digest);
        // Read before the database, so that a change made meanwhile leaves the entry stale.
        let epoch = self.store.auth_epoch();
        if let Some(found) = self.remembered.token(&slot, epoch) {
            return Ok(Some(found));
        }
        let found = self.find_token(&digest).await?;
        // Access tokens only: a refresh token's exchange is not among the changes other
        // instances are told of (it is no credential for the API), so it is always read.
        if let Some(found) = &found
            && found.kind == OAuth2TokenKind::Access
        {
            self.remembered.keep_token(slot, epoch, found);
        }
        Ok(found)
    }
}

/// The digest of a well-formed access or refresh token; `None` for anything else.
fn token_digest(text: &str) -> Option<[u8; 32]> {
    [SecretKind::OAuth2Access, SecretKind::OAuth2Refresh]
        .into_iter()
        .find_map(|prefix| token_format::parse_prefixed(text, prefix).ok())
}

fn client_target(client: &Client) -> String {
    format!("oauthclient:{}", client.client_id)
}

fn grant_target(grant: &Grant) -> String {
    format!("oauth:{}", grant.id)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pkce_s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(is_pkce_value(verifier));
        assert_eq!(
            pkce_challenge(verifier),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
    }

    #[test]
    fn pkce_values_are_43_to_128_unreserved_characters() {
        assert!(!is_pkce_value(&"a".repeat(42)));
        assert!(is_pkce_value(&"a".repeat(128)));
        assert!(!is_pkce_value(&"a".repeat(129)));
        assert!(!is_pkce_value(&format!("{}+", "a".repeat(43))));
        assert!(is_pkce_value(&format!("{}-._~", "a".repeat(40))));
    }

    #[test]
    fn oauth_errors_carry_rfc_6749_statuses() {
        assert_eq!(OAuth2Error::new("invalid_client", "x").status, 401);
        assert_eq!(OAuth2Error::new("invalid_grant", "x").status, 400);
    }
}
