//! Authentication: the only code that reads `Authorization`, session cookies and XSRF headers.
//!
//! A request carries at most one credential ([`credentials`]); the [`Authenticator`] checks it
//! and returns a [`tessera_core::principal::Principal`] or an error. A bad credential is an
//! error, never a fall-back to anonymous. Passwords are Argon2id, verified on a small fixed
//! pool of threads with a bounded queue ([`password`]), and a successful verification may be
//! remembered briefly under a keyed digest ([`cache`]). Sessions are random ids of which only
//! a digest is stored ([`session`]). Cookie-authenticated state changes must pass the XSRF
//! rule ([`xsrf`]). Personal access tokens and service keys are prefixed and checksummed
//! ([`token_format`]), stored as digests and managed through [`tokens`]. Failed password
//! attempts suspend password logins of a name or network for a doubling wait (the rules live
//! in `tessera_core::throttle`), and security events go to the audit log off the request path
//! ([`audit_log`]). The administrators' access policy is held per instance by [`policy`] and
//! applied by the authenticator; API use per credential is coalesced by [`usage`]. The OAuth
//! 2.0 authorization server, whose access tokens the authenticator also accepts, is
//! [`oauth2`].

pub mod audit_log;
pub mod authenticator;
pub mod cache;
pub mod credentials;
pub mod oauth2;
pub mod password;
pub mod policy;
pub mod secret;
pub mod session;
pub mod token_format;
pub mod tokens;
pub mod usage;
pub mod xsrf;

pub use authenticator::{AuthConfig, AuthError, Authenticator, Login, TokenRejection};
pub use credentials::Credential;
