//! `POST issue/bulk` through a real server, on SQLite and on PostgreSQL: each issue created
//! (or refused) on its own, with Jira's answer.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

fn issue(project: &str, summary: &str) -> Value {
    json!({"fields": {"project": {"key": project}, "issuetype": {"name": "Task"}, "summary": summary}})
}

backend_tests! {
    async fn bulk_creates_each_issue_on_its_own(db) {
        let server = TestServer::start(db).await;
        server.create_project("BK").await;
        server.create_project("BX").await;
        let response = server.admin(Method::DELETE, "/rest/api/2/project/BX/role/10000?group=jira-users").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        server.create_user("dev", &[]).await;
        let body = json!({"issueUpdates": [issue("BK", "one"), issue("BX", "hidden"), issue("BK", ""), issue("BK", "two")]});
        let response = server.user(Method::POST, "/rest/api/2/issue/bulk", "dev").json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let answer = json_of(response).await;
        let keys: Vec<&str> = answer["issues"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["BK-1", "BK-2"]);
        assert!(answer["issues"][0]["self"].as_str().unwrap().contains("/rest/api/2/issue/"));
        let errors: Vec<(i64, i64)> = answer["errors"].as_array().unwrap().iter().map(|e| (e["failedElementNumber"].as_i64().unwrap(), e["status"].as_i64().unwrap())).collect();
        assert_eq!(errors, [(1, 404), (2, 400)]);
        assert!(answer["errors"][1]["elementErrors"]["errors"]["summary"].is_string(), "{answer}");
        let two = server.admin_json(Method::GET, "/rest/api/2/issue/BK-2", Value::Null, StatusCode::OK).await;
        assert_eq!(two["fields"]["summary"], "two");
        // Nothing created: the first refusal's status, with the same body.
        let response = server.user(Method::POST, "/rest/api/2/issue/bulk", "dev").json(&json!({"issueUpdates": [issue("BX", "no")]})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(json_of(response).await["errors"][0]["failedElementNumber"], 0);
        let read = server.create_token("dev", json!({"name": "read", "expirationDuration": 30, "scopes": ["READ"]})).await;
        let response = server.bearer(Method::POST, "/rest/api/2/issue/bulk", &read).json(&json!({"issueUpdates": [issue("BK", "no")]})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        for bad in [json!({}), json!({"issueUpdates": "x"}), json!({"issueUpdates": vec![issue("BK", "x"); 1001]})] {
            let response = server.user(Method::POST, "/rest/api/2/issue/bulk", "dev").json(&bad).send().await.unwrap();
            expect_error(response, StatusCode::BAD_REQUEST).await;
        }
        let found = server.admin_json(Method::GET, "/rest/api/2/search?jql=project%3DBK", Value::Null, StatusCode::OK).await;
        assert_eq!(found["total"], 2);
    }
}
