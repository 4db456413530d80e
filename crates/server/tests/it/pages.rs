//! The HTML pages through a real server, on SQLite and on PostgreSQL: session-only
//! authentication with redirects to the login form, the open-redirect guard, form tokens and
//! the cross-site rule on every POST, the raw token shown exactly once, escaping of user data,
//! the administrators' inventory, and pages under a context path.

use crate::common::*;
use reqwest::header::HeaderMap;
use reqwest::{Method, StatusCode, Url};
use serde_json::{Value, json};
use tessera_core::store::{OAuth2Store, UserStore};
use tessera_testkit::backend_tests;

/// A client that shows redirects instead of following them, and keeps no cookies.
fn client() -> reqwest::Client {
    crate::common::http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// `application/x-www-form-urlencoded` text for some pairs.
fn form(pairs: &[(&str, &str)]) -> String {
    let mut url = Url::parse("http://form.invalid/").unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.query().unwrap_or("").to_string()
}

struct Page {
    status: StatusCode,
    headers: HeaderMap,
    body: String,
}

impl Page {
    fn location(&self) -> &str {
        self.headers
            .get("location")
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no Location ({}): {}", self.status, self.body))
    }

    fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect()
    }

    /// The session's form token, from the first form on the page.
    fn form_token(&self) -> String {
        let marker = "name=\"atl_token\" value=\"";
        let start = self.body.find(marker).expect("a form token on the page") + marker.len();
        let end = self.body[start..].find('"').unwrap();
        self.body[start..start + end].to_string()
    }

    /// The value of the hidden field `name`, if the page has one (values the tests read
    /// carry nothing HTML escapes but `&`).
    fn hidden(&self, name: &str) -> Option<String> {
        let marker = format!("type=\"hidden\" name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')?;
        Some(self.body[start..start + end].replace("&amp;", "&"))
    }

    /// The raw token shown in `#raw-token`, if any.
    fn raw_token(&self) -> Option<String> {
        let at = self.body.find("id=\"raw-token\"")?;
        let tag_end = self.body[at..].find('>')? + at;
        let tag = &self.body[at..tag_end];
        let marker = "value=\"";
        let start = tag.find(marker)? + marker.len();
        let end = tag[start..].find('"')?;
        Some(tag[start..start + end].to_string())
    }

    fn assert_html(&self) {
        let header = |name: &str| {
            self.headers
                .get(name)
                .map(|v| v.to_str().unwrap().to_string())
        };
        assert_eq!(
            header("content-type").as_deref(),
            Some("text/html; charset=utf-8")
        );
        let csp = header("content-security-policy").expect("a CSP");
        for directive in [
            "default-src 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ] {
            assert!(csp.contains(directive), "{csp}");
        }
        assert_eq!(header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(header("x-content-type-options").as_deref(), Some("nosniff"));
    }
}

async fn read(response: reqwest::Response) -> Page {
    Page {
        status: response.status(),
        headers: response.headers().clone(),
        body: response.text().await.unwrap(),
    }
}

async fn get(server: &TestServer, path: &str, session: Option<&str>) -> Page {
    let mut request = client().get(server.url(path));
    if let Some(session) = session {
        request = request.header("cookie", format!("JSESSIONID={session}"));
    }
    read(request.send().await.unwrap()).await
}

/// The `tessera.once` cookie a creation's redirect sets (name=value), if any.
fn once_cookie(page: &Page) -> Option<String> {
    page.set_cookies()
        .into_iter()
        .find(|c| c.starts_with("tessera.once="))
        .map(|c| c.split(';').next().unwrap().to_string())
}

/// Follows a creation's redirect as a browser does: to its page, with the session and the
/// cookie that carries the secret.
async fn follow(server: &TestServer, session: &str, created: &Page) -> Page {
    let once = once_cookie(created).expect("the secret's cookie");
    let request = client()
        .get(server.url(created.location()))
        .header("cookie", format!("JSESSIONID={session}; {once}"));
    read(request.send().await.unwrap()).await
}

async fn post(
    server: &TestServer,
    path: &str,
    session: Option<&str>,
    pairs: &[(&str, &str)],
    headers: &[(&str, &str)],
) -> Page {
    let mut request = client()
        .post(server.url(path))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form(pairs));
    if let Some(session) = session {
        request = request.header("cookie", format!("JSESSIONID={session}"));
    }
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    read(request.send().await.unwrap()).await
}

/// Logs in through the form at `prefix` (a context path, or empty); returns the session id.
async fn login_at(server: &TestServer, prefix: &str, user: &str, password: &str) -> String {
    let page = post(
        server,
        &format!("{prefix}/login"),
        None,
        &[
            ("username", user),
            ("password", password),
            ("next", "/secure/tokens"),
        ],
        &[],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("JSESSIONID="))
        .expect("a session cookie");
    cookie["JSESSIONID=".len()..]
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

async fn login(server: &TestServer, user: &str, password: &str) -> String {
    login_at(server, "", user, password).await
}

/// The user's live tokens, through the REST API.
async fn tokens_of(server: &TestServer, user: &str) -> Vec<Value> {
    let response = server
        .user(Method::GET, "/rest/pat/latest/tokens", user)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    json_of(response).await.as_array().unwrap().clone()
}

async fn myself_status(server: &TestServer, token: &str) -> StatusCode {
    server
        .request(Method::GET, "/rest/api/2/myself")
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

/// Makes a token for `user` through the REST API; returns the raw token.
async fn rest_token(server: &TestServer, user: &str, name: &str) -> String {
    let response = server
        .user(Method::POST, "/rest/pat/latest/tokens", user)
        .json(&json!({"name": name, "expirationDuration": 30}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    json_of(response).await["rawToken"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Creates a token through the page; returns the creation page.
async fn create(server: &TestServer, session: &str, name: &str, scopes: &[&str]) -> Page {
    let token = get(server, "/secure/tokens", Some(session))
        .await
        .form_token();
    let mut pairs = vec![
        ("atl_token", token.as_str()),
        ("name", name),
        ("expirationDays", "30"),
    ];
    pairs.extend(scopes.iter().map(|s| ("scopes", *s)));
    let answer = post(server, "/secure/tokens", Some(session), &pairs, &[]).await;
    if answer.status == StatusCode::SEE_OTHER {
        return follow(server, session, &answer).await;
    }
    answer
}

backend_tests! {
    async fn anonymous_and_header_credentials_are_sent_to_the_login_form(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        let page = get(&server, "/secure/tokens", None).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), "/login?next=%2Fsecure%2Ftokens");
        let page = get(&server, "/secure/admin/tokens?owner=alice", None).await;
        assert_eq!(page.location(), "/login?next=%2Fsecure%2Fadmin%2Ftokens%3Fowner%3Dalice");

        // Pages are for sessions only: a valid Basic or Bearer header does not open them.
        let response = client().get(server.url("/secure/tokens")).basic_auth("alice", Some(PASSWORD)).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let raw = rest_token(&server, "alice", "api").await;
        let response = client().get(server.url("/secure/tokens")).bearer_auth(&raw).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        assert!(read(response).await.location().starts_with("/login?next="));

        // A forged or ended session is cleared and sent to log in again.
        let page = get(&server, "/secure/tokens", Some("forged")).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert!(page.set_cookies().iter().any(|c| c.starts_with("JSESSIONID=;") && c.contains("Max-Age=0")), "{:?}", page.set_cookies());

        let page = get(&server, "/login?next=%2Fsecure%2Fadmin%2Ftokens", None).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_html();
        assert!(page.body.contains("name=\"next\" value=\"/secure/admin/tokens\""), "{}", page.body);
    }

    async fn login_sets_the_cookies_and_refuses_open_redirects(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        let login = |next: &'static str| {
            let server = &server;
            async move {
                post(server, "/login", None, &[("username", "alice"), ("password", PASSWORD), ("next", next)], &[]).await
            }
        };
        let page = login("/secure/admin/tokens?owner=alice").await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), "/secure/admin/tokens?owner=alice");
        let cookies = page.set_cookies();
        let session = cookies.iter().find(|c| c.starts_with("JSESSIONID=")).expect("session cookie");
        assert!(session.contains("HttpOnly") && session.contains("SameSite=Lax") && session.contains("Path=/"), "{session}");
        assert!(cookies.iter().any(|c| c.starts_with("atlassian.xsrf.token=")), "{cookies:?}");

        for evil in ["//evil.example", "https://evil.example/", "/\\evil.example", "javascript:alert(1)", ""] {
            let page = login(evil).await;
            assert_eq!(page.status, StatusCode::SEE_OTHER);
            assert_eq!(page.location(), "/secure/tokens", "next={evil:?}");
        }
        // The form itself never carries a foreign `next` either.
        let page = get(&server, "/login?next=%2F%2Fevil.example", None).await;
        assert!(page.body.contains("name=\"next\" value=\"/secure/tokens\""), "{}", page.body);

        // A wrong password: the form again, a generic message, no session.
        let page = post(&server, "/login", None, &[("username", "alice"), ("password", "wrong"), ("next", "/secure/tokens")], &[]).await;
        assert_eq!(page.status, StatusCode::UNAUTHORIZED);
        page.assert_html();
        assert!(page.body.contains("the username or password is incorrect"), "{}", page.body);
        assert!(page.set_cookies().is_empty());
        let unknown = post(&server, "/login", None, &[("username", "nobody"), ("password", "wrong")], &[]).await;
        assert_eq!(unknown.status, StatusCode::UNAUTHORIZED);

        // A login form posted from another site is refused (login CSRF).
        let page = post(&server, "/login", None, &[("username", "alice"), ("password", PASSWORD)], &[("sec-fetch-site", "cross-site")]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert!(page.set_cookies().is_empty());
        let page = post(&server, "/login", None, &[("username", "alice"), ("password", PASSWORD)], &[("origin", "https://evil.example")]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);

        // The session opens the pages.
        let session = login_at(&server, "", "alice", PASSWORD).await;
        let page = get(&server, "/secure/tokens", Some(&session)).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_html();
        assert!(page.body.contains("Personal access tokens") && page.body.contains("alice"));
    }

    async fn posts_need_the_form_token_and_the_same_site(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        let session = login(&server, "alice", PASSWORD).await;
        let token = get(&server, "/secure/tokens", Some(&session)).await.form_token();
        let fields = [("name", "ci"), ("expirationDays", "30"), ("scopes", "READ")];
        let with = |t: &'static str| -> Vec<(&str, &str)> {
            let mut pairs = vec![("atl_token", t)];
            pairs.extend(fields);
            pairs
        };
        let leaked: &'static str = Box::leak(token.clone().into_boxed_str());
        for (pairs, headers) in [
            (fields.to_vec(), vec![]),
            (with("wrong-token"), vec![]),
            (with(""), vec![]),
            // The REST rule's header exemption does not apply to pages.
            (fields.to_vec(), vec![("x-atlassian-token", "no-check")]),
            (with(leaked), vec![("sec-fetch-site", "cross-site")]),
            (with(leaked), vec![("sec-fetch-site", "same-site")]),
            (with(leaked), vec![("origin", "https://evil.example")]),
        ] {
            let page = post(&server, "/secure/tokens", Some(&session), &pairs, &headers).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{pairs:?} {headers:?}");
            page.assert_html();
            assert!(page.raw_token().is_none());
        }
        assert!(tokens_of(&server, "alice").await.is_empty(), "no token was made");
        // A control character in a field is a clear 400 naming the field, and makes nothing.
        let page = post(&server, "/secure/tokens", Some(&session), &[("atl_token", leaked), ("name", "c\u{1b}i"), ("expirationDays", "30"), ("scopes", "READ")], &[]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("&quot;name&quot;") || page.body.contains("\"name\""), "{}", page.body);
        assert!(tokens_of(&server, "alice").await.is_empty(), "no token was made");

        // Another session's token does not do either.
        let other = login(&server, "alice", PASSWORD).await;
        let other_token = get(&server, "/secure/tokens", Some(&other)).await.form_token();
        assert_ne!(other_token, token);
        let mut pairs = vec![("atl_token", other_token.as_str())];
        pairs.extend(fields);
        let page = post(&server, "/secure/tokens", Some(&session), &pairs, &[]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);

        // Revoking and logging out need it too.
        let raw = rest_token(&server, "alice", "api").await;
        let id = tokens_of(&server, "alice").await[0]["id"].to_string();
        let page = post(&server, &format!("/secure/tokens/{id}/revoke"), Some(&session), &[], &[]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert_eq!(myself_status(&server, &raw).await, StatusCode::OK);
        let page = post(&server, "/logout", Some(&session), &[], &[]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert_eq!(get(&server, "/secure/tokens", Some(&session)).await.status, StatusCode::OK);

        // With the token, from the same origin: accepted.
        let origin = format!("http://{}", server.addr);
        let mut pairs = vec![("atl_token", token.as_str())];
        pairs.extend(fields);
        let page = post(&server, "/secure/tokens", Some(&session), &pairs, &[("origin", &origin), ("sec-fetch-site", "same-origin")]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert!(follow(&server, &session, &page).await.raw_token().is_some());

        // Logging out ends the session.
        let page = post(&server, "/logout", Some(&session), &[("atl_token", &token)], &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert_eq!(page.location(), "/login");
        assert!(page.set_cookies().iter().any(|c| c.starts_with("JSESSIONID=;")));
        let page = get(&server, "/secure/tokens", Some(&session)).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
    }

    async fn a_new_token_is_shown_once_and_works(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        let session = login(&server, "alice", PASSWORD).await;
        let page = get(&server, "/secure/tokens", Some(&session)).await;
        assert!(page.body.contains("id=\"no-tokens\""));

        let page = create(&server, &session, "laptop", &["READ"]).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        page.assert_html();
        let raw = page.raw_token().expect("the raw token on the page");
        assert!(raw.starts_with("tspat_"), "{raw}");
        assert!(page.body.contains("it will not be shown again"), "{}", page.body);
        assert!(page.body.contains("readonly"));
        assert_eq!(myself_status(&server, &raw).await, StatusCode::OK);

        let tokens = tokens_of(&server, "alice").await;
        assert_eq!(tokens.len(), 1);
        assert_eq!(tokens[0]["name"], "laptop");
        assert_eq!(tokens[0]["scopes"], json!(["read:jira-work", "read:jira-user"]));
        assert!(tokens[0]["expiringAt"].is_string());

        let list = get(&server, "/secure/tokens", Some(&session)).await;
        assert_eq!(list.status, StatusCode::OK);
        assert!(list.body.contains("laptop") && list.body.contains("read:jira-work"));
        assert!(!list.body.contains(&raw), "the raw token is shown only once");
        assert!(list.raw_token().is_none());

        // POST/redirect/GET: the creation answers with a redirect whose cookie carries the
        // secret sealed (never in clear), for this session only; the page that shows it
        // removes the cookie, and reloading it creates nothing.
        let form_token = list.form_token();
        let pairs = [("atl_token", form_token.as_str()), ("name", "desktop"), ("scopes", "READ")];
        let answer = post(&server, "/secure/tokens", Some(&session), &pairs, &[]).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert!(answer.location().ends_with("/secure/tokens"), "{}", answer.location());
        let cookie = answer.set_cookies().into_iter().find(|c| c.starts_with("tessera.once=")).unwrap();
        assert!(cookie.contains("HttpOnly") && cookie.contains("Max-Age=120"), "{cookie}");
        assert!(!cookie.contains("tspat_"), "sealed, not in clear: {cookie}");
        let once = once_cookie(&answer).unwrap();
        let bob = { server.create_user("bob", &[]).await; login(&server, "bob", PASSWORD).await };
        let stolen = client().get(server.url("/secure/tokens"))
            .header("cookie", format!("JSESSIONID={bob}; {once}")).send().await.unwrap();
        let stolen = read(stolen).await;
        assert_eq!(stolen.status, StatusCode::OK);
        assert!(stolen.raw_token().is_none(), "another session cannot open it");
        let tampered = format!("{}x", &once[..once.len() - 1]);
        let tampered = read(client().get(server.url("/secure/tokens"))
            .header("cookie", format!("JSESSIONID={session}; {tampered}")).send().await.unwrap()).await;
        assert!(tampered.raw_token().is_none());
        let shown = follow(&server, &session, &answer).await;
        let second = shown.raw_token().expect("the new token, shown by the page redirected to");
        assert!(second.starts_with("tspat_") && second != raw);
        assert!(shown.set_cookies().iter().any(|c| c.starts_with("tessera.once=;") && c.contains("Max-Age=0")), "{:?}", shown.set_cookies());
        assert!(shown.body.contains("data-copy=\"raw-token\""), "a copy button");
        assert_eq!(myself_status(&server, &second).await, StatusCode::OK);
        let reloaded = get(&server, "/secure/tokens", Some(&session)).await;
        assert!(reloaded.raw_token().is_none());
        assert_eq!(tokens_of(&server, "alice").await.len(), 2, "a reload creates nothing");
    }

    async fn the_create_form_reports_mistakes(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        server.create_project("SEEN").await;
        let session = login(&server, "alice", PASSWORD).await;
        let token = get(&server, "/secure/tokens", Some(&session)).await.form_token();
        let page = post(&server, "/secure/tokens", Some(&session), &[
            ("atl_token", &token), ("name", ""), ("expirationDays", "soon"),
            ("projects", "NOPE"), ("allowedIps", "not-an-ip"),
        ], &[]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        page.assert_html();
        for message in [
            "A token name is required.",
            "whole number of days",
            "Choose at least one scope.",
            "No project could be found with key &#39;NOPE&#39;.",
            "is not an IP address or CIDR range",
        ] {
            assert!(page.body.contains(message) || page.body.contains(&message.replace("&#39;", "'")), "{message}: {}", page.body);
        }
        assert!(page.body.contains("value=\"not-an-ip\""), "the form keeps what was typed");
        assert!(page.raw_token().is_none());

        // The policy's own limits come from the service.
        let page = post(&server, "/secure/tokens", Some(&session), &[
            ("atl_token", &token), ("name", "long"), ("expirationDays", "100000"), ("scopes", "WRITE"),
        ], &[]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("Tokens may live at most"), "{}", page.body);
        assert!(tokens_of(&server, "alice").await.is_empty());

        // A project alice cannot see is as unknown as a missing one; one she can is fine.
        server.add_to_role("SEEN", 10000, "alice").await;
        let page = post(&server, "/secure/tokens", Some(&session), &[
            ("atl_token", &token), ("name", "scoped"), ("expirationDays", "7"),
            ("scopes", "read:jira-work"), ("projects", "SEEN"), ("allowedIps", "127.0.0.1, 10.0.0.0/8"),
        ], &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        let tokens = tokens_of(&server, "alice").await;
        assert_eq!(tokens[0]["projects"], json!(["SEEN"]));
        assert_eq!(tokens[0]["allowedIps"], json!(["127.0.0.1/32", "10.0.0.0/8"]));
    }

    async fn user_data_is_escaped(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        let session = login(&server, "alice", PASSWORD).await;
        let evil = "<script>alert(1)</script>\"'&";
        let page = create(&server, &session, evil, &["READ"]).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        let escaped = "&lt;script&gt;alert(1)&lt;/script&gt;&quot;'&amp;";
        for page in [page, get(&server, "/secure/tokens", Some(&session)).await] {
            assert!(!page.body.contains("<script>alert"), "{}", page.body);
            assert!(page.body.contains(escaped), "{}", page.body);
        }
        // Failed logins show the typed name escaped too.
        let page = post(&server, "/login", None, &[("username", "\"><script>x</script>"), ("password", "x")], &[]).await;
        assert!(!page.body.contains("<script>x"), "{}", page.body);
        assert!(page.body.contains("&quot;&gt;&lt;script&gt;x&lt;/script&gt;"), "{}", page.body);

        let admin = login(&server, "admin", ADMIN_PASSWORD).await;
        let page = get(&server, "/secure/admin/tokens?owner=alice", Some(&admin)).await;
        assert!(page.body.contains(escaped) && page.body.matches("<script").count() == 1, "{}", page.body);
        let page = get(&server, "/secure/admin/tokens?owner=%3Cscript%3E", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("&lt;script&gt;") && page.body.matches("<script").count() == 1, "{}", page.body);
    }

    async fn an_administrators_admin_token_waits_for_the_password_and_is_then_made(db) {
        let server = TestServer::start(db).await;
        let admin = login(&server, "admin", ADMIN_PASSWORD).await;
        // The websudo window that the login opened is closed (the REST API's DELETE websudo).
        let token = get(&server, "/secure/tokens", Some(&admin)).await.form_token();
        let closed = client().delete(server.url("/rest/auth/1/websudo"))
            .header("cookie", format!("JSESSIONID={admin}")).header("x-atlassian-token", "no-check")
            .send().await.unwrap();
        assert!(closed.status().is_success(), "{}", closed.status());
        let fields = [("atl_token", token.as_str()), ("name", "ops"), ("expirationDays", "7"), ("scopes", "ADMIN")];
        let asked = post(&server, "/secure/tokens", Some(&admin), &fields, &[]).await;
        assert_eq!(asked.status, StatusCode::OK, "{}", asked.body);
        let pending = asked.hidden("pending").expect("the password form keeps the request");
        let admins_tokens = || async { json_of(server.admin(Method::GET, "/rest/pat/latest/tokens").send().await.unwrap()).await };
        assert_eq!(admins_tokens().await, json!([]), "nothing made yet");
        let sent_on = post(&server, "/secure/admin/websudo", Some(&admin),
            &[("atl_token", &token), ("password", ADMIN_PASSWORD), ("next", "/secure/tokens"), ("pending", &pending)], &[]).await;
        assert!(sent_on.body.contains("action=\"/secure/tokens\""), "{}", sent_on.body);
        assert_eq!((sent_on.hidden("name").as_deref(), sent_on.hidden("scopes").as_deref()), (Some("ops"), Some("ADMIN")));
        let again: Vec<(String, String)> = ["atl_token", "name", "expirationDays", "scopes"].iter()
            .map(|f| (f.to_string(), sent_on.hidden(f).unwrap())).collect();
        let refs: Vec<(&str, &str)> = again.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let made = post(&server, "/secure/tokens", Some(&admin), &refs, &[]).await;
        assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
        let shown = follow(&server, &admin, &made).await;
        assert!(shown.raw_token().is_some_and(|raw| raw.starts_with("tspat_")));
        let made = admins_tokens().await;
        assert_eq!((made.as_array().unwrap().len(), made[0]["name"].as_str()), (1, Some("ops")));
    }

    async fn the_token_form_offers_what_the_user_can_use_and_says_when_it_ends(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        let alice = login(&server, "alice", PASSWORD).await;
        let page = get(&server, "/secure/tokens", Some(&alice)).await;
        for offered in ["scope-READ", "scope-WRITE", "scope-read:jira-work", "scope-manage:jira-project"] {
            assert!(page.body.contains(&format!("id=\"{offered}\"")), "{offered}: {}", page.body);
        }
        for withheld in ["scope-ADMIN", "scope-SYSTEM_ADMIN", "scope-manage:jira-configuration"] {
            assert!(!page.body.contains(&format!("id=\"{withheld}\"")), "{withheld} offered to a user who cannot use it");
        }
        assert!(page.body.contains("View projects and issues you can view"), "each scope says what it allows");
        // Presets, each with the day it ends.
        let in_90 = tessera_core::clock::Timestamp::from_millis(
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64 + 90 * 86_400_000);
        let day = tessera_web::render::time(in_90)[..10].to_string();
        assert!(page.body.contains("id=\"expires-90\"") && page.body.contains(&day), "{}", page.body);
        let token = page.form_token();
        let made = post(&server, "/secure/tokens", Some(&alice), &[("atl_token", &token), ("name", "preset"), ("expirationPreset", "90"), ("expirationDays", ""), ("scopes", "READ")], &[]).await;
        assert_eq!(made.status, StatusCode::SEE_OTHER, "{}", made.body);
        let listed = tokens_of(&server, "alice").await;
        assert!(listed[0]["expiringAt"].as_str().unwrap().starts_with(&day), "{listed:?}");
        // An administrator is offered the administrative scopes.
        let admin = login(&server, "admin", ADMIN_PASSWORD).await;
        let page = get(&server, "/secure/tokens", Some(&admin)).await;
        assert!(page.body.contains("id=\"scope-ADMIN\"") && page.body.contains("id=\"scope-manage:jira-configuration\""));
    }

    async fn the_root_and_unknown_pages_lead_somewhere(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        let page = get(&server, "/", None).await;
        assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/login"));
        let session = login(&server, "alice", PASSWORD).await;
        let page = get(&server, "/", Some(&session)).await;
        assert_eq!((page.status, page.location()), (StatusCode::SEE_OTHER, "/secure/tokens"));
        // A browser at an unknown page gets an HTML page with links; REST paths and API
        // clients keep Jira's JSON.
        let browse = |path: &'static str, accept: &'static str| {
            let server = &server;
            async move { read(client().get(server.url(path)).header("accept", accept).send().await.unwrap()).await }
        };
        let html = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        let page = browse("/secure/nothing-here", html).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        page.assert_html();
        assert!(page.body.contains("There is no page at /secure/nothing-here") && page.body.contains("href=\"/login\""), "{}", page.body);
        for (path, accept) in [("/rest/api/2/nothing", html), ("/secure/nothing-here", "application/json")] {
            let page = browse(path, accept).await;
            assert_eq!(page.status, StatusCode::NOT_FOUND);
            assert!(page.headers["content-type"].to_str().unwrap().starts_with("application/json"), "{path}");
            let body: Value = serde_json::from_str(&page.body).unwrap();
            assert!(body["errorMessages"][0].as_str().unwrap().contains(path), "{body}");
        }
    }

    async fn users_revoke_their_own_tokens_only(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        server.create_user("bob", &[]).await;
        let bobs = rest_token(&server, "bob", "bobs").await;
        let bobs_id = tokens_of(&server, "bob").await[0]["id"].to_string();
        let session = login(&server, "alice", PASSWORD).await;
        let raw = create(&server, &session, "mine", &["WRITE"]).await.raw_token().unwrap();
        let id = tokens_of(&server, "alice").await[0]["id"].to_string();
        let token = get(&server, "/secure/tokens", Some(&session)).await.form_token();

        let page = post(&server, &format!("/secure/tokens/{bobs_id}/revoke"), Some(&session), &[("atl_token", &token)], &[]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
        page.assert_html();
        assert_eq!(myself_status(&server, &bobs).await, StatusCode::OK);
        let page = post(&server, "/secure/tokens/not-a-number/revoke", Some(&session), &[("atl_token", &token)], &[]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);

        // Rotating asks first too; then the new secret is shown once and the old one stops.
        let page = post(&server, &format!("/secure/tokens/{id}/rotate"), Some(&session), &[("atl_token", &token)], &[]).await;
        assert!(page.body.contains("id=\"confirm-action\"") && page.body.contains("<strong>mine</strong>"), "{}", page.body);
        assert_eq!(myself_status(&server, &raw).await, StatusCode::OK, "nothing rotated before the confirmation");
        let answer = post(&server, &format!("/secure/tokens/{id}/rotate"), Some(&session), &[("atl_token", &token), ("confirmed", "yes")], &[]).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let shown = follow(&server, &session, &answer).await;
        assert!(shown.body.contains("has a new secret"), "{}", shown.body);
        let renewed = shown.raw_token().expect("the new secret, once");
        assert_eq!(myself_status(&server, &raw).await, StatusCode::UNAUTHORIZED);
        assert_eq!(myself_status(&server, &renewed).await, StatusCode::OK);
        let raw = renewed;
        let page = post(&server, &format!("/secure/tokens/{bobs_id}/rotate"), Some(&session), &[("atl_token", &token), ("confirmed", "yes")], &[]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND, "another user's token");

        // Revoking asks first, naming the token; only the confirmed form revokes.
        let page = post(&server, &format!("/secure/tokens/{id}/revoke"), Some(&session), &[("atl_token", &token)], &[]).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        page.assert_html();
        assert!(page.body.contains("id=\"confirm-action\"") && page.body.contains("<strong>mine</strong>"), "{}", page.body);
        assert_eq!(myself_status(&server, &raw).await, StatusCode::OK, "nothing revoked before the confirmation");
        let unconfirmed_elsewhere = post(&server, &format!("/secure/tokens/{id}/revoke"), Some(&session), &[("confirmed", "yes")], &[]).await;
        assert_eq!(unconfirmed_elsewhere.status, StatusCode::FORBIDDEN, "the confirmation needs the form token too");
        let page = post(&server, &format!("/secure/tokens/{id}/revoke"), Some(&session), &[("atl_token", &token), ("confirmed", "yes")], &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER);
        assert!(page.location().starts_with("/secure/tokens?said="), "{}", page.location());
        assert_eq!(myself_status(&server, &raw).await, StatusCode::UNAUTHORIZED);
        let list = get(&server, page.location(), Some(&session)).await;
        assert!(list.body.contains("id=\"result\"") && list.body.contains("Token mine was revoked."), "{}", list.body);
        assert!(!list.body.contains(&format!("id=\"token-{id}\"")), "revoked tokens leave the list");
        // The message is the session's own: another session's page says nothing.
        let bob = login(&server, "bob", PASSWORD).await;
        assert!(!get(&server, page.location(), Some(&bob)).await.body.contains("id=\"result\""));
    }

    async fn the_inventory_is_for_administrators(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        server.create_user("bob", &[]).await;
        let alices = rest_token(&server, "alice", "alice-ci").await;
        rest_token(&server, "bob", "bob-ci").await;

        let session = login(&server, "alice", PASSWORD).await;
        let page = get(&server, "/secure/admin/tokens", Some(&session)).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        page.assert_html();
        assert!(!page.body.contains("bob-ci"));
        assert!(!get(&server, "/secure/tokens", Some(&session)).await.body.contains("href=\"/secure/admin/tokens\""));
        let alice_id = tokens_of(&server, "alice").await[0]["id"].to_string();
        let token = get(&server, "/secure/tokens", Some(&session)).await.form_token();
        let page = post(&server, &format!("/secure/admin/tokens/{alice_id}/revoke"), Some(&session), &[("atl_token", &token)], &[]).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert_eq!(myself_status(&server, &alices).await, StatusCode::OK);

        let admin = login(&server, "admin", ADMIN_PASSWORD).await;
        let page = get(&server, "/secure/admin/tokens", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_html();
        assert!(page.body.contains("alice-ci") && page.body.contains("bob-ci"));
        // Each row names its token's id, linked to its use and its audit events.
        assert!(page.body.contains(&format!("href=\"/secure/admin/usage?credential=token:{alice_id}\"")), "{}", page.body);
        let events = format!("/secure/admin/audit?target=token%3A{alice_id}+owner%3Aalice");
        assert!(page.body.contains(&format!("href=\"{events}\"")), "{}", page.body);
        let trail = get(&server, &events, Some(&admin)).await;
        assert!(trail.body.contains("token.created"), "the link finds the token's events: {}", trail.body);
        let page = get(&server, "/secure/admin/tokens?owner=alice&kind=personal&neverUsed=on", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("alice-ci") && !page.body.contains("bob-ci"), "{}", page.body);
        for bad in ["owner=nobody", "kind=robot", "expiringBefore=tomorrow", "lastUsedBefore=2024-13-01"] {
            let page = get(&server, &format!("/secure/admin/tokens?{bad}"), Some(&admin)).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
        }
        let page = get(&server, "/secure/admin/tokens?expiringBefore=2000-01-01", Some(&admin)).await;
        assert!(!page.body.contains("alice-ci"));

        let token = page.form_token();
        // Revoking is an administrative change: first the password again (websudo).
        let revoke = format!("/secure/admin/tokens/{alice_id}/revoke");
        // The password form is the answer, and keeps what was sent.
        let filter = "owner=alice&neverUsed=on&junk=x";
        let page = post(&server, &revoke, Some(&admin), &[("atl_token", &token), ("filter", filter)], &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_html();
        assert!(page.body.contains("id=\"password\""), "{}", page.body);
        let pending = page.hidden("pending").expect("the pending form, sealed");
        assert!(!pending.contains("alice"), "sealed, not in clear");
        assert_eq!(myself_status(&server, &alices).await, StatusCode::OK, "nothing was revoked");
        // A wrong password keeps it; a pending form sealed for another session is not sent on.
        let wrong = post(&server, "/secure/admin/websudo", Some(&admin),
            &[("atl_token", &token), ("password", "not-it"), ("next", "/secure/admin/tokens"), ("pending", &pending)], &[]).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        assert_eq!(wrong.hidden("pending").as_deref(), Some(pending.as_str()));
        let other_admin = login(&server, "admin", ADMIN_PASSWORD).await;
        let other_token = get(&server, "/secure/tokens", Some(&other_admin)).await.form_token();
        let elsewhere = post(&server, "/secure/admin/websudo", Some(&other_admin),
            &[("atl_token", &other_token), ("password", ADMIN_PASSWORD), ("next", "/secure/admin/tokens"), ("pending", &pending)], &[]).await;
        assert_eq!(elsewhere.status, StatusCode::SEE_OTHER, "another session's pending form is not sent on");
        assert_eq!(elsewhere.location(), "/secure/admin/tokens");
        // The password confirmed: the form is sent on as it was (the page's script submits
        // it; here, as a browser without scripts would, by its Continue button).
        let sent_on = post(&server, "/secure/admin/websudo", Some(&admin),
            &[("atl_token", &token), ("password", ADMIN_PASSWORD), ("next", "/secure/admin/tokens"), ("pending", &pending)], &[]).await;
        assert_eq!(sent_on.status, StatusCode::OK, "{}", sent_on.body);
        assert!(sent_on.body.contains(&format!("action=\"{revoke}\"")) && sent_on.body.contains("data-autosubmit"), "{}", sent_on.body);
        assert_eq!(sent_on.hidden("filter").as_deref(), Some(filter));
        assert_eq!(sent_on.hidden("atl_token").as_deref(), Some(token.as_str()));
        let asked = post(&server, &revoke, Some(&admin), &[("atl_token", &token), ("filter", filter)], &[]).await;
        assert!(asked.body.contains("id=\"confirm-action\""), "on to the confirmation: {}", asked.body);
        assert_eq!(myself_status(&server, &alices).await, StatusCode::OK, "nothing revoked before the confirmation");
        let form = get(&server, "/secure/admin/websudo?next=%2Fsecure%2Fadmin%2Ftokens", Some(&admin)).await;
        assert_eq!(form.status, StatusCode::OK);
        form.assert_html();
        let wrong = post(&server, "/secure/admin/websudo", Some(&admin),
            &[("atl_token", &token), ("password", "not-it"), ("next", "/secure/admin/tokens")], &[]).await;
        assert_eq!(wrong.status, StatusCode::FORBIDDEN);
        assert!(wrong.body.contains("websudo-error"));
        let without_token = post(&server, "/secure/admin/websudo", Some(&admin),
            &[("password", ADMIN_PASSWORD), ("next", "/secure/admin/tokens")], &[]).await;
        assert_eq!(without_token.status, StatusCode::FORBIDDEN);
        let offsite = post(&server, "/secure/admin/websudo", Some(&admin),
            &[("atl_token", &token), ("password", ADMIN_PASSWORD), ("next", "//evil.example/")], &[]).await;
        assert_eq!(offsite.status, StatusCode::SEE_OTHER);
        assert_eq!(offsite.location(), "/secure/admin/policy", "an off-site next is not followed");
        let page = post(&server, &revoke, Some(&admin),
            &[("atl_token", &token), ("filter", "owner=alice&neverUsed=on&junk=x")], &[]).await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.body);
        assert!(page.body.contains("<strong>alice-ci</strong>") && page.body.contains("<strong>alice</strong>"), "{}", page.body);
        assert!(page.body.contains("name=\"filter\" value=\"owner=alice&amp;neverUsed=on&amp;junk=x\""), "the filter is kept: {}", page.body);
        assert_eq!(myself_status(&server, &alices).await, StatusCode::OK, "nothing revoked before the confirmation");
        let page = post(&server, &revoke, Some(&admin),
            &[("atl_token", &token), ("filter", "owner=alice&neverUsed=on&junk=x"), ("confirmed", "yes")], &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert!(page.location().starts_with("/secure/admin/tokens?owner=alice&neverUsed=on&said="), "{}", page.location());
        assert_eq!(myself_status(&server, &alices).await, StatusCode::UNAUTHORIZED);
        let said = get(&server, page.location(), Some(&admin)).await;
        assert!(said.body.contains("id=\"result\"") && said.body.contains(&format!("Token alice-ci (id {alice_id}) of alice was revoked.")), "{}", said.body);
        let page = get(&server, "/secure/admin/tokens?owner=alice&includeRevoked=on", Some(&admin)).await;
        assert!(page.body.contains("alice-ci") && page.body.contains("revoked"), "{}", page.body);
        let page = post(&server, "/secure/admin/tokens/999999/revoke", Some(&admin), &[("atl_token", &token)], &[]).await;
        assert_eq!(page.status, StatusCode::NOT_FOUND);
    }
}

/// The policy form's fields as the page sends them, with `changes` replacing some.
fn policy_form<'a>(
    token: &'a str,
    version: &'a str,
    changes: &[(&'a str, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let mut pairs = vec![
        ("atl_token", token),
        ("version", version),
        ("basic_password.enabled", "on"),
        ("basic_token.enabled", "on"),
        ("bearer_token.enabled", "on"),
        ("service_key.enabled", "on"),
        ("session.enabled", "on"),
        ("defaultLifetimeDays", "90"),
        ("maxLifetimeDays", "365"),
        ("capacity", "100"),
        ("perSecond", "10"),
        ("anonymousCapacity", "30"),
        ("anonymousPerSecond", "3"),
    ];
    for (name, value) in changes {
        pairs.retain(|(n, _)| n != name);
        if !value.is_empty() {
            pairs.push((name, value));
        }
    }
    pairs
}

mod admin_pages {
    use super::*;

    backend_tests! {
    async fn administrators_change_the_policy_and_read_the_trail_on_pages(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        let alice = login(&server, "alice", PASSWORD).await;
        for path in ["/secure/admin/policy", "/secure/admin/audit", "/secure/admin/usage"] {
            let page = get(&server, path, Some(&alice)).await;
            assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
            page.assert_html();
        }
        let admin = login(&server, "admin", ADMIN_PASSWORD).await;
        let page = get(&server, "/secure/admin/policy", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_html();
        assert!(page.body.contains("id=\"basic_password.enabled\" name=\"basic_password.enabled\" checked"), "{}", page.body);
        let token = page.form_token();
        let version = server.admin_json(Method::GET, "/rest/tessera/1/policy", Value::Null, StatusCode::OK).await["version"].to_string();
        let basic_off = [("basic_password.enabled", ""), ("basic_password.except", "jira-administrators")];
        // Without websudo nothing changes: to the password form first.
        let page = post(&server, "/secure/admin/policy", Some(&admin), &policy_form(&token, &version, &basic_off), &[]).await;
        assert_eq!(page.status, StatusCode::OK);
        assert!(page.body.contains("id=\"password\"") && page.hidden("pending").is_some(), "{}", page.body);
        assert_eq!(page.hidden("next").as_deref(), Some("/secure/admin/policy"));
        let confirmed = post(&server, "/secure/admin/websudo", Some(&admin),
            &[("atl_token", &token), ("password", ADMIN_PASSWORD), ("next", "/secure/admin/policy")], &[]).await;
        assert_eq!(confirmed.location(), "/secure/admin/policy");
        // Mistakes are shown on the form, all at once; nothing is stored.
        let bad = [("allowedIps", "10.0.0.0/8\nnot-an-address"), ("apiGroups", "no-such-group"), ("capacity", "lots"), ("groupQuotas", "bots 5/1"),
            ("groupAllowedIps", "jira-users: 10.0.0.0/8\njira-users: 10.1.0.0/16")];
        let page = post(&server, "/secure/admin/policy", Some(&admin), &policy_form(&token, &version, &bad), &[]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST, "{}", page.body);
        for message in ["not-an-address", "Give a whole number", "Start each line with a group name", "has more than one line"] {
            assert!(page.body.contains(message), "{message}: {}", page.body);
        }
        let page = post(&server, "/secure/admin/policy", Some(&admin), &policy_form(&token, &version, &[("apiGroups", "no-such-group")]), &[]).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("The group &#39;no-such-group&#39; does not exist") || page.body.contains("The group 'no-such-group' does not exist"), "{}", page.body);
        // A good change is stored and shown.
        let page = post(&server, "/secure/admin/policy", Some(&admin), &policy_form(&token, &version, &basic_off), &[]).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
        assert_eq!(page.location(), "/secure/admin/policy?saved");
        let stored = server.admin_json(Method::GET, "/rest/tessera/1/policy", Value::Null, StatusCode::OK).await;
        assert_eq!(stored["methods"]["basic_password"], json!({"enabled": false, "exceptGroups": ["jira-administrators"]}));
        assert_eq!(server.user(Method::GET, "/rest/api/2/myself", "alice").send().await.unwrap().status(), StatusCode::FORBIDDEN);
        let page = get(&server, "/secure/admin/policy?saved", Some(&admin)).await;
        assert!(page.body.contains("policy-saved") && page.body.contains("by admin"));
        // The form of an older version is refused, not merged.
        let page = post(&server, "/secure/admin/policy", Some(&admin), &policy_form(&token, &version, &[]), &[]).await;
        assert_eq!(page.status, StatusCode::CONFLICT);

        let page = get(&server, "/secure/admin/audit?action=policy.*", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_html();
        assert!(page.body.contains("policy.changed") && page.body.contains("methods"), "{}", page.body);
        // The refusal of alice's password is there too, found by its target and address.
        server.audit("action=access.denied&target=user:alice", 1).await;
        let page = get(&server, "/secure/admin/audit?action=access.denied&target=user:alice&ip=127.0.0.0/8", Some(&admin)).await;
        assert!(page.body.contains("method_disabled"), "{}", page.body);
        assert!(!page.body.contains(PASSWORD), "no password in the trail");
        for bad in ["outcome=maybe&ip=nowhere", "actor=a%00b"] {
            let page = get(&server, &format!("/secure/admin/audit?{bad}"), Some(&admin)).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
        }
        let page = get(&server, "/secure/admin/usage?unusedDays=1", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_html();
        for bad in ["credential=token:999999", "credential=bogus", "unusedDays=0", "newDays=x"] {
            let page = get(&server, &format!("/secure/admin/usage?{bad}"), Some(&admin)).await;
            assert_eq!(page.status, StatusCode::BAD_REQUEST, "{bad}");
        }

        // From the pages, the REST API may be closed to the author: the pages stay open to them.
        server.admin_json(Method::POST, "/rest/api/2/group", json!({"name": "integrators"}), StatusCode::CREATED).await;
        let version = server.admin_json(Method::GET, "/rest/tessera/1/policy", Value::Null, StatusCode::OK).await["version"].to_string();
        let page = post(&server, "/secure/admin/policy", Some(&admin), &policy_form(&token, &version, &[("apiGroups", "integrators")]), &[]).await;
        assert_eq!(page.location(), "/secure/admin/policy?saved", "{}", page.body);
        let refused = server.admin(Method::GET, "/rest/tessera/1/policy").send().await.unwrap();
        assert_eq!(refused.headers()["x-authentication-denied-reason"], "group_not_allowed");
        assert_eq!(get(&server, "/secure/admin/policy", Some(&admin)).await.status, StatusCode::OK);
    }

    async fn oauth_clients_and_authorized_applications_on_pages(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        let alice = login(&server, "alice", PASSWORD).await;
        assert_eq!(get(&server, "/secure/admin/oauth2", Some(&alice)).await.status, StatusCode::FORBIDDEN);
        let admin = login(&server, "admin", ADMIN_PASSWORD).await;
        let page = get(&server, "/secure/admin/oauth2", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_html();
        let token = page.form_token();
        let fields = |name: &'static str, uri: &'static str| {
            let token = token.clone();
            vec![("atl_token", token), ("name", name.to_string()), ("redirectUris", uri.to_string()), ("confidential", "on".to_string()), ("scopes", "READ".to_string())]
        };
        let register = |v: Vec<(&'static str, String)>| {
            let server = &server;
            let admin = admin.clone();
            async move {
                let refs: Vec<(&str, &str)> = v.iter().map(|(k, v)| (*k, v.as_str())).collect();
                post(server, "/secure/admin/oauth2", Some(&admin), &refs, &[]).await
            }
        };
        // Registering is an administrative change: websudo first.
        let page = register(fields("Wiki", "https://wiki.example/cb")).await;
        assert!(page.status == StatusCode::OK && page.hidden("pending").is_some(), "{}", page.body);
        post(&server, "/secure/admin/websudo", Some(&admin), &[("atl_token", &token), ("password", ADMIN_PASSWORD), ("next", "/secure/admin/oauth2")], &[]).await;
        let page = register(fields("Wiki", "http://wiki.example/cb")).await;
        assert_eq!(page.status, StatusCode::BAD_REQUEST);
        assert!(page.body.contains("must use https"), "{}", page.body);
        // Registered: a redirect to the list, which shows the secret once (a reload there
        // registers nothing and shows no secret).
        let answer = register(fields("Wiki <&>", "https://wiki.example/cb")).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let clients = server.admin_json(Method::GET, "/rest/tessera/1/oauth2/clients", Value::Null, StatusCode::OK).await;
        let client_id = clients[0]["clientId"].as_str().unwrap().to_string();
        assert_eq!(answer.location(), format!("/secure/admin/oauth2?registered={client_id}"));
        let page = follow(&server, &admin, &answer).await;
        assert!(page.body.contains("Wiki &lt;&amp;&gt;</strong> is registered"), "{}", page.body);
        let secret_of = |page: &Page| -> Option<String> {
            let at = page.body.find("id=\"client-secret\"")?;
            Some(page.body[at..].split("value=\"").nth(1).unwrap().chars().take_while(|c| *c != '"').collect())
        };
        let secret = secret_of(&page).expect("the secret, once");
        assert!(secret.starts_with("tscls_"));
        let listed = get(&server, answer.location(), Some(&admin)).await;
        assert!(listed.body.contains("Wiki &lt;&amp;&gt;") && !listed.body.contains(&secret));
        assert_eq!(server.admin_json(Method::GET, "/rest/tessera/1/oauth2/clients", Value::Null, StatusCode::OK).await.as_array().unwrap().len(), 1);
        let introspects = |secret: String| {
            let server = &server;
            let client_id = client_id.clone();
            async move {
                server.http.post(server.url("/rest/oauth2/latest/introspect")).basic_auth(&client_id, Some(&secret))
                    .form(&[("token", "x")]).send().await.unwrap().status()
            }
        };
        assert_eq!(introspects(secret.clone()).await, StatusCode::OK);

        // A new secret: asked first, then shown once; the old one stops.
        let action = format!("/secure/admin/oauth2/{client_id}/secret");
        let asked = post(&server, &action, Some(&admin), &[("atl_token", &token)], &[]).await;
        assert_eq!(asked.status, StatusCode::OK);
        assert!(asked.body.contains("id=\"confirm-action\""), "{}", asked.body);
        assert_eq!(introspects(secret.clone()).await, StatusCode::OK, "nothing changed before the confirmation");
        let answer = post(&server, &action, Some(&admin), &[("atl_token", &token), ("confirmed", "yes")], &[]).await;
        assert_eq!(answer.location(), format!("/secure/admin/oauth2?secret={client_id}"));
        let page = follow(&server, &admin, &answer).await;
        assert!(page.body.contains("has a new secret"), "{}", page.body);
        let renewed = secret_of(&page).expect("the new secret, once");
        assert_ne!(renewed, secret);
        assert_eq!(introspects(secret).await, StatusCode::UNAUTHORIZED);
        assert_eq!(introspects(renewed).await, StatusCode::OK);

        // Disabling: asked first, then said.
        let action = format!("/secure/admin/oauth2/{client_id}/disable");
        let asked = post(&server, &action, Some(&admin), &[("atl_token", &token)], &[]).await;
        assert!(asked.body.contains("id=\"confirm-action\""), "{}", asked.body);
        let clients = server.admin_json(Method::GET, "/rest/tessera/1/oauth2/clients", Value::Null, StatusCode::OK).await;
        assert_eq!(clients[0]["enabled"], true);
        let page = post(&server, &action, Some(&admin), &[("atl_token", &token), ("confirmed", "yes")], &[]).await;
        assert_eq!(page.location(), format!("/secure/admin/oauth2?disabled={client_id}"));
        assert!(get(&server, page.location(), Some(&admin)).await.body.contains("is disabled"));
        let clients = server.admin_json(Method::GET, "/rest/tessera/1/oauth2/clients", Value::Null, StatusCode::OK).await;
        assert_eq!(clients[0]["enabled"], false);
        assert_eq!(post(&server, &format!("/secure/admin/oauth2/{client_id}/explode"), Some(&admin), &[("atl_token", &token)], &[]).await.status, StatusCode::NOT_FOUND);
        post(&server, &format!("/secure/admin/oauth2/{client_id}/enable"), Some(&admin), &[("atl_token", &token)], &[]).await;

        // Alice's authorized applications: none, then one she revokes herself.
        let page = get(&server, "/secure/authorized-apps", Some(&alice)).await;
        assert!(page.body.contains("no-apps"));
        let stored = server.store.find_client(&client_id).await.unwrap().unwrap().client;
        let alice_id = server.store.find_user_by_name("alice").await.unwrap().unwrap().id;
        let grant = server.store.grant(stored.key, alice_id, stored.scopes, tessera_core::clock::Timestamp::from_millis(0)).await.unwrap();
        let page = get(&server, "/secure/authorized-apps", Some(&alice)).await;
        assert!(page.body.contains(&format!("app-{}", grant.id)) && page.body.contains("View projects and issues"));
        let alice_token = page.form_token();
        // Nobody else can revoke it.
        let other = post(&server, &format!("/secure/authorized-apps/{}/revoke", grant.id), Some(&admin), &[("atl_token", &token)], &[]).await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
        // Asked first, naming the application; then revoked, and said so.
        let asked = post(&server, &format!("/secure/authorized-apps/{}/revoke", grant.id), Some(&alice), &[("atl_token", &alice_token)], &[]).await;
        assert!(asked.body.contains("id=\"confirm-action\"") && asked.body.contains("<strong>Wiki &lt;&amp;&gt;</strong>"), "{}", asked.body);
        assert!(get(&server, "/secure/authorized-apps", Some(&alice)).await.body.contains(&format!("app-{}", grant.id)), "not before the confirmation");
        let done = post(&server, &format!("/secure/authorized-apps/{}/revoke", grant.id), Some(&alice), &[("atl_token", &alice_token), ("confirmed", "yes")], &[]).await;
        assert!(done.location().starts_with("/secure/authorized-apps?said="), "{}", done.location());
        let after = get(&server, done.location(), Some(&alice)).await;
        assert!(after.body.contains("no-apps") && after.body.contains("The access of Wiki &lt;&amp;&gt; was revoked."), "{}", after.body);
        // The message cannot be made up, nor shown to another session.
        assert!(!get(&server, "/secure/authorized-apps?said=v1:db:AAAA", Some(&alice)).await.body.contains("id=\"result\""));
        assert!(!get(&server, done.location(), Some(&admin)).await.body.contains("id=\"result\""));

        // Her application links (OAuth 1.0a) are on the same page, revoked the same way.
        assert!(get(&server, "/secure/authorized-apps", Some(&alice)).await.body.contains("no-links"));
        let (link, id) = server.approved_link("jira-cli", "alice", "READ").await;
        let page = get(&server, "/secure/authorized-apps", Some(&alice)).await;
        page.assert_html();
        assert!(page.body.contains(&format!("link-{id}")) && page.body.contains("jira-cli app") && page.body.contains("read what you can"));
        assert!(!page.body.contains(link.token.as_deref().unwrap()));
        let other = post(&server, &format!("/secure/authorized-apps/oauth1/{id}/revoke"), Some(&admin), &[("atl_token", &token)], &[]).await;
        assert_eq!(other.status, StatusCode::NOT_FOUND);
        let no_form_token = post(&server, &format!("/secure/authorized-apps/oauth1/{id}/revoke"), Some(&alice), &[], &[]).await;
        assert_ne!(no_form_token.status, StatusCode::SEE_OTHER);
        let done = post(&server, &format!("/secure/authorized-apps/oauth1/{id}/revoke"), Some(&alice), &[("atl_token", &alice_token), ("confirmed", "yes")], &[]).await;
        assert!(done.location().starts_with("/secure/authorized-apps?said="), "{}", done.location());
        assert!(get(&server, "/secure/authorized-apps", Some(&alice)).await.body.contains("no-links"));
        assert_eq!(server.oauth1(Method::GET, "/rest/api/2/myself", &link).send().await.unwrap().status(), StatusCode::UNAUTHORIZED);
    }

    async fn an_approval_whose_user_is_deactivated_before_the_exchange_gives_no_token(db) {
        use crate::common::oauth1::{Link, now_seconds, signer};
        let server = TestServer::start(db).await;
        server.create_user("dev", &[]).await;
        server.admin_json(Method::POST, "/rest/tessera/1/oauth1/consumers", json!({"consumerKey": "app", "name": "App", "publicKey": signer().public_pem}), StatusCode::CREATED).await;
        let signed_post = |path: &'static str, link: Link, extra: Vec<(&'static str, String)>| {
            let server = &server;
            async move {
                let extra: Vec<(&str, &str)> = extra.iter().map(|(n, v)| (*n, v.as_str())).collect();
                let header = signer().authorization(&Method::POST, &server.url(path), &link, &extra, &[], now_seconds());
                let response = server.request(Method::POST, path).header("authorization", header).send().await.unwrap();
                (response.status(), response.text().await.unwrap())
            }
        };
        let form_value = |body: &str, name: &str| -> String {
            url::form_urlencoded::parse(body.as_bytes()).find(|(n, _)| n == name).map(|(_, v)| v.into_owned()).unwrap_or_default()
        };
        let app = Link { consumer_key: "app".into(), token: None };
        let (status, body) = signed_post("/plugins/servlet/oauth/request-token", app, vec![("oauth_callback", "oob".into())]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let request_token = form_value(&body, "oauth_token");
        // dev approves, as a user does, on the page.
        let dev = login(&server, "dev", PASSWORD).await;
        let authorize = format!("/plugins/servlet/oauth/authorize?oauth_token={request_token}");
        let page = get(&server, &authorize, Some(&dev)).await;
        assert_eq!(page.status, StatusCode::OK);
        let token = page.form_token();
        let approved = post(&server, "/plugins/servlet/oauth/authorize", Some(&dev), &[("atl_token", &token), ("oauth_token", &request_token), ("decision", "approve"), ("access", "read")], &[]).await;
        let verifier: String = approved.body.split("id=\"oauth-verifier\">").nth(1).expect("the verifier").chars().take_while(|c| c.is_ascii_hexdigit()).collect();
        // Then dev is deactivated: the exchange is refused, and the token stays unissued.
        server.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": false}), StatusCode::OK).await;
        let approved_link = Link { consumer_key: "app".into(), token: Some(request_token.clone()) };
        let (status, body) = signed_post("/plugins/servlet/oauth/access-token", approved_link.clone(), vec![("oauth_verifier", verifier.clone())]).await;
        assert_eq!((status, form_value(&body, "oauth_problem")), (StatusCode::UNAUTHORIZED, "permission_denied".to_string()));
        // Reactivated, the same approval can be exchanged (once).
        server.admin_json(Method::PUT, "/rest/api/2/user?username=dev", json!({"active": true}), StatusCode::OK).await;
        let (status, body) = signed_post("/plugins/servlet/oauth/access-token", approved_link, vec![("oauth_verifier", verifier)]).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let access = Link { consumer_key: "app".into(), token: Some(form_value(&body, "oauth_token")) };
        let me: Value = server.oauth1(Method::GET, "/rest/api/2/myself", &access).send().await.unwrap().json().await.unwrap();
        assert_eq!(me["name"], "dev");
    }

    async fn administrators_manage_identity_providers_on_a_page(db) {
        let server = TestServer::start(db).await;
        let idp = crate::common::oidc::Provider::start().await;
        server.create_user("alice", &[]).await;
        let alice = login(&server, "alice", PASSWORD).await;
        assert_eq!(get(&server, "/secure/admin/identity", Some(&alice)).await.status, StatusCode::FORBIDDEN);
        let admin = login(&server, "admin", ADMIN_PASSWORD).await;
        let page = get(&server, "/secure/admin/identity", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_html();
        assert!(page.body.contains("no-providers"));
        let token = page.form_token();
        post(&server, "/secure/admin/websudo", Some(&admin), &[("atl_token", &token), ("password", ADMIN_PASSWORD), ("next", "/secure/admin/identity")], &[]).await;
        // Discovery failing: the reason, and the form kept.
        let down = post(&server, "/secure/admin/identity", Some(&admin), &[("atl_token", &token), ("name", "Down"), ("issuer", "http://127.0.0.1:9/x"), ("audiences", "tessera")], &[]).await;
        assert_eq!(down.status, StatusCode::BAD_REQUEST);
        assert!(down.body.contains("discovery failed") && down.body.contains("value=\"Down\""), "{}", down.body);
        let issuer = idp.issuer("page");
        let answer = post(&server, "/secure/admin/identity", Some(&admin), &[("atl_token", &token), ("name", "Acme <SSO>"), ("issuer", &issuer), ("audiences", "tessera\naccount"), ("userClaim", "email"), ("provisioning", "create"), ("clientId", "tessera-web"), ("clientSecret", "page secret")], &[]).await;
        // Registered: a redirect to the list, which says so (a reload registers nothing).
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        assert!(answer.location().starts_with("/secure/admin/identity?said="), "{}", answer.location());
        let made = get(&server, answer.location(), Some(&admin)).await;
        made.assert_html();
        assert!(made.body.contains("Identity provider Acme &lt;SSO&gt; is registered."), "{}", made.body);
        assert!(made.body.contains("Acme &lt;SSO&gt;") && made.body.contains(&issuer));
        // The sign-in client is listed, its secret never shown; the redirect URI to register is.
        assert!(made.body.contains("<code>tessera-web</code>") && !made.body.contains("page secret"), "{}", made.body);
        assert!(made.body.contains(&format!("{}/login/sso/callback", server.base)));
        let stored = server.admin_json(Method::GET, "/rest/tessera/1/identityproviders", Value::Null, StatusCode::OK).await;
        let id = stored[0]["id"].as_i64().unwrap();
        assert_eq!((stored[0]["userClaim"].as_str(), stored[0]["provisioning"].as_str()), (Some("email"), Some("create")));
        assert_eq!(stored[0]["audiences"], json!(["account", "tessera"]));
        assert_eq!(stored[0]["login"]["clientId"], "tessera-web");
        // Disable, then delete (with "sure").
        let off = post(&server, &format!("/secure/admin/identity/{id}/disable"), Some(&admin), &[("atl_token", &token)], &[]).await;
        assert!(off.location().starts_with("/secure/admin/identity?said="), "{}", off.location());
        assert!(get(&server, off.location(), Some(&admin)).await.body.contains("is disabled"));
        assert!(get(&server, "/secure/admin/identity", Some(&admin)).await.body.contains(">disabled<"));
        let unsure = post(&server, &format!("/secure/admin/identity/{id}/delete"), Some(&admin), &[("atl_token", &token)], &[]).await;
        assert_eq!(unsure.status, StatusCode::BAD_REQUEST);
        let gone = post(&server, &format!("/secure/admin/identity/{id}/delete"), Some(&admin), &[("atl_token", &token), ("confirm", "on")], &[]).await;
        assert!(gone.location().starts_with("/secure/admin/identity?said="), "{}", gone.location());
        assert!(get(&server, "/secure/admin/identity", Some(&admin)).await.body.contains("no-providers"));
    }

    async fn administrators_manage_application_links_on_a_page(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        let alice = login(&server, "alice", PASSWORD).await;
        assert_eq!(get(&server, "/secure/admin/oauth1", Some(&alice)).await.status, StatusCode::FORBIDDEN);
        let admin = login(&server, "admin", ADMIN_PASSWORD).await;
        let page = get(&server, "/secure/admin/oauth1", Some(&admin)).await;
        assert_eq!(page.status, StatusCode::OK);
        page.assert_html();
        assert!(page.body.contains("no-consumers"));
        let token = page.form_token();
        let key = include_str!("../../../auth/src/oauth1/testdata/consumer.pub.pem");
        let small = include_str!("../../../auth/src/oauth1/testdata/small-1024.pub.pem");
        let form = |consumer: &'static str, pem: &'static str| {
            vec![("atl_token", token.clone()), ("consumerKey", consumer.to_string()), ("name", "Jira CLI <x>".to_string()), ("publicKey", pem.to_string()), ("callback", String::new())]
        };
        let register = |fields: Vec<(&'static str, String)>| {
            let server = &server;
            let admin = admin.clone();
            async move {
                let refs: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
                post(server, "/secure/admin/oauth1", Some(&admin), &refs, &[]).await
            }
        };
        // An administrative change: websudo first.
        assert!(register(form("jira-cli", key)).await.hidden("pending").is_some(), "the password form");
        post(&server, "/secure/admin/websudo", Some(&admin), &[("atl_token", &token), ("password", ADMIN_PASSWORD), ("next", "/secure/admin/oauth1")], &[]).await;
        // A short key is refused, the form kept.
        let refused = register(form("jira-cli", small)).await;
        assert_eq!(refused.status, StatusCode::BAD_REQUEST);
        assert!(refused.body.contains("2048") && refused.body.contains("value=\"jira-cli\""), "{}", refused.body);
        let answer = register(form("jira-cli", key)).await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.body);
        let made = get(&server, answer.location(), Some(&admin)).await;
        made.assert_html();
        assert!(made.body.contains("Application link Jira CLI &lt;x&gt; is registered."), "{}", made.body);
        assert!(made.body.contains("Jira CLI &lt;x&gt;") && made.body.contains("consumer-jira-cli"));
        let taken = register(form("jira-cli", key)).await;
        assert_eq!(taken.status, StatusCode::BAD_REQUEST);
        let stored = server.admin_json(Method::GET, "/rest/tessera/1/oauth1/consumers/jira-cli", Value::Null, StatusCode::OK).await;
        assert_eq!(stored["callback"], "oob");
        // Deleting needs "sure" ticked, and ends the access of those who approved it.
        server.approved_link("jira-cli", "alice", "READ").await;
        let listed = get(&server, "/secure/admin/oauth1", Some(&admin)).await;
        assert!(listed.body.contains("<td class=\"users\">1</td>"), "{}", listed.body);
        let unsure = post(&server, "/secure/admin/oauth1/jira-cli/delete", Some(&admin), &[("atl_token", &token)], &[]).await;
        assert_eq!(unsure.status, StatusCode::BAD_REQUEST);
        let deleted = post(&server, "/secure/admin/oauth1/jira-cli/delete", Some(&admin), &[("atl_token", &token), ("confirm", "on")], &[]).await;
        assert!(deleted.location().starts_with("/secure/admin/oauth1?said="), "{}", deleted.location());
        assert!(get(&server, deleted.location(), Some(&admin)).await.body.contains("Application link jira-cli is deleted"));
        assert!(get(&server, "/secure/admin/oauth1", Some(&admin)).await.body.contains("no-consumers"));
        server.audit("action=oauth1.consumer.deleted&actor=admin", 1).await;
    }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pages_live_under_the_context_path() {
    let db = tessera_testkit::TestDatabase::sqlite();
    let mut config = test_config(&db);
    config.base_url = Some("http://tessera.example/jira".into());
    let server = TestServer::start_with(db, config).await;
    let alice = json!({"name": "alice", "password": PASSWORD, "displayName": "Alice"});
    server
        .admin_json(
            Method::POST,
            "/jira/rest/api/2/user",
            alice,
            StatusCode::CREATED,
        )
        .await;
    let page = get(&server, "/jira/secure/tokens", None).await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), "/jira/login?next=%2Fsecure%2Ftokens");
    let page = get(&server, "/jira/login", None).await;
    assert!(
        page.body.contains("action=\"/jira/login\""),
        "{}",
        page.body
    );

    let page = post(
        &server,
        "/jira/login",
        None,
        &[
            ("username", "alice"),
            ("password", PASSWORD),
            ("next", "/secure/tokens"),
        ],
        &[],
    )
    .await;
    assert_eq!(page.location(), "/jira/secure/tokens");
    assert!(
        page.set_cookies()
            .iter()
            .any(|c| c.starts_with("JSESSIONID=") && c.contains("Path=/jira"))
    );
    let session = login_at(&server, "/jira", "alice", PASSWORD).await;
    let page = get(&server, "/jira/secure/tokens", Some(&session)).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(
        page.body.contains("action=\"/jira/secure/tokens\"")
            && page.body.contains("action=\"/jira/logout\""),
        "{}",
        page.body
    );
    assert_eq!(
        get(&server, "/secure/tokens", Some(&session)).await.status,
        StatusCode::NOT_FOUND
    );

    // The base URL is configured: its origin alone is tessera's own. The origin the request
    // was sent to (its Host, which a proxy may rewrite) does not count.
    let token = page.form_token();
    let by_host = format!("http://{}", server.addr);
    let refused = post(
        &server,
        "/jira/secure/tokens",
        Some(&session),
        &[
            ("atl_token", &token),
            ("name", "by-host"),
            ("expirationDays", "1"),
            ("scopes", "READ"),
        ],
        &[("origin", &by_host)],
    )
    .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN, "{}", refused.body);
    let page = post(
        &server,
        "/jira/secure/tokens",
        Some(&session),
        &[
            ("atl_token", &token),
            ("name", "ctx"),
            ("expirationDays", "1"),
            ("scopes", "READ"),
        ],
        &[("origin", "http://tessera.example")],
    )
    .await;
    assert_eq!(page.status, StatusCode::SEE_OTHER, "{}", page.body);
    assert_eq!(page.location(), "/jira/secure/tokens");
    let cookie = page
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("tessera.once="))
        .unwrap();
    assert!(cookie.contains("Path=/jira"), "{cookie}");
    assert!(follow(&server, &session, &page).await.raw_token().is_some());
}
