//! What every handler shares. State is passed in, never global, so a test can run several
//! servers in one process.

use std::sync::Arc;

use ipnet::IpNet;
use tessera_auth::Authenticator;
use tessera_auth::external::ExternalIdentity;
use tessera_auth::leaks::LeakReports;
use tessera_auth::oauth1::OAuth1Server;
use tessera_auth::oauth2::OAuth2Server;
use tessera_core::authz::Authorizer;
use tessera_core::clock::Clock;
use tessera_core::store::Store;

use crate::rate_limit::RateLimits;
use crate::responses::Responses;
use crate::urls::Urls;

/// What [`WebSettings::response_cache_bytes`] is unless configured.
pub const DEFAULT_RESPONSE_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// Settings of the HTTP layer.
#[derive(Clone, Debug)]
pub struct WebSettings {
    /// Peers whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed.
    pub trusted_proxies: Vec<IpNet>,
    /// Largest request body accepted.
    pub max_body_bytes: usize,
    /// Largest upload of attachments (all files of one request together).
    pub max_attachment_bytes: usize,
    /// Shown as `serverTitle`.
    pub server_title: String,
    /// Bytes of response bodies remembered for repeated reads (0: none); see [`Responses`].
    pub response_cache_bytes: u64,
    /// Who may read `/metrics` besides administrators.
    pub metrics: crate::metrics::MetricsAccess,
}

impl Default for WebSettings {
    fn default() -> Self {
        Self {
            trusted_proxies: Vec::new(),
            max_body_bytes: 1024 * 1024,
            max_attachment_bytes: 10 * 1024 * 1024,
            server_title: "tessera".into(),
            response_cache_bytes: DEFAULT_RESPONSE_CACHE_BYTES,
            metrics: crate::metrics::MetricsAccess::default(),
        }
    }
}

/// What every handler shares, behind one `Arc`: axum clones the state for every extractor and
/// layer that asks for it, so a clone is one reference count, not one per part.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Shared>);

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

#[derive(Debug)]
pub struct Shared {
    pub store: Arc<dyn Store>,
    pub auth: Arc<Authenticator>,
    /// The OAuth 2.0 authorization server.
    pub oauth2: Arc<OAuth2Server>,
    /// OAuth 1.0a application links.
    pub oauth1: Arc<OAuth1Server>,
    pub external: Arc<ExternalIdentity>,
    pub authz: Authorizer,
    pub clock: Arc<dyn Clock>,
    pub urls: Arc<Urls>,
    pub settings: Arc<WebSettings>,
    /// The queue of leaked-token reports.
    pub reports: LeakReports,
    pub rate_limits: Arc<RateLimits>,
    /// Responses remembered for repeated reads.
    pub responses: Arc<Responses>,
    /// What `GET /status` reports.
    pub health: Arc<crate::status::Health>,
    /// What `GET /metrics` reports.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// This instance's request ids.
    pub request_ids: crate::request_id::RequestIds,
}

/// The authentication side of the server: the pipeline and the two OAuth servers.
#[derive(Clone, Debug)]
pub struct AuthServers {
    pub authenticator: Arc<Authenticator>,
    pub oauth2: Arc<OAuth2Server>,
    pub oauth1: Arc<OAuth1Server>,
    pub external: Arc<ExternalIdentity>,
}

impl AppState {
    pub fn new(
        store: Arc<dyn Store>,
        servers: AuthServers,
        clock: Arc<dyn Clock>,
        urls: Urls,
        settings: WebSettings,
        reports: LeakReports,
    ) -> Self {
        Self(Arc::new(Shared {
            rate_limits: Arc::new(RateLimits::default()),
            health: Arc::default(),
            request_ids: crate::request_id::RequestIds::default(),
            metrics: Arc::new(crate::metrics::Metrics::new(servers.authenticator.clone())),
            responses: Arc::new(Responses::new(store.clone(), settings.response_cache_bytes)),
            authz: Authorizer::new(store.clone()),
            store,
            auth: servers.authenticator,
            oauth2: servers.oauth2,
            oauth1: servers.oauth1,
            external: servers.external,
            clock,
            urls: Arc::new(urls),
            settings: Arc::new(settings),
            reports,
        }))
    }
}
