//! Checking a signed request (RFC 5849 §3.2), the same way for every step of the dance and for
//! API requests: the protocol parameters are present, the signature method is RSA, the
//! timestamp is inside the window, the consumer is known, the signature holds over the
//! request as the client saw it, and only then is the nonce spent. Spending the nonce last
//! means nobody can use up another client's nonces with unsigned requests; spending it in the
//! shared store means a replay is refused on every instance (the nonces of requests checked
//! at the same time are written together: [`super::nonces`]). A consumer's key is read once
//! and kept until something changes a consumer (the store's auth epoch moves).
//!
//! A refusal is one of Jira's `oauth_problem` values ([`Problem`]), which says no more than
//! its name. Which token the request carries, and whether it is good, is the caller's to
//! decide: each step of the dance expects another kind.

use std::sync::Arc;
use std::time::Duration;

use http::Method;
use tessera_core::clock::Clock;
use tessera_core::oauth1::{Consumer, Nonce};
use tessera_core::store::{Store, StoreError};

use base64::Engine;
use sha1::{Digest, Sha1};

use moka::sync::Cache;

use crate::authenticator::remembered::MAX_AGE;

use super::nonces::NonceWriter;
use super::signature::{ConsumerKey, SignatureMethod, base_string, form_params};
use crate::request::RequestUrl;
use crate::secret::constant_time_eq;

/// Jira's `oauth_problem` values (the OAuth Problem Reporting extension's names).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error("parameter_absent")]
    ParameterAbsent(&'static str),
    #[error("signature_method_rejected")]
    SignatureMethodRejected,
    #[error("version_rejected")]
    VersionRejected,
    #[error("timestamp_refused")]
    TimestampRefused,
    #[error("consumer_key_unknown")]
    ConsumerKeyUnknown,
    #[error("signature_invalid")]
    SignatureInvalid,
    #[error("nonce_used")]
    NonceUsed,
    #[error("token_rejected")]
    TokenRejected,
    #[error("token_expired")]
    TokenExpired,
    #[error("permission_denied")]
    PermissionDenied,
    /// The store failed; the client may retry.
    #[error("server_error")]
    Internal,
}

impl Problem {
    /// The `oauth_problem` value.
    pub fn name(self) -> &'static str {
        match self {
            Self::ParameterAbsent(_) => "parameter_absent",
            Self::SignatureMethodRejected => "signature_method_rejected",
            Self::VersionRejected => "version_rejected",
            Self::TimestampRefused => "timestamp_refused",
            Self::ConsumerKeyUnknown => "consumer_key_unknown",
            Self::SignatureInvalid => "signature_invalid",
            Self::NonceUsed => "nonce_used",
            Self::TokenRejected => "token_rejected",
            Self::TokenExpired => "token_expired",
            Self::PermissionDenied => "permission_denied",
            Self::Internal => "server_error",
        }
    }
}

impl From<StoreError> for Problem {
    fn from(error: StoreError) -> Self {
        tracing::error!(%error, "the OAuth 1.0a server failed");
        Self::Internal
    }
}

/// A request as far as its signature goes.
#[derive(Debug)]
pub struct SignedRequest<'r> {
    pub method: &'r Method,
    pub url: &'r RequestUrl,
    /// The `Authorization: OAuth` header's parameters (already read, `realm` left out).
    pub header: Vec<(String, String)>,
    /// The query's parameters and, for an urlencoded body, the body's.
    pub params: Vec<(String, String)>,
    /// The SHA-1 of a body that is not urlencoded, for `oauth_body_hash`; `None` for an
    /// urlencoded body (whose parameters are signed instead, and which may not carry one).
    pub body_sha1: Option<[u8; 20]>,
}

/// The form content type, whose body's parameters are signed (RFC 5849 §3.4.1.3.1).
pub const FORM: &str = "application/x-www-form-urlencoded";

