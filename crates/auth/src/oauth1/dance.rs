//! The three-legged dance (RFC 5849 §2), at Jira's paths: a consumer's signed request gets
//! a request token (temporary credentials, §2.1), which its user approves, and which the
//! consumer then exchanges once for an access token (§2.3).
//!
//! Security invariants kept here: a request token lives [`super::OAuth1Config`]'s ten minutes
//! and is stored as a digest; the callback a consumer names must be `oob` or on the origin of
//! the callback it was registered with (an application link cannot send its user anywhere
//! else with a verifier).

use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::oauth1::{Consumer, NewOAuth1Token, OAuth1Token, OAuth1TokenKind, OUT_OF_BAND};
use tessera_core::principal::Principal;
use tessera_core::scopes::{Scopes, parse_scope};
use tessera_core::secrets::SecretKind;

use super::OAuth1Server;
use super::verify::{Problem, SignedRequest};
use crate::secret::{constant_time_eq, random_bytes, sha256};
use crate::token_format::{self, RawToken};

/// What a user lets an application do: read only, or read and write (Jira's scopes `READ`
/// and `WRITE`); never more than the user can.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    ReadOnly,
    ReadWrite,
}

impl Access {
    /// Jira's name of it: `READ` or `WRITE`.
    pub fn name(self) -> &'static str {
        match self {
            Self::ReadOnly => "READ",
            Self::ReadWrite => "WRITE",
        }
    }

    pub fn scopes(self) -> Scopes {
        parse_scope(self.name()).unwrap_or_else(Scopes::empty)
    }

    /// What a token's scopes allow: read and write only if they hold all of `WRITE`.
    pub fn of(scopes: Scopes) -> Self {
        let write = Self::ReadWrite.scopes();
        if scopes.intersection(write) == write {
            Self::ReadWrite
        } else {
            Self::ReadOnly
        }
    }
}

/// An approval: the verifier, and where to send the user with it (`None`: show it, `oob`).
#[derive(Debug)]
pub struct Approved {
    pub verifier: String,
    pub callback: Option<String>,
}

fn consumer_target(consumer: &Consumer) -> String {
    format!("oauth1consumer:{}", consumer.consumer_key)
}

/// A token the dance issues, request (§2.1) or access (§2.3), with its secret. The secret
/// only serves HMAC signatures, which application links do not use; it is sent as the
/// protocol requires, and never stored.
#[derive(Debug)]
pub struct Issued {
    pub token: RawToken,
    pub secret: String,
}

impl Issued {
    fn new(token: RawToken) -> Self {
        Self {
            token,
            secret: hex::encode(random_bytes::<16>()),
        }
    }
}

/// Whether a consumer may name `callback`: `oob`, or a URL on the origin of its own.
fn is_allowed_callback(consumer: &Consumer, callback: &str) -> bool {
    if callback == OUT_OF_BAND {
        return true;
    }
    let (Ok(named), Ok(registered)) = (
        url::Url::parse(callback),
        url::Url::parse(&consumer.callback),
    ) else {
        return false;
    };
    named.origin() == registered.origin() && named.fragment().is_none()
}

impl OAuth1Server {
    /// The first leg: a consumer's signed request without a token, naming its callback.
    pub async fn issue_request_token(
        &self,
        request: &SignedRequest<'_>,
    ) -> Result<Issued, Problem> {
        let signed = self.check_signature(request).await?;
        if signed.token.is_some() {
            return Err(Problem::TokenRejected);
        }
        let callback = request
            .param("oauth_callback")
            .filter(|c| !c.is_empty())
            .ok_or(Problem::ParameterAbsent("oauth_callback"))?;
        if !is_allowed_callback(&signed.consumer, callback) {
            return Err(Problem::PermissionDenied);
        }
        let token = token_format::mint(SecretKind::OAuth1Request);
        let now = self.clock.now();
        self.store
            .create_oauth1_token(NewOAuth1Token {
                digest: token.digest().to_vec(),
                kind: OAuth1TokenKind::Request,
                consumer: signed.consumer.id,
                user: None,
                scopes: Scopes::empty(),
                callback: Some(callback.to_string()),
                created: now,
                expires: Some(now.plus(self.config.request_token_lifetime)),
            })
            .await?;
        Ok(Issued::new(token))
    }
}

impl OAuth1Server {
    /// The request token a user is asked to approve: live, and not approved yet.
    pub async fn pending(&self, raw_token: &str) -> Result<OAuth1Token, Problem> {
        // A mistyped or made-up token costs no database read.
        let digest = token_format::parse_prefixed(raw_token, SecretKind::OAuth1Request)
            .map_err(|_| Problem::TokenRejected)?;
        let found = self
            .store
            .find_oauth1_token(&digest)
            .await?
            .filter(|t| t.kind == OAuth1TokenKind::Request && t.user.is_none())
            .ok_or(Problem::TokenRejected)?;
        if !found.is_live(self.clock.now()) {
            return Err(if found.revoked.is_none() && found.used.is_none() {
                Problem::TokenExpired
            } else {
                Problem::TokenRejected
            });
        }
        Ok(found)
    }

