//! `/rest/api/2/search` through a real server, on both stores: paging with exact totals, the
//! issue shape of `GET issue`, `fields` and `expand`, GET and POST alike, Jira's errors with
//! positions, `validateQuery`, what tokens (scopes, project restrictions) and roles let a caller
//! find, and hostile queries that must never cost a 500.

use std::collections::HashSet;

use crate::common::*;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use tessera_core::catalog::{IssueType, Priority};
use tessera_core::clock::Timestamp;
use tessera_core::model::NewIssue;
use tessera_core::store::{IssueStore, ProjectStore, UserStore};
use tessera_testkit::backend_tests;

const SEARCH: &str = "/rest/api/2/search";

/// Percent-encodes a query-string value.
fn encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn get_path(jql: &str, rest: &str) -> String {
    format!("{SEARCH}?jql={}{rest}", encode(jql))
}

/// `count` issues in `project` with summaries `"{prefix} {n}"`, straight through the store.
async fn issues(server: &TestServer, project: &str, prefix: &str, count: usize) {
    let project = server
        .store
        .find_project_by_key(project)
        .await
        .unwrap()
        .unwrap();
    let admin = server
        .store
        .find_user_by_name("admin")
        .await
        .unwrap()
        .unwrap();
    for n in 1..=count {
        server
            .store
            .create_issue(NewIssue {
                project_id: project.id,
                issue_type: IssueType::Task,
                summary: format!("{prefix} {n}"),
                description: None,
                priority: Priority::DEFAULT,
                assignee: None,
                reporter: Some(admin.id),
                creator: admin.id,
                labels: if n % 2 == 0 {
                    vec!["even".into()]
                } else {
                    Vec::new()
                },
                original_estimate: None,
                remaining_estimate: None,
                planned: Vec::new(),
                created: Timestamp::from_millis(1_700_000_000_000 + n as i64 * 1000),
            })
            .await
            .unwrap();
    }
}

