//! Why a query was refused, and where. Messages use Jira's wording where Jira has one, because
//! clients show them to people as they are; syntax errors end with Jira's
//! `(line L, character C)`, other errors carry their position without printing it, as Jira's do.

use std::fmt;

use super::ast::Operator;

/// Where in the query a fault lies: 1-based line, and 1-based character (not byte) within it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub character: usize,
}

impl Position {
    /// The position of the character starting at `offset` (a byte offset into `source`; the
    /// length of `source` means just past its end). Reads only the text before `offset`.
    pub(super) fn locate(source: &str, offset: usize) -> Self {
        let before = source.get(..offset).unwrap_or(source);
        let line_start = before.rfind('\n').map_or(0, |newline| newline + 1);
        let current_line = before.get(line_start..).unwrap_or_default();
        Self {
            line: before.matches('\n').count() + 1,
            character: current_line.chars().count() + 1,
        }
    }
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "(line {}, character {})", self.line, self.character)
    }
}

/// A refused query.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum JqlError {
    /// The text is not JQL.
    #[error("Error in the JQL Query: {error} {at}")]
    Syntax { error: SyntaxError, at: Position },
    /// The text is JQL, but asks for something that does not exist or does not fit.
    #[error("{error}")]
    Invalid {
        error: ValidationError,
        at: Position,
    },
}

impl JqlError {
    pub fn position(&self) -> Position {
        match self {
            Self::Syntax { at, .. } | Self::Invalid { at, .. } => *at,
        }
    }

    pub(super) fn syntax(source: &str, offset: usize, error: SyntaxError) -> Self {
        Self::Syntax {
            error,
            at: Position::locate(source, offset),
        }
    }

    pub(super) fn invalid(source: &str, offset: usize, error: ValidationError) -> Self {
        Self::Invalid {
            error,
            at: Position::locate(source, offset),
        }
    }
}

/// What the parser met where it expected something else.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Found {
    /// A token, as written.
    Token(String),
    EndOfQuery,
}

impl fmt::Display for Found {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Token(text) => write!(f, "but got '{text}'"),
            Self::EndOfQuery => f.write_str("before the end of the query"),
        }
    }
}

/// The JQL escape that stands for `character`, as Jira suggests it.
fn unicode_escape(character: &char) -> String {
    format!("\\u{:04x}", u32::from(*character))
}

/// A character that cannot be shown as itself, named by its code point.
fn code_point(character: &char) -> String {
    format!("U+{:04X}", u32::from(*character))
}

/// Jira adds this hint when a token stands where a name or value belongs.
struct QuoteHint<'a>(&'a Found, &'static str);

impl fmt::Display for QuoteHint<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Found::Token(text) => write!(
                f,
                " You must surround '{text}' in quotation marks to use it as a {}.",
                self.1
            ),
            Found::EndOfQuery => Ok(()),
        }
    }
}

/// The text is not JQL.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxError {
    #[error("The query is too long: it has more than {limit} characters.")]
    QueryTooLong { limit: usize },
    #[error("The query nests parentheses and NOT more than {limit} deep.")]
    NestedTooDeep { limit: usize },
    #[error("A list can hold at most {limit} values.")]
    ListTooLong { limit: usize },
    #[error("The quoted string '{text}' has not been completed.")]
    UnfinishedString { text: String },
    #[error(
        "'{sequence}' is an illegal JQL escape sequence. The valid escape sequences are \\', \\\", \
         \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX."
    )]
    IllegalEscape { sequence: String },
    #[error(
        "The character '{character}' is a reserved JQL character. You must enclose it in a \
         string or use the escape '{}' instead.",
        unicode_escape(.character)
    )]
    ReservedCharacter { character: char },
    #[error(
        "The character '{}' must be escaped. Use the escape '{}' instead.",
        code_point(.character),
        unicode_escape(.character)
    )]
    UnescapedControlCharacter { character: char },
    /// PostgreSQL cannot store U+0000 in text, so no value may hold it.
    #[error("The character 'U+0000' cannot be used in a JQL query.")]
    NulCharacter,
    #[error("Expecting a field name {found}.{}", QuoteHint(.found, "field name"))]
    ExpectedField { found: Found },
    #[error(
        "Expecting operator {found}. The valid operators are '=', '!=', '<', '>', '<=', '>=', \
         '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'."
    )]
    ExpectedOperator { found: Found },
    #[error("Expecting either a value, list or function {found}.{}", QuoteHint(.found, "value"))]
    ExpectedOperand { found: Found },
    #[error("Expecting either a value or function {found}.{}", QuoteHint(.found, "value"))]
    ExpectedListValue { found: Found },
    #[error("Expecting a function argument {found}.{}", QuoteHint(.found, "value"))]
    ExpectedArgument { found: Found },
    /// A fixed token or choice of tokens, e.g. `either 'OR' or 'AND'`.
    #[error("Expecting {expected} {found}.")]
    Expected {
        expected: &'static str,
        found: Found,
    },
}

