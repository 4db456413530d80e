//! The tessera server: configuration, wiring and the offline administration commands.
//!
//! [`serve`] runs a server on a listener until a shutdown future resolves; tests call it on a
//! listener bound to port 0, the binary on the configured address with SIGTERM/SIGINT as the
//! shutdown signal. Shutdown lets requests in flight finish (for at most
//! [`tessera_web::routes::SHUTDOWN_GRACE`]), then closes the database cleanly.

pub mod config;
pub mod tls;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use secrecy::{ExposeSecret, SecretString};
use tessera_auth::external::ExternalIdentity;
use tessera_auth::leaks::LeakReports;
use tessera_auth::oauth1::OAuth1Server;
use tessera_auth::oauth2::OAuth2Server;
use tessera_auth::secret::random_token;
use tessera_auth::{AuthError, Authenticator};
use tessera_core::authz::Administer;
use tessera_core::clock::{Clock, SystemClock};
use tessera_core::services::users::{self, UserInput};
use tessera_core::store::Store;
use tessera_core::validate;
use tessera_store::{ConnectError, PoolOptions, SqlStore};
use tessera_web::{AppState, AuthServers, Urls, WebSettings};
use tokio::net::TcpListener;

pub use config::{Config, Overrides};

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error("cannot create the data directory {0}: {1}")]
    DataDir(String, std::io::Error),
    #[error(transparent)]
    Database(#[from] ConnectError),
    #[error("invalid base URL '{0}': use http(s)://host[:port][/context]")]
    BaseUrl(String),
    #[error("TESSERA_ADMIN_PASSWORD: {0}")]
    AdminPassword(String),
    #[error("cannot start authentication: {0}")]
    Auth(#[from] AuthError),
    #[error("{0}")]
    Domain(#[from] tessera_core::Error),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("the server failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Opens the configured database, creating the data directory for SQLite, and applies
/// migrations.
pub async fn open_store(config: &Config) -> Result<SqlStore, ServerError> {
    let url = config.database_url();
    if url.starts_with("sqlite:") && config.database_url.is_none() {
        create_private_dir(&config.data_dir)
            .map_err(|e| ServerError::DataDir(config.data_dir.display().to_string(), e))?;
    }
    let options = PoolOptions {
        max_connections: config.database.max_connections,
        ..PoolOptions::default()
    };
    Ok(SqlStore::open(&url, options).await?)
}

/// Creates a directory readable only by its owner (it holds the database).
fn create_private_dir(path: &std::path::Path) -> std::io::Result<()> {
    std::fs::create_dir_all(path)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

/// What happened at the first start.
#[derive(PartialEq, Eq)]
pub enum Bootstrap {
    /// Users exist: nothing done. Says whether a given administrator password went unused,
    /// and whether no active user is an administrator (`jira-administrators`).
    AlreadyDone {
        password_ignored: bool,
        no_administrator: bool,
    },
    /// `admin` was created with the password from the environment.
    CreatedWithGivenPassword,
    /// `admin` was created with this random password, to be shown once.
    CreatedWithRandomPassword(String),
}

impl std::fmt::Debug for Bootstrap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::AlreadyDone { .. } => "AlreadyDone",
            Self::CreatedWithGivenPassword => "CreatedWithGivenPassword",
            // The password is shown once, on the console, and nowhere else.
            Self::CreatedWithRandomPassword(_) => "CreatedWithRandomPassword(<redacted>)",
        })
    }
}

