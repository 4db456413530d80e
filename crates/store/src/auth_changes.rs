//! How an instance knows that nothing a remembered credential answer depends on has changed:
//! the `auth_epoch` behind [`tessera_core::store::AuthChangeStore`].
//!
//! The database keeps a generation that triggers move on every change that matters to a
//! verified credential (migration 0027 lists the tables and columns). The epoch moves:
//! - **at once, for this instance's own writes**: every write through `on_pool!(self, write,
//!   ..)` moves it when it ends, whatever it touched (conservative: no write can be
//!   forgotten). Writes known to touch none of those tables (audit, usage, throttle, nonces,
//!   a session's last-seen time, and the work data: issues, projects, filters, avatars...)
//!   use `write_outside_auth` and leave it alone; were one of them ever to touch such a table,
//!   its change would still arrive through the watch below, as another instance's does;
//! - **for other instances' writes**: on PostgreSQL, on every notification on channel
//!   `tessera_auth` (sent at commit by the triggers), and when a once-a-second read of the
//!   generation finds a value no notification brought; on SQLite (where processes cannot
//!   notify each other), when a read of the generation row four times a second finds it moved.
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

/// The channel the triggers notify.
const CHANNEL: &str = "tessera_auth";
/// How often PostgreSQL's generation is read besides the notifications (a backstop).
const POSTGRES_POLL: Duration = Duration::from_secs(1);
/// How often SQLite's generation row is read: other processes' changes arrive no later.
const SQLITE_POLL: Duration = Duration::from_millis(250);
/// How long to wait before reconnecting a lost watch.
const RETRY: Duration = Duration::from_millis(200);

#[derive(Debug, Default)]
pub(crate) struct AuthChanges {
    epoch: AtomicU64,
    /// Whether the watcher is connected and has read the generation since it (re)connected.
    watching: AtomicBool,
    started: AtomicBool,
}

impl AuthChanges {
    /// Moves the epoch when dropped: held across a write (see `on_pool!`).
    pub(crate) fn write_guard(&self) -> WriteGuard<'_> {
        WriteGuard(self)
    }

    /// Something may have changed: also for a change this instance made through a write that
    /// does not move the epoch by itself.
    pub(crate) fn changed(&self) {
        self.epoch.fetch_add(1, SeqCst);
    }

    fn interrupted(&self) {
        self.watching.store(false, SeqCst);
        self.changed();
    }

    fn resumed(&self) {
        self.changed();
        self.watching.store(true, SeqCst);
    }

    fn epoch(&self) -> Option<u64> {
        self.watching.load(SeqCst).then(|| self.epoch.load(SeqCst))
    }
}

/// Moves the epoch when a write ends, however it ends.
pub(crate) struct WriteGuard<'a>(&'a AuthChanges);

impl Drop for WriteGuard<'_> {
    fn drop(&mut self) {
        self.0.changed();
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
    listener.listen(CHANNEL).await?;
    // Listening first, then reading: a change after the read arrives as a notification.
    let mut known = postgres_generation(pool).await?;
    changes.resumed();
    let mut poll = tokio::time::interval(POSTGRES_POLL);
    poll.tick().await;
    loop {
        tokio::select! {
            received = listener.try_recv() => match received? {
                Some(notification) => {
                    if let Ok(generation) = notification.payload().parse::<i64>() {
                        known = known.max(generation);
                    }
                    changes.changed();
                }
                // Lost: what was notified meanwhile is lost with it.
                None => return Ok(()),
            },
            _ = poll.tick() => {
                let generation = postgres_generation(pool).await?;
                if generation > known {
                    known = generation;
                    changes.changed();
                }
            }
        }
    }
}

async fn postgres_generation(pool: &PgPool) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT last_value FROM auth_generation")
        .fetch_one(pool)
        .await
}

async fn follow_sqlite(reader: SqlitePool, changes: Arc<AuthChanges>) {
    let mut known: Option<i64> = None;
    let mut poll = tokio::time::interval(SQLITE_POLL);
    while !reader.is_closed() {
        poll.tick().await;
        let read = sqlx::query_scalar("SELECT generation FROM auth_generation WHERE id = 1")
            .fetch_one(&reader)
            .await;
        match (read, known) {
            (Ok(generation), None) => {
                known = Some(generation);
                changes.resumed();
            }
            (Ok(generation), Some(before)) if generation != before => {
                known = Some(generation);
                changes.changed();
            }
            (Ok(_), Some(_)) => {}
            (Err(error), _) => {
                if known.take().is_some() && !reader.is_closed() {
                    tracing::warn!(%error, "cannot read the credential change generation");
                }
                changes.interrupted();
            }
        }
    }
}
