//! Splits a query into tokens: punctuation, operators, keywords (in any case), numbers, and
//! values, quoted or not, with their escapes decoded. Invariant: no value leaves here holding a
//! U+0000 (PostgreSQL cannot store it) or a raw control character.

use std::iter::Peekable;
use std::str::CharIndices;

use super::ast::Operator;
use super::error::{JqlError, SyntaxError};

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum TokenKind {
    LeftParen,
    RightParen,
    Comma,
    /// `=`, `!=`, `<`, `<=`, `>`, `>=`, `~`, `!~`.
    Compare(Operator),
    /// `AND`, `&&`, `&`.
    And,
    /// `OR`, `||`, `|`.
    Or,
    /// `NOT`, `!`.
    Not,
    In,
    Is,
    /// `EMPTY` or `NULL`.
    Empty,
    Order,
    By,
    Asc,
    Desc,
    /// An unquoted integer, as written.
    Number(String),
    /// An unquoted value, escapes decoded.
    Word(String),
    /// A quoted value, escapes decoded.
    Quoted(String),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Token {
    pub kind: TokenKind,
    /// Byte offsets of the token in the query.
    pub start: usize,
    pub end: usize,
}

/// Every token of `source`, in order, or the first lexical fault. Like Jira's lexer, this reads
/// the whole query before the parser looks at it.
pub(super) fn tokenize(source: &str) -> Result<Vec<Token>, JqlError> {
    Lexer {
        source,
        chars: source.char_indices().peekable(),
    }
    .run()
}

/// Characters that end an unquoted value.
fn ends_word(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '(' | ')' | ',' | '=' | '!' | '<' | '>' | '~' | '&' | '|' | '"' | '\''
        )
}

/// Characters Jira reserves: they must be quoted or escaped.
fn is_reserved(c: char) -> bool {
    matches!(
        c,
        '{' | '}' | '[' | ']' | '*' | '/' | '%' | '+' | '^' | '$' | '#' | '@' | '?' | ';'
    )
}

struct Lexer<'a> {
    source: &'a str,
    chars: Peekable<CharIndices<'a>>,
}

