//! Personal access tokens and service-account API keys, as records and rules.
//!
//! The secret itself never reaches this crate: tokens are minted and digested by the
//! authentication crate, and the store keeps only the digest. What lives here is what a token
//! is (owner, scopes, projects, allowed addresses, lifetime) and the rules for making one.

use std::net::IpAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::FieldErrors;
use crate::ids::{ProjectId, TokenId, UserId};
pub use crate::net::{canonical_ip, parse_network};
use crate::permissions::Flag;
use crate::scopes::{Scope, Scopes, parse_scope};
use crate::secrets::SecretKind;

/// What kind of secret a token is; each kind has its own prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// A person's personal access token.
    Personal,
    /// An API key of a service account.
    ServiceKey,
}

impl TokenKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Personal => "personal",
            Self::ServiceKey => "service",
        }
    }

    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "personal" => Some(Self::Personal),
            "service" => Some(Self::ServiceKey),
            _ => None,
        }
    }

    /// The prefix every token of this kind starts with, for secret scanners (from the one
    /// registry, [`crate::secrets`]).
    pub fn prefix(self) -> &'static str {
        SecretKind::from(self).prefix()
    }

    /// The kind whose prefix `text` starts with.
    pub fn of_prefixed(text: &str) -> Option<Self> {
        match SecretKind::of(text)? {
            SecretKind::PersonalToken => Some(Self::Personal),
            SecretKind::ServiceKey => Some(Self::ServiceKey),
            SecretKind::OAuth2Access
            | SecretKind::OAuth2Refresh
            | SecretKind::OAuth2Code
            | SecretKind::OAuth2ClientSecret
            | SecretKind::OAuth1Request
            | SecretKind::OAuth1Access => None,
        }
    }
}

impl From<TokenKind> for SecretKind {
    fn from(kind: TokenKind) -> Self {
        match kind {
            TokenKind::Personal => Self::PersonalToken,
            TokenKind::ServiceKey => Self::ServiceKey,
        }
    }
}

/// Why a token stopped working.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RevokeReason {
    /// Its owner revoked it.
    Owner,
    /// An administrator revoked it.
    Admin,
    /// It was reported as leaked through the public revocation endpoint.
    Leaked,
}

impl RevokeReason {
    pub fn name(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Leaked => "leaked",
        }
    }
}

/// A stored token (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Token {
    pub id: TokenId,
    pub kind: TokenKind,
    pub owner: UserId,
    pub owner_name: String,
    pub name: String,
    pub scopes: Scopes,
    /// The projects it reaches; `None` for every project its owner can see.
    pub projects: Option<Vec<ProjectId>>,
    /// Where it may be used from; empty for anywhere.
    pub allowed_ips: Vec<IpNet>,
    pub created: Timestamp,
    pub created_by: Option<UserId>,
    pub expires: Option<Timestamp>,
    pub revoked: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
    pub last_used_ip: Option<String>,
    pub use_count: i64,
}

impl Token {
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires.is_some_and(|expires| now >= expires)
    }

    pub fn is_allowed_from(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.allowed_ips.is_empty() || self.allowed_ips.iter().any(|net| net.contains(&ip))
    }
}

/// A token to store.
#[derive(Clone, Debug)]
pub struct NewToken {
    pub kind: TokenKind,
    pub owner: UserId,
    pub name: String,
    /// SHA-256 of the raw token.
    pub digest: Vec<u8>,
    pub scopes: Scopes,
    pub projects: Option<Vec<ProjectId>>,
    pub allowed_ips: Vec<IpNet>,
    pub created: Timestamp,
    pub created_by: Option<UserId>,
    pub expires: Option<Timestamp>,
}

