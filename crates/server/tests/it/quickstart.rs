//! The README's quick start, run as it is written: the block between `quickstart:begin` and
//! `quickstart:end` against the `tessera` binary, then the README's Python snippet with the
//! token it made. Two of its lines are the harness's: `cargo build` (the binary under test is
//! already built) and `tessera serve &` (started by the harness on a free port, in a fresh
//! directory, with the block's `TESSERA_ADMIN_PASSWORD`); `BASE` then names that port.

use std::path::PathBuf;

use crate::common::process::Served;
use tessera_testkit::is_ci;

const CHEAP_HASHING: [(&str, &str); 2] = [
    ("TESSERA_PASSWORDS__MEMORY_KIB", "64"),
    ("TESSERA_PASSWORDS__ITERATIONS", "1"),
];

fn readme() -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../README.md");
    std::fs::read_to_string(path).unwrap()
}

/// The lines of the quick start's shell block.
fn quick_start(readme: &str) -> Vec<String> {
    let begin = readme
        .find("<!-- quickstart:begin -->")
        .expect("the quick start's begin marker");
    let end = readme
        .find("<!-- quickstart:end -->")
        .expect("its end marker");
    let block = &readme[begin..end];
    let code = block
        .split("```sh\n")
        .nth(1)
        .expect("a sh block")
        .split("```")
        .next()
        .unwrap();
    code.lines().map(str::to_string).collect()
}

/// The README's Python snippet (the indented lines after "The same token works").
fn python_snippet(readme: &str) -> String {
    let at = readme
        .find("The same token works")
        .expect("the Python snippet");
    readme[at..]
        .lines()
        .skip_while(|line| !line.starts_with("    "))
        .take_while(|line| line.starts_with("    "))
        .map(|line| &line[4..])
        .collect::<Vec<_>>()
        .join("\n")
}

#[tokio::test]
async fn the_readme_quick_start_works_as_written() {
    let text = readme();
    let lines = quick_start(&text);
    assert_eq!(lines[0], "cargo build --release");
    let password = lines[1]
        .strip_prefix("export TESSERA_ADMIN_PASSWORD=")
        .expect("the password exported on the second line");
    assert_eq!(lines[2], "target/release/tessera serve &");
    assert_eq!(lines[3], "BASE=http://127.0.0.1:8080");

    let workdir = tempfile::tempdir().unwrap();
    let env = [
        CHEAP_HASHING[0],
        CHEAP_HASHING[1],
        ("TESSERA_ADMIN_PASSWORD", password),
    ];
    let mut served = Served::start(&[], &env, workdir.path()).await;
    let base = served.url("").trim_end_matches('/').to_string();
    let script = std::iter::once("set -euo pipefail".to_string())
        .chain([
            format!("export TESSERA_ADMIN_PASSWORD={password}"),
            format!("BASE={base}"),
        ])
        .chain(lines[4..].iter().cloned())
        .chain(["echo".to_string(), "echo \"TOKEN=$TOKEN\"".to_string()])
        .collect::<Vec<_>>()
        .join("\n");
    let output = tokio::process::Command::new("bash")
        .args(["-c", &script])
        .current_dir(workdir.path())
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).to_string();
    assert!(
        output.status.success(),
        "the quick start failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        stdout.contains(r#""key":"DEMO-1""#) && stdout.contains("First issue, edited with a token"),
        "{stdout}"
    );
    let token = stdout
        .lines()
        .find_map(|l| l.strip_prefix("TOKEN="))
        .unwrap()
        .to_string();
    assert!(token.starts_with("tspat_"));

    // The Python snippet, with the real client, where it is installed (always under CI).
    let python = std::env::var("TESSERA_TEST_PYTHON").unwrap_or_else(|_| "python3".into());
    let has_jira = std::process::Command::new(&python)
        .args(["-c", "import jira"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_jira {
        assert!(
            !is_ci(),
            "CI=true needs the Python jira client (scripts/test installs it)"
        );
        eprintln!("skipping the README's Python snippet: no jira client in {python}");
    } else {
        let snippet = python_snippet(&text).replace("http://127.0.0.1:8080", &base);
        let program = format!("import os\nTOKEN = os.environ['TOKEN']\n{snippet}\n");
        let output = tokio::process::Command::new(&python)
            .args(["-c", &program])
            .env("TOKEN", &token)
            .output()
            .await
            .unwrap();
        let printed = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && printed.trim() == "First issue, edited with a token",
            "{printed}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    served.signal("TERM").await;
    assert!(served.wait(std::time::Duration::from_secs(30)).await);
}
