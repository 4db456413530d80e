//! A stand-in identity provider for the tests that need one they can steer: it serves a
//! discovery document and a key set on a loopback port, for any issuer path under it
//! (`{base}/t/NAME` is an issuer of its own), and counts what it is asked. Its key is the
//! test process's RSA key ([`super::oauth1::signer`]), published with `kid` `k1`; tests sign
//! their JWTs with it by hand (never with the library tessera verifies with).
//!
//! What it serves can be changed while it runs: another issuer in the document, a missing
//! document, no usable key, a rotated key set.
//!
//! It also signs users in, as an OpenID Connect provider does for a confidential client
//! (`tessera-web` / [`WEB_SECRET`]): `/authorize` sends the browser straight back with a code
//! (or the error it is told to), and `/token` checks the client's Basic credentials, the
//! redirect URI and the PKCE verifier before it answers an ID token for the user it is told
//! to sign in, with the nonce the sign-in sent (unless the claims it is told say otherwise).

use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{OriginalUri, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::traits::PublicKeyParts;
use serde_json::{Value, json};
use sha2::Digest;

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
    /// Who `/authorize` signs in: claims over the ID token's own (iss, aud, sub, iat, exp,
    /// nonce); `null` removes one.
    pub id_token_claims: Value,
    /// An error `/authorize` answers with instead of a code.
    pub authorize_error: Option<String>,
    /// What `/introspect` answers for each token (`{"active": false}` for others); with
    /// `None`, it answers 503.
    pub introspection: Option<serde_json::Map<String, Value>>,
    /// Whether the discovery document names `/introspect`.
    pub publishes_introspection: bool,
}

/// The sign-in client's secret at the stand-in.
pub const WEB_CLIENT: &str = "tessera-web";
pub const WEB_SECRET: &str = "web secret: with spaces & symbols";

/// A code handed out by `/authorize`, and what its sign-in sent.
#[derive(Clone, Debug)]
struct Grant {
    client_id: String,
    redirect_uri: String,
    nonce: Option<String>,
    challenge: Option<String>,
}

#[derive(Debug, Default)]
pub struct Counts {
    pub documents: usize,
    pub key_sets: usize,
    /// Codes exchanged at `/token` (successfully).
    pub exchanges: usize,
    /// Questions answered at `/introspect`.
    pub introspections: usize,
}

#[derive(Clone)]
struct Shared {
    base: String,
    behaviour: Arc<Mutex<Behaviour>>,
    counts: Arc<Mutex<Counts>>,
    grants: Arc<Mutex<std::collections::HashMap<String, Grant>>>,
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

fn query_of(uri: &axum::http::Uri) -> std::collections::HashMap<String, String> {
    url::form_urlencoded::parse(uri.query().unwrap_or("").as_bytes())
        .into_owned()
        .collect()
}

/// `/authorize`: straight back to the redirect URI with a code (no login screen).
fn authorize(shared: &Shared, behaviour: &Behaviour, uri: &axum::http::Uri) -> Response {
    let query = query_of(uri);
    let redirect_uri = query.get("redirect_uri").cloned().unwrap_or_default();
    let mut back = url::Url::parse(&redirect_uri).unwrap();
    if let Some(error) = &behaviour.authorize_error {
        back.query_pairs_mut().append_pair("error", error);
    } else {
        let code = format!("code-{:016x}", rand_u64());
        shared.grants.lock().unwrap().insert(
            code.clone(),
            Grant {
                client_id: query.get("client_id").cloned().unwrap_or_default(),
                redirect_uri,
                nonce: query.get("nonce").cloned(),
                challenge: (query.get("code_challenge_method").map(String::as_str) == Some("S256"))
                    .then(|| query.get("code_challenge").cloned())
                    .flatten(),
            },
        );
        back.query_pairs_mut().append_pair("code", &code);
    }
    if let Some(state) = query.get("state") {
        back.query_pairs_mut().append_pair("state", state);
    }
    (
        StatusCode::SEE_OTHER,
        [(axum::http::header::LOCATION, back.to_string())],
    )
        .into_response()
}

fn rand_u64() -> u64 {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).unwrap();
    u64::from_le_bytes(bytes)
}

fn token_error(error: &str) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": error}))).into_response()
}

