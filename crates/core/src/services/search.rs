//! JQL search (`/rest/api/2/search`): a query is parsed and checked ([`crate::jql`]), its
//! dates fixed against now, its names resolved (projects among those the caller may browse,
//! users by name or `JIRAUSER` key, groups, issue keys, versions and components), the saved
//! filters it names expanded into their conditions (`Planner::saved_filters`), and its
//! `NOT`s pushed down to the terms, giving a [`SearchQuery`] that the store compiles into one
//! parameterised SQL query.
//!
//! Invariant: a search sees only the projects of the [`BrowsableProjects`] capability, inside
//! the store's query, so `total` is exact and a page costs one indexed read. A project the
//! caller may not browse is reported exactly like one that does not exist, and an issue key
//! outside those projects like a key that does not exist.
//!
//! Decisions, where Jira's Lucene index behaves in ways SQL does not:
//! - Text (`~`, `!~`): the text is split into words (at white space) and `"quoted phrases"`;
//!   an issue matches when the field contains every word and phrase, without regard to case
//!   (both sides are lower-cased by Rust, never by SQL, so both stores agree on every script).
//!   Words are matched inside longer words (`win` finds "windows", as Jira's stemming and `win*`
//!   would), punctuation at a word's ends is ignored, and `*` and `?` are wildcards anywhere.
//!   Lucene's boolean operators, `-` exclusions, fuzzy and proximity suffixes are not
//!   interpreted: their words are simply required.
//! - `!=`, `not in`, `<`, `>` never match an empty field, as in Jira; `NOT` is rewritten into
//!   the negated operator as Jira does, so it behaves the same (`NOT assignee = bob` does not
//!   find unassigned issues). `!~` does match an empty description.
//! - Users are named by user name or `JIRAUSER` key, not by e-mail address: matching addresses
//!   would let anyone learn whose an address is.
//! - Without `ORDER BY`, issues come newest first (`created DESC`), the order Jira's issue
//!   navigator starts from; ties are broken by issue id, so paging is stable.

use std::collections::{HashMap, HashSet};

use crate::authz::BrowsableProjects;
use crate::catalog::{Priority, Status};
use crate::clock::Timestamp;
use crate::error::{Error, FieldErrors};
use crate::ids::{FilterId, IssueId, UserId};
use crate::jql::{
    self, Clause, Field, Operand, Operator, SortDirection, SortKey, Term, ValidationError, Value,
};
use crate::model::{Issue, Page, PageRequest, parse_user_key};
use crate::search::{
    Column, Comparison, Condition, NamesFound, PlanningName, Predicate, Relation, SearchQuery,
    TextTarget,
};
use crate::services::filters::{self, FilterKey, Reached};
use crate::store::Store;

/// What to do with values that do not exist (unknown projects, users, groups, issue keys),
/// Jira's `validateQuery`. Queries that are not valid JQL are refused whatever the choice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Validation {
    /// Refuse the query (`strict`, `true`; the default).
    #[default]
    Strict,
    /// Run it, such values matching nothing, and report them as warnings (`warn`).
    Warn,
    /// Run it, such values matching nothing, silently (`none`, `false`).
    Off,
}

impl Validation {
    /// Jira's parameter values, without regard to case; `None` for anything else.
    pub fn from_name(name: &str) -> Option<Self> {
        match name.trim().to_ascii_lowercase().as_str() {
            "strict" | "true" => Some(Self::Strict),
            "warn" => Some(Self::Warn),
            "none" | "false" => Some(Self::Off),
            _ => None,
        }
    }
}

/// A page of issues, with the warnings [`Validation::Warn`] collected.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchResults {
    pub issues: Page<Issue>,
    pub warnings: Vec<String>,
    /// Whether the same search by the same caller finds the same while nothing is changed in
    /// the store: its query has no date relative to now and names no saved filter (whose
    /// text could hold one). Such an answer may be remembered.
    pub timeless: bool,
}

/// A checked and resolved search, ready to run for any page.
#[derive(Clone, Debug)]
pub struct PreparedSearch {
    /// `None` when the caller may browse no project: nothing can match.
    query: Option<SearchQuery>,
    warnings: Vec<String>,
    timeless: bool,
}

