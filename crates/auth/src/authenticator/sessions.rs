//! Sessions, opened with a password through the pipeline's own stages: the login (Jira's
//! `POST /rest/auth/1/session` and the login page), logout, websudo (the password re-entered
//! for administrative changes), and the password confirmations that go with them.
//!
//! A login is refused, like any request, by the policy's rules before the password is read
//! and by its group rules after; a user without Jira's application access (USE) is refused
//! before the session row is written. A session the client already held is ended at login,
//! so ids are never reused across logins.

use std::net::IpAddr;

use http::HeaderMap;
use secrecy::SecretString;
use tessera_core::audit::AuditEvent;
use tessera_core::authz::Authorizer;
use tessera_core::clock::Timestamp;
use tessera_core::error::Error;
use tessera_core::identity::IdentityProvider;
use tessera_core::model::Session;
use tessera_core::policy::Surface;
use tessera_core::principal::{AuthMethod, Principal};
use tessera_core::usage::Credential as UsedCredential;

use super::{Authenticator, Login};
use crate::credentials::password::PresentedPassword;
use crate::credentials::session::SessionId;
use crate::credentials::{self, Attempt, Verified, Verifier};
use crate::error::AuthError;
use crate::request::user_agent_of;

impl Authenticator {
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
        let attempt = Attempt {
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
        let input = PresentedPassword { username, password };
        let verified = self
            .password
            .verify(input, attempt)
            .await
            .map_err(|rejection| self.refuse(rejection, attempt))?;
        // The login used the password: counted as the password's use.
        let used = UsedCredential::Password(verified.user.id);
        self.open_session(verified, attempt, previous, used).await
    }

    /// The login page's "Sign in with": checks the ID token a provider's token endpoint gave
    /// for a sign-in (its signature, issuer, audience, times and the sign-in's nonce), finds
    /// or provisions its user as the provider says, and opens a session as a password login
    /// does, under the same rules.
    pub async fn login_sso(
        &self,
        provider: &IdentityProvider,
        id_token: &SecretString,
        client_id: &str,
        nonce: &str,
        client_ip: IpAddr,
        previous: &HeaderMap,
    ) -> Result<Login, AuthError> {
        let user_agent = user_agent_of(previous);
        let attempt = Attempt {
            client_ip,
            user_agent: user_agent.as_deref(),
        };
        self.check_address(client_ip, || user_agent.clone(), None)
            .await?;
        self.check_method_at_all(AuthMethod::Session, client_ip, || user_agent.clone(), None)
            .await?;
        let verified = self
            .external_jwt
            .verify_id_token(provider, id_token, client_id, nonce, attempt)
            .await
            .map_err(|rejection| self.refuse(rejection, attempt))?;
        let used = UsedCredential::External(provider.id);
        self.open_session(verified, attempt, previous, used).await
    }

    /// A verified login's session: the policy's group rules and Jira's application access
    /// (USE) first, then the session row, written only for a user who may hold it.
    async fn open_session(
        &self,
        mut verified: Verified,
        attempt: Attempt<'_>,
        previous: &HeaderMap,
        used: UsedCredential,
    ) -> Result<Login, AuthError> {
        let client_ip = attempt.client_ip;
        for mut event in verified.changes.drain(..) {
            event.credential_kind = Some(verified.method.name().into());
            self.audit.record(event);
        }
        verified.method = AuthMethod::Session;
        let access = self
            .admit_verified(&mut verified, attempt, Surface::Pages)
            .await?;
        // Jira's application access (USE), checked before the session row is written: a user
        // who may not use tessera never holds a session, not even for a moment.
        let session = SessionId::generate();
        verified.credential_ref = Some(session.reference());
        let principal = verified.into_principal(access, attempt);
        match Authorizer::require_use(&principal) {
            Ok(()) => {}
            Err(Error::Denied(denied)) => return Err(AuthError::Forbidden(denied)),
            Err(other) => return Err(AuthError::Internal(other.to_string())),
        }
        let user = &principal.user;
        for old in credentials::session_cookies(previous) {
            if let Some(old) = SessionId::from_cookie(&old) {
                self.store.delete_session(&old.digest()).await?;
            }
        }
        let now = self.clock.now();
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
        self.usage.note(
            used,
            (user.id, &user.name),
            now,
            client_ip,
            attempt.user_agent,
        );
        let xsrf_token = self.session.xsrf_token(&session);
        tracing::info!(target: "tessera::security", user = %principal.user.name, session = %session.reference(), %client_ip, "session opened");
        self.audit.record(AuditEvent::by(
            &principal,
            now,
            "session.opened",
            format!("user:{}", principal.user.name),
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

    /// Websudo: the session's owner re-enters the password; for [`crate::AuthConfig::websudo`] the
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
        self.session.xsrf_token(session)
    }

    /// Hashes a new password (its rules must already have been checked).
    pub async fn hash_password(&self, password: &SecretString) -> Result<String, AuthError> {
        Ok(self.password.hasher().hash(password).await?)
    }

    /// Whether `password` is the principal's current password (to confirm a change). A wrong
    /// one counts as a failed login.
    pub async fn check_own_password(
        &self,
        principal: &Principal,
        password: &SecretString,
    ) -> Result<bool, AuthError> {
        let attempt = Attempt {
            client_ip: principal.client_ip,
            user_agent: None,
        };
        let input = PresentedPassword {
            username: &principal.user.name,
            password,
        };
        match self.password.verify(input, attempt).await {
            Ok(verified) => Ok(verified.user.id == principal.user.id),
            Err(rejection) => match self.refuse(rejection, attempt) {
                AuthError::BadCredentials => Ok(false),
                other => Err(other),
            },
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
}
