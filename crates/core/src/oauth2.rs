//! OAuth 2.0 authorization server records and rules (RFC 6749, RFC 7636, RFC 9700): client
//! registrations, users' grants (their consent to a client, with the scopes consented to),
//! authorization codes and tokens, as the store keeps them. Secrets never reach this crate:
//! codes, tokens and client secrets are minted and digested by the authentication crate, and
//! the store keeps only digests.
//!
//! Invariants kept here: a redirect URI is compared exactly, character for character, with a
//! registered one (RFC 9700 §4.1.3), and only absolute `https` URIs, or `http` ones on a
//! loopback host (RFC 8252 §7.3), may be registered; a client never gets scopes beyond those
//! it is registered for, nor a token beyond what its user consented to.

use url::Url;

use crate::clock::Timestamp;
use crate::error::FieldErrors;
use crate::ids::UserId;
use crate::scopes::{Scope, Scopes, parse_scope};

/// The id of a client registration row (not its public `client_id`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientKey(pub i64);

/// A user's consent to a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId(pub i64);

impl std::fmt::Display for GrantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// A registered client (never its secret).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub key: ClientKey,
    /// The public identifier clients send (`client_id`).
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    /// Confidential clients authenticate with a secret; public ones must use PKCE.
    pub confidential: bool,
    /// The scopes the client may ask for.
    pub scopes: Scopes,
    /// The service account a confidential client acts as with `client_credentials`.
    pub service_account: Option<UserId>,
    pub enabled: bool,
    pub created: Timestamp,
    pub created_by: Option<UserId>,
}

/// A client to store.
#[derive(Clone, Debug)]
pub struct NewClient {
    pub client_id: String,
    pub name: String,
    pub redirect_uris: Vec<String>,
    pub confidential: bool,
    /// SHA-256 of the client secret (confidential clients).
    pub secret_digest: Option<Vec<u8>>,
    pub scopes: Scopes,
    pub service_account: Option<UserId>,
    pub created: Timestamp,
    pub created_by: Option<UserId>,
}

/// What an administrator may change on a client.
#[derive(Clone, Debug, Default)]
pub struct ClientChanges {
    pub name: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub scopes: Option<Scopes>,
    pub enabled: Option<bool>,
    /// A new secret's digest (confidential clients).
    pub secret_digest: Option<Vec<u8>>,
}

/// A client found by its public id, with the digest its secret is checked against.
#[derive(Clone, Debug)]
pub struct ClientMatch {
    pub client: Client,
    pub secret_digest: Option<Vec<u8>>,
}

/// A user's consent to a client, with when the client last used it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub id: GrantId,
    pub client: ClientKey,
    pub client_id: String,
    pub client_name: String,
    pub user: UserId,
    pub scopes: Scopes,
    pub created: Timestamp,
    pub revoked: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
}

/// An authorization code to store (RFC 6749 §4.1.2): single use, short-lived, bound to its
/// client, redirect URI, scopes and PKCE challenge.
#[derive(Clone, Debug)]
pub struct NewCode {
    pub digest: Vec<u8>,
    pub grant: GrantId,
    pub redirect_uri: String,
    /// Whether the authorization request named the redirect URI (RFC 6749 §4.1.3: then the
    /// token request must name it too).
    pub redirect_uri_given: bool,
    pub scopes: Scopes,
    /// The S256 challenge (RFC 7636 §4.2), if the client sent one.
    pub code_challenge: Option<String>,
    pub expires: Timestamp,
}

/// A stored code, as redeemed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Code {
    pub grant: GrantId,
    pub client: ClientKey,
    pub user: UserId,
    pub redirect_uri: String,
    pub redirect_uri_given: bool,
    pub scopes: Scopes,
    pub code_challenge: Option<String>,
    pub expires: Timestamp,
}

/// What redeeming a code did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// First use: the code is now spent and its tokens stored, together.
    Fresh,
    /// The code was used before: a replay. What it issued is revoked in the same transaction
    /// (RFC 6749 §4.1.2), so no concurrent redemption can keep its tokens.
    Replayed,
    Unknown,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuth2TokenKind {
    Access,
    Refresh,
}

