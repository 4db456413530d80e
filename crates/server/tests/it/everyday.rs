//! The everyday Jira API around issues, through a real server on both stores: the changelog
//! (`expand=changelog`, `issue/{key}/changelog`) with the credential of every change (password,
//! session, personal token as Bearer and in Basic, OAuth 2.0 client) and who may see it;
//! watchers with Jira's permissions; `createmeta` (Jira Server's and the 8.4+ listings) and
//! `editmeta` following what the caller may set; labels, priorities and resolutions on issues;
//! `project/{key}/statuses`; `serverInfo` without a credential. Refusals: an issue the caller
//! cannot see is 404, a missing permission or scope 403 with its reason.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

/// A project only its role members see: `reader` (Users), `dev` (Developers), and `admin`
/// (Administrators, as its lead); `outsider` has no role. Returns an issue filed by `admin`.
async fn world(server: &TestServer, key: &str) -> String {
    server.create_project(key).await;
    for user in ["reader", "dev", "outsider"] {
        server.create_user(user, &[]).await;
    }
    let response = server
        .admin(
            Method::DELETE,
            &format!("/rest/api/2/project/{key}/role/10000?group=jira-users"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    server.add_to_role(key, 10000, "reader").await;
    server.add_to_role(key, 10001, "dev").await;
    server.create_issue(key, "everyday").await
}

async fn ok_json(response: reqwest::Response) -> Value {
    assert_eq!(response.status(), StatusCode::OK);
    json_of(response).await
}

async fn no_content(response: reqwest::Response) {
    let status = response.status();
    let text = response.text().await.unwrap();
    assert_eq!(status, StatusCode::NO_CONTENT, "{text}");
    assert!(text.is_empty());
}

/// A 403 with the reason in the header and Jira's error body; returns the message.
async fn forbidden(response: reqwest::Response, reason: &str) -> String {
    assert_eq!(response.headers()["x-authentication-denied-reason"], reason);
    let body = expect_error(response, StatusCode::FORBIDDEN).await;
    body["errorMessages"][0].as_str().unwrap().to_string()
}

/// The id of the token presented.
async fn token_id(server: &TestServer, token: &str) -> String {
    let current = ok_json(
        server
            .bearer(Method::GET, "/rest/pat/latest/tokens/current", token)
            .send()
            .await
            .unwrap(),
    )
    .await;
    current["id"].to_string()
}

fn credential(history: &Value) -> &Value {
    &history["tessera"]["credential"]
}

backend_tests! {
    async fn every_change_is_logged_with_the_credential_that_made_it(db) {
        let server = TestServer::start(db).await;
        let key = world(&server, "LOG").await;
        let issue = format!("/rest/api/2/issue/{key}");

        // A password (Basic): summary, priority and labels, one entry.
        let edit = json!({"fields": {"summary": "renamed", "priority": {"name": "High"}}, "update": {"labels": [{"add": "ops"}]}});
        no_content(server.user(Method::PUT, &issue, "dev").json(&edit).send().await.unwrap()).await;
        // A personal access token as Bearer: the assignee.
        let token = server.create_token("dev", json!({"name": "script", "expirationDuration": 1})).await;
        let id = token_id(&server, &token).await;
        no_content(server.bearer(Method::PUT, &format!("{issue}/assignee"), &token).json(&json!({"name": "dev"})).send().await.unwrap()).await;
        // The same token in Basic's password: a transition.
        let response = server.basic(Method::POST, &format!("{issue}/transitions"), "dev", &token).json(&json!({"transition": {"id": "21"}})).send().await.unwrap();
        no_content(response).await;
        // A session: the description.
        let session = server.login("dev", PASSWORD).await;
        no_content(server.with_session(Method::PUT, &issue, &session).json(&json!({"fields": {"description": "from the browser"}})).send().await.unwrap()).await;
        // Comments are not changelog entries (nor in Jira); neither are edits changing nothing.
        let comment = server.user(Method::POST, &format!("{issue}/comment"), "dev").json(&json!({"body": "hello"})).send().await.unwrap();
        assert_eq!(comment.status(), StatusCode::CREATED);
        no_content(server.user(Method::PUT, &issue, "dev").json(&json!({"fields": {"summary": "renamed"}})).send().await.unwrap()).await;

        // An OAuth 2.0 client (client_credentials, as a service account in the project).
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "bots"}), StatusCode::CREATED).await;
        server.admin_json(Method::POST, "/rest/tessera/1/serviceaccounts", json!({"name": "ci-bot", "ownerGroup": "bots"}), StatusCode::CREATED).await;
        server.add_to_role("LOG", 10001, "ci-bot").await;
        let client = server.admin_json(Method::POST, "/rest/tessera/1/oauth2/clients", json!({
            "name": "CI pipeline", "redirectUris": ["https://ci.example/cb"], "confidential": true,
            "scopes": ["WRITE"], "serviceAccount": "ci-bot"}), StatusCode::CREATED).await;
        let client_id = client["clientId"].as_str().unwrap();
        let response = server.request(Method::POST, "/rest/oauth2/latest/token")
            .basic_auth(client_id, client["clientSecret"].as_str())
            .header("content-type", "application/x-www-form-urlencoded")
            .body("grant_type=client_credentials")
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let access: Value = response.json().await.unwrap();
        let access = access["access_token"].as_str().unwrap();
        no_content(server.bearer(Method::PUT, &issue, access).json(&json!({"fields": {"labels": ["ops", "bot"]}})).send().await.unwrap()).await;

        let log = ok_json(server.admin(Method::GET, &format!("{issue}/changelog")).send().await.unwrap()).await;
        assert_eq!((log["total"].as_i64(), log["startAt"].as_i64(), log["isLast"].as_bool()), (Some(5), Some(0), Some(true)));
        let values = log["values"].as_array().unwrap();
        let fields = |n: usize| values[n]["items"].as_array().unwrap().iter().map(|i| i["field"].as_str().unwrap()).collect::<Vec<_>>();
        assert_eq!(fields(0), ["summary", "priority", "labels"]);
        assert_eq!(fields(1), ["assignee"]);
        assert_eq!(fields(2), ["status"]);
        assert_eq!(fields(3), ["description"]);
        assert_eq!(fields(4), ["labels"]);
        assert_eq!(values[0]["items"][1], json!({"field": "priority", "fieldtype": "jira", "fieldId": "priority",
            "from": "3", "fromString": "Medium", "to": "2", "toString": "High"}));
        assert_eq!(values[0]["items"][0]["fromString"], "everyday");
        assert_eq!(values[1]["items"][0]["toString"], "dev Example");
        assert!(values[1]["items"][0]["to"].as_str().unwrap().starts_with("JIRAUSER"));
        assert_eq!(values[0]["author"]["name"], "dev");
        assert_eq!(values[4]["author"]["name"], "ci-bot");
        assert!(values[0]["created"].as_str().unwrap().ends_with("+0000"));
        assert!(values.iter().all(|v| v["id"].is_string()));

        assert_eq!(*credential(&values[0]), json!({"kind": "basic_password", "id": null}));
        assert_eq!(*credential(&values[1]), json!({"kind": "bearer_token", "id": id}));
        assert_eq!(*credential(&values[2]), json!({"kind": "basic_token", "id": id}));
        let by_session = credential(&values[3]);
        assert_eq!(by_session["kind"], "session");
        let reference = by_session["id"].as_str().unwrap();
        assert!(reference.len() == 12 && reference.bytes().all(|b| b.is_ascii_hexdigit()), "{reference}");
        assert!(!session.contains(reference), "a reference, never the session id");
        let by_client = credential(&values[4]);
        assert_eq!(by_client["kind"], "oauth2");
        assert_eq!(by_client["client"], json!({"id": client_id, "name": "CI pipeline"}));

        // The same history inside GET issue; the credential only for project administrators
        // (every entry) and each change's author (their own).
        let shown = ok_json(server.user(Method::GET, &format!("{issue}?expand=changelog"), "dev").send().await.unwrap()).await;
        let histories = shown["changelog"]["histories"].as_array().unwrap();
        assert_eq!(shown["changelog"]["total"], 5);
        assert_eq!(histories.len(), 5);
        assert!(histories[..4].iter().all(|h| h["tessera"]["credential"].is_object()));
        assert!(histories[4].get("tessera").is_none(), "another's credential is not dev's to see");
        let read = ok_json(server.user(Method::GET, &format!("{issue}?expand=changelog"), "reader").send().await.unwrap()).await;
        let histories = read["changelog"]["histories"].as_array().unwrap();
        assert_eq!(histories.len(), 5);
        assert!(histories.iter().all(|h| h.get("tessera").is_none()));
        assert!(ok_json(server.user(Method::GET, &issue, "reader").send().await.unwrap()).await.get("changelog").is_none());
        // Searches expand it as well.
        let found = ok_json(server.admin(Method::GET, &format!("/rest/api/2/search?jql=key%3D{key}&expand=changelog")).send().await.unwrap()).await;
        assert_eq!(found["issues"][0]["changelog"]["total"], 5);
        assert_eq!(found["issues"][0]["changelog"]["histories"][4]["tessera"]["credential"]["kind"], "oauth2");

        // Paging as Jira pages it.
        let page = ok_json(server.admin(Method::GET, &format!("{issue}/changelog?startAt=1&maxResults=2")).send().await.unwrap()).await;
        assert_eq!((page["total"].as_i64(), page["maxResults"].as_i64(), page["isLast"].as_bool()), (Some(5), Some(2), Some(false)));
        assert_eq!(page["values"][0]["id"], values[1]["id"]);
        assert!(page["nextPage"].as_str().unwrap().ends_with("/changelog?startAt=3&maxResults=2"), "{page}");
        let last = ok_json(server.admin(Method::GET, &format!("{issue}/changelog?startAt=4&maxResults=500")).send().await.unwrap()).await;
        assert_eq!((last["maxResults"].as_i64(), last["isLast"].as_bool(), last["values"].as_array().unwrap().len()), (Some(100), Some(true), 1));

        // A READ token reads the history; an invisible issue has none.
        let read_token = server.create_token("reader", json!({"name": "ro", "expirationDuration": 1, "scopes": ["READ"]})).await;
        ok_json(server.bearer(Method::GET, &format!("{issue}/changelog"), &read_token).send().await.unwrap()).await;
        let hidden = expect_error(server.user(Method::GET, &format!("{issue}/changelog"), "outsider").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        assert_eq!(hidden["errorMessages"][0], "Issue Does Not Exist");
        expect_error(server.user(Method::GET, "/rest/api/2/issue/LOG-999/changelog", "dev").send().await.unwrap(), StatusCode::NOT_FOUND).await;
    }

    async fn watchers_follow_jira_permissions(db) {
        let server = TestServer::start(db).await;
        let key = world(&server, "WAT").await;
        let path = format!("/rest/api/2/issue/{key}/watchers");
        let names = |list: &Value| list["watchers"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();

        // The reporter watches what they filed.
        let list = ok_json(server.admin(Method::GET, &path).send().await.unwrap()).await;
        assert_eq!(names(&list), ["admin"]);
        assert_eq!((list["watchCount"].as_i64(), list["isWatching"].as_bool()), (Some(1), Some(true)));
        assert!(list["self"].as_str().unwrap().ends_with("/watchers"));
        // Filed for someone else: the reporter and the creator both watch it.
        let filed = server.admin(Method::POST, "/rest/api/2/issue").json(&json!({"fields": {"project": {"key": "WAT"}, "issuetype": {"name": "Task"}, "summary": "for dev", "reporter": {"name": "dev"}}})).send().await.unwrap();
        assert_eq!(filed.status(), StatusCode::CREATED);
        let filed = json_of(filed).await;
        let theirs = ok_json(server.admin(Method::GET, &format!("/rest/api/2/issue/{}/watchers", filed["key"].as_str().unwrap())).send().await.unwrap()).await;
        assert_eq!(names(&theirs), ["admin", "dev"]);

        // Anyone who can browse watches and unwatches it themselves, with or without a name.
        no_content(server.user(Method::POST, &path, "reader").send().await.unwrap()).await;
        no_content(server.user(Method::POST, &path, "dev").json(&json!("dev")).send().await.unwrap()).await;
        no_content(server.user(Method::POST, &path, "dev").json(&json!("DEV")).send().await.unwrap()).await;
        let list = ok_json(server.user(Method::GET, &path, "reader").send().await.unwrap()).await;
        assert_eq!(names(&list), ["admin", "dev", "reader"]);
        assert_eq!(list["isWatching"], true);
        let issue = ok_json(server.user(Method::GET, &format!("/rest/api/2/issue/{key}?fields=watches"), "reader").send().await.unwrap()).await;
        assert_eq!(issue["fields"]["watches"]["watchCount"], 3);
        assert_eq!(issue["fields"]["watches"]["isWatching"], true);
        let navigable = ok_json(server.user(Method::GET, &format!("/rest/api/2/search?jql=key%3D{key}"), "reader").send().await.unwrap()).await;
        assert!(navigable["issues"][0]["fields"].get("watches").is_none(), "not among the navigable fields");
        let asked = ok_json(server.user(Method::GET, &format!("/rest/api/2/search?jql=key%3D{key}&fields=watches"), "reader").send().await.unwrap()).await;
        assert_eq!(asked["issues"][0]["fields"]["watches"]["watchCount"], 3);
        no_content(server.user(Method::DELETE, &format!("{path}?username=reader"), "reader").send().await.unwrap()).await;
        no_content(server.user(Method::DELETE, &format!("{path}?username=reader"), "reader").send().await.unwrap()).await;

        // Others need MANAGE_WATCHERS: project administrators.
        let message = forbidden(server.user(Method::POST, &path, "dev").json(&json!("reader")).send().await.unwrap(), "permission_missing").await;
        assert!(message.contains("Manage Watchers"), "{message}");
        forbidden(server.user(Method::DELETE, &format!("{path}?username=admin"), "dev").send().await.unwrap(), "permission_missing").await;
        // ... checked before the name is looked up, so no one learns who exists.
        forbidden(server.user(Method::POST, &path, "dev").json(&json!("nobody-at-all")).send().await.unwrap(), "permission_missing").await;
        // ... and the credential needs read:jira-user to name anyone else.
        let work_only = server.create_token("admin", json!({"name": "work", "expirationDuration": 1, "scopes": ["read:jira-work", "write:jira-work", "manage:jira-project"]})).await;
        let message = forbidden(server.bearer(Method::POST, &path, &work_only).json(&json!("nobody-at-all")).send().await.unwrap(), "scope_missing").await;
        assert!(message.contains("read:jira-user"), "{message}");
        no_content(server.bearer(Method::POST, &path, &work_only).json(&json!("admin")).send().await.unwrap()).await;
        no_content(server.admin(Method::POST, &path).json(&json!("reader")).send().await.unwrap()).await;
        no_content(server.admin(Method::DELETE, &format!("{path}?username=dev")).send().await.unwrap()).await;
        assert_eq!(names(&ok_json(server.admin(Method::GET, &path).send().await.unwrap()).await), ["admin", "reader"]);
        // Only a user who can see the issue may watch it.
        let refused = expect_error(server.admin(Method::POST, &path).json(&json!("outsider")).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert!(refused["errors"]["watcher"].as_str().unwrap().contains("does not have permission to view"), "{refused}");
        let missing = expect_error(server.admin(Method::POST, &path).json(&json!("nobody-at-all")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
        assert!(missing["errorMessages"][0].as_str().unwrap().contains("nobody-at-all"));
        // Malformed requests.
        expect_error(server.admin(Method::POST, &path).json(&json!({"name": "reader"})).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        expect_error(server.admin(Method::DELETE, &path).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        expect_error(server.admin(Method::POST, &path).header("content-type", "text/plain").body("reader").send().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE).await;

        // Watching is a change: a READ token looks but does not watch.
        let read = server.create_token("reader", json!({"name": "ro", "expirationDuration": 1, "scopes": ["READ"]})).await;
        ok_json(server.bearer(Method::GET, &path, &read).send().await.unwrap()).await;
        forbidden(server.bearer(Method::POST, &path, &read).send().await.unwrap(), "scope_missing").await;
        // An issue one cannot see has no watcher list.
        for method in [Method::GET, Method::POST, Method::DELETE] {
            let response = server.user(method, &format!("{path}?username=outsider"), "outsider").send().await.unwrap();
            expect_error(response, StatusCode::NOT_FOUND).await;
        }
        // A deleted issue takes its watchers with it.
        no_content(server.admin(Method::DELETE, &format!("/rest/api/2/issue/{key}")).send().await.unwrap()).await;
        expect_error(server.admin(Method::GET, &path).send().await.unwrap(), StatusCode::NOT_FOUND).await;
    }

    async fn create_and_edit_meta_offer_what_the_caller_may_set(db) {
        let server = TestServer::start(db).await;
        let key = world(&server, "META").await;
        server.create_project("OTHER").await;
        let field_ids = |fields: &Value| {
            let mut ids: Vec<String> = fields.as_object().unwrap().keys().cloned().collect();
            ids.sort();
            ids
        };

        // Jira Server's createmeta: the projects one may create in, filtered, with fields.
        let all = ok_json(server.user(Method::GET, "/rest/api/2/issue/createmeta", "reader").send().await.unwrap()).await;
        let keys: Vec<&str> = all["projects"].as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["META", "OTHER"], "OTHER keeps jira-users in its Users role");
        assert_eq!(all["projects"][0]["issuetypes"].as_array().unwrap().len(), 3);
        assert!(all["projects"][0]["issuetypes"][0].get("fields").is_none());
        let meta = ok_json(server.user(Method::GET, "/rest/api/2/issue/createmeta?projectKeys=meta&issuetypeNames=Bug&expand=projects.issuetypes.fields", "reader").send().await.unwrap()).await;
        let projects = meta["projects"].as_array().unwrap();
        assert_eq!(projects.len(), 1);
        let types = projects[0]["issuetypes"].as_array().unwrap();
        assert_eq!(types.len(), 1);
        assert_eq!(types[0]["name"], "Bug");
        let fields = &types[0]["fields"];
        assert_eq!(field_ids(fields), ["components", "description", "fixVersions", "issuetype", "labels", "priority", "project", "summary", "timetracking", "versions"]);
        assert_eq!(fields["summary"]["required"], true);
        assert_eq!(fields["summary"]["schema"], json!({"type": "string", "system": "summary"}));
        assert_eq!(fields["priority"]["defaultValue"]["name"], "Medium");
        assert_eq!(fields["priority"]["allowedValues"].as_array().unwrap().len(), 5);
        assert_eq!(fields["project"]["allowedValues"][0]["key"], "META");
        let dev = ok_json(server.user(Method::GET, "/rest/api/2/issue/createmeta?projectIds=x&projectKeys=META&expand=projects.issuetypes.fields", "dev").send().await.unwrap()).await;
        assert!(dev["projects"][0]["issuetypes"][0]["fields"]["assignee"].is_object(), "dev may assign");
        assert!(dev["projects"][0]["issuetypes"][0]["fields"].get("reporter").is_none());
        let none = ok_json(server.user(Method::GET, "/rest/api/2/issue/createmeta?projectKeys=META", "outsider").send().await.unwrap()).await;
        assert_eq!(none["projects"], json!([]));
        let read = server.create_token("dev", json!({"name": "ro", "expirationDuration": 1, "scopes": ["READ"]})).await;
        let none = ok_json(server.bearer(Method::GET, "/rest/api/2/issue/createmeta", &read).send().await.unwrap()).await;
        assert_eq!(none["projects"], json!([]), "a READ token creates nothing");

        // The 8.4+ listings, paged.
        let types = ok_json(server.user(Method::GET, "/rest/api/2/issue/createmeta/META/issuetypes?maxResults=2", "reader").send().await.unwrap()).await;
        assert_eq!((types["total"].as_i64(), types["isLast"].as_bool(), types["values"].as_array().unwrap().len()), (Some(3), Some(false), 2));
        let fields = ok_json(server.user(Method::GET, "/rest/api/2/issue/createmeta/META/issuetypes/1", "reader").send().await.unwrap()).await;
        let summary = fields["values"].as_array().unwrap().iter().find(|f| f["fieldId"] == "summary").unwrap();
        assert_eq!(summary["required"], true);
        expect_error(server.user(Method::GET, "/rest/api/2/issue/createmeta/META/issuetypes/999", "reader").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        expect_error(server.user(Method::GET, "/rest/api/2/issue/createmeta/META/issuetypes", "outsider").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        forbidden(server.bearer(Method::GET, "/rest/api/2/issue/createmeta/META/issuetypes", &read).send().await.unwrap(), "scope_missing").await;

        // editmeta: nothing without EDIT_ISSUES; the resolution only once resolved.
        let edit = |user: &'static str| {
            let server = &server;
            let key = key.clone();
            async move { ok_json(server.user(Method::GET, &format!("/rest/api/2/issue/{key}/editmeta"), user).send().await.unwrap()).await }
        };
        assert_eq!(edit("reader").await, json!({"fields": {}}));
        assert_eq!(field_ids(&edit("dev").await["fields"]), ["assignee", "attachment", "comment", "components", "description", "fixVersions", "issuelinks", "issuetype", "labels", "priority", "summary", "timetracking", "versions"]);
        for step in ["21", "31"] {
            no_content(server.admin(Method::POST, &format!("/rest/api/2/issue/{key}/transitions")).json(&json!({"transition": {"id": step}})).send().await.unwrap()).await;
        }
        let admin = ok_json(server.admin(Method::GET, &format!("/rest/api/2/issue/{key}/editmeta")).send().await.unwrap()).await;
        assert!(admin["fields"]["reporter"].is_object());
        assert_eq!(admin["fields"]["resolution"]["allowedValues"].as_array().unwrap().len(), 4);
        assert_eq!(admin["fields"]["comment"]["operations"], json!(["add"]));
        let expanded = ok_json(server.admin(Method::GET, &format!("/rest/api/2/issue/{key}?expand=editmeta")).send().await.unwrap()).await;
        assert_eq!(expanded["editmeta"], admin);
        expect_error(server.user(Method::GET, &format!("/rest/api/2/issue/{key}/editmeta"), "outsider").send().await.unwrap(), StatusCode::NOT_FOUND).await;
    }

    async fn labels_priorities_and_resolutions_are_set_on_issues(db) {
        let server = TestServer::start(db).await;
        let key = world(&server, "SET").await;
        let issue = format!("/rest/api/2/issue/{key}");
        let read = || async { ok_json(server.admin(Method::GET, &issue).send().await.unwrap()).await["fields"].clone() };
        let put = |body: Value| {
            let request = server.user(Method::PUT, &issue, "dev").json(&body);
            async move { request.send().await.unwrap() }
        };

        no_content(put(json!({"fields": {"priority": {"name": "high"}, "labels": ["b", "a"]}})).await).await;
        let fields = read().await;
        assert_eq!((fields["priority"]["name"].as_str(), fields["labels"].clone()), (Some("High"), json!(["a", "b"])));
        no_content(put(json!({"update": {"priority": [{"set": {"id": "1"}}], "labels": [{"add": "c"}, {"remove": "a"}]}})).await).await;
        let fields = read().await;
        assert_eq!((fields["priority"]["name"].as_str(), fields["labels"].clone()), (Some("Highest"), json!(["b", "c"])));
        let bad = expect_error(put(json!({"fields": {"priority": {"name": "Urgent"}, "labels": ["has space"]}})).await, StatusCode::BAD_REQUEST).await;
        assert!(bad["errors"]["priority"].is_string() && bad["errors"]["labels"].is_string(), "{bad}");

        // A resolution comes with Done; once resolved it can be corrected, never set before.
        let early = expect_error(put(json!({"fields": {"resolution": {"name": "Duplicate"}}})).await, StatusCode::BAD_REQUEST).await;
        assert!(early["errors"]["resolution"].as_str().unwrap().contains("resolved"), "{early}");
        for step in [json!({"transition": {"id": "21"}}), json!({"transition": {"name": "Done"}, "fields": {"resolution": {"name": "Won't Do"}}})] {
            no_content(server.user(Method::POST, &format!("{issue}/transitions"), "dev").json(&step).send().await.unwrap()).await;
        }
        assert_eq!(read().await["resolution"]["name"], "Won't Do");
        no_content(put(json!({"update": {"resolution": [{"set": {"name": "Duplicate"}}]}})).await).await;
        let fields = read().await;
        assert_eq!((fields["status"]["name"].as_str(), fields["resolution"]["name"].as_str()), (Some("Done"), Some("Duplicate")));
        expect_error(put(json!({"fields": {"resolution": {"id": "1"}}})).await, StatusCode::BAD_REQUEST).await;
        let log = ok_json(server.admin(Method::GET, &format!("{issue}/changelog")).send().await.unwrap()).await;
        let last = log["values"].as_array().unwrap().last().unwrap().clone();
        assert_eq!(last["items"], json!([{"field": "resolution", "fieldtype": "jira", "fieldId": "resolution",
            "from": "10001", "fromString": "Won't Do", "to": "10002", "toString": "Duplicate"}]));
        // A reader may not edit: 403 naming the permission, nothing recorded.
        let refused = server.user(Method::PUT, &issue, "reader").json(&json!({"fields": {"priority": {"name": "Low"}}})).send().await.unwrap();
        assert!(forbidden(refused, "permission_missing").await.contains("Edit Issues"));
        let again = ok_json(server.admin(Method::GET, &format!("{issue}/changelog")).send().await.unwrap()).await;
        assert_eq!(again["total"], log["total"]);
    }

    async fn project_statuses_and_anonymous_server_info(db) {
        let server = TestServer::start(db).await;
        world(&server, "STA").await;
        let types = ok_json(server.user(Method::GET, "/rest/api/2/project/STA/statuses", "reader").send().await.unwrap()).await;
        let types = types.as_array().unwrap();
        assert_eq!(types.len(), 3);
        for issue_type in types {
            assert_eq!(issue_type["subtask"], false);
            let names: Vec<&str> = issue_type["statuses"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
            assert_eq!(names, ["To Do", "In Progress", "Done"]);
            assert!(issue_type["statuses"][0]["statusCategory"]["key"].is_string());
        }
        expect_error(server.user(Method::GET, "/rest/api/2/project/STA/statuses", "outsider").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        expect_error(server.anonymous(Method::GET, "/rest/api/2/project/STA/statuses").send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        let info = ok_json(server.anonymous(Method::GET, "/rest/api/2/serverInfo").send().await.unwrap()).await;
        assert_eq!(info["deploymentType"], "Server");
        assert!(info["versionNumbers"][0].as_i64().unwrap() >= 9);
    }
}
