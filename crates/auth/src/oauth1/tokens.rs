//! Authorized applications: the OAuth 1.0a access tokens a user approved, which the user can
//! list and revoke, and an administrator too (per consumer).
//!
//! Security invariants kept here: another user's token does not exist for a user (a
//! revocation of it is "not found", as is one of a request token or a revoked token); a
//! caller signed in with a token of any kind may list (at most the one it acts under, for an
//! application link) but never revoke; every revocation is recorded in the same transaction
//! as the token's end, and takes effect on the very next request everywhere (signed requests
//! read their token every time).

use tessera_core::audit::AuditEvent;
use tessera_core::authz::{Administer, Authorizer};
use tessera_core::error::{Error, Missing};
use tessera_core::oauth1::{OAuth1Token, OAuth1TokenKind};
use tessera_core::principal::Principal;

use super::OAuth1Server;

fn token_target(token: &OAuth1Token) -> String {
    format!("oauth1:{}", token.id)
}

impl OAuth1Server {
    /// Any user: the applications they authorized (live access tokens), newest first. An
    /// application link acting for the user sees only its own token.
    pub async fn tokens_of(&self, principal: &Principal) -> Result<Vec<OAuth1Token>, Error> {
        let mut tokens = self
            .store
            .list_oauth1_tokens(Some(principal.user.id))
            .await?;
        if principal.method.is_token() {
            let own = principal.oauth1.as_ref().and_then(|caller| caller.token);
            tokens.retain(|token| Some(token.id) == own);
        }
        Ok(tokens)
    }

    /// The token's user, with a password or a session: revokes one of their own access
    /// tokens (others' are "not found", even to a caller with a token).
    pub async fn revoke_own_token(&self, principal: &Principal, id: i64) -> Result<(), Error> {
        let missing = || Error::NotFound(Missing::OAuth1Token(id.to_string()));
        let token = self
            .live_access_token(id)
            .await?
            .filter(|t| t.user.as_ref().is_some_and(|u| u.id == principal.user.id))
            .ok_or_else(missing)?;
        Authorizer::manage_credentials(principal)?;
        let now = self.clock.now();
        let event = AuditEvent::by(principal, now, "oauth1.token.revoked", token_target(&token))
            .reason("owner");
        if !self.store.revoke_oauth1_token(id, now, &event).await? {
            return Err(missing());
        }
        Ok(())
    }

    /// Global ADMINISTER: the live access tokens a consumer holds, newest first.
    pub async fn tokens_of_consumer(
        &self,
        admin: &Administer,
        consumer_key: &str,
    ) -> Result<Vec<OAuth1Token>, Error> {
        let consumer = self.consumer(admin, consumer_key).await?;
        let mut tokens = self.store.list_oauth1_tokens(None).await?;
        tokens.retain(|token| token.consumer.id == consumer.id);
        Ok(tokens)
    }

    /// Global ADMINISTER: revokes one of a consumer's access tokens.
    pub async fn revoke_token(
        &self,
        admin: &Administer,
        principal: Option<&Principal>,
        consumer_key: &str,
        id: i64,
    ) -> Result<(), Error> {
        let missing = || Error::NotFound(Missing::OAuth1Token(id.to_string()));
        let consumer = self.consumer(admin, consumer_key).await?;
        let token = self
            .live_access_token(id)
            .await?
            .filter(|t| t.consumer.id == consumer.id)
            .ok_or_else(missing)?;
        let now = self.clock.now();
        let event =
            AuditEvent::by_caller(principal, now, "oauth1.token.revoked", token_target(&token))
                .reason("administrator");
        if !self.store.revoke_oauth1_token(id, now, &event).await? {
            return Err(missing());
        }
        Ok(())
    }

    async fn live_access_token(&self, id: i64) -> Result<Option<OAuth1Token>, Error> {
        Ok(self
            .store
            .get_oauth1_token(id)
            .await?
            .filter(|t| t.kind == OAuth1TokenKind::Access && t.revoked.is_none()))
    }
}