impl<'r> SignedRequest<'r> {
    /// The request's signed parameters: the header's, the query's and an urlencoded body's.
    /// `body` is the whole body as received (empty without one).
    pub fn new(
        method: &'r Method,
        url: &'r RequestUrl,
        header: Vec<(String, String)>,
        content_type: Option<&str>,
        body: &[u8],
    ) -> Result<Self, Problem> {
        let mut params = form_params(url.query.as_deref().unwrap_or(""));
        let is_form = content_type
            .and_then(|v| v.split(';').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case(FORM));
        let body_sha1 = if is_form {
            let text = std::str::from_utf8(body).map_err(|_| Problem::SignatureInvalid)?;
            params.extend(form_params(text));
            None
        } else {
            Some(Sha1::digest(body).into())
        };
        Ok(Self {
            method,
            url,
            header,
            params,
            body_sha1,
        })
    }

    /// A protocol parameter, from the header or else the query or body (RFC 5849 §3.5).
    pub fn param(&self, name: &str) -> Option<&str> {
        self.header
            .iter()
            .chain(self.params.iter())
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    fn required(&self, name: &'static str) -> Result<&str, Problem> {
        self.param(name)
            .filter(|v| !v.is_empty())
            .ok_or(Problem::ParameterAbsent(name))
    }

    /// `oauth_body_hash`, when the request carries one (the OAuth Request Body Hash
    /// extension): base64 of the body's SHA-1, and never with an urlencoded body.
    fn body_hash_holds(&self) -> bool {
        let Some(claimed) = self.param("oauth_body_hash") else {
            return true;
        };
        let Some(digest) = self.body_sha1 else {
            return false;
        };
        let expected = base64::engine::general_purpose::STANDARD.encode(digest);
        constant_time_eq(claimed.as_bytes(), expected.as_bytes())
    }
}

/// A request whose signature holds.
#[derive(Clone, Debug)]
pub struct Signed {
    pub consumer: Consumer,
    /// `oauth_token`, if the request carried one (its worth is the caller's to judge).
    pub token: Option<String>,
}

/// The signature check, shared by the dance ([`super::OAuth1Server`]) and the verifier of
/// signed API requests (`crate::credentials::oauth1`).
#[derive(Debug)]
pub struct Signatures {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    /// How far `oauth_timestamp` may be from the server's clock, either way.
    timestamp_window: Duration,
    nonces: NonceWriter,
    /// Consumers found, with their keys read, kept under the auth epoch they were read under
    /// (every change to a consumer moves it); unknown keys are never kept.
    consumers: Cache<String, Arc<KnownConsumer>>,
}

#[derive(Debug)]
struct KnownConsumer {
    epoch: u64,
    consumer: Consumer,
    key: ConsumerKey,
}

/// How many consumers' keys are kept read (an installation has a handful).
const CONSUMERS_KEPT: u64 = 1000;

impl Signatures {
    pub fn new(store: Arc<dyn Store>, clock: Arc<dyn Clock>, timestamp_window: Duration) -> Self {
        Self {
            nonces: NonceWriter::new(store.clone()),
            consumers: Cache::builder()
                .max_capacity(CONSUMERS_KEPT)
                .time_to_live(MAX_AGE)
                .build(),
            store,
            clock,
            timestamp_window,
        }
    }

