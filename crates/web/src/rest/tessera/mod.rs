//! `/rest/tessera/1`: tessera's own administration API (tokens, service accounts, leaked
//! credential reports).

pub mod service_accounts;
pub mod tokens;
