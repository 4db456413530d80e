//! `GET /status`: Jira's health answer for load balancers, `{"state":"RUNNING"}`, and 503 with
//! `{"state":"STOPPING"}` once the server is shutting down or `{"state":"ERROR"}` while the
//! database does not answer (the readiness check). Before the application exists (while the
//! database is migrated), `tessera_server::serve_while_starting` answers `STARTING`. Anonymous, outside the rate limits (a
//! load balancer polls it from one address); the database is asked at most once a second
//! whoever polls.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

use crate::extract::Jira;
use crate::state::AppState;

/// How long a database check's result stands for the next polls.
const CHECKED_FOR: Duration = Duration::from_secs(1);
/// How long the database may take to answer the check.
const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// What `GET /status` reports: whether the server is stopping, and the last database check.
#[derive(Debug, Default)]
pub struct Health {
    stopping: AtomicBool,
    checked: Mutex<Option<(Instant, bool)>>,
}

impl Health {
    /// From now on the server is stopping: `GET /status` answers 503 `STOPPING`, so that a
    /// load balancer sends no new work while requests in flight finish.
    pub fn stopping(&self) {
        self.stopping.store(true, Ordering::Release);
    }

    fn is_stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// The database check of the last second, if there was one.
    fn recent(&self) -> Option<bool> {
        let checked = self.checked.lock().unwrap_or_else(|e| e.into_inner());
        checked
            .filter(|(at, _)| at.elapsed() < CHECKED_FOR)
            .map(|(_, up)| up)
    }

    fn record(&self, up: bool) {
        *self.checked.lock().unwrap_or_else(|e| e.into_inner()) = Some((Instant::now(), up));
    }
}

pub async fn get_status(State(state): State<AppState>) -> Response {
    let health = &state.health;
    if health.is_stopping() {
        return answer(StatusCode::SERVICE_UNAVAILABLE, "STOPPING");
    }
    let up = match health.recent() {
        Some(up) => up,
        None => {
            let up = matches!(
                tokio::time::timeout(CHECK_TIMEOUT, state.store.ping()).await,
                Ok(Ok(()))
            );
            if !up {
                tracing::warn!("status: the database does not answer");
            }
            health.record(up);
            up
        }
    };
    if up {
        answer(StatusCode::OK, "RUNNING")
    } else {
        answer(StatusCode::SERVICE_UNAVAILABLE, "ERROR")
    }
}

/// The answer to any request while the server starts, before the application exists (see
/// `tessera_server::serve_while_starting`): `/status` says STARTING, anything else is a Jira
/// error; both 503 with `Retry-After`.
pub fn starting(is_status: bool) -> Response {
    const RETRY_AFTER_SECONDS: u32 = 5;
    if !is_status {
        return crate::error::ApiError::Unavailable {
            message: "tessera is starting: its database is being prepared. Try again shortly."
                .into(),
            retry_after_seconds: RETRY_AFTER_SECONDS,
        }
        .into_response();
    }
    let mut response = answer(StatusCode::SERVICE_UNAVAILABLE, "STARTING");
    response.headers_mut().insert(
        http::header::RETRY_AFTER,
        http::HeaderValue::from(RETRY_AFTER_SECONDS),
    );
    response
}

fn answer(status: StatusCode, state: &str) -> Response {
    Jira(status, json!({ "state": state })).into_response()
}
