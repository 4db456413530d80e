//! JWTs signed by a trusted external identity provider, presented as `Authorization: Bearer`
//! (RFC 7519; the JWT BCP, RFC 8725; JWT access tokens, RFC 9068).
//!
//! The checks, in order: the token is a JWT with an accepted algorithm (asymmetric only: RS*,
//! PS*, ES256/384, EdDSA; `none` and HS* are refused before anything is read, so a token
//! "signed" with a provider's public key as an HMAC secret never gets near a key); its `typ`,
//! where present, is `JWT` or `at+jwt`; its `iss` is exactly a registered, enabled provider;
//! the key its `kid` names is one the provider publishes ([`crate::external::keys`]), of the
//! algorithm's family; the signature holds; `aud` names one of the provider's audiences;
//! `exp` (required), `nbf` and `iat` hold within the leeway. Then the user: the provider's
//! user claim names an active user of tessera (created without a password when the provider
//! provisions, never otherwise). Scopes come from `scope`/`scp` (tessera's names), else the
//! provider's default; never more than the user can, which the authorizer sees to.
//!
//! A Bearer value that is not shaped like a JWT never comes here: it goes on to the other
//! kinds of bearer token unchanged.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, decode, decode_header};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::clock::{Clock, Timestamp};
use tessera_core::identity::{GroupSync, IdentityProvider, Provisioning, UserClaim};
use tessera_core::model::{NewUser, User};
use tessera_core::principal::AuthMethod;
use tessera_core::scopes::{Scopes, parse_scope};
use tessera_core::store::{Conflict, Store, StoreError};

use super::{Attempt, Cacheable, Limits, Rejection, Verified, Verifier};
use crate::error::{AuthError, JwtRejection};
use crate::external::keys::KeyCache;

/// The algorithms accepted: asymmetric only (RFC 8725 §3.1).
const ACCEPTED: [Algorithm; 9] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// Longest JWT read (a Bearer value is bounded anyway by the header's limit).
const MAX_JWT: usize = 8 * 1024;

