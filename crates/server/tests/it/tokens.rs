//! Personal access tokens and service-account keys over HTTP, on both stores: Jira's token API,
//! Bearer and Basic use, scopes and project restrictions, refusals with their reasons, rotation,
//! revocation (also across two instances), service accounts, the administrators' inventory and
//! the public leaked-token report. Every rule is tried with a credential that should break it.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::store::AuditStore;
use tessera_testkit::backend_tests;

const MYSELF: &str = "/rest/api/2/myself";
const TOKENS: &str = "/rest/pat/latest/tokens";

/// Asserts a refused token: 401, the RFC 6750 challenge, and the reason code.
async fn expect_token_refused(response: reqwest::Response, reason: &str) {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<String> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(
        challenges
            .iter()
            .any(|c| c.starts_with("Bearer") && c.contains("error=\"invalid_token\"")),
        "{challenges:?}"
    );
    assert_eq!(response.headers()["x-authentication-denied-reason"], reason);
    let body = json_of(response).await;
    assert_eq!(body["errors"]["reason"], reason, "{body}");
}

async fn seed(server: &TestServer) {
    server.create_project("ALPHA").await;
    server.create_project("BETA").await;
    server.create_user("dev", &[]).await;
    server.add_to_role("ALPHA", 10001, "dev").await;
    server.add_to_role("BETA", 10001, "dev").await;
}

