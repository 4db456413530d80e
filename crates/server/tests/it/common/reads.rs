//! Reading answers: Jira's JSON and error shapes, and the audit trail.

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

use super::TestServer;

/// Events of the audit trail matching `query`, read with the requests `request` makes once
/// the server's background writers are synced: at least `at_least` of them.
pub async fn audit_by(
    server: &TestServer,
    request: impl Fn(&str) -> RequestBuilder,
    query: &str,
    at_least: usize,
) -> Vec<Value> {
    server.sync().await;
    let response = request(&format!("/rest/tessera/1/audit?{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let page: Value = response.json().await.unwrap();
    let values = page["values"].as_array().unwrap().clone();
    assert!(
        values.len() >= at_least,
        "fewer than {at_least} audit events for {query}: {page}"
    );
    values
}

impl TestServer {
    /// [`audit_by`] as the administrator with Basic.
    pub async fn audit(&self, query: &str, at_least: usize) -> Vec<Value> {
        audit_by(self, |path| self.admin(Method::GET, path), query, at_least).await
    }
}

/// Reads a response as JSON, asserting Jira's content type.
pub async fn json_of(response: Response) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        content_type.as_deref(),
        Some("application/json;charset=UTF-8")
    );
    response.json().await.unwrap()
}

/// Asserts a status and Jira's error shape; returns the body.
pub async fn expect_error(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{:?}", response.headers());
    let body = json_of(response).await;
    assert!(
        body["errorMessages"].is_array() && body["errors"].is_object(),
        "not Jira's error shape: {body}"
    );
    body
}

/// Sends the request `request` makes until its status is `expected`, for at most a second
/// (what another instance remembered about a credential may take that long to go stale); the
/// last response.
pub async fn answered_within_a_second(
    request: impl Fn() -> RequestBuilder,
    expected: StatusCode,
) -> Response {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(1);
    loop {
        let response = request().send().await.unwrap();
        if response.status() == expected {
            return response;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {} after a second, not {expected}",
            response.status()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Runs `statements` on the database at `url` through a connection of its own, as an
/// operator's console would: nothing of tessera's runs with them.
pub async fn execute_directly(url: &str, statements: impl IntoIterator<Item = String>) {
    macro_rules! run_on {
        ($pool:ty) => {{
            let pool = <$pool>::connect(url).await.unwrap();
            for statement in statements {
                sqlx::query(sqlx::AssertSqlSafe(statement))
                    .execute(&pool)
                    .await
                    .unwrap();
            }
            pool.close().await;
        }};
    }
    if url.starts_with("postgres") {
        run_on!(sqlx::PgPool)
    } else {
        run_on!(sqlx::SqlitePool)
    }
}

pub use tessera_testkit::kill_listeners;
