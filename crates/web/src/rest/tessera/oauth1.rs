//! `/rest/tessera/1/oauth1/consumers`: OAuth 1.0a consumers (application links), managed by
//! administrators. A consumer is registered with its RSA public key (PEM, 2048 bits or more)
//! and its callback (`oob` when it cannot receive one); deleting it ends every token it holds.
//! `/rest/tessera/1/oauth1/tokens`: the applications a user authorized (access tokens), which
//! the user, and an administrator per consumer, can list and revoke.

use axum::extract::State;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_auth::oauth1::consumers::{ConsumerEdit, ConsumerInput};
use tessera_auth::oauth1::dance::Access;
use tessera_core::error::Error;
use tessera_core::oauth1::{Consumer, OAuth1Token};
use tessera_core::scopes::Scope;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, PathArgs, no_content};
use crate::render::time;
use crate::state::AppState;
use crate::urls::encode;

/// A consumer, with the name of the user its two-legged requests act as (`executeAs`, `null`
/// when they are refused).
async fn consumer_json(state: &AppState, consumer: &Consumer) -> Result<Value, Error> {
    let execute_as = match consumer.run_as {
        Some(user) => state.store.find_user(user).await?.map(|u| u.name),
        None => None,
    };
    Ok(json!({
        "self": format!(
            "{}/rest/tessera/1/oauth1/consumers/{}",
            state.urls.base(),
            encode(&consumer.consumer_key)
        ),
        "consumerKey": consumer.consumer_key,
        "name": consumer.name,
        "publicKey": consumer.public_key,
        "callback": consumer.callback,
        "executeAs": execute_as,
        "created": time(consumer.created),
    }))
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ConsumerBody {
    consumer_key: Option<String>,
    name: Option<String>,
    public_key: Option<String>,
    callback: Option<String>,
    /// Absent: kept; `null`: two-legged requests off; a user name: they act as that user.
    #[serde(default, deserialize_with = "crate::extract::null_or")]
    #[schema(value_type = Option<String>, nullable)]
    execute_as: Option<Option<String>>,
}

/// Global ADMINISTER: every consumer, by name.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/oauth1/consumers",
    tag = "oauth1",
    responses(
        (status = 200, description = "Every consumer.", body = [Object]),
        super::openapi::Refused,
    ),
)]
pub async fn get_consumers(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let consumers = state.oauth1.consumers(&admin).await?;
    let mut values = Vec::with_capacity(consumers.len());
    for consumer in &consumers {
        values.push(consumer_json(&state, consumer).await?);
    }
    Ok(Jira::ok(Value::Array(values)))
}

/// Global ADMINISTER: registers a consumer; 201.
#[utoipa::path(
    post,
    path = "/rest/tessera/1/oauth1/consumers",
    tag = "oauth1",
    request_body(content = ConsumerBody, content_type = "application/json"),
    responses(
        (status = 201, description = "Registered.", body = Object),
        super::openapi::Refused,
        super::openapi::Conflicting,
    ),
)]
pub async fn post_consumer(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<ConsumerBody>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let input = ConsumerInput {
        consumer_key: body.consumer_key.unwrap_or_default(),
        name: body.name.unwrap_or_default(),
        public_key: body.public_key.unwrap_or_default(),
        callback: body.callback,
        execute_as: body.execute_as.flatten(),
    };
    let consumer = state
        .oauth1
        .register_consumer(&admin, Some(&principal), input)
        .await?;
    Ok(Jira::created(consumer_json(&state, &consumer).await?))
}

