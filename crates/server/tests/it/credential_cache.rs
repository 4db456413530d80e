//! The verified-credential cache never lets a changed credential through, on SQLite and on
//! PostgreSQL: each test warms the cache with a token, a Basic password or a session (it is used, and answered from memory),
//! changes what the token depends on, and tries it on the very next request (through the same
//! instance), or within a second (through another instance sharing the database, also with
//! the instance's listening connection killed on PostgreSQL).

use std::time::Duration;

use crate::common::oauth1::{now_seconds, signer};
use crate::common::*;
use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::{TestDatabase, backend_tests};

const MYSELF: &str = "/rest/api/2/myself";
const TOKENS: &str = "/rest/pat/latest/tokens";
const POLICY: &str = "/rest/tessera/1/policy";
/// An RSA key whose private half nobody here has.
const OTHER_KEY: &str = include_str!("../../../auth/src/oauth1/testdata/consumer.pub.pem");

async fn status(request: RequestBuilder) -> StatusCode {
    request.send().await.unwrap().status()
}

/// Makes the request three times, each answered 200: the first verifies the credential, the
/// next ones are answered from the cache.
async fn warm(request: impl Fn() -> RequestBuilder) {
    for _ in 0..3 {
        assert_eq!(status(request()).await, StatusCode::OK);
    }
}

/// Shows that answers come from memory: `attempt(n)` warms a credential, revokes it in the
/// database behind the triggers' back (dropping them first when `n` is 0) and says whether it
/// is still accepted. An instance drops what it remembers once more when it hears late (under
/// load) of an earlier change of its own: so this tries a few times before it fails.
async fn remembered_past_a_hidden_revocation<F: Future<Output = bool>>(
    attempt: impl Fn(usize) -> F,
) {
    for n in 0..5 {
        tokio::time::sleep(Duration::from_millis(600)).await;
        if attempt(n).await {
            return;
        }
    }
    panic!("never answered from memory");
}

/// Why a request was refused (401).
async fn refusal(request: RequestBuilder) -> String {
    let response = request.send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    response.headers()["x-authentication-denied-reason"]
        .to_str()
        .unwrap()
        .to_string()
}

async fn token_id(server: &TestServer, raw: &str) -> Value {
    json_of(
        server
            .bearer(Method::GET, &format!("{TOKENS}/current"), raw)
            .send()
            .await
            .unwrap(),
    )
    .await["id"]
        .clone()
}

async fn put_policy(server: &TestServer, policy: Value) {
    server
        .admin_json(Method::PUT, POLICY, policy, StatusCode::OK)
        .await;
}

fn with_proxy(db: &TestDatabase) -> tessera_server::Config {
    let mut config = test_config(db);
    config.trusted_proxies = vec!["127.0.0.1/32".parse().unwrap()];
    config
}

