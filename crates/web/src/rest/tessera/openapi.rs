//! The OpenAPI 3.1 description of tessera's own API (`/rest/tessera/1`), generated from the
//! handlers' `#[utoipa::path]` annotations and the request bodies' types, and served at
//! `/rest/tessera/1/openapi.json` naming this server's base URL. A test fails when a route of
//! the table has no operation in it, or an operation no route; `scripts/test` runs schemathesis
//! against a live server with it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use axum::extract::State;
use serde_json::{Value, json};
use utoipa::openapi::security::{
    ApiKey, ApiKeyValue, Http, HttpAuthScheme, SecurityRequirement, SecurityScheme,
};
use utoipa::{Modify, OpenApi};

use crate::extract::Jira;
use crate::state::AppState;

/// Jira's error shape, of every refusal.
#[derive(Debug, utoipa::ToSchema)]
#[schema(rename_all = "camelCase")]
#[allow(dead_code)]
pub struct ErrorCollection {
    /// What is wrong with the request as a whole.
    error_messages: Vec<String>,
    /// What is wrong, by field.
    errors: BTreeMap<String, String>,
}

/// Paging as Jira's: a whole number each, or it counts as absent.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct Paging {
    /// Index of the first item (0).
    start_at: Option<String>,
    /// Items per page.
    max_results: Option<String>,
}

/// The audit trail's filters, all optional.
#[derive(Debug, utoipa::IntoParams)]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
#[allow(dead_code)]
pub struct AuditFilters {
    /// From this day (YYYY-MM-DD) or millisecond on.
    from: Option<String>,
    /// Before this day or millisecond.
    to: Option<String>,
    /// The acting user name.
    actor: Option<String>,
    /// An action, or a prefix ending in `*` (`login.*`).
    action: Option<String>,
    /// `success`, `failure` or `denied`.
    outcome: Option<String>,
    /// An address or CIDR range.
    ip: Option<String>,
    /// What the event was about, exactly (`user:alice`).
    target: Option<String>,
    /// The request it was recorded in (`X-Request-Id`).
    request_id: Option<String>,
}

/// The refusals any operation that needs a credential may answer.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Refused {
    /// The request is not valid: Jira's error shape names the field. Two credentials at once
    /// (a header and a session cookie) are not valid either.
    #[response(status = 400)]
    BadRequest(ErrorCollection),
    /// No valid credential: `WWW-Authenticate` says how to give one.
    #[response(status = 401)]
    Unauthorized(ErrorCollection),
    /// The caller may not do this (permission, scope, policy, websudo).
    #[response(status = 403)]
    Forbidden(ErrorCollection),
    /// Over the caller's rate limit: try again after `Retry-After`.
    #[response(status = 429)]
    TooManyRequests(ErrorCollection),
}

/// The refusals of an operation anyone may call.
#[derive(Debug, utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum Invalid {
    /// The request is not valid: Jira's error shape names the field.
    #[response(status = 400)]
    BadRequest(ErrorCollection),
    /// Over the address's rate limit: try again after `Retry-After`.
    #[response(status = 429)]
    TooManyRequests(ErrorCollection),
}

/// No such item, or not one the caller may see.
#[derive(Debug, utoipa::IntoResponses)]
#[response(status = 404)]
#[allow(dead_code)]
pub struct Missing(ErrorCollection);

/// It conflicts with what exists (a name or key taken).
#[derive(Debug, utoipa::IntoResponses)]
#[response(status = 409)]
#[allow(dead_code)]
pub struct Conflicting(ErrorCollection);

/// Busy: try again after `Retry-After`.
#[derive(Debug, utoipa::IntoResponses)]
#[response(status = 503)]
#[allow(dead_code)]
pub struct Busy(ErrorCollection);

