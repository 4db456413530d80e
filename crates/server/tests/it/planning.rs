//! Versions and components through a real server, on SQLite and on PostgreSQL: Jira's
//! shapes, the order of versions, unique names, and who may read and manage them.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

backend_tests! {
    async fn project_administrators_manage_versions_in_order(db) {
        let server = TestServer::start(db).await;
        server.create_project("RL").await;
        server.create_user("dev", &[]).await;
        server.add_to_role("RL", 10001, "dev").await;
        let make = |name: &str, extra: Value| {
            let mut body = json!({"name": name, "project": "RL"});
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            body
        };
        let one = server.admin_json(Method::POST, "/rest/api/2/version", make("1.0", json!({"description": "first", "releaseDate": "2020-01-31"})), StatusCode::CREATED).await;
        assert_eq!((one["name"].as_str(), one["released"].as_bool(), one["archived"].as_bool()), (Some("1.0"), Some(false), Some(false)));
        assert_eq!((one["releaseDate"].as_str(), one["userReleaseDate"].as_str(), one["overdue"].as_bool()), (Some("2020-01-31"), Some("31/Jan/20"), Some(true)));
        let id = one["id"].as_str().unwrap().to_string();
        assert!(one["self"].as_str().unwrap().ends_with(&format!("/rest/api/2/version/{id}")));
        let two = server.admin_json(Method::POST, "/rest/api/2/version", make("2.0", json!({"projectId": null})), StatusCode::CREATED).await;
        server.admin_json(Method::POST, "/rest/api/2/version", json!({"name": "3.0", "projectId": one["projectId"]}), StatusCode::CREATED).await;
        let names = |list: &Value| list.as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        let listed = server.user(Method::GET, "/rest/api/2/project/RL/versions", "dev").send().await.unwrap();
        assert_eq!(names(&json_of(listed).await), ["1.0", "2.0", "3.0"]);
        let project = json_of(server.user(Method::GET, "/rest/api/2/project/RL", "dev").send().await.unwrap()).await;
        assert_eq!(names(&project["versions"]), ["1.0", "2.0", "3.0"]);
        // Moves.
        server.admin_json(Method::POST, &format!("/rest/api/2/version/{}/move", two["id"].as_str().unwrap()), json!({"position": "First"}), StatusCode::OK).await;
        server.admin_json(Method::POST, &format!("/rest/api/2/version/{id}/move"), json!({"position": "Last"}), StatusCode::OK).await;
        let all = server.admin_json(Method::GET, "/rest/api/2/project/RL/versions", Value::Null, StatusCode::OK).await;
        assert_eq!(names(&all), ["2.0", "3.0", "1.0"]);
        server.admin_json(Method::POST, &format!("/rest/api/2/version/{id}/move"), json!({"after": two["self"]}), StatusCode::OK).await;
        assert_eq!(names(&server.admin_json(Method::GET, "/rest/api/2/project/RL/versions", Value::Null, StatusCode::OK).await), ["2.0", "1.0", "3.0"]);
        // Release, archive, rename; a taken name is a 400 naming the field.
        let changed = server.admin_json(Method::PUT, &format!("/rest/api/2/version/{id}"), json!({"released": true, "archived": true, "name": "1.0.0", "releaseDate": null}), StatusCode::OK).await;
        assert_eq!((changed["name"].as_str(), changed["released"].as_bool(), changed["archived"].as_bool()), (Some("1.0.0"), Some(true), Some(true)));
        assert!(changed.get("releaseDate").is_none());
        assert_eq!(changed["description"], "first");
        for (body, field) in [
            (make("2.0", json!({})), "name"),
            (make("", json!({})), "name"),
            (make("4.0", json!({"releaseDate": "2026-02-30"})), "releaseDate"),
        ] {
            let refused = server.admin(Method::POST, "/rest/api/2/version").json(&body).send().await.unwrap();
            let error = expect_error(refused, StatusCode::BAD_REQUEST).await;
            assert!(error["errors"][field].is_string(), "{body}: {error}");
        }
        // Paged, filtered by status and name.
        let page = server.admin_json(Method::GET, "/rest/api/2/project/RL/version?startAt=0&maxResults=2&status=unreleased", Value::Null, StatusCode::OK).await;
        assert_eq!((page["total"].as_i64(), page["isLast"].as_bool()), (Some(2), Some(true)));
        assert_eq!(names(&page["values"]), ["2.0", "3.0"]);
        let found = server.admin_json(Method::GET, "/rest/api/2/project/RL/version?query=1.0", Value::Null, StatusCode::OK).await;
        assert_eq!(names(&found["values"]), ["1.0.0"]);
        // A developer reads but may not manage; the counts are there.
        let refused = server.user(Method::POST, "/rest/api/2/version", "dev").json(&make("5.0", json!({}))).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let refused = server.user(Method::DELETE, &format!("/rest/api/2/version/{id}"), "dev").send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let counts = json_of(server.user(Method::GET, &format!("/rest/api/2/version/{id}/relatedIssueCounts"), "dev").send().await.unwrap()).await;
        assert_eq!((counts["issuesFixedCount"].as_i64(), counts["issuesAffectedCount"].as_i64()), (Some(0), Some(0)));
        // Deleting: moving issues needs another version of the project.
        let gone = server.admin(Method::DELETE, &format!("/rest/api/2/version/{id}?moveFixIssuesTo={id}")).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::BAD_REQUEST);
        let gone = server.admin(Method::DELETE, &format!("/rest/api/2/version/{id}?moveFixIssuesTo={}", two["id"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        assert_eq!(server.admin(Method::GET, &format!("/rest/api/2/version/{id}")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    }

    async fn components_belong_to_their_project_and_hide_with_it(db) {
        let server = TestServer::start(db).await;
        server.create_project("CM").await;
        server.create_project("HID").await;
        let response = server.admin(Method::DELETE, "/rest/api/2/project/HID/role/10000?group=jira-users").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        server.create_user("dev", &[]).await;
        server.add_to_role("CM", 10001, "dev").await;
        let api = server.admin_json(Method::POST, "/rest/api/2/component", json!({"name": "API", "project": "CM", "description": "the REST API", "leadUserName": "dev", "assigneeType": "COMPONENT_LEAD"}), StatusCode::CREATED).await;
        assert_eq!((api["lead"]["name"].as_str(), api["assigneeType"].as_str(), api["project"].as_str()), (Some("dev"), Some("COMPONENT_LEAD"), Some("CM")));
        assert_eq!(api["isAssigneeTypeValid"], true);
        let id = api["id"].as_str().unwrap().to_string();
        for (body, field) in [
            (json!({"name": "api", "project": "CM"}), "name"),
            (json!({"name": "X", "project": "CM", "leadUserName": "nobody"}), "leadUserName"),
            (json!({"name": "Y", "project": "CM", "assigneeType": "SOMEONE"}), "assigneeType"),
            (json!({"name": "Z"}), "project"),
        ] {
            let refused = server.admin(Method::POST, "/rest/api/2/component").json(&body).send().await.unwrap();
            let error = expect_error(refused, StatusCode::BAD_REQUEST).await;
            assert!(error["errors"][field].is_string(), "{body}: {error}");
        }
        let changed = server.admin_json(Method::PUT, &format!("/rest/api/2/component/{id}"), json!({"leadUserName": null, "assigneeType": "UNASSIGNED"}), StatusCode::OK).await;
        assert!(changed.get("lead").is_none());
        assert_eq!(changed["description"], "the REST API");
        let listed = json_of(server.user(Method::GET, "/rest/api/2/project/CM/components", "dev").send().await.unwrap()).await;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        let project = json_of(server.user(Method::GET, "/rest/api/2/project/CM", "dev").send().await.unwrap()).await;
        assert_eq!(project["components"][0]["name"], "API");
        // Another project's component is not found for one who cannot see that project.
        let hidden = server.admin_json(Method::POST, "/rest/api/2/component", json!({"name": "Secret", "project": "HID"}), StatusCode::CREATED).await;
        let path = format!("/rest/api/2/component/{}", hidden["id"].as_str().unwrap());
        assert_eq!(server.user(Method::GET, &path, "dev").send().await.unwrap().status(), StatusCode::NOT_FOUND);
        assert_eq!(server.user(Method::GET, "/rest/api/2/project/HID/components", "dev").send().await.unwrap().status(), StatusCode::NOT_FOUND);
        let refused = server.user(Method::POST, "/rest/api/2/component", "dev").json(&json!({"name": "Mine", "project": "HID"})).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::NOT_FOUND);
        // Moving issues to another project's component is refused; deleting works.
        let gone = server.admin(Method::DELETE, &format!("/rest/api/2/component/{id}?moveIssuesTo={}", hidden["id"].as_str().unwrap())).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::BAD_REQUEST);
        let counts = server.admin_json(Method::GET, &format!("/rest/api/2/component/{id}/relatedIssueCounts"), Value::Null, StatusCode::OK).await;
        assert_eq!(counts["issueCount"], 0);
        assert_eq!(server.admin(Method::DELETE, &format!("/rest/api/2/component/{id}")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(server.admin(Method::GET, &format!("/rest/api/2/component/{id}")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
    }

    async fn issues_name_versions_and_components_and_follow_their_moves(db) {
        let server = TestServer::start(db).await;
        server.create_project("IV").await;
        server.create_project("OT").await;
        let version = |name: &str, project: &str| {
            let body = json!({"name": name, "project": project});
            let server = &server;
            async move { server.admin_json(Method::POST, "/rest/api/2/version", body, StatusCode::CREATED).await["id"].as_str().unwrap().to_string() }
        };
        let v1 = version("1.0", "IV").await;
        let v2 = version("2.0", "IV").await;
        let other = version("9.0", "OT").await;
        let api = server.admin_json(Method::POST, "/rest/api/2/component", json!({"name": "API", "project": "IV"}), StatusCode::CREATED).await["id"].as_str().unwrap().to_string();
        server.admin_json(Method::POST, "/rest/api/2/component", json!({"name": "UI", "project": "IV"}), StatusCode::CREATED).await;
        let body = json!({"fields": {"project": {"key": "IV"}, "issuetype": {"name": "Bug"}, "summary": "planned",
            "fixVersions": [{"name": "2.0"}, {"id": v1}], "versions": [{"name": "1.0"}], "components": [{"name": "ui"}, {"id": api}]}});
        let key = server.admin_json(Method::POST, "/rest/api/2/issue", body, StatusCode::CREATED).await["key"].as_str().unwrap().to_string();
        let read = || async { server.admin_json(Method::GET, &format!("/rest/api/2/issue/{key}?expand=changelog"), Value::Null, StatusCode::OK).await };
        let names = |list: &Value| list.as_array().unwrap().iter().map(|v| v["name"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        let issue = read().await;
        assert_eq!(names(&issue["fields"]["fixVersions"]), ["1.0", "2.0"], "in the project's order");
        assert_eq!(names(&issue["fields"]["versions"]), ["1.0"]);
        assert_eq!(names(&issue["fields"]["components"]), ["API", "UI"]);
        assert_eq!(issue["fields"]["fixVersions"][0]["id"], v1.as_str());
        let counts = server.admin_json(Method::GET, &format!("/rest/api/2/version/{v1}/relatedIssueCounts"), Value::Null, StatusCode::OK).await;
        assert_eq!((counts["issuesFixedCount"].as_i64(), counts["issuesAffectedCount"].as_i64()), (Some(1), Some(1)));
        // Edits: update operations, recorded one item per value as Jira does.
        let edit = json!({"update": {"fixVersions": [{"remove": {"name": "1.0"}}], "components": [{"add": {"name": "API"}}, {"remove": {"name": "UI"}}]}});
        let response = server.admin(Method::PUT, &format!("/rest/api/2/issue/{key}")).json(&edit).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let issue = read().await;
        assert_eq!((names(&issue["fields"]["fixVersions"]), names(&issue["fields"]["components"])), (vec!["2.0".to_string()], vec!["API".to_string()]));
        let last = issue["changelog"]["histories"].as_array().unwrap().last().unwrap().clone();
        let items: Vec<(String, Value, Value)> = last["items"].as_array().unwrap().iter().map(|i| (i["field"].as_str().unwrap().to_string(), i["fromString"].clone(), i["toString"].clone())).collect();
        assert_eq!(items, [("Fix Version".to_string(), json!("1.0"), Value::Null), ("Component".to_string(), json!("UI"), Value::Null)]);
        // Names and ids of another project's, or nobody's, are field errors.
        for bad in [json!({"fields": {"fixVersions": [{"id": other}]}}), json!({"fields": {"components": [{"name": "Nope"}]}}), json!({"fields": {"versions": "1.0"}})] {
            let refused = server.admin(Method::PUT, &format!("/rest/api/2/issue/{key}")).json(&bad).send().await.unwrap();
            let error = expect_error(refused, StatusCode::BAD_REQUEST).await;
            let field = bad["fields"].as_object().unwrap().keys().next().unwrap().clone();
            assert!(error["errors"][&field].is_string(), "{bad}: {error}");
        }
        // Deleting a version moves its issues to the one named; the search shows the fields.
        let gone = server.admin(Method::DELETE, &format!("/rest/api/2/version/{v2}?moveFixIssuesTo={v1}")).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        let found = server.admin_json(Method::GET, &format!("/rest/api/2/search?jql=key={key}&fields=fixVersions,components"), Value::Null, StatusCode::OK).await;
        assert_eq!(names(&found["issues"][0]["fields"]["fixVersions"]), ["1.0"]);
        assert_eq!(names(&found["issues"][0]["fields"]["components"]), ["API"]);
        let gone = server.admin(Method::DELETE, &format!("/rest/api/2/component/{api}")).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        assert_eq!(read().await["fields"]["components"], json!([]));
    }

    async fn jql_finds_issues_by_version_and_component(db) {
        let server = TestServer::start(db).await;
        server.create_project("JV").await;
        server.create_project("JW").await;
        // JW is the administrators' only: dev browses JV alone.
        let response = server.admin(Method::DELETE, "/rest/api/2/project/JW/role/10000?group=jira-users").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        server.create_user("dev", &[]).await;
        let make = |path: &'static str, body: Value| {
            let server = &server;
            async move { server.admin_json(Method::POST, path, body, StatusCode::CREATED).await["id"].as_str().unwrap().to_string() }
        };
        make("/rest/api/2/version", json!({"name": "1.0", "project": "JV"})).await;
        let v2 = make("/rest/api/2/version", json!({"name": "2.0", "project": "JV"})).await;
        make("/rest/api/2/version", json!({"name": "1.0", "project": "JW"})).await;
        make("/rest/api/2/version", json!({"name": "secret", "project": "JW"})).await;
        make("/rest/api/2/component", json!({"name": "API", "project": "JV"})).await;
        make("/rest/api/2/component", json!({"name": "UI", "project": "JV"})).await;
        let issue = |project: &str, summary: &str, fields: Value| {
            let mut body = json!({"fields": {"project": {"key": project}, "issuetype": {"name": "Bug"}, "summary": summary}});
            for (k, v) in fields.as_object().unwrap() {
                body["fields"][k] = v.clone();
            }
            let server = &server;
            async move { server.admin_json(Method::POST, "/rest/api/2/issue", body, StatusCode::CREATED).await["key"].as_str().unwrap().to_string() }
        };
        let a = issue("JV", "a", json!({"fixVersions": [{"name": "1.0"}], "components": [{"name": "API"}]})).await;
        let b = issue("JV", "b", json!({"fixVersions": [{"name": "2.0"}], "versions": [{"name": "1.0"}]})).await;
        let c = issue("JV", "c", json!({})).await;
        let d = issue("JW", "d", json!({"fixVersions": [{"name": "1.0"}]})).await;
        let search = |jql: String, who: Option<&'static str>| {
            let server = &server;
            async move {
                let request = match who {
                    Some(name) => server.user(Method::POST, "/rest/api/2/search", name),
                    None => server.admin(Method::POST, "/rest/api/2/search"),
                };
                let jql = if jql.contains("ORDER BY") { jql } else { format!("{jql} ORDER BY key") };
                let response = request.json(&json!({"jql": jql, "fields": ["summary"]})).send().await.unwrap();
                let status = response.status();
                let body = json_of(response).await;
                (status, body)
            }
        };
        let keys = |body: &Value| body["issues"].as_array().unwrap().iter().map(|i| i["key"].as_str().unwrap().to_string()).collect::<Vec<_>>();
        let cases: Vec<(String, Vec<&String>)> = vec![
            ("fixVersion = 1.0".into(), vec![&a, &d]),
            ("fixversion = \"1.0\" AND project = JV".into(), vec![&a]),
            ("fixVersion in (1.0, \"2.0\") AND project = JV".into(), vec![&a, &b]),
            (format!("fixVersion = {v2}"), vec![&b]),
            ("fixVersion is EMPTY".into(), vec![&c]),
            ("fixVersion != 1.0".into(), vec![&b]),
            ("NOT fixVersion = 2.0 AND project = JV".into(), vec![&a]),
            ("affectedVersion = 1.0".into(), vec![&b]),
            ("affectedVersion is not EMPTY OR component = api".into(), vec![&a, &b]),
            ("component in (UI, EMPTY)".into(), vec![&b, &c, &d]),
            ("component in (UI, EMPTY) AND project = JV".into(), vec![&b, &c]),
            ("component not in (API)".into(), vec![]),
        ];
        for (jql, expected) in &cases {
            let (status, body) = search(jql.clone(), None).await;
            assert_eq!(status, StatusCode::OK, "{jql}: {body}");
            assert_eq!(keys(&body), expected.iter().map(|k| k.to_string()).collect::<Vec<_>>(), "{jql}");
        }
        // dev sees JV only: JW's version of the same name finds nothing there, and a name only
        // JW has is refused exactly as one nobody has.
        let (_, body) = search("fixVersion = 1.0".into(), Some("dev")).await;
        assert_eq!(keys(&body), vec![a.to_string()]);
        for (jql, field, value) in [("fixVersion = secret", "fixVersion", "secret"), ("component = nothing", "component", "nothing"), ("affectedVersion in (7.7)", "affectedVersion", "7.7")] {
            let (status, body) = search(jql.into(), Some("dev")).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{jql}");
            assert_eq!(body["errorMessages"], json!([format!("The value '{value}' does not exist for the field '{field}'.")]), "{jql}");
        }
        let (status, body) = search("fixVersion > 1.0".into(), None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, body) = search("project = JV ORDER BY component".into(), None).await;
        assert_eq!((status, &body["errorMessages"][0]), (StatusCode::BAD_REQUEST, &json!("Field 'component' does not support sorting.")), "{body}");
    }
}