impl OAuth2TokenKind {
    pub fn name(self) -> &'static str {
        match self {
            Self::Access => "access",
            Self::Refresh => "refresh",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "access" => Some(Self::Access),
            "refresh" => Some(Self::Refresh),
            _ => None,
        }
    }
}

/// A token to store.
#[derive(Clone, Debug)]
pub struct NewOAuth2Token {
    pub digest: Vec<u8>,
    pub kind: OAuth2TokenKind,
    /// `None` for `client_credentials` tokens, which no user consented to.
    pub grant: Option<GrantId>,
    pub client: ClientKey,
    pub user: UserId,
    pub scopes: Scopes,
    /// The code it was issued from, so that a replayed code revokes it.
    pub code_digest: Option<Vec<u8>>,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
}

/// A stored token found by the digest of a presented one, with everything that decides
/// whether it still works.
#[derive(Clone, Debug)]
pub struct OAuth2TokenMatch {
    pub id: i64,
    pub digest: Vec<u8>,
    pub kind: OAuth2TokenKind,
    pub grant: Option<GrantId>,
    pub client: Client,
    pub user: crate::model::User,
    pub scopes: Scopes,
    pub created: Timestamp,
    pub expires: Option<Timestamp>,
    /// For a refresh token: when it was exchanged (rotation).
    pub used: Option<Timestamp>,
    pub revoked: Option<Timestamp>,
    /// When its grant was revoked, if it has one and it was.
    pub grant_revoked: Option<Timestamp>,
    /// The code it descends from (refresh tokens pass it on), for a replay's revocation.
    pub code_digest: Option<Vec<u8>>,
}

impl OAuth2TokenMatch {
    /// Whether it may be used at `now` (not expired, revoked, spent, or of a revoked grant or
    /// disabled client, or a deactivated user).
    pub fn is_live(&self, now: Timestamp) -> bool {
        self.revoked.is_none()
            && self.grant_revoked.is_none()
            && self.used.is_none()
            && self.expires.is_none_or(|at| now < at)
            && self.client.enabled
            && self.user.active
    }
}

/// What exchanging a refresh token found (RFC 9700 §4.14.2: rotation with reuse detection).
#[derive(Clone, Debug)]
pub enum Rotation {
    /// The old token is spent and the new pair stored.
    Rotated,
    /// The token had been exchanged before: its grant is now revoked, every token with it.
    Reused(Option<GrantId>),
    /// No live refresh token has that digest.
    Unknown,
}

/// Most redirect URIs one client may register.
pub const MAX_REDIRECT_URIS: usize = 20;
pub const MAX_CLIENT_NAME_CHARS: usize = 100;

/// Whether a URI may be registered as a redirect URI: absolute, no fragment (RFC 6749
/// §3.1.2), `https`, or `http` on a loopback IP literal for native apps (RFC 8252 §7.3, §8.3:
/// not `localhost`). No white space or control character, which a URL parser would drop
/// and the comparison would then not see.
pub fn check_redirect_uri(text: &str) -> Result<(), String> {
    if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("A redirect URI cannot contain white space or control characters.".into());
    }
    let url = Url::parse(text).map_err(|_| format!("'{text}' is not an absolute URI."))?;
    if url.fragment().is_some() {
        return Err(format!(
            "'{text}' has a fragment, which redirect URIs may not (RFC 6749 §3.1.2)."
        ));
    }
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!(
            "'{text}' must use https (or http on a loopback address, for native apps)."
        )),
    }
}

fn is_loopback(url: &Url) -> bool {
    url.scheme() == "http" && matches!(url.host_str(), Some("127.0.0.1" | "[::1]"))
}

