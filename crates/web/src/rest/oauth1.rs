//! OAuth 1.0a's endpoints at Jira's servlet paths: `POST /plugins/servlet/oauth/request-token`
//! and `POST /plugins/servlet/oauth/access-token`, the consumer's legs of the dance (the
//! user's, the approval, is a page: `crate::pages::oauth1`).
//!
//! They answer as Jira does: `application/x-www-form-urlencoded` bodies, and a refusal as
//! `oauth_problem=...` with `WWW-Authenticate: OAuth realm="..."` (the OAuth Problem Reporting
//! extension Jira's clients read). The request's parameters are read from the `Authorization:
//! OAuth` header, the query and an urlencoded body, all of which the signature covers.

use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, WWW_AUTHENTICATE};
use http::{HeaderMap, HeaderValue, Method, StatusCode};
use tessera_auth::RequestUrl;
use tessera_auth::credentials::oauth1_params;
use tessera_auth::oauth1::signature::encode;
use tessera_auth::oauth1::verify::{FORM, Problem, SignedRequest};

use tessera_core::principal::AuthMethod;

use crate::client::ClientAddr;
use crate::state::AppState;

pub const REQUEST_TOKEN_PATH: &str = "/plugins/servlet/oauth/request-token";
pub const AUTHORIZE_PATH: &str = "/plugins/servlet/oauth/authorize";
pub const ACCESS_TOKEN_PATH: &str = "/plugins/servlet/oauth/access-token";

/// A form-encoded answer that no cache may keep.
fn form_response(status: StatusCode, pairs: &[(&str, &str)]) -> Response {
    let body = pairs
        .iter()
        .map(|(name, value)| format!("{}={}", encode(name), encode(value)))
        .collect::<Vec<_>>()
        .join("&");
    (
        status,
        [
            (CONTENT_TYPE, HeaderValue::from_static(FORM)),
            (CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

/// A refusal in Jira's form: the problem in the body and in the challenge.
fn problem_response(state: &AppState, problem: Problem) -> Response {
    let status = match problem {
        Problem::ParameterAbsent(_)
        | Problem::SignatureMethodRejected
        | Problem::VersionRejected => StatusCode::BAD_REQUEST,
        Problem::TimestampRefused
        | Problem::ConsumerKeyUnknown
        | Problem::SignatureInvalid
        | Problem::NonceUsed
        | Problem::TokenRejected
        | Problem::TokenExpired
        | Problem::PermissionDenied => StatusCode::UNAUTHORIZED,
        Problem::Internal => StatusCode::INTERNAL_SERVER_ERROR,
    };
    let mut pairs = vec![("oauth_problem", problem.name())];
    if let Problem::ParameterAbsent(name) = problem {
        pairs.push(("oauth_parameters_absent", name));
    }
    let mut response = form_response(status, &pairs);
    let challenge = format!(
        "OAuth realm=\"{}\", oauth_problem=\"{}\"",
        state.urls.base(),
        problem.name()
    );
    if let Ok(value) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(WWW_AUTHENTICATE, value);
    }
    response
}

/// The parameters a signed request carries, or the problem with them.
fn signed_request<'r>(
    method: &'r Method,
    url: &'r RequestUrl,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<SignedRequest<'r>, Problem> {
    let header = oauth1_params(headers)
        .map_err(|_| Problem::ParameterAbsent("oauth_signature"))?
        .unwrap_or_default();
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok());
    SignedRequest::new(method, url, header, content_type, body)
}

/// What every leg takes first: the global address rule, the body, the signed parameters.
async fn prologue<'r>(
    state: &AppState,
    client: ClientAddr,
    method: &'r Method,
    url: &'r RequestUrl,
    headers: &HeaderMap,
    body: &'r Result<Bytes, BytesRejection>,
) -> Result<SignedRequest<'r>, Response> {
    // The global address rule holds for every step of the dance.
    if state.auth.check_client_address(client.ip).await.is_err() {
        return Err(problem_response(state, Problem::PermissionDenied));
    }
    // And the method rule: application links switched off refuse every step (the refusal
    // is recorded as `method_disabled`).
    if state
        .auth
        .check_method_enabled(AuthMethod::OAuth1, client.ip)
        .await
        .is_err()
    {
        return Err(problem_response(state, Problem::PermissionDenied));
    }
    // And the address's anonymous budget, as for the OAuth 2.0 endpoints: each step costs a
    // database read before its signature can be checked.
    let anonymous = tessera_core::principal::Caller::Anonymous {
        client_ip: client.ip,
    };
    let policy = state.auth.policy().current();
    if let crate::rate_limit::Decision::Limited { retry_after, .. } =
        state.rate_limits.check(&anonymous, &policy)
    {
        let mut response = form_response(
            StatusCode::TOO_MANY_REQUESTS,
            &[
                ("oauth_problem", Problem::PermissionDenied.name()),
                ("oauth_problem_advice", "rate_limited"),
            ],
        );
        let seconds = retry_after.as_millis().div_ceil(1000).max(1) as u64;
        response
            .headers_mut()
            .insert(http::header::RETRY_AFTER, HeaderValue::from(seconds));
        return Err(response);
    }
    let Ok(body) = body else {
        return Err(problem_response(
            state,
            Problem::ParameterAbsent("oauth_signature"),
        ));
    };
    signed_request(method, url, headers, body).map_err(|problem| problem_response(state, problem))
}

