//! OAuth 2.0 access tokens, presented as `Authorization: Bearer` (RFC 6750 §2.1).
//!
//! The token is checked by shape and checksum, looked up by its SHA-256 and the stored digest
//! confirmed in constant time. It works only while the token, its grant and its client are
//! live and its user active, and never for more than its client is registered for now (a
//! client whose scopes were narrowed narrows its tokens at once).

use std::sync::Arc;

use secrecy::{ExposeSecret, SecretString};
use tessera_core::clock::Clock;
use tessera_core::oauth2::OAuth2TokenKind;
use tessera_core::principal::{AuthMethod, OAuth2Caller};
use tessera_core::secrets::SecretKind;
use tessera_core::store::Store;

use super::{Attempt, Cacheable, Limits, Rejection, Verified, Verifier, token_refused};
use crate::error::TokenRejection;
use crate::secret::constant_time_eq;
use crate::token_format::{self, FormatError};

#[derive(Debug)]
pub struct OAuth2AccessVerifier {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl OAuth2AccessVerifier {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self { store, clock }
    }
}

impl Verifier for OAuth2AccessVerifier {
    type Input<'r> = SecretString;

    async fn verify<'r>(
        &'r self,
        raw: SecretString,
        attempt: Attempt<'r>,
    ) -> Result<Verified, Rejection> {
        let refuse = |why| token_refused(self.clock.now(), attempt, "oauth2", Some("oauth2"), why);
        let digest =
            match token_format::parse_prefixed(raw.expose_secret(), SecretKind::OAuth2Access) {
                Ok(digest) => digest,
                Err(FormatError::Malformed | FormatError::NotAToken) => {
                    return Err(refuse(TokenRejection::Malformed));
                }
            };
        let Some(found) = self.store.find_oauth_token(&digest).await? else {
            return Err(refuse(TokenRejection::Unknown));
        };
        if !constant_time_eq(&found.digest, &digest) || found.kind != OAuth2TokenKind::Access {
            return Err(refuse(TokenRejection::Unknown));
        }
        let now = self.clock.now();
        if found.revoked.is_some() || found.grant_revoked.is_some() || !found.client.enabled {
            return Err(refuse(TokenRejection::Revoked));
        }
        if found.expires.is_some_and(|at| now >= at) {
            return Err(refuse(TokenRejection::Expired));
        }
        if !found.user.active {
            return Err(refuse(TokenRejection::OwnerInactive));
        }
        let credential_ref = Some(match found.grant {
            Some(grant) => format!("oauth:{grant}"),
            None => format!("oauthclient:{}", found.client.key.0),
        });
        Ok(Verified {
            credential_ref,
            // Never more than the client is registered for now.
            limits: Limits {
                scopes: found.scopes.intersection(found.client.scopes),
                projects: None,
                allowed_ips: Vec::new(),
            },
            cacheable: found
                .expires
                .map_or(Cacheable::UntilRevoked, Cacheable::Until),
            oauth2: Some(OAuth2Caller {
                client_id: found.client.client_id,
                client_name: found.client.name,
                grant: found.grant,
                client: found.client.key,
            }),
            ..Verified::user(found.user, AuthMethod::OAuth2)
        })
    }
}
