//! The checked query: every term names a known field, an operator that field accepts, and
//! operands already typed for that field, so the compiler to SQL binds values and never has to
//! interpret text. Dates stay symbolic (`D = DateExpr`) until [`Query::resolve`] fixes them
//! against a given "now" (`D = Timestamp`).

use std::fmt;

use crate::catalog::{IssueType, Priority, Resolution, Status, StatusCategory};
use crate::clock::Timestamp;

use super::dates::DateExpr;

/// A query: which issues, and in what order. No filter means every issue the caller may see.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Query<D> {
    pub filter: Option<Clause<D>>,
    /// Sort keys, most significant first; each field at most once.
    pub order_by: Vec<SortKey>,
}

/// A query as parsed and checked, its dates still relative to a "now" to come.
pub type ParsedQuery = Query<DateExpr>;

/// A query ready to compile: every date is an instant.
pub type ResolvedQuery = Query<Timestamp>;

impl ParsedQuery {
    /// Fixes every date against `now`, in UTC. Out-of-range arithmetic saturates at the ends of
    /// time, so an absurd offset still compares sensibly instead of failing.
    pub fn resolve(&self, now: Timestamp) -> ResolvedQuery {
        Query {
            filter: self
                .filter
                .as_ref()
                .map(|clause| clause.map_dates(&|date: &DateExpr| date.resolve(now))),
            order_by: self.order_by.clone(),
        }
    }

    /// Whether any of its dates is relative to "now" (`now()`, `-7d`, `startOfDay()`...):
    /// such a query finds other issues as time passes, with nothing changed.
    pub fn reads_the_clock(&self) -> bool {
        let relative = std::cell::Cell::new(false);
        if let Some(clause) = &self.filter {
            clause.map_dates(&|date: &DateExpr| {
                if !matches!(date, DateExpr::At(_)) {
                    relative.set(true);
                }
            });
        }
        relative.get()
    }
}

/// A condition on issues. The parser bounds nesting, so walking this recursively is safe.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Clause<D> {
    /// All of these (two or more).
    And(Vec<Clause<D>>),
    /// Any of these (two or more).
    Or(Vec<Clause<D>>),
    Not(Box<Clause<D>>),
    Term(Term<D>),
}

impl<D> Clause<D> {
    fn map_dates<E>(&self, resolve: &impl Fn(&D) -> E) -> Clause<E> {
        match self {
            Self::And(clauses) => {
                Clause::And(clauses.iter().map(|c| c.map_dates(resolve)).collect())
            }
            Self::Or(clauses) => Clause::Or(clauses.iter().map(|c| c.map_dates(resolve)).collect()),
            Self::Not(clause) => Clause::Not(Box::new(clause.map_dates(resolve))),
            Self::Term(term) => Clause::Term(Term {
                field: term.field,
                operator: term.operator,
                operand: term.operand.map_dates(resolve),
            }),
        }
    }
}

/// `field operator operand`. The checker guarantees the shapes:
/// - `Is`/`IsNot` take [`Operand::Empty`] (`= EMPTY`, `in EMPTY`, `resolution = Unresolved`
///   and their negations arrive as `Is`/`IsNot`);
/// - `In`/`NotIn` take [`Operand::List`], never empty;
/// - every other operator takes [`Operand::Value`], never [`Value::Empty`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Term<D> {
    pub field: Field,
    pub operator: Operator,
    pub operand: Operand<D>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Operand<D> {
    Empty,
    Value(Value<D>),
    List(Vec<Value<D>>),
}

impl<D> Operand<D> {
    fn map_dates<E>(&self, resolve: &impl Fn(&D) -> E) -> Operand<E> {
        match self {
            Self::Empty => Operand::Empty,
            Self::Value(value) => Operand::Value(value.map_dates(resolve)),
            Self::List(values) => {
                Operand::List(values.iter().map(|v| v.map_dates(resolve)).collect())
            }
        }
    }
}

/// A value to bind. Which variants a field can receive is listed on [`Field`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value<D> {
    /// Text as written (escapes decoded), for the store to match or look up.
    Text(String),
    /// A numeric id (of a project or an issue).
    Number(i64),
    /// An issue key, its project part upper-cased: `abc-12` is `{ project: "ABC", number: 12 }`.
    IssueKey {
        project: String,
        number: i64,
    },
    Status(Status),
    StatusCategory(StatusCategory),
    IssueType(IssueType),
    Priority(Priority),
    Resolution(Resolution),
    Date(D),
    /// The calling user, whoever runs the query.
    CurrentUser,
    /// Every member of the named group (`membersOf("group")`); appears only in lists.
    MembersOf(String),
    /// Inside a list only: matches issues whose field is empty (`assignee in (EMPTY, bob)`,
    /// `resolution in (Unresolved, Done)`).
    Empty,
}

