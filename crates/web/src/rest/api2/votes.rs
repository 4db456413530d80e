//! `/issue/{key}/votes`: who voted for an issue. Those who can browse the issue see its votes
//! and voters and may vote (with a credential that may write), except for an issue they
//! reported or a resolved one (404 with Jira's reason, as Jira answers).

use axum::extract::State;
use axum::response::Response;
use serde_json::{Value, json};
use tessera_core::authz::Browse;
use tessera_core::model::{Issue, Votes};
use tessera_core::services::votes;

use super::issue_input::issue_ref;
use crate::error::ApiResult;
use crate::extract::{Auth, Jira, PathArgs, no_content};
use crate::render::{Viewer, user};
use crate::state::AppState;
use crate::urls::Urls;

/// The `votes` field.
pub fn votes_field(urls: &Urls, issue: &Issue, votes: Votes) -> Value {
    json!({
        "self": urls.api(&format!("issue/{}/votes", issue.key())),
        "votes": votes.count,
        "hasVoted": votes.has_voted,
    })
}

/// BROWSE_PROJECTS: `{self, votes, hasVoted, voters[]}`.
pub async fn get_votes(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
) -> ApiResult<Jira> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    let counted = votes::votes(&*state.store, &cap).await?;
    let voters = votes::voters(&*state.store, &cap).await?;
    let viewer = Viewer::of(&principal);
    let mut body = votes_field(&state.urls, cap.issue(), counted);
    body["voters"] = json!(
        voters
            .iter()
            .map(|u| user(&state.urls, viewer, u))
            .collect::<Vec<_>>()
    );
    Ok(Jira::ok(body))
}

/// BROWSE_PROJECTS and the write scope; not one's own issue, not a resolved one. 204.
pub async fn post_vote(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    votes::add(&*state.store, &cap, state.clock.now()).await?;
    Ok(no_content())
}

/// BROWSE_PROJECTS and the write scope. 204, also when the caller had not voted.
pub async fn delete_vote(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(key): PathArgs<String>,
) -> ApiResult<Response> {
    let cap = state
        .authz
        .issue::<Browse>(&principal, &issue_ref(&key))
        .await?;
    votes::remove(&*state.store, &cap).await?;
    Ok(no_content())
}
