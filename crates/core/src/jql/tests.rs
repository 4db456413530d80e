//! Tables of queries with the typed query or the exact error they give.

use super::*;
use crate::clock::Timestamp;

/// 2024-03-15 10:30:00 UTC.
const NOW: Timestamp = Timestamp::from_millis(1_710_498_600_000);

/// The query resolved at [`NOW`], in a compact form: canonical field names, Jira's operators,
/// texts quoted, ids as `#n`, catalogue values by variant, dates as UTC instants.
fn show(jql: &str) -> String {
    match parse(jql) {
        Ok(query) => show_query(&query.resolve(NOW)),
        Err(error) => format!("error: {error}"),
    }
}

fn show_query(query: &ResolvedQuery) -> String {
    let mut shown = query.filter.as_ref().map(show_clause).unwrap_or_default();
    if !query.order_by.is_empty() {
        let keys: Vec<String> = query
            .order_by
            .iter()
            .map(|key| {
                let direction = match key.direction {
                    SortDirection::Ascending => "asc",
                    SortDirection::Descending => "desc",
                };
                format!("{} {direction}", key.field.name())
            })
            .collect();
        if !shown.is_empty() {
            shown.push(' ');
        }
        shown.push_str(&format!("order by {}", keys.join(", ")));
    }
    shown
}

fn show_clause(clause: &Clause<Timestamp>) -> String {
    let join = |clauses: &[Clause<Timestamp>], with: &str| {
        let shown: Vec<String> = clauses.iter().map(show_clause).collect();
        format!("({})", shown.join(with))
    };
    match clause {
        Clause::And(clauses) => join(clauses, " and "),
        Clause::Or(clauses) => join(clauses, " or "),
        Clause::Not(clause) => format!("not {}", show_clause(clause)),
        Clause::Term(term) => {
            let operand = match &term.operand {
                Operand::Empty => "EMPTY".to_string(),
                Operand::Value(value) => show_value(value),
                Operand::List(values) => {
                    let shown: Vec<String> = values.iter().map(show_value).collect();
                    format!("({})", shown.join(", "))
                }
            };
            format!("{} {} {operand}", term.field.name(), term.operator)
        }
    }
}

fn show_value(value: &Value<Timestamp>) -> String {
    match value {
        Value::Text(text) => format!("{text:?}"),
        Value::Number(number) => format!("#{number}"),
        Value::IssueKey { project, number } => format!("{project}-{number}"),
        Value::Status(status) => format!("{status:?}"),
        Value::StatusCategory(category) => format!("{category:?}"),
        Value::IssueType(issue_type) => format!("{issue_type:?}"),
        Value::Priority(priority) => format!("{priority:?}"),
        Value::Resolution(resolution) => format!("{resolution:?}"),
        Value::Date(instant) => show_instant(*instant),
        Value::CurrentUser => "currentUser()".into(),
        Value::MembersOf(group) => format!("membersOf({group:?})"),
        Value::Empty => "EMPTY".into(),
    }
}

fn show_instant(instant: Timestamp) -> String {
    let format = time::macros::format_description!(
        "[year]-[month]-[day]T[hour]:[minute]:[second].[subsecond digits:3]Z"
    );
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(instant.as_millis()) * 1_000_000)
        .ok()
        .and_then(|date| date.format(&format).ok())
        .unwrap_or_else(|| format!("{}ms", instant.as_millis()))
}

