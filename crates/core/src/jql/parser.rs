//! Builds the syntax tree of a query from its tokens: `NOT` binds tighter than `AND`, `AND`
//! tighter than `OR`, parentheses group, and `ORDER BY` may follow or stand alone. Names and
//! values are kept as written, for the checker to judge. Invariant: recursion happens only
//! through `NOT` and `(`, each counted against [`MAX_NESTING`], so no input can exhaust the
//! stack; lists are bounded by [`MAX_LIST_VALUES`].

use super::ast::{Operator, SortDirection};
use super::error::{Found, JqlError, SyntaxError};
use super::lexer::{Token, TokenKind};
use super::{MAX_LIST_VALUES, MAX_NESTING};

#[derive(Debug)]
pub(super) struct SyntaxQuery {
    pub filter: Option<SyntaxClause>,
    pub order_by: Vec<SyntaxSort>,
}

#[derive(Debug)]
pub(super) enum SyntaxClause {
    And(Vec<SyntaxClause>),
    Or(Vec<SyntaxClause>),
    Not(Box<SyntaxClause>),
    Term(SyntaxTerm),
}

#[derive(Debug)]
pub(super) struct SyntaxTerm {
    pub field: Name,
    pub operator: Operator,
    pub operator_at: usize,
    pub operand: SyntaxOperand,
}

/// A field name as written (quotes removed), and where.
#[derive(Debug)]
pub(super) struct Name {
    pub text: String,
    pub at: usize,
}

#[derive(Debug)]
pub(super) enum SyntaxOperand {
    Single(Item),
    List { items: Vec<Item>, at: usize },
}

/// One value of an operand: `EMPTY`, a literal or a function call.
#[derive(Debug)]
pub(super) enum Item {
    Empty { at: usize },
    Literal(Literal),
    Call(Call),
}

impl Item {
    pub fn at(&self) -> usize {
        match self {
            Self::Empty { at } => *at,
            Self::Literal(literal) => literal.at,
            Self::Call(call) => call.at,
        }
    }
}

#[derive(Debug)]
pub(super) struct Literal {
    /// The value, quotes removed and escapes decoded.
    pub text: String,
    /// An unquoted integer, which some fields read as an id.
    pub is_number: bool,
    pub at: usize,
}

#[derive(Debug)]
pub(super) struct Call {
    pub name: String,
    pub arguments: Vec<Literal>,
    pub at: usize,
}

#[derive(Debug)]
pub(super) struct SyntaxSort {
    pub field: Name,
    pub direction: Option<SortDirection>,
}

/// Parses the tokens of `source`.
pub(super) fn parse_tokens(source: &str, tokens: Vec<Token>) -> Result<SyntaxQuery, JqlError> {
    let mut parser = Parser {
        source,
        tokens,
        next: 0,
        depth: 0,
    };
    parser.query()
}

