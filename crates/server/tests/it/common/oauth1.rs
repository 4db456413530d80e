//! A signing OAuth 1.0a client, for the tests that call tessera as an application link does:
//! one RSA key made per test process, and requests signed by RFC 5849 (RSA-SHA1, the
//! parameters in the `Authorization` header). The Python tests sign with requests-oauthlib;
//! this one serves the Rust tests that need many signed calls (the access matrix).

use std::sync::LazyLock;

use reqwest::{Method, RequestBuilder};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::{EncodePublicKey, LineEnding};
use rsa::signature::{SignatureEncoding, Signer as _};
use rsa::{PrivateKey, PublicKey};
use sha1::Sha1;
use tessera_auth::RequestUrl;
use tessera_auth::oauth1::signature::{base_string, encode, form_params};

use tessera_core::clock::{Clock, SystemClock, Timestamp};
use tessera_core::oauth1::{NewConsumer, NewOAuth1Token, OAuth1TokenKind};
use tessera_core::secrets::SecretKind;
use tessera_core::store::{OAuth1Store, UserStore};

use super::server::TestServer;

pub struct Signer {
    key: SigningKey<Sha1>,
    private: PrivateKey,
    /// The public key, as a consumer is registered with it.
    pub public_pem: String,
}

static SIGNER: LazyLock<Signer> = LazyLock::new(|| {
    let mut rng = getrandom::SysRng;
    let private = PrivateKey::new(&mut rng, 2048).expect("an RSA key");
    let public_pem = PublicKey::from(&private)
        .to_public_key_pem(LineEnding::LF)
        .expect("a PEM");
    Signer {
        key: SigningKey::new(private.clone()),
        private,
        public_pem,
    }
});

/// The process's signer.
pub fn signer() -> &'static Signer {
    &SIGNER
}

/// An application link's credentials: its consumer key and, once approved, its access token.
#[derive(Clone, Debug)]
pub struct Link {
    pub consumer_key: String,
    pub token: Option<String>,
}

impl Signer {
    pub fn public_key(&self) -> PublicKey {
        PublicKey::from(&self.private)
    }

    /// An RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256) over `data`: how the tests sign
    /// JWTs, by hand.
    pub fn sign_rs256(&self, data: &[u8]) -> Vec<u8> {
        SigningKey::<sha2::Sha256>::new(self.private.clone())
            .sign(data)
            .to_bytes()
            .to_vec()
    }

    /// The `Authorization` header of a request to `url` (absolute, query included), with
    /// `extra` protocol parameters (`oauth_body_hash`, say) and `body` parameters (those of
    /// an urlencoded body), at `timestamp` (seconds).
    pub fn authorization(
        &self,
        method: &Method,
        url: &str,
        link: &Link,
        extra: &[(&str, &str)],
        body: &[(String, String)],
        timestamp: i64,
    ) -> String {
        let parsed = url::Url::parse(url).expect("an absolute URL");
        let request_url = RequestUrl {
            scheme: if parsed.scheme() == "https" {
                "https"
            } else {
                "http"
            },
            host: parsed.host_str().unwrap_or_default().to_ascii_lowercase(),
            port: parsed.port_or_known_default().unwrap_or(80),
            path: parsed.path().to_string(),
            query: parsed.query().map(str::to_string),
        };
        let nonce = hex::encode(getrandom::u64().expect("random").to_be_bytes());
        let mut oauth = vec![
            ("oauth_consumer_key".to_string(), link.consumer_key.clone()),
            ("oauth_nonce".to_string(), nonce),
            ("oauth_signature_method".to_string(), "RSA-SHA1".to_string()),
            ("oauth_timestamp".to_string(), timestamp.to_string()),
            ("oauth_version".to_string(), "1.0".to_string()),
        ];
        if let Some(token) = &link.token {
            oauth.push(("oauth_token".to_string(), token.clone()));
        }
        oauth.extend(extra.iter().map(|(n, v)| (n.to_string(), v.to_string())));
        let signed = oauth
            .iter()
            .cloned()
            .chain(form_params(request_url.query.as_deref().unwrap_or("")))
            .chain(body.iter().cloned());
        let base = base_string(method.as_str(), &request_url, signed);
        let signature = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            self.key.sign(base.as_bytes()).to_bytes(),
        );
        oauth.push(("oauth_signature".to_string(), signature));
        let params = oauth
            .iter()
            .map(|(n, v)| format!("{}=\"{}\"", encode(n), encode(v)))
            .collect::<Vec<_>>()
            .join(", ");
        format!("OAuth realm=\"tessera\", {params}")
    }
}

/// Now, in seconds.
pub fn now_seconds() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

impl TestServer {
    /// Registers a consumer `consumer_key` with the signer's key and gives it an access token
    /// `user` approved with `scope` (`READ` or `WRITE`), straight into the store (the dance
    /// has tests of its own). Answers the link and the token's id.
    pub async fn approved_link(&self, consumer_key: &str, user: &str, scope: &str) -> (Link, i64) {
        self.approved_link_until(consumer_key, user, scope, None)
            .await
    }

    /// [`Self::approved_link`], with a token that expires at `expires`.
    pub async fn approved_link_until(
        &self,
        consumer_key: &str,
        user: &str,
        scope: &str,
        expires: Option<Timestamp>,
    ) -> (Link, i64) {
        let now = SystemClock.now();
        let consumer = match self.store.find_consumer(consumer_key).await.unwrap() {
            Some(consumer) => consumer,
            None => self
                .store
                .create_consumer(NewConsumer {
                    consumer_key: consumer_key.into(),
                    name: format!("{consumer_key} app"),
                    public_key: signer().public_pem.clone(),
                    callback: "oob".into(),
                    created: now,
                    created_by: None,
                    run_as: None,
                })
                .await
                .unwrap(),
        };
        let user = self.store.find_user_by_name(user).await.unwrap().unwrap();
        let raw = tessera_auth::token_format::mint(SecretKind::OAuth1Access);
        self.store
            .create_oauth1_token(NewOAuth1Token {
                digest: raw.digest().to_vec(),
                kind: OAuth1TokenKind::Access,
                consumer: consumer.id,
                user: Some(user.id),
                scopes: tessera_core::scopes::parse_scope(scope).unwrap(),
                callback: None,
                created: now,
                expires,
            })
            .await
            .unwrap();
        let id = self
            .store
            .find_oauth1_token(&raw.digest())
            .await
            .unwrap()
            .unwrap()
            .id;
        let link = Link {
            consumer_key: consumer.consumer_key,
            token: Some(raw.expose().to_string()),
        };
        (link, id)
    }

    /// A request signed by an application link (no body parameters, now).
    pub fn oauth1(&self, method: Method, path: &str, link: &Link) -> RequestBuilder {
        let header =
            signer().authorization(&method, &self.url(path), link, &[], &[], now_seconds());
        self.request(method, path).header("authorization", header)
    }
}