/// Whether a Bearer value is shaped like a JWT: three base64url segments whose first decodes
/// to a JSON object naming an `alg`. Only the shape: nothing is trusted yet.
pub fn looks_like_jwt(raw: &str) -> bool {
    let mut parts = raw.split('.');
    let (Some(header), Some(_), Some(_), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    if raw.len() > MAX_JWT {
        return false;
    }
    URL_SAFE_NO_PAD
        .decode(header)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .is_some_and(|value| value.get("alg").is_some_and(serde_json::Value::is_string))
}

/// The `alg` a JWT's header names, before anything else is read.
fn header_alg(raw: &str) -> Option<String> {
    let header = raw.split('.').next()?;
    let bytes = URL_SAFE_NO_PAD.decode(header).ok()?;
    let value: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    value.get("alg")?.as_str().map(str::to_string)
}

/// The claims tessera reads, beyond those the library validates.
#[derive(Debug, Deserialize)]
pub(crate) struct Claims {
    exp: Option<i64>,
    iat: Option<i64>,
    sub: Option<String>,
    pub(crate) preferred_username: Option<String>,
    email: Option<String>,
    name: Option<String>,
    scope: Option<String>,
    scp: Option<ScopeClaim>,
    /// Every other claim (the provider's groups claim is among them, by its configured name).
    #[serde(flatten)]
    rest: serde_json::Map<String, serde_json::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum ScopeClaim {
    Text(String),
    List(Vec<String>),
}

/// Only `iss`, read before the signature is checked to choose the provider (and its keys).
#[derive(Debug, Deserialize)]
struct Issuer {
    iss: Option<String>,
}

#[derive(Debug)]
pub struct ExternalJwtVerifier {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    keys: Arc<KeyCache>,
    leeway: Duration,
}

impl ExternalJwtVerifier {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        keys: Arc<KeyCache>,
        leeway: Duration,
    ) -> Self {
        Self {
            store,
            clock,
            keys,
            leeway,
        }
    }

    pub(crate) fn refuse(
        &self,
        attempt: Attempt<'_>,
        provider: Option<&IdentityProvider>,
        why: JwtRejection,
    ) -> Rejection {
        let target = provider.map_or_else(
            || "external_jwt".into(),
            |p| format!("identityprovider:{}", p.id),
        );
        let mut event =
            AuditEvent::anonymous(self.clock.now(), attempt.client_ip, "token.refused", target)
                .outcome(Outcome::Failure)
                .reason(why.reason_code())
                .user_agent(attempt.user_agent);
        event.credential_kind = Some(AuthMethod::ExternalJwt.name().into());
        Rejection::new(AuthError::Jwt(why), event)
    }

    /// The provider the token claims to come from: registered, and enabled.
    async fn provider(
        &self,
        raw: &str,
    ) -> Result<Result<IdentityProvider, JwtRejection>, StoreError> {
        let Some(payload) = raw.split('.').nth(1) else {
            return Ok(Err(JwtRejection::Malformed));
        };
        let issuer = URL_SAFE_NO_PAD
            .decode(payload)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Issuer>(&bytes).ok())
            .and_then(|claims| claims.iss);
        let Some(issuer) = issuer else {
            return Ok(Err(JwtRejection::Malformed));
        };
        let Some(provider) = self.store.find_provider_by_issuer(&issuer).await? else {
            return Ok(Err(JwtRejection::IssuerUnknown));
        };
        if !provider.settings.enabled {
            return Ok(Err(JwtRejection::ProviderDisabled));
        }
        Ok(Ok(provider))
    }

    /// The token's user: linked by the provider's user claim, created when it provisions.
    async fn user(
        &self,
        provider: &IdentityProvider,
        claims: &Claims,
        now: Timestamp,
    ) -> Result<Option<(User, bool)>, StoreError> {
        let claimed = match provider.settings.user_claim {
            UserClaim::PreferredUsername => claims.preferred_username.as_deref(),
            UserClaim::Sub => claims.sub.as_deref(),
            UserClaim::Email => claims.email.as_deref(),
        };
        let Some(given) = claimed.and_then(|c| tessera_core::validate::username_as_given(c).ok())
        else {
            return Ok(None);
        };
        let name = given.to_ascii_lowercase();
        if let Some(user) = self.store.find_user_by_name(&name).await? {
            return Ok(Some((user, false)));
        }
        if provider.settings.provisioning != Provisioning::Create {
            return Ok(None);
        }
        let display = claims
            .name
            .as_deref()
            .and_then(|n| tessera_core::validate::display_name(n).ok())
            .unwrap_or_else(|| given.clone());
        let email = claims
            .email
            .as_deref()
            .and_then(|e| tessera_core::validate::email(e).ok());
        let created = self
            .store
            .create_user(NewUser {
                name: name.clone(),
                cased_name: given,
                display_name: display,
                email,
                // No password: the provider is how this user signs in.
                password_hash: None,
                groups: vec!["jira-users".into()],
                created: now,
                service_owner: None,
            })
            .await;
        match created {
            Ok(user) => Ok(Some((user, true))),
            // Another request created it first.
            Err(StoreError::Conflict(Conflict::UserName)) => Ok(self
                .store
                .find_user_by_name(&name)
                .await?
                .map(|user| (user, false))),
            Err(error) => Err(error),
        }
    }
}

