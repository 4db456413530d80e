//! Remembered responses (`GET issue`, `GET myself`) never show what was true before a change, on SQLite and
//! on PostgreSQL: each test reads an issue until it is answered from memory, changes something
//! the response shows or depends on, and reads it again: through the same instance on the very
//! next request, through another instance sharing the database within a second (also with the
//! instances' listening connections killed on PostgreSQL).

use std::time::Duration;

use crate::common::*;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

/// `text` for a query string.
fn urlencoding(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn read(request: RequestBuilder) -> Value {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    json_of(response).await
}

/// Reads until the answer is remembered (the second read of the same caller), and checks the
/// remembered answer is the one first made.
async fn warm(request: impl Fn() -> RequestBuilder) -> Value {
    let first = read(request()).await;
    assert_eq!(read(request()).await, first);
    first
}

/// Changes the issue's summary in the database directly, without the triggers that tell every
/// instance of a change (dropped first, when `drop_triggers`).
async fn change_summary_behind_the_triggers(
    url: &str,
    key: &str,
    summary: &str,
    drop_triggers: bool,
) {
    let number: i64 = key.rsplit('-').next().unwrap().parse().unwrap();
    let drops = match (drop_triggers, url.starts_with("postgres")) {
        (false, _) => vec![],
        (true, true) => vec!["DROP TRIGGER issues_data ON issues"],
        (true, false) => vec![
            "DROP TRIGGER issues_update_data",
            "DROP TRIGGER issues_insert_data",
            "DROP TRIGGER issues_delete_data",
        ],
    };
    let update = format!("UPDATE issues SET summary = '{summary}' WHERE number = {number}");
    execute_directly(url, drops.into_iter().map(str::to_owned).chain([update])).await;
}

/// Shows that `request`'s answer comes from memory: once warmed, a change of the issue's
/// summary made behind the triggers' back is not in the next answer. An instance drops what it
/// remembers once more when it hears late (under load) of a change of its own made before:
/// so this tries a few times before it fails.
async fn answered_from_memory(
    url: &str,
    key: &str,
    request: impl Fn() -> RequestBuilder,
    summary: impl Fn(&Value) -> Value,
) {
    for attempt in 0..5 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        let before = summary(&warm(&request).await);
        let behind = format!("changed behind {attempt}");
        change_summary_behind_the_triggers(url, key, &behind, attempt == 0).await;
        if summary(&read(request()).await) == before {
            return;
        }
    }
    panic!("never answered from memory");
}

