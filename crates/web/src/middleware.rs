//! The transport and authentication layers that run before any handler.
//!
//! [`resolve_client`] works out the real client address: the TCP peer, unless the peer is a
//! configured trusted proxy, in which case `X-Forwarded-For` is walked from the right past
//! trusted hops (the right-most untrusted address is the client; a client cannot forge hops
//! to the right of its own). [`authenticate`] reads the one credential (the authenticator also
//! applies the access policy: methods, addresses, API groups), admits the principal (the USE
//! permission), takes one request from the caller's rate budget ([`crate::rate_limit`]) and
//! records the caller for the handlers; a bad credential ends the request there, never falling
//! back to anonymous. [`require_websudo`] and [`audit_admin_change`] wrap the administrative
//! changes of the route table.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::extract::{ConnectInfo, OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::HOST;
use ipnet::IpNet;
use tessera_auth::authenticator::{AuthError, RequestInfo};
use tessera_core::audit::short_user_agent;
use tessera_core::authz::Authorizer;
use tessera_core::policy::Surface;
use tessera_core::principal::Caller;
use tessera_core::tokens::canonical_ip;

use crate::error::ApiError;
use crate::extract::{BodyLimit, CurrentSession, Params};
use crate::rate_limit::Decision;
use crate::rest::auth::session::expired_session_cookie;
use crate::state::AppState;
use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::authz::Denied;
use tessera_core::principal::AuthMethod;

/// Where a request came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ClientAddr {
    pub ip: IpAddr,
    /// Whether the client's connection was TLS (directly, or to a trusted proxy).
    pub is_tls: bool,
}

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
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

pub async fn resolve_client(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|info| info.0.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    let mut client = client_address(peer, request.headers(), &state.settings.trusted_proxies);
    client.is_tls |= state.urls.is_https();
    request.extensions_mut().insert(client);
    request
        .extensions_mut()
        .insert(BodyLimit(state.settings.max_body_bytes));
    next.run(request).await
}

/// Origins that count as tessera itself: the base URL's, and the one the request was sent to.
fn own_origins(state: &AppState, request: &Request, client: ClientAddr) -> Vec<String> {
    let mut origins = vec![state.urls.origin().to_string()];
    if let Some(host) = request.headers().get(HOST).and_then(|h| h.to_str().ok()) {
        let scheme = if client.is_tls { "https" } else { "http" };
        origins.push(format!("{scheme}://{}", host.to_ascii_lowercase()));
    }
    origins
}

pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ClientAddr>()
        .copied()
        .unwrap_or(ClientAddr {
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            is_tls: false,
        });
    let params = Params::parse(request.uri().query());
    let origins = own_origins(&state, &request, client);
    let info = RequestInfo {
        method: request.method(),
        headers: request.headers(),
        form_token: params.get("atl_token"),
        client_ip: client.ip,
        own_origins: &origins,
        surface: Surface::Api,
    };
    let (caller, session) = match state.auth.authenticate(&info).await {
        Ok(None) => (
            Caller::Anonymous {
                client_ip: client.ip,
            },
            None,
        ),
        Ok(Some(authenticated)) => {
            if let Err(denied) = Authorizer::admit(&authenticated.principal) {
                return ApiError::from(denied).into_response();
            }
            (
                Caller::User(Box::new(authenticated.principal)),
                authenticated.session,
            )
        }
        Err(AuthError::SessionInvalid) => {
            let cookie = expired_session_cookie(&state.urls, client.is_tls);
            return ApiError::Unauthenticated {
                message: AuthError::SessionInvalid.to_string(),
                login_failed: false,
                clear_session: Some(cookie),
            }
            .into_response();
        }
        Err(error) => {
            if matches!(error, AuthError::BadCredentials) {
                tracing::info!(target: "tessera::security", client_ip = %client.ip, "authentication failed");
            }
            return ApiError::from(error).into_response();
        }
    };
    let decision = match take_from_budget(&state, &caller, &request) {
        Ok(decision) => decision,
        Err(refused) => return refused.into_response(),
    };
    request.extensions_mut().insert(caller);
    request.extensions_mut().insert(CurrentSession(session));
    let mut response = next.run(request).await;
    if let Decision::Allowed { bucket, remaining } = decision {
        crate::rate_limit::insert_headers(response.headers_mut(), bucket, remaining);
    }
    response
}