#[test]
fn valid_queries_and_what_they_mean() {
    let cases = [
        // Empty queries mean everything.
        ("", ""),
        ("  \n ", ""),
        // Projects: keys or names as text, unquoted numbers as ids.
        ("project = ABC", r#"project = "ABC""#),
        ("\"project\" = 10000", "project = #10000"),
        ("project = \"10000\"", r#"project = "10000""#),
        (
            "project in (ABC, \"My Project\", 10001)",
            r#"project in ("ABC", "My Project", #10001)"#,
        ),
        // Saved filters: unquoted numbers as ids, anything else as names; its four names.
        (
            "filter = 10000 OR request in (\"My bugs\", 10001)",
            r#"(filter = #10000 or filter in ("My bugs", #10001))"#,
        ),
        ("searchRequest != \"10000\"", r#"filter != "10000""#),
        // Issue keys split and upper-cased; numbers are issue ids.
        ("key = abc-12", "key = ABC-12"),
        (
            "issuekey in (ABC-1, \"XY_Z-002\", 10005)",
            "key in (ABC-1, XY_Z-2, #10005)",
        ),
        (
            "id > 10000 and key <= ABC-99",
            "(key > #10000 and key <= ABC-99)",
        ),
        ("issue != A1-1", "key != A1-1"),
        // Text search.
        (
            "summary ~ \"login bug\" AND description !~ crash",
            r#"(summary ~ "login bug" and description !~ "crash")"#,
        ),
        (
            "comment ~ blocked OR text ~ 'payment failed'",
            r#"(comment ~ "blocked" or text ~ "payment failed")"#,
        ),
        (
            r#"summary ~ "ä \"quoted\" \u00e9" and summary ~ 'it\'s'"#,
            r#"(summary ~ "ä \"quoted\" é" and summary ~ "it's")"#,
        ),
        (
            "Summary ~ foo AND SUMMARY !~ 007",
            r#"(summary ~ "foo" and summary !~ "007")"#,
        ),
        // EMPTY, NULL, and their spellings.
        (
            "description is EMPTY and description IS NOT null",
            "(description is EMPTY and description is not EMPTY)",
        ),
        (
            "assignee = EMPTY and reporter != null and labels in EMPTY and creator not in null",
            "(assignee is EMPTY and reporter is not EMPTY and labels is EMPTY and creator is not EMPTY)",
        ),
        (
            "assignee in (EMPTY, currentUser())",
            "assignee in (EMPTY, currentUser())",
        ),
        // Catalogue values by name (any case) or id.
        (
            "status in (\"To Do\", 3, done) and status != 'in progress'",
            "(status in (ToDo, InProgress, Done) and status != InProgress)",
        ),
        (
            "statusCategory in (\"To Do\", 4, Done, indeterminate, new)",
            "statusCategory in (New, InProgress, Done, InProgress, New)",
        ),
        (
            "type = bug and issuetype in (Task, 10001)",
            "(issuetype = Bug and issuetype in (Task, Story))",
        ),
        (
            "priority > Medium and priority <= 1",
            "(priority > Medium and priority <= Highest)",
        ),
        // Resolution: Unresolved is EMPTY.
        ("resolution = Unresolved", "resolution is EMPTY"),
        ("resolution != unresolved", "resolution is not EMPTY"),
        (
            "resolution in (Unresolved, Done, \"Won't Do\", 10003)",
            "resolution in (EMPTY, Done, WontDo, CannotReproduce)",
        ),
        // Labels and users stay text for the store to match or resolve.
        (
            "labels = backend AND labels not in (a, b)",
            r#"(labels = "backend" and labels not in ("a", "b"))"#,
        ),
        (
            "assignee = currentUser() or reporter in (bob, \"alice@example.com\", currentUser()) or creator = 007",
            r#"(assignee = currentUser() or reporter in ("bob", "alice@example.com", currentUser()) or creator = "007")"#,
        ),
        (
            "assignee in membersOf(\"jira-developers\") and reporter not in (membersOf(devs), bob)",
            r#"(assignee in (membersOf("jira-developers")) and reporter not in (membersOf("devs"), "bob"))"#,
        ),
        ("assignee = CURRENTUSER()", "assignee = currentUser()"),
        // Dates, relative to 2024-03-15 10:30 UTC.
        (
            "created >= -7d AND createdDate < now()",
            "(created >= 2024-03-08T10:30:00.000Z and created < 2024-03-15T10:30:00.000Z)",
        ),
        (
            "updated > \"-2w\" and updatedDate <= 4h",
            "(updated > 2024-03-01T10:30:00.000Z and updated <= 2024-03-15T14:30:00.000Z)",
        ),
        (
            "created > \"-1w 2d\" and created < 30m",
            "(created > 2024-03-06T10:30:00.000Z and created < 2024-03-15T11:00:00.000Z)",
        ),
        (
            "resolved >= startOfDay() and resolutiondate <= endOfDay()",
            "(resolutiondate >= 2024-03-15T00:00:00.000Z and resolutiondate <= 2024-03-15T23:59:59.999Z)",
        ),
        (
            "created >= startOfDay(-1) and created < startOfDay(\"-1d\") and updated > endOfDay(\"+1w\")",
            "(created >= 2024-03-14T00:00:00.000Z and created < 2024-03-14T00:00:00.000Z and updated > 2024-03-22T23:59:59.999Z)",
        ),
        (
            "created > startOfDay(\"-1M\") and created < endOfDay(1y)",
            "(created > 2024-02-15T00:00:00.000Z and created < 2025-03-15T23:59:59.999Z)",
        ),
        (
            "created = \"2024-01-31\" or created = \"2024/01/31\" or created = '2024-01-31 14:05'",
            "(created = 2024-01-31T00:00:00.000Z or created = 2024-01-31T00:00:00.000Z or created = 2024-01-31T14:05:00.000Z)",
        ),
        (
            "created > 1700000000000",
            "created > 2023-11-14T22:13:20.000Z",
        ),
        (
            "created in (2024-01-31, now())",
            "created in (2024-01-31T00:00:00.000Z, 2024-03-15T10:30:00.000Z)",
        ),
        // Logic: NOT > AND > OR, in any spelling.
        ("NOT status = Done", "not status = Done"),
        (
            "not (status = Done or status = \"To Do\") and !(priority = High)",
            "(not (status = Done or status = ToDo) and not priority = High)",
        ),
        (
            "status = Done && priority = High || type = Bug",
            "((status = Done and priority = High) or issuetype = Bug)",
        ),
        (
            "status = Done OR priority = High AND type = Bug",
            "(status = Done or (priority = High and issuetype = Bug))",
        ),
        (
            "NOT status = Done AND priority = High",
            "(not status = Done and priority = High)",
        ),
        (
            "status = Done & priority = High | type = Bug",
            "((status = Done and priority = High) or issuetype = Bug)",
        ),
        ("(((status = Done)))", "status = Done"),
        (
            "status = Done AND (priority = High OR NOT (type = Bug AND labels = x))",
            r#"(status = Done and (priority = High or not (issuetype = Bug and labels = "x")))"#,
        ),
        (
            "project=ABC&&status!=Done",
            r#"(project = "ABC" and status != Done)"#,
        ),
        // ORDER BY, alone or after a filter, with each field's default direction.
        ("ORDER BY created", "order by created desc"),
        (
            "order by created asc, priority, key desc, summary, status",
            "order by created asc, priority desc, key desc, summary asc, status asc",
        ),
        (
            "project = ABC\nAND status = Done\norder by KEY",
            r#"(project = "ABC" and status = Done) order by key asc"#,
        ),
    ];
    for (jql, expected) in cases {
        assert_eq!(show(jql), expected, "{jql}");
    }
}

#[test]
fn invalid_queries_and_what_jira_would_say() {
    let cases = [
        // Syntax: Jira's wording, and where.
        (
            "project foo",
            "Error in the JQL Query: Expecting operator but got 'foo'. The valid operators are \
             '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. \
             (line 1, character 9)",
        ),
        (
            "project",
            "Error in the JQL Query: Expecting operator before the end of the query. The valid \
             operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and \
             'IS NOT'. (line 1, character 8)",
        ),
        (
            "project =",
            "Error in the JQL Query: Expecting either a value, list or function before the end \
             of the query. (line 1, character 10)",
        ),
        (
            "project = = Done",
            "Error in the JQL Query: Expecting either a value, list or function but got '='. You \
             must surround '=' in quotation marks to use it as a value. (line 1, character 11)",
        ),
        (
            "project = \"ABC\" xyz",
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'xyz'. (line 1, \
             character 17)",
        ),
        (
            "project = A)",
            "Error in the JQL Query: Expecting either 'OR' or 'AND' but got ')'. (line 1, \
             character 12)",
        ),
        (
            "(project = A",
            "Error in the JQL Query: Expecting ')' before the end of the query. (line 1, \
             character 13)",
        ),
        (
            "status = \"abc",
            "Error in the JQL Query: The quoted string 'abc' has not been completed. (line 1, \
             character 10)",
        ),
        (
            "project = A AND",
            "Error in the JQL Query: Expecting a field name before the end of the query. (line \
             1, character 16)",
        ),
        (
            "and = 1",
            "Error in the JQL Query: Expecting a field name but got 'and'. You must surround \
             'and' in quotation marks to use it as a field name. (line 1, character 1)",
        ),
        (
            "project not foo",
            "Error in the JQL Query: Expecting 'IN' but got 'foo'. (line 1, character 13)",
        ),
        (
            "project in (A B)",
            "Error in the JQL Query: Expecting either ',' or ')' but got 'B'. (line 1, \
             character 15)",
        ),
        (
            "project in ()",
            "Error in the JQL Query: Expecting either a value or function but got ')'. You must \
             surround ')' in quotation marks to use it as a value. (line 1, character 13)",
        ),
        (
            "project in (A,",
            "Error in the JQL Query: Expecting either a value or function before the end of the \
             query. (line 1, character 15)",
        ),
        (
            "created > startOfDay(,)",
            "Error in the JQL Query: Expecting a function argument but got ','. You must \
             surround ',' in quotation marks to use it as a value. (line 1, character 22)",
        ),
        (
            "assignee = currentUser(a b)",
            "Error in the JQL Query: Expecting either ',' or ')' but got 'b'. (line 1, \
             character 26)",
        ),
        (
            "order created",
            "Error in the JQL Query: Expecting 'BY' but got 'created'. (line 1, character 7)",
        ),
        (
            "order by created foo",
            "Error in the JQL Query: Expecting either 'ASC', 'DESC' or ',' but got 'foo'. (line \
             1, character 18)",
        ),
        (
            "order by created desc foo",
            "Error in the JQL Query: Expecting ',' but got 'foo'. (line 1, character 23)",
        ),
        (
            "project = A\n  AND status ~",
            "Error in the JQL Query: Expecting either a value, list or function before the end \
             of the query. (line 2, character 15)",
        ),
        (
            "reporter=a/user/with/slash",
            "Error in the JQL Query: The character '/' is a reserved JQL character. You must \
             enclose it in a string or use the escape '\\u002f' instead. (line 1, character 11)",
        ),
    ];
    for (jql, expected) in cases {
        assert_eq!(show(jql), format!("error: {expected}"), "{jql}");
    }
}

#[test]
fn queries_that_do_not_fit_their_fields() {
    // (query, Jira's message, character of the fault on line 1)
    let cases = [
        (
            "foo = 1",
            "Field 'foo' does not exist or you do not have permission to view it.",
            1,
        ),
        (
            "\"foo bar\" = 1",
            "Field 'foo bar' does not exist or you do not have permission to view it.",
            1,
        ),
        (
            "project ~ ABC",
            "The operator '~' is not supported by the 'project' field.",
            9,
        ),
        (
            "summary = x",
            "The operator '=' is not supported by the 'summary' field.",
            9,
        ),
        (
            "text !~ x",
            "The operator '!~' is not supported by the 'text' field.",
            6,
        ),
        (
            "status > Done",
            "The operator '>' is not supported by the 'status' field.",
            8,
        ),
        (
            "labels ~ x",
            "The operator '~' is not supported by the 'labels' field.",
            8,
        ),
        (
            "Type not in (Bug) and type >= Bug",
            "The operator '>=' is not supported by the 'type' field.",
            28,
        ),
        (
            "project is EMPTY",
            "The field 'project' does not support searching for EMPTY values.",
            12,
        ),
        (
            "key = EMPTY",
            "The field 'key' does not support searching for EMPTY values.",
            7,
        ),
        (
            "comment is not empty",
            "The field 'comment' does not support searching for EMPTY values.",
            16,
        ),
        (
            "status in (Done, EMPTY)",
            "The field 'status' does not support searching for EMPTY values.",
            18,
        ),
        (
            "created > EMPTY",
            "The operator '>' does not support searching for EMPTY values.",
            11,
        ),
        (
            "summary ~ null",
            "The operator '~' does not support searching for EMPTY values.",
            11,
        ),
        (
            "assignee is bob",
            "The operator 'is' only supports searching for EMPTY values.",
            13,
        ),
        (
            "assignee is not currentUser()",
            "The operator 'is not' only supports searching for EMPTY values.",
            17,
        ),
        (
            "project = (A, B)",
            "The operator '=' does not support a list of values for the field 'project'.",
            11,
        ),
        (
            "project in ABC",
            "The operator 'in' needs a list of values for the field 'project', like ('A', 'B').",
            12,
        ),
        (
            "assignee = membersOf(devs)",
            "The operator '=' does not support a list of values for the field 'assignee'.",
            12,
        ),
        (
            "status = Nope",
            "The value 'Nope' does not exist for the field 'status'.",
            10,
        ),
        (
            "priority in (High, Urgent)",
            "The value 'Urgent' does not exist for the field 'priority'.",
            20,
        ),
        (
            "type = Epic",
            "The value 'Epic' does not exist for the field 'type'.",
            8,
        ),
        (
            "statusCategory = Undefined",
            "The value 'Undefined' does not exist for the field 'statusCategory'.",
            18,
        ),
        (
            "resolution = Fixed",
            "The value 'Fixed' does not exist for the field 'resolution'.",
            14,
        ),
        (
            "project = 99999999999999999999",
            "The value '99999999999999999999' does not exist for the field 'project'.",
            11,
        ),
        (
            "key = foo",
            "The issue key 'foo' for field 'key' is invalid.",
            7,
        ),
        (
            "key in (ABC-1, 12-3)",
            "The issue key '12-3' for field 'key' is invalid.",
            16,
        ),
        (
            "id = ABC-",
            "The issue key 'ABC-' for field 'id' is invalid.",
            6,
        ),
        (
            "id = 99999999999999999999",
            "The issue key '99999999999999999999' for field 'id' is invalid.",
            6,
        ),
        (
            "created > yesterday",
            "Date value 'yesterday' for field 'created' is invalid. Valid formats include: \
             'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period \
             format e.g. '-5d', '4w 2d'.",
            11,
        ),
        (
            "resolved < \"2024-02-30\"",
            "Date value '2024-02-30' for field 'resolved' is invalid. Valid formats include: \
             'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period \
             format e.g. '-5d', '4w 2d'.",
            12,
        ),
        (
            "summary ~ \"\"",
            "The field 'summary' does not support searching for an empty string.",
            11,
        ),
        (
            "text ~ '   '",
            "The field 'text' does not support searching for an empty string.",
            8,
        ),
        (
            "assignee = foo()",
            "Unable to find JQL function 'foo()'.",
            12,
        ),
        (
            "assignee in (bob, foo(1, \"two\"))",
            "Unable to find JQL function 'foo(1, two)'.",
            19,
        ),
        (
            "status = currentUser()",
            "A value provided by the function 'currentUser' is invalid for the field 'status'.",
            10,
        ),
        (
            "assignee = now()",
            "A value provided by the function 'now' is invalid for the field 'assignee'.",
            12,
        ),
        (
            "created = currentUser()",
            "A date for the field 'created' provided by the function 'currentUser' is not valid.",
            11,
        ),
        (
            "created < membersOf(x)",
            "A date for the field 'created' provided by the function 'membersOf' is not valid.",
            11,
        ),
        (
            "assignee = currentUser(1)",
            "Function 'currentUser' expected '0' arguments but received '1'.",
            12,
        ),
        (
            "assignee in membersOf()",
            "Function 'membersOf' expected '1' arguments but received '0'.",
            13,
        ),
        (
            "created > startOfDay(1, 2)",
            "Function 'startOfDay' expected between '0' and '1' arguments but received '2'.",
            11,
        ),
        (
            "created > now(\"x\")",
            "Function 'now' expected '0' arguments but received '1'.",
            11,
        ),
        (
            "created > startOfDay(\"invalid\")",
            "Duration for function 'startOfDay' should have the format (+/-)n(yMwdm), e.g -1M for 1 month earlier.",
            22,
        ),
        (
            "created > endOfDay(\"1Y\")",
            "Duration for function 'endOfDay' should have the format (+/-)n(yMwdm), e.g -1M for 1 month earlier.",
            20,
        ),
        ("order by foo", "Not able to sort using field 'foo'.", 10),
        (
            "order by text",
            "Field 'text' does not support sorting.",
            10,
        ),
        (
            "project = A order by labels asc",
            "Field 'labels' does not support sorting.",
            22,
        ),
        (
            "order by key, key",
            "The sort field 'key' is referenced multiple times in the JQL sort.",
            15,
        ),
        (
            "ORDER BY created DESC, Created",
            "The sort field 'Created' is referenced multiple times in the JQL sort.",
            24,
        ),
        (
            "order by key, id desc",
            "The sort field 'id' is referenced multiple times in the JQL sort. Field 'id' is an alias for field 'key'.",
            15,
        ),
    ];
    for (jql, expected, character) in cases {
        let error = parse(jql).err();
        assert_eq!(
            error.as_ref().map(ToString::to_string).as_deref(),
            Some(expected),
            "{jql}"
        );
        assert_eq!(
            error.map(|e| e.position()),
            Some(Position { line: 1, character }),
            "{jql}"
        );
    }
    let error = parse("project = A\n  AND foo = 1").err();
    assert_eq!(
        error.map(|e| e.position()),
        Some(Position {
            line: 2,
            character: 7
        })
    );
}

/// Which operators each field takes, tried through the parser with a value that fits.
#[test]
fn operators_each_field_accepts() {
    let table = [
        ("project", "ABC", "= != in not in"),
        ("key", "ABC-1", "= != > >= < <= in not in"),
        ("summary", "word", "~ !~"),
        ("description", "word", "~ !~ is is not"),
        ("comment", "word", "~ !~"),
        ("text", "word", "~"),
        ("status", "Done", "= != in not in"),
        ("statusCategory", "Done", "= != in not in"),
        ("issuetype", "Bug", "= != in not in"),
        ("priority", "High", "= != > >= < <= in not in"),
        ("labels", "x", "= != in not in is is not"),
        ("assignee", "bob", "= != in not in is is not"),
        ("reporter", "bob", "= != in not in is is not"),
        ("creator", "bob", "= != in not in is is not"),
        ("created", "-1d", "= != > >= < <= in not in"),
        ("updated", "-1d", "= != > >= < <= in not in"),
        ("resolution", "Done", "= != in not in is is not"),
        (
            "resolutiondate",
            "-1d",
            "= != > >= < <= in not in is is not",
        ),
        ("filter", "10000", "= != in not in"),
        ("savedFilter", "\"My bugs\"", "= != in not in"),
    ];
    let operators = [
        "=", "!=", ">", ">=", "<", "<=", "~", "!~", "in", "not in", "is", "is not",
    ];
    for (field, value, expected) in table {
        let accepted: Vec<&str> = operators
            .into_iter()
            .filter(|operator| {
                let operand = match *operator {
                    "in" | "not in" => format!("({value})"),
                    "is" | "is not" => "EMPTY".to_string(),
                    _ => value.to_string(),
                };
                parse(&format!("{field} {operator} {operand}")).is_ok()
            })
            .collect();
        assert_eq!(accepted.join(" "), expected, "{field}");
    }
}

#[test]
fn every_catalogue_clause_name_is_a_field() {
    for field in crate::catalog::FIELDS {
        for name in field.clause_names {
            assert!(Field::from_name(name).is_some(), "{name}");
            assert!(Field::from_name(&name.to_uppercase()).is_some(), "{name}");
        }
    }
    assert_eq!(Field::from_name("CREATEDdate"), Some(Field::Created));
    assert_eq!(
        Field::from_name("statuscategory"),
        Some(Field::StatusCategory)
    );
    assert_eq!(Field::from_name("duedate"), None);
}

#[test]
fn limits_are_refused_cleanly() {
    // Length counts characters, not bytes.
    let filler = "é".repeat(MAX_QUERY_CHARS - "summary ~ \"\"".chars().count());
    let longest = format!("summary ~ \"{filler}\"");
    assert!(parse(&longest).is_ok());
    let too_long = format!("{longest} ");
    assert_eq!(
        show(&too_long),
        "error: Error in the JQL Query: The query is too long: it has more than 100000 \
         characters. (line 1, character 100001)"
    );
    // A megabyte of parentheses is refused by its length, reading only the first 100,001.
    assert!(parse(&"(".repeat(1 << 20)).is_err());

    let nested = |depth: usize| format!("{}status = Done{}", "(".repeat(depth), ")".repeat(depth));
    assert!(parse(&nested(MAX_NESTING)).is_ok());
    assert_eq!(
        show(&nested(MAX_NESTING + 1)),
        "error: Error in the JQL Query: The query nests parentheses and NOT more than 50 \
         deep. (line 1, character 51)"
    );
    assert!(parse(&"(".repeat(MAX_QUERY_CHARS)).is_err());
    let negated = |depth: usize| format!("{}status = Done", "NOT ".repeat(depth));
    assert!(parse(&negated(MAX_NESTING)).is_ok());
    assert_eq!(
        parse(&negated(MAX_NESTING + 1))
            .err()
            .map(|e| e.position().character),
        Some(4 * MAX_NESTING + 1)
    );
    assert!(parse(&"!".repeat(MAX_QUERY_CHARS)).is_err());

    let list = |length: usize| {
        let values: Vec<String> = (0..length).map(|n| n.to_string()).collect();
        format!("key in ({})", values.join(","))
    };
    assert!(parse(&list(MAX_LIST_VALUES)).is_ok());
    let too_many = list(MAX_LIST_VALUES + 1);
    let last_value = too_many.rfind(',').unwrap_or_default() + 2;
    assert_eq!(
        show(&too_many),
        format!(
            "error: Error in the JQL Query: A list can hold at most 1000 values. (line 1, \
             character {last_value})"
        )
    );
    // Long flat conditions are fine: only nesting is bounded.
    let many_terms = vec!["status = Done"; 500].join(" AND ");
    assert!(parse(&many_terms).is_ok());
}

#[test]
fn resolving_keeps_everything_but_the_dates() {
    let query = parse("assignee = currentUser() AND created > startOfDay() ORDER BY key").unwrap();
    let at_noon = query.resolve(Timestamp::from_millis(1_710_504_000_000));
    let at_midnight = query.resolve(Timestamp::from_millis(1_710_460_800_000));
    assert_eq!(
        at_noon, at_midnight,
        "the same day starts at the same instant"
    );
    assert_eq!(at_noon.order_by, query.order_by);
    let next_day = query.resolve(Timestamp::from_millis(1_710_460_800_000 + 86_400_000));
    assert_ne!(next_day, at_midnight);
}

#[test]
fn a_query_reads_the_clock_when_any_date_is_relative() {
    for timeless in [
        "",
        "project = ABC ORDER BY created DESC",
        "created > \"2026-01-01\" AND updated <= \"2026/12/06 10:00\" AND assignee = currentUser()",
        "created > 1700000000000 OR NOT (status = Done)",
    ] {
        assert!(!parse(timeless).unwrap().reads_the_clock(), "{timeless}");
    }
    for relative in [
        "created > -1d",
        "project = ABC AND (status = Done OR updated < now())",
        "NOT created in (startOfDay(), \"2026-01-01\")",
        "resolved <= endOfDay(\"+1w\")",
    ] {
        assert!(parse(relative).unwrap().reads_the_clock(), "{relative}");
    }
}
