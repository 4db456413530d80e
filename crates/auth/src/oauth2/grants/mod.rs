//! The token endpoint's grants (RFC 6749 §4.1.3, §6, §4.4.2): the dispatcher only routes by
//! `grant_type`, each grant lives in its own file, and every grant issues its tokens through
//! one place.

mod authorization_code;
mod client_credentials;
mod refresh_token;

use tessera_core::clock::Timestamp;
use tessera_core::oauth2::{Client, GrantId, NewOAuth2Token, OAuth2TokenKind};
use tessera_core::scopes::Scopes;

use crate::token_format::RawToken;

use std::time::Duration;

use crate::oauth2::{Issued, OAuth2Error, OAuth2Server, TokenParams};

impl OAuth2Server {
    /// The token endpoint (RFC 6749 §3.2).
    pub async fn exchange(
        &self,
        client: &Client,
        params: &TokenParams,
        client_ip: std::net::IpAddr,
    ) -> Result<Issued, OAuth2Error> {
        match params.grant_type.as_deref() {
            Some("authorization_code") => self.exchange_code(client, params, client_ip).await,
            Some("refresh_token") => self.exchange_refresh(client, params, client_ip).await,
            Some("client_credentials") => self.client_credentials(client, params).await,
            Some(_) => Err(OAuth2Error::new(
                "unsupported_grant_type",
                "Supported: authorization_code, refresh_token, client_credentials.",
            )),
            None => Err(OAuth2Error::new(
                "invalid_request",
                "grant_type is required.",
            )),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn pair(
        &self,
        access: &RawToken,
        refresh: &RawToken,
        client: &Client,
        grant: Option<GrantId>,
        user: tessera_core::ids::UserId,
        (access_scopes, refresh_scopes): (Scopes, Scopes),
        code_digest: Option<Vec<u8>>,
        now: Timestamp,
    ) -> Vec<NewOAuth2Token> {
        let oauth = self.config;
        let token = |raw: &RawToken, kind, scopes, lifetime: Duration| NewOAuth2Token {
            digest: raw.digest().to_vec(),
            kind,
            grant,
            client: client.key,
            user,
            scopes,
            code_digest: code_digest.clone(),
            created: now,
            expires: Some(now.plus(lifetime)),
        };
        vec![
            token(
                access,
                OAuth2TokenKind::Access,
                access_scopes,
                oauth.access_lifetime,
            ),
            token(
                refresh,
                OAuth2TokenKind::Refresh,
                refresh_scopes,
                oauth.refresh_lifetime,
            ),
        ]
    }
}
