//! Session cookies (`JSESSIONID`), with the XSRF rule that is part of verifying one.
//!
//! A session is looked up by the digest of its id; past its idle or absolute timeout, or once
//! its user is deactivated, it is deleted and refused. A state-changing request must then pass
//! the XSRF rule ([`xsrf`]), with the session's own form token: a forged cross-site
//! request is refused before anything acts on it.

use std::sync::Arc;
use std::time::Duration;

use tessera_core::clock::{Clock, Timestamp};
use tessera_core::model::{Session, User};
use tessera_core::principal::AuthMethod;
use tessera_core::store::Store;

pub mod id;
pub mod xsrf;

pub use id::{SESSION_COOKIE, SessionId, XSRF_COOKIE, XsrfTokens};

use super::{Attempt, Cacheable, Rejection, Verified, Verifier};
use crate::error::AuthError;
use xsrf::XsrfRequest;

/// How long sessions live.
#[derive(Clone, Copy, Debug)]
pub struct SessionTimes {
    /// A session ends after this long without use.
    pub idle: Duration,
    /// A session ends this long after login, however much it is used.
    pub absolute: Duration,
    /// How stale a session's last-use time may get before it is written again.
    pub touch_interval: Duration,
}

/// A session cookie and the request it came with (for the XSRF rule).
pub struct PresentedSession<'r> {
    pub session: SessionId,
    pub request: XsrfRequest<'r>,
}

impl std::fmt::Debug for PresentedSession<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PresentedSession")
            .field("session", &self.session.reference())
            .finish_non_exhaustive()
    }
}

#[derive(Debug)]
pub struct SessionVerifier {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    xsrf: XsrfTokens,
    times: SessionTimes,
}

impl SessionVerifier {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        xsrf: XsrfTokens,
        times: SessionTimes,
    ) -> Self {
        Self {
            store,
            clock,
            xsrf,
            times,
        }
    }

    /// The session's XSRF form token.
    pub fn xsrf_token(&self, session: &SessionId) -> String {
        self.xsrf.token_for(session)
    }

    /// The XSRF rule for a request made with `session` (safe methods always pass).
    pub fn check_xsrf(
        &self,
        session: &SessionId,
        request: &XsrfRequest<'_>,
    ) -> Result<(), AuthError> {
        xsrf::check(request, |token| self.xsrf.is_valid(session, token)).map_err(AuthError::Xsrf)
    }

    /// How stale a session's last-use time may get before it is written again: often enough
    /// that a short idle timeout cannot expire a session in use.
    fn touch_after(&self) -> Duration {
        self.times.touch_interval.min(self.times.idle / 4)
    }

    /// The live session, its user, and its last use as now stored; an expired one is deleted.
    async fn live(&self, session: &SessionId) -> Result<(Session, User, Timestamp), AuthError> {
        let digest = session.digest();
        let Some((stored, user)) = self.store.find_session(&digest).await? else {
            return Err(AuthError::SessionInvalid);
        };
        let now = self.clock.now();
        let expired = now >= stored.last_seen.plus(self.times.idle)
            || now >= stored.created.plus(self.times.absolute);
        if expired || !user.active {
            self.store.delete_session(&digest).await?;
            return Err(AuthError::SessionInvalid);
        }
        if now >= stored.last_seen.plus(self.touch_after()) {
            self.store.touch_session(&digest, now).await?;
            return Ok((stored, user, now));
        }
        let seen = stored.last_seen;
        Ok((stored, user, seen))
    }
}

impl Verifier for SessionVerifier {
    type Input<'r> = PresentedSession<'r>;

    async fn verify<'r>(
        &'r self,
        input: PresentedSession<'r>,
        _attempt: Attempt<'r>,
    ) -> Result<Verified, Rejection> {
        let PresentedSession { session, request } = input;
        let (stored, user, seen) = self.live(&session).await?;
        self.check_xsrf(&session, &request)?;
        // Remembered until its last use is due to be written again (a verification then
        // writes it), and never past its absolute end.
        let until = seen
            .plus(self.touch_after())
            .min(stored.created.plus(self.times.absolute));
        Ok(Verified {
            credential_ref: Some(session.reference()),
            websudo_until: stored.websudo_until,
            session: Some(session),
            cacheable: Cacheable::Until(until),
            ..Verified::user(user, AuthMethod::Session)
        })
    }
}