impl<D> Value<D> {
    fn map_dates<E>(&self, resolve: &impl Fn(&D) -> E) -> Value<E> {
        match self {
            Self::Text(text) => Value::Text(text.clone()),
            Self::Number(number) => Value::Number(*number),
            Self::IssueKey { project, number } => Value::IssueKey {
                project: project.clone(),
                number: *number,
            },
            Self::Status(status) => Value::Status(*status),
            Self::StatusCategory(category) => Value::StatusCategory(*category),
            Self::IssueType(issue_type) => Value::IssueType(*issue_type),
            Self::Priority(priority) => Value::Priority(*priority),
            Self::Resolution(resolution) => Value::Resolution(*resolution),
            Self::Date(date) => Value::Date(resolve(date)),
            Self::CurrentUser => Value::CurrentUser,
            Self::MembersOf(group) => Value::MembersOf(group.clone()),
            Self::Empty => Value::Empty,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Operator {
    Equals,
    NotEquals,
    GreaterThan,
    GreaterThanOrEquals,
    LessThan,
    LessThanOrEquals,
    /// `~`: contains the words.
    Contains,
    /// `!~`: does not contain the words.
    DoesNotContain,
    In,
    NotIn,
    Is,
    IsNot,
}

/// Jira's display form, used in its messages: `=`, `not in`, `is not`, ...
impl fmt::Display for Operator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Equals => "=",
            Self::NotEquals => "!=",
            Self::GreaterThan => ">",
            Self::GreaterThanOrEquals => ">=",
            Self::LessThan => "<",
            Self::LessThanOrEquals => "<=",
            Self::Contains => "~",
            Self::DoesNotContain => "!~",
            Self::In => "in",
            Self::NotIn => "not in",
            Self::Is => "is",
            Self::IsNot => "is not",
        })
    }
}

/// A searchable field. Each variant lists the operators it accepts (besides `=`, `!=`, `in`,
/// `not in`, which all but the text fields accept), whether it can be `EMPTY`, and the values
/// its terms carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// `project`. `Text` is a project key or name (either, without regard to case); `Number` is
    /// a project id.
    Project,
    /// `key`, `issuekey`, `id`, `issue`; also `>`, `>=`, `<`, `<=`. `IssueKey`, or `Number` for
    /// an issue id. Ordering compares numbers within the key's project, or ids.
    IssueKey,
    /// `summary`: only `~`, `!~`, with `Text`.
    Summary,
    /// `description`: only `~`, `!~` with `Text`, and `is [not] EMPTY`.
    Description,
    /// `comment` (any comment's body): only `~`, `!~`, with `Text`. As in Jira, not `EMPTY`.
    Comment,
    /// `text`: summary, description or any comment. Only `~`, with `Text`.
    Text,
    /// `status`: `Status`.
    Status,
    /// `statusCategory`: `StatusCategory`, by name, key or id.
    StatusCategory,
    /// `issuetype`, `type`: `IssueType`.
    IssueType,
    /// `priority`; also `>`, `>=`, `<`, `<=`: `Priority`, ordered by urgency (Lowest < ... <
    /// Highest, so `priority > Medium` means High or Highest).
    Priority,
    /// `labels`; can be `EMPTY`: `Text`, one label matched exactly.
    Labels,
    /// `assignee`; can be `EMPTY`: `Text` (a user name, key or e-mail address for the store to
    /// resolve), `CurrentUser`, and in lists `MembersOf`.
    Assignee,
    /// `reporter`; as `assignee`.
    Reporter,
    /// `creator`; as `assignee`.
    Creator,
    /// `created`, `createdDate`; also `>`, `>=`, `<`, `<=`: `Date`. `=` means that instant.
    Created,
    /// `updated`, `updatedDate`; as `created`.
    Updated,
    /// `resolution`; can be `EMPTY` (also written `Unresolved`): `Resolution`.
    Resolution,
    /// `resolutiondate`, `resolved`; as `created`, and can be `EMPTY`.
    ResolutionDate,
    /// `fixVersion`; can be `EMPTY`: `Text`, a version's name (without regard to case) in any
    /// project the caller may browse, else its id.
    FixVersion,
    /// `affectedVersion`; as `fixVersion`, for the versions an issue affects.
    AffectedVersion,
    /// `component`; as `fixVersion`, for components.
    Component,
    /// `filter`, `request`, `savedFilter`, `searchRequest`: only `=`, `!=`, `in`, `not in`. The
    /// issues a saved filter the caller may see finds: `Number` for its id, `Text` for its name
    /// (without regard to case), else its id.
    Filter,
}