impl Lexer<'_> {
    fn run(mut self) -> Result<Vec<Token>, JqlError> {
        let mut tokens = Vec::new();
        while let Some(&(start, c)) = self.chars.peek() {
            if c.is_whitespace() {
                self.chars.next();
                continue;
            }
            let kind = match c {
                '"' | '\'' => self.quoted(start, c)?,
                _ if ends_word(c) => self.punctuation(c),
                _ => self.word()?,
            };
            tokens.push(Token {
                kind,
                start,
                end: self.offset(),
            });
        }
        Ok(tokens)
    }

    /// The byte offset of the next character, or the end.
    fn offset(&mut self) -> usize {
        self.chars
            .peek()
            .map_or(self.source.len(), |&(offset, _)| offset)
    }

    fn eat(&mut self, expected: char) -> bool {
        self.chars.next_if(|&(_, c)| c == expected).is_some()
    }

    fn error(&self, offset: usize, error: SyntaxError) -> JqlError {
        JqlError::syntax(self.source, offset, error)
    }

    fn punctuation(&mut self, first: char) -> TokenKind {
        self.chars.next();
        match first {
            '(' => TokenKind::LeftParen,
            ')' => TokenKind::RightParen,
            ',' => TokenKind::Comma,
            '=' => TokenKind::Compare(Operator::Equals),
            '~' => TokenKind::Compare(Operator::Contains),
            '!' if self.eat('=') => TokenKind::Compare(Operator::NotEquals),
            '!' if self.eat('~') => TokenKind::Compare(Operator::DoesNotContain),
            '!' => TokenKind::Not,
            '<' if self.eat('=') => TokenKind::Compare(Operator::LessThanOrEquals),
            '<' => TokenKind::Compare(Operator::LessThan),
            '>' if self.eat('=') => TokenKind::Compare(Operator::GreaterThanOrEquals),
            '>' => TokenKind::Compare(Operator::GreaterThan),
            '&' => {
                self.eat('&');
                TokenKind::And
            }
            // Only '|' is left among the characters that end a word.
            _ => {
                self.eat('|');
                TokenKind::Or
            }
        }
    }

    fn quoted(&mut self, start: usize, quote: char) -> Result<TokenKind, JqlError> {
        self.chars.next();
        let mut text = String::new();
        loop {
            let Some((offset, c)) = self.chars.next() else {
                let unfinished = self
                    .source
                    .get(start + quote.len_utf8()..)
                    .unwrap_or_default();
                return Err(self.error(
                    start,
                    SyntaxError::UnfinishedString {
                        text: unfinished.to_string(),
                    },
                ));
            };
            match c {
                _ if c == quote => return Ok(TokenKind::Quoted(text)),
                '\\' if self.chars.peek().is_none() => {
                    let unfinished = self
                        .source
                        .get(start + quote.len_utf8()..)
                        .unwrap_or_default();
                    return Err(self.error(
                        start,
                        SyntaxError::UnfinishedString {
                            text: unfinished.to_string(),
                        },
                    ));
                }
                '\\' => text.push(self.escape(offset)?),
                // Line breaks and tabs may stand in a quoted value as they are.
                '\n' | '\r' | '\t' => text.push(c),
                _ => text.push(self.ordinary(offset, c)?),
            }
        }
    }

    fn word(&mut self) -> Result<TokenKind, JqlError> {
        let mut text = String::new();
        let mut has_escape = false;
        while let Some(&(offset, c)) = self.chars.peek() {
            if ends_word(c) {
                break;
            }
            self.chars.next();
            if is_reserved(c) {
                return Err(self.error(offset, SyntaxError::ReservedCharacter { character: c }));
            }
            if c == '\\' {
                has_escape = true;
                text.push(self.escape(offset)?);
            } else {
                text.push(self.ordinary(offset, c)?);
            }
        }
        // A keyword or number is one only as written: `\u0041ND` is the value "AND".
        if has_escape {
            return Ok(TokenKind::Word(text));
        }
        let keyword = match text.to_ascii_lowercase().as_str() {
            "and" => Some(TokenKind::And),
            "or" => Some(TokenKind::Or),
            "not" => Some(TokenKind::Not),
            "in" => Some(TokenKind::In),
            "is" => Some(TokenKind::Is),
            "empty" | "null" => Some(TokenKind::Empty),
            "order" => Some(TokenKind::Order),
            "by" => Some(TokenKind::By),
            "asc" => Some(TokenKind::Asc),
            "desc" => Some(TokenKind::Desc),
            _ => None,
        };
        let digits = text.strip_prefix('-').unwrap_or(&text);
        let is_number = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        Ok(keyword.unwrap_or(if is_number {
            TokenKind::Number(text)
        } else {
            TokenKind::Word(text)
        }))
    }

    /// A character that stands for itself, unless it is a control character.
    fn ordinary(&self, offset: usize, c: char) -> Result<char, JqlError> {
        if c == '\0' {
            Err(self.error(offset, SyntaxError::NulCharacter))
        } else if c.is_control() {
            Err(self.error(
                offset,
                SyntaxError::UnescapedControlCharacter { character: c },
            ))
        } else {
            Ok(c)
        }
    }

    /// Decodes the escape whose backslash is at `offset` (already consumed): `\t`, `\n`, `\r`,
    /// `\"`, `\'`, `\\`, `\ ` and `\uXXXX`, a UTF-16 surrogate pair taking two.
    fn escape(&mut self, offset: usize) -> Result<char, JqlError> {
        let illegal = |lexer: &Self, sequence: String| {
            lexer.error(offset, SyntaxError::IllegalEscape { sequence })
        };
        let Some((_, c)) = self.chars.next() else {
            return Err(illegal(self, "\\".into()));
        };
        match c {
            't' => Ok('\t'),
            'n' => Ok('\n'),
            'r' => Ok('\r'),
            '"' | '\'' | '\\' | ' ' => Ok(c),
            'u' => {
                let (first, sequence) = self.hex_unit();
                let Some(first) = first else {
                    return Err(illegal(self, sequence));
                };
                let code = if (0xD800..0xDC00).contains(&first) {
                    let paired = self.low_surrogate();
                    let Some(second) = paired else {
                        return Err(illegal(self, sequence));
                    };
                    0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                } else {
                    first
                };
                match char::from_u32(code) {
                    Some('\0') => Err(self.error(offset, SyntaxError::NulCharacter)),
                    Some(decoded) => Ok(decoded),
                    None => Err(illegal(self, sequence)),
                }
            }
            _ => Err(illegal(self, format!("\\{c}"))),
        }
    }

    /// Up to four hex digits after `\u`: the code unit if there were four, and the sequence as
    /// read, for the error message.
    fn hex_unit(&mut self) -> (Option<u32>, String) {
        let mut sequence = String::from("\\u");
        let mut code = 0;
        for _ in 0..4 {
            let Some((_, c)) = self.chars.next_if(|&(_, c)| c.is_ascii_hexdigit()) else {
                return (None, sequence);
            };
            sequence.push(c);
            code = code * 16 + c.to_digit(16).unwrap_or_default();
        }
        (Some(code), sequence)
    }

    /// The `\uDC00`-`\uDFFF` that must follow a high surrogate, if it does.
    fn low_surrogate(&mut self) -> Option<u32> {
        if !self.eat('\\') || !self.eat('u') {
            return None;
        }
        let (second, _) = self.hex_unit();
        second.filter(|unit| (0xDC00..0xE000).contains(unit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<TokenKind> {
        match tokenize(source) {
            Ok(tokens) => tokens.into_iter().map(|t| t.kind).collect(),
            Err(error) => panic!("{source}: {error}"),
        }
    }

    fn error(source: &str) -> String {
        match tokenize(source) {
            Ok(tokens) => panic!("{source} lexed as {tokens:?}"),
            Err(error) => error.to_string(),
        }
    }

    fn word(text: &str) -> TokenKind {
        TokenKind::Word(text.into())
    }

    #[test]
    fn operators_and_punctuation() {
        use TokenKind::*;
        assert_eq!(
            kinds("a=b!=c<d<=e>f>=g~h!~i(j,k)"),
            vec![
                word("a"),
                Compare(Operator::Equals),
                word("b"),
                Compare(Operator::NotEquals),
                word("c"),
                Compare(Operator::LessThan),
                word("d"),
                Compare(Operator::LessThanOrEquals),
                word("e"),
                Compare(Operator::GreaterThan),
                word("f"),
                Compare(Operator::GreaterThanOrEquals),
                word("g"),
                Compare(Operator::Contains),
                word("h"),
                Compare(Operator::DoesNotContain),
                word("i"),
                LeftParen,
                word("j"),
                Comma,
                word("k"),
                RightParen,
            ]
        );
        assert_eq!(
            kinds("&& & || | ! !!"),
            vec![And, And, Or, Or, Not, Not, Not]
        );
    }

    #[test]
    fn keywords_in_any_case_and_numbers_as_written() {
        use TokenKind::*;
        assert_eq!(
            kinds("aNd OR not In iS Empty NULL order BY asc DESC"),
            vec![And, Or, Not, In, Is, Empty, Empty, Order, By, Asc, Desc]
        );
        assert_eq!(
            kinds("007 -12 - 1- ABC-12 -7d 2024-01-31"),
            vec![
                Number("007".into()),
                Number("-12".into()),
                word("-"),
                word("1-"),
                word("ABC-12"),
                word("-7d"),
                word("2024-01-31"),
            ]
        );
        assert_eq!(
            kinds("\"and\" an\\u0064"),
            vec![Quoted("and".into()), word("and")]
        );
    }

    #[test]
    fn quoted_values_and_escapes() {
        use TokenKind::*;
        assert_eq!(
            kinds(r#""a b" 'c"d' "e\"f" 'g\'h' "\t\n\r\\\ " "\u00e9\u20AC\ud83d\ude00""#),
            vec![
                Quoted("a b".into()),
                Quoted("c\"d".into()),
                Quoted("e\"f".into()),
                Quoted("g'h".into()),
                Quoted("\t\n\r\\ ".into()),
                Quoted("é€😀".into()),
            ]
        );
        assert_eq!(kinds(r"a\ b c\u002fd"), vec![word("a b"), word("c/d")]);
        assert_eq!(kinds("\"line\nbreak\""), vec![Quoted("line\nbreak".into())]);
        assert_eq!(kinds("''"), vec![Quoted(String::new())]);
    }

    #[test]
    fn token_offsets_are_bytes() {
        let tokens = tokenize("é = \"ü\"").unwrap_or_default();
        let spans: Vec<_> = tokens.iter().map(|t| (t.start, t.end)).collect();
        assert_eq!(spans, vec![(0, 2), (3, 4), (5, 9)]);
    }

    #[test]
    fn lexical_faults_carry_their_position() {
        assert_eq!(
            error("status = \"abc"),
            "Error in the JQL Query: The quoted string 'abc' has not been completed. (line 1, \
             character 10)"
        );
        assert_eq!(
            error("summary ~ 'abc\\"),
            "Error in the JQL Query: The quoted string 'abc\\' has not been completed. (line \
             1, character 11)"
        );
        assert_eq!(
            error("reporter=a/user/with/slash"),
            "Error in the JQL Query: The character '/' is a reserved JQL character. You must \
             enclose it in a string or use the escape '\\u002f' instead. (line 1, character 11)"
        );
        assert_eq!(
            error("assignee = bob@example.com"),
            "Error in the JQL Query: The character '@' is a reserved JQL character. You must \
             enclose it in a string or use the escape '\\u0040' instead. (line 1, character 15)"
        );
        assert_eq!(
            error("summary ~ \"a\\qb\""),
            "Error in the JQL Query: '\\q' is an illegal JQL escape sequence. The valid escape \
             sequences are \\', \\\", \\t, \\n, \\r, \\\\, '\\ ' and \\uXXXX. (line 1, \
             character 13)"
        );
        assert!(error("a\\u12g4").contains("'\\u12' is an illegal"));
        assert!(error("a\\").contains("'\\' is an illegal"));
        assert!(error("\"\\ud83d\"").contains("'\\ud83d' is an illegal"));
        assert!(error("\"\\udc00\"").contains("'\\udc00' is an illegal"));
        assert_eq!(
            error("a = \"x\u{7}\""),
            "Error in the JQL Query: The character 'U+0007' must be escaped. Use the escape \
             '\\u0007' instead. (line 1, character 7)"
        );
        assert_eq!(
            error("a = \"\\u0000\""),
            "Error in the JQL Query: The character 'U+0000' cannot be used in a JQL query. \
             (line 1, character 6)"
        );
        assert!(error("a = b\0").contains("'U+0000' cannot be used"));
        assert!(error("\n\n  x = 'é").ends_with("(line 3, character 7)"));
    }
}
