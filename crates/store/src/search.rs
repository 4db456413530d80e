//! JQL search: a [`SearchQuery`] compiled into one SQL text that both stores run, with `$n`
//! placeholders numbered as values are bound, then a page of ids read in the query's order and
//! the issues loaded by id.
//!
//! Invariants: the SQL text is assembled only from fixed fragments and placeholder numbers;
//! every id, time, label, group name and text pattern is bound, never written into it. The
//! `WHERE` always begins with the caller's projects (`i.project_id IN (...)`), so no other
//! issue is read. `AND`/`OR` chains are nested as balanced trees, so a long query stays far
//! below SQLite's expression depth limit.
//!
//! Text matches lower-cased copies of the summary, description and comment bodies (written by
//! [`crate::issues`]) with `LIKE` patterns whose own wildcards (`%`, `_`, `\`) are escaped; the
//! JQL wildcards `*` and `?` become `%` and `_`. Such patterns cannot use an index: text terms
//! narrow the rows the other terms and the project set select.

use std::collections::HashMap;

use sqlx::{AssertSqlSafe, Row};
use tessera_core::catalog::{IssueType, Resolution, Status, StatusCategory};
use tessera_core::ids::{IssueId, ProjectId, UserId};
use tessera_core::jql::{Field, SortDirection, SortKey};
use tessera_core::model::{Issue, Page, PageRequest};
use tessera_core::search::{
    Column, Comparison, Condition, IssueLocation, NamesFound, PlanningName, Predicate, Relation,
    SearchQuery, TextTarget,
};
use tessera_core::store::StoreResult;

use crate::rows::{IssueRow, issue_select};
use crate::{Backend, SqlStore, backend, on_pool};

/// The tables [`SqlStore::find_planning_names`] reads.
#[derive(Clone, Copy, Debug)]
pub(crate) enum PlanningTable {
    Versions,
    Components,
}

/// Most names looked up in one read.
const NAMES_PER_READ: usize = 500;

/// A value to bind.
#[derive(Clone, Debug)]
enum Bind {
    Int(i64),
    Text(String),
}

/// SQL text under construction, with the values its placeholders stand for.
#[derive(Clone, Debug, Default)]
struct Sql {
    binds: Vec<Bind>,
}

impl Sql {
    fn placeholder(&self) -> String {
        format!("${}", self.binds.len())
    }

    fn int(&mut self, value: i64) -> String {
        self.binds.push(Bind::Int(value));
        self.placeholder()
    }

    fn text(&mut self, value: &str) -> String {
        self.binds.push(Bind::Text(value.to_string()));
        self.placeholder()
    }

    fn ints(&mut self, values: &[i64]) -> String {
        let placeholders: Vec<String> = values.iter().map(|v| self.int(*v)).collect();
        placeholders.join(", ")
    }

    fn texts(&mut self, values: &[String]) -> String {
        let placeholders: Vec<String> = values.iter().map(|v| self.text(v)).collect();
        placeholders.join(", ")
    }

    /// `column = $n` for one value, `column IN ($n, ...)` for several, `None` for none.
    fn member_of(&mut self, column: &str, values: &[i64], negated: bool) -> Option<String> {
        match values {
            [] => None,
            [only] => {
                let operator = if negated { "<>" } else { "=" };
                Some(format!("{column} {operator} {}", self.int(*only)))
            }
            _ => {
                let operator = if negated { "NOT IN" } else { "IN" };
                Some(format!("{column} {operator} ({})", self.ints(values)))
            }
        }
    }

    fn label_test(&mut self, labels: &[String]) -> String {
        let test = match labels {
            [only] => format!("l.label = {}", self.text(only)),
            _ => format!("l.label IN ({})", self.texts(labels)),
        };
        format!("EXISTS (SELECT 1 FROM issue_labels l WHERE l.issue_id = i.id AND {test})")
    }

    /// Whether the issue names one of `ids` (`None`: anything) in `relation`.
    fn related(&mut self, relation: Relation, ids: Option<&[i64]>) -> String {
        let (table, column, kind) = match relation {
            Relation::FixVersions => ("issue_versions", "version_id", Some("fix")),
            Relation::AffectedVersions => ("issue_versions", "version_id", Some("affects")),
            Relation::Components => ("issue_components", "component_id", None),
        };
        let mut tests = vec!["r.issue_id = i.id".to_string()];
        if let Some(kind) = kind {
            tests.push(format!("r.kind = {}", self.text(kind)));
        }
        if let Some(ids) = ids {
            tests.extend(self.member_of(&format!("r.{column}"), ids, false));
        }
        format!(
            "EXISTS (SELECT 1 FROM {table} r WHERE {})",
            tests.join(" AND ")
        )
    }

