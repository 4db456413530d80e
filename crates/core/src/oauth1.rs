//! OAuth 1.0a application links, as records and rules: consumers (an application registered
//! by an administrator with its RSA public key) and the nonces that make each signed request
//! single-use.
//!
//! The signature itself is the authentication crate's; what lives here is what a consumer is
//! and the rules for registering one. A consumer key is what clients send as
//! `oauth_consumer_key`, so it is kept exactly as registered (no case folding).

use crate::clock::Timestamp;
use crate::error::FieldErrors;
use crate::ids::UserId;
use crate::model::User;
use crate::scopes::Scopes;

/// A consumer's database key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConsumerId(pub i64);

impl std::fmt::Display for ConsumerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// Longest consumer key and name accepted.
pub const MAX_CONSUMER_KEY: usize = 255;
pub const MAX_CONSUMER_NAME: usize = 255;
/// Longest public key (PEM) accepted: an 8192-bit key's PEM is under 1.5 KB.
pub const MAX_PUBLIC_KEY: usize = 8 * 1024;
/// The callback value of a consumer that cannot receive one: the user copies the verifier.
pub const OUT_OF_BAND: &str = "oob";

/// An application link.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Consumer {
    pub id: ConsumerId,
    /// What the consumer sends as `oauth_consumer_key`.
    pub consumer_key: String,
    pub name: String,
    /// The RSA public key, PEM (`BEGIN PUBLIC KEY`).
    pub public_key: String,
    /// Where the user is sent after approving, or [`OUT_OF_BAND`].
    pub callback: String,
    pub created: Timestamp,
    pub created_by: Option<UserId>,
    /// Two-legged requests (signed by the consumer alone, without a user's token) act as this
    /// user, set by an administrator; `None`, the default: they are refused.
    pub run_as: Option<UserId>,
}

/// A consumer to store (already checked, its key already parsed as RSA).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewConsumer {
    pub consumer_key: String,
    pub name: String,
    pub public_key: String,
    pub callback: String,
    pub created: Timestamp,
    pub created_by: Option<UserId>,
    pub run_as: Option<UserId>,
}

/// A change to a consumer; `None` keeps the field.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ConsumerChanges {
    pub name: Option<String>,
    pub public_key: Option<String>,
    pub callback: Option<String>,
    /// `Some(None)` switches two-legged requests off.
    pub run_as: Option<Option<UserId>>,
}

/// What an OAuth 1.0a token is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuth1TokenKind {
    /// The first leg's temporary credentials (RFC 5849 §2.1): approved by a user, then
    /// exchanged once.
    Request,
    /// Token credentials (§2.3): what signed API requests carry.
    Access,
}

impl OAuth1TokenKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Request => "request",
            Self::Access => "access",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "request" => Some(Self::Request),
            "access" => Some(Self::Access),
            _ => None,
        }
    }
}

/// A token to store; only the SHA-256 of `oauth_token` is kept.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewOAuth1Token {
    pub digest: Vec<u8>,
    pub kind: OAuth1TokenKind,
    pub consumer: ConsumerId,
    /// The approving user: `None` for a request token not yet approved.
    pub user: Option<UserId>,
    pub scopes: Scopes,
    /// A request token's `oauth_callback` (`oob`, or the consumer's).
    pub callback: Option<String>,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
}

/// A stored token found by its digest, with its consumer and user.
#[derive(Clone, Debug)]
pub struct OAuth1Token {
    pub id: i64,
    pub digest: Vec<u8>,
    pub kind: OAuth1TokenKind,
    pub consumer: Consumer,
    pub user: Option<User>,
    pub scopes: Scopes,
    pub callback: Option<String>,
    /// A request token's verifier, once approved (its digest).
    pub verifier_digest: Option<Vec<u8>>,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
    /// When a request token was exchanged.
    pub used: Option<Timestamp>,
    pub revoked: Option<Timestamp>,
}

impl OAuth1Token {
    /// Whether it may still be used at `now` (not expired, revoked or spent, and its user, if
    /// any, active).
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked.is_none()
            && self.used.is_none()
            && self.expires.is_none_or(|at| now < at)
            && self.user.as_ref().is_none_or(|user| user.active)
    }
}

/// A signed request's nonce, unique per consumer, token and timestamp (RFC 5849 §3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Nonce {
    pub consumer_key: String,
    /// The `oauth_token` the request carried; empty for none (the first leg).
    pub token: String,
    /// `oauth_timestamp`, in seconds.
    pub timestamp: i64,
    pub nonce: String,
}

/// Checks a consumer's key, name and callback (the public key is checked as RSA by the
/// authentication crate). Returns them trimmed.
pub fn check_consumer(
    consumer_key: &str,
    name: &str,
    callback: &str,
) -> Result<(String, String, String), FieldErrors> {
    let mut errors = FieldErrors::default();
    let key = consumer_key.trim();
    if key.is_empty() || key.len() > MAX_CONSUMER_KEY {
        errors.add_field(
            "consumerKey",
            format!("The consumer key must be 1 to {MAX_CONSUMER_KEY} characters."),
        );
    } else if key.chars().any(|c| c.is_control() || c.is_whitespace()) {
        errors.add_field(
            "consumerKey",
            "The consumer key may not contain spaces or control characters.",
        );
    }
    let name = name.trim();
    if name.is_empty() || name.len() > MAX_CONSUMER_NAME {
        errors.add_field(
            "name",
            format!("The name must be 1 to {MAX_CONSUMER_NAME} characters."),
        );
    } else if name.chars().any(char::is_control) {
        errors.add_field("name", "The name may not contain control characters.");
    }
    let callback = callback.trim();
    if !is_callback(callback) {
        errors.add_field(
            "callback",
            "The callback must be an absolute http(s) URL without a fragment, or \"oob\".",
        );
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok((key.to_string(), name.to_string(), callback.to_string()))
}

/// An absolute `http`/`https` URL with a host and no fragment, or [`OUT_OF_BAND`].
fn is_callback(text: &str) -> bool {
    if text == OUT_OF_BAND {
        return true;
    }
    let Ok(url) = url::Url::parse(text) else {
        return false;
    };
    matches!(url.scheme(), "http" | "https")
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.fragment().is_none()
        && !text.chars().any(|c| c.is_control() || c.is_whitespace())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumers_are_checked() {
        let checked = check_consumer(" jira-cli ", " Jira CLI ", " oob ").unwrap();
        assert_eq!(
            checked,
            ("jira-cli".into(), "Jira CLI".into(), "oob".into())
        );
        assert!(check_consumer("k", "n", "https://app.example/cb?x=1").is_ok());
        let errors = check_consumer("", "", "javascript:alert(1)").unwrap_err();
        assert_eq!(errors.fields.len(), 3, "{errors}");
        assert!(check_consumer("a b", "n", "oob").is_err());
        assert!(check_consumer("k", "n", "https://app.example/cb#frag").is_err());
        assert!(check_consumer("k", "n", "ftp://app.example/").is_err());
        assert!(check_consumer("k", "n\u{0}", "oob").is_err());
        assert!(check_consumer(&"k".repeat(256), "n", "oob").is_err());
    }
}