/// The text is JQL, but asks for something that does not exist or does not fit.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ValidationError {
    #[error("Field '{field}' does not exist or you do not have permission to view it.")]
    UnknownField { field: String },
    #[error("The operator '{operator}' is not supported by the '{field}' field.")]
    UnsupportedOperator { operator: Operator, field: String },
    #[error("The field '{field}' does not support searching for EMPTY values.")]
    EmptyNotSupported { field: String },
    #[error("The operator '{operator}' does not support searching for EMPTY values.")]
    EmptyWithOperator { operator: Operator },
    #[error("The operator '{operator}' only supports searching for EMPTY values.")]
    OnlyEmpty { operator: Operator },
    #[error("The operator '{operator}' does not support a list of values for the field '{field}'.")]
    ListNotSupported { operator: Operator, field: String },
    #[error(
        "The operator '{operator}' needs a list of values for the field '{field}', like \
         ('A', 'B')."
    )]
    ListRequired { operator: Operator, field: String },
    #[error("The field '{field}' does not support searching for an empty string.")]
    EmptyText { field: String },
    #[error("The value '{value}' does not exist for the field '{field}'.")]
    UnknownValue { value: String, field: String },
    #[error("The issue key '{key}' for field '{field}' is invalid.")]
    InvalidIssueKey { key: String, field: String },
    #[error(
        "Date value '{value}' for field '{field}' is invalid. Valid formats include: \
         'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period \
         format e.g. '-5d', '4w 2d'."
    )]
    InvalidDate { value: String, field: String },
    #[error("Unable to find JQL function '{call}'.")]
    UnknownFunction { call: String },
    #[error("A value provided by the function '{function}' is invalid for the field '{field}'.")]
    FunctionNotSupported { function: String, field: String },
    #[error("A date for the field '{field}' provided by the function '{function}' is not valid.")]
    NotADateFunction { function: String, field: String },
    #[error("Function '{function}' expected {expected} arguments but received '{received}'.")]
    ArgumentCount {
        function: String,
        expected: &'static str,
        received: usize,
    },
    #[error(
        "Duration for function '{function}' should have the format (+/-)n(yMwdm), e.g -1M for \
         1 month earlier."
    )]
    InvalidIncrement { function: String },
    #[error("Not able to sort using field '{field}'.")]
    UnknownSortField { field: String },
    #[error("Field '{field}' does not support sorting.")]
    NotSortable { field: String },
    #[error("The sort field '{field}' is referenced multiple times in the JQL sort.")]
    DuplicateSort { field: String },
    #[error(
        "The sort field '{field}' is referenced multiple times in the JQL sort. Field \
         '{field}' is an alias for field '{first}'."
    )]
    DuplicateSortAlias { field: String, first: String },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_count_characters_and_lines() {
        let source = "é = 1\nab = «x»";
        assert_eq!(
            Position::locate(source, 0),
            Position {
                line: 1,
                character: 1
            }
        );
        // The byte after 'é' (two bytes) is the second character.
        assert_eq!(Position::locate(source, 2).character, 2);
        let after_guillemet = source.find('x').unwrap_or_default();
        assert_eq!(
            Position::locate(source, after_guillemet),
            Position {
                line: 2,
                character: 7
            }
        );
        assert_eq!(
            Position::locate(source, source.len()),
            Position {
                line: 2,
                character: 9
            }
        );
    }

    #[test]
    fn syntax_errors_print_their_position_and_others_do_not() {
        let syntax = JqlError::syntax(
            "project foo",
            8,
            SyntaxError::ExpectedOperator {
                found: Found::Token("foo".into()),
            },
        );
        assert_eq!(
            syntax.to_string(),
            "Error in the JQL Query: Expecting operator but got 'foo'. The valid operators are \
             '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. \
             (line 1, character 9)"
        );
        let invalid = JqlError::invalid(
            "foo = 1",
            0,
            ValidationError::UnknownField {
                field: "foo".into(),
            },
        );
        assert_eq!(
            invalid.to_string(),
            "Field 'foo' does not exist or you do not have permission to view it."
        );
        assert_eq!(invalid.position().character, 1);
    }
}
