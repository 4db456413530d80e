//! Hostile input for the JQL parser: random text and random soups of JQL's own tokens. Whatever
//! comes in, parsing must return (never panic or overflow the stack), an error must point at a
//! place inside the query or just past its end, and an accepted query must resolve at any
//! "now". Run longer with `PROPTEST_CASES=100000 cargo test -p tessera-core --test jql_fuzz`.

use proptest::prelude::*;
use tessera_core::clock::Timestamp;
use tessera_core::jql::{self, Position};

/// The places an error may point at: every character, and the end of the query.
fn positions(query: &str) -> Vec<Position> {
    let mut positions = Vec::new();
    let (mut line, mut character) = (1, 1);
    for c in query.chars() {
        positions.push(Position { line, character });
        if c == '\n' {
            line += 1;
            character = 1;
        } else {
            character += 1;
        }
    }
    positions.push(Position { line, character });
    positions
}

fn check(query: &str) -> Result<(), TestCaseError> {
    match jql::parse(query) {
        Ok(parsed) => {
            for now in [i64::MIN, -1, 0, 1_710_498_600_000, i64::MAX] {
                let _ = parsed.resolve(Timestamp::from_millis(now));
            }
        }
        Err(error) => {
            let at = error.position();
            prop_assert!(
                positions(query).contains(&at),
                "{at:?} is outside {query:?}: {error}"
            );
            prop_assert!(!error.to_string().is_empty());
        }
    }
    Ok(())
}

/// Pieces of JQL, right and wrong, that a token soup is made of.
const PIECES: &[&str] = &[
    "project",
    "key",
    "issuekey",
    "id",
    "summary",
    "description",
    "comment",
    "text",
    "status",
    "statusCategory",
    "issuetype",
    "type",
    "priority",
    "labels",
    "assignee",
    "reporter",
    "creator",
    "created",
    "createdDate",
    "updated",
    "resolution",
    "resolutiondate",
    "resolved",
    "\"project\"",
    "'Status'",
    "foo",
    "=",
    "!=",
    ">",
    ">=",
    "<",
    "<=",
    "~",
    "!~",
    "in",
    "not in",
    "IN",
    "NOT",
    "is",
    "is not",
    "IS",
    "EMPTY",
    "null",
    "and",
    "AND",
    "or",
    "OR",
    "&&",
    "||",
    "&",
    "|",
    "!",
    "(",
    ")",
    "(",
    ")",
    ",",
    "order by",
    "ORDER",
    "BY",
    "asc",
    "desc",
    "currentUser()",
    "now()",
    "startOfDay(",
    "endOfDay(-1)",
    "startOfDay(\"-1M\")",
    "membersOf(",
    "membersOf(\"g\")",
    "foo(",
    "ABC",
    "ABC-1",
    "abc-",
    "10000",
    "-1",
    "99999999999999999999",
    "-7d",
    "\"-1w 2d\"",
    "4h",
    "30m",
    "\"2024-01-31\"",
    "\"2024/02/30 10:00\"",
    "Done",
    "\"To Do\"",
    "Unresolved",
    "High",
    "Bug",
    "\"",
    "'",
    "\"unterminated",
    "'x'",
    "\"a\\\"b\"",
    "\\",
    "\\u00e9",
    "\\u0000",
    "\\ud83d",
    "\\q",
    "é",
    "😀",
    "/",
    "@",
    "*",
    "\n",
    "\t",
    "\u{0}",
    "\u{7}",
    "\u{85}",
];

fn soup() -> impl Strategy<Value = String> {
    let piece = prop::sample::select(PIECES);
    let separator = prop::sample::select(&[" ", "", "  ", "\n"][..]);
    prop::collection::vec((piece, separator), 0..48).prop_map(|pieces| {
        pieces
            .into_iter()
            .flat_map(|(piece, separator)| [piece, separator])
            .collect()
    })
}

/// Fields, operators and operands that mostly fit together, so that many generated queries get
/// past the parser into the checker and date resolution.
const FIELDS: &[&str] = &[
    "project",
    "key",
    "id",
    "summary",
    "description",
    "comment",
    "text",
    "status",
    "statusCategory",
    "type",
    "priority",
    "labels",
    "assignee",
    "reporter",
    "creator",
    "created",
    "updated",
    "resolution",
    "resolved",
    "Foo",
];
const OPERATORS: &[&str] = &[
    "=", "!=", ">", ">=", "<", "<=", "~", "!~", "in", "not in", "is", "is not",
];
const VALUES: &[&str] = &[
    "ABC",
    "abc-12",
    "10000",
    "-1",
    "Done",
    "\"To Do\"",
    "new",
    "High",
    "3",
    "Bug",
    "bob",
    "word",
    "\"two words\"",
    "''",
    "EMPTY",
    "null",
    "Unresolved",
    "\"Won't Do\"",
    "currentUser()",
    "membersOf(devs)",
    "now()",
    "startOfDay()",
    "startOfDay(-1)",
    "endOfDay(\"+1M\")",
    "startOfDay(\"2147483647y\")",
    "endOfDay(\"-2147483647M\")",
    "startOfDay(x)",
    "foo()",
    "-7d",
    "\"-1w 2d\"",
    "4h",
    "\"2024-01-31\"",
    "\"2024/01/31 14:05\"",
    "\"2024-02-30\"",
    "1700000000000",
    "-9223372036854775808",
    "9223372036854775807",
    "\"106751991167w\"",
];
/// Ways to wrap a term: plain, negated, parenthesised.
const WRAPPINGS: &[(&str, &str)] = &[
    ("", ""),
    ("", ""),
    ("NOT ", ""),
    ("!", ""),
    ("(", ")"),
    ("not (", ")"),
    ("((", "))"),
];
const CONNECTIVES: &[&str] = &[" AND ", " OR ", " and ", " or ", " && ", " || "];
const SORTS: &[&str] = &[
    "",
    " ORDER BY created",
    " order by key desc, priority",
    " ORDER BY status ASC, created",
    " order by id, key",
    " order by text",
];

