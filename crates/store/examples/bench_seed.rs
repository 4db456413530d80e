//! Seeds a tessera database with many issues, fast, for the search benchmark
//! (`bench/search.sh`): deterministic data written in multi-row inserts inside one
//! transaction, straight into the tables (the store's `create_issue` takes a transaction per
//! issue, which is right for a server and slow for 100,000 issues).
//!
//!     bench_seed DATABASE_URL TOTAL KEY [KEY...]
//!
//! The projects must exist and be empty (the server creates them); the first key gets 40% of
//! the issues and the others share the rest. Reporters and assignees are drawn from every
//! user. Prints, as one JSON line, how many issues each project got and how many of the first
//! project's issues are In Progress, which the benchmark checks `total` against.
//!
//! Bench-only: it bypasses the store's rules (and its changelog), so it never runs against a
//! database anyone uses.

use std::error::Error;
use std::time::Instant;

use sqlx::AssertSqlSafe;
use tessera_core::catalog::{IssueType, Priority, Resolution, Status};

type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// Rows per INSERT: 16 columns × 500 stays under both stores' limits on bound values.
const ROWS_PER_INSERT: usize = 500;
/// 2026-01-01T00:00:00Z; issues are filed a minute apart from here on.
const START_MILLIS: i64 = 1_767_225_600_000;

/// A small deterministic generator (64-bit LCG, Knuth's constants): the same data every run.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Clone, Debug)]
enum V {
    I(Option<i64>),
    T(Option<String>),
}

macro_rules! run {
    ($conn:expr, $sql:expr, $values:expr) => {{
        let mut query = sqlx::query(AssertSqlSafe($sql));
        for value in $values {
            query = match value {
                V::I(v) => query.bind(*v),
                V::T(v) => query.bind(v.clone()),
            };
        }
        query.execute($conn).await?;
    }};
}

const COLUMNS: [&str; 16] = [
    "project_id",
    "number",
    "issue_type_id",
    "summary",
    "description",
    "status_id",
    "priority_id",
    "resolution_id",
    "resolved_at",
    "assignee_id",
    "reporter_id",
    "creator_id",
    "created_at",
    "updated_at",
    "summary_lower",
    "description_lower",
];

/// `INSERT INTO issues (...) VALUES ($1, ...), (...)` for `rows` rows.
fn insert_text(rows: usize) -> String {
    let width = COLUMNS.len();
    let tuples: Vec<String> = (0..rows)
        .map(|row| {
            let marks: Vec<String> = (1..=width)
                .map(|k| format!("${}", row * width + k))
                .collect();
            format!("({})", marks.join(", "))
        })
        .collect();
    format!(
        "INSERT INTO issues ({}) VALUES {}",
        COLUMNS.join(", "),
        tuples.join(", ")
    )
}

/// What was seeded.
struct Seeded {
    per_project: Vec<(String, i64)>,
    first_in_progress: i64,
}

/// The issues, in filing order, as rows of [`COLUMNS`].
fn generate(total: usize, projects: &[(String, i64)], users: &[i64]) -> (Vec<Vec<V>>, Seeded) {
    const VERBS: [&str; 8] = [
        "Fix", "Refactor", "Document", "Speed up", "Test", "Remove", "Add", "Review",
    ];
    const NOUNS: [&str; 8] = [
        "login form",
        "search page",
        "export job",
        "billing report",
        "mobile layout",
        "audit log",
        "rate limiter",
        "backup script",
    ];
    let mut rng = Lcg(5);
    let mut numbers = vec![0_i64; projects.len()];
    let mut first_in_progress = 0;
    let mut rows = Vec::with_capacity(total);
    for n in 0..total {
        // 40% to the first project, the rest spread evenly over the others.
        let project = if projects.len() == 1 || rng.below(10) < 4 {
            0
        } else {
            1 + rng.below(projects.len() as u64 - 1) as usize
        };
        numbers[project] += 1;
        let status = match rng.below(20) {
            0..=8 => Status::ToDo,
            9..=14 => Status::InProgress,
            _ => Status::Done,
        };
        if project == 0 && status == Status::InProgress {
            first_in_progress += 1;
        }
        let created = START_MILLIS + n as i64 * 60_000 + rng.below(60_000) as i64;
        let updated = created + rng.below(86_400_000) as i64;
        let resolution = (status == Status::Done).then(|| *rng.pick(&Resolution::ALL));
        let summary = format!(
            "{} {} #{}",
            rng.pick(&VERBS),
            rng.pick(&NOUNS),
            numbers[project]
        );
        let description = (rng.below(2) == 0).then(|| format!("Seen in build {}.", n % 997));
        let reporter = *rng.pick(users);
        let assignee = (rng.below(4) != 0).then(|| *rng.pick(users));
        rows.push(vec![
            V::I(Some(projects[project].1)),
            V::I(Some(numbers[project])),
            V::I(Some(rng.pick(&IssueType::ALL).id())),
            V::T(Some(summary.clone())),
            V::T(description.clone()),
            V::I(Some(status.id())),
            V::I(Some(rng.pick(&Priority::ALL).id())),
            V::I(resolution.map(|r| r.id())),
            V::I(resolution.map(|_| updated)),
            V::I(assignee),
            V::I(Some(reporter)),
            V::I(Some(reporter)),
            V::I(Some(created)),
            V::I(Some(updated)),
            V::T(Some(summary.to_lowercase())),
            V::T(description.map(|d| d.to_lowercase())),
        ]);
    }
    let per_project = projects
        .iter()
        .zip(&numbers)
        .map(|((key, _), count)| (key.clone(), *count))
        .collect();
    let seeded = Seeded {
        per_project,
        first_in_progress,
    };
    (rows, seeded)
}

