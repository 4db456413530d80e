//! Rate limiting: a token bucket per principal (per client address for anonymous callers),
//! with per-group quotas and exempt groups, answered as Jira Data Center does: 429 with
//! `Retry-After` and `X-RateLimit-Limit`, `-Remaining`, `-Interval-Seconds`, `-FillRate`.
//!
//! Buckets live in this instance's memory (GCRA, from the `governor` crate): behind a load
//! balancer each instance grants its own budget.
//!
//! A failed credential (a wrong password, an unknown or malformed token, a dead session) is
//! paid for from the client address's anonymous bucket, as an anonymous request would be
//! ([`RateLimits::charge_failure`]). Once that bucket is spent the address is *penalized*
//! until the bucket holds a request again: its requests are then accepted only with a
//! credential answered from memory, so that a flood of bad credentials gets no more Argon2 or
//! database work than the anonymous rate allows ([`RateLimits::penalty`]).

use std::collections::HashMap;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::{DefaultKeyedRateLimiter, RateLimiter};
use http::{HeaderMap, HeaderValue};
use tessera_auth::policy::ActivePolicy;
use tessera_core::ids::UserId;
use tessera_core::policy::{Quota, RateLimitPolicy};
use tessera_core::principal::Caller;
use tessera_core::tokens::canonical_ip;

fn governor_quota(quota: Quota) -> governor::Quota {
    let at_least_one = |n: u32| NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN);
    governor::Quota::per_second(at_least_one(quota.per_second))
        .allow_burst(at_least_one(quota.capacity))
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Key {
    User(UserId),
    Address(IpAddr),
}

type Limiter = DefaultKeyedRateLimiter<Key, StateInformationMiddleware>;

/// The network an address stands for: the IPv4 address itself, or the IPv6 /64 (one client
/// usually holds a whole /64, and would otherwise get a fresh bucket per address).
pub fn network_of(ip: IpAddr) -> IpAddr {
    match canonical_ip(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Jira Data Center's headers describing the caller's bucket, on allowed and refused answers.
pub fn insert_headers(headers: &mut HeaderMap, bucket: Quota, remaining: u32) {
    headers.insert("x-ratelimit-limit", HeaderValue::from(bucket.capacity));
    headers.insert("x-ratelimit-remaining", HeaderValue::from(remaining));
    headers.insert("x-ratelimit-interval-seconds", HeaderValue::from(1));
    headers.insert("x-ratelimit-fillrate", HeaderValue::from(bucket.per_second));
}

/// What the limiter decided for one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Not limited (limits off, or an exempt group).
    Unlimited,
    Allowed {
        bucket: Quota,
        remaining: u32,
    },
    Limited {
        bucket: Quota,
        retry_after: Duration,
    },
}

/// One policy's buckets: a limiter per distinct quota.
#[derive(Debug)]
struct Buckets {
    version: i64,
    settings: RateLimitPolicy,
    /// Shared by the versions of the policy with these settings.
    limiters: Arc<HashMap<Quota, Limiter>>,
}

impl Buckets {
    fn new(version: i64, settings: RateLimitPolicy) -> Self {
        let quotas = [settings.default, settings.anonymous]
            .into_iter()
            .chain(settings.groups.values().copied());
        let limiters = quotas
            .map(|quota| {
                let limiter = RateLimiter::keyed(governor_quota(quota))
                    .with_middleware::<StateInformationMiddleware>();
                (quota, limiter)
            })
            .collect();
        Self {
            version,
            settings,
            limiters: Arc::new(limiters),
        }
    }
}

/// The buckets of every caller under the policy in force. A policy change that alters the
/// rate limits starts every bucket afresh; other changes keep them.
#[derive(Debug)]
pub struct RateLimits {
    current: RwLock<Arc<Buckets>>,
    /// Networks whose failed credentials spent their anonymous bucket: until when, and that
    /// bucket's size (for the answer's headers).
    penalties: Mutex<HashMap<IpAddr, Penalty>>,
    /// How many networks `penalties` holds, read without its lock on every request.
    penalized: AtomicUsize,
}

/// A penalized network: until when, and the bucket it spent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Penalty {
    pub until: Instant,
    pub bucket: Quota,
}

impl Penalty {
    /// How long from now until the penalty ends.
    pub fn retry_after(&self) -> Duration {
        self.until.saturating_duration_since(Instant::now())
    }
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            current: RwLock::new(Arc::new(Buckets::new(0, RateLimitPolicy::default()))),
            penalties: Mutex::new(HashMap::new()),
            penalized: AtomicUsize::new(0),
        }
    }
}

impl RateLimits {
    fn buckets(&self, policy: &ActivePolicy) -> Arc<Buckets> {
        let held = self
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        // A request still holding an older policy uses the buckets held: swapping back and
        // forth between versions would empty every bucket each time.
        if held.version >= policy.version {
            return held;
        }
        let mut current = self.current.write().unwrap_or_else(|e| e.into_inner());
        if current.version < policy.version {
            *current = if current.settings == policy.policy.rate_limit {
                Arc::new(Buckets {
                    version: policy.version,
                    settings: current.settings.clone(),
                    limiters: current.limiters.clone(),
                })
            } else {
                Arc::new(Buckets::new(
                    policy.version,
                    policy.policy.rate_limit.clone(),
                ))
            };
        }
        current.clone()
    }

