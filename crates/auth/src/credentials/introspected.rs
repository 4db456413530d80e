//! Opaque access tokens of trusted identity providers, checked by asking the provider (token
//! introspection, RFC 7662), presented as `Authorization: Bearer`.
//!
//! A Bearer value that is neither one of tessera's own tokens (by prefix) nor shaped like a
//! JWT comes here. Without a provider that introspects, it is refused as a malformed token, as
//! ever, and nobody is asked. Otherwise each enabled provider with introspection is asked in
//! turn (as its client, the sealed secret in HTTP Basic) until one answers `active`. An active
//! answer must name no other issuer (`iss`), be for tessera (`aud` naming one of the provider's
//! audiences; without an `aud`, its `client_id` naming one), hold in time (`exp`, `nbf`, within
//! the leeway) and be an access token (`token_type`, where given). Its user, groups and scopes
//! are read as a JWT's claims are ([`super::external_jwt`]); a `username` stands for
//! `preferred_username`.
//!
//! Answers are cached by the token's SHA-256, never the token: an active one for at most its
//! remaining life and the configured ceiling, a refusal for the ceiling, so a provider is asked
//! about a token at most once per ceiling, whatever the traffic. A provider that cannot be
//! asked fails closed, and that is not cached. A cached answer still needs its provider
//! registered and enabled, and its user active.

use std::sync::Arc;
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tessera_core::clock::{Clock, Timestamp};
use tessera_core::identity::{IdentityProvider, ProviderId};
use tessera_core::store::{Store, StoreError};

use super::external_jwt::{Claims, ExternalJwtVerifier, provider_token};
use super::{Attempt, Rejection, Verified, Verifier, token_refused};
use crate::error::{JwtRejection, TokenRejection};
use crate::external::discovery::{http_client, read_bounded};
use crate::external::providers::introspection_purpose;
use crate::sealed::Sealer;
use crate::secret::sha256;

/// Most answers remembered.
const CACHE_CAPACITY: u64 = 100_000;

/// How long the list of providers that introspect is read once for all requests: a bearer
/// value of no known kind (a typo, a flood of garbage) costs no database read when none does;
/// a provider's introspection switched on takes effect within this. Every other change needs
/// no wait: a provider is read again before it is asked, and before its answer is used.
const PROVIDER_LIST_TTL: Duration = Duration::from_secs(2);

/// What a provider said about a token.
#[derive(Clone, Debug)]
enum Answer {
    /// Active, from `provider`, with these claims (the whole answer).
    Active {
        provider: ProviderId,
        claims: serde_json::Value,
    },
    Refused {
        provider: Option<ProviderId>,
        why: JwtRejection,
    },
}

#[derive(Clone, Debug)]
struct Cached {
    answer: Answer,
    ttl: Duration,
}

struct ByAnswer;

