//! The `tessera` binary: its first start, offline commands, graceful shutdown, and durability
//! across `kill -9`, on SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::common::process::{CHEAP_HASHING, Served, printed, run};
use base64::Engine;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tessera_testkit::{Backend, TestDatabase, backend_tests};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Global options pointing the binary at the test database.
fn database_args(db: &TestDatabase) -> Vec<String> {
    match db.backend {
        Backend::Sqlite => vec![
            "--data-dir".into(),
            db.data_dir().unwrap().display().to_string(),
        ],
        Backend::Postgres => vec!["--database-url".into(), db.url.clone()],
    }
}

fn strs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[tokio::test]
async fn first_start_creates_the_administrator_once() {
    let workdir = tempfile::tempdir().unwrap();
    // No configuration at all: data in ./tessera-data, a random password printed once.
    let mut first = Served::start(&[], &CHEAP_HASHING, workdir.path()).await;
    assert!(workdir.path().join("tessera-data/tessera.db").exists());
    let created = first
        .events
        .iter()
        .find(|e| e["event"] == "admin-created")
        .expect("admin-created printed");
    let password = created["password"].as_str().unwrap().to_string();
    assert!(password.len() >= 32);
    let http = crate::common::http_client().build().unwrap();
    let me: Value = http
        .get(first.url("/rest/api/2/myself"))
        .basic_auth("admin", Some(&password))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["name"], "admin");
    assert!(
        me["groups"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|g| g["name"] == "jira-administrators")
    );
    first.signal("TERM").await;
    assert!(
        first.wait(Duration::from_secs(40)).await,
        "a clean exit on SIGTERM"
    );

    let mut second = Served::start(&[], &CHEAP_HASHING, workdir.path()).await;
    assert!(
        second.events.iter().all(|e| e["event"] != "admin-created"),
        "printed only once"
    );
    let status = http
        .get(second.url("/rest/api/2/myself"))
        .basic_auth("admin", Some(&password))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK, "data survives a restart");
    second.signal("INT").await;
    assert!(second.wait(Duration::from_secs(40)).await);
}

