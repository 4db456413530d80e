//! Requests signed by an OAuth 1.0a application link, through a real server on both stores:
//! a signed request acts as the approving user, within the access approved; everything the
//! signature covers is checked (method, URL, query, urlencoded body, `oauth_body_hash`), and
//! each refusal answers with its `oauth_problem` in the challenge and the audit trail; the
//! changelog and the usage trail name the application; the policy can switch the method off.

use crate::common::oauth1::{Link, now_seconds, signer};
use crate::common::*;
use base64::Engine;
use reqwest::{Method, Response, StatusCode};
use serde_json::{Value, json};
use sha1::Digest;
use tessera_core::audit::AuditEvent;
use tessera_core::clock::{Clock, SystemClock};
use tessera_core::store::OAuth1Store;
use tessera_testkit::backend_tests;

const MYSELF: &str = "/rest/api/2/myself";
const CONSUMER_PUB: &str = include_str!("../../../auth/src/oauth1/testdata/consumer.pub.pem");

/// A project `OA` with an issue, and `dev` in its Developers role.
async fn world(server: &TestServer) -> String {
    server.create_project("OA").await;
    server.create_user("dev", &[]).await;
    server.add_to_role("OA", 10001, "dev").await;
    server.create_issue("OA", "signed work").await
}

/// The `oauth_problem` a refusal names (the status is 401 with an `OAuth` challenge).
async fn problem(response: Response) -> String {
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenges: Vec<String> = response
        .headers()
        .get_all("www-authenticate")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let oauth = challenges
        .iter()
        .find(|c| c.starts_with("OAuth "))
        .unwrap_or_else(|| panic!("no OAuth challenge in {challenges:?}"));
    let reason = response.headers()["x-authentication-denied-reason"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        oauth.contains(&format!("oauth_problem=\"{reason}\"")),
        "{oauth}"
    );
    let body: Value = response.json().await.unwrap();
    assert!(
        body["errorMessages"][0].as_str().unwrap().contains(&reason),
        "{body}"
    );
    reason
}

/// A success's JSON.
async fn ok_json(response: Response) -> Value {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, StatusCode::OK, "{body}");
    serde_json::from_str(&body).unwrap()
}

/// A request with a signature made for another (or the same) request.
fn with_header(
    server: &TestServer,
    method: Method,
    path: &str,
    header: String,
) -> reqwest::RequestBuilder {
    server.request(method, path).header("authorization", header)
}

