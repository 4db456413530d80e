//! Deleting users through a real server, on SQLite and on PostgreSQL: what goes with them,
//! and whom Jira's rule keeps.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

backend_tests! {
    async fn administrators_delete_users_whose_work_names_no_one(db) {
        let server = TestServer::start(db).await;
        server.create_project("DU").await;
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "Crew"}), StatusCode::CREATED).await;
        server.create_user("gone", &["Crew"]).await;
        server.create_user("worker", &[]).await;
        server.add_to_role("DU", 10001, "gone").await;
        let token = server.create_token("gone", json!({"name": "t", "expirationDuration": 30})).await;
        let session = server.login("gone", PASSWORD).await;
        let issue = server.create_issue("DU", "watched").await;
        let response = server.user(Method::POST, &format!("/rest/api/2/issue/{issue}/watchers"), "gone").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let body = json!({"fields": {"project": {"key": "DU"}, "issuetype": {"name": "Task"}, "summary": "by the worker"}});
        let response = server.user(Method::POST, "/rest/api/2/issue", "worker").json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);

        // Only administrators; not oneself; not someone whose work names them.
        let response = server.user(Method::DELETE, "/rest/api/2/user?username=gone", "worker").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let refused = expect_error(server.admin(Method::DELETE, "/rest/api/2/user?username=admin").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert!(refused["errorMessages"][0].as_str().unwrap().contains("currently logged in"), "{refused}");
        let refused = expect_error(server.admin(Method::DELETE, "/rest/api/2/user?username=worker").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert!(refused["errorMessages"][0].as_str().unwrap().contains("1 issues"), "{refused}");
        assert_eq!(server.admin(Method::GET, "/rest/api/2/user?username=worker").send().await.unwrap().status(), StatusCode::OK);
        expect_error(server.admin(Method::DELETE, "/rest/api/2/user?username=nobody").send().await.unwrap(), StatusCode::NOT_FOUND).await;

        let response = server.admin(Method::DELETE, "/rest/api/2/user?username=gone").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        // Gone with every way in: password, token, session; and from groups, roles, watches.
        assert_eq!(server.admin(Method::GET, "/rest/api/2/user?username=gone").send().await.unwrap().status(), StatusCode::NOT_FOUND);
        assert_eq!(server.user(Method::GET, "/rest/api/2/myself", "gone").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(server.bearer(Method::GET, "/rest/api/2/myself", &token).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(server.with_session(Method::GET, "/rest/api/2/myself", &session).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        let members = server.admin_json(Method::GET, "/rest/api/2/group/member?groupname=Crew", Value::Null, StatusCode::OK).await;
        assert_eq!(members["total"], 0, "{members}");
        let watchers = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{issue}/watchers"), Value::Null, StatusCode::OK).await;
        assert!(!watchers.to_string().contains("\"gone\""), "{watchers}");
        // The name is free again.
        server.create_user("gone", &[]).await;
    }
}