/// A token found by the digest of a presented secret.
#[derive(Clone, Debug)]
pub struct TokenMatch {
    pub token: Token,
    pub owner: crate::model::User,
    /// The stored digest that matched (current or previous secret's).
    pub digest: Vec<u8>,
    /// Set when the secret presented is the one replaced by the last rotation: it is accepted
    /// only until this time (`None`: not at all).
    pub previous_secret_until: Option<Option<Timestamp>>,
}

/// Which tokens an administrator lists.
#[derive(Clone, Debug, Default)]
pub struct TokenFilter {
    pub owner: Option<UserId>,
    pub kind: Option<TokenKind>,
    pub expiring_before: Option<Timestamp>,
    pub created_before: Option<Timestamp>,
    pub last_used_before: Option<Timestamp>,
    pub never_used: bool,
    pub include_revoked: bool,
    /// Not used since this time (and made before it).
    pub unused_since: Option<Timestamp>,
    /// Not expired at this time.
    pub live_at: Option<Timestamp>,
}

/// Uses of one token since the last flush, coalesced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenUse {
    pub id: TokenId,
    pub last_used: Timestamp,
    pub last_ip: String,
    pub count: i64,
}

/// The rules for new tokens: lifetime, who may create them, how many one user may hold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct TokenPolicy {
    /// Lifetime of a token created without `expirationDuration`; `None`: no expiry (only if
    /// allowed).
    pub default_lifetime_days: Option<u32>,
    /// Longest lifetime a token may be given; `None`: no limit.
    pub max_lifetime_days: Option<u32>,
    /// Whether a token may be created without an expiry.
    pub allow_non_expiring: bool,
    /// Groups whose members may create personal tokens; empty for everyone.
    pub creator_groups: Vec<String>,
    /// Most live tokens (not revoked, not expired) one user or service account may hold;
    /// `None`: no limit.
    pub max_per_user: Option<u32>,
}

impl Default for TokenPolicy {
    fn default() -> Self {
        Self {
            default_lifetime_days: Some(90),
            max_lifetime_days: Some(365),
            allow_non_expiring: false,
            creator_groups: Vec::new(),
            max_per_user: None,
        }
    }
}

/// The longest lifetime a policy may name (a hundred years).
pub const MAX_LIFETIME_DAYS: u32 = 36_500;

const DAY: Duration = Duration::from_secs(24 * 60 * 60);
pub const MAX_TOKEN_NAME_CHARS: usize = 255;
pub const MAX_ALLOWED_IPS: usize = 100;

/// A token request, as the client sent it (before validation).
#[derive(Clone, Debug, Default)]
pub struct TokenRequest {
    pub name: String,
    /// Days until expiry; `Some(0)` asks for no expiry.
    pub expiration_days: Option<i64>,
    /// Scope names; `None` for everything the owner can do.
    pub scopes: Option<Vec<String>>,
    /// CIDR ranges or single addresses; `None` for anywhere.
    pub allowed_ips: Option<Vec<String>>,
}

/// What a validated request asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenTerms {
    pub name: String,
    pub expires: Option<Timestamp>,
    pub scopes: Scopes,
    pub allowed_ips: Vec<IpNet>,
}

impl TokenPolicy {
    /// Whether a member of `groups` may create personal tokens.
    pub fn may_create(&self, groups: &[String]) -> bool {
        self.creator_groups.is_empty() || self.creator_groups.iter().any(|g| groups.contains(g))
    }

    /// Whether the rules are coherent: a default within the maximum, and a default expiry
    /// unless tokens may live for ever.
    pub fn check(&self) -> Result<(), String> {
        let days = [self.default_lifetime_days, self.max_lifetime_days];
        if days
            .iter()
            .flatten()
            .any(|d| *d == 0 || *d > MAX_LIFETIME_DAYS)
        {
            return Err(format!(
                "Lifetimes are from 1 to {MAX_LIFETIME_DAYS} days (null for none)."
            ));
        }
        if let (Some(default), Some(max)) = (self.default_lifetime_days, self.max_lifetime_days)
            && default > max
        {
            return Err(format!(
                "The default lifetime ({default} days) exceeds the maximum ({max} days)."
            ));
        }
        if self.default_lifetime_days.is_none() && !self.allow_non_expiring {
            return Err(
                "Without a default lifetime, tokens would never expire: allow non-expiring \
                 tokens or give a default."
                    .into(),
            );
        }
        if self.max_per_user == Some(0) {
            return Err("maxPerUser must be at least 1 (null for no limit).".into());
        }
        Ok(())
    }

