//! Throw-away databases for tests, one per test, so tests share no state and run in any order.
//!
//! SQLite databases live in a temporary directory. PostgreSQL databases are created on the
//! server named by `TESSERA_TEST_DATABASE_URL` and dropped when the handle is dropped (also
//! when the test panics). Under CI (`CI=true`) the PostgreSQL server is mandatory: a test that
//! asks for it fails instead of skipping.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::print_stdout)]

use std::path::PathBuf;

use sqlx::{Connection, PgConnection};

/// Which database a test runs against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A database that exists for the lifetime of this value.
#[derive(Debug)]
pub struct TestDatabase {
    pub url: String,
    pub backend: Backend,
    /// The temporary directory holding a SQLite file (kept alive with the database).
    pub dir: Option<tempfile::TempDir>,
    /// For PostgreSQL: the admin URL and database name to drop.
    drop_on: Option<(String, String)>,
}

impl TestDatabase {
    /// A fresh database of the given kind, or `None` for PostgreSQL when no server is
    /// configured outside CI.
    pub async fn new(backend: Backend) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres().await,
        }
    }

    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let url = format!("sqlite://{}", dir.path().join("tessera.db").display());
        Self {
            url,
            backend: Backend::Sqlite,
            dir: Some(dir),
            drop_on: None,
        }
    }

    /// A fresh PostgreSQL database; `None` if `TESSERA_TEST_DATABASE_URL` is not set and this
    /// is not CI.
    pub async fn postgres() -> Option<Self> {
        let admin_url = match std::env::var("TESSERA_TEST_DATABASE_URL") {
            Ok(url) if !url.is_empty() => url,
            _ if is_ci() => panic!(
                "CI=true requires TESSERA_TEST_DATABASE_URL (a PostgreSQL server the tests may \
                 create databases on)"
            ),
            _ => {
                eprintln!("TESSERA_TEST_DATABASE_URL is not set: skipping the PostgreSQL run");
                return None;
            }
        };
        let name = format!("tessera_test_{}", random_hex(8));
        let mut admin = PgConnection::connect(&admin_url)
            .await
            .unwrap_or_else(|e| panic!("cannot reach the test PostgreSQL server: {e}"));
        sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .execute(&mut admin)
            .await
            .expect("create test database");
        admin.close().await.ok();
        let url = replace_database(&admin_url, &name);
        Some(Self {
            url,
            backend: Backend::Postgres,
            dir: None,
            drop_on: Some((admin_url, name)),
        })
    }

    /// The data directory of a SQLite database (for tests that start servers on it).
    pub fn data_dir(&self) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.path().to_path_buf())
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.drop_on.take() else {
            return;
        };
        // Drop runs inside or outside a runtime; a thread of its own can always block.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async {
                let mut admin = PgConnection::connect(&admin_url)
                    .await
                    .map_err(std::io::Error::other)?;
                sqlx::query(sqlx::AssertSqlSafe(format!(
                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                )))
                .execute(&mut admin)
                .await
                .map_err(std::io::Error::other)?;
                admin.close().await.ok();
                Ok::<(), std::io::Error>(())
            })
        })
        .join();
        if let Ok(Err(e)) = dropped {
            eprintln!("could not drop a test database: {e}");
        }
    }
}

pub fn is_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

pub fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).expect("random bytes");
    hex::encode(buf)
}

/// Replaces the database name (the URL path) of a PostgreSQL URL.
fn replace_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{base}/{name}?{query}"),
        None => format!("{base}/{name}"),
    }
}

/// Declares a test once and runs it on every backend: `sqlite_NAME` and `postgres_NAME`.
/// The body gets the [`TestDatabase`] as `$db`.
#[macro_export]
macro_rules! backend_tests {
    ($(async fn $name:ident($db:ident) $body:block)*) => {
        pub mod sqlite {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let $db = $crate::TestDatabase::new($crate::Backend::Sqlite).await.unwrap();
                    $body
                }
            )*
        }
        pub mod postgres {
            #[allow(unused_imports)]
            use super::*;
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some($db) = $crate::TestDatabase::new($crate::Backend::Postgres).await
                    else { return };
                    $body
                }
            )*
        }
    };
}

/// Kills every connection that listens for changes on the PostgreSQL database at `url` (each
/// instance's watch of the auth and data epochs); one `true` per connection killed.
pub async fn kill_listeners(url: &str) -> Vec<bool> {
    let admin = sqlx::PgPool::connect(url).await.unwrap();
    let killed = sqlx::query_scalar(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid() AND query ILIKE 'LISTEN%'",
    )
    .fetch_all(&admin)
    .await
    .unwrap();
    admin.close().await;
    killed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            replace_database("postgres://u@h:5432/test", "x"),
            "postgres://u@h:5432/x"
        );
        assert_eq!(replace_database("postgres://u@h", "x"), "postgres://u@h/x");
        assert_eq!(
            replace_database("postgres://u@h/test?sslmode=disable", "x"),
            "postgres://u@h/x?sslmode=disable"
        );
    }
}
