//! The errors of authentication: why a credential was refused, each with a stable reason
//! code and a message that says no more than that reason (which user names exist, which
//! groups a user is in and what a token's record holds are never told).

use std::time::Duration;

use tessera_core::error::Denied;
use tessera_core::policy::PolicyDenial;
use tessera_core::store::StoreError;

use crate::hashing::HashError;
use crate::oauth1::verify::Problem;
use crate::policy::PolicyError;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("{0}")]
    Credential(#[from] CredentialError),
    /// Wrong username or password (or unknown, or deactivated: the same answer).
    #[error("Login failed")]
    BadCredentials,
    /// The session cookie names no live session.
    #[error("Your session is not valid or has expired. Please log in again.")]
    SessionInvalid,
    #[error("{0}")]
    Xsrf(XsrfFailure),
    #[error("{0}")]
    Token(TokenRejection),
    /// A JWT from an external identity provider, refused.
    #[error("{0}")]
    Jwt(JwtRejection),
    /// A request signed by an OAuth 1.0a application link, refused: Jira's `oauth_problem`.
    #[error("The OAuth 1.0a request was refused: {0}.")]
    OAuth1(Problem),
    /// Too many failed password attempts for this user name or from this network: password
    /// logins wait (tokens and sessions are not affected).
    #[error("Too many failed logins: password logins are suspended for a while.")]
    LoginThrottled { retry_after: Duration },
    /// A valid token presented from an address its allowlist excludes.
    #[error("The token may not be used from this address.")]
    IpNotAllowed,
    /// The access policy refuses the request (method, address or group).
    #[error("{0}")]
    Denied(PolicyDenial),
    /// The user may not use tessera at all (Jira's application access, the USE permission):
    /// a login is refused before any session is opened.
    #[error("{0}")]
    Forbidden(Denied),
    #[error("The server is busy checking passwords; try again shortly.")]
    Busy,
    /// The client's address spent its rate budget on failed credentials, and this credential
    /// is not one answered from memory: refused unverified (see [`crate::RequestInfo`]).
    #[error("Too many failed credentials from this address: wait before trying again.")]
    Penalized,
    #[error("authentication failed internally: {0}")]
    Internal(String),
}

impl AuthError {
    /// A stable code for why, as metrics label the refusals (no detail a client sent).
    pub fn reason_code(&self) -> &'static str {
        match self {
            Self::Credential(_) => "malformed",
            Self::BadCredentials => "bad_credentials",
            Self::SessionInvalid => "session_invalid",
            Self::Xsrf(_) => "xsrf_check_failed",
            Self::Token(rejection) => rejection.reason_code(),
            Self::Jwt(rejection) => rejection.reason_code(),
            Self::OAuth1(problem) => problem.name(),
            Self::LoginThrottled { .. } => "login_throttled",
            Self::IpNotAllowed => "ip_not_allowed",
            Self::Denied(denial) => denial.reason_code(),
            Self::Forbidden(denied) => denied.reason_code(),
            Self::Busy => "busy",
            Self::Penalized => "penalized",
            Self::Internal(_) => "internal",
        }
    }

    /// Whether the request failed for its credential (wrong, unknown, malformed, expired or
    /// revoked, or a token used from an address its allowlist excludes): such failures are
    /// paid for from the client address's rate budget. Not a refusal of a good credential by
    /// the policy or the XSRF rule (a forged cross-site request must not cost its victim),
    /// nor the server being busy or failing.
    pub fn is_failed_credential(&self) -> bool {
        matches!(
            self,
            Self::Credential(_)
                | Self::BadCredentials
                | Self::SessionInvalid
                | Self::Token(_)
                | Self::Jwt(_)
                | Self::OAuth1(_)
                | Self::IpNotAllowed
        )
    }
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<PolicyError> for AuthError {
    fn from(error: PolicyError) -> Self {
        Self::Internal(error.to_string())
    }
}

impl From<HashError> for AuthError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => Self::Busy,
            other => Self::Internal(other.to_string()),
        }
    }
}

/// Why a token was refused. Each has a stable reason code; none says more than its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    #[error("The token is malformed.")]
    Malformed,
    #[error("The token is not valid.")]
    Unknown,
    #[error("The token has expired.")]
    Expired,
    #[error("The token has been revoked.")]
    Revoked,
    #[error("The token has been replaced by a rotation.")]
    Rotated,
    #[error("The token's owner is deactivated.")]
    OwnerInactive,
}

impl TokenRejection {
    pub fn reason_code(self) -> &'static str {
        match self {
            Self::Malformed => "token_malformed",
            Self::Unknown => "token_unknown",
            Self::Expired => "token_expired",
            Self::Revoked => "token_revoked",
            Self::Rotated => "token_rotated",
            Self::OwnerInactive => "token_owner_inactive",
        }
    }
}