#[tokio::test]
async fn the_admin_password_can_come_from_the_environment() {
    let workdir = tempfile::tempdir().unwrap();
    let env = [
        CHEAP_HASHING[0],
        CHEAP_HASHING[1],
        ("TESSERA_ADMIN_PASSWORD", "from-the-environment"),
    ];
    let served = Served::start(&[], &env, workdir.path()).await;
    assert!(
        served.events.iter().all(|e| e["event"] != "admin-created"),
        "a given password is not printed"
    );
    let status = crate::common::http_client()
        .build()
        .unwrap()
        .get(served.url("/rest/api/2/myself"))
        .basic_auth("admin", Some("from-the-environment"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, StatusCode::OK);
    // A password too weak to be an administrator's is refused at start.
    let other = tempfile::tempdir().unwrap();
    let dir = other.path().join("data").display().to_string();
    let (ok, _, stderr) = run(
        &["--data-dir", &dir, "serve", "--listen", "127.0.0.1:0"],
        None,
        &[("TESSERA_ADMIN_PASSWORD", "admin")],
    )
    .await;
    assert!(!ok);
    assert!(stderr.contains("TESSERA_ADMIN_PASSWORD"), "{stderr}");
}

#[tokio::test]
async fn a_start_that_cannot_do_what_it_was_asked_says_so() {
    let workdir = tempfile::tempdir().unwrap();
    let dir = workdir.path().join("data").display().to_string();
    // A user made offline before the first start: no administrator is made.
    let (ok, _, stderr) = run(
        &[
            "--data-dir",
            &dir,
            "user",
            "create",
            "alice",
            "--password-stdin",
        ],
        Some("alice-password-1\n"),
        &CHEAP_HASHING,
    )
    .await;
    assert!(ok, "{stderr}");
    let env = [
        CHEAP_HASHING[0],
        CHEAP_HASHING[1],
        ("TESSERA_ADMIN_PASSWORD", "from-the-environment"),
    ];
    let mut served = Served::start(&["--data-dir", &dir], &env, workdir.path()).await;
    assert!(served.events.iter().all(|e| e["event"] != "admin-created"));
    assert!(
        printed(&served, "TESSERA_ADMIN_PASSWORD is set but ignored").await,
        "{}",
        served.output.lock().unwrap()
    );
    assert!(printed(&served, "no active user is in jira-administrators").await);
    assert!(printed(&served, "tessera user create NAME --admin --password-stdin").await);
    // The address to open is printed with the listening line.
    let login = served.url("/login");
    assert!(
        printed(&served, &format!("\"loginUrl\":\"{login}\"")).await,
        "{}",
        served.output.lock().unwrap()
    );
    served.signal("TERM").await;
    assert!(served.wait(Duration::from_secs(40)).await);

    // Once an administrator exists, the second warning is gone.
    let (ok, _, stderr) = run(
        &[
            "--data-dir",
            &dir,
            "user",
            "create",
            "root",
            "--admin",
            "--password-stdin",
        ],
        Some("root-password-1\n"),
        &CHEAP_HASHING,
    )
    .await;
    assert!(ok, "{stderr}");
    let mut served = Served::start(&["--data-dir", &dir], &CHEAP_HASHING, workdir.path()).await;
    assert!(printed(&served, "loginUrl").await);
    let output = served.output.lock().unwrap().clone();
    assert!(
        !output.contains("jira-administrators") && !output.contains("TESSERA_ADMIN_PASSWORD"),
        "{output}"
    );
    served.signal("TERM").await;
    assert!(served.wait(Duration::from_secs(40)).await);
}

backend_tests! {
    async fn offline_commands_work_on_the_same_data(db) {
        let args = database_args(&db);
        let with = |extra: &[&str]| -> Vec<String> { args.iter().cloned().chain(extra.iter().map(|s| s.to_string())).collect() };
        let (ok, stdout, stderr) = run(&strs(&with(&["--json", "migrate"])), None, &[]).await;
        assert!(ok, "{stderr}");
        let migrated: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!(migrated["migrated"], true);
        // Every migration of the tree, in order.
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../store/migrations/sqlite");
        let count = std::fs::read_dir(dir).unwrap().filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "sql")).count();
        assert_eq!(migrated["applied"], json!((1..=count).collect::<Vec<_>>()));
        let (ok, stdout, _) = run(&strs(&with(&["--json", "migrate"])), None, &[]).await;
        assert!(ok);
        assert_eq!(serde_json::from_str::<Value>(stdout.trim()).unwrap()["applied"], json!([]));

        let create = with(&["--json", "user", "create", "Bob", "--password-stdin", "--admin", "--email", "bob@example.com", "--display-name", "Bob B"]);
        let (ok, stdout, stderr) = run(&strs(&create), Some("bob-password-1\n"), &CHEAP_HASHING).await;
        assert!(ok, "{stderr}");
        let bob: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!((bob["name"].as_str(), bob["admin"].as_bool(), bob["hasPassword"].as_bool()), (Some("bob"), Some(true), Some(true)));
        let (ok, stdout, _) = run(&strs(&create), Some("bob-password-1\n"), &CHEAP_HASHING).await;
        assert!(!ok, "a second bob is refused");
        assert!(serde_json::from_str::<Value>(stdout.trim()).unwrap()["error"].as_str().unwrap().contains("already exists"));
        let (ok, _, stderr) = run(&strs(&with(&["user", "create", "shorty", "--password-stdin"])), Some("short\n"), &[]).await;
        assert!(!ok && stderr.contains("at least 8"), "{stderr}");
        // How the user signs in must be said: a password, or explicitly none.
        let (ok, _, stderr) = run(&strs(&with(&["user", "create", "sso-only", "--email", "s@example.com"])), None, &[]).await;
        assert!(!ok && stderr.contains("--no-password"), "{stderr}");
        let (ok, stdout, stderr) = run(&strs(&with(&["user", "create", "sso-only", "--email", "s@example.com", "--no-password"])), None, &[]).await;
        assert!(ok && stdout.contains("sso-only"), "{stderr}");
        // Empty standard input is named as such, not as a short password; an unknown user is
        // named before any password is read.
        let (ok, _, stderr) = run(&strs(&with(&["user", "create", "quiet", "--password-stdin"])), Some(""), &[]).await;
        assert!(!ok && stderr.contains("no password on standard input"), "{stderr}");
        let (ok, _, stderr) = run(&strs(&with(&["user", "passwd", "nobody", "--password-stdin"])), Some("long-enough-1\n"), &[]).await;
        assert!(!ok && stderr.contains("there is no user 'nobody'"), "{stderr}");

        let workdir = tempfile::tempdir().unwrap();
        let served = Served::start(&strs(&args), &CHEAP_HASHING, workdir.path()).await;
        assert!(served.events.iter().all(|e| e["event"] != "admin-created"), "users exist: no bootstrap");
        let http = crate::common::http_client().build().unwrap();
        let status = |password: &'static str| {
            let request = http.get(served.url("/rest/api/2/myself")).basic_auth("bob", Some(password));
            async move { request.send().await.unwrap().status() }
        };
        assert_eq!(status("bob-password-1").await, StatusCode::OK);
        let (ok, stdout, stderr) = run(&strs(&with(&["--json", "user", "passwd", "bob", "--password-stdin"])), Some("bob-password-2\n"), &CHEAP_HASHING).await;
        assert!(ok, "{stderr}");
        assert_eq!(serde_json::from_str::<Value>(stdout.trim()).unwrap()["passwordChanged"], true);
        // The running server sees the change within a second, though it remembered the old
        // password (another process's change: see the verified-credential cache).
        let old = || http.get(served.url("/rest/api/2/myself")).basic_auth("bob", Some("bob-password-1"));
        crate::common::answered_within_a_second(old, StatusCode::UNAUTHORIZED).await;
        assert_eq!(status("bob-password-2").await, StatusCode::OK);
        let sso = http.get(served.url("/rest/api/2/myself")).basic_auth("sso-only", Some("")).send().await.unwrap();
        assert_eq!(sso.status(), StatusCode::UNAUTHORIZED);
    }

    async fn offline_policy_commands_show_replace_and_recover_a_lockout(db) {
        let args = database_args(&db);
        let with = |extra: &[&str]| -> Vec<String> { args.iter().cloned().chain(extra.iter().map(|s| s.to_string())).collect() };
        let (ok, _, stderr) = run(&strs(&with(&["user", "create", "bob", "--admin", "--password-stdin"])), Some("bob-password-1\n"), &CHEAP_HASHING).await;
        assert!(ok, "{stderr}");
        // The configuration gives the first policy, stored at the first read.
        let initial = [("TESSERA_RATE_LIMIT__ENABLED", "true")];
        let (ok, stdout, stderr) = run(&strs(&with(&["--json", "policy", "show"])), None, &initial).await;
        assert!(ok, "{stderr}");
        let shown: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!((shown["version"].as_i64(), shown["rateLimit"]["enabled"].as_bool()), (Some(1), Some(true)));
        assert!(shown["updated"].is_string() && shown.get("updatedBy").is_some(), "who changed it when: {shown}");
        // Later the stored one is in force, whatever the configuration says.
        let (_, stdout, _) = run(&strs(&with(&["--json", "policy", "show"])), None, &[]).await;
        assert_eq!(serde_json::from_str::<Value>(stdout.trim()).unwrap()["rateLimit"]["enabled"], true);

        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("policy.json");
        // What show prints (text or --json) goes back in as it is: unchanged, no new version.
        let (_, text, _) = run(&strs(&with(&["policy", "show"])), None, &[]).await;
        assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), shown, "the text is the same document");
        std::fs::write(&file, &text).unwrap();
        let (ok, stdout, stderr) = run(&strs(&with(&["--json", "policy", "set", file.to_str().unwrap()])), None, &[]).await;
        assert!(ok, "{stderr}");
        assert_eq!(serde_json::from_str::<Value>(stdout.trim()).unwrap(), json!({"version": 1, "changed": ""}));
        // A group that does not exist is refused (it would lock its members' rule to nobody).
        let mut unknown = shown.clone();
        unknown["methods"] = json!({"basic_password": {"enabled": false, "exceptGroups": ["no-such-group"]}});
        std::fs::write(&file, unknown.to_string()).unwrap();
        let (ok, _, stderr) = run(&strs(&with(&["policy", "set", file.to_str().unwrap()])), None, &[]).await;
        assert!(!ok && stderr.contains("'no-such-group'"), "{stderr}");
        // A document based on an older version is refused.
        let mut stale = shown.clone();
        stale["version"] = json!(0);
        std::fs::write(&file, stale.to_string()).unwrap();
        let (ok, _, stderr) = run(&strs(&with(&["policy", "set", file.to_str().unwrap()])), None, &[]).await;
        assert!(!ok && stderr.contains("based on version 0"), "{stderr}");
        std::fs::write(&file, r#"{"allowedIps": ["192.0.2.0/24"]}"#).unwrap();
        let (ok, stdout, stderr) = run(&strs(&with(&["--json", "policy", "set", file.to_str().unwrap()])), None, &[]).await;
        assert!(ok, "{stderr}");
        let set: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!((set["version"].as_i64(), set["changed"].as_str()), (Some(2), Some("allowedIps,rateLimit")));
        std::fs::write(&file, r#"{"allowedIps": ["not-an-address"]}"#).unwrap();
        let (ok, _, stderr) = run(&strs(&with(&["policy", "set", file.to_str().unwrap()])), None, &[]).await;
        assert!(!ok && stderr.contains("not-an-address"), "{stderr}");

        // Locked out: the server refuses everyone here ...
        let workdir = tempfile::tempdir().unwrap();
        let served = Served::start(&strs(&args), &CHEAP_HASHING, workdir.path()).await;
        let http = crate::common::http_client().build().unwrap();
        let myself = || http.get(served.url("/rest/api/2/myself")).basic_auth("bob", Some("bob-password-1")).send();
        let refused = myself().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "ip_not_allowed");
        // ... until the operator puts the configuration's policy back, offline; the running
        // server follows on the next request.
        let (ok, stdout, stderr) = run(&strs(&with(&["--json", "policy", "reset"])), None, &[]).await;
        assert!(ok, "{stderr}");
        assert_eq!(serde_json::from_str::<Value>(stdout.trim()).unwrap()["version"], 3);
        assert_eq!(myself().await.unwrap().status(), StatusCode::OK);
    }

    async fn offline_tokens_work_and_no_secret_reaches_the_log(db) {
        let args = database_args(&db);
        let with = |extra: &[&str]| -> Vec<String> { args.iter().cloned().chain(extra.iter().map(|s| s.to_string())).collect() };
        let (ok, _, stderr) = run(&strs(&with(&["user", "create", "carol", "--password-stdin"])), Some("carol-password-1\n"), &CHEAP_HASHING).await;
        assert!(ok, "{stderr}");
        let (ok, stdout, stderr) = run(&strs(&with(&["--json", "token", "create", "carol", "--name", "cron", "--expires-days", "7", "--scope", "READ"])), None, &[]).await;
        assert!(ok, "{stderr}");
        let created: Value = serde_json::from_str(stdout.trim()).unwrap();
        let raw = created["rawToken"].as_str().unwrap().to_string();
        assert!(raw.starts_with("tspat_"));
        assert_eq!(created["scopes"], json!(["read:jira-work", "read:jira-user"]));
        assert!(created["expires"].is_string() && created["allowedIps"] == json!([]), "{created}");
        let (ok, _, stderr) = run(&strs(&with(&["token", "create", "carol", "--name", "x", "--scope", "nonsense"])), None, &[]).await;
        assert!(!ok && stderr.contains("--scope: ") && stderr.contains("nonsense"), "refused in the command's words: {stderr}");
        // Made in text: what was issued, then the secret.
        let (ok, stdout, stderr) = run(&strs(&with(&["token", "create", "carol", "--name", "cli", "--expires-days", "3", "--scope", "WRITE", "--allow-ip", "10.0.0.0/8"])), None, &[]).await;
        assert!(ok, "{stderr}");
        assert!(stdout.contains("expires: ") && stdout.contains("UTC") && stdout.contains("write:jira-work") && stdout.contains("10.0.0.0/8") && stdout.contains("tspat_"), "{stdout}");

        // The most verbose log the server can write, while the token is used every way.
        let workdir = tempfile::tempdir().unwrap();
        let env = [CHEAP_HASHING[0], CHEAP_HASHING[1], ("RUST_LOG", "trace"), ("TESSERA_TOKENS__USAGE_FLUSH_SECONDS", "1")];
        let mut served = Served::start(&strs(&args), &env, workdir.path()).await;
        let http = crate::common::http_client().build().unwrap();
        let me = http.get(served.url("/rest/api/2/myself")).bearer_auth(&raw).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::OK);
        let me = http.get(served.url("/rest/api/2/myself")).basic_auth("carol", Some(&raw)).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::OK);
        let mut typo = raw.clone();
        typo.push('x');
        let bad = http.get(served.url("/rest/api/2/myself")).bearer_auth(&typo).send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
        let made = http.post(served.url("/rest/pat/latest/tokens")).basic_auth("carol", Some("carol-password-1"))
            .json(&json!({"name": "second", "expirationDuration": 3})).send().await.unwrap();
        let second = made.json::<Value>().await.unwrap()["rawToken"].as_str().unwrap().to_string();
        let report = http.post(served.url("/rest/tessera/1/credentials/revoke")).json(&json!({"credentials": [second.clone()]})).send().await.unwrap();
        assert_eq!(report.status(), StatusCode::ACCEPTED);
        // Revoked offline while the server runs: refused on the next request.
        let id = created["id"].as_i64().unwrap().to_string();
        let (ok, stdout, stderr) = run(&strs(&with(&["--json", "token", "revoke", &id])), None, &[]).await;
        assert!(ok, "{stderr}");
        assert_eq!(serde_json::from_str::<Value>(stdout.trim()).unwrap()["revoked"], 1);
        let (ok, stdout, stderr) = run(&strs(&with(&["token", "revoke", &id])), None, &[]).await;
        assert!(ok && stdout.contains("already revoked"), "revoking twice says so: {stdout} {stderr}");
        let (ok, _, stderr) = run(&strs(&with(&["token", "revoke", "999999"])), None, &[]).await;
        assert!(!ok && stderr.contains("there is no token 999999"), "{stderr}");
        let gone = http.get(served.url("/rest/api/2/myself")).bearer_auth(&raw).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::UNAUTHORIZED);
        served.signal("TERM").await;
        assert!(served.wait(Duration::from_secs(30)).await);
        let log = served.output.lock().unwrap().clone();
        assert!(log.len() > 1000 && log.contains("token refused"), "the log was captured at trace level");
        for secret in [&raw, &second, &typo] {
            assert!(!log.contains(&secret[6..26]), "the log holds (part of) a token");
        }
        assert!(!log.contains("carol-password-1"), "the log holds a password");
        let basic = base64::engine::general_purpose::STANDARD.encode(format!("carol:{raw}"));
        assert!(!log.contains(&basic[..20]), "the log holds an Authorization header");
        let (ok, stdout, _) = run(&strs(&with(&["token", "list", "carol"])), None, &[]).await;
        assert!(ok && stdout.contains("revoked") && !stdout.contains("tspat_"), "{stdout}");
        let mut lines = stdout.lines();
        assert_eq!(lines.next(), Some("ID\tKIND\tSTATE\tCREATED\tEXPIRES\tLAST USED\tSCOPES\tNAME"));
        let cron = lines.find(|l| l.ends_with("\tcron")).expect("the cron token listed");
        assert!(cron.contains("\trevoked\t") && cron.contains("read:jira-work"), "{cron}");
        assert!(!cron.contains("\tnever\t"), "it was used: {cron}");
        let (ok, stdout, _) = run(&strs(&with(&["--json", "token", "list", "carol"])), None, &[]).await;
        let listed: Vec<Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert!(ok && listed.iter().any(|t| t["name"] == "cron" && t["lastUsed"].is_string() && t["revoked"].is_string()), "{stdout}");
    }

    async fn sigterm_lets_requests_finish_and_kill_9_loses_no_acknowledged_write(db) {
        let args = database_args(&db);
        let env = [CHEAP_HASHING[0], CHEAP_HASHING[1], ("TESSERA_ADMIN_PASSWORD", "durable-admin-1")];
        let workdir = tempfile::tempdir().unwrap();
        let served = Served::start(&strs(&args), &env, workdir.path()).await;
        let http = crate::common::http_client().build().unwrap();
        let created = http
            .post(served.url("/rest/api/2/project"))
            .basic_auth("admin", Some("durable-admin-1"))
            .json(&json!({"key": "DUR", "name": "Durable"}))
            .send()
            .await
            .unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);

        // Writers run until the server dies under them; every 201 is remembered.
        let acknowledged: Arc<Mutex<BTreeMap<String, String>>> = Arc::default();
        let mut writers = Vec::new();
        for writer in 0..8 {
            let http = http.clone();
            let url = served.url("/rest/api/2/issue");
            let acknowledged = acknowledged.clone();
            writers.push(tokio::spawn(async move {
                for n in 0.. {
                    let summary = format!("writer {writer} issue {n}");
                    let body = json!({"fields": {"project": {"key": "DUR"}, "issuetype": {"name": "Task"}, "summary": summary}});
                    let Ok(response) = http.post(&url).basic_auth("admin", Some("durable-admin-1")).json(&body).send().await else { return };
                    match response.status() {
                        StatusCode::CREATED => {
                            let Ok(created) = response.json::<Value>().await else { return };
                            acknowledged.lock().unwrap().insert(created["key"].as_str().unwrap().to_string(), summary);
                        }
                        other => panic!("a write failed with {other} before the kill"),
                    }
                }
            }));
        }
        while acknowledged.lock().unwrap().len() < 150 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        served.signal("KILL").await;
        for writer in writers {
            writer.await.unwrap();
        }
        let acknowledged = acknowledged.lock().unwrap().clone();

        let mut restarted = Served::start(&strs(&args), &env, workdir.path()).await;
        for (key, summary) in &acknowledged {
            let issue: Value = http
                .get(restarted.url(&format!("/rest/api/2/issue/{key}?fields=summary")))
                .basic_auth("admin", Some("durable-admin-1"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(issue["fields"]["summary"].as_str(), Some(summary.as_str()), "{key} was acknowledged");
        }

        // SIGTERM while a request is in flight: its headers are in, its body not yet. The
        // server stops accepting, lets it finish, answers it in full, and only then exits.
        let body = json!({"fields": {"project": {"key": "DUR"}, "issuetype": {"name": "Task"}, "summary": "in flight at SIGTERM"}}).to_string();
        let auth = base64::engine::general_purpose::STANDARD.encode("admin:durable-admin-1");
        let mut stream = tokio::net::TcpStream::connect(restarted.addr).await.unwrap();
        let head = format!(
            "POST /rest/api/2/issue HTTP/1.1\r\nHost: tessera\r\nAuthorization: Basic {auth}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            body.len()
        );
        stream.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        restarted.signal("TERM").await;
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(tokio::net::TcpStream::connect(restarted.addr).await.is_err(), "no new connections after SIGTERM");
        stream.write_all(body.as_bytes()).await.unwrap();
        let mut answer = String::new();
        stream.read_to_string(&mut answer).await.unwrap();
        assert!(answer.starts_with("HTTP/1.1 201"), "{answer}");
        let created: Value = serde_json::from_str(answer.split("\r\n\r\n").nth(1).unwrap()).unwrap();
        let key = created["key"].as_str().unwrap().to_string();
        assert!(restarted.wait(Duration::from_secs(40)).await, "a clean exit on SIGTERM");
        let last = Served::start(&strs(&args), &env, workdir.path()).await;
        let status = http.get(last.url(&format!("/rest/api/2/issue/{key}"))).basic_auth("admin", Some("durable-admin-1")).send().await.unwrap().status();
        assert_eq!(status, StatusCode::OK, "{key} was answered before shutdown, so it was kept");
    }

    async fn kill_9_loses_no_acknowledged_attachment(db) {
        let args = database_args(&db);
        let env = [CHEAP_HASHING[0], CHEAP_HASHING[1], ("TESSERA_ADMIN_PASSWORD", "durable-admin-1")];
        let workdir = tempfile::tempdir().unwrap();
        let served = Served::start(&strs(&args), &env, workdir.path()).await;
        let http = crate::common::http_client().build().unwrap();
        let admin = |request: reqwest::RequestBuilder| request.basic_auth("admin", Some("durable-admin-1"));
        let created = admin(http.post(served.url("/rest/api/2/project"))).json(&json!({"key": "ATT", "name": "Attached"})).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let body = json!({"fields": {"project": {"key": "ATT"}, "issuetype": {"name": "Task"}, "summary": "files"}});
        let issue = admin(http.post(served.url("/rest/api/2/issue"))).json(&body).send().await.unwrap();
        assert_eq!(issue.status(), StatusCode::CREATED);

        // Uploaders run until the server dies under them; every answered file is remembered.
        let acknowledged: Arc<Mutex<BTreeMap<String, Vec<u8>>>> = Arc::default();
        let mut uploaders = Vec::new();
        for uploader in 0..4u8 {
            let http = http.clone();
            let url = served.url("/rest/api/2/issue/ATT-1/attachments");
            let acknowledged = acknowledged.clone();
            uploaders.push(tokio::spawn(async move {
                for n in 0u32.. {
                    let content: Vec<u8> = format!("uploader {uploader} file {n} ").repeat(200).into_bytes();
                    let part = reqwest::multipart::Part::bytes(content.clone()).file_name(format!("f{uploader}-{n}.txt"));
                    let form = reqwest::multipart::Form::new().part("file", part);
                    let Ok(response) = http.post(&url).basic_auth("admin", Some("durable-admin-1")).header("X-Atlassian-Token", "no-check").multipart(form).send().await else { return };
                    match response.status() {
                        StatusCode::OK => {
                            let Ok(made) = response.json::<Value>().await else { return };
                            acknowledged.lock().unwrap().insert(made[0]["id"].as_str().unwrap().to_string(), content);
                        }
                        other => panic!("an upload failed with {other} before the kill"),
                    }
                }
            }));
        }
        while acknowledged.lock().unwrap().len() < 40 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        served.signal("KILL").await;
        for uploader in uploaders {
            uploader.await.unwrap();
        }
        let acknowledged = acknowledged.lock().unwrap().clone();
        let restarted = Served::start(&strs(&args), &env, workdir.path()).await;
        for (id, content) in &acknowledged {
            let response = admin(http.get(restarted.url(&format!("/secure/attachment/{id}/file.txt")))).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::OK, "attachment {id} was acknowledged");
            assert_eq!(response.bytes().await.unwrap().as_ref(), content.as_slice(), "attachment {id}");
        }
    }

    async fn oauth1_consumers_are_managed_offline(db) {
        let args = database_args(&db);
        let with = |extra: &[&str]| -> Vec<String> { args.iter().cloned().chain(extra.iter().map(|s| s.to_string())).collect() };
        let (ok, _, stderr) = run(&strs(&with(&["migrate"])), None, &[]).await;
        assert!(ok, "{stderr}");
        let pem = include_str!("../../../auth/src/oauth1/testdata/consumer.pub.pem");
        let small = include_str!("../../../auth/src/oauth1/testdata/small-1024.pub.pem");
        let add = with(&["--json", "oauth1", "add", "jira-cli", "--name", "Jira CLI", "--public-key", "-"]);
        let (ok, stdout, stderr) = run(&strs(&add), Some(pem), &[]).await;
        assert!(ok, "{stderr}");
        let made: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!((made["consumerKey"].as_str(), made["callback"].as_str()), (Some("jira-cli"), Some("oob")));
        // A short key, and the same consumer key again: refused, naming what is wrong.
        let (ok, _, stderr) = run(&strs(&with(&["oauth1", "add", "other", "--name", "O", "--public-key", "-"])), Some(small), &[]).await;
        assert!(!ok && stderr.contains("--public-key") && stderr.contains("2048"), "{stderr}");
        let (ok, stdout, _) = run(&strs(&add), Some(pem), &[]).await;
        let error: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert!(!ok && error["error"].as_str().unwrap().contains("exists already"), "{stdout}");
        let (ok, stdout, _) = run(&strs(&with(&["oauth1", "list"])), None, &[]).await;
        assert!(ok && stdout.contains("CONSUMER KEY") && stdout.contains("jira-cli") && stdout.contains("Jira CLI"), "{stdout}");
        let (ok, _, stderr) = run(&strs(&with(&["oauth1", "remove", "jira-cli"])), None, &[]).await;
        assert!(ok, "{stderr}");
        let (ok, _, stderr) = run(&strs(&with(&["oauth1", "remove", "jira-cli"])), None, &[]).await;
        assert!(!ok && stderr.contains("No OAuth 1.0a consumer"), "{stderr}");
        let (ok, stdout, _) = run(&strs(&with(&["oauth1", "list"])), None, &[]).await;
        assert!(ok && stdout.contains("no consumers"), "{stdout}");
    }

    async fn identity_providers_are_managed_offline(db) {
        let idp = crate::common::oidc::Provider::start().await;
        let args = database_args(&db);
        let with = |extra: &[&str]| -> Vec<String> { args.iter().cloned().chain(extra.iter().map(|s| s.to_string())).collect() };
        let (ok, _, stderr) = run(&strs(&with(&["migrate"])), None, &[]).await;
        assert!(ok, "{stderr}");
        let issuer = idp.issuer("cli");
        let add = with(&["--json", "identity", "add", "--name", "Keycloak", "--issuer", &issuer, "--audience", "tessera", "--map", "devs=jira-developers", "--groups-claim", "groups"]);
        let (ok, stdout, stderr) = run(&strs(&add), None, &[]).await;
        assert!(ok, "{stderr}");
        let made: Value = serde_json::from_str(stdout.trim()).unwrap();
        assert_eq!((made["name"].as_str(), made["issuer"].as_str()), (Some("Keycloak"), Some(issuer.as_str())));
        // Refusals name the flags: a bad claim, a mapping without its claim, discovery failing.
        let (ok, _, stderr) = run(&strs(&with(&["identity", "add", "--name", "X", "--issuer", &idp.issuer("x"), "--audience", "t", "--user-claim", "nick"])), None, &[]).await;
        assert!(!ok && stderr.contains("--user-claim"), "{stderr}");
        let (ok, _, stderr) = run(&strs(&with(&["identity", "add", "--name", "Y", "--issuer", "http://127.0.0.1:9/y", "--audience", "t"])), None, &[]).await;
        assert!(!ok && stderr.contains("--issuer") && stderr.contains("discovery failed"), "{stderr}");
        let (ok, stdout, _) = run(&strs(&with(&["identity", "list"])), None, &[]).await;
        assert!(ok && stdout.contains("ISSUER") && stdout.contains("Keycloak") && stdout.contains(&issuer), "{stdout}");
        let id = made["id"].to_string();
        let (ok, _, stderr) = run(&strs(&with(&["identity", "remove", &id])), None, &[]).await;
        assert!(ok, "{stderr}");
        let (ok, _, stderr) = run(&strs(&with(&["identity", "remove", &id])), None, &[]).await;
        assert!(!ok && stderr.contains("No identity provider"), "{stderr}");
        let (ok, stdout, _) = run(&strs(&with(&["identity", "list"])), None, &[]).await;
        assert!(ok && stdout.contains("no identity providers"), "{stdout}");
    }

}

/// `--log-format json`: one JSON object per log line; a line written while a request is
/// served carries the request's id (as its response does), and never the credential sent.
#[tokio::test]
async fn json_log_lines_carry_the_request_id() {
    let workdir = tempfile::tempdir().unwrap();
    let env = [
        CHEAP_HASHING[0],
        CHEAP_HASHING[1],
        ("TESSERA_ADMIN_PASSWORD", "from-the-environment"),
        ("RUST_LOG", "info"),
    ];
    let served = Served::start(&["--log-format", "json"], &env, workdir.path()).await;
    let response = crate::common::http_client()
        .build()
        .unwrap()
        .get(served.url("/rest/api/2/myself"))
        .basic_auth("admin", Some("not-the-password-x1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let id = response.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(printed(&served, "authentication failed").await);
    let output = served.output.lock().unwrap().clone();
    let line = output
        .lines()
        .find(|line| line.contains("authentication failed"))
        .unwrap();
    let entry: Value = serde_json::from_str(line).unwrap();
    assert_eq!(entry["span"]["request_id"], id.as_str(), "{line}");
    assert_eq!(entry["span"]["path"], "/rest/api/2/myself", "{line}");
    assert!(
        !output.contains("not-the-password-x1"),
        "no credential in the log"
    );
}
