//! Issue links, link types and remote links through a real server, on SQLite and on
//! PostgreSQL: Jira's shapes and directions, the changelog on both issues, and who may link,
//! unlink and see a link (never to an issue they cannot browse).

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

async fn send(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn link_body(kind: &str, inward: &str, outward: &str) -> Value {
    json!({"type": {"name": kind}, "inwardIssue": {"key": inward}, "outwardIssue": {"key": outward}})
}

/// The keys an issue's `issuelinks` names, with the side each is on.
async fn links_seen(server: &TestServer, who: &str, key: &str) -> Vec<(String, String, String)> {
    let path = format!("/rest/api/2/issue/{key}?fields=issuelinks");
    let (status, issue) = send(if who == "admin" {
        server.admin(Method::GET, &path)
    } else {
        server.user(Method::GET, &path, who)
    })
    .await;
    assert_eq!(status, StatusCode::OK, "{issue}");
    issue["fields"]["issuelinks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|link| {
            let (side, other) = if link["outwardIssue"].is_object() {
                ("outward", &link["outwardIssue"])
            } else {
                ("inward", &link["inwardIssue"])
            };
            (
                link["type"]["name"].as_str().unwrap().to_string(),
                side.to_string(),
                other["key"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The last changelog item of an issue: (field, from, fromString, to, toString).
async fn last_change(server: &TestServer, key: &str) -> (Value, Value, Value, Value, Value) {
    let issue = server
        .admin_json(
            Method::GET,
            &format!("/rest/api/2/issue/{key}?expand=changelog"),
            Value::Null,
            StatusCode::OK,
        )
        .await;
    let item = issue["changelog"]["histories"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()["items"][0]
        .clone();
    (
        item["field"].clone(),
        item["from"].clone(),
        item["fromString"].clone(),
        item["to"].clone(),
        item["toString"].clone(),
    )
}

backend_tests! {
    async fn issues_link_both_ways_and_only_visible_links_show(db) {
        let server = TestServer::start(db).await;
        server.create_project("LA").await;
        server.create_project("LB").await;
        let response = server.admin(Method::DELETE, "/rest/api/2/project/LB/role/10000?group=jira-users").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        server.create_user("dev", &[]).await;
        server.create_user("reader", &[]).await;
        server.add_to_role("LA", 10001, "dev").await;
        let a = server.create_issue("LA", "first").await;
        let b = server.create_issue("LA", "second").await;
        let c = server.create_issue("LB", "hidden").await;

        let types = server.user(Method::GET, "/rest/api/2/issueLinkType", "reader").send().await.unwrap();
        let types = json_of(types).await;
        let blocks = types["issueLinkTypes"].as_array().unwrap().iter().find(|t| t["name"] == "Blocks").unwrap().clone();
        assert_eq!((blocks["id"].as_str(), blocks["inward"].as_str(), blocks["outward"].as_str()), (Some("10000"), Some("is blocked by"), Some("blocks")));
        assert!(blocks["self"].as_str().unwrap().ends_with("/rest/api/2/issueLinkType/10000"));

        // "a blocks b", with a comment on a; the same link again changes nothing.
        let mut body = link_body("Blocks", &a, &b);
        body["comment"] = json!({"body": "see the other one"});
        let response = server.user(Method::POST, "/rest/api/2/issueLink", "dev").json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap().to_string();
        let id = location.rsplit('/').next().unwrap().to_string();
        let (status, _) = send(server.user(Method::POST, "/rest/api/2/issueLink", "dev").json(&link_body("blocks", &a, &b))).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(links_seen(&server, "dev", &a).await, [("Blocks".to_string(), "outward".to_string(), b.clone())]);
        assert_eq!(links_seen(&server, "dev", &b).await, [("Blocks".to_string(), "inward".to_string(), a.clone())]);
        let (status, link) = send(server.user(Method::GET, &format!("/rest/api/2/issueLink/{id}"), "reader")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((link["inwardIssue"]["key"].as_str(), link["outwardIssue"]["key"].as_str()), (Some(a.as_str()), Some(b.as_str())));
        assert_eq!(link["outwardIssue"]["fields"]["status"]["name"], "To Do");
        assert_eq!(last_change(&server, &a).await, (json!("Link"), Value::Null, Value::Null, json!(b), json!(format!("This issue blocks {b}"))));
        assert_eq!(last_change(&server, &b).await, (json!("Link"), Value::Null, Value::Null, json!(a), json!(format!("This issue is blocked by {a}"))));
        let histories = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{a}?expand=changelog"), Value::Null, StatusCode::OK).await;
        assert_eq!(histories["changelog"]["histories"].as_array().unwrap().len(), 1, "linking twice records once");
        let comments = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{a}/comment"), Value::Null, StatusCode::OK).await;
        assert_eq!(comments["comments"][0]["body"], "see the other one");

        // Who may link: LINK_ISSUES on the inward issue, and a token's write scope.
        let (status, _) = send(server.user(Method::POST, "/rest/api/2/issueLink", "reader").json(&link_body("Relates", &a, &b))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let read = server.create_token("dev", json!({"name": "read", "expirationDuration": 30, "scopes": ["READ"]})).await;
        let (status, _) = send(server.bearer(Method::POST, "/rest/api/2/issueLink", &read).json(&link_body("Relates", &a, &b))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        // An issue the caller cannot browse is not found, on either side.
        for body in [link_body("Relates", &a, &c), link_body("Relates", &c, &a)] {
            let (status, _) = send(server.user(Method::POST, "/rest/api/2/issueLink", "dev").json(&body)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
        }
        let (status, error) = send(server.user(Method::POST, "/rest/api/2/issueLink", "dev").json(&link_body("Nope", &a, &b))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error["errors"]["issuelinks"].is_string(), "{error}");
        let (status, _) = send(server.user(Method::POST, "/rest/api/2/issueLink", "dev").json(&link_body("Relates", &a, &a))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // The administrator links a to LB's issue: dev does not see that link, nor read it.
        let response = server.admin(Method::POST, "/rest/api/2/issueLink").json(&link_body("Relates", &a, &c)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let hidden = response.headers()["location"].to_str().unwrap().rsplit('/').next().unwrap().to_string();
        assert_eq!(links_seen(&server, "admin", &a).await.len(), 2);
        assert_eq!(links_seen(&server, "dev", &a).await.len(), 1);
        let (status, _) = send(server.user(Method::GET, &format!("/rest/api/2/issueLink/{hidden}"), "dev")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = send(server.user(Method::DELETE, &format!("/rest/api/2/issueLink/{hidden}"), "dev")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let found = server.user(Method::POST, "/rest/api/2/search", "dev").json(&json!({"jql": format!("key = {a}"), "fields": ["issuelinks"]})).send().await.unwrap();
        let found = json_of(found).await;
        assert_eq!(found["issues"][0]["fields"]["issuelinks"].as_array().unwrap().len(), 1, "{found}");
        // A page of several issues: the links of all are read at once, each issue shows its
        // own in its own direction (the link between two issues of the page on both), and
        // what the caller may not browse stays hidden.
        let page = |as_admin: bool| {
            let (a, b) = (a.clone(), b.clone());
            let server = &server;
            async move {
                let search = match as_admin {
                    true => server.admin(Method::POST, "/rest/api/2/search"),
                    false => server.user(Method::POST, "/rest/api/2/search", "dev"),
                };
                let found = search.json(&json!({"jql": format!("key in ({a}, {b})"), "fields": ["issuelinks"]})).send().await.unwrap();
                let found = json_of(found).await;
                let mut seen: Vec<(String, Vec<String>)> = found["issues"].as_array().unwrap_or_else(|| panic!("{found}")).iter().map(|issue| {
                    let links = issue["fields"]["issuelinks"].as_array().unwrap().iter().map(|l| {
                        match (l["outwardIssue"]["key"].as_str(), l["inwardIssue"]["key"].as_str()) {
                            (Some(to), _) => format!("{} {to}", l["type"]["outward"].as_str().unwrap()),
                            (_, Some(from)) => format!("{} {from}", l["type"]["inward"].as_str().unwrap()),
                            _ => panic!("{l}"),
                        }
                    }).collect();
                    (issue["key"].as_str().unwrap().to_string(), links)
                }).collect();
                seen.sort();
                seen
            }
        };
        assert_eq!(page(false).await, [(a.clone(), vec![format!("blocks {b}")]), (b.clone(), vec![format!("is blocked by {a}")])]);
        assert_eq!(page(true).await, [(a.clone(), vec![format!("blocks {b}"), format!("relates to {c}")]), (b.clone(), vec![format!("is blocked by {a}")])]);

        // Unlinking: LINK_ISSUES on either end; recorded on both.
        let (status, _) = send(server.user(Method::DELETE, &format!("/rest/api/2/issueLink/{id}"), "reader")).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = send(server.user(Method::DELETE, &format!("/rest/api/2/issueLink/{id}"), "dev")).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(links_seen(&server, "dev", &b).await.is_empty());
        assert_eq!(last_change(&server, &b).await, (json!("Link"), json!(a), json!(format!("This issue is blocked by {a}")), Value::Null, Value::Null));
        let (status, _) = send(server.user(Method::DELETE, &format!("/rest/api/2/issueLink/{id}"), "dev")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Deleting an issue takes its links.
        let response = server.admin(Method::DELETE, &format!("/rest/api/2/issue/{c}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(links_seen(&server, "admin", &a).await.is_empty());
    }

    async fn administrators_manage_link_types(db) {
        let server = TestServer::start(db).await;
        server.create_project("LT").await;
        server.create_user("dev", &[]).await;
        server.add_to_role("LT", 10001, "dev").await;
        let causes = json!({"name": "Causes", "inward": "is caused by", "outward": "causes"});
        let (status, _) = send(server.user(Method::POST, "/rest/api/2/issueLinkType", "dev").json(&causes)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let made = server.admin_json(Method::POST, "/rest/api/2/issueLinkType", causes.clone(), StatusCode::CREATED).await;
        let id = made["id"].as_str().unwrap().to_string();
        assert_eq!((made["name"].as_str(), made["outward"].as_str()), (Some("Causes"), Some("causes")));
        for bad in [json!({"name": "CAUSES", "inward": "x", "outward": "y"}), json!({"name": "Half"}), json!({"name": "", "inward": "x", "outward": "y"}), json!({"name": 7, "inward": "x", "outward": "y"})] {
            let (status, error) = send(server.admin(Method::POST, "/rest/api/2/issueLinkType").json(&bad)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {error}");
            assert!(!error["errors"].as_object().unwrap().is_empty(), "{bad}: {error}");
        }
        let renamed = server.admin_json(Method::PUT, &format!("/rest/api/2/issueLinkType/{id}"), json!({"outward": "leads to"}), StatusCode::OK).await;
        assert_eq!((renamed["name"].as_str(), renamed["outward"].as_str()), (Some("Causes"), Some("leads to")));
        let one = server.user(Method::GET, &format!("/rest/api/2/issueLinkType/{id}"), "dev").send().await.unwrap();
        assert_eq!(json_of(one).await["outward"], "leads to");
        let a = server.create_issue("LT", "a").await;
        let b = server.create_issue("LT", "b").await;
        let by_id = json!({"type": {"id": id}, "inwardIssue": {"key": a}, "outwardIssue": {"key": b}});
        let (status, _) = send(server.user(Method::POST, "/rest/api/2/issueLink", "dev").json(&by_id)).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(links_seen(&server, "dev", &a).await, [("Causes".to_string(), "outward".to_string(), b.clone())]);
        // Deleting the type takes its links.
        let response = server.admin(Method::DELETE, &format!("/rest/api/2/issueLinkType/{id}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(links_seen(&server, "dev", &a).await.is_empty());
        for (method, path) in [(Method::GET, format!("/rest/api/2/issueLinkType/{id}")), (Method::DELETE, format!("/rest/api/2/issueLinkType/{id}")), (Method::GET, "/rest/api/2/issueLinkType/x".to_string())] {
            let (status, _) = send(server.admin(method.clone(), &path)).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method} {path}");
        }
    }

    async fn remote_links_are_kept_as_sent_and_replaced_by_global_id(db) {
        let server = TestServer::start(db).await;
        server.create_project("RM").await;
        server.create_project("RX").await;
        let response = server.admin(Method::DELETE, "/rest/api/2/project/RX/role/10000?group=jira-users").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        server.create_user("dev", &[]).await;
        server.create_user("reader", &[]).await;
        server.add_to_role("RM", 10001, "dev").await;
        let key = server.create_issue("RM", "remote").await;
        let other = server.create_issue("RX", "elsewhere").await;
        let path = format!("/rest/api/2/issue/{key}/remotelink");
        let link = json!({
            "globalId": "system=https://support.example&id=1",
            "application": {"type": "com.example.support", "name": "Support"},
            "relationship": "causes",
            "object": {"url": "https://support.example/1", "title": "SUP-1", "summary": "Crash", "status": {"resolved": true}},
        });
        let (status, made) = send(server.user(Method::POST, &path, "dev").json(&link)).await;
        assert_eq!(status, StatusCode::CREATED, "{made}");
        let id = made["id"].as_i64().unwrap();
        assert!(made["self"].as_str().unwrap().ends_with(&format!("{path}/{id}")));
        let listed = json_of(server.user(Method::GET, &path, "reader").send().await.unwrap()).await;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        for field in ["globalId", "application", "relationship", "object"] {
            assert_eq!(listed[0][field], link[field], "{field}");
        }
        // The same global id replaces the link.
        let mut again = link.clone();
        again["object"]["title"] = json!("SUP-1 (reopened)");
        let (status, replaced) = send(server.user(Method::POST, &path, "dev").json(&again)).await;
        assert_eq!((status, replaced["id"].as_i64()), (StatusCode::OK, Some(id)));
        let one = json_of(server.user(Method::GET, &format!("{path}?globalId=system%3Dhttps%3A%2F%2Fsupport.example%26id%3D1"), "reader").send().await.unwrap()).await;
        assert_eq!(one["object"]["title"], "SUP-1 (reopened)");
        let (status, _) = send(server.user(Method::GET, &format!("{path}?globalId=nothing"), "reader")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let second = json!({"object": {"url": "http://wiki.example/page", "title": "Page"}});
        let (status, second) = send(server.user(Method::POST, &path, "dev").json(&second)).await;
        assert_eq!(status, StatusCode::CREATED);
        let second = second["id"].as_i64().unwrap();
        let shown = json_of(server.user(Method::GET, &format!("{path}/{second}"), "reader").send().await.unwrap()).await;
        assert_eq!((shown["application"].clone(), shown.get("globalId")), (json!({}), None));

        // Refused: what is not a web link, what lacks a title, what is too big.
        let big = "x".repeat(40 * 1024);
        for (bad, field) in [
            (json!({"object": {"url": "javascript:alert(1)", "title": "x"}}), "url"),
            (json!({"object": {"url": "https://ok.example"}}), "title"),
            (json!({"object": {"title": "no url"}}), "url"),
            (json!({"object": "https://ok.example"}), "object"),
            (json!({"object": {"url": "https://ok.example", "title": "t"}, "application": "x"}), "application"),
            (json!({"object": {"url": "https://ok.example", "title": "t", "summary": big}}), "object"),
        ] {
            let (status, error) = send(server.user(Method::POST, &path, "dev").json(&bad)).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{field}");
            assert!(error["errors"][field].is_string(), "{field}: {error}");
        }
        // Who may: LINK_ISSUES (and a write scope) to change, BROWSE_PROJECTS to read.
        let (status, _) = send(server.user(Method::POST, &path, "reader").json(&link)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let read = server.create_token("dev", json!({"name": "read", "expirationDuration": 30, "scopes": ["READ"]})).await;
        let (status, _) = send(server.bearer(Method::DELETE, &format!("{path}/{id}"), &read)).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = send(server.user(Method::GET, &format!("/rest/api/2/issue/{other}/remotelink"), "dev")).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // A link is reached only through its own issue.
        let made = server.admin_json(Method::POST, &format!("/rest/api/2/issue/{other}/remotelink"), json!({"object": {"url": "https://x.example", "title": "x"}}), StatusCode::CREATED).await;
        let foreign = made["id"].as_i64().unwrap();
        for method in [Method::GET, Method::DELETE] {
            let (status, _) = send(server.admin(method.clone(), &format!("{path}/{foreign}"))).await;
            assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
        }
        // Change, then delete by id and by global id.
        let response = server.user(Method::PUT, &format!("{path}/{second}"), "dev").json(&json!({"object": {"url": "https://wiki.example/new", "title": "New"}})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let shown = json_of(server.user(Method::GET, &format!("{path}/{second}"), "dev").send().await.unwrap()).await;
        assert_eq!(shown["object"]["title"], "New");
        let response = server.user(Method::DELETE, &format!("{path}/{second}"), "dev").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let response = server.user(Method::DELETE, &format!("{path}?globalId=system%3Dhttps%3A%2F%2Fsupport.example%26id%3D1"), "dev").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert_eq!(json_of(server.user(Method::GET, &path, "dev").send().await.unwrap()).await, json!([]));
    }
}
