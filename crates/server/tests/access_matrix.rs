//! The access-control matrix: every route of the route table × every kind of caller, with the
//! status the route's rule implies. A route added to the table is covered automatically; one
//! whose handler does not enforce its rule fails here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::permissions::ProjectPermission as P;
use tessera_testkit::backend_tests;
use tessera_web::{Access, RouteSpec, route_table};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    WrongPassword,
    /// Valid credentials, but not in jira-users: no USE permission.
    NoUse,
    /// A user with no role in the project.
    Outsider,
    /// Users role: browse, create, comment.
    Reader,
    /// Developers role: also edit, assign, transition.
    Developer,
    /// A Jira administrator's session cookie on a cross-site-formable request, without the
    /// XSRF header (only for state-changing methods).
    SessionWithoutXsrf,
    /// A Jira administrator (with Basic auth).
    Admin,
}

const CALLERS: [Caller; 8] = [
    Caller::Anonymous,
    Caller::WrongPassword,
    Caller::NoUse,
    Caller::Outsider,
    Caller::Reader,
    Caller::Developer,
    Caller::SessionWithoutXsrf,
    Caller::Admin,
];

#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Status(StatusCode),
    /// Past authentication and authorization: neither 401, 403 nor 404, and no server error.
    Allowed,
}

fn is_safe(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD
}

fn project_grant(caller: Caller, permission: P) -> Expect {
    let held: &[P] = match caller {
        Caller::Reader => &[P::BrowseProjects, P::CreateIssues, P::AddComments],
        Caller::Developer => &[
            P::BrowseProjects,
            P::CreateIssues,
            P::AddComments,
            P::EditIssues,
            P::AssignIssues,
            P::TransitionIssues,
        ],
        Caller::Admin => return Expect::Allowed,
        _ => return Expect::Status(StatusCode::NOT_FOUND),
    };
    if held.contains(&permission) {
        Expect::Allowed
    } else {
        Expect::Status(StatusCode::FORBIDDEN)
    }
}

/// What the rule implies for a caller.
fn expected(route: &RouteSpec, caller: Caller) -> Expect {
    use Expect::*;
    match (caller, route.access) {
        (_, Access::Login) => Allowed,
        (Caller::Anonymous, Access::Public) => Allowed,
        (Caller::Anonymous | Caller::WrongPassword, _) => Status(StatusCode::UNAUTHORIZED),
        (Caller::NoUse, _) => Status(StatusCode::FORBIDDEN),
        (Caller::SessionWithoutXsrf, _) if !is_safe(&route.method) => Status(StatusCode::FORBIDDEN),
        (Caller::SessionWithoutXsrf, _) => Allowed,
        (_, Access::Public | Access::User) => Allowed,
        (_, Access::Session) => Status(StatusCode::UNAUTHORIZED),
        (Caller::Admin, _) => Allowed,
        (_, Access::Admin) => Status(StatusCode::FORBIDDEN),
        (Caller::Outsider, _) => Status(StatusCode::NOT_FOUND),
        (_, Access::ProjectVisible) => Allowed,
        (caller, Access::Project(permission)) => project_grant(caller, permission),
        // The fixture comment is the administrator's.
        (_, Access::CommentAuthorOrProjectAdmin) => Status(StatusCode::FORBIDDEN),
    }
}

struct Fixture {
    issue: String,
    comment: String,
    session: String,
}

/// Fills the path's placeholders with the fixture's records.
fn concrete_path(route: &RouteSpec, fixture: &Fixture) -> String {
    let mut path = String::new();
    let mut previous = "";
    for segment in route.path.split('/').skip(1) {
        let value = match segment {
            "{projectIdOrKey}" => "MTX",
            "{issueIdOrKey}" => &fixture.issue,
            "{id}" => match previous {
                "role" => "10001",
                "comment" => &fixture.comment,
                "issuetype" | "priority" => "3",
                "resolution" => "10000",
                other => panic!(
                    "no fixture for {{id}} after '{other}' in {}: add one",
                    route.path
                ),
            },
            "{idOrName}" => "10000",
            "{idOrKey}" => "2",
            placeholder if placeholder.starts_with('{') => {
                panic!("no fixture for {placeholder} in {}: add one", route.path)
            }
            literal => literal,
        };
        path.push('/');
        path.push_str(value);
        previous = segment;
    }
    path
}

