//! External identity providers through a real server, on SQLite and on PostgreSQL: their
//! administration (`/rest/tessera/1/identityproviders`), with discovery read from a provider
//! the test steers ([`crate::common::oidc`]), and every way a registration can fail.

use crate::common::oidc::{Provider, signer_jwk};
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

const PROVIDERS: &str = "/rest/tessera/1/identityproviders";

fn registration(name: &str, issuer: &str) -> Value {
    json!({"name": name, "issuer": issuer, "audiences": ["tessera"]})
}

/// The field error a refused registration names.
async fn refused(
    server: &TestServer,
    method: Method,
    path: &str,
    body: Value,
) -> (StatusCode, Value) {
    let response = server.admin(method, path).json(&body).send().await.unwrap();
    let status = response.status();
    (status, expect_error(response, status).await)
}

backend_tests! {
    async fn administrators_register_change_and_delete_providers(db) {
        let server = TestServer::start(db).await;
        let idp = Provider::start().await;
        let issuer = idp.issuer("acme");
        let body = json!({
            "name": "Keycloak", "issuer": issuer, "audiences": ["tessera", "account"],
            "userClaim": "email", "groupsClaim": "groups",
            "groupMapping": {"/developers": "Jira-Developers"}, "provisioning": "create",
            "defaultScopes": ["WRITE"],
        });
        let made = server.admin_json(Method::POST, PROVIDERS, body, StatusCode::CREATED).await;
        let id = made["id"].as_i64().unwrap();
        assert_eq!(made["self"], format!("{}{PROVIDERS}/{id}", server.base));
        assert_eq!(made["issuer"], issuer.as_str());
        assert_eq!(made["audiences"], json!(["account", "tessera"]));
        assert_eq!((made["userClaim"].as_str(), made["provisioning"].as_str()), (Some("email"), Some("create")));
        assert_eq!(made["groupMapping"], json!({"/developers": "jira-developers"}));
        assert_eq!(made["discovered"]["jwksUri"], format!("{}/jwks", idp.base));
        assert_eq!(made["enabled"], true);
        // The defaults.
        let plain = server.admin_json(Method::POST, PROVIDERS, registration("Okta", &idp.issuer("okta")), StatusCode::CREATED).await;
        assert_eq!((plain["userClaim"].as_str(), plain["provisioning"].as_str()), (Some("preferred_username"), Some("link")));
        assert_eq!(plain["defaultScopes"], json!(["read:jira-work", "read:jira-user"]));
        let listed = server.admin_json(Method::GET, PROVIDERS, Value::Null, StatusCode::OK).await;
        let names: Vec<&str> = listed.as_array().unwrap().iter().map(|p| p["name"].as_str().unwrap()).collect();
        assert_eq!(names, ["Keycloak", "Okta"]);
        // A change keeps what it does not name; the same name or issuer twice is a conflict.
        let one = format!("{PROVIDERS}/{id}");
        let changed = server.admin_json(Method::PUT, &one, json!({"enabled": false, "groupsClaim": null, "groupMapping": {}}), StatusCode::OK).await;
        assert_eq!((changed["enabled"].as_bool(), changed["groupsClaim"].clone()), (Some(false), Value::Null));
        assert_eq!(changed["userClaim"], "email");
        let (status, _) = refused(&server, Method::POST, PROVIDERS, registration("Keycloak", &idp.issuer("other"))).await;
        assert_eq!(status, StatusCode::CONFLICT);
        let (status, body) = refused(&server, Method::PUT, &one, json!({"issuer": idp.issuer("okta")})).await;
        assert_eq!(status, StatusCode::CONFLICT, "{body}");
        // A new issuer is discovered again.
        let moved = server.admin_json(Method::PUT, &one, json!({"issuer": idp.issuer("moved")}), StatusCode::OK).await;
        assert_eq!(moved["issuer"], idp.issuer("moved"));
        let deleted = server.admin(Method::DELETE, &one).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        for method in [Method::GET, Method::DELETE] {
            let gone = server.admin(method, &one).send().await.unwrap();
            expect_error(gone, StatusCode::NOT_FOUND).await;
        }
        expect_error(server.admin(Method::GET, &format!("{PROVIDERS}/x")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
        for action in ["identity.provider.created", "identity.provider.updated", "identity.provider.deleted"] {
            let events = server.audit(&format!("action={action}&target=identityprovider:{id}"), 1).await;
            assert_eq!(events[0]["actor"]["name"], "admin", "{action}");
        }
    }

    async fn a_provider_that_cannot_work_is_never_registered(db) {
        let server = TestServer::start(db).await;
        let idp = Provider::start().await;
        let issuer_error = |body: &Value| body["errors"]["issuer"].as_str().unwrap_or_default().to_string();
        // Not https, and not loopback: refused before anything is fetched.
        let (status, body) = refused(&server, Method::POST, PROVIDERS, registration("Plain", "http://sso.example.com")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(issuer_error(&body).contains("https"), "{body}");
        // Nobody listening.
        let (status, body) = refused(&server, Method::POST, PROVIDERS, registration("Down", "http://127.0.0.1:9/t/x")).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(issuer_error(&body).contains("discovery failed"), "{body}");
        // No document at either well-known place.
        idp.change(|b| b.openid_document = false);
        let (status, body) = refused(&server, Method::POST, PROVIDERS, registration("None", &idp.issuer("a"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(issuer_error(&body).contains("404"), "{body}");
        // RFC 8414's place is enough.
        idp.change(|b| b.oauth_metadata = true);
        server.admin_json(Method::POST, PROVIDERS, registration("OAuth only", &idp.issuer("b")), StatusCode::CREATED).await;
        idp.change(|b| { b.openid_document = true; b.oauth_metadata = false; });
        // A document speaking for another issuer.
        idp.change(|b| b.claimed_issuer = Some("https://evil.example".into()));
        let (status, body) = refused(&server, Method::POST, PROVIDERS, registration("Mismatch", &idp.issuer("c"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(issuer_error(&body).contains("evil.example"), "{body}");
        idp.change(|b| b.claimed_issuer = None);
        // Keys nobody can verify with: a shared secret, or an encryption key.
        let mut encryption = signer_jwk("enc");
        encryption["use"] = json!("enc");
        idp.change(|b| b.keys = json!({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}, encryption]}));
        let (status, body) = refused(&server, Method::POST, PROVIDERS, registration("Secret", &idp.issuer("d"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(issuer_error(&body).contains("no key"), "{body}");
        idp.change(|b| b.keys = json!("not a key set"));
        let (status, body) = refused(&server, Method::POST, PROVIDERS, registration("Garbage", &idp.issuer("e"))).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(issuer_error(&body).contains("key set"), "{body}");
        // Every bad field at once.
        let (status, body) = refused(&server, Method::POST, PROVIDERS, json!({"userClaim": "nickname", "provisioning": "sometimes", "defaultScopes": ["ALL"]})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        for field in ["name", "issuer", "audiences", "userClaim", "provisioning", "defaultScopes"] {
            assert!(body["errors"][field].is_string(), "{field}: {body}");
        }
        let (status, _) = refused(&server, Method::POST, PROVIDERS, json!({"name": "x", "colour": "blue"})).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        // Only the one that could work was stored.
        let listed = server.admin_json(Method::GET, PROVIDERS, Value::Null, StatusCode::OK).await;
        assert_eq!(listed.as_array().unwrap().len(), 1, "{listed}");
    }
}
