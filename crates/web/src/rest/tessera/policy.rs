//! `/rest/tessera/1/policy`: the access policy, read and replaced whole by administrators.
//!
//! The document is the one [`tessera_core::policy::Policy`] serialises to, with its `version`,
//! `updated` and `updatedBy` beside it. A `PUT` may carry the `version` it was based on; if
//! another change came first it answers 409, so two administrators cannot silently overwrite
//! each other. Fields left out take their defaults (the document is replaced, not merged).

use axum::extract::State;
use serde_json::{Value, json};
use tessera_auth::policy::ActivePolicy;
use tessera_core::policy::{Policy, Surface};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody};
use crate::render::time;
use crate::state::AppState;

/// Members of the document that describe it rather than the policy.
const ABOUT: [&str; 3] = ["version", "updated", "updatedBy"];

pub fn policy_json(active: &ActivePolicy) -> Value {
    let mut document = serde_json::to_value(&active.policy).unwrap_or_else(|_| json!({}));
    if let Value::Object(map) = &mut document {
        map.insert("version".into(), json!(active.version));
        map.insert("updated".into(), json!(time(active.updated)));
        map.insert("updatedBy".into(), json!(active.updated_by));
    }
    document
}

/// Global ADMINISTER: the policy in force.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/policy",
    tag = "policy",
    responses(
        (status = 200, description = "The policy in force, with its version.", body = Object),
        super::openapi::Refused,
    ),
)]
pub async fn get_policy(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let active = state
        .auth
        .policy()
        .refresh()
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(Jira::ok(policy_json(&active)))
}

/// Global ADMINISTER (with websudo over a session; the ADMIN scope for a token): replaces the
/// policy. 400 for a policy that does not validate or would refuse this very request, 409 if
/// `version` is not the stored one.
#[utoipa::path(
    put,
    path = "/rest/tessera/1/policy",
    tag = "policy",
    request_body(content = Object, content_type = "application/json"),
    responses(
        (status = 200, description = "The policy now in force.", body = Object),
        super::openapi::Refused,
        super::openapi::Conflicting,
    ),
)]
pub async fn put_policy(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let Value::Object(mut map) = body else {
        return Err(ApiError::bad_request("The policy must be a JSON object."));
    };
    let expected = match map.get("version") {
        None | Some(Value::Null) => None,
        Some(version) => Some(
            version
                .as_i64()
                .ok_or_else(|| ApiError::field("version", "The version is a number."))?,
        ),
    };
    for key in ABOUT {
        map.remove(key);
    }
    let proposed: Policy = serde_json::from_value(Value::Object(map))
        .map_err(|e| ApiError::bad_request(format!("The policy is malformed: {e}")))?;
    let active = state
        .auth
        .policy()
        .change(
            &admin,
            &principal,
            Surface::Api,
            expected,
            proposed,
            state.clock.now(),
        )
        .await?;
    Ok(Jira::ok(policy_json(&active)))
}