impl PreparedSearch {
    pub fn query(&self) -> Option<&SearchQuery> {
        self.query.as_ref()
    }

    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    pub async fn run(&self, store: &dyn Store, page: PageRequest) -> Result<SearchResults, Error> {
        let issues = match &self.query {
            Some(query) => store.search_issues(query, page).await?,
            None => Page {
                items: Vec::new(),
                start_at: page.start_at,
                max_results: page.limit,
                total: 0,
            },
        };
        Ok(SearchResults {
            issues,
            warnings: self.warnings.clone(),
            timeless: self.timeless,
        })
    }
}

/// Runs `jql` for the caller: one page of the issues it matches, and the exact total.
pub async fn search(
    store: &dyn Store,
    cap: &BrowsableProjects,
    jql: &str,
    validation: Validation,
    page: PageRequest,
    now: Timestamp,
) -> Result<SearchResults, Error> {
    prepare(store, cap, jql, validation, now)
        .await?
        .run(store, page)
        .await
}

/// Parses, checks and resolves `jql` for the caller. A query that is not valid JQL is
/// [`Error::Invalid`] with Jira's message; so are values that do not exist, unless
/// `validation` says otherwise.
pub async fn prepare(
    store: &dyn Store,
    cap: &BrowsableProjects,
    jql: &str,
    validation: Validation,
    now: Timestamp,
) -> Result<PreparedSearch, Error> {
    let parsed = jql::parse(jql).map_err(|e| Error::invalid_message(e.to_string()))?;
    let query = parsed.resolve(now);
    let reached = filters::reached(store, cap, query.filter.as_ref(), now).await?;
    let names = Names::resolve(store, cap, query.filter.iter().chain(reached.conditions())).await?;
    let mut planner = Planner {
        cap,
        names: &names,
        saved: &reached,
        path: Vec::new(),
        expansions: 0,
        problems: Vec::new(),
        refusals: Vec::new(),
    };
    let filter = query
        .filter
        .as_ref()
        .map(|clause| planner.condition(clause, false));
    if !planner.refusals.is_empty() {
        return Err(Error::Invalid(FieldErrors {
            messages: planner.refusals,
            fields: Default::default(),
        }));
    }
    let mut problems = planner.problems;
    let mut seen = HashSet::new();
    problems.retain(|problem| seen.insert(problem.clone()));
    let warnings = match validation {
        Validation::Strict if !problems.is_empty() => {
            return Err(Error::Invalid(FieldErrors {
                messages: problems,
                fields: Default::default(),
            }));
        }
        Validation::Strict | Validation::Off => Vec::new(),
        Validation::Warn => problems,
    };
    let order_by = if query.order_by.is_empty() {
        vec![SortKey {
            field: Field::Created,
            direction: SortDirection::Descending,
        }]
    } else {
        query.order_by
    };
    let search = (!cap.is_empty()).then(|| SearchQuery::new(cap.ids(), filter, order_by));
    Ok(PreparedSearch {
        query: search,
        warnings,
        timeless: !parsed.reads_the_clock() && reached.named.is_empty(),
    })
}

/// An issue named by key or id in an `=`/`in` term.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum IssueName {
    Key { project: String, number: i64 },
    Id(i64),
}

/// What the names in a query stand for, looked up before the query is planned (each once).
#[derive(Default)]
struct Names {
    users: HashMap<String, Option<UserId>>,
    /// Group names as written, to the stored (lower-case) name of an existing group.
    groups: HashMap<String, Option<String>>,
    /// Issues the caller may browse, by key and by id.
    issues: HashMap<IssueName, IssueId>,
    /// Versions and components (by text as written) of projects the caller may browse.
    versions: HashMap<String, Vec<i64>>,
    components: HashMap<String, Vec<i64>>,
}

