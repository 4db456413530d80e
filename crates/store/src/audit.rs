//! The audit log: append-only events, listed newest first through filters, deleted only by
//! retention. Each event keeps its client address twice: as written, and as a sortable key
//! ([`ip_key`]) so that a CIDR filter is one range scan on either backend.

use async_trait::async_trait;
use tessera_core::audit::{ActionMatch, AuditEvent, AuditFilter, Outcome, ip_key, ip_key_range};
use tessera_core::clock::Timestamp;
use tessera_core::model::{Page, PageRequest};
use tessera_core::store::{AuditStore, StoreResult};

use crate::{SqlStore, backend, on_pool};

/// The sortable key of an event's address, if it has a readable one.
pub(crate) fn event_ip_key(event: &AuditEvent) -> Option<String> {
    let text = event.client_ip.as_deref()?;
    // An address, or (for API usage) an IPv6 /64, keyed by its first address.
    match text.parse::<ipnet::IpNet>() {
        Ok(net) => Some(ip_key(net.network())),
        Err(_) => text.parse().ok().map(ip_key),
    }
}

/// Inserts one audit event on a transaction or pool (either backend).
macro_rules! insert_audit {
    ($executor:expr, $event:expr) => {{
        let event: &tessera_core::audit::AuditEvent = $event;
        sqlx::query(
            "INSERT INTO audit_events (at, actor_id, actor_name, credential_kind, \
             credential_id, client_ip, client_ip_key, user_agent, action, target, outcome, \
             reason, repeats, request_id) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        )
        .bind(event.at.as_millis())
        .bind(event.actor_id)
        .bind(&event.actor_name)
        .bind(&event.credential_kind)
        .bind(&event.credential_id)
        .bind(&event.client_ip)
        .bind($crate::audit::event_ip_key(event))
        .bind(&event.user_agent)
        .bind(&event.action)
        .bind(&event.target)
        .bind(event.outcome.name())
        .bind(&event.reason)
        .bind(event.repeats)
        .bind(&event.request_id)
        .execute($executor)
        .await
        .map_err($crate::backend)?;
    }};
}
pub(crate) use insert_audit;

#[derive(sqlx::FromRow)]
struct AuditRow {
    at: i64,
    actor_id: Option<i64>,
    actor_name: Option<String>,
    credential_kind: Option<String>,
    credential_id: Option<String>,
    client_ip: Option<String>,
    user_agent: Option<String>,
    action: String,
    target: Option<String>,
    outcome: String,
    reason: Option<String>,
    repeats: i64,
    request_id: Option<String>,
}

impl AuditRow {
    fn into_event(self) -> AuditEvent {
        AuditEvent {
            at: Timestamp::from_millis(self.at),
            actor_id: self.actor_id,
            actor_name: self.actor_name,
            credential_kind: self.credential_kind,
            credential_id: self.credential_id,
            client_ip: self.client_ip,
            user_agent: self.user_agent,
            action: self.action,
            target: self.target,
            outcome: Outcome::parse(&self.outcome).unwrap_or(Outcome::Failure),
            reason: self.reason,
            repeats: self.repeats,
            request_id: self.request_id,
        }
    }
}

/// `LIKE` matches `%` and `_` anywhere: a prefix given by a client is escaped first.
fn like_prefix(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[async_trait]
impl AuditStore for SqlStore {
    async fn record_audit(&self, events: &[AuditEvent]) -> StoreResult<()> {
        if events.is_empty() {
            return Ok(());
        }
        on_pool!(self, write_log, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            for event in events {
                insert_audit!(&mut *tx, event);
            }
            tx.commit().await.map_err(backend)?;
        });
        Ok(())
    }

    async fn recent_audit(&self, limit: i64) -> StoreResult<Vec<AuditEvent>> {
        let page = PageRequest { start_at: 0, limit };
        Ok(self.list_audit(&AuditFilter::default(), page).await?.items)
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: PageRequest,
    ) -> StoreResult<Page<AuditEvent>> {
        macro_rules! audit_filter {
            () => {
                " WHERE ($1 IS NULL OR at >= $1) AND ($2 IS NULL OR at < $2) \
                 AND ($3 IS NULL OR actor_name = $3) AND ($4 IS NULL OR action = $4) \
                 AND ($5 IS NULL OR action LIKE $5 ESCAPE '\\') \
                 AND ($6 IS NULL OR outcome = $6) \
                 AND ($7 IS NULL OR client_ip_key BETWEEN $7 AND $8) \
                 AND ($9 IS NULL OR target = $9) \
                 AND ($10 IS NULL OR request_id = $10)"
            };
        }
        let (exact, prefix) = match &filter.action {
            None => (None, None),
            Some(ActionMatch::Exact(action)) => (Some(action.clone()), None),
            Some(ActionMatch::Prefix(prefix)) => (None, Some(like_prefix(prefix))),
        };
        let (low, high) = match filter.client_net {
            Some(net) => {
                let (low, high) = ip_key_range(net);
                (Some(low), Some(high))
            }
            None => (None, None),
        };
        macro_rules! bind_filter {
            ($query:expr) => {
                $query
                    .bind(filter.from.map(Timestamp::as_millis))
                    .bind(filter.to.map(Timestamp::as_millis))
                    .bind(&filter.actor)
                    .bind(&exact)
                    .bind(&prefix)
                    .bind(filter.outcome.map(Outcome::name))
                    .bind(&low)
                    .bind(&high)
                    .bind(&filter.target)
                    .bind(&filter.request_id)
            };
        }
        let (rows, total): (Vec<AuditRow>, i64) = on_pool!(self, read, |pool| {
            let rows = bind_filter!(sqlx::query_as(concat!(
                "SELECT at, actor_id, actor_name, credential_kind, credential_id, client_ip, \
                 user_agent, action, target, outcome, reason, repeats, request_id FROM audit_events",
                audit_filter!(),
                " ORDER BY at DESC, id DESC LIMIT $11 OFFSET $12"
            )))
            .bind(page.limit)
            .bind(page.start_at)
            .fetch_all(pool)
            .await
            .map_err(backend)?;
            let total = bind_filter!(sqlx::query_scalar(concat!(
                "SELECT COUNT(*) FROM audit_events",
                audit_filter!()
            )))
            .fetch_one(pool)
            .await
            .map_err(backend)?;
            (rows, total)
        });
        Ok(Page {
            items: rows.into_iter().map(AuditRow::into_event).collect(),
            start_at: page.start_at,
            max_results: page.limit,
            total,
        })
    }

    async fn delete_audit_before(&self, before: Timestamp) -> StoreResult<u64> {
        on_pool!(self, write_log, |pool| sqlx::query(
            "DELETE FROM audit_events WHERE at < $1"
        )
        .bind(before.as_millis())
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_prefixes_escape_wildcards() {
        assert_eq!(like_prefix("token."), "token.%");
        assert_eq!(like_prefix("a%b_c\\"), "a\\%b\\_c\\\\%");
    }
}
