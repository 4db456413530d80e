//! Reading what a provider publishes: its discovery document (OpenID Connect Discovery 1.0
//! §4, with RFC 8414's `/.well-known/oauth-authorization-server` as the fallback) and its
//! key set (RFC 7517).
//!
//! Security invariants kept here: the document must name exactly the issuer it was fetched
//! for (OIDC Discovery §4.3: a document cannot speak for another issuer); every endpoint
//! tessera will call is `https`, or `http` on a loopback address, as the issuer; redirects
//! are not followed and answers are bounded in size and time, so a provider cannot point
//! tessera elsewhere or hold it up; a key set must hold at least one key tessera can verify
//! with, so a provider that could never authenticate anyone is not registered.

use std::time::Duration;

use jsonwebtoken::jwk::{Jwk, JwkSet};
use serde::Deserialize;
use tessera_core::identity::{Endpoints, is_endpoint_url, is_issuer_url};

/// Longest answer read from a provider.
const MAX_DOCUMENT: usize = 512 * 1024;

/// Why a provider's documents could not be used. Each says what was asked and what came back,
/// for the administrator registering it.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DiscoveryError {
    #[error("GET {url} failed: {reason}")]
    Unreachable { url: String, reason: String },
    #[error("GET {url} answered {status}")]
    Status { url: String, status: u16 },
    #[error("{url} is not a JSON {what}: {reason}")]
    NotJson {
        url: String,
        what: &'static str,
        reason: String,
    },
    #[error("the discovery document names the issuer \"{found}\", not \"{expected}\"")]
    IssuerMismatch { expected: String, found: String },
    #[error(
        "the discovery document's {field} must be an https URL (http only on a loopback address)"
    )]
    InsecureEndpoint { field: &'static str },
    #[error(
        "the key set at {url} holds no key tessera can verify signatures with (RSA, EC P-256/P-384 or Ed25519, for signing)"
    )]
    NoUsableKey { url: String },
}

/// Installs the process's TLS provider (rustls with ring), which every HTTP client of the
/// process needs before it is built. Installing fails only if one is installed already:
/// either will do.
pub fn install_tls() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// The HTTP client providers are read with: no redirects, a short timeout, TLS by rustls with
/// the platform's trusted roots.
pub fn http_client(timeout: Duration) -> reqwest::Client {
    install_tls();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .user_agent(concat!("tessera/", env!("CARGO_PKG_VERSION")))
        .build()
        .unwrap_or_else(|_| reqwest::Client::new())
}

/// GETs `url` as JSON, within the size bound.
pub async fn get_json<T: for<'de> Deserialize<'de>>(
    http: &reqwest::Client,
    url: &str,
    what: &'static str,
) -> Result<T, DiscoveryError> {
    let unreachable = |reason: String| DiscoveryError::Unreachable {
        url: url.to_string(),
        reason,
    };
    let mut response = http
        .get(url)
        .header(http::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| unreachable(without_url(&e)))?;
    if !response.status().is_success() {
        return Err(DiscoveryError::Status {
            url: url.to_string(),
            status: response.status().as_u16(),
        });
    }
    let body = read_bounded(&mut response).await.map_err(unreachable)?;
    serde_json::from_slice(&body).map_err(|e| DiscoveryError::NotJson {
        url: url.to_string(),
        what,
        reason: e.to_string(),
    })
}

