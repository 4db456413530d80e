//! `/rest/auth/1`: cookie sessions and their websudo window.

pub mod session;
pub mod websudo;