/// The groups a token's groups claim names (an array of strings, or one string).
fn claimed_groups(provider: &IdentityProvider, claims: &Claims) -> Option<Vec<String>> {
    let claim = provider.settings.groups_claim.as_deref()?;
    Some(match claims.rest.get(claim) {
        Some(serde_json::Value::Array(items)) => items
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        Some(serde_json::Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    })
}

/// What `scope` or `scp` grant, in tessera's names; `None` if they name none of them.
pub(crate) fn scopes_of(claims: &Claims) -> Option<Scopes> {
    let names: Vec<String> = match (&claims.scope, &claims.scp) {
        (Some(text), _) | (None, Some(ScopeClaim::Text(text))) => {
            text.split_whitespace().map(str::to_string).collect()
        }
        (None, Some(ScopeClaim::List(list))) => list.clone(),
        (None, None) => return None,
    };
    let mut scopes = Scopes::empty();
    let mut any = false;
    for name in &names {
        if let Some(more) = parse_scope(name) {
            scopes = scopes.union(more);
            any = true;
        }
    }
    any.then_some(scopes)
}

fn rejection_of(error: &jsonwebtoken::errors::Error) -> JwtRejection {
    use jsonwebtoken::errors::ErrorKind;
    match error.kind() {
        ErrorKind::ExpiredSignature => JwtRejection::Expired,
        ErrorKind::ImmatureSignature => JwtRejection::NotYetValid,
        ErrorKind::InvalidAudience => JwtRejection::Audience,
        ErrorKind::InvalidIssuer => JwtRejection::IssuerUnknown,
        ErrorKind::InvalidSignature => JwtRejection::Signature,
        ErrorKind::InvalidAlgorithm
        | ErrorKind::InvalidAlgorithmName
        | ErrorKind::MissingAlgorithm
        | ErrorKind::UnsupportedAlgorithm => JwtRejection::Algorithm,
        _ => JwtRejection::Malformed,
    }
}

/// Whether a `typ` header is one a JWT access token may carry (RFC 9068 §2.1, RFC 7519 §5.1).
fn typ_accepted(typ: Option<&str>) -> bool {
    typ.is_none_or(|typ| {
        let typ = typ.to_ascii_lowercase();
        let typ = typ.strip_prefix("application/").unwrap_or(&typ);
        typ == "jwt" || typ == "at+jwt"
    })
}

impl ExternalJwtVerifier {
    /// Brings the user's memberships of the groups the provider's mapping manages in line
    /// with the token's groups claim: a mapped group the token names is joined, one it no
    /// longer names is left; groups the mapping does not name are never touched. Answers the
    /// audit event of a change, if any.
    async fn sync_groups(
        &self,
        provider: &IdentityProvider,
        user: &User,
        claims: &Claims,
        attempt: Attempt<'_>,
    ) -> Result<Option<AuditEvent>, StoreError> {
        let mapping = &provider.settings.group_mapping;
        let Some(theirs) = claimed_groups(provider, claims) else {
            return Ok(None);
        };
        if mapping.is_empty() {
            return Ok(None);
        }
        let wanted: BTreeSet<&str> = theirs
            .iter()
            .filter_map(|group| mapping.get(group))
            .map(String::as_str)
            .collect();
        let current = self.store.user_access(user.id).await?.groups;
        let mut joined = Vec::new();
        let mut left = Vec::new();
        for group in &wanted {
            if !current.iter().any(|g| g == group) {
                match self.store.add_group_member(group, user.id).await {
                    Ok(true) => joined.push(group.to_string()),
                    Ok(false) => {}
                    // A mapped group that does not exist (yet) is skipped.
                    Err(StoreError::MissingReference) => {
                        tracing::warn!(provider = %provider.id, group, "a mapped group does not exist");
                    }
                    Err(error) => return Err(error),
                }
            }
        }
        for group in mapping.values().collect::<BTreeSet<_>>() {
            if current.iter().any(|g| g == group)
                && !wanted.contains(group.as_str())
                && self.store.remove_group_member(group, user.id).await?
            {
                left.push(group.clone());
            }
        }
        if joined.is_empty() && left.is_empty() {
            return Ok(None);
        }
        let summary = format!("joined [{}], left [{}]", joined.join(", "), left.join(", "));
        let mut event = AuditEvent::anonymous(
            self.clock.now(),
            attempt.client_ip,
            "user.groups.synced",
            format!("user:{}", user.name),
        )
        .reason(&summary)
        .user_agent(attempt.user_agent);
        event.actor_id = Some(user.id.0);
        event.actor_name = Some(user.name.clone());
        Ok(Some(event))
    }
}

/// What a JWT is checked as.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Expected<'a> {
    /// A bearer token for tessera's API: from the provider its `iss` names, for one of that
    /// provider's audiences.
    AccessToken,
    /// The ID token of a sign-in through `provider` (OpenID Connect Core §3.1.3.7): for
    /// tessera's client there, carrying the sign-in's nonce.
    IdToken {
        provider: &'a IdentityProvider,
        client_id: &'a str,
        nonce: &'a str,
    },
}