fn body_for(route: &RouteSpec) -> Value {
    if route.path == "/rest/api/2/issue" {
        json!({"fields": {"project": {"key": "MTX"}, "issuetype": {"name": "Task"}, "summary": "matrix"}})
    } else {
        json!({})
    }
}

async fn setup(server: &TestServer) {
    server.create_project("MTX").await;
    for user in ["nouse", "outsider", "reader", "developer"] {
        server.create_user(user, &[]).await;
    }
    let response = server
        .admin(
            Method::DELETE,
            "/rest/api/2/group/user?groupname=jira-users&username=nouse",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = server
        .admin(
            Method::DELETE,
            "/rest/api/2/project/MTX/role/10000?group=jira-users",
        )
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NO_CONTENT);
    server.add_to_role("MTX", 10000, "reader").await;
    server.add_to_role("MTX", 10001, "developer").await;
}

/// A fresh issue and comment for each route, since some callers delete them.
async fn fixture(server: &TestServer) -> Fixture {
    let issue = server.create_issue("MTX", "matrix fixture").await;
    let response = server
        .admin(Method::POST, &format!("/rest/api/2/issue/{issue}/comment"))
        .json(&json!({"body": "the administrator's comment"}))
        .send()
        .await
        .unwrap();
    let comment = json_of(response).await["id"].as_str().unwrap().to_string();
    let session = server.login("admin", ADMIN_PASSWORD).await;
    Fixture {
        issue,
        comment,
        session,
    }
}

async fn call(
    server: &TestServer,
    route: &RouteSpec,
    caller: Caller,
    fixture: &Fixture,
) -> StatusCode {
    let path = concrete_path(route, fixture);
    let method = route.method.clone();
    let mut request = match caller {
        Caller::Anonymous => server.anonymous(method.clone(), &path),
        Caller::WrongPassword => server.basic(method.clone(), &path, "admin", "not-the-password"),
        Caller::NoUse => server.user(method.clone(), &path, "nouse"),
        Caller::Outsider => server.user(method.clone(), &path, "outsider"),
        Caller::Reader => server.user(method.clone(), &path, "reader"),
        Caller::Developer => server.user(method.clone(), &path, "developer"),
        Caller::SessionWithoutXsrf => server.with_session(method.clone(), &path, &fixture.session),
        Caller::Admin => server.admin(method.clone(), &path),
    };
    if !is_safe(&method) {
        request = match caller {
            Caller::SessionWithoutXsrf => request
                .header("content-type", "application/x-www-form-urlencoded")
                .body("a=b"),
            _ => request.json(&body_for(route)),
        };
    }
    request.send().await.unwrap().status()
}

async fn run_matrix(server: &TestServer) {
    setup(server).await;
    let routes = route_table();
    assert!(routes.len() > 40, "the route table lists every route");
    let mut failures = Vec::new();
    for route in &routes {
        let fixture = fixture(server).await;
        for caller in CALLERS {
            let status = call(server, route, caller, &fixture).await;
            let ok = match expected(route, caller) {
                Expect::Status(want) => status == want,
                Expect::Allowed => {
                    ![
                        StatusCode::UNAUTHORIZED,
                        StatusCode::FORBIDDEN,
                        StatusCode::NOT_FOUND,
                    ]
                    .contains(&status)
                        && !status.is_server_error()
                }
            };
            if !ok {
                failures.push(format!(
                    "{} {} as {caller:?}: got {status}, expected {:?} ({:?})",
                    route.method,
                    route.path,
                    expected(route, caller),
                    route.access
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} cells disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

backend_tests! {
    async fn every_route_enforces_its_rule_for_every_caller(db) {
        let server = TestServer::start(db).await;
        run_matrix(&server).await;
    }
}
