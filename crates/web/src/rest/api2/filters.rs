//! `/filter`: saved filters, in Jira Server's shape. A filter is its owner's alone for now
//! (`sharePermissions` is always empty); another user's filter is a 404.

use axum::extract::State;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::model::{Filter, FilterFields};
use tessera_core::services::filters;

use crate::error::ApiResult;
use crate::extract::{Auth, Jira, JsonBody, PathArgs, no_content};
use crate::render::{Viewer, optional_user};
use crate::state::AppState;
use crate::urls::{Urls, encode};

fn filter(urls: &Urls, viewer: Viewer, f: &Filter) -> Value {
    let empty_list =
        json!({"size": 0, "items": [], "max-results": 1000, "start-index": 0, "end-index": 0});
    json!({
        "self": urls.api(&format!("filter/{}", f.id)),
        "id": f.id.to_string(),
        "name": f.name,
        "description": f.description,
        "owner": optional_user(urls, viewer, f.owner.as_ref()),
        "jql": f.jql,
        "viewUrl": format!("{}/issues/?filter={}", urls.base(), f.id),
        "searchUrl": urls.api(&format!("search?jql={}", encode(&f.jql))),
        "favourite": f.favourite,
        "sharePermissions": [],
        "sharedUsers": empty_list,
        "subscriptions": empty_list,
    })
}

#[derive(Debug, Deserialize)]
pub struct FilterBody {
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::extract::null_or")]
    description: Option<Option<String>>,
    jql: Option<String>,
    favourite: Option<bool>,
}

impl FilterBody {
    fn fields(self) -> (FilterFields, Option<bool>) {
        (
            FilterFields {
                name: self.name,
                description: self.description,
                jql: self.jql,
            },
            self.favourite,
        )
    }
}

/// Any user whose credential may write. `{"name", "jql", "description", "favourite"}` (a
/// favourite unless `false`). 200 with the filter, as Jira answers.
pub async fn post_filter(
    State(state): State<AppState>,
    Auth(principal): Auth,
    JsonBody(body): JsonBody<FilterBody>,
) -> ApiResult<Jira> {
    let (fields, favourite) = body.fields();
    let made = filters::create(
        &*state.store,
        &principal,
        fields,
        favourite,
        state.clock.now(),
    )
    .await?;
    Ok(Jira::ok(filter(&state.urls, Viewer::of(&principal), &made)))
}

/// The owner.
pub async fn get_filter(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Jira> {
    let found = filters::get(&*state.store, &principal, &id).await?;
    Ok(Jira::ok(filter(
        &state.urls,
        Viewer::of(&principal),
        &found,
    )))
}

/// The owner: the fields given change.
pub async fn put_filter(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
    JsonBody(body): JsonBody<FilterBody>,
) -> ApiResult<Jira> {
    let (fields, favourite) = body.fields();
    let updated = filters::update(&*state.store, &principal, &id, fields, favourite).await?;
    Ok(Jira::ok(filter(
        &state.urls,
        Viewer::of(&principal),
        &updated,
    )))
}

/// The owner. 204.
pub async fn delete_filter(
    State(state): State<AppState>,
    Auth(principal): Auth,
    PathArgs(id): PathArgs<String>,
) -> ApiResult<Response> {
    filters::delete(&*state.store, &principal, &id).await?;
    Ok(no_content())
}

/// The caller's favourite filters.
pub async fn get_favourite_filters(
    State(state): State<AppState>,
    Auth(principal): Auth,
) -> ApiResult<Jira> {
    let found = filters::favourites(&*state.store, &principal).await?;
    let viewer = Viewer::of(&principal);
    Ok(Jira::ok(json!(
        found
            .iter()
            .map(|f| filter(&state.urls, viewer, f))
            .collect::<Vec<_>>()
    )))
}
