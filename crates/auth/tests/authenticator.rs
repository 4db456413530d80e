//! The authenticator against a real store and a manual clock: password checks and their cache,
//! session timeouts and rotation, the XSRF rule, and the sameness of failure answers.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use http::{HeaderMap, HeaderValue, Method};
use secrecy::SecretString;
use tessera_auth::authenticator::{AuthConfig, Authenticator};
use tessera_auth::hashing::{HashParams, HasherConfig, hash_blocking};
use tessera_auth::{AuthError, RequestInfo, RequestUrl, TokenRejection};
use tessera_core::authz::Authorizer;
use tessera_core::clock::{Clock, ManualClock, Timestamp};
use tessera_core::model::{NewUser, USERS_GROUP, UserUpdate};
use tessera_core::policy::Surface;
use tessera_core::principal::AuthMethod;
use tessera_core::store::{
    AuthChangeStore, PolicyStore, SessionStore, Store, TokenStore, UserStore,
};
use tessera_core::tokens::TokenRequest;
use tessera_store::{PoolOptions, SqlStore};
use tessera_testkit::{TestDatabase, backend_tests};

const CHEAP: HashParams = HashParams {
    memory_kib: 64,
    iterations: 1,
    parallelism: 1,
};
const IP: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

struct Fixture {
    store: Arc<SqlStore>,
    clock: Arc<ManualClock>,
    auth: Authenticator,
}

async fn fixture(db: &TestDatabase) -> Fixture {
    fixture_with(db, AuthConfig::default()).await
}

async fn fixture_with(db: &TestDatabase, config: AuthConfig) -> Fixture {
    let store = Arc::new(
        SqlStore::open(&db.url, PoolOptions::default())
            .await
            .unwrap(),
    );
    let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_700_000_000_000)));
    let config = AuthConfig {
        hasher: HasherConfig {
            params: CHEAP,
            workers: 1,
            queue: 16,
        },
        ..config
    };
    let auth = Authenticator::new(store.clone() as Arc<dyn Store>, clock.clone(), config)
        .await
        .unwrap();
    // The verified-credential cache works once the store hears of changes: every test here
    // then runs with it, as a server does.
    if auth.config().verified_capacity > 0 {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while store.auth_epoch().is_none() {
            assert!(
                std::time::Instant::now() < deadline,
                "the store never started watching"
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
    for (name, password) in [("alice", Some("alice-password")), ("sso", None)] {
        store
            .create_user(NewUser {
                name: name.into(),
                cased_name: name.into(),
                display_name: name.into(),
                email: None,
                password_hash: password.map(|p| hash_blocking(CHEAP, &secret(p)).unwrap()),
                groups: vec![USERS_GROUP.into()],
                created: clock.now(),
                service_owner: None,
            })
            .await
            .unwrap();
    }
    Fixture { store, clock, auth }
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_string())
}

fn basic(user: &str, password: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    let value = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Basic {value}")).unwrap(),
    );
    headers
}

fn cookie(session: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "cookie",
        HeaderValue::from_str(&format!("JSESSIONID={session}")).unwrap(),
    );
    headers
}

async fn authenticate(
    auth: &Authenticator,
    method: Method,
    headers: &HeaderMap,
) -> Result<Option<tessera_auth::authenticator::Authenticated>, AuthError> {
    let own = ["http://127.0.0.1:8080".to_string()];
    auth.authenticate(&RequestInfo {
        method: &method,
        headers,
        form_token: None,
        client_ip: IP,
        own_origins: &own,
        surface: Surface::Api,
        url: &url(),
        body: &[],
        penalized: false,
    })
    .await
}

/// The URL every test request is sent to.
fn url() -> RequestUrl {
    RequestUrl {
        scheme: "http",
        host: "127.0.0.1".into(),
        port: 8080,
        path: "/rest/api/2/myself".into(),
        query: None,
    }
}

