//! `/rest/tessera/1`: tessera's own administration API (the audit trail, tokens, service accounts, leaked
//! credential reports, password-login suspensions).

pub mod audit;
pub mod service_accounts;
pub mod throttle;
pub mod tokens;
