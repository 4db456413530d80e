//! The authenticator: turns the credential a request carries into a [`Principal`].
//!
//! Wrong password, unknown user, user without a password and deactivated user all get the same
//! answer after the same amount of work (a real or dummy Argon2 verification), so the answer
//! reveals nothing about which it was.
//!
//! Tokens (Bearer, or Basic with the token in the password's place) are checked by shape and
//! checksum first, then looked up by the SHA-256 of the whole token, on every request: there
//! is no verified-token cache, so a revocation through any instance sharing the database holds
//! for the very next request everywhere. A refused token says whether it was malformed,
//! unknown, expired or revoked, and nothing else.
//!
//! The access policy ([`tessera_core::policy`]) is applied here. What does not depend on the
//! user (the global address allowlist, a method switched off for everyone) is refused before
//! any credential is read, at no Argon2 cost. What depends on the user's groups is decided
//! once the credential is verified: decided before, a password refusal would tell anyone who
//! is in which group; decided after, it tells no more than the login it stands in for, and
//! password guesses are throttled as ever.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use http::header::USER_AGENT;
use http::{HeaderMap, Method};
use secrecy::{ExposeSecret, SecretString};
use tessera_core::audit::{AuditEvent, Outcome, short_user_agent};
use tessera_core::clock::{Clock, Timestamp};
use tessera_core::model::{LoginInfo, Session, User};
use tessera_core::policy::{Policy, PolicyDenial, Surface};
use tessera_core::principal::{AuthMethod, Principal};
use tessera_core::scopes::Scopes;
use tessera_core::store::{Store, StoreError, UserAccess, UserCredentials};
use tessera_core::throttle::{Subject, ThrottlePolicy};
use tessera_core::tokens::TokenKind;
use tessera_core::usage::Credential as UsedCredential;
use tessera_core::validate::MAX_PASSWORD_BYTES;

use crate::audit_log::AuditLog;
use crate::cache::VerifiedPasswords;
use crate::credentials::{self, Credential, CredentialError};
use crate::password::{HashError, HasherConfig, PasswordHasher};
use crate::policy::{PolicyCache, PolicyError};
use crate::secret::constant_time_eq;
use crate::secret::{HmacKey, random_bytes};
use crate::session::{SessionId, XsrfTokens};
use crate::token_format::{self, FormatError};
use crate::usage::Usage;
use crate::xsrf::{self, XsrfFailure, XsrfRequest};

#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// A session ends after this long without use.
    pub session_idle: Duration,
    /// A session ends this long after login, however much it is used.
    pub session_absolute: Duration,
    /// How stale a session's last-use time may get before it is written again.
    pub session_touch_interval: Duration,
    /// How long a successful password verification is remembered; zero to never.
    pub verified_password_ttl: Duration,
    pub verified_password_capacity: u64,
    pub hasher: HasherConfig,
    /// When failed password attempts make password logins wait.
    pub throttle: ThrottlePolicy,
    /// How long a re-entered password lets a session make administrative changes.
    pub websudo: Duration,
    /// The access policy stored on the first start (later the stored one is in force).
    pub initial_policy: Policy,
    /// OAuth 2.0 token lifetimes.
    pub oauth: crate::oauth2::OAuthConfig,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle: Duration::from_secs(60 * 60),
            session_absolute: Duration::from_secs(12 * 60 * 60),
            session_touch_interval: Duration::from_secs(60),
            verified_password_ttl: Duration::from_secs(120),
            verified_password_capacity: 10_000,
            hasher: HasherConfig::default(),
            throttle: ThrottlePolicy::default(),
            websudo: Duration::from_secs(10 * 60),
            initial_policy: Policy::default(),
            oauth: crate::oauth2::OAuthConfig::default(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    Credential(#[from] CredentialError),
    /// Wrong username or password (or unknown, or deactivated: the same answer).
    #[error("Login failed")]
    BadCredentials,
    /// The session cookie names no live session.
    #[error("Your session is not valid or has expired. Please log in again.")]
    SessionInvalid,
    #[error("{0}")]
    Xsrf(XsrfFailure),
    #[error("{0}")]
    Token(TokenRejection),
    /// Too many failed password attempts for this user name or from this network: password
    /// logins wait (tokens and sessions are not affected).
    #[error("Too many failed logins: password logins are suspended for a while.")]
    LoginThrottled { retry_after: Duration },
    /// A valid token presented from an address its allowlist excludes.
    #[error("The token may not be used from this address.")]
    IpNotAllowed,
    /// The access policy refuses the request (method, address or group).
    #[error("{0}")]
    Denied(PolicyDenial),
    #[error("The server is busy checking passwords; try again shortly.")]
    Busy,
    #[error("authentication failed internally: {0}")]
    Internal(String),
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<PolicyError> for AuthError {
    fn from(error: PolicyError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<HashError> for AuthError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Why a token was refused. Each has a stable reason code; none says more than its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    #[error("The token is malformed.")]
    Malformed,
    #[error("The token is not valid.")]
    Unknown,
    #[error("The token has expired.")]
    Expired,
    #[error("The token has been revoked.")]
    Revoked,
    #[error("The token has been replaced by a rotation.")]
    Rotated,
    #[error("The token's owner is deactivated.")]
    OwnerInactive,
}

impl TokenRejection {
    pub fn reason_code(self) -> &'static str {
        match self {
            Self::Malformed => "token_malformed",
            Self::Unknown => "token_unknown",
            Self::Expired => "token_expired",
            Self::Revoked => "token_revoked",
            Self::Rotated => "token_rotated",
            Self::OwnerInactive => "token_owner_inactive",
        }
    }
}

/// What the authenticator needs to know about a request.
pub struct RequestInfo<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    /// The `atl_token` query parameter, if present.
    pub form_token: Option<&'a str>,
    pub client_ip: IpAddr,
    /// Origins that count as tessera itself, for the XSRF rule.
    pub own_origins: &'a [String],
    /// Where the request goes: the REST API's group rule applies to [`Surface::Api`] only.
    pub surface: Surface,
}

impl RequestInfo<'_> {
    fn user_agent(&self) -> Option<String> {
        user_agent_of(self.headers)
    }
}