backend_tests! {
    async fn basic_accepts_the_password_and_refuses_everything_else_alike(db) {
        let f = fixture(&db).await;
        let ok = authenticate(&f.auth, Method::GET, &basic("Alice", "alice-password")).await.unwrap().unwrap();
        assert_eq!(ok.principal.user.name, "alice", "user names are matched without case");
        assert_eq!(ok.principal.method, AuthMethod::BasicPassword);
        assert_eq!(ok.principal.groups, vec![USERS_GROUP.to_string()]);
        let failures = [
            basic("alice", "wrong"),
            basic("nobody", "alice-password"),
            basic("sso", ""),
            basic("", "x"),
            basic("alice", &"x".repeat(2000)),
            basic("ali\0ce", "alice-password"),
        ];
        for headers in &failures {
            let error = authenticate(&f.auth, Method::GET, headers).await.unwrap_err();
            assert!(matches!(error, AuthError::BadCredentials), "{error:?}");
        }
        let alice = f.store.find_user_by_name("alice").await.unwrap().unwrap();
        f.store.update_user(alice.id, &UserUpdate { active: Some(false), ..Default::default() }).await.unwrap();
        let error = authenticate(&f.auth, Method::GET, &basic("alice", "alice-password")).await.unwrap_err();
        assert!(matches!(error, AuthError::BadCredentials), "a deactivated user gets the same answer: {error:?}");
        assert!(authenticate(&f.auth, Method::GET, &HeaderMap::new()).await.unwrap().is_none());
    }

    async fn every_failure_takes_as_long_as_a_verification_at_the_configured_cost(db) {
        let f = fixture(&db).await;
        // The same data served with a costlier configuration: alice's stored hash is now weak.
        let config = AuthConfig {
            hasher: HasherConfig { params: HashParams { memory_kib: 4096, iterations: 4, parallelism: 1 }, workers: 1, queue: 16 },
            ..AuthConfig::default()
        };
        let strong = Authenticator::new(f.store.clone() as Arc<dyn Store>, f.clock.clone(), config).await.unwrap();
        let floor = strong.failure_time();
        assert!(floor > Duration::from_millis(1), "{floor:?}");
        for (user, password) in [("alice", "wrong"), ("nobody", "whatever"), ("sso", "x")] {
            let started = std::time::Instant::now();
            let error = authenticate(&strong, Method::GET, &basic(user, password)).await.unwrap_err();
            assert!(matches!(error, AuthError::BadCredentials));
            assert!(started.elapsed() >= floor, "{user}: {:?} < {floor:?}", started.elapsed());
        }
    }

    async fn a_remembered_password_is_forgotten_when_it_changes(db) {
        let f = fixture(&db).await;
        let headers = basic("alice", "alice-password");
        authenticate(&f.auth, Method::GET, &headers).await.unwrap().unwrap();
        // Cached now; change the password behind the authenticator's back (as another instance
        // or the offline command line would).
        let alice = f.store.find_user_by_name("alice").await.unwrap().unwrap();
        let new_hash = hash_blocking(CHEAP, &secret("new-password")).unwrap();
        f.store.set_password_hash(alice.id, Some(&new_hash), None).await.unwrap();
        assert!(matches!(authenticate(&f.auth, Method::GET, &headers).await, Err(AuthError::BadCredentials)));
        assert!(authenticate(&f.auth, Method::GET, &basic("alice", "new-password")).await.unwrap().is_some());
        // Deactivation also ends a cached verification at once.
        f.store.update_user(alice.id, &UserUpdate { active: Some(false), ..Default::default() }).await.unwrap();
        assert!(matches!(authenticate(&f.auth, Method::GET, &basic("alice", "new-password")).await, Err(AuthError::BadCredentials)));
    }

    async fn sessions_expire_when_idle_and_at_their_absolute_end(db) {
        let f = fixture(&db).await;
        let login = f.auth.login("alice", &secret("alice-password"), IP, &HeaderMap::new()).await.unwrap();
        assert_eq!(login.login_info.login_count, 1);
        let headers = cookie(login.session.expose());
        let found = authenticate(&f.auth, Method::GET, &headers).await.unwrap().unwrap();
        assert_eq!(found.principal.method, AuthMethod::Session);
        // Used every 50 minutes, a session with a 60-minute idle timeout lives on...
        for _ in 0..10 {
            f.clock.advance(Duration::from_secs(50 * 60));
            authenticate(&f.auth, Method::GET, &headers).await.unwrap().unwrap();
        }
        // ...until its absolute end (12 hours).
        f.clock.advance(Duration::from_secs(50 * 60 * 4));
        assert!(matches!(authenticate(&f.auth, Method::GET, &headers).await, Err(AuthError::SessionInvalid)));

        let login = f.auth.login("alice", &secret("alice-password"), IP, &HeaderMap::new()).await.unwrap();
        let headers = cookie(login.session.expose());
        f.clock.advance(Duration::from_secs(61 * 60));
        assert!(matches!(authenticate(&f.auth, Method::GET, &headers).await, Err(AuthError::SessionInvalid)), "idle");
        assert!(matches!(authenticate(&f.auth, Method::GET, &cookie("not-a-session")).await, Err(AuthError::SessionInvalid)));
    }

    async fn a_short_idle_timeout_still_keeps_a_session_in_use_alive(db) {
        let config = AuthConfig { session_idle: Duration::from_secs(60), ..AuthConfig::default() };
        let f = fixture_with(&db, config).await;
        let login = f.auth.login("alice", &secret("alice-password"), IP, &HeaderMap::new()).await.unwrap();
        let headers = cookie(login.session.expose());
        for _ in 0..20 {
            f.clock.advance(Duration::from_secs(20));
            authenticate(&f.auth, Method::GET, &headers).await.unwrap().unwrap();
        }
        f.clock.advance(Duration::from_secs(61));
        assert!(matches!(authenticate(&f.auth, Method::GET, &headers).await, Err(AuthError::SessionInvalid)));
    }

    async fn login_rotates_the_session_and_logout_ends_it(db) {
        let f = fixture(&db).await;
        let first = f.auth.login("alice", &secret("alice-password"), IP, &HeaderMap::new()).await.unwrap();
        let old = cookie(first.session.expose());
        let second = f.auth.login("alice", &secret("alice-password"), IP, &old).await.unwrap();
        assert_ne!(first.session.expose(), second.session.expose());
        assert!(matches!(authenticate(&f.auth, Method::GET, &old).await, Err(AuthError::SessionInvalid)), "the old id died at login");
        let current = cookie(second.session.expose());
        assert!(authenticate(&f.auth, Method::GET, &current).await.unwrap().is_some());
        assert!(f.auth.logout(&second.session).await.unwrap());
        assert!(!f.auth.logout(&second.session).await.unwrap());
        assert!(matches!(authenticate(&f.auth, Method::GET, &current).await, Err(AuthError::SessionInvalid)));
        assert!(matches!(f.auth.login("alice", &secret("nope"), IP, &HeaderMap::new()).await, Err(AuthError::BadCredentials)));
    }

    async fn session_requests_obey_the_xsrf_rule(db) {
        let f = fixture(&db).await;
        let login = f.auth.login("alice", &secret("alice-password"), IP, &HeaderMap::new()).await.unwrap();
        let mut form = cookie(login.session.expose());
        form.insert("content-type", HeaderValue::from_static("application/x-www-form-urlencoded"));
        assert!(matches!(authenticate(&f.auth, Method::POST, &form).await, Err(AuthError::Xsrf(_))));
        assert!(authenticate(&f.auth, Method::GET, &form).await.unwrap().is_some());
        let own = ["http://127.0.0.1:8080".to_string()];
        let with_token = f.auth.authenticate(&RequestInfo {
            method: &Method::POST, headers: &form, form_token: Some(&login.xsrf_token), client_ip: IP, own_origins: &own,
            surface: Surface::Api, url: &url(), body: &[], penalized: false,
        }).await;
        assert!(with_token.unwrap().is_some(), "the session's form token passes");
        form.insert("x-atlassian-token", HeaderValue::from_static("no-check"));
        assert!(authenticate(&f.auth, Method::POST, &form).await.unwrap().is_some());
        // The same form request with Basic auth is not subject to the rule.
        let mut basic_form = basic("alice", "alice-password");
        basic_form.insert("content-type", HeaderValue::from_static("application/x-www-form-urlencoded"));
        assert!(authenticate(&f.auth, Method::POST, &basic_form).await.unwrap().is_some());
    }

    async fn expired_sessions_are_purged(db) {
        let f = fixture(&db).await;
        let login = f.auth.login("alice", &secret("alice-password"), IP, &HeaderMap::new()).await.unwrap();
        assert_eq!(f.auth.purge_expired_sessions().await.unwrap(), 0);
        f.clock.advance(Duration::from_secs(2 * 60 * 60));
        assert_eq!(f.auth.purge_expired_sessions().await.unwrap(), 1);
        assert!(f.store.find_session(&login.session.digest()).await.unwrap().is_none());
    }

    async fn a_user_without_use_is_refused_before_any_session_is_written(db) {
        let f = fixture(&db).await;
        f.store.create_user(NewUser {
            name: "nouse".into(), cased_name: "nouse".into(), display_name: "nouse".into(), email: None,
            password_hash: Some(hash_blocking(CHEAP, &secret("nouse-password")).unwrap()),
            groups: vec![], created: f.clock.now(), service_owner: None,
        }).await.unwrap();
        let refused = f.auth.login("nouse", &secret("nouse-password"), IP, &HeaderMap::new()).await;
        assert!(matches!(refused, Err(AuthError::Forbidden(_))), "{refused:?}");
        // No session row was written: none to purge, even once any session would have expired.
        f.clock.advance(Duration::from_secs(24 * 60 * 60));
        assert_eq!(f.auth.purge_expired_sessions().await.unwrap(), 0);
        assert!(f.auth.login("alice", &secret("alice-password"), IP, &HeaderMap::new()).await.is_ok());
    }
}