/// Global ADMINISTER.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/oauth1/consumers/{consumerKey}",
    tag = "oauth1",
    params(
        ("consumerKey" = String, Path, description = "The consumer key."),
    ),
    responses(
        (status = 200, description = "The consumer.", body = Object),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn get_consumer(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(consumer_key): PathArgs<String>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let consumer = state.oauth1.consumer(&admin, &consumer_key).await?;
    Ok(Jira::ok(consumer_json(&state, &consumer).await?))
}

/// Global ADMINISTER: changes `name`, `publicKey` or `callback` (the key is the consumer's
/// name on the wire and is fixed).
#[utoipa::path(
    put,
    path = "/rest/tessera/1/oauth1/consumers/{consumerKey}",
    tag = "oauth1",
    params(
        ("consumerKey" = String, Path, description = "The consumer key."),
    ),
    request_body(content = ConsumerBody, content_type = "application/json"),
    responses(
        (status = 200, description = "Changed.", body = Object),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn put_consumer(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(consumer_key): PathArgs<String>,
    JsonBody(body): JsonBody<ConsumerBody>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    if body
        .consumer_key
        .as_deref()
        .is_some_and(|key| key != consumer_key)
    {
        return Err(ApiError::field(
            "consumerKey",
            "A consumer's key is fixed: register a new consumer.",
        ));
    }
    let changes = ConsumerEdit {
        name: body.name,
        public_key: body.public_key,
        callback: body.callback,
        execute_as: body.execute_as,
    };
    let consumer = state
        .oauth1
        .update_consumer(&admin, Some(&principal), &consumer_key, changes)
        .await?;
    Ok(Jira::ok(consumer_json(&state, &consumer).await?))
}

/// Global ADMINISTER: deletes a consumer and every token it holds; 204.
#[utoipa::path(
    delete,
    path = "/rest/tessera/1/oauth1/consumers/{consumerKey}",
    tag = "oauth1",
    params(
        ("consumerKey" = String, Path, description = "The consumer key."),
    ),
    responses(
        (status = 204, description = "Deleted, with every token it held."),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn delete_consumer(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(consumer_key): PathArgs<String>,
) -> ApiResult<axum::response::Response> {
    let admin = state.authz.administer(&principal)?;
    state
        .oauth1
        .delete_consumer(&admin, Some(&principal), &consumer_key)
        .await?;
    Ok(no_content())
}

/// An authorized application: an access token, named by its id (never its secret).
fn token_json(token: &OAuth1Token) -> Value {
    json!({
        "id": token.id,
        "consumerKey": token.consumer.consumer_key,
        "consumerName": token.consumer.name,
        "user": token.user.as_ref().map(|u| u.name.clone()),
        "access": Access::of(token.scopes).name(),
        "scopes": token.scopes.iter().map(Scope::name).collect::<Vec<_>>(),
        "created": time(token.created),
        "expires": token.expires.map(time),
    })
}

fn token_id(text: &str) -> ApiResult<i64> {
    text.parse::<i64>().map_err(|_| {
        Error::NotFound(tessera_core::error::Missing::OAuth1Token(text.to_string())).into()
    })
}

/// Any user: the applications they authorized by OAuth 1.0a, newest first (an application
/// link acting for the user sees only its own).
#[utoipa::path(
    get,
    path = "/rest/tessera/1/oauth1/tokens",
    tag = "oauth1",
    responses(
        (status = 200, description = "The caller's authorized applications.", body = [Object]),
        super::openapi::Refused,
    ),
)]
pub async fn get_tokens(State(state): State<AppState>, Auth(principal): Auth) -> ApiResult<Jira> {
    let tokens = state.oauth1.tokens_of(&principal).await?;
    Ok(Jira::ok(Value::Array(
        tokens.iter().map(token_json).collect(),
    )))
}

/// The token's user, with a password or a session: revokes it at once.
#[utoipa::path(
    delete,
    path = "/rest/tessera/1/oauth1/tokens/{tokenId}",
    tag = "oauth1",
    params(
        ("tokenId" = String, Path, description = "The access token's id."),
    ),
    responses(
        (status = 204, description = "Revoked."),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn delete_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<axum::response::Response> {
    let id = token_id(&id)?;
    state.oauth1.revoke_own_token(&principal, id).await?;
    Ok(no_content())
}

/// Global ADMINISTER: the access tokens a consumer holds, newest first.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/oauth1/consumers/{consumerKey}/tokens",
    tag = "oauth1",
    params(
        ("consumerKey" = String, Path, description = "The consumer key."),
    ),
    responses(
        (status = 200, description = "Its live access tokens.", body = [Object]),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn get_consumer_tokens(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(consumer_key): PathArgs<String>,
) -> ApiResult<Jira> {
    let admin = state.authz.administer(&principal)?;
    let tokens = state
        .oauth1
        .tokens_of_consumer(&admin, &consumer_key)
        .await?;
    Ok(Jira::ok(Value::Array(
        tokens.iter().map(token_json).collect(),
    )))
}

/// Global ADMINISTER: revokes one of a consumer's access tokens.
#[utoipa::path(
    delete,
    path = "/rest/tessera/1/oauth1/consumers/{consumerKey}/tokens/{tokenId}",
    tag = "oauth1",
    params(
        ("consumerKey" = String, Path, description = "The consumer key."),
        ("tokenId" = String, Path, description = "The access token's id."),
    ),
    responses(
        (status = 204, description = "Revoked."),
        super::openapi::Refused,
        super::openapi::Missing,
    ),
)]
pub async fn delete_consumer_token(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((consumer_key, id)): PathArgs<(String, String)>,
) -> ApiResult<axum::response::Response> {
    let admin = state.authz.administer(&principal)?;
    let id = token_id(&id)?;
    state
        .oauth1
        .revoke_token(&admin, Some(&principal), &consumer_key, id)
        .await?;
    Ok(no_content())
}
