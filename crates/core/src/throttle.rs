//! Password-guessing protection: failed password attempts are counted per user name and per
//! client network, and past a threshold password logins for that subject wait, for a time that
//! doubles with every further failure. Only passwords are throttled: a user's valid tokens and
//! sessions keep working, so an attacker cannot lock automation (or the user) out of them.

use std::net::IpAddr;
use std::time::Duration;

use crate::tokens::canonical_ip;

/// When failed attempts lock password logins out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures for one user name before its password logins wait.
    pub user_threshold: u32,
    /// Failures from one client network (an IPv4 address, an IPv6 /64) before its password
    /// logins wait; higher, since many people may share one address.
    pub ip_threshold: u32,
    /// The first wait; each further failure doubles it.
    pub lockout: Duration,
    pub max_lockout: Duration,
    /// A subject's failures are forgotten after this long without one.
    pub window: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            user_threshold: 10,
            ip_threshold: 100,
            lockout: Duration::from_secs(60),
            max_lockout: Duration::from_secs(60 * 60),
            window: Duration::from_secs(60 * 60),
        }
    }
}

/// What failures are counted against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    User(String),
    Network(IpAddr),
}

/// Longest user name counted.
const MAX_COUNTED_NAME: usize = 255;

impl Subject {
    /// The subjects a password attempt counts against: the (lower-cased) name and the network.
    pub fn of_attempt(name: &str, client_ip: IpAddr) -> Vec<Self> {
        let mut subjects = vec![Self::Network(client_ip)];
        // No real name is empty, longer than that, or holds a control character (and
        // PostgreSQL cannot store a NUL): such attempts count against the network only.
        let is_plausible = !name.is_empty()
            && name.len() <= MAX_COUNTED_NAME
            && !name.chars().any(char::is_control);
        if is_plausible {
            subjects.insert(0, Self::User(name.to_string()));
        }
        subjects
    }

    /// The stored key: `user:<name>`, or `ip:<address>` (`ip:<prefix>/64` for IPv6, since one
    /// client usually holds a whole /64).
    pub fn key(&self) -> String {
        match self {
            Self::User(name) => format!("user:{name}"),
            Self::Network(ip) => match canonical_ip(*ip) {
                IpAddr::V4(v4) => format!("ip:{v4}"),
                IpAddr::V6(v6) => {
                    let segments = v6.segments();
                    let prefix = std::net::Ipv6Addr::new(
                        segments[0],
                        segments[1],
                        segments[2],
                        segments[3],
                        0,
                        0,
                        0,
                        0,
                    );
                    format!("ip:{prefix}/64")
                }
            },
        }
    }

    pub fn threshold(&self, policy: &ThrottlePolicy) -> u32 {
        match self {
            Self::User(_) => policy.user_threshold,
            Self::Network(_) => policy.ip_threshold,
        }
    }
}

impl ThrottlePolicy {
    /// How long a subject with `failures` recent failures must wait, if at all.
    pub fn lockout_for(&self, subject: &Subject, failures: i64) -> Option<Duration> {
        let threshold = i64::from(subject.threshold(self));
        if failures < threshold {
            return None;
        }
        let doublings = u32::try_from(failures - threshold)
            .unwrap_or(u32::MAX)
            .min(20);
        let wait = self.lockout.saturating_mul(1 << doublings);
        Some(wait.min(self.max_lockout))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lockouts_start_at_the_threshold_and_double_to_the_cap() {
        let policy = ThrottlePolicy::default();
        let user = Subject::User("alice".into());
        assert_eq!(policy.lockout_for(&user, 9), None);
        assert_eq!(policy.lockout_for(&user, 10), Some(Duration::from_secs(60)));
        assert_eq!(
            policy.lockout_for(&user, 11),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            policy.lockout_for(&user, 13),
            Some(Duration::from_secs(480))
        );
        assert_eq!(
            policy.lockout_for(&user, 1_000_000),
            Some(Duration::from_secs(3600))
        );
        let network = Subject::Network("192.0.2.1".parse().unwrap());
        assert_eq!(policy.lockout_for(&network, 99), None);
        assert!(policy.lockout_for(&network, 100).is_some());
    }

    #[test]
    fn subjects_name_users_and_networks() {
        let ip: IpAddr = "2001:db8:1:2:3:4:5:6".parse().unwrap();
        let subjects = Subject::of_attempt("alice", ip);
        let keys: Vec<String> = subjects.iter().map(Subject::key).collect();
        assert_eq!(keys, ["user:alice", "ip:2001:db8:1:2::/64"]);
        let mapped: IpAddr = "::ffff:192.0.2.9".parse().unwrap();
        assert_eq!(Subject::Network(mapped).key(), "ip:192.0.2.9");
        assert_eq!(Subject::of_attempt(&"x".repeat(300), mapped).len(), 1);
        assert_eq!(Subject::of_attempt("", mapped).len(), 1);
        assert_eq!(Subject::of_attempt("ali\0ce", mapped).len(), 1);
    }
}
