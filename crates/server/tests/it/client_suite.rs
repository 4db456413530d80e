//! The Python `jira` client's own test suite (pycontribs/jira at tag 3.10.5, the suite its
//! maintainers run against a real Jira; vendored unmodified under `tests/pycontribs-jira`,
//! with its licence and where it came from), run by pytest against a live tessera under the
//! context path `/jira`, with the environment the client's CI sets (`CI_JIRA_URL`,
//! `CI_JIRA_ADMIN`, `CI_JIRA_USER`, ...) and its CI user created first, as the client's
//! `make_local_jira_user.py` does. Every test runs but those `tests/pycontribs-jira/EXCLUDED`
//! lists, each with its reason.

use std::path::PathBuf;
use std::process::Command;

use reqwest::{Method, StatusCode};
use serde_json::json;
use tessera_testkit::{TestDatabase, is_ci};

use crate::common::*;
use crate::python_client::python_with;

const CI_USER: &str = "jira_user";

/// The node-id prefixes the run deselects: each line of `EXCLUDED` up to its `|` reason.
fn excluded(suite: &std::path::Path) -> Vec<String> {
    let text = std::fs::read_to_string(suite.join("EXCLUDED")).unwrap();
    text.lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (test, reason) = line.split_once('|').unwrap_or((line, ""));
            assert!(
                !reason.trim().is_empty(),
                "EXCLUDED gives no reason for {test}"
            );
            test.trim().to_string()
        })
        .collect()
}

#[tokio::test]
async fn the_python_clients_own_suite_passes() {
    let Some(python) =
        python_with("pytest, parameterized, pytest_timeout, requests_mock, IPython, keyring")
    else {
        return;
    };
    // At the address the client's CI serves Jira at, and its client's default server:
    // `test_token_auth` makes a client without naming a server.
    let server = TestServer::start_under(
        TestDatabase::sqlite(),
        "127.0.0.1:2990",
        "localhost",
        "/jira",
    )
    .await;
    let user = json!({"name": CI_USER, "password": PASSWORD, "emailAddress": "user@example.com", "displayName": "Newly Created CI User"});
    server
        .admin_json(
            Method::POST,
            "/jira/rest/api/2/user",
            user,
            StatusCode::CREATED,
        )
        .await;
    // The client's CI administrator has an e-mail address, as every Jira user has.
    server
        .admin_json(
            Method::PUT,
            "/jira/rest/api/2/user?username=admin",
            json!({"emailAddress": "admin@example.com"}),
            StatusCode::OK,
        )
        .await;
    let suite = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/pycontribs-jira");
    let mut args: Vec<String> = vec![
        "-m".into(),
        "pytest".into(),
        "-c".into(),
        "pytest.ini".into(),
        "-p".into(),
        "no:cacheprovider".into(),
    ];
    for test in excluded(&suite) {
        args.push("--deselect".into());
        args.push(test);
    }
    // For the narrow loop: only the tests a `-k` expression selects.
    if let Ok(only) = std::env::var("TESSERA_CLIENT_SUITE_ONLY") {
        args.push("-k".into());
        args.push(only);
    }
    args.push("tests".into());
    let url = "http://localhost:2990/jira/".to_string();
    // The client's console scripts (`jirashell`) beside its interpreter, as an installed
    // client has them.
    let bin = PathBuf::from(&python)
        .parent()
        .map(|dir| dir.to_path_buf())
        .unwrap_or_default();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    )))
    .unwrap();
    let output = tokio::task::spawn_blocking(move || {
        Command::new(python)
            .env("PATH", path)
            .current_dir(&suite)
            .args(args)
            .env("CI_JIRA_TYPE", "Server")
            .env("CI_JIRA_URL", url)
            .env("CI_JIRA_ADMIN", "admin")
            .env("CI_JIRA_ADMIN_PASSWORD", ADMIN_PASSWORD)
            .env("CI_JIRA_USER", CI_USER)
            .env("CI_JIRA_USER_PASSWORD", PASSWORD)
            .env("CI_JIRA_USER_FULL_NAME", "Newly Created CI User")
            .env("CI_JIRA_ISSUE", "Task")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    let log = std::env::temp_dir().join("tessera-client-suite.log");
    std::fs::write(&log, stdout.as_bytes()).unwrap();
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|line| {
            line.starts_with("FAILED")
                || line.starts_with("ERROR")
                || line.contains(" passed")
                || line.contains(" failed")
        })
        .collect();
    assert!(
        output.status.success(),
        "the client's suite failed (its whole output: {}):\n{}\n--- stdout (end) ---\n{}\n--- stderr ---\n{stderr}",
        log.display(),
        summary.join("\n"),
        stdout
            .chars()
            .rev()
            .take(8_000)
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>()
    );
    if is_ci() {
        eprintln!("{}", summary.join("\n"));
    }
}
