//! Every kind of credential, one file each, behind one contract.
//!
//! [`parse`] is the only code that reads `Authorization` and the session cookie; it yields the
//! [`Credential`] as sent, which [`Presented::of`] names by kind (the secret prefixes are told
//! apart by `tessera_core::secrets`). Each kind's [`Verifier`] checks its secret and answers with a
//! [`Verified`] (who, by which method, what the credential allows) or a [`Rejection`] (the
//! error and the audit event that records it). The [`crate::Authenticator`] is the pipeline
//! around them: it applies the policy's rules before and after, builds the principal and
//! records every refusal the same way.
//!
//! Adding a kind: a variant of [`Presented`] (the compiler then asks for its method and its
//! arm in the pipeline), a file here with its verifier, and a variant of
//! `tessera_core::principal::AuthMethod` (the compiler then asks for its policy name).
//!
//! Security invariants kept here: a verifier never admits a credential the policy refuses (it
//! has no say in the policy at all: the pipeline admits once the verifier has answered), and a
//! rejection never tells more than its reason code.

pub mod external_jwt;
pub mod introspected;
pub mod oauth1;
pub mod oauth2_access;
pub mod parse;
pub mod password;
pub mod password_cache;
pub mod pat;
pub mod session;

use std::net::IpAddr;

use ipnet::IpNet;

use secrecy::{ExposeSecret, SecretString};
use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::clock::Timestamp;
use tessera_core::identity::ProviderId;
use tessera_core::ids::{ProjectId, TokenId};
use tessera_core::model::User;
use tessera_core::net::canonical_ip;
use tessera_core::principal::{AuthMethod, OAuth1Caller, OAuth2Caller, Principal};
use tessera_core::scopes::Scopes;
use tessera_core::store::{StoreError, UserAccess};

pub use parse::{
    Credential, CredentialError, basic, cookie, from_headers, oauth1_params, session_cookies,
};

use crate::credentials::session::SessionId;
use crate::error::{AuthError, TokenRejection};
use tessera_core::secrets::SecretKind;

/// A credential named by its kind, read from its shape alone (before anything is checked).
/// Closed: a new kind is a compile error until the pipeline routes it.
#[derive(Debug)]
pub enum Presented {
    /// `Authorization: Basic` with a password.
    Password {
        username: String,
        password: SecretString,
    },
    /// A personal access token or a service key: Bearer, or with `basic_user` in a Basic
    /// password.
    Token {
        raw: SecretString,
        basic_user: Option<String>,
    },
    /// `Authorization: Bearer` with an OAuth 2.0 access token.
    OAuth2Access(SecretString),
    /// The `JSESSIONID` cookie.
    Session(SessionId),
    /// `Authorization: OAuth`: a request signed by an OAuth 1.0a application link (the
    /// header's parameters).
    OAuth1(Vec<(String, String)>),
    /// `Authorization: Bearer` with a JWT (of no tessera kind): an external identity
    /// provider's.
    ExternalJwt(SecretString),
    /// A Bearer value of no kind tessera issues, nor a JWT: perhaps an identity provider's
    /// opaque token.
    Opaque(SecretString),
}

impl Presented {
    /// `Ok(None)` for an anonymous request; a session cookie tessera cannot have issued is
    /// refused (it is simply not valid).
    pub fn of(credential: Credential) -> Result<Option<Self>, AuthError> {
        Ok(Some(match credential {
            Credential::None => return Ok(None),
            Credential::Session(None) => return Err(AuthError::SessionInvalid),
            Credential::Session(Some(session)) => Self::Session(session),
            Credential::OAuth1(params) => Self::OAuth1(params),
            Credential::Bearer(raw) => match SecretKind::of(raw.expose_secret()) {
                Some(SecretKind::OAuth2Access) => Self::OAuth2Access(raw),
                None if external_jwt::looks_like_jwt(raw.expose_secret()) => Self::ExternalJwt(raw),
                None => Self::Opaque(raw),
                _ => Self::Token {
                    raw,
                    basic_user: None,
                },
            },
            Credential::Basic { username, password } => {
                if SecretKind::of(password.expose_secret()).is_some_and(SecretKind::is_api_token) {
                    Self::Token {
                        raw: password,
                        basic_user: Some(username),
                    }
                } else {
                    Self::Password { username, password }
                }
            }
        }))
    }

    /// The method the credential claims (what the policy's method rules decide on).
    pub fn method(&self) -> AuthMethod {
        match self {
            Self::Password { .. } => AuthMethod::BasicPassword,
            Self::Session(_) => AuthMethod::Session,
            Self::OAuth2Access(_) => AuthMethod::OAuth2,
            Self::OAuth1(_) => AuthMethod::OAuth1,
            Self::ExternalJwt(_) => AuthMethod::ExternalJwt,
            // Checked before anyone knows what it is: as any unknown bearer token.
            Self::Opaque(_) => AuthMethod::BearerToken,
            Self::Token { raw, basic_user } => {
                match (SecretKind::of(raw.expose_secret()), basic_user) {
                    (Some(SecretKind::ServiceKey), _) => AuthMethod::ServiceKey,
                    (_, Some(_)) => AuthMethod::BasicToken,
                    (_, None) => AuthMethod::BearerToken,
                }
            }
        }
    }

