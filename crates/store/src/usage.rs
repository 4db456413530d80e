//! API use per credential: requests per day and the addresses each credential was used from.
//! Uses arrive coalesced (one flush every few seconds per instance) and are added in one
//! transaction, with the tokens' own last-use figures. An address is new for a credential
//! exactly when its row is inserted, so of several instances flushing the same first use, one
//! alone reports it; a credential keeps a bounded number of addresses.

use async_trait::async_trait;
use tessera_core::clock::Timestamp;
use tessera_core::ids::UserId;
use tessera_core::model::User;
use tessera_core::store::{StoreResult, UsageStore};
use tessera_core::tokens::TokenUse;
use tessera_core::usage::{ClientSeen, CredentialUse, UsageReport};

use crate::rows::{UserRow, user_columns};
use crate::{SqlStore, backend, on_pool};

#[derive(sqlx::FromRow)]
struct ClientRow {
    credential: String,
    client_ip: String,
    user_id: i64,
    user_name: Option<String>,
    user_agent: Option<String>,
    first_seen: i64,
    last_seen: i64,
    requests: i64,
}

impl From<ClientRow> for ClientSeen {
    fn from(row: ClientRow) -> Self {
        Self {
            credential: row.credential,
            user_id: UserId(row.user_id),
            user_name: row.user_name,
            ip: row.client_ip,
            user_agent: row.user_agent,
            first_seen: Timestamp::from_millis(row.first_seen),
            last_seen: Timestamp::from_millis(row.last_seen),
            requests: row.requests,
        }
    }
}

macro_rules! client_select {
    () => {
        "SELECT c.credential, c.client_ip, c.user_id, u.name AS user_name, c.user_agent, \
         c.first_seen, c.last_seen, c.requests \
         FROM credential_clients c JOIN users u ON u.id = c.user_id "
    };
}

#[derive(sqlx::FromRow)]
struct PasswordRow {
    last_used: Option<i64>,
    #[sqlx(flatten)]
    user: UserRow,
}