/// The confidential client's credentials from HTTP Basic (form-decoded, RFC 6749 §2.3.1).
fn client_of(headers: &axum::http::HeaderMap) -> Option<(String, String)> {
    let basic = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b64| base64::engine::general_purpose::STANDARD.decode(b64).ok())
        .and_then(|raw| String::from_utf8(raw).ok())?;
    let decode = |text: &str| -> String {
        url::form_urlencoded::parse(format!("x={text}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    let (id, secret) = basic.split_once(':')?;
    Some((decode(id), decode(secret)))
}

/// `/introspect` (RFC 7662), for the confidential client only.
fn introspect(
    shared: &Shared,
    behaviour: &Behaviour,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Response {
    if client_of(headers) != Some((WEB_CLIENT.to_string(), WEB_SECRET.to_string())) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    let Some(answers) = &behaviour.introspection else {
        return StatusCode::SERVICE_UNAVAILABLE.into_response();
    };
    shared.counts.lock().unwrap().introspections += 1;
    let token = url::form_urlencoded::parse(body)
        .find(|(name, _)| name == "token")
        .map(|(_, value)| value.into_owned())
        .unwrap_or_default();
    axum::Json(
        answers
            .get(&token)
            .cloned()
            .unwrap_or(json!({"active": false})),
    )
    .into_response()
}

/// `/token`: the authorization code grant, for the confidential client only.
fn token(
    shared: &Shared,
    behaviour: &Behaviour,
    headers: &axum::http::HeaderMap,
    body: &[u8],
) -> Response {
    let form: std::collections::HashMap<String, String> =
        url::form_urlencoded::parse(body).into_owned().collect();
    if client_of(headers) != Some((WEB_CLIENT.to_string(), WEB_SECRET.to_string())) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    if form.get("grant_type").map(String::as_str) != Some("authorization_code") {
        return token_error("unsupported_grant_type");
    }
    let Some(grant) = form
        .get("code")
        .and_then(|code| shared.grants.lock().unwrap().remove(code))
    else {
        return token_error("invalid_grant");
    };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
    if grant.client_id != WEB_CLIENT
        || form.get("redirect_uri") != Some(&grant.redirect_uri)
        || grant.challenge.as_deref() != Some(challenge.as_str())
    {
        return token_error("invalid_grant");
    }
    let now = now();
    let mut claims = json!({
        "aud": WEB_CLIENT, "sub": "stand-in-user", "iat": now, "exp": now + 300,
        "nonce": grant.nonce,
    });
    for (name, value) in behaviour.id_token_claims.as_object().into_iter().flatten() {
        if value.is_null() {
            claims.as_object_mut().unwrap().remove(name);
        } else {
            claims[name] = value.clone();
        }
    }
    shared.counts.lock().unwrap().exchanges += 1;
    axum::Json(json!({
        "access_token": "opaque-access-token", "token_type": "Bearer", "expires_in": 300,
        "id_token": mint_jwt("k1", &claims),
    }))
    .into_response()
}

async fn answer(
    State(shared): State<Shared>,
    OriginalUri(uri): OriginalUri,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let path = uri.path();
    let behaviour = shared.behaviour.lock().unwrap().clone();
    if path == "/authorize" {
        return authorize(&shared, &behaviour, &uri);
    }
    if path == "/token" {
        return token(&shared, &behaviour, &headers, &body);
    }
    if path == "/introspect" {
        return introspect(&shared, &behaviour, &headers, &body);
    }
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
        "introspection_endpoint": behaviour.publishes_introspection.then(|| format!("{}/introspect", shared.base)),
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
            id_token_claims: json!({}),
            authorize_error: None,
            introspection: Some(serde_json::Map::new()),
            publishes_introspection: true,
        }));
        let counts = Arc::new(Mutex::new(Counts::default()));
        let shared = Shared {
            base: base.clone(),
            behaviour: behaviour.clone(),
            counts: counts.clone(),
            grants: Arc::default(),
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

    pub fn codes_exchanged(&self) -> usize {
        self.counts.lock().unwrap().exchanges
    }

    pub fn introspections(&self) -> usize {
        self.counts.lock().unwrap().introspections
    }

    /// What `/introspect` answers for `token` from now on.
    pub fn introspects(&self, token: &str, answer: Value) {
        self.change(|b| {
            b.introspection
                .get_or_insert_with(serde_json::Map::new)
                .insert(token.to_string(), answer);
        });
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

/// node-oidc-provider, run by `node tests/oidc/provider.mjs` on a free port; `None` (a skip)
/// without Node.js or the package, except under CI, where both are required.
pub struct RealProvider {
    pub issuer: String,
    _child: tokio::process::Child,
}

impl RealProvider {
    /// Stops the provider and waits until it is gone (its port free again).
    pub async fn stop(mut self) {
        self._child.kill().await.ok();
    }

    /// A JWT access token of `tessera-ci`'s from the client-credentials grant (audience
    /// `tessera`, scopes READ and WRITE).
    pub async fn client_credentials_token(&self) -> String {
        let token: serde_json::Value = super::http_client()
            .build()
            .unwrap()
            .post(format!("{}/token", self.issuer))
            .basic_auth("tessera-ci", Some("ci-secret-which-is-long-enough"))
            .form(&[
                ("grant_type", "client_credentials"),
                ("scope", "READ WRITE"),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        token["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{token}"))
            .to_string()
    }

    /// An access token of `user`'s from the provider's code flow, as `tessera-web` (which the
    /// provider has when started with `redirect_uri`): its own login and consent forms are
    /// posted as a browser would, and the code exchanged.
    pub async fn user_access_token(&self, user: &str, redirect_uri: &str) -> String {
        let http = super::http_client()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let verifier = "a-verifier-that-is-long-enough-for-pkce-0123456789";
        let challenge = URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(verifier.as_bytes()));
        let mut url = url::Url::parse(&format!("{}/auth", self.issuer)).unwrap();
        url.query_pairs_mut()
            .append_pair("client_id", "tessera-web")
            .append_pair("response_type", "code")
            .append_pair("scope", "openid profile email")
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("state", "s")
            .append_pair("nonce", "n")
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let mut next = url.to_string();
        let code = loop {
            if let Some(query) = next.strip_prefix(&format!("{redirect_uri}?")) {
                let pairs: std::collections::HashMap<String, String> =
                    url::form_urlencoded::parse(query.as_bytes())
                        .into_owned()
                        .collect();
                break pairs
                    .get("code")
                    .cloned()
                    .unwrap_or_else(|| panic!("no code: {next}"));
            }
            let page = http.get(&next).send().await.unwrap();
            let location = page
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string());
            let target = match location {
                Some(location) => location,
                None => {
                    // An interaction page: its login or consent form, posted.
                    let body = page.text().await.unwrap();
                    let form: Vec<(&str, &str)> = if body.contains("value=\"login\"") {
                        vec![("prompt", "login"), ("login", user), ("password", "any")]
                    } else if body.contains("value=\"consent\"") {
                        vec![("prompt", "consent")]
                    } else {
                        panic!("an interaction page without a known form: {body}");
                    };
                    let posted = http.post(&next).form(&form).send().await.unwrap();
                    posted.headers()["location"].to_str().unwrap().to_string()
                }
            };
            next = if target.starts_with("http") {
                target
            } else {
                format!("{}{target}", self.issuer)
            };
        };
        let token: serde_json::Value = http
            .post(format!("{}/token", self.issuer))
            .basic_auth("tessera-web", Some("web-secret-which-is-long-enough"))
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", &code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", verifier),
            ])
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        token["access_token"]
            .as_str()
            .unwrap_or_else(|| panic!("{token}"))
            .to_string()
    }

    /// With `redirect_uri`, the provider also has tessera's sign-in client, `tessera-web`.
    pub async fn start(redirect_uri: Option<&str>) -> Option<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Self::start_on(port, "op-1", redirect_uri).await
    }

    /// On `port`, signing with a fresh key named `kid` (the same port again after this one
    /// stopped is the same issuer with a rotated key).
    pub async fn start_on(port: u16, kid: &str, redirect_uri: Option<&str>) -> Option<Self> {
        use tokio::io::AsyncBufReadExt;
        let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/oidc");
        let installed = dir.join("node_modules/oidc-provider").is_dir();
        let node = std::process::Command::new("node")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !(installed && node) {
            assert!(
                std::env::var("CI").is_err(),
                "CI=true needs Node.js and tests/oidc's packages: run scripts/test"
            );
            eprintln!("node-oidc-provider not installed: skipping (run scripts/test)");
            return None;
        }
        let mut child = tokio::process::Command::new("node")
            .env("OP_KID", kid)
            .arg(dir.join("provider.mjs"))
            .arg(port.to_string())
            .args(redirect_uri)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut lines = tokio::io::BufReader::new(child.stdout.take().unwrap()).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("node-oidc-provider started")
            .unwrap()
            .expect("it printed its issuer");
        // What it prints later is read and dropped: a closed pipe would end the process.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        let issuer = serde_json::from_str::<serde_json::Value>(&line).unwrap()["issuer"]
            .as_str()
            .unwrap()
            .to_string();
        Some(Self {
            issuer,
            _child: child,
        })
    }
}
