//! Hostile input for the transport layer's parsers: `X-Forwarded-For`/`-Host`/`-Port`, query
//! strings and urlencoded form bodies. Whatever comes in, reading it returns (never panics);
//! what a proxy or a browser writes reads back as written, and a client that is not a
//! trusted proxy can never choose its own address.
//! Run longer with `PROPTEST_CASES=100000 cargo test -p tessera-web --test parsers_fuzz`.

#![allow(clippy::unwrap_used)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use http::{HeaderMap, HeaderValue, Uri};
use ipnet::IpNet;
use proptest::prelude::*;
use tessera_core::net::canonical_ip;
use tessera_web::client::{client_address, request_url};
use tessera_web::extract::{FormBody, FormError, Params};

fn any_ip() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        any::<[u8; 16]>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
    ]
}

/// An address as proxies write a hop: bare, IPv4 with a port, IPv6 in brackets with or
/// without one.
fn written(ip: IpAddr, style: u8, port: u16) -> String {
    match (ip, style % 3) {
        (_, 0) => ip.to_string(),
        (IpAddr::V4(_), _) => SocketAddr::new(ip, port).to_string(),
        (IpAddr::V6(v6), 1) => format!("[{v6}]"),
        (IpAddr::V6(_), _) => SocketAddr::new(ip, port).to_string(),
    }
}

fn host(ip: IpAddr) -> IpNet {
    IpNet::from(canonical_ip(ip))
}

fn header_bytes() -> impl Strategy<Value = Option<HeaderValue>> {
    prop::collection::vec(any::<u8>(), 0..200).prop_map(|b| HeaderValue::from_bytes(&b).ok())
}

proptest! {
    #[test]
    fn any_forwarding_headers_are_read_without_panic(
        peer in any_ip(),
        trust_peer in any::<bool>(),
        values in prop::collection::vec(header_bytes(), 4),
        path in "/[a-z0-9/%]{0,20}",
    ) {
        let mut headers = HeaderMap::new();
        for (name, value) in ["x-forwarded-for", "x-forwarded-host", "x-forwarded-port", "host"].iter().zip(values) {
            if let Some(value) = value {
                headers.append(*name, value);
            }
        }
        let trusted = if trust_peer { vec![host(peer)] } else { Vec::new() };
        let client = client_address(peer, &headers, &trusted);
        if !trust_peer {
            prop_assert_eq!(client.ip, canonical_ip(peer));
        }
        let uri: Uri = path.parse().unwrap_or_else(|_| Uri::from_static("/"));
        for via_proxy in [false, true] {
            let _ = request_url(&uri, &headers, via_proxy, trust_peer);
        }
    }

    #[test]
    fn the_client_is_the_rightmost_address_no_trusted_proxy_added(
        client in any_ip(),
        proxies in prop::collection::vec(any_ip(), 0..4),
        peer in any_ip(),
        forged in prop::collection::vec(any_ip(), 0..3),
        styles in prop::collection::vec((any::<u8>(), 1u16..), 8),
        split in any::<bool>(),
    ) {
        // What the client sent (any forged hops), then each trusted proxy's append.
        let mut hops: Vec<IpAddr> = forged.clone();
        hops.push(client);
        hops.extend(proxies.iter().copied());
        let texts: Vec<String> = hops
            .iter()
            .zip(styles.iter().cycle())
            .map(|(ip, (style, port))| written(*ip, *style, *port))
            .collect();
        let mut headers = HeaderMap::new();
        if split {
            // One header per proxy, as some append them.
            for text in &texts {
                headers.append("x-forwarded-for", HeaderValue::from_str(text).unwrap());
            }
        } else {
            headers.append("x-forwarded-for", HeaderValue::from_str(&texts.join(", ")).unwrap());
        }
        let mut trusted: Vec<IpNet> = proxies.iter().map(|ip| host(*ip)).collect();
        trusted.push(host(peer));
        let found = client_address(peer, &headers, &trusted).ip;
        if trusted.iter().any(|net| net.contains(&canonical_ip(client))) {
            // The client is itself a trusted address: the walk may go on into forged hops,
            // but never past the first hop the client wrote.
            let written_by_client: Vec<IpAddr> = hops[..=forged.len()].iter().map(|ip| canonical_ip(*ip)).collect();
            let proxies: Vec<IpAddr> = proxies.iter().chain([&peer]).map(|ip| canonical_ip(*ip)).collect();
            prop_assert!(written_by_client.contains(&found) || proxies.contains(&found), "{found}");
        } else {
            prop_assert_eq!(found, canonical_ip(client));
        }
    }

    #[test]
    fn forwarded_host_and_port_count_only_from_a_proxy(
        host_name in "[a-z][a-z0-9-]{0,20}(\\.[a-z]{2,6})?",
        port in 1u16..,
        forwarded_host in "[a-z][a-z0-9-]{0,20}",
        forwarded_port in 1u16..,
    ) {
        let mut headers = HeaderMap::new();
        headers.insert("host", HeaderValue::from_str(&format!("{host_name}:{port}")).unwrap());
        headers.insert("x-forwarded-host", HeaderValue::from_str(&forwarded_host).unwrap());
        headers.insert("x-forwarded-port", HeaderValue::from_str(&forwarded_port.to_string()).unwrap());
        let uri = Uri::from_static("/rest/api/2/myself?expand=groups");
        let direct = request_url(&uri, &headers, false, false);
        prop_assert_eq!(&direct.host, &host_name);
        prop_assert_eq!(direct.port, port);
        let proxied = request_url(&uri, &headers, true, true);
        prop_assert_eq!(&proxied.host, &forwarded_host);
        prop_assert_eq!(proxied.port, forwarded_port);
        prop_assert_eq!(proxied.scheme, "https");
        prop_assert_eq!(proxied.query.as_deref(), Some("expand=groups"));
    }

    #[test]
    fn any_query_or_form_is_read_without_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
        let _ = FormBody::from_query(&bytes);
        let text = String::from_utf8_lossy(&bytes);
        let params = Params::parse(Some(&text));
        let _ = params.page(50, 1000);
        let _ = params.flag("expand", false);
    }

    #[test]
    fn forms_read_back_as_written_and_control_characters_are_named(
        fields in prop::collection::vec(("[^\\p{Cc}]{1,12}", "[^\\p{Cc}]{0,30}|[\\t\\r\\n a-z]{0,10}"), 0..6),
        bad in "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f]",
        at in any::<prop::sample::Index>(),
    ) {
        let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&fields).finish();
        let form = FormBody::from_query(encoded.as_bytes()).unwrap();
        prop_assert_eq!(form.pairs(), fields.as_slice());
        let params = Params::parse(Some(&encoded));
        for (name, _) in &fields {
            let first = fields.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str());
            prop_assert_eq!(params.get(name), first);
        }
        if !fields.is_empty() {
            // A control character in one value: refused, naming that field.
            let mut broken = fields.clone();
            let index = at.index(broken.len());
            broken[index].1.push_str(&bad);
            let encoded = form_urlencoded::Serializer::new(String::new()).extend_pairs(&broken).finish();
            let first_bad = broken
                .iter()
                .find(|(_, v)| v.contains(|c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r')))
                .unwrap();
            let shown: String = first_bad.0.chars().take(50).collect();
            match FormBody::from_query(encoded.as_bytes()) {
                Err(FormError::BadRequest(message)) => {
                    prop_assert!(message.contains(&format!("{shown:?}")), "{}", message);
                }
                other => prop_assert!(false, "{:?}", other),
            }
        }
    }
}
