//! The OAuth 2.0 endpoints a client talks to directly, at Jira Data Center's paths:
//! `POST /rest/oauth2/latest/token` (RFC 6749 §3.2), `/revoke` (RFC 7009), `/introspect`
//! (RFC 7662), and the server's metadata at `/.well-known/oauth-authorization-server`
//! (RFC 8414). They answer in RFC 6749 §5.2's error form, never Jira's, and every response
//! is `no-store` (§5.1). Clients authenticate with HTTP Basic or with form fields (§2.3.1),
//! never both.

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use http::header::{AUTHORIZATION, CACHE_CONTROL, CONTENT_TYPE, PRAGMA, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};
use tessera_auth::credentials::{self, CredentialError};
use tessera_auth::oauth2::{ClientCredentials, OAuth2Error, TokenParams};
use tessera_core::oauth2::{Client, OAuth2TokenKind, scope_string};
use tessera_core::permissions::Flag;
use tessera_core::scopes::Scope;

use crate::client::ClientAddr;
use crate::error::JSON_UTF8;
use crate::extract::FormBody;
use crate::state::AppState;

/// Where the endpoints live, under the base URL.
pub const AUTHORIZE_PATH: &str = "/rest/oauth2/latest/authorize";
pub const TOKEN_PATH: &str = "/rest/oauth2/latest/token";
pub const REVOKE_PATH: &str = "/rest/oauth2/latest/revoke";
pub const INTROSPECT_PATH: &str = "/rest/oauth2/latest/introspect";
pub const METADATA_PATH: &str = "/.well-known/oauth-authorization-server";

/// A JSON answer that no cache may keep (RFC 6749 §5.1).
fn no_store(status: StatusCode, body: Value) -> Response {
    (
        status,
        [
            (CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8)),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
            (PRAGMA, HeaderValue::from_static("no-cache")),
        ],
        body.to_string(),
    )
        .into_response()
}

/// An error in RFC 6749 §5.2's form; `invalid_client` after Basic carries a challenge.
fn oauth_error(error: OAuth2Error, used_basic: bool) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::BAD_REQUEST);
    let mut response = no_store(
        status,
        json!({"error": error.error, "error_description": error.description}),
    );
    if error.error == "invalid_client" && used_basic {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"tessera\""),
        );
    }
    response
}

fn invalid_request(description: &str) -> OAuth2Error {
    OAuth2Error::new("invalid_request", description)
}

/// RFC 6749 §2.3.1: the id and secret in Basic are form-urlencoded before base64.
fn form_decode(text: &str) -> String {
    form_urlencoded::parse(format!("x={text}").as_bytes())
        .next()
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}

/// Whether the request carries Basic at all (a refusal then needs the challenge, §5.2).
fn sends_basic(headers: &HeaderMap) -> bool {
    headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.len() > 6 && v[..6].eq_ignore_ascii_case("basic "))
}

/// The client's credentials, from Basic (read by the one credential parser) or from the
/// form; both at once is refused. The second value tells whether Basic was used.
fn client_credentials(
    headers: &HeaderMap,
    form: &FormBody,
) -> Result<(ClientCredentials, bool), OAuth2Error> {
    let malformed = || OAuth2Error::new("invalid_client", "Malformed client credentials.");
    let basic = credentials::basic(headers).map_err(|error| match error {
        CredentialError::Multiple => {
            invalid_request("The request carries more than one credential.")
        }
        CredentialError::Malformed | CredentialError::UnsupportedScheme => malformed(),
    })?;
    let in_form = form.get("client_secret").is_some();
    match basic {
        Some((id, secret)) => {
            if in_form {
                return Err(invalid_request(
                    "The client authenticated twice (Basic and form).",
                ));
            }
            let id = form_decode(&id);
            if form.get("client_id").is_some_and(|form_id| form_id != id) {
                return Err(invalid_request(
                    "client_id differs from the authenticated client.",
                ));
            }
            Ok((
                ClientCredentials {
                    client_id: Some(id),
                    client_secret: Some(SecretString::from(form_decode(secret.expose_secret()))),
                },
                true,
            ))
        }
        None => Ok((
            ClientCredentials {
                client_id: form.get("client_id").map(str::to_string),
                client_secret: form
                    .get("client_secret")
                    .map(|s| SecretString::from(s.to_string())),
            },
            false,
        )),
    }
}

