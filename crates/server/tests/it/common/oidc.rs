//! A stand-in identity provider for the tests that need one they can steer: it serves a
//! discovery document and a key set on a loopback port, for any issuer path under it
//! (`{base}/t/NAME` is an issuer of its own), and counts what it is asked. Its key is the
//! test process's RSA key ([`super::oauth1::signer`]), published with `kid` `k1`; tests sign
//! their JWTs with it by hand (never with the library tessera verifies with).
//!
//! What it serves can be changed while it runs: another issuer in the document, a missing
//! document, no usable key, a rotated key set.

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};

use super::oauth1::signer;

/// What the provider answers.
#[derive(Clone, Debug)]
pub struct Behaviour {
    /// The OpenID Connect document is served (else only RFC 8414's, if `oauth_metadata`).
    pub openid_document: bool,
    pub oauth_metadata: bool,
    /// An issuer to claim instead of the one asked for.
    pub claimed_issuer: Option<String>,
    /// The key set served.
    pub keys: Value,
}

#[derive(Debug, Default)]
pub struct Counts {
    pub documents: usize,
    pub key_sets: usize,
}

#[derive(Clone)]
struct Shared {
    base: String,
    behaviour: Arc<Mutex<Behaviour>>,
    counts: Arc<Mutex<Counts>>,
}

pub struct Provider {
    pub base: String,
    behaviour: Arc<Mutex<Behaviour>>,
    counts: Arc<Mutex<Counts>>,
}

/// The test signer's public key as a JWK with `kid`.
pub fn signer_jwk(kid: &str) -> Value {
    let public = signer().public_key();
    json!({
        "kty": "RSA",
        "use": "sig",
        "alg": "RS256",
        "kid": kid,
        "n": URL_SAFE_NO_PAD.encode(public.n_bytes()),
        "e": URL_SAFE_NO_PAD.encode(public.e_bytes()),
    })
}

async fn answer(State(shared): State<Shared>, OriginalUri(uri): OriginalUri) -> Response {
    let path = uri.path();
    let behaviour = shared.behaviour.lock().unwrap().clone();
    if path == "/jwks" {
        shared.counts.lock().unwrap().key_sets += 1;
        return axum::Json(behaviour.keys).into_response();
    }
    let (issuer_path, served) =
        if let Some(prefix) = path.strip_suffix("/.well-known/openid-configuration") {
            (prefix.to_string(), behaviour.openid_document)
        } else if let Some(rest) = path.strip_prefix("/.well-known/oauth-authorization-server") {
            (rest.to_string(), behaviour.oauth_metadata)
        } else {
            return StatusCode::NOT_FOUND.into_response();
        };
    if !served {
        return StatusCode::NOT_FOUND.into_response();
    }
    shared.counts.lock().unwrap().documents += 1;
    let issuer = behaviour
        .claimed_issuer
        .unwrap_or_else(|| format!("{}{issuer_path}", shared.base));
    axum::Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{}/jwks", shared.base),
        "authorization_endpoint": format!("{}/authorize", shared.base),
        "token_endpoint": format!("{}/token", shared.base),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
    }))
    .into_response()
}

impl Provider {
    /// Starts a provider on a free loopback port; it stops with the test's runtime.
    pub async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let behaviour = Arc::new(Mutex::new(Behaviour {
            openid_document: true,
            oauth_metadata: false,
            claimed_issuer: None,
            keys: json!({"keys": [signer_jwk("k1")]}),
        }));
        let counts = Arc::new(Mutex::new(Counts::default()));
        let shared = Shared {
            base: base.clone(),
            behaviour: behaviour.clone(),
            counts: counts.clone(),
        };
        let app = Router::new().fallback(answer).with_state(shared);
        tokio::spawn(async move {
            axum::serve(listener, app).await.ok();
        });
        Self {
            base,
            behaviour,
            counts,
        }
    }

    /// An issuer of this provider's (each name its own).
    pub fn issuer(&self, name: &str) -> String {
        format!("{}/t/{name}", self.base)
    }

    pub fn change(&self, change: impl FnOnce(&mut Behaviour)) {
        change(&mut self.behaviour.lock().unwrap());
    }

    pub fn key_sets_served(&self) -> usize {
        self.counts.lock().unwrap().key_sets
    }
}

/// A JWT signed (RS256) with the test process's key, with `kid` in its header and `claims`
/// as its payload; signed by hand, so the library tessera verifies with has no part in it.
pub fn mint_jwt(kid: &str, claims: &Value) -> String {
    mint_jwt_with(&json!({"alg": "RS256", "typ": "JWT", "kid": kid}), claims)
}

/// A JWT with any header, signed RS256 (the header's `alg` says what it says).
pub fn mint_jwt_with(header: &Value, claims: &Value) -> String {
    let head = URL_SAFE_NO_PAD.encode(header.to_string());
    let body = URL_SAFE_NO_PAD.encode(claims.to_string());
    let signed = format!("{head}.{body}");
    let signature = URL_SAFE_NO_PAD.encode(signer().sign_rs256(signed.as_bytes()));
    format!("{signed}.{signature}")
}

/// Now, in seconds.
pub fn now() -> i64 {
    super::oauth1::now_seconds()
}
