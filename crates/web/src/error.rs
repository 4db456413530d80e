//! The one mapping from errors to HTTP responses, in Jira's shape:
//! `{"errorMessages":[...],"errors":{field: message}}` with `application/json;charset=UTF-8`.
//!
//! Every variant names its status; 401 carries `WWW-Authenticate`, 403 a stable reason code
//! in `X-Authentication-Denied-Reason`, 503 `Retry-After`. Server errors answer with a generic
//! message and log their cause once; the cause never reaches the client.

use axum::response::{IntoResponse, Response};
use http::StatusCode;
use http::header::{
    CONNECTION, CONTENT_TYPE, HeaderValue, RETRY_AFTER, SET_COOKIE, WWW_AUTHENTICATE,
};
use serde_json::json;
use tessera_auth::credentials::CredentialError;
use tessera_auth::{AuthError, Challenge};
use tessera_core::error::{Error, FieldErrors};

pub const JSON_UTF8: &str = "application/json;charset=UTF-8";
/// Jira's header telling a client why a login failed; clients show it to users.
pub const SERAPH_LOGIN_REASON: &str = "x-seraph-loginreason";
pub const DENIED_REASON: &str = "x-authentication-denied-reason";

pub const NOT_AUTHENTICATED: &str =
    "You are not authenticated. Authentication required to perform this operation.";

#[derive(Debug)]
pub enum ApiError {
    BadRequest(FieldErrors),
    /// Status 401. With `login_failed`, `X-Seraph-LoginReason: AUTHENTICATED_FAILED` is added;
    /// with `clear_session`, the client's session cookie is expired.
    Unauthenticated {
        message: String,
        login_failed: bool,
        clear_session: Option<String>,
        challenge: Challenge,
    },
    /// Status 401 for a refused token, with its challenge (RFC 6750 §3's `invalid_token`)
    /// and the reason code.
    InvalidToken {
        message: String,
        reason: &'static str,
        challenge: Challenge,
    },
    Forbidden {
        message: String,
        reason: &'static str,
    },
    NotFound(String),
    MethodNotAllowed,
    Conflict(FieldErrors),
    PayloadTooLarge(usize),
    /// The client took too long to send the body.
    RequestTimeout,
    UnsupportedMediaType,
    Unavailable {
        message: String,
        retry_after_seconds: u32,
    },
    /// Status 429: the caller's rate budget is spent (Jira Data Center's headers).
    RateLimited {
        /// The bucket spent, when the refusal is of one (its size is sent as headers).
        bucket: Option<tessera_core::policy::Quota>,
        retry_after_seconds: u64,
    },
    /// Status 403: password logins of this name or network are suspended after too many
    /// failures (Jira's `X-Seraph-LoginReason: AUTHENTICATION_DENIED`).
    LoginThrottled {
        retry_after_seconds: u64,
    },
    /// A fault of the server; the text is logged, never sent.
    Internal(String),
}

impl ApiError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        Self::BadRequest(FieldErrors::message(message))
    }

    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::BadRequest(FieldErrors::field(field, message))
    }

    pub fn unauthenticated() -> Self {
        Self::Unauthenticated {
            message: NOT_AUTHENTICATED.into(),
            login_failed: false,
            clear_session: None,
            challenge: Challenge::Basic,
        }
    }

    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) => StatusCode::BAD_REQUEST,
            Self::Unauthenticated { .. } | Self::InvalidToken { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } | Self::LoginThrottled { .. } => StatusCode::FORBIDDEN,
            Self::NotFound(_) => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict(_) => StatusCode::CONFLICT,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }
}

/// Jira's error body.
pub fn error_body(errors: &FieldErrors) -> serde_json::Value {
    json!({ "errorMessages": errors.messages, "errors": errors.fields })
}

/// The Jira error body a refusal carries (as its response would), for answers that gather
/// several refusals (`POST issue/bulk`).
pub fn body_of(error: ApiError) -> serde_json::Value {
    error_body(&error.parts().2)
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, mut headers, errors) = self.parts();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8));
        (status, headers, error_body(&errors).to_string()).into_response()
    }
}