    fn condition(&mut self, condition: &Condition) -> String {
        match condition {
            Condition::All(parts) => {
                let parts = parts.iter().map(|c| self.condition(c)).collect();
                balanced(parts, "AND")
            }
            Condition::Any(parts) => {
                let parts = parts.iter().map(|c| self.condition(c)).collect();
                balanced(parts, "OR")
            }
            Condition::Test(predicate) => self.predicate(predicate),
        }
    }

    fn predicate(&mut self, predicate: &Predicate) -> String {
        match predicate {
            Predicate::In {
                column,
                values,
                groups,
                or_empty,
            } => {
                let name = column_sql(*column);
                let mut parts: Vec<String> =
                    self.member_of(name, values, false).into_iter().collect();
                if !groups.is_empty() {
                    parts.push(format!(
                        "EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = {name} \
                         AND gm.group_name IN ({}))",
                        self.texts(groups)
                    ));
                }
                if *or_empty {
                    parts.push(format!("{name} IS NULL"));
                }
                balanced(parts, "OR")
            }
            Predicate::NotIn {
                column,
                values,
                groups,
            } => {
                let name = column_sql(*column);
                let mut parts = vec![format!("{name} IS NOT NULL")];
                parts.extend(self.member_of(name, values, true));
                if !groups.is_empty() {
                    parts.push(format!(
                        "NOT EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = {name} \
                         AND gm.group_name IN ({}))",
                        self.texts(groups)
                    ));
                }
                balanced(parts, "AND")
            }
            Predicate::Compare {
                column,
                comparison,
                value,
            } => format!(
                "{} {} {}",
                column_sql(*column),
                comparison_sql(*comparison),
                self.int(*value)
            ),
            Predicate::KeyCompare {
                project,
                comparison,
                number,
            } => format!(
                "(i.project_id = {} AND i.number {} {})",
                self.int(project.0),
                comparison_sql(*comparison),
                self.int(*number)
            ),
            Predicate::Labels { labels, or_empty } => {
                let mut parts = Vec::new();
                if !labels.is_empty() {
                    parts.push(self.label_test(labels));
                }
                if *or_empty {
                    parts.push(format!("NOT {ANY_LABEL}"));
                }
                balanced(parts, "OR")
            }
            Predicate::NotLabels { labels } => {
                let mut parts = vec![ANY_LABEL.to_string()];
                if !labels.is_empty() {
                    parts.push(format!("NOT {}", self.label_test(labels)));
                }
                balanced(parts, "AND")
            }
            Predicate::Related {
                relation,
                ids,
                or_empty,
            } => {
                let mut parts = Vec::new();
                if !ids.is_empty() {
                    parts.push(self.related(*relation, Some(ids)));
                }
                if *or_empty {
                    parts.push(format!("NOT {}", self.related(*relation, None)));
                }
                balanced(parts, "OR")
            }
            Predicate::NotRelated { relation, ids } => {
                let mut parts = vec![self.related(*relation, None)];
                if !ids.is_empty() {
                    parts.push(format!("NOT {}", self.related(*relation, Some(ids))));
                }
                balanced(parts, "AND")
            }
            Predicate::HasDescription(true) => "i.description IS NOT NULL".into(),
            Predicate::HasDescription(false) => "i.description IS NULL".into(),
            Predicate::Text {
                target,
                terms,
                negated,
                viewer,
            } => {
                let found = if terms.is_empty() {
                    // Nothing to look for finds nothing (the checker refuses blank text).
                    "1 = 0".to_string()
                } else {
                    // Each pattern is bound once, however many columns it is tried on.
                    let patterns: Vec<String> =
                        terms.iter().map(|t| self.text(&like_pattern(t))).collect();
                    let summary = || contains_all("i.summary_lower", &patterns);
                    let description = || {
                        format!(
                            "(i.description_lower IS NOT NULL AND {})",
                            contains_all("i.description_lower", &patterns)
                        )
                    };
                    // Bound only where comments are searched (PostgreSQL refuses a placeholder
                    // that no expression uses).
                    let viewer = match target {
                        TextTarget::Comment | TextTarget::Any => self.int(viewer.0),
                        TextTarget::Summary | TextTarget::Description => String::new(),
                    };
                    let comment = || {
                        format!(
                            "EXISTS (SELECT 1 FROM comments c WHERE c.issue_id = i.id AND {} AND {})",
                            crate::rows::comment_visible(&viewer, "i.project_id"),
                            contains_all("c.body_lower", &patterns)
                        )
                    };
                    match target {
                        TextTarget::Summary => summary(),
                        TextTarget::Description => description(),
                        TextTarget::Comment => comment(),
                        TextTarget::Any => {
                            format!("({} OR {} OR {})", summary(), description(), comment())
                        }
                    }
                };
                if *negated {
                    format!("NOT ({found})")
                } else {
                    found
                }
            }
        }
    }

