//! Test servers: the real application on a listener bound to 127.0.0.1:0, on a database of
//! its own, with cheap password hashing so that tests stay fast (one test elsewhere runs the
//! real parameters). No test waits for a background writer by polling: [`TestServer::sync`]
//! writes what the audit, usage and leak-report writers hold.

use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};

use reqwest::{Method, RequestBuilder};
use tessera_server::{Config, prepare, serve};
use tessera_store::SqlStore;
use tessera_testkit::TestDatabase;
use tessera_web::AppState;
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
    /// The application's state, for [`TestServer::sync`] and for tests that look inside.
    pub state: AppState,
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

    /// A server listening at `listen` whose base URL is `http://{host}:{port}{context}` (such
    /// as `http://localhost:2990/jira`, the address of the Jira the Python client's suite
    /// expects), as a Jira behind a context path is.
    pub async fn start_under(db: TestDatabase, listen: &str, host: &str, context: &str) -> Self {
        let config = test_config(&db);
        let mut server = Self::start_at(config, listen, Some((host, context))).await;
        server.db = Some(db);
        server
    }

    /// A server on a database it does not own (several may share one).
    pub async fn start_shared(config: Config) -> Self {
        Self::start_at(config, "127.0.0.1:0", None).await
    }

    async fn start_at(mut config: Config, listen: &str, base: Option<(&str, &str)>) -> Self {
        crate::common::logs::init();
        let share = MACHINE.clone().read_owned().await;
        let listener = tokio::net::TcpListener::bind(listen)
            .await
            .unwrap_or_else(|e| panic!("cannot listen at {listen}: {e}"));
        let addr = listener.local_addr().unwrap();
        if let Some((host, context)) = base {
            config.base_url = Some(format!("http://{host}:{}{context}", addr.port()));
        }
        let prepared = prepare(&config, addr).await.expect("prepare server");
        let base = prepared.state.urls.base().to_string();
        let state = prepared.state.clone();
        let store = prepared.store.clone();
        let (shutdown, stopped) = oneshot::channel::<()>();
        let handle = tokio::spawn(async move {
            serve(listener, prepared, async move {
                let _ = stopped.await;
            })
            .await
            .expect("server ran");
        });
        let http = crate::common::http_client().build().unwrap();
        Self {
            base,
            addr,
            store,
            db: None,
            http,
            shutdown: Some(shutdown),
            handle: Some(handle),
            state,
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

    /// Writes what the background writers hold (leak reports, credential use, the audit
    /// trail, in that order: each may feed the next), so that a test reads it at once.
    pub async fn sync(&self) {
        self.state.reports.flush().await;
        self.state.auth.flush_usage().await.unwrap();
        self.state.auth.audit().flush().await;
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
    }
}