/// On the first start (no users at all), creates the administrator `admin` in
/// `jira-administrators` and `jira-users`, with `password` or a random one.
pub async fn bootstrap_admin(
    store: &dyn Store,
    clock: &dyn Clock,
    auth: &Authenticator,
    password: Option<&SecretString>,
) -> Result<Bootstrap, ServerError> {
    if store
        .count_users()
        .await
        .map_err(tessera_core::Error::from)?
        > 0
    {
        let first = tessera_core::model::PageRequest {
            start_at: 0,
            limit: 1,
        };
        let administrators = store
            .group_members(tessera_core::model::ADMINISTRATORS_GROUP, false, first)
            .await
            .map_err(tessera_core::Error::from)?;
        return Ok(Bootstrap::AlreadyDone {
            password_ignored: password.is_some(),
            no_administrator: administrators.total == 0,
        });
    }
    let (secret, generated) = match password {
        Some(given) => {
            validate::new_password(given.expose_secret()).map_err(ServerError::AdminPassword)?;
            (given.clone(), None)
        }
        None => {
            let random = random_token();
            (SecretString::from(random.clone()), Some(random))
        }
    };
    let input = UserInput {
        name: "admin".into(),
        display_name: Some("Administrator".into()),
        email: None,
        password_hash: Some(auth.hash_password(&secret).await?),
        admin: true,
    };
    match users::create_user(
        store,
        &Administer::trusted_offline_cli(),
        input,
        clock.now(),
    )
    .await
    {
        Ok(_) => Ok(match generated {
            Some(password) => Bootstrap::CreatedWithRandomPassword(password),
            None => Bootstrap::CreatedWithGivenPassword,
        }),
        // Another instance sharing the database created it first.
        Err(tessera_core::Error::Conflict(_)) => Ok(Bootstrap::AlreadyDone {
            password_ignored: true,
            no_administrator: false,
        }),
        Err(other) => Err(other.into()),
    }
}

/// The base URL: configured, or derived from the address actually bound.
pub fn base_url(config: &Config, bound: SocketAddr) -> Result<Urls, ServerError> {
    let scheme = if config.tls.cert.is_some() {
        "https"
    } else {
        "http"
    };
    let (text, configured) = match &config.base_url {
        Some(url) => (url.clone(), true),
        None if bound.ip().is_unspecified() => {
            (format!("{scheme}://127.0.0.1:{}", bound.port()), false)
        }
        None => (format!("{scheme}://{bound}"), false),
    };
    match Urls::parse(&text) {
        Some(urls) if configured => Ok(urls.configured()),
        Some(urls) => Ok(urls),
        None => Err(ServerError::BaseUrl(text)),
    }
}

/// What to warn about when tessera serves plain HTTP where the network can read it: on an
/// address other than loopback, with no TLS and no trusted proxy (which would be terminating
/// TLS in front of it).
pub fn plain_http_warning(config: &Config, bound: SocketAddr) -> Option<String> {
    let exposed =
        config.tls.cert.is_none() && config.trusted_proxies.is_empty() && !bound.ip().is_loopback();
    exposed.then(|| {
        format!(
            "serving plain HTTP on {bound}, an address other machines reach, with no TLS and \
             no trusted proxy: passwords, tokens and session cookies cross the network \
             readable. Serve TLS (--tls-cert and --tls-key), or put tessera behind a proxy \
             that terminates TLS and list it in trusted_proxies."
        )
    })
}

/// A running server's parts, made before it starts to accept connections.
#[derive(Debug)]
pub struct Prepared {
    pub state: AppState,
    pub store: Arc<SqlStore>,
    pub bootstrap: Bootstrap,
    pub transport: Transport,
    /// How often coalesced credential use is written.
    pub usage_flush: Duration,
    pub retention: Retention,
    /// Processes leaked-token reports; finishes the queue once the application is dropped.
    pub report_worker: tokio::task::JoinHandle<()>,
}

/// Leaked-token reports that may wait; more are refused with 503.
const LEAK_REPORT_QUEUE: usize = 64;