    /// Takes one request from the caller's bucket.
    pub fn check(&self, caller: &Caller, policy: &ActivePolicy) -> Decision {
        if !policy.policy.rate_limit.enabled {
            return Decision::Unlimited;
        }
        let buckets = self.buckets(policy);
        let (key, quota) = match caller {
            Caller::Anonymous { client_ip } => (
                Key::Address(network_of(*client_ip)),
                buckets.settings.anonymous,
            ),
            Caller::User(principal) => match buckets.settings.quota_for(&principal.groups) {
                None => return Decision::Unlimited,
                Some(quota) => (Key::User(principal.user.id), quota),
            },
        };
        let Some(limiter) = buckets.limiters.get(&quota) else {
            return Decision::Unlimited;
        };
        match limiter.check_key(&key) {
            Ok(snapshot) => Decision::Allowed {
                bucket: quota,
                remaining: snapshot.remaining_burst_capacity(),
            },
            Err(not_until) => Decision::Limited {
                bucket: quota,
                retry_after: not_until.wait_time_from(DefaultClock::default().now()),
            },
        }
    }

    /// Pays for a failed credential from `client_ip`'s anonymous bucket. When that leaves the
    /// bucket empty, the address's network is penalized until it holds a request again
    /// (returned).
    pub fn charge_failure(&self, client_ip: IpAddr, policy: &ActivePolicy) -> Option<Penalty> {
        let (bucket, retry_after) = match self.check(&Caller::Anonymous { client_ip }, policy) {
            Decision::Allowed {
                bucket,
                remaining: 0,
            } => (bucket, Duration::from_secs(1) / bucket.per_second.max(1)),
            Decision::Limited {
                bucket,
                retry_after,
            } => (bucket, retry_after),
            Decision::Allowed { .. } | Decision::Unlimited => return None,
        };
        let penalty = Penalty {
            until: Instant::now() + retry_after,
            bucket,
        };
        let mut penalties = self.penalties.lock().unwrap_or_else(|e| e.into_inner());
        penalties.insert(network_of(client_ip), penalty);
        self.penalized.store(penalties.len(), Ordering::Release);
        Some(penalty)
    }

    /// Whether `client_ip`'s network is penalized now: its failed credentials spent its
    /// anonymous bucket, which holds no request yet.
    pub fn penalty(&self, client_ip: IpAddr) -> Option<Penalty> {
        if self.penalized.load(Ordering::Acquire) == 0 {
            return None;
        }
        let penalties = self.penalties.lock().unwrap_or_else(|e| e.into_inner());
        penalties
            .get(&network_of(client_ip))
            .filter(|penalty| penalty.until > Instant::now())
            .copied()
    }

