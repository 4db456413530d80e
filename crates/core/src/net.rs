//! Network helpers for address rules: a client's address in the form lists use, and the
//! ranges an administrator writes. Every allowlist (a token's, a group's, the global one, the
//! trusted proxies) reads addresses through these, so an IPv4 client on a dual-stack socket
//! is judged as the IPv4 address it is.

use std::net::IpAddr;

use ipnet::IpNet;

/// IPv4 clients reaching a dual-stack socket appear as `::ffff:a.b.c.d`; lists name them as
/// IPv4.
pub fn canonical_ip(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4),
        v4 => v4,
    }
}

/// A CIDR range, or a single address (as a /32 or /128). IPv4-mapped IPv6 ranges
/// (`::ffff:10.0.0.0/104`) become the IPv4 ranges they are, as client addresses do.
pub fn parse_network(text: &str) -> Option<IpNet> {
    let text = text.trim();
    if let Ok(net) = text.parse::<IpNet>() {
        if let IpNet::V6(v6) = net
            && let Some(v4) = v6.addr().to_ipv4_mapped()
        {
            // A mapped range shorter than /96 also covers non-mapped addresses: refuse it.
            let prefix = v6.prefix_len().checked_sub(96)?;
            return ipnet::Ipv4Net::new(v4, prefix)
                .ok()
                .map(|n| IpNet::V4(n).trunc());
        }
        return Some(net.trunc());
    }
    text.parse::<IpAddr>()
        .ok()
        .map(|ip| IpNet::from(canonical_ip(ip)))
}
