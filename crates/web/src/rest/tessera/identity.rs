//! `/rest/tessera/1/identityproviders`: the identity providers whose JWTs tessera accepts,
//! managed by administrators. Registering (or changing the issuer of) a provider reads its
//! discovery document and key set first: one that fails is a 400 naming what failed.

use std::collections::BTreeMap;

use axum::extract::State;
use secrecy::SecretString;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_auth::external::providers::{ClientInput, IntrospectionInput, ProviderInput};
use tessera_core::error::{Error, Missing};
use tessera_core::identity::{IdentityProvider, ProviderId};
use tessera_core::scopes::Scope;

use crate::error::ApiResult;
use crate::extract::{Auth, Jira, JsonBody, PathArgs, no_content};
use crate::render::time;
use crate::state::AppState;

fn provider_json(state: &AppState, provider: &IdentityProvider) -> Value {
    let s = &provider.settings;
    let e = &provider.endpoints;
    json!({
        "self": format!("{}/rest/tessera/1/identityproviders/{}", state.urls.base(), provider.id),
        "id": provider.id.0,
        "name": s.name,
        "issuer": s.issuer,
        "audiences": s.audiences,
        "userClaim": s.user_claim.name(),
        "groupsClaim": s.groups_claim,
        "groupMapping": s.group_mapping,
        "groupSync": s.group_sync.name(),
        "provisioning": s.provisioning.name(),
        "defaultScopes": s.default_scopes.iter().map(Scope::name).collect::<Vec<_>>(),
        "enabled": s.enabled,
        // The secret is never shown, not even sealed.
        "login": s.login.as_ref().map(|login| json!({
            "clientId": login.client_id,
            "redirectUri": format!("{}/login/sso/callback", state.urls.base()),
        })),
        "introspection": s.introspection.as_ref().map(|i| json!({
            "endpoint": provider.introspection().map(|(endpoint, _)| endpoint),
            "clientId": i.client.client_id,
        })),
        "discovered": {
            "jwksUri": e.jwks_uri,
            "authorizationEndpoint": e.authorization_endpoint,
            "tokenEndpoint": e.token_endpoint,
            "introspectionEndpoint": e.introspection_endpoint,
        },
        "created": time(provider.created),
    })
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProviderBody {
    name: Option<String>,
    issuer: Option<String>,
    audiences: Option<Vec<String>>,
    user_claim: Option<String>,
    /// Absent: kept; `null`: removed.
    #[serde(default, deserialize_with = "crate::extract::null_or")]
    #[schema(value_type = Option<String>, nullable)]
    groups_claim: Option<Option<String>>,
    group_mapping: Option<BTreeMap<String, String>>,
    group_sync: Option<String>,
    provisioning: Option<String>,
    default_scopes: Option<Vec<String>>,
    enabled: Option<bool>,
    /// Absent: kept; `null`: removed.
    #[serde(default, deserialize_with = "crate::extract::null_or")]
    #[schema(value_type = Option<LoginBody>, nullable)]
    login: Option<Option<LoginBody>>,
    /// Absent: kept; `null`: removed.
    #[serde(default, deserialize_with = "crate::extract::null_or")]
    #[schema(value_type = Option<IntrospectionBody>, nullable)]
    introspection: Option<Option<IntrospectionBody>>,
}

/// The client tessera introspects opaque tokens as, and where (RFC 7662).
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IntrospectionBody {
    /// The discovered one if absent.
    endpoint: Option<String>,
    client_id: String,
    /// May be left out on a change that keeps the client id.
    #[schema(value_type = Option<String>)]
    client_secret: Option<SecretString>,
}

/// The client tessera signs users in with at the provider.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LoginBody {
    client_id: String,
    /// May be left out on a change that keeps the client id.
    #[schema(value_type = Option<String>)]
    client_secret: Option<SecretString>,
}

impl From<ProviderBody> for ProviderInput {
    fn from(body: ProviderBody) -> Self {
        Self {
            name: body.name,
            issuer: body.issuer,
            audiences: body.audiences,
            user_claim: body.user_claim,
            groups_claim: body.groups_claim,
            group_mapping: body.group_mapping,
            group_sync: body.group_sync,
            provisioning: body.provisioning,
            default_scopes: body.default_scopes,
            enabled: body.enabled,
            login: body.login.map(|login| {
                login.map(|login| ClientInput {
                    client_id: login.client_id,
                    client_secret: login.client_secret,
                })
            }),
            introspection: body.introspection.map(|introspection| {
                introspection.map(|i| IntrospectionInput {
                    endpoint: i.endpoint,
                    client: ClientInput {
                        client_id: i.client_id,
                        client_secret: i.client_secret,
                    },
                })
            }),
        }
    }
}

fn provider_id(text: &str) -> Result<ProviderId, Error> {
    text.parse::<i64>()
        .map(ProviderId)
        .map_err(|_| Error::NotFound(Missing::IdentityProvider(text.to_string())))
}

/// Global ADMINISTER: every provider, by name.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/identityproviders",
    tag = "identity",
    responses(
        (status = 200, description = "Every provider.", body = [Object]),
        super::openapi::Refused,
    ),
)]
pub async fn get_providers(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let providers = state.external.providers(&admin).await?;
    let values = providers.iter().map(|p| provider_json(&state, p)).collect();
    Ok(Jira::ok(Value::Array(values)))
}

/// Global ADMINISTER: registers a provider; 201 with its `id`.
#[utoipa::path(
    post,
    path = "/rest/tessera/1/identityproviders",
    tag = "identity",
    request_body(content = ProviderBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered.", body = Object),
        super::openapi::Refused,
        super::openapi::Conflicting,
    ),
)]
pub async fn post_provider(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<ProviderBody>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let provider = state
        .external
        .register_provider(&admin, Some(&principal), body.into())
        .await?;
    Ok(Jira::created(provider_json(&state, &provider)))
}

/// Global ADMINISTER.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/identityproviders/{id}",
    tag = "identity",
    params(
        ("id" = String, Path, description = "The provider's id."),
    ),
    responses(
        (status = 200, description = "The provider.", body = Object),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn get_provider(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let provider = state.external.provider(&admin, provider_id(&id)?).await?;
    Ok(Jira::ok(provider_json(&state, &provider)))
}

/// Global ADMINISTER: changes the fields given (a new issuer is discovered first).
#[utoipa::path(
    put,
    path = "/rest/tessera/1/identityproviders/{id}",
    tag = "identity",
    params(
        ("id" = String, Path, description = "The provider's id."),
    ),
    request_body(content = ProviderBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed.", body = Object),
        super::openapi::Refused,
        super::openapi::Missing,
        super::openapi::Conflicting,
    ),
)]
pub async fn put_provider(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    JsonBody(body): JsonBody<ProviderBody>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let provider = state
        .external
        .update_provider(&admin, Some(&principal), provider_id(&id)?, body.into())
        .await?;
    Ok(Jira::ok(provider_json(&state, &provider)))
}

/// Global ADMINISTER: deletes a provider; its tokens stop working at once.
#[utoipa::path(
    delete,
    path = "/rest/tessera/1/identityproviders/{id}",
    tag = "identity",
    params(
        ("id" = String, Path, description = "The provider's id."),
    ),
    responses(
        (status = 204, description = "Deleted."),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn delete_provider(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<axum::response::Response> {
    let admin = state.authz.administer(&principal)?;
    state
        .external
        .delete_provider(&admin, Some(&principal), provider_id(&id)?)
        .await?;
    Ok(no_content())
}