    /// `ORDER BY` terms for the sort keys, then the issue id in the last key's direction, so
    /// that equal keys keep one order from page to page.
    fn order_by(&mut self, keys: &[SortKey]) -> String {
        let mut parts = Vec::new();
        let mut last = SortDirection::Descending;
        for key in keys {
            let ascending = key.direction == SortDirection::Ascending;
            let mut push = |expression: String, ascending: bool, optional: bool| {
                // Empty values count as the greatest: last going up, first going down.
                let nulls = match (optional, ascending) {
                    (false, _) => "",
                    (true, true) => " NULLS LAST",
                    (true, false) => " NULLS FIRST",
                };
                let direction = if ascending { "ASC" } else { "DESC" };
                parts.push(format!("{expression} {direction}{nulls}"));
            };
            match key.field {
                Field::Project => push(
                    "(SELECT p.lower_name FROM projects p WHERE p.id = i.project_id)".into(),
                    ascending,
                    false,
                ),
                Field::IssueKey => {
                    push(
                        "(SELECT p.project_key FROM projects p WHERE p.id = i.project_id)".into(),
                        ascending,
                        false,
                    );
                    push("i.number".into(), ascending, false);
                }
                Field::Summary => push("i.summary_lower".into(), ascending, false),
                Field::Status => {
                    let ranks = Status::ALL.map(|s| s.id());
                    push(self.rank("i.status_id", &ranks), ascending, false);
                }
                Field::StatusCategory => {
                    let order = [
                        StatusCategory::New,
                        StatusCategory::InProgress,
                        StatusCategory::Done,
                    ];
                    let mut by_category: Vec<Status> = Status::ALL.to_vec();
                    by_category.sort_by_key(|s| order.iter().position(|c| *c == s.category()));
                    let ranks: Vec<i64> = by_category.iter().map(|s| s.id()).collect();
                    push(self.rank("i.status_id", &ranks), ascending, false);
                }
                Field::IssueType => {
                    let ranks = IssueType::ALL.map(|t| t.id());
                    push(self.rank("i.issue_type_id", &ranks), ascending, false);
                }
                // Ids grow as urgency falls: ascending urgency is descending id.
                Field::Priority => push("i.priority_id".into(), !ascending, false),
                Field::Resolution => {
                    let ranks = Resolution::ALL.map(|r| r.id());
                    push(self.rank("i.resolution_id", &ranks), ascending, true);
                }
                Field::Assignee => push(user_name("i.assignee_id"), ascending, true),
                Field::Reporter => push(user_name("i.reporter_id"), ascending, true),
                Field::Creator => push(user_name("i.creator_id"), ascending, true),
                Field::Created => push("i.created_at".into(), ascending, false),
                Field::Updated => push("i.updated_at".into(), ascending, false),
                Field::ResolutionDate => push("i.resolved_at".into(), ascending, true),
                // Not sortable: the checker refuses them.
                Field::Description
                | Field::Comment
                | Field::Text
                | Field::Labels
                | Field::FixVersion
                | Field::AffectedVersion
                | Field::Component
                | Field::Filter => continue,
            }
            last = key.direction;
        }
        let tiebreak = match last {
            SortDirection::Ascending => "i.id ASC",
            SortDirection::Descending => "i.id DESC",
        };
        parts.push(tiebreak.into());
        parts.join(", ")
    }

    /// The position of `column`'s value in `ids` (the catalogue's display order).
    fn rank(&mut self, column: &str, ids: &[i64]) -> String {
        let arms: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(rank, id)| format!("WHEN {} THEN {rank}", self.int(*id)))
            .collect();
        format!("CASE {column} {} END", arms.join(" "))
    }
}