/// Whether a `typ` header is one an ID token may carry: `JWT`, or none.
fn id_token_typ_accepted(typ: Option<&str>) -> bool {
    typ.is_none_or(|typ| {
        let typ = typ.to_ascii_lowercase();
        typ.strip_prefix("application/").unwrap_or(&typ) == "jwt"
    })
}

/// A refusal, and the provider it concerns if one was found.
type Refused = (Option<IdentityProvider>, JwtRejection);

impl ExternalJwtVerifier {
    /// The JWT's provider and claims, once every check of `expected` held.
    pub(crate) async fn checked(
        &self,
        raw: &str,
        expected: Expected<'_>,
    ) -> Result<Result<(IdentityProvider, Claims), Refused>, StoreError> {
        // The algorithm first, by name: `none`, HS*, and anything unknown end here.
        let named = header_alg(raw).and_then(|alg| alg.parse::<Algorithm>().ok());
        if !named.is_some_and(|alg| ACCEPTED.contains(&alg)) {
            return Ok(Err((None, JwtRejection::Algorithm)));
        }
        let header = match decode_header(raw) {
            Ok(header) => header,
            Err(e) => return Ok(Err((None, rejection_of(&e)))),
        };
        let typ_ok = match expected {
            Expected::AccessToken => typ_accepted(header.typ.as_deref()),
            Expected::IdToken { .. } => id_token_typ_accepted(header.typ.as_deref()),
        };
        if !typ_ok {
            return Ok(Err((None, JwtRejection::Malformed)));
        }
        let provider = match expected {
            Expected::AccessToken => match self.provider(raw).await? {
                Ok(provider) => provider,
                Err(why) => return Ok(Err((None, why))),
            },
            Expected::IdToken { provider, .. } => provider.clone(),
        };
        let refused = |provider: IdentityProvider, why| Ok(Err((Some(provider), why)));
        let Some(jwk) = self.keys.key(&provider, header.kid.as_deref()).await else {
            return refused(provider, JwtRejection::KeyUnknown);
        };
        // A key that names its algorithm signs with that one only.
        if jwk
            .common
            .key_algorithm
            .is_some_and(|alg| Algorithm::try_from(alg).ok() != Some(header.alg))
        {
            return refused(provider, JwtRejection::Algorithm);
        }
        let Ok(key) = DecodingKey::from_jwk(&jwk) else {
            return refused(provider, JwtRejection::KeyUnknown);
        };
        let mut validation = Validation::new(header.alg);
        validation.leeway = self.leeway.as_secs();
        validation.validate_exp = true;
        validation.validate_nbf = true;
        validation.set_issuer(&[&provider.settings.issuer]);
        match expected {
            Expected::AccessToken => {
                validation.set_audience(&provider.settings.audiences);
                validation.set_required_spec_claims(&["exp", "iss", "aud"]);
            }
            Expected::IdToken { client_id, .. } => {
                validation.set_audience(&[client_id]);
                validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub"]);
            }
        }
        let claims = match decode::<Claims>(raw, &key, &validation) {
            Ok(decoded) => decoded.claims,
            Err(e) => return refused(provider, rejection_of(&e)),
        };
        let now = self.clock.now();
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(0);
        if claims
            .iat
            .is_some_and(|iat| iat > now.as_millis() / 1000 + leeway)
        {
            return refused(provider, JwtRejection::NotYetValid);
        }
        if let Expected::IdToken {
            client_id, nonce, ..
        } = expected
        {
            // With more than one audience, the party it was issued to must be tessera.
            let several =
                matches!(claims.rest.get("aud"), Some(serde_json::Value::Array(a)) if a.len() > 1);
            let azp = claims.rest.get("azp").and_then(serde_json::Value::as_str);
            if azp.is_some_and(|azp| azp != client_id) || (several && azp.is_none()) {
                return refused(provider, JwtRejection::Audience);
            }
            let sent = claims.rest.get("nonce").and_then(serde_json::Value::as_str);
            if !sent.is_some_and(|sent| {
                crate::secret::constant_time_eq(sent.as_bytes(), nonce.as_bytes())
            }) {
                return refused(provider, JwtRejection::Nonce);
            }
        }
        Ok(Ok((provider, claims)))
    }

