//! A real browser against a real server: headless Chromium, driven by Selenium from
//! `tests/browser/token_pages.py`, logs in, creates, uses and revokes a personal access token
//! through the HTML pages, then an administrator finds and revokes a token in the inventory.
//!
//! Needs Debian's `chromium` and `chromium-driver` and the `selenium` package in the Python of
//! `TESSERA_TEST_PYTHON` (set by `scripts/test`). Outside CI, anything missing skips the test
//! with a message; under CI (`CI=true`) it fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use crate::common::*;
use tessera_testkit::{TestDatabase, is_ci};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Generous: two browser starts and a dozen page loads on a slow CI machine.
const SCRIPT_TIMEOUT: Duration = Duration::from_secs(240);

/// The Python interpreter with Selenium, if it and the browser are installed.
fn browser_python() -> Option<String> {
    let candidate = std::env::var("TESSERA_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_selenium = std::process::Command::new(&candidate)
        .args(["-c", "import selenium"])
        .output()
        .is_ok_and(|output| output.status.success());
    let mut missing: Vec<&str> = [CHROMIUM, CHROMEDRIVER]
        .into_iter()
        .filter(|path| !Path::new(path).exists())
        .collect();
    if !has_selenium {
        missing.push("the Python selenium package");
    }
    match (missing.is_empty(), is_ci()) {
        (true, _) => Some(candidate),
        (false, true) => panic!(
            "CI=true needs {}: run .ci/run (chromium, chromium-driver) and scripts/test (selenium)",
            missing.join(", ")
        ),
        (false, false) => {
            eprintln!(
                "skipping the browser test: missing {} (install chromium and chromium-driver, \
                 and run scripts/test)",
                missing.join(", ")
            );
            None
        }
    }
}

fn script(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("../../tests/browser/{name}"))
}

/// Runs a browser script to its end; asserts it succeeded and printed `ok`.
async fn run_script(mut command: tokio::process::Command, ok: &str) {
    let child = command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the browser script");
    let output = tokio::time::timeout(SCRIPT_TIMEOUT, child.wait_with_output())
        .await
        .unwrap_or_else(|_| panic!("the browser script ran longer than {SCRIPT_TIMEOUT:?}"))
        .expect("the browser script ran");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    eprintln!("{stdout}");
    assert!(
        output.status.success(),
        "the browser flow failed ({}):\n{stdout}\n{stderr}",
        output.status
    );
    assert!(stdout.contains(ok), "{stdout}\n{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_manages_tokens_through_the_pages() {
    let Some(python) = browser_python() else {
        return;
    };
    let server = TestServer::start(TestDatabase::sqlite()).await;
    server.create_user("alice", &[]).await;
    let url = server.url("");
    let mut command = tokio::process::Command::new(python);
    command
        .arg(script("token_pages.py"))
        .args(["--url", url.trim_end_matches('/')])
        .args(["--user", "alice", "--password", PASSWORD])
        .args(["--admin", "admin", "--admin-password", ADMIN_PASSWORD]);
    run_script(command, "browser: ok").await;
    server.stop().await;
}

/// The seeds' case in a real browser against a real provider: a user with no password at
/// tessera signs in through node-oidc-provider's own login and consent pages, lands logged in,
/// and makes a token that works (`tests/browser/sso_login.py`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_signs_in_through_a_real_provider_and_makes_a_token() {
    let Some(python) = browser_python() else {
        return;
    };
    let server = TestServer::start(TestDatabase::sqlite()).await;
    let callback = server.url("/login/sso/callback");
    let Some(provider) = crate::common::oidc::RealProvider::start(Some(&callback)).await else {
        return;
    };
    let registration = serde_json::json!({
        "name": "node-oidc-provider", "issuer": provider.issuer, "audiences": ["tessera"],
        "provisioning": "create",
        "login": {"clientId": "tessera-web", "clientSecret": "web-secret-which-is-long-enough"},
    });
    server
        .admin_json(
            reqwest::Method::POST,
            "/rest/tessera/1/identityproviders",
            registration,
            reqwest::StatusCode::CREATED,
        )
        .await;
    let url = server.url("");
    let mut command = tokio::process::Command::new(python);
    command
        .arg(script("sso_login.py"))
        .args(["--url", url.trim_end_matches('/')])
        .args(["--provider", "node-oidc-provider", "--user", "sso-dana"]);
    run_script(command, "sso: ok").await;
    let events = server
        .audit("action=identity.user.provisioned&target=user:sso-dana", 1)
        .await;
    assert_eq!(events.len(), 1);
    server.stop().await;
}
