//! API use per credential, coalesced in memory and written in batches: a busy credential costs
//! one write per flush interval, not one per request. What is noted: requests per day, and per
//! client address the first and last time seen, the count and the last user agent. Token rows
//! get their last-use figures from the same notes.
//!
//! An IPv6 client is counted by its /64 (one client usually holds a whole /64, and could
//! otherwise make a new "address" per request). Memory and storage are bounded however a
//! client behaves: each credential keeps at most [`MAX_ADDRESSES`] addresses per interval and
//! [`MAX_STORED_ADDRESSES`] in all (further ones still count in the day's total).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use tessera_core::clock::Timestamp;
use tessera_core::ids::UserId;
use tessera_core::tokens::{TokenUse, canonical_ip};
use tessera_core::usage::{ClientUse, Credential, CredentialUse, day_of};

/// Most distinct addresses one credential keeps between two flushes.
pub const MAX_ADDRESSES: usize = 64;
/// Most addresses one credential keeps in the store.
pub const MAX_STORED_ADDRESSES: i64 = 256;

/// How an address is counted: IPv4 as itself, IPv6 as its /64 (written `2001:db8:1:2::/64`).
pub fn address_key(ip: IpAddr) -> String {
    match canonical_ip(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            let network = std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0);
            format!("{network}/64")
        }
        v4 => v4.to_string(),
    }
}

#[derive(Debug)]
struct Pending {
    user_id: UserId,
    user_name: String,
    days: Vec<(i64, i64)>,
    clients: HashMap<String, ClientUse>,
}

/// What one flush takes: the uses, and who each credential belongs to.
#[derive(Debug, Default)]
pub struct Drained {
    pub uses: Vec<CredentialUse>,
    /// The owner's name of each credential, for the audit events of new addresses.
    pub owners: HashMap<String, String>,
}

impl Drained {
    /// The token rows' last-use figures, derived from the same notes.
    pub fn token_uses(&self) -> Vec<TokenUse> {
        self.uses
            .iter()
            .filter_map(|used| {
                let Some(Credential::Token(id)) = Credential::parse(&used.credential) else {
                    return None;
                };
                let last = used.clients.iter().max_by_key(|c| c.last_seen)?;
                Some(TokenUse {
                    id,
                    last_used: last.last_seen,
                    last_ip: last.ip.clone(),
                    count: used.days.iter().map(|(_, n)| n).sum(),
                })
            })
            .collect()
    }
}

#[derive(Debug, Default)]
pub struct Usage {
    pending: Mutex<HashMap<Credential, Pending>>,
}

impl Usage {
    pub fn note(
        &self,
        credential: Credential,
        user: (UserId, &str),
        at: Timestamp,
        ip: IpAddr,
        user_agent: Option<&str>,
    ) {
        let key = address_key(ip);
        let day = day_of(at);
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let entry = pending.entry(credential).or_insert_with(|| Pending {
            user_id: user.0,
            user_name: user.1.to_string(),
            days: Vec::new(),
            clients: HashMap::new(),
        });
        match entry.days.iter_mut().find(|(d, _)| *d == day) {
            Some((_, count)) => *count += 1,
            None => entry.days.push((day, 1)),
        }
        let has_room = entry.clients.len() < MAX_ADDRESSES;
        if let Some(client) = entry.clients.get_mut(&key) {
            client.requests += 1;
            if at >= client.last_seen {
                client.last_seen = at;
                if client.user_agent.as_deref() != user_agent {
                    client.user_agent = user_agent.map(str::to_string);
                }
            }
        } else if has_room {
            entry.clients.insert(
                key.clone(),
                ClientUse {
                    ip: key,
                    user_agent: user_agent.map(str::to_string),
                    first_seen: at,
                    last_seen: at,
                    requests: 1,
                },
            );
        }
    }

    /// Takes everything noted since the last call.
    pub fn drain(&self) -> Drained {
        let taken: Vec<(Credential, Pending)> = {
            let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            pending.drain().collect()
        };
        let mut drained = Drained::default();
        for (credential, pending) in taken {
            let credential = credential.to_string();
            drained
                .owners
                .insert(credential.clone(), pending.user_name.clone());
            drained.uses.push(CredentialUse {
                credential,
                user_id: pending.user_id,
                days: pending.days,
                clients: pending.clients.into_values().collect(),
            });
        }
        drained
    }

