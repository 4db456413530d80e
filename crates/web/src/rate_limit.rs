//! Rate limiting: a token bucket per principal (per client address for anonymous callers),
//! with per-group quotas and exempt groups, answered as Jira Data Center does: 429 with
//! `Retry-After` and `X-RateLimit-Limit`, `-Remaining`, `-Interval-Seconds`, `-FillRate`.
//!
//! Buckets live in this instance's memory (GCRA, from the `governor` crate): behind a load
//! balancer each instance grants its own budget.

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use tessera_core::ids::UserId;
use tessera_core::principal::Caller;
use tessera_core::tokens::canonical_ip;

/// A bucket: how many requests at once, refilled at how many per second.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Bucket {
    pub capacity: NonZeroU32,
    pub per_second: NonZeroU32,
}

impl Bucket {
    /// A bucket of at least one request, refilled at at least one per second.
    pub fn new(capacity: u32, per_second: u32) -> Self {
        Self {
            capacity: NonZeroU32::new(capacity).unwrap_or(NonZeroU32::MIN),
            per_second: NonZeroU32::new(per_second).unwrap_or(NonZeroU32::MIN),
        }
    }

    fn quota(self) -> Quota {
        Quota::per_second(self.per_second).allow_burst(self.capacity)
    }
}

/// The rate-limit policy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RateLimitSettings {
    pub enabled: bool,
    /// For authenticated callers without a group quota.
    pub default: Bucket,
    /// For anonymous callers, per client address.
    pub anonymous: Bucket,
    /// Quotas of groups; a member of several gets the largest.
    pub groups: Vec<(String, Bucket)>,
    /// Members of these groups are not limited.
    pub exempt_groups: Vec<String>,
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: false,
            default: Bucket::new(100, 10),
            anonymous: Bucket::new(30, 3),
            groups: Vec::new(),
            exempt_groups: Vec::new(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(UserId),
    Address(IpAddr),
}

type Limiter = DefaultKeyedRateLimiter<Key, StateInformationMiddleware>;

