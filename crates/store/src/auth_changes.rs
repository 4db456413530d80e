//! How an instance knows that nothing a remembered answer depends on has changed: the
//! `auth_epoch` (credentials) and the `data_epoch` (work data) behind
//! [`tessera_core::store::AuthChangeStore`].
//!
//! The database keeps a generation that triggers move on every change that matters to a
//! verified credential (migration 0027 lists the tables and columns). The epoch moves:
//! - **at once, for this instance's own writes**: every write through `on_pool!(self, write,
//!   ..)` moves it when it ends, whatever it touched (conservative: no write can be
//!   forgotten). Writes known to touch none of those tables (the work data: issues, projects,
//!   filters, avatars...; and the request trail: audit, usage, throttle, nonces, a session's
//!   last-seen time) use `write_work` or `write_log` and leave it alone; were one of them ever
//!   to touch such a table,
//!   its change would still arrive through the watch below, as another instance's does;
//! - **for other instances' writes**: on PostgreSQL, on every notification on channel
//!   `tessera_auth` (sent at commit by the triggers), and when a once-a-second read of the
//!   generation finds a value no notification brought; on SQLite (where processes cannot
//!   notify each other), when a read of the generation row four times a second finds it moved.
//!
//! The data epoch moves the same way, from its own generation (migration 0029: projects, roles,
//! issues and all shown with them, filters, avatars, application properties) and channel
//! `tessera_data`, and locally at the end of every `on_pool!(self, write_work, ..)`. Writes of
//! the request trail (audit, usage, throttle, nonces, last-seen and last-login times) use
//! `write_log` and move neither.
//!
//! While the watcher is not connected and up to date (before it starts, after its connection
//! was lost or killed, while it reconnects) the epoch is `None` and nothing remembered is used:
//! a reconnect also moves the epoch, so what was remembered before the interruption is stale.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::SeqCst};
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use sqlx::sqlite::SqlitePool;

use crate::{Backend, SqlStore};
use tessera_core::store::AuthChangeStore;

/// The channel the credential triggers notify.
const CHANNEL: &str = "tessera_auth";
/// The channel the work data's triggers notify.
const DATA_CHANNEL: &str = "tessera_data";
/// How often PostgreSQL's generation is read besides the notifications (a backstop).
const POSTGRES_POLL: Duration = Duration::from_secs(1);
/// How often SQLite's generation row is read: other processes' changes arrive no later.
const SQLITE_POLL: Duration = Duration::from_millis(250);
/// How long to wait before reconnecting a lost watch.
const RETRY: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
pub(crate) struct AuthChanges {
    epoch: AtomicU64,
    data: AtomicU64,
    /// Whether the watcher is connected and has read the generation since it (re)connected.
    watching: AtomicBool,
    started: AtomicBool,
}

impl AuthChanges {
    /// Moves the epoch when dropped: held across a write (see `on_pool!`).
    pub(crate) fn write_guard(&self) -> WriteGuard<'_> {
        WriteGuard(self, Self::changed)
    }

    /// Moves the data epoch when dropped: held across a write of work data.
    pub(crate) fn data_write_guard(&self) -> WriteGuard<'_> {
        WriteGuard(self, Self::data_changed)
    }

    /// Something may have changed: also for a change this instance made through a write that
    /// does not move the epoch by itself.
    pub(crate) fn changed(&self) {
        self.epoch.fetch_add(1, SeqCst);
    }

    /// Work data may have changed.
    fn data_changed(&self) {
        self.data.fetch_add(1, SeqCst);
    }

    fn interrupted(&self) {
        self.watching.store(false, SeqCst);
        self.changed();
        self.data_changed();
    }

    fn resumed(&self) {
        self.changed();
        self.data_changed();
        self.watching.store(true, SeqCst);
    }

    fn epoch(&self) -> Option<u64> {
        self.watching.load(SeqCst).then(|| self.epoch.load(SeqCst))
    }

    fn data_epoch(&self) -> Option<u64> {
        self.watching.load(SeqCst).then(|| self.data.load(SeqCst))
    }

    /// Both epochs, or `None` while they cannot be vouched for.
    pub(crate) fn epochs(&self) -> Option<(u64, u64)> {
        Some((self.epoch()?, self.data_epoch()?))
    }
}

/// Moves an epoch when a write ends, however it ends.
pub(crate) struct WriteGuard<'a>(&'a AuthChanges, fn(&AuthChanges));

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        (self.1)(self.0);
    }
}

