//! The audit trail over HTTP, on both stores: logins, failures, sessions and refused tokens
//! leave events, written off the request path and never lost at a graceful shutdown; the API
//! filters and pages them and exports JSON Lines; no secret ever appears.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::store::AuditStore;
use tessera_store::{PoolOptions, SqlStore};
use tessera_testkit::backend_tests;

const MYSELF: &str = "/rest/api/2/myself";

/// The audit page for `query`, once the background writers are synced; it holds at least
/// `count` events.
async fn events(server: &TestServer, query: &str, count: usize) -> Value {
    server.sync().await;
    let page = server
        .admin_json(
            Method::GET,
            &format!("/rest/tessera/1/audit?{query}"),
            Value::Null,
            StatusCode::OK,
        )
        .await;
    assert!(
        page["values"].as_array().unwrap().len() >= count,
        "fewer than {count} events for {query}: {page}"
    );
    page
}

backend_tests! {
    async fn security_events_are_recorded_filtered_and_exported(db) {
        let server = TestServer::start(db).await;
        server.create_user("dev", &[]).await;
        let wrong = server.basic(Method::GET, MYSELF, "dev", "a-wrong-secret-1").send().await.unwrap();
        assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        let session = server.login("dev", PASSWORD).await;
        let logout = server.with_session(Method::DELETE, "/rest/auth/1/session", &session).send().await.unwrap();
        assert_eq!(logout.status(), StatusCode::NO_CONTENT);
        let bad_token = server.bearer(Method::GET, MYSELF, "tspat_typo").send().await.unwrap();
        assert_eq!(bad_token.status(), StatusCode::UNAUTHORIZED);

        // Nobody was authenticated: the name tried is the target, not the actor.
        let failed = events(&server, "action=login.failed&target=user:dev", 1).await;
        let event = &failed["values"][0];
        assert_eq!(event["outcome"], "failure");
        assert_eq!(event["reason"], "bad_credentials");
        assert_eq!(event["actor"], Value::Null);
        assert_eq!(event["clientIp"], "127.0.0.1");
        assert!(event["at"].as_str().unwrap().ends_with("+0000"));
        let opened = events(&server, "action=session.opened", 1).await;
        assert_eq!(opened["values"][0]["actor"]["name"], "dev");
        assert_eq!(opened["values"][0]["credential"]["kind"], "session");
        events(&server, "action=session.closed", 1).await;
        let refused = events(&server, "action=token.refused", 1).await;
        assert_eq!(refused["values"][0]["reason"], "token_malformed");
        // Filters narrow, paging pages, and an unknown outcome is a clear error.
        let failures = events(&server, "outcome=failure&ip=127.0.0.1", 2).await;
        assert!(failures["values"].as_array().unwrap().iter().all(|e| e["outcome"] == "failure"));
        let none = server.admin_json(Method::GET, "/rest/tessera/1/audit?from=2100-01-01", Value::Null, StatusCode::OK).await;
        assert_eq!(none["total"], 0);
        let one = server.admin_json(Method::GET, "/rest/tessera/1/audit?maxResults=1", Value::Null, StatusCode::OK).await;
        assert_eq!(one["values"].as_array().unwrap().len(), 1);
        assert!(one["total"].as_i64().unwrap() >= 4);
        expect_error(server.admin(Method::GET, "/rest/tessera/1/audit?outcome=maybe").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        expect_error(server.user(Method::GET, "/rest/tessera/1/audit", "dev").send().await.unwrap(), StatusCode::FORBIDDEN).await;
        // The export is JSON Lines, and no secret is anywhere in the trail.
        let export = server.admin(Method::GET, "/rest/tessera/1/audit/export").send().await.unwrap();
        assert_eq!(export.headers()["content-type"], "application/x-ndjson");
        let text = export.text().await.unwrap();
        let lines: Vec<Value> = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(lines.len() >= 4);
        for secret in ["a-wrong-secret-1", PASSWORD, &session, "tspat_typo"] {
            assert!(!text.contains(secret), "the audit holds a secret");
        }
    }

    async fn a_flood_of_failures_is_coalesced_and_pushes_nothing_out(db) {
        let server = TestServer::start_shared(test_config(&db)).await;
        server.create_user("dev", &[]).await;
        const FLOOD: i64 = 1500;
        let floods = (0..FLOOD).map(|_| server.bearer(Method::GET, MYSELF, "tspat_typo").send());
        for response in futures_in_batches(floods, 50).await {
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        }
        // An event nobody outside can cause in bulk, recorded after the flood.
        server.create_token("dev", json!({"name": "after-the-flood", "expirationDuration": 30})).await;
        server.stop().await;
        let store = SqlStore::open(&db.url, PoolOptions::default()).await.unwrap();
        let written = store.recent_audit(100_000).await.unwrap();
        let refused: Vec<_> = written.iter().filter(|e| e.action == "token.refused").collect();
        assert!(refused.len() <= 3, "{} rows for one kind of failure", refused.len());
        assert_eq!(refused.iter().map(|e| e.repeats).sum::<i64>(), FLOOD, "every refusal is counted");
        assert!(written.iter().any(|e| e.action == "token.created"), "the real event was kept");
        store.close().await;
    }

    async fn queued_events_are_written_before_a_graceful_shutdown(db) {
        let server = TestServer::start_shared(test_config(&db)).await;
        for n in 0..50 {
            let wrong = server.basic(Method::GET, MYSELF, &format!("nobody{n}"), "guess-guess").send().await.unwrap();
            assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
        }
        server.stop().await;
        let store = SqlStore::open(&db.url, PoolOptions::default()).await.unwrap();
        let written = store.recent_audit(1000).await.unwrap();
        let failed = written.iter().filter(|e| e.action == "login.failed").count();
        assert_eq!(failed, 50, "every event answered before the stop was written");
        store.close().await;
    }
}

/// Runs the requests `size` at a time; their responses in order.
async fn futures_in_batches<F>(
    requests: impl Iterator<Item = F>,
    size: usize,
) -> Vec<reqwest::Response>
where
    F: std::future::Future<Output = reqwest::Result<reqwest::Response>> + Send + 'static,
{
    let mut responses = Vec::new();
    let mut batch = Vec::new();
    for request in requests {
        batch.push(tokio::spawn(request));
        if batch.len() == size {
            for handle in batch.drain(..) {
                responses.push(handle.await.unwrap().unwrap());
            }
        }
    }
    for handle in batch {
        responses.push(handle.await.unwrap().unwrap());
    }
    responses
}
