//! JQL, the query language Jira clients send to `search`: parsed, checked against the fields,
//! operators, functions and catalogue values tessera supports, and returned as a typed
//! [`Query`] for the storage crate to compile into parameterised SQL.
//!
//! ```
//! use tessera_core::clock::Timestamp;
//! use tessera_core::jql::{self, Clause, Field, Operand, Operator, Value};
//!
//! let query = jql::parse("assignee = currentUser() AND created >= -7d ORDER BY created")?;
//! let now = Timestamp::from_millis(1_710_498_600_000);
//! let resolved = query.resolve(now);
//! let Some(Clause::And(terms)) = &resolved.filter else { unreachable!() };
//! let Clause::Term(created) = &terms[1] else { unreachable!() };
//! assert_eq!(created.field, Field::Created);
//! assert_eq!(created.operator, Operator::GreaterThanOrEquals);
//! let week = 7 * 24 * 3_600_000;
//! assert_eq!(created.operand, Operand::Value(Value::Date(Timestamp::from_millis(now.as_millis() - week))));
//! # Ok::<(), jql::JqlError>(())
//! ```
//!
//! Invariants: parsing never panics and does bounded work on any input — at most
//! [`MAX_QUERY_CHARS`] characters, [`MAX_NESTING`] levels of parentheses and `NOT`, and
//! [`MAX_LIST_VALUES`] values in a list, each refused with an error that says where; and no
//! text from the query reaches SQL except as a value to bind.

mod ast;
mod check;
mod dates;
mod error;
mod lexer;
mod parser;

pub use ast::{
    Clause, Field, Operand, Operator, ParsedQuery, Query, ResolvedQuery, SortDirection, SortKey,
    Term, Value,
};
pub use dates::{DateExpr, Shift};
pub use error::{Found, JqlError, Position, SyntaxError, ValidationError};

/// The longest query accepted, in characters: long enough for the queries clients build
/// (`key in (...)` of a thousand keys, by POST), still bounding the work of a hostile one.
pub const MAX_QUERY_CHARS: usize = 100_000;
/// How deep parentheses and `NOT` may nest.
pub const MAX_NESTING: usize = 50;
/// The most values one list may hold.
pub const MAX_LIST_VALUES: usize = 1_000;

/// Parses and checks a query. An empty query is valid and matches every issue.
pub fn parse(jql: &str) -> Result<ParsedQuery, JqlError> {
    if let Some((offset, _)) = jql.char_indices().nth(MAX_QUERY_CHARS) {
        return Err(JqlError::syntax(
            jql,
            offset,
            SyntaxError::QueryTooLong {
                limit: MAX_QUERY_CHARS,
            },
        ));
    }
    let tokens = lexer::tokenize(jql)?;
    let syntax = parser::parse_tokens(jql, tokens)?;
    check::check(jql, syntax)
}

#[cfg(test)]
mod tests;
