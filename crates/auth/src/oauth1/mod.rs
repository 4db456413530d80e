//! OAuth 1.0a application links, the way Jira Data Center does them: consumers registered
//! with an RSA public key, the three-legged dance at Jira's paths, and requests signed by
//! RFC 5849. This module holds the protocol; signed requests are verified, like every other
//! credential, through the authenticator's pipeline.

pub mod signature;
