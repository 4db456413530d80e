//! tessera's domain, free of HTTP and SQL.
//!
//! It owns the vocabulary every other crate speaks: ids, users, projects and issues
//! ([`model`]), Jira's fixed catalogues ([`catalog`]), permissions and credential scopes
//! ([`permissions`], [`scopes`]), who is calling ([`principal`]), the single place that decides
//! what a caller may do ([`authz`]), the services that act on the data ([`services`]), the
//! records and rules of personal access tokens ([`tokens`]), the history of issues
//! ([`changelog`]), password-guessing protection ([`throttle`]) and audit events
//! ([`audit`]), the query language clients search with ([`jql`]) and the searches it becomes
//! ([`search`]), and the [`store::Store`] interface the storage crate implements.
//!
//! Invariant kept here: a service that changes or reveals protected data takes a capability
//! that only [`authz::Authorizer`] can create, so a handler that forgot to ask cannot compile.

pub mod audit;
pub mod authz;
pub mod catalog;
pub mod changelog;
pub mod clock;
pub mod error;
pub mod identity;
pub mod ids;
pub mod jql;
pub mod model;
pub mod net;
pub mod oauth1;
pub mod oauth2;
pub mod permissions;
pub mod policy;
pub mod principal;
pub mod scopes;
pub mod search;
pub mod secrets;
pub mod services;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod usage;
pub mod validate;
pub mod worktime;

pub use error::{Error, FieldErrors};