    /// The token's user, created or linked as the provider says, with the events of what
    /// that changed (provisioned, groups synced).
    pub(crate) async fn account(
        &self,
        provider: &IdentityProvider,
        claims: &Claims,
        attempt: Attempt<'_>,
    ) -> Result<Option<(User, Vec<AuditEvent>)>, StoreError> {
        let now = self.clock.now();
        let Some((user, created)) = self
            .user(provider, claims, now)
            .await?
            .filter(|(user, _)| user.active)
        else {
            return Ok(None);
        };
        let mut changes = Vec::new();
        if created {
            let mut event = AuditEvent::anonymous(
                now,
                attempt.client_ip,
                "identity.user.provisioned",
                format!("user:{}", user.name),
            )
            .reason(&format!("identityprovider:{}", provider.id))
            .user_agent(attempt.user_agent);
            event.actor_id = Some(user.id.0);
            event.actor_name = Some(user.name.clone());
            changes.push(event);
        }
        if created || provider.settings.group_sync == GroupSync::Always {
            changes.extend(self.sync_groups(provider, &user, claims, attempt).await?);
        }
        if provider.first_used.is_none() && self.store.mark_provider_used(provider.id, now).await? {
            let mut event = AuditEvent::anonymous(
                now,
                attempt.client_ip,
                "identity.provider.first_used",
                format!("identityprovider:{}", provider.id),
            )
            .reason(&format!("user:{}", user.name))
            .user_agent(attempt.user_agent);
            event.actor_id = Some(user.id.0);
            event.actor_name = Some(user.name.clone());
            changes.push(event);
        }
        Ok(Some((user, changes)))
    }
}

impl ExternalJwtVerifier {
    /// A sign-in's ID token, checked as [`Expected::IdToken`]; its user found or provisioned
    /// as for a bearer token. Refusals are audited as failed logins through the provider.
    pub(crate) async fn verify_id_token(
        &self,
        provider: &IdentityProvider,
        id_token: &SecretString,
        client_id: &str,
        nonce: &str,
        attempt: Attempt<'_>,
    ) -> Result<Verified, Rejection> {
        let refuse = |why: JwtRejection| {
            let mut rejection = self.refuse(attempt, Some(provider), why);
            if let Some(event) = &mut rejection.event {
                event.action = "login.failed".into();
            }
            rejection
        };
        let expected = Expected::IdToken {
            provider,
            client_id,
            nonce,
        };
        let (provider, claims) = self
            .checked(id_token.expose_secret(), expected)
            .await?
            .map_err(|(_, why)| refuse(why))?;
        let (user, changes) = self
            .account(&provider, &claims, attempt)
            .await?
            .ok_or_else(|| refuse(JwtRejection::UserUnknown))?;
        let success = super::password::login_succeeded(
            self.clock.now(),
            attempt.client_ip,
            &user,
            attempt.user_agent,
        )
        .reason(&format!("identityprovider:{}", provider.id));
        Ok(Verified {
            credential_ref: Some(format!("external:{}", provider.id)),
            external: Some(provider.id),
            changes,
            success_event: Some(success),
            ..Verified::user(user, AuthMethod::ExternalJwt)
        })
    }
}

