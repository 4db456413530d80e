//! The transport layer: who the client is and what it asked for, before anything reads a
//! credential.
//!
//! The client address is the TCP peer, unless the peer is a configured trusted proxy, in
//! which case `X-Forwarded-For` is walked from the right past trusted hops (the right-most
//! untrusted address is the client; a client cannot forge hops to the right of its own).
//! `X-Forwarded-Proto`, `-Host` and `-Port` likewise count only from a trusted proxy. The URL
//! the client saw ([`request_url`]) is what request signatures are computed over (OAuth 1.0a,
//! DPoP).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::header::HOST;
use http::{HeaderMap, Uri};
use ipnet::IpNet;
use tessera_auth::RequestUrl;
use tessera_core::net::canonical_ip;

use crate::extract::BodyLimit;
use crate::state::AppState;

/// Where a request came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr {
    pub ip: IpAddr,
    /// Whether the client's connection was TLS (directly, or to a trusted proxy).
    pub is_tls: bool,
}

pub(crate) fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// One `X-Forwarded-For` hop: an address, IPv4 with a port (`192.0.2.1:4711`), or IPv6 in
/// brackets with or without a port (`[2001:db8::1]:4711`), as proxies write them.
fn parse_hop(hop: &str) -> Option<IpAddr> {
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok();
    }
    hop.parse::<SocketAddr>().ok().map(|addr| addr.ip())
}

/// The client address behind any trusted proxies. Addresses are compared in their canonical
/// form (an IPv4 peer on a dual-stack socket is IPv4). A hop that cannot be read ends the
/// walk with an unknown client (`0.0.0.0`), never with the proxy's own address, which an
/// allowlist might admit.
pub fn client_address(peer: IpAddr, headers: &http::HeaderMap, trusted: &[IpNet]) -> ClientAddr {
    let peer = canonical_ip(peer);
    if !is_trusted(peer, trusted) {
        return ClientAddr {
            ip: peer,
            is_tls: false,
        };
    }
    let hops = list_items(headers, "x-forwarded-for");
    let mut client = peer;
    for hop in hops.iter().rev() {
        if !is_trusted(client, trusted) {
            break;
        }
        match parse_hop(hop) {
            Some(ip) => client = canonical_ip(ip),
            None => {
                client = IpAddr::V4(Ipv4Addr::UNSPECIFIED);
                break;
            }
        }
    }
    // The value the nearest proxy wrote (proxies that append put theirs last).
    let is_tls = list_items(headers, "x-forwarded-proto")
        .last()
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"));
    ClientAddr { ip: client, is_tls }
}

/// The comma-separated items of every `name` header, in order, trimmed. Read lossily: a
/// value with a non-ASCII byte must not vanish with the items a proxy appended to the same
/// line (it becomes an item that cannot be read, where the reader reaches it).
fn list_items(headers: &http::HeaderMap, name: &str) -> Vec<String> {
    headers
        .get_all(name)
        .iter()
        .flat_map(|v| {
            String::from_utf8_lossy(v.as_bytes())
                .split(',')
                .map(|item| item.trim().to_string())
                .collect::<Vec<_>>()
        })
        .collect()
}

/// Marks a request that arrived over TLS that tessera itself terminated (its cookies are
/// `Secure`, its origin `https`), whatever the base URL says.
#[derive(Clone, Copy, Debug)]
pub struct DirectTls;

/// The address of the connection's other end (a proxy's, behind one).
pub(crate) fn peer_ip(request: &Request) -> IpAddr {
    request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |info| info.0.ip())
}

/// The transport layer of every request: the client's address, whether it came over TLS,
/// the URL as the client saw it, and the body limit.
pub async fn resolve_client(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = peer_ip(&request);
    let trusted = &state.settings.trusted_proxies;
    let mut client = client_address(peer, request.headers(), trusted);
    client.is_tls |= state.urls.is_https() || request.extensions().get::<DirectTls>().is_some();
    // The whole URL: nesting under a context path strips it from the request's own URI.
    let uri = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().clone(), |original| original.0.clone());
    let via_proxy = is_trusted(canonical_ip(peer), trusted);
    let url = request_url(&uri, request.headers(), via_proxy, client.is_tls);
    let extensions = request.extensions_mut();
    extensions.insert(client);
    extensions.insert(url);
    extensions.insert(BodyLimit(state.settings.max_body_bytes));
    next.run(request).await
}

/// The URL as the client saw it ([`RequestUrl`]): the scheme from the connection (or the
/// trusted proxy's `X-Forwarded-Proto`, already in `is_tls`), the host and port from `Host`,
/// or from a trusted proxy's `X-Forwarded-Host` and `X-Forwarded-Port` (the values the
/// nearest proxy wrote), and the path and query as sent.
pub fn request_url(uri: &Uri, headers: &HeaderMap, via_proxy: bool, is_tls: bool) -> RequestUrl {
    let scheme = if is_tls { "https" } else { "http" };
    let forwarded = |name| via_proxy.then(|| list_items(headers, name).pop()).flatten();
    let authority = forwarded("x-forwarded-host")
        .or_else(|| {
            headers
                .get(HOST)
                .map(|value| String::from_utf8_lossy(value.as_bytes()).into_owned())
        })
        .or_else(|| uri.authority().map(|a| a.as_str().to_string()))
        .unwrap_or_default();
    let (host, port) = split_authority(authority.trim());
    let port = forwarded("x-forwarded-port")
        .and_then(|port| port.parse().ok())
        .or(port)
        .unwrap_or_else(|| RequestUrl::default_port(scheme));
    RequestUrl {
        scheme,
        host: host.to_ascii_lowercase(),
        port,
        path: uri.path().to_string(),
        query: uri.query().map(str::to_string),
    }
}

