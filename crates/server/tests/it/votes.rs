//! Votes through a real server, on SQLite and on PostgreSQL: Jira's shapes and refusals.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

backend_tests! {
    async fn users_vote_once_and_never_for_their_own_or_resolved_issues(db) {
        let server = TestServer::start(db).await;
        server.create_project("VO").await;
        server.create_project("VX").await;
        let response = server.admin(Method::DELETE, "/rest/api/2/project/VX/role/10000?group=jira-users").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        for user in ["ann", "bob"] {
            server.create_user(user, &[]).await;
        }
        server.add_to_role("VO", 10001, "ann").await;
        let key = server.create_issue("VO", "popular").await;
        let votes = format!("/rest/api/2/issue/{key}/votes");
        let status = |response: reqwest::Response| response.status();
        assert_eq!(status(server.user(Method::POST, &votes, "ann").send().await.unwrap()), StatusCode::NO_CONTENT);
        assert_eq!(status(server.user(Method::POST, &votes, "ann").send().await.unwrap()), StatusCode::NO_CONTENT, "twice is once");
        assert_eq!(status(server.user(Method::POST, &votes, "bob").send().await.unwrap()), StatusCode::NO_CONTENT);
        let shown = json_of(server.user(Method::GET, &votes, "bob").send().await.unwrap()).await;
        assert_eq!((shown["votes"].as_i64(), shown["hasVoted"].as_bool()), (Some(2), Some(true)));
        let names: Vec<&str> = shown["voters"].as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["ann", "bob"]);
        let issue = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{key}?fields=votes"), Value::Null, StatusCode::OK).await;
        assert_eq!(issue["fields"]["votes"]["votes"], 2);
        assert_eq!(issue["fields"]["votes"]["hasVoted"], false);
        assert!(issue["fields"]["votes"]["self"].as_str().unwrap().ends_with(&votes));
        let found = server.user(Method::POST, "/rest/api/2/search", "ann").json(&json!({"jql": format!("key = {key}"), "fields": ["votes"]})).send().await.unwrap();
        assert_eq!(json_of(found).await["issues"][0]["fields"]["votes"]["hasVoted"], true);

        // Refused as Jira refuses: one's own issue, a resolved one (404 with the reason); a
        // READ credential; an issue one cannot see.
        let response = server.admin(Method::POST, &votes).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(json_of(response).await["errorMessages"], json!(["You cannot vote for an issue you have reported."]));
        let read = server.create_token("ann", json!({"name": "read", "expirationDuration": 30, "scopes": ["READ"]})).await;
        assert_eq!(status(server.bearer(Method::DELETE, &votes, &read).send().await.unwrap()), StatusCode::FORBIDDEN);
        let hidden = server.create_issue("VX", "hidden").await;
        assert_eq!(status(server.user(Method::POST, &format!("/rest/api/2/issue/{hidden}/votes"), "ann").send().await.unwrap()), StatusCode::NOT_FOUND);
        let done = server.create_issue("VO", "done").await;
        for step in [json!({"id": "21"}), json!({"name": "Done"})] {
            let response = server.admin(Method::POST, &format!("/rest/api/2/issue/{done}/transitions")).json(&json!({"transition": step})).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NO_CONTENT);
        }
        let response = server.user(Method::POST, &format!("/rest/api/2/issue/{done}/votes"), "ann").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND);
        assert_eq!(json_of(response).await["errorMessages"], json!(["You cannot vote on an issue that has been resolved."]));

        // Taking a vote back; twice is no error.
        for _ in 0..2 {
            assert_eq!(status(server.user(Method::DELETE, &votes, "ann").send().await.unwrap()), StatusCode::NO_CONTENT);
        }
        let shown = json_of(server.user(Method::GET, &votes, "ann").send().await.unwrap()).await;
        assert_eq!((shown["votes"].as_i64(), shown["hasVoted"].as_bool()), (Some(1), Some(false)));
    }
}
