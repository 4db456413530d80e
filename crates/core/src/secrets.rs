//! The one registry of the prefixes of the secrets tessera mints.
//!
//! Every secret tessera hands out starts with a prefix that names its kind (like GitHub's
//! `ghp_`), so that secret scanners recognise a leaked one and say what it is, and so that a
//! string that looks like a secret is never written to a log or the audit. Which kind a
//! presented secret is, how a Bearer token is routed and which secrets a leak report revokes
//! are all read from here. The wire format (random part and checksum) is the authentication
//! crate's; this is only the names.

/// A kind of secret, by its prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretKind {
    /// A person's personal access token (Bearer, or in a Basic password).
    PersonalToken,
    /// A service account's API key.
    ServiceKey,
    /// An OAuth 2.0 access token (Bearer).
    OAuth2Access,
    /// An OAuth 2.0 refresh token (token endpoint only).
    OAuth2Refresh,
    /// An OAuth 2.0 authorization code (token endpoint only).
    OAuth2Code,
    /// An OAuth 2.0 confidential client's secret (token endpoint only).
    OAuth2ClientSecret,
    /// An OAuth 1.0a request token (the dance only).
    OAuth1Request,
    /// An OAuth 1.0a access token (signed requests).
    OAuth1Access,
}

impl SecretKind {
    pub const ALL: [Self; 8] = [
        Self::PersonalToken,
        Self::ServiceKey,
        Self::OAuth2Access,
        Self::OAuth2Refresh,
        Self::OAuth2Code,
        Self::OAuth2ClientSecret,
        Self::OAuth1Request,
        Self::OAuth1Access,
    ];

    /// The prefix every secret of this kind starts with.
    pub fn prefix(self) -> &'static str {
        match self {
            Self::PersonalToken => "tspat_",
            Self::ServiceKey => "tskey_",
            Self::OAuth2Access => "tsoat_",
            Self::OAuth2Refresh => "tsort_",
            Self::OAuth2Code => "tscod_",
            Self::OAuth2ClientSecret => "tscls_",
            Self::OAuth1Request => "ts1rt_",
            Self::OAuth1Access => "ts1at_",
        }
    }

    /// The kind whose prefix `text` starts with (well-formed or not).
    pub fn of(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|kind| text.starts_with(kind.prefix()))
    }

    /// Whether it is a personal token or a service key (what Basic may carry as a password).
    pub fn is_api_token(self) -> bool {
        matches!(self, Self::PersonalToken | Self::ServiceKey)
    }
}

/// Whether a string starts like any secret tessera mints: such a string is never written to
/// a log or the audit, nor taken for a user name.
pub fn looks_like_secret(text: &str) -> bool {
    SecretKind::of(text).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_distinct_and_none_is_a_prefix_of_another() {
        for a in SecretKind::ALL {
            for b in SecretKind::ALL {
                if a != b {
                    assert!(!a.prefix().starts_with(b.prefix()), "{a:?} {b:?}");
                }
            }
            assert_eq!(SecretKind::of(&format!("{}x", a.prefix())), Some(a));
        }
        assert_eq!(SecretKind::of("hunter2"), None);
        assert!(!looks_like_secret("tsp_at"));
    }

    #[test]
    fn only_tokens_and_keys_are_api_tokens() {
        let api: Vec<_> = SecretKind::ALL
            .into_iter()
            .filter(|k| k.is_api_token())
            .collect();
        assert_eq!(api, [SecretKind::PersonalToken, SecretKind::ServiceKey]);
    }
}
