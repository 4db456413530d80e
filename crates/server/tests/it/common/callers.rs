//! One way to call a test server per authentication method, as a client would: anonymous,
//! Basic with a password, Basic with a token in the password's place, Bearer (personal
//! tokens, service keys and OAuth 2.0 access tokens), and a session cookie.

use reqwest::{Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use super::{ADMIN_PASSWORD, PASSWORD, TestServer, json_of};

impl TestServer {
    pub fn anonymous(&self, method: Method, path: &str) -> RequestBuilder {
        self.request(method, path)
    }

    pub fn basic(&self, method: Method, path: &str, user: &str, password: &str) -> RequestBuilder {
        self.request(method, path).basic_auth(user, Some(password))
    }

    pub fn admin(&self, method: Method, path: &str) -> RequestBuilder {
        self.basic(method, path, "admin", ADMIN_PASSWORD)
    }

    pub fn user(&self, method: Method, path: &str, user: &str) -> RequestBuilder {
        self.basic(method, path, user, PASSWORD)
    }

    /// Sends `body` as JSON as `user`: the status and the answer's JSON (null if none).
    pub async fn user_json(
        &self,
        user: &str,
        method: Method,
        path: &str,
        body: Value,
    ) -> (StatusCode, Value) {
        let response = self
            .user(method, path, user)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    pub fn with_session(&self, method: Method, path: &str, session: &str) -> RequestBuilder {
        self.request(method, path)
            .header("cookie", format!("JSESSIONID={session}"))
    }

    pub fn bearer(&self, method: Method, path: &str, token: &str) -> RequestBuilder {
        self.request(method, path).bearer_auth(token)
    }

    /// Logs in with the session endpoint; returns the session id.
    pub async fn login(&self, user: &str, password: &str) -> String {
        let response = self
            .request(Method::POST, "/rest/auth/1/session")
            .json(&json!({"username": user, "password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status(),
            StatusCode::OK,
            "{}",
            response.text().await.unwrap()
        );
        let body: Value = response.json().await.unwrap();
        let session = body["session"]["value"].as_str().unwrap().to_string();
        crate::common::logs::secret(&session);
        session
    }

    /// Re-enters the password for a session, so that it may make administrative changes.
    pub async fn websudo(&self, session: &str, password: &str) {
        let response = self
            .with_session(Method::POST, "/rest/auth/1/websudo", session)
            .json(&json!({"password": password}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
    }

    /// An administrator's session with websudo.
    pub async fn admin_session(&self) -> String {
        let session = self.login("admin", ADMIN_PASSWORD).await;
        self.websudo(&session, ADMIN_PASSWORD).await;
        session
    }

    /// Makes a personal access token for `user` (logged in with [`PASSWORD`], or the admin's
    /// password for `admin`) from `body`; returns the raw token.
    pub async fn create_token(&self, user: &str, body: Value) -> String {
        let password = if user == "admin" {
            ADMIN_PASSWORD
        } else {
            PASSWORD
        };
        let response = self
            .basic(Method::POST, "/rest/pat/latest/tokens", user, password)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = response.status();
        let value = json_of(response).await;
        assert_eq!(status, StatusCode::CREATED, "{value}");
        let raw = value["rawToken"].as_str().unwrap().to_string();
        crate::common::logs::secret(&raw);
        raw
    }

    /// Basic with a token in the password's place (as Jira Cloud and the token apps accept).
    pub fn basic_token(
        &self,
        method: Method,
        path: &str,
        user: &str,
        token: &str,
    ) -> RequestBuilder {
        self.basic(method, path, user, token)
    }
}
