//! JQL search on both stores, through the search service and the authorizer as requests use
//! them. The acceptance test seeds 10,000 issues (deterministic pseudo-random fields, times
//! spread over a year, labels, assignees, comments, resolutions) and runs a table of queries
//! whose expected results are computed from the seeded records by plain Rust predicates,
//! independently of the SQL compiler; it also checks orders, paging, permission-filtered totals
//! and that the planner uses an index for a typical page.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::Instant;

use sqlx::AssertSqlSafe;
use tessera_core::authz::{Authorizer, BrowsableProjects};
use tessera_core::catalog::{IssueType, Priority, Resolution, Status};
use tessera_core::clock::Timestamp;
use tessera_core::error::Error;
use tessera_core::model::*;
use tessera_core::permissions::{GlobalPermission, GlobalPermissions, ProjectRole};
use tessera_core::principal::{AuthMethod, Principal};
use tessera_core::scopes::{Scopes, parse_scope};
use tessera_core::services::search::{self, Validation};
use tessera_core::store::*;
use tessera_store::{PoolOptions, SqlStore};
use tessera_testkit::{Backend, TestDatabase, backend_tests};

/// "Now" for every query: 2024-06-01T00:00:00Z.
const NOW: Timestamp = Timestamp::from_millis(1_717_200_000_000);
const DAY: i64 = 86_400_000;
const ISSUES: usize = 10_000;
const USERS: usize = 20;
const PROJECTS: [(&str, &str); 5] = [
    ("ALPHA", "Alpha Project"),
    ("BETA", "Beta Project"),
    ("GAMMA", "Gamma Project"),
    ("DELTA", "Delta Project"),
    ("EPS", "Epsilon Project"),
];
const LABELS: [&str; 8] = [
    "backend",
    "frontend",
    "ui",
    "db",
    "urgent",
    "customer",
    "tech-debt",
    "perf",
];
/// Summary words, with decoys for escaping (`snake-case` must not match `snake_case`, `1000`
/// must not match `100%`) and text that only Unicode lower-casing folds.
const SUMMARY_WORDS: [&str; 18] = [
    "Crash",
    "login",
    "page",
    "Timeout",
    "deadlock",
    "report",
    "export",
    "Éclair",
    "naïve",
    "cache",
    "100%",
    "1000",
    "snake_case",
    "snake-case",
    "button",
    "API",
    "slow",
    "STRAßE",
];
const DESCRIPTION_WORDS: [&str; 10] = [
    "timeout",
    "stack",
    "trace",
    "reproduced",
    "customer",
    "deadlock",
    "memory",
    "staging",
    "production",
    "Crash",
];
const COMMENT_WORDS: [&str; 10] = [
    "reproduced",
    "staging",
    "fixed",
    "deadlock",
    "works",
    "for",
    "me",
    "please",
    "retest",
    "LGTM",
];

/// SplitMix64: small, deterministic, good enough to spread test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn millis_below(&mut self, n: i64) -> i64 {
        if n <= 0 {
            0
        } else {
            (self.next() % n as u64) as i64
        }
    }

    fn words(&mut self, from: &[&str], min: usize, max: usize) -> String {
        let n = min + self.below(max - min + 1);
        (0..n)
            .map(|_| from[self.below(from.len())])
            .collect::<Vec<_>>()
            .join(" ")
    }
}

/// A seeded issue as the test knows it.
#[derive(Clone, Debug)]
struct Seed {
    id: i64,
    project: usize,
    number: i64,
    issue_type: IssueType,
    status: Status,
    priority: Priority,
    resolution: Option<Resolution>,
    resolved: Option<i64>,
    assignee: Option<usize>,
    reporter: Option<usize>,
    creator: usize,
    summary: String,
    description: Option<String>,
    labels: Vec<&'static str>,
    comments: Vec<String>,
    created: i64,
    updated: i64,
}

fn generate() -> Vec<Seed> {
    let mut rng = Rng(0x7e55_e7a5);
    let mut numbers = [0_i64; PROJECTS.len()];
    let statuses = [Status::ToDo, Status::InProgress, Status::Done];
    (0..ISSUES)
        .map(|n| {
            let project = match rng.below(100) {
                0..30 => 0,
                30..55 => 1,
                55..75 => 2,
                75..90 => 3,
                _ => 4,
            };
            numbers[project] += 1;
            let status = statuses[rng.below(3)];
            let created = NOW.as_millis() - rng.millis_below(400 * DAY);
            let updated = created + rng.millis_below((NOW.as_millis() - created).min(60 * DAY));
            let (resolution, resolved) = if status == Status::Done {
                let resolution = Resolution::ALL[rng.below(4)];
                (
                    Some(resolution),
                    Some(created + rng.millis_below(updated - created)),
                )
            } else {
                (None, None)
            };
            let mut labels = Vec::new();
            for _ in 0..rng.below(4) {
                let label = LABELS[rng.below(LABELS.len())];
                if !labels.contains(&label) {
                    labels.push(label);
                }
            }
            let comments = (0..rng.below(4))
                .map(|_| rng.words(&COMMENT_WORDS, 3, 6))
                .collect();
            Seed {
                id: 10_000 + n as i64,
                project,
                number: numbers[project],
                issue_type: IssueType::ALL[rng.below(3)],
                status,
                priority: Priority::ALL[rng.below(5)],
                resolution,
                resolved,
                assignee: (!rng.chance(25)).then(|| rng.below(USERS)),
                reporter: (!rng.chance(5)).then(|| rng.below(USERS)),
                creator: rng.below(USERS),
                summary: rng.words(&SUMMARY_WORDS, 2, 5),
                description: (!rng.chance(30)).then(|| rng.words(&DESCRIPTION_WORDS, 4, 8)),
                labels,
                comments,
                created,
                updated,
            }
        })
        .collect()
}

