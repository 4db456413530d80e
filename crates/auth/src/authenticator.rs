//! The authenticator: the pipeline that turns the credential a request carries into a
//! [`Principal`], the same way for every kind of credential.
//!
//! The order, for every request and every kind:
//! 1. **Parse** the one credential the request carries ([`credentials::parse`]) and name its
//!    kind by shape alone ([`Presented`]). A secret pasted into a Basic user name is refused
//!    here, and never recorded as a name.
//! 2. **The policy's rules that need no secret**: the global address allowlist, and a method
//!    switched off for everyone. They cost no database read for the credential and no Argon2
//!    work.
//! 3. **Verify**, by the kind's own verifier under [`crate::credentials`]. A refusal is
//!    traced, audited and answered in one place (`Authenticator::refuse`), whatever the
//!    kind.
//! 4. **The policy's rules that depend on the user's groups**, once the credential is
//!    verified: decided before, a password refusal would tell anyone who is in which group;
//!    decided after, it tells no more than the login it stands in for, and password guesses
//!    are throttled as ever. A verified password's `login.succeeded` is recorded only now.
//! 5. **The principal**, and the credential's use noted off the request path.
//!
//! Between 2 and 3, a credential's answer remembered by the verified-credential cache
//! ([`remembered`]: tokens, Basic passwords, sessions) stands in for 3 and for the database
//! read of 4 (a session's XSRF rule is still checked; an OAuth 1.0a request's signature is
//! checked first, and its token's answer looked for then): it is used only while the store vouches
//! that nothing it depends on changed since (a revocation through this instance holds for its
//! very next request, through another instance within a second).

use std::sync::Arc;
use std::time::Duration;

use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::clock::Clock;
use tessera_core::model::LoginInfo;
use tessera_core::policy::{Policy, Surface};
use tessera_core::principal::Principal;
use tessera_core::secrets::looks_like_secret;
use tessera_core::store::{Store, UserAccess};
use tessera_core::throttle::{Subject, ThrottlePolicy};
use tessera_core::usage::Credential as UsedCredential;

use crate::audit_log::AuditLog;
use crate::credentials::external_jwt::ExternalJwtVerifier;
use crate::credentials::introspected::IntrospectionVerifier;
use crate::credentials::oauth1::{OAuth1Verifier, PresentedSignature};
use crate::credentials::oauth2_access::OAuth2AccessVerifier;
use crate::credentials::password::{PasswordVerifier, PresentedPassword};
use crate::credentials::password_cache::VerifiedPasswords;
use crate::credentials::pat::{PatVerifier, PresentedToken};
use crate::credentials::session::xsrf::XsrfRequest;
use crate::credentials::session::{PresentedSession, SessionTimes, SessionVerifier};
use crate::credentials::session::{SessionId, XsrfTokens};
use crate::credentials::{self, Attempt, Credential, Presented, Rejection, Verified, Verifier};
pub use crate::error::{AuthError, TokenRejection};
use crate::external::ExternalConfig;
use crate::external::keys::KeyCache;
use crate::hashing::{HasherConfig, PasswordHasher};
use crate::oauth1::OAuth1Config;
use crate::oauth1::verify::Signatures;
use crate::policy::PolicyCache;
use crate::request::Admission;
pub use crate::request::RequestInfo;
use crate::sealed::Sealer;
use crate::secret::{HmacKey, random_bytes};
use crate::usage::Usage;

mod admission;
pub mod remembered;
mod sessions;

