//! "Sign in with" an identity provider, through a real server and the stand-in provider
//! ([`crate::common::oidc`]), on SQLite and on PostgreSQL: the code flow from the login page
//! to a session (and a personal access token made with it by a user who has no password),
//! and every way a sign-in must fail: an answer replayed, brought to another browser, with
//! another nonce or audience, refused by the provider, for a provider switched off meanwhile,
//! with a client secret the provider does not take. None of them opens a session or creates
//! a user.

use crate::common::oidc::{Provider, WEB_CLIENT, WEB_SECRET};
use crate::common::*;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use tessera_core::store::{IdentityStore, UserStore};
use tessera_testkit::backend_tests;

const PROVIDERS: &str = "/rest/tessera/1/identityproviders";

/// A client that shows redirects instead of following them, and keeps no cookies.
fn client() -> reqwest::Client {
    http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

struct Answer {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Answer {
    fn location(&self) -> String {
        let location = self.headers.get("location");
        location
            .unwrap_or_else(|| panic!("no Location ({}): {}", self.status, self.body))
            .to_str()
            .unwrap()
            .to_string()
    }

    /// The value a `Set-Cookie` gives cookie `name` (empty when it removes it).
    fn cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap())
            .find_map(|c| c.strip_prefix(&format!("{name}=")))
            .map(|rest| rest.split(';').next().unwrap().to_string())
    }
}