/// The form body (RFC 6749 §4.1.3: `application/x-www-form-urlencoded`), with no parameter
/// sent twice (§3.2).
fn form_of(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<FormBody, OAuth2Error> {
    let form = FormBody::parse(headers, body).map_err(|_| {
        invalid_request("Send the parameters as application/x-www-form-urlencoded.")
    })?;
    if form.has_repeated_field() {
        return Err(invalid_request("A parameter was sent more than once."));
    }
    Ok(form)
}

/// The address check and rate budget every client endpoint takes first.
async fn admitted(state: &AppState, client: ClientAddr) -> Result<(), Response> {
    if let Err(error) = state.auth.check_client_address(client.ip).await {
        let mut response = oauth_error(
            OAuth2Error {
                error: "access_denied",
                description: error.to_string(),
                status: 403,
            },
            false,
        );
        if let tessera_auth::AuthError::Denied(denial) = error {
            response.headers_mut().insert(
                crate::error::DENIED_REASON,
                HeaderValue::from_static(denial.reason_code()),
            );
        }
        return Err(response);
    }
    let anonymous = tessera_core::principal::Caller::Anonymous {
        client_ip: client.ip,
    };
    let policy = state.auth.policy().current();
    if let crate::rate_limit::Decision::Limited { retry_after, .. } =
        state.rate_limits.check(&anonymous, &policy)
    {
        let mut response = oauth_error(
            OAuth2Error {
                error: "slow_down",
                description: "Too many requests from this address.".into(),
                status: 429,
            },
            false,
        );
        let seconds = retry_after.as_millis().div_ceil(1000).max(1) as u64;
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
        return Err(response);
    }
    Ok(())
}

/// A client that passed [`admitted`] and authenticated, with the form it sent.
struct Caller {
    client: Client,
    form: FormBody,
    /// Whether it authenticated with Basic (a refusal then carries the challenge, §5.2).
    used_basic: bool,
}

/// The steps every client endpoint takes first: address and rate budget, the form, and
/// client authentication. A refusal comes back as the finished response.
async fn caller(
    state: &AppState,
    client_addr: ClientAddr,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Caller, Response> {
    admitted(state, client_addr).await?;
    let form = form_of(headers, body).map_err(|error| oauth_error(error, false))?;
    let (credentials, used_basic) = client_credentials(headers, &form)
        .map_err(|error| oauth_error(error, sends_basic(headers)))?;
    let client = state
        .oauth2
        .authenticate_client(&credentials)
        .await
        .map_err(|error| oauth_error(error, used_basic))?;
    Ok(Caller {
        client,
        form,
        used_basic,
    })
}

/// `POST /rest/oauth2/latest/token`.
pub async fn post_token(
    State(state): State<AppState>,
    axum::Extension(client_addr): axum::Extension<ClientAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Caller {
        client,
        form,
        used_basic,
    } = match caller(&state, client_addr, &headers, body).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let text = |name: &str| form.get(name).map(str::to_string);
    let params = TokenParams {
        grant_type: text("grant_type"),
        code: text("code"),
        redirect_uri: text("redirect_uri"),
        code_verifier: text("code_verifier"),
        refresh_token: text("refresh_token"),
        scope: text("scope"),
    };
    match state
        .oauth2
        .exchange(&client, &params, client_addr.ip)
        .await
    {
        Ok(issued) => {
            let mut body = json!({
                "access_token": issued.access_token.expose(),
                "token_type": "Bearer",
                "expires_in": issued.expires_in,
                "scope": scope_string(issued.scopes),
            });
            if let Some(refresh) = &issued.refresh_token {
                body["refresh_token"] = json!(refresh.expose());
            }
            no_store(StatusCode::OK, body)
        }
        Err(error) => oauth_error(error, used_basic),
    }
}

/// `POST /rest/oauth2/latest/revoke` (RFC 7009 §2.1): 200 for a revoked or unknown token.
pub async fn post_revoke(
    State(state): State<AppState>,
    axum::Extension(client_addr): axum::Extension<ClientAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Caller {
        client,
        form,
        used_basic,
    } = match caller(&state, client_addr, &headers, body).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let Some(token) = form.get("token") else {
        return oauth_error(invalid_request("token is required."), used_basic);
    };
    match state
        .oauth2
        .revoke_for_client(&client, token, client_addr.ip)
        .await
    {
        Ok(()) => no_store(StatusCode::OK, json!({})),
        Err(error) => oauth_error(error, used_basic),
    }
}

/// `POST /rest/oauth2/latest/introspect` (RFC 7662 §2): for confidential clients, about their
/// own tokens; anything else is `{"active": false}` (§2.2).
pub async fn post_introspect(
    State(state): State<AppState>,
    axum::Extension(client_addr): axum::Extension<ClientAddr>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Caller {
        client,
        form,
        used_basic,
    } = match caller(&state, client_addr, &headers, body).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    if !client.confidential {
        return oauth_error(
            OAuth2Error::new(
                "invalid_client",
                "Introspection needs a confidential client.",
            ),
            used_basic,
        );
    }
    let Some(token) = form.get("token") else {
        return oauth_error(invalid_request("token is required."), used_basic);
    };
    match state.oauth2.introspect(&client, token).await {
        Ok(Some(found)) => {
            let seconds = |at: tessera_core::clock::Timestamp| at.as_millis().div_euclid(1000);
            no_store(
                StatusCode::OK,
                json!({
                    "active": true,
                    "scope": scope_string(found.scopes),
                    "client_id": found.client_id,
                    "username": found.username,
                    "sub": found.username,
                    "token_type": match found.kind {
                        OAuth2TokenKind::Access => "Bearer",
                        OAuth2TokenKind::Refresh => "refresh_token",
                    },
                    "iat": seconds(found.issued),
                    "exp": found.expires.map(seconds),
                    "iss": state.urls.base(),
                }),
            )
        }
        Ok(None) => no_store(StatusCode::OK, json!({"active": false})),
        Err(error) => oauth_error(error, used_basic),
    }
}

/// `GET /.well-known/oauth-authorization-server` (RFC 8414 §3.2): anyone.
pub async fn get_metadata(State(state): State<AppState>) -> Response {
    let base = state.urls.base();
    let coarse = ["READ", "WRITE", "ADMIN", "SYSTEM_ADMIN"];
    let scopes: Vec<&str> = coarse
        .into_iter()
        .chain(Scope::ALL.iter().map(|s| s.name()))
        .collect();
    let body = json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}{AUTHORIZE_PATH}"),
        "token_endpoint": format!("{base}{TOKEN_PATH}"),
        "revocation_endpoint": format!("{base}{REVOKE_PATH}"),
        "introspection_endpoint": format!("{base}{INTROSPECT_PATH}"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "refresh_token", "client_credentials"],
        "code_challenge_methods_supported": ["S256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "revocation_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post", "none"],
        "introspection_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
        "scopes_supported": scopes,
        "authorization_response_iss_parameter_supported": true,
    });
    (
        StatusCode::OK,
        [(CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8))],
        body.to_string(),
    )
        .into_response()
}