backend_tests! {
    async fn the_jira_token_api_issues_lists_and_revokes(db) {
        let server = TestServer::start(db).await;
        seed(&server).await;
        let response = server.user(Method::POST, TOKENS, "dev").json(&json!({"name": "ci", "expirationDuration": 30})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let created = json_of(response).await;
        let raw = created["rawToken"].as_str().unwrap().to_string();
        assert!(raw.starts_with("tspat_") && raw.len() == 55, "{raw}");
        assert!(created["id"].is_i64());
        assert_eq!(created["name"], "ci");
        assert!(created["createdAt"].as_str().unwrap().ends_with("+0000"));
        assert!(created["expiringAt"].is_string());
        // Used as Bearer and as Basic, it is the user with all the user can do.
        let me = json_of(server.bearer(Method::GET, MYSELF, &raw).send().await.unwrap()).await;
        assert_eq!(me["name"], "dev");
        let me = json_of(server.basic(Method::GET, MYSELF, "dev", &raw).send().await.unwrap()).await;
        assert_eq!(me["name"], "dev");
        let issue = server.bearer(Method::POST, "/rest/api/2/issue", &raw)
            .json(&json!({"fields": {"project": {"key": "ALPHA"}, "issuetype": {"name": "Task"}, "summary": "by token"}}))
            .send().await.unwrap();
        assert_eq!(issue.status(), StatusCode::CREATED);
        // Basic with the token under another name is not that token.
        expect_token_refused(server.basic(Method::GET, MYSELF, "admin", &raw).send().await.unwrap(), "token_unknown").await;
        // The list never shows a secret; `current` describes the presenting token.
        let listed = server.user(Method::GET, TOKENS, "dev").send().await.unwrap().text().await.unwrap();
        assert!(!listed.contains(&raw) && !listed.contains("rawToken"), "{listed}");
        let listed: Value = serde_json::from_str(&listed).unwrap();
        assert_eq!(listed.as_array().unwrap().len(), 1);
        let current = json_of(server.bearer(Method::GET, &format!("{TOKENS}/current"), &raw).send().await.unwrap()).await;
        assert_eq!(current["id"], created["id"]);
        assert_eq!(current["scopes"].as_array().unwrap().len(), 5);
        let not_token = server.user(Method::GET, &format!("{TOKENS}/current"), "dev").send().await.unwrap();
        expect_error(not_token, StatusCode::NOT_FOUND).await;
        // Another user cannot see or revoke it.
        server.create_user("eve", &[]).await;
        let id = created["id"].as_i64().unwrap();
        expect_error(server.user(Method::DELETE, &format!("{TOKENS}/{id}"), "eve").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        expect_error(server.admin(Method::GET, &format!("{TOKENS}/{id}")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
        // Revoked: refused at once, with its reason.
        assert_eq!(server.user(Method::DELETE, &format!("{TOKENS}/{id}"), "dev").send().await.unwrap().status(), StatusCode::NO_CONTENT);
        expect_token_refused(server.bearer(Method::GET, MYSELF, &raw).send().await.unwrap(), "token_revoked").await;
        let listed = json_of(server.user(Method::GET, TOKENS, "dev").send().await.unwrap()).await;
        assert_eq!(listed.as_array().unwrap().len(), 0);
    }

    async fn malformed_and_unknown_tokens_are_told_apart(db) {
        let server = TestServer::start(db).await;
        seed(&server).await;
        let raw = server.create_token("dev", json!({"name": "t", "expirationDuration": 1})).await;
        // One character changed: refused by its checksum.
        let mut typo = raw.clone().into_bytes();
        let last = typo.len() - 10;
        typo[last] = if typo[last] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(typo).unwrap();
        expect_token_refused(server.bearer(Method::GET, MYSELF, &typo).send().await.unwrap(), "token_malformed").await;
        expect_token_refused(server.bearer(Method::GET, MYSELF, "not-a-token").send().await.unwrap(), "token_malformed").await;
        // Well-formed but never issued (a token from another server, say).
        let other = TestServer::start(tessera_testkit::TestDatabase::sqlite()).await;
        other.create_user("dev", &[]).await;
        let foreign = other.create_token("dev", json!({"name": "t", "expirationDuration": 1})).await;
        expect_token_refused(server.bearer(Method::GET, MYSELF, &foreign).send().await.unwrap(), "token_unknown").await;
        // A password that is not shaped like a token is still a password.
        assert_eq!(server.user(Method::GET, MYSELF, "dev").send().await.unwrap().status(), StatusCode::OK);
    }

    async fn scopes_and_projects_narrow_what_a_token_reaches(db) {
        let server = TestServer::start(db).await;
        seed(&server).await;
        let alpha_issue = server.create_issue("ALPHA", "in alpha").await;
        let beta_issue = server.create_issue("BETA", "in beta").await;
        let read = server.create_token("dev", json!({"name": "r", "expirationDuration": 5, "scopes": ["READ"]})).await;
        assert_eq!(server.bearer(Method::GET, &format!("/rest/api/2/issue/{alpha_issue}"), &read).send().await.unwrap().status(), StatusCode::OK);
        let create = server.bearer(Method::POST, "/rest/api/2/issue", &read)
            .json(&json!({"fields": {"project": {"key": "ALPHA"}, "issuetype": {"name": "Task"}, "summary": "no"}}))
            .send().await.unwrap();
        assert_eq!(create.status(), StatusCode::FORBIDDEN);
        assert_eq!(create.headers()["x-authentication-denied-reason"], "scope_missing");
        let body = json_of(create).await;
        assert!(body["errorMessages"][0].as_str().unwrap().contains("write:jira-work"), "{body}");
        let alpha_only = server.create_token("dev", json!({"name": "a", "expirationDuration": 5, "projects": ["alpha"]})).await;
        assert_eq!(server.bearer(Method::GET, &format!("/rest/api/2/issue/{alpha_issue}"), &alpha_only).send().await.unwrap().status(), StatusCode::OK);
        expect_error(server.bearer(Method::GET, &format!("/rest/api/2/issue/{beta_issue}"), &alpha_only).send().await.unwrap(), StatusCode::NOT_FOUND).await;
        expect_error(server.bearer(Method::GET, "/rest/api/2/project/BETA", &alpha_only).send().await.unwrap(), StatusCode::NOT_FOUND).await;
        let projects = json_of(server.bearer(Method::GET, "/rest/api/2/project", &alpha_only).send().await.unwrap()).await;
        let keys: Vec<&str> = projects.as_array().unwrap().iter().map(|p| p["key"].as_str().unwrap()).collect();
        assert_eq!(keys, ["ALPHA"]);
        // A token without the read scope cannot even learn that an issue exists.
        let users_only = server.create_token("dev", json!({"name": "u", "expirationDuration": 5, "scopes": ["read:jira-user"]})).await;
        expect_error(server.bearer(Method::GET, &format!("/rest/api/2/issue/{alpha_issue}"), &users_only).send().await.unwrap(), StatusCode::NOT_FOUND).await;
        // Bad requests: unknown scope, project the user cannot see, bad network, too long.
        server.create_user("eve", &[]).await;
        for (body, field) in [
            (json!({"name": "x", "expirationDuration": 5, "scopes": ["read"]}), "scopes"),
            (json!({"name": "x", "expirationDuration": 5, "projects": ["NOPE"]}), "projects"),
            (json!({"name": "x", "expirationDuration": 5, "allowedIps": ["10.0.0.1/33"]}), "allowedIps"),
            (json!({"name": "x", "expirationDuration": 5000}), "expirationDuration"),
            (json!({"name": "x", "expirationDuration": 0}), "expirationDuration"),
            (json!({"name": "", "expirationDuration": 5}), "name"),
            (json!({"name": "x", "expirationDuration": 5, "projects": []}), "projects"),
        ] {
            let response = server.user(Method::POST, TOKENS, "dev").json(&body).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST, "{body}");
            let error = json_of(response).await;
            assert!(error["errors"][field].is_string(), "{body} → {error}");
        }
        // BETA is closed to everyone but its roles' members: to eve it is as unknown as NOPE.
        let closed = server.admin(Method::DELETE, "/rest/api/2/project/BETA/role/10000?group=jira-users").send().await.unwrap();
        assert_eq!(closed.status(), StatusCode::NO_CONTENT);
        let invisible = expect_error(server.user(Method::POST, TOKENS, "eve").json(&json!({"name": "x", "expirationDuration": 5, "projects": ["BETA"]})).send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        assert_eq!(invisible["errors"]["projects"], "No project could be found with key 'BETA'.");
    }

    async fn tokens_cannot_mint_tokens_or_touch_their_siblings(db) {
        let server = TestServer::start(db).await;
        seed(&server).await;
        let first = server.create_token("dev", json!({"name": "one", "expirationDuration": 5, "scopes": ["READ"]})).await;
        let second = server.create_token("dev", json!({"name": "two", "expirationDuration": 5})).await;
        let made = server.bearer(Method::POST, TOKENS, &first).json(&json!({"name": "child", "expirationDuration": 5})).send().await.unwrap();
        assert_eq!(made.status(), StatusCode::FORBIDDEN);
        assert_eq!(made.headers()["x-authentication-denied-reason"], "token_not_allowed");
        // Nor change the user's password, even knowing it.
        let password = server.bearer(Method::PUT, "/rest/api/2/myself/password", &first)
            .json(&json!({"password": "a-new-password-1", "currentPassword": PASSWORD}))
            .send().await.unwrap();
        assert_eq!(password.status(), StatusCode::FORBIDDEN);
        assert_eq!(server.user(Method::GET, MYSELF, "dev").send().await.unwrap().status(), StatusCode::OK);
        let second_id = json_of(server.bearer(Method::GET, &format!("{TOKENS}/current"), &second).send().await.unwrap()).await["id"].clone();
        // A READ token cannot rotate the WRITE token to learn its secret, nor revoke or read it;
        // its list shows only itself.
        for (method, path) in [
            (Method::POST, format!("{TOKENS}/{second_id}/rotate")),
            (Method::DELETE, format!("{TOKENS}/{second_id}")),
            (Method::GET, format!("{TOKENS}/{second_id}")),
        ] {
            let refused = server.bearer(method, &path, &first).json(&json!({})).send().await.unwrap();
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
        }
        let seen = json_of(server.bearer(Method::GET, TOKENS, &first).send().await.unwrap()).await;
        assert_eq!(seen.as_array().unwrap().len(), 1, "{seen}");
        assert_eq!(json_of(server.user(Method::GET, TOKENS, "dev").send().await.unwrap()).await.as_array().unwrap().len(), 2);
        assert_eq!(server.bearer(Method::GET, MYSELF, &second).send().await.unwrap().status(), StatusCode::OK);
        // Nor can a token rotate itself (whoever stole it would lock its owner out, and the
        // reported secret would be worthless): rotation needs the password or a session.
        let own = server.bearer(Method::POST, &format!("{TOKENS}/{second_id}/rotate"), &second).json(&json!({})).send().await.unwrap();
        assert_eq!(own.status(), StatusCode::FORBIDDEN);
        let rotated = server.user(Method::POST, &format!("{TOKENS}/{second_id}/rotate"), "dev").json(&json!({})).send().await.unwrap();
        assert_eq!(rotated.status(), StatusCode::OK);
        let fresh = json_of(rotated).await["rawToken"].as_str().unwrap().to_string();
        expect_token_refused(server.bearer(Method::GET, MYSELF, &second).send().await.unwrap(), "token_unknown").await;
        assert_eq!(server.bearer(Method::GET, MYSELF, &fresh).send().await.unwrap().status(), StatusCode::OK);
        // With an overlap, both work for its length.
        let overlapped = server.user(Method::POST, &format!("{TOKENS}/{second_id}/rotate?overlapSeconds=600"), "dev").json(&json!({})).send().await.unwrap();
        let newest = json_of(overlapped).await["rawToken"].as_str().unwrap().to_string();
        assert_eq!(server.bearer(Method::GET, MYSELF, &fresh).send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(server.bearer(Method::GET, MYSELF, &newest).send().await.unwrap().status(), StatusCode::OK);
        let too_long = server.user(Method::POST, &format!("{TOKENS}/{second_id}/rotate?overlapSeconds=99999999"), "dev").json(&json!({})).send().await.unwrap();
        expect_error(too_long, StatusCode::BAD_REQUEST).await;
        // A token may revoke itself; both its secrets stop.
        assert_eq!(server.bearer(Method::DELETE, &format!("{TOKENS}/{second_id}"), &newest).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        expect_token_refused(server.bearer(Method::GET, MYSELF, &newest).send().await.unwrap(), "token_revoked").await;
        expect_token_refused(server.bearer(Method::GET, MYSELF, &fresh).send().await.unwrap(), "token_revoked").await;
    }

    async fn an_administrators_token_cannot_set_passwords(db) {
        let server = TestServer::start(db).await;
        seed(&server).await;
        let admin = server.create_token("admin", json!({"name": "root", "expirationDuration": 1, "scopes": ["SYSTEM_ADMIN"]})).await;
        // It administers (e.g. lists users' tokens) ...
        assert_eq!(server.bearer(Method::GET, "/rest/tessera/1/tokens", &admin).send().await.unwrap().status(), StatusCode::OK);
        // ... but resets no password, its owner's or anyone's, and creates no password account.
        for target in ["admin", "dev"] {
            let reset = server.bearer(Method::PUT, &format!("/rest/api/2/user/password?username={target}"), &admin)
                .json(&json!({"password": "taken-over-pass-1"})).send().await.unwrap();
            assert_eq!(reset.status(), StatusCode::FORBIDDEN, "{target}");
            assert_eq!(reset.headers()["x-authentication-denied-reason"], "token_not_allowed");
        }
        let with_password = server.bearer(Method::POST, "/rest/api/2/user", &admin)
            .json(&json!({"name": "backdoor", "password": "backdoor-pass-1"})).send().await.unwrap();
        assert_eq!(with_password.status(), StatusCode::FORBIDDEN);
        let without = server.bearer(Method::POST, "/rest/api/2/user", &admin)
            .json(&json!({"name": "provisioned"})).send().await.unwrap();
        assert_eq!(without.status(), StatusCode::CREATED, "provisioning without a password is fine");
        assert_eq!(server.basic(Method::GET, MYSELF, "admin", "taken-over-pass-1").send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
        assert_eq!(server.admin(Method::GET, MYSELF).send().await.unwrap().status(), StatusCode::OK);
    }

    async fn allowlists_and_deactivation_stop_a_valid_token(db) {
        let server = TestServer::start(db).await;
        seed(&server).await;
        let elsewhere = server.create_token("dev", json!({"name": "far", "expirationDuration": 5, "allowedIps": ["192.0.2.0/24", "2001:db8::/32"]})).await;
        let refused = server.bearer(Method::GET, MYSELF, &elsewhere).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "ip_not_allowed");
        let here = server.create_token("dev", json!({"name": "near", "expirationDuration": 5, "allowedIps": ["127.0.0.1"]})).await;
        assert_eq!(server.bearer(Method::GET, MYSELF, &here).send().await.unwrap().status(), StatusCode::OK);
        let off = server.admin(Method::PUT, "/rest/api/2/user?username=dev").json(&json!({"active": false})).send().await.unwrap();
        assert_eq!(off.status(), StatusCode::OK);
        expect_token_refused(server.bearer(Method::GET, MYSELF, &here).send().await.unwrap(), "token_owner_inactive").await;
    }

    async fn service_accounts_hold_keys_that_outlive_their_makers(db) {
        let server = TestServer::start(db).await;
        seed(&server).await;
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "bots"}), StatusCode::CREATED).await;
        server.create_user("owner", &["bots"]).await;
        let account = server.admin_json(Method::POST, "/rest/tessera/1/serviceaccounts", json!({"name": "deploy-bot", "ownerGroup": "bots"}), StatusCode::CREATED).await;
        assert_eq!(account["ownerGroup"], "bots");
        server.add_to_role("ALPHA", 10001, "deploy-bot").await;
        // A member of the owning group issues a key; a non-member cannot see the account.
        let response = server.user(Method::POST, "/rest/tessera/1/serviceaccounts/deploy-bot/keys", "owner").json(&json!({"name": "ci", "expirationDuration": 30, "scopes": ["WRITE"]})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let key = json_of(response).await["rawToken"].as_str().unwrap().to_string();
        assert!(key.starts_with("tskey_"), "{key}");
        expect_error(server.user(Method::GET, "/rest/tessera/1/serviceaccounts/deploy-bot/keys", "dev").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        expect_error(server.user(Method::GET, "/rest/tessera/1/serviceaccounts/dev/keys", "owner").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        // The key works as Bearer and as Basic; the account has no password and cannot get one.
        let me = json_of(server.bearer(Method::GET, MYSELF, &key).send().await.unwrap()).await;
        assert_eq!(me["name"], "deploy-bot");
        assert_eq!(server.basic(Method::GET, MYSELF, "deploy-bot", &key).send().await.unwrap().status(), StatusCode::OK);
        let created = server.bearer(Method::POST, "/rest/api/2/issue", &key)
            .json(&json!({"fields": {"project": {"key": "ALPHA"}, "issuetype": {"name": "Task"}, "summary": "deployed"}}))
            .send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let password = server.admin(Method::PUT, "/rest/api/2/user/password?username=deploy-bot").json(&json!({"password": "some-password-1"})).send().await.unwrap();
        expect_error(password, StatusCode::BAD_REQUEST).await;
        let login = server.anonymous(Method::POST, "/rest/auth/1/session").json(&json!({"username": "deploy-bot", "password": ""})).send().await.unwrap();
        assert_eq!(login.status(), StatusCode::UNAUTHORIZED);
        // The key cannot make keys; the person who made it leaves, and the key keeps working.
        let more = server.bearer(Method::POST, TOKENS, &key).json(&json!({"name": "x", "expirationDuration": 1})).send().await.unwrap();
        assert_eq!(more.status(), StatusCode::FORBIDDEN);
        // Nor can an owning group's member manage the account's keys with a token of their own.
        let own = server.create_token("owner", json!({"name": "mine", "expirationDuration": 1})).await;
        for (method, path) in [
            (Method::GET, "/rest/tessera/1/serviceaccounts/deploy-bot/keys"),
            (Method::POST, "/rest/tessera/1/serviceaccounts/deploy-bot/keys"),
        ] {
            let refused = server.bearer(method, path, &own).json(&json!({"name": "x", "expirationDuration": 1})).send().await.unwrap();
            assert_eq!(refused.status(), StatusCode::FORBIDDEN, "{path}");
            assert_eq!(refused.headers()["x-authentication-denied-reason"], "token_not_allowed");
        }
        let off = server.admin(Method::PUT, "/rest/api/2/user?username=owner").json(&json!({"active": false})).send().await.unwrap();
        assert_eq!(off.status(), StatusCode::OK);
        assert_eq!(server.bearer(Method::GET, MYSELF, &key).send().await.unwrap().status(), StatusCode::OK);
        // The owner, not an administrator, cannot learn of a project hidden from them through a
        // key's restriction: BETA (closed) is as unknown as a project that does not exist.
        server.admin(Method::PUT, "/rest/api/2/user?username=owner").json(&json!({"active": true})).send().await.unwrap();
        let closed = server.admin(Method::DELETE, "/rest/api/2/project/BETA/role/10000?group=jira-users").send().await.unwrap();
        assert_eq!(closed.status(), StatusCode::NO_CONTENT);
        for projects in [json!(["BETA"]), json!(["NOPE"])] {
            let hidden = server.user(Method::POST, "/rest/tessera/1/serviceaccounts/deploy-bot/keys", "owner")
                .json(&json!({"name": "peek", "expirationDuration": 1, "projects": projects})).send().await.unwrap();
            let error = expect_error(hidden, StatusCode::BAD_REQUEST).await;
            assert!(error["errors"]["projects"].as_str().unwrap().starts_with("No project could be found"), "{error}");
        }
        let accounts = server.admin_json(Method::GET, "/rest/tessera/1/serviceaccounts", Value::Null, StatusCode::OK).await;
        assert_eq!(accounts.as_array().unwrap().len(), 1);
    }

    async fn administrators_inventory_and_revoke_every_token(db) {
        let server = TestServer::start(db).await;
        seed(&server).await;
        server.create_user("eve", &[]).await;
        let dev1 = server.create_token("dev", json!({"name": "one", "expirationDuration": 5})).await;
        let dev2 = server.create_token("dev", json!({"name": "two", "expirationDuration": 300})).await;
        let eve = server.create_token("eve", json!({"name": "eve", "expirationDuration": 5})).await;
        let all = server.admin_json(Method::GET, "/rest/tessera/1/tokens", Value::Null, StatusCode::OK).await;
        assert_eq!(all["total"], 3);
        assert!(!all.to_string().contains("tspat_"), "no secret in the inventory");
        let devs = server.admin_json(Method::GET, "/rest/tessera/1/tokens?owner=dev&maxResults=1", Value::Null, StatusCode::OK).await;
        assert_eq!((devs["total"].as_i64(), devs["values"].as_array().unwrap().len()), (Some(2), 1));
        let soon = server.admin_json(Method::GET, "/rest/tessera/1/tokens?expiringBefore=2100-01-01&kind=personal", Value::Null, StatusCode::OK).await;
        assert_eq!(soon["total"], 3);
        let never = server.admin_json(Method::GET, "/rest/tessera/1/tokens?neverUsed=true", Value::Null, StatusCode::OK).await;
        assert_eq!(never["total"], 3);
        expect_error(server.admin(Method::GET, "/rest/tessera/1/tokens?expiringBefore=soon").send().await.unwrap(), StatusCode::BAD_REQUEST).await;
        expect_error(server.user(Method::GET, "/rest/tessera/1/tokens", "dev").send().await.unwrap(), StatusCode::FORBIDDEN).await;
        let eve_id = json_of(server.bearer(Method::GET, &format!("{TOKENS}/current"), &eve).send().await.unwrap()).await["id"].clone();
        assert_eq!(server.admin(Method::DELETE, &format!("/rest/tessera/1/tokens/{eve_id}")).send().await.unwrap().status(), StatusCode::NO_CONTENT);
        expect_token_refused(server.bearer(Method::GET, MYSELF, &eve).send().await.unwrap(), "token_revoked").await;
        let revoked = server.admin_json(Method::DELETE, "/rest/tessera/1/tokens?owner=dev", Value::Null, StatusCode::OK).await;
        assert_eq!(revoked["revoked"], 2);
        for raw in [&dev1, &dev2] {
            expect_token_refused(server.bearer(Method::GET, MYSELF, raw).send().await.unwrap(), "token_revoked").await;
        }
        let with_revoked = server.admin_json(Method::GET, "/rest/tessera/1/tokens?includeRevoked=true", Value::Null, StatusCode::OK).await;
        assert_eq!(with_revoked["total"], 3);
        let events = server.store.recent_audit(50).await.unwrap();
        let revocations = events.iter().filter(|e| e.action == "token.revoked").count();
        assert_eq!(revocations, 3, "{events:?}");
        assert!(events.iter().filter(|e| e.action == "token.created").count() == 3);
    }

    async fn anyone_can_report_a_leaked_token_and_learns_nothing(db) {
        let server = TestServer::start(db).await;
        seed(&server).await;
        let leaked = server.create_token("dev", json!({"name": "leaky", "expirationDuration": 5})).await;
        let report = |tokens: Value| server.anonymous(Method::POST, "/rest/tessera/1/credentials/revoke").json(&json!({"credentials": tokens})).send();
        let unknown = report(json!(["tspat_0000000000000000000000000000000000000000000000000"])).await.unwrap();
        assert_eq!(unknown.status(), StatusCode::ACCEPTED);
        let unknown_body = unknown.text().await.unwrap();
        let known = report(json!([leaked.clone()])).await.unwrap();
        assert_eq!(known.status(), StatusCode::ACCEPTED);
        assert_eq!(known.text().await.unwrap(), unknown_body, "the same answer either way");
        // Revocation happens off the request; it is visible within moments.
        server.sync().await;
        let refused = server.bearer(Method::GET, MYSELF, &leaked).send().await.unwrap().status() == StatusCode::UNAUTHORIZED;
        assert!(refused, "the leaked token was revoked");
        let events = server.store.recent_audit(10).await.unwrap();
        let event = events.iter().find(|e| e.action == "token.revoked").expect("an audit event");
        assert_eq!(event.reason.as_deref(), Some("leaked"));
        assert_eq!(event.actor_id, None);
        assert!(!format!("{events:?}").contains(&leaked), "the audit never holds the secret");
        // A secret replaced by a rotation but still inside its overlap counts as leaked too.
        let second = server.create_token("dev", json!({"name": "rotated", "expirationDuration": 5})).await;
        let id = json_of(server.bearer(Method::GET, &format!("{TOKENS}/current"), &second).send().await.unwrap()).await["id"].clone();
        let rotated = server.user(Method::POST, &format!("{TOKENS}/{id}/rotate?overlapSeconds=600"), "dev").json(&json!({})).send().await.unwrap();
        let replacement = json_of(rotated).await["rawToken"].as_str().unwrap().to_string();
        assert_eq!(report(json!([second.clone()])).await.unwrap().status(), StatusCode::ACCEPTED);
        server.sync().await;
        let refused = server.bearer(Method::GET, MYSELF, &replacement).send().await.unwrap().status() == StatusCode::UNAUTHORIZED;
        assert!(refused, "the token whose old secret leaked was revoked, both secrets with it");
        expect_token_refused(server.bearer(Method::GET, MYSELF, &second).send().await.unwrap(), "token_revoked").await;
        let too_many: Vec<String> = (0..101).map(|_| leaked.clone()).collect();
        expect_error(report(json!(too_many)).await.unwrap(), StatusCode::BAD_REQUEST).await;
    }

    async fn last_use_is_recorded_without_a_write_per_request(db) {
        let mut config = test_config(&db);
        config.tokens.usage_flush_seconds = 1;
        let server = TestServer::start_with(db, config).await;
        seed(&server).await;
        let raw = server.create_token("dev", json!({"name": "busy", "expirationDuration": 5})).await;
        for _ in 0..3 {
            assert_eq!(server.bearer(Method::GET, MYSELF, &raw).send().await.unwrap().status(), StatusCode::OK);
        }
        server.sync().await;
        let seen = json_of(server.bearer(Method::GET, &format!("{TOKENS}/current"), &raw).send().await.unwrap()).await;
        assert!(seen["useCount"].as_i64() >= Some(3), "{seen}");
        assert_eq!(seen["lastAccessedFrom"], "127.0.0.1");
        assert!(seen["lastAccessedAt"].is_string());
    }

    async fn revocation_and_rotation_hold_at_once_on_every_instance(db) {
        let (a, b) = tokio::join!(TestServer::start_shared(test_config(&db)), TestServer::start_shared(test_config(&db)));
        a.create_user("dev", &[]).await;
        let raw = a.create_token("dev", json!({"name": "shared", "expirationDuration": 5})).await;
        assert_eq!(b.bearer(Method::GET, MYSELF, &raw).send().await.unwrap().status(), StatusCode::OK);
        let id = json_of(b.bearer(Method::GET, &format!("{TOKENS}/current"), &raw).send().await.unwrap()).await["id"].clone();
        // Rotated through B: A refuses the old secret on the very next request.
        let rotated = b.user(Method::POST, &format!("{TOKENS}/{id}/rotate"), "dev").json(&json!({})).send().await.unwrap();
        let fresh = json_of(rotated).await["rawToken"].as_str().unwrap().to_string();
        expect_token_refused(a.bearer(Method::GET, MYSELF, &raw).send().await.unwrap(), "token_unknown").await;
        assert_eq!(a.bearer(Method::GET, MYSELF, &fresh).send().await.unwrap().status(), StatusCode::OK);
        // Revoked through A: B refuses it on the very next request.
        assert_eq!(a.user(Method::DELETE, &format!("{TOKENS}/{id}"), "dev").send().await.unwrap().status(), StatusCode::NO_CONTENT);
        expect_token_refused(b.bearer(Method::GET, MYSELF, &fresh).send().await.unwrap(), "token_revoked").await;
    }
}

/// The database files are scanned for the token, so this runs on SQLite, whose files the test
/// can read (PostgreSQL stores through the same queries).
#[tokio::test]
async fn no_raw_token_reaches_the_database() {
    let db = tessera_testkit::TestDatabase::sqlite();
    let dir = db.data_dir().expect("SQLite has a data directory");
    let server = TestServer::start(db).await;
    seed(&server).await;
    let raw = server
        .create_token("dev", json!({"name": "secret", "expirationDuration": 5}))
        .await;
    assert_eq!(
        server
            .bearer(Method::GET, MYSELF, &raw)
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    let mut scanned = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            scanned += bytes.len();
            let needle = raw.as_bytes();
            assert!(
                !bytes.windows(needle.len()).any(|w| w == needle),
                "{} holds the raw token",
                path.display()
            );
            let body = &raw.as_bytes()[6..30];
            assert!(
                !bytes.windows(body.len()).any(|w| w == body),
                "{} holds part of the token",
                path.display()
            );
        }
    }
    assert!(scanned > 0, "the database files were scanned");
}