impl ApiError {
    /// The status, the headers and the errors of the answer.
    fn parts(self) -> (StatusCode, http::HeaderMap, FieldErrors) {
        let status = self.status();
        let mut headers = http::HeaderMap::new();
        let errors = match self {
            Self::BadRequest(errors) | Self::Conflict(errors) => errors,
            Self::Unauthenticated {
                message,
                login_failed,
                clear_session,
                challenge,
            } => {
                append_challenge(&mut headers, challenge);
                if login_failed {
                    headers.insert(
                        SERAPH_LOGIN_REASON,
                        HeaderValue::from_static("AUTHENTICATED_FAILED"),
                    );
                }
                if let Some(cookie) = clear_session.and_then(|c| HeaderValue::from_str(&c).ok()) {
                    headers.insert(SET_COOKIE, cookie);
                }
                FieldErrors::message(message)
            }
            Self::InvalidToken {
                message,
                reason,
                challenge,
            } => {
                append_challenge(&mut headers, challenge);
                headers.insert(DENIED_REASON, HeaderValue::from_static(reason));
                let mut errors = FieldErrors::message(message);
                errors.add_field("reason", reason);
                errors
            }
            Self::Forbidden { message, reason } => {
                headers.insert(DENIED_REASON, HeaderValue::from_static(reason));
                let mut errors = FieldErrors::message(message);
                errors.add_field("reason", reason);
                errors
            }
            Self::NotFound(message) => FieldErrors::message(message),
            Self::MethodNotAllowed => {
                FieldErrors::message("The method is not allowed for this resource.")
            }
            // The rest of the body was never read, so the connection cannot carry another
            // request: say so, or a client reusing it races the server closing it.
            Self::PayloadTooLarge(limit) => {
                headers.insert(CONNECTION, HeaderValue::from_static("close"));
                FieldErrors::message(format!(
                    "The request body is larger than the {limit} bytes accepted."
                ))
            }
            Self::RequestTimeout => {
                headers.insert(CONNECTION, HeaderValue::from_static("close"));
                FieldErrors::message("The request body was not received in time.")
            }
            Self::UnsupportedMediaType => {
                FieldErrors::message("Unsupported Media Type: send the body as application/json.")
            }
            Self::RateLimited {
                bucket,
                retry_after_seconds,
            } => {
                headers.insert(RETRY_AFTER, HeaderValue::from(retry_after_seconds.max(1)));
                if let Some(bucket) = bucket {
                    crate::rate_limit::insert_headers(&mut headers, bucket, 0);
                }
                headers.insert(DENIED_REASON, HeaderValue::from_static("rate_limited"));
                let mut errors = FieldErrors::message(
                    "Too many requests: the rate limit for this caller is spent. Retry after the \
                     time given in Retry-After.",
                );
                errors.add_field("reason", "rate_limited");
                errors
            }
            Self::LoginThrottled {
                retry_after_seconds,
            } => {
                headers.insert(
                    SERAPH_LOGIN_REASON,
                    HeaderValue::from_static("AUTHENTICATION_DENIED"),
                );
                headers.insert(DENIED_REASON, HeaderValue::from_static("login_throttled"));
                headers.insert(RETRY_AFTER, HeaderValue::from(retry_after_seconds.max(1)));
                let mut errors = FieldErrors::message(
                    "Too many failed logins: password logins are suspended for a while. \
                     Tokens and open sessions keep working.",
                );
                errors.add_field("reason", "login_throttled");
                errors
            }
            Self::Unavailable {
                message,
                retry_after_seconds,
            } => {
                headers.insert(RETRY_AFTER, HeaderValue::from(retry_after_seconds));
                FieldErrors::message(message)
            }
            Self::Internal(cause) => {
                tracing::error!(%cause, "request failed");
                FieldErrors::message("An internal error occurred. It has been logged.")
            }
        };
        (status, headers, errors)
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::NotFound(missing) => Self::NotFound(missing.to_string()),
            Error::Denied(denied) => Self::Forbidden {
                message: denied.to_string(),
                reason: denied.reason_code(),
            },
            Error::Invalid(errors) => Self::BadRequest(errors),
            Error::Conflict(errors) => Self::Conflict(errors),
            Error::Store(store) => Self::Internal(store.to_string()),
        }
    }
}

impl From<AuthError> for ApiError {
    fn from(error: AuthError) -> Self {
        // The authentication layer decides each refusal's challenge.
        let challenge = error.challenge().unwrap_or(Challenge::Basic);
        match error {
            AuthError::Credential(
                problem @ (CredentialError::Multiple | CredentialError::Malformed),
            ) => Self::bad_request(problem.to_string()),
            AuthError::Credential(problem @ CredentialError::UnsupportedScheme) => {
                Self::Unauthenticated {
                    message: problem.to_string(),
                    login_failed: true,
                    clear_session: None,
                    challenge,
                }
            }
            AuthError::BadCredentials => Self::Unauthenticated {
                message: "Login failed: the username or password is incorrect.".into(),
                login_failed: true,
                clear_session: None,
                challenge,
            },
            AuthError::SessionInvalid => Self::Unauthenticated {
                message: error.to_string(),
                login_failed: false,
                clear_session: None,
                challenge,
            },
            AuthError::Xsrf(failure) => Self::Forbidden {
                message: failure.to_string(),
                reason: "xsrf_check_failed",
            },
            AuthError::Token(rejection) => Self::InvalidToken {
                message: rejection.to_string(),
                reason: rejection.reason_code(),
                challenge,
            },
            AuthError::Jwt(rejection) => Self::InvalidToken {
                message: rejection.to_string(),
                reason: rejection.reason_code(),
                challenge,
            },
            AuthError::OAuth1(problem) => Self::InvalidToken {
                message: error.to_string(),
                reason: problem.name(),
                challenge,
            },
            AuthError::LoginThrottled { retry_after } => Self::LoginThrottled {
                // Rounded up: a client retrying after this many seconds is let through.
                retry_after_seconds: retry_after.as_millis().div_ceil(1000) as u64,
            },
            AuthError::IpNotAllowed => Self::Forbidden {
                message: error.to_string(),
                reason: "ip_not_allowed",
            },
            AuthError::Denied(denial) => Self::Forbidden {
                message: denial.to_string(),
                reason: denial.reason_code(),
            },
            AuthError::Forbidden(denied) => Error::Denied(denied).into(),
            AuthError::Penalized => Self::RateLimited {
                bucket: None,
                retry_after_seconds: 1,
            },
            AuthError::Busy => Self::Unavailable {
                message: error.to_string(),
                retry_after_seconds: 1,
            },
            AuthError::Internal(cause) => Self::Internal(cause),
        }
    }
}

/// Sends a refusal's challenge, each scheme as its own `WWW-Authenticate` header.
fn append_challenge(headers: &mut http::HeaderMap, challenge: Challenge) {
    for value in challenge.header_values() {
        if let Ok(value) = HeaderValue::from_str(&value) {
            headers.append(WWW_AUTHENTICATE, value);
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
