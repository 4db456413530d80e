//! `/rest/tessera/1/usage`: API use per credential, for administrators. One credential's
//! requests per day and its latest client addresses; the credentials nobody used for a number
//! of days (live tokens and keys, and passwords); the credentials seen from a new network
//! lately. Credentials are named without their secrets (`token:<id>`, `password:<user id>`,
//! `session:<user id>`, and the OAuth kinds of [`Credential`]).

use std::collections::BTreeMap;
use std::time::Duration;

use axum::extract::State;
use ipnet::IpNet;
use serde_json::{Value, json};
use tessera_core::clock::Timestamp;
use tessera_core::error::{Error, Missing};
use tessera_core::model::PageRequest;
use tessera_core::tokens::TokenFilter;
use tessera_core::usage::{ClientSeen, Credential, day_of, start_of_day};

use crate::error::{ApiError, ApiResult};
use crate::extract::{Auth, Jira, Params};
use crate::render::time;
use crate::state::AppState;

/// The longest look-back accepted, in days.
pub const MAX_DAYS: i64 = 3650;
/// Addresses listed per credential.
pub const CLIENTS_SHOWN: i64 = 20;
/// Most credentials a new-network search looks at (the latest seen from a new address).
const NEW_CREDENTIALS_READ: i64 = 200;
/// Most rows a list answers with.
const LIST_LIMIT: i64 = 10_000;

/// `days` as given (1 to [`MAX_DAYS`]), else `default`.
pub fn look_back(params: &Params, default: i64) -> ApiResult<i64> {
    match params.text("days") {
        None => Ok(default),
        Some(text) => text
            .trim()
            .parse::<i64>()
            .ok()
            .filter(|d| (1..=MAX_DAYS).contains(d))
            .ok_or_else(|| {
                ApiError::field(
                    "days",
                    format!("Give a number of days from 1 to {MAX_DAYS}."),
                )
            }),
    }
}

fn days_ago(now: Timestamp, days: i64) -> Timestamp {
    now.minus(Duration::from_secs(
        u64::try_from(days).unwrap_or(0) * 24 * 60 * 60,
    ))
}

fn client_json(client: &ClientSeen) -> Value {
    json!({
        "ip": client.ip,
        "userAgent": client.user_agent,
        "firstSeen": time(client.first_seen),
        "lastSeen": time(client.last_seen),
        "requests": client.requests,
    })
}

/// What a credential is, for people: its kind, owner and (for a token) name.
#[derive(Clone, Debug)]
pub struct Described {
    pub credential: String,
    pub kind: &'static str,
    pub owner: String,
    pub name: Option<String>,
}

/// Describes a credential; "not found" for one that never existed.
pub async fn describe(state: &AppState, credential: Credential) -> Result<Described, Error> {
    let (kind, owner, name) = match credential {
        Credential::Token(id) => {
            let token = state
                .store
                .find_token(id)
                .await?
                .ok_or_else(|| Error::NotFound(Missing::Token(id.to_string())))?;
            (token.kind.name(), token.owner_name, Some(token.name))
        }
        Credential::Password(user) | Credential::Session(user) => {
            let found = state
                .store
                .find_user(user)
                .await?
                .ok_or_else(|| Error::NotFound(Missing::User(user.to_string())))?;
            let kind = match credential {
                Credential::Session(_) => "session",
                _ => "password",
            };
            (kind, found.name, None)
        }
        Credential::OAuth2Grant(id) => {
            let grant = state
                .store
                .find_grant(id)
                .await?
                .ok_or_else(|| Error::NotFound(Missing::OAuth2Grant(id.to_string())))?;
            let owner = state
                .store
                .find_user(grant.user)
                .await?
                .map(|u| u.name)
                .unwrap_or_default();
            ("oauth", owner, Some(grant.client_name))
        }
        Credential::OAuth2Client(key) => {
            let client = state
                .store
                .list_clients()
                .await?
                .into_iter()
                .find(|c| c.key == key)
                .ok_or_else(|| Error::NotFound(Missing::OAuth2Client(key.0.to_string())))?;
            let owner = match client.service_account {
                Some(id) => state.store.find_user(id).await?.map(|u| u.name),
                None => None,
            };
            ("oauthclient", owner.unwrap_or_default(), Some(client.name))
        }
        Credential::OAuth1(id) => {
            let token = state
                .store
                .get_oauth1_token(id)
                .await?
                .ok_or_else(|| Error::NotFound(Missing::OAuth1Token(id.to_string())))?;
            let owner = token.user.map(|u| u.name).unwrap_or_default();
            ("oauth1", owner, Some(token.consumer.name))
        }
        Credential::OAuth1TwoLegged(id) => {
            let missing = || Error::NotFound(Missing::OAuth1Consumer(id.to_string()));
            let consumers = state.store.list_consumers().await?;
            let consumer = consumers
                .into_iter()
                .find(|c| c.id == id)
                .ok_or_else(missing)?;
            let owner = match consumer.run_as {
                Some(user) => state.store.find_user(user).await?.map(|u| u.name),
                None => None,
            };
            (
                "oauth1twolegged",
                owner.unwrap_or_default(),
                Some(consumer.name),
            )
        }
        Credential::External(id) => {
            let provider = state
                .store
                .get_provider(id)
                .await?
                .ok_or_else(|| Error::NotFound(Missing::IdentityProvider(id.to_string())))?;
            // Its users are many: each use is listed with its user.
            ("external_jwt", String::new(), Some(provider.settings.name))
        }
    };
    Ok(Described {
        credential: credential.to_string(),
        kind,
        owner,
        name,
    })
}