    /// Drops the buckets of callers not seen lately (they are full again anyway), and the
    /// penalties that ended.
    pub fn forget_idle(&self) {
        let buckets = self
            .current
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        for limiter in buckets.limiters.values() {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        let mut penalties = self.penalties.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        penalties.retain(|_, penalty| penalty.until > now);
        self.penalized.store(penalties.len(), Ordering::Release);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::clock::Timestamp;
    use tessera_core::model::User;
    use tessera_core::permissions::GlobalPermissions;
    use tessera_core::policy::Policy;
    use tessera_core::principal::{AuthMethod, Principal};
    use tessera_core::scopes::Scopes;

    fn user(id: i64, groups: &[&str]) -> Caller {
        Caller::User(Box::new(Principal {
            user: User {
                id: UserId(id),
                name: format!("u{id}"),
                cased_name: format!("u{id}"),
                display_name: String::new(),
                email: None,
                active: true,
                has_password: true,
                created: Timestamp::from_millis(0),
                service_owner: None,
            },
            groups: groups.iter().map(|g| g.to_string()).collect(),
            group_names: Vec::new(),
            global: GlobalPermissions::empty(),
            method: AuthMethod::BearerToken,
            credential_ref: None,
            token: None,
            scopes: Scopes::all(),
            projects: None,
            client_ip: "192.0.2.1".parse().unwrap(),
            user_agent: None,
            websudo_until: None,
            oauth2: None,
            oauth1: None,
            external: None,
        }))
    }

    fn quota(capacity: u32, per_second: u32) -> Quota {
        Quota {
            capacity,
            per_second,
        }
    }

    fn policy(version: i64, limits: RateLimitPolicy) -> ActivePolicy {
        ActivePolicy {
            version,
            policy: Policy {
                rate_limit: limits,
                ..Policy::default()
            },
            updated: Timestamp::from_millis(0),
            updated_by: None,
        }
    }

    fn settings() -> ActivePolicy {
        policy(
            1,
            RateLimitPolicy {
                enabled: true,
                default: quota(3, 1),
                anonymous: quota(2, 1),
                groups: [("bots".into(), quota(5, 1)), ("big".into(), quota(8, 1))]
                    .into_iter()
                    .collect(),
                exempt_groups: vec!["ops".into()],
            },
        )
    }

    fn allowed(limits: &RateLimits, caller: &Caller, policy: &ActivePolicy) -> usize {
        (0..20)
            .take_while(|_| !matches!(limits.check(caller, policy), Decision::Limited { .. }))
            .count()
    }

    #[test]
    fn each_caller_has_its_own_bucket_of_its_groups_size() {
        let limits = RateLimits::default();
        let settings = settings();
        let allowed = |caller: &Caller| allowed(&limits, caller, &settings);
        assert_eq!(allowed(&user(1, &[])), 3);
        assert_eq!(allowed(&user(2, &[])), 3, "another user's bucket is full");
        assert_eq!(allowed(&user(3, &["bots"])), 5);
        assert_eq!(
            allowed(&user(4, &["bots", "big"])),
            8,
            "the largest quota wins"
        );
        assert_eq!(allowed(&user(5, &["ops", "bots"])), 20, "exempt");
        let anonymous = Caller::Anonymous {
            client_ip: "198.51.100.1".parse().unwrap(),
        };
        assert_eq!(allowed(&anonymous), 2);
        // Every address of one IPv6 /64 shares a bucket.
        let first = Caller::Anonymous {
            client_ip: "2001:db8:1:2::1".parse().unwrap(),
        };
        let second = Caller::Anonymous {
            client_ip: "2001:db8:1:2::ffff".parse().unwrap(),
        };
        assert_eq!(allowed(&first), 2);
        assert_eq!(allowed(&second), 0);
        let Decision::Limited {
            retry_after,
            bucket,
        } = limits.check(&user(1, &[]), &settings)
        else {
            panic!("the bucket is empty")
        };
        assert_eq!(bucket, quota(3, 1));
        assert!(retry_after > Duration::ZERO && retry_after <= Duration::from_secs(1));
    }

    #[test]
    fn remaining_counts_down_and_disabled_limits_nothing() {
        let limits = RateLimits::default();
        let settings = settings();
        let caller = user(1, &[]);
        let remaining: Vec<u32> = (0..3)
            .map(|_| match limits.check(&caller, &settings) {
                Decision::Allowed { remaining, .. } => remaining,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        let off = policy(2, RateLimitPolicy::default());
        assert_eq!(allowed(&limits, &caller, &off), 20);
    }

    #[test]
    fn failed_credentials_spend_the_address_budget_then_penalize_its_network() {
        let limits = RateLimits::default();
        let settings = settings();
        let attacker: IpAddr = "2001:db8:9:9::1".parse().unwrap();
        let neighbour: IpAddr = "2001:db8:9:9::2".parse().unwrap();
        let elsewhere: IpAddr = "198.51.100.7".parse().unwrap();
        // The anonymous bucket holds two: the second failure spends it.
        assert_eq!(limits.charge_failure(attacker, &settings), None);
        assert_eq!(limits.penalty(attacker), None);
        let penalty = limits
            .charge_failure(attacker, &settings)
            .expect("the bucket is spent");
        assert_eq!(penalty.bucket, quota(2, 1));
        assert!(penalty.retry_after() > Duration::ZERO);
        assert!(penalty.retry_after() <= Duration::from_secs(1));
        // The whole /64 shares it; another address does not.
        assert_eq!(limits.penalty(attacker), Some(penalty));
        assert_eq!(limits.penalty(neighbour), Some(penalty));
        assert_eq!(limits.penalty(elsewhere), None);
        // The address's anonymous requests share the spent bucket.
        let anonymous = Caller::Anonymous {
            client_ip: neighbour,
        };
        assert!(matches!(
            limits.check(&anonymous, &settings),
            Decision::Limited { .. }
        ));
        // With rate limits off, failures are not charged.
        let off = policy(2, RateLimitPolicy::default());
        assert_eq!(limits.charge_failure(elsewhere, &off), None);
        // A penalty ends when the bucket holds a request again, and is then forgotten.
        std::thread::sleep(penalty.retry_after() + Duration::from_millis(20));
        assert_eq!(limits.penalty(attacker), None);
        limits.forget_idle();
        assert_eq!(limits.penalized.load(Ordering::Acquire), 0);
    }

    #[test]
    fn a_policy_change_renews_buckets_only_when_the_limits_change() {
        let limits = RateLimits::default();
        let first = settings();
        let caller = user(1, &[]);
        assert_eq!(allowed(&limits, &caller, &first), 3);
        // Another section changed: the spent bucket stays spent.
        let same_limits = ActivePolicy {
            version: 2,
            ..first.clone()
        };
        assert_eq!(allowed(&limits, &caller, &same_limits), 0);
        // The limits changed: every bucket starts afresh with the new size.
        let mut wider = first.policy.rate_limit.clone();
        wider.default = quota(6, 1);
        let newest = policy(3, wider);
        assert_eq!(allowed(&limits, &caller, &newest), 6);
        // A request still holding an older version neither brings its buckets back nor
        // empties the newest ones: the spent bucket stays spent under both.
        assert_eq!(allowed(&limits, &caller, &first), 0);
        assert_eq!(allowed(&limits, &caller, &newest), 0);
    }
}