/// Reads through `request` until `check` holds of the answer, for at most a second.
async fn shown_within_a_second(
    request: impl Fn() -> RequestBuilder,
    check: impl Fn(&Value) -> bool,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let body = read(request()).await;
        if check(&body) {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still not shown after a second: {body}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

backend_tests! {
    async fn a_remembered_issue_shows_every_change_on_the_next_read(db) {
        let url = db.url.clone();
        let config = test_config(&db);
        let server = TestServer::start_with(db, config).await;
        server.create_project("RC").await;
        server.create_user("dev", &[]).await;
        server.add_to_role("RC", 10001, "dev").await;
        let key = server.create_issue("RC", "first summary").await;
        let other = server.create_issue("RC", "the other one").await;
        let raw = server.create_token("dev", json!({"name": "poller", "expirationDuration": 5})).await;
        let path = format!("/rest/api/2/issue/{key}");
        let get = || server.bearer(Method::GET, &path, &raw);
        let as_dev = |method: Method, path: &str| server.bearer(method, path, &raw);
        let send = |request: RequestBuilder, expected: StatusCode| async move {
            let response = request.send().await.unwrap();
            assert_eq!(response.status(), expected);
        };

        // The answer comes from memory: a change made behind the triggers' back is not seen.
        answered_from_memory(&url, &key, get, |body| body["fields"]["summary"].clone()).await;

        // Each change through the API shows on the very next read.
        send(as_dev(Method::PUT, &path).json(&json!({"fields": {"summary": "second summary"}})), StatusCode::NO_CONTENT).await;
        assert_eq!(read(get()).await["fields"]["summary"], "second summary");
        warm(get).await;
        send(as_dev(Method::POST, &format!("{path}/comment")).json(&json!({"body": "a remark"})), StatusCode::CREATED).await;
        assert_eq!(read(get()).await["fields"]["comment"]["total"], 1);
        warm(get).await;
        send(as_dev(Method::POST, &format!("{path}/worklog")).json(&json!({"timeSpent": "1h"})), StatusCode::CREATED).await;
        assert_eq!(read(get()).await["fields"]["worklog"]["total"], 1);
        warm(get).await;
        send(as_dev(Method::POST, &format!("{path}/watchers")).json(&json!("dev")), StatusCode::NO_CONTENT).await;
        assert_eq!(read(get()).await["fields"]["watches"]["isWatching"], true);
        warm(get).await;
        send(as_dev(Method::POST, &format!("{path}/votes")).json(&json!({})), StatusCode::NO_CONTENT).await;
        assert_eq!(read(get()).await["fields"]["votes"]["hasVoted"], true);
        warm(get).await;
        let link = json!({"type": {"name": "Blocks"}, "inwardIssue": {"key": key}, "outwardIssue": {"key": other}});
        send(as_dev(Method::POST, "/rest/api/2/issueLink").json(&link), StatusCode::CREATED).await;
        assert_eq!(read(get()).await["fields"]["issuelinks"].as_array().unwrap().len(), 1);

        // A change to something the issue shows, not to the issue: its version's name.
        let version = server.admin_json(Method::POST, "/rest/api/2/version", json!({"name": "1.0", "project": "RC"}), StatusCode::CREATED).await;
        send(as_dev(Method::PUT, &path).json(&json!({"fields": {"fixVersions": [{"name": "1.0"}]}})), StatusCode::NO_CONTENT).await;
        warm(get).await;
        let version_path = format!("/rest/api/2/version/{}", version["id"].as_str().unwrap());
        server.admin_json(Method::PUT, &version_path, json!({"name": "1.1"}), StatusCode::OK).await;
        assert_eq!(read(get()).await["fields"]["fixVersions"][0]["name"], "1.1");

        // A change to a user it shows (credentials' side: the other epoch).
        send(as_dev(Method::PUT, &format!("{path}/assignee")).json(&json!({"name": "dev"})), StatusCode::NO_CONTENT).await;
        warm(get).await;
        server.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"displayName": "Dev Renamed"}), StatusCode::OK).await;
        assert_eq!(read(get()).await["fields"]["assignee"]["displayName"], "Dev Renamed");

        // The caller's roles: without them the issue is not there any more.
        warm(get).await;
        for member in ["10000?group=jira-users", "10001?user=dev"] {
            let removed = server.admin(Method::DELETE, &format!("/rest/api/2/project/RC/role/{member}"));
            send(removed, StatusCode::NO_CONTENT).await;
        }
        send(get(), StatusCode::NOT_FOUND).await;
    }

    async fn a_remembered_issue_is_each_callers_own(db) {
        let server = TestServer::start(db).await;
        server.create_project("RO").await;
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "insiders"}), StatusCode::CREATED).await;
        server.create_user("insider", &["insiders"]).await;
        server.create_user("reader", &[]).await;
        let key = server.create_issue("RO", "shared").await;
        let path = format!("/rest/api/2/issue/{key}");
        server.add_to_role("RO", 10001, "insider").await;
        let comment = json!({"body": "insiders only", "visibility": {"type": "group", "value": "insiders"}});
        let posted = server.user(Method::POST, &format!("{path}/comment"), "insider").json(&comment).send().await.unwrap();
        assert_eq!(posted.status(), StatusCode::CREATED);

        // The same address, two callers: each gets the answer made for it.
        let insider = warm(|| server.user(Method::GET, &path, "insider")).await;
        let reader = warm(|| server.user(Method::GET, &path, "reader")).await;
        assert_eq!(insider["fields"]["comment"]["total"], 1);
        assert_eq!(reader["fields"]["comment"]["total"], 0);
        // A token limited to another project, of the same user: not found, not the answer above.
        server.create_project("RP").await;
        let limited = server.create_token("insider", json!({"name": "elsewhere", "expirationDuration": 5, "projects": ["RP"]})).await;
        let response = server.bearer(Method::GET, &path, &limited).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        // Joining the group is a change like any other: the reader sees the comment at once.
        server.admin_json(Method::POST, "/rest/api/2/group/user?groupname=insiders", json!({"name": "reader"}), StatusCode::CREATED).await;
        assert_eq!(read(server.user(Method::GET, &path, "reader")).await["fields"]["comment"]["total"], 1);
    }

    async fn remembered_roles_follow_every_membership_change(db) {
        let (a, b) = tokio::join!(TestServer::start_shared(test_config(&db)), TestServer::start_shared(test_config(&db)));
        a.create_project("RR").await;
        a.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "crew"}), StatusCode::CREATED).await;
        a.create_user("dev", &["crew"]).await;
        // Only the crew, through its group, may see the project.
        let removed = a.admin(Method::DELETE, "/rest/api/2/project/RR/role/10000?group=jira-users");
        assert_eq!(removed.send().await.unwrap().status(), StatusCode::NO_CONTENT);
        a.admin_json(Method::POST, "/rest/api/2/project/RR/role/10001", json!({"group": ["crew"]}), StatusCode::OK).await;
        let key = a.create_issue("RR", "crew only").await;
        let raw = a.create_token("dev", json!({"name": "roles", "expirationDuration": 5})).await;
        // Comments: a read that is not itself remembered, so each answer asks for the roles.
        let path = format!("/rest/api/2/issue/{key}/comment");
        let status = |server: &TestServer| {
            let request = server.bearer(Method::GET, &path, &raw);
            async move { request.send().await.unwrap().status() }
        };
        for server in [&a, &b] {
            for _ in 0..2 {
                assert_eq!(status(server).await, StatusCode::OK);
            }
        }
        // Out of the group: no role, at once here, within a second there.
        let out = a.admin(Method::DELETE, "/rest/api/2/group/user?groupname=crew&username=dev");
        assert_eq!(out.send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(status(&a).await, StatusCode::NOT_FOUND);
        answered_within_a_second(|| b.bearer(Method::GET, &path, &raw), StatusCode::NOT_FOUND).await;
        a.admin_json(Method::POST, "/rest/api/2/group/user?groupname=crew", json!({"name": "dev"}), StatusCode::CREATED).await;
        assert_eq!(status(&a).await, StatusCode::OK);
        answered_within_a_second(|| b.bearer(Method::GET, &path, &raw), StatusCode::OK).await;
        // The group out of the role, through the other instance.
        let out = b.admin(Method::DELETE, "/rest/api/2/project/RR/role/10001?group=crew");
        assert_eq!(out.send().await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(status(&b).await, StatusCode::NOT_FOUND);
        answered_within_a_second(|| a.bearer(Method::GET, &path, &raw), StatusCode::NOT_FOUND).await;
    }

    async fn a_remembered_myself_shows_every_change_of_its_user_on_the_next_read(db) {
        let (a, b) = tokio::join!(TestServer::start_shared(test_config(&db)), TestServer::start_shared(test_config(&db)));
        a.create_user("dev", &[]).await;
        let raw = a.create_token("dev", json!({"name": "poller", "expirationDuration": 5})).await;
        let myself = |server: &TestServer| server.bearer(Method::GET, "/rest/api/2/myself", &raw);
        let groups = |body: &Value| body["groups"]["items"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        warm(|| myself(&a)).await;
        let expanded = || a.bearer(Method::GET, "/rest/api/2/myself?expand=groups", &raw);
        warm(expanded).await;
        // Its own answer per address and per caller.
        assert_eq!(read(a.user(Method::GET, "/rest/api/2/myself", "dev")).await["name"], "dev");
        assert_eq!(read(a.admin(Method::GET, "/rest/api/2/myself")).await["name"], "admin");

        // Renamed (display name, address) through A: shown at once on A, within a second on B.
        warm(|| myself(&b)).await;
        a.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"displayName": "Dev Renamed", "emailAddress": "renamed@example.com"}), StatusCode::OK).await;
        let now = read(myself(&a)).await;
        assert_eq!((now["displayName"].as_str(), now["emailAddress"].as_str()), (Some("Dev Renamed"), Some("renamed@example.com")));
        shown_within_a_second(|| myself(&b), |body| body["displayName"] == "Dev Renamed").await;

        // A new group: in the very next answer.
        warm(|| myself(&a)).await;
        a.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "reviewers"}), StatusCode::CREATED).await;
        a.admin_json(Method::POST, "/rest/api/2/group/user?groupname=reviewers", json!({"name": "dev"}), StatusCode::CREATED).await;
        assert!(groups(&read(myself(&a)).await).contains(&"reviewers".to_string()));
        assert!(groups(&read(expanded()).await).contains(&"reviewers".to_string()));
        shown_within_a_second(|| myself(&b), |body| groups(body).contains(&"reviewers".to_string())).await;
    }

    async fn a_remembered_search_shows_every_change_and_never_outlives_its_clock(db) {
        let url = db.url.clone();
        let (a, b) = tokio::join!(TestServer::start_shared(test_config(&db)), TestServer::start_shared(test_config(&db)));
        a.create_project("SR").await;
        a.create_user("dev", &[]).await;
        a.add_to_role("SR", 10001, "dev").await;
        let key = a.create_issue("SR", "first summary").await;
        let raw = a.create_token("dev", json!({"name": "poller", "expirationDuration": 5})).await;
        let search = |server: &TestServer, jql: &str| {
            let path = format!("/rest/api/2/search?jql={}&fields=summary", urlencoding(jql));
            server.bearer(Method::GET, &path, &raw)
        };
        let summaries = |body: &Value| -> Vec<String> {
            body["issues"].as_array().unwrap().iter().map(|i| i["fields"]["summary"].as_str().unwrap().to_string()).collect()
        };
        let project = "project = SR ORDER BY key";

        // From memory: a change behind the triggers' back is not seen.
        let first = |body: &Value| body["issues"][0]["fields"]["summary"].clone();
        answered_from_memory(&url, &key, || search(&a, project), first).await;

        // A change through the API: on the very next search here, within a second there.
        warm(|| search(&b, project)).await;
        a.create_issue("SR", "second issue").await;
        assert_eq!(read(search(&a, project)).await["total"], 2);
        shown_within_a_second(|| search(&b, project), |body| body["total"] == 2).await;
        // The caller's roles removed: on the next search the project is not there any more.
        warm(|| search(&a, project)).await;
        for member in ["10000?group=jira-users", "10001?user=dev"] {
            let removed = a.admin(Method::DELETE, &format!("/rest/api/2/project/SR/role/{member}")).send().await.unwrap();
            assert_eq!(removed.status(), StatusCode::NO_CONTENT);
        }
        let refused = search(&a, project).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        a.add_to_role("SR", 10001, "dev").await;

        // A query relative to now is never remembered (what it finds changes as time passes,
        // with no change in the database): a change behind the triggers' back shows at once.
        let relative = "project = SR AND created <= now() ORDER BY key";
        warm(|| search(&a, relative)).await;
        let number: i64 = key.rsplit('-').next().unwrap().parse().unwrap();
        let update = format!("UPDATE issues SET summary = 'seen at once' WHERE number = {number}");
        execute_directly(&url, [update]).await;
        assert_eq!(summaries(&read(search(&a, relative)).await), ["seen at once", "second issue"]);
    }

    async fn every_instance_shows_a_change_within_a_second(db) {
        let (a, b) = tokio::join!(TestServer::start_shared(test_config(&db)), TestServer::start_shared(test_config(&db)));
        a.create_project("RS").await;
        a.create_user("dev", &[]).await;
        a.add_to_role("RS", 10001, "dev").await;
        let key = a.create_issue("RS", "shared").await;
        let raw = a.create_token("dev", json!({"name": "poller", "expirationDuration": 5})).await;
        let path = format!("/rest/api/2/issue/{key}");
        let comments = |body: &Value| body["fields"]["comment"]["total"].as_i64().unwrap();
        let comment = |server: &TestServer, text: &str| {
            server.bearer(Method::POST, &format!("{path}/comment"), &raw).json(&json!({"body": text}))
        };

        warm(|| b.bearer(Method::GET, &path, &raw)).await;
        assert_eq!(comment(&a, "through A").send().await.unwrap().status(), StatusCode::CREATED);
        shown_within_a_second(|| b.bearer(Method::GET, &path, &raw), |body| comments(body) == 1).await;

        if db.url.starts_with("postgres") {
            // The connections that listen for changes killed: a change made before they are
            // back still shows on every instance within a second.
            warm(|| b.bearer(Method::GET, &path, &raw)).await;
            assert_eq!(kill_listeners(&db.url).await, [true, true], "one listener per instance");
            assert_eq!(comment(&a, "while B was deaf").send().await.unwrap().status(), StatusCode::CREATED);
            shown_within_a_second(|| b.bearer(Method::GET, &path, &raw), |body| comments(body) == 2).await;
        }
    }
}
