//! Comments restricted to a role or a group, through a real server, on SQLite and on
//! PostgreSQL: whoever is outside never sees one, in lists, by id, in issues or in searches.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

async fn bodies(server: &TestServer, who: &str, key: &str) -> (Vec<String>, i64) {
    let listed = json_of(
        server
            .user(
                Method::GET,
                &format!("/rest/api/2/issue/{key}/comment"),
                who,
            )
            .send()
            .await
            .unwrap(),
    )
    .await;
    let bodies = listed["comments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["body"].as_str().unwrap().to_string())
        .collect();
    (bodies, listed["total"].as_i64().unwrap())
}

async fn found(server: &TestServer, who: &str, jql: &str) -> i64 {
    let response = server
        .user(Method::POST, "/rest/api/2/search", who)
        .json(&json!({"jql": jql, "fields": ["comment"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    json_of(response).await["total"].as_i64().unwrap()
}

backend_tests! {
    async fn restricted_comments_exist_only_for_their_audience(db) {
        let server = TestServer::start(db).await;
        server.create_project("CV").await;
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "insiders"}), StatusCode::CREATED).await;
        server.create_user("dev", &["insiders"]).await;
        server.create_user("reader", &[]).await;
        server.add_to_role("CV", 10001, "dev").await;
        let key = server.create_issue("CV", "talk").await;
        let path = format!("/rest/api/2/issue/{key}/comment");
        let post = |who: &'static str, body: Value| {
            let server = &server;
            let path = path.clone();
            async move {
                let response = server.user(Method::POST, &path, who).json(&body).send().await.unwrap();
                let status = response.status();
                (status, json_of(response).await)
            }
        };
        let (status, _) = post("reader", json!({"body": "open words"})).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, by_role) = post("dev", json!({"body": "developers only zebra", "visibility": {"type": "role", "value": "Developers"}})).await;
        assert_eq!(status, StatusCode::CREATED, "{by_role}");
        assert_eq!(by_role["visibility"], json!({"type": "role", "value": "Developers"}));
        let (status, by_group) = post("dev", json!({"body": "insiders only quokka", "visibility": {"type": "group", "value": "Insiders"}})).await;
        assert_eq!(status, StatusCode::CREATED, "{by_group}");
        assert_eq!(by_group["visibility"], json!({"type": "group", "value": "insiders"}));

        // The author must be in the audience; the audience must exist.
        for (bad, message) in [
            (json!({"type": "role", "value": "Developers"}), "You are currently not a member of the project role: Developers."),
            (json!({"type": "group", "value": "insiders"}), "You are currently not a member of the group: insiders."),
            (json!({"type": "group", "value": "nobody-group"}), "Group: nobody-group does not exist."),
            (json!({"type": "role", "value": "Testers"}), "Project role: Testers does not exist."),
        ] {
            let (status, error) = post("reader", json!({"body": "x", "visibility": bad})).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{error}");
            assert_eq!(error["errors"]["commentLevel"], message);
        }
        let (status, _) = post("dev", json!({"body": "x", "visibility": {"type": "planet", "value": "x"}})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // The reader sees only the open comment, everywhere.
        assert_eq!(bodies(&server, "reader", &key).await, (vec!["open words".to_string()], 1));
        assert_eq!(bodies(&server, "dev", &key).await.1, 3);
        let issue = json_of(server.user(Method::GET, &format!("/rest/api/2/issue/{key}?fields=comment"), "reader").send().await.unwrap()).await;
        assert_eq!(issue["fields"]["comment"]["total"], 1, "{issue}");
        for id in [by_role["id"].as_str().unwrap(), by_group["id"].as_str().unwrap()] {
            for method in [Method::GET, Method::PUT, Method::DELETE] {
                let response = server.user(method.clone(), &format!("{path}/{id}"), "reader").json(&json!({"body": "mine now"})).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::NOT_FOUND, "{method} {id}");
            }
        }
        for jql in ["comment ~ zebra", "text ~ quokka", "comment ~ quokka"] {
            assert_eq!(found(&server, "reader", jql).await, 0, "{jql}");
            assert_eq!(found(&server, "dev", jql).await, 1, "{jql}");
        }
        assert_eq!(found(&server, "reader", "comment ~ open").await, 1);
        // Leaving the role or the group hides them again.
        let response = server.admin(Method::DELETE, "/rest/api/2/group/user?groupname=insiders&username=dev").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(bodies(&server, "dev", &key).await.1, 2);
        assert_eq!(found(&server, "dev", "comment ~ quokka").await, 0);

        // Editing keeps the restriction unless it is named; null lifts it.
        let id = by_role["id"].as_str().unwrap();
        let edited = server.user(Method::PUT, &format!("{path}/{id}"), "dev").json(&json!({"body": "still developers"})).send().await.unwrap();
        assert_eq!(json_of(edited).await["visibility"]["value"], "Developers");
        assert_eq!(bodies(&server, "reader", &key).await.1, 1);
        let lifted = server.user(Method::PUT, &format!("{path}/{id}"), "dev").json(&json!({"body": "for all", "visibility": null})).send().await.unwrap();
        assert!(json_of(lifted).await.get("visibility").is_none());
        assert_eq!(bodies(&server, "reader", &key).await.1, 2);
    }
}
