//! `/rest/tessera/1/loginfailures`: administrators lift a password-login suspension.

use axum::extract::State;
use axum::response::Response;
use tessera_core::audit::AuditEvent;
use tessera_core::throttle::Subject;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Params, no_content};
use crate::state::AppState;

/// Global ADMINISTER. `?username=` and/or `?ip=`: forgets their failed logins and any wait.
#[utoipa::path(
    delete,
    path = "/rest/tessera/1/loginfailures",
    tag = "policy",
    params(
        ("username" = Option<String>, Query, description = "A user name."),
        ("ip" = Option<String>, Query, description = "A client address."),
    ),
    responses(
        (status = 204, description = "Forgotten."),
        super::openapi::Refused,
    ),
)]
pub async fn delete_login_failures(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Response> {
    state.authz.administer(&principal)?;
    let mut subjects = Vec::new();
    if let Some(name) = params.text("username") {
        subjects.push(Subject::User(name.trim().to_lowercase()));
    }
    if let Some(ip) = params.text("ip") {
        let ip = ip
            .trim()
            .parse()
            .map_err(|_| ApiError::field("ip", "Give an IP address."))?;
        subjects.push(Subject::Network(ip));
    }
    if subjects.is_empty() {
        return Err(ApiError::bad_request(
            "Name the user (username=) or the client address (ip=) to clear.",
        ));
    }
    let now = state.clock.now();
    for subject in subjects {
        if state.auth.clear_login_failures(&subject).await? {
            let event = AuditEvent::by(&principal, now, "login.failures_cleared", subject.key());
            if let Err(error) = state.store.record_audit(&[event]).await {
                tracing::error!(%error, "could not record an audit event");
            }
        }
    }
    Ok(no_content())
}
