//! The real `tessera` binary as a child process, for what only a process can show: the
//! command line, signals, `kill -9`, memory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, Command};

pub const BINARY: &str = env!("CARGO_BIN_EXE_tessera");

/// Runs a command to completion; returns (exit success, stdout, stderr).
pub async fn run(
    args: &[&str],
    stdin: Option<&str>,
    env: &[(&str, &str)],
) -> (bool, String, String) {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
        .env_remove("TESSERA_ADMIN_PASSWORD")
        .env_remove("RUST_LOG");
    for (key, value) in env {
        command.env(key, value);
    }
    let mut child = command.spawn().unwrap();
    let mut input = child.stdin.take().unwrap();
    if let Some(text) = stdin {
        input.write_all(text.as_bytes()).await.unwrap();
    }
    drop(input);
    let output = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .unwrap()
        .unwrap();
    let errors = String::from_utf8_lossy(&output.stderr).into_owned();
    // Its log joins the suite's; a password it read from standard input is a secret.
    super::logs::keep_process_output(&errors);
    if args.contains(&"--password-stdin")
        && let Some(line) = stdin.and_then(|text| text.lines().next())
        && !line.is_empty()
    {
        super::logs::secret(line);
    }
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        errors,
    )
}

/// A running `tessera serve --json`.
pub struct Served {
    pub child: Child,
    pub addr: SocketAddr,
    /// JSON lines printed before `listening` (e.g. `admin-created`).
    pub events: Vec<Value>,
    /// Everything printed so far: standard output and the log on standard error.
    pub output: Arc<Mutex<String>>,
    /// The log alone (standard error; standard output shows a first password on purpose).
    log: Arc<Mutex<String>>,
}

impl Served {
    /// Starts `tessera serve` on a free port; `args` go before `serve` (global options).
    pub async fn start(global: &[&str], env: &[(&str, &str)], workdir: &Path) -> Self {
        Self::start_until(global, env, workdir, "listening").await
    }

    /// [`Served::start`], returning once the process prints `event` (`starting`: it listens,
    /// but its database is not ready yet).
    pub async fn start_until(
        global: &[&str],
        env: &[(&str, &str)],
        workdir: &Path,
        until: &str,
    ) -> Self {
        let mut command = Command::new(BINARY);
        command
            .args(global)
            .args(["--json", "serve", "--listen", "127.0.0.1:0"])
            .current_dir(workdir)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        command
            .env_remove("TESSERA_ADMIN_PASSWORD")
            .env("RUST_LOG", "warn");
        for (key, value) in env {
            command.env(key, value);
        }
        let mut child = command.spawn().unwrap();
        let output = Arc::new(Mutex::new(String::new()));
        let mut errors = BufReader::new(child.stderr.take().unwrap()).lines();
        let (printed, log) = (output.clone(), Arc::new(Mutex::new(String::new())));
        let kept = log.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = errors.next_line().await {
                for text in [&printed, &kept] {
                    let mut text = text.lock().unwrap();
                    text.push_str(&line);
                    text.push('\n');
                }
            }
        });
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let mut events = Vec::new();
        let addr = tokio::time::timeout(Duration::from_secs(60), async {
            while let Some(line) = lines.next_line().await.unwrap() {
                output.lock().unwrap().push_str(&line);
                let event: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                if event["event"] == until {
                    return event["address"]
                        .as_str()
                        .unwrap()
                        .parse::<SocketAddr>()
                        .unwrap();
                }
                events.push(event);
            }
            panic!("tessera exited before listening")
        })
        .await
        .expect("tessera started in time");
        // Keep draining stdout so the child never blocks on a full pipe.
        let printed = output.clone();
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                printed.lock().unwrap().push_str(&line);
            }
        });
        Self {
            child,
            addr,
            events,
            output,
            log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn pid(&self) -> i32 {
        self.child.id().unwrap() as i32
    }

    /// Sends a signal (`TERM`, `KILL`) with kill(1).
    pub async fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args([&format!("-{signal}"), &self.pid().to_string()])
            .status()
            .await
            .unwrap();
        assert!(status.success());
    }

    /// Waits for the process to exit; returns whether it exited successfully.
    pub async fn wait(&mut self, limit: Duration) -> bool {
        tokio::time::timeout(limit, self.child.wait())
            .await
            .expect("tessera exited in time")
            .unwrap()
            .success()
    }

    /// Peak resident memory so far (VmHWM), in KiB.
    pub fn peak_rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap();
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmHWM:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

/// Password hashing cheap enough for tests that start the binary.
pub const CHEAP_HASHING: [(&str, &str); 2] = [
    ("TESSERA_PASSWORDS__MEMORY_KIB", "64"),
    ("TESSERA_PASSWORDS__ITERATIONS", "1"),
];

/// Waits (up to 10 s) until the server's output holds `text`.
pub async fn printed(served: &Served, text: &str) -> bool {
    for _ in 0..200 {
        if served.output.lock().unwrap().contains(text) {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

impl Drop for Served {
    /// The process's output joins the suite's logs, searched for secrets after the suite.
    fn drop(&mut self) {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        super::logs::keep_process_output(&log);
        for event in &self.events {
            if let Some(password) = event["password"].as_str() {
                super::logs::secret(password);
            }
        }
    }
}
