//! Attachments through a real server, on SQLite and on PostgreSQL: multipart upload behind
//! Jira's XSRF rule, downloads that cannot run in tessera's origin, the size limit, and who
//! may attach, read and delete.

use crate::common::*;
use reqwest::multipart::{Form, Part};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_testkit::backend_tests;

fn form(files: &[(&str, &str, &[u8])]) -> Form {
    files.iter().fold(Form::new(), |form, (name, mime, bytes)| {
        let part = Part::bytes(bytes.to_vec())
            .file_name(name.to_string())
            .mime_str(mime)
            .unwrap();
        form.part("file", part)
    })
}

async fn upload(
    request: reqwest::RequestBuilder,
    files: &[(&str, &str, &[u8])],
) -> (StatusCode, Value) {
    let response = request
        .header("X-Atlassian-Token", "no-check")
        .multipart(form(files))
        .send()
        .await
        .unwrap();
    let status = response.status();
    (
        status,
        serde_json::from_str(&response.text().await.unwrap()).unwrap_or(Value::Null),
    )
}

async fn attachment_names(server: &TestServer, key: &str) -> Vec<String> {
    let issue = server
        .admin_json(
            Method::GET,
            &format!("/rest/api/2/issue/{key}?fields=attachment"),
            Value::Null,
            StatusCode::OK,
        )
        .await;
    issue["fields"]["attachment"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["filename"].as_str().unwrap().to_string())
        .collect()
}