/// The `User-Agent` header, cut short for the audit and the usage view.
fn user_agent_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(USER_AGENT)
        .map(|value| short_user_agent(&String::from_utf8_lossy(value.as_bytes())))
}

/// Who a request claims to be and how, once its groups are known: what the policy decides on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Admission<'a> {
    pub(crate) method: AuthMethod,
    pub(crate) surface: Surface,
    pub(crate) client_ip: IpAddr,
    pub(crate) user_agent: Option<&'a str>,
}

impl std::fmt::Debug for RequestInfo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The headers carry credentials: never print them.
        f.debug_struct("RequestInfo")
            .field("method", self.method)
            .field("client_ip", &self.client_ip)
            .finish_non_exhaustive()
    }
}

/// An authenticated request: who, and the session it used (if any).
#[derive(Debug)]
pub struct Authenticated {
    pub principal: Principal,
    pub session: Option<SessionId>,
}

/// A new session, from a login.
pub struct Login {
    pub principal: Principal,
    pub session: SessionId,
    pub xsrf_token: String,
    pub login_info: LoginInfo,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("user", &self.principal.user.name)
            .field("session", &self.session.reference())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct Authenticator {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    verified: VerifiedPasswords,
    xsrf: XsrfTokens,
    usage: Usage,
    pub(crate) audit: AuditLog,
    policy: PolicyCache,
    pub(crate) config: AuthConfig,
}

impl Authenticator {
    /// Starts the password workers, loads (or creates) the server-wide XSRF key and loads the
    /// access policy (storing the configured one on the first start).
    pub async fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        config: AuthConfig,
    ) -> Result<Self, AuthError> {
        let key_bytes = store.server_key("xsrf-hmac", &random_bytes::<32>()).await?;
        let key = HmacKey::from_bytes(&key_bytes)
            .ok_or_else(|| AuthError::Internal("the stored XSRF key is not 32 bytes".into()))?;
        let policy = PolicyCache::load(store.clone(), &config.initial_policy, clock.now()).await?;
        Ok(Self {
            audit: AuditLog::start(store.clone()),
            store,
            clock,
            hasher: PasswordHasher::start(config.hasher)?,
            verified: VerifiedPasswords::new(
                config.verified_password_ttl,
                config.verified_password_capacity,
            ),
            xsrf: XsrfTokens::new(key),
            usage: Usage::default(),
            policy,
            config,
        })
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The audit log, written off the request path.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The access policy in force.
    pub fn policy(&self) -> &PolicyCache {
        &self.policy
    }

    /// The least time a failed password check takes (one verification at the configured cost).
    pub fn failure_time(&self) -> Duration {
        self.hasher.verification_time()
    }

    /// Authenticates a request and admits it under the access policy: `None` for an anonymous
    /// one (which the global address allowlist still governs).
    pub async fn authenticate(
        &self,
        request: &RequestInfo<'_>,
    ) -> Result<Option<Authenticated>, AuthError> {
        let credential = credentials::from_headers(request.headers)?;
        // A secret sent as the user name (some clients are configured so) is refused as a
        // malformed token, and never recorded as a name anywhere.
        if let Credential::Basic { username, .. } = &credential
            && token_format::looks_like_secret(username.trim())
        {
            let event = AuditEvent::anonymous(
                self.clock.now(),
                request.client_ip,
                "token.refused",
                "token",
            )
            .outcome(Outcome::Failure)
            .reason("token_in_user_name")
            .user_agent(request.user_agent().as_deref());
            self.audit.record(event);
            return Err(AuthError::Token(TokenRejection::Malformed));
        }
        let claimed = match &credential {
            Credential::Basic { username, .. } => Some(username.as_str()),
            _ => None,
        };
        self.check_address(request.client_ip, || request.user_agent(), claimed)
            .await?;
        let Some(method) = claimed_method(&credential) else {
            return match credential {
                Credential::Session(None) => Err(AuthError::SessionInvalid),
                _ => Ok(None),
            };
        };
        self.check_method_at_all(method, request.client_ip, || request.user_agent(), claimed)
            .await?;
        let user_agent = request.user_agent();
        let admission = |method| Admission {
            method,
            surface: request.surface,
            client_ip: request.client_ip,
            user_agent: user_agent.as_deref(),
        };
        let authenticated = match credential {
            Credential::None => return Ok(None),
            Credential::Bearer(token)
                if token
                    .expose_secret()
                    .starts_with(crate::oauth2::ACCESS_TOKEN_PREFIX) =>
            {
                Authenticated {
                    principal: self
                        .verify_oauth_access_token(
                            token.expose_secret(),
                            request,
                            user_agent.as_deref(),
                        )
                        .await?,
                    session: None,
                }
            }
            Credential::Bearer(token) => Authenticated {
                principal: self
                    .verify_token(token.expose_secret(), None, request, user_agent.as_deref())
                    .await?,
                session: None,
            },
            Credential::Basic { username, password }
                if token_format::has_prefix(password.expose_secret()) =>
            {
                Authenticated {
                    principal: self
                        .verify_token(
                            password.expose_secret(),
                            Some(&username),
                            request,
                            user_agent.as_deref(),
                        )
                        .await?,
                    session: None,
                }
            }
            Credential::Basic { username, password } => {
                let admission = admission(AuthMethod::BasicPassword);
                let (user, access) = self
                    .verify_password(&username, &password, request.client_ip, Some(admission))
                    .await?;
                Authenticated {
                    principal: self.principal(&user, access, admission, None, None),
                    session: None,
                }
            }
            Credential::Session(None) => return Err(AuthError::SessionInvalid),
            Credential::Session(Some(session)) => {
                let (stored, user) = self.verify_session(&session).await?;
                let xsrf_request = XsrfRequest {
                    method: request.method,
                    headers: request.headers,
                    form_token: request.form_token,
                    own_origins: request.own_origins,
                };
                xsrf::check(&xsrf_request, |token| self.xsrf.is_valid(&session, token))
                    .map_err(AuthError::Xsrf)?;
                let admission = admission(AuthMethod::Session);
                let access = self.store.user_access(user.id).await?;
                self.admit(&user.name, &access, admission).await?;
                let mut principal =
                    self.principal(&user, access, admission, Some(session.reference()), None);
                principal.websudo_until = stored.websudo_until;
                Authenticated {
                    principal,
                    session: Some(session),
                }
            }
        };
        self.note_use(&authenticated.principal);
        Ok(Some(authenticated))
    }

    /// The global address allowlist, before any credential is checked (`claimed` is the user
    /// name a Basic credential or a login names, for the audit). A refusal is confirmed
    /// against the stored policy, so a policy loosened on another instance applies at once.
    async fn check_address(
        &self,
        ip: IpAddr,
        user_agent: impl FnOnce() -> Option<String>,
        claimed: Option<&str>,
    ) -> Result<(), AuthError> {
        if self.policy.current().policy.admits_address(ip) {
            return Ok(());
        }
        if self.policy.refresh().await?.policy.admits_address(ip) {
            return Ok(());
        }
        let who = claimed.map(|name| (name.trim(), None));
        let user_agent = user_agent();
        self.audit_denial(who, ip, user_agent.as_deref(), PolicyDenial::IpNotAllowed);
        Err(AuthError::Denied(PolicyDenial::IpNotAllowed))
    }

    /// The global address allowlist for a request without a user (an OAuth 2.0 client at the
    /// token endpoint).
    pub async fn check_client_address(&self, ip: IpAddr) -> Result<(), AuthError> {
        self.check_address(ip, || None, None).await
    }

    /// A method switched off for everyone is refused before its credential is checked (no
    /// Argon2 work for a flood of Basic requests the policy refuses anyway).
    async fn check_method_at_all(
        &self,
        method: AuthMethod,
        client_ip: IpAddr,
        user_agent: impl FnOnce() -> Option<String>,
        claimed: Option<&str>,
    ) -> Result<(), AuthError> {
        if !self
            .policy
            .current()
            .policy
            .is_method_off_for_everyone(method)
        {
            return Ok(());
        }
        if !self
            .policy
            .refresh()
            .await?
            .policy
            .is_method_off_for_everyone(method)
        {
            return Ok(());
        }
        let denial = PolicyDenial::MethodDisabled(method);
        let user_agent = user_agent();
        self.audit_denial(
            Some((claimed.unwrap_or(""), Some(method))),
            client_ip,
            user_agent.as_deref(),
            denial,
        );
        Err(AuthError::Denied(denial))
    }

    /// The policy's decision for a caller whose groups are known (read with the policy's
    /// version, so a change made anywhere applies now).
    pub(crate) async fn admit(
        &self,
        name: &str,
        access: &UserAccess,
        admission: Admission<'_>,
    ) -> Result<(), AuthError> {
        let active = self.policy.at_least(access.policy_version).await?;
        let decision = active.policy.admit(
            admission.method,
            &access.groups,
            admission.client_ip,
            admission.surface,
        );
        decision.map_err(|denial| {
            self.audit_denial(
                Some((name, Some(admission.method))),
                admission.client_ip,
                admission.user_agent,
                denial,
            );
            AuthError::Denied(denial)
        })
    }

    /// Records a policy refusal (coalesced by the audit log when repeated). `who` is the user
    /// name the request claimed, if any, and the method, if known.
    fn audit_denial(
        &self,
        who: Option<(&str, Option<AuthMethod>)>,
        ip: IpAddr,
        user_agent: Option<&str>,
        denial: PolicyDenial,
    ) {
        tracing::info!(target: "tessera::security", reason = denial.reason_code(), client_ip = %ip, "refused by the access policy");
        // The name is whatever the client sent: a token pasted into it is never recorded.
        let target = match who.map(|(name, _)| name.to_lowercase()) {
            Some(name) if !name.is_empty() && !token_format::looks_like_secret(&name) => {
                format!("user:{name}")
            }
            _ => "request".to_string(),
        };
        let mut event = AuditEvent::anonymous(self.clock.now(), ip, "access.denied", target)
            .outcome(Outcome::Denied)
            .reason(denial.reason_code())
            .user_agent(user_agent);
        event.credential_kind = who.and_then(|(_, m)| m).map(|m| m.name().to_string());
        self.audit.record(event);
    }

    pub(crate) fn note_use(&self, principal: &Principal) {
        self.usage.note(
            UsedCredential::of(principal),
            (principal.user.id, &principal.user.name),
            self.clock.now(),
            principal.client_ip,
            principal.user_agent.as_deref(),
        );
    }

    /// `POST /rest/auth/1/session` (and the login page): checks the password and opens a new
    /// session. A session the client already held is ended, so ids are never reused across a
    /// login.
    pub async fn login(
        &self,
        username: &str,
        password: &SecretString,
        client_ip: IpAddr,
        previous: &HeaderMap,
    ) -> Result<Login, AuthError> {
        let user_agent = user_agent_of(previous);
        let admission = Admission {
            method: AuthMethod::Session,
            surface: Surface::Pages,
            client_ip,
            user_agent: user_agent.as_deref(),
        };
        self.check_address(client_ip, || user_agent.clone(), Some(username))
            .await?;
        self.check_method_at_all(
            AuthMethod::Session,
            client_ip,
            || user_agent.clone(),
            Some(username),
        )
        .await?;
        let (user, access) = self
            .verify_password(username, password, client_ip, Some(admission))
            .await?;
        for old in credentials::session_cookies(previous) {
            if let Some(old) = SessionId::from_cookie(&old) {
                self.store.delete_session(&old.digest()).await?;
            }
        }
        let now = self.clock.now();
        let session = SessionId::generate();
        self.store
            .create_session(&Session {
                id_digest: session.digest(),
                user_id: user.id,
                created: now,
                last_seen: now,
                websudo_until: None,
            })
            .await?;
        self.store.record_login(user.id, now).await?;
        let login_info = self.store.login_info(user.id).await?;
        // The login used the password: counted as the password's use.
        self.usage.note(
            UsedCredential::Password(user.id),
            (user.id, &user.name),
            now,
            client_ip,
            user_agent.as_deref(),
        );
        let principal = self.principal(&user, access, admission, Some(session.reference()), None);
        let xsrf_token = self.xsrf.token_for(&session);
        tracing::info!(target: "tessera::security", user = %user.name, session = %session.reference(), %client_ip, "session opened");
        self.audit.record(AuditEvent::by(
            &principal,
            now,
            "session.opened",
            format!("user:{}", user.name),
        ));
        Ok(Login {
            principal,
            session,
            xsrf_token,
            login_info,
        })
    }

    /// Ends a session; `false` if it had already ended.
    pub async fn logout(&self, session: &SessionId) -> Result<bool, AuthError> {
        let ended = self.store.delete_session(&session.digest()).await?;
        if ended {
            tracing::info!(target: "tessera::security", session = %session.reference(), "session closed");
            let event = AuditEvent {
                credential_kind: Some("session".into()),
                credential_id: Some(session.reference()),
                client_ip: None,
                ..AuditEvent::anonymous(
                    self.clock.now(),
                    std::net::Ipv4Addr::UNSPECIFIED.into(),
                    "session.closed",
                    format!("session:{}", session.reference()),
                )
            };
            self.audit.record(event);
        }
        Ok(ended)
    }

    /// Websudo: the session's owner re-enters the password; for [`AuthConfig::websudo`] the
    /// session may then make administrative changes. A wrong password counts as a failed
    /// login (and is throttled like one). Returns the end of the window.
    pub async fn grant_websudo(
        &self,
        principal: &Principal,
        session: &SessionId,
        password: &SecretString,
    ) -> Result<Timestamp, AuthError> {
        if !self.check_own_password(principal, password).await? {
            return Err(AuthError::BadCredentials);
        }
        let now = self.clock.now();
        let until = now.plus(self.config.websudo);
        if !self
            .store
            .set_websudo(&session.digest(), Some(until))
            .await?
        {
            return Err(AuthError::SessionInvalid);
        }
        self.audit.record(AuditEvent::by(
            principal,
            now,
            "websudo.granted",
            format!("user:{}", principal.user.name),
        ));
        Ok(until)
    }

    /// Ends the session's websudo window (Jira's `DELETE /rest/auth/1/websudo`).
    pub async fn drop_websudo(
        &self,
        principal: &Principal,
        session: &SessionId,
    ) -> Result<(), AuthError> {
        let now = self.clock.now();
        self.store.set_websudo(&session.digest(), None).await?;
        // Only a window that was open is worth an event (dropping none must not be a way to
        // fill the audit).
        if principal.has_fresh_password(now) {
            self.audit.record(AuditEvent::by(
                principal,
                now,
                "websudo.dropped",
                format!("user:{}", principal.user.name),
            ));
        }
        Ok(())
    }

    pub fn xsrf_token(&self, session: &SessionId) -> String {
        self.xsrf.token_for(session)
    }

    /// Hashes a new password (its rules must already have been checked).
    pub async fn hash_password(&self, password: &SecretString) -> Result<String, AuthError> {
        Ok(self.hasher.hash(password).await?)
    }

    /// Whether `password` is the principal's current password (to confirm a change).
    pub async fn check_own_password(
        &self,
        principal: &Principal,
        password: &SecretString,
    ) -> Result<bool, AuthError> {
        match self
            .verify_password(&principal.user.name, password, principal.client_ip, None)
            .await
        {
            Ok((user, _)) => Ok(user.id == principal.user.id),
            Err(AuthError::BadCredentials) => Ok(false),
            Err(other) => Err(other),
        }
    }

    /// Deletes sessions past their idle or absolute timeout.
    pub async fn purge_expired_sessions(&self) -> Result<u64, AuthError> {
        let now = self.clock.now();
        Ok(self
            .store
            .delete_expired_sessions(
                now.minus(self.config.session_idle),
                now.minus(self.config.session_absolute),
            )
            .await?)
    }

    pub(crate) fn principal(
        &self,
        user: &User,
        access: UserAccess,
        admission: Admission<'_>,
        credential_ref: Option<String>,
        token: Option<&tessera_core::tokens::Token>,
    ) -> Principal {
        Principal {
            user: user.clone(),
            groups: access.groups,
            global: access.global,
            method: admission.method,
            credential_ref,
            token: token.map(|t| t.id),
            scopes: token.map_or_else(Scopes::all, |t| t.scopes),
            projects: token.and_then(|t| t.projects.clone()),
            client_ip: admission.client_ip,
            user_agent: admission.user_agent.map(str::to_string),
            websudo_until: None,
            oauth: None,
        }
    }

    /// Checks a token, presented as a Bearer token or, with `basic_user`, in a Basic
    /// password. With Basic, the user name must be the token's owner.
    async fn verify_token(
        &self,
        raw: &str,
        basic_user: Option<&str>,
        request: &RequestInfo<'_>,
        user_agent: Option<&str>,
    ) -> Result<Principal, AuthError> {
        let client_ip = request.client_ip;
        let refuse = |rejection: TokenRejection| {
            tracing::info!(target: "tessera::security", reason = rejection.reason_code(), %client_ip, "token refused");
            let event =
                AuditEvent::anonymous(self.clock.now(), client_ip, "token.refused", "token")
                    .outcome(Outcome::Failure)
                    .reason(rejection.reason_code())
                    .user_agent(user_agent);
            self.audit.record(event);
            AuthError::Token(rejection)
        };
        let presented = match token_format::parse(raw) {
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
        if let Some(name) = basic_user {
            let name = name.trim().to_lowercase();
            if !constant_time_eq(name.as_bytes(), found.owner.name.as_bytes()) {
                return Err(refuse(TokenRejection::Unknown));
            }
        }
        if !found.owner.active {
            return Err(refuse(TokenRejection::OwnerInactive));
        }
        if !token.is_allowed_from(client_ip) {
            tracing::info!(target: "tessera::security", token = %token.id, %client_ip, "token used from an address outside its allowlist");
            let event = AuditEvent {
                actor_id: Some(found.owner.id.0),
                credential_id: Some(token.id.to_string()),
                ..AuditEvent::anonymous(
                    now,
                    client_ip,
                    "token.refused",
                    format!("token:{}", token.id),
                )
            };
            self.audit.record(
                event
                    .outcome(Outcome::Denied)
                    .actor_name(&found.owner.name)
                    .reason("ip_not_allowed")
                    .user_agent(user_agent),
            );
            return Err(AuthError::IpNotAllowed);
        }
        let method = match (token.kind, basic_user) {
            (TokenKind::ServiceKey, _) => AuthMethod::ServiceKey,
            (TokenKind::Personal, Some(_)) => AuthMethod::BasicToken,
            (TokenKind::Personal, None) => AuthMethod::BearerToken,
        };
        let admission = Admission {
            method,
            surface: request.surface,
            client_ip,
            user_agent,
        };
        let access = self.store.user_access(found.owner.id).await?;
        self.admit(&found.owner.name, &access, admission).await?;
        let credential_ref = Some(format!("token:{}", token.id));
        Ok(self.principal(
            &found.owner,
            access,
            admission,
            credential_ref,
            Some(&token),
        ))
    }

    /// Writes the credential uses noted since the last flush (one write per used credential
    /// and address), and records the first use of a credential from each new address.
    pub async fn flush_usage(&self) -> Result<usize, AuthError> {
        let drained = self.usage.drain();
        let count = drained.uses.len();
        let token_uses = drained.token_uses();
        let written = self.store.record_usage(
            &drained.uses,
            &token_uses,
            crate::usage::MAX_STORED_ADDRESSES,
        );
        let first_seen = match written.await {
            Ok(first_seen) => first_seen,
            Err(error) => {
                self.usage.restore(drained);
                return Err(error.into());
            }
        };
        for client in first_seen {
            let kind = client.credential.split(':').next().unwrap_or("credential");
            let mut event = AuditEvent::anonymous(
                client.first_seen,
                std::net::Ipv4Addr::UNSPECIFIED.into(),
                "credential.new_ip",
                client.credential.clone(),
            )
            .user_agent(client.user_agent.as_deref());
            // An IPv4 address, or an IPv6 /64.
            event.client_ip = Some(client.ip.clone());
            event.actor_id = Some(client.user_id.0);
            event.actor_name = drained.owners.get(&client.credential).cloned();
            event.credential_kind = Some(kind.to_string());
            event.credential_id = Some(client.credential.clone());
            self.audit.record(event);
        }
        Ok(count)
    }

    /// Checks a password. Every failure for a plausible name (unknown user, no password,
    /// wrong password, deactivated) takes at least as long as one verification with the
    /// configured cost: a stored hash with weaker parameters, or a user without a hash, would
    /// otherwise answer measurably faster and tell an attacker which names exist.
    ///
    /// With an `admission`, the access policy is applied once the password is verified (the
    /// rules that do not depend on the user, a global address list or a method switched off
    /// for everyone, were applied before anything was read).
    async fn verify_password(
        &self,
        username: &str,
        password: &SecretString,
        client_ip: IpAddr,
        admission: Option<Admission<'_>>,
    ) -> Result<(User, UserAccess), AuthError> {
        let name = username.trim().to_lowercase();
        let secret = password.expose_secret();
        // A secret given as the name is never counted, logged or recorded under it.
        if name.is_empty()
            || secret.len() > MAX_PASSWORD_BYTES
            || token_format::looks_like_secret(&name)
        {
            return Err(AuthError::BadCredentials);
        }
        let started = tokio::time::Instant::now();
        let now = self.clock.now();
        let subjects = Subject::of_attempt(&name, client_ip);
        // Every attempt that reaches a password check has taken a number from the name's and
        // the network's counts (whether or not the name exists, so the count is no oracle); a
        // failure is answered no sooner than a verification.
        let user_agent = admission.and_then(|a| a.user_agent);
        let refuse = |subjects: Vec<Subject>, counts: Vec<i64>| async move {
            self.audit_login(
                now,
                client_ip,
                user_agent,
                &subjects,
                Outcome::Failure,
                "bad_credentials",
            );
            self.suspend_as_counted(&subjects, &counts, now).await;
            tokio::time::sleep_until(started + self.hasher.verification_time()).await;
            Err(AuthError::BadCredentials)
        };
        // A NUL can be in no stored name (and PostgreSQL refuses it in a query).
        let found = if name.contains('\0') {
            None
        } else {
            self.store.find_credentials(&name).await?
        };
        let keys: Vec<String> = subjects.iter().map(Subject::key).collect();
        // A refusal because the name or the network is suspended: the wait given is the later
        // of both, read the same way whether or not the name exists.
        let throttled = || async {
            self.audit_login(
                now,
                client_ip,
                user_agent,
                &subjects,
                Outcome::Denied,
                "login_throttled",
            );
            let until = self.store.login_blocked_until(&keys).await?.unwrap_or(now);
            Err(AuthError::LoginThrottled {
                retry_after: Duration::from_millis(
                    u64::try_from(until.as_millis() - now.as_millis()).unwrap_or(0),
                ),
            })
        };
        // A suspended name waits even with a remembered password (the suspension comes with
        // the credentials, on every instance, at no extra read).
        if found
            .as_ref()
            .and_then(|f| f.login_blocked_until)
            .is_some_and(|until| until > now)
        {
            return throttled().await;
        }
        let had_failures = found.as_ref().is_some_and(|f| f.has_login_failures);
        if let Some(UserCredentials {
            user,
            password_hash: Some(hash),
            ..
        }) = &found
            && user.active
            && self.verified.is_verified(&name, secret, user.id, hash, now)
        {
            if had_failures {
                self.forget_failures(&name).await;
            }
            let access = self.admitted(user, admission).await?;
            return Ok((user.clone(), access));
        }
        // Before any Argon2 work, the attempt takes its numbers; a suspended name or network
        // (or one this attempt suspends) waits.
        let Some(counts) = self.take_attempt(&subjects, now).await? else {
            return throttled().await;
        };
        let Some(UserCredentials {
            user,
            password_hash: Some(hash),
            ..
        }) = found
        else {
            self.hasher.verify_dummy(password).await?;
            return refuse(subjects, counts).await;
        };
        if !self.hasher.verify(&hash, password).await? {
            // The user's own statistics are written off the request path.
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Err(error) = store.record_failed_login(user.id, now).await {
                    tracing::warn!(%error, "could not record a failed login");
                }
            });
            return refuse(subjects, counts).await;
        }
        if !user.active {
            return refuse(subjects, counts).await;
        }
        self.verified.remember(&name, secret, user.id, &hash, now);
        if self.hasher.needs_rehash(&hash) {
            self.upgrade_hash(&user, &hash, password).await;
        }
        // A success forgets the name's failures, and gives the network back its number.
        self.forget_failures(&name).await;
        for subject in &subjects {
            if let Subject::Network(_) = subject {
                let threshold = i64::from(subject.threshold(&self.config.throttle));
                if let Err(error) = self
                    .store
                    .return_login_attempt(&subject.key(), threshold)
                    .await
                {
                    tracing::warn!(%error, "could not return a login attempt");
                }
            }
        }
        // The policy decides once the password is known to be right: a rule that depends on
        // the user's groups, answered before, would tell anyone who is in which group; now it
        // tells no more than a login would (and guesses are throttled like any login).
        let access = self.admitted(&user, admission).await?;
        // A verified login (not one answered from the remembered-password cache).
        if let Some(admission) = admission {
            let mut event = AuditEvent::anonymous(
                now,
                client_ip,
                "login.succeeded",
                format!("user:{}", user.name),
            )
            .user_agent(admission.user_agent);
            event.actor_id = Some(user.id.0);
            event.actor_name = Some(user.name.clone());
            event.credential_kind = Some(admission.method.name().into());
            self.audit.record(event);
        }
        Ok((user, access))
    }