impl Names {
    /// The names in `clauses`: a query's, and those of the saved filters it reaches.
    async fn resolve<'c>(
        store: &dyn Store,
        cap: &BrowsableProjects,
        clauses: impl Iterator<Item = &'c Clause<Timestamp>>,
    ) -> Result<Self, Error> {
        let mut wanted = Wanted::default();
        for clause in clauses {
            wanted.collect(clause);
        }
        if !wanted.users.is_empty() || !wanted.groups.is_empty() {
            // Whether a name resolves tells whether that user or group exists.
            cap.may_look_users_up()?;
        }
        let mut names = Self::default();
        // Users by name (without regard to case), else by key; groups by name: each kind in
        // one read however many a query names.
        let mut user_names: Vec<String> = Vec::new();
        let mut user_ids: Vec<UserId> = Vec::new();
        for text in &wanted.users {
            user_names.push(text.trim().to_lowercase());
            user_ids.extend(parse_user_key(&text.trim().to_ascii_uppercase()));
        }
        let mut group_names: Vec<String> = wanted
            .groups
            .iter()
            .map(|g| g.trim().to_lowercase())
            .collect();
        for list in [&mut user_names, &mut group_names] {
            list.sort();
            list.dedup();
        }
        user_ids.sort();
        user_ids.dedup();
        let found = if user_names.is_empty() && group_names.is_empty() {
            NamesFound::default()
        } else {
            store
                .locate_names(&user_names, &user_ids, &group_names)
                .await?
        };
        let by_name: HashMap<&str, UserId> = found
            .users
            .iter()
            .map(|(id, name)| (name.as_str(), *id))
            .collect();
        let by_id: HashSet<UserId> = found.users.iter().map(|(id, _)| *id).collect();
        for text in wanted.users {
            let id = by_name
                .get(text.trim().to_lowercase().as_str())
                .copied()
                .or_else(|| {
                    parse_user_key(&text.trim().to_ascii_uppercase())
                        .filter(|id| by_id.contains(id))
                });
            names.users.insert(text, id);
        }
        let groups: HashSet<&str> = found.groups.iter().map(String::as_str).collect();
        for group in wanted.groups {
            let stored = group.trim().to_lowercase();
            let known = groups.contains(stored.as_str()).then_some(stored);
            names.groups.insert(group, known);
        }
        let mut keys: Vec<(String, i64)> = Vec::new();
        let mut ids: Vec<IssueId> = Vec::new();
        for issue in wanted.issues {
            match issue {
                IssueName::Key { project, number } => keys.push((project, number)),
                IssueName::Id(id) => ids.push(IssueId(id)),
            }
        }
        // Keys of projects the caller may not browse stay unknown without a read.
        keys.retain(|(project, _)| cap.projects().any(|p| p.key.eq_ignore_ascii_case(project)));
        keys.sort();
        keys.dedup();
        ids.sort();
        ids.dedup();
        if !keys.is_empty() || !ids.is_empty() {
            for found in store.locate_issues(&keys, &ids).await? {
                // Issues the caller may not browse stay unknown.
                if !cap.contains(found.project_id) {
                    continue;
                }
                names.issues.insert(IssueName::Id(found.id.0), found.id);
                let key = IssueName::Key {
                    project: found.project_key,
                    number: found.number,
                };
                names.issues.insert(key, found.id);
            }
        }
        names.versions = planning_names(store, cap, &wanted.versions, false).await?;
        names.components = planning_names(store, cap, &wanted.components, true).await?;
        Ok(names)
    }
}

/// What each text names among versions (or, with `components`, components) of the projects
/// the caller may browse: those of that name (without regard to case), else the one of that
/// id; an empty list for none. One lookup for all the texts.
async fn planning_names(
    store: &dyn Store,
    cap: &BrowsableProjects,
    texts: &[String],
    components: bool,
) -> Result<HashMap<String, Vec<i64>>, Error> {
    if texts.is_empty() {
        return Ok(HashMap::new());
    }
    let mut names: Vec<String> = texts.iter().map(|t| t.trim().to_lowercase()).collect();
    let mut ids: Vec<i64> = texts.iter().filter_map(|t| t.trim().parse().ok()).collect();
    names.sort();
    names.dedup();
    ids.sort_unstable();
    ids.dedup();
    let found = if components {
        store.locate_components(&names, &ids).await?
    } else {
        store.locate_versions(&names, &ids).await?
    };
    let visible: Vec<&PlanningName> = found
        .iter()
        .filter(|item| cap.contains(item.project_id))
        .collect();
    let mut resolved = HashMap::new();
    for text in texts {
        let lower = text.trim().to_lowercase();
        let mut matched: Vec<i64> = visible
            .iter()
            .filter(|item| item.name_lower == lower)
            .map(|item| item.id)
            .collect();
        if matched.is_empty()
            && let Ok(id) = text.trim().parse::<i64>()
        {
            matched.extend(visible.iter().filter(|item| item.id == id).map(|i| i.id));
        }
        resolved.insert(text.clone(), matched);
    }
    Ok(resolved)
}

/// The names a query mentions, in the order written.
#[derive(Default)]
struct Wanted {
    users: Vec<String>,
    groups: Vec<String>,
    issues: Vec<IssueName>,
    versions: Vec<String>,
    components: Vec<String>,
}