const DATES: &[&str] = &[
    "-7d",
    "\"-1w 2d\"",
    "4h",
    "now()",
    "startOfDay()",
    "startOfDay(-1)",
    "endOfDay(\"+1M\")",
    "startOfDay(\"2147483647y\")",
    "endOfDay(\"-2147483647M\")",
    "\"2024-01-31\"",
    "\"2024/01/31 14:05\"",
    "1700000000000",
    "-9223372036854775808",
    "9223372036854775807",
];
const EQUALITY: &[&str] = &["=", "!=", "in", "not in"];
const ORDERING: &[&str] = &["=", "!=", ">", ">=", "<", "<=", "in", "not in"];
const EMPTINESS: &[&str] = &["is", "is not"];
/// Fields, with operators and values each of them accepts.
type Fit = (
    &'static [&'static str],
    &'static [&'static str],
    &'static [&'static str],
);
const FITS: &[Fit] = &[
    (&["project"], EQUALITY, &["ABC", "10000", "\"My Project\""]),
    (
        &["key", "id", "issuekey"],
        ORDERING,
        &["ABC-1", "abc-12", "10000"],
    ),
    (
        &["summary", "description", "comment", "text"],
        &["~"],
        &["word", "\"two words\"", "007"],
    ),
    (&["status"], EQUALITY, &["Done", "\"To Do\"", "3"]),
    (&["statusCategory"], EQUALITY, &["new", "Done", "4"]),
    (&["type", "issuetype"], EQUALITY, &["Bug", "Task", "10001"]),
    (&["priority"], ORDERING, &["High", "1", "lowest"]),
    (&["labels"], EQUALITY, &["x", "\"backend\"", "EMPTY"]),
    (
        &["assignee", "reporter", "creator"],
        EQUALITY,
        &["bob", "currentUser()", "EMPTY"],
    ),
    (
        &["assignee", "reporter"],
        &["in", "not in"],
        &["membersOf(devs)", "bob", "EMPTY"],
    ),
    (&["created", "updated", "resolved"], ORDERING, DATES),
    (
        &["resolution"],
        EQUALITY,
        &["Done", "Unresolved", "\"Won't Do\""],
    ),
    (
        &["description", "resolution", "resolutiondate", "labels"],
        EMPTINESS,
        &["EMPTY", "null"],
    ),
];

/// A term that fits its field.
fn fitting_term() -> impl Strategy<Value = String> {
    prop::sample::select(FITS)
        .prop_flat_map(|(fields, operators, values)| {
            (
                prop::sample::select(fields),
                prop::sample::select(operators),
                prop::collection::vec(prop::sample::select(values), 1..4),
            )
        })
        .prop_map(|(field, operator, values)| {
            let operand = match operator {
                "in" | "not in" => format!("({})", values.join(", ")),
                _ => values[0].to_string(),
            };
            format!("{field} {operator} {operand}")
        })
}

/// A term from parts that may not fit.
fn wild_term() -> impl Strategy<Value = String> {
    (
        prop::sample::select(FIELDS),
        prop::sample::select(OPERATORS),
        operand(),
    )
        .prop_map(|(field, operator, operand)| format!("{field} {operator} {operand}"))
}

fn operand() -> impl Strategy<Value = String> {
    let value = prop::sample::select(VALUES);
    prop_oneof![
        3 => value.clone().prop_map(str::to_string),
        1 => prop::collection::vec(value, 1..4).prop_map(|values| format!("({})", values.join(", "))),
    ]
}

fn structured() -> impl Strategy<Value = String> {
    let term = (
        prop::sample::select(WRAPPINGS),
        prop_oneof![9 => fitting_term(), 1 => wild_term()],
        prop::sample::select(CONNECTIVES),
    );
    (
        prop::collection::vec(term, 1..6),
        prop::sample::select(SORTS),
    )
        .prop_map(|(terms, sort)| {
            let mut query = String::new();
            for (index, ((open, close), term, connective)) in terms.into_iter().enumerate() {
                if index > 0 {
                    query.push_str(connective);
                }
                query.push_str(&format!("{open}{term}{close}"));
            }
            query + sort
        })
}

/// 2,000 cases a test unless `PROPTEST_CASES` says otherwise.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|cases| cases.parse().ok())
        .unwrap_or(2_000);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn random_text_never_panics(query in any::<String>()) {
        check(&query)?;
    }

    #[test]
    fn random_jql_characters_never_panic(query in "[a-zA-Z0-9 =!<>~()\"',&|\\\\/@.:_\\-\n\u{e9}]{0,120}") {
        check(&query)?;
    }

    #[test]
    fn token_soups_never_panic(query in soup()) {
        check(&query)?;
    }

    #[test]
    fn structured_queries_never_panic(query in structured()) {
        check(&query)?;
    }

    #[test]
    fn deep_soups_never_panic(open in 0usize..200, query in soup(), close in 0usize..200) {
        let nested = format!("{}{query}{}", "(".repeat(open), ")".repeat(close));
        check(&nested)?;
        let negated = format!("{}{query}", "NOT ".repeat(open));
        check(&negated)?;
    }
}
