//! Request ids: every request carries one in `X-Request-Id`, in its log lines (the request's
//! span) and on its response. A trusted proxy's id is kept (a visible-ASCII value of at most
//! 128 characters), so that one id follows a request through the proxy's logs and tessera's;
//! anyone else's is replaced. Made here: this instance's random prefix and a counter. The audit
//! events recorded while a request is served carry its id.

use std::sync::atomic::{AtomicU64, Ordering};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue};

use crate::state::AppState;

pub const HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest id kept from a proxy.
const MAX_LENGTH: usize = 128;

/// This instance's ids.
#[derive(Debug)]
pub struct RequestIds {
    prefix: String,
    next: AtomicU64,
}

impl Default for RequestIds {
    fn default() -> Self {
        let bytes = tessera_auth::secret::random_bytes::<6>();
        Self {
            prefix: bytes.iter().map(|b| format!("{b:02x}")).collect(),
            next: AtomicU64::new(1),
        }
    }
}

impl RequestIds {
    fn make(&self) -> HeaderValue {
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        HeaderValue::from_str(&format!("{}-{n:x}", self.prefix))
            .unwrap_or_else(|_| HeaderValue::from_static("unknown"))
    }
}

fn is_acceptable(value: &HeaderValue) -> bool {
    let bytes = value.as_bytes();
    !bytes.is_empty() && bytes.len() <= MAX_LENGTH && bytes.iter().all(|b| b.is_ascii_graphic())
}

/// Sets the request's id (kept from a trusted proxy, else made) and echoes it on the response.
pub async fn request_id(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let peer = crate::client::peer_ip(&request);
    let kept = crate::client::is_trusted(
        tessera_core::tokens::canonical_ip(peer),
        &state.settings.trusted_proxies,
    )
    .then(|| request.headers().get(&HEADER))
    .flatten()
    .filter(|value| is_acceptable(value))
    .cloned();
    let id = kept.unwrap_or_else(|| state.request_ids.make());
    request.headers_mut().insert(HEADER, id.clone());
    // The audit events recorded while it is served carry it (visible ASCII: see above).
    let text = String::from_utf8_lossy(id.as_bytes()).into_owned();
    let mut response = tessera_core::audit::in_request(text, next.run(request)).await;
    response.headers_mut().insert(HEADER, id);
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_ids_differ_and_only_sane_ones_are_kept() {
        let ids = RequestIds::default();
        let (first, second) = (ids.make(), ids.make());
        assert_ne!(first, second);
        assert!(is_acceptable(&first));
        assert!(is_acceptable(&HeaderValue::from_static("f3b1c2d4-proxy.7")));
        assert!(!is_acceptable(&HeaderValue::from_static("")));
        assert!(!is_acceptable(&HeaderValue::from_static("has space")));
        assert!(!is_acceptable(
            &HeaderValue::from_str(&"x".repeat(129)).unwrap()
        ));
    }
}
