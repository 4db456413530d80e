//! `/rest/tessera/1`: tessera's own administration API (the access policy, the audit trail, API
//! usage, OAuth 2.0 clients and grants, tokens, service accounts, leaked credential reports,
//! password-login suspensions).

pub mod audit;
pub mod identity;
pub mod oauth1;
pub mod oauth2;
pub mod openapi;
pub mod policy;
pub mod service_accounts;
pub mod throttle;
pub mod tokens;
pub mod usage;
