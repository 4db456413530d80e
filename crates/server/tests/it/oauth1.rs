//! OAuth 1.0a application links through a real server, on SQLite and on PostgreSQL: the
//! consumers' administration (`/rest/tessera/1/oauth1/consumers`), and real clients
//! (`tests/python/oauth1_flow.py`): requests-oauthlib through the whole dance with both RSA
//! methods and into each refusal, then signing API requests, as does the Python Jira client's
//! `oauth=`. Signed API requests in detail: `oauth1_api.rs`.

use crate::common::*;
use crate::python_client::{python_with, run_script};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

const CONSUMERS: &str = "/rest/tessera/1/oauth1/consumers";
const CONSUMER_PUB: &str = include_str!("../../../auth/src/oauth1/testdata/consumer.pub.pem");
const SMALL_PUB: &str = include_str!("../../../auth/src/oauth1/testdata/small-1024.pub.pem");

backend_tests! {
    async fn administrators_register_change_and_delete_consumers(db) {
        let server = TestServer::start(db).await;
        let made = server.admin_json(Method::POST, CONSUMERS, json!({"consumerKey": "jira-cli", "name": "Jira CLI", "publicKey": CONSUMER_PUB}), StatusCode::CREATED).await;
        assert_eq!(made["consumerKey"], "jira-cli");
        assert_eq!(made["callback"], "oob", "a consumer without a callback shows the verifier");
        assert_eq!(made["publicKey"].as_str().unwrap(), CONSUMER_PUB.trim());
        assert_eq!(made["self"], format!("{}{CONSUMERS}/jira-cli", server.base));
        // The same key again is a conflict; the key is exact (another case is another key).
        let again = server.admin(Method::POST, CONSUMERS).json(&json!({"consumerKey": "jira-cli", "name": "Again", "publicKey": CONSUMER_PUB})).send().await.unwrap();
        let body = expect_error(again, StatusCode::CONFLICT).await;
        assert!(body["errors"]["consumerKey"].is_string(), "{body}");
        server.admin_json(Method::POST, CONSUMERS, json!({"consumerKey": "Jira-CLI", "name": "Other", "publicKey": CONSUMER_PUB, "callback": "https://app.example/cb"}), StatusCode::CREATED).await;

        let listed = server.admin_json(Method::GET, CONSUMERS, Value::Null, StatusCode::OK).await;
        let keys: Vec<&str> = listed.as_array().unwrap().iter().map(|c| c["consumerKey"].as_str().unwrap()).collect();
        assert_eq!(keys, ["jira-cli", "Jira-CLI"], "by name: Jira CLI, then Other");
        let one = server.admin_json(Method::GET, &format!("{CONSUMERS}/jira-cli"), Value::Null, StatusCode::OK).await;
        assert_eq!(one["name"], "Jira CLI");

        let changed = server.admin_json(Method::PUT, &format!("{CONSUMERS}/jira-cli"), json!({"name": "Jira CLI 2", "callback": "https://cli.example/done"}), StatusCode::OK).await;
        assert_eq!((changed["name"].as_str(), changed["callback"].as_str()), (Some("Jira CLI 2"), Some("https://cli.example/done")));
        assert_eq!(changed["publicKey"], made["publicKey"], "an absent field is kept");
        let renamed = server.admin(Method::PUT, &format!("{CONSUMERS}/jira-cli")).json(&json!({"consumerKey": "other"})).send().await.unwrap();
        expect_error(renamed, StatusCode::BAD_REQUEST).await;
        let short = server.admin(Method::PUT, &format!("{CONSUMERS}/jira-cli")).json(&json!({"publicKey": SMALL_PUB})).send().await.unwrap();
        expect_error(short, StatusCode::BAD_REQUEST).await;

        let deleted = server.admin(Method::DELETE, &format!("{CONSUMERS}/jira-cli")).send().await.unwrap();
        assert_eq!(deleted.status(), StatusCode::NO_CONTENT);
        for method in [Method::GET, Method::DELETE] {
            let gone = server.admin(method, &format!("{CONSUMERS}/jira-cli")).send().await.unwrap();
            expect_error(gone, StatusCode::NOT_FOUND).await;
        }
        let missing = server.admin(Method::PUT, &format!("{CONSUMERS}/nobody")).json(&json!({"name": "x"})).send().await.unwrap();
        expect_error(missing, StatusCode::NOT_FOUND).await;

        // Every change is in the audit trail, naming the consumer.
        for action in ["oauth1.consumer.created", "oauth1.consumer.updated", "oauth1.consumer.deleted"] {
            let events = server.audit(&format!("action={action}&target=oauth1consumer:jira-cli"), 1).await;
            assert_eq!(events[0]["actor"]["name"], "admin", "{action}");
        }
    }

    async fn a_consumer_that_could_not_authenticate_is_never_registered(db) {
        let server = TestServer::start(db).await;
        let refused = |body: Value| {
            let server = &server;
            async move {
                let response = server.admin(Method::POST, CONSUMERS).json(&body).send().await.unwrap();
                expect_error(response, StatusCode::BAD_REQUEST).await
            }
        };
        let body = refused(json!({"consumerKey": "k", "name": "n", "publicKey": SMALL_PUB})).await;
        assert!(body["errors"]["publicKey"].as_str().unwrap().contains("2048"), "{body}");
        let body = refused(json!({"consumerKey": "k", "name": "n", "publicKey": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----"})).await;
        assert!(body["errors"]["publicKey"].is_string(), "{body}");
        let body = refused(json!({"consumerKey": "", "name": "", "publicKey": CONSUMER_PUB, "callback": "javascript:alert(1)"})).await;
        for field in ["consumerKey", "name", "callback"] {
            assert!(body["errors"][field].is_string(), "{field}: {body}");
        }
        refused(json!({"consumerKey": "a key", "name": "n", "publicKey": CONSUMER_PUB})).await;
        let unknown = server.admin(Method::POST, CONSUMERS).json(&json!({"consumerKey": "k", "name": "n", "publicKey": CONSUMER_PUB, "secret": "x"})).send().await.unwrap();
        expect_error(unknown, StatusCode::BAD_REQUEST).await;
        let listed = server.admin_json(Method::GET, CONSUMERS, Value::Null, StatusCode::OK).await;
        assert_eq!(listed, json!([]), "nothing half-written");
    }

    async fn real_oauth1_clients_dance_sign_requests_and_meet_each_refusal(db) {
        let Some(python) = python_with("requests_oauthlib, jira, cryptography") else { return };
        let server = TestServer::start(db).await;
        let url = server.url("");
        let args = ["--url", url.trim_end_matches('/'), "--user", "admin", "--password", ADMIN_PASSWORD];
        let (ok, stdout, stderr) = run_script(python, "oauth1_flow.py", args.map(String::from).to_vec()).await;
        assert!(ok && stdout.contains("oauth1: ok"), "the OAuth 1.0a flow failed:\n{stdout}\n{stderr}");
    }

    async fn the_approval_page_needs_a_session_a_live_request_token_and_the_form_token(db) {
        let server = TestServer::start(db).await;
        let authorize = "/plugins/servlet/oauth/authorize";
        // An unknown or missing request token: an error page, whoever asks.
        let unknown = server.anonymous(Method::GET, &format!("{authorize}?oauth_token=ts1rt_nothing")).send().await.unwrap();
        assert_eq!(unknown.status(), StatusCode::BAD_REQUEST);
        let session = server.login("admin", ADMIN_PASSWORD).await;
        let missing = server.with_session(Method::GET, authorize, &session).send().await.unwrap();
        assert_eq!(missing.status(), StatusCode::BAD_REQUEST);
        // A decision without the session's form token is refused before anything is read.
        let forged = server.with_session(Method::POST, authorize, &session)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("oauth_token=ts1rt_nothing&decision=approve")
            .send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        // Without a session, the decision goes to the login form, not anywhere else.
        let anonymous = server.anonymous(Method::POST, authorize)
            .header("content-type", "application/x-www-form-urlencoded")
            .body("oauth_token=ts1rt_nothing&decision=approve")
            .send().await.unwrap();
        assert_eq!(anonymous.url().path(), "/login", "sent to the login form");
    }


    async fn the_dance_takes_from_the_addresss_anonymous_budget(db) {
        let mut config = test_config(&db);
        config.rate_limit.enabled = true;
        config.rate_limit.anonymous_capacity = 2;
        config.rate_limit.anonymous_per_second = 1;
        let server = TestServer::start_with(db, config).await;
        let unsigned = || server.anonymous(Method::POST, "/plugins/servlet/oauth/request-token").send();
        for _ in 0..2 {
            let response = unsigned().await.unwrap();
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            assert!(response.text().await.unwrap().starts_with("oauth_problem=parameter_absent"));
        }
        let limited = unsigned().await.unwrap();
        assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
        assert!(limited.headers().contains_key("retry-after"));
        assert_eq!(limited.text().await.unwrap(), "oauth_problem=permission_denied&oauth_problem_advice=rate_limited");
    }

}
