//! No secret in any log: searches the logs the whole suite wrote (`tests/it`, every in-process
//! server at debug, and every child `tessera` process; see `tests/it/common/logs.rs`) for the
//! secrets the suite noted (passwords, session ids, tokens) and for anything shaped like a
//! secret tessera mints (a known prefix, its length and a checksum that holds), whoever made
//! it. `scripts/test` runs it after the suite:
//!
//!     cargo test -p tessera-server --test secrets_in_logs -- --ignored

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use tessera_auth::token_format;
use tessera_core::secrets::SecretKind;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("suite-logs")
}

/// The files of the last run: the logs, and the noted secrets.
fn read() -> (Vec<(String, String)>, Vec<String>) {
    let mut logs = Vec::new();
    let mut secrets = Vec::new();
    let entries = std::fs::read_dir(dir()).expect("the suite's logs (run the suite first)");
    for entry in entries {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        if name.starts_with("secrets-") {
            secrets.extend(text.lines().filter(|l| !l.is_empty()).map(str::to_string));
        } else {
            logs.push((name, text));
        }
    }
    secrets.sort();
    secrets.dedup();
    (logs, secrets)
}

/// Every substring of `text` that is a secret tessera could have minted.
fn minted_secrets(text: &str) -> Vec<String> {
    let mut found = Vec::new();
    for kind in SecretKind::ALL {
        for (at, _) in text.match_indices(kind.prefix()) {
            let rest = &text[at + kind.prefix().len()..];
            let length = rest.bytes().take_while(u8::is_ascii_alphanumeric).count();
            let candidate = &text[at..at + kind.prefix().len() + length];
            if token_format::parse_prefixed(candidate, kind).is_ok() {
                found.push(candidate.to_string());
            }
        }
    }
    found
}

#[test]
fn the_shape_search_finds_a_minted_secret_in_a_line() {
    let raw = token_format::mint(SecretKind::PersonalToken);
    let line = format!(
        "2026-12-07 DEBUG tessera_web: Bearer {} was refused",
        raw.expose()
    );
    assert_eq!(minted_secrets(&line), vec![raw.expose().to_string()]);
    assert!(minted_secrets(&line.replace(&raw.expose()[10..12], "zz")).is_empty());
}

#[test]
#[ignore = "reads the logs of a whole suite run: scripts/test runs it after the suite"]
fn no_log_of_the_suite_holds_a_secret() {
    let (logs, secrets) = read();
    let lines: usize = logs.iter().map(|(_, text)| text.lines().count()).sum();
    // A run that wrote next to nothing would prove nothing.
    assert!(
        lines > 10_000,
        "only {lines} log lines: did the suite run with its logs?"
    );
    assert!(secrets.len() > 100, "only {} secrets noted", secrets.len());
    let noted = aho_corasick::AhoCorasick::new(&secrets).unwrap();
    let mut leaks = Vec::new();
    for (name, text) in &logs {
        for found in noted.find_iter(text.as_str()) {
            let line = text[..found.start()].lines().count() + 1;
            leaks.push(format!(
                "{name}:{line}: a noted secret ({} characters)",
                found.len()
            ));
        }
        for minted in minted_secrets(text) {
            leaks.push(format!("{name}: a minted secret ({}...)", &minted[..8]));
        }
    }
    assert!(
        leaks.is_empty(),
        "secrets in the logs:\n{}",
        leaks.join("\n")
    );
    eprintln!(
        "{} log files, {lines} lines, {} noted secrets: none found",
        logs.len(),
        secrets.len()
    );
}
