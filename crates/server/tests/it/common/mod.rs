//! Test servers: the real application on a listener bound to 127.0.0.1:0, on a database of
//! its own, with cheap password hashing so that tests stay fast (one test elsewhere runs the
//! real parameters). Helpers speak HTTP with reqwest, like any client.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

pub mod process;

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::{Value, json};
use tessera_server::{Config, prepare, serve};
use tessera_store::SqlStore;
use tessera_testkit::TestDatabase;
use tokio::sync::{OwnedRwLockReadGuard, OwnedRwLockWriteGuard, RwLock, oneshot};
use tokio::task::JoinHandle;

pub const ADMIN_PASSWORD: &str = "admin-password-1";
pub const PASSWORD: &str = "user-password-1";

pub struct TestServer {
    pub base: String,
    pub addr: SocketAddr,
    pub store: Arc<SqlStore>,
    /// The database, when this server owns it (dropped with the server).
    pub db: Option<TestDatabase>,
    pub http: reqwest::Client,
    shutdown: Option<oneshot::Sender<()>>,
    handle: Option<JoinHandle<()>>,
    /// This server's share of the machine (see [`alone`]).
    _share: OwnedRwLockReadGuard<()>,
}

/// Every test server holds a share; a load test takes the whole machine with [`alone`].
static MACHINE: LazyLock<Arc<RwLock<()>>> = LazyLock::new(|| Arc::new(RwLock::new(())));

