//! Personal access tokens and service-account keys, presented as `Authorization: Bearer` or
//! in a Basic password (with the owner's name as the user name).
//!
//! A token is checked by shape and checksum first (no database read for a typo), then looked
//! up by the SHA-256 of the whole token on every request, and the stored digest is confirmed
//! in constant time. A refusal says whether the token was malformed, unknown, expired,
//! revoked or replaced by a rotation, and nothing else; with Basic, a user name that is not
//! the token's owner is the same "unknown" as a wrong token.

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tessera_core::clock::Clock;
use tessera_core::principal::AuthMethod;
use tessera_core::store::Store;
use tessera_core::tokens::TokenKind;

use super::{Attempt, Cacheable, Limits, Rejection, Verified, Verifier, token_refused};
use crate::error::TokenRejection;
use crate::secret::constant_time_eq;
use crate::token_format::{self, FormatError};

/// A token as presented.
#[derive(Debug)]
pub struct PresentedToken {
    pub raw: SecretString,
    /// The Basic user name it came with, if it came in a Basic password.
    pub basic_user: Option<String>,
}

#[derive(Debug)]
pub struct PatVerifier {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl PatVerifier {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}

impl Verifier for PatVerifier {
    type Input<'r> = PresentedToken;

    async fn verify<'r>(
        &'r self,
        input: PresentedToken,
        attempt: Attempt<'r>,
    ) -> Result<Verified, Rejection> {
        let refuse = |why| token_refused(self.clock.now(), attempt, "token", None, why);
        let presented = match token_format::parse(input.raw.expose_secret()) {
            Ok(presented) => presented,
            Err(FormatError::Malformed | FormatError::NotAToken) => {
                return Err(refuse(TokenRejection::Malformed));
            }
        };
        let Some(found) = self.store.find_token_by_digest(&presented.digest).await? else {
            return Err(refuse(TokenRejection::Unknown));
        };
        // The database found the row by digest; confirm it without a data-dependent time.
        if !constant_time_eq(&found.digest, &presented.digest) {
            return Err(refuse(TokenRejection::Unknown));
        }
        let token = found.token;
        let now = self.clock.now();
        if token.kind != presented.kind {
            return Err(refuse(TokenRejection::Unknown));
        }
        if token.revoked.is_some() {
            return Err(refuse(TokenRejection::Revoked));
        }
        if let Some(until) = found.previous_secret_until
            && until.is_none_or(|until| now >= until)
        {
            return Err(refuse(TokenRejection::Rotated));
        }
        if token.is_expired(now) {
            return Err(refuse(TokenRejection::Expired));
        }
        if let Some(name) = &input.basic_user {
            let name = name.trim().to_lowercase();
            if !constant_time_eq(name.as_bytes(), found.owner.name.as_bytes()) {
                return Err(refuse(TokenRejection::Unknown));
            }
        }
        if !found.owner.active {
            return Err(refuse(TokenRejection::OwnerInactive));
        }
        let method = match (token.kind, &input.basic_user) {
            (TokenKind::ServiceKey, _) => AuthMethod::ServiceKey,
            (TokenKind::Personal, Some(_)) => AuthMethod::BasicToken,
            (TokenKind::Personal, None) => AuthMethod::BearerToken,
        };
        Ok(Verified {
            credential_ref: Some(format!("token:{}", token.id)),
            token: Some(token.id),
            cacheable: match (token.expires, found.previous_secret_until.flatten()) {
                (None, None) => Cacheable::UntilRevoked,
                (expires, overlap) => {
                    Cacheable::Until(expires.into_iter().chain(overlap).min().unwrap_or(now))
                }
            },
            limits: Limits {
                scopes: token.scopes,
                projects: token.projects,
                allowed_ips: token.allowed_ips,
            },
            ..Verified::user(found.owner, method)
        })
    }
}