/// A response's body, up to [`MAX_DOCUMENT`] bytes; a longer one is refused.
pub(crate) async fn read_bounded(response: &mut reqwest::Response) -> Result<Vec<u8>, String> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| without_url(&e))? {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err(format!("the answer is over {MAX_DOCUMENT} bytes"));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// A reqwest error, without the URL it repeats.
pub(crate) fn without_url(error: &reqwest::Error) -> String {
    let mut text = error.to_string();
    if let Some(url) = error.url() {
        text = text.replace(&format!(" ({url})"), "");
    }
    if error.is_timeout() {
        return "no answer in time".into();
    }
    if error.is_connect() {
        return "cannot connect".into();
    }
    text
}

#[derive(Debug, Deserialize)]
struct Document {
    issuer: String,
    jwks_uri: Option<String>,
    authorization_endpoint: Option<String>,
    token_endpoint: Option<String>,
    introspection_endpoint: Option<String>,
}

/// Where a discovery document is: OpenID Connect's, then RFC 8414's (which inserts the
/// well-known segment between the host and the issuer's path).
fn document_urls(issuer: &str) -> Vec<String> {
    let trimmed = issuer.trim_end_matches('/');
    let mut urls = vec![format!("{trimmed}/.well-known/openid-configuration")];
    if let Ok(parsed) = url::Url::parse(issuer) {
        let path = parsed.path().trim_end_matches('/');
        let mut origin = parsed.clone();
        origin.set_path("");
        let origin = origin.as_str().trim_end_matches('/').to_string();
        urls.push(format!(
            "{origin}/.well-known/oauth-authorization-server{path}"
        ));
    }
    urls
}

fn checked(field: &'static str, url: Option<String>) -> Result<Option<String>, DiscoveryError> {
    match url {
        Some(url) if !is_issuer_url(&url) && !is_endpoint_url(&url) => {
            Err(DiscoveryError::InsecureEndpoint { field })
        }
        other => Ok(other),
    }
}

/// Reads the issuer's discovery document and checks its key set.
pub async fn discover(http: &reqwest::Client, issuer: &str) -> Result<Endpoints, DiscoveryError> {
    let mut last = None;
    let mut document = None;
    for url in document_urls(issuer) {
        match get_json::<Document>(http, &url, "discovery document").await {
            Ok(found) => {
                document = Some(found);
                break;
            }
            // Not there: try the other well-known place, then report the first failure.
            Err(error @ DiscoveryError::Status { status: 404, .. }) => {
                last.get_or_insert(error);
            }
            Err(error) => return Err(error),
        }
    }
    let Some(document) = document else {
        return Err(last.unwrap_or_else(|| DiscoveryError::Unreachable {
            url: issuer.to_string(),
            reason: "no discovery document".into(),
        }));
    };
    if document.issuer != issuer {
        return Err(DiscoveryError::IssuerMismatch {
            expected: issuer.to_string(),
            found: document.issuer,
        });
    }
    let jwks_uri = checked("jwks_uri", document.jwks_uri)?
        .ok_or(DiscoveryError::InsecureEndpoint { field: "jwks_uri" })?;
    let endpoints = Endpoints {
        authorization_endpoint: checked("authorization_endpoint", document.authorization_endpoint)?,
        token_endpoint: checked("token_endpoint", document.token_endpoint)?,
        introspection_endpoint: checked("introspection_endpoint", document.introspection_endpoint)?,
        jwks_uri,
    };
    let keys = fetch_keys(http, &endpoints.jwks_uri).await?;
    if usable_keys(&keys) == 0 {
        return Err(DiscoveryError::NoUsableKey {
            url: endpoints.jwks_uri.clone(),
        });
    }
    Ok(endpoints)
}

/// The provider's key set.
pub async fn fetch_keys(http: &reqwest::Client, jwks_uri: &str) -> Result<JwkSet, DiscoveryError> {
    get_json::<JwkSet>(http, jwks_uri, "key set").await
}

/// Whether a key can verify a signature: asymmetric, and not marked for encryption only.
pub fn is_signing_key(key: &Jwk) -> bool {
    use jsonwebtoken::jwk::{AlgorithmParameters, PublicKeyUse};
    !matches!(key.common.public_key_use, Some(PublicKeyUse::Encryption))
        && matches!(
            key.algorithm,
            AlgorithmParameters::RSA(_)
                | AlgorithmParameters::EllipticCurve(_)
                | AlgorithmParameters::OctetKeyPair(_)
        )
}

/// How many keys of the set can verify a signature.
pub fn usable_keys(keys: &JwkSet) -> usize {
    keys.keys.iter().filter(|key| is_signing_key(key)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_are_looked_for_at_both_well_known_places() {
        assert_eq!(
            document_urls("https://sso.example.com/realms/acme"),
            [
                "https://sso.example.com/realms/acme/.well-known/openid-configuration",
                "https://sso.example.com/.well-known/oauth-authorization-server/realms/acme",
            ]
        );
        assert_eq!(
            document_urls("http://127.0.0.1:9000/"),
            [
                "http://127.0.0.1:9000/.well-known/openid-configuration",
                "http://127.0.0.1:9000/.well-known/oauth-authorization-server",
            ]
        );
    }

    #[test]
    fn endpoints_must_be_as_safe_as_issuers() {
        assert!(is_endpoint_url("https://sso.example.com/keys?x=1"));
        assert!(is_endpoint_url("http://127.0.0.1:9000/jwks"));
        assert!(!is_endpoint_url("http://sso.example.com/jwks"));
        assert!(checked("jwks_uri", Some("http://evil.example/jwks".into())).is_err());
        assert_eq!(checked("token_endpoint", None), Ok(None));
    }
}