    /// The user name the request claims, for the audit of a refusal before verification.
    pub fn claimed_user(&self) -> Option<&str> {
        match self {
            Self::Password { username, .. } => Some(username),
            Self::Token { basic_user, .. } => basic_user.as_deref(),
            Self::OAuth2Access(_)
            | Self::Session(_)
            | Self::OAuth1(_)
            | Self::ExternalJwt(_)
            | Self::Opaque(_) => None,
        }
    }
}

/// Where a credential is being verified from.
#[derive(Clone, Copy, Debug)]
pub struct Attempt<'a> {
    pub client_ip: IpAddr,
    /// The client's `User-Agent`, cut short.
    pub user_agent: Option<&'a str>,
}

/// What a credential limits its user to.
#[derive(Clone, Debug)]
pub struct Limits {
    pub scopes: Scopes,
    /// Projects the credential is limited to; `None` for no limit.
    pub projects: Option<Vec<ProjectId>>,
    /// Addresses the credential may be used from; empty for anywhere.
    pub allowed_ips: Vec<IpNet>,
}

impl Limits {
    /// A password or a session: everything the user may do, from anywhere.
    pub fn none() -> Self {
        Self {
            scopes: Scopes::all(),
            projects: None,
            allowed_ips: Vec::new(),
        }
    }

    /// Whether the credential may be used from `ip`.
    pub fn admits(&self, ip: IpAddr) -> bool {
        let ip = canonical_ip(ip);
        self.allowed_ips.is_empty() || self.allowed_ips.iter().any(|net| net.contains(&ip))
    }
}

/// Whether a verified credential's answer may be remembered, and for how long: what a
/// verified-credential cache keyed by the credential's digest would honour. Revocations,
/// policy and group changes are the cache's to hear of; this is only the credential's own end.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cacheable {
    /// Never remembered: passwords (they have their own short-lived cache) and sessions
    /// (whose idle time moves with every use).
    Never,
    /// Until the credential expires.
    Until(Timestamp),
    /// Until something revokes it: the credential itself never expires.
    UntilRevoked,
}

/// A verified credential: what every kind hands back to the pipeline.
#[derive(Debug)]
pub struct Verified {
    pub user: User,
    pub method: AuthMethod,
    /// A non-secret reference to the credential, for logs and the usage figures
    /// (`token:ID`, `oauth:GRANT`, `oauthclient:KEY`, a session's short id).
    pub credential_ref: Option<String>,
    pub token: Option<TokenId>,
    pub limits: Limits,
    pub oauth2: Option<OAuth2Caller>,
    pub oauth1: Option<OAuth1Caller>,
    pub external: Option<ProviderId>,
    /// For a session: the session, and until when its password was re-entered.
    pub session: Option<SessionId>,
    pub websudo_until: Option<Timestamp>,
    /// An event recording the success, once the policy has admitted it (a verified password).
    pub success_event: Option<AuditEvent>,
    /// Events of what verifying changed (a user provisioned, groups brought in line with an
    /// identity provider's): recorded as soon as the credential is verified, whatever the
    /// policy then decides, since the change is made.
    pub changes: Vec<AuditEvent>,
    /// Until when the answer may be remembered.
    pub cacheable: Cacheable,
}

impl Verified {
    /// A credential that stands for its user with no limits (a password).
    pub fn user(user: User, method: AuthMethod) -> Self {
        Self {
            user,
            method,
            credential_ref: None,
            token: None,
            limits: Limits::none(),
            oauth2: None,
            oauth1: None,
            external: None,
            session: None,
            websudo_until: None,
            success_event: None,
            changes: Vec::new(),
            cacheable: Cacheable::Never,
        }
    }

    /// The refusal of a credential presented from an address its allowlist excludes.
    pub fn refused_address(&self, now: Timestamp, attempt: Attempt<'_>) -> Rejection {
        let target = self
            .credential_ref
            .clone()
            .unwrap_or_else(|| "credential".into());
        let event = AuditEvent {
            actor_id: Some(self.user.id.0),
            credential_id: self.token.map(|id| id.to_string()),
            ..AuditEvent::anonymous(now, attempt.client_ip, "token.refused", target)
        }
        .outcome(Outcome::Denied)
        .actor_name(&self.user.name)
        .reason("ip_not_allowed")
        .user_agent(attempt.user_agent);
        Rejection::new(AuthError::IpNotAllowed, event)
    }

