//! Rate limiting over HTTP: a bucket per caller (per address for anonymous callers), group
//! quotas and exemptions, and Jira Data Center's 429 with `Retry-After` and `X-RateLimit-*`.

use std::time::Duration;

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tessera_server::config::GroupQuota;
use tessera_testkit::backend_tests;

const MYSELF: &str = "/rest/api/2/myself";

/// Requests that get through before the first 429.
async fn allowed(request: impl Fn() -> reqwest::RequestBuilder) -> usize {
    for n in 0..50 {
        if request().send().await.unwrap().status() == StatusCode::TOO_MANY_REQUESTS {
            return n;
        }
    }
    50
}

backend_tests! {
    async fn a_burst_past_the_limit_gets_429_and_waiting_lets_it_through(db) {
        let mut config = test_config(&db);
        config.rate_limit.enabled = true;
        config.rate_limit.capacity = 5;
        config.rate_limit.per_second = 1;
        config.rate_limit.anonymous_capacity = 3;
        // The administrator sets the test up unhindered.
        config.rate_limit.exempt_groups = vec!["ops".into(), "jira-administrators".into()];
        config.rate_limit.groups.insert("bots".into(), GroupQuota { capacity: 10, per_second: 1 });
        let server = TestServer::start_with(db, config).await;
        for group in ["ops", "bots"] {
            server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": group}), StatusCode::CREATED).await;
        }
        server.create_user("dev", &[]).await;
        server.create_user("other", &[]).await;
        server.create_user("operator", &["ops"]).await;
        server.create_user("robot", &["bots"]).await;
        let token = server.create_token("dev", json!({"name": "ci", "expirationDuration": 1})).await;
        // Each allowed answer says how much is left.
        for left in (0..4).rev() {
            let response = server.bearer(Method::GET, MYSELF, &token).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(response.headers()["x-ratelimit-limit"], "5");
            assert_eq!(response.headers()["x-ratelimit-remaining"], left.to_string().as_str());
        }
        let limited = server.bearer(Method::GET, MYSELF, &token).send().await.unwrap();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        let headers = limited.headers().clone();
        assert_eq!(headers["x-ratelimit-limit"], "5");
        assert_eq!(headers["x-ratelimit-remaining"], "0");
        assert_eq!(headers["x-ratelimit-interval-seconds"], "1");
        assert_eq!(headers["x-ratelimit-fillrate"], "1");
        assert_eq!(headers["x-authentication-denied-reason"], "rate_limited");
        let retry: u64 = headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert_eq!(retry, 1);
        let body = json_of(limited).await;
        assert_eq!(body["errors"]["reason"], "rate_limited");
        // The same user's password is the same budget; another user's is their own.
        assert_eq!(server.user(Method::GET, MYSELF, "dev").send().await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(allowed(|| server.user(Method::GET, MYSELF, "other")).await, 5);
        // After waiting as told, requests succeed again.
        tokio::time::sleep(Duration::from_secs(retry)).await;
        assert_eq!(server.bearer(Method::GET, MYSELF, &token).send().await.unwrap().status(), StatusCode::OK);
        // Group quotas and exemptions.
        assert_eq!(allowed(|| server.user(Method::GET, MYSELF, "robot")).await, 10);
        assert_eq!(allowed(|| server.user(Method::GET, MYSELF, "operator")).await, 50);
        // Anonymous callers share their address's bucket.
        assert_eq!(allowed(|| server.anonymous(Method::GET, "/rest/api/2/serverInfo")).await, 3);
        // Logins take from the address's anonymous budget too, REST and page alike.
        let login = server.anonymous(Method::POST, "/rest/auth/1/session").json(&json!({"username": "dev", "password": PASSWORD})).send().await.unwrap();
        assert_eq!(login.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(login.headers().get("retry-after").is_some());
        let page = server.anonymous(Method::POST, "/login").header("content-type", "application/x-www-form-urlencoded").body("username=dev&password=x").send().await.unwrap();
        assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(page.headers().get("retry-after").is_some());
        // Each kind of refusal is in the trail (repeats coalesced into one row).
        let limited = server.audit("action=request.rate_limited&actor=dev", 1).await;
        assert_eq!((limited[0]["outcome"].as_str(), limited[0]["reason"].as_str()), (Some("denied"), Some("rate_limited")));
    }

    async fn failed_credentials_spend_the_address_budget_and_then_cost_no_verification(db) {
        let mut config = test_config(&db);
        config.rate_limit.enabled = true;
        config.rate_limit.anonymous_capacity = 3;
        config.rate_limit.anonymous_per_second = 1;
        config.rate_limit.exempt_groups = vec!["jira-administrators".into()];
        // Requests come "from" addresses named in X-Forwarded-For.
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        let server = TestServer::start_with(db, config).await;
        server.create_user("dev", &[]).await;
        server.create_user("victim", &[]).await;
        let token = server.create_token("dev", json!({"name": "ci", "expirationDuration": 1})).await;
        let attacker = "203.0.113.9";
        let from = |request: reqwest::RequestBuilder, ip: &str| request.header("x-forwarded-for", ip);
        let wrong = |user: &str, ip: &str| from(server.request(Method::GET, MYSELF).basic_auth(user, Some("not-the-password")), ip);
        // A session that was ended: its cookie names no live session.
        let ended = server.login("victim", PASSWORD).await;
        assert_eq!(server.with_session(Method::DELETE, "/rest/auth/1/session", &ended).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        // The token is known-good at the attacker's address (remembered).
        assert_eq!(from(server.bearer(Method::GET, MYSELF, &token), attacker).send().await.unwrap().status(), StatusCode::OK);

        // Failed credentials of every kind are paid for from the address's anonymous budget
        // (3): a wrong password, an unknown token, a malformed one.
        let last = if token.ends_with('x') { 'y' } else { 'x' };
        let unknown = format!("{}{last}", &token[..token.len() - 1]);
        let failures = [
            wrong("dev", attacker),
            from(server.request(Method::GET, MYSELF).bearer_auth(&unknown), attacker),
            from(server.request(Method::GET, MYSELF).bearer_auth("tspat_0000"), attacker),
        ];
        for request in failures {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert!(response.headers().get("www-authenticate").is_some());
        }
        // The budget is spent: the next credential that would need verifying is refused
        // before any is done, with Retry-After and the bucket's headers.
        let refused = wrong("victim", attacker).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        let retry: u64 = refused.headers()["retry-after"].to_str().unwrap().parse().unwrap();
        assert_eq!(retry, 1);
        assert_eq!(refused.headers()["x-ratelimit-limit"], "3");
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "rate_limited");
        assert_eq!(json_of(refused).await["errors"]["reason"], "rate_limited");
        // An Authorization header that does not parse costs nothing to refuse (400), and keeps
        // the address penalized (each is paid for from the empty bucket): the checks below
        // run inside that.
        let renew = || async {
            let response = from(server.request(Method::GET, MYSELF).bearer_auth("not a token"), attacker).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        };
        // A good but unremembered credential from that address waits too (it would cost a
        // verification); a remembered one is answered from memory as before.
        renew().await;
        assert_eq!(from(server.user(Method::GET, MYSELF, "victim"), attacker).send().await.unwrap().status(), StatusCode::TOO_MANY_REQUESTS);
        renew().await;
        assert_eq!(from(server.bearer(Method::GET, MYSELF, &token), attacker).send().await.unwrap().status(), StatusCode::OK);
        // The pages refuse a dead session's cookie from there the same way (looking it up
        // would be a database read).
        renew().await;
        let page = from(server.with_session(Method::GET, "/secure/tokens", &ended), attacker).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(page.headers().get("retry-after").is_some());
        // No password was checked for victim: the trail has dev's failure and none of theirs.
        server.audit("action=login.failed&target=user:dev", 1).await;
        assert!(server.audit("action=login.failed&target=user:victim", 0).await.is_empty(), "victim's password was not verified");
        // Another address is not affected.
        assert_eq!(wrong("dev", "198.51.100.20").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(from(server.user(Method::GET, MYSELF, "victim"), "198.51.100.20").send().await.unwrap().status(), StatusCode::OK);
        // After waiting as told, the address's credentials are verified again.
        tokio::time::sleep(Duration::from_secs(retry)).await;
        assert_eq!(from(server.user(Method::GET, MYSELF, "victim"), attacker).send().await.unwrap().status(), StatusCode::OK);
    }

    async fn with_rate_limits_off_failed_credentials_are_not_throttled(db) {
        let server = TestServer::start(db).await;
        server.create_user("dev", &[]).await;
        for _ in 0..5 {
            let response = server.request(Method::GET, MYSELF).basic_auth("dev", Some("wrong")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        assert_eq!(server.user(Method::GET, MYSELF, "dev").send().await.unwrap().status(), StatusCode::OK);
    }
}
