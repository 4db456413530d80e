//! Passwords: `Authorization: Basic` with the user's password, the login that opens a
//! session, and the re-entered password of websudo.
//!
//! Wrong password, unknown user, user without a password and deactivated user all get the
//! same answer after the same amount of work (a real or dummy Argon2 verification at the
//! configured cost), so the answer reveals nothing about which it was. Failed attempts count
//! against the name tried and the client's network (whether or not the name exists), and past
//! a threshold password logins of that name or network wait, doubling with each further
//! failure ([`tessera_core::throttle`]). A successful verification is remembered briefly
//! ([`super::password_cache`]) so that scripts sending Basic on every request do not pay
//! Argon2 each time; a suspended name waits even then. For as long, the verified-credential
//! cache may answer the same name and password without reading the user; suspending a name
//! moves the store's auth epoch (migration 0028), which sends it back here.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::clock::{Clock, Timestamp};
use tessera_core::model::User;
use tessera_core::principal::AuthMethod;
use tessera_core::secrets::looks_like_secret;
use tessera_core::store::{Store, UserCredentials};
use tessera_core::throttle::{Subject, ThrottlePolicy};
use tessera_core::validate::MAX_PASSWORD_BYTES;

use super::password_cache::VerifiedPasswords;
use super::{Attempt, Cacheable, Rejection, Verified, Verifier};
use crate::error::AuthError;
use crate::hashing::PasswordHasher;

/// A user name and password, as presented.
#[derive(Debug)]
pub struct PresentedPassword<'r> {
    pub username: &'r str,
    pub password: &'r SecretString,
}

#[derive(Debug)]
pub struct PasswordVerifier {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    hasher: PasswordHasher,
    verified: VerifiedPasswords,
    throttle: ThrottlePolicy,
}

impl PasswordVerifier {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        hasher: PasswordHasher,
        verified: VerifiedPasswords,
        throttle: ThrottlePolicy,
    ) -> Self {
        Self {
            store,
            clock,
            hasher,
            verified,
            throttle,
        }
    }

    /// The Argon2 workers (also used to hash new passwords).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// How long the verified-credential cache may keep a verified password's answer: as long
    /// as the password cache keeps the verification (never, if it keeps none).
    fn remembered_until(&self, now: Timestamp) -> Cacheable {
        let ttl = self.verified.ttl();
        if ttl.is_zero() {
            Cacheable::Never
        } else {
            Cacheable::Until(now.plus(ttl))
        }
    }

    /// A success forgets the name's failures (not the network's: an attacker could otherwise
    /// reset those with an account of their own).
    async fn forget_failures(&self, name: &str) {
        let key = Subject::User(name.to_string()).key();
        if let Err(error) = self.store.clear_login_failures(&key).await {
            tracing::warn!(%error, "could not clear failed logins");
        }
    }

    /// Takes a number for this attempt from each subject; `None` if one of them is suspended.
    async fn take_attempt(
        &self,
        subjects: &[Subject],
        now: Timestamp,
    ) -> Result<Option<Vec<i64>>, AuthError> {
        let policy = self.throttle;
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
        let policy = self.throttle;
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
}

/// The refused password attempt's event, naming the user name tried (never the password).
/// The name tried is the event's target (`user:<name>`), not its actor: nobody was
/// authenticated.
fn login_failed(
    now: Timestamp,
    attempt: Attempt<'_>,
    subjects: &[Subject],
    outcome: Outcome,
    reason: &str,
) -> AuditEvent {
    let tried = subjects.iter().find_map(|s| match s {
        Subject::User(name) => Some(name.as_str()),
        Subject::Network(_) => None,
    });
    let target = format!("user:{}", tried.unwrap_or(""));
    let mut event = AuditEvent::anonymous(now, attempt.client_ip, "login.failed", target)
        .outcome(outcome)
        .reason(reason)
        .user_agent(attempt.user_agent);
    event.credential_kind = Some("password".into());
    event
}

/// The success event of a password verified now (not answered from the cache), recorded by
/// the pipeline once the policy admits the user.
pub(crate) fn login_succeeded(
    now: Timestamp,
    client_ip: IpAddr,
    user: &User,
    ua: Option<&str>,
) -> AuditEvent {
    let mut event = AuditEvent::anonymous(
        now,
        client_ip,
        "login.succeeded",
        format!("user:{}", user.name),
    )
    .user_agent(ua);
    event.actor_id = Some(user.id.0);
    event.actor_name = Some(user.name.clone());
    event
}

impl Verifier for PasswordVerifier {
    type Input<'r> = PresentedPassword<'r>;

    /// Every failure for a plausible name (unknown user, no password, wrong password,
    /// deactivated) takes at least as long as one verification with the configured cost: a
    /// stored hash with weaker parameters, or a user without a hash, would otherwise answer
    /// measurably faster and tell an attacker which names exist.
    async fn verify<'r>(
        &'r self,
        input: PresentedPassword<'r>,
        attempt: Attempt<'r>,
    ) -> Result<Verified, Rejection> {
        let PresentedPassword { username, password } = input;
        let name = username.trim().to_lowercase();
        let secret = password.expose_secret();
        // A secret given as the name is never counted, logged or recorded under it.
        if name.is_empty() || secret.len() > MAX_PASSWORD_BYTES || looks_like_secret(&name) {
            return Err(AuthError::BadCredentials.into());
        }
        let started = tokio::time::Instant::now();
        let now = self.clock.now();
        let subjects = Subject::of_attempt(&name, attempt.client_ip);
        // Every attempt that reaches a password check has taken a number from the name's and
        // the network's counts (whether or not the name exists, so the count is no oracle); a
        // failure is answered no sooner than a verification.
        let refuse = |subjects: Vec<Subject>, counts: Vec<i64>| async move {
            let event = login_failed(now, attempt, &subjects, Outcome::Failure, "bad_credentials");
            self.suspend_as_counted(&subjects, &counts, now).await;
            tokio::time::sleep_until(started + self.hasher.verification_time()).await;
            Err(Rejection::new(AuthError::BadCredentials, event))
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
            let event = login_failed(now, attempt, &subjects, Outcome::Denied, "login_throttled");
            let until = self.store.login_blocked_until(&keys).await?.unwrap_or(now);
            let error = AuthError::LoginThrottled {
                retry_after: Duration::from_millis(
                    u64::try_from(until.as_millis() - now.as_millis()).unwrap_or(0),
                ),
            };
            Err(Rejection::new(error, event))
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
            return Ok(Verified {
                cacheable: self.remembered_until(now),
                ..Verified::user(user.clone(), AuthMethod::BasicPassword)
            });
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
            self.hasher
                .verify_dummy(password)
                .await
                .map_err(AuthError::from)?;
            return refuse(subjects, counts).await;
        };
        if !self
            .hasher
            .verify(&hash, password)
            .await
            .map_err(AuthError::from)?
        {
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
                let threshold = i64::from(subject.threshold(&self.throttle));
                if let Err(error) = self
                    .store
                    .return_login_attempt(&subject.key(), threshold)
                    .await
                {
                    tracing::warn!(%error, "could not return a login attempt");
                }
            }
        }
        let event = login_succeeded(now, attempt.client_ip, &user, attempt.user_agent);
        Ok(Verified {
            success_event: Some(event),
            cacheable: self.remembered_until(now),
            ..Verified::user(user, AuthMethod::BasicPassword)
        })
    }
}