/// A second connection to the test database, for seeding in bulk.
enum Raw {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

#[derive(Clone, Debug)]
enum V {
    I(Option<i64>),
    T(Option<String>),
}

macro_rules! run_raw {
    ($pool:expr, $sql:expr, $values:expr) => {{
        let mut query = sqlx::query(AssertSqlSafe($sql));
        for value in $values {
            query = match value {
                V::I(v) => query.bind(*v),
                V::T(v) => query.bind(v.clone()),
            };
        }
        query.execute($pool).await.unwrap();
    }};
}

impl Raw {
    async fn open(db: &TestDatabase) -> Self {
        match db.backend {
            Backend::Sqlite => Self::Sqlite(sqlx::SqlitePool::connect(&db.url).await.unwrap()),
            Backend::Postgres => Self::Postgres(sqlx::PgPool::connect(&db.url).await.unwrap()),
        }
    }

    async fn exec(&self, sql: String, values: &[V]) {
        match self {
            Self::Sqlite(pool) => run_raw!(pool, sql, values),
            Self::Postgres(pool) => run_raw!(pool, sql, values),
        }
    }

    /// Inserts `rows` (each `columns` values long) in statements of at most 500 rows.
    async fn insert(&self, table: &str, columns: &[&str], rows: &[Vec<V>]) {
        for chunk in rows.chunks(500) {
            let mut values = Vec::new();
            let mut tuples = Vec::new();
            for row in chunk {
                assert_eq!(row.len(), columns.len());
                let start = values.len();
                let placeholders: Vec<String> =
                    (1..=row.len()).map(|k| format!("${}", start + k)).collect();
                tuples.push(format!("({})", placeholders.join(", ")));
                values.extend(row.iter().cloned());
            }
            let sql = format!(
                "INSERT INTO {table} ({}) VALUES {}",
                columns.join(", "),
                tuples.join(", ")
            );
            self.exec(sql, &values).await;
        }
    }
}

struct World {
    store: Arc<SqlStore>,
    authz: Authorizer,
    users: Vec<User>,
    projects: Vec<Project>,
    issues: Vec<Seed>,
    boss: Principal,
    viewer: Principal,
    /// The boss's credential, restricted to ALPHA.
    alpha_only: Principal,
    /// The boss's credential without the read scope.
    no_read: Principal,
    /// A Jira administrator without any project role.
    admin: Principal,
}

fn principal(user: &User, global: &[GlobalPermission]) -> Principal {
    Principal {
        user: user.clone(),
        groups: Vec::new(),
        group_names: Vec::new(),
        global: global.iter().copied().collect::<GlobalPermissions>(),
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
    }
}

/// Users `u00`..`u19` ("User 00".. as display names); `u00` is the boss (group `staff`, which
/// has the Users role everywhere), `u07` the viewer (Users role in ALPHA and BETA only). Groups
/// `team-a` (u00-u04) and `team-b` (u05-u09).
async fn world(db: &TestDatabase, issues: Vec<Seed>) -> World {
    let store = Arc::new(
        SqlStore::open(&db.url, PoolOptions::default())
            .await
            .unwrap(),
    );
    for group in ["staff", "team-a", "team-b"] {
        store.create_group(group).await.unwrap();
    }
    let mut users = Vec::new();
    for n in 0..USERS {
        let mut groups = vec![USERS_GROUP.to_string()];
        if n == 0 {
            groups.push("staff".into());
        }
        if n < 5 {
            groups.push("team-a".into());
        } else if n < 10 {
            groups.push("team-b".into());
        }
        let user = store
            .create_user(NewUser {
                name: format!("u{n:02}"),
                cased_name: format!("u{n:02}"),
                display_name: format!("User {n:02}"),
                email: Some(format!("u{n:02}@example.com")),
                password_hash: None,
                groups,
                created: NOW,
                service_owner: None,
            })
            .await
            .unwrap();
        users.push(user);
    }
    let root = store
        .create_user(NewUser {
            name: "root".into(),
            cased_name: "root".into(),
            display_name: "Root".into(),
            email: None,
            password_hash: None,
            groups: vec![USERS_GROUP.into(), ADMINISTRATORS_GROUP.into()],
            created: NOW,
            service_owner: None,
        })
        .await
        .unwrap();
    let mut projects = Vec::new();
    for (n, (key, name)) in PROJECTS.iter().enumerate() {
        let mut actors = vec![(ProjectRole::Users, RoleMember::Group("staff".into()))];
        if n < 2 {
            actors.push((ProjectRole::Users, RoleMember::User(users[7].id)));
        }
        let project = store
            .create_project(NewProject {
                key: key.to_string(),
                name: name.to_string(),
                description: None,
                lead: users[0].id,
                project_type_key: "software".into(),
                created: NOW,
                actors,
            })
            .await
            .unwrap();
        projects.push(project);
    }
    seed(db, &users, &projects, &issues).await;
    let authz = Authorizer::new(store.clone());
    let boss = principal(&users[0], &[GlobalPermission::Use]);
    let viewer = principal(&users[7], &[GlobalPermission::Use]);
    let mut alpha_only = boss.clone();
    alpha_only.method = AuthMethod::BearerToken;
    alpha_only.projects = Some(vec![projects[0].id]);
    let mut no_read = boss.clone();
    no_read.method = AuthMethod::BearerToken;
    no_read.scopes = parse_scope("read:jira-user").unwrap();
    let admin = principal(
        &root,
        &[GlobalPermission::Use, GlobalPermission::Administer],
    );
    World {
        store,
        authz,
        users,
        projects,
        issues,
        boss,
        viewer,
        alpha_only,
        no_read,
        admin,
    }
}

async fn seed(db: &TestDatabase, users: &[User], projects: &[Project], issues: &[Seed]) {
    let raw = Raw::open(db).await;
    let user = |n: Option<usize>| V::I(n.map(|n| users[n].id.0));
    let rows: Vec<Vec<V>> = issues
        .iter()
        .map(|i| {
            vec![
                V::I(Some(i.id)),
                V::I(Some(projects[i.project].id.0)),
                V::I(Some(i.number)),
                V::I(Some(i.issue_type.id())),
                V::T(Some(i.summary.clone())),
                V::T(Some(i.summary.to_lowercase())),
                V::T(i.description.clone()),
                V::T(i.description.as_deref().map(str::to_lowercase)),
                V::I(Some(i.status.id())),
                V::I(Some(i.priority.id())),
                V::I(i.resolution.map(|r| r.id())),
                V::I(i.resolved),
                user(i.assignee),
                user(i.reporter),
                user(Some(i.creator)),
                V::I(Some(i.created)),
                V::I(Some(i.updated)),
            ]
        })
        .collect();
    let columns = [
        "id",
        "project_id",
        "number",
        "issue_type_id",
        "summary",
        "summary_lower",
        "description",
        "description_lower",
        "status_id",
        "priority_id",
        "resolution_id",
        "resolved_at",
        "assignee_id",
        "reporter_id",
        "creator_id",
        "created_at",
        "updated_at",
    ];
    raw.insert("issues", &columns, &rows).await;
    let labels: Vec<Vec<V>> = issues
        .iter()
        .flat_map(|i| {
            i.labels
                .iter()
                .map(|l| vec![V::I(Some(i.id)), V::T(Some(l.to_string()))])
        })
        .collect();
    raw.insert("issue_labels", &["issue_id", "label"], &labels)
        .await;
    let comments: Vec<Vec<V>> = issues
        .iter()
        .flat_map(|i| {
            i.comments.iter().map(|body| {
                vec![
                    V::I(Some(i.id)),
                    user(Some(i.creator)),
                    user(Some(i.creator)),
                    V::T(Some(body.clone())),
                    V::T(Some(body.to_lowercase())),
                    V::I(Some(i.updated)),
                    V::I(Some(i.updated)),
                ]
            })
        })
        .collect();
    let comment_columns = [
        "issue_id",
        "author_id",
        "update_author_id",
        "body",
        "body_lower",
        "created_at",
        "updated_at",
    ];
    raw.insert("comments", &comment_columns, &comments).await;
    for (n, project) in projects.iter().enumerate() {
        let count = issues.iter().filter(|i| i.project == n).count() as i64;
        raw.exec(
            "UPDATE projects SET issue_counter = $1 WHERE id = $2".into(),
            &[V::I(Some(count)), V::I(Some(project.id.0))],
        )
        .await;
    }
    if let Raw::Postgres(pool) = &raw {
        // Explicit ids leave the identity sequence behind; and the planner wants statistics,
        // which autovacuum would gather on a live server.
        sqlx::query(
            "SELECT setval(pg_get_serial_sequence('issues', 'id'), (SELECT MAX(id) FROM issues))",
        )
        .execute(pool)
        .await
        .unwrap();
        sqlx::query("ANALYZE").execute(pool).await.unwrap();
    }
    match raw {
        Raw::Sqlite(pool) => pool.close().await,
        Raw::Postgres(pool) => pool.close().await,
    }
}

impl World {
    async fn cap(&self, who: &Principal) -> BrowsableProjects {
        self.authz.browsable_projects(who).await.unwrap()
    }