impl moka::Expiry<[u8; 32], Arc<Cached>> for ByAnswer {
    fn expire_after_create(
        &self,
        _: &[u8; 32],
        value: &Arc<Cached>,
        _: Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

/// The fields of an introspection answer read beyond the claims a JWT has.
#[derive(Debug, Deserialize)]
struct Introspected {
    active: bool,
    iss: Option<String>,
    exp: Option<i64>,
    nbf: Option<i64>,
    aud: Option<Audience>,
    client_id: Option<String>,
    token_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

impl Audience {
    fn names(&self, candidates: &[String]) -> bool {
        match self {
            Self::One(one) => candidates.contains(one),
            Self::Many(many) => many.iter().any(|a| candidates.contains(a)),
        }
    }
}

pub struct IntrospectionVerifier {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    jwt: Arc<ExternalJwtVerifier>,
    sealer: Sealer,
    http: reqwest::Client,
    cache: moka::sync::Cache<[u8; 32], Arc<Cached>>,
    /// The ids of the enabled providers that introspect (one entry), read at most once per
    /// [`PROVIDER_LIST_TTL`].
    introspecting: moka::sync::Cache<(), Arc<Vec<ProviderId>>>,
    ceiling: Duration,
    leeway: Duration,
}

impl std::fmt::Debug for IntrospectionVerifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IntrospectionVerifier")
            .field("ceiling", &self.ceiling)
            .field("cached", &self.cache.entry_count())
            .finish_non_exhaustive()
    }
}

/// An introspection answer checked: the claims, or why it is refused.
fn judged(
    provider: &IdentityProvider,
    body: serde_json::Value,
    now: Timestamp,
    leeway: i64,
) -> Result<(serde_json::Value, Option<Timestamp>), JwtRejection> {
    let fields: Introspected =
        serde_json::from_value(body.clone()).map_err(|_| JwtRejection::Malformed)?;
    if !fields.active {
        return Err(JwtRejection::Inactive);
    }
    if fields
        .iss
        .as_deref()
        .is_some_and(|iss| iss != provider.settings.issuer)
    {
        return Err(JwtRejection::IssuerUnknown);
    }
    let audiences = &provider.settings.audiences;
    let for_tessera = match &fields.aud {
        Some(aud) => aud.names(audiences),
        None => fields
            .client_id
            .as_ref()
            .is_some_and(|c| audiences.contains(c)),
    };
    if !for_tessera {
        return Err(JwtRejection::Audience);
    }
    let seconds = now.as_millis() / 1000;
    if fields.exp.is_some_and(|exp| exp + leeway <= seconds) {
        return Err(JwtRejection::Expired);
    }
    if fields.nbf.is_some_and(|nbf| nbf > seconds + leeway) {
        return Err(JwtRejection::NotYetValid);
    }
    if fields.token_type.as_deref().is_some_and(|t| {
        !t.eq_ignore_ascii_case("bearer") && !t.eq_ignore_ascii_case("access_token")
    }) {
        return Err(JwtRejection::Malformed);
    }
    let expires = fields
        .exp
        .map(|exp| Timestamp::from_millis(exp.saturating_mul(1000)));
    Ok((body, expires))
}

/// The claims of an answer, as a JWT's: `username` stands for `preferred_username`.
fn claims_of(body: &serde_json::Value) -> Option<Claims> {
    let mut body = body.clone();
    let object = body.as_object_mut()?;
    if !object.contains_key("preferred_username")
        && let Some(username) = object.get("username").cloned()
    {
        object.insert("preferred_username".into(), username);
    }
    serde_json::from_value(body).ok()
}

impl IntrospectionVerifier {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        jwt: Arc<ExternalJwtVerifier>,
        sealer: Sealer,
        config: &crate::external::ExternalConfig,
    ) -> Self {
        Self {
            store,
            clock,
            jwt,
            sealer,
            http: http_client(config.http_timeout),
            cache: moka::sync::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .expire_after(ByAnswer)
                .build(),
            introspecting: moka::sync::Cache::builder()
                .max_capacity(1)
                .time_to_live(PROVIDER_LIST_TTL)
                .build(),
            ceiling: config.introspection_cache,
            leeway: config.leeway,
        }
    }