/// Opens the store, bootstraps the administrator and builds the application state.
pub async fn prepare(config: &Config, bound: SocketAddr) -> Result<Prepared, ServerError> {
    let urls = base_url(config, bound)?;
    let tls = config
        .tls_files()?
        .map(tls::Certificates::load)
        .transpose()?;
    let hsts = (tls.is_some() && config.tls.hsts_max_age_seconds > 0)
        .then(|| format!("max-age={}", config.tls.hsts_max_age_seconds))
        .and_then(|value| http::HeaderValue::from_str(&value).ok());
    let store = Arc::new(open_store(config).await?);
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let dyn_store: Arc<dyn Store> = store.clone();
    let auth =
        Arc::new(Authenticator::new(dyn_store.clone(), clock.clone(), config.auth()?).await?);
    let bootstrap =
        bootstrap_admin(&*dyn_store, &*clock, &auth, config.admin_password.as_ref()).await?;
    let settings = WebSettings {
        trusted_proxies: config.trusted_proxies.clone(),
        max_body_bytes: config.max_body_bytes,
        max_attachment_bytes: config.max_attachment_bytes,
        response_cache_bytes: config.response_cache_bytes,
        metrics: tessera_web::metrics::MetricsAccess {
            token: config
                .metrics
                .token
                .clone()
                .filter(|t| !secrecy::ExposeSecret::expose_secret(t).is_empty()),
            loopback: config.metrics.loopback,
        },
        ..WebSettings::default()
    };
    let (reports, report_worker) = LeakReports::start(dyn_store.clone(), LEAK_REPORT_QUEUE);
    let servers = AuthServers {
        oauth2: Arc::new(OAuth2Server::new(
            dyn_store.clone(),
            clock.clone(),
            auth.shared_audit(),
            config.oauth2_server(),
        )),
        oauth1: Arc::new(OAuth1Server::new(
            dyn_store.clone(),
            clock.clone(),
            auth.shared_audit(),
            config.oauth1_server(),
        )),
        external: Arc::new(
            ExternalIdentity::new(
                dyn_store.clone(),
                clock.clone(),
                auth.shared_audit(),
                config.external()?,
            )
            .await
            .map_err(|e| ServerError::Auth(e.into()))?,
        ),
        authenticator: auth,
    };
    let state = AppState::new(dyn_store, servers, clock, urls, settings, reports);
    let transport = Transport {
        header_read_timeout: Duration::from_secs(config.header_read_timeout_seconds.max(1)),
        body_read_timeout: Duration::from_secs(config.body_read_timeout_seconds.max(1)),
        max_connections: connection_limit(config.max_connections),
        max_connections_per_address: config.max_connections_per_address.max(1),
        trusted_proxies: config.trusted_proxies.clone(),
        tls_config: tls
            .as_ref()
            .map(tls::Certificates::server_config)
            .transpose()?,
        tls,
        hsts,
        tls_check: (config.tls.reload_check_seconds > 0)
            .then(|| Duration::from_secs(config.tls.reload_check_seconds)),
    };
    Ok(Prepared {
        state,
        store,
        bootstrap,
        transport,
        usage_flush: Duration::from_secs(config.tokens.usage_flush_seconds.max(1)),
        retention: Retention {
            audit: days(config.retention.audit_days),
            usage: days(config.retention.usage_days),
            login_failures: Duration::from_secs(config.login_throttle.window_minutes.max(1) * 60),
        },
        report_worker,
    })
}

fn days(days: u32) -> Option<Duration> {
    (days > 0).then(|| Duration::from_secs(u64::from(days) * 24 * 60 * 60))
}

/// How long records are kept; `None` for ever.
#[derive(Clone, Copy, Debug)]
pub struct Retention {
    pub audit: Option<Duration>,
    pub usage: Option<Duration>,
    /// Failed-login counts are forgotten once their window and wait are over.
    pub login_failures: Duration,
}

