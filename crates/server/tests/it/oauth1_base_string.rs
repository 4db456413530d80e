//! A property test of the OAuth 1.0a signature base string (RFC 5849 §3.4.1) against
//! oauthlib's, the library requests-oauthlib and the Python Jira client sign with: random
//! requests (method, scheme, host in any case, default and other ports, a path with encoded
//! characters, query and urlencoded-body parameters with any text, repeated names and empty
//! values, and `oauth_*` header parameters) are read the way tessera reads a request and
//! turned into base strings, and oauthlib's must be the same, byte for byte.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use serde_json::{Value, json};
use tessera_auth::RequestUrl;
use tessera_auth::oauth1::signature::{base_string, encode, form_params, header_params};

use crate::python_client::{python_with, run_script};

/// Requests generated per run (one Python process answers them all).
const CASES: usize = 400;

/// What a path segment keeps unencoded (RFC 3986 unreserved).
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

#[derive(Clone, Debug)]
struct Case {
    method: String,
    scheme: &'static str,
    host: String,
    port: u16,
    path: Vec<String>,
    query: Vec<(String, String)>,
    body: Vec<(String, String)>,
    oauth: Vec<(String, String)>,
}

/// Text of every kind a parameter may hold: ASCII with the characters that need encoding,
/// and beyond.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9]{0,8}",
        "[ -~]{0,12}",
        "[a-z&=+%/?#!*'()~ .-]{1,10}",
        any::<String>().prop_map(|s| s.chars().filter(|c| *c != '\0').take(8).collect()),
    ]
}

fn case() -> impl Strategy<Value = Case> {
    let method = prop_oneof![Just("GET"), Just("POST"), Just("put"), Just("DELETE")];
    let scheme = prop_oneof![Just("http"), Just("https")];
    let port = prop_oneof![Just(0u16), Just(80), Just(443), 1u16..];
    (
        (method, scheme, "[a-zA-Z][a-zA-Z0-9.-]{0,12}", port),
        vec(text(), 0..4),
        vec((text(), text()), 0..5),
        vec((text(), text()), 0..5),
        proptest::sample::subsequence(
            vec![
                "oauth_consumer_key",
                "oauth_token",
                "oauth_nonce",
                "oauth_timestamp",
                "oauth_body_hash",
                "oauth_signature",
            ],
            0..6,
        ),
        vec(text(), 6),
    )
        .prop_map(
            |((method, scheme, host, port), path, query, body, names, values)| {
                let port = match port {
                    0 => RequestUrl::default_port(scheme),
                    port => port,
                };
                let oauth = names
                    .into_iter()
                    .zip(values)
                    .map(|(name, value)| (name.to_string(), value))
                    .collect();
                Case {
                    method: method.to_string(),
                    scheme,
                    host,
                    port,
                    path,
                    query,
                    body,
                    oauth,
                }
            },
        )
}

fn urlencoded(pairs: &[(String, String)]) -> String {
    form_urlencoded::Serializer::new(String::new())
        .extend_pairs(pairs)
        .finish()
}

impl Case {
    fn path(&self) -> String {
        let segments: Vec<String> = self
            .path
            .iter()
            .map(|s| utf8_percent_encode(s, SEGMENT).to_string())
            .collect();
        format!("/{}", segments.join("/"))
    }

    fn query(&self) -> Option<String> {
        (!self.query.is_empty()).then(|| urlencoded(&self.query))
    }

    fn authorization(&self) -> String {
        let params: Vec<String> = std::iter::once("realm=\"Example\"".to_string())
            .chain(
                self.oauth
                    .iter()
                    .map(|(n, v)| format!("{}=\"{}\"", encode(n), encode(v))),
            )
            .collect();
        format!("OAuth {}", params.join(", "))
    }

    /// The request as sent: what oauthlib reads.
    fn sent(&self) -> Value {
        let mut uri = format!(
            "{}://{}:{}{}",
            self.scheme,
            self.host,
            self.port,
            self.path()
        );
        if let Some(query) = self.query() {
            uri = format!("{uri}?{query}");
        }
        json!({
            "method": self.method,
            "uri": uri,
            "body": urlencoded(&self.body),
            "authorization": self.authorization(),
        })
    }

    /// tessera's base string, the request read as the server reads it.
    fn ours(&self) -> String {
        let url = RequestUrl {
            scheme: self.scheme,
            host: self.host.to_ascii_lowercase(),
            port: self.port,
            path: self.path(),
            query: self.query(),
        };
        let header = header_params(self.authorization().trim_start_matches("OAuth "))
            .expect("tessera reads the header it was given");
        let params = header
            .into_iter()
            .chain(form_params(url.query.as_deref().unwrap_or("")))
            .chain(form_params(&urlencoded(&self.body)));
        base_string(&self.method, &url, params)
    }
}

#[tokio::test]
async fn the_signature_base_string_is_oauthlibs_on_random_requests() {
    let Some(python) = python_with("oauthlib") else {
        return;
    };
    let mut runner = TestRunner::deterministic();
    let strategy = case();
    let cases: Vec<Case> = (0..CASES)
        .map(|_| strategy.new_tree(&mut runner).unwrap().current())
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cases.json");
    let sent: Vec<Value> = cases.iter().map(Case::sent).collect();
    std::fs::write(&file, serde_json::to_vec(&sent).unwrap()).unwrap();
    let args = vec![file.display().to_string()];
    let (ok, stdout, stderr) = run_script(python, "oauth1_base_string.py", args).await;
    assert!(ok, "oauthlib failed:\n{stderr}");
    let theirs: Vec<Value> = serde_json::from_str(&stdout).unwrap();
    assert_eq!(theirs.len(), cases.len());
    let mismatches: Vec<String> = cases
        .iter()
        .zip(&theirs)
        .filter(|(case, theirs)| theirs.as_str() != Some(case.ours().as_str()))
        .take(3)
        .map(|(case, theirs)| format!("{case:?}\n  tessera: {}\n  oauthlib: {theirs}", case.ours()))
        .collect();
    assert!(
        mismatches.is_empty(),
        "base strings differ from oauthlib's:\n{}",
        mismatches.join("\n")
    );
}