fn bearer(token: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(
        "authorization",
        HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
    );
    headers
}

/// Issues a token for alice, as she would with a password.
async fn alice_token(f: &Fixture, request: TokenRequest) -> tessera_auth::tokens::Issued {
    let login = authenticate(&f.auth, Method::GET, &basic("alice", "alice-password"))
        .await
        .unwrap()
        .unwrap();
    let manage = Authorizer::own_tokens(&login.principal);
    tessera_auth::tokens::issue(
        &*f.store,
        &f.auth.policy().current().policy.tokens,
        &manage,
        Some(&login.principal),
        &request,
        None,
        f.clock.now(),
    )
    .await
    .unwrap()
}

fn rejection(
    result: Result<Option<tessera_auth::authenticator::Authenticated>, AuthError>,
) -> TokenRejection {
    match result {
        Err(AuthError::Token(rejection)) => rejection,
        other => panic!("expected a token rejection, got {other:?}"),
    }
}

/// Tokens, checked with the clock under the test's control.
mod tokens {
    use super::*;

    /// A token of alice's with default terms.
    pub(super) async fn alice_token_for(f: &Fixture) -> tessera_auth::tokens::Issued {
        alice_token(
            f,
            TokenRequest {
                name: "ci".into(),
                ..TokenRequest::default()
            },
        )
        .await
    }