/// Limits of the transport layer.
#[derive(Clone, Debug)]
pub struct Transport {
    /// How long a client may take to send a request's headers (slow-header attacks hold a
    /// connection open without ever finishing a request).
    pub header_read_timeout: Duration,
    /// How long a client may take to send a request's body, first byte to last (a body
    /// trickled one byte at a time would otherwise hold its connection for ever).
    pub body_read_timeout: Duration,
    /// Connections served at once; further clients wait in the kernel's accept queue.
    pub max_connections: usize,
    /// Connections one address may hold at once; more are closed when accepted.
    pub max_connections_per_address: usize,
    /// Peers not held to `max_connections_per_address` (every client of theirs shares it).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The certificate TLS is served with; `None` for plain HTTP.
    pub tls: Option<Arc<tls::Certificates>>,
    /// The TLS settings connections are made with (with `tls`).
    pub tls_config: Option<Arc<rustls::ServerConfig>>,
    /// `Strict-Transport-Security` on every TLS response.
    pub hsts: Option<http::HeaderValue>,
    /// How often the certificate's files are looked at for a change; `None` for never.
    pub tls_check: Option<Duration>,
}

/// The connections each client address holds open.
#[derive(Debug, Default)]
struct OpenConnections(std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, usize>>);

/// One open connection of an address, counted until dropped.
#[derive(Debug)]
struct Counted {
    open: Arc<OpenConnections>,
    ip: std::net::IpAddr,
}

impl OpenConnections {
    /// Counts a new connection from `ip`, unless it holds `limit` already.
    fn admit(self: &Arc<Self>, ip: std::net::IpAddr, limit: usize) -> Option<Counted> {
        let mut open = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let count = open.entry(ip).or_insert(0);
        if *count >= limit {
            return None;
        }
        *count += 1;
        Some(Counted {
            open: self.clone(),
            ip,
        })
    }
}

impl Drop for Counted {
    fn drop(&mut self) {
        let mut open = self.open.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(count) = open.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.ip);
            }
        }
    }
}

/// File descriptors kept for everything but client connections (database, log, listener).
const RESERVED_FILES: u64 = 256;

/// Raises the open-file limit to its hard maximum and caps the connection limit below it, so
/// that a connection flood cannot take the descriptors the database needs.
fn connection_limit(configured: usize) -> usize {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(files) => {
            let usable =
                usize::try_from(files.saturating_sub(RESERVED_FILES)).unwrap_or(usize::MAX);
            if usable < configured {
                tracing::warn!(
                    configured,
                    usable,
                    "the open-file limit caps the connections served at once"
                );
            }
            configured.min(usable).max(1)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot read the open-file limit");
            configured.max(1)
        }
    }
}

/// Serves until `shutdown` resolves, then finishes requests in flight and closes the store.
pub async fn serve(
    listener: TcpListener,
    prepared: Prepared,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let Prepared {
        state,
        store,
        transport,
        usage_flush,
        retention,
        report_worker,
        ..
    } = prepared;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let housekeeping = tokio::spawn(housekeeping(state.clone(), retention, stop_rx.clone()));
    let auth = state.auth.clone();
    if let (Some(certificates), Some(every)) = (transport.tls.clone(), transport.tls_check) {
        tokio::spawn(tls::watch(certificates, every, stop_rx.clone()));
    }
    let flush = tokio::spawn(flush_usage(auth.clone(), usage_flush, stop_rx));
    // From the signal on, `GET /status` says STOPPING on connections still open.
    let health = state.health.clone();
    let shutdown = async move {
        shutdown.await;
        health.stopping();
    };
    let app = tessera_web::app(state);
    accept_loop(listener, app, transport, shutdown).await;
    let _ = stop_tx.send(true);
    housekeeping.abort();
    let _ = flush.await;
    // Reports already answered 202 are processed before the database closes.
    if tokio::time::timeout(Duration::from_secs(5), report_worker)
        .await
        .is_err()
    {
        tracing::warn!("leaked-token reports still queued at exit were abandoned");
    }
    // The last uses noted before shutdown are written before the database closes; their
    // new-address events go to the audit log, which is finished next.
    if let Err(error) = auth.flush_usage().await {
        tracing::warn!(%error, "could not record the last credential uses");
    }
    // Audit events queued before shutdown are written before the database closes.
    if tokio::time::timeout(Duration::from_secs(10), auth.audit().finish())
        .await
        .is_err()
    {
        tracing::warn!("audit events still queued at exit were abandoned");
    }
    // Requests cut off after the grace period may still hold connections; closing waits for
    // them, so it is bounded too. What they had not committed is rolled back by the database.
    if tokio::time::timeout(Duration::from_secs(5), store.close())
        .await
        .is_err()
    {
        tracing::warn!("database connections still busy at exit were abandoned");
    }
    tracing::info!("stopped");
    Ok(())
}