/// `host[:port]`, with IPv6 in brackets (`[::1]:8080`).
fn split_authority(authority: &str) -> (&str, Option<u16>) {
    let port_at = if authority.starts_with('[') {
        authority.find(']').map(|end| end + 1)
    } else {
        authority.rfind(':')
    };
    match port_at {
        Some(at) if authority[at..].starts_with(':') => {
            (&authority[..at], authority[at + 1..].parse().ok())
        }
        _ => (authority, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::{HeaderMap, HeaderValue};

    fn forwarded(value: &str, proto: Option<&str>) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_str(value).unwrap());
        if let Some(proto) = proto {
            headers.insert("x-forwarded-proto", HeaderValue::from_str(proto).unwrap());
        }
        headers
    }

    #[test]
    fn forwarded_headers_count_only_from_trusted_proxies() {
        let trusted: Vec<IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let stranger: IpAddr = "203.0.113.9".parse().unwrap();
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        let headers = forwarded("198.51.100.7", Some("https"));
        assert_eq!(
            client_address(stranger, &headers, &trusted),
            ClientAddr {
                ip: stranger,
                is_tls: false
            }
        );
        assert_eq!(
            client_address(proxy, &headers, &trusted),
            ClientAddr {
                ip: "198.51.100.7".parse().unwrap(),
                is_tls: true
            }
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted: Vec<IpNet> = vec![
            "10.0.0.0/8".parse().unwrap(),
            "2001:db8::/32".parse().unwrap(),
        ];
        let proxy: IpAddr = "10.0.0.2".parse().unwrap();
        // A client forging a left-most entry does not get it believed.
        let headers = forwarded("1.2.3.4, 198.51.100.7, 10.0.0.5", None);
        assert_eq!(
            client_address(proxy, &headers, &trusted).ip,
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        let headers = forwarded("garbage, 10.0.0.9", None);
        assert_eq!(
            client_address(proxy, &headers, &trusted).ip,
            IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            "an unreadable hop is an unknown client, not the proxy"
        );
        let headers = forwarded("198.51.100.7:4711, [2001:db9::5]:80", None);
        let trusted_v6 = vec![
            "10.0.0.0/8".parse().unwrap(),
            "2001:db9::/32".parse().unwrap(),
        ];
        assert_eq!(
            client_address(proxy, &headers, &trusted_v6).ip,
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        // A trusted IPv4 proxy seen on a dual-stack socket is still trusted.
        let mapped: IpAddr = "::ffff:10.0.0.2".parse().unwrap();
        assert_eq!(
            client_address(mapped, &forwarded("198.51.100.7", Some("https")), &trusted).ip,
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        let appended = forwarded("198.51.100.7", Some("https, http"));
        assert!(
            !client_address(proxy, &appended, &trusted).is_tls,
            "the nearest proxy's value"
        );
        let headers = forwarded("2001:db8::1, 2001:db9::5", None);
        assert_eq!(
            client_address(proxy, &headers, &trusted).ip,
            "2001:db9::5".parse::<IpAddr>().unwrap()
        );
        assert_eq!(client_address(proxy, &HeaderMap::new(), &trusted).ip, proxy);
        // A non-ASCII byte in what the client sent does not hide the hop the proxy appended
        // to the same line, nor, trusted, make the client the proxy.
        let mut headers = HeaderMap::new();
        let line = HeaderValue::from_bytes(b"\xff\xfe, 198.51.100.7").unwrap();
        headers.insert("x-forwarded-for", line);
        assert_eq!(
            client_address(proxy, &headers, &trusted).ip,
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        let mut headers = HeaderMap::new();
        let line = HeaderValue::from_bytes(b"\xff\xfe, 10.0.0.7").unwrap();
        headers.insert("x-forwarded-for", line);
        let proto = HeaderValue::from_bytes(b"\xff, https").unwrap();
        headers.insert("x-forwarded-proto", proto);
        let behind = client_address(proxy, &headers, &trusted);
        assert_eq!(behind.ip, IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        assert!(
            behind.is_tls,
            "the nearest proxy's protocol, after a client's odd bytes"
        );
    }

    #[test]
    fn the_url_is_the_one_the_client_saw() {
        let uri: Uri = "/jira/rest/api/2/myself?expand=groups".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_static("Tessera.Example:8080"));
        headers.insert(
            "x-forwarded-host",
            HeaderValue::from_static("jira.example.com"),
        );
        headers.insert("x-forwarded-port", HeaderValue::from_static("8443"));
        let direct = request_url(&uri, &headers, false, false);
        assert_eq!(
            direct.without_query(),
            "http://tessera.example:8080/jira/rest/api/2/myself"
        );
        assert_eq!(direct.query.as_deref(), Some("expand=groups"));
        let proxied = request_url(&uri, &headers, true, true);
        assert_eq!(
            proxied.without_query(),
            "https://jira.example.com:8443/jira/rest/api/2/myself"
        );
        headers.remove("x-forwarded-port");
        let proxied = request_url(&uri, &headers, true, true);
        assert_eq!(
            proxied.port, 443,
            "the scheme's port when the proxy names none"
        );
        let mut v6 = HeaderMap::new();
        v6.insert("host", HeaderValue::from_static("[::1]:8080"));
        let url = request_url(&uri, &v6, false, false);
        assert_eq!((url.host.as_str(), url.port), ("[::1]", 8080));
        v6.insert("host", HeaderValue::from_static("[::1]"));
        assert_eq!(request_url(&uri, &v6, false, false).port, 80);
    }
}
