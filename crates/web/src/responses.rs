//! Remembered responses: the body of a read that the same caller made before, kept under the
//! store's two epochs, so that an integration polling an issue gets it with no database read.
//!
//! - **Keyed** by the request's path and query and by everything of the caller a remembered
//!   read may depend on ([`ReadKey`]): the user, its global permissions, the credential's
//!   scopes and project restriction. What the user may see in a project (its roles), which
//!   comments its groups open, whether it watches or voted: all of that is read from the store,
//!   so it is covered by the epochs below. A handler that reads anything else of the caller
//!   (the credential kind, the client's address, the clock) must not remember its response.
//! - **Never past a change**: an entry holds the auth epoch and the data epoch read before the
//!   response was made ([`tessera_core::store::AuthChangeStore`]): any change to credentials,
//!   users, groups, grants or policy, and any change to projects, roles, issues and what is
//!   shown with them, made through this instance at once and through another within a second,
//!   leaves every entry stale. While the store cannot vouch for its epochs, nothing is kept or
//!   used. Only successful responses are kept, and none longer than [`MAX_AGE`].
//! - **Bounded in memory**: the capacity is in bytes of bodies and keys (0 turns it off).
//!
//! A remembered response skips the handler, not the request's pipeline: authentication, the
//! policy, the rate limits and the usage trail run before it as for every request.

use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderValue, StatusCode, Uri, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use moka::sync::Cache;
use tessera_core::ids::{ProjectId, UserId};
use tessera_core::permissions::GlobalPermissions;
use tessera_core::principal::Principal;
use tessera_core::scopes::Scopes;
use tessera_core::store::Store;

use crate::error::JSON_UTF8;

/// The longest a response is remembered: a bound on what a change the epochs did not cover
/// could ever cost.
pub const MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// Who asked for what: everything a remembered read may depend on besides the store.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ReadKey {
    user: UserId,
    global: GlobalPermissions,
    scopes: Scopes,
    projects: Option<Vec<ProjectId>>,
    uri: String,
}

impl ReadKey {
    pub fn new(principal: &Principal, uri: &Uri) -> Self {
        Self {
            user: principal.user.id,
            global: principal.global,
            scopes: principal.scopes,
            projects: principal.projects.clone(),
            uri: uri.path_and_query().map_or("", |p| p.as_str()).to_owned(),
        }
    }

    fn weight(&self) -> usize {
        self.uri.len() + self.projects.as_ref().map_or(0, Vec::len) * 8 + 64
    }
}

/// The epochs a response was made under, read before it was made.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Epochs {
    auth: u64,
    data: u64,
}

#[derive(Debug)]
struct Entry {
    epochs: Epochs,
    body: Bytes,
}

/// The remembered responses (disabled with a capacity of zero).
#[derive(Debug)]
pub struct Responses {
    store: Arc<dyn Store>,
    entries: Option<Cache<ReadKey, Arc<Entry>>>,
}

impl Responses {
    pub fn new(store: Arc<dyn Store>, capacity_bytes: u64) -> Self {
        let entries = (capacity_bytes > 0).then(|| {
            Cache::builder()
                .max_capacity(capacity_bytes)
                .weigher(|key: &ReadKey, entry: &Arc<Entry>| {
                    u32::try_from(key.weight() + entry.body.len()).unwrap_or(u32::MAX)
                })
                .time_to_live(MAX_AGE)
                .build()
        });
        Self { store, entries }
    }

    /// The epochs now, if the store can vouch for them and responses are remembered: read
    /// them before making a response, and keep it under them.
    pub fn epochs(&self) -> Option<Epochs> {
        self.entries.as_ref()?;
        Some(Epochs {
            auth: self.store.auth_epoch()?,
            data: self.store.data_epoch()?,
        })
    }

    /// The response remembered for `key`, if it was made under `epochs`.
    pub fn get(&self, key: &ReadKey, epochs: Option<Epochs>) -> Option<Response> {
        let (entries, epochs) = (self.entries.as_ref()?, epochs?);
        let entry = entries.get(key)?;
        if entry.epochs != epochs {
            entries.invalidate(key);
            return None;
        }
        Some(json_response(entry.body.clone()))
    }

    /// Keeps a successful response's body, made under `epochs`.
    pub fn keep(&self, key: ReadKey, epochs: Option<Epochs>, body: Bytes) {
        if let (Some(entries), Some(epochs)) = (&self.entries, epochs) {
            entries.insert(key, Arc::new(Entry { epochs, body }));
        }
    }
}

/// `200` with a JSON body already written.
pub fn json_response(body: Bytes) -> Response {
    (
        StatusCode::OK,
        [(CONTENT_TYPE, HeaderValue::from_static(JSON_UTF8))],
        body,
    )
        .into_response()
}
