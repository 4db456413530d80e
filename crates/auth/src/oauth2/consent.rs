//! The authorization request and the user's consent (RFC 6749 §4.1.1–§4.1.2): the request
//! is checked before anything is shown, a redirect URI must match a registered one exactly,
//! and errors that cannot be trusted to the redirect URI are shown to the user instead. A
//! user may list the grants they gave and revoke them.

use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::error::{Error, Missing};
use tessera_core::oauth2::{
    Grant, GrantId, NewCode, ScopeProblem, is_loopback_redirect, redirect_matches,
    requested_scopes, scope_string,
};
use tessera_core::principal::Principal;
use tessera_core::secrets::SecretKind;
use tessera_core::store::StoreError;

use super::{
    AuthorizationParams, AuthorizationRequest, AuthorizeError, OAuth2Server, client_target,
    grant_target, is_pkce_value,
};
use crate::token_format::{self, RawToken};

impl OAuth2Server {
    /// Checks an authorization request (RFC 6749 §4.1.1, §4.1.2.1; RFC 7636 §4.3).
    pub async fn check_authorization(
        &self,
        params: &AuthorizationParams,
    ) -> Result<AuthorizationRequest, AuthorizeError> {
        let no_redirect = |message: &str| AuthorizeError::NoRedirect(message.to_string());
        let client_id = params
            .client_id
            .as_deref()
            .ok_or_else(|| no_redirect("The request names no client (client_id)."))?;
        if client_id.contains('\0') {
            return Err(no_redirect(
                "The client is not registered here, or is disabled.",
            ));
        }
        let client = match self.store.find_client(client_id).await {
            Ok(Some(found)) if found.client.enabled => found.client,
            Ok(_) => {
                return Err(no_redirect(
                    "The client is not registered here, or is disabled.",
                ));
            }
            Err(error) => {
                tracing::error!(%error, "could not read an OAuth 2.0 client");
                return Err(no_redirect("The server failed; try again later."));
            }
        };
        if client.redirect_uris.is_empty() {
            return Err(no_redirect(
                "This client registered no redirect URI: it only gets tokens by client_credentials.",
            ));
        }
        // The redirect URI must be registered, exactly; with one registered, it may be left out.
        let redirect_uri = match params.redirect_uri.as_deref() {
            Some(uri)
                if client
                    .redirect_uris
                    .iter()
                    .any(|r| redirect_matches(r, uri)) =>
            {
                uri.to_string()
            }
            Some(_) => {
                return Err(no_redirect(
                    "The redirect URI is not registered for this client.",
                ));
            }
            None => match client.redirect_uris.as_slice() {
                [only] => only.clone(),
                _ => return Err(no_redirect("The request must name its redirect URI.")),
            },
        };
        let redirect = |error: &'static str, description: &str| AuthorizeError::Redirect {
            redirect_uri: redirect_uri.clone(),
            error,
            description: description.to_string(),
            state: params.state.clone(),
        };
        if params.response_type.as_deref() != Some("code") {
            return Err(redirect(
                "unsupported_response_type",
                "Only the authorization code flow (response_type=code) is supported.",
            ));
        }
        let code_challenge = match (
            params.code_challenge.as_deref(),
            params.code_challenge_method.as_deref(),
        ) {
            (None, _) if !client.confidential => {
                return Err(redirect(
                    "invalid_request",
                    "Public clients must use PKCE (code_challenge with S256).",
                ));
            }
            (None, _) => None,
            (Some(challenge), Some("S256")) if is_pkce_value(challenge) => {
                Some(challenge.to_string())
            }
            (Some(_), Some("S256")) => {
                return Err(redirect(
                    "invalid_request",
                    "The code_challenge is malformed.",
                ));
            }
            (Some(_), _) => {
                return Err(redirect(
                    "invalid_request",
                    "Only the S256 code_challenge_method is supported.",
                ));
            }
        };
        let scopes = match requested_scopes(params.scope.as_deref(), client.scopes) {
            Ok(scopes) if !scopes.is_empty() => scopes,
            Ok(_) => return Err(redirect("invalid_scope", "No scope was requested.")),
            Err(ScopeProblem::Unknown(name)) => {
                return Err(redirect(
                    "invalid_scope",
                    &format!("'{name}' is not a scope."),
                ));
            }
            Err(ScopeProblem::NotAllowed(name)) => {
                return Err(redirect(
                    "invalid_scope",
                    &format!("The client may not ask for '{name}'."),
                ));
            }
        };
        Ok(AuthorizationRequest {
            client,
            redirect_uri_given: params.redirect_uri.is_some(),
            redirect_uri,
            scopes,
            state: params.state.clone(),
            code_challenge,
        })
    }

    /// Whether the user already consented to everything the request asks (then the consent
    /// page is skipped). Never for a public client redirecting to the local machine: any local
    /// program could be listening there, so the user is asked every time (RFC 8252 §8.6,
    /// RFC 6749 §10.2).
    pub async fn has_consented(
        &self,
        request: &AuthorizationRequest,
        principal: &Principal,
    ) -> Result<bool, StoreError> {
        if !request.client.confidential && is_loopback_redirect(&request.redirect_uri) {
            return Ok(false);
        }
        let grant = self
            .store
            .find_live_grant(request.client.key, principal.user.id)
            .await?;
        Ok(grant.is_some_and(|g| g.scopes.intersection(request.scopes) == request.scopes))
    }

    /// The user approves: their grant now covers the requested scopes, and a code is issued
    /// for them (to be sent to the redirect URI).
    pub async fn approve(
        &self,
        request: &AuthorizationRequest,
        principal: &Principal,
    ) -> Result<RawToken, StoreError> {
        let now = self.clock.now();
        let had = self
            .store
            .find_live_grant(request.client.key, principal.user.id)
            .await?;
        let grant = match self
            .store
            .grant(request.client.key, principal.user.id, request.scopes, now)
            .await
        {
            // A concurrent consent made the grant first: widen that one.
            Err(StoreError::Conflict(_)) => {
                self.store
                    .grant(request.client.key, principal.user.id, request.scopes, now)
                    .await?
            }
            other => other?,
        };
        if had.is_none_or(|h| h.scopes.intersection(request.scopes) != request.scopes) {
            let event = AuditEvent::by(principal, now, "oauth.consent", grant_target(&grant))
                .reason(&scope_string(request.scopes));
            self.audit.record(event);
        }
        let code = token_format::mint(SecretKind::OAuth2Code);
        self.store
            .create_code(NewCode {
                digest: code.digest().to_vec(),
                grant: grant.id,
                redirect_uri: request.redirect_uri.clone(),
                redirect_uri_given: request.redirect_uri_given,
                scopes: request.scopes,
                code_challenge: request.code_challenge.clone(),
                expires: now.plus(self.config.code_lifetime),
            })
            .await?;
        Ok(code)
    }

    /// The user refuses: nothing is stored but the event.
    pub fn deny(&self, request: &AuthorizationRequest, principal: &Principal) {
        let event = AuditEvent::by(
            principal,
            self.clock.now(),
            "oauth.consent",
            client_target(&request.client),
        )
        .outcome(Outcome::Denied)
        .reason("access_denied");
        self.audit.record(event);
    }

    /// A user's own live grants (the "authorized applications").
    pub async fn grants_of(&self, principal: &Principal) -> Result<Vec<Grant>, Error> {
        Ok(self.store.list_grants(Some(principal.user.id)).await?)
    }

    /// Revokes one of the user's own grants (others' are "not found"), with every token of it.
    pub async fn revoke_own_grant(&self, principal: &Principal, id: GrantId) -> Result<(), Error> {
        let missing = || Error::NotFound(Missing::OAuth2Grant(id.to_string()));
        let grant = self
            .store
            .find_grant(id)
            .await?
            .filter(|g| g.user == principal.user.id && g.revoked.is_none())
            .ok_or_else(missing)?;
        let now = self.clock.now();
        let event = AuditEvent::by(principal, now, "oauth.grant.revoked", grant_target(&grant))
            .reason("owner");
        if !self.store.revoke_grant(id, now, "owner", &event).await? {
            return Err(missing());
        }
        Ok(())
    }
}