backend_tests! {
    async fn files_attach_download_and_delete_by_jiras_rules(db) {
        let mut config = test_config(&db);
        config.max_attachment_bytes = 64 * 1024;
        let server = TestServer::start_with(db, config).await;
        server.create_project("AT").await;
        server.create_project("AX").await;
        let response = server.admin(Method::DELETE, "/rest/api/2/project/AX/role/10000?group=jira-users").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        server.create_user("dev", &[]).await;
        server.create_user("reader", &[]).await;
        server.add_to_role("AT", 10001, "dev").await;
        let key = server.create_issue("AT", "with files").await;
        let path = format!("/rest/api/2/issue/{key}/attachments");
        let meta = json_of(server.user(Method::GET, "/rest/api/2/attachment/meta", "reader").send().await.unwrap()).await;
        assert_eq!(meta, json!({"enabled": true, "uploadLimit": 64 * 1024}));

        // Jira's XSRF rule: no X-Atlassian-Token, no upload (whatever the credential).
        let response = server.user(Method::POST, &path, "reader").multipart(form(&[("a.txt", "text/plain", b"a")])).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert!(attachment_names(&server, &key).await.is_empty());

        let page = b"<html><script>alert(document.cookie)</script></html>";
        let (status, made) = upload(server.user(Method::POST, &path, "reader"), &[("notes.txt", "text/plain", b"hello"), ("../../evil.html", "text/html", page)]).await;
        assert_eq!(status, StatusCode::OK, "{made}");
        let made = made.as_array().unwrap().clone();
        assert_eq!(made.len(), 2);
        assert_eq!((made[0]["filename"].as_str(), made[0]["size"].as_i64(), made[0]["mimeType"].as_str()), (Some("notes.txt"), Some(5), Some("text/plain")));
        assert_eq!(made[1]["filename"], "evil.html", "only the last path component is kept");
        assert_eq!(made[0]["author"]["name"], "reader");
        let notes = made[0]["id"].as_str().unwrap().to_string();
        let evil = made[1]["id"].as_str().unwrap().to_string();
        assert_eq!(attachment_names(&server, &key).await, ["notes.txt", "evil.html"]);
        // A search page reads the attachments of all its issues at once: each shows its own.
        let bare = server.create_issue("AT", "without files").await;
        let found = server.user(Method::GET, "/rest/api/2/search?jql=project%20%3D%20AT%20ORDER%20BY%20key&fields=attachment", "dev").send().await.unwrap();
        let found = json_of(found).await;
        let names: Vec<(String, Vec<String>)> = found["issues"].as_array().unwrap_or_else(|| panic!("{found}")).iter().map(|issue| {
            let names = issue["fields"]["attachment"].as_array().unwrap().iter().map(|a| a["filename"].as_str().unwrap().to_string()).collect();
            (issue["key"].as_str().unwrap().to_string(), names)
        }).collect();
        assert_eq!(names, [(key.clone(), vec!["notes.txt".to_string(), "evil.html".to_string()]), (bare, vec![])]);
        let issue = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{key}?expand=changelog"), Value::Null, StatusCode::OK).await;
        let items = issue["changelog"]["histories"].as_array().unwrap().last().unwrap()["items"].clone();
        assert_eq!(items.as_array().unwrap().iter().map(|i| (i["field"].as_str().unwrap(), i["toString"].as_str().unwrap())).collect::<Vec<_>>(), [("Attachment", "notes.txt"), ("Attachment", "evil.html")]);

        // Downloads: the bytes, always as a file to save, never run in tessera's origin.
        let content = made[0]["content"].as_str().unwrap();
        let download_path = content.split_once("/secure/").map(|(_, rest)| format!("/secure/{rest}")).unwrap();
        let response = server.user(Method::GET, &download_path, "dev").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.bytes().await.unwrap().as_ref(), b"hello");
        let response = server.user(Method::GET, &format!("/secure/attachment/{evil}/evil.html"), "dev").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        let headers = response.headers().clone();
        assert!(headers["content-disposition"].to_str().unwrap().starts_with("attachment; filename=\"evil.html\""));
        assert_eq!(headers["x-content-type-options"], "nosniff");
        assert!(headers["content-security-policy"].to_str().unwrap().contains("sandbox"));
        assert_eq!(response.bytes().await.unwrap().as_ref(), page);
        let one = json_of(server.user(Method::GET, &format!("/rest/api/2/attachment/{notes}"), "dev").send().await.unwrap()).await;
        assert_eq!((one["filename"].as_str(), one["content"].as_str()), (Some("notes.txt"), Some(content)));

        // Another project's attachment: not found, to read or to download.
        let hidden_issue = server.create_issue("AX", "hidden").await;
        let (status, hidden) = upload(server.admin(Method::POST, &format!("/rest/api/2/issue/{hidden_issue}/attachments")), &[("secret.txt", "text/plain", b"secret")]).await;
        assert_eq!(status, StatusCode::OK);
        let hidden = hidden[0]["id"].as_str().unwrap().to_string();
        for path in [format!("/rest/api/2/attachment/{hidden}"), format!("/secure/attachment/{hidden}/secret.txt")] {
            let response = server.user(Method::GET, &path, "dev").send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let (status, _) = upload(server.user(Method::POST, &format!("/rest/api/2/issue/{hidden_issue}/attachments"), "dev"), &[("x.txt", "text/plain", b"x")]).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        // A READ token cannot attach.
        let read = server.create_token("dev", json!({"name": "read", "expirationDuration": 30, "scopes": ["READ"]})).await;
        let (status, _) = upload(server.bearer(Method::POST, &path, &read), &[("x.txt", "text/plain", b"x")]).await;
        assert_eq!(status, StatusCode::FORBIDDEN);

        // Bad uploads: not multipart (415), no file (400), too big (413); nothing is kept.
        let response = server.user(Method::POST, &path, "dev").header("X-Atlassian-Token", "no-check").json(&json!({"file": "x"})).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::UNSUPPORTED_MEDIA_TYPE);
        let response = server.user(Method::POST, &path, "dev").header("X-Atlassian-Token", "no-check").multipart(Form::new().text("comment", "no file")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let big = vec![b'x'; 40 * 1024];
        let (status, error) = upload(server.user(Method::POST, &path, "dev"), &[("one.bin", "application/octet-stream", &big), ("two.bin", "application/octet-stream", &big)]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{error}");
        let huge = vec![b'x'; 65 * 1024];
        let (status, _) = upload(server.user(Method::POST, &path, "dev"), &[("huge.bin", "application/octet-stream", &huge)]).await;
        assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(attachment_names(&server, &key).await, ["notes.txt", "evil.html"]);

        // Deleting: one's own with DELETE_OWN_ATTACHMENTS, anyone's with DELETE_ALL_ATTACHMENTS.
        let response = server.user(Method::DELETE, &format!("/rest/api/2/attachment/{notes}"), "dev").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let response = server.user(Method::DELETE, &format!("/rest/api/2/attachment/{notes}"), "reader").send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        let response = server.admin(Method::DELETE, &format!("/rest/api/2/attachment/{evil}")).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::NO_CONTENT);
        assert!(attachment_names(&server, &key).await.is_empty());
        for path in [format!("/rest/api/2/attachment/{notes}"), format!("/secure/attachment/{notes}/notes.txt")] {
            let response = server.admin(Method::GET, &path).send().await.unwrap();
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{path}");
        }
        let issue = server.admin_json(Method::GET, &format!("/rest/api/2/issue/{key}?expand=changelog"), Value::Null, StatusCode::OK).await;
        let last = issue["changelog"]["histories"].as_array().unwrap().last().unwrap()["items"][0].clone();
        assert_eq!((last["field"].as_str(), last["fromString"].as_str(), last["to"].clone()), (Some("Attachment"), Some("evil.html"), Value::Null));
    }
}