    /// Asks `provider` about `raw`: its answer, or `None` if it could not be asked.
    async fn ask(
        &self,
        provider: &IdentityProvider,
        raw: &str,
    ) -> Option<Result<(serde_json::Value, Option<Timestamp>), JwtRejection>> {
        let (endpoint, client) = provider.introspection()?;
        let Ok(secret) = self.sealer.open(
            &introspection_purpose(&client.client_id),
            &client.sealed_secret,
        ) else {
            tracing::warn!(provider = %provider.id, "the introspection client's secret does not open: set it again");
            return None;
        };
        let encode =
            |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
        let sent = self
            .http
            .post(endpoint)
            .basic_auth(
                encode(&client.client_id),
                Some(encode(secret.expose_secret())),
            )
            .header(http::header::ACCEPT, "application/json")
            .form(&[("token", raw), ("token_type_hint", "access_token")])
            .send()
            .await;
        let mut response = match sent {
            Ok(response) if response.status().is_success() => response,
            Ok(response) => {
                tracing::warn!(provider = %provider.id, status = %response.status(), "introspection refused tessera's request");
                return None;
            }
            Err(error) => {
                tracing::warn!(provider = %provider.id, error = %crate::external::discovery::without_url(&error), "introspection failed");
                return None;
            }
        };
        let body = read_bounded(&mut response).await.ok()?;
        let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) else {
            return Some(Err(JwtRejection::Malformed));
        };
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(0);
        Some(judged(provider, value, self.clock.now(), leeway))
    }

    /// What the providers say about `raw` (from the cache when they said it lately); `None`
    /// when no provider introspects.
    async fn answer(&self, raw: &str) -> Result<Option<Answer>, StoreError> {
        let digest = sha256(raw.as_bytes());
        if let Some(cached) = self.cache.get(&digest) {
            return Ok(Some(cached.answer.clone()));
        }
        let introspects = |p: &IdentityProvider| p.settings.enabled && p.introspection().is_some();
        let ids = match self.introspecting.get(&()) {
            Some(ids) => ids,
            None => {
                let read: Vec<ProviderId> = self
                    .store
                    .list_providers()
                    .await?
                    .into_iter()
                    .filter(introspects)
                    .map(|p| p.id)
                    .collect();
                let read = Arc::new(read);
                self.introspecting.insert((), read.clone());
                read
            }
        };
        if ids.is_empty() {
            return Ok(None);
        }
        // Each read as it is now: its settings, secret and switch.
        let mut providers = Vec::with_capacity(ids.len());
        for id in ids.iter() {
            if let Some(provider) = self.store.get_provider(*id).await?.filter(introspects) {
                providers.push(provider);
            }
        }
        if providers.is_empty() {
            return Ok(None);
        }
        let mut refused = None;
        let mut unasked = false;
        for provider in &providers {
            match self.ask(provider, raw).await {
                Some(Ok((claims, expires))) => {
                    let left = expires.map_or(self.ceiling, |at| {
                        Duration::from_millis(
                            u64::try_from(at.as_millis() - self.clock.now().as_millis())
                                .unwrap_or(0),
                        )
                    });
                    let answer = Answer::Active {
                        provider: provider.id,
                        claims,
                    };
                    self.remember(digest, &answer, left.min(self.ceiling));
                    return Ok(Some(answer));
                }
                // An inactive answer is any provider's to give; another refusal names it.
                Some(Err(JwtRejection::Inactive)) => {}
                Some(Err(why)) => refused = Some((provider.id, why)),
                None => unasked = true,
            }
        }
        let answer = match refused {
            Some((provider, why)) => Answer::Refused {
                provider: Some(provider),
                why,
            },
            None if unasked => {
                return Ok(Some(Answer::Refused {
                    provider: None,
                    why: JwtRejection::IntrospectionUnavailable,
                }));
            }
            None => Answer::Refused {
                provider: None,
                why: JwtRejection::Inactive,
            },
        };
        self.remember(digest, &answer, self.ceiling);
        Ok(Some(answer))
    }

    fn remember(&self, digest: [u8; 32], answer: &Answer, ttl: Duration) {
        if !ttl.is_zero() {
            let cached = Cached {
                answer: answer.clone(),
                ttl,
            };
            self.cache.insert(digest, Arc::new(cached));
        }
    }
}

impl Verifier for IntrospectionVerifier {
    type Input<'r> = SecretString;

