//! `/rest/auth/1`: cookie sessions.

pub mod session;