#[async_trait]
impl UsageStore for SqlStore {
    async fn record_usage(
        &self,
        uses: &[CredentialUse],
        token_uses: &[TokenUse],
        max_addresses: i64,
    ) -> StoreResult<Vec<ClientSeen>> {
        if uses.is_empty() && token_uses.is_empty() {
            return Ok(Vec::new());
        }
        let mut first_seen = Vec::new();
        on_pool!(self, write_log, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            // The tokens' own last-use figures: counts add up, the time only moves forward.
            for used in token_uses {
                sqlx::query(
                    "UPDATE api_tokens SET use_count = use_count + $2, \
                     last_used_ip = CASE WHEN last_used_at IS NULL OR last_used_at <= $3 \
                                    THEN $4 ELSE last_used_ip END, \
                     last_used_at = CASE WHEN last_used_at IS NULL OR last_used_at < $3 \
                                    THEN $3 ELSE last_used_at END \
                     WHERE id = $1",
                )
                .bind(used.id.0)
                .bind(used.count)
                .bind(used.last_used.as_millis())
                .bind(&used.last_ip)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            }
            for used in uses {
                for (day, requests) in &used.days {
                    sqlx::query(
                        "INSERT INTO credential_daily (credential, day, user_id, requests) \
                         VALUES ($1, $2, $3, $4) ON CONFLICT (credential, day) \
                         DO UPDATE SET requests = credential_daily.requests + excluded.requests",
                    )
                    .bind(&used.credential)
                    .bind(day)
                    .bind(used.user_id.0)
                    .bind(requests)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                }
                let mut kept: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM credential_clients WHERE credential = $1",
                )
                .bind(&used.credential)
                .fetch_one(&mut *tx)
                .await
                .map_err(backend)?;
                for client in &used.clients {
                    // SET expressions read the row as it was.
                    let known = sqlx::query(
                        "UPDATE credential_clients SET requests = requests + $3, \
                         user_agent = CASE WHEN last_seen <= $4 THEN $5 ELSE user_agent END, \
                         last_seen = CASE WHEN last_seen < $4 THEN $4 ELSE last_seen END \
                         WHERE credential = $1 AND client_ip = $2",
                    )
                    .bind(&used.credential)
                    .bind(&client.ip)
                    .bind(client.requests)
                    .bind(client.last_seen.as_millis())
                    .bind(&client.user_agent)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected()
                        > 0;
                    if known || kept >= max_addresses {
                        continue;
                    }
                    // Of several instances flushing the same first use, one inserts the row.
                    let inserted = sqlx::query(
                        "INSERT INTO credential_clients (credential, client_ip, user_id, \
                         user_agent, first_seen, last_seen, requests) \
                         VALUES ($1, $2, $3, $4, $5, $6, $7) \
                         ON CONFLICT (credential, client_ip) DO NOTHING",
                    )
                    .bind(&used.credential)
                    .bind(&client.ip)
                    .bind(used.user_id.0)
                    .bind(&client.user_agent)
                    .bind(client.first_seen.as_millis())
                    .bind(client.last_seen.as_millis())
                    .bind(client.requests)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?
                    .rows_affected();
                    if inserted > 0 {
                        kept += 1;
                        first_seen.push(ClientSeen {
                            credential: used.credential.clone(),
                            user_id: used.user_id,
                            user_name: None,
                            ip: client.ip.clone(),
                            user_agent: client.user_agent.clone(),
                            first_seen: client.first_seen,
                            last_seen: client.last_seen,
                            requests: client.requests,
                        });
                    }
                }
            }
            tx.commit().await.map_err(backend)?;
        });
        Ok(first_seen)
    }

    async fn credential_usage(
        &self,
        credential: &str,
        since_day: i64,
        clients: i64,
    ) -> StoreResult<UsageReport> {
        let (days, clients): (Vec<(i64, i64)>, Vec<ClientRow>) = on_pool!(self, read, |pool| {
            let days = sqlx::query_as(
                "SELECT day, requests FROM credential_daily \
                 WHERE credential = $1 AND day >= $2 ORDER BY day DESC",
            )
            .bind(credential)
            .bind(since_day)
            .fetch_all(pool)
            .await
            .map_err(backend)?;
            let clients = sqlx::query_as(concat!(
                client_select!(),
                "WHERE c.credential = $1 ORDER BY c.last_seen DESC, c.client_ip LIMIT $2"
            ))
            .bind(credential)
            .bind(clients)
            .fetch_all(pool)
            .await
            .map_err(backend)?;
            (days, clients)
        });
        Ok(UsageReport {
            days,
            clients: clients.into_iter().map(ClientSeen::from).collect(),
        })
    }

    async fn credentials_with_new_clients(
        &self,
        since: Timestamp,
        limit: i64,
    ) -> StoreResult<Vec<String>> {
        on_pool!(self, read, |pool| sqlx::query_scalar(
            "SELECT credential FROM credential_clients WHERE first_seen >= $1 \
             GROUP BY credential ORDER BY MAX(first_seen) DESC, credential LIMIT $2"
        )
        .bind(since.as_millis())
        .bind(limit)
        .fetch_all(pool)
        .await
        .map_err(backend))
    }

    async fn clients_of(&self, credentials: &[String]) -> StoreResult<Vec<ClientSeen>> {
        let mut all = Vec::new();
        for credential in credentials {
            let rows: Vec<ClientRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
                client_select!(),
                "WHERE c.credential = $1 ORDER BY c.first_seen"
            ))
            .bind(credential)
            .fetch_all(pool)
            .await
            .map_err(backend))?;
            all.extend(rows.into_iter().map(ClientSeen::from));
        }
        Ok(all)
    }

    async fn password_last_used(&self) -> StoreResult<Vec<(User, Option<Timestamp>)>> {
        let rows: Vec<PasswordRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT (SELECT MAX(c.last_seen) FROM credential_clients c \
             WHERE c.credential = 'password:' || CAST(u.id AS TEXT)) AS last_used, ",
            user_columns!("u"),
            " FROM users u WHERE u.active AND u.password_hash IS NOT NULL ORDER BY u.name"
        ))
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows
            .into_iter()
            .map(|row| {
                (
                    User::from(row.user),
                    row.last_used.map(Timestamp::from_millis),
                )
            })
            .collect())
    }

    async fn delete_usage_before(&self, before_day: i64, before: Timestamp) -> StoreResult<u64> {
        on_pool!(self, write_log, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let days = sqlx::query("DELETE FROM credential_daily WHERE day < $1")
                .bind(before_day)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            let clients = sqlx::query("DELETE FROM credential_clients WHERE last_seen < $1")
                .bind(before.as_millis())
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            tx.commit().await.map_err(backend)?;
            Ok(days + clients)
        })
    }
}