/// Global ADMINISTER. `credential=` (`token:<id>`, `password:<user id>`, `session:<user id>`,
/// `oauth:<grant id>`, `oauthclient:<client>` or `oauth1:<token id>`), `days=` (30): requests per day, newest first, and the latest client
/// addresses with their user agents.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/usage",
    tag = "usage",
    params(
        ("days" = Option<String>, Query, description = "The look-back in days (1 to 3650); anything else counts as absent."),
    ),
    responses(
        (status = 200, description = "Requests per credential.", body = Object),
        super::openapi::Refused,
    ),
)]
pub async fn get_usage(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let credential = params
        .text("credential")
        .and_then(|text| Credential::parse(text.trim()))
        .ok_or_else(|| {
            ApiError::field(
                "credential",
                "Name a credential: token:<id>, password:<user id> or session:<user id>.",
            )
        })?;
    let days = look_back(&params, 30)?;
    let described = describe(&state, credential).await?;
    let since_day = day_of(state.clock.now()) - days + 1;
    let report = state
        .store
        .credential_usage(&described.credential, since_day, CLIENTS_SHOWN)
        .await
        .map_err(Error::from)?;
    let per_day: Vec<Value> = report
        .days
        .iter()
        .map(|(day, requests)| json!({"date": time(start_of_day(*day)), "requests": requests}))
        .collect();
    Ok(Jira::ok(json!({
        "credential": described.credential,
        "kind": described.kind,
        "owner": described.owner,
        "name": described.name,
        "days": per_day,
        "clients": report.clients.iter().map(client_json).collect::<Vec<_>>(),
    })))
}

/// A credential nobody used since a given time.
#[derive(Clone, Debug)]
pub struct Unused {
    pub described: Described,
    pub created: Option<Timestamp>,
    pub last_used: Option<Timestamp>,
}

/// Live tokens and keys, and passwords, not used since `since` (made before it).
pub async fn unused_since(state: &AppState, since: Timestamp) -> Result<Vec<Unused>, Error> {
    let filter = TokenFilter {
        unused_since: Some(since),
        live_at: Some(state.clock.now()),
        ..TokenFilter::default()
    };
    let page = PageRequest {
        start_at: 0,
        limit: LIST_LIMIT,
    };
    let tokens = state.store.list_tokens(&filter, page).await?.items;
    let mut unused: Vec<Unused> = tokens
        .into_iter()
        .map(|token| Unused {
            described: Described {
                credential: Credential::Token(token.id).to_string(),
                kind: token.kind.name(),
                owner: token.owner_name,
                name: Some(token.name),
            },
            created: Some(token.created),
            last_used: token.last_used,
        })
        .collect();
    for (user, last_used) in state.store.password_last_used().await? {
        let idle = match last_used {
            Some(at) => at < since,
            None => user.created < since,
        };
        if idle {
            unused.push(Unused {
                described: Described {
                    credential: Credential::Password(user.id).to_string(),
                    kind: "password",
                    owner: user.name,
                    name: None,
                },
                created: Some(user.created),
                last_used,
            });
        }
    }
    Ok(unused)
}