    /// Puts uses back after a failed write, merging with any noted since.
    pub fn restore(&self, drained: Drained) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for used in drained.uses {
            let Some(credential) = Credential::parse(&used.credential) else {
                continue;
            };
            let name = drained
                .owners
                .get(&used.credential)
                .cloned()
                .unwrap_or_default();
            let entry = pending.entry(credential).or_insert_with(|| Pending {
                user_id: used.user_id,
                user_name: name,
                days: Vec::new(),
                clients: HashMap::new(),
            });
            for (day, count) in used.days {
                match entry.days.iter_mut().find(|(d, _)| *d == day) {
                    Some((_, newer)) => *newer += count,
                    None => entry.days.push((day, count)),
                }
            }
            for client in used.clients {
                match entry.clients.get_mut(&client.ip) {
                    Some(newer) => {
                        newer.requests += client.requests;
                        newer.first_seen = newer.first_seen.min(client.first_seen);
                    }
                    None => {
                        entry.clients.insert(client.ip.clone(), client);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::ids::TokenId;

    const DAY: i64 = 24 * 60 * 60 * 1000;

    #[test]
    fn uses_coalesce_per_credential_day_and_address() {
        let usage = Usage::default();
        let ip1: IpAddr = "192.0.2.1".parse().unwrap();
        let ip2: IpAddr = "::ffff:192.0.2.2".parse().unwrap();
        let token = Credential::Token(TokenId(1));
        let alice = (UserId(10), "alice");
        usage.note(token, alice, Timestamp::from_millis(10), ip1, Some("a/1"));
        usage.note(token, alice, Timestamp::from_millis(20), ip2, Some("b/2"));
        usage.note(
            token,
            alice,
            Timestamp::from_millis(DAY + 5),
            ip1,
            Some("a/2"),
        );
        usage.note(
            Credential::Password(UserId(10)),
            alice,
            Timestamp::from_millis(5),
            ip1,
            None,
        );
        let drained = usage.drain();
        assert_eq!(drained.uses.len(), 2);
        let used = drained
            .uses
            .iter()
            .find(|u| u.credential == "token:1")
            .unwrap();
        let mut days = used.days.clone();
        days.sort();
        assert_eq!(days, vec![(0, 2), (1, 1)]);
        let first = used.clients.iter().find(|c| c.ip == "192.0.2.1").unwrap();
        assert_eq!(
            (first.requests, first.first_seen, first.last_seen),
            (
                2,
                Timestamp::from_millis(10),
                Timestamp::from_millis(DAY + 5)
            )
        );
        assert_eq!(first.user_agent.as_deref(), Some("a/2"));
        // The mapped address is kept in its IPv4 form.
        assert!(used.clients.iter().any(|c| c.ip == "192.0.2.2"));
        // IPv6 clients are counted by their /64.
        usage.note(
            token,
            alice,
            Timestamp::from_millis(40),
            "2001:db8:1:2::5".parse().unwrap(),
            None,
        );
        usage.note(
            token,
            alice,
            Timestamp::from_millis(41),
            "2001:db8:1:2:ffff::1".parse().unwrap(),
            None,
        );
        let v6 = usage.drain();
        assert_eq!(v6.uses[0].clients.len(), 1);
        assert_eq!(v6.uses[0].clients[0].ip, "2001:db8:1:2::/64");
        assert_eq!(v6.uses[0].clients[0].requests, 2);
        let tokens = drained.token_uses();
        assert_eq!(tokens.len(), 1);
        assert_eq!(
            (tokens[0].count, tokens[0].last_ip.as_str()),
            (3, "192.0.2.1")
        );
        assert!(usage.drain().uses.is_empty());
        usage.note(token, alice, Timestamp::from_millis(30), ip1, None);
        usage.restore(drained);
        let again = usage.drain();
        let used = again
            .uses
            .iter()
            .find(|u| u.credential == "token:1")
            .unwrap();
        assert_eq!(used.days.iter().map(|(_, n)| n).sum::<i64>(), 4);
    }

    #[test]
    fn addresses_per_credential_are_bounded() {
        let usage = Usage::default();
        let token = Credential::Token(TokenId(7));
        for n in 0..1000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + n));
            usage.note(token, (UserId(1), "u"), Timestamp::from_millis(1), ip, None);
        }
        let drained = usage.drain();
        assert_eq!(drained.uses[0].clients.len(), MAX_ADDRESSES);
        assert_eq!(drained.uses[0].days, vec![(0, 1000)]);
    }
}