    async fn search(
        &self,
        who: &Principal,
        jql: &str,
        page: PageRequest,
    ) -> Result<search::SearchResults, Error> {
        let cap = self.cap(who).await;
        search::search(&*self.store, &cap, jql, Validation::Strict, page, NOW).await
    }

    fn user(&self, n: usize) -> &User {
        &self.users[n]
    }
}

const COUNT: PageRequest = PageRequest {
    start_at: 0,
    limit: 0,
};
const FIRST: PageRequest = PageRequest {
    start_at: 0,
    limit: 50,
};

/// Who runs a query of the table.
#[derive(Clone, Copy, Debug)]
enum Who {
    Boss,
    Viewer,
    AlphaOnly,
    NoRead,
    Admin,
}

fn lower(text: &str) -> String {
    text.to_lowercase()
}

fn contains_all(text: &str, terms: &[&str]) -> bool {
    let text = lower(text);
    terms.iter().all(|t| text.contains(t))
}

fn in_summary(i: &Seed, terms: &[&str]) -> bool {
    contains_all(&i.summary, terms)
}

fn in_description(i: &Seed, terms: &[&str]) -> bool {
    i.description
        .as_deref()
        .is_some_and(|d| contains_all(d, terms))
}

fn in_comment(i: &Seed, terms: &[&str]) -> bool {
    i.comments.iter().any(|c| contains_all(c, terms))
}

fn group_a(n: Option<usize>) -> bool {
    n.is_some_and(|n| n < 5)
}

fn group_b(n: Option<usize>) -> bool {
    n.is_some_and(|n| (5..10).contains(&n))
}

fn urgency(p: Priority) -> usize {
    Priority::ALL.len() - Priority::ALL.iter().position(|q| *q == p).unwrap()
}

type Check = Box<dyn Fn(&Seed) -> bool>;

/// The query table: JQL, who runs it, and which seeded issues it must find.
fn table() -> Vec<(&'static str, Who, Check)> {
    use Who::*;
    let now = NOW.as_millis();
    let day_start = now - now.rem_euclid(DAY);
    let june_2023 = 1_685_577_600_000; // 2023-06-01T00:00:00Z
    let visible_to_viewer = |i: &Seed| i.project < 2;
    vec![
        ("", Boss, Box::new(|_| true)),
        ("project = ALPHA", Boss, Box::new(|i| i.project == 0)),
        (
            "project in (alpha, \"beta PROJECT\")",
            Boss,
            Box::new(|i| i.project < 2),
        ),
        ("project != ALPHA", Boss, Box::new(|i| i.project != 0)),
        (
            "project = ALPHA AND status = \"In Progress\"",
            Boss,
            Box::new(|i| i.project == 0 && i.status == Status::InProgress),
        ),
        (
            "status in (\"To Do\", Done)",
            Boss,
            Box::new(|i| i.status != Status::InProgress),
        ),
        (
            "status != Done",
            Boss,
            Box::new(|i| i.status != Status::Done),
        ),
        (
            "statusCategory = done",
            Boss,
            Box::new(|i| i.status == Status::Done),
        ),
        (
            "issuetype = Bug",
            Boss,
            Box::new(|i| i.issue_type == IssueType::Bug),
        ),
        (
            "type in (Bug, Story) AND priority = High",
            Boss,
            Box::new(|i| i.issue_type != IssueType::Task && i.priority == Priority::High),
        ),
        (
            "priority > Medium",
            Boss,
            Box::new(|i| urgency(i.priority) > urgency(Priority::Medium)),
        ),
        (
            "priority <= Low",
            Boss,
            Box::new(|i| urgency(i.priority) <= urgency(Priority::Low)),
        ),
        (
            "resolution = Unresolved",
            Boss,
            Box::new(|i| i.resolution.is_none()),
        ),
        (
            "resolution is not EMPTY",
            Boss,
            Box::new(|i| i.resolution.is_some()),
        ),
        (
            "resolution in (Duplicate, \"Won't Do\")",
            Boss,
            Box::new(|i| {
                matches!(
                    i.resolution,
                    Some(Resolution::Duplicate | Resolution::WontDo)
                )
            }),
        ),
        (
            "resolution != Done",
            Boss,
            Box::new(|i| i.resolution.is_some_and(|r| r != Resolution::Done)),
        ),
        (
            "NOT resolution = Done",
            Boss,
            Box::new(|i| i.resolution.is_some_and(|r| r != Resolution::Done)),
        ),
        (
            "resolution in (Unresolved, Done)",
            Boss,
            Box::new(|i| matches!(i.resolution, None | Some(Resolution::Done))),
        ),
        ("assignee = u03", Boss, Box::new(|i| i.assignee == Some(3))),
        (
            "assignee = JIRAUSER10004",
            Boss,
            Box::new(|i| i.assignee == Some(4)),
        ),
        (
            "assignee is EMPTY",
            Boss,
            Box::new(|i| i.assignee.is_none()),
        ),
        (
            "assignee in (u01, U02, EMPTY)",
            Boss,
            Box::new(|i| matches!(i.assignee, None | Some(1) | Some(2))),
        ),
        (
            "assignee != u01",
            Boss,
            Box::new(|i| i.assignee.is_some_and(|a| a != 1)),
        ),
        (
            "assignee in membersOf(\"team-a\")",
            Boss,
            Box::new(|i| group_a(i.assignee)),
        ),
        (
            "assignee not in membersOf(\"TEAM-B\")",
            Boss,
            Box::new(|i| i.assignee.is_some() && !group_b(i.assignee)),
        ),
        (
            "assignee = currentUser()",
            Viewer,
            Box::new(move |i| visible_to_viewer(i) && i.assignee == Some(7)),
        ),
        (
            "reporter = u05 AND assignee != u05",
            Boss,
            Box::new(|i| i.reporter == Some(5) && i.assignee.is_some_and(|a| a != 5)),
        ),
        (
            "creator in (u10, u11)",
            Boss,
            Box::new(|i| i.creator == 10 || i.creator == 11),
        ),
        (
            "reporter is EMPTY",
            Boss,
            Box::new(|i| i.reporter.is_none()),
        ),
        (
            "labels = backend",
            Boss,
            Box::new(|i| i.labels.contains(&"backend")),
        ),
        (
            "labels in (ui, db)",
            Boss,
            Box::new(|i| i.labels.contains(&"ui") || i.labels.contains(&"db")),
        ),
        ("labels is EMPTY", Boss, Box::new(|i| i.labels.is_empty())),
        (
            "labels != urgent",
            Boss,
            Box::new(|i| !i.labels.is_empty() && !i.labels.contains(&"urgent")),
        ),
        (
            "NOT labels = urgent",
            Boss,
            Box::new(|i| !i.labels.is_empty() && !i.labels.contains(&"urgent")),
        ),
        (
            "labels not in (urgent, ui)",
            Boss,
            Box::new(|i| {
                !i.labels.is_empty() && !i.labels.contains(&"urgent") && !i.labels.contains(&"ui")
            }),
        ),
        (
            "labels in (EMPTY, perf)",
            Boss,
            Box::new(|i| i.labels.is_empty() || i.labels.contains(&"perf")),
        ),
        (
            "summary ~ crash",
            Boss,
            Box::new(|i| in_summary(i, &["crash"])),
        ),
        (
            "summary ~ \"LOGIN crash\"",
            Boss,
            Box::new(|i| in_summary(i, &["login", "crash"])),
        ),
        (
            "summary ~ \"\\\"login page\\\"\"",
            Boss,
            Box::new(|i| in_summary(i, &["login page"])),
        ),
        (
            "summary !~ crash",
            Boss,
            Box::new(|i| !in_summary(i, &["crash"])),
        ),
        (
            "summary ~ snake_case",
            Boss,
            Box::new(|i| in_summary(i, &["snake_case"])),
        ),
        (
            "summary ~ \"\\\"100%\\\"\"",
            Boss,
            Box::new(|i| in_summary(i, &["100%"])),
        ),
        (
            "summary ~ ÉCLAIR AND summary ~ STRAßE",
            Boss,
            Box::new(|i| in_summary(i, &["éclair"]) && in_summary(i, &["straße"])),
        ),
        (
            "summary ~ \"dead*\"",
            Boss,
            Box::new(|i| in_summary(i, &["dead"])),
        ),
        (
            "description ~ timeout",
            Boss,
            Box::new(|i| in_description(i, &["timeout"])),
        ),
        (
            "description is EMPTY",
            Boss,
            Box::new(|i| i.description.is_none()),
        ),
        (
            "description !~ timeout",
            Boss,
            Box::new(|i| !in_description(i, &["timeout"])),
        ),
        (
            "comment ~ reproduced",
            Boss,
            Box::new(|i| in_comment(i, &["reproduced"])),
        ),
        (
            "comment ~ \"reproduced staging\"",
            Boss,
            Box::new(|i| in_comment(i, &["reproduced", "staging"])),
        ),
        (
            "comment !~ lgtm",
            Boss,
            Box::new(|i| !in_comment(i, &["lgtm"])),
        ),
        (
            "text ~ deadlock",
            Boss,
            Box::new(|i| {
                in_summary(i, &["deadlock"])
                    || in_description(i, &["deadlock"])
                    || in_comment(i, &["deadlock"])
            }),
        ),
        (
            "created >= -30d",
            Boss,
            Box::new(move |i| i.created >= now - 30 * DAY),
        ),
        (
            "created < \"2023-06-01\"",
            Boss,
            Box::new(move |i| i.created < june_2023),
        ),
        (
            "updated > startOfDay(-7d)",
            Boss,
            Box::new(move |i| i.updated > day_start - 7 * DAY),
        ),
        (
            "resolved >= -60d",
            Boss,
            Box::new(move |i| i.resolved.is_some_and(|r| r >= now - 60 * DAY)),
        ),
        (
            "NOT resolved >= -60d",
            Boss,
            Box::new(move |i| i.resolved.is_some_and(|r| r < now - 60 * DAY)),
        ),
        (
            "resolutiondate is EMPTY",
            Boss,
            Box::new(|i| i.resolved.is_none()),
        ),
        (
            "key = alpha-5",
            Boss,
            Box::new(|i| i.project == 0 && i.number == 5),
        ),
        (
            "key in (ALPHA-1, BETA-2, ALPHA-3)",
            Boss,
            Box::new(|i| {
                (i.project == 0 && [1, 3].contains(&i.number)) || (i.project == 1 && i.number == 2)
            }),
        ),
        (
            // Scripts fetch issues by long key lists: found in a few reads.
            Box::leak(
                format!(
                    "key in ({}) OR id in (10000, 10001)",
                    (1..=900)
                        .map(|n| format!("ALPHA-{n}"))
                        .collect::<Vec<_>>()
                        .join(", ")
                )
                .into_boxed_str(),
            ),
            Boss,
            Box::new(|i| (i.project == 0 && i.number <= 900) || i.id <= 10_001),
        ),
        (
            "key > ALPHA-100",
            Boss,
            Box::new(|i| i.project == 0 && i.number > 100),
        ),
        ("id >= 19000", Boss, Box::new(|i| i.id >= 19_000)),
        (
            "issue != 10000 AND id < 10010",
            Boss,
            Box::new(|i| i.id > 10_000 && i.id < 10_010),
        ),
        (
            "(project = ALPHA OR project = BETA) AND NOT (status = Done OR priority in (Low, Lowest))",
            Boss,
            Box::new(|i| {
                i.project < 2
                    && i.status != Status::Done
                    && !matches!(i.priority, Priority::Low | Priority::Lowest)
            }),
        ),
        (
            "NOT (assignee = u01 OR reporter = u02)",
            Boss,
            Box::new(|i| i.assignee.is_some_and(|a| a != 1) && i.reporter.is_some_and(|r| r != 2)),
        ),
        (
            "project = ALPHA AND (labels = backend OR text ~ crash) AND created > -180d",
            Boss,
            Box::new(move |i| {
                i.project == 0
                    && (i.labels.contains(&"backend")
                        || in_summary(i, &["crash"])
                        || in_description(i, &["crash"])
                        || in_comment(i, &["crash"]))
                    && i.created > now - 180 * DAY
            }),
        ),
        ("", Viewer, Box::new(move |i| visible_to_viewer(i))),
        (
            "status = Done ORDER BY created",
            Viewer,
            Box::new(move |i| visible_to_viewer(i) && i.status == Status::Done),
        ),
        (
            "project = BETA AND labels is EMPTY",
            Viewer,
            Box::new(|i| i.project == 1 && i.labels.is_empty()),
        ),
        (
            "status = \"To Do\"",
            AlphaOnly,
            Box::new(|i| i.project == 0 && i.status == Status::ToDo),
        ),
        ("", NoRead, Box::new(|_| false)),
        ("", Admin, Box::new(|_| false)),
    ]
}

async fn check_table(world: &World) {
    let table = table();
    assert!(table.len() >= 40, "{} queries", table.len());
    for (jql, who, check) in &table {
        let principal = match who {
            Who::Boss => &world.boss,
            Who::Viewer => &world.viewer,
            Who::AlphaOnly => &world.alpha_only,
            Who::NoRead => &world.no_read,
            Who::Admin => &world.admin,
        };
        let expected: HashSet<i64> = world
            .issues
            .iter()
            .filter(|i| check(i))
            .map(|i| i.id)
            .collect();
        let counted = world
            .search(principal, jql, COUNT)
            .await
            .unwrap_or_else(|e| panic!("{jql:?} as {who:?}: {e}"));
        assert_eq!(
            counted.issues.total,
            expected.len() as i64,
            "{jql:?} as {who:?}"
        );
        assert!(counted.issues.items.is_empty());
        let page = world.search(principal, jql, FIRST).await.unwrap();
        assert_eq!(page.issues.total, expected.len() as i64, "{jql:?}");
        assert_eq!(page.issues.items.len(), expected.len().min(50), "{jql:?}");
        for issue in &page.issues.items {
            assert!(
                expected.contains(&issue.id.0),
                "{jql:?} as {who:?} found {}",
                issue.key()
            );
        }
    }
}

/// The ids of the first page, and of the expected order.
async fn check_order(
    world: &World,
    jql: &str,
    who: &Principal,
    page: PageRequest,
    filter: impl Fn(&Seed) -> bool,
    mut sort: impl FnMut(&Seed, &Seed) -> std::cmp::Ordering,
) {
    let mut expected: Vec<&Seed> = world.issues.iter().filter(|i| filter(i)).collect();
    expected.sort_by(|a, b| sort(a, b));
    let expected: Vec<i64> = expected
        .iter()
        .skip(page.start_at as usize)
        .take(page.limit as usize)
        .map(|i| i.id)
        .collect();
    let found = world.search(who, jql, page).await.unwrap();
    let found: Vec<i64> = found.issues.items.iter().map(|i| i.id.0).collect();
    assert_eq!(found, expected, "{jql}");
}

async fn check_orders(world: &World) {
    use std::cmp::Reverse;
    check_order(
        world,
        "",
        &world.boss,
        FIRST,
        |_| true,
        |a, b| (Reverse(a.created), Reverse(a.id)).cmp(&(Reverse(b.created), Reverse(b.id))),
    )
    .await;
    check_order(
        world,
        "project = BETA ORDER BY priority DESC, key ASC",
        &world.boss,
        FIRST,
        |i| i.project == 1,
        |a, b| (a.priority.id(), a.number, a.id).cmp(&(b.priority.id(), b.number, b.id)),
    )
    .await;
    check_order(
        world,
        "assignee in membersOf(team-a) OR assignee is EMPTY ORDER BY assignee ASC, created DESC",
        &world.boss,
        PageRequest {
            start_at: 2_000,
            limit: 100,
        },
        |i| group_a(i.assignee) || i.assignee.is_none(),
        |a, b| {
            let key = |i: &Seed| {
                (
                    i.assignee.is_none(),
                    i.assignee,
                    Reverse(i.created),
                    Reverse(i.id),
                )
            };
            key(a).cmp(&key(b))
        },
    )
    .await;
    check_order(
        world,
        "status = Done ORDER BY resolved ASC",
        &world.viewer,
        PageRequest {
            start_at: 50,
            limit: 50,
        },
        |i| i.project < 2 && i.status == Status::Done,
        |a, b| (a.resolved, a.id).cmp(&(b.resolved, b.id)),
    )
    .await;
    check_order(
        world,
        "project = GAMMA ORDER BY status DESC, updated ASC",
        &world.boss,
        FIRST,
        |i| i.project == 2,
        |a, b| {
            let rank = |s: Status| Status::ALL.iter().position(|t| *t == s).unwrap();
            (Reverse(rank(a.status)), a.updated, a.id).cmp(&(
                Reverse(rank(b.status)),
                b.updated,
                b.id,
            ))
        },
    )
    .await;
    check_order(
        world,
        "labels = db ORDER BY summary, key DESC",
        &world.boss,
        FIRST,
        |i| i.labels.contains(&"db"),
        |a, b| {
            let key = |i: &Seed| {
                (
                    lower(&i.summary),
                    Reverse((PROJECTS[i.project].0, i.number)),
                    Reverse(i.id),
                )
            };
            key(a).cmp(&key(b))
        },
    )
    .await;
}

/// Every page of a large result, end to end: no issue twice, none missing, exact totals.
async fn check_paging(world: &World) {
    let expected: HashSet<i64> = world
        .issues
        .iter()
        .filter(|i| i.project == 0)
        .map(|i| i.id)
        .collect();
    let mut seen = HashSet::new();
    let mut start_at = 0;
    loop {
        let page = world
            .search(
                &world.boss,
                "project = ALPHA ORDER BY updated DESC",
                PageRequest {
                    start_at,
                    limit: 1000,
                },
            )
            .await
            .unwrap();
        assert_eq!(page.issues.total, expected.len() as i64);
        if page.issues.items.is_empty() {
            break;
        }
        for issue in &page.issues.items {
            assert!(seen.insert(issue.id.0), "{} twice", issue.key());
            assert_eq!(issue.project_key, "ALPHA");
        }
        start_at += page.issues.items.len() as i64;
    }
    assert_eq!(seen, expected);
    // The issues come whole: labels included, in order.
    let page = world
        .search(&world.boss, "key = ALPHA-7", FIRST)
        .await
        .unwrap();
    let issue = &page.issues.items[0];
    let seeded = world
        .issues
        .iter()
        .find(|i| i.project == 0 && i.number == 7)
        .unwrap();
    let mut labels: Vec<String> = seeded.labels.iter().map(|l| l.to_string()).collect();
    labels.sort();
    assert_eq!(issue.labels, labels);
    assert_eq!(issue.summary, seeded.summary);
    assert_eq!(
        issue.assignee.as_ref().map(|u| u.name.clone()),
        seeded.assignee.map(|n| world.user(n).name.clone())
    );
}

async fn check_refusals(world: &World) {
    let message = |result: Result<search::SearchResults, Error>| match result {
        Err(Error::Invalid(errors)) => errors.messages.join(" | "),
        other => panic!("expected a refusal, got {other:?}"),
    };
    // A project the viewer may not browse does not exist, for the viewer.
    assert_eq!(
        message(world.search(&world.viewer, "project = GAMMA", COUNT).await),
        "The value 'GAMMA' does not exist for the field 'project'."
    );
    assert_eq!(
        message(
            world
                .search(&world.alpha_only, "project = BETA", COUNT)
                .await
        ),
        "The value 'BETA' does not exist for the field 'project'."
    );
    assert_eq!(
        message(world.search(&world.viewer, "key = GAMMA-1", COUNT).await),
        "An issue with key 'GAMMA-1' does not exist for field 'key'."
    );
    assert_eq!(
        message(
            world
                .search(
                    &world.boss,
                    "assignee = nobody OR reporter in membersOf(ghosts)",
                    COUNT
                )
                .await
        ),
        "The value 'nobody' does not exist for the field 'assignee'. | Function 'membersOf' \
         can not generate a list of usernames for group 'ghosts'; the group does not exist."
    );
    assert!(
        message(world.search(&world.boss, "project = ", COUNT).await)
            .starts_with("Error in the JQL Query: ")
    );
    // `warn` runs the query, the unknown value matching nothing; `none` says nothing.
    let cap = world.cap(&world.boss).await;
    let jql = "assignee = nobody OR project = ALPHA";
    let alpha = world.issues.iter().filter(|i| i.project == 0).count() as i64;
    let warned = search::search(&*world.store, &cap, jql, Validation::Warn, COUNT, NOW)
        .await
        .unwrap();
    assert_eq!(warned.issues.total, alpha);
    assert_eq!(
        warned.warnings,
        ["The value 'nobody' does not exist for the field 'assignee'."]
    );
    let quiet = search::search(
        &*world.store,
        &cap,
        "assignee != nobody",
        Validation::Off,
        COUNT,
        NOW,
    )
    .await
    .unwrap();
    let assigned = world.issues.iter().filter(|i| i.assignee.is_some()).count() as i64;
    assert_eq!(quiet.issues.total, assigned);
    assert!(quiet.warnings.is_empty());
}

/// `project = X AND status = "In Progress" ORDER BY created DESC`, a page of 50 and its
/// exact total, read issues through indexes, never by scanning the table.
async fn check_plan(world: &World, backend: Backend) -> Vec<String> {
    let cap = world.cap(&world.boss).await;
    let prepared = search::prepare(
        &*world.store,
        &cap,
        "project = ALPHA AND status = \"In Progress\" ORDER BY created DESC",
        Validation::Strict,
        NOW,
    )
    .await
    .unwrap();
    let plan = world
        .store
        .explain_search(prepared.query().unwrap(), FIRST)
        .await
        .unwrap();
    let text = plan.join("\n");
    match backend {
        Backend::Sqlite => {
            assert!(
                plan.iter()
                    .any(|l| l.starts_with("SEARCH i USING")
                        && l.contains("INDEX issues_by_project")),
                "{text}"
            );
            assert!(!plan.iter().any(|l| l.starts_with("SCAN i")), "{text}");
        }
        Backend::Postgres => {
            assert!(
                text.contains("Index") && text.contains("issues_by_project"),
                "{text}"
            );
            assert!(!text.contains("Seq Scan on issues"), "{text}");
        }
    }
    plan
}

backend_tests! {
    async fn ten_thousand_issues_answer_the_query_table(db) {
        let started = Instant::now();
        let world = world(&db, generate()).await;
        let seeded = started.elapsed();
        check_table(&world).await;
        check_orders(&world).await;
        check_paging(&world).await;
        check_refusals(&world).await;
        let plan = check_plan(&world, db.backend).await;
        eprintln!(
            "{:?}: seeded {ISSUES} issues in {seeded:?}; {} queries, orders, paging and plan in {:?}\nplan:\n{}",
            db.backend,
            table().len(),
            started.elapsed() - seeded,
            plan.join("\n")
        );
    }

    async fn search_text_follows_edits_and_comments(db) {
        let issues = Vec::new();
        let world = world(&db, issues).await;
        let store = &world.store;
        let author = world.user(0).id;
        let issue = store
            .create_issue(NewIssue {
                project_id: world.projects[0].id,
                issue_type: IssueType::Task,
                summary: "Flaky ÜBER test".into(),
                description: Some("Seen on CI".into()),
                priority: Priority::DEFAULT,
                assignee: None,
                reporter: Some(author),
                creator: author,
                labels: vec!["ci".into()],
                original_estimate: None,
                remaining_estimate: None,
        planned: Vec::new(),
                created: NOW,
            })
            .await
            .unwrap();
        let count = |jql: &'static str| {
            let world = &world;
            async move { world.search(&world.boss, jql, COUNT).await.unwrap().issues.total }
        };
        assert_eq!(count("summary ~ über").await, 1);
        assert_eq!(count("description ~ ci").await, 1);
        let changes = IssueChanges {
            summary: Some("Stable test".into()),
            description: Some(None),
            comments: vec!["Root cause: a RACE in setup".into()],
            ..IssueChanges::default()
        };
        let by = tessera_core::changelog::ChangeAuthor {
            user: author,
            credential: tessera_core::changelog::CredentialUsed::offline_cli(),
        };
        store.update_issue(issue.id, &changes, &by, NOW).await.unwrap();
        assert_eq!(count("summary ~ über").await, 0);
        assert_eq!(count("summary ~ STABLE").await, 1);
        assert_eq!(count("description is EMPTY").await, 1);
        assert_eq!(count("comment ~ race").await, 1);
        let comment = store.add_comment(issue.id, author, "Zweite Äußerung", None, NOW).await.unwrap();
        assert_eq!(count("comment ~ äußerung").await, 1);
        store.update_comment(comment.id, "changed", None, author, NOW).await.unwrap();
        assert_eq!(count("comment ~ äußerung").await, 0);
        assert_eq!(count("text ~ changed").await, 1);
        // LIKE's wildcards are text: `%` finds nothing here.
        assert_eq!(count("text ~ \"%\"").await, 0);
        assert_eq!(count("summary ~ \"st_ble\"").await, 0);
        assert_eq!(count("summary ~ \"st?ble\"").await, 1);
        let found = world.search(&world.boss, "labels = ci", FIRST).await.unwrap();
        assert_eq!(found.issues.items[0].id, issue.id);
        assert_eq!(found.issues.items[0].labels, ["ci"]);
    }

