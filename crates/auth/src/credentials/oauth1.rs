//! Requests signed by an OAuth 1.0a application link (RFC 5849 §3), with the access token
//! its user approved: `Authorization: OAuth oauth_consumer_key=..., oauth_token=...,
//! oauth_signature=...`.
//!
//! The signature is checked as for every step of the dance (`crate::oauth1::verify`: the
//! timestamp window, the consumer's RSA key over the exact request, `oauth_body_hash`, the
//! nonce spent once), then the token: an access token of that very consumer, neither revoked
//! nor expired, whose user is active. The request acts as that user, never beyond the access
//! the user approved (read only, or read and write).
//!
//! The signature is checked, and its nonce spent, on every request; what the token came to
//! (its user, its access) is remembered by the verified-credential cache like any token's,
//! until something changes a consumer, a token or the user (the store's auth epoch).
//!
//! A refusal is one of Jira's `oauth_problem` values and says no more than its name.
//! Two-legged requests (a consumer's signature without a token) act as the consumer's run-as
//! user when an administrator set one, and are refused otherwise (the default).

use std::sync::Arc;

use http::Method;
use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::clock::Clock;
use tessera_core::oauth1::{Consumer, OAuth1TokenKind};
use tessera_core::principal::{AuthMethod, OAuth1Caller};
use tessera_core::secrets::{SecretKind, looks_like_secret};
use tessera_core::store::Store;

use super::{Attempt, Cacheable, Limits, Rejection, Verified, Verifier};
use crate::error::AuthError;
use crate::oauth1::dance::Access;
use crate::oauth1::verify::{Problem, Signatures, Signed, SignedRequest};
use crate::request::RequestUrl;
use crate::token_format;

/// The longest claimed consumer key an audit event names.
const MAX_CLAIMED_KEY: usize = 100;

/// A signed request: the header's parameters, and the parts of the request they sign.
#[derive(Debug)]
pub struct PresentedSignature<'r> {
    pub header: Vec<(String, String)>,
    pub method: &'r Method,
    pub url: &'r RequestUrl,
    pub content_type: Option<&'r str>,
    /// The body as received (empty without one).
    pub body: &'r [u8],
}

#[derive(Debug)]
pub struct OAuth1Verifier {
    signatures: Signatures,
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
}

impl OAuth1Verifier {
    pub fn new(signatures: Signatures, store: Arc<dyn Store>, clock: Arc<dyn Clock>) -> Self {
        Self {
            signatures,
            store,
            clock,
        }
    }

    fn refuse(&self, attempt: Attempt<'_>, target: String, problem: Problem) -> Rejection {
        if let Problem::Internal = problem {
            return AuthError::Internal("the OAuth 1.0a check failed".into()).into();
        }
        let mut event =
            AuditEvent::anonymous(self.clock.now(), attempt.client_ip, "token.refused", target)
                .outcome(Outcome::Failure)
                .reason(problem.name())
                .user_agent(attempt.user_agent);
        event.credential_kind = Some(AuthMethod::OAuth1.name().into());
        Rejection::new(AuthError::OAuth1(problem), event)
    }
}

/// A request whose signature holds and whose nonce is spent: what is left to judge is the token
/// it carries, whose answer the verified-credential cache may remember (under
/// [`Self::remembered_as`]).
#[derive(Debug)]
pub struct SignedCall {
    signed: Signed,
    /// Whether it names another user to act for (`xoauth_requestor_id`).
    requestor: bool,
    /// What its refusals' audit events name.
    target: String,
}

impl SignedCall {
    /// The consumer and the token (empty for none), both covered by the signature: what the
    /// answer for this call is remembered by. `None` for a call that names a user to act for,
    /// which is refused every time.
    pub fn remembered_as(&self) -> Option<(&str, &str)> {
        let token = self.signed.token.as_deref().unwrap_or("");
        (!self.requestor).then_some((&self.signed.consumer.consumer_key, token))
    }
}

