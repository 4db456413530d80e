//! Who is calling, how they proved it, what their credential allows and from where. Built by
//! the authenticators, read by the authorizer; handlers never see the credential itself.

use std::net::IpAddr;

use crate::clock::Timestamp;
use crate::ids::{ProjectId, TokenId};
use crate::model::User;
use crate::permissions::{GlobalPermission, GlobalPermissions};
use crate::scopes::Scopes;

/// How the caller authenticated. The serialised names are the policy's method names.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum AuthMethod {
    /// `Authorization: Basic` with the user's password.
    BasicPassword,
    /// The `JSESSIONID` cookie of a session opened with `POST /rest/auth/1/session`.
    Session,
    /// `Authorization: Basic` with a personal access token in the password's place.
    BasicToken,
    /// `Authorization: Bearer` with a personal access token.
    BearerToken,
    /// A service account's API key (Bearer or Basic).
    ServiceKey,
    /// An OAuth 2.0 access token (Bearer).
    #[serde(rename = "oauth2")]
    OAuth2,
    /// A request signed by an OAuth 1.0a application link, with an access token its user
    /// approved.
    #[serde(rename = "oauth1")]
    OAuth1,
    /// A JWT (Bearer) signed by a trusted external identity provider.
    ExternalJwt,
}

impl AuthMethod {
    pub const ALL: [Self; 8] = [
        Self::BasicPassword,
        Self::BasicToken,
        Self::BearerToken,
        Self::ServiceKey,
        Self::Session,
        Self::OAuth2,
        Self::OAuth1,
        Self::ExternalJwt,
    ];

    /// Stable name, used in logs, audit events and (with the policy) method rules.
    pub fn name(self) -> &'static str {
        match self {
            Self::BasicPassword => "basic_password",
            Self::Session => "session",
            Self::BasicToken => "basic_token",
            Self::BearerToken => "bearer_token",
            Self::ServiceKey => "service_key",
            Self::OAuth2 => "oauth2",
            Self::OAuth1 => "oauth1",
            Self::ExternalJwt => "external_jwt",
        }
    }

    /// Whether the credential is a token (which may not mint further tokens).
    pub fn is_token(self) -> bool {
        matches!(
            self,
            Self::BasicToken
                | Self::BearerToken
                | Self::ServiceKey
                | Self::OAuth2
                | Self::OAuth1
                | Self::ExternalJwt
        )
    }
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The user, as read when the credential was checked.
    pub user: User,
    /// The user's groups' keys (lower-case names): what memberships are matched by.
    pub groups: Vec<String>,
    /// The same groups, in the same order, as named for display.
    pub group_names: Vec<String>,
    pub global: GlobalPermissions,
    pub method: AuthMethod,
    /// A non-secret reference to the credential (a session's short id), for logs.
    pub credential_ref: Option<String>,
    /// The token presented, for token methods.
    pub token: Option<TokenId>,
    /// What the credential allows; everything for passwords and sessions.
    pub scopes: Scopes,
    /// Projects the credential is limited to; `None` for no limit.
    pub projects: Option<Vec<ProjectId>>,
    pub client_ip: IpAddr,
    /// The client's `User-Agent`, cut short, for the audit and the usage view.
    pub user_agent: Option<String>,
    /// For a session: until when its password was re-entered for administration (websudo).
    pub websudo_until: Option<Timestamp>,
    /// For an OAuth 2.0 access token: the client and the grant it was issued under.
    pub oauth2: Option<OAuth2Caller>,
    /// For an OAuth 1.0a signed request: the application link and the access token.
    pub oauth1: Option<OAuth1Caller>,
    /// For an external JWT: the identity provider that signed it.
    pub external: Option<crate::identity::ProviderId>,
}

/// Which OAuth 2.0 client a caller acts through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuth2Caller {
    pub client_id: String,
    pub client_name: String,
    /// `None` for a `client_credentials` token (no user consented).
    pub grant: Option<crate::oauth2::GrantId>,
    pub client: crate::oauth2::ClientKey,
}

/// Which OAuth 1.0a application link a caller acts through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OAuth1Caller {
    pub consumer_key: String,
    pub consumer_name: String,
    /// The access token's id (never its secret); `None` for a two-legged request, which
    /// acts as the consumer's run-as user.
    pub token: Option<i64>,
    pub consumer: crate::oauth1::ConsumerId,
}

impl Principal {
    pub fn has_global(&self, permission: GlobalPermission) -> bool {
        self.global.contains(permission)
    }

    /// Whether the caller has recently proven its password, as administrative changes need:
    /// Basic with a password proves it on every request, a session only within its websudo
    /// window, a token never (tokens are governed by their scopes instead).
    pub fn has_fresh_password(&self, now: Timestamp) -> bool {
        match self.method {
            AuthMethod::BasicPassword => true,
            AuthMethod::Session => self.websudo_until.is_some_and(|until| now < until),
            AuthMethod::BasicToken
            | AuthMethod::BearerToken
            | AuthMethod::ServiceKey
            | AuthMethod::OAuth2
            | AuthMethod::OAuth1
            | AuthMethod::ExternalJwt => false,
        }
    }

    /// The credential's id as audit events record it: the token id, or the session reference.
    pub fn credential_id(&self) -> Option<String> {
        self.token
            .map(|id| id.to_string())
            .or_else(|| self.credential_ref.clone())
    }
}

/// Anyone who sent a request: an authenticated principal or an anonymous client.
#[derive(Clone, Debug)]
pub enum Caller {
    Anonymous {
        client_ip: IpAddr,
    },
    /// Boxed: a principal is far larger than an anonymous caller.
    User(Box<Principal>),
}

impl Caller {
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Self::Anonymous { .. } => None,
            Self::User(principal) => Some(&**principal),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `ALL` is what the policy page, the policy's method rules and the access matrix walk:
    /// a method left out of it would be left out of all three. The match makes a new method
    /// a compile error here until it has a place, and the test fails until `ALL` holds it.
    #[test]
    fn all_lists_every_method_once() {
        fn place(method: AuthMethod) -> usize {
            match method {
                AuthMethod::BasicPassword => 0,
                AuthMethod::Session => 1,
                AuthMethod::BasicToken => 2,
                AuthMethod::BearerToken => 3,
                AuthMethod::ServiceKey => 4,
                AuthMethod::OAuth2 => 5,
                AuthMethod::OAuth1 => 6,
                AuthMethod::ExternalJwt => 7,
            }
        }
        let mut seen = [false; AuthMethod::ALL.len()];
        for method in AuthMethod::ALL {
            assert!(!seen[place(method)], "{method:?} is listed twice");
            seen[place(method)] = true;
        }
        assert!(seen.iter().all(|s| *s));
        let names: std::collections::HashSet<_> = AuthMethod::ALL.map(AuthMethod::name).into();
        assert_eq!(names.len(), AuthMethod::ALL.len(), "names are distinct");
    }
}
