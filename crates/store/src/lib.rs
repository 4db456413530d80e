//! SQLite and PostgreSQL implementations of [`tessera_core::store::Store`].
//!
//! Both backends run the same query text: SQLite accepts PostgreSQL's `$1` placeholders, and
//! the schema keeps to types both understand (BIGINT, TEXT, BOOLEAN, bytes). Each query is
//! therefore written once; the [`on_pool!`] macro compiles it for both pool types. Backend-
//! specific SQL lives only in the migrations (identity columns, byte types, collations) and in
//! [`SqlStore::explain_search`]. Searches are compiled at run time into the same kind of text,
//! with every value bound (see `search.rs`).
//!
//! SQLite runs in WAL mode with `synchronous=FULL`: an acknowledged write survives a crash of
//! the process or of the machine. Writes go through a single-connection pool, so writers queue
//! in tessera instead of failing with `SQLITE_BUSY`; reads use a separate read-only pool.
//! PostgreSQL serialises what must be serial with row locks (e.g. the per-project issue counter),
//! so several tessera instances can share one database.

mod app_properties;
mod attachments;
mod audit;
mod auth_changes;
mod avatars;
mod filters;
mod identity;
mod issue_properties;
mod issue_users;
mod issues;
mod links;
mod oauth1;
mod oauth2;
mod planning;
mod policy;
mod projects;
mod rows;
mod search;
mod sessions;
mod throttle;
mod tokens;
mod usage;
mod users;
mod votes;
mod worklogs;

use std::str::FromStr;
use std::time::Duration;

