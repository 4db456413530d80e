//! Worklogs through a real server, on SQLite and on PostgreSQL: logging work in Jira's
//! durations, the remaining estimate each `adjustEstimate` leaves, the issue's time tracking
//! fields, who may log, change and delete (own and all), and the incremental exports that
//! payroll and BI tools run, which name only worklogs of projects the caller may browse.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

/// Logs `body` on `issue` as `user` (with the query `query`); the status and body.
async fn log(
    server: &TestServer,
    user: &str,
    issue: &str,
    query: &str,
    body: Value,
) -> (StatusCode, Value) {
    let path = format!("/rest/api/2/issue/{issue}/worklog{query}");
    let request = if user == "admin" {
        server.admin(Method::POST, &path)
    } else {
        server.user(Method::POST, &path, user)
    };
    let response = request.json(&body).send().await.unwrap();
    let status = response.status();
    (status, json_of(response).await)
}

/// Takes the project's Users role from jira-users, so that only its members see it.
async fn restrict(server: &TestServer, key: &str) {
    let response = server
        .admin(
            Method::DELETE,
            &format!("/rest/api/2/project/{key}/role/10000?group=jira-users"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
}

/// The issue's (timespent, timeestimate) fields.
async fn tracked(server: &TestServer, issue: &str) -> (Value, Value) {
    let found = server
        .admin_json(
            Method::GET,
            &format!("/rest/api/2/issue/{issue}?fields=timespent,timeestimate,timetracking"),
            Value::Null,
            StatusCode::OK,
        )
        .await;
    (
        found["fields"]["timespent"].clone(),
        found["fields"]["timeestimate"].clone(),
    )
}

backend_tests! {
    async fn developers_log_work_and_the_issue_keeps_count(db) {
        let server = TestServer::start(db).await;
        server.create_project("WL").await;
        server.create_user("dev", &[]).await;
        server.create_user("reader", &[]).await;
        server.add_to_role("WL", 10001, "dev").await;
        server.add_to_role("WL", 10000, "reader").await;
        let issue = server.create_issue("WL", "billable").await;
        assert_eq!(tracked(&server, &issue).await, (Value::Null, Value::Null));

        let (status, first) = log(&server, "dev", &issue, "", json!({
            "timeSpent": "1h 30m", "started": "2026-01-15T09:00:00.000+0100", "comment": "pairing"})).await;
        assert_eq!(status, StatusCode::CREATED, "{first}");
        assert_eq!((first["timeSpent"].as_str(), first["timeSpentSeconds"].as_i64()), (Some("1h 30m"), Some(5400)));
        assert_eq!(first["started"], "2026-01-15T08:00:00.000+0000");
        assert_eq!((first["author"]["name"].as_str(), first["comment"].as_str()), (Some("dev"), Some("pairing")));
        let id = first["id"].as_str().unwrap().to_string();
        assert!(first["self"].as_str().unwrap().ends_with(&format!("/rest/api/2/issue/{}/worklog/{id}", first["issueId"].as_str().unwrap())));
        assert_eq!(tracked(&server, &issue).await, (json!(5400), Value::Null));

        // A new estimate, then auto reduces it, manual by what is named, leave not at all.
        let (status, _) = log(&server, "dev", &issue, "?adjustEstimate=new&newEstimate=1d", json!({"timeSpentSeconds": 3600})).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(tracked(&server, &issue).await, (json!(9000), json!(28800)));
        log(&server, "dev", &issue, "", json!({"timeSpent": "2h"})).await;
        assert_eq!(tracked(&server, &issue).await, (json!(16200), json!(21600)));
        log(&server, "dev", &issue, "?adjustEstimate=manual&reduceBy=30m", json!({"timeSpent": "4h"})).await;
        assert_eq!(tracked(&server, &issue).await, (json!(30600), json!(19800)));
        log(&server, "dev", &issue, "?adjustEstimate=leave", json!({"timeSpent": "1w"})).await;
        assert_eq!(tracked(&server, &issue).await, (json!(174600), json!(19800)));
        let shown = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{issue}?fields=timetracking,worklog"), Value::Null, StatusCode::OK).await;
        assert_eq!(shown["fields"]["timetracking"], json!({"remainingEstimate": "5h 30m", "remainingEstimateSeconds": 19800, "timeSpent": "1w 1d 30m", "timeSpentSeconds": 174600}));
        assert_eq!(shown["fields"]["worklog"]["total"], 5);
        assert_eq!(shown["fields"]["worklog"]["worklogs"][0]["id"], id.as_str());

        // Listing and reading.
        let listed = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{issue}/worklog?startAt=1&maxResults=2"), Value::Null, StatusCode::OK).await;
        assert_eq!((listed["total"].as_i64(), listed["worklogs"].as_array().unwrap().len()), (Some(5), 2));
        let one = server.user(Method::GET, &format!("/rest/api/2/issue/{issue}/worklog/{id}"), "reader").send().await.unwrap();
        assert_eq!(json_of(one).await["comment"], "pairing");

        // Bad input: each a 400 naming its field, nothing logged.
        for (query, body, field) in [
            ("", json!({"timeSpent": "3 parsecs"}), "timeLogged"),
            ("", json!({"timeSpent": "0m"}), "timeLogged"),
            ("", json!({"comment": "no time"}), "timeLogged"),
            ("", json!({"timeSpentSeconds": 5}), "timeLogged"),
            ("", json!({"timeSpent": "1h", "started": "yesterday"}), "started"),
            ("", json!({"timeSpent": "1h", "visibility": {"type": "role", "value": "Developers"}}), "visibility"),
            ("?adjustEstimate=new", json!({"timeSpent": "1h"}), "newEstimate"),
            ("?adjustEstimate=sometimes", json!({"timeSpent": "1h"}), "adjustEstimate"),
        ] {
            let (status, error) = log(&server, "dev", &issue, query, body.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
            assert!(error["errors"][field].is_string(), "{body}: {error}");
        }
        assert_eq!(tracked(&server, &issue).await.0, json!(174600));

        // Changing one's own: the sum moves by the difference, auto moves the estimate back.
        let path = format!("/rest/api/2/issue/{issue}/worklog/{id}");
        let changed = server.user(Method::PUT, &path, "dev").json(&json!({"timeSpent": "30m", "comment": "shorter"})).send().await.unwrap();
        assert_eq!(changed.status(), StatusCode::OK);
        let changed = json_of(changed).await;
        assert_eq!((changed["timeSpentSeconds"].as_i64(), changed["updateAuthor"]["name"].as_str()), (Some(1800), Some("dev")));
        assert_eq!(tracked(&server, &issue).await, (json!(171000), json!(23400)));
        // Deleting: its time comes back off, increaseBy on the estimate.
        let deleted = server.user(Method::DELETE, &format!("{path}?adjustEstimate=manual&increaseBy=1h"), "dev").send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        assert_eq!(tracked(&server, &issue).await, (json!(169200), json!(27000)));
        let gone = server.user(Method::GET, &path, "dev").send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    }

    async fn only_who_may_logs_changes_and_deletes_work(db) {
        let server = TestServer::start(db).await;
        server.create_project("WL").await;
        restrict(&server, "WL").await;
        for user in ["dev", "dev2", "reader", "outsider", "lead"] {
            server.create_user(user, &[]).await;
        }
        server.add_to_role("WL", 10001, "dev").await;
        server.add_to_role("WL", 10001, "dev2").await;
        server.add_to_role("WL", 10000, "reader").await;
        server.add_to_role("WL", 10002, "lead").await;
        let issue = server.create_issue("WL", "guarded").await;
        // Logging needs WORK_ON_ISSUES: not a reader's, not an outsider's, not a READ token's.
        let (status, _) = log(&server, "reader", &issue, "", json!({"timeSpent": "1h"})).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = log(&server, "outsider", &issue, "", json!({"timeSpent": "1h"})).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let read = server.create_token("dev", json!({"name": "read", "expirationDuration": 30, "scopes": ["READ"]})).await;
        let refused = server.bearer(Method::POST, &format!("/rest/api/2/issue/{issue}/worklog"), &read).json(&json!({"timeSpent": "1h"})).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let (_, mine) = log(&server, "dev", &issue, "", json!({"timeSpent": "1h"})).await;
        let path = format!("/rest/api/2/issue/{issue}/worklog/{}", mine["id"].as_str().unwrap());
        // The READ token reads it; another developer may not change or delete it.
        let seen = server.bearer(Method::GET, &path, &read).send().await.unwrap();
        assert_eq!(seen.status(), StatusCode::OK);
        for method in [Method::PUT, Method::DELETE] {
            let mut request = server.user(method.clone(), &path, "dev2");
            if method == Method::PUT {
                request = request.json(&json!({"timeSpent": "5h"}));
            }
            assert_eq!(request.send().await.unwrap().status(), StatusCode::FORBIDDEN, "{method}");
        }
        let by_token = server.bearer(Method::PUT, &path, &read).json(&json!({"timeSpent": "5h"})).send().await.unwrap();
        assert_eq!(by_token.status(), StatusCode::FORBIDDEN);
        // Another issue's worklog id is not found under this issue.
        let other = server.create_issue("WL", "other").await;
        let elsewhere = server.admin(Method::GET, &format!("/rest/api/2/issue/{other}/worklog/{}", mine["id"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(elsewhere.status(), StatusCode::NOT_FOUND);
        // The project's administrator may change and delete anyone's.
        let changed = server.user(Method::PUT, &path, "lead").json(&json!({"timeSpent": "2h"})).send().await.unwrap();
        assert_eq!(changed.status(), StatusCode::OK);
        assert_eq!(tracked(&server, &issue).await.0, json!(7200));
        let deleted = server.user(Method::DELETE, &path, "lead").send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        assert_eq!(tracked(&server, &issue).await.0, Value::Null);
    }

    async fn exports_name_only_what_the_caller_may_browse(db) {
        let server = TestServer::start(db).await;
        server.create_project("WL").await;
        server.create_project("HR").await;
        restrict(&server, "HR").await;
        server.create_user("dev", &[]).await;
        server.add_to_role("WL", 10001, "dev").await;
        let visible = server.create_issue("WL", "visible").await;
        let hidden = server.create_issue("HR", "hidden").await;
        let (_, a) = log(&server, "admin", &visible, "", json!({"timeSpent": "1h"})).await;
        let (_, b) = log(&server, "admin", &hidden, "", json!({"timeSpent": "2h"})).await;
        let (_, c) = log(&server, "dev", &visible, "", json!({"timeSpent": "3h"})).await;
        let ids = |page: &Value| -> Vec<String> { page["values"].as_array().unwrap().iter().map(|v| v["worklogId"].to_string()).collect() };
        let mine = json_of(server.user(Method::GET, "/rest/api/2/worklog/updated?since=0", "dev").send().await.unwrap()).await;
        assert_eq!(ids(&mine), [a["id"].as_str().unwrap(), c["id"].as_str().unwrap()]);
        assert_eq!((mine["lastPage"].as_bool(), mine["since"].as_i64()), (Some(true), Some(0)));
        let all = server.admin_json(Method::GET, "/rest/api/2/worklog/updated", Value::Null, StatusCode::OK).await;
        assert_eq!(ids(&all).len(), 3);
        // Since a time: only what changed from then on.
        let until = all["until"].as_i64().unwrap();
        let later = server.admin_json(Method::GET, &format!("/rest/api/2/worklog/updated?since={until}"), Value::Null, StatusCode::OK).await;
        assert_eq!(ids(&later), [c["id"].as_str().unwrap()]);
        let bad = server.user(Method::GET, "/rest/api/2/worklog/updated?since=yesterday", "dev").send().await.unwrap();
        assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
        // The worklogs themselves, by id: the hidden one is left out.
        let listed = server.user(Method::POST, "/rest/api/2/worklog/list", "dev")
            .json(&json!({"ids": [a["id"], b["id"], c["id"].as_str().unwrap().parse::<i64>().unwrap()]}))
            .send().await.unwrap();
        let listed = json_of(listed).await;
        let names: Vec<&str> = listed.as_array().unwrap().iter().map(|w| w["timeSpent"].as_str().unwrap()).collect();
        assert_eq!(names, ["1h", "3h"]);
        let too_many: Vec<i64> = (0..1001).collect();
        let refused = server.user(Method::POST, "/rest/api/2/worklog/list", "dev").json(&json!({"ids": too_many})).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        // Deletions, for the same exports.
        for (issue, worklog) in [(&visible, &a), (&hidden, &b)] {
            let gone = server.admin(Method::DELETE, &format!("/rest/api/2/issue/{issue}/worklog/{}", worklog["id"].as_str().unwrap())).send().await.unwrap();
            assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        }
        let deleted = json_of(server.user(Method::GET, "/rest/api/2/worklog/deleted?since=0", "dev").send().await.unwrap()).await;
        assert_eq!(ids(&deleted), [a["id"].as_str().unwrap()]);
        let everything = server.admin_json(Method::GET, "/rest/api/2/worklog/deleted?since=0", Value::Null, StatusCode::OK).await;
        assert_eq!(ids(&everything).len(), 2);
    }

    async fn estimates_are_set_on_create_and_edit_and_changed_in_the_changelog(db) {
        let server = TestServer::start(db).await;
        server.create_project("WL").await;
        server.create_user("reader", &[]).await;
        server.add_to_role("WL", 10000, "reader").await;
        let body = json!({"fields": {"project": {"key": "WL"}, "issuetype": {"name": "Task"}, "summary": "estimated",
                                     "timetracking": {"originalEstimate": "2d"}}});
        let made = server.admin_json(Method::POST, "/rest/api/2/issue", body, StatusCode::CREATED).await;
        let key = made["key"].as_str().unwrap().to_string();
        let fields = |v: &Value| (v["fields"]["timeoriginalestimate"].clone(), v["fields"]["timeestimate"].clone());
        let read = || async { server.admin_json(Method::GET, &format!("/rest/api/2/issue/{key}?expand=changelog"), Value::Null, StatusCode::OK).await };
        // An original estimate alone is the remaining one too.
        assert_eq!(fields(&read().await), (json!(57600), json!(57600)));
        let put = |tracking: Value| {
            let key = key.clone();
            let server = &server;
            async move { server.admin(Method::PUT, &format!("/rest/api/2/issue/{key}")).json(&json!({"fields": {"timetracking": tracking}})).send().await.unwrap() }
        };
        assert_eq!(put(json!({"remainingEstimate": "1d 4h"})).await.status(), StatusCode::NO_CONTENT);
        let issue = read().await;
        assert_eq!(fields(&issue), (json!(57600), json!(43200)));
        assert_eq!(issue["fields"]["timetracking"]["remainingEstimate"], "1d 4h");
        let last = issue["changelog"]["histories"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["items"][0], json!({"field": "timeestimate", "fieldId": "timeestimate", "fieldtype": "jira", "from": "57600", "fromString": "57600", "to": "43200", "toString": "43200"}));
        // Both, then none; zero is an estimate.
        put(json!({"originalEstimate": "3d", "remainingEstimate": "0m"})).await;
        assert_eq!(fields(&read().await), (json!(86400), json!(0)));
        put(json!({"originalEstimate": "", "remainingEstimate": ""})).await;
        assert_eq!(fields(&read().await), (Value::Null, Value::Null));
        // Bad durations and shapes are 400s naming the field; a reader may not set them.
        for bad in [json!({"originalEstimate": "soon"}), json!("2d"), json!({"remainingEstimate": true})] {
            let refused = put(bad.clone()).await;
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{bad}");
            assert!(json_of(refused).await["errors"]["timetracking"].is_string(), "{bad}");
        }
        let by_reader = server.user(Method::PUT, &format!("/rest/api/2/issue/{key}"), "reader")
            .json(&json!({"fields": {"timetracking": {"originalEstimate": "1h"}}})).send().await.unwrap();
        assert_eq!(by_reader.status(), StatusCode::FORBIDDEN);
        let editmeta = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{key}/editmeta"), Value::Null, StatusCode::OK).await;
        assert_eq!(editmeta["fields"]["timetracking"]["schema"]["type"], "timetracking");
    }

    async fn auto_gives_back_time_to_an_issue_without_an_estimate(db) {
        let server = TestServer::start(db).await;
        server.create_project("WZ").await;
        let issue = server.create_issue("WZ", "unestimated").await;
        let (status, made) = log(&server, "admin", &issue, "", json!({"timeSpent": "3h"})).await;
        assert_eq!(status, StatusCode::CREATED);
        // Logging keeps the issue without an estimate ...
        assert_eq!(tracked(&server, &issue).await, (json!(10800), Value::Null));
        // ... while shrinking or deleting a worklog gives its time back, counted from zero
        // (as Jira does, and as the Python client's own suite expects).
        let path = format!("/rest/api/2/issue/{issue}/worklog/{}", made["id"].as_str().unwrap());
        server.admin_json(Method::PUT, &path, json!({"timeSpent": "2h"}), StatusCode::OK).await;
        assert_eq!(tracked(&server, &issue).await, (json!(7200), json!(3600)));
        let deleted = server.admin(Method::DELETE, &path).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        assert_eq!(tracked(&server, &issue).await, (Value::Null, json!(10800)));
    }
}
