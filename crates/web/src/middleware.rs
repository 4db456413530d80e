//! The authentication layers that run before any handler, after the transport layer
//! ([`crate::client`]) has worked out who the client is.
//!
//! [`authenticate`] reads the one credential (the authenticator also
//! applies the access policy: methods, addresses, API groups), admits the principal (the USE
//! permission), takes one request from the caller's rate budget ([`crate::rate_limit`]) and
//! records the caller for the handlers; a bad credential ends the request there, never falling
//! back to anonymous, and is paid for from the client address's budget (once that is spent,
//! only credentials answered from memory are accepted from the address until it refills).
//! [`require_websudo`] and [`audit_admin_change`] wrap the administrative changes of the route
//! table.

use std::net::{IpAddr, Ipv4Addr};

use axum::extract::{OriginalUri, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::header::HOST;
use tessera_auth::{AuthError, RequestInfo, RequestUrl};
use tessera_core::audit::short_user_agent;
use tessera_core::authz::Authorizer;
use tessera_core::policy::Surface;
use tessera_core::principal::Caller;

use crate::client::{ClientAddr, request_url};
use crate::cookies::expired_session_cookie;
use crate::error::ApiError;
use crate::extract::{CurrentSession, Params};
use crate::rate_limit::Decision;
use crate::state::AppState;
use tessera_core::audit::{AuditEvent, Outcome};
use tessera_core::authz::Denied;
use tessera_core::principal::AuthMethod;

/// Origins that count as tessera itself ([`crate::urls::Urls::own_origins`]).
fn own_origins(state: &AppState, request: &Request, client: ClientAddr) -> Vec<String> {
    let host = request.headers().get(HOST).and_then(|h| h.to_str().ok());
    state.urls.own_origins(host, client.is_tls)
}

/// Whether the request carries `Authorization: OAuth`.
fn is_signed_by_oauth1(headers: &http::HeaderMap) -> bool {
    headers
        .get(http::header::AUTHORIZATION)
        .and_then(|value| value.as_bytes().get(..6))
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(b"OAuth "))
}

pub async fn authenticate(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let client = request
        .extensions()
        .get::<ClientAddr>()
        .copied()
        .unwrap_or(ClientAddr {
            ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            is_tls: false,
        });
    // A request signed by OAuth 1.0a signs its body too: it is read ahead (within the body
    // limit, or an upload's) and put back for the handler.
    let body = if is_signed_by_oauth1(request.headers()) {
        let limit = if request.uri().path().ends_with("/attachments") {
            state.settings.max_attachment_bytes + 64 * 1024
        } else {
            state.settings.max_body_bytes
        };
        let (parts, body) = request.into_parts();
        match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => {
                request = Request::from_parts(parts, axum::body::Body::from(bytes.clone()));
                bytes
            }
            Err(_) => {
                return ApiError::PayloadTooLarge(limit).into_response();
            }
        }
    } else {
        axum::body::Bytes::new()
    };
    let params = Params::parse(request.uri().query());
    let origins = own_origins(&state, &request, client);
    let url = request
        .extensions()
        .get::<RequestUrl>()
        .cloned()
        .unwrap_or_else(|| request_url(request.uri(), request.headers(), false, client.is_tls));
    let info = RequestInfo {
        method: request.method(),
        headers: request.headers(),
        form_token: params.get("atl_token"),
        client_ip: client.ip,
        own_origins: &origins,
        surface: Surface::Api,
        url: &url,
        body: &body,
        penalized: state.rate_limits.penalty(client.ip).is_some(),
    };
    let outcome = state.auth.authenticate(&info).await;
    match &outcome {
        Ok(Some(authenticated)) => state
            .metrics
            .authentication(authenticated.principal.method.name(), None),
        Ok(None) => {}
        Err(error) => {
            let kind = crate::metrics::presented_kind(request.headers());
            state
                .metrics
                .authentication(kind, Some(error.reason_code()));
            if error.is_failed_credential() {
                charge_failure(&state, client.ip);
            }
        }
    }
    let (caller, session) = match outcome {
        Ok(None) => (
            Caller::Anonymous {
                client_ip: client.ip,
            },
            None,
        ),
        Ok(Some(authenticated)) => {
            if let Err(denied) = Authorizer::require_use(&authenticated.principal) {
                return ApiError::from(denied).into_response();
            }
            (
                Caller::User(Box::new(authenticated.principal)),
                authenticated.session,
            )
        }
        Err(AuthError::Penalized) => {
            return penalized(&state, client.ip, &request).into_response();
        }
        Err(AuthError::SessionInvalid) => {
            let cookie = expired_session_cookie(&state.urls, client.is_tls);
            return ApiError::Unauthenticated {
                message: AuthError::SessionInvalid.to_string(),
                login_failed: false,
                clear_session: Some(cookie),
                challenge: tessera_auth::Challenge::Basic,
            }
            .into_response();
        }
        Err(error) => {
            if matches!(error, AuthError::BadCredentials) {
                tracing::info!(target: "tessera::security", client_ip = %client.ip, "authentication failed");
            }
            return ApiError::from(error).into_response();
        }
    };
    let decision = match take_from_budget(&state, &caller, &request) {
        Ok(decision) => decision,
        Err(refused) => return refused.into_response(),
    };
    request.extensions_mut().insert(caller);
    request.extensions_mut().insert(CurrentSession(session));
    let mut response = next.run(request).await;
    if let Decision::Allowed { bucket, remaining } = decision {
        crate::rate_limit::insert_headers(response.headers_mut(), bucket, remaining);
    }
    response
}

