//! tessera's own API against its OpenAPI document: the document is served with the server's
//! base URL, and schemathesis (pinned in tests/python/requirements.txt) throws schema-driven
//! and hostile requests at every operation as an administrator. It must find no 5xx, no status
//! code, content type, header or body the document does not describe, no operation that
//! answers without a credential, and no schema-violating request accepted.

use std::time::Duration;

use crate::common::*;
use crate::python_client::python_with;
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tessera_testkit::TestDatabase;

/// Requests generated per operation (each phase).
const EXAMPLES: &str = "40";

#[tokio::test]
async fn the_document_names_the_server_it_is_served_by() {
    let server =
        TestServer::start_under(TestDatabase::sqlite(), "127.0.0.1:0", "localhost", "/jira").await;
    let response = server
        .anonymous(Method::GET, "/jira/rest/tessera/1/openapi.json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let document: Value = json_of(response).await;
    assert_eq!(document["openapi"], "3.1.0");
    assert_eq!(document["servers"][0]["url"], server.base.as_str());
    assert!(server.base.ends_with("/jira"));
    assert!(document["paths"]["/rest/tessera/1/identityproviders/{id}"]["put"].is_object());
}

#[tokio::test]
async fn schemathesis_finds_nothing_the_document_does_not_describe() {
    let Some(python) = python_with("schemathesis") else {
        return;
    };
    let server = TestServer::start(TestDatabase::sqlite()).await;
    let work = tempfile::tempdir().unwrap();
    let url = server.url("/rest/tessera/1/openapi.json");
    let basic = {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(format!("admin:{ADMIN_PASSWORD}"))
    };
    let args = [
        "-m",
        "schemathesis.cli",
        "run",
        url.as_str(),
        "--header",
        &format!("Authorization: Basic {basic}"),
        "--checks",
        "all",
        // Jira's rules reject much that the schema allows (an unknown user, a malformed key):
        // a schema-valid request may well be refused.
        "--exclude-checks",
        "positive_data_acceptance",
        // A random policy could lock the fuzzer out of everything that follows.
        "--exclude-name",
        "PUT /rest/tessera/1/policy",
        "--max-examples",
        EXAMPLES,
        "--seed",
        "20261207",
        "--no-color",
    ];
    let output = tokio::time::timeout(
        Duration::from_secs(600),
        tokio::process::Command::new(&python)
            .args(args)
            .current_dir(work.path())
            .output(),
    )
    .await
    .expect("schemathesis finished within ten minutes")
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "schemathesis found failures:\n{stdout}\n{stderr}"
    );
    // It ran the operations, not nothing.
    let summary = stdout
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains(" generated,"))
        .unwrap_or_default()
        .to_string();
    let generated: usize = summary
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    assert!(generated > 1000, "too few requests: {summary}\n{stdout}");
    assert!(stdout.contains("Tested: 38"), "{stdout}");
}
