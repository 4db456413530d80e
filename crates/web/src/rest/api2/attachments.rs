//! Attachments: `POST /issue/{key}/attachments` (multipart, Jira's XSRF rule), `GET` and
//! `DELETE /attachment/{id}`, `GET /attachment/meta`, the `attachment` field, and the
//! download at Jira's `/secure/attachment/{id}/{filename}`.
//!
//! Uploads are read within `max_attachment_bytes` (all files of a request together; more is
//! 413) and kept in one transaction before the answer. Every download is served as a file to
//! save, never shown inline: `Content-Disposition: attachment`, `X-Content-Type-Options:
//! nosniff` and a sandboxing `Content-Security-Policy`, so an uploaded page or script cannot
//! run in tessera's origin.

use axum::body::Body;
use axum::extract::State;
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE,
    X_CONTENT_TYPE_OPTIONS,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use tessera_core::authz::CreateAttachments;
use tessera_core::model::Attachment;
use tessera_core::services::attachments::{self, Upload};

use super::issue_input::issue_ref;
use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, PathArgs, no_content};
use crate::render::{Viewer, time, user};
use crate::state::AppState;
use crate::urls::{Urls, encode};

/// An attachment as Jira shows it; `content` is where it downloads.
pub fn attachment(urls: &Urls, viewer: Viewer, a: &Attachment) -> Value {
    let mut value = json!({
        "self": urls.api(&format!("attachment/{}", a.id)),
        "id": a.id.to_string(),
        "filename": a.filename,
        "created": time(a.created),
        "size": a.size,
        "mimeType": a.mime_type,
        "content": format!("{}/secure/attachment/{}/{}", urls.base(), a.id, encode(&a.filename)),
    });
    if let Some(author) = &a.author {
        value["author"] = user(urls, viewer, author);
    }
    value
}

/// Jira's XSRF rule for uploads: `X-Atlassian-Token: no-check` (a cross-site form cannot send
/// it).
pub(crate) fn has_xsrf_opt_out(headers: &HeaderMap) -> bool {
    headers
        .get_all("x-atlassian-token")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| {
            matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "no-check" | "nocheck"
            )
        })
}

/// The files of a `multipart/form-data` body: every part with a file name.
async fn read_uploads(headers: &HeaderMap, body: Body, limit: usize) -> ApiResult<Vec<Upload>> {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let boundary =
        multer::parse_boundary(content_type).map_err(|_| ApiError::UnsupportedMediaType)?;
    let limits = multer::Constraints::new().size_limit(
        multer::SizeLimit::new()
            .whole_stream(limit as u64 + 64 * 1024)
            .per_field(limit as u64),
    );
    let mut multipart =
        multer::Multipart::with_constraints(body.into_data_stream(), boundary, limits);
    let mut uploads = Vec::new();
    let mut total = 0usize;
    let too_large = |e: &multer::Error| {
        matches!(
            e,
            multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. }
        )
    };
    let refuse = |e: multer::Error| {
        if too_large(&e) {
            ApiError::PayloadTooLarge(limit)
        } else {
            ApiError::bad_request("The multipart body could not be read.")
        }
    };
    while let Some(field) = multipart.next_field().await.map_err(refuse)? {
        let Some(filename) = field.file_name().map(str::to_string) else {
            // Parts that are not files (Jira ignores them); still read within the limit.
            field.bytes().await.map_err(refuse)?;
            continue;
        };
        let mime_type = field.content_type().map(|m| m.to_string());
        let content = field.bytes().await.map_err(refuse)?;
        total += content.len();
        if total > limit {
            return Err(ApiError::PayloadTooLarge(limit));
        }
        uploads.push(Upload {
            filename,
            mime_type,
            content: content.to_vec(),
        });
    }
    Ok(uploads)
}

/// CREATE_ATTACHMENTS, and `X-Atlassian-Token: no-check`. 200 with the attachments made.
pub async fn post_attachments(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<Jira> {
    if !has_xsrf_opt_out(&headers) {
        return Err(ApiError::Forbidden {
            message: "XSRF check failed: send the header X-Atlassian-Token: no-check.".into(),
            reason: "xsrf_check_failed",
        });
    }
    let cap = state
        .authz
        .issue::<CreateAttachments>(&principal, &issue_ref(&key))
        .await?;
    let uploads = read_uploads(&headers, body, state.settings.max_attachment_bytes).await?;
    let added = attachments::add(&*state.store, &cap, uploads, state.clock.now()).await?;
    let viewer = Viewer::of(&principal);
    Ok(Jira::ok(json!(
        added
            .iter()
            .map(|a| attachment(&state.urls, viewer, a))
            .collect::<Vec<_>>()
    )))
}

/// Any user: whether attachments are on, and the upload limit.
pub async fn get_attachment_meta(State(state): State<AppState>, Auth(_): Auth) -> Jira {
    Jira::ok(json!({
        "enabled": true,
        "uploadLimit": state.settings.max_attachment_bytes,
    }))
}

/// BROWSE_PROJECTS on its issue.
pub async fn get_attachment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    let (found, _) = attachments::find(&*state.store, &state.authz, &principal, &id).await?;
    Ok(Jira::ok(attachment(
        &state.urls,
        Viewer::of(&principal),
        &found,
    )))
}

/// DELETE_OWN_ATTACHMENTS (one's own) or DELETE_ALL_ATTACHMENTS.
pub async fn delete_attachment(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Response> {
    attachments::delete(
        &*state.store,
        &state.authz,
        &principal,
        &id,
        state.clock.now(),
    )
    .await?;
    Ok(no_content())
}

/// `attachment; filename="..."; filename*=UTF-8''...`: an ASCII stand-in and the exact name
/// (RFC 6266).
fn disposition(filename: &str) -> HeaderValue {
    let ascii: String = filename
        .chars()
        .map(|c| {
            if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let value = format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{}",
        encode(filename)
    );
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("attachment"))
}

/// BROWSE_PROJECTS on its issue: the file, as a download. The name in the path is not
/// checked (Jira's links carry it for the browser's sake).
pub async fn get_attachment_content(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs((id, _name)): PathArgs<(String, String)>,
) -> ApiResult<Response> {
    let (found, cap) = attachments::find(&*state.store, &state.authz, &principal, &id).await?;
    let bytes = attachments::content(&*state.store, &cap, &found).await?;
    let content_type = HeaderValue::from_str(&found.mime_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    Ok((
        StatusCode::OK,
        [
            (CONTENT_TYPE, content_type),
            (CONTENT_DISPOSITION, disposition(&found.filename)),
            (X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (
                CONTENT_SECURITY_POLICY,
                HeaderValue::from_static("default-src 'none'; sandbox"),
            ),
            (CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
            (CONTENT_LENGTH, HeaderValue::from(bytes.len())),
        ],
        bytes,
    )
        .into_response())
}
