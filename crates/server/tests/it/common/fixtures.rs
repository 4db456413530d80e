//! Records a test needs, made through the REST API as an administrator would make them.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use super::{PASSWORD, TestServer};

impl TestServer {
    /// Sends `body` as `admin` and asserts the status; returns the response body (if any).
    pub async fn admin_json(
        &self,
        method: Method,
        path: &str,
        body: Value,
        expected: StatusCode,
    ) -> Value {
        let response = self.admin(method, path).json(&body).send().await.unwrap();
        let status = response.status();
        let text = response.text().await.unwrap();
        assert_eq!(status, expected, "{path}: {text}");
        serde_json::from_str(&text).unwrap_or(Value::Null)
    }

    /// Creates a user with [`PASSWORD`] through the REST API; adds them to `groups` too.
    pub async fn create_user(&self, name: &str, groups: &[&str]) {
        let user = json!({"name": name, "password": PASSWORD, "emailAddress": format!("{name}@example.com"), "displayName": format!("{name} Example")});
        self.admin_json(Method::POST, "/rest/api/2/user", user, StatusCode::CREATED)
            .await;
        for group in groups {
            let path = format!("/rest/api/2/group/user?groupname={group}");
            self.admin_json(
                Method::POST,
                &path,
                json!({"name": name}),
                StatusCode::CREATED,
            )
            .await;
        }
    }

    /// Creates a project led by `admin`.
    pub async fn create_project(&self, key: &str) -> Value {
        let project =
            json!({"key": key, "name": format!("Project {key}"), "projectTypeKey": "software"});
        self.admin_json(
            Method::POST,
            "/rest/api/2/project",
            project,
            StatusCode::CREATED,
        )
        .await
    }

    /// Puts `user` into a project role (10000 Users, 10001 Developers, 10002 Administrators).
    pub async fn add_to_role(&self, key: &str, role: i64, user: &str) {
        let path = format!("/rest/api/2/project/{key}/role/{role}");
        self.admin_json(Method::POST, &path, json!({"user": [user]}), StatusCode::OK)
            .await;
    }

    /// Creates an issue as `admin`; returns its key.
    pub async fn create_issue(&self, project: &str, summary: &str) -> String {
        let body = json!({"fields": {"project": {"key": project}, "issuetype": {"name": "Task"}, "summary": summary}});
        let created = self
            .admin_json(Method::POST, "/rest/api/2/issue", body, StatusCode::CREATED)
            .await;
        created["key"].as_str().unwrap().to_string()
    }
}
