//! Helpers of the server's tests, by concern: [`server`] starts and stops test servers,
//! [`callers`] calls them by each authentication method, [`fixtures`] makes records through
//! the API, [`oauth1`] signs requests as an application link does, [`reads`] reads Jira's
//! answers and the audit trail, [`process`] runs the real binary, and [`logs`] keeps the
//! suite's logs to be searched for secrets.
#![allow(dead_code)]

pub mod callers;
pub mod fixtures;
pub mod logs;
pub mod oauth1;
pub mod oidc;
pub mod process;
pub mod reads;
pub mod server;

pub use reads::*;

/// A reqwest client builder for the tests. tessera's HTTP client brings rustls without a
/// built-in crypto provider, and reqwest (one build for the whole test binary) then needs the
/// process's provider installed before any client is built: this installs it first.
pub fn http_client() -> reqwest::ClientBuilder {
    tessera_auth::external::discovery::install_tls();
    reqwest::Client::builder()
}
pub use server::*;