    backend_tests! {
        async fn tokens_expire_on_the_clock(db) {
            let f = fixture(&db).await;
            let issued = alice_token(&f, TokenRequest { name: "ci".into(), expiration_days: Some(1), ..TokenRequest::default() }).await;
            let ok = authenticate(&f.auth, Method::GET, &bearer(issued.raw.expose())).await.unwrap().unwrap();
            assert_eq!(ok.principal.method, AuthMethod::BearerToken);
            assert_eq!(ok.principal.token, Some(issued.token.id));
            let via_basic = authenticate(&f.auth, Method::GET, &basic("alice", issued.raw.expose())).await.unwrap().unwrap();
            assert_eq!(via_basic.principal.method, AuthMethod::BasicToken);
            f.clock.advance(Duration::from_secs(24 * 60 * 60 - 1));
            assert!(authenticate(&f.auth, Method::GET, &bearer(issued.raw.expose())).await.is_ok());
            f.clock.advance(Duration::from_secs(1));
            let expired = rejection(authenticate(&f.auth, Method::GET, &bearer(issued.raw.expose())).await);
            assert_eq!(expired, TokenRejection::Expired);
            assert_eq!(expired.reason_code(), "token_expired");
        }

        async fn a_rotated_secret_lives_only_through_its_overlap(db) {
            let f = fixture(&db).await;
            let issued = alice_token(&f, TokenRequest { name: "ci".into(), ..TokenRequest::default() }).await;
            let login = authenticate(&f.auth, Method::GET, &basic("alice", "alice-password")).await.unwrap().unwrap();
            let manage = Authorizer::own_tokens(&login.principal);
            let rotated = tessera_auth::tokens::rotate(&*f.store, &manage, &login.principal, issued.token.id, Some(Duration::from_secs(60)), f.clock.now())
                .await
                .unwrap();
            assert!(authenticate(&f.auth, Method::GET, &bearer(issued.raw.expose())).await.is_ok(), "inside the overlap");
            assert!(authenticate(&f.auth, Method::GET, &bearer(rotated.raw.expose())).await.is_ok());
            f.clock.advance(Duration::from_secs(60));
            assert_eq!(rejection(authenticate(&f.auth, Method::GET, &bearer(issued.raw.expose())).await), TokenRejection::Rotated);
            assert!(authenticate(&f.auth, Method::GET, &bearer(rotated.raw.expose())).await.is_ok());
            // A second rotation without overlap kills the first rotation's secret at once.
            let again = tessera_auth::tokens::rotate(&*f.store, &manage, &login.principal, issued.token.id, None, f.clock.now())
                .await
                .unwrap();
            assert_eq!(rejection(authenticate(&f.auth, Method::GET, &bearer(rotated.raw.expose())).await), TokenRejection::Unknown);
            assert!(authenticate(&f.auth, Method::GET, &bearer(again.raw.expose())).await.is_ok());
        }

        async fn token_use_is_coalesced_into_one_write(db) {
            let f = fixture(&db).await;
            let issued = alice_token(&f, TokenRequest { name: "ci".into(), ..TokenRequest::default() }).await;
            for _ in 0..5 {
                authenticate(&f.auth, Method::GET, &bearer(issued.raw.expose())).await.unwrap();
                f.clock.advance(Duration::from_secs(1));
            }
            let before = f.store.find_token(issued.token.id).await.unwrap().unwrap();
            assert_eq!((before.use_count, before.last_used), (0, None), "nothing written per request");
            // Two credentials were used: the token, and the password that issued it.
            assert_eq!(f.auth.flush_usage().await.unwrap(), 2, "one write per credential");
            let after = f.store.find_token(issued.token.id).await.unwrap().unwrap();
            assert_eq!(after.use_count, 5);
            assert_eq!(after.last_used, Some(f.clock.now().minus(Duration::from_secs(1))));
            assert_eq!(after.last_used_ip.as_deref(), Some("127.0.0.1"));
            assert_eq!(f.auth.flush_usage().await.unwrap(), 0);
        }

        async fn a_deactivated_owner_stops_their_tokens_at_once(db) {
            let f = fixture(&db).await;
            let issued = alice_token(&f, TokenRequest { name: "ci".into(), ..TokenRequest::default() }).await;
            let alice = f.store.find_user_by_name("alice").await.unwrap().unwrap();
            f.store.update_user(alice.id, &UserUpdate { active: Some(false), ..UserUpdate::default() }).await.unwrap();
            assert_eq!(rejection(authenticate(&f.auth, Method::GET, &bearer(issued.raw.expose())).await), TokenRejection::OwnerInactive);
            // Basic with the token and somebody else's name is not that token.
            f.store.update_user(alice.id, &UserUpdate { active: Some(true), ..UserUpdate::default() }).await.unwrap();
            assert_eq!(rejection(authenticate(&f.auth, Method::GET, &basic("sso", issued.raw.expose())).await), TokenRejection::Unknown);
        }
    }
}

