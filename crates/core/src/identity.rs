//! External identity providers, as records and rules: an OpenID Connect (or OAuth 2.0
//! authorization server) issuer an administrator trusts, whose signed JWTs tessera accepts as
//! bearer tokens, and how a token's claims become a tessera user, its groups and its scopes.
//!
//! What a provider publishes (its discovery document, its keys) is fetched and checked by the
//! authentication crate; what lives here is what a registration holds and the rules for it.
//! Security invariants kept here: an issuer is an `https` URL, or `http` on a loopback
//! address only (a token's keys must come over a channel nobody else can change); the user
//! claim is one of three that identify a person; group mappings name tessera groups in
//! lower case, as tessera keeps them.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::clock::Timestamp;
use crate::error::FieldErrors;
use crate::ids::UserId;
use crate::scopes::Scopes;

/// A provider's database key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProviderId(pub i64);

impl std::fmt::Display for ProviderId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

pub const MAX_PROVIDER_NAME: usize = 255;
pub const MAX_ISSUER: usize = 2048;
/// Most audiences and group mappings a provider may list.
pub const MAX_AUDIENCES: usize = 20;
pub const MAX_GROUP_MAPPINGS: usize = 200;

/// Which claim names the tessera user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserClaim {
    PreferredUsername,
    Sub,
    Email,
}

impl UserClaim {
    pub fn name(self) -> &'static str {
        match self {
            Self::PreferredUsername => "preferred_username",
            Self::Sub => "sub",
            Self::Email => "email",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "preferred_username" => Some(Self::PreferredUsername),
            "sub" => Some(Self::Sub),
            "email" => Some(Self::Email),
            _ => None,
        }
    }
}

/// What happens to a token whose user tessera does not know.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Provisioning {
    /// The user is created, without a password (just in time).
    Create,
    /// Only existing users are matched; others are refused.
    Link,
    /// Only users this provider created or linked before are accepted.
    Off,
}

impl Provisioning {
    pub fn name(self) -> &'static str {
        match self {
            Self::Create => "create",
            Self::Link => "link",
            Self::Off => "off",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "create" => Some(Self::Create),
            "link" => Some(Self::Link),
            "off" => Some(Self::Off),
            _ => None,
        }
    }
}

/// When a token's groups claim is applied to the user's memberships.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GroupSync {
    /// On every login and token: the provider's groups are the truth.
    Always,
    /// Only when the user is provisioned; tessera manages them afterwards.
    Provisioning,
}

impl GroupSync {
    pub fn name(self) -> &'static str {
        match self {
            Self::Always => "always",
            Self::Provisioning => "provisioning",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "always" => Some(Self::Always),
            "provisioning" => Some(Self::Provisioning),
            _ => None,
        }
    }
}

/// What the provider's discovery document said, as far as tessera uses it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Endpoints {
    pub jwks_uri: String,
    pub authorization_endpoint: Option<String>,
    pub token_endpoint: Option<String>,
    pub introspection_endpoint: Option<String>,
}

/// A provider's settings, as an administrator gives them (checked by [`check_settings`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProviderSettings {
    pub name: String,
    /// Exactly as the tokens' `iss` carries it.
    pub issuer: String,
    /// A token's `aud` must hold one of these.
    pub audiences: Vec<String>,
    pub user_claim: UserClaim,
    pub groups_claim: Option<String>,
    /// Provider group → tessera group.
    pub group_mapping: BTreeMap<String, String>,
    pub group_sync: GroupSync,
    pub provisioning: Provisioning,
    /// What a token that names no scope may do (never more than its user may).
    pub default_scopes: Scopes,
    pub enabled: bool,
    /// The client tessera is at the provider, for "Sign in with" on the login page.
    pub login: Option<ProviderClient>,
    /// How the provider's opaque access tokens are checked, if they are (RFC 7662).
    pub introspection: Option<Introspection>,
}

/// Introspection of a provider's opaque access tokens (RFC 7662): at which endpoint, as which
/// client of the provider's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Introspection {
    /// The endpoint an administrator named; without one, the discovered one.
    pub endpoint: Option<String>,
    pub client: ProviderClient,
}

/// A client tessera is registered as at a provider: its id and its secret, sealed (the
/// authentication crate seals and opens it; the store never holds it in the clear).
#[derive(Clone, PartialEq, Eq)]
pub struct ProviderClient {
    pub client_id: String,
    pub sealed_secret: String,
}

