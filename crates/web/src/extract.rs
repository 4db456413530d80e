//! Extractors and the JSON response type. Each extractor turns a malformed request into
//! Jira's error shape with the right status (400, 413, 415) instead of axum's plain text.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use http::header::{CONTENT_TYPE, HeaderValue};
use http::request::Parts;
use http::{HeaderMap, StatusCode};
use serde::de::DeserializeOwned;
use tessera_auth::credentials::session::SessionId;
use tessera_core::model::PageRequest;
use tessera_core::principal::{Caller, Principal};

use crate::error::{ApiError, JSON_UTF8};

/// A JSON response with Jira's content type.
#[derive(Debug)]
pub struct Jira(pub StatusCode, pub serde_json::Value);

impl Jira {
    pub fn ok(body: serde_json::Value) -> Self {
        Self(StatusCode::OK, body)
    }

    pub fn created(body: serde_json::Value) -> Self {
        Self(StatusCode::CREATED, body)
    }
}

impl IntoResponse for Jira {
    fn into_response(self) -> Response {
        (
            self.0,
            [(CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8))],
            self.1.to_string(),
        )
            .into_response()
    }
}

/// `204 No Content`.
pub fn no_content() -> Response {
    StatusCode::NO_CONTENT.into_response()
}

/// A JSON request body. A body of another type is 415, an empty one 400 (never 415: clients
/// send `Content-Type: application/json` on body-less requests), an oversized one 413.
#[derive(Debug)]
pub struct JsonBody<T>(pub T);

/// Whether the body is declared as Jira takes JSON: `application/json`, in UTF-8 (a `charset`
/// parameter, if any, names it). Other `+json` types are not Jira's API and are refused (415)
/// rather than guessed at.
fn is_json(content_type: Option<&HeaderValue>) -> bool {
    let Some(value) = content_type.and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or("").trim();
    essence.eq_ignore_ascii_case("application/json")
        && parts.all(|parameter| match parameter.split_once('=') {
            Some((name, charset)) if name.trim().eq_ignore_ascii_case("charset") => {
                let charset = charset.trim().trim_matches('"');
                charset.eq_ignore_ascii_case("utf-8") || charset.eq_ignore_ascii_case("utf8")
            }
            _ => true,
        })
}

impl<S, T> FromRequest<S> for JsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match read_json(request, state).await? {
            Some(body) => Ok(Self(body)),
            None => Err(ApiError::bad_request("A JSON request body is required.")),
        }
    }
}

/// A JSON request body that may be left out (`None`): for requests whose body is optional,
/// such as `POST issue/{key}/watchers` (no body: the caller). A body that is present obeys
/// [`JsonBody`]'s rules.
#[derive(Debug)]
pub struct OptionalJsonBody<T>(pub Option<T>);

impl<S, T> FromRequest<S> for OptionalJsonBody<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        read_json(request, state).await.map(Self)
    }
}

/// Reads a JSON body; `None` if the body is empty (whatever its declared type).
async fn read_json<S, T>(request: Request, state: &S) -> Result<Option<T>, ApiError>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    let json_type = is_json(request.headers().get(CONTENT_TYPE));
    let limit = request
        .extensions()
        .get::<BodyLimit>()
        .map(|l| l.0)
        .unwrap_or(0);
    let bytes = Bytes::from_request(request, state)
        .await
        .map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge(limit)
            } else if timed_out(&rejection) {
                ApiError::RequestTimeout
            } else {
                ApiError::bad_request("The request body could not be read.")
            }
        })?;
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    if !json_type {
        return Err(ApiError::UnsupportedMediaType);
    }
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| ApiError::bad_request(format!("The request body is not valid JSON: {e}")))?;
    if contains_nul(&value) {
        return Err(ApiError::bad_request(NUL_MESSAGE));
    }
    T::deserialize(value)
        .map(Some)
        .map_err(|e| ApiError::bad_request(format!("The request body is malformed: {e}")))
}

/// NUL characters are refused at the edge: no name or text may hold one, and PostgreSQL
/// cannot store one, so letting it through would only turn a bad request into a server error.
const NUL_MESSAGE: &str = "The request contains a NUL character, which no field accepts.";

fn contains_nul(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => text.contains('\0'),
        serde_json::Value::Array(items) => items.iter().any(contains_nul),
        serde_json::Value::Object(map) => map
            .iter()
            .any(|(key, value)| key.contains('\0') || contains_nul(value)),
        _ => false,
    }
}