/// Accepts connections until `shutdown`, then lets requests in flight finish for at most the
/// grace period. axum's own `serve` sets no header-read timeout and no connection limit; this
/// loop sets both. Plain connections speak HTTP/1.1; TLS ones HTTP/2 or HTTP/1.1, as ALPN
/// chose, after a handshake that must finish within the header-read timeout.
async fn accept_loop(
    listener: TcpListener,
    app: axum::Router,
    transport: Transport,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    use hyper_util::server::graceful::GracefulShutdown;

    let acceptor = transport
        .tls_config
        .clone()
        .map(tokio_rustls::TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let permits = Arc::new(tokio::sync::Semaphore::new(transport.max_connections));
    let open = Arc::new(OpenConnections::default());
    let protocols = Arc::new(Protocols::new(&transport));
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Typically out of file descriptors: back off instead of spinning.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let ip = tessera_core::tokens::canonical_ip(peer.ip());
        let counted = if transport
            .trusted_proxies
            .iter()
            .any(|net| net.contains(&ip))
        {
            None
        } else {
            // Counted per network as the rate limits are: an IPv6 client holds a whole /64.
            let network = tessera_web::rate_limit::network_of(ip);
            match open.admit(network, transport.max_connections_per_address) {
                Some(counted) => Some(counted),
                None => {
                    tracing::info!(target: "tessera::security", client_ip = %ip, "connection refused: the address holds too many");
                    drop(stream);
                    continue;
                }
            }
        };
        let _ = stream.set_nodelay(true);
        let app = app.clone();
        let protocols = protocols.clone();
        let watcher = graceful.watcher();
        let acceptor = acceptor.clone();
        tokio::spawn(async move {
            let served = match acceptor {
                None => {
                    let service = protocols.service(app, peer, false);
                    let connection = protocols
                        .http1
                        .serve_connection(TokioIo::new(stream), service);
                    watcher.watch(connection).await
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(protocols.handshake_timeout, acceptor.accept(stream));
                    let stream = match handshake.await {
                        Ok(Ok(stream)) => stream,
                        Ok(Err(error)) => {
                            tracing::debug!(%error, %peer, "TLS handshake failed");
                            return;
                        }
                        Err(_) => {
                            tracing::debug!(%peer, "TLS handshake timed out");
                            return;
                        }
                    };
                    let h2 = stream.get_ref().1.alpn_protocol() == Some(b"h2");
                    let service = protocols.service(app, peer, true);
                    if h2 {
                        let connection = protocols
                            .http2
                            .serve_connection(TokioIo::new(stream), service);
                        watcher.watch(connection).await
                    } else {
                        let connection = protocols
                            .http1
                            .serve_connection(TokioIo::new(stream), service);
                        watcher.watch(connection).await
                    }
                }
            };
            if let Err(error) = served {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(counted);
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("shutting down: finishing requests in flight");
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(tessera_web::routes::SHUTDOWN_GRACE) => {
            tracing::warn!("requests still running after the grace period were cut off");
        }
    }
}

/// How connections are served: the HTTP/1.1 and HTTP/2 settings and the per-request layers
/// every connection's requests pass first.
struct Protocols {
    http1: hyper::server::conn::http1::Builder,
    http2: hyper::server::conn::http2::Builder<TokioExecutor>,
    handshake_timeout: Duration,
    body_read_timeout: Duration,
    hsts: Option<http::HeaderValue>,
}

/// A request as hyper hands it over.
type Incoming = axum::extract::Request<hyper::body::Incoming>;

/// Streams one HTTP/2 client may have open at once.
const MAX_STREAMS_PER_CONNECTION: u32 = 100;

impl Protocols {
    fn new(transport: &Transport) -> Self {
        let mut http1 = hyper::server::conn::http1::Builder::new();
        http1
            .timer(TokioTimer::new())
            .header_read_timeout(transport.header_read_timeout);
        let mut http2 = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
        http2
            .timer(TokioTimer::new())
            .max_concurrent_streams(MAX_STREAMS_PER_CONNECTION)
            // A peer that stops answering pings is gone: its connection is closed.
            .keep_alive_interval(Some(Duration::from_secs(60)));
        Self {
            http1,
            http2,
            handshake_timeout: transport.header_read_timeout,
            body_read_timeout: transport.body_read_timeout,
            hsts: transport.hsts.clone(),
        }
    }

    /// The application as one connection's requests reach it: with the peer's address,
    /// whether the connection is TLS, a deadline for the body, and HSTS on TLS responses.
    fn service(
        &self,
        app: axum::Router,
        peer: SocketAddr,
        is_tls: bool,
    ) -> hyper_util::service::TowerToHyperService<
        impl tower::Service<
            Incoming,
            Response = axum::response::Response,
            Error = std::convert::Infallible,
            Future = impl Send,
        > + Clone
        + Send
        + 'static,
    > {
        use tower_http::timeout::RequestBodyDeadlineLayer;
        let hsts = self.hsts.clone().filter(|_| is_tls);
        let service = tower::ServiceBuilder::new()
            .map_request(move |mut request: Incoming| {
                let extensions = request.extensions_mut();
                extensions.insert(axum::extract::ConnectInfo(peer));
                if is_tls {
                    extensions.insert(tessera_web::client::DirectTls);
                }
                request
            })
            .map_response(move |mut response: axum::response::Response| {
                if let Some(hsts) = &hsts {
                    response
                        .headers_mut()
                        .insert(http::header::STRICT_TRANSPORT_SECURITY, hsts.clone());
                }
                response
            })
            .layer(RequestBodyDeadlineLayer::new(self.body_read_timeout))
            .service(app);
        hyper_util::service::TowerToHyperService::new(service)
    }
}

/// Serves the listener while `work` (preparing the database: migrations can take minutes)
/// runs, answering every request at once with 503 and `Retry-After`: `GET /status` (under
/// `context_path`) says `{"state":"STARTING"}` in Jira's shape, anything else is a Jira error.
/// So a load balancer sees a starting server instead of a refused connection. Returns the
/// listener, for the server proper, with what `work` gave.
pub async fn serve_while_starting<T>(
    listener: TcpListener,
    context_path: &str,
    work: impl Future<Output = T>,
) -> (TcpListener, T) {
    let status_path: Arc<str> = format!("{context_path}/status").into();
    tokio::pin!(work);
    loop {
        tokio::select! {
            done = &mut work => return (listener, done),
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else {
                    // Typically out of file descriptors: back off instead of spinning.
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                let status_path = status_path.clone();
                tokio::spawn(async move {
                    let service = hyper::service::service_fn(move |request: http::Request<hyper::body::Incoming>| {
                        let is_status = request.uri().path() == &*status_path;
                        async move {
                            Ok::<_, std::convert::Infallible>(tessera_web::status::starting(is_status))
                        }
                    });
                    let mut http = hyper::server::conn::http1::Builder::new();
                    http.timer(TokioTimer::new())
                        .header_read_timeout(Duration::from_secs(5))
                        .keep_alive(false);
                    let connection = http.serve_connection(TokioIo::new(stream), service);
                    let _ = tokio::time::timeout(Duration::from_secs(10), connection).await;
                });
            }
        }
    }
}

/// Writes coalesced credential use every `every` until told to stop.
async fn flush_usage(
    auth: Arc<Authenticator>,
    every: Duration,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = interval.tick() => if let Err(error) = auth.flush_usage().await {
                tracing::warn!(%error, "could not record credential use; will retry");
            },
            _ = stop.changed() => return,
        }
    }
}

/// How often a policy change made elsewhere is looked for when no authenticated request has
/// brought it (anonymous requests carry no version).
const POLICY_REFRESH: Duration = Duration::from_secs(5);
/// How often expired records are deleted.
const CLEANUP: Duration = Duration::from_secs(600);

/// Until told to stop: refreshes the access policy every few seconds, and every ten minutes
/// deletes expired sessions, forgets the rate buckets of idle callers and applies retention.
async fn housekeeping(
    state: AppState,
    retention: Retention,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut refresh = tokio::time::interval(POLICY_REFRESH);
    refresh.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut cleanup = tokio::time::interval(CLEANUP);
    cleanup.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = refresh.tick() => if let Err(error) = state.auth.policy().refresh().await {
                tracing::warn!(%error, "could not refresh the access policy");
            },
            _ = cleanup.tick() => {
                state.rate_limits.forget_idle();
                clean_up(&state, retention).await;
            }
            _ = stop.changed() => return,
        }
    }
}

