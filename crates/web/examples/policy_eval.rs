//! Times what the access policy adds to one authenticated request, in isolation: the policy's
//! decision for the caller (address lists, method rule, REST API groups), the rate limiter's
//! bucket and its four response headers. For `bench/policy.sh`, which compares it with the
//! server's CPU time per request measured in the same run.
//!
//!     policy_eval GROUP... < policy.json
//!
//! Prints `DEFAULT_NS FULL_NS`: nanoseconds per request under the empty policy and under the
//! one read from standard input, for a caller in the given groups calling from 127.0.0.1
//! with a Bearer token (each the median of several timed runs).

use std::error::Error;
use std::hint::black_box;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use http::HeaderMap;
use tessera_auth::policy::ActivePolicy;
use tessera_core::clock::Timestamp;
use tessera_core::ids::UserId;
use tessera_core::model::User;
use tessera_core::permissions::GlobalPermissions;
use tessera_core::policy::{Policy, Surface};
use tessera_core::principal::{AuthMethod, Caller, Principal};
use tessera_core::scopes::Scopes;
use tessera_web::rate_limit::{Decision, RateLimits, insert_headers};

const REQUESTS: u32 = 200_000;
const RUNS: usize = 9;

fn caller(groups: Vec<String>) -> Caller {
    Caller::User(Box::new(Principal {
        user: User {
            id: UserId(10000),
            name: "admin".into(),
            cased_name: "admin".into(),
            display_name: "Administrator".into(),
            email: None,
            active: true,
            has_password: true,
            created: Timestamp::from_millis(0),
            service_owner: None,
        },
        groups,
        group_names: Vec::new(),
        global: GlobalPermissions::empty(),
        method: AuthMethod::BearerToken,
        credential_ref: None,
        token: None,
        scopes: Scopes::all(),
        projects: None,
        client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        user_agent: None,
        websudo_until: None,
        oauth2: None,
        oauth1: None,
        external: None,
    }))
}

/// Median nanoseconds per request of the policy's share of the work.
fn time(policy: Policy, caller: &Caller) -> Result<f64, Box<dyn Error>> {
    let active = ActivePolicy {
        version: 1,
        policy,
        updated: Timestamp::from_millis(0),
        updated_by: None,
    };
    let Caller::User(principal) = caller else {
        return Err("the caller must be a user".into());
    };
    let limits = RateLimits::default();
    let mut runs = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        let started = Instant::now();
        for _ in 0..REQUESTS {
            let decision = active.policy.admit(
                principal.method,
                black_box(&principal.groups),
                black_box(principal.client_ip),
                Surface::Api,
            );
            if decision.is_err() {
                return Err("the policy refuses the benchmark's caller".into());
            }
            let mut headers = HeaderMap::new();
            match limits.check(black_box(caller), &active) {
                Decision::Allowed { bucket, remaining } => {
                    insert_headers(&mut headers, bucket, remaining);
                }
                Decision::Unlimited => {}
                Decision::Limited { .. } => return Err("the rate limit refused".into()),
            }
            black_box(headers);
        }
        runs.push(started.elapsed().as_nanos() as f64 / f64::from(REQUESTS));
    }
    runs.sort_by(f64::total_cmp);
    Ok(runs[RUNS / 2])
}

fn main() -> Result<(), Box<dyn Error>> {
    let groups: Vec<String> = std::env::args().skip(1).collect();
    let mut text = String::new();
    std::io::stdin().read_to_string(&mut text)?;
    let full: Policy = serde_json::from_str(&text)?;
    let full = full
        .normalised()
        .map_err(|errors| format!("invalid policy: {errors:?}"))?;
    let caller = caller(groups);
    let default_ns = time(Policy::default(), &caller)?;
    let full_ns = time(full, &caller)?;
    writeln!(std::io::stdout().lock(), "{default_ns:.0} {full_ns:.0}")?;
    Ok(())
}
