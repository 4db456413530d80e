//! tessera's HTTP layer: Jira's REST API on axum.
//!
//! Every request crosses the same layers: the client address is worked out (forwarded headers
//! only from trusted proxies), the one credential is authenticated and the principal admitted
//! ([`middleware`]), then a handler asks the authorizer for the capability its service needs.
//! Handlers never see a credential. Errors of every layer become Jira's error body through the
//! one mapping in [`error`]. The route table ([`routes`]) names each route's access rule,
//! which the access-control matrix test checks against the handlers' real behaviour.

pub mod client;
pub mod cookies;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod middleware;
pub mod pages;
pub mod rate_limit;
pub mod render;
pub mod request_id;
pub mod responses;
pub mod rest;
pub mod routes;
pub mod state;
pub mod status;
pub mod urls;

pub use routes::{Access, RouteSpec, app, route_table};
pub use state::{AppState, AuthServers, WebSettings};
pub use urls::Urls;