async fn clean_up(state: &AppState, retention: Retention) {
    match state.auth.purge_expired_sessions().await {
        Ok(0) => {}
        Ok(purged) => tracing::debug!(purged, "expired sessions deleted"),
        Err(error) => tracing::warn!(%error, "could not delete expired sessions"),
    }
    let now = state.clock.now();
    let store = &state.store;
    if let Some(keep) = retention.audit
        && let Err(error) = store.delete_audit_before(now.minus(keep)).await
    {
        tracing::warn!(%error, "could not apply the audit retention");
    }
    if let Some(keep) = retention.usage {
        let before = now.minus(keep);
        if let Err(error) = store
            .delete_usage_before(tessera_core::usage::day_of(before), before)
            .await
        {
            tracing::warn!(%error, "could not apply the usage retention");
        }
    }
    if let Err(error) = store
        .delete_stale_login_failures(now.minus(retention.login_failures))
        .await
    {
        tracing::warn!(%error, "could not forget old failed logins");
    }
    // A day's grace, so that an expired token is still told apart from a forged one for a while.
    if let Err(error) = store
        .delete_expired_oauth(now.minus(Duration::from_secs(24 * 60 * 60)))
        .await
    {
        tracing::warn!(%error, "could not delete expired OAuth 2.0 codes and tokens");
    }
    if let Err(error) = state.oauth1.prune_nonces().await {
        tracing::warn!(%error, "could not forget old OAuth 1.0a nonces");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_warned_about_only_where_the_network_reads_it() {
        let warned = |listen: &str, configure: fn(&mut Config)| {
            let mut config = Config::default();
            configure(&mut config);
            plain_http_warning(&config, listen.parse().unwrap()).is_some()
        };
        assert!(warned("0.0.0.0:8080", |_| {}));
        assert!(warned("192.0.2.7:8080", |_| {}));
        assert!(warned("[::]:8080", |_| {}));
        assert!(!warned("127.0.0.1:8080", |_| {}));
        assert!(!warned("[::1]:8080", |_| {}));
        assert!(!warned("0.0.0.0:8080", |config| {
            config.tls.cert = Some("cert.pem".into());
            config.tls.key = Some("key.pem".into());
        }));
        assert!(!warned("0.0.0.0:8080", |config| {
            config.trusted_proxies = vec!["10.0.0.1/32".parse().unwrap()];
        }));
    }

    #[test]
    fn tls_makes_the_default_base_url_https() {
        let mut config = Config::default();
        let bound: SocketAddr = "127.0.0.1:8443".parse().unwrap();
        assert_eq!(
            base_url(&config, bound).unwrap().base(),
            "http://127.0.0.1:8443"
        );
        config.tls.cert = Some("cert.pem".into());
        config.tls.key = Some("key.pem".into());
        assert_eq!(
            base_url(&config, bound).unwrap().base(),
            "https://127.0.0.1:8443"
        );
    }
}