backend_tests! {
    async fn a_remembered_token_is_refused_on_the_next_request_after_any_change(db) {
        let config = with_proxy(&db);
        let server = TestServer::start_with(db, config).await;
        server.create_user("dev", &[]).await;
        let token = |name: &'static str| {
            let server = &server;
            async move { server.create_token("dev", json!({"name": name, "expirationDuration": 5})).await }
        };

        // Revoked by its user.
        let raw = token("revoked").await;
        warm(|| server.bearer(Method::GET, MYSELF, &raw)).await;
        let id = token_id(&server, &raw).await;
        assert_eq!(status(server.user(Method::DELETE, &format!("{TOKENS}/{id}"), "dev")).await, StatusCode::NO_CONTENT);
        assert_eq!(status(server.bearer(Method::GET, MYSELF, &raw)).await, StatusCode::UNAUTHORIZED);

        // Reported as leaked (revoked off the request: once that is done).
        let raw = token("leaked").await;
        warm(|| server.bearer(Method::GET, MYSELF, &raw)).await;
        let report = server.anonymous(Method::POST, "/rest/tessera/1/credentials/revoke").json(&json!({"credentials": [raw.clone()]}));
        assert_eq!(status(report).await, StatusCode::ACCEPTED);
        server.sync().await;
        assert_eq!(status(server.bearer(Method::GET, MYSELF, &raw)).await, StatusCode::UNAUTHORIZED);

        // Its user deactivated (Bearer and Basic with the token alike), then active again.
        let raw = token("owner").await;
        warm(|| server.bearer(Method::GET, MYSELF, &raw)).await;
        assert_eq!(status(server.basic(Method::GET, MYSELF, "dev", &raw)).await, StatusCode::OK);
        server.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": false}), StatusCode::OK).await;
        assert_eq!(status(server.bearer(Method::GET, MYSELF, &raw)).await, StatusCode::UNAUTHORIZED);
        assert_eq!(status(server.basic(Method::GET, MYSELF, "dev", &raw)).await, StatusCode::UNAUTHORIZED);
        server.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": true}), StatusCode::OK).await;
        warm(|| server.bearer(Method::GET, MYSELF, &raw)).await;

        // A change of the user's groups under a policy that admits tokens by group.
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "api-users"}), StatusCode::CREATED).await;
        server.admin_json(Method::POST, "/rest/api/2/group/user?groupname=api-users", json!({"name": "dev"}), StatusCode::CREATED).await;
        put_policy(&server, json!({"methods": {"bearer_token": {"enabled": false, "exceptGroups": ["api-users"]}}})).await;
        warm(|| server.bearer(Method::GET, MYSELF, &raw)).await;
        let removed = server.admin(Method::DELETE, "/rest/api/2/group/user?groupname=api-users&username=dev");
        assert_eq!(status(removed).await, StatusCode::OK);
        assert_eq!(status(server.bearer(Method::GET, MYSELF, &raw)).await, StatusCode::FORBIDDEN);
        server.admin_json(Method::POST, "/rest/api/2/group/user?groupname=api-users", json!({"name": "dev"}), StatusCode::CREATED).await;
        warm(|| server.bearer(Method::GET, MYSELF, &raw)).await;

        // A policy change: the method switched off for everyone; then the address rules.
        put_policy(&server, json!({"methods": {"bearer_token": {"enabled": false}}})).await;
        assert_eq!(status(server.bearer(Method::GET, MYSELF, &raw)).await, StatusCode::FORBIDDEN);
        put_policy(&server, json!({})).await;
        warm(|| server.bearer(Method::GET, MYSELF, &raw)).await;
        put_policy(&server, json!({"groupAllowedIps": {"api-users": ["10.0.0.0/8"]}})).await;
        assert_eq!(status(server.bearer(Method::GET, MYSELF, &raw)).await, StatusCode::FORBIDDEN);
        let inside = server.bearer(Method::GET, MYSELF, &raw).header("x-forwarded-for", "10.1.2.3");
        assert_eq!(status(inside).await, StatusCode::OK);
        put_policy(&server, json!({})).await;

        // The token's own address allowlist holds on every remembered use.
        let narrow = server.create_token("dev", json!({"name": "narrow", "expirationDuration": 5, "allowedIps": ["10.9.0.0/16"]})).await;
        warm(|| server.bearer(Method::GET, MYSELF, &narrow).header("x-forwarded-for", "10.9.1.1")).await;
        let outside = server.bearer(Method::GET, MYSELF, &narrow).header("x-forwarded-for", "10.8.1.1");
        assert_eq!(status(outside).await, StatusCode::FORBIDDEN);

        // A service account's key, revoked by its owners; then the user deleted.
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "bots"}), StatusCode::CREATED).await;
        server.admin_json(Method::POST, "/rest/tessera/1/serviceaccounts", json!({"name": "deploy-bot", "ownerGroup": "bots"}), StatusCode::CREATED).await;
        let key = server.admin_json(Method::POST, "/rest/tessera/1/serviceaccounts/deploy-bot/keys", json!({"name": "ci", "expirationDuration": 5}), StatusCode::CREATED).await;
        let key_raw = key["rawToken"].as_str().unwrap().to_string();
        warm(|| server.bearer(Method::GET, MYSELF, &key_raw)).await;
        let revoked = server.admin(Method::DELETE, &format!("/rest/tessera/1/serviceaccounts/deploy-bot/keys/{}", key["id"]));
        assert_eq!(status(revoked).await, StatusCode::NO_CONTENT);
        assert_eq!(status(server.bearer(Method::GET, MYSELF, &key_raw)).await, StatusCode::UNAUTHORIZED);
        let last = token("last").await;
        warm(|| server.bearer(Method::GET, MYSELF, &last)).await;
        assert_eq!(status(server.admin(Method::DELETE, "/rest/api/2/user?username=dev")).await, StatusCode::NO_CONTENT);
        assert_eq!(status(server.bearer(Method::GET, MYSELF, &last)).await, StatusCode::UNAUTHORIZED);
    }

    async fn a_remembered_password_is_refused_after_a_change_or_a_suspension(db) {
        let mut config = test_config(&db);
        config.login_throttle.user_threshold = 3;
        let server = TestServer::start_with(db, config).await;
        server.create_user("dev", &[]).await;
        let basic = |password: &str| server.basic(Method::GET, MYSELF, "dev", password);
        warm(|| basic(PASSWORD)).await;
        // Reset by an administrator: the old password is refused on the next request.
        let reset = server.admin(Method::PUT, "/rest/api/2/user/password?username=dev").json(&json!({"password": "second-password"}));
        assert_eq!(status(reset).await, StatusCode::NO_CONTENT);
        assert_eq!(status(basic(PASSWORD)).await, StatusCode::UNAUTHORIZED);
        warm(|| basic("second-password")).await;
        // Suspended by wrong guesses: the remembered password waits like any other.
        for _ in 0..3 {
            assert_eq!(status(basic("not-the-password")).await, StatusCode::UNAUTHORIZED);
        }
        let throttled = basic("second-password").send().await.unwrap();
        assert_eq!((throttled.status(), throttled.headers()["x-authentication-denied-reason"].to_str().unwrap()), (StatusCode::FORBIDDEN, "login_throttled"));
        let cleared = server.admin(Method::DELETE, "/rest/tessera/1/loginfailures?username=dev");
        assert_eq!(status(cleared).await, StatusCode::NO_CONTENT);
        warm(|| basic("second-password")).await;
        // Deactivated.
        server.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": false}), StatusCode::OK).await;
        assert_eq!(status(basic("second-password")).await, StatusCode::UNAUTHORIZED);
    }

    async fn a_remembered_session_ends_with_its_logout_or_its_user_and_keeps_the_xsrf_rule(db) {
        let server = TestServer::start(db).await;
        server.create_user("dev", &[]).await;
        let get = |session: &str| server.with_session(Method::GET, MYSELF, session);
        let session = server.login("dev", PASSWORD).await;
        warm(|| get(&session)).await;
        // A cross-site request is refused on a remembered session as on any other.
        let logout = |session: &str| server.with_session(Method::DELETE, "/rest/auth/1/session", session);
        let forged = logout(&session).header("origin", "https://evil.example");
        assert_eq!(status(forged).await, StatusCode::FORBIDDEN);
        assert_eq!(status(get(&session)).await, StatusCode::OK);
        // Logged out: refused on the next request.
        assert_eq!(status(logout(&session)).await, StatusCode::NO_CONTENT);
        assert_eq!(status(get(&session)).await, StatusCode::UNAUTHORIZED);
        // Its user deactivated.
        let session = server.login("dev", PASSWORD).await;
        warm(|| get(&session)).await;
        server.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": false}), StatusCode::OK).await;
        assert_eq!(status(get(&session)).await, StatusCode::UNAUTHORIZED);
        // An administrator's remembered session makes changes as soon as its password is
        // re-entered (websudo), and not before.
        let admin = server.login("admin", ADMIN_PASSWORD).await;
        warm(|| get(&admin)).await;
        let change = || server.with_session(Method::PUT, POLICY, &admin).json(&json!({}));
        assert_eq!(status(change()).await, StatusCode::FORBIDDEN);
        server.websudo(&admin, ADMIN_PASSWORD).await;
        assert_eq!(status(change()).await, StatusCode::OK);
    }

    async fn every_instance_refuses_a_changed_token_within_a_second(db) {
        let (a, b) = tokio::join!(TestServer::start_shared(test_config(&db)), TestServer::start_shared(test_config(&db)));
        a.create_user("dev", &[]).await;
        let first = a.create_token("dev", json!({"name": "first", "expirationDuration": 5})).await;
        let second = a.create_token("dev", json!({"name": "second", "expirationDuration": 5})).await;
        for raw in [&first, &second] {
            warm(|| a.bearer(Method::GET, MYSELF, raw)).await;
            warm(|| b.bearer(Method::GET, MYSELF, raw)).await;
        }
        // Revoked through B: A refuses it within a second; B at once.
        let id = token_id(&b, &first).await;
        assert_eq!(status(b.user(Method::DELETE, &format!("{TOKENS}/{id}"), "dev")).await, StatusCode::NO_CONTENT);
        assert_eq!(status(b.bearer(Method::GET, MYSELF, &first)).await, StatusCode::UNAUTHORIZED);
        answered_within_a_second(|| a.bearer(Method::GET, MYSELF, &first), StatusCode::UNAUTHORIZED).await;
        // The user deactivated through A: B refuses the other token within a second.
        a.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": false}), StatusCode::OK).await;
        answered_within_a_second(|| b.bearer(Method::GET, MYSELF, &second), StatusCode::UNAUTHORIZED).await;
        a.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": true}), StatusCode::OK).await;
        answered_within_a_second(|| b.bearer(Method::GET, MYSELF, &second), StatusCode::OK).await;

        if db.url.starts_with("postgres") {
            // The connections that listen for changes killed: a revocation made before they
            // are back still reaches every instance within a second.
            let third = a.create_token("dev", json!({"name": "third", "expirationDuration": 5})).await;
            warm(|| a.bearer(Method::GET, MYSELF, &third)).await;
            warm(|| b.bearer(Method::GET, MYSELF, &third)).await;
            assert_eq!(kill_listeners(&db.url).await, [true, true], "one listener per instance");
            let id = token_id(&b, &third).await;
            assert_eq!(status(b.user(Method::DELETE, &format!("{TOKENS}/{id}"), "dev")).await, StatusCode::NO_CONTENT);
            answered_within_a_second(|| a.bearer(Method::GET, MYSELF, &third), StatusCode::UNAUTHORIZED).await;
            answered_within_a_second(|| b.bearer(Method::GET, MYSELF, &third), StatusCode::UNAUTHORIZED).await;
            // And they listen again: the next change arrives as promptly.
            tokio::time::sleep(Duration::from_millis(500)).await;
            a.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": false}), StatusCode::OK).await;
            answered_within_a_second(|| b.bearer(Method::GET, MYSELF, &second), StatusCode::UNAUTHORIZED).await;
        }
    }

    async fn an_application_links_answer_is_remembered_but_never_its_signature_nor_past_a_change(db) {
        let (a, b) = tokio::join!(TestServer::start_shared(test_config(&db)), TestServer::start_shared(test_config(&db)));
        a.create_user("dev", &[]).await;
        let (first, first_id) = a.approved_link("jira-cli", "dev", "WRITE").await;
        let (second, _) = a.approved_link("jira-cli", "dev", "READ").await;
        for link in [&first, &second] {
            warm(|| a.oauth1(Method::GET, MYSELF, link)).await;
            warm(|| b.oauth1(Method::GET, MYSELF, link)).await;
        }
        // Remembered or not, each signature is checked and each nonce spent: a request sent
        // again is a replay, here and on the other instance (sent there as to A's address).
        let header = signer().authorization(&Method::GET, &a.url(MYSELF), &first, &[], &[], now_seconds());
        let once = |server: &TestServer| server.request(Method::GET, MYSELF).header("authorization", header.clone());
        assert_eq!(status(once(&a)).await, StatusCode::OK);
        assert_eq!(refusal(once(&a)).await, "nonce_used");
        let address = reqwest::Url::parse(&a.url(MYSELF)).unwrap();
        let host = format!("{}:{}", address.host_str().unwrap(), address.port().unwrap());
        assert_eq!(refusal(once(&b).header("host", host)).await, "nonce_used");
        // Signed with another key, or for another request: refused though the token is remembered.
        let forged = header.replacen("oauth_signature=\"", "oauth_signature=\"A", 1);
        assert_eq!(refusal(a.request(Method::GET, MYSELF).header("authorization", forged)).await, "signature_invalid");
        let other_path = signer().authorization(&Method::GET, &a.url("/rest/api/2/serverInfo"), &first, &[], &[], now_seconds());
        assert_eq!(refusal(a.request(Method::GET, MYSELF).header("authorization", other_path)).await, "signature_invalid");

        // Revoked by its user through B: refused at once on B, within a second on A.
        let revoked = b.user(Method::DELETE, &format!("/rest/tessera/1/oauth1/tokens/{first_id}"), "dev");
        assert_eq!(status(revoked).await, StatusCode::NO_CONTENT);
        assert_eq!(status(b.oauth1(Method::GET, MYSELF, &first)).await, StatusCode::UNAUTHORIZED);
        answered_within_a_second(|| a.oauth1(Method::GET, MYSELF, &first), StatusCode::UNAUTHORIZED).await;
        // Its user deactivated through A: refused at once on A, within a second on B.
        a.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": false}), StatusCode::OK).await;
        assert_eq!(status(a.oauth1(Method::GET, MYSELF, &second)).await, StatusCode::UNAUTHORIZED);
        answered_within_a_second(|| b.oauth1(Method::GET, MYSELF, &second), StatusCode::UNAUTHORIZED).await;
        a.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": true}), StatusCode::OK).await;
        answered_within_a_second(|| b.oauth1(Method::GET, MYSELF, &second), StatusCode::OK).await;
        warm(|| a.oauth1(Method::GET, MYSELF, &second)).await;
        // The method switched off by the policy through B.
        put_policy(&b, json!({"methods": {"oauth1": {"enabled": false}}})).await;
        assert_eq!(status(b.oauth1(Method::GET, MYSELF, &second)).await, StatusCode::FORBIDDEN);
        answered_within_a_second(|| a.oauth1(Method::GET, MYSELF, &second), StatusCode::FORBIDDEN).await;
        put_policy(&b, json!({})).await;
        answered_within_a_second(|| a.oauth1(Method::GET, MYSELF, &second), StatusCode::OK).await;

        if db.url.starts_with("postgres") {
            // The listening connections killed: a revocation made before they are back still
            // reaches every instance within a second.
            let (third, third_id) = a.approved_link("jira-cli", "dev", "READ").await;
            warm(|| a.oauth1(Method::GET, MYSELF, &third)).await;
            warm(|| b.oauth1(Method::GET, MYSELF, &third)).await;
            assert_eq!(kill_listeners(&db.url).await, [true, true], "one listener per instance");
            let revoked = a.user(Method::DELETE, &format!("/rest/tessera/1/oauth1/tokens/{third_id}"), "dev");
            assert_eq!(status(revoked).await, StatusCode::NO_CONTENT);
            answered_within_a_second(|| a.oauth1(Method::GET, MYSELF, &third), StatusCode::UNAUTHORIZED).await;
            answered_within_a_second(|| b.oauth1(Method::GET, MYSELF, &third), StatusCode::UNAUTHORIZED).await;
            tokio::time::sleep(Duration::from_millis(500)).await;
        }

        // The application's key replaced through B: signatures by the old key are refused
        // at once on B, within a second on A.
        let consumer = "/rest/tessera/1/oauth1/consumers/jira-cli";
        b.admin_json(Method::PUT, consumer, json!({"publicKey": OTHER_KEY}), StatusCode::OK).await;
        assert_eq!(refusal(b.oauth1(Method::GET, MYSELF, &second)).await, "signature_invalid");
        answered_within_a_second(|| a.oauth1(Method::GET, MYSELF, &second), StatusCode::UNAUTHORIZED).await;
        b.admin_json(Method::PUT, consumer, json!({"publicKey": signer().public_pem}), StatusCode::OK).await;
        answered_within_a_second(|| a.oauth1(Method::GET, MYSELF, &second), StatusCode::OK).await;

        // The consumer deleted through A: every token it held ends, within a second on B.
        let deleted = a.admin(Method::DELETE, consumer);
        assert_eq!(status(deleted).await, StatusCode::NO_CONTENT);
        assert_eq!(status(a.oauth1(Method::GET, MYSELF, &second)).await, StatusCode::UNAUTHORIZED);
        answered_within_a_second(|| b.oauth1(Method::GET, MYSELF, &second), StatusCode::UNAUTHORIZED).await;

        // The answers really come from memory: a revocation written behind the triggers that
        // tell every instance is not seen by an instance that remembers the token.
        let drop = if db.url.starts_with("postgres") { "DROP TRIGGER oauth1_tokens_auth ON oauth1_tokens" } else { "DROP TRIGGER oauth1_tokens_update_auth" };
        let (a, b, url) = (&a, &b, db.url.as_str());
        remembered_past_a_hidden_revocation(|attempt| async move {
            let (link, id) = a.approved_link("jira-cli", "dev", "READ").await;
            warm(|| b.oauth1(Method::GET, MYSELF, &link)).await;
            let revoke = format!("UPDATE oauth1_tokens SET revoked_at = 1 WHERE id = {id}");
            execute_directly(url, (attempt == 0).then(|| drop.to_string()).into_iter().chain([revoke])).await;
            status(b.oauth1(Method::GET, MYSELF, &link)).await == StatusCode::OK
        }).await;
    }

    async fn introspection_remembers_its_client_and_token_but_never_past_a_change(db) {
        let (a, b) = tokio::join!(TestServer::start_shared(test_config(&db)), TestServer::start_shared(test_config(&db)));
        let client = bot_client(&a).await;
        // Revoked through B: B says inactive at once, A within a second.
        let first = access_token(&a, &client).await;
        warm_introspection(&a, &b, &client, &first).await;
        let revoke = b.http.post(b.url("/rest/oauth2/latest/revoke")).basic_auth(&client.0, Some(&client.1))
            .form(&[("token", first.as_str())]).send().await.unwrap();
        assert_eq!(revoke.status(), StatusCode::OK);
        assert_eq!(introspected(&b, &client, &first).await, Some(false));
        introspected_within_a_second(&a, &client, &first, Some(false)).await;

        // Its user deactivated through A: inactive at once on A, within a second on B.
        let second = access_token(&a, &client).await;
        warm_introspection(&a, &b, &client, &second).await;
        a.admin_json(Method::PUT, "/rest/api/2/user?username=bot", json!({"active": false}), StatusCode::OK).await;
        assert_eq!(introspected(&a, &client, &second).await, Some(false));
        introspected_within_a_second(&b, &client, &second, Some(false)).await;
        a.admin_json(Method::PUT, "/rest/api/2/user?username=bot", json!({"active": true}), StatusCode::OK).await;
        introspected_within_a_second(&b, &client, &second, Some(true)).await;

        // The client's secret rotated through A: the old one is refused at once on A, within
        // a second on B; the new one works, and the tokens issued under the old one are gone.
        let rotated = a.admin_json(Method::POST, &format!("{CLIENTS}/{}/secret", client.0), json!({}), StatusCode::OK).await;
        let renewed = (client.0.clone(), rotated["clientSecret"].as_str().unwrap().to_string());
        assert_eq!(introspected(&a, &client, &second).await, None);
        introspected_within_a_second(&b, &client, &second, None).await;
        assert_eq!(introspected(&b, &renewed, &second).await, Some(false));
        let client = renewed;
        let second = access_token(&a, &client).await;
        warm_introspection(&a, &b, &client, &second).await;

        // The client disabled through B: refused at once on B, within a second on A; enabled
        // again, its token is live again (disabling stops a token's use, not its life).
        b.admin_json(Method::PUT, &format!("{CLIENTS}/{}", client.0), json!({"enabled": false}), StatusCode::OK).await;
        assert_eq!(introspected(&b, &client, &second).await, None);
        introspected_within_a_second(&a, &client, &second, None).await;
        b.admin_json(Method::PUT, &format!("{CLIENTS}/{}", client.0), json!({"enabled": true}), StatusCode::OK).await;
        introspected_within_a_second(&a, &client, &second, Some(true)).await;

        if db.url.starts_with("postgres") {
            // The listening connections killed: a revocation made before they are back still
            // reaches every instance within a second.
            let third = access_token(&a, &client).await;
            warm_introspection(&a, &b, &client, &third).await;
            assert_eq!(kill_listeners(&db.url).await, [true, true], "one listener per instance");
            let revoke = a.http.post(a.url("/rest/oauth2/latest/revoke")).basic_auth(&client.0, Some(&client.1))
                .form(&[("token", third.as_str())]).send().await.unwrap();
            assert_eq!(revoke.status(), StatusCode::OK);
            introspected_within_a_second(&a, &client, &third, Some(false)).await;
            introspected_within_a_second(&b, &client, &third, Some(false)).await;
            // Listening again before what follows.
            tokio::time::sleep(Duration::from_millis(500)).await;
        }

        // The answers really come from memory: a revocation written behind the triggers that
        // tell every instance is not seen by an instance that remembers the token.
        let drop = if db.url.starts_with("postgres") { "DROP TRIGGER oauth_tokens_auth ON oauth_tokens" } else { "DROP TRIGGER oauth_tokens_update_auth" };
        let client = &client;
        let (a, b, url) = (&a, &b, db.url.as_str());
        remembered_past_a_hidden_revocation(|attempt| async move {
            let token = access_token(a, client).await;
            warm_introspection(a, b, client, &token).await;
            let revoke = "UPDATE oauth_tokens SET revoked_at = 1".to_string();
            execute_directly(url, (attempt == 0).then(|| drop.to_string()).into_iter().chain([revoke])).await;
            introspected(b, client, &token).await == Some(true) && introspected(b, client, &token).await == Some(true)
        }).await;
    }
}

