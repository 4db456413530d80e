//! Saved filters through a real server, on SQLite and on PostgreSQL: Jira's shapes, names
//! unique per owner, favourites, and a filter that is its owner's alone.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

backend_tests! {
    async fn users_keep_their_own_filters(db) {
        let server = TestServer::start(db).await;
        server.create_project("FI").await;
        server.create_user("ann", &[]).await;
        server.create_user("bob", &[]).await;
        let send = |who: &'static str, method: Method, path: String, body: Value| {
            let server = &server;
            async move {
                let response = server.user(method, &path, who).json(&body).send().await.unwrap();
                let status = response.status();
                let text = response.text().await.unwrap();
                (status, serde_json::from_str::<Value>(&text).unwrap_or(Value::Null))
            }
        };
        let (status, made) = send("ann", Method::POST, "/rest/api/2/filter".into(), json!({"name": "My bugs", "description": "open ones", "jql": "project = FI AND resolution is EMPTY"})).await;
        assert_eq!(status, StatusCode::OK, "{made}");
        let id = made["id"].as_str().unwrap().to_string();
        assert_eq!((made["name"].as_str(), made["favourite"].as_bool(), made["owner"]["name"].as_str()), (Some("My bugs"), Some(true), Some("ann")));
        assert_eq!(made["sharePermissions"], json!([]));
        assert!(made["self"].as_str().unwrap().ends_with(&format!("/rest/api/2/filter/{id}")));
        assert!(made["searchUrl"].as_str().unwrap().contains("/rest/api/2/search?jql=project"));
        let (_, second) = send("ann", Method::POST, "/rest/api/2/filter".into(), json!({"name": "Later", "jql": "project = FI", "favourite": false})).await;
        assert_eq!(second["favourite"], false);

        // Refused: a taken name (regardless of case), no name, JQL that does not parse.
        for (bad, field) in [
            (json!({"name": "MY BUGS", "jql": "project = FI"}), "filterName"),
            (json!({"jql": "project = FI"}), "filterName"),
            (json!({"name": "Broken", "jql": "project = "}), "jql"),
            (json!({"name": "No query"}), "jql"),
        ] {
            let (status, error) = send("ann", Method::POST, "/rest/api/2/filter".into(), bad.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}");
            assert!(error["errors"][field].is_string(), "{bad}: {error}");
        }
        // Another user may have a filter of the same name, and cannot see ann's.
        let (status, _) = send("bob", Method::POST, "/rest/api/2/filter".into(), json!({"name": "My bugs", "jql": "project = FI"})).await;
        assert_eq!(status, StatusCode::OK);
        for method in [Method::GET, Method::PUT, Method::DELETE] {
            let (status, _) = send("bob", method.clone(), format!("/rest/api/2/filter/{id}"), json!({"name": "mine"})).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
        }
        let (_, favourites) = send("bob", Method::GET, "/rest/api/2/filter/favourite".into(), Value::Null).await;
        assert_eq!(favourites.as_array().unwrap().len(), 1);
        // A READ token reads but does not change.
        let read = server.create_token("ann", json!({"name": "read", "expirationDuration": 30, "scopes": ["READ"]})).await;
        assert_eq!(server.bearer(Method::GET, &format!("/rest/api/2/filter/{id}"), &read).send().await.unwrap().status(), StatusCode::OK);
        let refused = server.bearer(Method::POST, "/rest/api/2/filter", &read).json(&json!({"name": "x", "jql": "project = FI"})).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);

        // Changes; favourites follow.
        let (status, changed) = send("ann", Method::PUT, format!("/rest/api/2/filter/{id}"), json!({"jql": "project = FI ORDER BY key", "description": null, "favourite": false})).await;
        assert_eq!(status, StatusCode::OK, "{changed}");
        assert_eq!((changed["jql"].as_str(), changed["description"].clone(), changed["favourite"].as_bool()), (Some("project = FI ORDER BY key"), Value::Null, Some(false)));
        assert_eq!(changed["name"], "My bugs");
        let (_, favourites) = send("ann", Method::GET, "/rest/api/2/filter/favourite".into(), Value::Null).await;
        assert_eq!(favourites, json!([]));
        let (status, _) = send("ann", Method::PUT, format!("/rest/api/2/filter/{}", second["id"].as_str().unwrap()), json!({"favourite": true})).await;
        assert_eq!(status, StatusCode::OK);
        let (_, favourites) = send("ann", Method::GET, "/rest/api/2/filter/favourite".into(), Value::Null).await;
        assert_eq!(favourites.as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect::<Vec<_>>(), ["Later"]);
        let (status, _) = send("ann", Method::DELETE, format!("/rest/api/2/filter/{id}"), Value::Null).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = send("ann", Method::GET, format!("/rest/api/2/filter/{id}"), Value::Null).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
    }
}
