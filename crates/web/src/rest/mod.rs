//! REST handlers, grouped by Jira path: `api2` serves `/rest/api/2` (and its `latest` alias),
//! `auth` serves `/rest/auth/1/session`, `pat` serves `/rest/pat/latest/tokens`, `oauth2`
//! serves the OAuth 2.0 client endpoints under `/rest/oauth2/latest`, `oauth1` the OAuth 1.0a
//! endpoints under `/plugins/servlet/oauth`, and `tessera` serves tessera's own
//! `/rest/tessera/1`.

pub mod api2;
pub mod auth;
pub mod oauth1;
pub mod oauth2;
pub mod pat;
pub mod tessera;
