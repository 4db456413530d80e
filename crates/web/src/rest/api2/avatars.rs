//! User avatars: `user/avatars` (list), `user/avatar` (choose; confirm an upload),
//! `user/avatar/temporary` (upload), `user/avatar/{id}` (delete an upload), and the images at
//! Jira's addresses `/secure/useravatar` and `/secure/projectavatar`. tessera draws the system
//! avatars itself (SVG); uploads are served as the image type their bytes are. Every image goes
//! out with `nosniff` and a sandboxing policy.

use axum::body::Body;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_SECURITY_POLICY, CONTENT_TYPE};
use http::{HeaderMap, HeaderValue, StatusCode};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::services::avatars;

use crate::error::{ApiError, ApiResult};
use crate::extract::{
    Auth, Jira, JsonBody, OptionalJsonBody, Params, PathArgs, id_text, no_content,
};
use crate::render::avatar_urls;
use crate::rest::api2::users::target;
use crate::state::AppState;

/// Any user who may look users up (`read:jira-user`). `?username=`: `{"system": [...],
/// "custom": []}`, the one the user shows marked `isSelected`.
pub async fn get_user_avatars(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    let reader = state.authz.read_users(&principal)?;
    let found = avatars::list(&*state.store, &reader, target(&params)?).await?;
    let system: Vec<Value> = found
        .system
        .iter()
        .map(|id| avatar(&state, *id, None, *id == found.selected))
        .collect();
    let custom: Vec<Value> = found
        .custom
        .iter()
        .map(|id| avatar(&state, *id, Some(&found.owner.name), *id == found.selected))
        .collect();
    Ok(Jira::ok(json!({"system": system, "custom": custom})))
}

/// An avatar as Jira lists it; `owner` for an uploaded one.
fn avatar(state: &AppState, id: i64, owner: Option<&str>, selected: bool) -> Value {
    let mut value = json!({
        "id": id.to_string(),
        "isSystemAvatar": owner.is_none(),
        "isSelected": selected,
        "isDeletable": owner.is_some(),
        "urls": avatar_urls(&state.urls, "user", id, None),
    });
    if let Some(owner) = owner {
        value["owner"] = json!(owner);
    }
    value
}

/// The user named, with the write scope, or an administrator; `X-Atlassian-Token: no-check`
/// (Jira's rule for uploads). The body is the image (PNG, JPEG or GIF, at most 1 MiB), held
/// until confirmed; 201 with Jira's cropping proposal (tessera does not crop: the whole image
/// is the avatar).
pub async fn post_temporary_avatar(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Jira> {
    if !super::attachments::has_xsrf_opt_out(&headers) {
        return Err(ApiError::Forbidden {
            message: "XSRF check failed: send the header X-Atlassian-Token: no-check.".into(),
            reason: "xsrf_check_failed",
        });
    }
    let reader = state.authz.read_users(&principal)?;
    let content = axum::body::to_bytes(body, avatars::MAX_IMAGE_BYTES)
        .await
        .map_err(|_| ApiError::PayloadTooLarge(avatars::MAX_IMAGE_BYTES))?;
    avatars::upload(
        &*state.store,
        &principal,
        &reader,
        target(&params)?,
        &content,
        state.clock.now(),
    )
    .await?;
    Ok(Jira::created(json!({
        "cropperWidth": 48,
        "cropperOffsetX": 0,
        "cropperOffsetY": 0,
        "needsCropping": true,
    })))
}

/// As [`post_temporary_avatar`]: the uploaded image becomes one of the user's avatars (the
/// body, Jira's cropping proposal, is accepted and not applied). 201 with the avatar.
pub async fn post_user_avatar(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
    OptionalJsonBody(_cropping): OptionalJsonBody<Value>,
) -> ApiResult<Jira> {
    let reader = state.authz.read_users(&principal)?;
    let (owner_user, id) =
        avatars::confirm(&*state.store, &principal, &reader, target(&params)?).await?;
    Ok(Jira::created(avatar(
        &state,
        id,
        Some(&owner_user.name),
        false,
    )))
}

/// As [`post_temporary_avatar`]: deletes one of the user's uploaded avatars. 204.
pub async fn delete_user_avatar(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    params: Params,
) -> ApiResult<Response> {
    let reader = state.authz.read_users(&principal)?;
    avatars::delete(&*state.store, &principal, &reader, target(&params)?, &id).await?;
    Ok(no_content())
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
    let id =
        id_text(body.id).ok_or_else(|| ApiError::field("id", "You must give the avatar's id."))?;
    avatars::choose(&*state.store, &principal, &reader, target(&params)?, &id).await?;
    Ok(no_content())
}

fn svg(image: String) -> Response {
    picture(
        HeaderValue::from_static("image/svg+xml"),
        image.into_bytes(),
    )
}

fn picture(content_type: HeaderValue, bytes: Vec<u8>) -> Response {
    (
        StatusCode::OK,
        [
            (CONTENT_TYPE, content_type),
            (
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; style-src 'unsafe-inline'; sandbox"),
            ),
            (
                CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=300"),
            ),
        ],
        bytes,
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
    let wanted = chosen.or_else(|| params.number("avatarId"));
    if let Some(id) = wanted.filter(|id| !avatars::SYSTEM.contains(id))
        && let Some((mime, bytes)) = avatars::image(&*state.store, id).await?
    {
        let content_type = HeaderValue::from_str(&mime)
            .unwrap_or(HeaderValue::from_static("application/octet-stream"));
        return Ok(picture(content_type, bytes));
    }
    let id = wanted
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