/// Whether a requested redirect URI is the registered one: exactly, or for a loopback
/// redirect with any port (RFC 8252 §7.3: native apps get an ephemeral port). The requested
/// text must then be written as the URL parser writes it, so that nothing but the port differs
/// from the registered text (the parser would drop tabs, trailing spaces or control characters).
pub fn redirect_matches(registered: &str, requested: &str) -> bool {
    if registered == requested {
        return true;
    }
    match (Url::parse(registered), Url::parse(requested)) {
        (Ok(mut registered), Ok(mut parsed))
            if is_loopback(&registered) && is_loopback(&parsed) && parsed.as_str() == requested =>
        {
            let _ = registered.set_port(None);
            let _ = parsed.set_port(None);
            registered == parsed
        }
        _ => false,
    }
}

/// Whether a redirect URI goes to the local machine (a native app): repeated authorizations
/// to it are not answered without the user (RFC 8252 §8.6), since any local program could
/// listen there.
pub fn is_loopback_redirect(uri: &str) -> bool {
    Url::parse(uri).is_ok_and(|url| is_loopback(&url))
}

/// A client registration as an administrator sends it, checked; every problem is reported.
/// Checks a registration. A client that only uses `client_credentials` (a confidential one
/// bound to a service account) may register no redirect URI: it never sends a user anywhere,
/// and without one the authorization endpoint refuses it.
pub fn check_client(
    name: &str,
    redirect_uris: &[String],
    scopes: &[String],
    client_credentials_only: bool,
) -> Result<(String, Vec<String>, Scopes), FieldErrors> {
    let mut errors = FieldErrors::default();
    let name = name.trim();
    if name.is_empty() || name.chars().count() > MAX_CLIENT_NAME_CHARS {
        errors.add_field(
            "name",
            format!("A client name of 1 to {MAX_CLIENT_NAME_CHARS} characters is required."),
        );
    } else if name.chars().any(char::is_control) {
        errors.add_field("name", "A client name cannot contain control characters.");
    }
    let uris: Vec<String> = redirect_uris.iter().map(|u| u.trim().to_string()).collect();
    if (uris.is_empty() && !client_credentials_only) || uris.len() > MAX_REDIRECT_URIS {
        errors.add_field(
            "redirectUris",
            format!("Register 1 to {MAX_REDIRECT_URIS} redirect URIs."),
        );
    }
    for uri in &uris {
        if let Err(message) = check_redirect_uri(uri) {
            errors.add_field("redirectUris", message);
        }
    }
    let mut granted = Scopes::empty();
    for name in scopes {
        match parse_scope(name.trim()) {
            Some(set) => granted = granted.union(set),
            None => errors.add_field("scopes", format!("'{name}' is not a scope.")),
        }
    }
    if scopes.is_empty() {
        errors.add_field("scopes", "Give the scopes the client may ask for.");
    }
    if errors.is_empty() {
        Ok((name.to_string(), uris, granted))
    } else {
        Err(errors)
    }
}

/// Why a requested scope string is refused (RFC 6749 §3.3).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ScopeProblem {
    Unknown(String),
    NotAllowed(String),
}

/// The scopes a space-delimited request names, limited to what the client is registered for.
/// No scope requested means all of the client's.
pub fn requested_scopes(text: Option<&str>, allowed: Scopes) -> Result<Scopes, ScopeProblem> {
    let names: Vec<&str> = text
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() {
        return Ok(allowed);
    }
    let mut wanted = Scopes::empty();
    for name in names {
        let set = parse_scope(name).ok_or_else(|| ScopeProblem::Unknown(name.to_string()))?;
        if set.intersection(allowed) != set {
            return Err(ScopeProblem::NotAllowed(name.to_string()));
        }
        wanted = wanted.union(set);
    }
    Ok(wanted)
}

/// The consent page's words for a scope.
pub fn describe_scope(scope: Scope) -> &'static str {
    match scope {
        Scope::ReadJiraWork => {
            "View projects and issues you can view, with their comments (read:jira-work)"
        }
        Scope::WriteJiraWork => {
            "Create, edit, transition, assign, comment on and delete issues you can change (write:jira-work)"
        }
        Scope::ReadJiraUser => "View users and groups, and your profile (read:jira-user)",
        Scope::ManageJiraProject => {
            "Administer the projects you administer: roles and settings (manage:jira-project)"
        }
        Scope::ManageJiraConfiguration => {
            "Administer Jira as you can: users, groups, projects, access policy (manage:jira-configuration)"
        }
    }
}