use sqlx::Connection;
use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use tessera_core::store::{Conflict, StoreError};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The migration that adds the lower-cased copies text search reads (filled by SQL's
/// `LOWER()`, which [`SqlStore::migrate`] then corrects in Rust for non-ASCII text).
const SEARCH_TEXT_MIGRATION: i64 = 4;

/// A pooled PostgreSQL connection idle this long is pinged before it is handed out (a lost
/// one is replaced, not failed on). sqlx pings at every hand-out by default: a round trip to
/// the server before every query, which doubled the cost of a read. SQLite's connections are
/// files of this process and are never pinged.
const PING_AFTER_IDLE: Duration = Duration::from_secs(1);

/// How to size the connection pools.
#[derive(Clone, Copy, Debug)]
pub struct PoolOptions {
    /// Connections for PostgreSQL, and readers for SQLite (which always has one writer).
    pub max_connections: u32,
    /// How long a request may wait for a connection before failing.
    pub acquire_timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(15),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("unsupported database URL '{0}': use sqlite://PATH or postgres://...")]
    UnsupportedUrl(String),
    #[error("cannot open the database: {0}")]
    Connect(#[source] sqlx::Error),
    #[error("cannot apply migrations: {0}")]
    Migrate(#[source] sqlx::migrate::MigrateError),
    #[error("cannot prepare existing text for search: {0}")]
    SearchText(#[source] StoreError),
}

#[derive(Debug)]
enum Backend {
    Sqlite {
        reader: SqlitePool,
        writer: SqlitePool,
    },
    Postgres(PgPool),
}

/// A tessera store on SQLite or PostgreSQL.
#[derive(Debug)]
pub struct SqlStore {
    backend: Backend,
    changes: std::sync::Arc<auth_changes::AuthChanges>,
    /// Each (project, user)'s role ids, remembered under both epochs (see `user_roles`).
    roles: RememberedRoles,
}

/// (project id, user id) -> (auth epoch, data epoch, role ids).
type RememberedRoles = moka::sync::Cache<(i64, i64), (u64, u64, std::sync::Arc<[i64]>)>;

/// Room for this many (project, user) pairs' roles: a few bytes each.
const REMEMBERED_ROLES: u64 = 10_000;

fn remembered_roles() -> RememberedRoles {
    moka::sync::Cache::builder()
        .max_capacity(REMEMBERED_ROLES)
        .time_to_live(Duration::from_secs(5 * 60))
        .build()
}

/// Runs `$body` with `$pool` bound to the backend's pool: the SQLite reader (`read`) or writer
/// (`write`), or the PostgreSQL pool. The body is compiled once per backend.
///
/// Every write moves one of the instance's epochs when it ends, however it ends (see
/// `auth_changes`), or none:
/// - `write`: the auth epoch, for writes to what verified credentials depend on (users,
///   groups, grants, tokens, sessions, policy, OAuth, identity providers);
/// - `write_work`: the data epoch, for the work data (projects, roles, issues and everything
///   shown with them, filters, avatars, application properties), frequent writes that must
///   not make the instance forget what it verified;
/// - `write_log`: neither, for the request trail (audit, usage, throttle, nonces, last-seen
///   and last-login times), which changes with every request and is in no remembered answer.
macro_rules! on_pool {
    ($self:expr, read, |$pool:ident| $body:expr) => {
        match &$self.backend {
            $crate::Backend::Sqlite { reader: $pool, .. } => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    };
    ($self:expr, write, |$pool:ident| $body:expr) => {{
        let _written = $self.changes.write_guard();
        $crate::on_pool!($self, write_log, |$pool| $body)
    }};
    ($self:expr, write_work, |$pool:ident| $body:expr) => {{
        let _written = $self.changes.data_write_guard();
        $crate::on_pool!($self, write_log, |$pool| $body)
    }};
    ($self:expr, write_log, |$pool:ident| $body:expr) => {
        match &$self.backend {
            $crate::Backend::Sqlite { writer: $pool, .. } => $body,
            $crate::Backend::Postgres($pool) => $body,
        }
    };
}
pub(crate) use on_pool;

impl SqlStore {
    /// Opens (creating if needed) the database at `url` and brings its schema up to date.
    pub async fn open(url: &str, options: PoolOptions) -> Result<Self, ConnectError> {
        let store = Self::connect(url, options).await?;
        store.migrate().await?;
        Ok(store)
    }

    /// Opens the database without touching its schema.
    pub async fn connect(url: &str, options: PoolOptions) -> Result<Self, ConnectError> {
        if url.starts_with("sqlite:") {
            let base = SqliteConnectOptions::from_str(url)
                .map_err(ConnectError::Connect)?
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .foreign_keys(true)
                .busy_timeout(Duration::from_secs(30));
            // Two instances opening a new file together can collide while one of them turns
            // it to WAL: SQLite answers "database is locked" at once, without waiting out the
            // busy timeout. The file is ready a moment later, so try again a few times.
            let mut attempt = 1;
            let writer = loop {
                let opened = SqlitePoolOptions::new()
                    .max_connections(1)
                    .test_before_acquire(false)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(base.clone().create_if_missing(true))
                    .await;
                match opened {
                    Ok(pool) => break pool,
                    Err(error) if attempt < 5 && is_locked(&error) => {
                        tracing::debug!(%error, attempt, "opening raced another instance; retrying");
                        tokio::time::sleep(Duration::from_millis(50 * attempt)).await;
                        attempt += 1;
                    }
                    Err(error) => return Err(ConnectError::Connect(error)),
                }
            };
            // Readers connect lazily: the writer may still have to create the schema.
            let reader = SqlitePoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .test_before_acquire(false)
                .acquire_timeout(options.acquire_timeout)
                .connect_lazy_with(base.read_only(true));
            Ok(Self {
                backend: Backend::Sqlite { reader, writer },
                changes: Default::default(),
                roles: remembered_roles(),
            })
        } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
            let pool = PgPoolOptions::new()
                .max_connections(options.max_connections.max(1))
                .acquire_timeout(options.acquire_timeout)
                .test_before_acquire(false)
                .before_acquire(|connection, held| {
                    Box::pin(async move {
                        if held.idle_for >= PING_AFTER_IDLE {
                            connection.ping().await?;
                        }
                        Ok(true)
                    })
                })
                .connect(url)
                .await
                .map_err(ConnectError::Connect)?;
            Ok(Self {
                backend: Backend::Postgres(pool),
                changes: Default::default(),
                roles: remembered_roles(),
            })
        } else {
            Err(ConnectError::UnsupportedUrl(redact_url(url)))
        }
    }

    /// Applies pending migrations; returns the versions applied now. Safe to run from several
    /// instances at once (PostgreSQL takes an advisory lock).
    pub async fn migrate(&self) -> Result<Vec<i64>, ConnectError> {
        let before = self.applied_migrations().await;
        match &self.backend {
            Backend::Sqlite { writer, .. } => {
                // SQLite has no advisory lock: two instances starting together on a new file
                // can both decide to apply a migration, and the second fails ("table already
                // exists") once the first commits. Each migration is one transaction, so the
                // loser simply runs again and finds the work done.
                let mut attempt = 1;
                loop {
                    match SQLITE_MIGRATIONS.run(writer).await {
                        Ok(()) => break,
                        Err(error) if attempt < 5 => {
                            tracing::debug!(%error, attempt, "migration raced another instance; retrying");
                            tokio::time::sleep(Duration::from_millis(100 * attempt)).await;
                            attempt += 1;
                        }
                        Err(error) => return Err(ConnectError::Migrate(error)),
                    }
                }
            }
            Backend::Postgres(pool) => POSTGRES_MIGRATIONS
                .run(pool)
                .await
                .map_err(ConnectError::Migrate)?,
        }
        let after = self.applied_migrations().await;
        let applied: Vec<i64> = after.into_iter().filter(|v| !before.contains(v)).collect();
        if applied.contains(&SEARCH_TEXT_MIGRATION) {
            self.relower_search_text()
                .await
                .map_err(ConnectError::SearchText)?;
        }
        Ok(applied)
    }

    async fn applied_migrations(&self) -> Vec<i64> {
        let query = "SELECT version FROM _sqlx_migrations WHERE success ORDER BY version";
        let result: Result<Vec<i64>, sqlx::Error> =
            on_pool!(self, write, |pool| sqlx::query_scalar(query)
                .fetch_all(pool)
                .await);
        // Before the first migration the table does not exist: nothing is applied.
        result.unwrap_or_default()
    }

    /// `sqlite` or `postgres`.
    pub fn backend_name(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite { .. } => "sqlite",
            Backend::Postgres(_) => "postgres",
        }
    }

    /// Closes every connection, waiting for those in use to be returned. SQLite checkpoints
    /// its write-ahead log as the last connection closes.
    pub async fn close(&self) {
        match &self.backend {
            Backend::Sqlite { reader, writer } => {
                reader.close().await;
                writer.close().await;
            }
            Backend::Postgres(pool) => pool.close().await,
        }
    }
}

/// A database URL without its password (in the user info or a `password=` parameter), for
/// messages.
pub fn redact_url(url: &str) -> String {
    let (url, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let query = query.map(|query| {
        query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("password") => format!("{key}=***"),
                _ => pair.to_string(),
            })
            .collect::<Vec<_>>()
            .join("&")
    });
    let base = redact_userinfo(url);
    match query {
        Some(query) => format!("{base}?{query}"),
        None => base,
    }
}

fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            match userinfo.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Whether SQLite refused because another connection held a lock: `SQLITE_BUSY` (5), or one
/// of its extended codes, whose low byte is 5.
fn is_locked(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    db.code()
        .and_then(|code| code.parse::<i32>().ok())
        .is_some_and(|code| code & 0xff == 5)
}

pub(crate) fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(Box::new(error))
}