    async fn verify<'r>(
        &'r self,
        raw: SecretString,
        attempt: Attempt<'r>,
    ) -> Result<Verified, Rejection> {
        let Some(answer) = self.answer(raw.expose_secret()).await? else {
            // Nobody introspects: an unknown kind of token, as it always was.
            let now = self.clock.now();
            return Err(token_refused(
                now,
                attempt,
                "token",
                None,
                TokenRejection::Malformed,
            ));
        };
        let provider_of = |id: Option<ProviderId>| async move {
            match id {
                Some(id) => self.store.get_provider(id).await,
                None => Ok(None),
            }
        };
        let (id, body) = match answer {
            Answer::Refused { provider, why } => {
                let provider = provider_of(provider).await?;
                return Err(self.jwt.refuse(attempt, provider.as_ref(), why));
            }
            Answer::Active {
                provider, claims, ..
            } => (provider, claims),
        };
        // Removed, switched off or no longer introspected since it answered: refused.
        let provider = match provider_of(Some(id)).await? {
            Some(provider) if provider.settings.enabled && provider.introspection().is_some() => {
                provider
            }
            Some(provider) => {
                return Err(self.jwt.refuse(
                    attempt,
                    Some(&provider),
                    JwtRejection::ProviderDisabled,
                ));
            }
            None => return Err(self.jwt.refuse(attempt, None, JwtRejection::IssuerUnknown)),
        };
        // Judged again against the provider as it is now (its audiences, the clock).
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(0);
        let (claims, expires) = judged(&provider, body, self.clock.now(), leeway)
            .map_err(|why| self.jwt.refuse(attempt, Some(&provider), why))?;
        let Some(claims) = claims_of(&claims) else {
            return Err(self
                .jwt
                .refuse(attempt, Some(&provider), JwtRejection::Malformed));
        };
        let (user, changes) = self
            .jwt
            .account(&provider, &claims, attempt)
            .await?
            .ok_or_else(|| {
                self.jwt
                    .refuse(attempt, Some(&provider), JwtRejection::UserUnknown)
            })?;
        Ok(provider_token(&provider, user, &claims, expires, changes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tessera_core::identity::{Endpoints, ProviderSettings, Provisioning, UserClaim};

    fn provider() -> IdentityProvider {
        IdentityProvider {
            id: ProviderId(1),
            settings: ProviderSettings {
                name: "Keycloak".into(),
                issuer: "https://sso.example.com/realms/acme".into(),
                audiences: vec!["tessera".into()],
                user_claim: UserClaim::PreferredUsername,
                groups_claim: None,
                group_mapping: Default::default(),
                provisioning: Provisioning::Link,
                group_sync: tessera_core::identity::GroupSync::Always,
                default_scopes: tessera_core::scopes::Scopes::empty(),
                enabled: true,
                login: None,
                introspection: None,
            },
            endpoints: Endpoints::default(),
            created: Timestamp::from_millis(0),
            created_by: None,
            first_used: None,
        }
    }

    #[test]
    fn an_answer_must_be_active_for_tessera_from_its_issuer_and_in_time() {
        let now = Timestamp::from_millis(1_000_000_000);
        let judge = |body: serde_json::Value| judged(&provider(), body, now, 60).map(|_| ());
        let good = json!({"active": true, "aud": "tessera", "exp": 1_000_100, "iss": "https://sso.example.com/realms/acme"});
        assert_eq!(judge(good.clone()), Ok(()));
        assert_eq!(
            judge(json!({"active": true, "client_id": "tessera"})),
            Ok(())
        );
        assert_eq!(
            judge(json!({"active": true, "aud": ["x", "tessera"], "token_type": "Bearer"})),
            Ok(())
        );
        for (body, why) in [
            (
                json!({"active": false, "aud": "tessera"}),
                JwtRejection::Inactive,
            ),
            (json!({"aud": "tessera"}), JwtRejection::Malformed),
            (
                json!({"active": true, "aud": "other"}),
                JwtRejection::Audience,
            ),
            (
                json!({"active": true, "client_id": "other"}),
                JwtRejection::Audience,
            ),
            (json!({"active": true}), JwtRejection::Audience),
            (
                json!({"active": true, "aud": "tessera", "iss": "https://evil.example"}),
                JwtRejection::IssuerUnknown,
            ),
            (
                json!({"active": true, "aud": "tessera", "exp": 1_000_000 - 61}),
                JwtRejection::Expired,
            ),
            (
                json!({"active": true, "aud": "tessera", "nbf": 1_000_000 + 61}),
                JwtRejection::NotYetValid,
            ),
            (
                json!({"active": true, "aud": "tessera", "token_type": "refresh_token"}),
                JwtRejection::Malformed,
            ),
        ] {
            assert_eq!(judge(body.clone()), Err(why), "{body}");
        }
    }

    #[test]
    fn a_username_stands_for_preferred_username() {
        let claims =
            claims_of(&json!({"active": true, "username": "alice", "scope": "READ"})).unwrap();
        assert_eq!(claims.preferred_username.as_deref(), Some("alice"));
        let both = claims_of(&json!({"username": "a", "preferred_username": "b"})).unwrap();
        assert_eq!(both.preferred_username.as_deref(), Some("b"));
    }
}
