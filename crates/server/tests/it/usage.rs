//! API use per credential over HTTP: requests per day and addresses with their user agents,
//! the audit event for the first use of a credential from each new address, credentials seen
//! from a new network, and credentials nobody used for a while. Client addresses come through
//! a trusted proxy's `X-Forwarded-For`, so that one test can use several.

use std::time::Duration;

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::clock::{Clock, SystemClock};
use tessera_core::scopes::Scopes;
use tessera_core::store::{TokenStore, UserStore};
use tessera_core::tokens::{NewToken, TokenKind};
use tessera_testkit::backend_tests;

const MYSELF: &str = "/rest/api/2/myself";

/// `path` as the administrator once the usage writer is synced; `ready` must hold.
async fn until(server: &TestServer, path: &str, ready: impl Fn(&Value) -> bool) -> Value {
    server.sync().await;
    let page = server
        .admin_json(Method::GET, path, Value::Null, StatusCode::OK)
        .await;
    assert!(ready(&page), "{path} never got there: {page}");
    page
}

backend_tests! {
    async fn credential_use_is_counted_per_day_and_address(db) {
        let mut config = test_config(&db);
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        config.tokens.usage_flush_seconds = 1;
        let server = TestServer::start_with(db, config).await;
        server.create_user("dev", &[]).await;
        let token = server.create_token("dev", json!({"name": "ci", "expirationDuration": 30})).await;
        let listed = server.user(Method::GET, "/rest/pat/latest/tokens", "dev").send().await.unwrap();
        let id = listed.json::<Value>().await.unwrap()[0]["id"].as_i64().unwrap();
        let credential = format!("token:{id}");
        for (ip, agent, times) in [("10.1.1.1", "tool/1", 3), ("10.2.2.2", "tool/2", 1)] {
            for _ in 0..times {
                let response = server.bearer(Method::GET, MYSELF, &token)
                    .header("x-forwarded-for", ip)
                    .header("user-agent", agent)
                    .send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
            }
        }
        let usage = until(&server, &format!("/rest/tessera/1/usage?credential={credential}"), |u| {
            u["days"].as_array().is_some_and(|d| d.iter().map(|d| d["requests"].as_i64().unwrap()).sum::<i64>() == 4)
        }).await;
        assert_eq!(usage["kind"], "personal");
        assert_eq!(usage["owner"], "dev");
        assert_eq!(usage["name"], "ci");
        let clients = usage["clients"].as_array().unwrap();
        assert_eq!(clients.len(), 2);
        let first = clients.iter().find(|c| c["ip"] == "10.1.1.1").unwrap();
        assert_eq!((first["requests"].as_i64(), first["userAgent"].as_str()), (Some(3), Some("tool/1")));

        // Each address's first use is an audit event.
        let events = until(&server, &format!("/rest/tessera/1/audit?action=credential.new_ip&target={credential}"), |p| p["total"] == 2).await;
        for event in events["values"].as_array().unwrap() {
            assert_eq!(event["actor"]["name"], "dev");
            assert_eq!(event["credential"], json!({"kind": "token", "id": credential}));
        }
        let second = events["values"].as_array().unwrap().iter().find(|e| e["clientIp"] == "10.2.2.2").unwrap();
        assert_eq!(second["userAgent"], "tool/2");
        // The token's own last-use figures come from the same notes (this use, from a third
        // address, comes after the count of new addresses above).
        let current = server.bearer(Method::GET, "/rest/pat/latest/tokens/current", &token).send().await.unwrap();
        assert_eq!(current.status(), StatusCode::OK);
        // The first network is where a credential starts; the second one is new.
        let new = server.admin_json(Method::GET, "/rest/tessera/1/usage/newnetworks?days=1", Value::Null, StatusCode::OK).await;
        let found: Vec<&Value> = new["credentials"].as_array().unwrap().iter().filter(|c| c["credential"] == credential.as_str()).collect();
        assert_eq!(found.len(), 1, "{new}");
        assert_eq!((found[0]["network"].as_str(), found[0]["ip"].as_str()), (Some("10.2.2.0/24"), Some("10.2.2.2")));
        // Passwords count too: the administrator's, used for every request here.
        until(&server, "/rest/tessera/1/usage?credential=password:10000", |u| !u["clients"].as_array().unwrap().is_empty()).await;

        // A token made sixty days ago and never used is listed as unused; the one in use is not.
        let long_ago = SystemClock.now().minus(Duration::from_secs(60 * 24 * 3600));
        let dev_id = server.store.find_user_by_name("dev").await.unwrap().unwrap().id;
        let idle = server.store.create_token(NewToken {
            kind: TokenKind::Personal, owner: dev_id, name: "forgotten".into(), digest: b"not a real digest".to_vec(),
            scopes: Scopes::all(), projects: None, allowed_ips: vec![], created: long_ago, created_by: Some(dev_id), expires: None,
        }, None).await.unwrap();
        let unused = server.admin_json(Method::GET, "/rest/tessera/1/usage/unused?days=30", Value::Null, StatusCode::OK).await;
        let listed: Vec<&str> = unused["credentials"].as_array().unwrap().iter().map(|c| c["credential"].as_str().unwrap()).collect();
        assert!(listed.contains(&format!("token:{}", idle.id).as_str()), "{unused}");
        assert!(!listed.contains(&credential.as_str()), "{unused}");

        // Administrators only, and clear errors.
        expect_error(server.user(Method::GET, &format!("/rest/tessera/1/usage?credential={credential}"), "dev").send().await.unwrap(), StatusCode::FORBIDDEN).await;
        for (query, status) in [("credential=bogus", StatusCode::BAD_REQUEST), ("", StatusCode::BAD_REQUEST), ("credential=token:999999", StatusCode::NOT_FOUND), ("credential=token:1&days=0", StatusCode::BAD_REQUEST)] {
            expect_error(server.admin(Method::GET, &format!("/rest/tessera/1/usage?{query}")).send().await.unwrap(), status).await;
        }
        expect_error(server.admin(Method::GET, "/rest/tessera/1/usage/unused?days=100000").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    }
}