impl Field {
    /// The field a JQL name means, without regard to case.
    pub fn from_name(name: &str) -> Option<Self> {
        const NAMES: [(&str, Field); 32] = [
            ("project", Field::Project),
            ("key", Field::IssueKey),
            ("issuekey", Field::IssueKey),
            ("id", Field::IssueKey),
            ("issue", Field::IssueKey),
            ("summary", Field::Summary),
            ("description", Field::Description),
            ("comment", Field::Comment),
            ("text", Field::Text),
            ("status", Field::Status),
            ("statusCategory", Field::StatusCategory),
            ("issuetype", Field::IssueType),
            ("type", Field::IssueType),
            ("priority", Field::Priority),
            ("labels", Field::Labels),
            ("assignee", Field::Assignee),
            ("reporter", Field::Reporter),
            ("creator", Field::Creator),
            ("created", Field::Created),
            ("createdDate", Field::Created),
            ("updated", Field::Updated),
            ("updatedDate", Field::Updated),
            ("resolution", Field::Resolution),
            ("resolutiondate", Field::ResolutionDate),
            ("resolved", Field::ResolutionDate),
            ("fixVersion", Field::FixVersion),
            ("affectedVersion", Field::AffectedVersion),
            ("component", Field::Component),
            ("filter", Field::Filter),
            ("request", Field::Filter),
            ("savedFilter", Field::Filter),
            ("searchRequest", Field::Filter),
        ];
        NAMES
            .iter()
            .find(|(known, _)| known.eq_ignore_ascii_case(name))
            .map(|(_, field)| *field)
    }

    /// The field's JQL name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Project => "project",
            Self::IssueKey => "key",
            Self::Summary => "summary",
            Self::Description => "description",
            Self::Comment => "comment",
            Self::Text => "text",
            Self::Status => "status",
            Self::StatusCategory => "statusCategory",
            Self::IssueType => "issuetype",
            Self::Priority => "priority",
            Self::Labels => "labels",
            Self::Assignee => "assignee",
            Self::Reporter => "reporter",
            Self::Creator => "creator",
            Self::Created => "created",
            Self::Updated => "updated",
            Self::Resolution => "resolution",
            Self::ResolutionDate => "resolutiondate",
            Self::FixVersion => "fixVersion",
            Self::AffectedVersion => "affectedVersion",
            Self::Component => "component",
            Self::Filter => "filter",
        }
    }

    pub(super) fn is_text(self) -> bool {
        matches!(
            self,
            Self::Summary | Self::Description | Self::Comment | Self::Text
        )
    }

    pub(super) fn is_date(self) -> bool {
        matches!(self, Self::Created | Self::Updated | Self::ResolutionDate)
    }

    pub(super) fn is_user(self) -> bool {
        matches!(self, Self::Assignee | Self::Reporter | Self::Creator)
    }

    /// Whether an issue can lack a value here, so that `EMPTY` can match. Fields every issue
    /// has refuse `EMPTY` rather than silently matching nothing.
    pub(super) fn can_be_empty(self) -> bool {
        matches!(
            self,
            Self::Description
                | Self::Labels
                | Self::Assignee
                | Self::Reporter
                | Self::Creator
                | Self::Resolution
                | Self::ResolutionDate
                | Self::FixVersion
                | Self::AffectedVersion
                | Self::Component
        )
    }

    /// Whether the field accepts `operator` with a value (`is`/`is not` follow
    /// [`Self::can_be_empty`] instead).
    pub(super) fn supports(self, operator: Operator) -> bool {
        match operator {
            Operator::Equals | Operator::NotEquals | Operator::In | Operator::NotIn => {
                !self.is_text()
            }
            Operator::GreaterThan
            | Operator::GreaterThanOrEquals
            | Operator::LessThan
            | Operator::LessThanOrEquals => {
                self.is_date() || matches!(self, Self::IssueKey | Self::Priority)
            }
            Operator::Contains => self.is_text(),
            // Jira's `text` field answers only `~`.
            Operator::DoesNotContain => self.is_text() && self != Self::Text,
            Operator::Is | Operator::IsNot => self.can_be_empty(),
        }
    }

    /// Long text and multi-valued fields have no meaningful order.
    pub(super) fn is_sortable(self) -> bool {
        !matches!(
            self,
            Self::Description
                | Self::Comment
                | Self::Text
                | Self::Labels
                | Self::FixVersion
                | Self::AffectedVersion
                | Self::Component
                | Self::Filter
        )
    }

    /// The order `ORDER BY field` means without `ASC`/`DESC`: newest and most urgent first for
    /// dates and priority, as Jira's issue navigator lists them; ascending otherwise.
    pub(super) fn default_direction(self) -> SortDirection {
        if self.is_date() || self == Self::Priority {
            SortDirection::Descending
        } else {
            SortDirection::Ascending
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey {
    pub field: Field,
    pub direction: SortDirection,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SortDirection {
    Ascending,
    Descending,
}
