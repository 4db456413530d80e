//! Jira's shapes that clients (the Python client's own suite among them) rely on, through a
//! real server on SQLite and on PostgreSQL: status category 1, every permission key in
//! `mypermissions`, a comment's `renderedBody`, long JQL by POST, project lists filtered and
//! expanded, and dropping websudo as a Basic caller.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

backend_tests! {
    async fn catalogues_and_permissions_are_jiras(db) {
        let server = TestServer::start(db).await;
        server.create_project("SH").await;
        server.create_user("dev", &[]).await;
        server.add_to_role("SH", 10001, "dev").await;
        let categories = server.admin_json(Method::GET, "/rest/api/2/statuscategory", Value::Null, StatusCode::OK).await;
        let ids: Vec<i64> = categories.as_array().unwrap().iter().map(|c| c["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [1, 2, 3, 4]);
        for id_or_key in ["1", "undefined"] {
            let one = server.admin_json(Method::GET, &format!("/rest/api/2/statuscategory/{id_or_key}"), Value::Null, StatusCode::OK).await;
            assert_eq!((one["key"].as_str(), one["name"].as_str()), (Some("undefined"), Some("No Category")));
        }
        let mine = json_of(server.user(Method::GET, "/rest/api/2/mypermissions?projectKey=SH", "dev").send().await.unwrap()).await;
        let permissions = mine["permissions"].as_object().unwrap();
        assert_eq!(permissions.len(), 40, "{:?}", permissions.keys().collect::<Vec<_>>());
        let have = |key: &str| permissions[key]["havePermission"].as_bool().unwrap();
        for held in ["WORK_ON_ISSUES", "RESOLVE_ISSUES", "EDIT_OWN_COMMENTS", "ASSIGNABLE_USER", "USER_PICKER", "EDIT_OWN_WORKLOGS", "LINK_ISSUES"] {
            assert!(have(held), "{held}");
        }
        for not_held in ["MOVE_ISSUES", "EDIT_ALL_COMMENTS", "DELETE_ALL_WORKLOGS", "SET_ISSUE_SECURITY", "ADMINISTER", "MANAGE_SPRINTS_PERMISSION"] {
            assert!(!have(not_held), "{not_held}");
        }
        assert_eq!(permissions["WORK_ON_ISSUES"]["id"], "20");
        assert_eq!(permissions["MANAGE_SPRINTS_PERMISSION"]["id"], "-1");
        let some = json_of(server.user(Method::GET, "/rest/api/2/mypermissions?permissions=EDIT_OWN_COMMENTS,BULK_CHANGE", "dev").send().await.unwrap()).await;
        assert_eq!(some["permissions"].as_object().unwrap().len(), 2);
    }

    async fn comments_render_long_queries_pass_and_projects_filter(db) {
        let server = TestServer::start(db).await;
        server.create_project("SH").await;
        server.create_project("OTHER").await;
        let issue = server.create_issue("SH", "shapes").await;
        let made = server.admin_json(Method::POST, &format!("/rest/api/2/issue/{issue}/comment"), json!({"body": "a <b>bold</b> claim\nsecond line\n\nnext paragraph"}), StatusCode::CREATED).await;
        let id = made["id"].as_str().unwrap();
        let rendered = "<p>a &lt;b&gt;bold&lt;/b&gt; claim<br/>\nsecond line</p>\n<p>next paragraph</p>";
        let one = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{issue}/comment/{id}?expand=renderedBody"), Value::Null, StatusCode::OK).await;
        assert_eq!(one["renderedBody"], rendered);
        let all = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{issue}/comment?expand=renderedBody"), Value::Null, StatusCode::OK).await;
        assert_eq!(all["comments"][0]["renderedBody"], rendered);
        let plain = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{issue}/comment/{id}"), Value::Null, StatusCode::OK).await;
        assert!(plain.get("renderedBody").is_none());
        // A query of tens of thousands of characters, as clients build them, by POST.
        let clauses: Vec<String> = (0..2500).map(|n| format!("summary ~ \"word{n}\"")).collect();
        let jql = format!("key in (SH-1) AND ({} OR summary ~ shapes)", clauses.join(" OR "));
        assert!(jql.len() > 30_000, "{}", jql.len());
        let found = server.admin(Method::POST, "/rest/api/2/search").json(&json!({"jql": jql, "fields": ["summary"]})).send().await.unwrap();
        let status = found.status();
        let body = json_of(found).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(body["total"], 1);
        // Project lists by key, with the members asked for.
        let listed = server.admin_json(Method::GET, "/rest/api/2/project?projectKeys=sh&expand=lead,description,projectKeys", Value::Null, StatusCode::OK).await;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!((listed[0]["key"].as_str(), listed[0]["lead"]["name"].as_str()), (Some("SH"), Some("admin")));
        assert_eq!(listed[0]["projectKeys"], json!(["SH"]));
        let everything = server.admin_json(Method::GET, "/rest/api/2/project", Value::Null, StatusCode::OK).await;
        assert_eq!(everything.as_array().unwrap().len(), 2);
        assert!(everything[0].get("lead").is_none());
    }

    async fn a_basic_caller_drops_websudo_it_never_had(db) {
        let server = TestServer::start(db).await;
        let dropped = server.admin(Method::DELETE, "/rest/auth/1/websudo").send().await.unwrap();
        assert_eq!(dropped.status(), StatusCode::NO_CONTENT);
        let session = server.admin_session().await;
        let dropped = server.with_session(Method::DELETE, "/rest/auth/1/websudo", &session).header("X-Atlassian-Token", "no-check").send().await.unwrap();
        assert_eq!(dropped.status(), StatusCode::NO_CONTENT);
        // The window is closed: an administrative change over the session needs it again.
        let change = server.with_session(Method::POST, "/rest/api/2/group", &session).json(&json!({"name": "after-drop"})).send().await.unwrap();
        assert_eq!(change.status(), StatusCode::FORBIDDEN);
        assert_eq!(server.request(Method::DELETE, "/rest/auth/1/websudo").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }
}
