//! The authorization-code grant (RFC 6749 §4.1.3) with PKCE (RFC 7636): a code is
//! single-use, bound to its client, redirect URI and challenge; redeeming one twice revokes
//! every token issued from it.

use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::oauth2::{Client, Redemption};
use tessera_core::secrets::SecretKind;

use crate::oauth2::{
    Issued, OAuth2Error, OAuth2Server, TokenParams, is_pkce_value, pkce_challenge,
};
use crate::secret::constant_time_eq;
use crate::token_format;

impl OAuth2Server {
    pub(super) async fn exchange_code(
        &self,
        client: &Client,
        params: &TokenParams,
        client_ip: std::net::IpAddr,
    ) -> Result<Issued, OAuth2Error> {
        let invalid = |why: &str| OAuth2Error::new("invalid_grant", why);
        let text = params
            .code
            .as_deref()
            .ok_or_else(|| OAuth2Error::new("invalid_request", "code is required."))?;
        let digest = token_format::parse_prefixed(text, SecretKind::OAuth2Code)
            .map_err(|_| invalid("The code is not valid."))?;
        let now = self.clock.now();
        let replayed = |code: &tessera_core::oauth2::Code| {
            let mut event = AuditEvent::anonymous(
                now,
                client_ip,
                "oauth.code.replayed",
                format!("oauth:{}", code.grant),
            )
            .outcome(Outcome::Denied)
            .reason("code_reused");
            event.credential_kind = Some("oauth2".into());
            event.actor_id = Some(code.user.0);
            self.audit.record(event);
            tracing::warn!(target: "tessera::security", grant = %code.grant, "an authorization code was replayed");
            invalid("The code has already been used.")
        };
        let (code, spent) = self
            .store
            .find_code(&digest)
            .await?
            .ok_or_else(|| invalid("The code is not valid."))?;
        if spent {
            // RFC 6749 §4.1.2: a code used twice revokes what it issued.
            self.store.redeem_code(&digest, now, &[]).await?;
            return Err(replayed(&code));
        }
        if code.client != client.key {
            return Err(invalid("The code was issued to another client."));
        }
        if now >= code.expires {
            return Err(invalid("The code has expired."));
        }
        // RFC 6749 §4.1.3: the redirect URI must match, and must be sent if the authorization
        // request named it.
        match params.redirect_uri.as_deref() {
            Some(uri) if uri != code.redirect_uri => {
                return Err(invalid(
                    "The redirect_uri does not match the authorization request.",
                ));
            }
            None if code.redirect_uri_given => {
                return Err(OAuth2Error::new(
                    "invalid_request",
                    "redirect_uri is required.",
                ));
            }
            _ => {}
        }
        match (&code.code_challenge, params.code_verifier.as_deref()) {
            (Some(challenge), Some(verifier)) => {
                if !is_pkce_value(verifier)
                    || !constant_time_eq(pkce_challenge(verifier).as_bytes(), challenge.as_bytes())
                {
                    return Err(invalid(
                        "The code_verifier does not match the code_challenge.",
                    ));
                }
            }
            (Some(_), None) => return Err(invalid("code_verifier is required (PKCE).")),
            // RFC 9700 §4.8.2: a verifier without a challenge is refused too (downgrade).
            (None, Some(_)) => return Err(invalid("No code_challenge was sent for this code.")),
            (None, None) => {}
        }
        let grant = self
            .store
            .find_grant(code.grant)
            .await?
            .filter(|g| g.revoked.is_none())
            .ok_or_else(|| invalid("The grant was revoked."))?;
        let is_active = self
            .store
            .find_user(code.user)
            .await?
            .is_some_and(|u| u.active);
        if !is_active {
            return Err(invalid("The user is no longer active."));
        }
        // Never more than the client is registered for now, nor than the user consented to.
        let scopes = code
            .scopes
            .intersection(grant.scopes)
            .intersection(client.scopes);
        let access = token_format::mint(SecretKind::OAuth2Access);
        let refresh = token_format::mint(SecretKind::OAuth2Refresh);
        let tokens = self.pair(
            &access,
            &refresh,
            client,
            Some(grant.id),
            code.user,
            (scopes, scopes),
            Some(digest.to_vec()),
            now,
        );
        // Spent and stored together: a concurrent replay either comes first (and this one
        // stores nothing) or finds these tokens to revoke.
        match self.store.redeem_code(&digest, now, &tokens).await? {
            Redemption::Fresh => Ok(Issued {
                access_token: access,
                expires_in: self.config.access_lifetime.as_secs(),
                refresh_token: Some(refresh),
                scopes,
            }),
            Redemption::Replayed => Err(replayed(&code)),
            Redemption::Unknown => Err(invalid("The code is not valid.")),
        }
    }
}