/// A confidential OAuth 2.0 client acting as service account `bot`: its id and secret.
async fn bot_client(server: &TestServer) -> (String, String) {
    server
        .admin_json(
            Method::POST,
            "/rest/api/2/group",
            json!({"name": "bots"}),
            StatusCode::CREATED,
        )
        .await;
    let account = json!({"name": "bot", "ownerGroup": "bots"});
    server
        .admin_json(
            Method::POST,
            "/rest/tessera/1/serviceaccounts",
            account,
            StatusCode::CREATED,
        )
        .await;
    let client = json!({"name": "Gateway", "redirectUris": ["https://gw.example/cb"],
                        "confidential": true, "scopes": ["READ"], "serviceAccount": "bot"});
    let made = server
        .admin_json(Method::POST, CLIENTS, client, StatusCode::CREATED)
        .await;
    (
        made["clientId"].as_str().unwrap().into(),
        made["clientSecret"].as_str().unwrap().into(),
    )
}

/// A new access token of the client (client_credentials).
async fn access_token(server: &TestServer, (id, secret): &(String, String)) -> String {
    let response = server
        .http
        .post(server.url("/rest/oauth2/latest/token"))
        .basic_auth(id, Some(secret))
        .form(&[("grant_type", "client_credentials")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    json_of(response).await["access_token"]
        .as_str()
        .unwrap()
        .to_string()
}

/// What introspection says of `token` to the client: `Some(active)`, or `None` when the
/// client itself is refused.
async fn introspected(
    server: &TestServer,
    (id, secret): &(String, String),
    token: &str,
) -> Option<bool> {
    let response = server
        .http
        .post(server.url("/rest/oauth2/latest/introspect"))
        .basic_auth(id, Some(secret))
        .form(&[("token", token)])
        .send()
        .await
        .unwrap();
    match response.status() {
        StatusCode::OK => json_of(response).await["active"].as_bool(),
        StatusCode::UNAUTHORIZED => None,
        other => panic!("introspection answered {other}"),
    }
}

/// Introspects `token` three times on each instance, active each time (the first reads, the
/// next ones remember); a wrong secret is never let through by the remembered right one.
async fn warm_introspection(
    a: &TestServer,
    b: &TestServer,
    client: &(String, String),
    token: &str,
) {
    let wrong = (client.0.clone(), format!("{}x", client.1));
    for server in [a, b] {
        for _ in 0..3 {
            assert_eq!(introspected(server, client, token).await, Some(true));
        }
        assert_eq!(introspected(server, &wrong, token).await, None);
    }
}

/// Introspects until the answer is `expected`, for at most a second.
async fn introspected_within_a_second(
    server: &TestServer,
    client: &(String, String),
    token: &str,
    expected: Option<bool>,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    loop {
        let answer = introspected(server, client, token).await;
        if answer == expected {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "still {answer:?} after a second, not {expected:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

const CLIENTS: &str = "/rest/tessera/1/oauth2/clients";