    /// The user's groups, read with the policy's version, and (with an `admission`) the
    /// policy's decision on them.
    async fn admitted(
        &self,
        user: &User,
        admission: Option<Admission<'_>>,
    ) -> Result<UserAccess, AuthError> {
        let access = self.store.user_access(user.id).await?;
        if let Some(admission) = admission {
            self.admit(&user.name, &access, admission).await?;
        }
        Ok(access)
    }

    /// A success forgets the name's failures (not the network's: an attacker could otherwise
    /// reset those with an account of their own).
    async fn forget_failures(&self, name: &str) {
        let key = Subject::User(name.to_string()).key();
        if let Err(error) = self.store.clear_login_failures(&key).await {
            tracing::warn!(%error, "could not clear failed logins");
        }
    }

    /// Records a refused password attempt, naming the user name tried (never the password).
    /// The name tried is the event's target (`user:<name>`), not its actor: nobody was
    /// authenticated.
    fn audit_login(
        &self,
        now: Timestamp,
        client_ip: IpAddr,
        user_agent: Option<&str>,
        subjects: &[Subject],
        outcome: Outcome,
        reason: &str,
    ) {
        let tried = subjects.iter().find_map(|s| match s {
            Subject::User(name) => Some(name.as_str()),
            Subject::Network(_) => None,
        });
        let target = format!("user:{}", tried.unwrap_or(""));
        let mut event = AuditEvent::anonymous(now, client_ip, "login.failed", target)
            .outcome(outcome)
            .reason(reason)
            .user_agent(user_agent);
        event.credential_kind = Some("password".into());
        self.audit.record(event);
    }

