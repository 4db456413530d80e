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
//! - A code is single-use and expires within [`OAuthConfig::code_lifetime`]; redeeming it twice
//!   revokes every token issued from it. It is bound to its client, redirect URI and PKCE
//!   challenge; public clients must use PKCE with S256 (`plain` is refused, RFC 9700 §2.1.1).
//! - A refresh token is exchanged once; presenting a spent one revokes the whole grant, so a
//!   stolen token and the legitimate one both die.
//! - A token never carries scopes beyond what its client is registered for and its user
//!   consented to; what it can do is further capped by the user's permissions, checked by the
//!   authorizer like any other credential.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::authz::Administer;
use tessera_core::clock::Timestamp;
use tessera_core::error::{Error, Missing};
use tessera_core::oauth::{
    Client, ClientChanges, Grant, GrantId, NewClient, NewCode, NewOAuthToken, OAuthTokenKind,
    OAuthTokenMatch, Redemption, Rotation, ScopeProblem, check_client, is_loopback_redirect,
    redirect_matches, requested_scopes, scope_string,
};
use tessera_core::principal::Principal;
use tessera_core::scopes::Scopes;
use tessera_core::secrets::SecretKind;
use tessera_core::store::StoreError;

use crate::authenticator::{AuthError, Authenticator};
use crate::secret::{constant_time_eq, random_bytes, sha256};
use crate::token_format::{self, RawToken};

/// Lifetimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OAuthConfig {
    pub access_lifetime: Duration,
    /// A refresh token expires this long after it was issued (each rotation issues a new one).
    pub refresh_lifetime: Duration,
    pub code_lifetime: Duration,
}

impl Default for OAuthConfig {
    fn default() -> Self {
        Self {
            access_lifetime: Duration::from_secs(60 * 60),
            refresh_lifetime: Duration::from_secs(90 * 24 * 60 * 60),
            code_lifetime: Duration::from_secs(10 * 60),
        }
    }
}

/// An error of the token, revocation or introspection endpoints, in RFC 6749 §5.2's form.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuthError {
    /// `invalid_request`, `invalid_client`, `invalid_grant`, `unauthorized_client`,
    /// `unsupported_grant_type`, `invalid_scope` (or `server_error`).
    pub error: &'static str,
    pub description: String,
    /// `invalid_client` is 401 (with a challenge when the client used Basic), the rest 400.
    pub status: u16,
}

impl OAuthError {
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

impl From<StoreError> for OAuthError {
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
    pub kind: OAuthTokenKind,
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

impl Authenticator {
    /// Global ADMINISTER: registers a client; a confidential one gets its secret, shown once.
    pub async fn register_client(
        &self,
        _admin: &Administer,
        principal: Option<&Principal>,
        input: ClientInput,
    ) -> Result<(Client, Option<RawToken>), Error> {
        let (name, redirect_uris, scopes) =
            check_client(&input.name, &input.redirect_uris, &input.scopes)
                .map_err(Error::Invalid)?;
        let service_account = match &input.service_account {
            None => None,
            Some(name) => {
                let name = name.trim().to_lowercase();
                let found = self.store.find_user_by_name(&name).await?;
                let account = found.filter(|u| u.is_service_account()).ok_or_else(|| {
                    Error::invalid(
                        "serviceAccount",
                        format!("'{name}' is not a service account."),
                    )
                })?;
                if !input.confidential {
                    return Err(Error::invalid(
                        "serviceAccount",
                        "Only a confidential client can act as a service account.",
                    ));
                }
                Some(account.id)
            }
        };
        let secret = input
            .confidential
            .then(|| token_format::mint(SecretKind::OAuth2ClientSecret));
        let now = self.clock.now();
        let client = self
            .store
            .create_client(NewClient {
                client_id: hex::encode(random_bytes::<16>()),
                name,
                redirect_uris,
                confidential: input.confidential,
                secret_digest: secret.as_ref().map(|s| s.digest().to_vec()),
                scopes,
                service_account,
                created: now,
                created_by: principal.map(|p| p.user.id),
            })
            .await?;
        let event = AuditEvent::by_caller(
            principal,
            now,
            "oauth.client.created",
            client_target(&client),
        );
        self.audit.record(event);
        Ok((client, secret))
    }

    /// Global ADMINISTER: changes a client (name, redirect URIs, scopes, enabled). Disabling
    /// one stops its tokens at once.
    pub async fn update_client(
        &self,
        _admin: &Administer,
        principal: Option<&Principal>,
        client_id: &str,
        changes: ClientChanges,
    ) -> Result<Client, Error> {
        let found = self.find_client(client_id).await?;
        let name = changes.name.clone().unwrap_or_else(|| found.name.clone());
        let uris = changes
            .redirect_uris
            .clone()
            .unwrap_or_else(|| found.redirect_uris.clone());
        // The scopes are checked as names; a change passes them as a set already.
        let names: Vec<String> = changes
            .scopes
            .unwrap_or(found.scopes)
            .iter()
            .map(|s| s.name().to_string())
            .collect();
        let (name, uris, _) = check_client(&name, &uris, &names).map_err(Error::Invalid)?;
        let checked = ClientChanges {
            name: Some(name),
            redirect_uris: Some(uris),
            ..changes
        };
        let now = self.clock.now();
        let updated = self
            .store
            .update_client(found.key, &checked, now)
            .await?
            .ok_or_else(|| Error::NotFound(Missing::OAuthClient(client_id.to_string())))?;
        let action = match checked.enabled {
            Some(false) if found.enabled => "oauth.client.disabled",
            Some(true) if !found.enabled => "oauth.client.enabled",
            _ => "oauth.client.updated",
        };
        self.audit.record(AuditEvent::by_caller(
            principal,
            now,
            action,
            client_target(&updated),
        ));
        Ok(updated)
    }