    /// The principal, once the policy has admitted the user's `access` (what the credential
    /// verified moves into it: nothing is copied on the request path).
    pub fn into_principal(self, access: UserAccess, attempt: Attempt<'_>) -> Principal {
        Principal {
            user: self.user,
            groups: access.groups,
            group_names: access.group_names,
            global: access.global,
            method: self.method,
            credential_ref: self.credential_ref,
            token: self.token,
            scopes: self.limits.scopes,
            projects: self.limits.projects,
            client_ip: attempt.client_ip,
            user_agent: attempt.user_agent.map(str::to_string),
            websudo_until: self.websudo_until,
            oauth2: self.oauth2,
            oauth1: self.oauth1,
            external: self.external,
        }
    }
}

/// A refused credential: the error the client gets and, when the refusal is worth one, the
/// audit event that records it (the pipeline records it, with one trace line).
#[derive(Debug)]
pub struct Rejection {
    pub error: AuthError,
    pub event: Option<AuditEvent>,
}

impl Rejection {
    pub fn new(error: AuthError, event: AuditEvent) -> Self {
        Self {
            error,
            event: Some(event),
        }
    }
}

impl From<AuthError> for Rejection {
    fn from(error: AuthError) -> Self {
        Self { error, event: None }
    }
}

impl From<StoreError> for Rejection {
    fn from(error: StoreError) -> Self {
        AuthError::from(error).into()
    }
}

/// The contract every credential kind implements.
pub trait Verifier: Send + Sync {
    /// What the kind's part of the request is (it may borrow from the request).
    type Input<'r>: Send
    where
        Self: 'r;

    fn verify<'r>(
        &'r self,
        input: Self::Input<'r>,
        attempt: Attempt<'r>,
    ) -> impl Future<Output = Result<Verified, Rejection>> + Send + 'r;
}

/// A refused token's rejection: `target` names the kind in the audit (`token`, `oauth2`).
pub fn token_refused(
    now: Timestamp,
    attempt: Attempt<'_>,
    target: &'static str,
    kind: Option<&'static str>,
    why: TokenRejection,
) -> Rejection {
    let mut event = AuditEvent::anonymous(now, attempt.client_ip, "token.refused", target)
        .outcome(Outcome::Failure)
        .reason(why.reason_code())
        .user_agent(attempt.user_agent);
    event.credential_kind = kind.map(str::to_string);
    Rejection::new(AuthError::Token(why), event)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secret(text: &str) -> SecretString {
        SecretString::from(text.to_string())
    }

    fn kind_of(credential: Credential) -> Option<(AuthMethod, Option<String>)> {
        Presented::of(credential)
            .unwrap()
            .map(|p| (p.method(), p.claimed_user().map(str::to_string)))
    }

    #[test]
    fn a_credential_is_named_by_its_shape_alone() {
        let bearer = |raw: &str| Credential::Bearer(secret(raw));
        let basic = |user: &str, password: &str| Credential::Basic {
            username: user.into(),
            password: secret(password),
        };
        assert_eq!(kind_of(Credential::None), None);
        assert_eq!(kind_of(bearer("tsoat_x")), Some((AuthMethod::OAuth2, None)));
        assert_eq!(
            kind_of(bearer("tspat_x")),
            Some((AuthMethod::BearerToken, None))
        );
        assert_eq!(
            kind_of(bearer("tskey_x")),
            Some((AuthMethod::ServiceKey, None))
        );
        // A Bearer secret of no known kind is still a token (and refused as malformed).
        assert_eq!(
            kind_of(bearer("opaque")),
            Some((AuthMethod::BearerToken, None))
        );
        let dev = Some("dev".to_string());
        assert_eq!(
            kind_of(basic("dev", "tspat_x")),
            Some((AuthMethod::BasicToken, dev.clone()))
        );
        assert_eq!(
            kind_of(basic("dev", "tskey_x")),
            Some((AuthMethod::ServiceKey, dev.clone()))
        );
        // Only personal tokens and keys go in a Basic password; anything else is a password.
        assert_eq!(
            kind_of(basic("dev", "tsoat_x")),
            Some((AuthMethod::BasicPassword, dev.clone()))
        );
        assert_eq!(
            kind_of(basic("dev", "hunter2")),
            Some((AuthMethod::BasicPassword, dev))
        );
        assert!(matches!(
            Presented::of(Credential::Session(None)),
            Err(AuthError::SessionInvalid)
        ));
    }

    #[test]
    fn limits_admit_addresses_in_their_list_in_canonical_form() {
        let anywhere = Limits::none();
        assert!(anywhere.admits("203.0.113.9".parse().unwrap()));
        let office = Limits {
            allowed_ips: vec!["10.0.0.0/8".parse().unwrap()],
            ..Limits::none()
        };
        assert!(office.admits("10.1.2.3".parse().unwrap()));
        assert!(
            office.admits("::ffff:10.1.2.3".parse().unwrap()),
            "IPv4 on a dual stack"
        );
        assert!(!office.admits("203.0.113.9".parse().unwrap()));
    }
}