fn refused(state: &AppState, client: ClientAddr, problem: Problem) -> Response {
    tracing::info!(target: "tessera::security", problem = problem.name(), client_ip = %client.ip, "OAuth 1.0a request refused");
    problem_response(state, problem)
}

/// The consumer's legs of the dance.
#[derive(Clone, Copy, Debug)]
enum Leg {
    RequestToken,
    AccessToken,
}

/// Either leg: the prologue, the step, and its form-encoded answer.
async fn answer(
    state: &AppState,
    leg: Leg,
    client: ClientAddr,
    (method, url, headers): (&Method, &RequestUrl, &HeaderMap),
    body: &Result<Bytes, BytesRejection>,
) -> Response {
    let request = match prologue(state, client, method, url, headers, body).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    // An access token never outlives the policy's longest token lifetime.
    let days = state
        .auth
        .policy()
        .current()
        .policy
        .tokens
        .max_lifetime_days;
    let lifetime = days.map(|d| Duration::from_secs(u64::from(d) * 24 * 60 * 60));
    let issued = match leg {
        Leg::RequestToken => state.oauth1.issue_request_token(&request).await,
        Leg::AccessToken => state.oauth1.issue_access_token(&request, lifetime).await,
    };
    match issued {
        Ok(issued) => {
            let expires_in = lifetime.map(|l| l.as_secs().to_string());
            let mut pairs = vec![
                ("oauth_token", issued.token.expose()),
                ("oauth_token_secret", issued.secret.as_str()),
            ];
            match (leg, &expires_in) {
                (Leg::RequestToken, _) => pairs.push(("oauth_callback_confirmed", "true")),
                // Jira's answer names the access token's lifetime, in seconds.
                (Leg::AccessToken, Some(seconds)) => pairs.push(("oauth_expires_in", seconds)),
                (Leg::AccessToken, None) => {}
            }
            form_response(StatusCode::OK, &pairs)
        }
        Err(problem) => refused(state, client, problem),
    }
}

/// Anyone, with a consumer's signature: a request token for the dance (RFC 5849 §2.1).
pub async fn post_request_token(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<ClientAddr>,
    axum::Extension(url): axum::Extension<RequestUrl>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request = (&method, &url, &headers);
    answer(&state, Leg::RequestToken, client, request, &body).await
}

/// Anyone, with a consumer's signature over its approved request token and the verifier:
/// an access token, once (RFC 5849 §2.3).
pub async fn post_access_token(
    State(state): State<AppState>,
    axum::Extension(client): axum::Extension<ClientAddr>,
    axum::Extension(url): axum::Extension<RequestUrl>,
    method: Method,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let request = (&method, &url, &headers);
    answer(&state, Leg::AccessToken, client, request, &body).await
}