impl std::fmt::Debug for ProviderClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderClient")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

pub const MAX_CLIENT_ID: usize = 255;

/// A sign-in through a provider, from the redirect to it until its answer comes back: what
/// the answer is checked against. Single use, short-lived; keyed by a digest of its `state`.
#[derive(Clone, PartialEq, Eq)]
pub struct SsoLogin {
    pub state_digest: String,
    pub provider: ProviderId,
    pub nonce: String,
    /// PKCE (RFC 7636): the verifier whose S256 challenge went to the provider.
    pub code_verifier: String,
    /// The local path the user goes to once signed in.
    pub next: String,
    pub created: Timestamp,
    pub expires: Timestamp,
}

impl std::fmt::Debug for SsoLogin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SsoLogin")
            .field("provider", &self.provider)
            .field("next", &self.next)
            .field("expires", &self.expires)
            .finish_non_exhaustive()
    }
}

/// A registered provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdentityProvider {
    pub id: ProviderId,
    pub settings: ProviderSettings,
    pub endpoints: Endpoints,
    pub created: Timestamp,
    pub created_by: Option<UserId>,
    /// When a credential of its was first accepted; `None` until then.
    pub first_used: Option<Timestamp>,
}

impl IdentityProvider {
    /// Where its opaque tokens are introspected, and as which client; `None` if they are not.
    pub fn introspection(&self) -> Option<(&str, &ProviderClient)> {
        let introspection = self.settings.introspection.as_ref()?;
        let endpoint = introspection
            .endpoint
            .as_deref()
            .or(self.endpoints.introspection_endpoint.as_deref())?;
        Some((endpoint, &introspection.client))
    }
}

/// A provider to store (its settings checked, its discovery document read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewIdentityProvider {
    pub settings: ProviderSettings,
    pub endpoints: Endpoints,
    pub created: Timestamp,
    pub created_by: Option<UserId>,
}

/// Whether `url` may be an issuer: `https`, or `http` on a loopback address; with a host, and
/// without a query or fragment (RFC 8414 §2).
pub fn is_issuer_url(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    if parsed.query().is_some() || parsed.fragment().is_some() || !parsed.username().is_empty() {
        return false;
    }
    match (parsed.scheme(), parsed.host()) {
        ("https", Some(_)) => true,
        ("http", Some(url::Host::Domain(domain))) => domain.eq_ignore_ascii_case("localhost"),
        ("http", Some(url::Host::Ipv4(ip))) => IpAddr::V4(ip).is_loopback(),
        ("http", Some(url::Host::Ipv6(ip))) => IpAddr::V6(ip).is_loopback(),
        _ => false,
    }
}

/// Whether `url` may be an endpoint of a provider's: as an issuer may be, with a query
/// allowed.
pub fn is_endpoint_url(url: &str) -> bool {
    url::Url::parse(url).is_ok_and(|mut parsed| {
        parsed.set_query(None);
        parsed.fragment().is_none() && is_issuer_url(parsed.as_str())
    })
}

/// Checks and normalises a client of the provider's, reporting under `field`.
fn check_client(client: &mut ProviderClient, field: &str, errors: &mut FieldErrors) {
    client.client_id = client.client_id.trim().to_string();
    if client.client_id.is_empty()
        || client.client_id.len() > MAX_CLIENT_ID
        || client.client_id.chars().any(char::is_control)
    {
        errors.add_field(
            field,
            format!("The client id must be 1 to {MAX_CLIENT_ID} characters."),
        );
    }
    if client.sealed_secret.is_empty() {
        errors.add_field(field, "Give the client secret with the client id.");
    }
}

