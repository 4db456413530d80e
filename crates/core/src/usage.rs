//! API use per credential: requests per day, and the client addresses each credential was used
//! from (with the last user agent seen there). It feeds the administrators' usage view (which
//! credentials lie unused, which were seen from a new network) and the audit event for the
//! first use of a credential from a new address.
//!
//! A credential is named without its secret: `token:<id>` for a personal token or service key,
//! `password:<user id>` for Basic with a password (and the logins that open sessions),
//! `session:<user id>` for requests carried by a session cookie, `oauth:<grant id>` for OAuth
//! 2.0 access tokens under a user's grant, `oauthclient:<client>` for a client's own tokens,
//! `oauth1:<token id>` for an OAuth 1.0a access token, `oauth1twolegged:<consumer id>` for an
//! application link's two-legged requests, `external:<provider id>` for an identity provider's
//! JWTs.

use std::net::IpAddr;

use crate::clock::Timestamp;
use crate::ids::{TokenId, UserId};
use crate::principal::{AuthMethod, Principal};

const DAY_MILLIS: i64 = 24 * 60 * 60 * 1000;

/// The day (since the Unix epoch, UTC) a time falls on.
pub fn day_of(at: Timestamp) -> i64 {
    at.as_millis().div_euclid(DAY_MILLIS)
}

/// The first moment of a day.
pub fn start_of_day(day: i64) -> Timestamp {
    Timestamp::from_millis(day.saturating_mul(DAY_MILLIS))
}

/// A credential, named without its secret. The text form (`token:ID`, `password:USER`,
/// `session:USER`, `oauth:GRANT`, `oauthclient:KEY`, `oauth1:TOKEN`) is stored in the usage tables and in
/// audit targets, so it never changes: `oauth` there means OAuth 2.0, and OAuth 1.0a takes
/// names of its own (`oauth1:`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    Token(TokenId),
    /// Basic with the user's password, and the logins that open sessions.
    Password(UserId),
    /// Requests carried by the user's session cookies.
    Session(UserId),
    /// OAuth 2.0 access tokens issued under a user's grant to a client.
    OAuth2Grant(crate::oauth2::GrantId),
    /// OAuth 2.0 access tokens a client got for its service account (`client_credentials`).
    OAuth2Client(crate::oauth2::ClientKey),
    /// An OAuth 1.0a access token (of one user, at one application link).
    OAuth1(i64),
    /// An application link's two-legged requests (as its run-as user).
    OAuth1TwoLegged(crate::oauth1::ConsumerId),
    /// JWTs of an external identity provider (its users' uses are told apart by user).
    External(crate::identity::ProviderId),
}

impl Credential {
    /// The credential a principal authenticated with.
    pub fn of(principal: &Principal) -> Self {
        if let Some(oauth) = &principal.oauth2 {
            return match oauth.grant {
                Some(grant) => Self::OAuth2Grant(grant),
                None => Self::OAuth2Client(oauth.client),
            };
        }
        if let Some(oauth1) = &principal.oauth1 {
            return match oauth1.token {
                Some(token) => Self::OAuth1(token),
                None => Self::OAuth1TwoLegged(oauth1.consumer),
            };
        }
        if let Some(provider) = principal.external {
            return Self::External(provider);
        }
        match (principal.token, principal.method) {
            (Some(token), _) => Self::Token(token),
            (None, AuthMethod::Session) => Self::Session(principal.user.id),
            (None, _) => Self::Password(principal.user.id),
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        let (kind, id) = text.split_once(':')?;
        let id: i64 = id.parse().ok()?;
        match kind {
            "token" => Some(Self::Token(TokenId(id))),
            "password" => Some(Self::Password(UserId(id))),
            "session" => Some(Self::Session(UserId(id))),
            "oauth" => Some(Self::OAuth2Grant(crate::oauth2::GrantId(id))),
            "oauthclient" => Some(Self::OAuth2Client(crate::oauth2::ClientKey(id))),
            "oauth1" => Some(Self::OAuth1(id)),
            "oauth1twolegged" => Some(Self::OAuth1TwoLegged(crate::oauth1::ConsumerId(id))),
            "external" => Some(Self::External(crate::identity::ProviderId(id))),
            _ => None,
        }
    }
}

impl std::fmt::Display for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Token(id) => write!(f, "token:{id}"),
            Self::Password(user) => write!(f, "password:{user}"),
            Self::Session(user) => write!(f, "session:{user}"),
            Self::OAuth2Grant(grant) => write!(f, "oauth:{grant}"),
            Self::OAuth2Client(client) => write!(f, "oauthclient:{}", client.0),
            Self::OAuth1(token) => write!(f, "oauth1:{token}"),
            Self::OAuth1TwoLegged(consumer) => write!(f, "oauth1twolegged:{consumer}"),
            Self::External(provider) => write!(f, "external:{provider}"),
        }
    }
}

/// Uses of one credential from one address since the last flush, coalesced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientUse {
    pub ip: String,
    pub user_agent: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub requests: i64,
}

/// Uses of one credential since the last flush, coalesced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CredentialUse {
    pub credential: String,
    pub user_id: UserId,
    /// Requests per day.
    pub days: Vec<(i64, i64)>,
    pub clients: Vec<ClientUse>,
}

/// An address a credential was used from, as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientSeen {
    pub credential: String,
    pub user_id: UserId,
    /// The credential owner's name (filled in by listings).
    pub user_name: Option<String>,
    pub ip: String,
    pub user_agent: Option<String>,
    pub first_seen: Timestamp,
    pub last_seen: Timestamp,
    pub requests: i64,
}

impl ClientSeen {
    /// The network the address stands for: the IPv4 /24 or the IPv6 /64 around it (IPv6
    /// clients are kept as their /64 already).
    pub fn network(&self) -> Option<ipnet::IpNet> {
        let ip: IpAddr = match self.ip.parse::<ipnet::IpNet>() {
            Ok(net) => net.network(),
            Err(_) => self.ip.parse().ok()?,
        };
        let prefix = if ip.is_ipv4() { 24 } else { 64 };
        ipnet::IpNet::new(ip, prefix).ok().map(|net| net.trunc())
    }
}

/// One credential's use: requests per day (newest first) and its latest addresses.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UsageReport {
    pub days: Vec<(i64, i64)>,
    pub clients: Vec<ClientSeen>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_credential_reads_back_as_written() {
        let every = [
            Credential::Token(TokenId(7)),
            Credential::Password(UserId(3)),
            Credential::Session(UserId(3)),
            Credential::OAuth2Grant(crate::oauth2::GrantId(9)),
            Credential::OAuth2Client(crate::oauth2::ClientKey(4)),
            Credential::OAuth1(11),
            Credential::OAuth1TwoLegged(crate::oauth1::ConsumerId(2)),
            Credential::External(crate::identity::ProviderId(5)),
        ];
        for credential in every {
            assert_eq!(Credential::parse(&credential.to_string()), Some(credential));
        }
        assert_eq!(Credential::OAuth1(11).to_string(), "oauth1:11");
        assert_eq!(Credential::parse("oauth1:x"), None);
        assert_eq!(Credential::parse("kerberos:1"), None);
    }
}
