//! The suite's logs, kept to be searched for secrets: every in-process server logs (tessera's
//! own targets at debug, like an operator chasing a problem would set) into one file per test
//! process, every child `tessera` process's output is kept beside it, and the secrets the
//! helpers make or are handed (passwords, session ids, tokens) are noted in another file.
//! `tests/secrets_in_logs.rs`, run by `scripts/test` after the suite, fails if a log holds one.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, OnceLock};

use super::{ADMIN_PASSWORD, PASSWORD};

/// Where the suite's logs and secrets go (`target/tmp/suite-logs`).
pub fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("suite-logs")
}

static SECRETS: OnceLock<Mutex<File>> = OnceLock::new();

fn open(name: String) -> File {
    let dir = dir();
    std::fs::create_dir_all(&dir).unwrap();
    OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join(name))
        .unwrap()
}

/// Installs the log writer for this test process (once).
pub fn init() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(|| {
        let pid = std::process::id();
        let file = open(format!("it-{pid}.log"));
        let filter = std::env::var("TESSERA_TEST_LOG")
            .unwrap_or_else(|_| "tessera=debug,tower_http=debug,info".to_string());
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_writer(Mutex::new(file))
            .with_ansi(false)
            .try_init();
        for known in [ADMIN_PASSWORD, PASSWORD] {
            secret(known);
        }
    });
}

/// Notes a secret that no log may hold (one shorter than 12 characters, which tests make
/// only to see it refused, could match any text by chance and is left out).
pub fn secret(value: &str) {
    if value.chars().count() < 12 {
        return;
    }
    let file =
        SECRETS.get_or_init(|| Mutex::new(open(format!("secrets-{}.txt", std::process::id()))));
    let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
    let _ = writeln!(file, "{value}");
}

/// Keeps a child process's output with the suite's logs.
pub fn keep_process_output(output: &str) {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let mut file = open(format!("process-{}-{n}.log", std::process::id()));
    let _ = file.write_all(output.as_bytes());
}