/// Password-guessing protection, with the clock under the test's control.
mod throttle {
    use super::*;

    fn throttled(
        result: Result<Option<tessera_auth::authenticator::Authenticated>, AuthError>,
    ) -> Duration {
        match result {
            Err(AuthError::LoginThrottled { retry_after }) => retry_after,
            other => panic!("expected a throttled login, got {other:?}"),
        }
    }

    backend_tests! {
        async fn failures_suspend_password_logins_with_a_doubling_wait(db) {
            let f = fixture(&db).await;
            let issued = tokens::alice_token_for(&f).await;
            for _ in 0..10 {
                let error = authenticate(&f.auth, Method::GET, &basic("alice", "wrong")).await.unwrap_err();
                assert!(matches!(error, AuthError::BadCredentials), "{error:?}");
            }
            // The right password now waits a minute; the token does not.
            let wait = throttled(authenticate(&f.auth, Method::GET, &basic("alice", "alice-password")).await);
            assert_eq!(wait, Duration::from_secs(60));
            assert!(authenticate(&f.auth, Method::GET, &bearer(issued.raw.expose())).await.is_ok());
            f.clock.advance(Duration::from_secs(60));
            assert!(authenticate(&f.auth, Method::GET, &basic("alice", "alice-password")).await.is_ok(), "the wait is over");
            // The success forgot the failures: ten more start again at one minute, and each
            // further failure doubles the wait.
            for _ in 0..10 {
                authenticate(&f.auth, Method::GET, &basic("alice", "wrong")).await.unwrap_err();
            }
            f.clock.advance(Duration::from_secs(60));
            authenticate(&f.auth, Method::GET, &basic("alice", "wrong")).await.unwrap_err();
            let wait = throttled(authenticate(&f.auth, Method::GET, &basic("alice", "alice-password")).await);
            assert_eq!(wait, Duration::from_secs(120));
        }

        async fn concurrent_guesses_cannot_slip_past_the_threshold(db) {
            let f = fixture(&db).await;
            let auth = Arc::new(f.auth);
            let mut guesses = tokio::task::JoinSet::new();
            for n in 0..24 {
                let auth = auth.clone();
                guesses.spawn(async move {
                    let result = authenticate(&auth, Method::GET, &basic("alice", &format!("guess-{n}"))).await;
                    matches!(result, Err(AuthError::BadCredentials))
                });
            }
            let checked = guesses.join_all().await.into_iter().filter(|checked| *checked).count();
            // Only the attempts that took a number under the threshold reached Argon2.
            assert_eq!(checked, 10, "{checked} guesses were checked");
        }

        async fn the_count_never_restarts_while_the_guessing_goes_on(db) {
            let f = fixture(&db).await;
            for _ in 0..10 {
                authenticate(&f.auth, Method::GET, &basic("nobody", "guess")).await.unwrap_err();
            }
            // One guess per wait: 1, 2, 4 ... minutes, then the hour-long cap, which is as long as
            // the window: the count must not start again when the longest wait ends.
            let mut wait = throttled(authenticate(&f.auth, Method::GET, &basic("nobody", "guess")).await);
            for _ in 0..9 {
                f.clock.advance(wait + Duration::from_secs(1));
                let error = authenticate(&f.auth, Method::GET, &basic("nobody", "guess")).await.unwrap_err();
                assert!(matches!(error, AuthError::BadCredentials), "{error:?}");
                wait = throttled(authenticate(&f.auth, Method::GET, &basic("nobody", "guess")).await);
            }
            assert_eq!(wait, Duration::from_secs(3600));
        }

        async fn unknown_names_are_counted_alike_and_failures_fade(db) {
            let f = fixture(&db).await;
            for _ in 0..10 {
                authenticate(&f.auth, Method::GET, &basic("nobody", "guess")).await.unwrap_err();
            }
            // A name that does not exist is throttled exactly like one that does.
            throttled(authenticate(&f.auth, Method::GET, &basic("nobody", "guess")).await);
            // Nine failures an hour apart never add up.
            for _ in 0..9 {
                authenticate(&f.auth, Method::GET, &basic("alice", "wrong")).await.unwrap_err();
            }
            f.clock.advance(Duration::from_secs(61 * 60));
            for _ in 0..9 {
                authenticate(&f.auth, Method::GET, &basic("alice", "wrong")).await.unwrap_err();
            }
            assert!(authenticate(&f.auth, Method::GET, &basic("alice", "alice-password")).await.is_ok());
        }
    }
}

