//! The Python `jira` package, a real Jira client, runs the everyday flow against a running
//! tessera with Basic, cookie, personal-access-token (`token_auth`) and Basic-with-token
//! authentication, on SQLite and PostgreSQL: server info, myself, projects, fields, what to
//! create, create, get, JQL search paged through three pages (each issue once, `total`
//! exact), update with labels and priority, the changelog naming the credential kind of the
//! change, comments, transitions, resolution, assignment, watchers, the refusals a reader or
//! a READ token meets, and delete. Authlib, a real OAuth 2.0 client library, completes the
//! authorization-code flow with PKCE (`tests/python/oauth_flow.py`).
//!
//! The interpreter comes from `TESSERA_TEST_PYTHON` (set by `scripts/test`, which installs the
//! client into a virtual environment). Outside CI, a missing client skips the test with a
//! message; under CI (`CI=true`) it fails.

use std::path::PathBuf;
use std::process::Command;

use crate::common::*;
use tessera_testkit::{backend_tests, is_ci};

pub(crate) fn python() -> Option<String> {
    let candidate = std::env::var("TESSERA_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_client = Command::new(&candidate)
        .args(["-c", "import jira"])
        .output()
        .is_ok_and(|output| output.status.success());
    match (has_client, is_ci()) {
        (true, _) => Some(candidate),
        (false, true) => panic!(
            "CI=true needs the Python jira package: set TESSERA_TEST_PYTHON or run scripts/test"
        ),
        (false, false) => {
            eprintln!("the Python jira package is not installed: skipping (run scripts/test)");
            None
        }
    }
}

/// The interpreter, when it also has `modules` (a comma-separated import list); under CI a
/// missing module fails the test instead of skipping it.
pub(crate) fn python_with(modules: &str) -> Option<String> {
    let python = python()?;
    let has_modules = Command::new(&python)
        .args(["-c", &format!("import {modules}")])
        .output()
        .is_ok_and(|o| o.status.success());
    if has_modules {
        return Some(python);
    }
    assert!(!is_ci(), "CI=true needs {modules}: run scripts/test");
    eprintln!("{modules} not installed: skipping (run scripts/test)");
    None
}

/// Runs `tests/python/NAME` with `args`, off the async runtime: (success, stdout, stderr).
pub(crate) async fn run_script(
    python: String,
    name: &str,
    args: Vec<String>,
) -> (bool, String, String) {
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/python")
        .join(name);
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .arg(script)
            .args(args)
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status.success(), stdout, stderr)
}

backend_tests! {
    async fn the_python_jira_client_runs_the_everyday_flow(db) {
        let Some(python) = python() else { return };
        let server = TestServer::start(db).await;
        server.create_project("PY").await;
        server.create_project("PYB").await;
        server.create_user("reader", &[]).await;
        let token = server.create_token("admin", serde_json::json!({"name": "py", "expirationDuration": 1})).await;
        let read_token = server.create_token("admin", serde_json::json!({"name": "py-read", "expirationDuration": 1, "scopes": ["READ"]})).await;
        let restricted = server.create_token("admin", serde_json::json!({"name": "py-one", "expirationDuration": 1, "projects": ["PY"]})).await;
        let url = server.url("");
        let args = [
            "--url", url.trim_end_matches('/'), "--user", "admin", "--password", ADMIN_PASSWORD,
            "--reader", "reader", "--reader-password", PASSWORD, "--project", "PY",
            "--token", &token, "--read-token", &read_token, "--restricted-token", &restricted, "--other-project", "PYB",
            "--auth", "basic", "--auth", "cookie", "--auth", "token", "--auth", "basic-token",
        ];
        let (ok, stdout, stderr) = run_script(python, "jira_flow.py", args.map(String::from).to_vec()).await;
        assert!(ok, "the Python flow failed:\n{stdout}\n{stderr}");
        for method in ["basic", "cookie", "token", "basic-token"] {
            assert!(stdout.contains(&format!("{method}: ok")), "{stdout}");
        }
        // How long the whole flow took (shown with --nocapture).
        eprintln!("{}", stdout.lines().last().unwrap_or_default());
    }

    async fn a_real_oauth2_client_library_completes_the_code_flow(db) {
        let Some(python) = python_with("authlib") else { return };
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        let redirect = "http://127.0.0.1:9/callback";
        let client = server.admin_json(reqwest::Method::POST, "/rest/tessera/1/oauth2/clients",
            serde_json::json!({"name": "Authlib", "redirectUris": [redirect], "confidential": false, "scopes": ["READ"]}),
            reqwest::StatusCode::CREATED).await;
        let client_id = client["clientId"].as_str().unwrap().to_string();
        let url = server.url("");
        let args = ["--url", url.trim_end_matches('/'), "--client-id", &client_id, "--redirect-uri", redirect, "--user", "alice", "--password", PASSWORD];
        let (ok, stdout, stderr) = run_script(python, "oauth_flow.py", args.map(String::from).to_vec()).await;
        assert!(ok, "the OAuth 2.0 flow failed:\n{stdout}\n{stderr}");
        assert!(stdout.contains("oauth: ok"), "{stdout}");
    }
}
