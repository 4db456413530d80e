//! The refresh-token grant (RFC 6749 §6), rotating on every use (RFC 9700 §4.14.2): a spent
//! refresh token presented again revokes its whole grant, so a stolen token and the
//! legitimate one both die.

use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::oauth2::{Client, OAuth2TokenKind, Rotation, requested_scopes};
use tessera_core::secrets::SecretKind;

use crate::oauth2::{Issued, OAuth2Error, OAuth2Server, TokenParams};
use crate::secret::constant_time_eq;
use crate::token_format;

impl OAuth2Server {
    pub(super) async fn exchange_refresh(
        &self,
        client: &Client,
        params: &TokenParams,
        client_ip: std::net::IpAddr,
    ) -> Result<Issued, OAuth2Error> {
        let invalid = |why: &str| OAuth2Error::new("invalid_grant", why);
        let text = params
            .refresh_token
            .as_deref()
            .ok_or_else(|| OAuth2Error::new("invalid_request", "refresh_token is required."))?;
        let digest = token_format::parse_prefixed(text, SecretKind::OAuth2Refresh)
            .map_err(|_| invalid("The refresh token is not valid."))?;
        let found = self
            .store
            .find_oauth_token(&digest)
            .await?
            .filter(|t| t.kind == OAuth2TokenKind::Refresh && constant_time_eq(&t.digest, &digest))
            .ok_or_else(|| invalid("The refresh token is not valid."))?;
        if found.client.key != client.key {
            return Err(invalid("The refresh token was issued to another client."));
        }
        let now = self.clock.now();
        // A spent token is not refused here: the rotation below sees it and revokes the grant.
        if found.revoked.is_some() || found.grant_revoked.is_some() {
            return Err(invalid("The refresh token has been revoked."));
        }
        if found.expires.is_some_and(|at| now >= at) {
            return Err(invalid("The refresh token has expired."));
        }
        if !found.user.active {
            return Err(invalid("The user is no longer active."));
        }
        // Never more than the client is registered for now. RFC 6749 §6: a refresh may narrow
        // the access token's scopes, never widen them; the new refresh token keeps the old one's.
        let granted = found.scopes.intersection(client.scopes);
        let scopes = match params.scope.as_deref() {
            None => granted,
            Some(text) => match requested_scopes(Some(text), granted) {
                Ok(scopes) => scopes,
                Err(_) => {
                    return Err(OAuth2Error::new(
                        "invalid_scope",
                        "A refresh cannot ask for more than was granted.",
                    ));
                }
            },
        };
        let access = token_format::mint(SecretKind::OAuth2Access);
        let refresh = token_format::mint(SecretKind::OAuth2Refresh);
        let replacements = self.pair(
            &access,
            &refresh,
            client,
            found.grant,
            found.user.id,
            (scopes, granted),
            found.code_digest.clone(),
            now,
        );
        let mut reuse = AuditEvent::anonymous(
            now,
            client_ip,
            "oauth.refresh_token.reused",
            found
                .grant
                .map_or_else(|| "oauth".to_string(), |g| format!("oauth:{g}")),
        )
        .outcome(Outcome::Denied)
        .reason("refresh_token_reused");
        reuse.actor_id = Some(found.user.id.0);
        reuse.actor_name = Some(found.user.name.clone());
        reuse.credential_kind = Some("oauth2".into());
        match self
            .store
            .rotate_refresh_token(&digest, now, &replacements, &reuse)
            .await?
        {
            Rotation::Rotated => Ok(Issued {
                access_token: access,
                expires_in: self.config.access_lifetime.as_secs(),
                refresh_token: Some(refresh),
                scopes,
            }),
            Rotation::Reused(grant) => {
                tracing::warn!(target: "tessera::security", grant = ?grant, "a spent refresh token was presented; its grant is revoked");
                Err(invalid(
                    "The refresh token has already been used; the grant is revoked.",
                ))
            }
            Rotation::Unknown => Err(invalid("The refresh token is not valid.")),
        }
    }
}