    /// Global ADMINISTER: gives a confidential client a new secret (shown once); the old one
    /// stops at once.
    pub async fn reset_client_secret(
        &self,
        admin: &Administer,
        principal: Option<&Principal>,
        client_id: &str,
    ) -> Result<RawToken, Error> {
        let found = self.find_client(client_id).await?;
        if !found.confidential {
            return Err(Error::invalid_message("A public client has no secret."));
        }
        let secret = token_format::mint(SecretKind::OAuth2ClientSecret);
        let changes = ClientChanges {
            secret_digest: Some(secret.digest().to_vec()),
            ..ClientChanges::default()
        };
        self.update_client(admin, principal, client_id, changes)
            .await?;
        let now = self.clock.now();
        self.audit.record(AuditEvent::by_caller(
            principal,
            now,
            "oauth.client.secret_reset",
            client_target(&found),
        ));
        Ok(secret)
    }

    /// A client by its public id, or "not found".
    pub async fn find_client(&self, client_id: &str) -> Result<Client, Error> {
        self.store
            .find_client(client_id)
            .await?
            .map(|found| found.client)
            .ok_or_else(|| Error::NotFound(Missing::OAuthClient(client_id.to_string())))
    }

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
    ) -> Result<bool, AuthError> {
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
    ) -> Result<RawToken, AuthError> {
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
                expires: now.plus(self.config.oauth.code_lifetime),
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

    /// Authenticates a client at the token, revocation or introspection endpoint: a
    /// confidential client by its secret (compared as digests, in constant time), a public one
    /// by its id alone (RFC 6749 §2.3.1, §3.2.1).
    pub async fn authenticate_client(
        &self,
        credentials: &ClientCredentials,
    ) -> Result<Client, OAuthError> {
        let refused = || OAuthError::new("invalid_client", "Client authentication failed.");
        let client_id = credentials.client_id.as_deref().ok_or_else(refused)?;
        if client_id.contains('\0') {
            return Err(refused());
        }
        let found = self
            .store
            .find_client(client_id)
            .await?
            .ok_or_else(refused)?;
        if !found.client.enabled {
            return Err(refused());
        }
        match (&found.secret_digest, &credentials.client_secret) {
            (Some(stored), Some(secret)) => {
                let presented = sha256(secret.expose_secret().as_bytes());
                if !constant_time_eq(stored, &presented) {
                    return Err(refused());
                }
            }
            (None, None) => {}
            // A confidential client without its secret, or a public one with a secret.
            _ => return Err(refused()),
        }
        Ok(found.client)
    }

    /// The token endpoint (RFC 6749 §3.2).
    pub async fn exchange(
        &self,
        client: &Client,
        params: &TokenParams,
        client_ip: std::net::IpAddr,
    ) -> Result<Issued, OAuthError> {
        match params.grant_type.as_deref() {
            Some("authorization_code") => self.exchange_code(client, params, client_ip).await,
            Some("refresh_token") => self.exchange_refresh(client, params, client_ip).await,
            Some("client_credentials") => self.client_credentials(client, params).await,
            Some(_) => Err(OAuthError::new(
                "unsupported_grant_type",
                "Supported: authorization_code, refresh_token, client_credentials.",
            )),
            None => Err(OAuthError::new(
                "invalid_request",
                "grant_type is required.",
            )),
        }
    }

    async fn exchange_code(
        &self,
        client: &Client,
        params: &TokenParams,
        client_ip: std::net::IpAddr,
    ) -> Result<Issued, OAuthError> {
        let invalid = |why: &str| OAuthError::new("invalid_grant", why);
        let text = params
            .code
            .as_deref()
            .ok_or_else(|| OAuthError::new("invalid_request", "code is required."))?;
        let digest = token_format::parse_prefixed(text, SecretKind::OAuth2Code)
            .map_err(|_| invalid("The code is not valid."))?;
        let now = self.clock.now();
        let replayed = |code: &tessera_core::oauth::Code| {
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
                return Err(OAuthError::new(
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
                expires_in: self.config.oauth.access_lifetime.as_secs(),
                refresh_token: Some(refresh),
                scopes,
            }),
            Redemption::Replayed => Err(replayed(&code)),
            Redemption::Unknown => Err(invalid("The code is not valid.")),
        }
    }

    async fn exchange_refresh(
        &self,
        client: &Client,
        params: &TokenParams,
        client_ip: std::net::IpAddr,
    ) -> Result<Issued, OAuthError> {
        let invalid = |why: &str| OAuthError::new("invalid_grant", why);
        let text = params
            .refresh_token
            .as_deref()
            .ok_or_else(|| OAuthError::new("invalid_request", "refresh_token is required."))?;
        let digest = token_format::parse_prefixed(text, SecretKind::OAuth2Refresh)
            .map_err(|_| invalid("The refresh token is not valid."))?;
        let found = self
            .store
            .find_oauth_token(&digest)
            .await?
            .filter(|t| t.kind == OAuthTokenKind::Refresh && constant_time_eq(&t.digest, &digest))
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
                    return Err(OAuthError::new(
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
                expires_in: self.config.oauth.access_lifetime.as_secs(),
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

    async fn client_credentials(
        &self,
        client: &Client,
        params: &TokenParams,
    ) -> Result<Issued, OAuthError> {
        if !client.confidential {
            return Err(OAuthError::new(
                "unauthorized_client",
                "Only confidential clients may use client_credentials.",
            ));
        }
        let Some(account) = client.service_account else {
            return Err(OAuthError::new(
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
            return Err(OAuthError::new(
                "unauthorized_client",
                "The client's service account is deactivated.",
            ));
        }
        let scopes = requested_scopes(params.scope.as_deref(), client.scopes).map_err(|_| {
            OAuthError::new("invalid_scope", "The client may not ask for those scopes.")
        })?;
        let now = self.clock.now();
        let access = token_format::mint(SecretKind::OAuth2Access);
        // No refresh token: the client can ask again (RFC 6749 §4.4.3).
        let token = NewOAuthToken {
            digest: access.digest().to_vec(),
            kind: OAuthTokenKind::Access,
            grant: None,
            client: client.key,
            user: account,
            scopes,
            code_digest: None,
            created: now,
            expires: Some(now.plus(self.config.oauth.access_lifetime)),
        };
        self.store.create_oauth_tokens(&[token]).await?;
        Ok(Issued {
            access_token: access,
            expires_in: self.config.oauth.access_lifetime.as_secs(),
            refresh_token: None,
            scopes,
        })
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
    ) -> Vec<NewOAuthToken> {
        let oauth = self.config.oauth;
        let token = |raw: &RawToken, kind, scopes, lifetime: Duration| NewOAuthToken {
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
                OAuthTokenKind::Access,
                access_scopes,
                oauth.access_lifetime,
            ),
            token(
                refresh,
                OAuthTokenKind::Refresh,
                refresh_scopes,
                oauth.refresh_lifetime,
            ),
        ]
    }

    /// Finds a presented access or refresh token of this server.
    async fn presented(&self, text: &str) -> Result<Option<OAuthTokenMatch>, OAuthError> {
        let digest = [SecretKind::OAuth2Access, SecretKind::OAuth2Refresh]
            .into_iter()
            .find_map(|prefix| token_format::parse_prefixed(text, prefix).ok());
        let Some(digest) = digest else {
            return Ok(None);
        };
        Ok(self
            .store
            .find_oauth_token(&digest)
            .await?
            .filter(|t| constant_time_eq(&t.digest, &digest)))
    }

    /// RFC 7009: revokes a token issued to `client`. Unknown tokens are not an error (§2.2);
    /// another client's token is refused.
    pub async fn revoke_for_client(
        &self,
        client: &Client,
        token: &str,
        client_ip: std::net::IpAddr,
    ) -> Result<(), OAuthError> {
        let Some(found) = self.presented(token).await? else {
            return Ok(());
        };
        if found.client.key != client.key {
            return Err(OAuthError::new(
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

    /// RFC 7662: what a live token of `client` is; `None` (inactive) for anything else.
    pub async fn introspect(
        &self,
        client: &Client,
        token: &str,
    ) -> Result<Option<Introspection>, OAuthError> {
        let Some(found) = self.presented(token).await? else {
            return Ok(None);
        };
        if found.client.key != client.key || !found.is_live(self.clock.now()) {
            return Ok(None);
        }
        Ok(Some(Introspection {
            kind: found.kind,
            scopes: found.scopes.intersection(found.client.scopes),
            client_id: found.client.client_id,
            username: found.user.name,
            issued: found.created,
            expires: found.expires,
        }))
    }

    /// A user's own live grants (the "authorized applications").
    pub async fn grants_of(&self, principal: &Principal) -> Result<Vec<Grant>, Error> {
        Ok(self.store.list_grants(Some(principal.user.id)).await?)
    }

    /// Revokes one of the user's own grants (others' are "not found"), with every token of it.
    pub async fn revoke_own_grant(&self, principal: &Principal, id: GrantId) -> Result<(), Error> {
        let missing = || Error::NotFound(Missing::OAuthGrant(id.to_string()));
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
        assert_eq!(OAuthError::new("invalid_client", "x").status, 401);
        assert_eq!(OAuthError::new("invalid_grant", "x").status, 400);
    }
}