impl Verifier for ExternalJwtVerifier {
    type Input<'r> = SecretString;

    async fn verify<'r>(
        &'r self,
        raw: SecretString,
        attempt: Attempt<'r>,
    ) -> Result<Verified, Rejection> {
        let (provider, claims) = self
            .checked(raw.expose_secret(), Expected::AccessToken)
            .await?
            .map_err(|(provider, why)| self.refuse(attempt, provider.as_ref(), why))?;
        let (user, changes) = self
            .account(&provider, &claims, attempt)
            .await?
            .ok_or_else(|| self.refuse(attempt, Some(&provider), JwtRejection::UserUnknown))?;
        let expires = claims
            .exp
            .map(|exp| Timestamp::from_millis(exp.saturating_mul(1000)));
        Ok(provider_token(&provider, user, &claims, expires, changes))
    }
}

/// A provider's token (a JWT, or an opaque one it vouched for) as verified: its user, with
/// the scopes it names (else the provider's default), good until `expires`.
pub(crate) fn provider_token(
    provider: &IdentityProvider,
    user: User,
    claims: &Claims,
    expires: Option<Timestamp>,
    changes: Vec<AuditEvent>,
) -> Verified {
    Verified {
        credential_ref: Some(format!("external:{}", provider.id)),
        limits: Limits {
            scopes: scopes_of(claims).unwrap_or(provider.settings.default_scopes),
            projects: None,
            allowed_ips: Vec::new(),
        },
        // Until its exp, keyed by its digest, once a verified-credential cache exists.
        cacheable: expires.map_or(Cacheable::Never, Cacheable::Until),
        external: Some(provider.id),
        changes,
        ..Verified::user(user, AuthMethod::ExternalJwt)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_jwt_shapes_are_taken_for_jwts() {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k1"}"#);
        assert!(looks_like_jwt(&format!("{header}.e30.c2ln")));
        for other in [
            "tspat_abcdef",
            "a.b",
            "a.b.c.d",
            &format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(b"not json")),
            &format!("{}.e30.c2ln", URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT"}"#)),
        ] {
            assert!(!looks_like_jwt(other), "{other}");
        }
    }

    #[test]
    fn scopes_come_from_scope_or_scp_in_tessera_names() {
        let claims = |scope: Option<&str>, scp: Option<ScopeClaim>| Claims {
            rest: serde_json::Map::new(),
            exp: None,
            iat: None,
            sub: None,
            preferred_username: None,
            email: None,
            name: None,
            scope: scope.map(str::to_string),
            scp,
        };
        assert_eq!(
            scopes_of(&claims(Some("openid READ"), None)),
            parse_scope("READ")
        );
        assert_eq!(
            scopes_of(&claims(None, Some(ScopeClaim::List(vec!["WRITE".into()])))),
            parse_scope("WRITE")
        );
        assert_eq!(scopes_of(&claims(Some("openid profile"), None)), None);
        assert_eq!(scopes_of(&claims(None, None)), None);
    }

    #[test]
    fn typ_is_jwt_or_an_access_token() {
        for good in [
            None,
            Some("JWT"),
            Some("at+jwt"),
            Some("application/at+JWT"),
        ] {
            assert!(typ_accepted(good), "{good:?}");
        }
        assert!(!typ_accepted(Some("dpop+jwt")));
        assert!(!typ_accepted(Some("logout+jwt")));
    }
}