/// The network an address stands for: the IPv4 address itself, or the IPv6 /64 (one client
/// usually holds a whole /64, and would otherwise get a fresh bucket per address).
fn network_of(ip: IpAddr) -> IpAddr {
    match canonical_ip(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// What the limiter decided for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not limited (limits off, or an exempt group).
    Unlimited,
    Allowed {
        bucket: Bucket,
        remaining: u32,
    },
    Limited {
        bucket: Bucket,
        retry_after: Duration,
    },
}

/// The buckets of every caller, one limiter per distinct quota.
#[derive(Debug)]
pub struct RateLimits {
    settings: RateLimitSettings,
    limiters: HashMap<Bucket, Limiter>,
}

impl RateLimits {
    pub fn new(settings: RateLimitSettings) -> Self {
        let buckets = [settings.default, settings.anonymous]
            .into_iter()
            .chain(settings.groups.iter().map(|(_, bucket)| *bucket));
        let limiters = buckets
            .map(|bucket| {
                let limiter = RateLimiter::keyed(bucket.quota())
                    .with_middleware::<StateInformationMiddleware>();
                (bucket, limiter)
            })
            .collect();
        Self { settings, limiters }
    }

    fn bucket_for(&self, groups: &[String]) -> Option<Bucket> {
        if groups
            .iter()
            .any(|g| self.settings.exempt_groups.contains(g))
        {
            return None;
        }
        let granted = self
            .settings
            .groups
            .iter()
            .filter(|(group, _)| groups.contains(group))
            .map(|(_, bucket)| *bucket)
            .max_by_key(|bucket| (bucket.capacity, bucket.per_second));
        Some(granted.unwrap_or(self.settings.default))
    }

    /// Takes one request from the caller's bucket.
    pub fn check(&self, caller: &Caller) -> Decision {
        if !self.settings.enabled {
            return Decision::Unlimited;
        }
        let (key, bucket) = match caller {
            Caller::Anonymous { client_ip } => (
                Key::Address(network_of(*client_ip)),
                self.settings.anonymous,
            ),
            Caller::User(principal) => match self.bucket_for(&principal.groups) {
                None => return Decision::Unlimited,
                Some(bucket) => (Key::User(principal.user.id), bucket),
            },
        };
        let Some(limiter) = self.limiters.get(&bucket) else {
            return Decision::Unlimited;
        };
        match limiter.check_key(&key) {
            Ok(snapshot) => Decision::Allowed {
                bucket,
                remaining: snapshot.remaining_burst_capacity(),
            },
            Err(not_until) => Decision::Limited {
                bucket,
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            },
        }
    }

    /// Drops the buckets of callers not seen lately (they are full again anyway).
    pub fn forget_idle(&self) {
        for limiter in self.limiters.values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::clock::Timestamp;
    use tessera_core::model::User;
    use tessera_core::permissions::GlobalPermissions;
    use tessera_core::principal::{AuthMethod, Principal};
    use tessera_core::scopes::Scopes;

    fn user(id: i64, groups: &[&str]) -> Caller {
        Caller::User(Box::new(Principal {
            user: User {
                id: UserId(id),
                name: format!("u{id}"),
                display_name: String::new(),
                email: None,
                active: true,
                has_password: true,
                created: Timestamp::from_millis(0),
                service_owner: None,
            },
            groups: groups.iter().map(|g| g.to_string()).collect(),
            global: GlobalPermissions::empty(),
            method: AuthMethod::BearerToken,
            credential_ref: None,
            token: None,
            scopes: Scopes::all(),
            projects: None,
            client_ip: "192.0.2.1".parse().unwrap(),
        }))
    }

    fn settings() -> RateLimitSettings {
        RateLimitSettings {
            enabled: true,
            default: Bucket::new(3, 1),
            anonymous: Bucket::new(2, 1),
            groups: vec![
                ("bots".into(), Bucket::new(5, 1)),
                ("big".into(), Bucket::new(8, 1)),
            ],
            exempt_groups: vec!["ops".into()],
        }
    }

    fn allowed(limits: &RateLimits, caller: &Caller) -> usize {
        (0..20)
            .take_while(|_| !matches!(limits.check(caller), Decision::Limited { .. }))
            .count()
    }

    #[test]
    fn each_caller_has_its_own_bucket_of_its_groups_size() {
        let limits = RateLimits::new(settings());
        assert_eq!(allowed(&limits, &user(1, &[])), 3);
        assert_eq!(
            allowed(&limits, &user(2, &[])),
            3,
            "another user's bucket is full"
        );
        assert_eq!(allowed(&limits, &user(3, &["bots"])), 5);
        assert_eq!(
            allowed(&limits, &user(4, &["bots", "big"])),
            8,
            "the largest quota wins"
        );
        assert_eq!(allowed(&limits, &user(5, &["ops", "bots"])), 20, "exempt");
        let anonymous = Caller::Anonymous {
            client_ip: "198.51.100.1".parse().unwrap(),
        };
        assert_eq!(allowed(&limits, &anonymous), 2);
        // Every address of one IPv6 /64 shares a bucket.
        let first = Caller::Anonymous {
            client_ip: "2001:db8:1:2::1".parse().unwrap(),
        };
        let second = Caller::Anonymous {
            client_ip: "2001:db8:1:2::ffff".parse().unwrap(),
        };
        assert_eq!(allowed(&limits, &first), 2);
        assert_eq!(allowed(&limits, &second), 0);
        let Decision::Limited {
            retry_after,
            bucket,
        } = limits.check(&user(1, &[]))
        else {
            panic!("the bucket is empty")
        };
        assert_eq!(bucket, Bucket::new(3, 1));
        assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1));
    }

    #[test]
    fn remaining_counts_down_and_disabled_limits_nothing() {
        let limits = RateLimits::new(settings());
        let caller = user(1, &[]);
        let remaining: Vec<u32> = (0..3)
            .map(|_| match limits.check(&caller) {
                Decision::Allowed { remaining, .. } => remaining,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        let off = RateLimits::new(RateLimitSettings::default());
        assert_eq!(allowed(&off, &caller), 20);
    }
}