async fn get(url: &str, cookie: Option<&str>) -> Answer {
    let mut request = client().get(url);
    if let Some(cookie) = cookie {
        request = request.header("cookie", cookie);
    }
    let response = request.send().await.unwrap();
    Answer {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

/// Registers the stand-in (issuer `name`) with tessera's sign-in client; returns its id.
async fn register(server: &TestServer, idp: &Provider, name: &str, provisioning: &str) -> i64 {
    let body = json!({
        "name": format!("Stand-in {name}"), "issuer": idp.issuer(name), "audiences": ["tessera"],
        "provisioning": provisioning,
        "login": {"clientId": WEB_CLIENT, "clientSecret": WEB_SECRET},
    });
    let made = server
        .admin_json(Method::POST, PROVIDERS, body, StatusCode::CREATED)
        .await;
    made["id"].as_i64().unwrap()
}

/// The user the stand-in signs in next: `username`, from issuer `name`.
fn sign_in_as(idp: &Provider, name: &str, username: &str, more: Value) {
    let issuer = idp.issuer(name);
    idp.change(|b| {
        let mut claims =
            json!({"iss": issuer, "preferred_username": username, "name": "Sso Person"});
        for (k, v) in more.as_object().unwrap() {
            claims[k] = v.clone();
        }
        b.id_token_claims = claims;
    });
}

/// A sign-in started at tessera and answered by the provider: the callback URL the provider
/// sends the browser to, and the browser's sign-in cookie.
async fn started(server: &TestServer, id: i64, next: &str) -> (String, String) {
    let start = get(&server.url(&format!("/login/sso/{id}?next={next}")), None).await;
    assert_eq!(start.status, StatusCode::SEE_OTHER, "{}", start.body);
    let cookie = start.cookie("tessera.sso").expect("a sign-in cookie");
    let at_provider = get(&start.location(), None).await;
    assert_eq!(
        at_provider.status,
        StatusCode::SEE_OTHER,
        "{}",
        at_provider.body
    );
    (at_provider.location(), format!("tessera.sso={cookie}"))
}

fn session_of(answer: &Answer) -> String {
    answer.cookie("JSESSIONID").expect("a session cookie")
}

/// The user `name` as stored, if any.
async fn stored_user(server: &TestServer, name: &str) -> Option<tessera_core::model::User> {
    server.store.find_user_by_name(name).await.unwrap()
}

backend_tests! {
    async fn a_user_without_a_password_signs_in_through_the_provider_and_makes_a_token(db) {
        let server = TestServer::start(db).await;
        let idp = Provider::start().await;
        let id = register(&server, &idp, "sso", "create").await;
        // The login page offers it; the provider's JSON shows the client, never its secret.
        let login = get(&server.url("/login?next=/secure/authorized-apps"), None).await;
        assert!(login.body.contains("Sign in with Stand-in sso"), "{}", login.body);
        assert!(login.body.contains(&format!("/login/sso/{id}?next=%2Fsecure%2Fauthorized-apps")), "{}", login.body);
        let shown = server.admin_json(Method::GET, &format!("{PROVIDERS}/{id}"), Value::Null, StatusCode::OK).await;
        assert_eq!(shown["login"], json!({"clientId": WEB_CLIENT, "redirectUri": format!("{}/login/sso/callback", server.base)}));
        let stored = server.store.get_provider(tessera_core::identity::ProviderId(id)).await.unwrap().unwrap();
        let sealed = stored.settings.login.unwrap().sealed_secret;
        assert!(sealed.starts_with("v1:db:") && !sealed.contains("web secret"), "{sealed}");

        // The start: to the provider, with the code flow's parameters.
        sign_in_as(&idp, "sso", "sso-alice", json!({}));
        let start = get(&server.url(&format!("/login/sso/{id}?next=/secure/authorized-apps")), None).await;
        assert_eq!(start.status, StatusCode::SEE_OTHER);
        let to_provider = Url::parse(&start.location()).unwrap();
        assert_eq!(to_provider.as_str().split('?').next(), Some(format!("{}/authorize", idp.base).as_str()));
        let query: std::collections::HashMap<String, String> = to_provider.query_pairs().into_owned().collect();
        assert_eq!(query["response_type"], "code");
        assert_eq!(query["client_id"], WEB_CLIENT);
        assert_eq!(query["redirect_uri"], format!("{}/login/sso/callback", server.base));
        assert_eq!(query["code_challenge_method"], "S256");
        assert_eq!(query["scope"], "openid profile email");
        for random in ["state", "nonce", "code_challenge"] {
            assert!(query[random].len() >= 43, "{random}: {query:?}");
        }
        let cookie = start.cookie("tessera.sso").unwrap();
        assert_eq!(cookie, query["state"], "the browser holds the state");
        let set = start.headers.get_all("set-cookie").iter().map(|v| v.to_str().unwrap()).find(|c| c.starts_with("tessera.sso=")).unwrap();
        assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax"), "{set}");

        // The provider's answer, back in the same browser: a session, then on to `next`.
        let back = get(&start.location(), None).await.location();
        let done = get(&back, Some(&format!("tessera.sso={cookie}"))).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        assert_eq!(done.location(), "/secure/authorized-apps");
        assert_eq!(done.cookie("tessera.sso").as_deref(), Some(""), "the sign-in cookie is removed");
        let session = session_of(&done);
        let user = stored_user(&server, "sso-alice").await.expect("provisioned");
        assert!(!user.has_password, "no password");
        assert_eq!(user.display_name, "Sso Person");
        let me = server.with_session(Method::GET, "/rest/api/2/myself", &session).send().await.unwrap();
        assert_eq!(json_of(me).await["name"], "sso-alice");

        // The seeds' case: a user who has no password makes a token, and uses it.
        let made = server
            .with_session(Method::POST, "/rest/pat/latest/tokens", &session)
            .header("X-Atlassian-Token", "no-check")
            .json(&json!({"name": "from sso", "expirationDuration": 30}))
            .send()
            .await
            .unwrap();
        assert_eq!(made.status(), StatusCode::CREATED);
        let raw = json_of(made).await["rawToken"].as_str().unwrap().to_string();
        let me = server.bearer(Method::GET, "/rest/api/2/myself", &raw).send().await.unwrap();
        assert_eq!(json_of(me).await["name"], "sso-alice");
        // Basic with any password is still refused: the user has none.
        let basic = server.basic(Method::GET, "/rest/api/2/myself", "sso-alice", "").send().await.unwrap();
        assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);

        let target = "target=user:sso-alice";
        assert_eq!(server.audit(&format!("action=identity.user.provisioned&{target}"), 1).await.len(), 1);
        let succeeded = server.audit(&format!("action=login.succeeded&{target}"), 1).await;
        assert_eq!(succeeded[0]["reason"], format!("identityprovider:{id}"));
        server.audit(&format!("action=session.opened&{target}"), 1).await;

        // A second sign-in links the same user (nothing provisioned twice).
        let (back, cookie) = started(&server, id, "/secure/tokens").await;
        let again = get(&back, Some(&cookie)).await;
        assert_eq!(again.status, StatusCode::SEE_OTHER, "{}", again.body);
        assert_eq!(again.location(), "/secure/tokens");
        assert_ne!(session_of(&again), session);
        assert_eq!(server.audit("action=identity.user.provisioned", 1).await.len(), 1);
        assert_eq!(idp.codes_exchanged(), 2);
    }

    async fn an_answer_is_used_once_in_the_browser_that_asked_for_it(db) {
        let server = TestServer::start(db).await;
        let idp = Provider::start().await;
        let id = register(&server, &idp, "sso", "create").await;
        sign_in_as(&idp, "sso", "sso-bob", json!({}));
        // Another browser (no cookie, or another sign-in's) gets no session: login CSRF.
        let (back, cookie) = started(&server, id, "/secure/tokens").await;
        let (_, other_cookie) = started(&server, id, "/secure/tokens").await;
        for wrong in [None, Some(other_cookie.as_str()), Some("tessera.sso=forged")] {
            let refused = get(&back, wrong).await;
            assert_eq!(refused.status, StatusCode::BAD_REQUEST, "{wrong:?}");
            assert!(refused.body.contains("not started in this browser"), "{}", refused.body);
            assert!(refused.cookie("JSESSIONID").is_none());
        }
        assert_eq!(idp.codes_exchanged(), 0, "no code exchanged for a stranger");
        let done = get(&back, Some(&cookie)).await;
        assert_eq!(done.status, StatusCode::SEE_OTHER, "{}", done.body);
        // Replayed: the sign-in was taken.
        let replayed = get(&back, Some(&cookie)).await;
        assert_eq!(replayed.status, StatusCode::BAD_REQUEST);
        assert!(replayed.body.contains("expired or was used already"), "{}", replayed.body);
        assert!(replayed.cookie("JSESSIONID").is_none());
        // An answer without its parameters, and an open redirect attempt.
        let bare = get(&server.url("/login/sso/callback"), Some(&cookie)).await;
        assert_eq!(bare.status, StatusCode::BAD_REQUEST);
        let (back, cookie) = started(&server, id, "https://evil.example/").await;
        let done = get(&back, Some(&cookie)).await;
        assert_eq!(done.location(), "/secure/tokens", "only a local next is followed");
        // A provider that is not registered, or offers no sign-in, is a 404.
        assert_eq!(get(&server.url("/login/sso/999999"), None).await.status, StatusCode::NOT_FOUND);
        assert_eq!(get(&server.url("/login/sso/x"), None).await.status, StatusCode::NOT_FOUND);
        let plain = server.admin_json(Method::POST, PROVIDERS, json!({"name": "No login", "issuer": idp.issuer("plain"), "audiences": ["tessera"]}), StatusCode::CREATED).await;
        let page = get(&server.url(&format!("/login/sso/{}", plain["id"])), None).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        assert!(!get(&server.url("/login"), None).await.body.contains("Sign in with No login"));
    }

    async fn an_id_token_that_is_not_this_sign_ins_opens_nothing(db) {
        let server = TestServer::start(db).await;
        let idp = Provider::start().await;
        let id = register(&server, &idp, "sso", "create").await;
        let cases = [
            (json!({"nonce": "another sign-in's nonce"}), "jwt_nonce"),
            (json!({"nonce": null}), "jwt_nonce"),
            (json!({"aud": "tessera"}), "jwt_audience"),
            (json!({"aud": [WEB_CLIENT, "other"]}), "jwt_audience"),
            (json!({"aud": [WEB_CLIENT, "other"], "azp": "other"}), "jwt_audience"),
            (json!({"iss": idp.issuer("elsewhere")}), "jwt_issuer_unknown"),
            (json!({"exp": crate::common::oidc::now() - 3600}), "jwt_expired"),
            (json!({"preferred_username": "Not A Username!"}), "jwt_user_unknown"),
        ];
        for (n, (claims, reason)) in cases.iter().enumerate() {
            let username = format!("sso-case-{n}");
            sign_in_as(&idp, "sso", &username, claims.clone());
            let (back, cookie) = started(&server, id, "/secure/tokens").await;
            let refused = get(&back, Some(&cookie)).await;
            assert_eq!(refused.status, StatusCode::UNAUTHORIZED, "{reason}: {}", refused.body);
            assert!(refused.body.contains("Sign-in failed"), "{}", refused.body);
            assert!(refused.cookie("JSESSIONID").is_none(), "{reason}");
            assert!(stored_user(&server, &username).await.is_none(), "{reason}: nothing provisioned");
            // (Repeats of one failure are counted in one event.)
            let events = server.audit(&format!("action=login.failed&target=identityprovider:{id}"), 1).await;
            assert_eq!(events[0]["reason"], *reason, "{events:?}");
        }
        assert_eq!(server.audit("action=identity.user.provisioned", 0).await.len(), 0);
    }

    async fn the_provider_or_the_administrator_can_stop_a_sign_in(db) {
        let server = TestServer::start(db).await;
        let idp = Provider::start().await;
        let id = register(&server, &idp, "sso", "link").await;
        let one = format!("{PROVIDERS}/{id}");
        // link: only users that exist already.
        sign_in_as(&idp, "sso", "stranger", json!({}));
        let (back, cookie) = started(&server, id, "/secure/tokens").await;
        let refused = get(&back, Some(&cookie)).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(stored_user(&server, "stranger").await.is_none());
        server.create_user("known", &[]).await;
        sign_in_as(&idp, "sso", "known", json!({}));
        let (back, cookie) = started(&server, id, "/secure/tokens").await;
        assert_eq!(get(&back, Some(&cookie)).await.status, StatusCode::SEE_OTHER);
        // The user says no at the provider.
        idp.change(|b| b.authorize_error = Some("access_denied".into()));
        let (back, cookie) = started(&server, id, "/secure/tokens").await;
        let denied = get(&back, Some(&cookie)).await;
        assert_eq!(denied.status, StatusCode::UNAUTHORIZED);
        assert!(denied.body.contains("refused the sign-in (access_denied)"), "{}", denied.body);
        idp.change(|b| b.authorize_error = None);
        // Switched off between the start and the answer.
        let (back, cookie) = started(&server, id, "/secure/tokens").await;
        server.admin_json(Method::PUT, &one, json!({"enabled": false}), StatusCode::OK).await;
        let off = get(&back, Some(&cookie)).await;
        assert_eq!(off.status, StatusCode::BAD_REQUEST);
        assert!(off.cookie("JSESSIONID").is_none());
        assert!(!get(&server.url("/login"), None).await.body.contains("Sign in with"));
        assert_eq!(get(&server.url(&format!("/login/sso/{id}")), None).await.status, StatusCode::NOT_FOUND);
        server.admin_json(Method::PUT, &one, json!({"enabled": true}), StatusCode::OK).await;
        // A secret the provider does not take: its refusal is shown, nothing opened.
        let wrong = json!({"login": {"clientId": WEB_CLIENT, "clientSecret": "not the secret"}});
        server.admin_json(Method::PUT, &one, wrong, StatusCode::OK).await;
        let (back, cookie) = started(&server, id, "/secure/tokens").await;
        let refused = get(&back, Some(&cookie)).await;
        assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
        assert!(refused.body.contains("invalid_client"), "{}", refused.body);
        // A change that names the same client keeps its secret; removing the client ends it.
        let fixed = json!({"login": {"clientId": WEB_CLIENT, "clientSecret": WEB_SECRET}});
        server.admin_json(Method::PUT, &one, fixed, StatusCode::OK).await;
        server.admin_json(Method::PUT, &one, json!({"name": "Renamed", "login": {"clientId": WEB_CLIENT}}), StatusCode::OK).await;
        let (back, cookie) = started(&server, id, "/secure/tokens").await;
        assert_eq!(get(&back, Some(&cookie)).await.status, StatusCode::SEE_OTHER);
        let (status, error) = {
            let response = server.admin(Method::PUT, &one).json(&json!({"login": {"clientId": "another"}})).send().await.unwrap();
            let status = response.status();
            (status, expect_error(response, status).await)
        };
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(error["errors"]["login"].is_string(), "{error}");
        server.admin_json(Method::PUT, &one, json!({"login": null}), StatusCode::OK).await;
        assert_eq!(get(&server.url(&format!("/login/sso/{id}")), None).await.status, StatusCode::NOT_FOUND);
    }

    async fn the_session_policy_applies_to_a_sign_in_as_to_a_password_login(db) {
        let server = TestServer::start(db).await;
        let idp = Provider::start().await;
        let id = register(&server, &idp, "sso", "create").await;
        sign_in_as(&idp, "sso", "sso-carol", json!({}));
        let policy = json!({"methods": {"session": {"enabled": false}}});
        server.admin_json(Method::PUT, "/rest/tessera/1/policy", policy, StatusCode::OK).await;
        let (back, cookie) = started(&server, id, "/secure/tokens").await;
        let refused = get(&back, Some(&cookie)).await;
        assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
        assert!(refused.cookie("JSESSIONID").is_none());
    }
}
