//! The user and group pickers through a real server, on SQLite and on PostgreSQL: only users
//! who may browse the project (so may be assigned there), only for callers who see it.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

fn names(found: &Value) -> Vec<String> {
    found
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["name"].as_str().unwrap().to_string())
        .collect()
}

backend_tests! {
    async fn pickers_offer_only_who_may_see_the_project(db) {
        let server = TestServer::start(db).await;
        for key in ["PK", "PL"] {
            server.create_project(key).await;
            let response = server.admin(Method::DELETE, &format!("/rest/api/2/project/{key}/role/10000?group=jira-users")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NO_CONTENT);
        }
        for user in ["dev", "reader", "outsider", "gone"] {
            server.create_user(user, &[]).await;
        }
        server.add_to_role("PK", 10001, "dev").await;
        server.add_to_role("PK", 10000, "reader").await;
        server.add_to_role("PK", 10000, "gone").await;
        server.add_to_role("PL", 10001, "dev").await;
        server.admin_json(Method::PUT, "/rest/api/2/user?username=gone", json!({"active": false}), StatusCode::OK).await;
        let issue = server.create_issue("PK", "pick").await;
        let get = |user: &str, path: &str| {
            let request = server.user(Method::GET, path, user);
            async move { request.send().await.unwrap() }
        };
        let assignable = get("reader", "/rest/api/2/user/assignable/search?project=PK").await;
        assert_eq!(assignable.status(), StatusCode::OK);
        assert_eq!(names(&json_of(assignable).await), ["admin", "dev", "reader"]);
        let narrowed = json_of(get("reader", "/rest/api/2/user/assignable/search?project=PK&username=de").await).await;
        assert_eq!(names(&narrowed), ["dev"]);
        let by_issue = json_of(get("reader", &format!("/rest/api/2/user/assignable/search?issueKey={issue}&maxResults=2")).await).await;
        assert_eq!(names(&by_issue), ["admin", "dev"]);
        let viewers = json_of(get("dev", &format!("/rest/api/2/user/viewissue/search?issueKey={issue}&startAt=1")).await).await;
        assert_eq!(names(&viewers), ["dev", "reader"]);
        let both = json_of(get("dev", "/rest/api/2/user/assignable/multiProjectSearch?projectKeys=PK,PL").await).await;
        assert_eq!(names(&both), ["admin", "dev"]);
        // One who cannot see the project learns nothing about it.
        assert_eq!(get("outsider", "/rest/api/2/user/assignable/search?project=PK").await.status(), StatusCode::NOT_FOUND);
        assert_eq!(get("reader", "/rest/api/2/user/assignable/multiProjectSearch?projectKeys=PK,PL").await.status(), StatusCode::NOT_FOUND);
        assert_eq!(get("reader", "/rest/api/2/user/assignable/search").await.status(), StatusCode::BAD_REQUEST);
        // Groups.
        for group in ["dev-team", "devops", "sales"] {
            server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": group}), StatusCode::CREATED).await;
        }
        let picked = json_of(get("outsider", "/rest/api/2/groups/picker?query=dev&exclude=devops").await).await;
        let groups: Vec<&str> = picked["groups"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert_eq!(groups, ["dev-team"]);
        assert_eq!(picked["total"], 2);
        assert_eq!(picked["header"], "Showing 1 of 2 matching groups");
        let all = json_of(get("outsider", "/rest/api/2/groups/picker?maxResults=2").await).await;
        assert_eq!(all["groups"].as_array().unwrap().len(), 2);
    }
}
