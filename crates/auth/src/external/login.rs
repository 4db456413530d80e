//! Sign-in through an identity provider, for the login page's "Sign in with": OpenID
//! Connect's authorization code flow (Core §3.1) as a confidential client, with PKCE
//! (RFC 7636, S256), `state` and `nonce`.
//!
//! [`ExternalIdentity::start_sign_in`] keeps the sign-in (a digest of its state, its nonce,
//! its PKCE verifier and where to go after) for [`SIGN_IN_LIFETIME`] and answers the
//! provider's URL to send the browser to, and the state, which the pages also bind to the
//! browser in a cookie (login CSRF). [`ExternalIdentity::finish_sign_in`] takes the sign-in
//! back by the state the provider returned, once (a replayed answer finds nothing), exchanges
//! the code at the token endpoint with the client secret and the verifier, and answers the
//! ID token, which the authenticator checks (`Authenticator::login_sso`) before a session is
//! opened.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tessera_core::identity::{IdentityProvider, ProviderId, SsoLogin};
use tessera_core::store::StoreError;

use super::ExternalIdentity;
use super::discovery::{read_bounded, without_url};
use super::providers::login_purpose;
use crate::secret::{random_token, sha256};

/// How long a sign-in may take at the provider.
pub const SIGN_IN_LIFETIME: Duration = Duration::from_secs(10 * 60);

/// The most sign-ins under way at once (each kept for [`SIGN_IN_LIFETIME`]): a flood of
/// starts that are never finished cannot grow the table without bound.
pub const MAX_PENDING_SIGN_INS: i64 = 10_000;

/// What tessera asks the provider for: the user's identity, name and e-mail.
const SCOPES: &str = "openid profile email";

/// A sign-in under way: where to send the browser, and the state to bind to it.
pub struct SignInStart {
    pub location: String,
    pub state: String,
}

impl std::fmt::Debug for SignInStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInStart").finish_non_exhaustive()
    }
}

/// A provider's answer to a sign-in, for the authenticator to check.
pub struct SignInAnswer {
    pub provider: IdentityProvider,
    pub id_token: SecretString,
    pub client_id: String,
    pub nonce: String,
    /// The local path the user goes to once signed in.
    pub next: String,
}

impl std::fmt::Debug for SignInAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignInAnswer")
            .field("provider", &self.provider.id)
            .field("next", &self.next)
            .finish_non_exhaustive()
    }
}

/// Why a sign-in through a provider did not get as far as an ID token.
#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("This identity provider does not offer sign-in.")]
    NotOffered,
    #[error("The sign-in expired or was used already; please sign in again.")]
    Expired,
    /// The provider said no (its `error` code), or answered what is not an ID token.
    #[error("The identity provider refused the sign-in ({0}).")]
    Refused(String),
    #[error("The identity provider could not be reached ({0}).")]
    Unreachable(String),
    /// The client secret was sealed under a key this server does not have.
    #[error("The sign-in client's secret cannot be read: an administrator must set it again.")]
    Sealed,
    #[error("Too many sign-ins are under way; please try again in a few minutes.")]
    Busy,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether a provider offers sign-in: enabled, with a client, and the endpoints for it.
pub fn offers_sign_in(provider: &IdentityProvider) -> bool {
    provider.settings.enabled
        && provider.settings.login.is_some()
        && provider.endpoints.authorization_endpoint.is_some()
        && provider.endpoints.token_endpoint.is_some()
}

/// The digest a sign-in is kept under (the state itself is never stored).
fn state_digest(state: &str) -> String {
    hex::encode(sha256(state.as_bytes()))
}