backend_tests! {
    async fn a_signed_request_acts_as_its_user_within_the_access_approved(db) {
        let server = TestServer::start(db).await;
        let key = world(&server).await;
        let (write, _) = server.approved_link("jira-cli", "dev", "WRITE").await;
        let me = ok_json(server.oauth1(Method::GET, MYSELF, &write).send().await.unwrap()).await;
        assert_eq!(me["name"], "dev");
        // The query is signed too, and the user's own permissions apply.
        let found = ok_json(server.oauth1(Method::GET, "/rest/api/2/search?jql=project%20%3D%20OA&fields=summary", &write).send().await.unwrap()).await;
        assert_eq!(found["total"], 1);
        let edit = json!({"fields": {"summary": "renamed by the app"}});
        let edited = server.oauth1(Method::PUT, &format!("/rest/api/2/issue/{key}"), &write).json(&edit).send().await.unwrap();
        assert_eq!(edited.status(), StatusCode::NO_CONTENT);
        // The change names the credential kind and the application.
        let issue = ok_json(server.admin(Method::GET, &format!("/rest/api/2/issue/{key}?expand=changelog")).send().await.unwrap()).await;
        let change = &issue["changelog"]["histories"][0]["tessera"]["credential"];
        assert_eq!(change["kind"], "oauth1", "{issue}");
        assert_eq!(change["client"], json!({"id": "jira-cli", "name": "jira-cli app"}));
        // Approved for reading only: no change, whatever the user may do.
        let (read, read_id) = server.approved_link("jira-cli", "dev", "READ").await;
        ok_json(server.oauth1(Method::GET, MYSELF, &read).send().await.unwrap()).await;
        let refused = server.oauth1(Method::PUT, &format!("/rest/api/2/issue/{key}"), &read).json(&edit).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        // The usage trail names the token, its user and its application.
        server.sync().await;
        let usage = server.admin_json(Method::GET, &format!("/rest/tessera/1/usage?credential=oauth1:{read_id}"), Value::Null, StatusCode::OK).await;
        assert_eq!((usage["kind"].as_str(), usage["owner"].as_str(), usage["name"].as_str()), (Some("oauth1"), Some("dev"), Some("jira-cli app")), "{usage}");
        assert_eq!(usage["clients"][0]["requests"], 2, "{usage}");
    }

    async fn everything_the_signature_covers_is_checked(db) {
        let server = TestServer::start(db).await;
        let key = world(&server).await;
        let (link, _) = server.approved_link("jira-cli", "dev", "WRITE").await;
        let sign = |method: &Method, path: &str, extra: &[(&str, &str)], body: &[(String, String)]| {
            signer().authorization(method, &server.url(path), &link, extra, body, now_seconds())
        };
        // Another path, method or query than the one signed.
        let header = sign(&Method::GET, MYSELF, &[], &[]);
        assert_eq!(problem(with_header(&server, Method::GET, "/rest/api/2/serverInfo", header.clone()).send().await.unwrap()).await, "signature_invalid");
        let issue = format!("/rest/api/2/issue/{key}");
        let read_it = sign(&Method::GET, &issue, &[], &[]);
        assert_eq!(problem(with_header(&server, Method::DELETE, &issue, read_it).send().await.unwrap()).await, "signature_invalid");
        ok_json(server.admin(Method::GET, &issue).send().await.unwrap()).await;
        assert_eq!(problem(with_header(&server, Method::GET, &format!("{MYSELF}?expand=groups"), header.clone()).send().await.unwrap()).await, "signature_invalid");
        // The genuine request passes once; its replay is refused.
        ok_json(with_header(&server, Method::GET, MYSELF, header.clone()).send().await.unwrap()).await;
        assert_eq!(problem(with_header(&server, Method::GET, MYSELF, header).send().await.unwrap()).await, "nonce_used");
        // An urlencoded body's parameters are signed: changed, refused; as signed, the
        // request reaches the route (which then wants JSON).
        let form = vec![("jql".to_string(), "project = OA".to_string())];
        let header = sign(&Method::POST, "/rest/api/2/search", &[], &form);
        let tampered = with_header(&server, Method::POST, "/rest/api/2/search", header.clone())
            .header("content-type", "application/x-www-form-urlencoded").body("jql=project+%3D+XX").send().await.unwrap();
        assert_eq!(problem(tampered).await, "signature_invalid");
        let genuine = with_header(&server, Method::POST, "/rest/api/2/search", header)
            .header("content-type", "application/x-www-form-urlencoded").body("jql=project+%3D+OA").send().await.unwrap();
        assert_eq!(genuine.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        // Another body's hash: right, the request goes through; wrong, refused.
        let body = json!({"fields": {"project": {"key": "OA"}, "issuetype": {"name": "Task"}, "summary": "hashed"}}).to_string();
        let hash = base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(body.as_bytes()));
        let header = sign(&Method::POST, "/rest/api/2/issue", &[("oauth_body_hash", &hash)], &[]);
        let wrong = with_header(&server, Method::POST, "/rest/api/2/issue", header.clone())
            .header("content-type", "application/json").body(body.replace("hashed", "swapped")).send().await.unwrap();
        assert_eq!(problem(wrong).await, "signature_invalid");
        let header = sign(&Method::POST, "/rest/api/2/issue", &[("oauth_body_hash", &hash)], &[]);
        let right = with_header(&server, Method::POST, "/rest/api/2/issue", header)
            .header("content-type", "application/json").body(body).send().await.unwrap();
        assert_eq!(right.status(), StatusCode::CREATED);
        // A request an hour old, or signed by another key.
        let old = signer().authorization(&Method::GET, &server.url(MYSELF), &link, &[], &[], now_seconds() - 3600);
        assert_eq!(problem(with_header(&server, Method::GET, MYSELF, old).send().await.unwrap()).await, "timestamp_refused");
        server.admin_json(Method::POST, "/rest/tessera/1/oauth1/consumers", json!({"consumerKey": "other-key", "name": "Other", "publicKey": CONSUMER_PUB}), StatusCode::CREATED).await;
        let (foreign, _) = server.approved_link("other-key", "dev", "WRITE").await;
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &foreign).send().await.unwrap()).await, "signature_invalid");
        // A token of another consumer, a made-up token, no token, an unknown consumer.
        let (elsewhere, _) = server.approved_link("second-app", "dev", "WRITE").await;
        let swapped = Link { consumer_key: "jira-cli".into(), token: elsewhere.token.clone() };
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &swapped).send().await.unwrap()).await, "token_rejected");
        let made_up = Link { consumer_key: "jira-cli".into(), token: Some("ts1at_madeup".into()) };
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &made_up).send().await.unwrap()).await, "token_rejected");
        let two_legged = Link { consumer_key: "jira-cli".into(), token: None };
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &two_legged).send().await.unwrap()).await, "permission_denied");
        let unknown = Link { consumer_key: "nobody".into(), token: link.token.clone() };
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &unknown).send().await.unwrap()).await, "consumer_key_unknown");
        // A signed body is read within the body limit, never beyond it.
        let huge = vec![b'x'; 2 * 1024 * 1024];
        let header = sign(&Method::POST, "/rest/api/2/issue", &[], &[]);
        let too_large = with_header(&server, Method::POST, "/rest/api/2/issue", header).header("content-type", "application/json").body(huge).send().await.unwrap();
        assert_eq!(too_large.status(), StatusCode::PAYLOAD_TOO_LARGE);
        // A malformed header is refused as such.
        let garbled = with_header(&server, Method::GET, MYSELF, "OAuth oauth_token".into()).send().await.unwrap();
        assert_eq!(garbled.status(), StatusCode::BAD_REQUEST);
        // Each refusal is in the audit trail with its problem, and no secret.
        let refused = server.audit("action=token.refused&target=oauth1consumer:jira-cli", 4).await;
        let reasons: Vec<&str> = refused.iter().map(|e| e["reason"].as_str().unwrap()).collect();
        for expected in ["signature_invalid", "nonce_used", "timestamp_refused", "token_rejected", "permission_denied"] {
            assert!(reasons.contains(&expected), "{expected} in {reasons:?}");
        }
        let text = serde_json::to_string(&refused).unwrap();
        assert!(!text.contains(link.token.as_deref().unwrap()), "no token in the audit");
    }

    async fn revoked_expired_deactivated_and_deleted_end_at_once(db) {
        let server = TestServer::start(db).await;
        world(&server).await;
        let (link, id) = server.approved_link("jira-cli", "dev", "WRITE").await;
        ok_json(server.oauth1(Method::GET, MYSELF, &link).send().await.unwrap()).await;
        let event = AuditEvent::anonymous(SystemClock.now(), "127.0.0.1".parse().unwrap(), "oauth1.token.revoked", format!("oauth1:{id}"));
        assert!(server.store.revoke_oauth1_token(id, SystemClock.now(), &event).await.unwrap());
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &link).send().await.unwrap()).await, "token_rejected");
        // An expired token.
        let (expired, _) = server.approved_link_until("jira-cli", "dev", "WRITE", Some(SystemClock.now())).await;
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &expired).send().await.unwrap()).await, "token_expired");
        // A deactivated user's links stop working, and work again on reactivation.
        let (link, _) = server.approved_link("jira-cli", "dev", "WRITE").await;
        server.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": false}), StatusCode::OK).await;
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &link).send().await.unwrap()).await, "permission_denied");
        server.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": true}), StatusCode::OK).await;
        ok_json(server.oauth1(Method::GET, MYSELF, &link).send().await.unwrap()).await;
        // Reported as leaked (by anyone): revoked, as every tessera secret is.
        let (leaked, _) = server.approved_link("jira-cli", "dev", "WRITE").await;
        let report = server.anonymous(Method::POST, "/rest/tessera/1/credentials/revoke").json(&json!({"credentials": [leaked.token.clone()]})).send().await.unwrap();
        assert_eq!(report.status(), StatusCode::ACCEPTED);
        server.sync().await;
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &leaked).send().await.unwrap()).await, "token_rejected");
        let leak_events = server.audit("action=oauth1.token.revoked", 1).await;
        assert!(!serde_json::to_string(&leak_events).unwrap().contains(leaked.token.as_deref().unwrap()));
        // Deleting the consumer ends every token it holds.
        let deleted = server.admin(Method::DELETE, "/rest/tessera/1/oauth1/consumers/jira-cli").send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &link).send().await.unwrap()).await, "consumer_key_unknown");
    }

    async fn the_policy_switches_application_links_off_everywhere(db) {
        let server = TestServer::start(db).await;
        world(&server).await;
        let (link, _) = server.approved_link("jira-cli", "dev", "WRITE").await;
        server.admin_json(Method::PUT, "/rest/tessera/1/policy", json!({"methods": {"oauth1": {"enabled": false}}}), StatusCode::OK).await;
        let refused = server.oauth1(Method::GET, MYSELF, &link).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "method_disabled");
        // The dance too: a request token is refused before its signature is read.
        let no_token = Link { consumer_key: "jira-cli".into(), token: None };
        let header = signer().authorization(&Method::POST, &server.url("/plugins/servlet/oauth/request-token"), &no_token, &[("oauth_callback", "oob")], &[], now_seconds());
        let dance = with_header(&server, Method::POST, "/plugins/servlet/oauth/request-token", header).send().await.unwrap();
        assert_eq!(dance.status(), StatusCode::UNAUTHORIZED);
        assert!(dance.text().await.unwrap().contains("oauth_problem=permission_denied"));
        let denials = server.audit("action=access.denied", 1).await;
        assert!(denials.iter().all(|e| e["reason"] == "method_disabled" && e["credential"]["kind"] == "oauth1"), "{denials:?}");
        // Back on for all but a group: its members are refused, the others pass.
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "contractors"}), StatusCode::CREATED).await;
        server.create_user("contractor", &["contractors"]).await;
        let (theirs, _) = server.approved_link("jira-cli", "contractor", "READ").await;
        server.admin_json(Method::PUT, "/rest/tessera/1/policy", json!({"methods": {"oauth1": {"enabled": true, "exceptGroups": ["contractors"]}}}), StatusCode::OK).await;
        ok_json(server.oauth1(Method::GET, MYSELF, &link).send().await.unwrap()).await;
        let refused = server.oauth1(Method::GET, MYSELF, &theirs).send().await.unwrap();
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "method_disabled");
    }

    async fn users_and_administrators_list_and_revoke_authorized_applications(db) {
        let server = TestServer::start(db).await;
        world(&server).await;
        server.create_user("eve", &[]).await;
        let (first, first_id) = server.approved_link("jira-cli", "dev", "WRITE").await;
        let (second, second_id) = server.approved_link("reporting", "dev", "READ").await;
        let (_, eves) = server.approved_link("reporting", "eve", "READ").await;
        // The user sees theirs, newest first, without any secret.
        let listed = ok_json(server.user(Method::GET, "/rest/tessera/1/oauth1/tokens", "dev").send().await.unwrap()).await;
        let ids: Vec<i64> = listed.as_array().unwrap().iter().map(|t| t["id"].as_i64().unwrap()).collect();
        assert_eq!(ids, [second_id, first_id]);
        assert_eq!((listed[0]["consumerKey"].as_str(), listed[0]["access"].as_str()), (Some("reporting"), Some("READ")));
        assert_eq!(listed[1]["access"], "WRITE");
        assert!(!listed.to_string().contains(first.token.as_deref().unwrap()));
        // An application link sees only its own token, and may revoke none.
        let by_link = ok_json(server.oauth1(Method::GET, "/rest/tessera/1/oauth1/tokens", &first).send().await.unwrap()).await;
        assert_eq!(by_link.as_array().unwrap().len(), 1);
        assert_eq!(by_link[0]["id"], first_id);
        let refused = server.oauth1(Method::DELETE, &format!("/rest/tessera/1/oauth1/tokens/{first_id}"), &first).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        // Another user's token, a made-up id: not found.
        for path in [format!("/rest/tessera/1/oauth1/tokens/{eves}"), "/rest/tessera/1/oauth1/tokens/x".to_string()] {
            let missing = server.user(Method::DELETE, &path, "dev").send().await.unwrap();
            expect_error(missing, StatusCode::NOT_FOUND).await;
        }
        // Revoked by its user: the link stops at once, and the revocation is audited.
        let revoked = server.user(Method::DELETE, &format!("/rest/tessera/1/oauth1/tokens/{first_id}"), "dev").send().await.unwrap();
        assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &first).send().await.unwrap()).await, "token_rejected");
        let again = server.user(Method::DELETE, &format!("/rest/tessera/1/oauth1/tokens/{first_id}"), "dev").send().await.unwrap();
        expect_error(again, StatusCode::NOT_FOUND).await;
        let events = server.audit(&format!("action=oauth1.token.revoked&target=oauth1:{first_id}"), 1).await;
        assert_eq!((events[0]["actor"]["name"].as_str(), events[0]["reason"].as_str()), (Some("dev"), Some("owner")));
        // An administrator, per consumer.
        let held = server.admin_json(Method::GET, "/rest/tessera/1/oauth1/consumers/reporting/tokens", Value::Null, StatusCode::OK).await;
        let users: Vec<&str> = held.as_array().unwrap().iter().map(|t| t["user"].as_str().unwrap()).collect();
        assert_eq!(users, ["eve", "dev"]);
        let wrong_consumer = server.admin(Method::DELETE, &format!("/rest/tessera/1/oauth1/consumers/jira-cli/tokens/{second_id}")).send().await.unwrap();
        expect_error(wrong_consumer, StatusCode::NOT_FOUND).await;
        let by_admin = server.admin(Method::DELETE, &format!("/rest/tessera/1/oauth1/consumers/reporting/tokens/{second_id}")).send().await.unwrap();
        assert_eq!(by_admin.status(), StatusCode::NO_CONTENT);
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &second).send().await.unwrap()).await, "token_rejected");
        server.audit(&format!("action=oauth1.token.revoked&target=oauth1:{second_id}&actor=admin"), 1).await;
        let left = ok_json(server.user(Method::GET, "/rest/tessera/1/oauth1/tokens", "dev").send().await.unwrap()).await;
        assert_eq!(left, json!([]));
    }

    async fn two_legged_requests_act_as_the_user_an_administrator_set(db) {
        let server = TestServer::start(db).await;
        world(&server).await;
        server.create_user("bot", &[]).await;
        server.add_to_role("OA", 10001, "bot").await;
        let consumers = "/rest/tessera/1/oauth1/consumers";
        let made = server.admin_json(Method::POST, consumers, json!({"consumerKey": "etl", "name": "ETL", "publicKey": signer().public_pem}), StatusCode::CREATED).await;
        assert_eq!(made["executeAs"], Value::Null, "off by default");
        let alone = Link { consumer_key: "etl".into(), token: None };
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &alone).send().await.unwrap()).await, "permission_denied");
        // Only an active user can be set.
        let unknown = server.admin(Method::PUT, &format!("{consumers}/etl")).json(&json!({"executeAs": "nobody"})).send().await.unwrap();
        let body = expect_error(unknown, StatusCode::BAD_REQUEST).await;
        assert!(body["errors"]["executeAs"].is_string(), "{body}");
        let on = server.admin_json(Method::PUT, &format!("{consumers}/etl"), json!({"executeAs": "bot"}), StatusCode::OK).await;
        assert_eq!(on["executeAs"], "bot");
        let updates = server.audit("action=oauth1.consumer.updated&target=oauth1consumer:etl", 1).await;
        assert_eq!(updates[0]["reason"], "two_legged_on", "{updates:?}");
        // Signed by the consumer alone: it acts as the bot, reading and writing what it can.
        let me = ok_json(server.oauth1(Method::GET, MYSELF, &alone).send().await.unwrap()).await;
        assert_eq!(me["name"], "bot");
        let create = json!({"fields": {"project": {"key": "OA"}, "issuetype": {"name": "Task"}, "summary": "by the ETL"}});
        let created = server.oauth1(Method::POST, "/rest/api/2/issue", &alone).json(&create).send().await.unwrap();
        assert_eq!(created.status(), StatusCode::CREATED);
        let admin_only = server.oauth1(Method::GET, "/rest/tessera/1/policy", &alone).send().await.unwrap();
        assert_eq!(admin_only.status(), StatusCode::FORBIDDEN);
        // Acting for another user (impersonation) is not offered.
        let as_dev = server.oauth1(Method::GET, &format!("{MYSELF}?xoauth_requestor_id=dev"), &alone).send().await.unwrap();
        assert_eq!(problem(as_dev).await, "permission_denied");
        // The usage trail names the consumer's two-legged use and its user.
        let consumer = server.store.find_consumer("etl").await.unwrap().unwrap();
        server.sync().await;
        let usage = server.admin_json(Method::GET, &format!("/rest/tessera/1/usage?credential=oauth1twolegged:{}", consumer.id), Value::Null, StatusCode::OK).await;
        assert_eq!((usage["owner"].as_str(), usage["name"].as_str()), (Some("bot"), Some("ETL")), "{usage}");
        // The run-as user deactivated, or the setting cleared: refused again.
        server.admin_json(Method::PUT, "/rest/api/2/user?username=bot", json!({"active": false}), StatusCode::OK).await;
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &alone).send().await.unwrap()).await, "permission_denied");
        server.admin_json(Method::PUT, "/rest/api/2/user?username=bot", json!({"active": true}), StatusCode::OK).await;
        ok_json(server.oauth1(Method::GET, MYSELF, &alone).send().await.unwrap()).await;
        let off = server.admin_json(Method::PUT, &format!("{consumers}/etl"), json!({"executeAs": null}), StatusCode::OK).await;
        assert_eq!(off["executeAs"], Value::Null);
        assert_eq!(problem(server.oauth1(Method::GET, MYSELF, &alone).send().await.unwrap()).await, "permission_denied");
        let updates = server.audit("action=oauth1.consumer.updated&target=oauth1consumer:etl", 2).await;
        assert_eq!(updates[0]["reason"], "two_legged_off", "{updates:?}");
        // A change that leaves the setting alone keeps it.
        server.admin_json(Method::PUT, &format!("{consumers}/etl"), json!({"executeAs": "bot"}), StatusCode::OK).await;
        let renamed = server.admin_json(Method::PUT, &format!("{consumers}/etl"), json!({"name": "ETL 2"}), StatusCode::OK).await;
        assert_eq!(renamed["executeAs"], "bot");
    }
}