/// Scopes as an OAuth `scope` value: space-separated fine names.
pub fn scope_string(scopes: Scopes) -> String {
    scopes.iter().map(Scope::name).collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uris_must_be_absolute_https_or_loopback() {
        for good in [
            "https://app.example/callback",
            "https://app.example/cb?x=1",
            "http://127.0.0.1:8080/cb",
            "http://[::1]:9000/cb",
        ] {
            assert!(check_redirect_uri(good).is_ok(), "{good}");
        }
        for bad in [
            "/relative",
            "app.example/cb",
            "http://app.example/cb",
            "https://app.example/cb#frag",
            "javascript:alert(1)",
            "",
            "http://localhost/cb",
            "https://a.example/cb\nhttp://evil.example/cb",
            "https://a.example/c b",
        ] {
            assert!(check_redirect_uri(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn loopback_redirects_match_any_port_others_exactly() {
        assert!(redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:53312/cb"
        ));
        assert!(redirect_matches("http://[::1]:80/cb", "http://[::1]:9/cb"));
        assert!(!redirect_matches(
            "http://127.0.0.1/cb",
            "http://127.0.0.1:5/other"
        ));
        // Only the port may differ: not what the URL parser would clean away.
        for sloppy in [
            "http://127.0.0.1:5/cb\0",
            "http://127.0.0.1:5/c\tb",
            "http://127.0.0.1:5/cb ",
            " http://127.0.0.1:5/cb",
            "HTTP://127.0.0.1:5/cb",
            "http://127.0.0.1:5/cb\n",
        ] {
            assert!(
                !redirect_matches("http://127.0.0.1/cb", sloppy),
                "{sloppy:?}"
            );
        }
        assert!(!redirect_matches(
            "https://app.example/cb",
            "https://app.example:8443/cb"
        ));
        assert!(!redirect_matches(
            "https://app.example/cb",
            "https://app.example/cb/"
        ));
        assert!(redirect_matches(
            "https://app.example/cb",
            "https://app.example/cb"
        ));
    }

    #[test]
    fn requested_scopes_stay_within_the_client() {
        let read = parse_scope("READ").unwrap();
        let write = parse_scope("WRITE").unwrap();
        assert_eq!(requested_scopes(None, write), Ok(write));
        assert_eq!(requested_scopes(Some("READ"), write), Ok(read));
        assert_eq!(
            requested_scopes(Some("read:jira-work  read:jira-user"), write),
            Ok(read)
        );
        assert_eq!(
            requested_scopes(Some("ADMIN"), write),
            Err(ScopeProblem::NotAllowed("ADMIN".into()))
        );
        assert_eq!(
            requested_scopes(Some("read"), write),
            Err(ScopeProblem::Unknown("read".into()))
        );
    }

    #[test]
    fn registrations_report_every_problem() {
        let errors = check_client(
            "",
            &["http://evil.example/".into()],
            &["nope".into()],
            false,
        )
        .unwrap_err();
        for field in ["name", "redirectUris", "scopes"] {
            assert!(errors.fields.contains_key(field), "{field}");
        }
        let (name, uris, scopes) = check_client(
            " App ",
            &["https://app.example/cb".into()],
            &["READ".into()],
            false,
        )
        .unwrap();
        assert_eq!((name.as_str(), uris.len()), ("App", 1));
        assert_eq!(scopes, parse_scope("READ").unwrap());
    }

    #[test]
    fn only_a_client_credentials_client_may_register_no_redirect_uri() {
        let errors = check_client("App", &[], &["READ".into()], false).unwrap_err();
        assert!(errors.fields.contains_key("redirectUris"));
        let (_, uris, _) = check_client("Bot", &[], &["READ".into()], true).unwrap();
        assert!(uris.is_empty());
        // Any it does register are checked as any other's.
        let errors = check_client(
            "Bot",
            &["http://evil.example/".into()],
            &["READ".into()],
            true,
        );
        assert!(errors.unwrap_err().fields.contains_key("redirectUris"));
    }
}