async fn ok_json(response: Response) -> Value {
    let status = response.status();
    let body = json_of(response).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

fn keys(body: &Value) -> Vec<String> {
    body["issues"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["key"].as_str().unwrap().to_string())
        .collect()
}

backend_tests! {
    async fn pages_carry_exact_totals_and_echo_the_page_size(db) {
        let server = TestServer::start(db).await;
        server.create_project("PAGE").await;
        issues(&server, "PAGE", "Paged", 60).await;
        let mut seen = Vec::new();
        for start in [0, 25, 50] {
            let path = get_path("project = PAGE ORDER BY key ASC", &format!("&startAt={start}&maxResults=25"));
            let body = ok_json(server.admin(Method::GET, &path).send().await.unwrap()).await;
            assert_eq!(body["total"], 60);
            assert_eq!(body["startAt"], start);
            assert_eq!(body["maxResults"], 25);
            assert_eq!(body["expand"], "schema,names");
            seen.extend(keys(&body));
        }
        let wanted: Vec<String> = (1..=60).map(|n| format!("PAGE-{n}")).collect();
        assert_eq!(seen, wanted);
        // Past the end: no issues, the same total.
        let body = ok_json(server.admin(Method::GET, &get_path("project = PAGE", "&startAt=60")).send().await.unwrap()).await;
        assert_eq!((body["total"].as_i64(), keys(&body).len()), (Some(60), 0));
        // The effective page size is echoed: capped at 1000, 50 by default, 0 counts only,
        // unparsable values fall back.
        for (query, echoed, shown) in [("&maxResults=5000", 1000, 60), ("", 50, 50), ("&maxResults=0", 0, 0), ("&maxResults=x&startAt=-4", 50, 50)] {
            let body = ok_json(server.admin(Method::GET, &get_path("project = PAGE", query)).send().await.unwrap()).await;
            assert_eq!(body["maxResults"], echoed, "{query}");
            assert_eq!(body["startAt"], 0, "{query}");
            assert_eq!(body["total"], 60, "{query}");
            assert_eq!(keys(&body).len(), shown, "{query}");
        }
        // Newest first without ORDER BY; `latest` is the same API.
        let body = ok_json(server.admin(Method::GET, "/rest/api/latest/search?jql=labels%3Deven&maxResults=3").send().await.unwrap()).await;
        assert_eq!(body["total"], 30);
        assert_eq!(keys(&body), ["PAGE-60", "PAGE-58", "PAGE-56"]);
    }

    async fn issues_are_shaped_as_get_issue_shapes_them(db) {
        let server = TestServer::start(db).await;
        server.create_project("SHAPE").await;
        let key = server.create_issue("SHAPE", "Shaped like GET").await;
        server.admin_json(Method::POST, &format!("/rest/api/2/issue/{key}/comment"), json!({"body": "a comment"}), StatusCode::CREATED).await;
        let get = ok_json(server.admin(Method::GET, &format!("/rest/api/2/issue/{key}")).send().await.unwrap()).await;
        let all = ok_json(server.admin(Method::GET, &get_path(&format!("key = {key}"), "&fields=*all")).send().await.unwrap()).await;
        assert_eq!(all["issues"][0], get);
        assert_eq!(all["issues"][0]["fields"]["comment"]["total"], 1);
        // By default the navigable fields, as Jira's search: no comments.
        let navigable = ok_json(server.admin(Method::GET, &get_path(&format!("key = {key}"), "")).send().await.unwrap()).await;
        let fields = navigable["issues"][0]["fields"].as_object().unwrap();
        assert!(fields.contains_key("summary") && fields.contains_key("status"));
        assert!(!fields.contains_key("comment"));
        assert!(navigable.get("names").is_none());
        // A list of fields, repeated or comma-joined; `expand` at the top and per issue.
        let path = get_path(&format!("key = {key}"), "&fields=summary,status&fields=labels&expand=names,schema,transitions");
        let picked = ok_json(server.admin(Method::GET, &path).send().await.unwrap()).await;
        let issue = &picked["issues"][0];
        let mut shown: Vec<&String> = issue["fields"].as_object().unwrap().keys().collect();
        shown.sort();
        assert_eq!(shown, ["labels", "status", "summary"]);
        assert_eq!(picked["names"]["summary"], "Summary");
        assert_eq!(picked["schema"]["status"]["type"], "status");
        let with_transitions = ok_json(server.admin(Method::GET, &format!("/rest/api/2/issue/{key}?expand=transitions")).send().await.unwrap()).await;
        assert_eq!(issue["transitions"], with_transitions["transitions"]);
        assert!(issue["transitions"].is_array());
        assert_eq!(issue["self"], format!("{}/rest/api/2/issue/{}", server.base, issue["id"].as_str().unwrap()));
    }

    async fn post_takes_the_same_request_as_a_body(db) {
        let server = TestServer::start(db).await;
        server.create_project("POST").await;
        issues(&server, "POST", "Posted", 12).await;
        let get = ok_json(server.admin(Method::GET, &get_path("project = POST AND labels = even ORDER BY key DESC", "&startAt=2&maxResults=3&fields=summary")).send().await.unwrap()).await;
        let body = json!({"jql": "project = POST AND labels = even ORDER BY key DESC", "startAt": 2, "maxResults": 3, "fields": ["summary"], "expand": ["names"]});
        let posted = ok_json(server.admin(Method::POST, SEARCH).json(&body).send().await.unwrap()).await;
        assert_eq!(posted["issues"], get["issues"]);
        assert_eq!((posted["total"].as_i64(), posted["startAt"].as_i64(), posted["maxResults"].as_i64()), (Some(6), Some(2), Some(3)));
        assert_eq!(keys(&posted), ["POST-8", "POST-6", "POST-4"]);
        assert_eq!(posted["names"]["summary"], "Summary");
        // `null` members are absent; an empty body object finds everything visible.
        let everything = ok_json(server.admin(Method::POST, SEARCH).json(&json!({"jql": null, "maxResults": null})).send().await.unwrap()).await;
        assert_eq!((everything["total"].as_i64(), everything["maxResults"].as_i64()), (Some(12), Some(50)));
        // The body must be JSON: an empty one is 400, another type 415.
        expect_error(server.admin(Method::POST, SEARCH).header("content-type", "application/json").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        let response = server.admin(Method::POST, SEARCH).header("content-type", "text/plain").body("jql=x").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        expect_error(server.admin(Method::POST, SEARCH).json(&json!({"jql": 1})).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    }

    async fn bad_queries_are_400s_in_jiras_words_with_positions(db) {
        let server = TestServer::start(db).await;
        server.create_project("ERR").await;
        issues(&server, "ERR", "Error", 3).await;
        let cases = [
            ("project = ERR AND", "Error in the JQL Query: Expecting a field name before the end of the query. (line 1, character 18)"),
            ("project ERR", "Error in the JQL Query: Expecting operator but got 'ERR'. The valid operators are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. (line 1, character 9)"),
            ("summary ~ \"open", "Error in the JQL Query: The quoted string 'open' has not been completed. (line 1, character 11)"),
            ("nope = 1", "Field 'nope' does not exist or you do not have permission to view it."),
            ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
            ("assignee = ghost", "The value 'ghost' does not exist for the field 'assignee'."),
            ("key = ERR-99", "An issue with key 'ERR-99' does not exist for field 'key'."),
            ("status = Sleeping", "The value 'Sleeping' does not exist for the field 'status'."),
            ("ORDER BY comment", "Field 'comment' does not support sorting."),
        ];
        for (jql, message) in cases {
            let body = expect_error(server.admin(Method::GET, &get_path(jql, "")).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
            assert_eq!(body["errorMessages"], json!([message]), "{jql}");
            assert_eq!(body["errors"], json!({}), "{jql}");
            let body = expect_error(server.admin(Method::POST, SEARCH).json(&json!({"jql": jql})).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
            assert_eq!(body["errorMessages"], json!([message]), "POST {jql}");
        }
        // Several unknown values: every message, in the order written.
        let body = expect_error(server.admin(Method::GET, &get_path("assignee = ghost OR reporter = spook", "")).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert_eq!(body["errorMessages"].as_array().unwrap().len(), 2);
        // `warn` runs the query and says what it ignored; `none`/`false` runs it quietly. Broken
        // JQL stays an error.
        let jql = "assignee = ghost OR project = ERR";
        let warned = ok_json(server.admin(Method::GET, &get_path(jql, "&validateQuery=warn")).send().await.unwrap()).await;
        assert_eq!(warned["total"], 3);
        assert_eq!(warned["warningMessages"], json!(["The value 'ghost' does not exist for the field 'assignee'."]));
        for off in ["none", "false"] {
            let quiet = ok_json(server.admin(Method::GET, &get_path(jql, &format!("&validateQuery={off}"))).send().await.unwrap()).await;
            assert_eq!(quiet["total"], 3);
            assert!(quiet.get("warningMessages").is_none());
        }
        let posted = ok_json(server.admin(Method::POST, SEARCH).json(&json!({"jql": jql, "validateQuery": false})).send().await.unwrap()).await;
        assert_eq!(posted["total"], 3);
        expect_error(server.admin(Method::GET, &get_path("project =", "&validateQuery=none")).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    }

    async fn callers_find_only_what_they_may_browse(db) {
        let server = TestServer::start(db).await;
        server.create_project("OPEN").await;
        server.create_project("SHUT").await;
        issues(&server, "OPEN", "Open", 4).await;
        issues(&server, "SHUT", "Shut", 3).await;
        // SHUT is for its developers only.
        server.admin_json(Method::DELETE, "/rest/api/2/project/SHUT/role/10000?group=jira-users", Value::Null, StatusCode::NO_CONTENT).await;
        // ... and the administrators (its lead among them) leave its roles: Jira
        // administrators still.
        server.admin_json(Method::DELETE, "/rest/api/2/project/SHUT/role/10002?user=admin", Value::Null, StatusCode::NO_CONTENT).await;
        server.admin_json(Method::DELETE, "/rest/api/2/project/SHUT/role/10002?group=jira-administrators", Value::Null, StatusCode::NO_CONTENT).await;
        server.create_user("dev", &[]).await;
        server.create_user("visitor", &[]).await;
        server.add_to_role("SHUT", 10001, "dev").await;

        let total = |body: &Value| body["total"].as_i64().unwrap();
        let dev = ok_json(server.user(Method::GET, SEARCH, "dev").send().await.unwrap()).await;
        assert_eq!(total(&dev), 7);
        let visitor = ok_json(server.user(Method::GET, SEARCH, "visitor").send().await.unwrap()).await;
        assert_eq!(total(&visitor), 4);
        assert!(keys(&visitor).iter().all(|k| k.starts_with("OPEN-")));
        // A project one may not browse does not exist, and neither do its issues.
        let body = expect_error(server.user(Method::GET, &get_path("project = SHUT", ""), "visitor").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert_eq!(body["errorMessages"], json!(["The value 'SHUT' does not exist for the field 'project'."]));
        expect_error(server.user(Method::GET, &get_path("key = SHUT-1", ""), "visitor").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        // A Jira administrator without a role sees no issue, as with GET issue.
        let admin = ok_json(server.admin(Method::GET, &get_path("project = OPEN", "&validateQuery=none")).send().await.unwrap()).await;
        assert_eq!(total(&admin), 4, "jira-users, which admin belongs to, browse OPEN");
        let admin = ok_json(server.admin(Method::GET, &get_path("project = SHUT", "&validateQuery=none")).send().await.unwrap()).await;
        assert_eq!(total(&admin), 0);

        // A READ token searches; a token restricted to OPEN never finds SHUT's issues; a token
        // without the read scope finds nothing.
        let read = server.create_token("dev", json!({"name": "read", "expirationDuration": 5, "scopes": ["READ"]})).await;
        let body = ok_json(server.bearer(Method::GET, SEARCH, &read).send().await.unwrap()).await;
        assert_eq!(total(&body), 7);
        let posted = ok_json(server.bearer(Method::POST, SEARCH, &read).json(&json!({"jql": "project = SHUT"})).send().await.unwrap()).await;
        assert_eq!(total(&posted), 3);
        let open_only = server.create_token("dev", json!({"name": "open", "expirationDuration": 5, "projects": ["OPEN"]})).await;
        let body = ok_json(server.bearer(Method::GET, &get_path("", "&maxResults=1000"), &open_only).send().await.unwrap()).await;
        assert_eq!(total(&body), 4);
        assert!(keys(&body).iter().all(|k| k.starts_with("OPEN-")));
        for jql in ["project = SHUT", "key = SHUT-1", "project in (OPEN, SHUT)"] {
            expect_error(server.bearer(Method::GET, &get_path(jql, ""), &open_only).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        }
        let quiet = ok_json(server.bearer(Method::GET, &get_path("project = SHUT OR summary ~ shut", "&validateQuery=none"), &open_only).send().await.unwrap()).await;
        assert_eq!(total(&quiet), 0);
        // Naming a user or a group needs read:jira-user as well (whether the name resolves
        // would tell who exists); currentUser() does not.
        let work_only = server.create_token("dev", json!({"name": "work", "expirationDuration": 5, "scopes": ["read:jira-work"]})).await;
        for jql in ["assignee = visitor", "reporter = nobody-at-all", "assignee = JIRAUSER10000", "reporter in membersOf(\"jira-users\")"] {
            let refused = server.bearer(Method::GET, &get_path(jql, "&validateQuery=warn"), &work_only).send().await.unwrap();
            assert_eq!(refused.headers()["x-authentication-denied-reason"], "scope_missing", "{jql}");
            let body = expect_error(refused, StatusCode::FORBIDDEN).await;
            assert!(body.to_string().contains("read:jira-user"), "{jql}: {body}");
        }
        for jql in ["assignee = currentUser() OR project = OPEN", "assignee is EMPTY"] {
            ok_json(server.bearer(Method::GET, &get_path(jql, ""), &work_only).send().await.unwrap()).await;
        }
        let body = ok_json(server.bearer(Method::GET, &get_path("reporter = visitor", "&validateQuery=warn"), &read).send().await.unwrap()).await;
        assert_eq!(total(&body), 0, "READ includes read:jira-user");
        let users_only = server.create_token("dev", json!({"name": "users", "expirationDuration": 5, "scopes": ["read:jira-user"]})).await;
        let body = ok_json(server.bearer(Method::GET, SEARCH, &users_only).send().await.unwrap()).await;
        assert_eq!((total(&body), keys(&body).len()), (0, 0));
        // Anonymous callers must authenticate.
        expect_error(server.anonymous(Method::GET, SEARCH).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    }

    async fn hostile_queries_never_cost_a_500(db) {
        let server = TestServer::start(db).await;
        server.create_project("HOST").await;
        issues(&server, "HOST", "Hostile 50% off_peak", 3).await;
        let deep = format!("{}summary ~ x{}", "(".repeat(60), ")".repeat(60));
        let nots = format!("{}summary ~ x", "NOT ".repeat(45));
        let long = format!("summary ~ \"{}\"", "a".repeat(12_000));
        let many_terms = format!("summary ~ \"{}\"", (0..1_500).map(|n| format!("w{n}")).collect::<Vec<_>>().join(" "));
        let many_ors = vec!["summary ~ x"; 600].join(" OR ");
        let many_ands = vec!["project = HOST"; 500].join(" AND ");
        let big_list = format!("key in ({})", (1..=1_001).map(|n| format!("HOST-{n}")).collect::<Vec<_>>().join(","));
        let long_list = format!("assignee in ({})", vec!["admin"; 1000].join(","));
        let hostile: Vec<String> = [
            "summary ~ \"'; DROP TABLE issues; --\"",
            "project = \"HOST' OR '1'='1\"",
            "summary ~ \"%\" OR summary ~ \"_\" OR summary ~ \"\\\\\"",
            "summary ~ \"*\"",
            "\"",
            "((((",
            ")",
            "ORDER BY",
            "project = 99999999999999999999999",
            "id = -1",
            "key = HOST-99999999999999999999",
            "key > HOST-9223372036854775807",
            "id > 9223372036854775807",
            "created > \"9999-12-31\"",
            "created > -999999999999w",
            "created < endOfDay(-2147483648M)",
            "updated > startOfDay(\"+99999y\")",
            "assignee in membersOf(\"\")",
            "assignee in membersOf(\"%\")",
            "labels = \"\u{202e}\u{fffd}\u{1F600}\"",
            "summary ~ \"\u{1F600}\"",
            "text !~ x",
            "labels ~ x",
            "status = \"\"",
            "project = \"\"",
            "assignee = \"\"",
            "project in ()",
            "priority > Highest",
            "resolution = Unresolved ORDER BY resolution, resolved, assignee, reporter, creator, status, statusCategory, issuetype, project, key, summary, priority, created, updated",
            "a\u{0001}b = c",
        ]
        .into_iter()
        .map(String::from)
        .chain([deep, nots, long, many_terms, many_ors, many_ands, big_list, long_list])
        .collect();
        for jql in &hostile {
            let shown: String = jql.chars().take(60).collect();
            let response = server.admin(Method::POST, SEARCH).json(&json!({"jql": jql, "maxResults": 5})).send().await.unwrap();
            let status = response.status();
            let body = json_of(response).await;
            assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST, "{shown}: {status} {body}");
            if status == StatusCode::BAD_REQUEST {
                assert!(body["errorMessages"].as_array().is_some_and(|m| !m.is_empty()), "{shown}: {body}");
            }
            if jql.len() < 6_000 {
                let response = server.admin(Method::GET, &get_path(jql, "&maxResults=5")).send().await.unwrap();
                assert!(matches!(response.status(), StatusCode::OK | StatusCode::BAD_REQUEST), "GET {shown}: {}", response.status());
            }
        }
        // NUL is refused at the edge.
        let response = server.admin(Method::GET, &format!("{SEARCH}?jql=summary%20~%20%22a%00b%22")).send().await.unwrap();
        expect_error(response, StatusCode::BAD_REQUEST).await;
        // LIKE's wildcards are plain text, and nothing above changed the data.
        let found = |jql: &str| {
            let path = get_path(jql, "");
            let server = &server;
            async move { ok_json(server.admin(Method::GET, &path).send().await.unwrap()).await["total"].as_i64().unwrap() }
        };
        assert_eq!(found("summary ~ \"50%\"").await, 3);
        assert_eq!(found("summary ~ \"\\\"50% off\\\"\"").await, 3);
        assert_eq!(found("summary ~ \"\\\"5_%\\\"\"").await, 0);
        assert_eq!(found("summary ~ \"off_peak\"").await, 3);
        assert_eq!(found("summary ~ \"off?peak\"").await, 3);
        assert_eq!(found("project = HOST").await, 3);
        let seen: HashSet<String> = keys(&ok_json(server.admin(Method::GET, SEARCH).send().await.unwrap()).await).into_iter().collect();
        assert_eq!(seen.len(), 3);
    }
}
