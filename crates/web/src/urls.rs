//! The public base URL and the absolute links built from it. Jira clients PUT and DELETE on
//! `self` links, so every link is absolute, carries the context path and uses numeric ids.

/// Percent-encodes a query-string value.
pub fn encode(value: &str) -> String {
    form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

#[derive(Clone, Debug)]
pub struct Urls {
    /// `scheme://host[:port][/context]`, without a trailing slash.
    base: String,
    /// `/context`, or empty.
    context_path: String,
    /// `scheme://host[:port]`.
    origin: String,
    is_https: bool,
    /// Set by the administrator (not derived from the listening address): the one name
    /// tessera is reached by.
    configured: bool,
}

impl Urls {
    /// Parses a base URL; `None` unless it is an absolute http(s) URL without query or fragment.
    pub fn parse(base: &str) -> Option<Self> {
        let trimmed = base.trim().trim_end_matches('/');
        let (scheme, rest) = trimmed.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        if !(scheme == "http" || scheme == "https") || rest.contains(['?', '#']) {
            return None;
        }
        let (authority, path) = match rest.find('/') {
            Some(slash) => (&rest[..slash], &rest[slash..]),
            None => (rest, ""),
        };
        if authority.is_empty() || authority.contains('@') {
            return None;
        }
        Some(Self {
            base: format!("{scheme}://{authority}{path}"),
            context_path: path.to_string(),
            origin: format!("{scheme}://{}", authority.to_ascii_lowercase()),
            is_https: scheme == "https",
            configured: false,
        })
    }

    /// Marks the base URL as the administrator's: see [`Urls::own_origins`].
    pub fn configured(self) -> Self {
        Self {
            configured: true,
            ..self
        }
    }

    /// The origins that count as tessera itself for the XSRF rule. With a configured base URL,
    /// its origin alone: the `Host` a request arrives with may be a proxy's rewrite, and must
    /// not make another site's `Origin` look like tessera's own. Without one (tessera named
    /// itself after its listening address), also the origin the request was sent to, so that
    /// a browser reaching it by another of the machine's names is not refused.
    pub fn own_origins(&self, host: Option<&str>, is_tls: bool) -> Vec<String> {
        let mut origins = vec![self.origin.clone()];
        if let Some(host) = host.filter(|_| !self.configured) {
            let scheme = if is_tls { "https" } else { "http" };
            origins.push(format!("{scheme}://{}", host.to_ascii_lowercase()));
        }
        origins
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    pub fn context_path(&self) -> &str {
        &self.context_path
    }

    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn is_https(&self) -> bool {
        self.is_https
    }

    /// The path cookies are scoped to.
    pub fn cookie_path(&self) -> &str {
        if self.context_path.is_empty() {
            "/"
        } else {
            &self.context_path
        }
    }

    /// `{base}/rest/api/2/{path}`.
    pub fn api(&self, path: &str) -> String {
        format!("{}/rest/api/2/{path}", self.base)
    }

    pub fn user(&self, name: &str) -> String {
        self.api(&format!("user?username={}", encode(name)))
    }

    pub fn group(&self, name: &str) -> String {
        self.api(&format!("group?groupname={}", encode(name)))
    }

    pub fn static_path(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_base_url_alone_is_own_origin() {
        let derived = Urls::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(
            derived.own_origins(Some("Tessera.LAN:8080"), false),
            ["http://127.0.0.1:8080", "http://tessera.lan:8080"]
        );
        let configured = Urls::parse("https://jira.example.com/jira")
            .unwrap()
            .configured();
        assert_eq!(
            configured.own_origins(Some("10.0.0.5:8080"), false),
            ["https://jira.example.com"]
        );
    }

    #[test]
    fn base_urls_keep_their_context_path() {
        let urls = Urls::parse("https://Jira.Example.com:8443/jira/").unwrap();
        assert_eq!(urls.base(), "https://Jira.Example.com:8443/jira");
        assert_eq!(urls.origin(), "https://jira.example.com:8443");
        assert_eq!(urls.context_path(), "/jira");
        assert_eq!(urls.cookie_path(), "/jira");
        assert!(urls.is_https());
        assert_eq!(
            urls.api("issue/10001"),
            "https://Jira.Example.com:8443/jira/rest/api/2/issue/10001"
        );
        assert_eq!(
            urls.user("a+b"),
            "https://Jira.Example.com:8443/jira/rest/api/2/user?username=a%2Bb"
        );
        let root = Urls::parse("http://127.0.0.1:8080").unwrap();
        assert_eq!(root.cookie_path(), "/");
        assert_eq!(root.context_path(), "");
    }

    #[test]
    fn bad_base_urls_are_refused() {
        for bad in [
            "127.0.0.1:8080",
            "ftp://x",
            "http://",
            "http://x/?a=1",
            "http://u:p@x/",
        ] {
            assert!(Urls::parse(bad).is_none(), "{bad}");
        }
    }
}
