//! The access matrix over the pages: every page and form action of the page table × every kind
//! of caller (anonymous, a user's session, another user's session, an administrator's session
//! without and with websudo, an administrator's Basic header, a user's token as Bearer, a
//! session without the form token), with the outcome its rule implies. A caller the rule
//! refuses must be sent to sign in, asked for the password again, or refused (403/404), and
//! nothing may change; a caller it admits must not be. A page added to the table is covered
//! automatically.

use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::json;
use tessera_testkit::backend_tests;
use tessera_web::pages::{PageAccess, page_table};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    User,
    OtherUser,
    AdminWithoutWebsudo,
    Admin,
    /// An administrator's password as Basic, no cookie: pages open by session only.
    AdminBasic,
    /// A user's token as Bearer, no cookie.
    UserBearer,
    /// An administrator's websudo session posting without the form token.
    AdminWithoutFormToken,
}

const CALLERS: [Caller; 8] = [
    Caller::Anonymous,
    Caller::User,
    Caller::OtherUser,
    Caller::AdminWithoutWebsudo,
    Caller::Admin,
    Caller::AdminBasic,
    Caller::UserBearer,
    Caller::AdminWithoutFormToken,
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Outcome {
    /// Served or done (or refused for what the request asked, not for who asked).
    Admitted,
    /// Sent to the login form.
    SignIn,
    /// Asked for the password again (websudo); nothing done.
    Websudo,
    /// 403 or 404.
    Refused,
}

struct Session {
    id: String,
    form_token: String,
}

fn client() -> reqwest::Client {
    http_client()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn session(server: &TestServer, user: &str, password: &str, websudo: bool) -> Session {
    let id = server.login(user, password).await;
    if websudo {
        server.websudo(&id, password).await;
    }
    let page = client()
        .get(server.url("/secure/tokens"))
        .header("cookie", format!("JSESSIONID={id}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let marker = "name=\"atl_token\" value=\"";
    let start = page.find(marker).expect("a form token") + marker.len();
    let end = page[start..].find('"').unwrap();
    Session {
        form_token: page[start..start + end].to_string(),
        id,
    }
}

fn classify(status: StatusCode, location: Option<&str>, body: &str) -> Outcome {
    if let Some(location) = location.filter(|_| status.is_redirection()) {
        if location.contains("/login") {
            return Outcome::SignIn;
        }
        if location.contains("/secure/admin/websudo") {
            return Outcome::Websudo;
        }
    }
    if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
        return Outcome::Refused;
    }
    if status == StatusCode::NOT_FOUND {
        return Outcome::Refused;
    }
    // The websudo prompt in place of the form's result.
    if body.contains("id=\"password\"") && body.contains("/secure/admin/websudo") {
        return Outcome::Websudo;
    }
    Outcome::Admitted
}

/// Whether the rule admits the caller for this method.
fn admits(access: PageAccess, method: &Method, caller: Caller) -> bool {
    let signed_in = matches!(
        caller,
        Caller::User | Caller::OtherUser | Caller::AdminWithoutWebsudo | Caller::Admin
    );
    let admin = matches!(caller, Caller::AdminWithoutWebsudo | Caller::Admin);
    if *method == Method::POST && caller == Caller::AdminWithoutFormToken {
        // No form is accepted without the session's form token (sign-in and sign-out included:
        // those take no session's token and are left to their own tests).
        return access == PageAccess::Anyone;
    }
    match access {
        PageAccess::Anyone => true,
        PageAccess::User => signed_in || caller == Caller::AdminWithoutFormToken,
        PageAccess::Admin if *method == Method::GET => {
            admin || caller == Caller::AdminWithoutFormToken
        }
        PageAccess::Admin => caller == Caller::Admin,
    }
}

backend_tests! {
    async fn no_page_lets_in_a_caller_its_rule_refuses(db) {
        let server = TestServer::start(db).await;
        server.create_user("alice", &[]).await;
        server.create_user("bob", &[]).await;
        let alice_token = server.create_token("alice", json!({"name": "alice's", "expirationDuration": 5})).await;
        let admin_token_id = server
            .admin_json(Method::POST, "/rest/pat/latest/tokens", json!({"name": "admin's", "expirationDuration": 5}), StatusCode::CREATED)
            .await["id"]
            .clone();
        let admin_token_id = admin_token_id.as_i64().map_or_else(|| admin_token_id.as_str().unwrap().to_string(), |n| n.to_string());
        let alice = session(&server, "alice", PASSWORD, false).await;
        let bob = session(&server, "bob", PASSWORD, false).await;
        let admin_plain = session(&server, "admin", ADMIN_PASSWORD, false).await;
        let admin = session(&server, "admin", ADMIN_PASSWORD, true).await;

        // A real OAuth 2.0 client and OAuth 1.0a request token, so that the consent pages get
        // as far as asking who the caller is.
        let oauth2_client = server
            .admin_json(Method::POST, "/rest/tessera/1/oauth2/clients", json!({"name": "matrix", "redirectUris": ["http://127.0.0.1:9/cb"], "confidential": false, "scopes": ["READ"]}), StatusCode::CREATED)
            .await;
        let client_id = oauth2_client["clientId"].as_str().unwrap().to_string();
        let oauth2_request: Vec<(&str, String)> = vec![
            ("response_type", "code".into()),
            ("client_id", client_id.clone()),
            ("redirect_uri", "http://127.0.0.1:9/cb".into()),
            ("scope", "READ".into()),
            ("state", "matrix".into()),
            ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            ("code_challenge_method", "S256".into()),
        ];
        let (link, _) = server.approved_link("matrix-link", "alice", "READ").await;
        let request_token = tessera_auth::token_format::mint(tessera_core::secrets::SecretKind::OAuth1Request);
        {
            use tessera_core::clock::Clock;
            use tessera_core::store::OAuth1Store;
            let consumer = server.store.find_consumer(&link.consumer_key).await.unwrap().unwrap();
            let now = tessera_core::clock::SystemClock.now();
            server.store.create_oauth1_token(tessera_core::oauth1::NewOAuth1Token {
                digest: request_token.digest().to_vec(),
                kind: tessera_core::oauth1::OAuth1TokenKind::Request,
                consumer: consumer.id,
                user: None,
                scopes: tessera_core::scopes::parse_scope("READ").unwrap(),
                callback: Some("oob".into()),
                created: now,
                expires: Some(now.plus(std::time::Duration::from_secs(600))),
            }).await.unwrap();
        }
        let oauth1_request = vec![("oauth_token", request_token.expose().to_string())];

        let mut unexpected = Vec::new();
        for spec in page_table() {
            if spec.access == PageAccess::Anyone {
                // Signing in and out: anyone may, and their own tests say what each gets.
                continue;
            }
            let fields: &[(&str, String)] = match spec.path {
                tessera_web::rest::oauth2::AUTHORIZE_PATH => &oauth2_request,
                tessera_web::rest::oauth1::AUTHORIZE_PATH => &oauth1_request,
                _ => &[],
            };
            // Ids in paths: the administrator's own token (which no one else may revoke),
            // otherwise ones that do not exist.
            let path = spec
                .path
                .replace("{id}/revoke", &format!("{admin_token_id}/revoke"))
                .replace("/secure/tokens/{id}/{action}", &format!("/secure/tokens/{admin_token_id}/revoke"))
                .replace("{id}", "999999")
                .replace("{action}", "disable")
                .replace("{consumerKey}", "no-such-consumer")
                .replace("{clientId}", "no-such-client");
            // Refused callers first: until an admitted one acts, what they tried must not
            // have happened.
            let mut callers = CALLERS.to_vec();
            callers.sort_by_key(|caller| admits(spec.access, &spec.method, *caller));
            for caller in callers {
                let http = client();
                let mut url = reqwest::Url::parse(&server.url(&path)).unwrap();
                if spec.method == Method::GET && !fields.is_empty() {
                    url.query_pairs_mut().extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())));
                }
                let mut request = http.request(spec.method.clone(), url);
                let shared = match caller {
                    Caller::User => Some(&alice),
                    Caller::OtherUser => Some(&bob),
                    Caller::AdminWithoutWebsudo => Some(&admin_plain),
                    Caller::Admin | Caller::AdminWithoutFormToken => Some(&admin),
                    _ => None,
                };
                // Confirming the password gives websudo to the session: that cell gets a
                // session of its own, so the shared ones stay as they are.
                let own;
                let websudo_form = spec.path == "/secure/admin/websudo" && spec.method == Method::POST;
                let session = match shared {
                    Some(_) if websudo_form => {
                        let (user, password) = match caller {
                            Caller::User => ("alice", PASSWORD),
                            Caller::OtherUser => ("bob", PASSWORD),
                            _ => ("admin", ADMIN_PASSWORD),
                        };
                        own = self::session(&server, user, password, matches!(caller, Caller::Admin | Caller::AdminWithoutFormToken)).await;
                        Some(&own)
                    }
                    other => other,
                };
                if let Some(session) = session {
                    request = request.header("cookie", format!("JSESSIONID={}", session.id));
                }
                match caller {
                    Caller::AdminBasic => request = request.basic_auth("admin", Some(ADMIN_PASSWORD)),
                    Caller::UserBearer => request = request.bearer_auth(&alice_token),
                    _ => {}
                }
                // The websudo form: the caller's own password.
                let mut fields = fields.to_vec();
                if spec.path == "/secure/admin/websudo" && spec.method == Method::POST {
                    let password = match caller {
                        Caller::User | Caller::OtherUser => PASSWORD,
                        _ => ADMIN_PASSWORD,
                    };
                    fields.push(("password", password.to_string()));
                }
                if spec.method == Method::POST {
                    let token = session
                        .filter(|_| caller != Caller::AdminWithoutFormToken)
                        .map(|s| s.form_token.clone())
                        .unwrap_or_default();
                    request = request
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form_urlencoded::Serializer::new(String::new())
                            .append_pair("atl_token", &token)
                            .extend_pairs(fields.iter().map(|(k, v)| (*k, v.as_str())))
                            .finish());
                }
                let response = request.send().await.unwrap();
                let status = response.status();
                assert!(!status.is_server_error(), "{} {path} as {caller:?}: {status}", spec.method);
                let location = response.headers().get("location").map(|v| v.to_str().unwrap().to_string());
                let body = response.text().await.unwrap();
                let mut outcome = classify(status, location.as_deref(), &body);
                if spec.path == "/secure/admin/websudo" && outcome == Outcome::Websudo {
                    // The password prompt is this page's content.
                    outcome = Outcome::Admitted;
                }
                let expected = admits(spec.access, &spec.method, caller);
                // An administrator's form is checked before the password is asked for again (so
                // that the prompt keeps a form worth sending): an invalid one is refused for
                // what it says, and nothing is done. Everyone else is refused before that.
                if caller == Caller::AdminWithoutWebsudo
                    && spec.access == PageAccess::Admin
                    && spec.method == Method::POST
                    && status.is_client_error()
                {
                    outcome = Outcome::Refused;
                }
                let admitted = outcome == Outcome::Admitted;
                // An admitted caller may still find nothing of theirs at the address (404);
                // any other refusal of one is as wrong as letting in a refused one.
                let wrongly_refused = expected && !admitted && status != StatusCode::NOT_FOUND;
                if (admitted && !expected) || wrongly_refused {
                    unexpected.push(format!("{} {path} as {caller:?}: {outcome:?} ({status}), expected {}", spec.method, if expected { "admitted" } else { "refused" }));
                }
                if !expected && path.contains(&format!("/{admin_token_id}/")) {
                    let live = server.admin(Method::GET, &format!("/rest/pat/latest/tokens/{admin_token_id}")).send().await.unwrap();
                    assert_eq!(live.status(), StatusCode::OK, "{} {path} as {caller:?} revoked the administrator's token", spec.method);
                }
            }
        }
        assert!(unexpected.is_empty(), "{} unexpected outcomes:\n{}", unexpected.len(), unexpected.join("\n"));

        // A valid administrator's form without websudo: the password prompt, and nothing done.
        let form = form_urlencoded::Serializer::new(String::new())
            .append_pair("atl_token", &admin_plain.form_token)
            .append_pair("confirmed", "yes")
            .finish();
        let response = client()
            .post(server.url(&format!("/secure/admin/oauth2/{client_id}/disable")))
            .header("cookie", format!("JSESSIONID={}", admin_plain.id))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form)
            .send()
            .await
            .unwrap();
        let (status, location) = (response.status(), response.headers().get("location").map(|v| v.to_str().unwrap().to_string()));
        let body = response.text().await.unwrap();
        assert_eq!(classify(status, location.as_deref(), &body), Outcome::Websudo, "{status} {body}");
        let still = server.admin_json(Method::GET, &format!("/rest/tessera/1/oauth2/clients/{client_id}"), json!(null), StatusCode::OK).await;
        assert_eq!(still["enabled"], true);
    }
}
