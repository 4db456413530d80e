//! Saved filters through a real server, on SQLite and on PostgreSQL: Jira's shapes, names
//! unique per owner, favourites, a filter that is its owner's alone until shared, and sharing
//! with a group, a project, a project role or everyone (each tried by those outside it), and
//! `filter = ...` in JQL (by id or name, negated, nested, cycles and depth refused, only the
//! filters the searcher may see, only the issues the searcher may browse).

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
            async move { server.user_json(who, method, &path, body).await }
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

    async fn filters_are_shared_only_with_audiences_their_owner_belongs_to(db) {
        let server = TestServer::start(db).await;
        let project = server.create_project("SH").await;
        let sh = project["id"].to_string().trim_matches('"').to_string();
        let hidden = server.create_project("HID").await;
        for key in ["SH", "HID"] {
            server.admin_json(Method::DELETE, &format!("/rest/api/2/project/{key}/role/10000?group=jira-users"), Value::Null, StatusCode::NO_CONTENT).await;
        }
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "analysts"}), StatusCode::CREATED).await;
        server.create_user("ann", &["analysts"]).await;
        server.create_user("bob", &["analysts"]).await;
        server.create_user("carl", &[]).await;
        server.add_to_role("SH", 10001, "ann").await;
        server.add_to_role("SH", 10000, "bob").await;
        let send = |who: &'static str, method: Method, path: String, body: Value| {
            let server = &server;
            async move { server.user_json(who, method, &path, body).await }
        };
        let (status, made) = send("ann", Method::POST, "/rest/api/2/filter".into(), json!({"name": "Team work", "jql": "project = SH"})).await;
        assert_eq!(status, StatusCode::OK, "{made}");
        let id = made["id"].as_str().unwrap().to_string();
        let filter = format!("/rest/api/2/filter/{id}");
        let permissions = format!("{filter}/permission");
        let sees = |who: &'static str| {
            let send = &send;
            let filter = filter.clone();
            async move { send(who, Method::GET, filter, Value::Null).await.0 }
        };
        assert_eq!((sees("bob").await, sees("carl").await), (StatusCode::NOT_FOUND, StatusCode::NOT_FOUND));

        // Refused, with the same words whether or not the audience exists: a group ann is not
        // in, one that does not exist, a project she cannot browse, a role she does not hold,
        // an unknown kind; nothing is shared by them.
        for bad in [
            json!({"type": "group", "groupname": "jira-administrators"}),
            json!({"type": "group", "groupname": "nobody-has-this"}),
            json!({"type": "group"}),
            json!({"type": "project", "projectId": hidden["id"]}),
            json!({"type": "project", "projectId": "99999"}),
            json!({"type": "projectRole", "projectId": sh, "projectRoleId": "10002"}),
            json!({"type": "projectRole", "projectId": sh, "projectRoleId": "4"}),
            json!({"type": "user", "username": "bob"}),
        ] {
            let (status, error) = send("ann", Method::POST, permissions.clone(), bad.clone()).await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {error}");
            assert!(error["errorMessages"][0].is_string(), "{error}");
        }
        let (_, none) = send("ann", Method::GET, permissions.clone(), Value::Null).await;
        assert_eq!(none, json!([]));

        // A group ann is in (named in any case): its members see the filter, others do not.
        let (status, shares) = send("ann", Method::POST, permissions.clone(), json!({"type": "group", "groupname": "Analysts"})).await;
        assert_eq!(status, StatusCode::CREATED, "{shares}");
        assert_eq!((shares[0]["type"].as_str(), shares[0]["group"]["name"].as_str()), (Some("group"), Some("analysts")));
        let group_share = shares[0]["id"].as_i64().unwrap();
        // Sharing twice with the same audience keeps one share.
        let (_, again) = send("ann", Method::POST, permissions.clone(), json!({"type": "group", "groupname": "analysts"})).await;
        assert_eq!(again, shares);
        let (status, seen) = send("bob", Method::GET, filter.clone(), Value::Null).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!((seen["owner"]["name"].as_str(), seen["jql"].as_str(), seen["favourite"].as_bool()), (Some("ann"), Some("project = SH"), Some(false)));
        assert_eq!(seen["sharePermissions"], shares);
        assert_eq!(sees("carl").await, StatusCode::NOT_FOUND);
        let (status, one) = send("bob", Method::GET, format!("{permissions}/{group_share}"), Value::Null).await;
        assert_eq!((status, one["id"].as_i64()), (StatusCode::OK, Some(group_share)));
        let (status, _) = send("bob", Method::GET, format!("{permissions}/12345"), Value::Null).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Someone it is shared with reads it and may count it a favourite, but only the owner
        // changes, shares, unshares or deletes it.
        for (method, path, body) in [
            (Method::PUT, filter.clone(), json!({"name": "bob's now"})),
            (Method::DELETE, filter.clone(), Value::Null),
            (Method::POST, permissions.clone(), json!({"type": "global"})),
            (Method::DELETE, format!("{permissions}/{group_share}"), Value::Null),
        ] {
            let (status, error) = send("bob", method.clone(), path.clone(), body).await;
            assert_eq!(status, StatusCode::FORBIDDEN, "{method} {path}: {error}");
        }
        let (status, favourite) = send("bob", Method::PUT, format!("{filter}/favourite"), Value::Null).await;
        assert_eq!((status, favourite["favourite"].as_bool()), (StatusCode::OK, Some(true)));
        let (_, favourites) = send("bob", Method::GET, "/rest/api/2/filter/favourite".into(), Value::Null).await;
        assert_eq!(favourites.as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect::<Vec<_>>(), [id.as_str()]);
        // ... not with a READ token, which still reads it.
        let read = server.create_token("bob", json!({"name": "read", "expirationDuration": 30, "scopes": ["READ"]})).await;
        assert_eq!(server.bearer(Method::GET, &filter, &read).send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(server.bearer(Method::DELETE, &format!("{filter}/favourite"), &read).json(&json!({})).send().await.unwrap().status(), StatusCode::FORBIDDEN);
        let (status, _) = send("carl", Method::PUT, format!("{filter}/favourite"), Value::Null).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Unshared: gone for bob, also from his favourites.
        let (status, _) = send("ann", Method::DELETE, format!("{permissions}/{group_share}"), Value::Null).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = send("ann", Method::DELETE, format!("{permissions}/{group_share}"), Value::Null).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(sees("bob").await, StatusCode::NOT_FOUND);
        let (_, favourites) = send("bob", Method::GET, "/rest/api/2/filter/favourite".into(), Value::Null).await;
        assert_eq!(favourites, json!([]));

        // A role ann holds: its members, carl once he holds it, not bob (a Users member); a
        // reader other than the owner sees only the shares that include them.
        let (status, shares) = send("ann", Method::POST, permissions.clone(), json!({"type": "projectRole", "projectId": sh, "projectRoleId": 10001})).await;
        assert_eq!(status, StatusCode::CREATED, "{shares}");
        assert_eq!((shares[0]["project"]["key"].as_str(), shares[0]["role"]["name"].as_str()), (Some("SH"), Some("Developers")));
        assert_eq!(sees("carl").await, StatusCode::NOT_FOUND);
        server.add_to_role("SH", 10001, "carl").await;
        assert_eq!((sees("carl").await, sees("bob").await), (StatusCode::OK, StatusCode::NOT_FOUND));
        // A project ann may browse: whoever may browse it, bob now too.
        let (status, shares) = send("ann", Method::POST, permissions.clone(), json!({"type": "project", "projectId": sh})).await;
        assert_eq!((status, shares.as_array().unwrap().len()), (StatusCode::CREATED, 2));
        let (_, seen) = send("bob", Method::GET, filter.clone(), Value::Null).await;
        assert_eq!(seen["sharePermissions"].as_array().unwrap().iter().map(|s| s["role"].is_null()).collect::<Vec<_>>(), [true]);
        let (_, listed) = send("bob", Method::GET, permissions.clone(), Value::Null).await;
        assert_eq!(listed.as_array().unwrap().len(), 1);
        let role_share = shares[0]["id"].as_i64().unwrap();
        let (status, _) = send("bob", Method::GET, format!("{permissions}/{role_share}"), Value::Null).await;
        assert_eq!(status, StatusCode::NOT_FOUND);

        // Everyone: a user in no project sees it too.
        server.create_user("dora", &[]).await;
        assert_eq!(sees("dora").await, StatusCode::NOT_FOUND);
        let (status, _) = send("ann", Method::POST, permissions.clone(), json!({"type": "global"})).await;
        assert_eq!(status, StatusCode::CREATED);
        assert_eq!(sees("dora").await, StatusCode::OK);
        // An owner who can no longer browse the project sees its shares by id only.
        server.admin_json(Method::DELETE, "/rest/api/2/project/SH/role/10001?user=ann", Value::Null, StatusCode::NO_CONTENT).await;
        let (_, listed) = send("ann", Method::GET, permissions.clone(), Value::Null).await;
        let projects: Vec<&Value> = listed.as_array().unwrap().iter().filter_map(|s| s.get("project")).collect();
        assert_eq!(projects.len(), 2, "{listed}");
        for project in projects {
            assert_eq!((project["id"].as_str(), project.get("key")), (Some(sh.as_str()), None), "{listed}");
        }
        // Deleting the filter deletes its shares with it.
        let (status, _) = send("ann", Method::DELETE, filter.clone(), Value::Null).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert_eq!(sees("dora").await, StatusCode::NOT_FOUND);
    }

    async fn jql_finds_what_saved_filters_find(db) {
        let server = TestServer::start(db).await;
        server.create_project("FJ").await;
        server.create_project("FK").await;
        server.admin_json(Method::DELETE, "/rest/api/2/project/FK/role/10000?group=jira-users", Value::Null, StatusCode::NO_CONTENT).await;
        server.create_user("ann", &[]).await;
        server.create_user("bob", &[]).await;
        server.add_to_role("FK", 10000, "ann").await;
        let issue = |project: &'static str, summary: &'static str, labels: &'static [&'static str]| {
            let server = &server;
            async move {
                let body = json!({"fields": {"project": {"key": project}, "issuetype": {"name": "Task"}, "summary": summary, "labels": labels}});
                let made = server.admin_json(Method::POST, "/rest/api/2/issue", body, StatusCode::CREATED).await;
                made["key"].as_str().unwrap().to_string()
            }
        };
        let red = issue("FJ", "red one", &["red"]).await;
        let blue = issue("FJ", "blue one", &["blue"]).await;
        let plain = issue("FJ", "plain one", &["green"]).await;
        let hidden_red = issue("FK", "hidden red", &["red"]).await;
        let save = |who: &'static str, name: &'static str, jql: String| {
            let server = &server;
            async move {
                let response = server.user(Method::POST, "/rest/api/2/filter", who).json(&json!({"name": name, "jql": jql})).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                json_of(response).await["id"].as_str().unwrap().to_string()
            }
        };
        let search = |who: &'static str, jql: String| {
            let server = &server;
            async move {
                let response = server.user(Method::POST, "/rest/api/2/search", who).json(&json!({"jql": jql, "fields": ["summary"], "validateQuery": "warn"})).send().await.unwrap();
                let status = response.status();
                let body = json_of(response).await;
                let mut keys: Vec<String> = body["issues"].as_array().map(|issues| issues.iter().map(|i| i["key"].as_str().unwrap().to_string()).collect()).unwrap_or_default();
                keys.sort();
                (status, keys, body)
            }
        };
        let sorted = |keys: &[&String]| {
            let mut keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
            keys.sort();
            keys
        };
        let reds = save("ann", "Reds", "labels = red ORDER BY key".into()).await;
        let either = save("ann", "Either", "filter = \"reds\" OR labels = blue".into()).await;
        let everything = save("ann", "Everything", String::new()).await;

        // By id and by name, nested, negated, in lists; a filter's ORDER BY does not apply.
        let (status, keys, body) = search("ann", format!("filter = {reds}")).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        assert_eq!(keys, sorted(&[&red, &hidden_red]));
        assert_eq!(search("ann", "filter = Either".into()).await.1, sorted(&[&red, &blue, &hidden_red]));
        assert_eq!(search("ann", format!("project = FJ AND filter != {either}")).await.1, sorted(&[&plain]));
        assert_eq!(search("ann", format!("project = FJ AND NOT filter in ({reds}, {either})")).await.1, sorted(&[&plain]));
        assert_eq!(search("ann", "savedFilter = Everything AND project = FJ".into()).await.1, sorted(&[&red, &blue, &plain]));
        assert_eq!(search("ann", format!("filter != {everything}")).await.1, Vec::<String>::new());
        // A filter nobody has: refused, or with validateQuery=warn a warning and no match.
        let (status, keys, body) = search("ann", "filter = 99999 OR labels = blue".into()).await;
        assert_eq!((status, keys), (StatusCode::OK, sorted(&[&blue])));
        assert!(body["warningMessages"][0].as_str().unwrap().contains("'99999'"), "{body}");
        let strict = server.user(Method::GET, "/rest/api/2/search?jql=filter%3D99999", "ann").send().await.unwrap();
        assert_eq!(strict.status(), StatusCode::BAD_REQUEST);

        // Another user may not use ann's filters until she shares them, and then finds only
        // what they may browse (not FK's issue).
        let (status, keys, body) = search("bob", format!("filter = {reds}")).await;
        assert_eq!((status, keys), (StatusCode::OK, Vec::<String>::new()));
        assert!(body["warningMessages"][0].as_str().unwrap().contains("does not exist"), "{body}");
        for id in [&reds, &either] {
            let response = server.user(Method::POST, &format!("/rest/api/2/filter/{id}/permission"), "ann").json(&json!({"type": "global"})).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::CREATED);
        }
        assert_eq!(search("bob", "filter = Either".into()).await.1, sorted(&[&red, &blue]));

        // Cycles, however long, are refused; so is nesting too deep.
        let response = server.user(Method::PUT, &format!("/rest/api/2/filter/{reds}"), "ann").json(&json!({"jql": "filter = Either AND labels = red"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let (status, _, body) = search("ann", "labels = blue OR filter = Reds".into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["errorMessages"][0].as_str().unwrap().contains("cyclical reference"), "{body}");
        let own = save("ann", "Self", "filter = Self".into()).await;
        assert_eq!(search("ann", format!("filter = {own}")).await.0, StatusCode::BAD_REQUEST);
        let mut previous = save("ann", "Level 0", "labels = blue".into()).await;
        for level in ["Level 1", "Level 2", "Level 3", "Level 4", "Level 5"] {
            previous = save("ann", level, format!("filter = {previous}")).await;
        }
        let (status, keys, body) = search("ann", "filter = \"Level 4\"".into()).await;
        assert_eq!((status, keys), (StatusCode::OK, sorted(&[&blue])), "{body}");
        let (status, _, body) = search("ann", "filter = \"Level 5\"".into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert!(body["errorMessages"][0].as_str().unwrap().contains("too deeply"), "{body}");
        // ... and expanding filters more than 200 times in one query, however shallow.
        let base = save("ann", "Base", "labels = blue".into()).await;
        let wide = save("ann", "Wide", vec![format!("filter = {base}"); 201].join(" OR ")).await;
        let (status, _, body) = search("ann", format!("filter = {wide}")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        assert_eq!(body["errorMessages"].as_array().unwrap().len(), 1, "one reason: {body}");
        assert!(body["errorMessages"][0].as_str().unwrap().contains("too often"), "{body}");
        // A cycle met many times is one refusal too.
        let (status, _, body) = search("ann", vec!["filter = Reds"; 20].join(" OR ")).await;
        assert_eq!((status, body["errorMessages"].as_array().unwrap().len()), (StatusCode::BAD_REQUEST, 1), "{body}");
    }
}
