//! Token use, coalesced in memory and written in batches: a busy token costs one write per
//! flush interval, not one per request.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

use tessera_core::clock::Timestamp;
use tessera_core::ids::TokenId;
use tessera_core::tokens::TokenUse;

#[derive(Debug, Default)]
pub struct TokenUsage {
    pending: Mutex<HashMap<TokenId, TokenUse>>,
}

impl TokenUsage {
    pub fn note(&self, id: TokenId, at: Timestamp, ip: IpAddr) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        let entry = pending.entry(id).or_insert_with(|| TokenUse {
            id,
            last_used: at,
            last_ip: ip.to_string(),
            count: 0,
        });
        entry.count += 1;
        if at >= entry.last_used {
            entry.last_used = at;
            entry.last_ip = ip.to_string();
        }
    }

    /// Takes everything noted since the last call.
    pub fn drain(&self) -> Vec<TokenUse> {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        pending.drain().map(|(_, used)| used).collect()
    }

    /// Puts uses back after a failed write, merging with any noted since.
    pub fn restore(&self, uses: Vec<TokenUse>) {
        let mut pending = self.pending.lock().unwrap_or_else(|e| e.into_inner());
        for used in uses {
            match pending.get_mut(&used.id) {
                Some(newer) => newer.count += used.count,
                None => {
                    pending.insert(used.id, used);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uses_coalesce_per_token() {
        let usage = TokenUsage::default();
        let ip1: IpAddr = "192.0.2.1".parse().unwrap();
        let ip2: IpAddr = "192.0.2.2".parse().unwrap();
        usage.note(TokenId(1), Timestamp::from_millis(10), ip1);
        usage.note(TokenId(1), Timestamp::from_millis(20), ip2);
        usage.note(TokenId(2), Timestamp::from_millis(5), ip1);
        let mut drained = usage.drain();
        drained.sort_by_key(|u| u.id);
        assert_eq!(drained.len(), 2);
        assert_eq!(drained[0].count, 2);
        assert_eq!(drained[0].last_used, Timestamp::from_millis(20));
        assert_eq!(drained[0].last_ip, "192.0.2.2");
        assert!(usage.drain().is_empty());
        usage.note(TokenId(1), Timestamp::from_millis(30), ip1);
        usage.restore(drained);
        let again = usage.drain();
        let one = again.iter().find(|u| u.id == TokenId(1)).unwrap();
        assert_eq!((one.count, one.last_used), (3, Timestamp::from_millis(30)));
    }
}