    /// Checks a signed request, in the module's order; the nonce is spent only once the
    /// signature holds.
    pub async fn check(&self, request: &SignedRequest<'_>) -> Result<Signed, Problem> {
        let consumer_key = request.required("oauth_consumer_key")?;
        let method = request.required("oauth_signature_method")?;
        let signature = request.required("oauth_signature")?;
        let timestamp = request.required("oauth_timestamp")?;
        let nonce = request.required("oauth_nonce")?;
        let method = SignatureMethod::parse(method).ok_or(Problem::SignatureMethodRejected)?;
        if request.param("oauth_version").is_some_and(|v| v != "1.0") {
            return Err(Problem::VersionRejected);
        }
        let timestamp: i64 = timestamp.parse().map_err(|_| Problem::TimestampRefused)?;
        let now = self.clock.now().as_millis() / 1000;
        let window = i64::try_from(self.timestamp_window.as_secs()).unwrap_or(i64::MAX);
        if timestamp.abs_diff(now) > window.unsigned_abs() {
            return Err(Problem::TimestampRefused);
        }
        let known = self.consumer(consumer_key).await?;
        let (consumer, key) = (&known.consumer, &known.key);
        let params = request.header.iter().chain(request.params.iter()).cloned();
        let base = base_string(request.method.as_str(), request.url, params);
        // The body hash is a signed parameter: checked once the signature vouches for it.
        if !key.verifies(method, &base, signature) || !request.body_hash_holds() {
            return Err(Problem::SignatureInvalid);
        }
        let token = request.param("oauth_token").filter(|t| !t.is_empty());
        let fresh = self
            .nonces
            .spend(Nonce {
                consumer_key: consumer.consumer_key.clone(),
                token: token.unwrap_or("").to_string(),
                timestamp,
                nonce: nonce.to_string(),
            })
            .await
            .map_err(|_| Problem::Internal)?;
        if !fresh {
            return Err(Problem::NonceUsed);
        }
        Ok(Signed {
            token: token.map(str::to_string),
            consumer: consumer.clone(),
        })
    }

    /// A consumer and its key: as kept, if nothing changed since, or else read (and kept).
    async fn consumer(&self, consumer_key: &str) -> Result<Arc<KnownConsumer>, Problem> {
        let epoch = self.store.auth_epoch();
        if let Some(epoch) = epoch
            && let Some(known) = self.consumers.get(consumer_key)
            && known.epoch == epoch
        {
            return Ok(known);
        }
        let consumer = self
            .store
            .find_consumer(consumer_key)
            .await?
            .ok_or(Problem::ConsumerKeyUnknown)?;
        let key = ConsumerKey::from_pem(&consumer.public_key).map_err(|error| {
            tracing::error!(%error, consumer = %consumer.consumer_key, "a stored consumer key cannot be read");
            Problem::SignatureInvalid
        })?;
        let known = Arc::new(KnownConsumer {
            epoch: epoch.unwrap_or_default(),
            consumer,
            key,
        });
        // Kept only under an epoch the store vouches for.
        if epoch.is_some() {
            self.consumers
                .insert(consumer_key.to_string(), known.clone());
        }
        Ok(known)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request<'r>(
        method: &'r Method,
        url: &'r RequestUrl,
        hash: &str,
        content_type: &str,
        body: &[u8],
    ) -> SignedRequest<'r> {
        let header = vec![("oauth_body_hash".to_string(), hash.to_string())];
        SignedRequest::new(method, url, header, Some(content_type), body).unwrap()
    }

    #[test]
    fn a_body_hash_must_match_and_never_comes_with_a_form() {
        let url = RequestUrl {
            scheme: "https",
            host: "jira.example.com".into(),
            port: 443,
            path: "/rest/api/2/issue".into(),
            query: None,
        };
        let post = Method::POST;
        let body = br#"{"fields":{}}"#;
        let hash = base64::engine::general_purpose::STANDARD.encode(Sha1::digest(body));
        assert!(request(&post, &url, &hash, "application/json", body).body_hash_holds());
        assert!(!request(&post, &url, &hash, "application/json", b"{}").body_hash_holds());
        // An urlencoded body's parameters are signed instead: a hash beside them is refused.
        let form = request(&post, &url, &hash, FORM, b"a=b");
        assert!(!form.body_hash_holds());
        assert_eq!(form.param("a"), Some("b"));
        // Without the parameter there is nothing to hold.
        let plain = SignedRequest::new(&post, &url, vec![], Some("application/json"), body);
        assert!(plain.unwrap().body_hash_holds());
    }
}