    /// Takes a number for this attempt from each subject; `None` if one of them is suspended.
    async fn take_attempt(
        &self,
        subjects: &[Subject],
        now: Timestamp,
    ) -> Result<Option<Vec<i64>>, AuthError> {
        let policy = self.config.throttle;
        let first_wait = i64::try_from(policy.lockout.as_millis()).unwrap_or(i64::MAX);
        let mut counts = Vec::with_capacity(subjects.len());
        for subject in subjects {
            let taken = self
                .store
                .take_login_attempt(
                    &subject.key(),
                    now,
                    now.minus(policy.window),
                    i64::from(subject.threshold(&policy)),
                    first_wait,
                )
                .await?;
            match taken {
                Some(count) => counts.push(count),
                None => return Ok(None),
            }
        }
        Ok(Some(counts))
    }

    /// After a failed attempt, makes each subject at or past its threshold wait as long as its
    /// count says (the wait doubles with every further failure).
    async fn suspend_as_counted(&self, subjects: &[Subject], counts: &[i64], now: Timestamp) {
        let policy = self.config.throttle;
        for (subject, failures) in subjects.iter().zip(counts) {
            if let Some(wait) = policy.lockout_for(subject, *failures) {
                let key = subject.key();
                tracing::warn!(target: "tessera::security", subject = %key, failures, seconds = wait.as_secs(), "password logins throttled");
                if let Err(error) = self.store.block_login(&key, now.plus(wait)).await {
                    tracing::warn!(%error, "could not throttle password logins");
                }
            }
        }
    }

