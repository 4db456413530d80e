//! Issue properties through a real server, on SQLite and on PostgreSQL: Jira's shapes, any
//! JSON value, who may read and who may change them, and the limits.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

backend_tests! {
    async fn apps_keep_json_on_issues_behind_the_issues_permissions(db) {
        let server = TestServer::start(db).await;
        server.create_project("PR").await;
        server.admin_json(Method::DELETE, "/rest/api/2/project/PR/role/10000?group=jira-users", Value::Null, StatusCode::NO_CONTENT).await;
        server.create_user("dev", &[]).await;
        server.create_user("reader", &[]).await;
        server.create_user("outsider", &[]).await;
        server.add_to_role("PR", 10001, "dev").await;
        server.add_to_role("PR", 10000, "reader").await;
        let issue = server.create_issue("PR", "with properties").await;
        let base = format!("/rest/api/2/issue/{issue}/properties");
        let send = |who: &'static str, method: Method, path: String, body: Option<Value>| {
            let server = &server;
            async move {
                let mut request = server.user(method, &path, who);
                if let Some(body) = body {
                    request = request.json(&body);
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                let text = response.text().await.unwrap();
                (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
            }
        };
        let value = json!({"build": 42, "links": ["a", "b"], "ok": true});
        let (status, made) = send("dev", Method::PUT, format!("{base}/ci.build"), Some(value.clone())).await;
        assert_eq!((status, made["value"].clone()), (StatusCode::CREATED, value.clone()));
        let (status, _) = send("dev", Method::PUT, format!("{base}/ci.build"), Some(json!("replaced"))).await;
        assert_eq!(status, StatusCode::OK);
        send("dev", Method::PUT, format!("{base}/a.first"), Some(json!(1))).await;
        let (status, listed) = send("reader", Method::GET, base.clone(), None).await;
        assert_eq!(status, StatusCode::OK);
        let keys: Vec<&str> = listed["keys"].as_array().unwrap().iter().map(|k| k["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["a.first", "ci.build"]);
        assert!(listed["keys"][1]["self"].as_str().unwrap().ends_with(&format!("/rest/api/2/issue/{issue}/properties/ci.build")));
        let (status, one) = send("reader", Method::GET, format!("{base}/ci.build"), None).await;
        assert_eq!((status, one), (StatusCode::OK, json!({"key": "ci.build", "value": "replaced"})));

        // A reader and a READ token may not change them; an outsider does not see the issue.
        let (status, _) = send("reader", Method::PUT, format!("{base}/ci.build"), Some(json!(0))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = send("reader", Method::DELETE, format!("{base}/ci.build"), None).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let read = server.create_token("dev", json!({"name": "read", "expirationDuration": 30, "scopes": ["READ"]})).await;
        let refused = server.bearer(Method::PUT, &format!("{base}/ci.build"), &read).json(&json!(0)).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        for (method, path) in [(Method::GET, base.clone()), (Method::GET, format!("{base}/ci.build")), (Method::PUT, format!("{base}/x"))] {
            let (status, _) = send("outsider", method.clone(), path.clone(), Some(json!(1))).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        }

        // Limits: a key of 256 characters, a value over 32 KiB, no value at all.
        let long_key = "k".repeat(256);
        let (status, _) = send("dev", Method::PUT, format!("{base}/{long_key}"), Some(json!(1))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = send("dev", Method::PUT, format!("{base}/big"), Some(json!("x".repeat(33 * 1024)))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = send("dev", Method::PUT, format!("{base}/empty"), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        let (status, _) = send("dev", Method::GET, format!("{base}/big"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Deleted one by one, and with the issue.
        let (status, _) = send("dev", Method::DELETE, format!("{base}/a.first"), None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = send("dev", Method::DELETE, format!("{base}/a.first"), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let deleted = server.admin(Method::DELETE, &format!("/rest/api/2/issue/{issue}")).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        let (status, _) = send("dev", Method::GET, base.clone(), None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
