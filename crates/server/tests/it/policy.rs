//! The access policy over HTTP: methods switched off with group exceptions, address allowlists
//! (global, per group, per token), REST API groups, token rules, websudo, the policy API's
//! checks, and a change made through one instance applying on the next request of another.
//! Every refusal is checked for its status, `X-Authentication-Denied-Reason` and Jira's body.

use crate::common::*;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::{TestDatabase, backend_tests};

const MYSELF: &str = "/rest/api/2/myself";
const POLICY: &str = "/rest/tessera/1/policy";

/// Asserts a policy refusal: 403, the reason in the header and the body.
async fn denied(response: reqwest::Response, reason: &str) -> Value {
    assert_eq!(
        response
            .headers()
            .get("x-authentication-denied-reason")
            .map(|v| v.to_str().unwrap()),
        Some(reason),
        "{:?}",
        response.headers()
    );
    let body = expect_error(response, StatusCode::FORBIDDEN).await;
    assert_eq!(body["errors"]["reason"], reason, "{body}");
    body
}

/// Replaces the policy through `request` (a PUT to the policy); returns the stored document.
async fn put_policy(request: RequestBuilder, policy: Value) -> Value {
    let response = request.json(&policy).send().await.unwrap();
    let status = response.status();
    let body: Value = response.json().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

/// A server that believes `X-Forwarded-For` from the test client (on 127.0.0.1), so that
/// requests can come "from" any address.
async fn behind_proxy(db: TestDatabase) -> TestServer {
    let mut config = test_config(&db);
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    config.tokens.usage_flush_seconds = 1;
    TestServer::start_with(db, config).await
}

fn from(request: RequestBuilder, ip: &str) -> RequestBuilder {
    request.header("x-forwarded-for", ip)
}

backend_tests! {
    async fn basic_with_a_password_can_be_switched_off_except_for_a_group(db) {
        let server = TestServer::start(db).await;
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "legacy-bots"}), StatusCode::CREATED).await;
        server.create_user("dev", &[]).await;
        server.create_user("bot", &["legacy-bots"]).await;
        let token = server.create_token("dev", json!({"name": "ci", "expirationDuration": 30})).await;
        let admin_token = server.create_token("admin", json!({"name": "admin", "expirationDuration": 30})).await;
        let off = json!({"methods": {"basic_password": {"enabled": false, "exceptGroups": ["legacy-bots"]}}});
        // The administrator cannot switch off the method the change itself uses...
        let refused = server.admin(Method::PUT, POLICY).json(&off).send().await.unwrap();
        let body = expect_error(refused, StatusCode::BAD_REQUEST).await;
        assert!(body["errorMessages"][0].as_str().unwrap().contains("method_disabled"), "{body}");
        // ... but can with a token.
        let stored = put_policy(server.bearer(Method::PUT, POLICY, &admin_token), off).await;
        assert_eq!(stored["methods"]["basic_password"]["enabled"], false);
        assert_eq!(stored["methods"]["basic_password"]["exceptGroups"], json!(["legacy-bots"]));
        assert_eq!(stored["methods"]["session"]["enabled"], true);

        // `curl -u dev:password` is refused ...
        denied(server.user(Method::GET, MYSELF, "dev").send().await.unwrap(), "method_disabled").await;
        // ... but a wrong password gets the same 401 for members of the excepted group and
        // everyone else: the refusal tells nobody who is in which group.
        for name in ["dev", "bot", "nobody"] {
            let wrong = server.basic(Method::GET, MYSELF, name, "not-the-password").send().await.unwrap();
            assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED, "{name}");
        }
        // ... while `curl -u dev:<token>` and Bearer work, and the excepted group gets in.
        assert_eq!(server.basic(Method::GET, MYSELF, "dev", &token).send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(server.bearer(Method::GET, MYSELF, &token).send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(server.user(Method::GET, MYSELF, "bot").send().await.unwrap().status(), StatusCode::OK);
        // Sessions are another method: logging in still works.
        let session = server.login("dev", PASSWORD).await;
        assert_eq!(server.with_session(Method::GET, MYSELF, &session).send().await.unwrap().status(), StatusCode::OK);

        // Switched off for everyone, a method is refused before its credential is checked.
        let all_off = json!({"methods": {"basic_password": {"enabled": false}, "session": {"enabled": false}}});
        put_policy(server.bearer(Method::PUT, POLICY, &admin_token), all_off).await;
        denied(server.user(Method::GET, MYSELF, "bot").send().await.unwrap(), "method_disabled").await;
        denied(server.with_session(Method::GET, MYSELF, &session).send().await.unwrap(), "method_disabled").await;
        let login = server.request(Method::POST, "/rest/auth/1/session").json(&json!({"username": "dev", "password": PASSWORD})).send().await.unwrap();
        denied(login, "method_disabled").await;

        let as_admin = |path: &str| server.bearer(Method::GET, path, &admin_token);
        let events = audit_by(&server, as_admin, "action=access.denied&target=user:dev", 1).await;
        assert!(events.iter().all(|e| e["reason"] == "method_disabled"), "{events:?}");
        assert!(events.iter().any(|e| e["credential"]["kind"] == "basic_password"), "{events:?}");
        let changes = audit_by(&server, as_admin, "action=policy.changed", 2).await;
        assert_eq!(changes[0]["reason"], "methods");
        assert_eq!(changes[0]["actor"]["name"], "admin");
        assert_eq!(changes[0]["credential"]["kind"], "bearer_token");
        // Nothing in the trail is a secret.
        let text = server.bearer(Method::GET, "/rest/tessera/1/audit/export", &admin_token).send().await.unwrap().text().await.unwrap();
        for secret in [PASSWORD, ADMIN_PASSWORD, "not-the-password", &token, &admin_token, &session] {
            assert!(!text.contains(secret), "the audit holds a secret");
        }
    }

    async fn an_allowlist_that_excludes_the_caller_refuses_every_method(db) {
        let server = behind_proxy(db).await;
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "contractors"}), StatusCode::CREATED).await;
        server.create_user("dev", &[]).await;
        server.create_user("carl", &["contractors"]).await;
        let token = server.create_token("dev", json!({"name": "ci", "expirationDuration": 30})).await;
        let narrow = server.create_token("dev", json!({"name": "narrow", "expirationDuration": 30, "allowedIps": ["10.9.0.0/16"]})).await;
        let outside = server.create_token("dev", json!({"name": "outside", "expirationDuration": 30, "allowedIps": ["192.0.2.0/24"]})).await;
        let session = server.login("dev", PASSWORD).await;
        let policy = json!({"allowedIps": ["10.0.0.0/8", "2001:db8::/32"], "groupAllowedIps": {"contractors": ["10.5.0.0/16"]}});
        // A change that would shut out its own author is refused ...
        let refused = server.admin(Method::PUT, POLICY).json(&policy).send().await.unwrap();
        let body = expect_error(refused, StatusCode::BAD_REQUEST).await;
        assert!(body["errorMessages"][0].as_str().unwrap().contains("ip_not_allowed"), "{body}");
        // ... made from inside the new list, it is stored.
        put_policy(from(server.admin(Method::PUT, POLICY), "10.1.2.3"), policy).await;

        let stranger = "203.0.113.5";
        denied(from(server.user(Method::GET, MYSELF, "dev"), stranger).send().await.unwrap(), "ip_not_allowed").await;
        denied(from(server.basic(Method::GET, MYSELF, "dev", &token), stranger).send().await.unwrap(), "ip_not_allowed").await;
        denied(from(server.bearer(Method::GET, MYSELF, &token), stranger).send().await.unwrap(), "ip_not_allowed").await;
        denied(from(server.with_session(Method::GET, MYSELF, &session), stranger).send().await.unwrap(), "ip_not_allowed").await;
        denied(from(server.anonymous(Method::GET, "/rest/api/2/serverInfo"), stranger).send().await.unwrap(), "ip_not_allowed").await;
        let login = from(server.request(Method::POST, "/rest/auth/1/session"), stranger).json(&json!({"username": "dev", "password": PASSWORD})).send().await.unwrap();
        denied(login, "ip_not_allowed").await;
        // A wrong password from outside learns nothing either.
        denied(from(server.basic(Method::GET, MYSELF, "dev", "wrong-password-1"), stranger).send().await.unwrap(), "ip_not_allowed").await;

        let inside = "10.1.2.3";
        for request in [
            server.user(Method::GET, MYSELF, "dev"),
            server.bearer(Method::GET, MYSELF, &token),
            server.with_session(Method::GET, MYSELF, &session),
            server.anonymous(Method::GET, "/rest/api/2/serverInfo"),
        ] {
            assert_eq!(from(request, inside).send().await.unwrap().status(), StatusCode::OK);
        }
        assert_eq!(from(server.user(Method::GET, MYSELF, "dev"), "2001:db8::42").send().await.unwrap().status(), StatusCode::OK);
        // A token's own list narrows the global one ...
        denied(from(server.bearer(Method::GET, MYSELF, &narrow), inside).send().await.unwrap(), "ip_not_allowed").await;
        assert_eq!(from(server.bearer(Method::GET, MYSELF, &narrow), "10.9.1.1").send().await.unwrap().status(), StatusCode::OK);
        // ... and never widens it.
        denied(from(server.bearer(Method::GET, MYSELF, &outside), "192.0.2.5").send().await.unwrap(), "ip_not_allowed").await;
        // A group's list applies to its members only.
        denied(from(server.user(Method::GET, MYSELF, "carl"), inside).send().await.unwrap(), "ip_not_allowed").await;
        assert_eq!(from(server.user(Method::GET, MYSELF, "carl"), "10.5.1.1").send().await.unwrap().status(), StatusCode::OK);

        // What a client puts in the name is recorded safely: a NUL (which PostgreSQL refuses in
        // text) neither fails nor sinks the batch it is written with, and a token pasted as the
        // name is never recorded.
        let odd = "192.0.2.77";
        let nul = from(server.request(Method::GET, MYSELF), odd).basic_auth("ev\0il", Some("pw")).send().await.unwrap();
        denied(nul, "ip_not_allowed").await;
        let pasted = from(server.request(Method::POST, "/rest/auth/1/session"), odd).json(&json!({"username": token, "password": "x"})).send().await.unwrap();
        denied(pasted, "ip_not_allowed").await;

        // The administrator reads the trail from inside the list too.
        let as_admin = |path: &str| from(server.admin(Method::GET, path), inside);
        let odd_events = audit_by(&server, as_admin, &format!("action=access.denied&ip={odd}"), 2).await;
        let targets: Vec<&str> = odd_events.iter().map(|e| e["target"].as_str().unwrap()).collect();
        assert!(targets.contains(&"user:ev\u{FFFD}il") && targets.contains(&"request"), "{targets:?}");
        assert!(!odd_events.iter().any(|e| e.to_string().contains(&token)), "{odd_events:?}");
        // Repeats of one kind of refusal are coalesced; the claimed name is the target.
        let events = audit_by(&server, as_admin, "action=access.denied&ip=203.0.113.0/24", 2).await;
        assert!(events.iter().all(|e| e["reason"] == "ip_not_allowed" && e["clientIp"] == stranger), "{events:?}");
        assert!(events.iter().any(|e| e["target"] == "user:dev"), "{events:?}");
        let elsewhere = audit_by(&server, as_admin, "action=access.denied&ip=198.51.100.0/24", 0).await;
        assert!(elsewhere.is_empty());
    }

    async fn api_groups_limit_the_rest_api_but_not_the_pages(db) {
        let server = TestServer::start(db).await;
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "integrators"}), StatusCode::CREATED).await;
        server.create_user("dev", &[]).await;
        server.create_user("ivy", &["integrators"]).await;
        let token = server.create_token("dev", json!({"name": "ci", "expirationDuration": 30})).await;
        let policy = json!({"apiGroups": ["Integrators"]});
        let refused = server.admin(Method::PUT, POLICY).json(&policy).send().await.unwrap();
        expect_error(refused, StatusCode::BAD_REQUEST).await;
        server.admin_json(Method::POST, "/rest/api/2/group/user?groupname=integrators", json!({"name": "admin"}), StatusCode::CREATED).await;
        let stored = put_policy(server.admin(Method::PUT, POLICY), policy).await;
        assert_eq!(stored["apiGroups"], json!(["integrators"]), "group names are normalised");
        denied(server.user(Method::GET, MYSELF, "dev").send().await.unwrap(), "group_not_allowed").await;
        denied(server.bearer(Method::GET, MYSELF, &token).send().await.unwrap(), "group_not_allowed").await;
        assert_eq!(server.user(Method::GET, MYSELF, "ivy").send().await.unwrap().status(), StatusCode::OK);
        // The pages are not the REST API: dev may still manage tokens in the browser.
        let session = server.login("dev", PASSWORD).await;
        let page = server.with_session(Method::GET, "/secure/tokens", &session).send().await.unwrap();
        assert_eq!(page.status(), StatusCode::OK);
        denied(server.with_session(Method::GET, MYSELF, &session).send().await.unwrap(), "group_not_allowed").await;
    }

    async fn token_rules_limit_who_creates_tokens_and_how_many(db) {
        let server = TestServer::start(db).await;
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "developers"}), StatusCode::CREATED).await;
        server.create_user("dev", &["developers"]).await;
        server.create_user("sam", &[]).await;
        let policy = json!({"tokens": {"defaultLifetimeDays": 7, "maxLifetimeDays": 30, "creatorGroups": ["developers"], "maxPerUser": 2}});
        let stored = put_policy(server.admin(Method::PUT, POLICY), policy).await;
        assert_eq!(stored["tokens"]["maxPerUser"], 2);
        let create = |user: &'static str, body: Value| {
            let server = &server;
            async move { server.user(Method::POST, "/rest/pat/latest/tokens", user).json(&body).send().await.unwrap() }
        };
        denied(create("sam", json!({"name": "t"})).await, "group_not_allowed").await;
        let first = create("dev", json!({"name": "one"})).await;
        assert_eq!(first.status(), StatusCode::CREATED);
        let first: Value = first.json().await.unwrap();
        // The default lifetime comes from the policy: seven days.
        let created = first["createdAt"].as_str().unwrap().to_string();
        let expiring = first["expiringAt"].as_str().unwrap().to_string();
        assert_ne!(created[..10], expiring[..10]);
        let too_long = create("dev", json!({"name": "long", "expirationDuration": 31})).await;
        let body = expect_error(too_long, StatusCode::BAD_REQUEST).await;
        assert!(body["errors"]["expirationDuration"].as_str().unwrap().contains("30"));
        let second = create("dev", json!({"name": "two"})).await;
        assert_eq!(second.status(), StatusCode::CREATED);
        let second: Value = second.json().await.unwrap();
        let third = denied(create("dev", json!({"name": "three"})).await, "token_limit_reached").await;
        assert!(third["errorMessages"][0].as_str().unwrap().contains('2'));
        // Revoking one makes room again.
        let id = first["id"].as_i64().unwrap();
        let revoked = server.user(Method::DELETE, &format!("/rest/pat/latest/tokens/{id}"), "dev").send().await.unwrap();
        assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
        assert_eq!(create("dev", json!({"name": "three"})).await.status(), StatusCode::CREATED);
        // Concurrent creations cannot slip past the limit together.
        let path = format!("/rest/pat/latest/tokens/{}", second["id"]);
        assert_eq!(server.user(Method::DELETE, &path, "dev").send().await.unwrap().status(), StatusCode::NO_CONTENT);
        let results = futures_join(&server, "dev", 6).await;
        let created = results.iter().filter(|s| **s == StatusCode::CREATED).count();
        assert_eq!(created, 1, "{results:?}");
    }

    async fn the_policy_api_checks_what_it_stores(db) {
        let server = TestServer::start(db).await;
        server.create_user("dev", &[]).await;
        let current = server.admin_json(Method::GET, POLICY, Value::Null, StatusCode::OK).await;
        let version = current["version"].as_i64().unwrap();
        assert_eq!(current["updatedBy"], Value::Null, "the first policy came from the configuration");
        for method in ["basic_password", "basic_token", "bearer_token", "service_key", "session"] {
            assert_eq!(current["methods"][method]["enabled"], true);
        }
        for (bad, field) in [
            (json!({"alowedIps": []}), None),
            (json!({"allowedIps": ["10.0.0.300/8"]}), None),
            (json!({"methods": {"telepathy": {"enabled": false}}}), None),
            (json!({"apiGroups": ["no-such-group"]}), Some("groups")),
            (json!({"tokens": {"defaultLifetimeDays": 400}}), Some("tokens")),
            (json!({"rateLimit": {"default": {"capacity": 0, "perSecond": 1}}}), Some("rateLimit.default")),
            (json!({"groupAllowedIps": {"jira-users": []}}), Some("groupAllowedIps.jira-users")),
            (json!([1, 2]), None),
        ] {
            let response = server.admin(Method::PUT, POLICY).json(&bad).send().await.unwrap();
            let body = expect_error(response, StatusCode::BAD_REQUEST).await;
            if let Some(field) = field {
                assert!(body["errors"][field].is_string(), "{bad}: {body}");
            }
        }
        // Based on the version seen: a stale one is a conflict, nothing is overwritten.
        let changed = put_policy(server.admin(Method::PUT, POLICY), json!({"version": version, "apiGroups": []})).await;
        assert_eq!(changed["version"], version + 1);
        assert_eq!(changed["updatedBy"], "admin");
        let stale = server.admin(Method::PUT, POLICY).json(&json!({"version": version, "rateLimit": {"enabled": true}})).send().await.unwrap();
        let body = expect_error(stale, StatusCode::CONFLICT).await;
        assert!(body["errors"]["version"].is_string());
        for absurd in [i64::MAX, i64::MIN, -1] {
            let stale = server.admin(Method::PUT, POLICY).json(&json!({"version": absurd, "rateLimit": {"enabled": true}})).send().await.unwrap();
            expect_error(stale, StatusCode::CONFLICT).await;
        }
        let now = server.admin_json(Method::GET, POLICY, Value::Null, StatusCode::OK).await;
        assert_eq!(now["rateLimit"]["enabled"], false);
        // Administrators only; a token needs the ADMIN scope (and never websudo).
        denied(server.user(Method::GET, POLICY, "dev").send().await.unwrap(), "permission_missing").await;
        let read = server.create_token("admin", json!({"name": "read", "expirationDuration": 30, "scopes": ["READ"]})).await;
        denied(server.bearer(Method::GET, POLICY, &read).send().await.unwrap(), "scope_missing").await;
        let admin = server.create_token("admin", json!({"name": "adm", "expirationDuration": 30, "scopes": ["ADMIN"]})).await;
        put_policy(server.bearer(Method::PUT, POLICY, &admin), json!({})).await;
        expect_error(server.admin(Method::PUT, POLICY).header("content-type", "text/plain").body("{}").send().await.unwrap(), StatusCode::UNSUPPORTED_MEDIA_TYPE).await;
    }

    async fn session_admin_changes_need_the_password_again(db) {
        let server = TestServer::start(db).await;
        server.create_user("dev", &[]).await;
        let session = server.login("admin", ADMIN_PASSWORD).await;
        // Reading needs no websudo; changing does.
        assert_eq!(server.with_session(Method::GET, POLICY, &session).send().await.unwrap().status(), StatusCode::OK);
        let change = || server.with_session(Method::PUT, POLICY, &session).json(&json!({}));
        let body = denied(change().send().await.unwrap(), "websudo_required").await;
        assert!(body["errorMessages"][0].as_str().unwrap().contains("/rest/auth/1/websudo"));
        denied(server.with_session(Method::POST, "/rest/api/2/group", &session).json(&json!({"name": "g"})).send().await.unwrap(), "websudo_required").await;
        // A wrong password opens nothing.
        let wrong = server.with_session(Method::POST, "/rest/auth/1/websudo", &session).json(&json!({"password": "wrong-password-9"})).send().await.unwrap();
        denied(wrong, "websudo_failed").await;
        denied(change().send().await.unwrap(), "websudo_required").await;
        let missing = server.with_session(Method::POST, "/rest/auth/1/websudo", &session).json(&json!({})).send().await.unwrap();
        expect_error(missing, StatusCode::BAD_REQUEST).await;
        // The right one does, for this session only.
        let granted = server.with_session(Method::POST, "/rest/auth/1/websudo", &session).json(&json!({"password": ADMIN_PASSWORD})).send().await.unwrap();
        assert_eq!(granted.status(), StatusCode::OK);
        assert!(json_of(granted).await["websudoUntil"].as_str().unwrap().ends_with("+0000"));
        assert_eq!(change().send().await.unwrap().status(), StatusCode::OK);
        let other = server.login("admin", ADMIN_PASSWORD).await;
        denied(server.with_session(Method::PUT, POLICY, &other).json(&json!({})).send().await.unwrap(), "websudo_required").await;
        // Jira's DELETE drops it.
        let dropped = server.with_session(Method::DELETE, "/rest/auth/1/websudo", &session).send().await.unwrap();
        assert_eq!(dropped.status(), StatusCode::NO_CONTENT);
        denied(change().send().await.unwrap(), "websudo_required").await;
        // Websudo belongs to sessions; Basic with a password needs none.
        expect_error(server.admin(Method::POST, "/rest/auth/1/websudo").json(&json!({"password": ADMIN_PASSWORD})).send().await.unwrap(), StatusCode::UNAUTHORIZED).await;
        assert_eq!(server.admin(Method::PUT, POLICY).json(&json!({})).send().await.unwrap().status(), StatusCode::OK);
        // A token that could make administrative changes is one too: not without websudo.
        let other = server.login("admin", ADMIN_PASSWORD).await;
        let admin_token = server.with_session(Method::POST, "/rest/pat/latest/tokens", &other).json(&json!({"name": "a", "expirationDuration": 1})).send().await.unwrap();
        denied(admin_token, "websudo_required").await;
        let read_token = server.with_session(Method::POST, "/rest/pat/latest/tokens", &other).json(&json!({"name": "r", "expirationDuration": 1, "scopes": ["READ"]})).send().await.unwrap();
        assert_eq!(read_token.status(), StatusCode::CREATED);
        // Websudo does not make an administrator of anyone.
        let dev = server.login("dev", PASSWORD).await;
        server.websudo(&dev, PASSWORD).await;
        denied(server.with_session(Method::PUT, POLICY, &dev).json(&json!({})).send().await.unwrap(), "permission_missing").await;
        server.audit("action=websudo.granted&actor=admin", 1).await;
        server.audit("action=websudo.dropped", 1).await;
        let done = server.audit("action=admin.change&actor=admin&outcome=success", 3).await;
        assert!(done.iter().any(|e| e["target"] == "PUT /rest/tessera/1/policy" && e["credential"]["kind"] == "session"), "{done:?}");
        let refused = server.audit("action=admin.change&actor=admin&outcome=denied", 3).await;
        assert!(refused.iter().all(|e| e["reason"] == "403"));
        server.audit("action=admin.change&actor=dev&outcome=denied", 1).await;
    }

    async fn rate_limits_follow_the_policy_at_once(db) {
        let server = TestServer::start(db).await;
        server.create_user("dev", &[]).await;
        let token = server.create_token("dev", json!({"name": "ci", "expirationDuration": 30})).await;
        assert!(server.bearer(Method::GET, MYSELF, &token).send().await.unwrap().headers().get("x-ratelimit-limit").is_none());
        put_policy(server.admin(Method::PUT, POLICY), json!({"rateLimit": {"enabled": true, "default": {"capacity": 3, "perSecond": 1}, "exemptGroups": ["jira-administrators"]}})).await;
        let mut statuses = Vec::new();
        for _ in 0..4 {
            statuses.push(server.bearer(Method::GET, MYSELF, &token).send().await.unwrap());
        }
        assert_eq!(statuses[0].headers()["x-ratelimit-limit"], "3");
        let limited = statuses.pop().unwrap();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(limited.headers().get("retry-after").is_some());
        // Off again: nobody waits.
        put_policy(server.admin(Method::PUT, POLICY), json!({})).await;
        assert_eq!(server.bearer(Method::GET, MYSELF, &token).send().await.unwrap().status(), StatusCode::OK);
    }

    async fn a_change_through_one_instance_applies_on_every_other_within_a_second(db) {
        let mut config = test_config(&db);
        config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
        let (a, b) = tokio::join!(TestServer::start_shared(config.clone()), TestServer::start_shared(config));
        a.create_user("dev", &[]).await;
        let token = a.create_token("dev", json!({"name": "ci", "expirationDuration": 30})).await;
        assert_eq!(b.bearer(Method::GET, MYSELF, &token).send().await.unwrap().status(), StatusCode::OK);
        put_policy(a.admin(Method::PUT, POLICY), json!({"methods": {"bearer_token": {"enabled": false}}})).await;
        // B remembers the token's answer, which the change makes stale within a second.
        denied(answered_within_a_second(|| b.bearer(Method::GET, MYSELF, &token), StatusCode::FORBIDDEN).await, "method_disabled").await;
        put_policy(b.admin(Method::PUT, POLICY), json!({})).await;
        assert_eq!(a.bearer(Method::GET, MYSELF, &token).send().await.unwrap().status(), StatusCode::OK);
        // Tightened on A: B refuses an authenticated caller from outside on its next request.
        put_policy(from(a.admin(Method::PUT, POLICY), "10.0.0.1"), json!({"allowedIps": ["10.0.0.0/8"]})).await;
        denied(answered_within_a_second(|| from(b.bearer(Method::GET, MYSELF, &token), "192.0.2.1"), StatusCode::FORBIDDEN).await, "ip_not_allowed").await;
        // B now holds the tight policy; loosened on A, B's refusal is checked against the
        // store first, so even an anonymous request gets in at once.
        denied(from(b.anonymous(Method::GET, "/rest/api/2/serverInfo"), "192.0.2.1").send().await.unwrap(), "ip_not_allowed").await;
        put_policy(from(a.admin(Method::PUT, POLICY), "10.0.0.1"), json!({})).await;
        assert_eq!(from(b.anonymous(Method::GET, "/rest/api/2/serverInfo"), "192.0.2.1").send().await.unwrap().status(), StatusCode::OK);
        a.stop().await;
        b.stop().await;
    }
}

/// Creates `count` tokens for `user` at once; the statuses.
async fn futures_join(server: &TestServer, user: &str, count: usize) -> Vec<StatusCode> {
    let requests = (0..count).map(|n| {
        server
            .user(Method::POST, "/rest/pat/latest/tokens", user)
            .json(&json!({"name": format!("race{n}")}))
            .send()
    });
    let mut statuses = Vec::new();
    let mut handles = Vec::new();
    for request in requests {
        handles.push(tokio::spawn(request));
    }
    for handle in handles {
        statuses.push(handle.await.unwrap().unwrap().status());
    }
    statuses
}
