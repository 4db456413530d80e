//! `GET /metrics`: counters and latencies in Prometheus's text exposition (OpenMetrics, from
//! the `prometheus-client` crate): requests by route template, method and status, their
//! latency, authentications by credential kind, outcome and reason, rate-limit refusals, the
//! verified-credential cache's hits and misses, the audit queue's depth, and the database
//! pools' connections.
//!
//! Who may read it: an administrator's credential; the bearer token configured as
//! `[metrics] token` (for a scraper that should hold no credential of a user); or, when
//! `[metrics] loopback` is set, any client on the machine itself.

use std::net::IpAddr;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use std::sync::Arc;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{
    DescriptorEncoder, EncodeLabelSet, EncodeLabelValue, EncodeMetric, LabelValueEncoder,
};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use secrecy::{ExposeSecret, SecretString};
use tessera_auth::Authenticator;
use tessera_core::principal::Caller;

use crate::client::ClientAddr;
use crate::error::ApiError;
use crate::state::AppState;

/// Who may read `/metrics` besides administrators.
#[derive(Clone, Debug, Default)]
pub struct MetricsAccess {
    /// A bearer token a scraper sends (compared in constant time).
    pub token: Option<SecretString>,
    /// Clients on the machine itself need no credential.
    pub loopback: bool,
}

/// A route's template as a label: the router's own shared string (no copy per request), or
/// `unmatched`.
#[derive(Clone, Debug)]
struct Route(Option<MatchedPath>);

impl Route {
    fn as_str(&self) -> &str {
        self.0.as_ref().map_or("unmatched", MatchedPath::as_str)
    }
}

impl PartialEq for Route {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Route {}

impl std::hash::Hash for Route {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl EncodeLabelValue for Route {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        EncodeLabelValue::encode(&self.as_str(), encoder)
    }
}

/// The request's method as a label, without a copy for the standard ones.
fn method_label(method: &http::Method) -> &'static str {
    match *method {
        http::Method::GET => "GET",
        http::Method::POST => "POST",
        http::Method::PUT => "PUT",
        http::Method::DELETE => "DELETE",
        http::Method::HEAD => "HEAD",
        http::Method::PATCH => "PATCH",
        http::Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: Route,
    method: &'static str,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: Route,
    method: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct AuthLabels {
    kind: &'static str,
    outcome: &'static str,
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LimitLabels {
    reason: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PoolLabels {
    pool: &'static str,
}

/// The instance's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram>,
    authentications: Family<AuthLabels, Counter>,
    rate_limited: Family<LimitLabels, Counter>,
    pool_connections: Family<PoolLabels, Gauge>,
    pool_idle: Family<PoolLabels, Gauge>,
}

/// What the authenticator counts itself, read at each scrape.
#[derive(Debug)]
struct AuthenticatorCounts(Arc<Authenticator>);

impl Collector for AuthenticatorCounts {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let (hits, misses) = self.0.remembered_counts();
        for (name, help, value) in [
            (
                "credential_cache_hits",
                "Credentials answered from the verified-credential cache",
                hits,
            ),
            (
                "credential_cache_misses",
                "Credentials not found in the verified-credential cache (or found stale)",
                misses,
            ),
        ] {
            let counter = ConstCounter::new(value);
            counter.encode(encoder.encode_descriptor(
                name,
                help,
                None,
                counter.metric_type(),
            )?)?;
        }
        let queued = ConstGauge::new(i64::try_from(self.0.audit().queued()).unwrap_or(i64::MAX));
        queued.encode(encoder.encode_descriptor(
            "audit_queue_depth",
            "Audit events queued and not yet written",
            None,
            queued.metric_type(),
        )?)
    }
}

impl Metrics {
    pub fn new(authenticator: Arc<Authenticator>) -> Self {
        let mut registry = Registry::with_prefix("tessera");
        registry.register_collector(Box::new(AuthenticatorCounts(authenticator)));
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by route template, method and status",
            requests.clone(),
        );
        // 0.25 ms to about 4 s.
        let latency = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_25, 2.0, 15))
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from the request's arrival to its response's headers, by route template",
            latency.clone(),
        );
        let authentications = Family::<AuthLabels, Counter>::default();
        registry.register(
            "authentications",
            "Credentials presented, by kind, outcome (success, failure) and the refusal's reason",
            authentications.clone(),
        );
        let rate_limited = Family::<LimitLabels, Counter>::default();
        registry.register(
            "rate_limited",
            "Requests refused by the rate limits (rate_limited: a spent budget; penalized: an \
             address spent its budget on failed credentials)",
            rate_limited.clone(),
        );
        let pool_connections = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_connections",
            "Open database connections, by pool",
            pool_connections.clone(),
        );
        let pool_idle = Family::<PoolLabels, Gauge>::default();
        registry.register(
            "db_pool_idle_connections",
            "Idle database connections, by pool",
            pool_idle.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            authentications,
            rate_limited,
            pool_connections,
            pool_idle,
        }
    }
}

