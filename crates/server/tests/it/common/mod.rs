//! Helpers of the server's tests, by concern: [`server`] starts and stops test servers,
//! [`callers`] calls them by each authentication method, [`fixtures`] makes records through
//! the API, [`oauth1`] signs requests as an application link does, [`reads`] reads Jira's
//! answers and the audit trail, and [`process`] runs the real binary.
#![allow(dead_code)]

pub mod callers;
pub mod fixtures;
pub mod oauth1;
pub mod oidc;
pub mod process;
pub mod reads;
pub mod server;

pub use reads::*;
pub use server::*;
