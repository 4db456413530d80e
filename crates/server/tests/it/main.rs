//! The server's integration tests, in one test binary (one module per concern): one binary
//! links once after an edit, where one binary per file linked sixteen times.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

mod access_matrix;
mod api;
mod attachments;
mod audit;
mod browser;
mod bulk;
mod client_suite;
mod comment_visibility;
mod credential_cache;
mod everyday;
mod filters;
mod flood;
mod identity;
mod introspection;
mod issue_properties;
mod jira_shapes;
mod links;
mod oauth1;
mod oauth1_api;
mod oauth1_base_string;
mod oauth2;
mod openapi;
mod operations;
mod pages;
mod pickers;
mod planning;
mod policy;
mod process;
mod python_client;
mod quickstart;
mod rate_limit;
mod remembered_reads;
mod schemes;
mod search;
mod sso;
mod throttle;
mod tls;
mod tokens;
mod usage;
mod users;
mod votes;
mod worklogs;