struct Parser<'a> {
    source: &'a str,
    tokens: Vec<Token>,
    next: usize,
    /// Open parentheses and `NOT`s around the current position.
    depth: usize,
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Token> {
        self.tokens.get(self.next)
    }

    fn peek_kind(&self) -> Option<&TokenKind> {
        self.peek().map(|token| &token.kind)
    }

    /// The offset of the next token, or the end of the query.
    fn offset(&self) -> usize {
        self.peek().map_or(self.source.len(), |token| token.start)
    }

    fn eat(&mut self, kind: &TokenKind) -> bool {
        let matches = self.peek_kind() == Some(kind);
        if matches {
            self.next += 1;
        }
        matches
    }

    /// The next token as the error messages show it.
    fn found(&self) -> Found {
        match self.peek() {
            Some(token) => Found::Token(
                self.source
                    .get(token.start..token.end)
                    .unwrap_or_default()
                    .to_string(),
            ),
            None => Found::EndOfQuery,
        }
    }

    fn error(&self, error: SyntaxError) -> JqlError {
        JqlError::syntax(self.source, self.offset(), error)
    }

    fn expected(&self, expected: &'static str) -> JqlError {
        self.error(SyntaxError::Expected {
            expected,
            found: self.found(),
        })
    }

    fn query(&mut self) -> Result<SyntaxQuery, JqlError> {
        let filter = match self.peek_kind() {
            None | Some(TokenKind::Order) => None,
            Some(_) => Some(self.or_clause()?),
        };
        let order_by = if self.eat(&TokenKind::Order) {
            self.order_by()?
        } else {
            Vec::new()
        };
        if self.peek().is_some() {
            return Err(if order_by.is_empty() {
                self.expected("either 'OR' or 'AND'")
            } else {
                self.expected("','")
            });
        }
        Ok(SyntaxQuery { filter, order_by })
    }

    fn or_clause(&mut self) -> Result<SyntaxClause, JqlError> {
        let first = self.and_clause()?;
        if self.peek_kind() != Some(&TokenKind::Or) {
            return Ok(first);
        }
        let mut clauses = vec![first];
        while self.eat(&TokenKind::Or) {
            clauses.push(self.and_clause()?);
        }
        Ok(SyntaxClause::Or(clauses))
    }

    fn and_clause(&mut self) -> Result<SyntaxClause, JqlError> {
        let first = self.not_clause()?;
        if self.peek_kind() != Some(&TokenKind::And) {
            return Ok(first);
        }
        let mut clauses = vec![first];
        while self.eat(&TokenKind::And) {
            clauses.push(self.not_clause()?);
        }
        Ok(SyntaxClause::And(clauses))
    }

    fn not_clause(&mut self) -> Result<SyntaxClause, JqlError> {
        match self.peek_kind() {
            Some(TokenKind::Not) => {
                self.enter()?;
                let negated = self.not_clause()?;
                self.depth -= 1;
                Ok(SyntaxClause::Not(Box::new(negated)))
            }
            Some(TokenKind::LeftParen) => {
                self.enter()?;
                let inner = self.or_clause()?;
                if !self.eat(&TokenKind::RightParen) {
                    return Err(match self.peek() {
                        None => self.expected("')'"),
                        Some(_) => self.expected("either 'OR' or 'AND'"),
                    });
                }
                self.depth -= 1;
                Ok(inner)
            }
            _ => self.term().map(SyntaxClause::Term),
        }
    }

    /// Consumes a `NOT` or `(`, refusing to nest deeper than [`MAX_NESTING`].
    fn enter(&mut self) -> Result<(), JqlError> {
        if self.depth >= MAX_NESTING {
            return Err(self.error(SyntaxError::NestedTooDeep { limit: MAX_NESTING }));
        }
        self.depth += 1;
        self.next += 1;
        Ok(())
    }

    fn term(&mut self) -> Result<SyntaxTerm, JqlError> {
        let field = self.name()?;
        let operator_at = self.offset();
        let operator = self.operator()?;
        let operand = self.operand()?;
        Ok(SyntaxTerm {
            field,
            operator,
            operator_at,
            operand,
        })
    }

    /// A field name: a word, a quoted string or a number.
    fn name(&mut self) -> Result<Name, JqlError> {
        let at = self.offset();
        let text = match self.peek_kind() {
            Some(TokenKind::Word(text) | TokenKind::Quoted(text) | TokenKind::Number(text)) => {
                text.clone()
            }
            _ => {
                return Err(self.error(SyntaxError::ExpectedField {
                    found: self.found(),
                }));
            }
        };
        self.next += 1;
        Ok(Name { text, at })
    }

    fn operator(&mut self) -> Result<Operator, JqlError> {
        let operator = match self.peek_kind() {
            Some(TokenKind::Compare(operator)) => *operator,
            Some(TokenKind::In) => Operator::In,
            Some(TokenKind::Is) => {
                self.next += 1;
                return Ok(if self.eat(&TokenKind::Not) {
                    Operator::IsNot
                } else {
                    Operator::Is
                });
            }
            Some(TokenKind::Not) => {
                self.next += 1;
                if !self.eat(&TokenKind::In) {
                    return Err(self.expected("'IN'"));
                }
                return Ok(Operator::NotIn);
            }
            _ => {
                return Err(self.error(SyntaxError::ExpectedOperator {
                    found: self.found(),
                }));
            }
        };
        self.next += 1;
        Ok(operator)
    }

    fn operand(&mut self) -> Result<SyntaxOperand, JqlError> {
        if self.peek_kind() == Some(&TokenKind::LeftParen) {
            let at = self.offset();
            self.next += 1;
            return self.list(at);
        }
        match self.item()? {
            Some(item) => Ok(SyntaxOperand::Single(item)),
            None => Err(self.error(SyntaxError::ExpectedOperand {
                found: self.found(),
            })),
        }
    }

    /// The values of a list whose `(` is at `at` (already consumed), up to its `)`.
    fn list(&mut self, at: usize) -> Result<SyntaxOperand, JqlError> {
        let mut items = Vec::new();
        loop {
            if items.len() == MAX_LIST_VALUES {
                return Err(self.error(SyntaxError::ListTooLong {
                    limit: MAX_LIST_VALUES,
                }));
            }
            let Some(item) = self.item()? else {
                return Err(self.error(SyntaxError::ExpectedListValue {
                    found: self.found(),
                }));
            };
            items.push(item);
            if self.eat(&TokenKind::RightParen) {
                return Ok(SyntaxOperand::List { items, at });
            }
            if !self.eat(&TokenKind::Comma) {
                return Err(self.expected("either ',' or ')'"));
            }
        }
    }

    /// `EMPTY`, a literal, or a function call; `None` (consuming nothing) for anything else.
    fn item(&mut self) -> Result<Option<Item>, JqlError> {
        let at = self.offset();
        if let Some(TokenKind::Word(name)) = self.peek_kind() {
            let is_call =
                self.tokens.get(self.next + 1).map(|t| &t.kind) == Some(&TokenKind::LeftParen);
            if is_call {
                let name = name.clone();
                self.next += 2;
                let arguments = self.arguments()?;
                return Ok(Some(Item::Call(Call {
                    name,
                    arguments,
                    at,
                })));
            }
        }
        if self.eat(&TokenKind::Empty) {
            return Ok(Some(Item::Empty { at }));
        }
        Ok(self.literal().map(Item::Literal))
    }

    fn literal(&mut self) -> Option<Literal> {
        let at = self.offset();
        let (text, is_number) = match self.peek_kind()? {
            TokenKind::Word(text) | TokenKind::Quoted(text) => (text.clone(), false),
            TokenKind::Number(text) => (text.clone(), true),
            _ => return None,
        };
        self.next += 1;
        Some(Literal {
            text,
            is_number,
            at,
        })
    }

    /// The arguments of a call whose `(` was consumed, up to its `)`.
    fn arguments(&mut self) -> Result<Vec<Literal>, JqlError> {
        let mut arguments = Vec::new();
        if self.eat(&TokenKind::RightParen) {
            return Ok(arguments);
        }
        loop {
            let Some(argument) = self.literal() else {
                return Err(self.error(SyntaxError::ExpectedArgument {
                    found: self.found(),
                }));
            };
            arguments.push(argument);
            if self.eat(&TokenKind::RightParen) {
                return Ok(arguments);
            }
            if !self.eat(&TokenKind::Comma) {
                return Err(self.expected("either ',' or ')'"));
            }
        }
    }

    fn order_by(&mut self) -> Result<Vec<SyntaxSort>, JqlError> {
        if !self.eat(&TokenKind::By) {
            return Err(self.expected("'BY'"));
        }
        let mut sorts = Vec::new();
        loop {
            let field = self.name()?;
            let direction = if self.eat(&TokenKind::Asc) {
                Some(SortDirection::Ascending)
            } else if self.eat(&TokenKind::Desc) {
                Some(SortDirection::Descending)
            } else {
                None
            };
            sorts.push(SyntaxSort { field, direction });
            if !self.eat(&TokenKind::Comma) {
                if direction.is_none() && self.peek().is_some() {
                    return Err(self.expected("either 'ASC', 'DESC' or ','"));
                }
                return Ok(sorts);
            }
        }
    }
}