/// Whether reading the body failed because the transport's body deadline passed.
fn timed_out(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current.is::<tower_http::timeout::TimeoutError>() {
            return true;
        }
        cause = current.source();
    }
    false
}

/// The configured body limit, made known to [`JsonBody`] for its message.
#[derive(Clone, Copy, Debug)]
pub struct BodyLimit(pub usize);

/// Query parameters, form-decoded (`+` is a space), with Jira's conventions: lists arrive
/// repeated or comma-joined, booleans as `true`/`True`, unparsable numbers fall back.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, Vec<String>>);

impl Params {
    pub fn parse(query: Option<&str>) -> Self {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (key, value) in form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            map.entry(key.into_owned())
                .or_default()
                .push(value.into_owned());
        }
        Self(map)
    }

    /// The first value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .get(name)
            .and_then(|values| values.first())
            .map(String::as_str)
    }

    /// How many times a parameter was sent.
    pub fn count(&self, name: &str) -> usize {
        self.0.get(name).map_or(0, Vec::len)
    }

    /// Whether any name or value holds a NUL (which no field accepts, and PostgreSQL cannot
    /// store).
    pub fn has_nul(&self) -> bool {
        self.0
            .iter()
            .any(|(k, values)| k.contains('\0') || values.iter().any(|v| v.contains('\0')))
    }

    /// A non-empty value.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.get(name).filter(|v| !v.trim().is_empty())
    }

    /// All values, repeated or comma-joined, trimmed, empty ones dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0
            .get(name)
            .into_iter()
            .flatten()
            .flat_map(|value| value.split(','))
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(String::from)
            .collect()
    }

    pub fn flag(&self, name: &str, default: bool) -> bool {
        match self.get(name).map(str::trim) {
            Some(v) if v.eq_ignore_ascii_case("true") => true,
            Some(v) if v.eq_ignore_ascii_case("false") => false,
            _ => default,
        }
    }

    pub fn number(&self, name: &str) -> Option<i64> {
        self.get(name).and_then(|v| v.trim().parse().ok())
    }

    /// `startAt`/`maxResults` paging: negative or unparsable values fall back to defaults and
    /// the page size is capped (the effective value is what responses echo).
    pub fn page(&self, default_size: i64, max_size: i64) -> PageRequest {
        let start_at = self.number("startAt").filter(|n| *n >= 0).unwrap_or(0);
        let limit = self
            .number("maxResults")
            .filter(|n| *n >= 0)
            .unwrap_or(default_size)
            .min(max_size);
        PageRequest { start_at, limit }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Params {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let params = Self::parse(parts.uri.query());
        let has_nul = params
            .0
            .iter()
            .any(|(k, values)| k.contains('\0') || values.iter().any(|v| v.contains('\0')));
        if has_nul {
            Err(ApiError::bad_request(NUL_MESSAGE))
        } else {
            Ok(params)
        }
    }
}

/// The authenticated principal; anonymous callers get 401.
#[derive(Debug)]
pub struct Auth(pub Principal);

impl<S: Send + Sync> FromRequestParts<S> for Auth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Caller>() {
            Some(Caller::User(principal)) => Ok(Self((**principal).clone())),
            Some(Caller::Anonymous { .. }) => Err(ApiError::unauthenticated()),
            None => Err(ApiError::Internal(
                "the authentication layer did not run".into(),
            )),
        }
    }
}

/// The session the request was authenticated with, if any.
#[derive(Clone, Debug)]
pub struct CurrentSession(pub Option<SessionId>);

impl<S: Send + Sync> FromRequestParts<S> for CurrentSession {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<CurrentSession>()
            .cloned()
            .unwrap_or(CurrentSession(None)))
    }
}

/// Path parameters, with Jira-shaped errors.
#[derive(Debug)]
pub struct PathArgs<T>(pub T);

impl<S, T> FromRequestParts<S> for PathArgs<T>
where
    S: Send + Sync,
    T: DeserializeOwned + Send,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if parts.uri.path().contains("%00") {
            return Err(ApiError::bad_request(NUL_MESSAGE));
        }
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Self(value))
            .map_err(|_| ApiError::bad_request("The request path is malformed."))
    }
}

/// Why a form body cannot be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FormError {
    /// Not `application/x-www-form-urlencoded`.
    UnsupportedMediaType,
    BadRequest(String),
}

/// A urlencoded form body.
#[derive(Debug, Default)]
pub struct FormBody(Vec<(String, String)>);

