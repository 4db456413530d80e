//! Turns the syntax tree into a typed query, refusing what Jira refuses: unknown fields and
//! functions, operators a field does not accept, operands of the wrong shape, values that
//! cannot exist. Invariant: every term that leaves here has the operand shape [`Term`]
//! documents and values typed for its field, so nothing downstream reads raw text to decide
//! what a term means.

use crate::catalog::{IssueType, Priority, Resolution, Status, StatusCategory};

use super::ast::{Clause, Field, Operand, Operator, ParsedQuery, Query, SortKey, Term, Value};
use super::dates::{self, DateExpr, Shift};
use super::error::{JqlError, ValidationError};
use super::parser::{
    Call, Item, Literal, SyntaxClause, SyntaxOperand, SyntaxQuery, SyntaxSort, SyntaxTerm,
};

/// Checks the syntax tree parsed from `source`.
pub(super) fn check(source: &str, query: SyntaxQuery) -> Result<ParsedQuery, JqlError> {
    let checker = Checker { source };
    Ok(Query {
        filter: query
            .filter
            .map(|clause| checker.clause(clause))
            .transpose()?,
        order_by: checker.order_by(query.order_by)?,
    })
}

/// The catalogue has no list of status categories; these are the ones its statuses use.
const STATUS_CATEGORIES: [StatusCategory; 3] = [
    StatusCategory::New,
    StatusCategory::InProgress,
    StatusCategory::Done,
];

/// The functions tessera knows.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Function {
    CurrentUser,
    MembersOf,
    Now,
    StartOfDay,
    EndOfDay,
}

impl Function {
    fn from_name(name: &str) -> Option<Self> {
        // Jira matches function names without regard to case.
        match name.to_ascii_lowercase().as_str() {
            "currentuser" => Some(Self::CurrentUser),
            "membersof" => Some(Self::MembersOf),
            "now" => Some(Self::Now),
            "startofday" => Some(Self::StartOfDay),
            "endofday" => Some(Self::EndOfDay),
            _ => None,
        }
    }

    /// How many arguments it takes, as Jira words it in its message, and as a range.
    fn arity(self) -> (&'static str, std::ops::RangeInclusive<usize>) {
        match self {
            Self::CurrentUser | Self::Now => ("'0'", 0..=0),
            Self::MembersOf => ("'1'", 1..=1),
            Self::StartOfDay | Self::EndOfDay => ("between '0' and '1'", 0..=1),
        }
    }

    fn fits(self, field: Field) -> bool {
        match self {
            Self::CurrentUser | Self::MembersOf => field.is_user(),
            Self::Now | Self::StartOfDay | Self::EndOfDay => field.is_date(),
        }
    }
}

struct Checker<'a> {
    source: &'a str,
}

