//! Token revocation by the client that holds the token (RFC 7009): revoking a refresh token
//! revokes its grant's access tokens; a token of another client is not touched, and the
//! answer is the same either way (§2.2).

use tessera_core::audit::AuditEvent;
use tessera_core::oauth2::Client;

use super::{OAuth2Error, OAuth2Server};

impl OAuth2Server {
    /// RFC 7009: revokes a token issued to `client`. Unknown tokens are not an error (§2.2);
    /// another client's token is refused.
    pub async fn revoke_for_client(
        &self,
        client: &Client,
        token: &str,
        client_ip: std::net::IpAddr,
    ) -> Result<(), OAuth2Error> {
        let Some(found) = self.presented(token).await? else {
            return Ok(());
        };
        if found.client.key != client.key {
            return Err(OAuth2Error::new(
                "unauthorized_client",
                "The token was issued to another client.",
            ));
        }
        let now = self.clock.now();
        if self.store.revoke_oauth_token(&found.digest, now).await? {
            let mut event = AuditEvent::anonymous(
                now,
                client_ip,
                "oauth.token.revoked",
                found.grant.map_or_else(
                    || format!("oauthclient:{}", client.key.0),
                    |g| format!("oauth:{g}"),
                ),
            )
            .reason(found.kind.name());
            event.actor_id = Some(found.user.id.0);
            event.actor_name = Some(found.user.name.clone());
            event.credential_kind = Some("oauth2".into());
            self.audit.record(event);
        }
        Ok(())
    }
}