#[async_trait::async_trait]
impl tessera_core::store::HealthStore for SqlStore {
    async fn ping(&self) -> tessera_core::store::StoreResult<()> {
        crate::on_pool!(self, read, |pool| {
            sqlx::query("SELECT 1")
                .execute(pool)
                .await
                .map_err(crate::backend)?;
        });
        Ok(())
    }

    fn pools(&self) -> Vec<tessera_core::store::PoolUsage> {
        let usage = |name, size, idle| tessera_core::store::PoolUsage { name, size, idle };
        match &self.backend {
            Backend::Postgres(pool) => vec![usage("postgres", pool.size(), pool.num_idle())],
            Backend::Sqlite { reader, writer } => vec![
                usage("sqlite_read", reader.size(), reader.num_idle()),
                usage("sqlite_write", writer.size(), writer.num_idle()),
            ],
        }
    }
}

impl AuthChangeStore for SqlStore {
    fn watch_auth_changes(&self) {
        if self.changes.started.swap(true, SeqCst) {
            return;
        }
        let changes = self.changes.clone();
        match &self.backend {
            Backend::Postgres(pool) => {
                tokio::spawn(follow_postgres(pool.clone(), changes));
            }
            Backend::Sqlite { reader, .. } => {
                tokio::spawn(follow_sqlite(reader.clone(), changes));
            }
        }
    }

    fn auth_epoch(&self) -> Option<u64> {
        self.changes.epoch()
    }

    fn data_epoch(&self) -> Option<u64> {
        self.changes.data_epoch()
    }
}

async fn follow_postgres(pool: PgPool, changes: Arc<AuthChanges>) {
    while !pool.is_closed() {
        let ended = listen_postgres(&pool, &changes).await;
        changes.interrupted();
        match ended {
            Ok(()) => tracing::warn!(
                "the connection that hears of credential changes was lost; \
                 remembered credentials are not used until it is back"
            ),
            Err(error) if !pool.is_closed() => tracing::warn!(
                %error,
                "cannot hear of credential changes; remembered credentials are not used \
                 until this is resolved"
            ),
            Err(_) => break,
        }
        tokio::time::sleep(RETRY).await;
    }
}

/// Listens until the connection is lost (`Ok`) or a read fails.
async fn listen_postgres(pool: &PgPool, changes: &AuthChanges) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen_all([CHANNEL, DATA_CHANNEL]).await?;
    // Listening first, then reading: a change after the read arrives as a notification.
    let mut known = postgres_generations(pool).await?;
    changes.resumed();
    let mut poll = tokio::time::interval(POSTGRES_POLL);
    poll.tick().await;
    loop {
        tokio::select! {
            received = listener.try_recv() => match received? {
                Some(notification) if notification.channel() == DATA_CHANNEL => {
                    changes.data_changed();
                }
                Some(notification) => {
                    if let Ok(generation) = notification.payload().parse::<i64>() {
                        known.0 = known.0.max(generation);
                    }
                    changes.changed();
                }
                // Lost: what was notified meanwhile is lost with it.
                None => return Ok(()),
            },
            _ = poll.tick() => {
                let (auth, data) = postgres_generations(pool).await?;
                if auth > known.0 {
                    changes.changed();
                }
                if data > known.1 {
                    changes.data_changed();
                }
                known = (known.0.max(auth), known.1.max(data));
            }
        }
    }
}

/// The credential and the data generations, as last taken.
async fn postgres_generations(pool: &PgPool) -> Result<(i64, i64), sqlx::Error> {
    sqlx::query_as(
        "SELECT (SELECT last_value FROM auth_generation), \
         (SELECT last_value FROM data_generation)",
    )
    .fetch_one(pool)
    .await
}

async fn follow_sqlite(reader: SqlitePool, changes: Arc<AuthChanges>) {
    let mut known: Option<(i64, i64)> = None;
    let mut poll = tokio::time::interval(SQLITE_POLL);
    while !reader.is_closed() {
        poll.tick().await;
        let read = sqlx::query_as(
            "SELECT a.generation, d.generation FROM auth_generation a, data_generation d \
             WHERE a.id = 1 AND d.id = 1",
        )
        .fetch_one(&reader)
        .await;
        match (read, known) {
            (Ok(generations), None) => {
                known = Some(generations);
                changes.resumed();
            }
            (Ok((auth, data)), Some(before)) => {
                if auth != before.0 {
                    changes.changed();
                }
                if data != before.1 {
                    changes.data_changed();
                }
                known = Some((auth, data));
            }
            (Err(error), _) => {
                if known.take().is_some() && !reader.is_closed() {
                    tracing::warn!(%error, "cannot read the credential change generation");
                }
                changes.interrupted();
            }
        }
    }
}
