//! REST handlers, grouped by Jira path: `api2` serves `/rest/api/2` (and its `latest` alias),
//! `auth` serves `/rest/auth/1/session`.

pub mod api2;
pub mod auth;