const ANY_LABEL: &str = "EXISTS (SELECT 1 FROM issue_labels l WHERE l.issue_id = i.id)";

fn column_sql(column: Column) -> &'static str {
    match column {
        Column::Project => "i.project_id",
        Column::Issue => "i.id",
        Column::Status => "i.status_id",
        Column::IssueType => "i.issue_type_id",
        Column::Priority => "i.priority_id",
        Column::Resolution => "i.resolution_id",
        Column::Assignee => "i.assignee_id",
        Column::Reporter => "i.reporter_id",
        Column::Creator => "i.creator_id",
        Column::Created => "i.created_at",
        Column::Updated => "i.updated_at",
        Column::ResolutionDate => "i.resolved_at",
    }
}

fn comparison_sql(comparison: Comparison) -> &'static str {
    match comparison {
        Comparison::Less => "<",
        Comparison::LessOrEqual => "<=",
        Comparison::Greater => ">",
        Comparison::GreaterOrEqual => ">=",
    }
}

/// A user's display name, for sorting.
fn user_name(column: &str) -> String {
    format!("(SELECT u.display_name_lower FROM users u WHERE u.id = {column})")
}

/// `column` contains every pattern.
fn contains_all(column: &str, patterns: &[String]) -> String {
    let parts = patterns
        .iter()
        .map(|p| format!("{column} LIKE {p} ESCAPE '\\'"))
        .collect();
    balanced(parts, "AND")
}

/// Joins conditions with `AND` or `OR`, nested pairwise so the expression is only
/// log2(n) deep. No conditions: `AND` of nothing holds, `OR` of nothing does not.
fn balanced(mut parts: Vec<String>, operator: &str) -> String {
    while parts.len() > 1 {
        let mut paired = Vec::with_capacity(parts.len().div_ceil(2));
        let mut rest = parts.into_iter();
        while let Some(left) = rest.next() {
            match rest.next() {
                Some(right) => paired.push(format!("({left} {operator} {right})")),
                None => paired.push(left),
            }
        }
        parts = paired;
    }
    match parts.pop() {
        Some(only) => only,
        None if operator == "AND" => "1 = 1".into(),
        None => "1 = 0".into(),
    }
}

/// A `LIKE ... ESCAPE '\'` pattern finding `term` anywhere: `LIKE`'s own wildcards and the
/// escape character stand for themselves, JQL's `*` and `?` become `%` and `_`.
fn like_pattern(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for c in term.chars() {
        match c {
            '%' | '_' | '\\' => {
                pattern.push('\\');
                pattern.push(c);
            }
            '*' => pattern.push('%'),
            '?' => pattern.push('_'),
            c => pattern.push(c),
        }
    }
    pattern.push('%');
    pattern
}

/// The search's `WHERE` condition: the caller's projects, then the query's filter.
fn where_clause(query: &SearchQuery) -> (String, Sql) {
    let mut sql = Sql::default();
    let ids: Vec<i64> = query.projects().iter().map(|p| p.0).collect();
    let projects = sql
        .member_of("i.project_id", &ids, false)
        .unwrap_or_else(|| "1 = 0".into());
    let text = match query.filter() {
        Some(filter) => format!("{projects} AND {}", sql.condition(filter)),
        None => projects,
    };
    (text, sql)
}

/// The ids of one page of the search, in order; the text and its values.
fn page_query(query: &SearchQuery, page: PageRequest) -> (String, Sql) {
    let (filter, mut sql) = where_clause(query);
    let order = sql.order_by(query.order_by());
    let limit = sql.int(page.limit);
    let offset = sql.int(page.start_at);
    (
        format!(
            "SELECT i.id FROM issues i WHERE {filter} ORDER BY {order} LIMIT {limit} OFFSET {offset}"
        ),
        sql,
    )
}

/// The exact number of issues the search matches.
fn count_query(query: &SearchQuery) -> (String, Sql) {
    let (filter, sql) = where_clause(query);
    (format!("SELECT COUNT(*) FROM issues i WHERE {filter}"), sql)
}

/// Binds every value of `$sql` to `$query`, in order.
macro_rules! bound {
    ($query:expr, $sql:expr) => {{
        let mut query = $query;
        for value in &$sql.binds {
            query = match value {
                Bind::Int(number) => query.bind(*number),
                Bind::Text(text) => query.bind(text.as_str()),
            };
        }
        query
    }};
}