/// For a test that measures load (the password flood): waits until no test server runs, and
/// keeps new ones from starting until the guard is dropped. All the tests share one binary,
/// so without this a load test would run beside whatever else the test threads picked up.
/// It polls instead of queueing, so a test that starts a second server while holding a first
/// share never waits behind it.
pub async fn alone() -> OwnedRwLockWriteGuard<()> {
    loop {
        if let Ok(guard) = MACHINE.clone().try_write_owned() {
            return guard;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Test configuration: cheap Argon2, the database given.
pub fn test_config(db: &TestDatabase) -> Config {
    let mut config = Config {
        database_url: Some(db.url.clone().into()),
        admin_password: Some(ADMIN_PASSWORD.to_string().into()),
        ..Config::default()
    };
    config.passwords.memory_kib = 64;
    config.passwords.iterations = 1;
    config.passwords.workers = 2;
    config.database.max_connections = 4;
    // Tests make many failed logins on purpose (one test turns the throttle on).
    config.login_throttle.user_threshold = 1_000_000;
    config.login_throttle.ip_threshold = 1_000_000;
    config
}

impl TestServer {
    pub async fn start(db: TestDatabase) -> Self {
        let config = test_config(&db);
        Self::start_with(db, config).await
    }

    pub async fn start_with(db: TestDatabase, config: Config) -> Self {
        let mut server = Self::start_shared(config).await;
        server.db = Some(db);
        server
    }

    /// A server on a database it does not own (several may share one).
    pub async fn start_shared(config: Config) -> Self {
        let share = MACHINE.clone().read_owned().await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let prepared = prepare(&config, addr).await.expect("prepare server");
        let base = prepared.state.urls.base().to_string();
        let store = prepared.store.clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            serve(listener, prepared, async move {
                let _ = stopped.await;
            })
            .await
            .expect("server ran");
        });
        let http = reqwest::Client::builder().build().unwrap();
        Self {
            base,
            addr,
            store,
            db: None,
            http,
            shutdown: Some(shutdown),
            handle: Some(handle),
            _share: share,
        }
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        if let Some(handle) = self.handle.take() {
            handle.await.unwrap();
        }
    }

    /// An absolute URL for a path on this server (the root, not the base URL's context).
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn api(&self, path: &str) -> String {
        self.url(&format!("/rest/api/2/{path}"))
    }

    pub fn request(&self, method: Method, path: &str) -> RequestBuilder {
        self.http.request(method, self.url(path))
    }

    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path)
    }

    pub fn basic(&self, method: Method, path: &str, user: &str, password: &str) -> RequestBuilder {
        self.request(method, path).basic_auth(user, Some(password))
    }

    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.basic(method, path, "admin", ADMIN_PASSWORD)
    }

    pub fn user(&self, method: Method, path: &str, user: &str) -> RequestBuilder {
        self.basic(method, path, user, PASSWORD)
    }

    pub fn with_session(&self, method: Method, path: &str, session: &str) -> RequestBuilder {
        self.request(method, path)
            .header("cookie", format!("JSESSIONID={session}"))
    }

    pub fn bearer(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }

    /// Makes a personal access token for `user` (logged in with [`PASSWORD`], or the admin's
    /// password for `admin`) from `body`; returns the raw token.
    pub async fn create_token(&self, user: &str, body: Value) -> String {
        let password = if user == "admin" {
            ADMIN_PASSWORD
        } else {
            PASSWORD
        };
        let response = self
            .basic(Method::POST, "/rest/pat/latest/tokens", user, password)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let value = json_of(response).await;
        assert_eq!(status, StatusCode::CREATED, "{value}");
        value["rawToken"].as_str().unwrap().to_string()
    }

    /// Sends `body` as `admin` and asserts the status; returns the response body (if any).
    pub async fn admin_json(
        &self,
        method: Method,
        path: &str,
        body: Value,
        expected: StatusCode,
    ) -> Value {
        let response = self.admin(method, path).json(&body).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, expected, "{path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Creates a user with [`PASSWORD`] through the REST API; adds them to `groups` too.
    pub async fn create_user(&self, name: &str, groups: &[&str]) {
        let user = json!({"name": name, "password": PASSWORD, "emailAddress": format!("{name}@example.com"), "displayName": format!("{name} Example")});
        self.admin_json(Method::POST, "/rest/api/2/user", user, StatusCode::CREATED)
            .await;
        for group in groups {
            let path = format!("/rest/api/2/group/user?groupname={group}");
            self.admin_json(
                Method::POST,
                &path,
                json!({"name": name}),
                StatusCode::CREATED,
            )
            .await;
        }
    }

    /// Creates a project led by `admin`.
    pub async fn create_project(&self, key: &str) -> Value {
        let project =
            json!({"key": key, "name": format!("Project {key}"), "projectTypeKey": "software"});
        self.admin_json(
            Method::POST,
            "/rest/api/2/project",
            project,
            StatusCode::CREATED,
        )
        .await
    }

    /// Puts `user` into a project role (10000 Users, 10001 Developers, 10002 Administrators).
    pub async fn add_to_role(&self, key: &str, role: i64, user: &str) {
        let path = format!("/rest/api/2/project/{key}/role/{role}");
        self.admin_json(Method::POST, &path, json!({"user": [user]}), StatusCode::OK)
            .await;
    }

    /// Creates an issue as `admin`; returns its key.
    pub async fn create_issue(&self, project: &str, summary: &str) -> String {
        let body = json!({"fields": {"project": {"key": project}, "issuetype": {"name": "Task"}, "summary": summary}});
        let created = self
            .admin_json(Method::POST, "/rest/api/2/issue", body, StatusCode::CREATED)
            .await;
        created["key"].as_str().unwrap().to_string()
    }

    /// Logs in with the session endpoint; returns the session id.
    /// Re-enters the password for a session, so that it may make administrative changes.
    pub async fn websudo(&self, session: &str, password: &str) {
        let response = self
            .with_session(Method::POST, "/rest/auth/1/websudo", session)
            .json(&json!({"password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// An administrator's session with websudo.
    pub async fn admin_session(&self) -> String {
        let session = self.login("admin", ADMIN_PASSWORD).await;
        self.websudo(&session, ADMIN_PASSWORD).await;
        session
    }

    pub async fn login(&self, user: &str, password: &str) -> String {
        let response = self
            .request(Method::POST, "/rest/auth/1/session")
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
        let body: Value = response.json().await.unwrap();
        body["session"]["value"].as_str().unwrap().to_string()
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}

/// Events of the audit trail matching `query` (read with the requests `request` makes), once
/// at least `at_least` of them are written (the writer works in the background).
pub async fn audit_by(
    request: impl Fn(&str) -> RequestBuilder,
    query: &str,
    at_least: usize,
) -> Vec<Value> {
    for _ in 0..200 {
        let response = request(&format!("/rest/tessera/1/audit?{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let page: Value = response.json().await.unwrap();
        let values = page["values"].as_array().unwrap().clone();
        if values.len() >= at_least {
            return values;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    panic!("fewer than {at_least} audit events for {query}");
}

impl TestServer {
    /// [`audit_by`] as the administrator with Basic.
    pub async fn audit(&self, query: &str, at_least: usize) -> Vec<Value> {
        audit_by(|path| self.admin(Method::GET, path), query, at_least).await
    }
}

/// Reads a response as JSON, asserting Jira's content type.
pub async fn json_of(response: Response) -> Value {
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string());
    assert_eq!(
        content_type.as_deref(),
        Some("application/json;charset=UTF-8")
    );
    response.json().await.unwrap()
}

/// Asserts a status and Jira's error shape; returns the body.
pub async fn expect_error(response: Response, status: StatusCode) -> Value {
    assert_eq!(response.status(), status, "{:?}", response.headers());
    let body = json_of(response).await;
    assert!(
        body["errorMessages"].is_array() && body["errors"].is_object(),
        "not Jira's error shape: {body}"
    );
    body
}