/// Global ADMINISTER. `days=` (90): live tokens and keys, and passwords, that nobody used for
/// that many days.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/usage/unused",
    tag = "usage",
    params(
        ("days" = Option<String>, Query, description = "The look-back in days (1 to 3650); anything else counts as absent."),
    ),
    responses(
        (status = 200, description = "Credentials unused in the period.", body = Object),
        super::openapi::Refused,
    ),
)]
pub async fn get_unused(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let days = look_back(&params, 90)?;
    let since = days_ago(state.clock.now(), days);
    let unused = unused_since(&state, since).await?;
    let values: Vec<Value> = unused
        .iter()
        .map(|u| {
            json!({
                "credential": u.described.credential,
                "kind": u.described.kind,
                "owner": u.described.owner,
                "name": u.described.name,
                "created": u.created.map(time),
                "lastUsed": u.last_used.map(time),
            })
        })
        .collect();
    Ok(Jira::ok(
        json!({"since": time(since), "days": days, "credentials": values}),
    ))
}

/// A credential's first use from a network (an IPv4 /24, an IPv6 /64) it had not been used
/// from before.
#[derive(Clone, Debug)]
pub struct NewNetwork {
    pub credential: String,
    pub owner: String,
    pub network: IpNet,
    /// The first address seen in it.
    pub first: ClientSeen,
}

/// Credentials first seen from a new network at or after `since`. A credential's very first
/// network is not new (every credential is first used from somewhere).
pub async fn new_networks_since(
    state: &AppState,
    since: Timestamp,
) -> Result<Vec<NewNetwork>, Error> {
    // Bounded: so many credentials, each with a bounded number of addresses in the store.
    let credentials = state
        .store
        .credentials_with_new_clients(since, NEW_CREDENTIALS_READ)
        .await?;
    let everything = state.store.clients_of(&credentials).await?;
    // Per credential, the first address seen in each network (clients come oldest first).
    let mut first_per_network: BTreeMap<(String, IpNet), ClientSeen> = BTreeMap::new();
    let mut first_network: BTreeMap<String, (Timestamp, IpNet)> = BTreeMap::new();
    for client in everything {
        let Some(network) = client.network() else {
            continue;
        };
        let earliest = first_network
            .entry(client.credential.clone())
            .or_insert((client.first_seen, network));
        if client.first_seen < earliest.0 {
            *earliest = (client.first_seen, network);
        }
        let key = (client.credential.clone(), network);
        match first_per_network.get(&key) {
            Some(known) if known.first_seen <= client.first_seen => {}
            _ => {
                first_per_network.insert(key, client);
            }
        }
    }
    let mut found: Vec<NewNetwork> = first_per_network
        .into_iter()
        .filter(|((credential, network), first)| {
            first.first_seen >= since
                && first_network
                    .get(credential)
                    .is_some_and(|(_, original)| original != network)
        })
        .map(|((credential, network), first)| NewNetwork {
            owner: first.user_name.clone().unwrap_or_default(),
            credential,
            network,
            first,
        })
        .collect();
    found.sort_by_key(|n| std::cmp::Reverse(n.first.first_seen));
    Ok(found)
}

/// Global ADMINISTER. `days=` (7): credentials used from a network they had not been used
/// from before, newest first.
#[utoipa::path(
    get,
    path = "/rest/tessera/1/usage/newnetworks",
    tag = "usage",
    params(
        ("days" = Option<String>, Query, description = "The look-back in days (1 to 3650); anything else counts as absent."),
    ),
    responses(
        (status = 200, description = "Credentials first seen from a new network.", body = Object),
        super::openapi::Refused,
    ),
)]
pub async fn get_new_networks(
    State(state): State<AppState>,
    Auth(principal): Auth,
    params: Params,
) -> ApiResult<Jira> {
    state.authz.administer(&principal)?;
    let days = look_back(&params, 7)?;
    let since = days_ago(state.clock.now(), days);
    let found = new_networks_since(&state, since).await?;
    let values: Vec<Value> = found
        .iter()
        .map(|n| {
            json!({
                "credential": n.credential,
                "owner": n.owner,
                "network": n.network.to_string(),
                "ip": n.first.ip,
                "userAgent": n.first.user_agent,
                "firstSeen": time(n.first.first_seen),
            })
        })
        .collect();
    Ok(Jira::ok(
        json!({"since": time(since), "days": days, "credentials": values}),
    ))
}
