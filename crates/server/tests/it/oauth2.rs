//! The OAuth 2.0 authorization server over HTTP, as a client and a browser would use it:
//! registration, the authorization-code grant with PKCE and consent, rotating refresh tokens
//! with reuse detection, single-use codes, client_credentials, revocation, introspection and
//! metadata. Each rule is checked by trying to break it; the RFC sections are named beside
//! the checks.

use crate::common::*;
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use tessera_auth::oauth2::pkce_challenge;
use tessera_testkit::backend_tests;

const CLIENTS: &str = "/rest/tessera/1/oauth2/clients";
const AUTHORIZE: &str = "/rest/oauth2/latest/authorize";
const TOKEN: &str = "/rest/oauth2/latest/token";
const REDIRECT: &str = "https://app.example/callback";
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";

/// A client that shows redirects instead of following them.
fn no_redirects() -> reqwest::Client {
    crate::common::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Registers a client as the administrator; its id and secret (confidential clients).
async fn register(server: &TestServer, body: Value) -> (String, Option<String>) {
    let created = server
        .admin_json(Method::POST, CLIENTS, body, StatusCode::CREATED)
        .await;
    (
        created["clientId"].as_str().unwrap().to_string(),
        created["clientSecret"].as_str().map(str::to_string),
    )
}

async fn public_client(server: &TestServer, scopes: &[&str]) -> String {
    register(
        server,
        json!({"name": "Public <App>", "redirectUris": [REDIRECT], "confidential": false, "scopes": scopes}),
    )
    .await
    .0
}

/// The query of a redirect's `Location`, as pairs.
fn location_query(response: &reqwest::Response) -> Vec<(String, String)> {
    let location = response
        .headers()
        .get("location")
        .unwrap_or_else(|| panic!("no Location ({})", response.status()))
        .to_str()
        .unwrap();
    let url = Url::parse(location).unwrap();
    assert_eq!(
        format!(
            "{}://{}{}",
            url.scheme(),
            url.host_str().unwrap(),
            url.path()
        ),
        REDIRECT
    );
    url.query_pairs()
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

fn param<'a>(pairs: &'a [(String, String)], name: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn unescape(text: &str) -> String {
    text.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The consent form's fields (`name="x" value="y"` pairs of its inputs).
fn form_fields(html: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for part in html.split("<input").skip(1) {
        let tag = &part[..part.find('>').unwrap()];
        let attr = |name: &str| {
            let marker = format!("{name}=\"");
            tag.find(&marker).map(|at| {
                let rest = &tag[at + marker.len()..];
                unescape(&rest[..rest.find('"').unwrap()])
            })
        };
        if let (Some(name), Some(value)) = (attr("name"), attr("value")) {
            fields.push((name, value));
        }
    }
    fields
}

/// `GET authorize` with PKCE as the session's user.
async fn authorize(
    server: &TestServer,
    session: &str,
    client_id: &str,
    scope: &str,
) -> reqwest::Response {
    let query = [
        ("response_type", "code"),
        ("client_id", client_id),
        ("redirect_uri", REDIRECT),
        ("scope", scope),
        ("state", "xyz-state"),
        ("code_challenge", &pkce_challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
    ];
    let mut url = Url::parse(&server.url(AUTHORIZE)).unwrap();
    url.query_pairs_mut().extend_pairs(query);
    no_redirects()
        .get(url)
        .header("cookie", format!("JSESSIONID={session}"))
        .send()
        .await
        .unwrap()
}

/// Approves (or denies) on the consent page; the redirect's query.
async fn decide(
    server: &TestServer,
    session: &str,
    page: reqwest::Response,
    decision: &str,
) -> Vec<(String, String)> {
    assert_eq!(page.status(), StatusCode::OK);
    let html = page.text().await.unwrap();
    let mut fields = form_fields(&html);
    fields.push(("decision".into(), decision.into()));
    let response = no_redirects()
        .post(server.url(AUTHORIZE))
        .header("cookie", format!("JSESSIONID={session}"))
        .form(&fields)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    location_query(&response)
}

/// `POST token` with form pairs (and Basic client authentication if given).
async fn token(
    server: &TestServer,
    pairs: &[(&str, &str)],
    basic: Option<(&str, &str)>,
) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let mut request = server.http.post(server.url(TOKEN)).form(pairs);
    if let Some((id, secret)) = basic {
        request = request.basic_auth(id, Some(secret));
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    (status, headers, response.json().await.unwrap())
}

/// The code flow for a public client up to the token response.
async fn code_flow(server: &TestServer, session: &str, client_id: &str, scope: &str) -> Value {
    let page = authorize(server, session, client_id, scope).await;
    let answer = if page.status() == StatusCode::SEE_OTHER {
        location_query(&page)
    } else {
        decide(server, session, page, "approve").await
    };
    let code = param(&answer, "code").unwrap().to_string();
    let (status, _, body) = token(
        server,
        &[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
            ("client_id", client_id),
            ("code_verifier", VERIFIER),
        ],
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body
}

async fn status_with(
    server: &TestServer,
    method: Method,
    path: &str,
    access_token: &str,
) -> StatusCode {
    server
        .bearer(method, path, access_token)
        .send()
        .await
        .unwrap()
        .status()
}

backend_tests! {
    async fn metadata_describes_the_server(db) {
        let server = TestServer::start(db).await;
        // RFC 8414 §3.2: a JSON document of the server's endpoints and abilities.
        let metadata: Value = server.anonymous(Method::GET, "/.well-known/oauth-authorization-server").send().await.unwrap().json().await.unwrap();
        let base = server.url("").trim_end_matches('/').to_string();
        assert_eq!(metadata["issuer"], base);
        assert_eq!(metadata["authorization_endpoint"], format!("{base}{AUTHORIZE}"));
        assert_eq!(metadata["token_endpoint"], format!("{base}{TOKEN}"));
        assert_eq!(metadata["revocation_endpoint"], format!("{base}/rest/oauth2/latest/revoke"));
        assert_eq!(metadata["introspection_endpoint"], format!("{base}/rest/oauth2/latest/introspect"));
        assert_eq!(metadata["code_challenge_methods_supported"], json!(["S256"]));
        assert_eq!(metadata["response_types_supported"], json!(["code"]));
        // RFC 9207 §3: the server says it sends `iss` with its answers.
        assert_eq!(metadata["authorization_response_iss_parameter_supported"], true);
        assert!(metadata["scopes_supported"].as_array().unwrap().contains(&json!("READ")));
    }

    async fn clients_are_registered_by_administrators_with_a_secret_shown_once(db) {
        let server = TestServer::start(db).await;
        server.create_user("dev", &[]).await;
        let (client_id, secret) = register(&server, json!({"name": "CI", "redirectUris": [REDIRECT], "scopes": ["WRITE"]})).await;
        let secret = secret.expect("a confidential client gets a secret");
        assert!(secret.starts_with("tscls_"));
        assert_eq!(client_id.len(), 32);
        let shown = server.admin_json(Method::GET, &format!("{CLIENTS}/{client_id}"), Value::Null, StatusCode::OK).await;
        assert_eq!(shown["scopes"], json!(["read:jira-work", "write:jira-work", "read:jira-user"]));
        assert!(!shown.to_string().contains(&secret), "the secret is shown once");
        let listed = server.admin(Method::GET, CLIENTS).send().await.unwrap().text().await.unwrap();
        assert!(listed.contains(&client_id) && !listed.contains(&secret));
        for (bad, field) in [
            (json!({"name": "x", "redirectUris": ["http://app.example/cb"], "scopes": ["READ"]}), "redirectUris"),
            (json!({"name": "x", "redirectUris": ["https://app.example/cb#f"], "scopes": ["READ"]}), "redirectUris"),
            (json!({"name": "x", "redirectUris": [], "scopes": ["READ"]}), "redirectUris"),
            (json!({"name": "x", "redirectUris": [REDIRECT], "scopes": ["root"]}), "scopes"),
            (json!({"name": "", "redirectUris": [REDIRECT], "scopes": ["READ"]}), "name"),
            (json!({"name": "x", "redirectUris": [REDIRECT], "scopes": ["READ"], "serviceAccount": "dev"}), "serviceAccount"),
        ] {
            let response = server.admin(Method::POST, CLIENTS).json(&bad).send().await.unwrap();
            let body = expect_error(response, StatusCode::BAD_REQUEST).await;
            assert!(body["errors"][field].is_string(), "{bad}: {body}");
        }
        expect_error(server.user(Method::POST, CLIENTS, "dev").json(&json!({"name": "x", "redirectUris": [REDIRECT], "scopes": ["READ"]})).send().await.unwrap(), StatusCode::FORBIDDEN).await;
        expect_error(server.admin(Method::GET, &format!("{CLIENTS}/nope")).send().await.unwrap(), StatusCode::NOT_FOUND).await;
        // A new secret replaces the old one at once.
        let ok = |secret: String| {
            let server = &server;
            let client_id = client_id.clone();
            async move { token(server, &[("grant_type", "client_credentials")], Some((&client_id, &secret))).await.0 }
        };
        assert_eq!(ok(secret.clone()).await, StatusCode::BAD_REQUEST, "authenticated, but not bound to a service account");
        let reset = server.admin_json(Method::POST, &format!("{CLIENTS}/{client_id}/secret"), json!({}), StatusCode::OK).await;
        let new_secret = reset["clientSecret"].as_str().unwrap().to_string();
        assert_eq!(ok(secret).await, StatusCode::UNAUTHORIZED);
        assert_eq!(ok(new_secret).await, StatusCode::BAD_REQUEST);
        server.audit("action=oauth.client.created", 1).await;
        server.audit("action=oauth.client.secret_reset", 1).await;
    }

    async fn the_code_flow_with_pkce_consent_refresh_and_reuse_detection(db) {
        let server = TestServer::start(db).await;
        server.create_project("OA").await;
        server.create_user("dev", &[]).await;
        server.add_to_role("OA", 10001, "dev").await;
        let issue = server.create_issue("OA", "visible through OAuth").await;
        let client_id = public_client(&server, &["WRITE"]).await;
        let session = server.login("dev", PASSWORD).await;

        // Without a session, the user logs in first and comes back.
        let mut url = Url::parse(&server.url(AUTHORIZE)).unwrap();
        url.query_pairs_mut().extend_pairs([("response_type", "code"), ("client_id", client_id.as_str()), ("code_challenge", &pkce_challenge(VERIFIER)), ("code_challenge_method", "S256")]);
        let anonymous = no_redirects().get(url).send().await.unwrap();
        assert_eq!(anonymous.status(), StatusCode::SEE_OTHER);
        assert!(anonymous.headers()["location"].to_str().unwrap().starts_with("/login?next=%2Frest%2Foauth2%2Flatest%2Fauthorize%3F"));

        // The consent page names the app and every scope in words, escaped.
        let page = authorize(&server, &session, &client_id, "READ").await;
        assert_eq!(page.status(), StatusCode::OK);
        let csp = page.headers()["content-security-policy"].to_str().unwrap().to_string();
        assert!(csp.contains("form-action 'self' https://app.example"), "{csp}");
        let html = page.text().await.unwrap();
        assert!(html.contains("Public &lt;App&gt;") && !html.contains("Public <App>"));
        assert!(html.contains("data-scope=\"read:jira-work\"") && html.contains("data-scope=\"read:jira-user\""));
        assert!(!html.contains("data-scope=\"write:jira-work\""), "only what was asked");
        // Allow is the primary button, Deny the secondary; a public client is flagged.
        assert!(html.contains("id=\"approve\" class=\"primary\"") && html.contains("id=\"deny\" class=\"secondary\""), "{html}");
        assert!(html.contains("id=\"consent-warning\"") && html.contains("This application has no secret"), "{html}");
        assert!(!html.contains("a program on your own computer"), "its redirect is not on this computer");
        let page = authorize(&server, &session, &client_id, "READ").await;
        let answer = decide(&server, &session, page, "approve").await;
        // RFC 6749 §4.1.2 and RFC 9207 §2: the code, the state, and who answered.
        assert_eq!(param(&answer, "state"), Some("xyz-state"));
        assert_eq!(param(&answer, "iss"), Some(server.url("").trim_end_matches('/')));
        let code = param(&answer, "code").unwrap().to_string();
        assert!(code.starts_with("tscod_"));

        // RFC 7636 §4.6: the verifier must match the challenge.
        let exchange = |code: String, verifier: &'static str| {
            let server = &server;
            let client_id = client_id.clone();
            async move {
                token(server, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("client_id", &client_id), ("code_verifier", verifier)], None).await
            }
        };
        let (status, headers, tokens) = exchange(code.clone(), VERIFIER).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        // RFC 6749 §5.1: no cache may keep it.
        assert_eq!(headers["cache-control"], "no-store");
        assert_eq!(tokens["token_type"], "Bearer");
        assert_eq!(tokens["expires_in"], 3600);
        assert_eq!(tokens["scope"], "read:jira-work read:jira-user");
        let access = tokens["access_token"].as_str().unwrap().to_string();
        let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
        assert!(access.starts_with("tsoat_") && refresh.starts_with("tsort_"));

        // The token is the user, narrowed by its scopes: READ reads, and cannot create.
        let me: Value = server.bearer(Method::GET, "/rest/api/2/myself", &access).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["name"], "dev");
        assert_eq!(status_with(&server, Method::GET, &format!("/rest/api/2/issue/{issue}"), &access).await, StatusCode::OK);
        let create = server.bearer(Method::POST, "/rest/api/2/issue", &access)
            .json(&json!({"fields": {"project": {"key": "OA"}, "issuetype": {"name": "Task"}, "summary": "no"}})).send().await.unwrap();
        assert_eq!(create.headers()["x-authentication-denied-reason"], "scope_missing");
        expect_error(create, StatusCode::FORBIDDEN).await;
        // A token may not make tokens.
        let pat = server.bearer(Method::POST, "/rest/pat/latest/tokens", &access).json(&json!({"name": "x"})).send().await.unwrap();
        expect_error(pat, StatusCode::FORBIDDEN).await;

        // RFC 6749 §4.1.2: a code is single-use; a replay revokes what it issued, and the grant
        // it was issued under (so a pair refreshed meanwhile dies too).
        let (status, _, replay) = exchange(code.clone(), VERIFIER).await;
        assert_eq!((status, replay["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
        assert_eq!(status_with(&server, Method::GET, "/rest/api/2/myself", &access).await, StatusCode::UNAUTHORIZED);
        let page = authorize(&server, &session, &client_id, "READ").await;
        assert_eq!(page.status(), StatusCode::OK, "the grant is gone: consent is asked again");
        decide(&server, &session, page, "approve").await;

        // A fresh code (consent is remembered now: straight back with a code).
        let page = authorize(&server, &session, &client_id, "READ").await;
        assert_eq!(page.status(), StatusCode::SEE_OTHER, "consent already given");
        let code = param(&location_query(&page), "code").unwrap().to_string();
        let (status, _, wrong) = exchange(code.clone(), "wrong-verifier-wrong-verifier-wrong-verifier-1").await;
        assert_eq!((status, wrong["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
        let page = authorize(&server, &session, &client_id, "READ").await;
        let code = param(&location_query(&page), "code").unwrap().to_string();
        let (status, _, tokens) = exchange(code, VERIFIER).await;
        assert_eq!(status, StatusCode::OK);
        let access = tokens["access_token"].as_str().unwrap().to_string();
        let refresh = tokens["refresh_token"].as_str().unwrap().to_string();

        // RFC 6749 §6 with RFC 9700 §4.14.2: refreshing rotates the refresh token.
        let refresh_with = |token_text: String, scope: Option<&'static str>| {
            let server = &server;
            let client_id = client_id.clone();
            async move {
                let mut pairs = vec![("grant_type", "refresh_token".to_string()), ("refresh_token", token_text), ("client_id", client_id)];
                if let Some(scope) = scope {
                    pairs.push(("scope", scope.to_string()));
                }
                let pairs: Vec<(&str, &str)> = pairs.iter().map(|(k, v)| (*k, v.as_str())).collect();
                token(server, &pairs, None).await
            }
        };
        let (status, _, wider) = refresh_with(refresh.clone(), Some("WRITE")).await;
        assert_eq!((status, wider["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_scope")), "never wider");
        let (status, _, renewed) = refresh_with(refresh.clone(), None).await;
        assert_eq!(status, StatusCode::OK, "{renewed}");
        let new_access = renewed["access_token"].as_str().unwrap().to_string();
        let new_refresh = renewed["refresh_token"].as_str().unwrap().to_string();
        assert_ne!(new_refresh, refresh);
        assert_eq!(status_with(&server, Method::GET, "/rest/api/2/myself", &new_access).await, StatusCode::OK);
        // The old refresh token again: reuse. The whole grant dies, the new tokens with it.
        let (status, _, reused) = refresh_with(refresh, None).await;
        assert_eq!((status, reused["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
        let (status, _, dead) = refresh_with(new_refresh, None).await;
        assert_eq!((status, dead["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
        for token_text in [&access, &new_access] {
            let refused = server.bearer(Method::GET, "/rest/api/2/myself", token_text).send().await.unwrap();
            assert_eq!(refused.headers()["x-authentication-denied-reason"], "token_revoked");
            assert!(refused.headers()["www-authenticate"].to_str().unwrap().contains("invalid_token"));
        }
        // The grant is gone: the user is asked again.
        assert_eq!(authorize(&server, &session, &client_id, "READ").await.status(), StatusCode::OK);
        server.audit("action=oauth.refresh_token.reused", 1).await;
        server.audit("action=oauth.code.replayed", 1).await;
        server.audit("action=oauth.consent&actor=dev", 1).await;
    }

    async fn authorization_errors_follow_rfc_6749(db) {
        let server = TestServer::start(db).await;
        server.create_user("dev", &[]).await;
        let client_id = public_client(&server, &["READ"]).await;
        let session = server.login("dev", PASSWORD).await;
        let get = |pairs: Vec<(&'static str, String)>| {
            let server = &server;
            let session = session.clone();
            async move {
                let mut url = Url::parse(&server.url(AUTHORIZE)).unwrap();
                url.query_pairs_mut().extend_pairs(pairs);
                no_redirects().get(url).header("cookie", format!("JSESSIONID={session}")).send().await.unwrap()
            }
        };
        let base = |extra: &[(&'static str, &str)]| {
            let mut pairs: Vec<(&'static str, String)> = vec![
                ("response_type", "code".into()), ("client_id", client_id.clone()), ("redirect_uri", REDIRECT.into()),
                ("state", "s1".into()), ("code_challenge", pkce_challenge(VERIFIER)), ("code_challenge_method", "S256".into()),
            ];
            for (name, value) in extra {
                pairs.retain(|(n, _)| n != name);
                if !value.is_empty() {
                    pairs.push((name, value.to_string()));
                }
            }
            pairs
        };
        // §4.1.2.1: an unknown client or unregistered redirect URI is never redirected to.
        for bad in [base(&[("client_id", "no-such-client")]), base(&[("redirect_uri", "https://evil.example/cb")]), base(&[("redirect_uri", "https://app.example/callback/")]), base(&[("client_id", "")])] {
            let response = get(bad).await;
            assert_eq!(response.status(), StatusCode::BAD_REQUEST);
            assert!(response.headers().get("location").is_none());
        }
        // Other errors go back to the client with state and iss.
        for (extra, error) in [
            (vec![("response_type", "token")], "unsupported_response_type"),
            (vec![("scope", "ADMIN")], "invalid_scope"),
            (vec![("scope", "nonsense")], "invalid_scope"),
            (vec![("code_challenge", "")], "invalid_request"),
            (vec![("code_challenge_method", "plain")], "invalid_request"),
        ] {
            let response = get(base(&extra)).await;
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{extra:?}");
            let answer = location_query(&response);
            assert_eq!(param(&answer, "error"), Some(error), "{extra:?}");
            assert_eq!(param(&answer, "state"), Some("s1"));
            assert!(param(&answer, "iss").is_some());
            assert!(param(&answer, "code").is_none());
        }
        // The user says no: access_denied (§4.1.2.1).
        let page = get(base(&[])).await;
        let answer = decide(&server, &session, page, "deny").await;
        assert_eq!(param(&answer, "error"), Some("access_denied"));
        // The consent form needs the session's form token, and the site's own origin.
        let page = get(base(&[])).await.text().await.unwrap();
        let mut fields = form_fields(&page);
        fields.retain(|(k, _)| k != "atl_token");
        fields.push(("decision".into(), "approve".into()));
        let forged = no_redirects().post(server.url(AUTHORIZE)).header("cookie", format!("JSESSIONID={session}")).form(&fields).send().await.unwrap();
        assert_eq!(forged.status(), StatusCode::FORBIDDEN);
        let mut fields = form_fields(&page);
        fields.push(("decision".into(), "approve".into()));
        let cross = no_redirects().post(server.url(AUTHORIZE)).header("cookie", format!("JSESSIONID={session}")).header("origin", "https://evil.example").form(&fields).send().await.unwrap();
        assert_eq!(cross.status(), StatusCode::FORBIDDEN);
        // A hidden field changed by hand is checked again: not redirected to an unregistered URI.
        let mut fields = form_fields(&page);
        fields.retain(|(k, _)| k != "redirect_uri");
        fields.push(("redirect_uri".into(), "https://evil.example/cb".into()));
        fields.push(("decision".into(), "approve".into()));
        let tampered = no_redirects().post(server.url(AUTHORIZE)).header("cookie", format!("JSESSIONID={session}")).form(&fields).send().await.unwrap();
        assert_eq!(tampered.status(), StatusCode::BAD_REQUEST);
        assert!(tampered.headers().get("location").is_none());
    }

    async fn the_token_endpoint_authenticates_clients_and_refuses_clearly(db) {
        let server = TestServer::start(db).await;
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "bots"}), StatusCode::CREATED).await;
        server.admin_json(Method::POST, "/rest/tessera/1/serviceaccounts", json!({"name": "etl", "ownerGroup": "bots"}), StatusCode::CREATED).await;
        let (client_id, secret) = register(&server, json!({"name": "ETL", "redirectUris": [REDIRECT], "scopes": ["READ"], "serviceAccount": "etl"})).await;
        let secret = secret.unwrap();
        let public = public_client(&server, &["READ"]).await;
        // RFC 6749 §4.4: client_credentials, as the service account, without a refresh token.
        let (status, _, tokens) = token(&server, &[("grant_type", "client_credentials")], Some((&client_id, &secret))).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        assert!(tokens.get("refresh_token").is_none());
        let access = tokens["access_token"].as_str().unwrap();
        let me: Value = server.bearer(Method::GET, "/rest/api/2/myself", access).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["name"], "etl");
        // §2.3.1: the secret in the form works too; both ways at once do not.
        let (status, _, _) = token(&server, &[("grant_type", "client_credentials"), ("client_id", &client_id), ("client_secret", &secret)], None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _, both) = token(&server, &[("grant_type", "client_credentials"), ("client_secret", &secret)], Some((&client_id, &secret))).await;
        assert_eq!((status, both["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));
        // §5.2: invalid_client is 401, with a challenge after Basic.
        let (status, headers, wrong) = token(&server, &[("grant_type", "client_credentials")], Some((&client_id, "tscls_wrong"))).await;
        assert_eq!((status, wrong["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        assert!(headers["www-authenticate"].to_str().unwrap().starts_with("Basic"));
        let (status, _, unknown) = token(&server, &[("grant_type", "client_credentials"), ("client_id", "nobody")], None).await;
        assert_eq!((status, unknown["error"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_client")));
        // A public client may not use client_credentials, nor send a secret.
        let (status, _, public_cc) = token(&server, &[("grant_type", "client_credentials"), ("client_id", &public)], None).await;
        assert_eq!((status, public_cc["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
        let (status, _, _) = token(&server, &[("grant_type", "client_credentials"), ("client_id", &public), ("client_secret", "x")], None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        for (pairs, error) in [
            (vec![("grant_type", "password")], "unsupported_grant_type"),
            (vec![("grant_type", "authorization_code"), ("code", "tscod_forged")], "invalid_grant"),
            (vec![("grant_type", "refresh_token"), ("refresh_token", "tsort_forged")], "invalid_grant"),
            (vec![("grant_type", "authorization_code")], "invalid_request"),
            (vec![], "invalid_request"),
            (vec![("grant_type", "client_credentials"), ("scope", "WRITE")], "invalid_scope"),
        ] {
            let (status, _, body) = token(&server, &pairs, Some((&client_id, &secret))).await;
            assert_eq!((status, body["error"].as_str()), (StatusCode::BAD_REQUEST, Some(error)), "{pairs:?}");
            assert!(body["error_description"].is_string());
        }
        // Form-encoded only, each parameter once (§3.2).
        let json_body = server.http.post(server.url(TOKEN)).basic_auth(&client_id, Some(&secret)).json(&json!({"grant_type": "client_credentials"})).send().await.unwrap();
        assert_eq!(json_body.status(), StatusCode::BAD_REQUEST);
        let twice = server.http.post(server.url(TOKEN)).basic_auth(&client_id, Some(&secret))
            .header("content-type", "application/x-www-form-urlencoded").body("grant_type=client_credentials&grant_type=client_credentials").send().await.unwrap();
        assert_eq!(twice.json::<Value>().await.unwrap()["error"], "invalid_request");
        // A disabled client gets nothing, and its tokens stop until it is enabled again.
        server.admin_json(Method::PUT, &format!("{CLIENTS}/{client_id}"), json!({"enabled": false}), StatusCode::OK).await;
        assert_eq!(status_with(&server, Method::GET, "/rest/api/2/myself", access).await, StatusCode::UNAUTHORIZED);
        let (status, _, _) = token(&server, &[("grant_type", "client_credentials")], Some((&client_id, &secret))).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        server.admin_json(Method::PUT, &format!("{CLIENTS}/{client_id}"), json!({"enabled": true}), StatusCode::OK).await;
        assert_eq!(status_with(&server, Method::GET, "/rest/api/2/myself", access).await, StatusCode::OK);
        // A new secret ends what the old one could mint alone: its client_credentials tokens.
        server.admin_json(Method::POST, &format!("{CLIENTS}/{client_id}/secret"), json!({}), StatusCode::OK).await;
        let refused = server.bearer(Method::GET, "/rest/api/2/myself", access).send().await.unwrap();
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "token_revoked");
    }

    async fn a_client_credentials_client_needs_no_redirect_uri(db) {
        let server = TestServer::start(db).await;
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "bots"}), StatusCode::CREATED).await;
        server.admin_json(Method::POST, "/rest/tessera/1/serviceaccounts", json!({"name": "ci-bot", "ownerGroup": "bots"}), StatusCode::CREATED).await;
        let made = server.admin_json(Method::POST, CLIENTS, json!({"name": "CI", "confidential": true, "scopes": ["READ"], "serviceAccount": "ci-bot"}), StatusCode::CREATED).await;
        assert_eq!(made["redirectUris"], json!([]));
        let client_id = made["clientId"].as_str().unwrap().to_string();
        let secret = made["clientSecret"].as_str().unwrap().to_string();
        let (status, _, tokens) = token(&server, &[("grant_type", "client_credentials")], Some((&client_id, &secret))).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        // It sends no user anywhere: the authorization endpoint refuses it, on a page.
        server.create_user("dev", &[]).await;
        let session = server.login("dev", PASSWORD).await;
        let page = authorize(&server, &session, &client_id, "READ").await;
        assert_eq!(page.status(), StatusCode::BAD_REQUEST);
        assert!(page.text().await.unwrap().contains("registered no redirect URI"));
        // Any other client still needs one.
        let refused = server.admin(Method::POST, CLIENTS).json(&json!({"name": "App", "confidential": true, "scopes": ["READ"]})).send().await.unwrap();
        assert_eq!(refused.status(), StatusCode::BAD_REQUEST);
        assert!(json_of(refused).await["errors"]["redirectUris"].is_string());
    }

    async fn revocation_and_introspection_follow_rfc_7009_and_7662(db) {
        let server = TestServer::start(db).await;
        server.create_user("dev", &[]).await;
        let (client_id, secret) = register(&server, json!({"name": "Portal", "redirectUris": [REDIRECT], "scopes": ["WRITE"]})).await;
        let secret = secret.unwrap();
        let (other_id, other_secret) = register(&server, json!({"name": "Other", "redirectUris": [REDIRECT], "scopes": ["READ"]})).await;
        let other_secret = other_secret.unwrap();
        let session = server.login("dev", PASSWORD).await;
        // A confidential client may use PKCE too; it authenticates at the token endpoint.
        let page = authorize(&server, &session, &client_id, "WRITE").await;
        let answer = decide(&server, &session, page, "approve").await;
        let code = param(&answer, "code").unwrap().to_string();
        let (status, _, tokens) = token(&server, &[("grant_type", "authorization_code"), ("code", &code), ("redirect_uri", REDIRECT), ("code_verifier", VERIFIER)], Some((&client_id, &secret))).await;
        assert_eq!(status, StatusCode::OK, "{tokens}");
        let access = tokens["access_token"].as_str().unwrap().to_string();
        let refresh = tokens["refresh_token"].as_str().unwrap().to_string();
        let post = |path: &'static str, pairs: Vec<(&'static str, String)>, id: String, secret: String| {
            let server = &server;
            async move {
                let response = server.http.post(server.url(path)).basic_auth(&id, Some(&secret)).form(&pairs).send().await.unwrap();
                let status = response.status();
                (status, response.json::<Value>().await.unwrap_or(Value::Null))
            }
        };
        let introspect = "/rest/oauth2/latest/introspect";
        let revoke = "/rest/oauth2/latest/revoke";
        // RFC 7662 §2.2: an active token's facts.
        let (status, facts) = post(introspect, vec![("token", access.clone())], client_id.clone(), secret.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(facts["active"], true);
        assert_eq!(facts["client_id"], client_id.as_str());
        assert_eq!(facts["username"], "dev");
        assert_eq!(facts["token_type"], "Bearer");
        assert!(facts["scope"].as_str().unwrap().contains("write:jira-work"));
        assert!(facts["exp"].as_i64().unwrap() > facts["iat"].as_i64().unwrap());
        // Another client learns nothing about it (§2.2: inactive), nor can revoke it.
        let (_, hidden) = post(introspect, vec![("token", access.clone())], other_id.clone(), other_secret.clone()).await;
        assert_eq!(hidden, json!({"active": false}));
        let (status, refused) = post(revoke, vec![("token", access.clone())], other_id, other_secret).await;
        assert_eq!((status, refused["error"].as_str()), (StatusCode::BAD_REQUEST, Some("unauthorized_client")));
        assert_eq!(status_with(&server, Method::GET, "/rest/api/2/myself", &access).await, StatusCode::OK);
        // A public client cannot introspect.
        let public = public_client(&server, &["READ"]).await;
        let public_try = server.http.post(server.url(introspect)).form(&[("token", access.as_str()), ("client_id", public.as_str())]).send().await.unwrap();
        assert_eq!(public_try.status(), StatusCode::UNAUTHORIZED);
        // RFC 7009 §2.2: revoked or unknown, the answer is 200.
        let (status, _) = post(revoke, vec![("token", "tsoat_unknown".into())], client_id.clone(), secret.clone()).await;
        assert_eq!(status, StatusCode::OK);
        // §2.1: revoking the refresh token takes the grant's access tokens with it.
        let (status, _) = post(revoke, vec![("token", refresh.clone()), ("token_type_hint", "refresh_token".into())], client_id.clone(), secret.clone()).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(status_with(&server, Method::GET, "/rest/api/2/myself", &access).await, StatusCode::UNAUTHORIZED);
        let (_, gone) = post(introspect, vec![("token", access)], client_id.clone(), secret.clone()).await;
        assert_eq!(gone, json!({"active": false}));
        let (status, _, dead) = token(&server, &[("grant_type", "refresh_token"), ("refresh_token", &refresh)], Some((&client_id, &secret))).await;
        assert_eq!((status, dead["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_grant")));
        server.audit("action=oauth.token.revoked&actor=dev", 1).await;
    }

    async fn users_see_and_revoke_their_authorized_applications(db) {
        let mut config = test_config(&db);
        config.tokens.usage_flush_seconds = 1;
        let server = TestServer::start_with(db, config).await;
        server.create_project("PR").await;
        server.create_user("dev", &[]).await;
        server.create_user("eve", &[]).await;
        // Only dev browses PR (the project's default grant to jira-users is taken away).
        server.admin_json(Method::DELETE, "/rest/api/2/project/PR/role/10000?group=jira-users", Value::Null, StatusCode::NO_CONTENT).await;
        server.add_to_role("PR", 10000, "dev").await;
        let issue = server.create_issue("PR", "in PR").await;
        let client_id = public_client(&server, &["WRITE"]).await;
        let session = server.login("dev", PASSWORD).await;
        let tokens = code_flow(&server, &session, &client_id, "READ").await;
        let access = tokens["access_token"].as_str().unwrap().to_string();
        assert_eq!(status_with(&server, Method::GET, &format!("/rest/api/2/issue/{issue}"), &access).await, StatusCode::OK);
        // The user's permissions cap the token: out of the project's roles, the issue is gone.
        server.admin_json(Method::DELETE, "/rest/api/2/project/PR/role/10000?user=dev", Value::Null, StatusCode::NO_CONTENT).await;
        assert_eq!(status_with(&server, Method::GET, &format!("/rest/api/2/issue/{issue}"), &access).await, StatusCode::NOT_FOUND);
        // The application is listed with its scopes and last use.
        server.sync().await;
        let grants: Value = server.user(Method::GET, "/rest/tessera/1/oauth2/grants", "dev").send().await.unwrap().json().await.unwrap();
        assert_eq!(grants.as_array().unwrap().len(), 1, "{grants}");
        assert_eq!(grants[0]["clientName"], "Public <App>");
        assert_eq!(grants[0]["scopes"], json!(["read:jira-work", "read:jira-user"]));
        assert!(grants[0]["lastUsed"].is_string(), "{grants}");
        let id = grants[0]["id"].as_i64().unwrap();
        // Nobody else sees or revokes it; a token may not revoke it.
        let eves: Value = server.user(Method::GET, "/rest/tessera/1/oauth2/grants", "eve").send().await.unwrap().json().await.unwrap();
        assert_eq!(eves, json!([]));
        expect_error(server.user(Method::DELETE, &format!("/rest/tessera/1/oauth2/grants/{id}"), "eve").send().await.unwrap(), StatusCode::NOT_FOUND).await;
        let by_token = server.bearer(Method::DELETE, &format!("/rest/tessera/1/oauth2/grants/{id}"), &access).send().await.unwrap();
        assert_eq!(by_token.headers()["x-authentication-denied-reason"], "token_not_allowed");
        // Revoked by its user: its tokens die at once.
        let revoked = server.user(Method::DELETE, &format!("/rest/tessera/1/oauth2/grants/{id}"), "dev").send().await.unwrap();
        assert_eq!(revoked.status(), StatusCode::NO_CONTENT);
        assert_eq!(status_with(&server, Method::GET, "/rest/api/2/myself", &access).await, StatusCode::UNAUTHORIZED);
        server.audit("action=oauth.grant.revoked&actor=dev", 1).await;
        // The policy governs OAuth 2.0 like every method.
        let tokens = code_flow(&server, &session, &client_id, "READ").await;
        let access = tokens["access_token"].as_str().unwrap().to_string();
        server.admin_json(Method::PUT, "/rest/tessera/1/policy", json!({"methods": {"oauth2": {"enabled": false}}}), StatusCode::OK).await;
        let refused = server.bearer(Method::GET, "/rest/api/2/myself", &access).send().await.unwrap();
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "method_disabled");
    }

    async fn what_the_security_review_found_stays_fixed(db) {
        let server = TestServer::start(db).await;
        server.create_project("FX").await;
        server.create_user("dev", &[]).await;
        server.add_to_role("FX", 10001, "dev").await;
        let session = server.login("dev", PASSWORD).await;
        // A client narrowed by its administrator narrows the tokens it already holds.
        let client_id = public_client(&server, &["WRITE"]).await;
        let tokens = code_flow(&server, &session, &client_id, "WRITE").await;
        let access = tokens["access_token"].as_str().unwrap().to_string();
        let create = json!({"fields": {"project": {"key": "FX"}, "issuetype": {"name": "Task"}, "summary": "by the app"}});
        assert_eq!(server.bearer(Method::POST, "/rest/api/2/issue", &access).json(&create).send().await.unwrap().status(), StatusCode::CREATED);
        server.admin_json(Method::PUT, &format!("{CLIENTS}/{client_id}"), json!({"scopes": ["READ"]}), StatusCode::OK).await;
        let refused = server.bearer(Method::POST, "/rest/api/2/issue", &access).json(&create).send().await.unwrap();
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "scope_missing");
        let refresh = tokens["refresh_token"].as_str().unwrap();
        let (status, _, renewed) = token(&server, &[("grant_type", "refresh_token"), ("refresh_token", refresh), ("client_id", &client_id)], None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(renewed["scope"], "read:jira-work read:jira-user");

        // RFC 6749 §4.1.3: a redirect_uri named in the authorization request must be named again.
        let page = authorize(&server, &session, &client_id, "READ").await;
        let code = param(&location_query(&page), "code").unwrap().to_string();
        let (status, _, missing) = token(&server, &[("grant_type", "authorization_code"), ("code", &code), ("client_id", &client_id), ("code_verifier", VERIFIER)], None).await;
        assert_eq!((status, missing["error"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")));

        // RFC 8252: a native app's loopback redirect matches any port, and is never answered
        // without the user, even after consent.
        let (native, _) = register(&server, json!({"name": "Native", "redirectUris": ["http://127.0.0.1/cb"], "confidential": false, "scopes": ["READ"]})).await;
        let native_authorize = || {
            let mut url = Url::parse(&server.url(AUTHORIZE)).unwrap();
            url.query_pairs_mut().extend_pairs([("response_type", "code"), ("client_id", native.as_str()), ("redirect_uri", "http://127.0.0.1:53117/cb"), ("code_challenge", &pkce_challenge(VERIFIER)), ("code_challenge_method", "S256")]);
            no_redirects().get(url).header("cookie", format!("JSESSIONID={session}")).send()
        };
        let first = native_authorize().await.unwrap();
        assert_eq!(first.status(), StatusCode::OK, "the consent page, for the port asked");
        let html = first.text().await.unwrap();
        assert!(html.contains("a program on your own computer") && html.contains("<code>http://127.0.0.1:53117</code>"), "{html}");
        let mut fields = form_fields(&html);
        fields.push(("decision".into(), "approve".into()));
        let approved = no_redirects().post(server.url(AUTHORIZE)).header("cookie", format!("JSESSIONID={session}")).form(&fields).send().await.unwrap();
        assert!(approved.headers()["location"].to_str().unwrap().starts_with("http://127.0.0.1:53117/cb?code="));
        assert_eq!(native_authorize().await.unwrap().status(), StatusCode::OK, "asked again");
        // Only the port may differ: a NUL, a tab or a trailing space the URL parser would
        // drop is not the registered URI (an error page, no redirect, never a 500).
        for sloppy in ["http://127.0.0.1:53117/cb\0", "http://127.0.0.1:53117/c\tb", "http://127.0.0.1:53117/cb "] {
            let mut url = Url::parse(&server.url(AUTHORIZE)).unwrap();
            url.query_pairs_mut().extend_pairs([("response_type", "code"), ("client_id", native.as_str()), ("redirect_uri", sloppy), ("code_challenge", &pkce_challenge(VERIFIER)), ("code_challenge_method", "S256")]);
            let refused = no_redirects().get(url).header("cookie", format!("JSESSIONID={session}")).send().await.unwrap();
            assert_eq!(refused.status(), StatusCode::BAD_REQUEST, "{sloppy:?}");
            assert!(refused.headers().get("location").is_none(), "{sloppy:?}");
        }

        // RFC 6749 §3.1: a parameter sent twice is refused.
        let mut url = Url::parse(&server.url(AUTHORIZE)).unwrap();
        url.query_pairs_mut().extend_pairs([("response_type", "code"), ("client_id", client_id.as_str()), ("client_id", "other"), ("code_challenge", &pkce_challenge(VERIFIER)), ("code_challenge_method", "S256")]);
        let twice = no_redirects().get(url).header("cookie", format!("JSESSIONID={session}")).send().await.unwrap();
        assert_eq!(twice.status(), StatusCode::BAD_REQUEST);
        assert!(twice.headers().get("location").is_none());
        let mut url = Url::parse(&server.url(AUTHORIZE)).unwrap();
        url.query_pairs_mut().extend_pairs([("response_type", "code"), ("client_id", client_id.as_str()), ("scope", "READ"), ("scope", "READ"), ("state", "s-42"), ("code_challenge", &pkce_challenge(VERIFIER)), ("code_challenge_method", "S256")]);
        let twice = no_redirects().get(url).header("cookie", format!("JSESSIONID={session}")).send().await.unwrap();
        let answer = location_query(&twice);
        assert_eq!(param(&answer, "error"), Some("invalid_request"));
        assert_eq!(param(&answer, "state"), Some("s-42"), "RFC 6749 §4.1.2.1: the state goes back");
        assert!(param(&answer, "iss").is_some(), "RFC 9207");

        // A redirect URI smuggled after a newline is refused at registration.
        let smuggled = server.admin(Method::POST, CLIENTS).json(&json!({"name": "x", "redirectUris": ["https://app.example/cb\nhttp://evil.example/cb"], "scopes": ["READ"]})).send().await.unwrap();
        expect_error(smuggled, StatusCode::BAD_REQUEST).await;

        // A leaked access token or client secret reported by anyone stops working.
        let tokens = code_flow(&server, &session, &client_id, "READ").await;
        let access = tokens["access_token"].as_str().unwrap().to_string();
        let (confidential, secret) = register(&server, json!({"name": "Leaky", "redirectUris": [REDIRECT], "scopes": ["READ"]})).await;
        let secret = secret.unwrap();
        let report = server.anonymous(Method::POST, "/rest/tessera/1/credentials/revoke").json(&json!({"credentials": [access, secret]})).send().await.unwrap();
        assert_eq!(report.status(), StatusCode::ACCEPTED);
        // Reports are handled in the background, one credential after the other: wait for both.
        server.sync().await;
        let stopped = status_with(&server, Method::GET, "/rest/api/2/myself", &access).await == StatusCode::UNAUTHORIZED;
        let shown = server.admin_json(Method::GET, &format!("{CLIENTS}/{confidential}"), Value::Null, StatusCode::OK).await;
        let disabled = shown["enabled"] == false;
        assert!(stopped, "the reported access token still works");
        assert!(disabled, "the client whose secret leaked is disabled");

        // A secret sent as a user name is refused as a token and recorded nowhere.
        let pat = server.create_token("dev", json!({"name": "pat", "expirationDuration": 30})).await;
        let misused = server.basic(Method::GET, "/rest/api/2/myself", &pat, "x").send().await.unwrap();
        assert_eq!(misused.headers()["x-authentication-denied-reason"], "token_malformed");
        server.audit("action=token.refused", 1).await;
        let export = server.admin(Method::GET, "/rest/tessera/1/audit/export").send().await.unwrap().text().await.unwrap();
        assert!(!export.contains(&pat[..20]), "the secret is in the audit");
        // A token lists at most the application it acts for.
        let listed: Value = server.bearer(Method::GET, "/rest/tessera/1/oauth2/grants", &pat).send().await.unwrap().json().await.unwrap();
        assert_eq!(listed, json!([]));
    }

    async fn an_administrators_application_with_admin_scopes_needs_websudo(db) {
        let server = TestServer::start(db).await;
        let client_id = public_client(&server, &["ADMIN"]).await;
        let session = server.login("admin", ADMIN_PASSWORD).await;
        let page = authorize(&server, &session, &client_id, "ADMIN").await;
        assert_eq!(page.status(), StatusCode::OK);
        let html = page.text().await.unwrap();
        let mut fields = form_fields(&html);
        fields.push(("decision".into(), "approve".into()));
        let approved = no_redirects().post(server.url(AUTHORIZE)).header("cookie", format!("JSESSIONID={session}")).form(&fields).send().await.unwrap();
        assert_eq!(approved.status(), StatusCode::SEE_OTHER);
        let location = approved.headers()["location"].to_str().unwrap().to_string();
        assert!(location.starts_with("/secure/admin/websudo?next=%2Frest%2Foauth2%2Flatest%2Fauthorize%3F"), "{location}");
        server.websudo(&session, ADMIN_PASSWORD).await;
        // Back where it was sent: consent given now, straight to the client with a code.
        let page = authorize(&server, &session, &client_id, "ADMIN").await;
        let answer = decide(&server, &session, page, "approve").await;
        assert!(param(&answer, "code").is_some());
    }
}
