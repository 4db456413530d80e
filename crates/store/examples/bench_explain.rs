//! Prints how the database reads a search, as a request of `USER` would run it: the plan of
//! one page and of the exact count (`SqlStore::explain_search`). For the search benchmark
//! (`bench/search.sh`), which records the plans on the 100,000 issues it measures.
//!
//!     bench_explain DATABASE_URL USER 'JQL'

use std::error::Error;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;

use tessera_core::authz::Authorizer;
use tessera_core::clock::{Clock, SystemClock};
use tessera_core::model::PageRequest;
use tessera_core::principal::{AuthMethod, Principal};
use tessera_core::scopes::Scopes;
use tessera_core::services::search::{self, Validation};
use tessera_core::store::{Store, UserStore};
use tessera_store::{PoolOptions, SqlStore};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, name, jql] = args.as_slice() else {
        return Err("usage: bench_explain DATABASE_URL USER 'JQL'".into());
    };
    let store = Arc::new(SqlStore::connect(url, PoolOptions::default()).await?);
    let user = store
        .find_user_by_name(name)
        .await?
        .ok_or_else(|| format!("no user {name}"))?;
    let access = store.user_access(user.id).await?;
    let principal = Principal {
        user,
        groups: access.groups,
        group_names: Vec::new(),
        global: access.global,
        method: AuthMethod::BasicPassword,
        credential_ref: None,
        token: None,
        scopes: Scopes::all(),
        projects: None,
        client_ip: IpAddr::V4(Ipv4Addr::LOCALHOST),
        user_agent: None,
        websudo_until: None,
        oauth2: None,
        oauth1: None,
        external: None,
    };
    let shared: Arc<dyn Store> = store.clone();
    let cap = Authorizer::new(shared)
        .browsable_projects(&principal)
        .await?;
    let now = SystemClock.now();
    let prepared = search::prepare(&*store, &cap, jql, Validation::Strict, now).await?;
    let query = prepared
        .query()
        .ok_or("the query finds nothing by construction")?;
    let first_page = PageRequest {
        start_at: 0,
        limit: 50,
    };
    for line in store.explain_search(query, first_page).await? {
        eprintln!("{line}");
    }
    store.close().await;
    Ok(())
}