/// Pays for a failed credential from the client address's budget ([`crate::rate_limit`]).
pub fn charge_failure(state: &AppState, client_ip: IpAddr) {
    let policy = state.auth.policy().current();
    state.rate_limits.charge_failure(client_ip, &policy);
}

/// The answer to a request refused because its address is penalized for failed credentials:
/// 429 with `Retry-After` and the spent bucket, audited as any refusal of the rate limits.
fn penalized(state: &AppState, client_ip: IpAddr, request: &Request) -> ApiError {
    let Some(penalty) = state.rate_limits.penalty(client_ip) else {
        // Ended meanwhile: the client may retry at once.
        return ApiError::RateLimited {
            bucket: None,
            retry_after_seconds: 1,
        };
    };
    state.metrics.rate_limited("penalized");
    let caller = Caller::Anonymous { client_ip };
    rate_limited(
        state,
        &caller,
        request,
        penalty.bucket,
        penalty.retry_after(),
    )
}

/// Takes one request from the caller's rate budget; a spent budget is answered (429, with
/// Jira Data Center's headers) and audited here.
pub fn take_from_budget(
    state: &AppState,
    caller: &Caller,
    request: &Request,
) -> Result<Decision, ApiError> {
    let policy = state.auth.policy().current();
    let decision = state.rate_limits.check(caller, &policy);
    let Decision::Limited {
        bucket,
        retry_after,
    } = decision
    else {
        return Ok(decision);
    };
    state.metrics.rate_limited("rate_limited");
    Err(rate_limited(state, caller, request, bucket, retry_after))
}

/// A refusal by the rate limits, audited.
fn rate_limited(
    state: &AppState,
    caller: &Caller,
    request: &Request,
    bucket: tessera_core::policy::Quota,
    retry_after: std::time::Duration,
) -> ApiError {
    let now = state.clock.now();
    // The path, cut short: a client must not be able to fill the audit with long URLs.
    let path: String = request.uri().path().chars().take(200).collect();
    let event = match caller {
        Caller::User(principal) => AuditEvent::by(principal, now, "request.rate_limited", path),
        Caller::Anonymous { client_ip } => {
            AuditEvent::anonymous(now, *client_ip, "request.rate_limited", path)
                .user_agent(user_agent(request.headers()).as_deref())
        }
    };
    state
        .auth
        .audit()
        .record(event.outcome(Outcome::Denied).reason("rate_limited"));
    ApiError::RateLimited {
        bucket: Some(bucket),
        retry_after_seconds: retry_after.as_millis().div_ceil(1000) as u64,
    }
}

/// The login route takes from the client address's anonymous budget: with rate limiting on,
/// a client cannot try passwords faster than an anonymous caller may ask anything.
pub async fn limit_logins(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let client_ip = request
        .extensions()
        .get::<ClientAddr>()
        .map_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED), |c| c.ip);
    if let Err(refused) = take_from_budget(&state, &Caller::Anonymous { client_ip }, &request) {
        return refused.into_response();
    }
    next.run(request).await
}

/// The request's `User-Agent`, cut short.
pub fn user_agent(headers: &http::HeaderMap) -> Option<String> {
    headers
        .get(http::header::USER_AGENT)
        .map(|v| short_user_agent(&String::from_utf8_lossy(v.as_bytes())))
}

/// Administrative changes over a session need the password re-entered within the websudo
/// window (Jira's websudo); Basic with a password proves it on every request, and a token is
/// governed by its scopes instead (the ADMIN scope, checked by the authorizer).
pub async fn require_websudo(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    if let Some(Caller::User(principal)) = request.extensions().get::<Caller>()
        && principal.method == AuthMethod::Session
        && !principal.has_fresh_password(state.clock.now())
    {
        return ApiError::from(tessera_core::Error::Denied(Denied::WebsudoRequired))
            .into_response();
    }
    next.run(request).await
}

/// Every administrative change leaves an `admin.change` event: the method and path (not the
/// query or body, which may carry passwords), and the status it got.
pub async fn audit_admin_change(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let principal = match request.extensions().get::<Caller>() {
        Some(Caller::User(principal)) => Some(principal.clone()),
        _ => None,
    };
    // The whole path: nesting strips the prefix from the request's own URI.
    let path = request
        .extensions()
        .get::<OriginalUri>()
        .map_or_else(|| request.uri().path(), |original| original.path());
    let target = format!(
        "{} {}",
        request.method(),
        path.chars().take(200).collect::<String>()
    );
    let response = next.run(request).await;
    if let Some(principal) = principal {
        let status = response.status();
        let outcome = if status.is_success() {
            Outcome::Success
        } else if status == http::StatusCode::FORBIDDEN {
            Outcome::Denied
        } else {
            Outcome::Failure
        };
        let mut event =
            AuditEvent::by(&principal, state.clock.now(), "admin.change", target).outcome(outcome);
        if !status.is_success() {
            event = event.reason(status.as_str());
        }
        state.auth.audit().record(event);
    }
    response
}
