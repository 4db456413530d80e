//! Opaque access tokens of a trusted provider, checked by introspection (RFC 7662), through a
//! real server on SQLite and on PostgreSQL: against the stand-in provider, whose answers the
//! tests set, and against node-oidc-provider's own opaque tokens from its code flow.

use crate::common::oidc::{Provider, RealProvider, WEB_CLIENT, WEB_SECRET, now};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

const PROVIDERS: &str = "/rest/tessera/1/identityproviders";

/// Registers the stand-in (issuer `name`) with introspection as the web client.
async fn register(server: &TestServer, idp: &Provider, name: &str) -> i64 {
    let body = json!({
        "name": format!("Stand-in {name}"), "issuer": idp.issuer(name), "audiences": ["tessera"],
        "provisioning": "create",
        "introspection": {"clientId": WEB_CLIENT, "clientSecret": WEB_SECRET},
    });
    let made = server
        .admin_json(Method::POST, PROVIDERS, body, StatusCode::CREATED)
        .await;
    assert_eq!(
        made["introspection"],
        json!({"endpoint": format!("{}/introspect", idp.base), "clientId": WEB_CLIENT})
    );
    made["id"].as_i64().unwrap()
}

/// GET myself with `token`: the name, or the refusal's reason.
async fn myself(server: &TestServer, token: &str) -> Result<String, String> {
    let response = server
        .bearer(Method::GET, "/rest/api/2/myself", token)
        .send()
        .await
        .unwrap();
    if response.status() == StatusCode::OK {
        return Ok(json_of(response).await["name"]
            .as_str()
            .unwrap()
            .to_string());
    }
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert!(
        response.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    Err(response.headers()["x-authentication-denied-reason"]
        .to_str()
        .unwrap()
        .to_string())
}

fn active(issuer: &str, username: &str) -> Value {
    json!({"active": true, "iss": issuer, "aud": "tessera", "username": username,
           "scope": "openid READ", "exp": now() + 300, "token_type": "Bearer"})
}

backend_tests! {
    async fn an_active_opaque_token_acts_as_its_user_and_its_answer_is_remembered(db) {
        let server = TestServer::start(db).await;
        let idp = Provider::start().await;
        let id = register(&server, &idp, "acme").await;
        idp.introspects("opaque-1", active(&idp.issuer("acme"), "intro-user"));
        for _ in 0..3 {
            assert_eq!(myself(&server, "opaque-1").await, Ok("intro-user".into()));
        }
        assert_eq!(idp.introspections(), 1, "asked once, then remembered");
        server.audit("action=identity.user.provisioned&target=user:intro-user", 1).await;
        // Its scope: READ only.
        server.create_project("INT").await;
        let write = server.bearer(Method::POST, "/rest/api/2/issue", "opaque-1")
            .json(&json!({"fields": {"project": {"key": "INT"}, "summary": "x", "issuetype": {"name": "Task"}}}))
            .send().await.unwrap();
        assert_eq!(write.status(), StatusCode::FORBIDDEN);
        // Inactive, or not for tessera, or from another issuer: refused, and remembered too.
        idp.introspects("other-aud", json!({"active": true, "aud": "elsewhere", "username": "intro-user"}));
        idp.introspects("other-iss", json!({"active": true, "aud": "tessera", "iss": "https://evil.example", "username": "intro-user"}));
        idp.introspects("expired", json!({"active": true, "aud": "tessera", "username": "intro-user", "exp": now() - 3600}));
        idp.introspects("refresh", json!({"active": true, "aud": "tessera", "username": "intro-user", "token_type": "refresh_token"}));
        idp.introspects("nobody", json!({"active": true, "aud": "tessera", "username": "Not A Name!"}));
        for (token, reason) in [
            ("never-issued", "token_inactive"), ("other-aud", "jwt_audience"), ("other-iss", "jwt_issuer_unknown"),
            ("expired", "jwt_expired"), ("refresh", "jwt_malformed"), ("nobody", "jwt_user_unknown"),
        ] {
            let before = idp.introspections();
            assert_eq!(myself(&server, token).await, Err(reason.to_string()), "{token}");
            assert_eq!(myself(&server, token).await, Err(reason.to_string()), "{token}");
            assert_eq!(idp.introspections(), before + 1, "{token}: asked once");
        }
        let events = server.audit(&format!("action=token.refused&target=identityprovider:{id}"), 1).await;
        assert!(events.iter().any(|e| e["reason"] == "jwt_audience"), "{events:?}");
        // A remembered answer is judged again as the provider now is: not for tessera once
        // its audience is dropped, not once introspection or the provider is switched off or
        // removed, not for a user switched off.
        let one = format!("{PROVIDERS}/{id}");
        server.admin_json(Method::PUT, &one, json!({"audiences": ["another"]}), StatusCode::OK).await;
        assert_eq!(myself(&server, "opaque-1").await, Err("jwt_audience".into()));
        server.admin_json(Method::PUT, &one, json!({"audiences": ["tessera"]}), StatusCode::OK).await;
        assert_eq!(myself(&server, "opaque-1").await, Ok("intro-user".into()));
        server.admin_json(Method::PUT, "/rest/api/2/user?username=intro-user", json!({"active": false}), StatusCode::OK).await;
        assert_eq!(myself(&server, "opaque-1").await, Err("jwt_user_unknown".into()));
        server.admin_json(Method::PUT, "/rest/api/2/user?username=intro-user", json!({"active": true}), StatusCode::OK).await;
        assert_eq!(myself(&server, "opaque-1").await, Ok("intro-user".into()));
        server.admin_json(Method::PUT, &one, json!({"introspection": null}), StatusCode::OK).await;
        assert_eq!(myself(&server, "opaque-1").await, Err("provider_disabled".into()));
        server.admin_json(Method::PUT, &one, json!({"introspection": {"clientId": WEB_CLIENT, "clientSecret": WEB_SECRET}}), StatusCode::OK).await;
        assert_eq!(myself(&server, "opaque-1").await, Ok("intro-user".into()));
        server.admin_json(Method::PUT, &one, json!({"enabled": false}), StatusCode::OK).await;
        assert_eq!(myself(&server, "opaque-1").await, Err("provider_disabled".into()));
        server.admin_json(Method::DELETE, &one, Value::Null, StatusCode::NO_CONTENT).await;
        assert_eq!(myself(&server, "opaque-1").await, Err("jwt_issuer_unknown".into()));
        assert_eq!(idp.introspections(), 7, "every answer above was remembered");
    }

    async fn without_introspection_an_opaque_token_is_unknown_and_nobody_is_asked(db) {
        let server = TestServer::start(db).await;
        let idp = Provider::start().await;
        server.admin_json(Method::POST, PROVIDERS, json!({"name": "Plain", "issuer": idp.issuer("plain"), "audiences": ["tessera"]}), StatusCode::CREATED).await;
        idp.introspects("opaque-1", active(&idp.issuer("plain"), "intro-user"));
        assert_eq!(myself(&server, "opaque-1").await, Err("token_malformed".into()));
        assert_eq!(idp.introspections(), 0);
        // A provider that publishes no introspection endpoint needs one named.
        idp.change(|b| b.publishes_introspection = false);
        let body = json!({"name": "Hidden", "issuer": idp.issuer("hidden"), "audiences": ["tessera"],
                          "introspection": {"clientId": WEB_CLIENT, "clientSecret": WEB_SECRET}});
        let response = server.admin(Method::POST, PROVIDERS).json(&body).send().await.unwrap();
        let error = expect_error(response, StatusCode::BAD_REQUEST).await;
        assert!(error["errors"]["introspection"].as_str().unwrap().contains("no introspection endpoint"), "{error}");
        let mut named = body.clone();
        named["introspection"]["endpoint"] = json!("http://evil.example/introspect");
        let response = server.admin(Method::POST, PROVIDERS).json(&named).send().await.unwrap();
        assert!(expect_error(response, StatusCode::BAD_REQUEST).await["errors"]["introspection"].is_string());
        named["introspection"]["endpoint"] = json!(format!("{}/introspect", idp.base));
        server.admin_json(Method::POST, PROVIDERS, named, StatusCode::CREATED).await;
        // Introspection switched on is used within the provider list's 2 s (an unknown
        // bearer value costs no database read while no provider introspects).
        server.create_user("intro-user", &[]).await;
        idp.introspects("opaque-2", active(&idp.issuer("hidden"), "intro-user"));
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(myself(&server, "opaque-2").await, Ok("intro-user".into()));
    }

    async fn a_provider_that_does_not_answer_fails_closed_and_is_asked_again(db) {
        let mut config = test_config(&db);
        // Nothing remembered: a token revoked at the provider is refused at once.
        config.identity.introspection_cache_seconds = 0;
        let server = TestServer::start_with(db, config).await;
        let idp = Provider::start().await;
        let id = register(&server, &idp, "acme").await;
        idp.introspects("opaque-1", active(&idp.issuer("acme"), "intro-user"));
        assert_eq!(myself(&server, "opaque-1").await, Ok("intro-user".into()));
        idp.introspects("opaque-1", json!({"active": false}));
        assert_eq!(myself(&server, "opaque-1").await, Err("token_inactive".into()));
        idp.introspects("opaque-1", active(&idp.issuer("acme"), "intro-user"));
        let answers = idp.introspections();
        idp.change(|b| b.introspection = None);
        assert_eq!(myself(&server, "opaque-1").await, Err("introspection_unavailable".into()));
        idp.introspects("opaque-1", active(&idp.issuer("acme"), "intro-user"));
        assert_eq!(myself(&server, "opaque-1").await, Ok("intro-user".into()));
        assert_eq!(idp.introspections(), answers + 1);
        // A client secret the provider refuses is the same failure, closed.
        server.admin_json(Method::PUT, &format!("{PROVIDERS}/{id}"), json!({"introspection": {"clientId": WEB_CLIENT, "clientSecret": "wrong"}}), StatusCode::OK).await;
        assert_eq!(myself(&server, "opaque-1").await, Err("introspection_unavailable".into()));
    }

    async fn a_real_providers_opaque_token_works_by_introspection(db) {
        let server = TestServer::start(db).await;
        let callback = server.url("/login/sso/callback");
        let Some(provider) = RealProvider::start(Some(&callback)).await else { return };
        server.admin_json(Method::POST, PROVIDERS, json!({
            "name": "node-oidc-provider", "issuer": provider.issuer, "audiences": ["tessera", "tessera-web"],
            "userClaim": "sub", "provisioning": "create",
            "introspection": {"clientId": "tessera-web", "clientSecret": "web-secret-which-is-long-enough"},
        }), StatusCode::CREATED).await;
        let access = provider.user_access_token("intro-erin", &callback).await;
        assert!(!access.contains('.'), "an opaque token, not a JWT: {access}");
        assert_eq!(myself(&server, &access).await, Ok("intro-erin".into()));
        assert_eq!(myself(&server, &format!("{access}x")).await, Err("token_inactive".into()));
    }
}