impl OAuth1Verifier {
    /// Checks the request's signature and spends its nonce, every time: each signed request is
    /// new, and nothing remembered stands in for this step.
    pub async fn check_signature(
        &self,
        input: PresentedSignature<'_>,
        attempt: Attempt<'_>,
    ) -> Result<SignedCall, Rejection> {
        // The audit names the consumer the request claims (as a refused password names the
        // user it claims), unless the claim could be a secret pasted in.
        let claimed = input
            .header
            .iter()
            .find(|(name, _)| name == "oauth_consumer_key")
            .map(|(_, key)| key.as_str())
            .filter(|key| key.len() <= MAX_CLAIMED_KEY && !looks_like_secret(key));
        let target = claimed.map_or_else(|| "oauth1".into(), |key| format!("oauth1consumer:{key}"));
        let request = SignedRequest::new(
            input.method,
            input.url,
            input.header,
            input.content_type,
            input.body,
        )
        .map_err(|problem| self.refuse(attempt, target.clone(), problem))?;
        let signed = self
            .signatures
            .check(&request)
            .await
            .map_err(|problem| self.refuse(attempt, target.clone(), problem))?;
        Ok(SignedCall {
            requestor: request.param("xoauth_requestor_id").is_some(),
            signed,
            target,
        })
    }
}

impl Verifier for OAuth1Verifier {
    type Input<'r> = SignedCall;

    async fn verify<'r>(
        &'r self,
        call: SignedCall,
        attempt: Attempt<'r>,
    ) -> Result<Verified, Rejection> {
        let refuse = |problem| self.refuse(attempt, call.target.clone(), problem);
        let Some(raw) = &call.signed.token else {
            return self
                .two_legged(call.requestor, call.signed.consumer.clone())
                .await
                .map_err(refuse);
        };
        // A mistyped or made-up token costs no database read.
        let digest = token_format::parse_prefixed(raw, SecretKind::OAuth1Access)
            .map_err(|_| refuse(Problem::TokenRejected))?;
        let found = self
            .store
            .find_oauth1_token(&digest)
            .await
            .map_err(|error| refuse(Problem::from(error)))?
            .filter(|t| {
                t.kind == OAuth1TokenKind::Access && t.consumer.id == call.signed.consumer.id
            })
            .ok_or_else(|| refuse(Problem::TokenRejected))?;
        if found.revoked.is_some() {
            return Err(refuse(Problem::TokenRejected));
        }
        if found.expires.is_some_and(|at| self.clock.now() >= at) {
            return Err(refuse(Problem::TokenExpired));
        }
        let Some(user) = found.user.filter(|user| user.active) else {
            return Err(refuse(Problem::PermissionDenied));
        };
        Ok(Verified {
            credential_ref: Some(format!("oauth1:{}", found.id)),
            limits: Limits {
                scopes: found.scopes,
                projects: None,
                allowed_ips: Vec::new(),
            },
            // The token's answer, not the signature's: every request is still signed anew.
            cacheable: found
                .expires
                .map_or(Cacheable::UntilRevoked, Cacheable::Until),
            oauth1: Some(OAuth1Caller {
                consumer_key: found.consumer.consumer_key,
                consumer_name: found.consumer.name,
                token: Some(found.id),
                consumer: found.consumer.id,
            }),
            ..Verified::user(user, AuthMethod::OAuth1)
        })
    }
}

impl OAuth1Verifier {
    /// A request signed by the consumer alone: it acts as the consumer's run-as user, set by
    /// an administrator, able to read and write what that user can; refused when none is set
    /// (the default), and always when it names another user to act for
    /// (`xoauth_requestor_id`: impersonation is not offered).
    async fn two_legged(&self, requestor: bool, consumer: Consumer) -> Result<Verified, Problem> {
        if requestor {
            return Err(Problem::PermissionDenied);
        }
        let run_as = consumer.run_as.ok_or(Problem::PermissionDenied)?;
        let user = self
            .store
            .find_user(run_as)
            .await?
            .filter(|user| user.active)
            .ok_or(Problem::PermissionDenied)?;
        Ok(Verified {
            credential_ref: Some(format!("oauth1twolegged:{}", consumer.id)),
            limits: Limits {
                scopes: Access::ReadWrite.scopes(),
                projects: None,
                allowed_ips: Vec::new(),
            },
            cacheable: Cacheable::UntilRevoked,
            oauth1: Some(OAuth1Caller {
                consumer_key: consumer.consumer_key,
                consumer_name: consumer.name,
                token: None,
                consumer: consumer.id,
            }),
            ..Verified::user(user, AuthMethod::OAuth1)
        })
    }
}