impl Metrics {
    /// A credential verified (`kind` is the method's name) or refused (`kind` as presented).
    pub fn authentication(&self, kind: &'static str, refusal: Option<&'static str>) {
        let labels = AuthLabels {
            kind,
            outcome: if refusal.is_some() {
                "failure"
            } else {
                "success"
            },
            reason: refusal.unwrap_or(""),
        };
        self.authentications.get_or_create(&labels).inc();
    }

    /// A request refused by the rate limits.
    pub fn rate_limited(&self, reason: &'static str) {
        self.rate_limited
            .get_or_create(&LimitLabels { reason })
            .inc();
    }

    fn encode(&self, state: &AppState) -> Result<String, std::fmt::Error> {
        for pool in state.store.pools() {
            self.pool_connections
                .get_or_create(&PoolLabels { pool: pool.name })
                .set(i64::from(pool.size));
            self.pool_idle
                .get_or_create(&PoolLabels { pool: pool.name })
                .set(i64::try_from(pool.idle).unwrap_or(i64::MAX));
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &self.registry)?;
        Ok(text)
    }
}

/// The kind of credential a refused request presented, from its `Authorization` scheme or
/// session cookie (the header's value is never read further).
pub fn presented_kind(headers: &http::HeaderMap) -> &'static str {
    let scheme = headers
        .get(AUTHORIZATION)
        .and_then(|value| value.as_bytes().split(|b| *b == b' ').next())
        .map(<[u8]>::to_ascii_lowercase);
    match scheme.as_deref() {
        Some(b"basic") => "basic",
        Some(b"bearer") => "bearer",
        Some(b"oauth") => "oauth1",
        Some(_) => "other",
        None => "session",
    }
}

/// Counts every answered request by the route template it matched (`unmatched` for none) and
/// times it. The template, not the path: a path names issues and users.
pub async fn record_request(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let started = std::time::Instant::now();
    let route = Route(request.extensions().get::<MatchedPath>().cloned());
    let method = method_label(request.method());
    let response = next.run(request).await;
    let metrics = &state.metrics;
    metrics
        .latency
        .get_or_create(&RouteLabels {
            route: route.clone(),
            method,
        })
        .observe(started.elapsed().as_secs_f64());
    metrics
        .requests
        .get_or_create(&RequestLabels {
            route,
            method,
            status: response.status().as_u16(),
        })
        .inc();
    response
}

/// Lets a request through to `/metrics` without a user's credential when it carries the
/// configured metrics token (then removed, so that the authentication layer does not take it
/// for a credential of its own) or comes from the machine itself with `loopback` set.
pub async fn metrics_gate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let access = &state.settings.metrics;
    let client = request.extensions().get::<ClientAddr>().map(|c| c.ip);
    let by_token = access.token.as_ref().is_some_and(|token| {
        request
            .headers()
            .get(AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|sent| {
                tessera_auth::secret::constant_time_eq(
                    sent.trim().as_bytes(),
                    token.expose_secret().as_bytes(),
                )
            })
    });
    let by_address = access.loopback && client.is_some_and(|ip: IpAddr| ip.is_loopback());
    if by_token || by_address {
        request.headers_mut().remove(AUTHORIZATION);
        request.extensions_mut().insert(ScrapeAllowed);
    }
    next.run(request).await
}

/// Set by [`metrics_gate`] on a request it let through.
#[derive(Clone, Copy, Debug)]
struct ScrapeAllowed;

pub async fn get_metrics(State(state): State<AppState>, request: Request) -> Response {
    let allowed = request.extensions().get::<ScrapeAllowed>().is_some()
        || match request.extensions().get::<Caller>() {
            Some(Caller::User(principal)) => state.authz.administer(principal).is_ok(),
            _ => false,
        };
    if !allowed {
        return match request.extensions().get::<Caller>() {
            Some(Caller::User(_)) => ApiError::Forbidden {
                message: "Only administrators, or a scraper with the metrics token, may read \
                          the metrics."
                    .into(),
                reason: "permission_missing",
            },
            _ => ApiError::unauthenticated(),
        }
        .into_response();
    }
    match state.metrics.encode(&state) {
        Ok(text) => (
            StatusCode::OK,
            [(
                CONTENT_TYPE,
                HeaderValue::from_static(
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                ),
            )],
            text,
        )
            .into_response(),
        Err(_) => ApiError::Internal("the metrics could not be written".into()).into_response(),
    }
}