/// `application/x-www-form-urlencoded` encoding of one value, as client credentials are in
/// HTTP Basic at a token endpoint (RFC 6749 §2.3.1).
fn form_encoded(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

#[derive(Debug, Deserialize)]
struct TokenAnswer {
    id_token: Option<String>,
    error: Option<String>,
}

/// A provider's error code, as far as it is safe to show: RFC 6749's characters, bounded.
pub fn shown_code(code: &str) -> String {
    code.chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(64)
        .collect()
}

impl ExternalIdentity {
    /// The providers the login page offers, by name.
    pub async fn sign_in_providers(&self) -> Result<Vec<IdentityProvider>, StoreError> {
        let mut providers = self.store.list_providers().await?;
        providers.retain(offers_sign_in);
        Ok(providers)
    }

    async fn offering(&self, id: ProviderId) -> Result<IdentityProvider, SignInError> {
        self.store
            .get_provider(id)
            .await?
            .filter(offers_sign_in)
            .ok_or(SignInError::NotOffered)
    }

    /// Starts a sign-in through provider `id`, which will come back to `redirect_uri` and
    /// then go to `next` (a local path).
    pub async fn start_sign_in(
        &self,
        id: ProviderId,
        redirect_uri: &str,
        next: &str,
    ) -> Result<SignInStart, SignInError> {
        let provider = self.offering(id).await?;
        let (Some(login), Some(endpoint)) = (
            &provider.settings.login,
            &provider.endpoints.authorization_endpoint,
        ) else {
            return Err(SignInError::NotOffered);
        };
        let state = random_token();
        let nonce = random_token();
        let code_verifier = random_token();
        let challenge = URL_SAFE_NO_PAD.encode(sha256(code_verifier.as_bytes()));
        let mut location = url::Url::parse(endpoint).map_err(|_| SignInError::NotOffered)?;
        location
            .query_pairs_mut()
            .append_pair("response_type", "code")
            .append_pair("client_id", &login.client_id)
            .append_pair("redirect_uri", redirect_uri)
            .append_pair("scope", SCOPES)
            .append_pair("state", &state)
            .append_pair("nonce", &nonce)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let now = self.clock.now();
        let kept = self
            .store
            .create_sso_login(
                &SsoLogin {
                    state_digest: state_digest(&state),
                    provider: provider.id,
                    nonce,
                    code_verifier,
                    next: next.to_string(),
                    created: now,
                    expires: now.plus(SIGN_IN_LIFETIME),
                },
                MAX_PENDING_SIGN_INS,
            )
            .await?;
        if !kept {
            return Err(SignInError::Busy);
        }
        Ok(SignInStart {
            location: location.into(),
            state,
        })
    }

    /// Takes the sign-in `state` names (once) and exchanges `code` for its ID token.
    pub async fn finish_sign_in(
        &self,
        state: &str,
        code: &str,
        redirect_uri: &str,
    ) -> Result<SignInAnswer, SignInError> {
        let login = self
            .store
            .take_sso_login(&state_digest(state), self.clock.now())
            .await?
            .ok_or(SignInError::Expired)?;
        // Switched off (or its client removed) since the sign-in started: refused.
        let provider = self.offering(login.provider).await?;
        let (Some(client), Some(endpoint)) =
            (&provider.settings.login, &provider.endpoints.token_endpoint)
        else {
            return Err(SignInError::NotOffered);
        };
        let secret = self
            .sealer
            .open(&login_purpose(&client.client_id), &client.sealed_secret)
            .map_err(|_| SignInError::Sealed)?;
        let mut response = self
            .http
            .post(endpoint)
            .basic_auth(
                form_encoded(&client.client_id),
                Some(form_encoded(secret.expose_secret())),
            )
            .header(http::header::ACCEPT, "application/json")
            .form(&[
                ("grant_type", "authorization_code"),
                ("code", code),
                ("redirect_uri", redirect_uri),
                ("code_verifier", &login.code_verifier),
            ])
            .send()
            .await
            .map_err(|e| SignInError::Unreachable(without_url(&e)))?;
        let status = response.status();
        let body = read_bounded(&mut response)
            .await
            .map_err(SignInError::Unreachable)?;
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|_| {
            SignInError::Refused(format!("its token endpoint answered {status} without JSON"))
        })?;
        let id_token = match (status.is_success(), answer.id_token, answer.error) {
            (true, Some(id_token), _) => id_token,
            (_, _, Some(error)) => return Err(SignInError::Refused(shown_code(&error))),
            _ => return Err(SignInError::Refused("no ID token".into())),
        };
        Ok(SignInAnswer {
            client_id: client.client_id.clone(),
            provider,
            id_token: SecretString::from(id_token),
            nonce: login.nonce,
            next: login.next,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_providers_error_code_is_shown_only_as_an_error_code() {
        assert_eq!(shown_code("invalid_grant"), "invalid_grant");
        assert_eq!(shown_code("<script>x</script>"), "scriptxscript");
        assert_eq!(shown_code(&"a".repeat(500)).len(), 64);
    }

    #[test]
    fn client_credentials_are_form_encoded_for_basic() {
        assert_eq!(form_encoded("a b:c%"), "a+b%3Ac%25");
    }
}
