//! An issue search as the store runs it: a JQL query whose names are resolved to ids, whose
//! `NOT`s are pushed down to the terms (as Jira rewrites them, so `NOT assignee = bob` is
//! `assignee != bob` and, like it, never matches unassigned issues), and which is confined to
//! the projects the caller may browse.
//!
//! Invariants: only [`crate::services::search`] builds a [`SearchQuery`], from an
//! [`crate::authz::BrowsableProjects`] capability, so every search the store runs is confined
//! to projects the authorizer allowed, and that set is never empty. Values reach the store as
//! ids, catalogue ids, milliseconds and text, for it to bind; nothing here is SQL.

use crate::ids::{IssueId, ProjectId, UserId};
use crate::jql::SortKey;

/// Where an issue named in a query (by key or id) lives, as
/// [`crate::store::IssueStore::locate_issues`] finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssueLocation {
    pub id: IssueId,
    pub project_id: ProjectId,
    pub project_key: String,
    pub number: i64,
}

/// The users and groups among those a query names, as
/// [`crate::store::IssueStore::locate_names`] finds them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NamesFound {
    /// Each user found by name or by id: its id and (stored, lower-case) name.
    pub users: Vec<(UserId, String)>,
    /// The stored names of the groups found.
    pub groups: Vec<String>,
}

/// A version or component that a query names, as
/// [`crate::store::PlanningStore::locate_versions`] finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlanningName {
    pub id: i64,
    pub project_id: ProjectId,
    /// The name, lower-cased.
    pub name_lower: String,
}

/// A search, ready for [`crate::store::IssueStore::search_issues`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SearchQuery {
    projects: Vec<ProjectId>,
    filter: Option<Condition>,
    order_by: Vec<SortKey>,
}

impl SearchQuery {
    /// `projects` must not be empty: a caller who may browse nothing is answered without
    /// asking the store.
    pub(crate) fn new(
        projects: Vec<ProjectId>,
        filter: Option<Condition>,
        order_by: Vec<SortKey>,
    ) -> Self {
        Self {
            projects,
            filter,
            order_by,
        }
    }

    /// The projects the caller may browse: only their issues can match.
    pub fn projects(&self) -> &[ProjectId] {
        &self.projects
    }

    /// Which issues, within [`Self::projects`]; `None` for all of them.
    pub fn filter(&self) -> Option<&Condition> {
        self.filter.as_ref()
    }

    /// Sort keys, most significant first, never empty (a query without `ORDER BY` sorts by
    /// `created DESC`). The store breaks remaining ties by issue id.
    pub fn order_by(&self) -> &[SortKey] {
        &self.order_by
    }
}

/// A condition on issues, free of negation (each [`Predicate`] carries its own).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Test(Predicate),
}

/// A single-valued attribute of an issue, holding an id or a time in milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    Project,
    /// The issue's own id.
    Issue,
    Status,
    IssueType,
    Priority,
    Resolution,
    Assignee,
    Reporter,
    Creator,
    Created,
    Updated,
    ResolutionDate,
}

impl Column {
    /// Whether an issue can lack a value here.
    pub fn is_optional(self) -> bool {
        matches!(
            self,
            Self::Resolution
                | Self::Assignee
                | Self::Reporter
                | Self::Creator
                | Self::ResolutionDate
        )
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Greater,
    GreaterOrEqual,
}

/// What an issue can name several of, by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Relation {
    FixVersions,
    AffectedVersions,
    Components,
}

/// Where text is searched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextTarget {
    Summary,
    Description,
    /// Any one comment.
    Comment,
    /// The summary, the description or any one comment (JQL's `text`).
    Any,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Predicate {
    /// The column holds one of `values`, or (user columns) the id of a member of one of
    /// `groups` (lower-case names of existing groups), or, with `or_empty`, nothing.
    In {
        column: Column,
        values: Vec<i64>,
        groups: Vec<String>,
        or_empty: bool,
    },
    /// The column holds a value that is none of `values` and no member of `groups`. As in
    /// Jira, an empty column never matches.
    NotIn {
        column: Column,
        values: Vec<i64>,
        groups: Vec<String>,
    },
    /// The column's value compares so with `value`; an empty column never matches.
    Compare {
        column: Column,
        comparison: Comparison,
        value: i64,
    },
    /// An issue of `project` whose number compares so with `number` (`key > ABC-12`).
    KeyCompare {
        project: ProjectId,
        comparison: Comparison,
        number: i64,
    },
    /// The issue has one of `labels` (matched exactly), or, with `or_empty`, no label.
    Labels { labels: Vec<String>, or_empty: bool },
    /// The issue has labels, none of them among `labels`.
    NotLabels { labels: Vec<String> },
    /// The issue names one of `ids` in `relation`, or, with `or_empty`, none at all.
    Related {
        relation: Relation,
        ids: Vec<i64>,
        or_empty: bool,
    },
    /// The issue names something in `relation`, none of it among `ids`.
    NotRelated { relation: Relation, ids: Vec<i64> },
    /// The issue has (`false`: lacks) a description.
    HasDescription(bool),
    /// The target contains every term (`negated`: does not), without regard to case. Terms
    /// are lower-cased, never empty, and may hold the wildcards `*` (any characters) and `?`
    /// (one character); every other character stands for itself. An empty description
    /// contains nothing, so it matches only when negated.
    /// Comments are those `viewer` may see (a restricted comment the caller cannot read
    /// never makes an issue match).
    Text {
        target: TextTarget,
        terms: Vec<String>,
        negated: bool,
        viewer: UserId,
    },
}