/// Websudo and the access policy, with the clock under the test's control.
mod policy {
    use super::*;
    use tessera_core::audit::AuditEvent;
    use tessera_core::policy::{MethodRule, Policy, PolicyDenial};

    fn denial(
        result: Result<Option<tessera_auth::authenticator::Authenticated>, AuthError>,
    ) -> PolicyDenial {
        match result {
            Err(AuthError::Denied(denial)) => denial,
            other => panic!("expected a policy refusal, got {other:?}"),
        }
    }

    fn basic_off() -> Policy {
        let mut policy = Policy::default();
        policy.methods.insert(
            AuthMethod::BasicPassword,
            MethodRule {
                enabled: false,
                except_groups: vec![],
            },
        );
        policy
    }

    backend_tests! {
        async fn websudo_lasts_its_window_for_its_session_only(db) {
            let f = fixture(&db).await;
            let login = f.auth.login("alice", &secret("alice-password"), IP, &HeaderMap::new()).await.unwrap();
            let headers = cookie(login.session.expose());
            async fn principal(f: &Fixture, headers: &HeaderMap) -> tessera_core::principal::Principal {
                authenticate(&f.auth, Method::GET, headers).await.unwrap().unwrap().principal
            }
            let fresh = principal(&f, &headers).await;
            assert!(!fresh.has_fresh_password(f.clock.now()));
            assert!(matches!(f.auth.grant_websudo(&fresh, &login.session, &secret("wrong")).await, Err(AuthError::BadCredentials)));
            assert!(!principal(&f, &headers).await.has_fresh_password(f.clock.now()));
            let until = f.auth.grant_websudo(&fresh, &login.session, &secret("alice-password")).await.unwrap();
            assert_eq!(until, f.clock.now().plus(Duration::from_secs(600)));
            assert!(principal(&f, &headers).await.has_fresh_password(f.clock.now()));
            f.clock.advance(Duration::from_secs(599));
            assert!(principal(&f, &headers).await.has_fresh_password(f.clock.now()));
            f.clock.advance(Duration::from_secs(2));
            assert!(!principal(&f, &headers).await.has_fresh_password(f.clock.now()), "the window is over");
            f.auth.grant_websudo(&fresh, &login.session, &secret("alice-password")).await.unwrap();
            f.auth.drop_websudo(&fresh, &login.session).await.unwrap();
            assert!(!principal(&f, &headers).await.has_fresh_password(f.clock.now()));
            // Basic with a password proves it every time; a token never does.
            let basic_principal = authenticate(&f.auth, Method::GET, &basic("alice", "alice-password")).await.unwrap().unwrap().principal;
            assert!(basic_principal.has_fresh_password(f.clock.now()));
        }

        async fn a_refused_method_costs_no_password_check_and_counts_no_failure(db) {
            let config = AuthConfig {
                throttle: tessera_core::throttle::ThrottlePolicy { user_threshold: 3, ..Default::default() },
                initial_policy: basic_off(),
                ..AuthConfig::default()
            };
            let f = fixture_with(&db, config).await;
            for _ in 0..20 {
                let refused = authenticate(&f.auth, Method::GET, &basic("alice", "a-wrong-guess")).await;
                assert_eq!(denial(refused), PolicyDenial::MethodDisabled(AuthMethod::BasicPassword));
            }
            // Sessions are another method; their logins still check passwords.
            assert!(f.auth.login("alice", &secret("alice-password"), IP, &HeaderMap::new()).await.is_ok());
            // Switched on again (through the store, as another instance would): none of the
            // refusals counted as a failed password, so the right password works at once.
            let stored = f.store.find_policy().await.unwrap().unwrap();
            let text = serde_json::to_string(&Policy::default()).unwrap();
            let event = AuditEvent::anonymous(f.clock.now(), IP, "policy.changed", "policy");
            f.store.replace_policy(stored.version, &text, f.clock.now(), None, &event).await.unwrap().unwrap();
            assert!(authenticate(&f.auth, Method::GET, &basic("alice", "alice-password")).await.is_ok());
        }
    }
}