    async fn existing_text_is_lowered_by_rust_when_search_arrives(db) {
        // A database as the three earlier migrations left it, with non-ASCII text.
        let dir = tempfile::tempdir().unwrap();
        let source = match db.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        };
        let migrations = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations").join(source);
        for entry in std::fs::read_dir(&migrations).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap().to_string();
            if name.as_str() < "0004" {
                std::fs::copy(&path, dir.path().join(name)).unwrap();
            }
        }
        let migrator = sqlx::migrate::Migrator::new(dir.path()).await.unwrap();
        {
            let store = SqlStore::connect(&db.url, PoolOptions::default()).await.unwrap();
            drop(store);
        }
        let raw = Raw::open(&db).await;
        match &raw {
            Raw::Sqlite(pool) => migrator.run(pool).await.unwrap(),
            Raw::Postgres(pool) => migrator.run(pool).await.unwrap(),
        }
        raw.exec(
            "INSERT INTO users (name, display_name, display_name_lower, created_at) \
             VALUES ('old', 'Old', 'old', 0)".into(),
            &[],
        )
        .await;
        raw.exec(
            "INSERT INTO projects (project_key, name, lower_name, project_type_key, created_at, \
             issue_counter) VALUES ('OLD', 'Old', 'old', 'software', 0, 1)".into(),
            &[],
        )
        .await;
        raw.exec(
            "INSERT INTO issues (project_id, number, issue_type_id, summary, description, \
             status_id, priority_id, creator_id, created_at, updated_at) \
             SELECT p.id, 1, 3, 'ÉCOLE Crash', 'ÜBER', 10000, 3, u.id, 0, 0 \
             FROM projects p, users u".into(),
            &[],
        )
        .await;
        raw.exec(
            "INSERT INTO comments (issue_id, author_id, body, created_at, updated_at) \
             SELECT id, creator_id, 'ÄRGER', 0, 0 FROM issues".into(),
            &[],
        )
        .await;
        match raw {
            Raw::Sqlite(pool) => pool.close().await,
            Raw::Postgres(pool) => pool.close().await,
        }
        let store = Arc::new(SqlStore::open(&db.url, PoolOptions::default()).await.unwrap());
        let old = store.find_user_by_name("old").await.unwrap().unwrap();
        let project = store.find_project_by_key("OLD").await.unwrap().unwrap();
        store
            .add_role_members(project.id, ProjectRole::Users, &[RoleMember::User(old.id)])
            .await
            .unwrap();
        let authz = Authorizer::new(store.clone());
        let cap = authz.browsable_projects(&principal(&old, &[GlobalPermission::Use])).await.unwrap();
        for jql in ["summary ~ école", "summary ~ crash", "description ~ über", "comment ~ ärger"] {
            let found = search::search(&*store, &cap, jql, Validation::Strict, COUNT, NOW).await.unwrap();
            assert_eq!(found.issues.total, 1, "{jql}");
        }
    }
}
