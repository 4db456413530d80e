//! Password-guessing protection over HTTP, on both stores: failed password attempts suspend
//! password logins for the name (or the client network), with Jira's
//! `X-Seraph-LoginReason: AUTHENTICATION_DENIED`, while the user's tokens and open sessions keep
//! working; administrators lift a suspension.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tessera_testkit::{TestDatabase, backend_tests};

const MYSELF: &str = "/rest/api/2/myself";

async fn strict_server(db: TestDatabase, ip_threshold: u32) -> TestServer {
    let mut config = test_config(&db);
    config.login_throttle.user_threshold = 10;
    config.login_throttle.ip_threshold = ip_threshold;
    // The verified-password cache is on, as in production: a suspension must beat it.
    TestServer::start_with(db, config).await
}

async fn expect_throttled(response: reqwest::Response) {
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        response.headers()["x-seraph-loginreason"],
        "AUTHENTICATION_DENIED"
    );
    assert_eq!(
        response.headers()["x-authentication-denied-reason"],
        "login_throttled"
    );
    let retry: u64 = response.headers()["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    let body = json_of(response).await;
    assert_eq!(body["errors"]["reason"], "login_throttled");
}

backend_tests! {
    async fn ten_wrong_passwords_suspend_password_logins_but_not_tokens_or_sessions(db) {
        let server = strict_server(db, 1000).await;
        server.create_user("dev", &[]).await;
        let token = server.create_token("dev", json!({"name": "bot", "expirationDuration": 1})).await;
        let session = server.login("dev", PASSWORD).await;
        for _ in 0..10 {
            let wrong = server.basic(Method::GET, MYSELF, "dev", "not-the-password").send().await.unwrap();
            assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        }
        // The right password is refused now, by Basic and by login, though it was verified
        // (and remembered) moments ago.
        expect_throttled(server.user(Method::GET, MYSELF, "dev").send().await.unwrap()).await;
        let login = server.anonymous(Method::POST, "/rest/auth/1/session").json(&json!({"username": "dev", "password": PASSWORD})).send().await.unwrap();
        expect_throttled(login).await;
        // Automation and the open session go on.
        assert_eq!(server.bearer(Method::GET, MYSELF, &token).send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(server.basic(Method::GET, MYSELF, "dev", &token).send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(server.with_session(Method::GET, MYSELF, &session).send().await.unwrap().status(), StatusCode::OK);
        // Other users are not affected; only administrators lift the suspension.
        assert_eq!(server.admin(Method::GET, MYSELF).send().await.unwrap().status(), StatusCode::OK);
        let clear = server.bearer(Method::DELETE, "/rest/tessera/1/loginfailures?username=dev", &token).send().await.unwrap();
        assert_eq!(clear.status(), StatusCode::FORBIDDEN);
        let clear = server.admin(Method::DELETE, "/rest/tessera/1/loginfailures?username=DEV").send().await.unwrap();
        assert_eq!(clear.status(), StatusCode::NO_CONTENT);
        assert_eq!(server.user(Method::GET, MYSELF, "dev").send().await.unwrap().status(), StatusCode::OK);
        expect_error(server.admin(Method::DELETE, "/rest/tessera/1/loginfailures").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        expect_error(server.admin(Method::DELETE, "/rest/tessera/1/loginfailures?ip=nowhere").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        // The trail tells it all, and holds no password.
        server.audit("action=login.failures_cleared&target=user:dev&actor=admin", 1).await;
        let refused = server.audit("action=login.failed&target=user:dev&outcome=denied", 1).await;
        assert_eq!(refused[0]["reason"], "login_throttled");
        let failed = server.audit("action=login.failed&target=user:dev&outcome=failure", 1).await;
        assert_eq!(failed[0]["reason"], "bad_credentials");
        let export = server.admin(Method::GET, "/rest/tessera/1/audit/export").send().await.unwrap().text().await.unwrap();
        assert!(!export.contains("not-the-password") && !export.contains(PASSWORD) && !export.contains(&token));
    }

    async fn guessing_across_names_suspends_the_network(db) {
        let server = strict_server(db, 5).await;
        // Websudo first: once the network is suspended, no password can be re-entered from it
        // (an administrator locked out there would use a token with the ADMIN scope).
        let session = server.admin_session().await;
        server.create_user("eve", &[]).await;
        // A spray of guesses at names that mostly do not exist, from one address.
        for name in ["a", "b", "c", "d", "e"] {
            let wrong = server.basic(Method::GET, MYSELF, name, "guess-1234").send().await.unwrap();
            assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        }
        // Every password login from that address now waits, even with the right password ...
        expect_throttled(server.user(Method::GET, MYSELF, "eve").send().await.unwrap()).await;
        // ... but the administrator's session lifts it.
        let clear = server.with_session(Method::DELETE, "/rest/tessera/1/loginfailures?ip=127.0.0.1", &session)
            .header("x-atlassian-token", "no-check").send().await.unwrap();
        assert_eq!(clear.status(), StatusCode::NO_CONTENT);
        assert_eq!(server.user(Method::GET, MYSELF, "eve").send().await.unwrap().status(), StatusCode::OK);
    }
}