impl Wanted {
    fn collect(&mut self, clause: &Clause<Timestamp>) {
        match clause {
            Clause::And(clauses) | Clause::Or(clauses) => {
                clauses.iter().for_each(|clause| self.collect(clause));
            }
            Clause::Not(clause) => self.collect(clause),
            Clause::Term(term) => {
                let is_membership = matches!(
                    term.operator,
                    Operator::Equals | Operator::NotEquals | Operator::In | Operator::NotIn
                );
                for value in values(&term.operand) {
                    match (term.field, value) {
                        (Field::Assignee | Field::Reporter | Field::Creator, Value::Text(text)) => {
                            self.users.push(text.clone());
                        }
                        (_, Value::MembersOf(group)) => self.groups.push(group.clone()),
                        (Field::FixVersion | Field::AffectedVersion, Value::Text(text)) => {
                            self.versions.push(text.clone());
                        }
                        (Field::Component, Value::Text(text)) => {
                            self.components.push(text.clone());
                        }
                        (Field::IssueKey, Value::IssueKey { project, number }) if is_membership => {
                            self.issues.push(IssueName::Key {
                                project: project.clone(),
                                number: *number,
                            });
                        }
                        (Field::IssueKey, Value::Number(id)) if is_membership => {
                            self.issues.push(IssueName::Id(*id));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

fn values(operand: &Operand<Timestamp>) -> &[Value<Timestamp>] {
    match operand {
        Operand::Empty => &[],
        Operand::Value(value) => std::slice::from_ref(value),
        Operand::List(values) => values,
    }
}

/// The operator `NOT` turns this one into, as Jira's rewriting does.
fn negated(operator: Operator) -> Operator {
    match operator {
        Operator::Equals => Operator::NotEquals,
        Operator::NotEquals => Operator::Equals,
        Operator::In => Operator::NotIn,
        Operator::NotIn => Operator::In,
        Operator::Is => Operator::IsNot,
        Operator::IsNot => Operator::Is,
        Operator::Contains => Operator::DoesNotContain,
        Operator::DoesNotContain => Operator::Contains,
        Operator::GreaterThan => Operator::LessThanOrEquals,
        Operator::LessThanOrEquals => Operator::GreaterThan,
        Operator::GreaterThanOrEquals => Operator::LessThan,
        Operator::LessThan => Operator::GreaterThanOrEquals,
    }
}

fn comparison(operator: Operator) -> Option<Comparison> {
    match operator {
        Operator::LessThan => Some(Comparison::Less),
        Operator::LessThanOrEquals => Some(Comparison::LessOrEqual),
        Operator::GreaterThan => Some(Comparison::Greater),
        Operator::GreaterThanOrEquals => Some(Comparison::GreaterOrEqual),
        _ => None,
    }
}

/// Matches no issue: what a term becomes when its values do not exist.
fn nothing() -> Predicate {
    Predicate::In {
        column: Column::Issue,
        values: Vec::new(),
        groups: Vec::new(),
        or_empty: false,
    }
}

/// The values of an `=`/`in` term, resolved.
#[derive(Default)]
struct ValueSet {
    values: Vec<i64>,
    groups: Vec<String>,
    or_empty: bool,
}

impl ValueSet {
    fn add(&mut self, value: i64) {
        if !self.values.contains(&value) {
            self.values.push(value);
        }
    }

    /// `column op values`, for the operators that test membership; other operators (which the
    /// checker never pairs with these fields) match nothing.
    fn predicate(self, column: Column, operator: Operator) -> Predicate {
        match operator {
            Operator::Is => Predicate::In {
                column,
                values: Vec::new(),
                groups: Vec::new(),
                or_empty: true,
            },
            Operator::IsNot => Predicate::NotIn {
                column,
                values: Vec::new(),
                groups: Vec::new(),
            },
            Operator::Equals | Operator::In => Predicate::In {
                column,
                values: self.values,
                groups: self.groups,
                or_empty: self.or_empty,
            },
            Operator::NotEquals | Operator::NotIn => Predicate::NotIn {
                column,
                values: self.values,
                groups: self.groups,
            },
            _ => nothing(),
        }
    }
}

/// How deep saved filters may name saved filters (`filter = A` where A names B ...), so that
/// an expanded query stays within what the databases' SQL parsers accept.
const MAX_FILTER_DEPTH: usize = 5;
/// How many times one query may expand saved filters in all (a filter named twice counts
/// twice), so that filters naming each other many times cannot multiply a query's size.
const MAX_FILTER_EXPANSIONS: usize = 200;

/// Turns a resolved query into conditions, recording values that do not exist.
struct Planner<'a> {
    cap: &'a BrowsableProjects,
    names: &'a Names,
    saved: &'a Reached,
    /// The saved filters being expanded, outermost first: a filter met again is a cycle.
    path: Vec<FilterId>,
    expansions: usize,
    problems: Vec<String>,
    /// What makes the query impossible to run, whatever the validation asked.
    refusals: Vec<String>,
}

impl Planner<'_> {
    /// `clause`, or its negation: De Morgan's laws down to the terms. Recursion is bounded by
    /// the parser's nesting limit.
    fn condition(&mut self, clause: &Clause<Timestamp>, negate: bool) -> Condition {
        match clause {
            Clause::And(clauses) | Clause::Or(clauses) => {
                let parts = clauses.iter().map(|c| self.condition(c, negate)).collect();
                if matches!(clause, Clause::And(_)) != negate {
                    Condition::All(parts)
                } else {
                    Condition::Any(parts)
                }
            }
            Clause::Not(clause) => self.condition(clause, !negate),
            Clause::Term(term) if term.field == Field::Filter => self.saved_filters(term, negate),
            Clause::Term(term) => {
                let operator = if negate {
                    negated(term.operator)
                } else {
                    term.operator
                };
                Condition::Test(self.predicate(term, operator))
            }
        }
    }

    /// `filter = a`, `filter in (a, b)`: the issues any of those saved filters finds; `!=` and
    /// `not in` (or a `NOT` around them): those none of them finds, by the same rewriting as
    /// any other negation. A filter's `ORDER BY` does not apply, as in Jira.
    fn saved_filters(&mut self, term: &Term<Timestamp>, negate: bool) -> Condition {
        // Once the query is refused, the rest of it is not expanded (one reason is enough).
        if !self.refusals.is_empty() {
            return Condition::Test(nothing());
        }
        let positive = matches!(term.operator, Operator::Equals | Operator::In) != negate;
        let mut parts = Vec::new();
        for key in values(&term.operand).iter().filter_map(FilterKey::of) {
            let ids = self.saved.named.get(&key).cloned().unwrap_or_default();
            if ids.is_empty() {
                self.unknown_value(&key.shown(), Field::Filter);
                continue;
            }
            for id in ids {
                let Some(reached) = self.saved.filters.get(&id) else {
                    continue;
                };
                if self.path.contains(&id) {
                    self.refusals.push(format!(
                        "Field 'filter' with value '{}' matches filter '{}' and causes a \
                         cyclical reference, this query can not be executed and should be \
                         edited.",
                        key.shown(),
                        reached.name
                    ));
                    return Condition::Test(nothing());
                }
                self.expansions += 1;
                if self.path.len() == MAX_FILTER_DEPTH || self.expansions > MAX_FILTER_EXPANSIONS {
                    self.refusals.push(format!(
                        "The saved filters this query names name other filters too deeply or \
                         too often (at most {MAX_FILTER_DEPTH} deep and {MAX_FILTER_EXPANSIONS} \
                         in all)."
                    ));
                    return Condition::Test(nothing());
                }
                let condition = match &reached.condition {
                    Ok(Some(clause)) => {
                        self.path.push(id);
                        let condition = self.condition(clause, !positive);
                        self.path.pop();
                        condition
                    }
                    // A filter without a condition finds every issue.
                    Ok(None) if positive => Condition::All(Vec::new()),
                    Ok(None) => Condition::Any(Vec::new()),
                    Err(why) => {
                        self.refusals.push(format!(
                            "The query of the saved filter '{}' is no longer valid: {why}",
                            reached.name
                        ));
                        return Condition::Test(nothing());
                    }
                };
                parts.push(condition);
            }
        }
        if positive {
            Condition::Any(parts)
        } else {
            Condition::All(parts)
        }
    }

    fn unknown_value(&mut self, value: &str, field: Field) {
        self.problems.push(
            ValidationError::UnknownValue {
                value: value.to_string(),
                field: field.name().to_string(),
            }
            .to_string(),
        );
    }

    fn predicate(&mut self, term: &Term<Timestamp>, operator: Operator) -> Predicate {
        let values = values(&term.operand);
        match term.field {
            Field::Project => {
                let mut set = ValueSet::default();
                for value in values {
                    match self.project(value) {
                        Some(id) => set.add(id),
                        None => {
                            let shown = match value {
                                Value::Text(text) => text.clone(),
                                Value::Number(id) => id.to_string(),
                                _ => String::new(),
                            };
                            self.unknown_value(&shown, Field::Project);
                        }
                    }
                }
                set.predicate(Column::Project, operator)
            }
            Field::IssueKey => self.issue_key(values, operator),
            Field::Summary | Field::Description | Field::Comment | Field::Text => {
                self.text(term.field, values, operator)
            }
            Field::Status => {
                let mut set = ValueSet::default();
                for value in values {
                    if let Value::Status(status) = value {
                        set.add(status.id());
                    }
                }
                set.predicate(Column::Status, operator)
            }
            Field::StatusCategory => {
                let mut set = ValueSet::default();
                for value in values {
                    if let Value::StatusCategory(category) = value {
                        Status::ALL
                            .into_iter()
                            .filter(|status| status.category() == *category)
                            .for_each(|status| set.add(status.id()));
                    }
                }
                set.predicate(Column::Status, operator)
            }
            Field::IssueType => {
                let mut set = ValueSet::default();
                for value in values {
                    if let Value::IssueType(issue_type) = value {
                        set.add(issue_type.id());
                    }
                }
                set.predicate(Column::IssueType, operator)
            }
            Field::Priority => self.priority(values, operator),
            Field::Resolution => {
                let mut set = ValueSet::default();
                for value in values {
                    match value {
                        Value::Resolution(resolution) => set.add(resolution.id()),
                        Value::Empty => set.or_empty = true,
                        _ => {}
                    }
                }
                set.predicate(Column::Resolution, operator)
            }
            Field::Labels => {
                let mut labels: Vec<String> = Vec::new();
                let mut or_empty = false;
                for value in values {
                    match value {
                        Value::Text(label) if !labels.contains(label) => labels.push(label.clone()),
                        Value::Empty => or_empty = true,
                        _ => {}
                    }
                }
                match operator {
                    Operator::Is => Predicate::Labels {
                        labels: Vec::new(),
                        or_empty: true,
                    },
                    Operator::IsNot => Predicate::NotLabels { labels: Vec::new() },
                    Operator::Equals | Operator::In => Predicate::Labels { labels, or_empty },
                    Operator::NotEquals | Operator::NotIn => Predicate::NotLabels { labels },
                    _ => nothing(),
                }
            }
            Field::FixVersion => self.related(Relation::FixVersions, term.field, values, operator),
            Field::AffectedVersion => {
                self.related(Relation::AffectedVersions, term.field, values, operator)
            }
            Field::Component => self.related(Relation::Components, term.field, values, operator),
            Field::Assignee => self.users(Column::Assignee, term.field, values, operator),
            Field::Reporter => self.users(Column::Reporter, term.field, values, operator),
            Field::Creator => self.users(Column::Creator, term.field, values, operator),
            Field::Created => dates(Column::Created, values, operator),
            Field::Updated => dates(Column::Updated, values, operator),
            Field::ResolutionDate => dates(Column::ResolutionDate, values, operator),
            // Expanded by `condition` before it gets here.
            Field::Filter => nothing(),
        }
    }

    /// `fixVersion`, `affectedVersion` and `component` terms: as `labels`, by id.
    fn related(
        &mut self,
        relation: Relation,
        field: Field,
        values: &[Value<Timestamp>],
        operator: Operator,
    ) -> Predicate {
        let known = match relation {
            Relation::Components => &self.names.components,
            Relation::FixVersions | Relation::AffectedVersions => &self.names.versions,
        };
        let mut ids: Vec<i64> = Vec::new();
        let mut or_empty = false;
        let mut unknown = Vec::new();
        for value in values {
            match value {
                Value::Text(text) => match known.get(text) {
                    Some(found) if !found.is_empty() => ids.extend(found),
                    _ => unknown.push(text.clone()),
                },
                Value::Empty => or_empty = true,
                _ => {}
            }
        }
        for text in unknown {
            self.unknown_value(&text, field);
        }
        ids.sort_unstable();
        ids.dedup();
        match operator {
            Operator::Is => Predicate::Related {
                relation,
                ids: Vec::new(),
                or_empty: true,
            },
            Operator::IsNot => Predicate::NotRelated {
                relation,
                ids: Vec::new(),
            },
            Operator::Equals | Operator::In => Predicate::Related {
                relation,
                ids,
                or_empty,
            },
            Operator::NotEquals | Operator::NotIn => Predicate::NotRelated { relation, ids },
            _ => nothing(),
        }
    }

    /// A project by id, or by key or name (without regard to case), among those the caller
    /// may browse.
    fn project(&self, value: &Value<Timestamp>) -> Option<i64> {
        let found = match value {
            Value::Number(id) => self.cap.projects().find(|p| p.id.0 == *id),
            Value::Text(text) => {
                let text = text.trim();
                let lower = text.to_lowercase();
                let by_key = self
                    .cap
                    .projects()
                    .find(|p| p.key.eq_ignore_ascii_case(text));
                let by_name = || self.cap.projects().find(|p| p.name.to_lowercase() == lower);
                let by_id = || {
                    let id: i64 = text.parse().ok()?;
                    self.cap.projects().find(|p| p.id.0 == id)
                };
                by_key.or_else(by_name).or_else(by_id)
            }
            _ => None,
        };
        found.map(|project| project.id.0)
    }

    fn issue_key(&mut self, values: &[Value<Timestamp>], operator: Operator) -> Predicate {
        if let Some(comparison) = comparison(operator) {
            return match values.first() {
                Some(Value::IssueKey { project, number }) => {
                    match self.cap.projects().find(|p| p.key == *project) {
                        Some(found) => Predicate::KeyCompare {
                            project: found.id,
                            comparison,
                            number: *number,
                        },
                        None => {
                            self.missing_issue(&format!("{project}-{number}"));
                            nothing()
                        }
                    }
                }
                Some(Value::Number(id)) => Predicate::Compare {
                    column: Column::Issue,
                    comparison,
                    value: *id,
                },
                _ => nothing(),
            };
        }
        let mut set = ValueSet::default();
        for value in values {
            let (name, shown) = match value {
                Value::IssueKey { project, number } => (
                    IssueName::Key {
                        project: project.clone(),
                        number: *number,
                    },
                    format!("{project}-{number}"),
                ),
                Value::Number(id) => (IssueName::Id(*id), id.to_string()),
                _ => continue,
            };
            match self.names.issues.get(&name).copied() {
                Some(id) => set.add(id.0),
                None => self.missing_issue(&shown),
            }
        }
        set.predicate(Column::Issue, operator)
    }

    fn missing_issue(&mut self, shown: &str) {
        self.problems.push(format!(
            "An issue with key '{shown}' does not exist for field 'key'."
        ));
    }

    fn text(&mut self, field: Field, values: &[Value<Timestamp>], operator: Operator) -> Predicate {
        let target = match field {
            Field::Summary => TextTarget::Summary,
            Field::Description => TextTarget::Description,
            Field::Comment => TextTarget::Comment,
            _ => TextTarget::Any,
        };
        match (operator, values.first()) {
            (Operator::Is, _) => Predicate::HasDescription(false),
            (Operator::IsNot, _) => Predicate::HasDescription(true),
            (Operator::Contains | Operator::DoesNotContain, Some(Value::Text(text))) => {
                Predicate::Text {
                    target,
                    terms: text_terms(text),
                    negated: operator == Operator::DoesNotContain,
                    viewer: self.cap.actor().id,
                }
            }
            _ => nothing(),
        }
    }

    /// `priority` terms; the comparisons follow urgency (`priority > Medium` is High or
    /// Highest).
    fn priority(&mut self, values: &[Value<Timestamp>], operator: Operator) -> Predicate {
        let urgency = |p: Priority| {
            Priority::ALL.len() - Priority::ALL.iter().position(|q| *q == p).unwrap_or(0)
        };
        let mut set = ValueSet::default();
        if let (Some(comparison), Some(Value::Priority(bound))) =
            (comparison(operator), values.first())
        {
            let bound = urgency(*bound);
            for priority in Priority::ALL {
                let holds = match comparison {
                    Comparison::Less => urgency(priority) < bound,
                    Comparison::LessOrEqual => urgency(priority) <= bound,
                    Comparison::Greater => urgency(priority) > bound,
                    Comparison::GreaterOrEqual => urgency(priority) >= bound,
                };
                if holds {
                    set.add(priority.id());
                }
            }
            return set.predicate(Column::Priority, Operator::In);
        }
        for value in values {
            if let Value::Priority(priority) = value {
                set.add(priority.id());
            }
        }
        set.predicate(Column::Priority, operator)
    }

    fn users(
        &mut self,
        column: Column,
        field: Field,
        values: &[Value<Timestamp>],
        operator: Operator,
    ) -> Predicate {
        let mut set = ValueSet::default();
        for value in values {
            match value {
                Value::Text(text) => match self.names.users.get(text).copied().flatten() {
                    Some(id) => set.add(id.0),
                    None => self.unknown_value(text, field),
                },
                Value::CurrentUser => set.add(self.cap.actor().id.0),
                Value::MembersOf(group) => match self.names.groups.get(group).cloned().flatten() {
                    Some(stored) if !set.groups.contains(&stored) => set.groups.push(stored),
                    Some(_) => {}
                    None => self.problems.push(format!(
                        "Function 'membersOf' can not generate a list of usernames for group \
                         '{group}'; the group does not exist."
                    )),
                },
                Value::Empty => set.or_empty = true,
                _ => {}
            }
        }
        set.predicate(column, operator)
    }
}

fn dates(column: Column, values: &[Value<Timestamp>], operator: Operator) -> Predicate {
    if let (Some(comparison), Some(Value::Date(at))) = (comparison(operator), values.first()) {
        return Predicate::Compare {
            column,
            comparison,
            value: at.as_millis(),
        };
    }
    let mut set = ValueSet::default();
    for value in values {
        match value {
            Value::Date(at) => set.add(at.as_millis()),
            Value::Empty => set.or_empty = true,
            _ => {}
        }
    }
    set.predicate(column, operator)
}

/// The terms of a text search: `"quoted phrases"` and white-space separated words, lower-cased,
/// words without the punctuation at their ends; duplicates dropped. Text with no word at all
/// (only punctuation) is searched as it stands.
pub fn text_terms(text: &str) -> Vec<String> {
    let lower = text.to_lowercase();
    let mut terms: Vec<String> = Vec::new();
    let mut rest = lower.as_str();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        if let Some(after) = rest.strip_prefix('"') {
            let (phrase, tail) = after.split_once('"').unwrap_or((after, ""));
            push_term(&mut terms, phrase.trim());
            rest = tail;
        } else {
            let end = rest
                .find(|c: char| c.is_whitespace() || c == '"')
                .unwrap_or(rest.len());
            let (word, tail) = rest.split_at(end);
            push_term(
                &mut terms,
                word.trim_matches(|c: char| !(c.is_alphanumeric() || c == '*' || c == '?')),
            );
            rest = tail;
        }
    }
    if terms.is_empty() {
        push_term(&mut terms, lower.trim());
    }
    terms
}

fn push_term(terms: &mut Vec<String>, term: &str) {
    if !term.is_empty() && !terms.iter().any(|t| t == term) {
        terms.push(term.to_string());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_split_into_words_and_phrases() {
        assert_eq!(text_terms("Crash  on START"), ["crash", "on", "start"]);
        assert_eq!(
            text_terms("\"full screen\" mode, \"unfinished phrase"),
            ["full screen", "mode", "unfinished phrase"]
        );
        assert_eq!(text_terms("(win*) te?t!"), ["win*", "te?t"]);
        assert_eq!(text_terms("50% off_peak"), ["50", "off_peak"]);
        assert_eq!(text_terms("!!!"), ["!!!"]);
        assert_eq!(text_terms("a a A"), ["a"]);
        assert_eq!(text_terms("ÉCOLE"), ["école"]);
    }

    #[test]
    fn validation_names() {
        assert_eq!(Validation::from_name("STRICT"), Some(Validation::Strict));
        assert_eq!(Validation::from_name("true"), Some(Validation::Strict));
        assert_eq!(Validation::from_name("warn"), Some(Validation::Warn));
        assert_eq!(Validation::from_name("False"), Some(Validation::Off));
        assert_eq!(Validation::from_name("none"), Some(Validation::Off));
        assert_eq!(Validation::from_name("sometimes"), None);
    }

    #[test]
    fn negation_is_an_involution() {
        let all = [
            Operator::Equals,
            Operator::NotEquals,
            Operator::GreaterThan,
            Operator::GreaterThanOrEquals,
            Operator::LessThan,
            Operator::LessThanOrEquals,
            Operator::Contains,
            Operator::DoesNotContain,
            Operator::In,
            Operator::NotIn,
            Operator::Is,
            Operator::IsNot,
        ];
        for operator in all {
            assert_ne!(negated(operator), operator);
            assert_eq!(negated(negated(operator)), operator);
        }
    }
}