    /// Administrators: forgets the failures of a user name or a client network.
    pub async fn clear_login_failures(&self, subject: &Subject) -> Result<bool, AuthError> {
        Ok(self.store.clear_login_failures(&subject.key()).await?)
    }

    /// Re-hashes a password stored with weaker parameters; failure is logged, not fatal.
    async fn upgrade_hash(&self, user: &User, old: &str, password: &SecretString) {
        let upgraded = match self.hasher.hash(password).await {
            Ok(new) => self
                .store
                .upgrade_password_hash(user.id, old, &new)
                .await
                .map(|_| ()),
            Err(error) => {
                tracing::warn!(%error, "could not re-hash a password");
                return;
            }
        };
        if let Err(error) = upgraded {
            tracing::warn!(%error, "could not store a re-hashed password");
        }
    }

    async fn verify_session(&self, session: &SessionId) -> Result<(Session, User), AuthError> {
        let digest = session.digest();
        let Some((stored, user)) = self.store.find_session(&digest).await? else {
            return Err(AuthError::SessionInvalid);
        };
        let now = self.clock.now();
        let expired = now >= stored.last_seen.plus(self.config.session_idle)
            || now >= stored.created.plus(self.config.session_absolute);
        if expired || !user.active {
            self.store.delete_session(&digest).await?;
            return Err(AuthError::SessionInvalid);
        }
        // Refresh often enough that a short idle timeout cannot expire a session in use.
        let touch_after = self
            .config
            .session_touch_interval
            .min(self.config.session_idle / 4);
        if now >= stored.last_seen.plus(touch_after) {
            self.store.touch_session(&digest, now).await?;
        }
        Ok((stored, user))
    }
}

/// The method a credential claims, read from its shape alone (before it is checked).
fn claimed_method(credential: &Credential) -> Option<AuthMethod> {
    let token_method = |raw: &str, basic: bool| match TokenKind::of_prefixed(raw) {
        Some(TokenKind::ServiceKey) => AuthMethod::ServiceKey,
        _ if basic => AuthMethod::BasicToken,
        _ => AuthMethod::BearerToken,
    };
    match credential {
        Credential::None | Credential::Session(None) => None,
        Credential::Bearer(token)
            if token
                .expose_secret()
                .starts_with(crate::oauth2::ACCESS_TOKEN_PREFIX) =>
        {
            Some(AuthMethod::OAuth2)
        }
        Credential::Bearer(token) => Some(token_method(token.expose_secret(), false)),
        Credential::Basic { password, .. }
            if token_format::has_prefix(password.expose_secret()) =>
        {
            Some(token_method(password.expose_secret(), true))
        }
        Credential::Basic { .. } => Some(AuthMethod::BasicPassword),
        Credential::Session(Some(_)) => Some(AuthMethod::Session),
    }
}