#[derive(Clone, Debug)]
pub struct AuthConfig {
    /// A session ends after this long without use.
    pub session_idle: Duration,
    /// A session ends this long after login, however much it is used.
    pub session_absolute: Duration,
    /// How stale a session's last-use time may get before it is written again.
    pub session_touch_interval: Duration,
    /// How many verified credentials' answers are remembered (zero: none; see [`remembered`]).
    pub verified_capacity: u64,
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
    /// OAuth 1.0a's timestamp window (and request token lifetime, the dance's).
    pub oauth1: OAuth1Config,
    /// External JWTs: the clock leeway and how providers' keys are refreshed.
    pub external: ExternalConfig,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_idle: Duration::from_secs(60 * 60),
            session_absolute: Duration::from_secs(12 * 60 * 60),
            session_touch_interval: Duration::from_secs(60),
            verified_capacity: 20_000,
            verified_password_ttl: Duration::from_secs(120),
            verified_password_capacity: 10_000,
            hasher: HasherConfig::default(),
            throttle: ThrottlePolicy::default(),
            websudo: Duration::from_secs(10 * 60),
            initial_policy: Policy::default(),
            oauth1: OAuth1Config::default(),
            external: ExternalConfig::default(),
        }
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
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    password: PasswordVerifier,
    session: SessionVerifier,
    pat: PatVerifier,
    oauth2_access: OAuth2AccessVerifier,
    oauth1: OAuth1Verifier,
    external_jwt: Arc<ExternalJwtVerifier>,
    introspected: IntrospectionVerifier,
    remembered: remembered::Remembered,
    usage: Usage,
    audit: Arc<AuditLog>,
    policy: PolicyCache,
    /// Seals what a page must carry across a redirect (a secret shown once).
    sealer: Sealer,
    config: AuthConfig,
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
        let password = PasswordVerifier::new(
            store.clone(),
            clock.clone(),
            PasswordHasher::start(config.hasher)?,
            VerifiedPasswords::new(
                config.verified_password_ttl,
                config.verified_password_capacity,
            ),
            config.throttle,
        );
        let external_jwt = Arc::new(ExternalJwtVerifier::new(
            store.clone(),
            clock.clone(),
            Arc::new(KeyCache::new(clock.clone(), config.external.keys)),
            config.external.leeway,
        ));
        let times = SessionTimes {
            idle: config.session_idle,
            absolute: config.session_absolute,
            touch_interval: config.session_touch_interval,
        };
        let remembered = remembered::Remembered::new(config.verified_capacity);
        if remembered.is_enabled() {
            store.watch_auth_changes();
        }
        let sealer = Sealer::load(store.as_ref(), config.external.secret_key.as_ref()).await?;
        Ok(Self {
            remembered,
            sealer,
            audit: Arc::new(AuditLog::start(store.clone())),
            password,
            session: SessionVerifier::new(
                store.clone(),
                clock.clone(),
                XsrfTokens::new(key),
                times,
            ),
            pat: PatVerifier::new(store.clone(), clock.clone()),
            oauth2_access: OAuth2AccessVerifier::new(store.clone(), clock.clone()),
            introspected: IntrospectionVerifier::new(
                store.clone(),
                clock.clone(),
                external_jwt.clone(),
                Sealer::load(store.as_ref(), config.external.secret_key.as_ref()).await?,
                &config.external,
            ),
            external_jwt,
            oauth1: OAuth1Verifier::new(
                Signatures::new(store.clone(), clock.clone(), config.oauth1.timestamp_window),
                store.clone(),
                clock.clone(),
            ),
            store,
            clock,
            usage: Usage::default(),
            policy,
            config,
        })
    }

    pub fn config(&self) -> &AuthConfig {
        &self.config
    }

    /// The server's sealer (the configured secret key, else the database's: the same for
    /// every instance).
    pub fn sealer(&self) -> &Sealer {
        &self.sealer
    }

    /// The audit log, written off the request path.
    pub fn audit(&self) -> &AuditLog {
        &self.audit
    }

    /// The verified-credential cache's hits and misses since the start.
    pub fn remembered_counts(&self) -> (u64, u64) {
        self.remembered.counts()
    }

    /// The audit log, for the other parts of the server that record events (the OAuth 2.0
    /// server).
    pub fn shared_audit(&self) -> Arc<AuditLog> {
        self.audit.clone()
    }

    /// The access policy in force.
    pub fn policy(&self) -> &PolicyCache {
        &self.policy
    }

    /// The least time a failed password check takes (one verification at the configured cost).
    pub fn failure_time(&self) -> Duration {
        self.password.hasher().verification_time()
    }

    /// Authenticates a request and admits it under the access policy: `None` for an anonymous
    /// one (which the global address allowlist still governs). The steps are the module's.
    pub async fn authenticate(
        &self,
        request: &RequestInfo<'_>,
    ) -> Result<Option<Authenticated>, AuthError> {
        // 1. Parse.
        let credential = credentials::from_headers(request.headers)?;
        let user_agent = request.user_agent();
        let attempt = Attempt {
            client_ip: request.client_ip,
            user_agent: user_agent.as_deref(),
        };
        // A secret sent as the user name (some clients are configured so) is refused as a
        // malformed token, and never recorded as a name anywhere.
        if let Credential::Basic { username, .. } = &credential
            && looks_like_secret(username.trim())
        {
            let event = AuditEvent::anonymous(
                self.clock.now(),
                request.client_ip,
                "token.refused",
                "token",
            )
            .outcome(Outcome::Failure)
            .reason("token_in_user_name")
            .user_agent(attempt.user_agent);
            self.audit.record(event);
            return Err(AuthError::Token(TokenRejection::Malformed));
        }
        // 2. The rules that need no secret. The address rule comes first, even for a session
        // cookie tessera cannot have issued.
        let presented = Presented::of(credential);
        let claimed = presented
            .as_ref()
            .ok()
            .and_then(Option::as_ref)
            .and_then(Presented::claimed_user);
        self.check_address(request.client_ip, || user_agent.clone(), claimed)
            .await?;
        let Some(presented) = presented? else {
            return Ok(None);
        };
        let method = presented.method();
        let claimed = presented.claimed_user();
        self.check_method_at_all(method, request.client_ip, || user_agent.clone(), claimed)
            .await?;
        // A remembered answer, if the store vouches nothing changed since. The epoch is read
        // before verifying: a change made meanwhile leaves what is then kept stale.
        let mut slot = self.remembered.slot(&presented);
        let epoch = self.store.auth_epoch();
        if let Some((verified, access)) = self.remembered_answer(slot.as_ref(), epoch) {
            let session = match presented {
                Presented::Session(session) => {
                    self.session.check_xsrf(&session, &xsrf_request(request))?;
                    Some(session)
                }
                _ => None,
            };
            return self
                .admit_remembered(verified, access, attempt, request, session)
                .await
                .map(Some);
        }
        // 3. Verify, by kind: not for an address penalized for its failed credentials.
        if request.penalized {
            return Err(AuthError::Penalized);
        }
        let verified = match presented {
            Presented::Password { username, password } => {
                let input = PresentedPassword {
                    username: &username,
                    password: &password,
                };
                self.password.verify(input, attempt).await
            }
            Presented::Token { raw, basic_user } => {
                let input = PresentedToken { raw, basic_user };
                self.pat.verify(input, attempt).await
            }
            Presented::OAuth2Access(raw) => self.oauth2_access.verify(raw, attempt).await,
            Presented::ExternalJwt(raw) => self.external_jwt.verify(raw, attempt).await,
            Presented::Opaque(raw) => self.introspected.verify(raw, attempt).await,
            Presented::OAuth1(header) => {
                let input = PresentedSignature {
                    header,
                    method: request.method,
                    url: request.url,
                    content_type: request
                        .headers
                        .get(http::header::CONTENT_TYPE)
                        .and_then(|v| v.to_str().ok()),
                    body: request.body,
                };
                // Signed anew every time: only once the signature holds (and its nonce is
                // spent) may a remembered answer stand in for the token's.
                let call = self
                    .oauth1
                    .check_signature(input, attempt)
                    .await
                    .map_err(|rejection| self.refuse(rejection, attempt))?;
                slot = self.remembered.signed_slot(&call);
                if let Some((verified, access)) = self.remembered_answer(slot.as_ref(), epoch) {
                    return self
                        .admit_remembered(verified, access, attempt, request, None)
                        .await
                        .map(Some);
                }
                self.oauth1.verify(call, attempt).await
            }
            Presented::Session(session) => {
                let request = xsrf_request(request);
                let input = PresentedSession { session, request };
                self.session.verify(input, attempt).await
            }
        };
        let mut verified = verified.map_err(|rejection| self.refuse(rejection, attempt))?;
        for mut event in verified.changes.drain(..) {
            event.credential_kind = Some(verified.method.name().into());
            self.audit.record(event);
        }
        // The credential's own address allowlist (a token's).
        if !verified.limits.admits(request.client_ip) {
            let rejection = verified.refused_address(self.clock.now(), attempt);
            return Err(self.refuse(rejection, attempt));
        }
        // 4. The rules that depend on the user's groups.
        let access = self
            .admit_verified(&mut verified, attempt, request.surface)
            .await?;
        if let (Some(slot), Some(epoch)) = (slot, epoch) {
            self.remembered
                .keep(slot, epoch, &verified, &access, self.clock.now());
        }
        // 5. The principal.
        let session = verified.session.take();
        let principal = verified.into_principal(access, attempt);
        self.note_use(&principal);
        Ok(Some(Authenticated { principal, session }))
    }

    /// The answer remembered at `slot`, if the store vouches nothing changed since.
    fn remembered_answer(
        &self,
        slot: Option<&[u8; 32]>,
        epoch: Option<u64>,
    ) -> Option<(Verified, UserAccess)> {
        self.remembered.get(slot?, epoch?, self.clock.now())
    }

    /// A remembered answer goes through what needs no database read: the credential's
    /// address allowlist and the policy's rules on the user's (remembered) groups.
    async fn admit_remembered(
        &self,
        verified: Verified,
        access: UserAccess,
        attempt: Attempt<'_>,
        request: &RequestInfo<'_>,
        session: Option<SessionId>,
    ) -> Result<Authenticated, AuthError> {
        if !verified.limits.admits(request.client_ip) {
            let rejection = verified.refused_address(self.clock.now(), attempt);
            return Err(self.refuse(rejection, attempt));
        }
        let admission = Admission {
            method: verified.method,
            surface: request.surface,
            client_ip: attempt.client_ip,
            user_agent: attempt.user_agent,
        };
        self.admit_by_groups(&verified.user.name, &access, admission)
            .await?;
        let principal = verified.into_principal(access, attempt);
        self.note_use(&principal);
        Ok(Authenticated { principal, session })
    }

    /// The one refusal path of every kind: one trace line, the kind's audit event (if the
    /// refusal is worth one), and the error the client gets.
    pub(super) fn refuse(&self, rejection: Rejection, attempt: Attempt<'_>) -> AuthError {
        if let Some(event) = rejection.event {
            // "token refused", "login failed": the event's action, as words.
            tracing::info!(
                target: "tessera::security",
                reason = event.reason.as_deref().unwrap_or(""),
                kind = event.credential_kind.as_deref().unwrap_or(""),
                client_ip = %attempt.client_ip,
                "{}",
                event.action.replace('.', " ")
            );
            self.audit.record(event);
        }
        rejection.error
    }

    /// The policy's decision on a verified credential's user (read with the policy's version,
    /// so a change made anywhere applies now); once admitted, the credential's success event
    /// is recorded.
    pub(super) async fn admit_verified(
        &self,
        verified: &mut Verified,
        attempt: Attempt<'_>,
        surface: Surface,
    ) -> Result<UserAccess, AuthError> {
        let access = self.store.user_access(verified.user.id).await?;
        let admission = Admission {
            method: verified.method,
            surface,
            client_ip: attempt.client_ip,
            user_agent: attempt.user_agent,
        };
        self.admit_by_groups(&verified.user.name, &access, admission)
            .await?;
        if let Some(mut event) = verified.success_event.take() {
            event.credential_kind = Some(verified.method.name().into());
            self.audit.record(event);
        }
        Ok(access)
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

    /// Administrators: forgets the failures of a user name or a client network.
    pub async fn clear_login_failures(&self, subject: &Subject) -> Result<bool, AuthError> {
        Ok(self.store.clear_login_failures(&subject.key()).await?)
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
}

/// What the XSRF rule reads of a request.
fn xsrf_request<'r>(request: &'r RequestInfo<'_>) -> XsrfRequest<'r> {
    XsrfRequest {
        method: request.method,
        headers: request.headers,
        form_token: request.form_token,
        own_origins: request.own_origins,
    }
}