/// OAuth 1.0a signed requests: each refusal has its `oauth_problem`, and a nonce is spent only
/// by a request whose signature holds. The signatures are openssl's, over requests made at
/// the fixture clock's time (1,700,000,000 s).
mod oauth1 {
    use super::*;
    use tessera_auth::oauth1::verify::{Problem, SignedRequest};
    use tessera_auth::oauth1::{OAuth1Config, OAuth1Server};
    use tessera_core::oauth1::NewConsumer;
    use tessera_core::store::OAuth1Store;

    const PUB: &str = include_str!("../src/oauth1/testdata/consumer.pub.pem");
    const RSA_SHA1_SIG: &str = include_str!("../src/oauth1/testdata/rsa-sha1.sig");
    const RSA_SHA256_SIG: &str = include_str!("../src/oauth1/testdata/rsa-sha256.sig");

    fn header(changes: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut params = vec![
            ("oauth_consumer_key", "tessera-test"),
            ("oauth_token", "tok"),
            ("oauth_signature_method", "RSA-SHA1"),
            ("oauth_timestamp", "1700000000"),
            ("oauth_nonce", "abc123"),
            ("oauth_version", "1.0"),
            ("oauth_signature", RSA_SHA1_SIG),
        ];
        for (name, value) in changes {
            params.retain(|(n, _)| n != name);
            if !value.is_empty() {
                params.push((name, value));
            }
        }
        params
            .into_iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    async fn check(
        server: &OAuth1Server,
        method: &Method,
        url: &RequestUrl,
        header: Vec<(String, String)>,
        params: Vec<(String, String)>,
    ) -> Result<tessera_auth::oauth1::verify::Signed, Problem> {
        server
            .check_signature(&SignedRequest {
                method,
                url,
                header,
                params,
                body_sha1: None,
            })
            .await
    }

    fn problem<T>(result: Result<T, Problem>) -> Option<Problem> {
        result.err()
    }

    fn myself(path: &str) -> RequestUrl {
        RequestUrl {
            scheme: "https",
            host: "jira.example.com".into(),
            port: 443,
            path: path.into(),
            query: None,
        }
    }

    backend_tests! {
        async fn signatures_are_checked_in_order_and_a_nonce_is_spent_once(db) {
            let f = fixture(&db).await;
            let server = OAuth1Server::new(f.store.clone() as Arc<dyn Store>, f.clock.clone(), f.auth.shared_audit(), OAuth1Config::default());
            f.store.create_consumer(NewConsumer {
                consumer_key: "tessera-test".into(), name: "Test".into(), public_key: PUB.into(),
                callback: "oob".into(), created: f.clock.now(), created_by: None, run_as: None,
            }).await.unwrap();
            let url = myself("/rest/api/2/myself");
            // Anything the client signed, changed: the path, the method, a parameter added.
            assert_eq!(problem(check(&server, &Method::GET, &myself("/rest/api/2/user"), header(&[]), vec![]).await), Some(Problem::SignatureInvalid));
            assert_eq!(problem(check(&server, &Method::POST, &url, header(&[]), vec![]).await), Some(Problem::SignatureInvalid));
            let extra = vec![("expand".to_string(), "groups".to_string())];
            assert_eq!(problem(check(&server, &Method::GET, &url, header(&[]), extra).await), Some(Problem::SignatureInvalid));
            assert_eq!(problem(check(&server, &Method::GET, &url, header(&[("oauth_token", "other")]), vec![]).await), Some(Problem::SignatureInvalid));
            // The parameters, the method, the version, the consumer.
            assert_eq!(problem(check(&server, &Method::GET, &url, header(&[("oauth_nonce", "")]), vec![]).await), Some(Problem::ParameterAbsent("oauth_nonce")));
            assert_eq!(problem(check(&server, &Method::GET, &url, header(&[("oauth_signature_method", "HMAC-SHA1")]), vec![]).await), Some(Problem::SignatureMethodRejected));
            assert_eq!(problem(check(&server, &Method::GET, &url, header(&[("oauth_version", "2.0")]), vec![]).await), Some(Problem::VersionRejected));
            assert_eq!(problem(check(&server, &Method::GET, &url, header(&[("oauth_consumer_key", "nobody")]), vec![]).await), Some(Problem::ConsumerKeyUnknown));
            // None of those spent the nonce: the genuine request (RSA-SHA256 here) passes.
            let sha256 = header(&[("oauth_signature_method", "RSA-SHA256"), ("oauth_signature", RSA_SHA256_SIG)]);
            let signed = check(&server, &Method::GET, &url, sha256.clone(), vec![]).await.unwrap();
            assert_eq!((signed.consumer.consumer_key.as_str(), signed.token.as_deref()), ("tessera-test", Some("tok")));
            // Replayed, or another genuine signature over the same nonce: refused.
            assert_eq!(problem(check(&server, &Method::GET, &url, sha256, vec![]).await), Some(Problem::NonceUsed));
            assert_eq!(problem(check(&server, &Method::GET, &url, header(&[]), vec![]).await), Some(Problem::NonceUsed));
            // Six minutes later the timestamp is outside the window, before anything is read.
            f.clock.advance(Duration::from_secs(6 * 60));
            assert_eq!(problem(check(&server, &Method::GET, &url, header(&[]), vec![]).await), Some(Problem::TimestampRefused));
            assert_eq!(problem(check(&server, &Method::GET, &url, header(&[("oauth_timestamp", "soon")]), vec![]).await), Some(Problem::TimestampRefused));
            // The window's nonces are forgotten once it has passed.
            assert_eq!(server.prune_nonces().await.unwrap(), 1);
        }
    }
}