impl Checker<'_> {
    fn invalid(&self, at: usize, error: ValidationError) -> JqlError {
        JqlError::invalid(self.source, at, error)
    }

    fn clause(&self, clause: SyntaxClause) -> Result<Clause<DateExpr>, JqlError> {
        Ok(match clause {
            SyntaxClause::And(clauses) => Clause::And(self.clauses(clauses)?),
            SyntaxClause::Or(clauses) => Clause::Or(self.clauses(clauses)?),
            SyntaxClause::Not(clause) => Clause::Not(Box::new(self.clause(*clause)?)),
            SyntaxClause::Term(term) => Clause::Term(self.term(term)?),
        })
    }

    fn clauses(&self, clauses: Vec<SyntaxClause>) -> Result<Vec<Clause<DateExpr>>, JqlError> {
        clauses
            .into_iter()
            .map(|clause| self.clause(clause))
            .collect()
    }

    /// Checks in Jira's order: the field, then the operand's shape for the operator, then
    /// whether the field takes the operator, then the values.
    fn term(&self, term: SyntaxTerm) -> Result<Term<DateExpr>, JqlError> {
        let name = term.field.text.as_str();
        let Some(field) = Field::from_name(name) else {
            return Err(self.invalid(
                term.field.at,
                ValidationError::UnknownField { field: name.into() },
            ));
        };
        let operator = term.operator;
        self.check_shape(name, operator, &term.operand)?;

        if let SyntaxOperand::Single(Item::Empty { at }) = term.operand {
            return self.empty_term(field, name, operator, at);
        }
        if !field.supports(operator) {
            return Err(self.invalid(
                term.operator_at,
                ValidationError::UnsupportedOperator {
                    operator,
                    field: name.into(),
                },
            ));
        }
        let operand = match term.operand {
            // A function after `in`: the list it stands for.
            SyntaxOperand::Single(item) if matches!(operator, Operator::In | Operator::NotIn) => {
                Operand::List(vec![self.value(field, name, operator, item)?])
            }
            SyntaxOperand::Single(item) => match self.value(field, name, operator, item)? {
                // `resolution = Unresolved` is `resolution is EMPTY`.
                Value::Empty => return Ok(empty_term(field, operator)),
                value => Operand::Value(value),
            },
            SyntaxOperand::List { items, .. } => Operand::List(
                items
                    .into_iter()
                    .map(|item| self.value(field, name, operator, item))
                    .collect::<Result<_, _>>()?,
            ),
        };
        Ok(Term {
            field,
            operator,
            operand,
        })
    }

    /// Jira's rules for every field: lists only with `in`/`not in`, `EMPTY` only with `=`,
    /// `!=`, `is`, `is not`, `in`, `not in` (and in lists), and `is`/`is not` only with `EMPTY`.
    fn check_shape(
        &self,
        name: &str,
        operator: Operator,
        operand: &SyntaxOperand,
    ) -> Result<(), JqlError> {
        let takes_list = matches!(operator, Operator::In | Operator::NotIn);
        let error = match operand {
            SyntaxOperand::List { at, .. } if !takes_list => Some((
                *at,
                ValidationError::ListNotSupported {
                    operator,
                    field: name.into(),
                },
            )),
            SyntaxOperand::List { .. } => None,
            SyntaxOperand::Single(Item::Empty { at }) => match operator {
                Operator::GreaterThan
                | Operator::GreaterThanOrEquals
                | Operator::LessThan
                | Operator::LessThanOrEquals
                | Operator::Contains
                | Operator::DoesNotContain => {
                    Some((*at, ValidationError::EmptyWithOperator { operator }))
                }
                _ => None,
            },
            SyntaxOperand::Single(Item::Call(_)) if takes_list => None,
            SyntaxOperand::Single(item) if takes_list => Some((
                item.at(),
                ValidationError::ListRequired {
                    operator,
                    field: name.into(),
                },
            )),
            SyntaxOperand::Single(item) => match operator {
                Operator::Is | Operator::IsNot => {
                    Some((item.at(), ValidationError::OnlyEmpty { operator }))
                }
                _ => None,
            },
        };
        match error {
            Some((at, error)) => Err(self.invalid(at, error)),
            None => Ok(()),
        }
    }

    /// `field is [not] EMPTY`, or `= EMPTY`, `in EMPTY`..., with the `EMPTY` at `at`.
    fn empty_term(
        &self,
        field: Field,
        name: &str,
        operator: Operator,
        at: usize,
    ) -> Result<Term<DateExpr>, JqlError> {
        if !field.can_be_empty() {
            return Err(self.invalid(
                at,
                ValidationError::EmptyNotSupported { field: name.into() },
            ));
        }
        Ok(empty_term(field, operator))
    }

    fn value(
        &self,
        field: Field,
        name: &str,
        operator: Operator,
        item: Item,
    ) -> Result<Value<DateExpr>, JqlError> {
        match item {
            Item::Empty { at } => {
                if field.can_be_empty() {
                    Ok(Value::Empty)
                } else {
                    Err(self.invalid(
                        at,
                        ValidationError::EmptyNotSupported { field: name.into() },
                    ))
                }
            }
            Item::Literal(literal) => self.literal(field, name, literal),
            Item::Call(call) => self.call(field, name, operator, call),
        }
    }

    fn literal(
        &self,
        field: Field,
        name: &str,
        literal: Literal,
    ) -> Result<Value<DateExpr>, JqlError> {
        let unknown = |checker: &Self, literal: Literal| {
            checker.invalid(
                literal.at,
                ValidationError::UnknownValue {
                    value: literal.text,
                    field: name.into(),
                },
            )
        };
        let text = literal.text.as_str();
        let value = match field {
            // An unquoted number names a project by id; anything else by key or name.
            Field::Project | Field::Filter if literal.is_number => match text.parse() {
                Ok(id) => Value::Number(id),
                Err(_) => return Err(unknown(self, literal)),
            },
            Field::IssueKey => match issue_key_or_id(text) {
                Some(value) => value,
                None => {
                    return Err(self.invalid(
                        literal.at,
                        ValidationError::InvalidIssueKey {
                            key: literal.text,
                            field: name.into(),
                        },
                    ));
                }
            },
            Field::Summary | Field::Description | Field::Comment | Field::Text
                if text.trim().is_empty() =>
            {
                return Err(self.invalid(
                    literal.at,
                    ValidationError::EmptyText { field: name.into() },
                ));
            }
            Field::Status => match find(&Status::ALL, Status::name, Status::id, text) {
                Some(status) => Value::Status(status),
                None => return Err(unknown(self, literal)),
            },
            Field::StatusCategory => match find_status_category(text) {
                Some(category) => Value::StatusCategory(category),
                None => return Err(unknown(self, literal)),
            },
            Field::IssueType => match find(&IssueType::ALL, IssueType::name, IssueType::id, text) {
                Some(issue_type) => Value::IssueType(issue_type),
                None => return Err(unknown(self, literal)),
            },
            Field::Priority => match find(&Priority::ALL, Priority::name, Priority::id, text) {
                Some(priority) => Value::Priority(priority),
                None => return Err(unknown(self, literal)),
            },
            // Jira's name for "no resolution".
            Field::Resolution if text.eq_ignore_ascii_case("Unresolved") => Value::Empty,
            Field::Resolution => {
                match find(&Resolution::ALL, Resolution::name, Resolution::id, text) {
                    Some(resolution) => Value::Resolution(resolution),
                    None => return Err(unknown(self, literal)),
                }
            }
            Field::Created | Field::Updated | Field::ResolutionDate => {
                match dates::parse_date_text(text) {
                    Some(date) => Value::Date(date),
                    None => {
                        return Err(self.invalid(
                            literal.at,
                            ValidationError::InvalidDate {
                                value: literal.text,
                                field: name.into(),
                            },
                        ));
                    }
                }
            }
            Field::Project
            | Field::Summary
            | Field::Description
            | Field::Comment
            | Field::Text
            | Field::Labels
            | Field::FixVersion
            | Field::AffectedVersion
            | Field::Component
            | Field::Filter
            | Field::Assignee
            | Field::Reporter
            | Field::Creator => Value::Text(literal.text),
        };
        Ok(value)
    }

    fn call(
        &self,
        field: Field,
        name: &str,
        operator: Operator,
        call: Call,
    ) -> Result<Value<DateExpr>, JqlError> {
        let Some(function) = Function::from_name(&call.name) else {
            let arguments: Vec<&str> = call.arguments.iter().map(|a| a.text.as_str()).collect();
            return Err(self.invalid(
                call.at,
                ValidationError::UnknownFunction {
                    call: format!("{}({})", call.name, arguments.join(", ")),
                },
            ));
        };
        let (expected, arity) = function.arity();
        if !arity.contains(&call.arguments.len()) {
            return Err(self.invalid(
                call.at,
                ValidationError::ArgumentCount {
                    function: call.name,
                    expected,
                    received: call.arguments.len(),
                },
            ));
        }
        if !function.fits(field) {
            let error = if field.is_date() {
                ValidationError::NotADateFunction {
                    function: call.name,
                    field: name.into(),
                }
            } else {
                ValidationError::FunctionNotSupported {
                    function: call.name,
                    field: name.into(),
                }
            };
            return Err(self.invalid(call.at, error));
        }
        let increment = |checker: &Self, call: Call| match call.arguments.into_iter().next() {
            None => Ok(Shift::default()),
            Some(argument) => dates::parse_increment(&argument.text).ok_or_else(|| {
                checker.invalid(
                    argument.at,
                    ValidationError::InvalidIncrement {
                        function: call.name,
                    },
                )
            }),
        };
        Ok(match function {
            Function::CurrentUser => Value::CurrentUser,
            Function::MembersOf => {
                // A group's members are a list: only `in` and `not in` can take them.
                if !matches!(operator, Operator::In | Operator::NotIn) {
                    return Err(self.invalid(
                        call.at,
                        ValidationError::ListNotSupported {
                            operator,
                            field: name.into(),
                        },
                    ));
                }
                let group = call.arguments.into_iter().next().map(|a| a.text);
                Value::MembersOf(group.unwrap_or_default())
            }
            Function::Now => Value::Date(DateExpr::FromNow { millis: 0 }),
            Function::StartOfDay => Value::Date(DateExpr::StartOfDay(increment(self, call)?)),
            Function::EndOfDay => Value::Date(DateExpr::EndOfDay(increment(self, call)?)),
        })
    }

    fn order_by(&self, sorts: Vec<SyntaxSort>) -> Result<Vec<SortKey>, JqlError> {
        let mut keys: Vec<SortKey> = Vec::new();
        // How each key's field was first written, for the alias message.
        let mut spellings: Vec<String> = Vec::new();
        for sort in sorts {
            let name = sort.field.text;
            let at = sort.field.at;
            let Some(field) = Field::from_name(&name) else {
                return Err(self.invalid(at, ValidationError::UnknownSortField { field: name }));
            };
            if !field.is_sortable() {
                return Err(self.invalid(at, ValidationError::NotSortable { field: name }));
            }
            if let Some(index) = keys.iter().position(|key| key.field == field) {
                let first = spellings.get(index).cloned().unwrap_or_default();
                let error = if first.eq_ignore_ascii_case(&name) {
                    ValidationError::DuplicateSort { field: name }
                } else {
                    ValidationError::DuplicateSortAlias { field: name, first }
                };
                return Err(self.invalid(at, error));
            }
            keys.push(SortKey {
                field,
                direction: sort.direction.unwrap_or(field.default_direction()),
            });
            spellings.push(name);
        }
        Ok(keys)
    }
}

