//! The REST API through a real server, on SQLite and on PostgreSQL: Jira's shapes and status
//! codes, authentication, sessions, XSRF, permissions and the issue lifecycle.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::store::UserStore;
use tessera_testkit::backend_tests;

backend_tests! {
    async fn server_info_is_anonymous_and_speaks_server_jira(db) {
        let server = TestServer::start(db).await;
        let response = server.anonymous(Method::GET, "/rest/api/2/serverInfo").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let info = json_of(response).await;
        assert_eq!(info["deploymentType"], "Server");
        assert_eq!(info["versionNumbers"], json!([9, 12, 0]));
        assert_eq!(info["baseUrl"], server.base);
        // A bad credential never falls back to anonymous, even where anonymous is allowed.
        let response = server.basic(Method::GET, "/rest/api/2/serverInfo", "admin", "wrong").send().await.unwrap();
        expect_error(response, StatusCode::UNAUTHORIZED).await;
        // The `latest` alias.
        let response = server.anonymous(Method::GET, "/rest/api/latest/serverInfo").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    async fn basic_auth_answers_myself_and_refuses_alike(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        let me = json_of(server.admin(Method::GET, "/rest/api/2/myself").send().await.unwrap()).await;
        assert_eq!(me["name"], "admin");
        assert_eq!(me["self"], format!("{}/rest/api/2/user?username=admin", server.base));
        assert!(me["groups"]["items"].as_array().unwrap().iter().any(|g| g["name"] == "jira-administrators"));

        let anonymous = server.anonymous(Method::GET, "/rest/api/2/myself").send().await.unwrap();
        assert_eq!(anonymous.headers()["www-authenticate"], "Basic realm=\"tessera\"");
        expect_error(anonymous, StatusCode::UNAUTHORIZED).await;

        // Wrong password, unknown user and deactivated user: the same answer.
        let response = server
            .admin(Method::PUT, "/rest/api/2/user?username=alice")
            .json(&json!({"active": false}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let mut answers = Vec::new();
        for (user, password) in [("admin", "wrong-password"), ("nobody", PASSWORD), ("alice", PASSWORD)] {
            let response = server.basic(Method::GET, "/rest/api/2/myself", user, password).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
            assert_eq!(response.headers()["www-authenticate"], "Basic realm=\"tessera\"");
            assert_eq!(response.headers()["x-seraph-loginreason"], "AUTHENTICATED_FAILED");
            answers.push(response.text().await.unwrap());
        }
        assert!(answers.windows(2).all(|w| w[0] == w[1]), "{answers:?}");
    }

    async fn malformed_and_doubled_credentials_are_bad_requests(db) {
        let server = TestServer::start(db).await;
        for header in ["Basic !!!", "Basic bm9jb2xvbg==", "Basic"] {
            let response = server.request(Method::GET, "/rest/api/2/myself").header("authorization", header).send().await.unwrap();
            expect_error(response, StatusCode::BAD_REQUEST).await;
        }
        let response = server.request(Method::GET, "/rest/api/2/myself").header("authorization", "Negotiate abc").send().await.unwrap();
        assert_eq!(response.headers()["www-authenticate"], "Basic realm=\"tessera\"");
        expect_error(response, StatusCode::UNAUTHORIZED).await;
        let session = server.login("admin", ADMIN_PASSWORD).await;
        let both = server
            .admin(Method::GET, "/rest/api/2/myself")
            .header("cookie", format!("JSESSIONID={session}"))
            .send()
            .await
            .unwrap();
        expect_error(both, StatusCode::BAD_REQUEST).await;
    }

    async fn sessions_work_as_in_jira(db) {
        let server = TestServer::start(db).await;
        // Probe without a cookie: 401, never a redirect.
        let probe = server.anonymous(Method::GET, "/rest/auth/1/session").send().await.unwrap();
        expect_error(probe, StatusCode::UNAUTHORIZED).await;

        let response = server
            .request(Method::POST, "/rest/auth/1/session")
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let cookies: Vec<String> = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
        let session_cookie = cookies.iter().find(|c| c.starts_with("JSESSIONID=")).unwrap();
        assert!(session_cookie.contains("HttpOnly") && session_cookie.contains("SameSite=Lax") && session_cookie.contains("Path=/"));
        assert!(!session_cookie.contains("Secure"), "plain HTTP: no Secure flag");
        assert!(cookies.iter().any(|c| c.starts_with("atlassian.xsrf.token=")));
        let body = json_of(response).await;
        assert_eq!(body["session"]["name"], "JSESSIONID");
        assert_eq!(body["loginInfo"]["loginCount"], 1);
        let session = body["session"]["value"].as_str().unwrap().to_string();
        assert!(session_cookie.contains(&session));

        let current = json_of(server.with_session(Method::GET, "/rest/auth/1/session", &session).send().await.unwrap()).await;
        assert_eq!(current["name"], "admin");
        assert_eq!(current["self"], format!("{}/rest/api/latest/user?username=admin", server.base));
        let me = server.with_session(Method::GET, "/rest/api/2/myself", &session).send().await.unwrap();
        assert_eq!(me.status(), StatusCode::OK);

        // Logging in again with the old cookie rotates the id: the old one is dead.
        let again = server
            .with_session(Method::POST, "/rest/auth/1/session", &session)
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(again.status(), StatusCode::OK);
        let new_session = json_of(again).await["session"]["value"].as_str().unwrap().to_string();
        assert_ne!(new_session, session);
        let old = server.with_session(Method::GET, "/rest/api/2/myself", &session).send().await.unwrap();
        assert!(old.headers().get("set-cookie").unwrap().to_str().unwrap().contains("Max-Age=0"), "a dead cookie is cleared");
        expect_error(old, StatusCode::UNAUTHORIZED).await;

        let logout = server.with_session(Method::DELETE, "/rest/auth/latest/session", &new_session).send().await.unwrap();
        assert_eq!(logout.status(), StatusCode::NO_CONTENT);
        let after = server.with_session(Method::GET, "/rest/api/2/myself", &new_session).send().await.unwrap();
        expect_error(after, StatusCode::UNAUTHORIZED).await;

        let wrong = server
            .request(Method::POST, "/rest/auth/1/session")
            .json(&json!({"username": "admin", "password": "nope-nope"}))
            .send()
            .await
            .unwrap();
        assert_eq!(wrong.headers()["x-seraph-loginreason"], "AUTHENTICATED_FAILED");
        expect_error(wrong, StatusCode::UNAUTHORIZED).await;
        let forged = server.with_session(Method::GET, "/rest/api/2/myself", "forged-value").send().await.unwrap();
        expect_error(forged, StatusCode::UNAUTHORIZED).await;
    }

    async fn cookie_form_posts_need_the_xsrf_header(db) {
        let server = TestServer::start(db).await;
        server.create_project("XS").await;
        let session = server.admin_session().await;
        let form = |builder: reqwest::RequestBuilder| {
            builder.header("content-type", "application/x-www-form-urlencoded").body("name=evil")
        };
        let refused = form(server.with_session(Method::POST, "/rest/api/2/group", &session)).send().await.unwrap();
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "xsrf_check_failed");
        let body = expect_error(refused, StatusCode::FORBIDDEN).await;
        assert_eq!(body["errorMessages"][0], "XSRF check failed");
        // With the header, the request passes the XSRF rule (and then fails as a non-JSON body).
        let allowed = form(server.with_session(Method::POST, "/rest/api/2/group", &session))
            .header("x-atlassian-token", "no-check")
            .send()
            .await
            .unwrap();
        expect_error(allowed, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        // JSON needs no header...
        let json_post = server.with_session(Method::POST, "/rest/api/2/group", &session).json(&json!({"name": "made-by-json"})).send().await.unwrap();
        assert_eq!(json_post.status(), StatusCode::CREATED);
        // ...unless the browser says it came from another site.
        let cross = server
            .with_session(Method::POST, "/rest/api/2/group", &session)
            .header("origin", "https://evil.example")
            .json(&json!({"name": "made-cross-site"}))
            .send()
            .await
            .unwrap();
        expect_error(cross, StatusCode::FORBIDDEN).await;
        let cross = server
            .with_session(Method::DELETE, "/rest/api/2/group?groupname=made-by-json", &session)
            .header("sec-fetch-site", "cross-site")
            .send()
            .await
            .unwrap();
        expect_error(cross, StatusCode::FORBIDDEN).await;
        let own = server
            .with_session(Method::DELETE, "/rest/api/2/group?groupname=made-by-json", &session)
            .header("origin", server.url("").trim_end_matches('/'))
            .send()
            .await
            .unwrap();
        assert_eq!(own.status(), StatusCode::OK);
        // The session's form token also passes a form post.
        let token = {
            let response = server.request(Method::POST, "/rest/auth/1/session").json(&json!({"username": "admin", "password": ADMIN_PASSWORD})).send().await.unwrap();
            let cookies: Vec<String> = response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_string()).collect();
            let body = json_of(response).await;
            let xsrf = cookies.iter().find_map(|c| c.strip_prefix("atlassian.xsrf.token=")).unwrap().split(';').next().unwrap().to_string();
            (body["session"]["value"].as_str().unwrap().to_string(), xsrf)
        };
        server.websudo(&token.0, ADMIN_PASSWORD).await;
        let with_token = form(server.with_session(Method::POST, &format!("/rest/api/2/group?atl_token={}", token.1), &token.0)).send().await.unwrap();
        expect_error(with_token, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        let wrong_token = form(server.with_session(Method::POST, "/rest/api/2/group?atl_token=guess", &token.0)).send().await.unwrap();
        expect_error(wrong_token, StatusCode::FORBIDDEN).await;
        // Basic-authenticated form posts are not subject to the rule.
        let basic = form(server.admin(Method::POST, "/rest/api/2/group")).send().await.unwrap();
        expect_error(basic, StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    }

    async fn project_permissions_decide_visibility_and_changes(db) {
        let server = TestServer::start(db).await;
        server.create_project("SEC").await;
        server.create_user("reader", &[]).await;
        server.create_user("dev", &[]).await;
        server.create_user("outsider", &[]).await;
        server.add_to_role("SEC", 10001, "dev").await;
        // Only role members see the project: take jira-users out of its Users role.
        let response = server.admin(Method::DELETE, "/rest/api/2/project/SEC/role/10000?group=jira-users").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        server.add_to_role("SEC", 10000, "reader").await;
        let key = server.create_issue("SEC", "secret plans").await;
        let issue_path = format!("/rest/api/2/issue/{key}");

        // Without BROWSE_PROJECTS the issue does not exist, whether named by key or id.
        let hidden = server.user(Method::GET, &issue_path, "outsider").send().await.unwrap();
        let body = expect_error(hidden, StatusCode::NOT_FOUND).await;
        assert_eq!(body["errorMessages"][0], "Issue Does Not Exist");
        let id = json_of(server.admin(Method::GET, &issue_path).send().await.unwrap()).await["id"].as_str().unwrap().to_string();
        expect_error(server.user(Method::GET, &format!("/rest/api/2/issue/{id}"), "outsider").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        expect_error(server.user(Method::GET, "/rest/api/2/project/SEC", "outsider").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        let listed = json_of(server.user(Method::GET, "/rest/api/2/project", "outsider").send().await.unwrap()).await;
        assert_eq!(listed, json!([]));
        let edit = server.user(Method::PUT, &issue_path, "outsider").json(&json!({"fields": {"summary": "x"}})).send().await.unwrap();
        expect_error(edit, StatusCode::NOT_FOUND).await;

        // A reader sees it but may not edit: 403 naming the permission.
        assert_eq!(server.user(Method::GET, &issue_path, "reader").send().await.unwrap().status(), StatusCode::OK);
        let edit = server.user(Method::PUT, &issue_path, "reader").json(&json!({"fields": {"summary": "x"}})).send().await.unwrap();
        assert_eq!(edit.headers()["x-authentication-denied-reason"], "permission_missing");
        let body = expect_error(edit, StatusCode::FORBIDDEN).await;
        assert!(body["errorMessages"][0].as_str().unwrap().contains("Edit Issues"), "{body}");
        let transitions = json_of(server.user(Method::GET, &format!("{issue_path}/transitions"), "reader").send().await.unwrap()).await;
        assert_eq!(transitions["transitions"], json!([]), "no TRANSITION_ISSUES, no transitions offered");

        // A developer may edit; the change is visible.
        let edit = server.user(Method::PUT, &issue_path, "dev").json(&json!({"fields": {"summary": "revised plans"}})).send().await.unwrap();
        assert_eq!(edit.status(), StatusCode::NO_CONTENT);
        let issue = json_of(server.user(Method::GET, &issue_path, "reader").send().await.unwrap()).await;
        assert_eq!(issue["fields"]["summary"], "revised plans");
        // ...but not delete it.
        expect_error(server.user(Method::DELETE, &issue_path, "dev").send().await.unwrap(), StatusCode::FORBIDDEN).await;

        // Non-administrators cannot create projects or users.
        let project = server.user(Method::POST, "/rest/api/2/project", "dev").json(&json!({"key": "NOPE", "name": "Nope"})).send().await.unwrap();
        expect_error(project, StatusCode::FORBIDDEN).await;
        let user = server.user(Method::POST, "/rest/api/2/user", "dev").json(&json!({"name": "mallory", "password": "mallory-pass"})).send().await.unwrap();
        expect_error(user, StatusCode::FORBIDDEN).await;
        let group = server.user(Method::POST, "/rest/api/2/group/user?groupname=jira-administrators", "dev").json(&json!({"name": "dev"})).send().await.unwrap();
        expect_error(group, StatusCode::FORBIDDEN).await;

        // Losing the role takes effect at the next request.
        let response = server.admin(Method::DELETE, "/rest/api/2/project/SEC/role/10000?user=reader").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        expect_error(server.user(Method::GET, &issue_path, "reader").send().await.unwrap(), StatusCode::NOT_FOUND).await;
    }

    async fn users_without_use_permission_are_refused(db) {
        let server = TestServer::start(db).await;
        server.create_user("gone", &[]).await;
        let response = server.admin(Method::DELETE, "/rest/api/2/group/user?groupname=jira-users&username=gone").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let refused = server.user(Method::GET, "/rest/api/2/myself", "gone").send().await.unwrap();
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "permission_missing");
        expect_error(refused, StatusCode::FORBIDDEN).await;
        let login = server.request(Method::POST, "/rest/auth/1/session").json(&json!({"username": "gone", "password": PASSWORD})).send().await.unwrap();
        assert!(login.headers().get("set-cookie").is_none(), "no session is opened");
        assert_eq!(login.headers()["x-authentication-denied-reason"], "permission_missing");
        expect_error(login, StatusCode::FORBIDDEN).await;
    }

    async fn the_issue_lifecycle_follows_jira_semantics(db) {
        let server = TestServer::start(db).await;
        server.create_project("LIFE").await;
        server.create_user("bob", &[]).await;
        server.add_to_role("LIFE", 10001, "bob").await;
        let create = json!({"fields": {
            "project": {"key": "LIFE"}, "issuetype": {"name": "Bug"}, "summary": "It breaks",
            "description": "Steps...", "priority": {"name": "High"}, "labels": ["ui", "ui", "crash"],
            "assignee": {"name": "bob"}
        }});
        let response = server.admin(Method::POST, "/rest/api/2/issue").json(&create).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let created = json_of(response).await;
        assert_eq!(created["key"], "LIFE-1");
        let id = created["id"].as_str().unwrap().to_string();
        assert_eq!(created["self"], format!("{}/rest/api/2/issue/{id}", server.base));

        let issue = json_of(server.admin(Method::GET, "/rest/api/2/issue/life-1").send().await.unwrap()).await;
        let fields = &issue["fields"];
        assert_eq!(fields["issuetype"]["name"], "Bug");
        assert_eq!(fields["priority"]["name"], "High");
        assert_eq!(fields["status"]["name"], "To Do");
        assert_eq!(fields["status"]["statusCategory"]["key"], "new");
        assert_eq!(fields["labels"], json!(["crash", "ui"]));
        assert_eq!(fields["assignee"]["name"], "bob");
        assert_eq!(fields["reporter"]["name"], "admin");
        assert_eq!(fields["project"]["key"], "LIFE");
        assert_eq!(fields["comment"]["total"], 0);
        assert!(fields["created"].as_str().unwrap().ends_with("+0000"));

        // fields= selects; -x excludes.
        let some = json_of(server.admin(Method::GET, "/rest/api/2/issue/LIFE-1?fields=summary,status").send().await.unwrap()).await;
        assert_eq!(some["fields"].as_object().unwrap().len(), 2);
        let most = json_of(server.admin(Method::GET, "/rest/api/2/issue/LIFE-1?fields=*all,-comment&expand=names,transitions").send().await.unwrap()).await;
        assert!(most["fields"].get("comment").is_none() && most["fields"].get("labels").is_some());
        assert_eq!(most["names"]["summary"], "Summary");
        assert_eq!(most["transitions"][0]["name"], "In Progress");

        // update operations and unknown top-level keys.
        let edit = json!({
            "fields": {"summary": "It breaks badly"},
            "update": {"labels": [{"add": "urgent"}, {"remove": "ui"}], "comment": [{"add": {"body": "seen it"}}]},
            "notifyUsers": false
        });
        let response = server.user(Method::PUT, &format!("/rest/api/2/issue/{id}"), "bob").json(&edit).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(response.text().await.unwrap().is_empty());
        let issue = json_of(server.admin(Method::GET, "/rest/api/2/issue/LIFE-1").send().await.unwrap()).await;
        assert_eq!(issue["fields"]["summary"], "It breaks badly");
        assert_eq!(issue["fields"]["labels"], json!(["crash", "urgent"]));
        assert_eq!(issue["fields"]["comment"]["comments"][0]["author"]["name"], "bob");

        // Field errors are reported per field, and nothing is half-written.
        let bad = json!({"fields": {"summary": "", "status": {"id": "3"}, "priority": {"name": "Urgentest"}}});
        let response = server.admin(Method::PUT, "/rest/api/2/issue/LIFE-1").json(&bad).send().await.unwrap();
        let body = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(body["errors"]["status"].as_str().unwrap().contains("cannot be set"));
        let bad = json!({"fields": {"summary": "", "priority": {"name": "Urgentest"}}});
        let body = expect_error(server.admin(Method::PUT, "/rest/api/2/issue/LIFE-1").json(&bad).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert!(body["errors"]["summary"].is_string() && body["errors"]["priority"].is_string(), "{body}");
        let issue = json_of(server.admin(Method::GET, "/rest/api/2/issue/LIFE-1").send().await.unwrap()).await;
        assert_eq!(issue["fields"]["summary"], "It breaks badly");

        // Transitions: by id (string or number) or name; Done sets a resolution.
        let step = |t: Value| server.user(Method::POST, "/rest/api/2/issue/LIFE-1/transitions", "bob").json(&json!({"transition": t}));
        assert_eq!(step(json!({"id": "21"})).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        let invalid = step(json!({"id": 21})).send().await.unwrap();
        expect_error(invalid, StatusCode::BAD_REQUEST).await;
        assert_eq!(step(json!({"name": "Done"})).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        let done = json_of(server.admin(Method::GET, "/rest/api/2/issue/LIFE-1").send().await.unwrap()).await;
        assert_eq!(done["fields"]["status"]["name"], "Done");
        assert_eq!(done["fields"]["resolution"]["name"], "Done");
        assert!(done["fields"]["resolutiondate"].is_string());
        assert_eq!(step(json!({"id": 21})).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        let reopened = json_of(server.admin(Method::GET, "/rest/api/2/issue/LIFE-1").send().await.unwrap()).await;
        assert_eq!(reopened["fields"]["resolution"], Value::Null);
        expect_error(step(json!({"id": "999"})).send().await.unwrap(), StatusCode::BAD_REQUEST).await;

        // Assignment: a user, nobody, and someone who cannot be assigned.
        let assign = |body: Value| server.user(Method::PUT, "/rest/api/2/issue/LIFE-1/assignee", "bob").json(&body);
        assert_eq!(assign(json!({"name": "admin"})).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(assign(json!(null)).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        let issue = json_of(server.admin(Method::GET, "/rest/api/2/issue/LIFE-1").send().await.unwrap()).await;
        assert_eq!(issue["fields"]["assignee"], Value::Null);
        server.create_user("stranger", &[]).await;
        let admin_only = server.admin(Method::DELETE, "/rest/api/2/project/LIFE/role/10000?group=jira-users").send().await.unwrap();
        assert_eq!(admin_only.status(), StatusCode::NO_CONTENT);
        let body = expect_error(assign(json!({"name": "stranger"})).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert!(body["errors"]["assignee"].as_str().unwrap().contains("cannot be assigned"));
        expect_error(assign(json!({"name": "ghost"})).send().await.unwrap(), StatusCode::BAD_REQUEST).await;

        // Delete: 204, then gone.
        let deleted = server.admin(Method::DELETE, "/rest/api/2/issue/LIFE-1?deleteSubtasks=true").send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        expect_error(server.admin(Method::GET, "/rest/api/2/issue/LIFE-1").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        expect_error(server.admin(Method::DELETE, &format!("/rest/api/2/issue/{id}")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
    }

    async fn comments_follow_authorship(db) {
        let server = TestServer::start(db).await;
        server.create_project("COM").await;
        server.create_user("carol", &[]).await;
        server.create_user("dave", &[]).await;
        let key = server.create_issue("COM", "talk").await;
        let path = format!("/rest/api/2/issue/{key}/comment");
        let response = server.user(Method::POST, &path, "carol").json(&json!({"body": "first!"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let comment = json_of(response).await;
        assert_eq!(comment["author"]["name"], "carol");
        let comment_path = format!("{path}/{}", comment["id"].as_str().unwrap());
        assert!(comment["self"].as_str().unwrap().ends_with(&comment_path.replace("/rest/api/2/issue/COM-1", "")));
        for n in 0..3 {
            server.user(Method::POST, &path, "dave").json(&json!({"body": format!("reply {n}")})).send().await.unwrap();
        }
        let page = json_of(server.user(Method::GET, &format!("{path}?startAt=1&maxResults=2&orderBy=-created"), "carol").send().await.unwrap()).await;
        assert_eq!(page["total"], 4);
        assert_eq!(page["maxResults"], 2);
        assert_eq!(page["comments"][0]["body"], "reply 1");
        // Another user may not edit it; its author may; an empty body is refused.
        expect_error(server.user(Method::PUT, &comment_path, "dave").json(&json!({"body": "hijacked"})).send().await.unwrap(), StatusCode::FORBIDDEN).await;
        let edited = json_of(server.user(Method::PUT, &comment_path, "carol").json(&json!({"body": "edited"})).send().await.unwrap()).await;
        assert_eq!(edited["body"], "edited");
        expect_error(server.user(Method::PUT, &comment_path, "carol").json(&json!({"body": " "})).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        // Visibility restrictions are refused rather than silently dropped.
        let restricted = server.user(Method::POST, &path, "carol").json(&json!({"body": "x", "visibility": {"type": "role", "value": "Administrators"}})).send().await.unwrap();
        expect_error(restricted, StatusCode::BAD_REQUEST).await;
        expect_error(server.user(Method::DELETE, &comment_path, "dave").send().await.unwrap(), StatusCode::FORBIDDEN).await;
        assert_eq!(server.admin(Method::DELETE, &comment_path).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        expect_error(server.user(Method::GET, &comment_path, "carol").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        // A comment is only reachable through its own issue.
        let other = server.create_issue("COM", "elsewhere").await;
        let their = json_of(server.user(Method::GET, &path, "carol").send().await.unwrap()).await["comments"][0]["id"].as_str().unwrap().to_string();
        expect_error(server.admin(Method::GET, &format!("/rest/api/2/issue/{other}/comment/{their}")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
    }

    async fn bad_requests_get_the_right_status(db) {
        let server = TestServer::start(db).await;
        server.create_project("BAD").await;
        let post = |body: &'static str, content_type: Option<&'static str>| {
            let mut builder = server.admin(Method::POST, "/rest/api/2/issue").body(body);
            if let Some(content_type) = content_type {
                builder = builder.header("content-type", content_type);
            }
            builder
        };
        expect_error(post("{not json", Some("application/json")).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        expect_error(post("{}", Some("text/xml")).send().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        expect_error(post("{}", None).send().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        // JSON is application/json in UTF-8; other +json types and charsets are not Jira's.
        for other in ["application/vnd.api+json", "application/json; charset=iso-8859-1", "application/jsonp"] {
            expect_error(post("{}", Some(other)).send().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
        }
        expect_error(post("{}", Some("application/json; charset=UTF-8")).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        expect_error(post("", Some("application/json")).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        expect_error(post("[1,2]", Some("application/json")).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        let huge = format!("{{\"fields\":{{\"summary\":\"{}\"}}}}", "x".repeat(2 * 1024 * 1024));
        let response = server.admin(Method::POST, "/rest/api/2/issue").header("content-type", "application/json").body(huge).send().await.unwrap();
        assert_eq!(response.headers()["connection"], "close", "the unread rest makes the connection unusable");
        expect_error(response, StatusCode::PAYLOAD_TOO_LARGE).await;
        // A body-less request with a JSON content type is never 415.
        let get = server.admin(Method::GET, "/rest/api/2/myself").header("content-type", "application/json").send().await.unwrap();
        assert_eq!(get.status(), StatusCode::OK);
        let delete = server.admin(Method::DELETE, "/rest/api/2/issue/BAD-99").header("content-type", "application/json").send().await.unwrap();
        expect_error(delete, StatusCode::NOT_FOUND).await;
        for path in ["/rest/api/2/issue/not-a-key", "/rest/api/2/issue/99999999999999999999999", "/rest/api/2/issue/BAD-0", "/rest/api/2/project/NOSUCH", "/rest/api/2/nothing-here", "/elsewhere"] {
            expect_error(server.admin(Method::GET, path).send().await.unwrap(), StatusCode::NOT_FOUND).await;
        }
        expect_error(server.admin(Method::PATCH, "/rest/api/2/myself").send().await.unwrap(), StatusCode::METHOD_NOT_ALLOWED).await;
        // Missing required fields name themselves.
        let response = server.admin(Method::POST, "/rest/api/2/issue").json(&json!({"fields": {"project": {"key": "BAD"}}})).send().await.unwrap();
        let body = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(body["errors"]["summary"].is_string() && body["errors"]["issuetype"].is_string(), "{body}");
        let response = server.admin(Method::POST, "/rest/api/2/issue").json(&json!({"fields": {"summary": "x"}})).send().await.unwrap();
        let body = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(body["errors"]["project"].is_string());
        // Unparsable paging falls back to the defaults.
        let listed = server.admin(Method::GET, "/rest/api/2/user/search?username=.&startAt=x&maxResults=-5").send().await.unwrap();
        assert_eq!(listed.status(), StatusCode::OK);
        // Duplicates are conflicts in Jira's shape.
        let dup = server.admin(Method::POST, "/rest/api/2/project").json(&json!({"key": "BAD", "name": "Other"})).send().await.unwrap();
        let body = expect_error(dup, StatusCode::CONFLICT).await;
        assert!(body["errors"]["projectKey"].is_string());
        let dup = server.admin(Method::POST, "/rest/api/2/user").json(&json!({"name": "ADMIN", "password": "long-enough"})).send().await.unwrap();
        let body = expect_error(dup, StatusCode::CONFLICT).await;
        assert_eq!(body["errors"]["username"], "A user with that username already exists.");
        let weak = server.admin(Method::POST, "/rest/api/2/user").json(&json!({"name": "weak", "password": "short"})).send().await.unwrap();
        expect_error(weak, StatusCode::BAD_REQUEST).await;

        // NUL characters (which PostgreSQL cannot store) are bad requests everywhere, never 500s.
        let nul_summary = json!({"fields": {"project": {"key": "BAD"}, "issuetype": {"name": "Task"}, "summary": "a\u{0}b"}});
        expect_error(server.admin(Method::POST, "/rest/api/2/issue").json(&nul_summary).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        let nul_member = json!({"name": "ad\u{0}min"});
        expect_error(server.admin(Method::POST, "/rest/api/2/group/user?groupname=jira-users").json(&nul_member).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        for path in ["/rest/api/2/user/search?username=%00", "/rest/api/2/user?username=a%00", "/rest/api/2/project/A%00B", "/rest/api/2/issue/BAD-1%00"] {
            expect_error(server.admin(Method::GET, path).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        }
        let nul_login = server.basic(Method::GET, "/rest/api/2/myself", "ad\0min", ADMIN_PASSWORD).send().await.unwrap();
        expect_error(nul_login, StatusCode::UNAUTHORIZED).await;
        let nul_session = server.request(Method::POST, "/rest/auth/1/session").json(&json!({"username": "ad\u{0}min", "password": "x"})).send().await.unwrap();
        expect_error(nul_session, StatusCode::BAD_REQUEST).await;
        let control = json!({"body": "bell\u{7}"});
        let key = server.create_issue("BAD", "for control characters").await;
        expect_error(server.admin(Method::POST, &format!("/rest/api/2/issue/{key}/comment")).json(&control).send().await.unwrap(), StatusCode::BAD_REQUEST).await;

        // Paging arithmetic cannot overflow; a zero-size page is the last one.
        let huge = server.admin(Method::GET, "/rest/api/2/group?groupname=jira-users&expand=users[0:9223372036854775807]").send().await.unwrap();
        assert_eq!(huge.status(), StatusCode::OK);
        let empty = json_of(server.admin(Method::GET, "/rest/api/2/group/member?groupname=jira-users&maxResults=0").send().await.unwrap()).await;
        assert_eq!(empty["isLast"], true);
        assert!(empty.get("nextPage").is_none());
        // Administrators may name users by key too.
        let me = json_of(server.admin(Method::GET, "/rest/api/2/myself").send().await.unwrap()).await;
        let by_key = server.admin(Method::PUT, &format!("/rest/api/2/user?key={}", me["key"].as_str().unwrap())).json(&json!({"displayName": "The Admin"})).send().await.unwrap();
        assert_eq!(json_of(by_key).await["displayName"], "The Admin");
    }

    async fn users_groups_and_roles(db) {
        let server = TestServer::start(db).await;
        server.create_user("erin", &[]).await;
        let erin = json_of(server.user(Method::GET, "/rest/api/2/user?username=erin&expand=groups", "erin").send().await.unwrap()).await;
        assert_eq!(erin["emailAddress"], "erin@example.com", "users see their own address");
        assert_eq!(erin["groups"]["items"][0]["name"], "jira-users");
        let admin_seen_by_erin = json_of(server.user(Method::GET, "/rest/api/2/user?username=admin", "erin").send().await.unwrap()).await;
        assert!(admin_seen_by_erin.get("emailAddress").is_none());
        let by_key = json_of(server.user(Method::GET, &format!("/rest/api/2/user?key={}", erin["key"].as_str().unwrap()), "erin").send().await.unwrap()).await;
        assert_eq!(by_key["name"], "erin");
        expect_error(server.user(Method::GET, "/rest/api/2/user?username=ghost", "erin").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        let found = json_of(server.user(Method::GET, "/rest/api/2/user/search?username=er", "erin").send().await.unwrap()).await;
        assert_eq!(found.as_array().unwrap().len(), 1);
        assert!(found[0]["self"].is_string());

        let created = server.admin(Method::POST, "/rest/api/2/group").json(&json!({"name": "Testers"})).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        assert_eq!(json_of(created).await["name"], "Testers");
        let joined = server.admin(Method::POST, "/rest/api/2/group/user?groupname=testers").json(&json!({"name": "erin"})).send().await.unwrap();
        assert_eq!(json_of(joined).await["name"], "Testers");
        let again = server.admin(Method::POST, "/rest/api/2/group/user?groupname=testers").json(&json!({"name": "erin"})).send().await.unwrap();
        expect_error(again, StatusCode::CONFLICT).await;
        let members = json_of(server.user(Method::GET, "/rest/api/2/group/member?groupname=testers", "erin").send().await.unwrap()).await;
        assert_eq!(members["total"], 1);
        assert_eq!(members["isLast"], true);
        assert_eq!(members["values"][0]["name"], "erin");
        let group = json_of(server.user(Method::GET, "/rest/api/2/group?groupname=jira-users&expand=users", "erin").send().await.unwrap()).await;
        assert_eq!(group["users"]["size"], 2);
        expect_error(server.admin(Method::DELETE, "/rest/api/2/group?groupname=jira-users").send().await.unwrap(), StatusCode::BAD_REQUEST).await;

        // A group in a role grants its members the role's permissions.
        server.create_project("GRP").await;
        let removed = server.admin(Method::DELETE, "/rest/api/2/project/GRP/role/10000?group=jira-users").send().await.unwrap();
        assert_eq!(removed.status(), StatusCode::NO_CONTENT);
        let key = server.create_issue("GRP", "for testers").await;
        expect_error(server.user(Method::GET, &format!("/rest/api/2/issue/{key}"), "erin").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        let put = server
            .admin(Method::PUT, "/rest/api/2/project/GRP/role/10001")
            .json(&json!({"categorisedActors": {"atlassian-group-role-actor": ["testers"], "atlassian-user-role-actor": []}}))
            .send()
            .await
            .unwrap();
        let role = json_of(put).await;
        assert_eq!(role["name"], "Developers");
        assert_eq!(role["actors"][0]["name"], "Testers");
        assert_eq!(server.user(Method::GET, &format!("/rest/api/2/issue/{key}"), "erin").send().await.unwrap().status(), StatusCode::OK);
        let edit = server.user(Method::PUT, &format!("/rest/api/2/issue/{key}"), "erin").json(&json!({"fields": {"summary": "tested"}})).send().await.unwrap();
        assert_eq!(edit.status(), StatusCode::NO_CONTENT);
        let roles = json_of(server.user(Method::GET, "/rest/api/2/project/GRP/role", "erin").send().await.unwrap()).await;
        assert!(roles["Developers"].as_str().unwrap().ends_with("/role/10001"));
        // Leaving the group takes the permissions away.
        let left = server.admin(Method::DELETE, "/rest/api/2/group/user?groupname=testers&username=erin").send().await.unwrap();
        assert_eq!(left.status(), StatusCode::OK);
        expect_error(server.user(Method::GET, &format!("/rest/api/2/issue/{key}"), "erin").send().await.unwrap(), StatusCode::NOT_FOUND).await;

        expect_error(server.user(Method::GET, "/rest/api/2/mypermissions?projectKey=GRP", "erin").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        let in_project = json_of(server.admin(Method::GET, "/rest/api/2/mypermissions?projectKey=GRP").send().await.unwrap()).await;
        assert_eq!(in_project["permissions"]["DELETE_ISSUES"]["havePermission"], true);
        let mine = json_of(server.user(Method::GET, "/rest/api/2/mypermissions?permissions=ADMINISTER,USE,CREATE_ISSUES", "erin").send().await.unwrap()).await;
        assert_eq!(mine["permissions"]["USE"]["havePermission"], true);
        assert_eq!(mine["permissions"]["ADMINISTER"]["havePermission"], false);
        assert_eq!(mine["permissions"]["ADMINISTER"]["id"], "0");
        assert_eq!(mine["permissions"].as_object().unwrap().len(), 3);
        expect_error(server.user(Method::GET, "/rest/api/2/mypermissions?permissions=FLY", "erin").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
    }

    async fn passwords_change_and_end_other_sessions(db) {
        let server = TestServer::start(db).await;
        server.create_user("frank", &[]).await;
        let first = server.login("frank", PASSWORD).await;
        let second = server.login("frank", PASSWORD).await;
        let wrong = server.with_session(Method::PUT, "/rest/api/2/myself/password", &first).json(&json!({"password": "brand-new-pass", "currentPassword": "nope"})).send().await.unwrap();
        expect_error(wrong, StatusCode::FORBIDDEN).await;
        let changed = server.with_session(Method::PUT, "/rest/api/2/myself/password", &first).json(&json!({"password": "brand-new-pass", "currentPassword": PASSWORD})).send().await.unwrap();
        assert_eq!(changed.status(), StatusCode::NO_CONTENT);
        let renewed = changed.headers().get_all("set-cookie").iter()
            .find_map(|v| v.to_str().unwrap().strip_prefix("JSESSIONID=").map(|rest| rest.split(';').next().unwrap().to_string()))
            .expect("the session continues under a new id");
        assert_ne!(renewed, first);
        expect_error(server.with_session(Method::GET, "/rest/api/2/myself", &first).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        assert_eq!(server.with_session(Method::GET, "/rest/api/2/myself", &renewed).send().await.unwrap().status(), StatusCode::OK, "the session used continues");
        let first = renewed;
        expect_error(server.with_session(Method::GET, "/rest/api/2/myself", &second).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        expect_error(server.user(Method::GET, "/rest/api/2/myself", "frank").send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        assert_eq!(server.basic(Method::GET, "/rest/api/2/myself", "frank", "brand-new-pass").send().await.unwrap().status(), StatusCode::OK);
        // An administrator's reset ends every session.
        let reset = server.admin(Method::PUT, "/rest/api/2/user/password?username=frank").json(&json!({"password": "admin-chosen-1"})).send().await.unwrap();
        assert_eq!(reset.status(), StatusCode::NO_CONTENT);
        expect_error(server.with_session(Method::GET, "/rest/api/2/myself", &first).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        expect_error(server.basic(Method::GET, "/rest/api/2/myself", "frank", "brand-new-pass").send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        // Deactivation ends sessions and Basic at once.
        let session = server.login("frank", "admin-chosen-1").await;
        let off = server.admin(Method::PUT, "/rest/api/2/user?username=frank").json(&json!({"active": false})).send().await.unwrap();
        assert_eq!(off.status(), StatusCode::OK);
        expect_error(server.with_session(Method::GET, "/rest/api/2/myself", &session).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        expect_error(server.basic(Method::GET, "/rest/api/2/myself", "frank", "admin-chosen-1").send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
    }

    async fn instances_sharing_a_database_agree_within_a_second(db) {
        // Two servers start together on one empty database: one of them creates the admin.
        let (a, b) = tokio::join!(TestServer::start_shared(test_config(&db)), TestServer::start_shared(test_config(&db)));
        assert_eq!(a.store.count_users().await.unwrap(), 1);
        for server in [&a, &b] {
            assert_eq!(server.admin(Method::GET, "/rest/api/2/myself").send().await.unwrap().status(), StatusCode::OK);
        }
        // A user made through one is known to the other; its password is remembered by both.
        a.create_user("gina", &[]).await;
        assert_eq!(b.user(Method::GET, "/rest/api/2/myself", "gina").send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(a.user(Method::GET, "/rest/api/2/myself", "gina").send().await.unwrap().status(), StatusCode::OK);
        // A password reset through B ends the old password on B at once, and on A (which
        // remembered it) within a second.
        let reset = b.admin(Method::PUT, "/rest/api/2/user/password?username=gina").json(&json!({"password": "second-password"})).send().await.unwrap();
        assert_eq!(reset.status(), StatusCode::NO_CONTENT);
        expect_error(b.user(Method::GET, "/rest/api/2/myself", "gina").send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        answered_within_a_second(|| a.user(Method::GET, "/rest/api/2/myself", "gina"), StatusCode::UNAUTHORIZED).await;
        // A session opened on A works on B, and deactivation through B ends it on A.
        let session = a.login("gina", "second-password").await;
        assert_eq!(b.with_session(Method::GET, "/rest/api/2/myself", &session).send().await.unwrap().status(), StatusCode::OK);
        let off = b.admin(Method::PUT, "/rest/api/2/user?username=gina").json(&json!({"active": false})).send().await.unwrap();
        assert_eq!(off.status(), StatusCode::OK);
        expect_error(a.with_session(Method::GET, "/rest/api/2/myself", &session).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        // Issues created through both at once get distinct, consecutive keys.
        a.create_project("DUO").await;
        assert_eq!(create_concurrently(&[&a, &b], "DUO", 40).await, (1..=40).collect::<Vec<_>>());
        a.stop().await;
        b.stop().await;
    }

    async fn concurrent_creations_get_consecutive_keys(db) {
        let server = TestServer::start(db).await;
        server.create_project("RACE").await;
        assert_eq!(create_concurrently(&[&server], "RACE", 100).await, (1..=100).collect::<Vec<_>>());
    }
}

/// Creates `count` issues in `project` at once, spread over `servers`; returns their numbers,
/// sorted.
async fn create_concurrently(servers: &[&TestServer], project: &str, count: usize) -> Vec<i64> {
    let mut tasks = Vec::new();
    for n in 0..count {
        let request = servers[n % servers.len()]
            .admin(Method::POST, "/rest/api/2/issue")
            .json(&json!({"fields": {"project": {"key": project}, "issuetype": {"id": "3"}, "summary": format!("racer {n}")}}));
        tasks.push(tokio::spawn(async move { request.send().await }));
    }
    let mut numbers = Vec::new();
    for task in tasks {
        let response = task.await.unwrap().unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let body: Value = response.json().await.unwrap();
        let key = body["key"].as_str().unwrap();
        numbers.push(
            key.strip_prefix(&format!("{project}-"))
                .unwrap()
                .parse::<i64>()
                .unwrap(),
        );
    }
    numbers.sort_unstable();
    numbers
}

/// The base URL's context path: links carry it and routes live under it.
#[tokio::test]
async fn a_context_path_prefixes_routes_and_links() {
    let db = tessera_testkit::TestDatabase::sqlite();
    let mut config = test_config(&db);
    config.base_url = Some("https://jira.example.com/jira".into());
    let server = TestServer::start_with(db, config).await;
    let info = json_of(
        server
            .anonymous(Method::GET, "/jira/rest/api/2/serverInfo")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(info["baseUrl"], "https://jira.example.com/jira");
    // RFC 8414 §3.1: an issuer with a path has its metadata at the root, the path after the
    // well-known name; under the context path too, for proxies that forward only that.
    for path in [
        "/.well-known/oauth-authorization-server/jira",
        "/jira/.well-known/oauth-authorization-server",
    ] {
        let metadata = json_of(server.anonymous(Method::GET, path).send().await.unwrap()).await;
        assert_eq!(
            metadata["issuer"], "https://jira.example.com/jira",
            "{path}"
        );
        assert_eq!(
            metadata["token_endpoint"],
            "https://jira.example.com/jira/rest/oauth2/latest/token"
        );
    }
    let me = json_of(
        server
            .admin(Method::GET, "/jira/rest/api/2/myself")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(
        me["self"],
        "https://jira.example.com/jira/rest/api/2/user?username=admin"
    );
    expect_error(
        server
            .admin(Method::GET, "/rest/api/2/myself")
            .send()
            .await
            .unwrap(),
        StatusCode::NOT_FOUND,
    )
    .await;
    // Served behind HTTPS: the session cookie is Secure and scoped to the context path.
    let response = server
        .request(Method::POST, "/jira/rest/auth/1/session")
        .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("JSESSIONID"))
        .unwrap();
    assert!(
        cookie.contains("Secure") && cookie.contains("Path=/jira"),
        "{cookie}"
    );
    // The configured base URL's origin alone is tessera's own for the XSRF rule: a cookie
    // request whose Origin merely matches its Host (which a proxy may rewrite) is refused.
    let session = cookie["JSESSIONID=".len()..].split(';').next().unwrap();
    let logout = |origin: &str| {
        server
            .with_session(Method::DELETE, "/jira/rest/auth/1/session", session)
            .header("origin", origin)
            .send()
    };
    let refused = logout(&format!("http://{}", server.addr)).await.unwrap();
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    assert_eq!(
        refused.headers()["x-authentication-denied-reason"],
        "xsrf_check_failed"
    );
    let own = logout("https://jira.example.com").await.unwrap();
    assert_eq!(own.status(), StatusCode::NO_CONTENT);
    server.stop().await;
}

/// Behind a trusted TLS-terminating proxy, the session cookie is Secure; an untrusted peer's
/// forwarded headers are ignored.
#[tokio::test]
async fn forwarded_proto_counts_only_from_trusted_proxies() {
    async fn secure_cookie(trusted: Vec<&'static str>) -> bool {
        let db = tessera_testkit::TestDatabase::sqlite();
        let mut config = test_config(&db);
        config.trusted_proxies = trusted
            .into_iter()
            .map(|net| net.parse().unwrap())
            .collect();
        let server = TestServer::start_with(db, config).await;
        let response = server
            .request(Method::POST, "/rest/auth/1/session")
            .header("x-forwarded-proto", "https")
            .header("x-forwarded-for", "198.51.100.7")
            .json(&json!({"username": "admin", "password": ADMIN_PASSWORD}))
            .send()
            .await
            .unwrap();
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .find(|c| c.starts_with("JSESSIONID"))
            .unwrap();
        server.stop().await;
        cookie.contains("Secure")
    }
    assert!(
        secure_cookie(vec!["127.0.0.1/32"]).await,
        "trusted proxy: Secure"
    );
    assert!(
        !secure_cookie(vec![]).await,
        "untrusted peer: its header is ignored"
    );
    assert!(
        !secure_cookie(vec!["10.0.0.0/8"]).await,
        "a proxy list without this peer"
    );
}

/// Slow-header clients are cut off, and connections beyond the limit wait for a free slot.
#[tokio::test]
async fn the_transport_bounds_slow_clients_and_connections() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;

    let db = tessera_testkit::TestDatabase::sqlite();
    let mut config = test_config(&db);
    config.header_read_timeout_seconds = 1;
    config.body_read_timeout_seconds = 1;
    let server = TestServer::start_with(db, config).await;

    // Headers that never end: the server closes the connection once the timeout has passed.
    let started = std::time::Instant::now();
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /rest/api/2/serverInfo HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let mut buffer = Vec::new();
    let closed = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        slow.read_to_end(&mut buffer),
    )
    .await;
    assert!(closed.is_ok(), "the slow client was cut off");
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(900),
        "by the timeout, not at once"
    );

    // A body trickled in: 408 in Jira's shape once the body deadline passes.
    let mut trickle = TcpStream::connect(server.addr).await.unwrap();
    let auth = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        format!("admin:{ADMIN_PASSWORD}"),
    );
    let head = format!(
        "POST /rest/api/2/group HTTP/1.1\r\nHost: x\r\nAuthorization: Basic {auth}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"name\""
    );
    trickle.write_all(head.as_bytes()).await.unwrap();
    let mut answer = String::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        trickle.read_to_string(&mut answer),
    )
    .await
    .expect("answered before the test gave up")
    .unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("connection: close"),
        "{answer}"
    );
    assert!(answer.contains("errorMessages"), "{answer}");
    server.stop().await;

    let db = tessera_testkit::TestDatabase::sqlite();
    let mut config = test_config(&db);
    config.max_connections = 2;
    let server = TestServer::start_with(db, config).await;
    // Two idle connections take both slots; a third request waits until one is released.
    let first = TcpStream::connect(server.addr).await.unwrap();
    let second = TcpStream::connect(server.addr).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let url = server.url("/rest/api/2/serverInfo");
    let waiting = tokio::spawn(async move { reqwest::get(url).await.map(|r| r.status()) });
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !waiting.is_finished(),
        "a third connection is not served while two are held"
    );
    drop(first);
    let status = tokio::time::timeout(std::time::Duration::from_secs(10), waiting)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(status, StatusCode::OK);
    drop(second);
    server.stop().await;
}

/// One address cannot hold every connection: past its own cap its new connections are closed
/// at once, while other addresses are served; a connection that sends nothing is cut off by
/// the header timeout.
#[tokio::test]
async fn one_address_cannot_take_every_connection() {
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpStream;

    let db = tessera_testkit::TestDatabase::sqlite();
    let mut config = test_config(&db);
    config.max_connections_per_address = 3;
    config.header_read_timeout_seconds = 1;
    let server = TestServer::start_with(db, config).await;
    // Connections from 127.0.0.2 (all of 127.0.0.0/8 is this machine's loopback).
    let from_other = |ip: &str| {
        reqwest::Client::builder()
            .local_address(ip.parse::<std::net::IpAddr>().unwrap())
            .build()
            .unwrap()
    };
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(server.addr).await.unwrap());
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    // A fourth from the same address is closed without an answer...
    let mut fourth = TcpStream::connect(server.addr).await.unwrap();
    let mut buffer = Vec::new();
    let read = tokio::time::timeout(
        std::time::Duration::from_millis(800),
        fourth.read_to_end(&mut buffer),
    )
    .await;
    assert!(
        matches!(read, Ok(Ok(0)) | Ok(Err(_))),
        "closed at once: {read:?}"
    );
    // ... while another address is served.
    let other = from_other("127.0.0.2")
        .get(server.url("/rest/api/2/serverInfo"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), StatusCode::OK);
    // The held connections sent nothing: the header timeout closes them, and the address
    // is served again.
    for mut connection in held {
        let read = tokio::time::timeout(
            std::time::Duration::from_secs(10),
            connection.read_to_end(&mut buffer),
        )
        .await;
        assert!(read.is_ok(), "a silent connection is cut off");
    }
    let again = reqwest::get(server.url("/rest/api/2/serverInfo"))
        .await
        .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    server.stop().await;
}

/// Jira answers a path with a trailing slash as the path without it (the Python client deletes
/// users at `user/?username=`), under the same access rule.
#[tokio::test]
async fn a_trailing_slash_names_the_same_route() {
    let server = TestServer::start(tessera_testkit::TestDatabase::sqlite()).await;
    let me = json_of(
        server
            .admin(Method::GET, "/rest/api/2/myself/")
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(me["name"], "admin");
    let anonymous = server
        .anonymous(Method::GET, "/rest/api/2/myself/")
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    server.create_user("slash", &[]).await;
    let deleted = server
        .admin(Method::DELETE, "/rest/api/2/user/?username=slash")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
    let gone = server
        .admin(Method::GET, "/rest/api/2/user?username=slash")
        .send()
        .await
        .unwrap();
    assert_eq!(gone.status(), StatusCode::NOT_FOUND);
}

/// A request target longer than Jira (behind Tomcat) takes is refused with 414 before any
/// work; the same query goes by `POST search`.
#[tokio::test]
async fn an_overlong_request_target_is_refused() {
    let server = TestServer::start(tessera_testkit::TestDatabase::sqlite()).await;
    server.create_project("LONG").await;
    let key = server.create_issue("LONG", "long query").await;
    let jql = vec![format!("key = {key}"); 1_500].join(" or ");
    let by_get = server
        .admin(
            Method::GET,
            &format!(
                "/rest/api/2/search?jql={}",
                jql.replace(' ', "%20").replace('=', "%3D")
            ),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(by_get.status(), StatusCode::URI_TOO_LONG);
    let error = json_of(by_get).await;
    assert!(
        error["errorMessages"][0].as_str().unwrap().contains("POST"),
        "{error}"
    );
    let by_post = json_of(
        server
            .admin(Method::POST, "/rest/api/2/search")
            .json(&json!({"jql": jql}))
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(by_post["total"], 1);
}