/// Takes one request from the caller's rate budget; a spent budget is answered (429, with
/// Jira Data Center's headers) and audited here.
pub fn take_from_budget(
    state: &AppState,
    caller: &Caller,
    request: &Request,
) -> Result<Decision, ApiError> {
    let policy = state.auth.policy().current();
    let decision = state.rate_limits.check(caller, &policy);
    let Decision::Limited {
        bucket,
        retry_after,
    } = decision
    else {
        return Ok(decision);
    };
    let now = state.clock.now();
    // The path, cut short: a client must not be able to fill the audit with long URLs.
    let path: String = request.uri().path().chars().take(200).collect();
    let event = match caller {
        Caller::User(principal) => AuditEvent::by(principal, now, "request.rate_limited", path),
        Caller::Anonymous { client_ip } => {
            AuditEvent::anonymous(now, *client_ip, "request.rate_limited", path)
                .user_agent(user_agent(request.headers()).as_deref())
        }
    };
    state
        .auth
        .audit()
        .record(event.outcome(Outcome::Denied).reason("rate_limited"));
    Err(ApiError::RateLimited {
        bucket,
        retry_after_seconds: retry_after.as_millis().div_ceil(1000) as u64,
    })
}

/// The login route takes from the client address's anonymous budget: with rate limiting on,
/// a client cannot try passwords faster than an anonymous caller may ask anything.
pub async fn limit_logins(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client_ip = request
        .extensions()
        .get::<ClientAddr>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.ip);
    if let Err(refused) = take_from_budget(&state, &Caller::Anonymous { client_ip }, &request) {
        return refused.into_response();
    }
    next.run(request).await
}

/// The request's `User-Agent`, cut short.
pub fn user_agent(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(http::header::USER_AGENT)
        .map(|v| short_user_agent(&String::from_utf8_lossy(v.as_bytes())))
}

/// Administrative changes over a session need the password re-entered within the websudo
/// window (Jira's websudo); Basic with a password proves it on every request, and a token is
/// governed by its scopes instead (the ADMIN scope, checked by the authorizer).
pub async fn require_websudo(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(Caller::User(principal)) = request.extensions().get::<Caller>()
        && principal.method == AuthMethod::Session
        && !principal.has_fresh_password(state.clock.now())
    {
        return ApiError::from(tessera_core::Error::Denied(Denied::WebsudoRequired))
            .into_response();
    }
    next.run(request).await
}

/// Every administrative change leaves an `admin.change` event: the method and path (not the
/// query or body, which may carry passwords), and the status it got.
pub async fn audit_admin_change(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let principal = match request.extensions().get::<Caller>() {
        Some(Caller::User(principal)) => Some(principal.clone()),
        _ => None,
    };
    // The whole path: nesting strips the prefix from the request's own URI.
    let path = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().path(), |original| original.path());
    let target = format!(
        "{} {}",
        request.method(),
        path.chars().take(200).collect::<String>()
    );
    let response = next.run(request).await;
    if let Some(principal) = principal {
        let status = response.status();
        let outcome = if status.is_success() {
            Outcome::Success
        } else if status == http::StatusCode::FORBIDDEN {
            Outcome::Denied
        } else {
            Outcome::Failure
        };
        let mut event =
            AuditEvent::by(&principal, state.clock.now(), "admin.change", target).outcome(outcome);
        if !status.is_success() {
            event = event.reason(status.as_str());
        }
        state.auth.audit().record(event);
    }
    response
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
}
