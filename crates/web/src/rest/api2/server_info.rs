//! `GET serverInfo`: anonymous. Clients read `versionNumbers` to pick APIs (8.4 or later gets
//! the modern ones) and `deploymentType` (`Server`; `Cloud` would switch them to Cloud APIs).

use axum::extract::State;
use serde_json::json;

use crate::extract::Jira;
use crate::render::time;
use crate::state::AppState;

/// The Jira version tessera's API corresponds to.
pub const JIRA_VERSION: [u32; 3] = [9, 12, 0];

/// Anyone, even anonymous.
pub async fn get_server_info(State(state): State<AppState>) -> Jira {
    let [major, minor, patch] = JIRA_VERSION;
    Jira::ok(json!({
        "baseUrl": state.urls.base(),
        "version": format!("{major}.{minor}.{patch}"),
        "versionNumbers": JIRA_VERSION,
        "deploymentType": "Server",
        "buildNumber": major * 100_000 + minor * 1_000 + patch,
        "buildDate": "2026-11-01T00:00:00.000+0000",
        "serverTime": time(state.clock.now()),
        "scmInfo": format!("tessera {}", env!("CARGO_PKG_VERSION")),
        "serverTitle": state.settings.server_title,
    }))
}