impl FormBody {
    /// Reads a form body; only `application/x-www-form-urlencoded` is accepted, and no value
    /// may hold a NUL (no field accepts one, and PostgreSQL cannot store it).
    pub fn parse(
        headers: &HeaderMap,
        body: Result<Bytes, BytesRejection>,
    ) -> Result<Self, FormError> {
        let essence = headers
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(';').next())
            .map(|v| v.trim().to_ascii_lowercase());
        if essence.as_deref() != Some("application/x-www-form-urlencoded") {
            return Err(FormError::UnsupportedMediaType);
        }
        let bytes = body.map_err(|rejection| {
            FormError::BadRequest(format!(
                "The form could not be read ({}).",
                rejection.status()
            ))
        })?;
        Self::from_query(&bytes)
    }

    /// Parses urlencoded pairs (a form body or a query string).
    pub fn from_query(bytes: &[u8]) -> Result<Self, FormError> {
        let pairs: Vec<(String, String)> = form_urlencoded::parse(bytes)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        // Tabs and line breaks belong in text areas; no field takes other control characters.
        let is_control = |c: char| c.is_control() && !matches!(c, '\t' | '\n' | '\r');
        if let Some((name, _)) = pairs
            .iter()
            .find(|(k, v)| k.contains(is_control) || v.contains(is_control))
        {
            let shown: String = name.chars().take(50).collect();
            return Err(FormError::BadRequest(format!(
                "The field {shown:?} contains a control character (such as NUL), which no \
                 field accepts."
            )));
        }
        Ok(Self(pairs))
    }

    /// The first value of a field.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// A field's value, trimmed; empty if absent.
    pub fn text(&self, name: &str) -> &str {
        self.get(name).map(str::trim).unwrap_or("")
    }

    /// Every value of a repeated field (checkboxes).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Every field, in the order sent.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.0
    }

    /// Whether some field was sent more than once.
    pub fn has_repeated_field(&self) -> bool {
        let mut seen = std::collections::HashSet::new();
        self.0.iter().any(|(k, _)| !seen.insert(k.as_str()))
    }

    /// A checkbox: present with any value but `false`.
    pub fn is_checked(&self, name: &str) -> bool {
        self.get(name)
            .is_some_and(|v| !v.trim().eq_ignore_ascii_case("false"))
    }
}

/// An id given as a JSON string or number (`"10000"` or `10000`); anything else as its JSON
/// text, for the error to quote; `None` when absent or `null`.
pub fn id_text(value: Option<serde_json::Value>) -> Option<String> {
    value.and_then(|v| match v {
        serde_json::Value::String(text) => Some(text),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    })
}

/// For a JSON field where `null` means "remove" and absence means "keep"
/// (`#[serde(default, deserialize_with = "crate::extract::null_or")]` on an
/// `Option<Option<T>>`): a present field is `Some`, its `null` is `Some(None)`.
pub fn null_or<'de, D: serde::Deserializer<'de>, T: serde::Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    <Option<T> as serde::Deserialize>::deserialize(d).map(Some)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn params_follow_jira_conventions() {
        let p = Params::parse(Some(
            "fields=a,b&fields=c&flag=True&n=x&q=a+b&startAt=-3&maxResults=5000&empty=",
        ));
        assert_eq!(p.list("fields"), ["a", "b", "c"]);
        assert!(p.flag("flag", false));
        assert!(!p.flag("missing", false));
        assert_eq!(p.number("n"), None);
        assert_eq!(p.get("q"), Some("a b"));
        assert_eq!(p.text("empty"), None);
        assert_eq!(
            p.page(50, 1000),
            PageRequest {
                start_at: 0,
                limit: 1000
            }
        );
        assert_eq!(
            Params::parse(None).page(50, 1000),
            PageRequest {
                start_at: 0,
                limit: 50
            }
        );
    }

    #[test]
    fn json_types() {
        assert!(is_json(Some(&HeaderValue::from_static("application/json"))));
        assert!(is_json(Some(&HeaderValue::from_static(
            "Application/JSON; charset=utf-8"
        ))));
        assert!(is_json(Some(&HeaderValue::from_static(
            "application/json;charset=\"UTF-8\""
        ))));
        assert!(!is_json(Some(&HeaderValue::from_static(
            "application/vnd.api+json"
        ))));
        assert!(!is_json(Some(&HeaderValue::from_static(
            "application/json; charset=iso-8859-1"
        ))));
        assert!(!is_json(Some(&HeaderValue::from_static(
            "application/jsonp"
        ))));
        assert!(!is_json(Some(&HeaderValue::from_static("text/plain"))));
        assert!(!is_json(None));
    }
}
