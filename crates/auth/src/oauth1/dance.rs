//! The three-legged dance (RFC 5849 §2), at Jira's paths: a consumer's signed request gets
//! a request token (temporary credentials, §2.1), which its user approves, and which the
//! consumer then exchanges once for an access token (§2.3).
//!
//! Security invariants kept here: a request token lives [`super::OAuth1Config`]'s ten minutes
//! and is stored as a digest; the callback a consumer names must be `oob` or on the origin of
//! the callback it was registered with (an application link cannot send its user anywhere
//! else with a verifier).

use tessera_core::oauth1::{Consumer, NewOAuth1Token, OAuth1TokenKind, OUT_OF_BAND};
use tessera_core::scopes::Scopes;
use tessera_core::secrets::SecretKind;

use super::OAuth1Server;
use super::verify::{Problem, SignedRequest};
use crate::secret::random_bytes;
use crate::token_format::{self, RawToken};

/// A request token and its secret (§2.1). The secret only serves HMAC signatures, which
/// application links do not use; it is sent as the protocol requires, and never stored.
#[derive(Debug)]
pub struct TemporaryCredentials {
    pub token: RawToken,
    pub secret: String,
}

/// Whether a consumer may name `callback`: `oob`, or a URL on the origin of its own.
fn is_allowed_callback(consumer: &Consumer, callback: &str) -> bool {
    if callback == OUT_OF_BAND {
        return true;
    }
    let (Ok(named), Ok(registered)) = (
        url::Url::parse(callback),
        url::Url::parse(&consumer.callback),
    ) else {
        return false;
    };
    named.origin() == registered.origin() && named.fragment().is_none()
}

impl OAuth1Server {
    /// The first leg: a consumer's signed request without a token, naming its callback.
    pub async fn issue_request_token(
        &self,
        request: &SignedRequest<'_>,
    ) -> Result<TemporaryCredentials, Problem> {
        let signed = self.check_signature(request).await?;
        if signed.token.is_some() {
            return Err(Problem::TokenRejected);
        }
        let callback = request
            .param("oauth_callback")
            .filter(|c| !c.is_empty())
            .ok_or(Problem::ParameterAbsent("oauth_callback"))?;
        if !is_allowed_callback(&signed.consumer, callback) {
            return Err(Problem::PermissionDenied);
        }
        let token = token_format::mint(SecretKind::OAuth1Request);
        let now = self.clock.now();
        self.store
            .create_oauth1_token(NewOAuth1Token {
                digest: token.digest().to_vec(),
                kind: OAuth1TokenKind::Request,
                consumer: signed.consumer.id,
                user: None,
                scopes: Scopes::empty(),
                callback: Some(callback.to_string()),
                created: now,
                expires: Some(now.plus(self.config.request_token_lifetime)),
            })
            .await?;
        Ok(TemporaryCredentials {
            token,
            secret: hex::encode(random_bytes::<16>()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::clock::Timestamp;
    use tessera_core::oauth1::ConsumerId;

    fn consumer(callback: &str) -> Consumer {
        Consumer {
            id: ConsumerId(1),
            consumer_key: "k".into(),
            name: "n".into(),
            public_key: String::new(),
            callback: callback.into(),
            created: Timestamp::from_millis(0),
            created_by: None,
        }
    }

    #[test]
    fn a_callback_stays_on_the_consumers_origin() {
        let app = consumer("https://app.example/oauth/done");
        assert!(is_allowed_callback(&app, "oob"));
        assert!(is_allowed_callback(&app, "https://app.example/other?x=1"));
        assert!(!is_allowed_callback(
            &app,
            "https://evil.example/oauth/done"
        ));
        assert!(!is_allowed_callback(&app, "http://app.example/oauth/done"));
        assert!(!is_allowed_callback(
            &app,
            "https://app.example:8443/oauth/done"
        ));
        assert!(!is_allowed_callback(&app, "https://app.example/#x"));
        let oob = consumer("oob");
        assert!(is_allowed_callback(&oob, "oob"));
        assert!(!is_allowed_callback(&oob, "https://app.example/"));
    }
}
