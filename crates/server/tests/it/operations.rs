//! What an operator runs tessera with: the health answer for load balancers.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

async fn status(server: &TestServer, path: &str) -> (StatusCode, Value) {
    let response = server.anonymous(Method::GET, path).send().await.unwrap();
    let status = response.status();
    (status, json_of(response).await)
}

backend_tests! {
    async fn status_says_running_to_anyone_without_touching_the_rate_limits(db) {
        let mut config = test_config(&db);
        config.rate_limit.enabled = true;
        config.rate_limit.anonymous_capacity = 1;
        let server = TestServer::start_with(db, config).await;
        // A load balancer polls from one address, faster than the anonymous budget allows.
        for _ in 0..5 {
            assert_eq!(status(&server, "/status").await, (StatusCode::OK, json!({"state": "RUNNING"})));
        }
        // Only GET.
        let posted = server.anonymous(Method::POST, "/status").send().await.unwrap();
        assert_eq!(posted.status(), StatusCode::METHOD_NOT_ALLOWED);
        // Once the server is stopping, it says so: the load balancer sends no new work.
        server.state.health.stopping();
        assert_eq!(status(&server, "/status").await, (StatusCode::SERVICE_UNAVAILABLE, json!({"state": "STOPPING"})));
    }
}

/// Under a context path, where Jira's own `/status` is.
#[tokio::test]
async fn status_lives_under_the_context_path() {
    let db = tessera_testkit::TestDatabase::sqlite();
    let server = TestServer::start_under(db, "127.0.0.1:0", "127.0.0.1", "/jira").await;
    assert_eq!(
        status(&server, "/jira/status").await,
        (StatusCode::OK, json!({"state": "RUNNING"}))
    );
}

