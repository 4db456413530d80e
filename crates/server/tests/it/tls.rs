//! TLS served by tessera itself: HTTPS with HTTP/2 by ALPN, HSTS, `Secure` cookies, and the
//! certificate read again when its files change or on SIGHUP without dropping a connection.
//! Each test makes its own certificate authorities: a client trusts one of them only, so
//! which certificate a connection was made with shows in whether the handshake succeeds.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::common::process::{self, CHEAP_HASHING, Served, printed};
use crate::common::*;
use reqwest::{StatusCode, Version};
use serde_json::Value;
use tessera_testkit::TestDatabase;

/// A certificate authority of the test's own, and a leaf for `localhost` and 127.0.0.1 it signed.
struct Authority {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

impl Authority {
    fn new(name: &str) -> Self {
        use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        let ca = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        let key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
            .unwrap()
            .signed_by(&key, &ca)
            .unwrap();
        Self {
            ca_pem: ca.pem(),
            cert_pem: leaf.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// Writes the leaf and its key where the server reads them.
    fn install(&self, files: &Files) {
        std::fs::write(&files.cert, &self.cert_pem).unwrap();
        std::fs::write(&files.key, &self.key_pem).unwrap();
    }

    /// A client that trusts this authority alone.
    fn client(&self) -> reqwest::ClientBuilder {
        http_client()
            .tls_certs_only([reqwest::Certificate::from_pem(self.ca_pem.as_bytes()).unwrap()])
    }
}

struct Files {
    _dir: tempfile::TempDir,
    cert: PathBuf,
    key: PathBuf,
}

impl Files {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            cert: dir.path().join("cert.pem"),
            key: dir.path().join("key.pem"),
            _dir: dir,
        }
    }
}

async fn start_tls(
    files: &Files,
    configure: impl FnOnce(&mut tessera_server::Config),
) -> TestServer {
    let db = TestDatabase::sqlite();
    let mut config = test_config(&db);
    config.tls.cert = Some(files.cert.clone());
    config.tls.key = Some(files.key.clone());
    configure(&mut config);
    TestServer::start_with(db, config).await
}

fn https(server: &TestServer, path: &str) -> String {
    format!("https://127.0.0.1:{}{path}", server.addr.port())
}

#[tokio::test]
async fn tls_speaks_http2_and_http1_with_hsts_and_secure_cookies() {
    let files = Files::new();
    let authority = Authority::new("first");
    authority.install(&files);
    let server = start_tls(&files, |_| {}).await;
    let client = authority.client().build().unwrap();

    // HTTP/2 by ALPN; tessera names itself https; HSTS on every answer.
    let info = client
        .get(https(&server, "/rest/api/2/serverInfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    assert_eq!(info.version(), Version::HTTP_2);
    assert_eq!(
        info.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let body: Value = info.json().await.unwrap();
    assert!(
        body["baseUrl"]
            .as_str()
            .unwrap()
            .starts_with("https://127.0.0.1:"),
        "{body}"
    );
    let missing = client
        .get(https(&server, "/rest/api/2/nothing-here"))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert!(missing.headers().contains_key("strict-transport-security"));

    // HTTP/1.1 for a client that offers only it.
    let old = authority.client().http1_only().build().unwrap();
    let info = old
        .get(https(&server, "/rest/api/2/serverInfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(info.version(), Version::HTTP_11);
    assert_eq!(info.status(), StatusCode::OK);

    // A session made over TLS: its cookies are Secure.
    logs_in_with_secure_cookies(&client, &server).await;

    // Nothing is served in the clear on the TLS port, and a client that does not trust the
    // certificate gets no answer.
    let plain = http_client()
        .build()
        .unwrap()
        .get(server.url("/rest/api/2/serverInfo"))
        .send()
        .await;
    assert!(plain.is_err() || plain.unwrap().status() != StatusCode::OK);
    let stranger = Authority::new("stranger").client().build().unwrap();
    assert!(
        stranger
            .get(https(&server, "/rest/api/2/serverInfo"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn hsts_can_be_turned_off() {
    let files = Files::new();
    let authority = Authority::new("first");
    authority.install(&files);
    let server = start_tls(&files, |config| config.tls.hsts_max_age_seconds = 0).await;
    let info = authority
        .client()
        .build()
        .unwrap()
        .get(https(&server, "/rest/api/2/serverInfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(info.status(), StatusCode::OK);
    assert!(!info.headers().contains_key("strict-transport-security"));
}

/// Reads `/serverInfo` through `client` until it succeeds, for at most `within`.
async fn served_within(client: &reqwest::Client, url: &str, within: Duration) {
    let deadline = std::time::Instant::now() + within;
    loop {
        match client.get(url).send().await {
            Ok(response) if response.status() == StatusCode::OK => return,
            outcome => assert!(
                std::time::Instant::now() < deadline,
                "not served within {within:?}: {outcome:?}"
            ),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_changed_certificate_is_served_to_new_connections_without_dropping_open_ones() {
    let files = Files::new();
    let first = Authority::new("first");
    first.install(&files);
    let server = start_tls(&files, |config| config.tls.reload_check_seconds = 1).await;
    let url = https(&server, "/rest/api/2/serverInfo");
    // One HTTP/2 connection, kept open.
    let open = first.client().build().unwrap();
    assert_eq!(
        open.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );

    let second = Authority::new("second");
    second.install(&files);
    served_within(
        &second.client().build().unwrap(),
        &url,
        Duration::from_secs(5),
    )
    .await;
    // New connections get the new certificate only; the open one is still served.
    assert!(
        first
            .client()
            .build()
            .unwrap()
            .get(&url)
            .send()
            .await
            .is_err()
    );
    assert_eq!(
        open.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );

    // A broken file is not served: the certificate in use stays until the files are good.
    std::fs::write(
        &files.key,
        "-----BEGIN PRIVATE KEY-----\nbroken\n-----END PRIVATE KEY-----\n",
    )
    .unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let fresh = second.client().build().unwrap();
    assert_eq!(
        fresh.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    // A key of another certificate is not taken either.
    std::fs::write(&files.key, &first.key_pem).unwrap();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let fresh = second.client().build().unwrap();
    assert_eq!(
        fresh.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    first.install(&files);
    served_within(
        &first.client().build().unwrap(),
        &url,
        Duration::from_secs(5),
    )
    .await;
}

fn path_str(path: &Path) -> &str {
    path.to_str().unwrap()
}

#[tokio::test]
async fn the_binary_serves_tls_and_reads_its_certificate_again_on_sighup() {
    let files = Files::new();
    let first = Authority::new("first");
    first.install(&files);
    let work = tempfile::tempdir().unwrap();
    let served = Served::start(
        &[],
        &[
            ("TESSERA_TLS__CERT", path_str(&files.cert)),
            ("TESSERA_TLS__KEY", path_str(&files.key)),
            // Only SIGHUP reads the files again.
            ("TESSERA_TLS__RELOAD_CHECK_SECONDS", "0"),
            ("RUST_LOG", "info"),
            CHEAP_HASHING[0],
            CHEAP_HASHING[1],
        ],
        work.path(),
    )
    .await;
    let url = format!(
        "https://127.0.0.1:{}/rest/api/2/serverInfo",
        served.addr.port()
    );
    let open = first.client().build().unwrap();
    assert_eq!(
        open.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );

    let second = Authority::new("second");
    second.install(&files);
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(
        second
            .client()
            .build()
            .unwrap()
            .get(&url)
            .send()
            .await
            .is_err(),
        "without SIGHUP the files are not read again"
    );
    let status = std::process::Command::new("kill")
        .args(["-HUP", &served.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    served_within(
        &second.client().build().unwrap(),
        &url,
        Duration::from_secs(5),
    )
    .await;
    assert_eq!(
        open.get(&url).send().await.unwrap().status(),
        StatusCode::OK
    );
    assert!(printed(&served, "TLS certificate reloaded (SIGHUP)").await);
}

#[tokio::test]
async fn tls_settings_that_cannot_work_stop_the_start_with_a_reason() {
    let files = Files::new();
    let work = tempfile::tempdir().unwrap();
    let data = work.path().join("data").display().to_string();
    let (cert, key) = (path_str(&files.cert), path_str(&files.key));
    // `tessera serve` with `flags` and `env`: it must not start; what it said.
    let refused = |flags: Vec<String>, env: Vec<(&'static str, String)>| {
        let data = data.clone();
        async move {
            let mut args = vec![
                "--data-dir",
                data.as_str(),
                "serve",
                "--listen",
                "127.0.0.1:0",
            ];
            args.extend(flags.iter().map(String::as_str));
            let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let (ok, _, errors) = process::run(&args, None, &env).await;
            assert!(!ok, "it started: {errors}");
            errors
        }
    };
    let both = || {
        vec![
            ("TESSERA_TLS__CERT", cert.to_string()),
            ("TESSERA_TLS__KEY", key.to_string()),
        ]
    };

    let errors = refused(vec!["--tls-cert".into(), "cert.pem".into()], vec![]).await;
    assert!(errors.contains("--tls-key"), "{errors}");
    let errors = refused(vec![], both()).await;
    assert!(
        errors.contains("cannot read the TLS certificate") && errors.contains("cert.pem"),
        "{errors}"
    );
    std::fs::write(&files.cert, "not a certificate").unwrap();
    let flags = vec![
        "--tls-cert".into(),
        cert.to_string(),
        "--tls-key".into(),
        key.to_string(),
    ];
    let errors = refused(flags, vec![]).await;
    assert!(
        errors.contains("cert.pem") && errors.contains("no PEM CERTIFICATE section"),
        "{errors}"
    );
    let (first, second) = (Authority::new("first"), Authority::new("second"));
    std::fs::write(&files.cert, &first.cert_pem).unwrap();
    std::fs::write(&files.key, &second.key_pem).unwrap();
    let errors = refused(vec![], both()).await;
    assert!(errors.contains("cannot serve the certificate"), "{errors}");
    // One without the other, from the environment (or the file) too.
    let errors = refused(vec![], vec![("TESSERA_TLS__KEY", key.to_string())]).await;
    assert!(
        errors.contains("tls.key is set but tls.cert is not"),
        "{errors}"
    );
}

/// Cookies made over TLS are `Secure` even when the configured base URL says `http` (the
/// connection, not the configuration, decides).
#[tokio::test]
async fn cookies_over_tls_are_secure_whatever_the_base_url_says() {
    let files = Files::new();
    let authority = Authority::new("first");
    authority.install(&files);
    let server = start_tls(&files, |config| {
        config.base_url = Some("http://tessera.test".into());
    })
    .await;
    let client = authority.client().build().unwrap();
    logs_in_with_secure_cookies(&client, &server).await;
}

/// Logs in over TLS and checks every cookie the session answer sets is `Secure`.
async fn logs_in_with_secure_cookies(client: &reqwest::Client, server: &TestServer) {
    let login = client
        .post(https(server, "/rest/auth/1/session"))
        .json(&serde_json::json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::OK);
    let cookies: Vec<_> = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(!cookies.is_empty());
    assert!(
        cookies.iter().all(|c| c.contains("; Secure")),
        "{cookies:?}"
    );
}
