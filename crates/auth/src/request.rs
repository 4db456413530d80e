//! What the authenticator is told about a request: its method, headers, client address and
//! the URL the client sent it to.
//!
//! The URL is the one the client saw, not the one tessera's router sees: behind a trusted
//! proxy, the scheme, host and port the proxy reports (`X-Forwarded-Proto`, `-Host`,
//! `-Port`), and the whole path, context path included. Signatures over the request are
//! computed over it: OAuth 1.0a's base string URI (RFC 5849 §3.4.1.2) and a DPoP proof's
//! `htu` (RFC 9449 §4.3). The web layer works it out; a header of a client that is not a
//! trusted proxy never changes it.

use std::net::IpAddr;

use http::header::USER_AGENT;
use http::{HeaderMap, Method};
use tessera_core::audit::short_user_agent;
use tessera_core::policy::Surface;
use tessera_core::principal::AuthMethod;

/// The URL a request was sent to, as the client saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestUrl {
    /// `http` or `https`.
    pub scheme: &'static str,
    /// The host name or address, lower case (IPv6 in brackets), without the port.
    pub host: String,
    pub port: u16,
    /// The path as sent (percent-encoded), context path included.
    pub path: String,
    /// The query as sent, without the `?`.
    pub query: Option<String>,
}

impl RequestUrl {
    /// The scheme's default port.
    pub fn default_port(scheme: &str) -> u16 {
        if scheme == "https" { 443 } else { 80 }
    }

    /// `scheme://host[:port]path`: the port only when it is not the scheme's default, and no
    /// query or fragment (RFC 5849 §3.4.1.2; RFC 9449 §4.3 compares `htu` the same way).
    pub fn without_query(&self) -> String {
        if self.port == Self::default_port(self.scheme) {
            format!("{}://{}{}", self.scheme, self.host, self.path)
        } else {
            format!("{}://{}:{}{}", self.scheme, self.host, self.port, self.path)
        }
    }
}

/// What the authenticator needs to know about a request.
pub struct RequestInfo<'a> {
    pub method: &'a Method,
    pub headers: &'a HeaderMap,
    /// The `atl_token` query parameter, if present.
    pub form_token: Option<&'a str>,
    pub client_ip: IpAddr,
    /// Origins that count as tessera itself, for the XSRF rule.
    pub own_origins: &'a [String],
    /// Where the request goes: the REST API's group rule applies to [`Surface::Api`] only.
    pub surface: Surface,
    /// The URL as the client saw it.
    pub url: &'a RequestUrl,
    /// The body, read ahead only for a request signed by OAuth 1.0a (whose signature covers
    /// an urlencoded body's parameters, or another body's `oauth_body_hash`); empty
    /// otherwise.
    pub body: &'a [u8],
    /// The client's address is penalized for failed credentials (its rate budget is spent):
    /// only a credential answered from memory is accepted; any other is refused with
    /// [`crate::AuthError::Penalized`] before it costs a hash or a database read.
    pub penalized: bool,
}

impl RequestInfo<'_> {
    pub(crate) fn user_agent(&self) -> Option<String> {
        user_agent_of(self.headers)
    }
}

/// The `User-Agent` header, cut short for the audit and the usage view.
pub(crate) fn user_agent_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get(USER_AGENT)
        .map(|value| short_user_agent(&String::from_utf8_lossy(value.as_bytes())))
}

/// Who a request claims to be and how, once its groups are known: what the policy decides on.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Admission<'a> {
    pub(crate) method: AuthMethod,
    pub(crate) surface: Surface,
    pub(crate) client_ip: IpAddr,
    pub(crate) user_agent: Option<&'a str>,
}

impl std::fmt::Debug for RequestInfo<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The headers carry credentials: never print them.
        f.debug_struct("RequestInfo")
            .field("method", self.method)
            .field("client_ip", &self.client_ip)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_port_is_left_out_and_the_query_never_included() {
        let mut url = RequestUrl {
            scheme: "https",
            host: "jira.example.com".into(),
            port: 443,
            path: "/jira/rest/api/2/myself".into(),
            query: Some("a=1".into()),
        };
        assert_eq!(
            url.without_query(),
            "https://jira.example.com/jira/rest/api/2/myself"
        );
        url.port = 8443;
        assert_eq!(
            url.without_query(),
            "https://jira.example.com:8443/jira/rest/api/2/myself"
        );
        url.scheme = "http";
        url.port = 80;
        url.host = "[::1]".into();
        assert_eq!(url.without_query(), "http://[::1]/jira/rest/api/2/myself");
    }
}