/// Everything after the issues, set-based: counters, labels on some issues, reporters as
/// watchers (as the server's autowatch would have it).
fn follow_up(projects: &[(String, i64)]) -> Vec<String> {
    let ids: Vec<String> = projects.iter().map(|(_, id)| id.to_string()).collect();
    let within = format!("project_id IN ({})", ids.join(", "));
    vec![
        "UPDATE projects SET issue_counter = \
         (SELECT COUNT(*) FROM issues WHERE issues.project_id = projects.id)"
            .to_string(),
        format!(
            "INSERT INTO issue_labels (issue_id, label) \
             SELECT id, 'backend' FROM issues WHERE {within} AND number % 3 = 0"
        ),
        format!(
            "INSERT INTO issue_labels (issue_id, label) \
             SELECT id, 'customer' FROM issues WHERE {within} AND number % 7 = 0"
        ),
        format!(
            "INSERT INTO issue_watchers (issue_id, user_id, created_at) \
             SELECT id, reporter_id, created_at FROM issues WHERE {within}"
        ),
    ]
}

macro_rules! seed_on {
    ($pool:expr, $total:expr, $keys:expr, $vacuum:expr) => {{
        let pool = $pool;
        let mut projects = Vec::new();
        for key in $keys {
            let found: Option<(i64, i64)> =
                sqlx::query_as("SELECT id, issue_counter FROM projects WHERE project_key = $1")
                    .bind(key.as_str())
                    .fetch_optional(&pool)
                    .await?;
            match found {
                Some((id, 0)) => projects.push((key.clone(), id)),
                Some(_) => return Err(format!("project {key} already has issues").into()),
                None => return Err(format!("no project {key}: create it first").into()),
            }
        }
        let users: Vec<i64> = sqlx::query_scalar("SELECT id FROM users ORDER BY id")
            .fetch_all(&pool)
            .await?;
        if users.is_empty() {
            return Err("no users to file issues".into());
        }
        let (rows, seeded) = generate($total, &projects, &users);
        let mut tx = pool.begin().await?;
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            let values: Vec<V> = chunk.iter().flatten().cloned().collect();
            run!(&mut *tx, insert_text(chunk.len()), &values);
        }
        for statement in follow_up(&projects) {
            run!(&mut *tx, statement, &Vec::<V>::new());
        }
        tx.commit().await?;
        if $vacuum {
            // What autovacuum does soon after on a live server (PostgreSQL 13 and later vacuum
            // insert-only tables too): statistics for the planner, and the visibility map
            // that lets a count read the index alone.
            sqlx::query("VACUUM ANALYZE").execute(&pool).await?;
        }
        pool.close().await;
        seeded
    }};
}

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [url, total, keys @ ..] = args.as_slice() else {
        return Err("usage: bench_seed DATABASE_URL TOTAL KEY [KEY...]".into());
    };
    if keys.is_empty() {
        return Err("name at least one project key".into());
    }
    let total: usize = total.parse()?;
    let started = Instant::now();
    let seeded = if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await?;
        seed_on!(pool, total, keys, false)
    } else {
        let pool = sqlx::PgPool::connect(url).await?;
        seed_on!(pool, total, keys, true)
    };
    let per_project: Vec<String> = seeded
        .per_project
        .iter()
        .map(|(key, count)| format!("\"{key}\":{count}"))
        .collect();
    eprintln!(
        "{{\"issues\":{total},\"projects\":{{{}}},\"firstInProgress\":{},\"seconds\":{:.1}}}",
        per_project.join(","),
        seeded.first_in_progress,
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