/// The readiness check covers the database: while PostgreSQL refuses this server's
/// connections, `/status` is 503 `ERROR`; it is `RUNNING` again once they are allowed.
#[tokio::test]
async fn status_follows_the_database() {
    let Some(db) = tessera_testkit::TestDatabase::postgres().await else {
        return;
    };
    let url = db.url.clone();
    let name = url
        .rsplit('/')
        .next()
        .unwrap()
        .split('?')
        .next()
        .unwrap()
        .to_string();
    let admin = std::env::var("TESSERA_TEST_DATABASE_URL").unwrap();
    let server = TestServer::start(db).await;
    assert_eq!(status(&server, "/status").await.0, StatusCode::OK);
    execute_directly(
        &admin,
        [
            format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS false"),
            format!(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"
            ),
        ],
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let (code, body) = status(&server, "/status").await;
        if code == StatusCode::SERVICE_UNAVAILABLE {
            assert_eq!(body, json!({"state": "ERROR"}));
            break;
        }
        assert!(std::time::Instant::now() < deadline, "still {code} {body}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    execute_directly(
        &admin,
        [format!("ALTER DATABASE \"{name}\" ALLOW_CONNECTIONS true")],
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while status(&server, "/status").await.0 != StatusCode::OK {
        assert!(std::time::Instant::now() < deadline, "the database is back");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

/// `GET /metrics`: Prometheus's text, for an administrator, the configured scraper token, or
/// (when configured) the machine itself; never for anyone else. Routes are counted by their
/// template, never by the path a client sent.
#[tokio::test]
async fn metrics_count_requests_and_authentications_for_those_allowed() {
    let db = tessera_testkit::TestDatabase::sqlite();
    let mut config = test_config(&db);
    config.metrics.token = Some("scraper-secret-0123456789".to_string().into());
    let server = TestServer::start_with(db, config).await;
    server.create_project("MET").await;
    let key = server.create_issue("MET", "counted").await;
    server.create_user("dev", &[]).await;
    let read = server
        .user(Method::GET, &format!("/rest/api/2/issue/{key}"), "dev")
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    let wrong = server
        .request(Method::GET, "/rest/api/2/myself")
        .basic_auth("dev", Some("wrong"))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);

    let metrics = |request: reqwest::RequestBuilder| async move {
        let response = request.send().await.unwrap();
        let status = response.status();
        let content_type = response
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        (status, content_type, response.text().await.unwrap())
    };
    // Not for anonymous callers, ordinary users, or a wrong scraper token.
    assert_eq!(
        metrics(server.anonymous(Method::GET, "/metrics")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        metrics(server.user(Method::GET, "/metrics", "dev")).await.0,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        metrics(
            server
                .request(Method::GET, "/metrics")
                .bearer_auth("scraper-secret-0123456780")
        )
        .await
        .0,
        StatusCode::UNAUTHORIZED
    );
    // The scraper's token, and an administrator.
    let (status, content_type, text) = metrics(
        server
            .request(Method::GET, "/metrics")
            .bearer_auth("scraper-secret-0123456789"),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        content_type
            .unwrap()
            .starts_with("application/openmetrics-text")
    );
    assert_eq!(
        metrics(server.admin(Method::GET, "/metrics")).await.0,
        StatusCode::OK
    );
    for line in [
        "tessera_http_requests_total{route=\"/rest/api/2/issue/{issueIdOrKey}\",method=\"GET\",status=\"200\"} 1",
        "tessera_authentications_total{kind=\"basic\",outcome=\"failure\",reason=\"bad_credentials\"}",
        "tessera_authentications_total{kind=\"basic_password\",outcome=\"success\",reason=\"\"}",
        "tessera_http_request_duration_seconds_bucket{le=",
        "tessera_db_pool_connections{pool=\"sqlite_read\"}",
        "tessera_db_pool_connections{pool=\"sqlite_write\"}",
        "tessera_credential_cache_hits_total ",
        "tessera_credential_cache_misses_total ",
        "tessera_audit_queue_depth ",
    ] {
        assert!(text.contains(line), "{line} in:\n{text}");
    }
    let value = |name: &str| -> f64 {
        text.lines()
            .find_map(|l| l.strip_prefix(name))
            .unwrap()
            .trim()
            .parse()
            .unwrap()
    };
    assert!(
        value("tessera_credential_cache_hits_total ") >= 1.0,
        "the administrator's password was remembered"
    );
    assert!(
        value("tessera_credential_cache_misses_total ") >= 1.0,
        "and verified once first"
    );
    assert!(!text.contains(&key), "paths are counted by their template");
    assert!(!text.contains("scraper-secret"), "the token is not shown");
    assert!(text.ends_with("# EOF\n"));

    // Loopback clients without a credential, when configured.
    let db = tessera_testkit::TestDatabase::sqlite();
    let mut config = test_config(&db);
    config.metrics.loopback = true;
    let local = TestServer::start_with(db, config).await;
    assert_eq!(
        metrics(local.anonymous(Method::GET, "/metrics")).await.0,
        StatusCode::OK
    );
}

/// Every answer carries a request id: made here (each its own), or a trusted proxy's kept;
/// a malformed one, or one from a peer that is not a trusted proxy, is replaced.
#[tokio::test]
async fn every_answer_carries_a_request_id() {
    let id_of = |response: &reqwest::Response| {
        response
            .headers()
            .get("x-request-id")
            .map(|v| v.to_str().unwrap().to_string())
    };
    let db = tessera_testkit::TestDatabase::sqlite();
    let mut config = test_config(&db);
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let behind = TestServer::start_with(db, config).await;
    let first = behind
        .anonymous(Method::GET, "/rest/api/2/serverInfo")
        .send()
        .await
        .unwrap();
    let second = behind
        .anonymous(Method::GET, "/no/such/page")
        .send()
        .await
        .unwrap();
    let (first, second) = (id_of(&first).unwrap(), id_of(&second).unwrap());
    assert_ne!(first, second, "each request its own");
    let kept = behind
        .anonymous(Method::GET, "/rest/api/2/myself")
        .header("x-request-id", "lb-7f3a.1")
        .send()
        .await
        .unwrap();
    assert_eq!(kept.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(id_of(&kept).as_deref(), Some("lb-7f3a.1"));
    let odd = behind
        .anonymous(Method::GET, "/rest/api/2/serverInfo")
        .header("x-request-id", "two words")
        .send()
        .await
        .unwrap();
    assert_ne!(id_of(&odd).as_deref(), Some("two words"));

    let db = tessera_testkit::TestDatabase::sqlite();
    let direct = TestServer::start(db).await;
    let replaced = direct
        .anonymous(Method::GET, "/rest/api/2/serverInfo")
        .header("x-request-id", "forged-by-client")
        .send()
        .await
        .unwrap();
    let id = id_of(&replaced).unwrap();
    assert_ne!(id, "forged-by-client");
}

/// The audit events a request causes carry its id: a trusted proxy's, or the one made here and
/// sent back, so that an event is found in the logs by it and the logs' lines by the event.
#[tokio::test]
async fn audit_events_name_the_request_they_were_recorded_in() {
    let db = tessera_testkit::TestDatabase::sqlite();
    let mut config = test_config(&db);
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    let behind = TestServer::start_with(db, config).await;
    behind.create_user("alice", &[]).await;
    let refused = behind
        .basic(
            Method::GET,
            "/rest/api/2/myself",
            "alice",
            "not her password",
        )
        .header("x-request-id", "lb-login-1")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), StatusCode::UNAUTHORIZED);
    let created = behind
        .basic(Method::POST, "/rest/pat/latest/tokens", "alice", PASSWORD)
        .header("x-request-id", "lb-token-2")
        .json(&serde_json::json!({"name": "ci", "expirationDuration": 5}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let failed = behind
        .audit("action=login.failed&target=user:alice", 1)
        .await;
    assert_eq!(failed[0]["requestId"], "lb-login-1");
    let by_request = behind.audit("requestId=lb-token-2", 1).await;
    assert!(
        by_request.iter().all(|e| e["requestId"] == "lb-token-2"),
        "{by_request:?}"
    );
    assert!(
        by_request.iter().any(|e| e["action"] == "token.created"),
        "{by_request:?}"
    );
    // Events of other requests (the user's creation) name theirs, not these.
    let made = behind.audit("action=admin.change", 1).await;
    assert!(
        made.iter()
            .all(|e| e["requestId"].is_string() && e["requestId"] != "lb-token-2"),
        "{made:?}"
    );

    // Without a proxy: the id made here, as the response said it.
    let db = tessera_testkit::TestDatabase::sqlite();
    let direct = TestServer::start(db).await;
    direct.create_user("bob", &[]).await;
    let refused = direct
        .basic(Method::GET, "/rest/api/2/myself", "bob", "not his password")
        .header("x-request-id", "forged-by-client")
        .send()
        .await
        .unwrap();
    let id = refused.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert_ne!(id, "forged-by-client");
    let failed = direct.audit("action=login.failed&target=user:bob", 1).await;
    assert_eq!(failed[0]["requestId"], id.as_str());
}

/// While its database is being prepared (migrations held up here by a lock an operator's
/// session holds on the migrations table), tessera already listens and answers 503: `/status`
/// says STARTING in Jira's shape, anything else is a Jira error with `Retry-After`; once the
/// lock goes, it serves and says RUNNING.
#[tokio::test]
async fn a_starting_server_says_so_until_its_database_is_ready() {
    use crate::common::process::{CHEAP_HASHING, Served, run};
    use sqlx::Connection;

    let Some(db) = tessera_testkit::TestDatabase::postgres().await else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let url = db.url.clone();
    let (migrated, _, errors) = run(&["--database-url", &url, "migrate"], None, &[]).await;
    assert!(migrated, "{errors}");
    let mut operator = sqlx::PgConnection::connect(&url).await.unwrap();
    sqlx::query("BEGIN").execute(&mut operator).await.unwrap();
    sqlx::query("LOCK TABLE _sqlx_migrations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut operator)
        .await
        .unwrap();

    let mut env = CHEAP_HASHING.to_vec();
    env.push(("TESSERA_ADMIN_PASSWORD", ADMIN_PASSWORD));
    let served =
        Served::start_until(&["--database-url", &url], &env, work.path(), "starting").await;
    let http = http_client().build().unwrap();
    let status = http.get(served.url("/status")).send().await.unwrap();
    assert_eq!(status.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(status.headers()["retry-after"], "5");
    assert_eq!(
        status.json::<Value>().await.unwrap(),
        json!({"state": "STARTING"})
    );
    let api = http
        .get(served.url("/rest/api/2/serverInfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(api.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = api.json().await.unwrap();
    assert!(
        body["errorMessages"][0]
            .as_str()
            .unwrap()
            .contains("starting"),
        "{body}"
    );

    sqlx::query("COMMIT").execute(&mut operator).await.unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let status = http.get(served.url("/status")).send().await.unwrap();
        if status.status() == StatusCode::OK {
            assert_eq!(
                status.json::<Value>().await.unwrap(),
                json!({"state": "RUNNING"})
            );
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still starting after 30 s"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let info = http
        .get(served.url("/rest/api/2/serverInfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    drop(served);
    drop(db);
}