    /// Checks a request against the policy; every problem is reported, by field.
    pub fn terms(&self, request: &TokenRequest, now: Timestamp) -> Result<TokenTerms, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = request.name.trim();
        if name.is_empty() {
            errors.add_field("name", "A token name is required.");
        } else if name.chars().count() > MAX_TOKEN_NAME_CHARS {
            errors.add_field(
                "name",
                format!("A token name is at most {MAX_TOKEN_NAME_CHARS} characters."),
            );
        } else if name.chars().any(char::is_control) {
            errors.add_field("name", "A token name cannot contain control characters.");
        }
        let days = match request.expiration_days {
            None => self.default_lifetime_days.map(i64::from),
            Some(0) => None,
            Some(days) => Some(days),
        };
        let expires = match days {
            Some(days) if days < 0 => {
                errors.add_field(
                    "expirationDuration",
                    "The expiration must be a positive number of days.",
                );
                None
            }
            Some(days) => {
                if let Some(max) = self.max_lifetime_days
                    && days > i64::from(max)
                {
                    errors.add_field(
                        "expirationDuration",
                        format!("Tokens may live at most {max} days."),
                    );
                }
                let days = u32::try_from(days.min(100 * 365)).unwrap_or(u32::MAX);
                Some(now.plus(DAY * days))
            }
            None => {
                if !self.allow_non_expiring {
                    errors.add_field(
                        "expirationDuration",
                        "Tokens without an expiry are not allowed here: give a number of days.",
                    );
                }
                None
            }
        };
        let scopes = match &request.scopes {
            None => Scopes::all(),
            Some(names) => {
                let mut scopes = Scopes::empty();
                for name in names {
                    match parse_scope(name.trim()) {
                        Some(set) => scopes = scopes.union(set),
                        None => errors.add_field("scopes", format!("'{name}' is not a scope.")),
                    }
                }
                if names.is_empty() {
                    errors.add_field("scopes", "Give at least one scope, or leave scopes out.");
                }
                scopes
            }
        };
        let mut allowed_ips = Vec::new();
        for entry in request.allowed_ips.iter().flatten() {
            match parse_network(entry) {
                Some(net) => allowed_ips.push(net),
                None => errors.add_field(
                    "allowedIps",
                    format!("'{entry}' is not an IP address or CIDR range."),
                ),
            }
        }
        if allowed_ips.len() > MAX_ALLOWED_IPS {
            errors.add_field("allowedIps", format!("At most {MAX_ALLOWED_IPS} ranges."));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(TokenTerms {
            name: name.to_string(),
            expires,
            scopes,
            allowed_ips,
        })
    }
}

/// Scopes as stored: space-separated fine names, in a fixed order.
pub fn scopes_to_text(scopes: Scopes) -> String {
    scopes.iter().map(Scope::name).collect::<Vec<_>>().join(" ")
}