/// `$1, $2, ...` for `count` values.
pub(crate) fn placeholders(count: usize) -> String {
    (1..=count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

impl SqlStore {
    pub(crate) async fn run_search(
        &self,
        query: &SearchQuery,
        page: PageRequest,
    ) -> StoreResult<Page<Issue>> {
        let (page_text, page_sql) = page_query(query, page);
        let (count_text, where_sql) = count_query(query);
        let (ids, total): (Vec<i64>, i64) = on_pool!(self, read, |pool| {
            let ids: Vec<i64> = if page.limit > 0 {
                bound!(sqlx::query_scalar(AssertSqlSafe(page_text)), page_sql)
                    .fetch_all(pool)
                    .await
                    .map_err(backend)?
            } else {
                Vec::new()
            };
            // A page that is not full, and not past the end, tells the total itself.
            let shown = ids.len() as i64;
            let total = if page.limit > 0 && shown < page.limit && (shown > 0 || page.start_at == 0)
            {
                page.start_at + shown
            } else {
                bound!(sqlx::query_scalar(AssertSqlSafe(count_text)), where_sql)
                    .fetch_one(pool)
                    .await
                    .map_err(backend)?
            };
            (ids, total)
        });
        let issues = self.issues_by_id(&ids).await?;
        Ok(Page {
            items: issues,
            start_at: page.start_at,
            max_results: page.limit,
            total,
        })
    }

    /// The issues with these ids, with their labels, versions and components (two reads), in
    /// the order given (ids of issues deleted meanwhile are skipped).
    async fn issues_by_id(&self, ids: &[i64]) -> StoreResult<Vec<Issue>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let list = placeholders(ids.len());
        let issue_text = format!("{} WHERE i.id IN ({list})", issue_select!());
        let parts_text = crate::rows::parts_sql(ids.len());
        let (rows, parts): (Vec<IssueRow>, Vec<crate::rows::PartRow>) =
            on_pool!(self, read, |pool| {
                let mut rows = sqlx::query_as(AssertSqlSafe(issue_text));
                for id in ids {
                    rows = rows.bind(*id);
                }
                let rows: Vec<IssueRow> = rows.fetch_all(pool).await.map_err(backend)?;
                let mut parts = sqlx::query_as(AssertSqlSafe(parts_text));
                for id in ids {
                    parts = parts.bind(*id);
                }
                let parts = parts.fetch_all(pool).await.map_err(backend)?;
                (rows, parts)
            });
        let mut found: HashMap<i64, IssueRow> = rows.into_iter().map(|r| (r.id(), r)).collect();
        let mut issues = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = found.remove(id) {
                issues.push(row.into_issue()?);
            }
        }
        crate::rows::attach_parts(&mut issues, parts);
        Ok(issues)
    }

    pub(crate) async fn find_locations(
        &self,
        keys: &[(String, i64)],
        ids: &[IssueId],
    ) -> StoreResult<Vec<IssueLocation>> {
        const SELECT: &str = "SELECT i.id, i.project_id, p.project_key, i.number FROM issues i \
                              JOIN projects p ON p.id = i.project_id WHERE ";
        // One read per project named, and one for the ids.
        let mut by_project: HashMap<&str, Vec<i64>> = HashMap::new();
        for (project, number) in keys {
            by_project
                .entry(project.as_str())
                .or_default()
                .push(*number);
        }
        let mut reads: Vec<(String, Sql)> = Vec::new();
        for (project, numbers) in by_project {
            let mut sql = Sql::default();
            let key = sql.text(project);
            let numbers = sql.member_of("i.number", &numbers, false);
            let numbers = numbers.unwrap_or_else(|| "1 = 0".into());
            reads.push((format!("{SELECT}p.project_key = {key} AND {numbers}"), sql));
        }
        let ids: Vec<i64> = ids.iter().map(|id| id.0).collect();
        let mut sql = Sql::default();
        if let Some(test) = sql.member_of("i.id", &ids, false) {
            reads.push((format!("{SELECT}{test}"), sql));
        }
        let mut found = Vec::new();
        for (text, sql) in reads {
            let rows: Vec<(i64, i64, String, i64)> = on_pool!(self, read, |pool| bound!(
                sqlx::query_as(AssertSqlSafe(text)),
                sql
            )
            .fetch_all(pool)
            .await
            .map_err(backend))?;
            found.extend(rows.into_iter().map(|(id, project, project_key, number)| {
                IssueLocation {
                    id: IssueId(id),
                    project_id: ProjectId(project),
                    project_key,
                    number,
                }
            }));
        }
        Ok(found)
    }

    pub(crate) async fn find_names(
        &self,
        user_names: &[String],
        user_ids: &[UserId],
        groups: &[String],
    ) -> StoreResult<NamesFound> {
        let mut found = NamesFound::default();
        // Each list in one read, a chunk of placeholders at a time (SQLite's limit is far
        // above this; a query of 10,000 characters names fewer).
        for chunk in user_names.chunks(NAMES_PER_READ) {
            let mut sql = Sql::default();
            let text = format!(
                "SELECT id, name FROM users WHERE name IN ({})",
                sql.texts(chunk)
            );
            found.users.extend(self.id_name_rows(text, sql).await?);
        }
        let user_ids: Vec<i64> = user_ids.iter().map(|id| id.0).collect();
        for chunk in user_ids.chunks(NAMES_PER_READ) {
            let mut sql = Sql::default();
            let text = format!(
                "SELECT id, name FROM users WHERE id IN ({})",
                sql.ints(chunk)
            );
            found.users.extend(self.id_name_rows(text, sql).await?);
        }
        for chunk in groups.chunks(NAMES_PER_READ) {
            let mut sql = Sql::default();
            let text = format!(
                "SELECT name FROM user_groups WHERE name IN ({})",
                sql.texts(chunk)
            );
            let names: Vec<String> = on_pool!(self, read, |pool| bound!(
                sqlx::query_scalar(AssertSqlSafe(text)),
                sql
            )
            .fetch_all(pool)
            .await
            .map_err(backend))?;
            found.groups.extend(names);
        }
        Ok(found)
    }

    /// The rows of `table` (`versions` or `components`) named (lower-cased) or numbered.
    pub(crate) async fn find_planning_names(
        &self,
        table: PlanningTable,
        names: &[String],
        ids: &[i64],
    ) -> StoreResult<Vec<PlanningName>> {
        let table = match table {
            PlanningTable::Versions => "versions",
            PlanningTable::Components => "components",
        };
        let mut reads = Vec::new();
        for chunk in names.chunks(NAMES_PER_READ) {
            let mut sql = Sql::default();
            let text = format!(
                "SELECT id, project_id, name_lower FROM {table} WHERE name_lower IN ({})",
                sql.texts(chunk)
            );
            reads.push((text, sql));
        }
        for chunk in ids.chunks(NAMES_PER_READ) {
            let mut sql = Sql::default();
            let text = format!(
                "SELECT id, project_id, name_lower FROM {table} WHERE id IN ({})",
                sql.ints(chunk)
            );
            reads.push((text, sql));
        }
        let mut found = Vec::new();
        for (text, sql) in reads {
            let rows: Vec<(i64, i64, String)> = on_pool!(self, read, |pool| bound!(
                sqlx::query_as(AssertSqlSafe(text.clone())),
                sql
            )
            .fetch_all(pool)
            .await
            .map_err(backend))?;
            found.extend(
                rows.into_iter()
                    .map(|(id, project, name_lower)| PlanningName {
                        id,
                        project_id: ProjectId(project),
                        name_lower,
                    }),
            );
        }
        Ok(found)
    }

    async fn id_name_rows(&self, text: String, sql: Sql) -> StoreResult<Vec<(UserId, String)>> {
        let rows: Vec<(i64, String)> = on_pool!(self, read, |pool| bound!(
            sqlx::query_as(AssertSqlSafe(text)),
            sql
        )
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows
            .into_iter()
            .map(|(id, name)| (UserId(id), name))
            .collect())
    }

    /// How the database would read one page of a search and count its matches: SQLite's
    /// `EXPLAIN QUERY PLAN` details or PostgreSQL's `EXPLAIN` lines, the page's first. For
    /// checking that searches use indexes.
    pub async fn explain_search(
        &self,
        query: &SearchQuery,
        page: PageRequest,
    ) -> StoreResult<Vec<String>> {
        let mut lines = Vec::new();
        for (text, sql) in [page_query(query, page), count_query(query)] {
            match &self.backend {
                Backend::Sqlite { reader, .. } => {
                    let explain = format!("EXPLAIN QUERY PLAN {text}");
                    let rows = bound!(sqlx::query(AssertSqlSafe(explain)), sql)
                        .fetch_all(reader)
                        .await
                        .map_err(backend)?;
                    for row in rows {
                        lines.push(row.try_get::<String, _>("detail").map_err(backend)?);
                    }
                }
                Backend::Postgres(pool) => {
                    let explain = format!("EXPLAIN {text}");
                    let rows = bound!(sqlx::query(AssertSqlSafe(explain)), sql)
                        .fetch_all(pool)
                        .await
                        .map_err(backend)?;
                    for row in rows {
                        lines.push(row.try_get::<String, _>(0).map_err(backend)?);
                    }
                }
            }
        }
        Ok(lines)
    }

    /// Rewrites the lower-cased search copies of existing text with Rust's lower-casing,
    /// where the SQL `LOWER()` of migration 0004 wrote something else (non-ASCII text).
    pub(crate) async fn relower_search_text(&self) -> StoreResult<u64> {
        const BATCH: i64 = 500;
        let mut changed = 0;
        let mut after = 0_i64;
        loop {
            type IssueText = (i64, String, String, Option<String>, Option<String>);
            let rows: Vec<IssueText> = on_pool!(self, write, |pool| sqlx::query_as(
                "SELECT id, summary, summary_lower, description, description_lower FROM issues \
                 WHERE id > $1 ORDER BY id LIMIT $2"
            )
            .bind(after)
            .bind(BATCH)
            .fetch_all(pool)
            .await
            .map_err(backend))?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            for (id, summary, summary_lower, description, description_lower) in rows {
                let summary_wanted = summary.to_lowercase();
                let description_wanted = description.as_deref().map(str::to_lowercase);
                if summary_wanted == summary_lower && description_wanted == description_lower {
                    continue;
                }
                on_pool!(self, write, |pool| sqlx::query(
                    "UPDATE issues SET summary_lower = $1, description_lower = $2 WHERE id = $3"
                )
                .bind(&summary_wanted)
                .bind(&description_wanted)
                .bind(id)
                .execute(pool)
                .await
                .map(|_| ())
                .map_err(backend))?;
                changed += 1;
            }
        }
        let mut after = 0_i64;
        loop {
            let rows: Vec<(i64, String, String)> = on_pool!(self, write, |pool| sqlx::query_as(
                "SELECT id, body, body_lower FROM comments WHERE id > $1 ORDER BY id LIMIT $2"
            )
            .bind(after)
            .bind(BATCH)
            .fetch_all(pool)
            .await
            .map_err(backend))?;
            let Some(last) = rows.last() else { break };
            after = last.0;
            for (id, body, body_lower) in rows {
                let wanted = body.to_lowercase();
                if wanted == body_lower {
                    continue;
                }
                on_pool!(self, write, |pool| sqlx::query(
                    "UPDATE comments SET body_lower = $1 WHERE id = $2"
                )
                .bind(&wanted)
                .bind(id)
                .execute(pool)
                .await
                .map(|_| ())
                .map_err(backend))?;
                changed += 1;
            }
        }
        Ok(changed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_patterns_escape_wildcards_and_translate_jql_ones() {
        assert_eq!(like_pattern("50%_off\\"), "%50\\%\\_off\\\\%");
        assert_eq!(like_pattern("win*95?"), "%win%95_%");
        assert_eq!(like_pattern("école"), "%école%");
    }

    #[test]
    fn chains_are_balanced() {
        let parts: Vec<String> = (1..=5).map(|n| format!("c{n}")).collect();
        assert_eq!(
            balanced(parts, "AND"),
            "(((c1 AND c2) AND (c3 AND c4)) AND c5)"
        );
        assert_eq!(balanced(vec!["x".into()], "OR"), "x");
        assert_eq!(balanced(Vec::new(), "AND"), "1 = 1");
        assert_eq!(balanced(Vec::new(), "OR"), "1 = 0");
        // A thousand terms nest eleven deep, not a thousand.
        let many: Vec<String> = (0..1000).map(|n| format!("c{n}")).collect();
        let text = balanced(many, "OR");
        let mut depth = 0_i32;
        let mut deepest = 0;
        for c in text.chars() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            deepest = deepest.max(depth);
        }
        assert!(deepest <= 10, "{deepest}");
    }
}
