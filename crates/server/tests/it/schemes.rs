//! What a Jira client reads before it makes a project, and deleting one, through a real
//! server on SQLite and on PostgreSQL: the permission scheme says what the role table
//! enforces; a project's deletion takes its issues and everything theirs, in one go.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

backend_tests! {
    async fn the_schemes_say_what_tessera_enforces(db) {
        let server = TestServer::start(db).await;
        server.create_project("SC").await;
        server.create_user("dev", &[]).await;
        server.add_to_role("SC", 10001, "dev").await;
        let schemes = server.admin_json(Method::GET, "/rest/api/2/permissionscheme", Value::Null, StatusCode::OK).await;
        let scheme = &schemes["permissionSchemes"][0];
        assert_eq!((scheme["id"].as_i64(), scheme["name"].as_str()), (Some(0), Some("Default Permission Scheme")));
        let grants: Vec<(String, String)> = scheme["permissions"].as_array().unwrap().iter()
            .map(|g| (g["holder"]["parameter"].as_str().unwrap().to_string(), g["permission"].as_str().unwrap().to_string()))
            .collect();
        assert!(grants.contains(&("10001".into(), "WORK_ON_ISSUES".into())), "{grants:?}");
        assert!(!grants.contains(&("10000".into(), "WORK_ON_ISSUES".into())), "{grants:?}");
        assert!(grants.contains(&("10002".into(), "DELETE_ALL_WORKLOGS".into())), "{grants:?}");
        assert_eq!(server.admin_json(Method::GET, "/rest/api/2/permissionscheme/0", Value::Null, StatusCode::OK).await, *scheme);
        assert_eq!(server.admin(Method::GET, "/rest/api/2/permissionscheme/7").send().await.unwrap().status(), StatusCode::NOT_FOUND);
        assert_eq!(server.admin_json(Method::GET, "/rest/api/2/project/SC/permissionscheme", Value::Null, StatusCode::OK).await, *scheme);
        let security = server.admin_json(Method::GET, "/rest/api/2/issuesecurityschemes", Value::Null, StatusCode::OK).await;
        assert_eq!(security["issueSecuritySchemes"][0]["name"], "Default");
        let one = server.admin_json(Method::GET, "/rest/api/2/issuesecurityschemes/10000", Value::Null, StatusCode::OK).await;
        assert_eq!(one["levels"], json!([]));
        for kind in ["notificationscheme", "priorityscheme", "workflowscheme", "issuesecuritylevelscheme"] {
            let found = server.admin_json(Method::GET, &format!("/rest/api/2/project/SC/{kind}"), Value::Null, StatusCode::OK).await;
            assert!(found["name"].is_string(), "{kind}: {found}");
        }
        // A developer may not read the project's schemes (ADMINISTER_PROJECTS), nor the
        // global ones (ADMINISTER); anyone reads the categories (none).
        for path in ["/rest/api/2/project/SC/permissionscheme", "/rest/api/2/permissionscheme", "/rest/api/2/application-properties"] {
            assert_eq!(server.user(Method::GET, path, "dev").send().await.unwrap().status(), StatusCode::FORBIDDEN, "{path}");
        }
        let categories = server.user(Method::GET, "/rest/api/2/projectCategory", "dev").send().await.unwrap();
        assert_eq!(json_of(categories).await, json!([]));
        let property = server.admin_json(Method::GET, "/rest/api/2/application-properties?key=jira.timetracking.hours.per.day", Value::Null, StatusCode::OK).await;
        assert_eq!(property["value"], "8");
        assert_eq!(server.admin(Method::GET, "/rest/api/2/application-properties?key=nope").send().await.unwrap().status(), StatusCode::NOT_FOUND);
        // An administrator changes the title and the look and feel, within their rules; not
        // the rest, and nobody else.
        let favicon = "/rest/api/2/application-properties/jira.lf.favicon.hires.url";
        let set = server.admin_json(Method::PUT, favicon, json!({"id": "jira.lf.favicon.hires.url", "value": "/brand/icon.png"}), StatusCode::OK).await;
        assert_eq!((set["value"].as_str(), set["defaultValue"].as_str()), (Some("/brand/icon.png"), Some("/images/64jira.png")));
        let read = server.admin_json(Method::GET, "/rest/api/2/application-properties?key=jira.lf.favicon.hires.url", Value::Null, StatusCode::OK).await;
        assert_eq!(read["value"], "/brand/icon.png");
        for (key, value, status) in [
            ("jira.lf.favicon.hires.url", "javascript:alert(1)", StatusCode::BAD_REQUEST),
            ("jira.lf.text.headingcolour", "red; background: url(x)", StatusCode::BAD_REQUEST),
            ("jira.title", "", StatusCode::BAD_REQUEST),
            ("jira.baseurl", "https://elsewhere.example", StatusCode::BAD_REQUEST),
            ("jira.option.voting", "false", StatusCode::BAD_REQUEST),
            ("random.nonexistent.property", "666", StatusCode::NOT_FOUND),
        ] {
            let response = server.admin(Method::PUT, &format!("/rest/api/2/application-properties/{key}")).json(&json!({"id": key, "value": value})).send().await.unwrap();
            assert_eq!(response.status(), status, "{key} = {value}");
        }
        server.admin_json(Method::PUT, "/rest/api/2/application-properties/jira.lf.text.headingcolour", json!({"id": "jira.lf.text.headingcolour", "value": "#0052CC"}), StatusCode::OK).await;
        server.create_user("plain", &[]).await;
        let refused = server.user(Method::PUT, "/rest/api/2/application-properties/jira.title", "plain").json(&json!({"id": "jira.title", "value": "mine"})).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        let title = server.admin_json(Method::GET, "/rest/api/2/application-properties?key=jira.title", Value::Null, StatusCode::OK).await;
        assert_eq!(title["value"], "tessera");
        // What tessera has, its properties say it has (clients hide votes and links otherwise).
        for option in ["jira.option.voting", "jira.option.issuelinking", "jira.option.watching"] {
            let property = server.admin_json(Method::GET, &format!("/rest/api/2/application-properties?key={option}"), Value::Null, StatusCode::OK).await;
            assert_eq!(property["value"], "true", "{option}");
        }
    }

    async fn every_project_has_its_issue_type_scheme(db) {
        let server = TestServer::start(db).await;
        let first = server.create_project("TA").await["id"].as_i64().unwrap();
        let second = server.create_project("TB").await["id"].as_i64().unwrap();
        let listed = server.admin_json(Method::GET, "/rest/api/2/issuetypescheme", Value::Null, StatusCode::OK).await;
        let schemes: Vec<(String, String)> = listed["schemes"].as_array().unwrap().iter()
            .map(|s| (s["id"].as_str().unwrap().to_string(), s["name"].as_str().unwrap().to_string()))
            .collect();
        let own = |id: i64, key: &str| ((10000 + id).to_string(), format!("{key}: Software Simplified Issue Type Scheme"));
        assert_eq!(schemes, [("10000".to_string(), "Default Issue Type Scheme".to_string()), own(first, "TA"), own(second, "TB")]);
        // A project's scheme is used by that project alone, with its lead; the default by none.
        let used = server.admin_json(Method::GET, &format!("/rest/api/2/issuetypescheme/{}/associations", 10000 + second), Value::Null, StatusCode::OK).await;
        let used = used.as_array().unwrap();
        assert_eq!(used.len(), 1, "{used:?}");
        assert_eq!((used[0]["id"].as_str(), used[0]["key"].as_str(), used[0]["lead"]["name"].as_str()), (Some(second.to_string().as_str()), Some("TB"), Some("admin")));
        let default = server.admin_json(Method::GET, "/rest/api/2/issuetypescheme/10000/associations", Value::Null, StatusCode::OK).await;
        assert_eq!(default, json!([]));
        let one = server.admin_json(Method::GET, &format!("/rest/api/2/issuetypescheme/{}?expand=issueTypes,defaultIssueType", 10000 + first), Value::Null, StatusCode::OK).await;
        let types: Vec<&str> = one["issueTypes"].as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
        assert_eq!((types, one["defaultIssueType"]["name"].as_str()), (vec!["Task", "Bug", "Story"], Some("Task")));
        assert!(listed["schemes"][0].get("issueTypes").is_none(), "only when expanded");
        // Unknown ids, a deleted project's scheme, and anyone but an administrator: refused.
        for id in ["9999", "-1", "x", "99999999999999999999", &(10000 + second + 7).to_string()] {
            let response = server.admin(Method::GET, &format!("/rest/api/2/issuetypescheme/{id}/associations")).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{id}");
        }
        server.admin_json(Method::DELETE, "/rest/api/2/project/TA", Value::Null, StatusCode::NO_CONTENT).await;
        let gone = server.admin(Method::GET, &format!("/rest/api/2/issuetypescheme/{}", 10000 + first)).send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
        server.create_user("dev", &[]).await;
        server.add_to_role("TB", 10002, "dev").await;
        for path in ["/rest/api/2/issuetypescheme".to_string(), format!("/rest/api/2/issuetypescheme/{}/associations", 10000 + second)] {
            assert_eq!(server.user(Method::GET, &path, "dev").send().await.unwrap().status(), StatusCode::FORBIDDEN, "{path}");
        }
    }

    async fn deleting_a_project_takes_its_issues_with_it(db) {
        let server = TestServer::start(db).await;
        server.create_project("GO").await;
        server.create_project("KEEP").await;
        server.create_user("dev", &[]).await;
        server.add_to_role("GO", 10002, "dev").await;
        let doomed = server.create_issue("GO", "doomed").await;
        let kept = server.create_issue("KEEP", "kept").await;
        for issue in [&doomed, &kept] {
            server.admin_json(Method::POST, &format!("/rest/api/2/issue/{issue}/comment"), json!({"body": "c"}), StatusCode::CREATED).await;
            server.admin_json(Method::POST, &format!("/rest/api/2/issue/{issue}/worklog"), json!({"timeSpent": "1h"}), StatusCode::CREATED).await;
            server.admin(Method::PUT, &format!("/rest/api/2/issue/{issue}")).json(&json!({"fields": {"summary": "changed"}})).send().await.unwrap();
        }
        // Only a Jira administrator: not the project's own administrator.
        assert_eq!(server.user(Method::DELETE, "/rest/api/2/project/GO", "dev").send().await.unwrap().status(), StatusCode::FORBIDDEN);
        let gone = server.admin(Method::DELETE, "/rest/api/2/project/GO").send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NO_CONTENT);
        assert_eq!(server.admin(Method::GET, "/rest/api/2/project/GO").send().await.unwrap().status(), StatusCode::NOT_FOUND);
        assert_eq!(server.admin(Method::GET, &format!("/rest/api/2/issue/{doomed}")).send().await.unwrap().status(), StatusCode::NOT_FOUND);
        assert_eq!(server.admin(Method::DELETE, "/rest/api/2/project/GO").send().await.unwrap().status(), StatusCode::NOT_FOUND);
        // The other project's issue keeps everything; the deleted one's worklog is in no export.
        let issue = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{kept}?fields=comment,worklog&expand=changelog"), Value::Null, StatusCode::OK).await;
        assert_eq!((issue["fields"]["comment"]["total"].as_i64(), issue["fields"]["worklog"]["total"].as_i64()), (Some(1), Some(1)));
        let updated = server.admin_json(Method::GET, "/rest/api/2/worklog/updated", Value::Null, StatusCode::OK).await;
        assert_eq!(updated["values"].as_array().unwrap().len(), 1);
        let found = server.admin_json(Method::GET, "/rest/api/2/search?jql=summary~changed", Value::Null, StatusCode::OK).await;
        assert_eq!(found["total"], 1);
        // The key is free again.
        server.create_project("GO").await;
    }
}