/// Checks and normalises a provider's settings; every problem is reported by field.
pub fn check_settings(mut settings: ProviderSettings) -> Result<ProviderSettings, FieldErrors> {
    let mut errors = FieldErrors::default();
    settings.name = settings.name.trim().to_string();
    if settings.name.is_empty()
        || settings.name.len() > MAX_PROVIDER_NAME
        || settings.name.chars().any(char::is_control)
    {
        errors.add_field(
            "name",
            format!(
                "The name must be 1 to {MAX_PROVIDER_NAME} characters, without control characters."
            ),
        );
    }
    settings.issuer = settings.issuer.trim().to_string();
    if settings.issuer.len() > MAX_ISSUER || !is_issuer_url(&settings.issuer) {
        errors.add_field(
            "issuer",
            "The issuer must be an https URL (http only on a loopback address), without a query or fragment.",
        );
    }
    settings.audiences = settings
        .audiences
        .iter()
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty())
        .collect();
    settings.audiences.sort();
    settings.audiences.dedup();
    if settings.audiences.is_empty() || settings.audiences.len() > MAX_AUDIENCES {
        errors.add_field(
            "audiences",
            format!("Give 1 to {MAX_AUDIENCES} audiences: a token's aud must name one of them."),
        );
    }
    settings.groups_claim = settings
        .groups_claim
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    if settings.group_mapping.len() > MAX_GROUP_MAPPINGS {
        errors.add_field(
            "groupMapping",
            format!("At most {MAX_GROUP_MAPPINGS} group mappings."),
        );
    }
    let mapping = std::mem::take(&mut settings.group_mapping);
    for (theirs, ours) in mapping {
        let ours = ours.trim().to_lowercase();
        if theirs.is_empty() || ours.is_empty() {
            errors.add_field("groupMapping", "A group mapping names two groups.");
            continue;
        }
        settings.group_mapping.insert(theirs, ours);
    }
    if let Some(login) = &mut settings.login {
        check_client(login, "login", &mut errors);
    }
    if let Some(introspection) = &mut settings.introspection {
        check_client(&mut introspection.client, "introspection", &mut errors);
        introspection.endpoint = introspection
            .endpoint
            .take()
            .map(|e| e.trim().to_string())
            .filter(|e| !e.is_empty());
        if introspection
            .endpoint
            .as_deref()
            .is_some_and(|e| e.len() > MAX_ISSUER || !is_endpoint_url(e))
        {
            errors.add_field(
                "introspection",
                "The introspection endpoint must be an https URL (http only on a loopback address).",
            );
        }
    }
    if !settings.group_mapping.is_empty() && settings.groups_claim.is_none() {
        errors.add_field(
            "groupsClaim",
            "Name the claim that holds the provider's groups to map them.",
        );
    }
    if errors.is_empty() {
        Ok(settings)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> ProviderSettings {
        ProviderSettings {
            name: " Keycloak ".into(),
            issuer: "https://sso.example.com/realms/acme".into(),
            audiences: vec!["tessera".into(), " tessera ".into(), "".into()],
            user_claim: UserClaim::PreferredUsername,
            groups_claim: Some("groups".into()),
            group_mapping: [("Developers".to_string(), " Jira-Developers ".to_string())].into(),
            provisioning: Provisioning::Create,
            group_sync: GroupSync::Always,
            default_scopes: Scopes::empty(),
            enabled: true,
            login: None,
            introspection: None,
        }
    }

    #[test]
    fn issuers_are_https_or_loopback_http() {
        for good in [
            "https://sso.example.com/realms/acme",
            "https://sso.example.com",
            "http://127.0.0.1:8080/oidc",
            "http://[::1]:9000",
            "http://localhost:3000",
        ] {
            assert!(is_issuer_url(good), "{good}");
        }
        for bad in [
            "http://sso.example.com",
            "http://10.0.0.1/oidc",
            "https://sso.example.com/?x=1",
            "https://sso.example.com/#f",
            "https://user@sso.example.com",
            "ftp://sso.example.com",
            "sso.example.com",
            "",
        ] {
            assert!(!is_issuer_url(bad), "{bad}");
        }
    }

    #[test]
    fn settings_are_normalised_and_each_problem_named() {
        let checked = check_settings(settings()).unwrap();
        assert_eq!(checked.name, "Keycloak");
        assert_eq!(checked.audiences, ["tessera"]);
        assert_eq!(checked.group_mapping["Developers"], "jira-developers");
        let bad = ProviderSettings {
            name: String::new(),
            issuer: "http://sso.example.com".into(),
            audiences: vec![],
            groups_claim: None,
            ..settings()
        };
        let errors = check_settings(bad).unwrap_err();
        for field in ["name", "issuer", "audiences", "groupsClaim"] {
            assert!(errors.fields.contains_key(field), "{field}: {errors:?}");
        }
    }
}