/// Maps an error from an insert or update: unique violations to `Conflict` (named by
/// `name_conflict`, which reads the constraint or message), foreign-key violations to
/// `MissingReference`, everything else to `Backend`.
pub(crate) fn write_error(error: sqlx::Error, name_conflict: fn(&str) -> Conflict) -> StoreError {
    if let sqlx::Error::Database(db) = &error {
        match db.kind() {
            sqlx::error::ErrorKind::UniqueViolation => {
                let detail = db.constraint().unwrap_or_else(|| db.message());
                return StoreError::Conflict(name_conflict(detail));
            }
            sqlx::error::ErrorKind::ForeignKeyViolation => return StoreError::MissingReference,
            _ => {}
        }
    }
    backend(error)
}

pub(crate) fn any_conflict(_: &str) -> Conflict {
    Conflict::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("postgres://bob:secret@db:5432/tessera"),
            "postgres://bob:***@db:5432/tessera"
        );
        assert_eq!(redact_url("postgres://db/tessera"), "postgres://db/tessera");
        assert_eq!(
            redact_url("sqlite://data/tessera.db"),
            "sqlite://data/tessera.db"
        );
        assert_eq!(
            redact_url("postgres://u@db/t?sslmode=require&password=s3cret"),
            "postgres://u@db/t?sslmode=require&password=***"
        );
    }

    /// Migrations are numbered and named the same for both databases (DESIGN.md): a table
    /// added to one tree and forgotten in the other would pass every test of one backend.
    #[test]
    fn both_migration_trees_name_the_same_files() {
        let names = |backend: &str| {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(backend);
            let mut names: Vec<String> = std::fs::read_dir(dir)
                .unwrap()
                .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        let sqlite = names("sqlite");
        assert!(sqlite.len() >= 7, "{sqlite:?}");
        assert_eq!(sqlite, names("postgres"));
    }
}
