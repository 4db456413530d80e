//! External identity providers through a real server, on SQLite and on PostgreSQL: their
//! administration (`/rest/tessera/1/identityproviders`), with discovery read from a provider
//! the test steers ([`crate::common::oidc`]), and every way a registration can fail.

use crate::common::oidc::{Provider, RealProvider, mint_jwt, mint_jwt_with, now, signer_jwk};
use crate::common::*;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
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

    async fn trusted_jwts_act_as_their_user_and_every_bad_one_says_why(db) {
        let server = TestServer::start(db).await;
        server.create_project("JW").await;
        server.create_user("dev", &[]).await;
        server.add_to_role("JW", 10001, "dev").await;
        let idp = Provider::start().await;
        let issuer = idp.issuer("acme");
        let made = server.admin_json(Method::POST, PROVIDERS, json!({"name": "Acme", "issuer": issuer, "audiences": ["tessera"], "defaultScopes": ["WRITE"]}), StatusCode::CREATED).await;
        let id = made["id"].as_i64().unwrap();
        let claims = |user: &str| json!({"iss": issuer, "aud": "tessera", "sub": format!("s-{user}"), "preferred_username": user, "iat": now(), "exp": now() + 600});
        let call = |token: String| server.bearer(Method::GET, "/rest/api/2/myself", &token).send();
        let me: Value = call(mint_jwt("k1", &claims("dev"))).await.unwrap().json().await.unwrap();
        assert_eq!(me["name"], "dev");
        // The default scopes apply to a token that names none of tessera's; a token's own
        // scope narrows it.
        let create = json!({"fields": {"project": {"key": "JW"}, "issuetype": {"name": "Task"}, "summary": "by SSO"}});
        let made_issue = server.bearer(Method::POST, "/rest/api/2/issue", &mint_jwt("k1", &claims("dev"))).json(&create).send().await.unwrap();
        assert_eq!(made_issue.status(), StatusCode::CREATED);
        let mut read_only = claims("dev");
        read_only["scope"] = json!("openid READ");
        let refused = server.bearer(Method::POST, "/rest/api/2/issue", &mint_jwt("k1", &read_only)).json(&create).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        // Every bad token, with its reason.
        let server_ref = &server;
        let reason = |token: String| async move {
            let server = server_ref;
            let response = server.bearer(Method::GET, "/rest/api/2/myself", &token).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{token}");
            assert!(response.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
            response.headers()["x-authentication-denied-reason"].to_str().unwrap().to_string()
        };
        let with = |change: &dyn Fn(&mut Value)| { let mut c = claims("dev"); change(&mut c); mint_jwt("k1", &c) };
        assert_eq!(reason(with(&|c| c["exp"] = json!(now() - 300))).await, "jwt_expired");
        assert_eq!(reason(with(&|c| c["nbf"] = json!(now() + 300))).await, "jwt_not_yet_valid");
        assert_eq!(reason(with(&|c| c["iat"] = json!(now() + 300))).await, "jwt_not_yet_valid");
        assert_eq!(reason(with(&|c| c["aud"] = json!("someone-else"))).await, "jwt_audience");
        assert_eq!(reason(with(&|c| c["iss"] = json!(idp.issuer("unregistered")))).await, "jwt_issuer_unknown");
        assert_eq!(reason(with(&|c| { c.as_object_mut().unwrap().remove("exp"); })).await, "jwt_malformed");
        assert_eq!(reason(mint_jwt("k9", &claims("dev"))).await, "jwt_key_unknown");
        // The key says RS256: a header claiming another algorithm for it is refused.
        assert_eq!(reason(mint_jwt_with(&json!({"alg": "RS384", "kid": "k1"}), &claims("dev"))).await, "jwt_algorithm");
        // Without a kid, the set's only signing key is the one.
        let no_kid = mint_jwt_with(&json!({"alg": "RS256"}), &claims("dev"));
        assert_eq!(server.bearer(Method::GET, "/rest/api/2/myself", &no_kid).send().await.unwrap().status(), StatusCode::OK);
        assert_eq!(reason(mint_jwt_with(&json!({"alg": "RS256", "typ": "dpop+jwt", "kid": "k1"}), &claims("dev"))).await, "jwt_malformed");
        // Tampered: the payload changed after signing.
        let good = mint_jwt("k1", &claims("dev"));
        let parts: Vec<&str> = good.split('.').collect();
        let forged = format!("{}.{}.{}", parts[0], URL_SAFE_NO_PAD.encode(claims("admin").to_string()), parts[2]);
        assert_eq!(reason(forged).await, "jwt_signature");
        // alg none, and HS256 "signed" with the provider's public key as the secret.
        let none = format!("{}.{}.", URL_SAFE_NO_PAD.encode(r#"{"alg":"none","kid":"k1"}"#), URL_SAFE_NO_PAD.encode(claims("admin").to_string()));
        assert_eq!(reason(none).await, "jwt_algorithm");
        let head = URL_SAFE_NO_PAD.encode(r#"{"alg":"HS256","typ":"JWT","kid":"k1"}"#);
        let body = URL_SAFE_NO_PAD.encode(claims("admin").to_string());
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(crate::common::oauth1::signer().public_pem.as_bytes()).unwrap();
        mac.update(format!("{head}.{body}").as_bytes());
        let hs = format!("{head}.{body}.{}", URL_SAFE_NO_PAD.encode(mac.finalize().into_bytes()));
        assert_eq!(reason(hs).await, "jwt_algorithm");
        // An unknown user: refused, and not created (the provider only links).
        assert_eq!(reason(mint_jwt("k1", &claims("stranger"))).await, "jwt_user_unknown");
        let missing = server.admin(Method::GET, "/rest/api/2/user?username=stranger").send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::NOT_FOUND);
        // A deactivated user.
        server.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": false}), StatusCode::OK).await;
        assert_eq!(reason(mint_jwt("k1", &claims("dev"))).await, "jwt_user_unknown");
        server.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": true}), StatusCode::OK).await;
        // The access policy's method switched off.
        server.admin_json(Method::PUT, "/rest/tessera/1/policy", json!({"methods": {"external_jwt": {"enabled": false}}}), StatusCode::OK).await;
        let off = server.bearer(Method::GET, "/rest/api/2/myself", &mint_jwt("k1", &claims("dev"))).send().await.unwrap();
        assert_eq!((off.status(), off.headers()["x-authentication-denied-reason"].to_str().unwrap()), (StatusCode::FORBIDDEN, "method_disabled"));
        server.admin_json(Method::PUT, "/rest/tessera/1/policy", json!({}), StatusCode::OK).await;
        // The provider switched off.
        server.admin_json(Method::PUT, &format!("{PROVIDERS}/{id}"), json!({"enabled": false}), StatusCode::OK).await;
        assert_eq!(reason(mint_jwt("k1", &claims("dev"))).await, "provider_disabled");
        // A Bearer value that only looks dotted is not a JWT: it is refused as a token.
        assert_eq!(reason("a.b.c".into()).await, "token_malformed");
        // Each refusal is audited, and no token is in the audit.
        let events = server.audit("action=token.refused", 10).await;
        let text = serde_json::to_string(&events).unwrap();
        assert!(!text.contains(&good), "no JWT in the audit");
        assert!(events.iter().any(|e| e["reason"] == "jwt_signature" && e["target"] == format!("identityprovider:{id}")), "{events:?}");
    }

    async fn provisioning_creates_users_without_a_password(db) {
        let server = TestServer::start(db).await;
        let idp = Provider::start().await;
        let issuer = idp.issuer("create");
        let made = server.admin_json(Method::POST, PROVIDERS, json!({"name": "Create", "issuer": issuer, "audiences": ["tessera"], "provisioning": "create", "userClaim": "email"}), StatusCode::CREATED).await;
        let claims = json!({"iss": issuer, "aud": ["other", "tessera"], "sub": "x1", "email": "Newbie@Example.com", "name": "New Bie", "exp": now() + 600});
        let me: Value = server.bearer(Method::GET, "/rest/api/2/myself", &mint_jwt("k1", &claims)).send().await.unwrap().json().await.unwrap();
        assert_eq!((me["name"].as_str(), me["displayName"].as_str()), (Some("Newbie@Example.com"), Some("New Bie")), "shown as the provider gave it, keyed lower-case");
        // It has no password: Basic never works for it.
        let basic = server.basic(Method::GET, "/rest/api/2/myself", "newbie@example.com", "").send().await.unwrap();
        assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
        let provisioned = server.audit("action=identity.user.provisioned&target=user:newbie@example.com", 1).await;
        assert_eq!(provisioned[0]["reason"], format!("identityprovider:{}", made["id"]));
        assert_eq!(provisioned[0]["credential"]["kind"], "external_jwt");
        // The second token finds the same user.
        let again: Value = server.bearer(Method::GET, "/rest/api/2/myself", &mint_jwt("k1", &claims)).send().await.unwrap().json().await.unwrap();
        assert_eq!(again["key"], me["key"]);
        assert_eq!(server.audit("action=identity.user.provisioned", 1).await.len(), 1, "provisioned once");
        // The provider's first use is audited, once.
        let first = server.audit(&format!("action=identity.provider.first_used&target=identityprovider:{}", made["id"]), 1).await;
        assert_eq!((first.len(), first[0]["count"].as_i64()), (1, Some(1)), "{first:?}");
        assert_eq!(first[0]["reason"], "user:newbie@example.com");
        // Its use is in the usage trail, under the provider.
        server.sync().await;
        let usage = server.admin_json(Method::GET, &format!("/rest/tessera/1/usage?credential=external:{}", made["id"]), Value::Null, StatusCode::OK).await;
        assert_eq!((usage["kind"].as_str(), usage["name"].as_str()), (Some("external_jwt"), Some("Create")), "{usage}");
    }

    async fn keys_rotate_without_a_restart_and_forged_kids_cause_no_refetch_storm(db) {
        let mut config = test_config(&db);
        config.identity.jwks_refetch_seconds = 2;
        let server = TestServer::start_with(db, config).await;
        server.create_user("dev", &[]).await;
        let idp = Provider::start().await;
        let issuer = idp.issuer("rotate");
        server.admin_json(Method::POST, PROVIDERS, registration("Rotate", &issuer), StatusCode::CREATED).await;
        let claims = json!({"iss": issuer, "aud": "tessera", "preferred_username": "dev", "exp": now() + 600});
        let server = &server;
        let status = |kid: &'static str| { let token = mint_jwt(kid, &claims); async move { server.bearer(Method::GET, "/rest/api/2/myself", &token).send().await.unwrap().status() } };
        assert_eq!(status("k1").await, StatusCode::OK);
        let fetched = idp.key_sets_served();
        // A hundred forged key ids: at most one fetch.
        for _ in 0..100 {
            assert_eq!(status("forged").await, StatusCode::UNAUTHORIZED);
        }
        assert!(idp.key_sets_served() <= fetched + 1, "{} fetches", idp.key_sets_served() - fetched);
        // The provider rotates: k2 in, k1 out. Once the interval has passed, a token with the
        // new key fetches the set again, and the removed key stops working.
        idp.change(|b| b.keys = json!({"keys": [signer_jwk("k2")]}));
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(status("k2").await, StatusCode::OK);
        assert_eq!(status("k1").await, StatusCode::UNAUTHORIZED);
        // The provider down: the cached key keeps working.
        idp.change(|b| b.keys = json!("unavailable"));
        tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
        assert_eq!(status("k3").await, StatusCode::UNAUTHORIZED);
        assert_eq!(status("k2").await, StatusCode::OK);
    }

    async fn the_python_jira_client_works_with_a_providers_jwt(db) {
        let Some(python) = crate::python_client::python_with("jira") else { return };
        let server = TestServer::start(db).await;
        server.create_project("PJ").await;
        server.create_user("sso-dev", &[]).await;
        server.add_to_role("PJ", 10001, "sso-dev").await;
        let idp = Provider::start().await;
        let issuer = idp.issuer("py");
        server.admin_json(Method::POST, PROVIDERS, json!({"name": "Py", "issuer": issuer, "audiences": ["tessera"], "defaultScopes": ["WRITE"]}), StatusCode::CREATED).await;
        let token = mint_jwt("k1", &json!({"iss": issuer, "aud": "tessera", "preferred_username": "sso-dev", "exp": now() + 600}));
        let url = server.url("");
        let args = ["--url", url.trim_end_matches('/'), "--token", &token, "--user", "sso-dev", "--project", "PJ"];
        let (ok, stdout, stderr) = crate::python_client::run_script(python, "jwt_client.py", args.map(String::from).to_vec()).await;
        assert!(ok && stdout.contains("jwt: ok"), "the Jira client failed:\n{stdout}\n{stderr}");
    }

    async fn the_groups_claim_keeps_the_mapped_groups_in_line(db) {
        let server = TestServer::start(db).await;
        for group in ["sso-engineers", "sso-admins", "manual"] {
            server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": group}), StatusCode::CREATED).await;
        }
        server.create_user("dev", &["manual", "sso-admins"]).await;
        let idp = Provider::start().await;
        let issuer = idp.issuer("groups");
        server.admin_json(Method::POST, PROVIDERS, json!({
            "name": "Groups", "issuer": issuer, "audiences": ["tessera"], "groupsClaim": "groups",
            "groupMapping": {"engineering": "SSO-Engineers", "admins": "sso-admins", "ghosts": "no-such-group"},
        }), StatusCode::CREATED).await;
        let groups_of = || async {
            let user = server.admin_json(Method::GET, "/rest/api/2/user?username=dev&expand=groups", Value::Null, StatusCode::OK).await;
            let mut names: Vec<String> = user["groups"]["items"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap().to_string()).collect();
            names.sort();
            names
        };
        let with_groups = |groups: Value| mint_jwt("k1", &json!({"iss": issuer, "aud": "tessera", "preferred_username": "dev", "groups": groups, "exp": now() + 600}));
        // The token names engineering (mapped), ghosts (mapped to a group that does not
        // exist) and sales (unmapped): dev joins sso-engineers and leaves sso-admins (mapped,
        // not named); manual and jira-users are not the mapping's to touch.
        let ok = server.bearer(Method::GET, "/rest/api/2/myself", &with_groups(json!(["engineering", "ghosts", "sales"]))).send().await.unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        assert_eq!(groups_of().await, ["jira-users", "manual", "sso-engineers"]);
        let events = server.audit("action=user.groups.synced&target=user:dev", 1).await;
        assert_eq!(events[0]["reason"], "joined [sso-engineers], left [sso-admins]");
        // Nothing changes, nothing is written or recorded again.
        server.bearer(Method::GET, "/rest/api/2/myself", &with_groups(json!(["engineering"]))).send().await.unwrap();
        assert_eq!(server.audit("action=user.groups.synced&target=user:dev", 1).await.len(), 1);
        // A single string is a group too; no groups at all leaves every mapped group.
        server.bearer(Method::GET, "/rest/api/2/myself", &with_groups(json!("admins"))).send().await.unwrap();
        assert_eq!(groups_of().await, ["jira-users", "manual", "sso-admins"]);
        server.bearer(Method::GET, "/rest/api/2/myself", &with_groups(json!([]))).send().await.unwrap();
        assert_eq!(groups_of().await, ["jira-users", "manual"]);
        // groupSync "provisioning": an existing user's groups are tessera's from now on; a
        // user the provider creates gets the mapped groups once.
        let made = server.admin_json(Method::GET, PROVIDERS, Value::Null, StatusCode::OK).await;
        assert_eq!(made[0]["groupSync"], "always");
        let one = format!("{PROVIDERS}/{}", made[0]["id"]);
        let changed = server.admin_json(Method::PUT, &one, json!({"groupSync": "provisioning", "provisioning": "create"}), StatusCode::OK).await;
        assert_eq!(changed["groupSync"], "provisioning");
        server.bearer(Method::GET, "/rest/api/2/myself", &with_groups(json!(["admins"]))).send().await.unwrap();
        assert_eq!(groups_of().await, ["jira-users", "manual"]);
        let newcomer = mint_jwt("k1", &json!({"iss": issuer, "aud": "tessera", "preferred_username": "newcomer", "groups": ["engineering"], "exp": now() + 600}));
        assert_eq!(server.bearer(Method::GET, "/rest/api/2/myself", &newcomer).send().await.unwrap().status(), StatusCode::OK);
        let user = server.admin_json(Method::GET, "/rest/api/2/user?username=newcomer&expand=groups", Value::Null, StatusCode::OK).await;
        let names: Vec<&str> = user["groups"]["items"].as_array().unwrap().iter().map(|g| g["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"sso-engineers"), "{names:?}");
        let bad = server.admin(Method::PUT, &one).json(&json!({"groupSync": "sometimes"})).send().await.unwrap();
        assert!(expect_error(bad, StatusCode::BAD_REQUEST).await["errors"]["groupSync"].is_string());
    }

    async fn a_real_oidc_providers_client_credentials_token_works(db) {
        let Some(provider) = RealProvider::start(None).await else { return };
        let server = TestServer::start(db).await;
        server.create_user("tessera-ci", &[]).await;
        // Discovery and keys from node-oidc-provider itself.
        server.admin_json(Method::POST, PROVIDERS, json!({"name": "node-oidc-provider", "issuer": provider.issuer, "audiences": ["tessera"], "userClaim": "sub"}), StatusCode::CREATED).await;
        let access = provider.client_credentials_token().await;
        let me: Value = server.bearer(Method::GET, "/rest/api/2/myself", &access).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["name"], "tessera-ci");
        // Its signature changed by one character: refused.
        let mut forged = access.clone().into_bytes();
        let at = forged.len() - 10;
        forged[at] = if forged[at] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        let refused = server.bearer(Method::GET, "/rest/api/2/myself", &forged).send().await.unwrap();
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "jwt_signature");
    }

    async fn a_real_providers_key_rotation_needs_no_restart(db) {
        let mut config = test_config(&db);
        config.identity.jwks_refetch_seconds = 0;
        let server = TestServer::start_with(db, config).await;
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let Some(first) = RealProvider::start_on(port, "op-1", None).await else { return };
        server.create_user("tessera-ci", &[]).await;
        server.admin_json(Method::POST, PROVIDERS, json!({"name": "node-oidc-provider", "issuer": first.issuer, "audiences": ["tessera"], "userClaim": "sub"}), StatusCode::CREATED).await;
        let old = first.client_credentials_token().await;
        let me = |token: String| {
            let request = server.bearer(Method::GET, "/rest/api/2/myself", &token);
            async move { request.send().await.unwrap() }
        };
        assert_eq!(me(old.clone()).await.status(), StatusCode::OK);
        // The provider comes back with a new key (same issuer): its tokens work at once, the
        // old key's do not, and tessera was not restarted.
        let issuer = first.issuer.clone();
        first.stop().await;
        let second = RealProvider::start_on(port, "op-2", None).await.expect("the provider restarts");
        assert_eq!(second.issuer, issuer);
        let new = second.client_credentials_token().await;
        let response = me(new).await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(json_of(response).await["name"], "tessera-ci");
        let refused = me(old).await;
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "jwt_key_unknown");
    }
}