/// The inverse of [`scopes_to_text`]; unknown names are dropped (a token never gains scope
/// from text it does not understand).
pub fn scopes_from_text(text: &str) -> Scopes {
    text.split_whitespace()
        .filter_map(|name| Scope::ALL.iter().copied().find(|s| s.name() == name))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(days: Option<i64>) -> TokenRequest {
        TokenRequest {
            name: "ci".into(),
            expiration_days: days,
            ..TokenRequest::default()
        }
    }

    #[test]
    fn lifetime_follows_the_policy() {
        let now = Timestamp::from_millis(1_000);
        let policy = TokenPolicy::default();
        let terms = policy.terms(&request(None), now).unwrap();
        assert_eq!(terms.expires, Some(now.plus(DAY * 90)));
        assert_eq!(terms.scopes, Scopes::all());
        let terms = policy.terms(&request(Some(7)), now).unwrap();
        assert_eq!(terms.expires, Some(now.plus(DAY * 7)));
        let too_long = policy.terms(&request(Some(366)), now).unwrap_err();
        assert!(too_long.fields.contains_key("expirationDuration"));
        let never = policy.terms(&request(Some(0)), now).unwrap_err();
        assert!(never.fields.contains_key("expirationDuration"));
        assert!(policy.terms(&request(Some(-1)), now).is_err());
        let lenient = TokenPolicy {
            default_lifetime_days: None,
            max_lifetime_days: None,
            allow_non_expiring: true,
            ..TokenPolicy::default()
        };
        assert_eq!(lenient.terms(&request(None), now).unwrap().expires, None);
        assert_eq!(lenient.terms(&request(Some(0)), now).unwrap().expires, None);
    }

    #[test]
    fn names_scopes_and_networks_are_checked() {
        let now = Timestamp::from_millis(0);
        let policy = TokenPolicy::default();
        let bad = TokenRequest {
            name: " ".into(),
            scopes: Some(vec!["READ".into(), "read".into()]),
            allowed_ips: Some(vec!["10.0.0.0/8".into(), "10.0.0.300".into()]),
            ..TokenRequest::default()
        };
        let errors = policy.terms(&bad, now).unwrap_err();
        assert_eq!(errors.fields.len(), 3, "{errors:?}");
        let good = TokenRequest {
            name: "bot".into(),
            scopes: Some(vec!["READ".into(), "write:jira-work".into()]),
            allowed_ips: Some(vec!["10.1.2.3/8".into(), "2001:db8::1".into()]),
            ..TokenRequest::default()
        };
        let terms = policy.terms(&good, now).unwrap();
        assert!(terms.scopes.contains(Scope::WriteJiraWork));
        assert!(!terms.scopes.contains(Scope::ManageJiraProject));
        assert_eq!(terms.allowed_ips[0].to_string(), "10.0.0.0/8");
        assert_eq!(terms.allowed_ips[1].to_string(), "2001:db8::1/128");
        assert_eq!(
            scopes_from_text(&scopes_to_text(terms.scopes)),
            terms.scopes
        );
        assert_eq!(
            parse_network("::ffff:10.1.0.0/112").unwrap().to_string(),
            "10.1.0.0/16"
        );
        assert_eq!(
            parse_network("::ffff:192.0.2.7").unwrap().to_string(),
            "192.0.2.7/32"
        );
        assert_eq!(parse_network("::ffff:0.0.0.0/80"), None);
        assert_eq!(
            scopes_from_text("nonsense read:jira-work").iter().count(),
            1
        );
    }

    #[test]
    fn allowlists_match_mapped_ipv4() {
        let token = Token {
            id: TokenId(1),
            kind: TokenKind::Personal,
            owner: UserId(1),
            owner_name: "a".into(),
            name: "t".into(),
            scopes: Scopes::all(),
            projects: None,
            allowed_ips: vec![parse_network("192.0.2.0/24").unwrap()],
            created: Timestamp::from_millis(0),
            created_by: None,
            expires: None,
            revoked: None,
            last_used: None,
            last_used_ip: None,
            use_count: 0,
        };
        assert!(token.is_allowed_from("192.0.2.7".parse().unwrap()));
        assert!(token.is_allowed_from("::ffff:192.0.2.7".parse().unwrap()));
        assert!(!token.is_allowed_from("198.51.100.1".parse().unwrap()));
        assert!(!token.is_allowed_from("2001:db8::1".parse().unwrap()));
    }
}
