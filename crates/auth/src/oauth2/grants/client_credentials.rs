//! The `client_credentials` grant (RFC 6749 §4.4): a confidential client bound to a service
//! account acts as that account, never with more than the client is registered for; no
//! refresh token is issued.

use tessera_core::oauth2::{Client, NewOAuth2Token, OAuth2TokenKind, requested_scopes};
use tessera_core::secrets::SecretKind;

use crate::oauth2::{Issued, OAuth2Error, OAuth2Server, TokenParams};
use crate::token_format;

impl OAuth2Server {
    pub(super) async fn client_credentials(
        &self,
        client: &Client,
        params: &TokenParams,
    ) -> Result<Issued, OAuth2Error> {
        if !client.confidential {
            return Err(OAuth2Error::new(
                "unauthorized_client",
                "Only confidential clients may use client_credentials.",
            ));
        }
        let Some(account) = client.service_account else {
            return Err(OAuth2Error::new(
                "unauthorized_client",
                "The client is not bound to a service account.",
            ));
        };
        let active = self
            .store
            .find_user(account)
            .await?
            .is_some_and(|u| u.active);
        if !active {
            return Err(OAuth2Error::new(
                "unauthorized_client",
                "The client's service account is deactivated.",
            ));
        }
        let scopes = requested_scopes(params.scope.as_deref(), client.scopes).map_err(|_| {
            OAuth2Error::new("invalid_scope", "The client may not ask for those scopes.")
        })?;
        let now = self.clock.now();
        let access = token_format::mint(SecretKind::OAuth2Access);
        // No refresh token: the client can ask again (RFC 6749 §4.4.3).
        let token = NewOAuth2Token {
            digest: access.digest().to_vec(),
            kind: OAuth2TokenKind::Access,
            grant: None,
            client: client.key,
            user: account,
            scopes,
            code_digest: None,
            created: now,
            expires: Some(now.plus(self.config.access_lifetime)),
        };
        self.store.create_oauth_tokens(&[token]).await?;
        Ok(Issued {
            access_token: access,
            expires_in: self.config.access_lifetime.as_secs(),
            refresh_token: None,
            scopes,
        })
    }
}