    /// The user approves: the request token is theirs, with `access`, and a verifier is made
    /// for the consumer (§2.2). Once only.
    pub async fn approve(
        &self,
        principal: &Principal,
        raw_token: &str,
        access: Access,
    ) -> Result<Approved, Problem> {
        let pending = self.pending(raw_token).await?;
        let verifier = hex::encode(random_bytes::<16>());
        let now = self.clock.now();
        let scopes = access.scopes();
        let approved = self
            .store
            .approve_request_token(
                &pending.digest,
                principal.user.id,
                scopes,
                &sha256(verifier.as_bytes()),
                now,
            )
            .await?;
        if !approved {
            return Err(Problem::TokenRejected);
        }
        let event = AuditEvent::by(
            principal,
            now,
            "oauth1.approved",
            consumer_target(&pending.consumer),
        )
        .reason(access.name());
        self.audit.record(event);
        let callback = pending.callback.filter(|c| c != OUT_OF_BAND);
        Ok(Approved { verifier, callback })
    }

    /// The user refuses: the request token is revoked, and the refusal recorded.
    pub async fn deny(&self, principal: &Principal, raw_token: &str) -> Result<Consumer, Problem> {
        let pending = self.pending(raw_token).await?;
        let now = self.clock.now();
        let event = AuditEvent::by(
            principal,
            now,
            "oauth1.denied",
            consumer_target(&pending.consumer),
        )
        .outcome(Outcome::Denied);
        self.store
            .revoke_oauth1_token(pending.id, now, &event)
            .await?;
        Ok(pending.consumer)
    }

    /// The third leg: the consumer's signed request with its approved request token and the
    /// verifier gets an access token, once (§2.3), which lives `lifetime` (the access policy's
    /// longest token lifetime; `None`: until revoked).
    pub async fn issue_access_token(
        &self,
        request: &SignedRequest<'_>,
        lifetime: Option<std::time::Duration>,
    ) -> Result<Issued, Problem> {
        let signed = self.check_signature(request).await?;
        let raw = signed
            .token
            .ok_or(Problem::ParameterAbsent("oauth_token"))?;
        let verifier = request
            .param("oauth_verifier")
            .filter(|v| !v.is_empty())
            .ok_or(Problem::ParameterAbsent("oauth_verifier"))?;
        let digest = token_format::parse_prefixed(&raw, SecretKind::OAuth1Request)
            .map_err(|_| Problem::TokenRejected)?;
        let found = self
            .store
            .find_oauth1_token(&digest)
            .await?
            .filter(|t| t.kind == OAuth1TokenKind::Request && t.consumer.id == signed.consumer.id)
            .ok_or(Problem::TokenRejected)?;
        let now = self.clock.now();
        if found.revoked.is_some() || found.used.is_some() {
            return Err(Problem::TokenRejected);
        }
        if found.expires.is_some_and(|at| now >= at) {
            return Err(Problem::TokenExpired);
        }
        // Not approved yet, or approved by a user deactivated since.
        let (Some(user), Some(expected)) = (&found.user, &found.verifier_digest) else {
            return Err(Problem::PermissionDenied);
        };
        if !user.active {
            return Err(Problem::PermissionDenied);
        }
        if !constant_time_eq(expected, &sha256(verifier.as_bytes())) {
            return Err(Problem::TokenRejected);
        }
        let token = token_format::mint(SecretKind::OAuth1Access);
        let access = NewOAuth1Token {
            digest: token.digest().to_vec(),
            kind: OAuth1TokenKind::Access,
            consumer: signed.consumer.id,
            user: Some(user.id),
            scopes: found.scopes,
            callback: None,
            created: now,
            expires: lifetime.map(|lifetime| now.plus(lifetime)),
        };
        if !self
            .store
            .exchange_request_token(&digest, access, now)
            .await?
        {
            return Err(Problem::TokenRejected);
        }
        let mut event = AuditEvent::anonymous(
            now,
            std::net::Ipv4Addr::UNSPECIFIED.into(),
            "oauth1.token.issued",
            consumer_target(&signed.consumer),
        );
        event.client_ip = None;
        event.actor_id = Some(user.id.0);
        event.actor_name = Some(user.name.clone());
        event.credential_kind = Some("oauth1".into());
        self.audit.record(event);
        Ok(Issued::new(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::clock::Timestamp;
    use tessera_core::oauth1::ConsumerId;

    fn consumer(callback: &str) -> Consumer {
        Consumer {
            id: ConsumerId(1),
            consumer_key: "k".into(),
            name: "n".into(),
            public_key: String::new(),
            callback: callback.into(),
            created: Timestamp::from_millis(0),
            created_by: None,
            run_as: None,
        }
    }

    #[test]
    fn a_callback_stays_on_the_consumers_origin() {
        let app = consumer("https://app.example/oauth/done");
        assert!(is_allowed_callback(&app, "oob"));
        assert!(is_allowed_callback(&app, "https://app.example/other?x=1"));
        assert!(!is_allowed_callback(
            &app,
            "https://evil.example/oauth/done"
        ));
        assert!(!is_allowed_callback(&app, "http://app.example/oauth/done"));
        assert!(!is_allowed_callback(
            &app,
            "https://app.example:8443/oauth/done"
        ));
        assert!(!is_allowed_callback(&app, "https://app.example/#x"));
        let oob = consumer("oob");
        assert!(is_allowed_callback(&oob, "oob"));
        assert!(!is_allowed_callback(&oob, "https://app.example/"));
    }
}
