//! User avatars: `user/avatars` (list), `user/avatar` (choose), and the images at Jira's
//! addresses `/secure/useravatar` and `/secure/projectavatar`. tessera draws the system
//! avatars itself (SVG, no user content), so an image is served with a sandboxing policy.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::services::avatars;
use tessera_core::services::users::UserSelector;

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, JsonBody, Params, no_content};
use crate::render::avatar_urls;
use crate::state::AppState;

fn owner(params: &Params) -> ApiResult<UserSelector<'_>> {
    match (params.text("username"), params.text("key")) {
        (Some(name), _) => Ok(UserSelector::Name(name)),
        (None, Some(key)) => Ok(UserSelector::Key(key)),
        (None, None) => Err(ApiError::bad_request(
            "Either the 'username' or the 'key' query parameter must be given.",
        )),
    }
}

/// Any user who may look users up (`read:jira-user`). `?username=`: `{"system": [...],
/// "custom": []}`, the one the user shows marked `isSelected`.
pub async fn get_user_avatars(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    let reader = state.authz.read_users(&principal)?;
    let found = avatars::list(&*state.store, &reader, owner(&params)?).await?;
    let system: Vec<Value> = found
        .system
        .iter()
        .map(|id| {
            json!({
                "id": id.to_string(),
                "isSystemAvatar": true,
                "isSelected": *id == found.selected,
                "isDeletable": false,
                "urls": avatar_urls(&state.urls, "user", *id, None),
            })
        })
        .collect();
    Ok(Jira::ok(json!({"system": system, "custom": []})))
}

#[derive(Debug, Deserialize)]
pub struct AvatarBody {
    id: Option<Value>,
}

/// The user named, with the write scope, or an administrator. `?username=`, `{"id"}`. 204.
pub async fn put_user_avatar(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
    JsonBody(body): JsonBody<AvatarBody>,
) -> ApiResult<Response> {
    let reader = state.authz.read_users(&principal)?;
    let id = match body.id {
        Some(Value::String(text)) => text,
        Some(Value::Number(number)) => number.to_string(),
        _ => return Err(ApiError::field("id", "You must give the avatar's id.")),
    };
    avatars::choose(&*state.store, &principal, &reader, owner(&params)?, &id).await?;
    Ok(no_content())
}

fn svg(image: String) -> Response {
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, HeaderValue::from_static("image/svg+xml")),
            (
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
            ),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=300"),
            ),
        ],
        image,
    )
        .into_response()
}

/// Any user. `?ownerId=` (a user name: the avatar that user shows) or `?avatarId=`; `size` is
/// accepted and ignored (the images scale). An unknown owner or id shows the default.
pub async fn get_user_avatar_image(
    State(state): State<AppState>,
    Auth(_principal): Auth,
    params: Params,
) -> ApiResult<Response> {
    let chosen = match params.text("ownerId") {
        Some(name) => match state
            .store
            .find_user_by_name(&name.trim().to_lowercase())
            .await
            .map_err(tessera_core::Error::from)?
        {
            Some(user) => Some(avatars::shown(&*state.store, &user).await?),
            None => None,
        },
        None => None,
    };
    let id = chosen
        .or_else(|| params.number("avatarId"))
        .filter(|id| avatars::SYSTEM.contains(id))
        .unwrap_or(avatars::DEFAULT);
    let image = avatars::system_image(id).unwrap_or_default();
    Ok(svg(image))
}

/// Any user: the project avatar (tessera has one).
pub async fn get_project_avatar_image(Auth(_principal): Auth) -> Response {
    svg(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 48 48\" width=\"48\" \
         height=\"48\"><rect width=\"48\" height=\"48\" rx=\"6\" fill=\"#0052CC\"/>\
         <rect x=\"12\" y=\"12\" width=\"24\" height=\"24\" rx=\"3\" fill=\"#FFFFFF\"/></svg>"
            .to_string(),
    )
}
