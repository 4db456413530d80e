//! Users and groups through a real server, on SQLite and on PostgreSQL: deleting users (what
//! goes with them, and whom Jira's rule keeps), user and group names kept in the case they were
//! created with while matched without regard to case, and avatars (Jira's system avatars,
//! chosen by their user or an administrator, drawn at Jira's addresses; images users upload,
//! known by their bytes and served sandboxed).

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

backend_tests! {
    async fn administrators_delete_users_whose_work_names_no_one(db) {
        let server = TestServer::start(db).await;
        server.create_project("DU").await;
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "Crew"}), StatusCode::CREATED).await;
        server.create_user("gone", &["Crew"]).await;
        server.create_user("worker", &[]).await;
        server.add_to_role("DU", 10001, "gone").await;
        let token = server.create_token("gone", json!({"name": "t", "expirationDuration": 30})).await;
        let session = server.login("gone", PASSWORD).await;
        let issue = server.create_issue("DU", "watched").await;
        let response = server.user(Method::POST, &format!("/rest/api/2/issue/{issue}/watchers"), "gone").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let body = json!({"fields": {"project": {"key": "DU"}, "issuetype": {"name": "Task"}, "summary": "by the worker"}});
        let response = server.user(Method::POST, "/rest/api/2/issue", "worker").json(&body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);

        // Only administrators; not oneself; not someone whose work names them.
        let response = server.user(Method::DELETE, "/rest/api/2/user?username=gone", "worker").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let refused = expect_error(server.admin(Method::DELETE, "/rest/api/2/user?username=admin").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert!(refused["errorMessages"][0].as_str().unwrap().contains("currently logged in"), "{refused}");
        let refused = expect_error(server.admin(Method::DELETE, "/rest/api/2/user?username=worker").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert!(refused["errorMessages"][0].as_str().unwrap().contains("1 issues"), "{refused}");
        assert_eq!(server.admin(Method::GET, "/rest/api/2/user?username=worker").send().await.unwrap().status(), StatusCode::OK);
        expect_error(server.admin(Method::DELETE, "/rest/api/2/user?username=nobody").send().await.unwrap(), StatusCode::NOT_FOUND).await;

        let response = server.admin(Method::DELETE, "/rest/api/2/user?username=gone").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        // Gone with every way in: password, token, session; and from groups, roles, watches.
        assert_eq!(server.admin(Method::GET, "/rest/api/2/user?username=gone").send().await.unwrap().status(), StatusCode::NOT_FOUND);
        assert_eq!(server.user(Method::GET, "/rest/api/2/myself", "gone").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(server.bearer(Method::GET, "/rest/api/2/myself", &token).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(server.with_session(Method::GET, "/rest/api/2/myself", &session).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        let members = server.admin_json(Method::GET, "/rest/api/2/group/member?groupname=Crew", Value::Null, StatusCode::OK).await;
        assert_eq!(members["total"], 0, "{members}");
        let watchers = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{issue}/watchers"), Value::Null, StatusCode::OK).await;
        assert!(!watchers.to_string().contains("\"gone\""), "{watchers}");
        // The name is free again.
        server.create_user("gone", &[]).await;
    }

    async fn group_names_keep_their_case_and_match_without_it(db) {
        let server = TestServer::start(db).await;
        let made = server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "QA-Team"}), StatusCode::CREATED).await;
        assert_eq!(made["name"], "QA-Team");
        let taken = server.admin(Method::POST, "/rest/api/2/group").json(&json!({"name": "qa-team"})).send().await.unwrap();
        assert_eq!(taken.status(), StatusCode::CONFLICT);
        let found = server.admin_json(Method::GET, "/rest/api/2/group?groupname=qa-TEAM", Value::Null, StatusCode::OK).await;
        assert_eq!(found["name"], "QA-Team");
        // The Python client checks the answer names the group as it asked.
        server.create_user("zed", &[]).await;
        let joined = server.admin_json(Method::POST, "/rest/api/2/group/user?groupname=QA-Team", json!({"name": "zed"}), StatusCode::CREATED).await;
        assert_eq!(joined["name"], "QA-Team");
        let names = |value: &Value| -> Vec<String> {
            let mut names: Vec<String> = value["groups"]["items"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()).collect();
            names.sort();
            names
        };
        let shown = server.admin_json(Method::GET, "/rest/api/2/user?username=zed&expand=groups", Value::Null, StatusCode::OK).await;
        assert_eq!(names(&shown), ["QA-Team", "jira-users"]);
        let me = json_of(server.user(Method::GET, "/rest/api/2/myself", "zed").send().await.unwrap()).await;
        assert_eq!(names(&me), ["QA-Team", "jira-users"]);
        let picked = server.admin_json(Method::GET, "/rest/api/2/groups/picker?query=qa", Value::Null, StatusCode::OK).await;
        assert_eq!(picked["groups"][0]["name"], "QA-Team");
        let excluded = server.admin_json(Method::GET, "/rest/api/2/groups/picker?query=qa&exclude=qa-TEAM", Value::Null, StatusCode::OK).await;
        assert_eq!(excluded["groups"], json!([]));
        // A role given the group in another case shows it as created; membership follows.
        server.create_project("GC").await;
        server.admin_json(Method::DELETE, "/rest/api/2/project/GC/role/10000?group=jira-users", Value::Null, StatusCode::NO_CONTENT).await;
        server.admin_json(Method::POST, "/rest/api/2/project/GC/role/10000", json!({"group": ["qa-team"]}), StatusCode::OK).await;
        let role = server.admin_json(Method::GET, "/rest/api/2/project/GC/role/10000", Value::Null, StatusCode::OK).await;
        let actors: Vec<&str> = role["actors"].as_array().unwrap().iter().map(|a| a["name"].as_str().unwrap()).collect();
        assert_eq!(actors, ["QA-Team"]);
        let project = server.user(Method::GET, "/rest/api/2/project/GC", "zed").send().await.unwrap();
        assert_eq!(project.status(), StatusCode::OK);
        let members = server.admin_json(Method::GET, "/rest/api/2/group/member?groupname=QA-TEAM", Value::Null, StatusCode::OK).await;
        assert_eq!(members["total"], 1);
        // Removed and deleted in any case.
        let removed = server.admin(Method::DELETE, "/rest/api/2/group/user?groupname=qa-team&username=zed").send().await.unwrap();
        assert_eq!(removed.status(), StatusCode::OK);
        let deleted = server.admin(Method::DELETE, "/rest/api/2/group?groupname=QA-TEAM").send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::OK);
        let gone = server.admin(Method::GET, "/rest/api/2/group?groupname=QA-Team").send().await.unwrap();
        assert_eq!(gone.status(), StatusCode::NOT_FOUND);
    }

    async fn user_names_keep_their_case_and_match_without_it(db) {
        let server = TestServer::start(db).await;
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "Crew"}), StatusCode::CREATED).await;
        server.create_user("Zoe.Smith", &["Crew"]).await;
        let taken = server.admin(Method::POST, "/rest/api/2/user").json(&json!({"name": "zoe.SMITH", "password": PASSWORD, "emailAddress": "z@example.com"})).send().await.unwrap();
        let refused = expect_error(taken, StatusCode::CONFLICT).await;
        assert!(refused.to_string().contains("already exists"), "{refused}");
        // Logged in, found and listed in any case; always shown as created.
        for login in ["Zoe.Smith", "zoe.smith", "ZOE.SMITH"] {
            let me = json_of(server.user(Method::GET, "/rest/api/2/myself", login).send().await.unwrap()).await;
            assert_eq!(me["name"], "Zoe.Smith", "{login}");
        }
        let found = server.admin_json(Method::GET, "/rest/api/2/user?username=zoe.smith", Value::Null, StatusCode::OK).await;
        assert_eq!(found["name"], "Zoe.Smith");
        let key = found["key"].as_str().unwrap().to_string();
        let members = server.admin_json(Method::GET, "/rest/api/2/group/member?groupname=crew", Value::Null, StatusCode::OK).await;
        assert_eq!(members["values"][0]["name"], "Zoe.Smith", "{members}");
        let searched = server.admin_json(Method::GET, "/rest/api/2/user/search?username=zoe", Value::Null, StatusCode::OK).await;
        assert_eq!(searched[0]["name"], "Zoe.Smith", "{searched}");
        let session = server.request(Method::POST, "/rest/auth/1/session").json(&json!({"username": "zoe.SMITH", "password": PASSWORD})).send().await.unwrap();
        assert_eq!(session.status(), StatusCode::OK);
        let cookie = session.headers().get("set-cookie").unwrap().to_str().unwrap().split(';').next().unwrap().to_string();
        let current = server.request(Method::GET, "/rest/auth/1/session").header("cookie", cookie).send().await.unwrap();
        assert_eq!(json_of(current).await["name"], "Zoe.Smith");
        // Named in another case where a request names a user: the same person.
        server.create_project("ZS").await;
        server.add_to_role("ZS", 10001, "ZOE.smith").await;
        let issue = server.create_issue("ZS", "hers").await;
        let response = server.admin(Method::PUT, &format!("/rest/api/2/issue/{issue}/assignee")).json(&json!({"name": "zoe.SMITH"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let assigned = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{issue}"), Value::Null, StatusCode::OK).await;
        assert_eq!((assigned["fields"]["assignee"]["name"].as_str(), assigned["fields"]["assignee"]["key"].as_str()), (Some("Zoe.Smith"), Some(key.as_str())));
        let role = server.admin_json(Method::GET, "/rest/api/2/project/ZS/role/10001", Value::Null, StatusCode::OK).await;
        assert!(role["actors"].as_array().unwrap().iter().any(|a| a["name"] == "Zoe.Smith"), "{role}");
        let mine = server.user(Method::GET, "/rest/api/2/search?jql=assignee%3DZOE.SMITH", "zoe.smith").send().await.unwrap();
        assert_eq!(json_of(mine).await["total"], 1);
    }

    async fn users_choose_system_avatars_that_clients_can_draw(db) {
        let server = TestServer::start(db).await;
        server.create_user("zed", &[]).await;
        server.create_user("yan", &[]).await;
        let listed = |who: &'static str| {
            let server = &server;
            async move {
                let response = server.user(Method::GET, "/rest/api/2/user/avatars?username=zed", who).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK);
                let body = json_of(response).await;
                let system = body["system"].as_array().unwrap().clone();
                let selected: Vec<String> = system.iter().filter(|a| a["isSelected"] == true).map(|a| a["id"].as_str().unwrap().to_string()).collect();
                (system, selected)
            }
        };
        let (system, selected) = listed("yan").await;
        assert!(system.len() >= 20, "{}", system.len());
        assert_eq!(selected, ["10122"]);
        let first = system[0]["id"].as_str().unwrap().to_string();

        // The user chooses; another user may not, an administrator may; unknown ids and a READ
        // token are refused.
        let choose = |who: &'static str, id: Value| {
            let server = &server;
            async move { server.user(Method::PUT, "/rest/api/2/user/avatar?username=zed", who).json(&json!({"id": id})).send().await.unwrap().status() }
        };
        assert_eq!(choose("zed", json!(first)).await, StatusCode::NO_CONTENT);
        assert_eq!(listed("zed").await.1, std::slice::from_ref(&first));
        assert_eq!(choose("yan", json!("10105")).await, StatusCode::FORBIDDEN);
        assert_eq!(choose("zed", json!("99")).await, StatusCode::BAD_REQUEST);
        assert_eq!(choose("zed", json!("10124")).await, StatusCode::BAD_REQUEST);
        let read = server.create_token("zed", json!({"name": "read", "expirationDuration": 30, "scopes": ["READ"]})).await;
        let refused = server.bearer(Method::PUT, "/rest/api/2/user/avatar?username=zed", &read).json(&json!({"id": "10105"})).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(listed("zed").await.1, std::slice::from_ref(&first));
        let by_admin = server.admin(Method::PUT, "/rest/api/2/user/avatar?username=zed").json(&json!({"id": 10105})).send().await.unwrap();
        assert_eq!(by_admin.status(), StatusCode::NO_CONTENT);
        assert_eq!(listed("yan").await.1, ["10105"]);

        // The addresses users are shown with draw the avatar they chose, as a sandboxed image.
        let client = crate::common::http_client().build().unwrap();
        let image = |url: String| {
            let client = &client;
            async move {
                let response = client.get(&url).basic_auth("yan", Some(PASSWORD)).send().await.unwrap();
                assert_eq!(response.status(), StatusCode::OK, "{url}");
                assert_eq!(response.headers()["content-type"], "image/svg+xml");
                assert_eq!(response.headers()["x-content-type-options"], "nosniff");
                assert!(response.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
                response.text().await.unwrap()
            }
        };
        let zed = server.admin_json(Method::GET, "/rest/api/2/user?username=zed", Value::Null, StatusCode::OK).await;
        let shown = image(zed["avatarUrls"]["48x48"].as_str().unwrap().to_string()).await;
        assert!(zed["avatarUrls"]["48x48"].as_str().unwrap().contains("ownerId=zed"));
        let chosen = image(server.url("/secure/useravatar?size=48&avatarId=10105")).await;
        let default = image(server.url("/secure/useravatar?size=48&avatarId=10122")).await;
        assert_eq!(shown, chosen);
        assert_ne!(shown, default);
        let yan = server.admin_json(Method::GET, "/rest/api/2/user?username=yan", Value::Null, StatusCode::OK).await;
        assert_eq!(image(yan["avatarUrls"]["16x16"].as_str().unwrap().to_string()).await, default);
        server.create_project("AV").await;
        let project = server.admin_json(Method::GET, "/rest/api/2/project/AV", Value::Null, StatusCode::OK).await;
        assert!(image(project["avatarUrls"]["48x48"].as_str().unwrap().to_string()).await.starts_with("<svg"));
        let anonymous = server.anonymous(Method::GET, "/secure/useravatar?avatarId=10122").send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    }

    async fn users_upload_avatars_that_are_served_as_the_images_they_are(db) {
        let server = TestServer::start(db).await;
        server.create_user("zed", &[]).await;
        server.create_user("yan", &[]).await;
        let png: Vec<u8> = [&b"\x89PNG\r\n\x1a\n"[..], &[7u8; 64][..]].concat();
        let upload = |who: &'static str, bytes: Vec<u8>, token: bool| {
            let server = &server;
            async move {
                let mut request = server
                    .user(Method::POST, "/rest/api/2/user/avatar/temporary?username=zed&filename=me.png&size=72", who)
                    .header("content-type", "image/png")
                    .body(bytes);
                if token {
                    request = request.header("X-Atlassian-Token", "no-check");
                }
                let response = request.send().await.unwrap();
                (response.status(), json_of(response).await)
            }
        };
        // Refused: without Jira's XSRF header, anything but PNG, JPEG or GIF (an SVG could
        // carry script), over 1 MiB, for another user.
        assert_eq!(upload("zed", png.clone(), false).await.0, StatusCode::FORBIDDEN);
        assert_eq!(upload("zed", b"<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>".to_vec(), true).await.0, StatusCode::BAD_REQUEST);
        assert_eq!(upload("zed", [&png[..], &vec![0u8; 1024 * 1024][..]].concat(), true).await.0, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(upload("yan", png.clone(), true).await.0, StatusCode::FORBIDDEN);
        let confirm = |who: &'static str| {
            let server = &server;
            async move { server.user_json(who, Method::POST, "/rest/api/2/user/avatar?username=zed", json!({"cropperWidth": 48, "needsCropping": false})).await }
        };
        assert_eq!(confirm("zed").await.0, StatusCode::BAD_REQUEST, "nothing uploaded yet");
        let (status, proposal) = upload("zed", png.clone(), true).await;
        assert_eq!((status, proposal["needsCropping"].as_bool()), (StatusCode::CREATED, Some(true)));
        assert!(proposal["cropperWidth"].is_number() && proposal["cropperOffsetX"].is_number());
        assert_eq!(confirm("yan").await.0, StatusCode::FORBIDDEN);
        let (status, made) = confirm("zed").await;
        assert_eq!((status, made["owner"].as_str(), made["isSystemAvatar"].as_bool()), (StatusCode::CREATED, Some("zed"), Some(false)));
        let id = made["id"].as_str().unwrap().to_string();
        assert!(id.parse::<i64>().unwrap() >= 20000);

        // Listed as custom, chosen, and drawn as the PNG it is, sandboxed.
        let listed = server.admin_json(Method::GET, "/rest/api/2/user/avatars?username=zed", Value::Null, StatusCode::OK).await;
        assert_eq!(listed["custom"].as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect::<Vec<_>>(), [id.as_str()]);
        let (status, _) = server.user_json("zed", Method::PUT, "/rest/api/2/user/avatar?username=zed", json!({"id": id})).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = server.user_json("yan", Method::PUT, "/rest/api/2/user/avatar?username=yan", json!({"id": id})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "another user's upload is not yan's to show");
        let shown = server.user(Method::GET, "/secure/useravatar?size=48&ownerId=zed&avatarId=10122", "yan").send().await.unwrap();
        assert_eq!(shown.status(), StatusCode::OK);
        assert_eq!(shown.headers()["content-type"], "image/png");
        assert_eq!(shown.headers()["x-content-type-options"], "nosniff");
        assert!(shown.headers()["content-security-policy"].to_str().unwrap().contains("sandbox"));
        assert_eq!(shown.bytes().await.unwrap().to_vec(), png);

        // Deleted by its user (not by another); the user shows the default again.
        let path = format!("/rest/api/2/user/avatar/{id}?username=zed");
        assert_eq!(server.user(Method::DELETE, &path, "yan").send().await.unwrap().status(), StatusCode::FORBIDDEN);
        assert_eq!(server.user(Method::DELETE, &path, "zed").send().await.unwrap().status(), StatusCode::NO_CONTENT);
        assert_eq!(server.user(Method::DELETE, &path, "zed").send().await.unwrap().status(), StatusCode::BAD_REQUEST);
        let listed = server.admin_json(Method::GET, "/rest/api/2/user/avatars?username=zed", Value::Null, StatusCode::OK).await;
        assert_eq!(listed["custom"], json!([]));
        let shown = server.user(Method::GET, "/secure/useravatar?size=48&ownerId=zed", "yan").send().await.unwrap();
        assert_eq!(shown.headers()["content-type"], "image/svg+xml");
    }
}