/// Why a JWT from an external identity provider was refused. Each has a stable reason code;
/// none says more than its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JwtRejection {
    #[error("The token has expired.")]
    Expired,
    #[error("The token is not valid yet.")]
    NotYetValid,
    #[error("The token is not meant for this server (audience).")]
    Audience,
    #[error("The token's issuer is not a trusted identity provider.")]
    IssuerUnknown,
    #[error("The token's signature is not valid.")]
    Signature,
    #[error("The token is signed with a key its provider does not publish.")]
    KeyUnknown,
    #[error("The token's signing algorithm is not accepted.")]
    Algorithm,
    #[error("The token's user is not known here.")]
    UserUnknown,
    #[error("The token is malformed.")]
    Malformed,
    #[error("The token's identity provider is disabled.")]
    ProviderDisabled,
    /// An ID token without the nonce of the sign-in it answers (a replayed or injected one).
    #[error("The sign-in's answer does not belong to it (nonce).")]
    Nonce,
    /// An opaque token its provider does not know as active (RFC 7662).
    #[error("The token is not active.")]
    Inactive,
    /// No provider could be asked about an opaque token (fails closed).
    #[error("The token cannot be checked now: its identity provider does not answer.")]
    IntrospectionUnavailable,
}

impl JwtRejection {
    pub fn reason_code(self) -> &'static str {
        match self {
            Self::Expired => "jwt_expired",
            Self::NotYetValid => "jwt_not_yet_valid",
            Self::Audience => "jwt_audience",
            Self::IssuerUnknown => "jwt_issuer_unknown",
            Self::Signature => "jwt_signature",
            Self::KeyUnknown => "jwt_key_unknown",
            Self::Algorithm => "jwt_algorithm",
            Self::UserUnknown => "jwt_user_unknown",
            Self::Malformed => "jwt_malformed",
            Self::ProviderDisabled => "provider_disabled",
            Self::Nonce => "jwt_nonce",
            Self::Inactive => "token_inactive",
            Self::IntrospectionUnavailable => "introspection_unavailable",
        }
    }
}

/// Why a cookie-authenticated request failed the XSRF rule (both say no more than that).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum XsrfFailure {
    #[error("XSRF check failed")]
    CrossSite,
    #[error("XSRF check failed")]
    TokenMissing,
}

/// Why the credential a request carries cannot be read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    #[error("The request carries more than one credential.")]
    Multiple,
    #[error("The Authorization header is malformed.")]
    Malformed,
    #[error("The authentication scheme is not supported.")]
    UnsupportedScheme,
}

/// The `WWW-Authenticate` challenge of a refusal (RFC 9110 §11.6.1): the schemes a client may
/// retry with. It travels with the error, so that each kind of credential answers with its
/// own (a refused token says why, RFC 6750 §3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Challenge {
    /// `Basic`: a password, or a token in its place.
    Basic,
    /// `Bearer` with `error="invalid_token"` and the reason, then `Basic`.
    InvalidToken(TokenRejection),
    /// `Bearer` with `error="invalid_token"` and the JWT's reason, then `Basic`.
    InvalidJwt(JwtRejection),
    /// `OAuth` with the `oauth_problem` (the OAuth Problem Reporting extension Jira's
    /// clients read), then `Basic`.
    OAuth1(Problem),
}

impl Challenge {
    /// The header values, in order.
    pub fn header_values(self) -> Vec<String> {
        let basic = "Basic realm=\"tessera\"".to_string();
        match self {
            Self::Basic => vec![basic],
            Self::InvalidToken(rejection) => vec![
                format!(
                    "Bearer realm=\"tessera\", error=\"invalid_token\", error_description=\"{rejection}\""
                ),
                basic,
            ],
            Self::InvalidJwt(rejection) => vec![
                format!(
                    "Bearer realm=\"tessera\", error=\"invalid_token\", error_description=\"{rejection}\""
                ),
                basic,
            ],
            Self::OAuth1(problem) => vec![
                format!(
                    "OAuth realm=\"tessera\", oauth_problem=\"{}\"",
                    problem.name()
                ),
                basic,
            ],
        }
    }
}

impl AuthError {
    /// The challenge a 401 answers with; `None` for a refusal that is not a 401.
    pub fn challenge(&self) -> Option<Challenge> {
        match self {
            Self::Credential(CredentialError::UnsupportedScheme)
            | Self::BadCredentials
            | Self::SessionInvalid => Some(Challenge::Basic),
            Self::Token(rejection) => Some(Challenge::InvalidToken(*rejection)),
            Self::OAuth1(problem) => Some(Challenge::OAuth1(*problem)),
            Self::Jwt(rejection) => Some(Challenge::InvalidJwt(*rejection)),
            Self::Credential(CredentialError::Multiple | CredentialError::Malformed)
            | Self::Xsrf(_)
            | Self::LoginThrottled { .. }
            | Self::IpNotAllowed
            | Self::Denied(_)
            | Self::Forbidden(_)
            | Self::Busy
            | Self::Penalized
            | Self::Internal(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_token_says_why_and_offers_basic() {
        let values = AuthError::Token(TokenRejection::Expired)
            .challenge()
            .unwrap()
            .header_values();
        assert_eq!(
            values,
            [
                "Bearer realm=\"tessera\", error=\"invalid_token\", error_description=\"The token has expired.\"",
                "Basic realm=\"tessera\"",
            ]
        );
        assert_eq!(
            AuthError::BadCredentials.challenge(),
            Some(Challenge::Basic)
        );
        assert_eq!(AuthError::Busy.challenge(), None);
    }
}
