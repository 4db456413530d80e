//! Authentication: the only code that reads `Authorization`, session cookies and XSRF headers.
//!
//! A request carries at most one credential; each kind of credential has its own file under
//! [`credentials`] (password, session with its XSRF rule, personal token or service key, OAuth
//! 2.0 access token, OAuth 1.0a signed request, external JWT), all behind one `Verifier`
//! contract, and the [`Authenticator`] is the
//! pipeline around them: parse, the policy's rules that need no secret, verify, the rules
//! that depend on the user's groups, the principal. A bad credential is an error, never a
//! fall-back to anonymous. Passwords are Argon2id, hashed and verified on a small fixed pool
//! of threads with a bounded queue ([`hashing`]). Sessions are random ids of which only a
//! digest is stored, and cookie-authenticated state changes must pass the XSRF rule (both in
//! `credentials::session`). Every secret tessera mints is prefixed (the one registry is
//! `tessera_core::secrets`) and checksummed ([`token_format`]); personal tokens and service
//! keys are managed through [`tokens`]. Security events go to the audit log off the request
//! path ([`audit_log`]). The administrators' access policy is held per instance by [`policy`]
//! and applied by the authenticator; API use per credential is coalesced by [`usage`]. The
//! OAuth 2.0 authorization server is [`oauth2`]; OAuth 1.0a application links (consumers,
//! RFC 5849 signatures, the three-legged dance) are [`oauth1`]; the identity providers whose
//! JWTs tessera trusts (discovery, their keys) are [`external`]. Secrets reported as leaked
//! are revoked by kind through [`leaks`]. What the authenticator is told about a request,
//! including the URL the client saw, is [`request`]; why it refuses is [`error`].

pub mod audit_log;
pub mod authenticator;
pub mod credentials;
pub mod error;
pub mod external;
pub mod hashing;
pub mod leaks;
pub mod oauth1;
pub mod oauth2;
pub mod policy;
pub mod request;
pub mod sealed;
pub mod secret;
pub mod token_format;
pub mod tokens;
pub mod usage;

pub use authenticator::{AuthConfig, Authenticator, Login};
pub use credentials::Credential;
pub use error::{AuthError, Challenge, JwtRejection, TokenRejection};
pub use request::{RequestInfo, RequestUrl};