#[derive(Debug, OpenApi)]
#[openapi(
    info(
        title = "tessera administration API",
        version = "1",
        description = "tessera's own API: tokens and service accounts, the access policy, the audit \
            trail, API usage, OAuth 2.0 clients and grants, OAuth 1.0a consumers, identity \
            providers. Jira's own REST API (`/rest/api/2`) is described by Atlassian."
    ),
    paths(
        get_openapi,
        super::tokens::get_all_tokens,
        super::tokens::delete_all_tokens,
        super::tokens::delete_any_token,
        super::tokens::post_credentials_revoke,
        super::throttle::delete_login_failures,
        super::audit::get_audit,
        super::audit::get_audit_export,
        super::policy::get_policy,
        super::policy::put_policy,
        super::usage::get_usage,
        super::usage::get_unused,
        super::usage::get_new_networks,
        super::identity::get_providers,
        super::identity::post_provider,
        super::identity::get_provider,
        super::identity::put_provider,
        super::identity::delete_provider,
        super::oauth1::get_consumers,
        super::oauth1::post_consumer,
        super::oauth1::get_consumer,
        super::oauth1::put_consumer,
        super::oauth1::delete_consumer,
        super::oauth1::get_consumer_tokens,
        super::oauth1::delete_consumer_token,
        super::oauth1::get_tokens,
        super::oauth1::delete_token,
        super::oauth2::get_clients,
        super::oauth2::post_client,
        super::oauth2::get_client,
        super::oauth2::put_client,
        super::oauth2::post_client_secret,
        super::oauth2::get_grants,
        super::oauth2::delete_grant,
        super::service_accounts::get_service_accounts,
        super::service_accounts::post_service_account,
        super::service_accounts::get_keys,
        super::service_accounts::post_key,
        super::service_accounts::delete_key,
        super::service_accounts::post_rotate_key,
    ),
    components(schemas(ErrorCollection)),
    modifiers(&Credentials),
)]
pub struct TesseraApi;

/// Every way to authenticate; each operation takes any of them unless it says otherwise.
struct Credentials;

impl Modify for Credentials {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "basic",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Basic)),
        );
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new("JSESSIONID"))),
        );
        openapi.security = Some(
            ["basic", "bearer", "session"]
                .into_iter()
                .map(|name| SecurityRequirement::new(name, Vec::<String>::new()))
                .collect(),
        );
    }
}

/// The document, made once; each answer names the server's base URL.
fn document() -> &'static Value {
    static DOCUMENT: OnceLock<Value> = OnceLock::new();
    DOCUMENT.get_or_init(|| serde_json::to_value(TesseraApi::openapi()).unwrap_or_default())
}

/// Anyone: this description.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/openapi.json",
    tag = "api",
    responses((status = 200, description = "This document.", body = Object)),
    security(()),
)]
pub async fn get_openapi(State(state): State<AppState>) -> Jira {
    let mut document = document().clone();
    document["servers"] = json!([{ "url": state.urls.base() }]);
    Jira::ok(document)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    #[test]
    fn every_route_has_an_operation_and_every_operation_a_route() {
        let doc = TesseraApi::openapi();
        let mut documented = BTreeSet::new();
        for (path, item) in &doc.paths.paths {
            for (method, operation) in [
                ("GET", &item.get),
                ("PUT", &item.put),
                ("POST", &item.post),
                ("DELETE", &item.delete),
                ("PATCH", &item.patch),
                ("HEAD", &item.head),
                ("OPTIONS", &item.options),
            ] {
                if operation.is_some() {
                    documented.insert((method.to_string(), path.clone()));
                }
            }
        }
        let routed: BTreeSet<_> = crate::routes::route_table()
            .into_iter()
            .filter(|route| route.path.starts_with("/rest/tessera/1/"))
            .map(|route| (route.method.to_string(), route.path))
            .collect();
        let undocumented: Vec<_> = routed.difference(&documented).collect();
        let unrouted: Vec<_> = documented.difference(&routed).collect();
        assert!(
            undocumented.is_empty(),
            "routes without an operation: {undocumented:?}"
        );
        assert!(
            unrouted.is_empty(),
            "operations without a route: {unrouted:?}"
        );
        assert_eq!(routed.len(), 40);
    }

    #[test]
    fn the_document_is_openapi_3_1_with_credentials_and_error_shapes() {
        let doc = document();
        assert_eq!(doc["openapi"], "3.1.0");
        let schemes = &doc["components"]["securitySchemes"];
        assert_eq!(schemes["basic"]["scheme"], "basic");
        assert_eq!(schemes["session"]["name"], "JSESSIONID");
        assert!(doc["components"]["schemas"]["ErrorCollection"].is_object());
        assert!(doc["components"]["schemas"]["ProviderBody"].is_object());
        // The leak report is anonymous; the rest needs a credential.
        let revoke = &doc["paths"]["/rest/tessera/1/credentials/revoke"]["post"];
        assert_eq!(revoke["security"], json!([{}]));
        assert!(doc["paths"]["/rest/tessera/1/policy"]["put"]["security"].is_null());
        // Shared parameter sets: the audit filters and Jira's paging, optional, by their names.
        let parameters = doc["paths"]["/rest/tessera/1/audit"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let names: Vec<_> = parameters
            .iter()
            .map(|p| p["name"].as_str().unwrap())
            .collect();
        for name in ["from", "actor", "requestId", "startAt", "maxResults"] {
            assert!(names.contains(&name), "{names:?}");
        }
        assert!(
            parameters
                .iter()
                .all(|p| p["in"] == "query" && p["required"] != true)
        );
    }
}