/// `is EMPTY` for `=`/`is`/`in`, `is not EMPTY` for `!=`/`is not`/`not in`.
fn empty_term(field: Field, operator: Operator) -> Term<DateExpr> {
    let operator = match operator {
        Operator::NotEquals | Operator::IsNot | Operator::NotIn => Operator::IsNot,
        _ => Operator::Is,
    };
    Term {
        field,
        operator,
        operand: Operand::Empty,
    }
}

/// A catalogue value by name (without regard to case), else by id, as Jira looks them up.
fn find<T: Copy>(
    all: &[T],
    name: impl Fn(T) -> &'static str,
    id: impl Fn(T) -> i64,
    text: &str,
) -> Option<T> {
    let by_name = all
        .iter()
        .copied()
        .find(|&v| name(v).eq_ignore_ascii_case(text));
    by_name.or_else(|| {
        let wanted: i64 = text.parse().ok()?;
        all.iter().copied().find(|&v| id(v) == wanted)
    })
}

/// A status category by name (`To Do`), key (`new`) or id.
fn find_status_category(text: &str) -> Option<StatusCategory> {
    find(
        &STATUS_CATEGORIES,
        StatusCategory::name,
        StatusCategory::id,
        text,
    )
    .or_else(|| {
        STATUS_CATEGORIES
            .into_iter()
            .find(|category| category.key().eq_ignore_ascii_case(text))
    })
}

/// `ABC-12` (any case) as a key, digits as an issue id; `None` for anything else.
fn issue_key_or_id(text: &str) -> Option<Value<DateExpr>> {
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if is_digits(text.strip_prefix('-').unwrap_or(text)) {
        return text.parse().ok().map(Value::Number);
    }
    let (project, number) = text.split_once('-')?;
    let mut project_chars = project.chars();
    let is_project_key = project_chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic())
        && project_chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !is_project_key || !is_digits(number) {
        return None;
    }
    Some(Value::IssueKey {
        project: project.to_ascii_uppercase(),
        number: number.parse().ok()?,
    })
}
