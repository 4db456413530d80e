//! A flood of Basic requests with wrong passwords, against the real binary with OWASP's
//! Argon2 parameters: other requests keep being served, and the server's memory stays small
//! (an unbounded Argon2 server was measured here at 8.5 GiB under such a flood).

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::common::process::Served;
use reqwest::StatusCode;
use serde_json::{Value, json};

const FLOOD: Duration = Duration::from_secs(8);
const ATTACKERS: usize = 128;
/// Resident memory the server must stay under, in KiB.
const MEMORY_LIMIT_KIB: u64 = 150 * 1024;
/// A request that takes longer than this during the flood counts as starved.
const STARVED: Duration = Duration::from_secs(3);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_password_flood_neither_starves_others_nor_grows_memory() {
    let _alone = crate::common::alone().await;
    let workdir = tempfile::tempdir().unwrap();
    let served = Served::start(
        &[],
        &[
            ("TESSERA_ADMIN_PASSWORD", "flood-admin-1"),
            // Password-guessing protection would stop this flood after a few guesses (see
            // the throttle tests); lifted here, so that every guess reaches Argon2.
            ("TESSERA_LOGIN_THROTTLE__USER_THRESHOLD", "1000000000"),
            ("TESSERA_LOGIN_THROTTLE__IP_THRESHOLD", "1000000000"),
        ],
        workdir.path(),
    )
    .await;
    let http = crate::common::http_client()
        .pool_max_idle_per_host(256)
        .build()
        .unwrap();
    let login: Value = http
        .post(served.url("/rest/auth/1/session"))
        .json(&json!({"username": "admin", "password": "flood-admin-1"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let session = login["session"]["value"].as_str().unwrap().to_string();
    let before_kib = served.peak_rss_kib();

    let rejected = Arc::new(AtomicU64::new(0));
    let busy = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let mut attackers = Vec::new();
    for n in 0..ATTACKERS {
        let (http, url, rejected, busy) = (
            http.clone(),
            served.url("/rest/api/2/myself"),
            rejected.clone(),
            busy.clone(),
        );
        attackers.push(tokio::spawn(async move {
            let user = if n % 2 == 0 { "admin" } else { "no-such-user" };
            while start.elapsed() < FLOOD {
                let Ok(response) = http
                    .get(&url)
                    .basic_auth(user, Some(format!("guess-{n}")))
                    .send()
                    .await
                else {
                    continue;
                };
                match response.status() {
                    StatusCode::UNAUTHORIZED => rejected.fetch_add(1, Ordering::Relaxed),
                    StatusCode::SERVICE_UNAVAILABLE => {
                        assert!(response.headers().contains_key("retry-after"));
                        busy.fetch_add(1, Ordering::Relaxed)
                    }
                    other => panic!("unexpected {other}"),
                };
            }
        }));
    }

    // Meanwhile, a session user and an anonymous client keep working.
    let mut slowest = Duration::ZERO;
    let mut served_ok = 0;
    while start.elapsed() < FLOOD {
        for request in [
            http.get(served.url("/rest/api/2/myself"))
                .header("cookie", format!("JSESSIONID={session}")),
            http.get(served.url("/rest/api/2/serverInfo")),
        ] {
            let sent = Instant::now();
            let status = request.send().await.unwrap().status();
            slowest = slowest.max(sent.elapsed());
            assert_eq!(status, StatusCode::OK);
            served_ok += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    for attacker in attackers {
        attacker.await.unwrap();
    }
    let peak_kib = served.peak_rss_kib();
    let (rejected, busy) = (
        rejected.load(Ordering::Relaxed),
        busy.load(Ordering::Relaxed),
    );
    eprintln!(
        "flood: {rejected} verified and refused, {busy} refused as busy; {served_ok} other requests, \
         slowest {slowest:?}; peak RSS {} MiB (before: {} MiB)",
        peak_kib / 1024,
        before_kib / 1024
    );
    assert!(rejected > 50, "the flood reached Argon2: {rejected}");
    assert!(busy > 0, "the bounded queue refused the excess");
    assert!(
        slowest < STARVED,
        "other requests were starved: {slowest:?}"
    );
    assert!(peak_kib < MEMORY_LIMIT_KIB, "peak RSS {peak_kib} KiB");
}
