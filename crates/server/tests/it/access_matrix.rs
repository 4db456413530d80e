//! The access-control matrix: every route of the route table × every kind of caller, with the
//! status the route's rule implies. Each cell gets fresh records (an issue, a comment, a group,
//! a session) and a request that is valid for the route, so an allowed caller must get a
//! success, not merely "something other than 401/403/404". A route added to the table is
//! covered automatically; one whose handler does not enforce its rule fails here. The callers
//! come from the list of authentication methods ([`callers_of`]), so a new method cannot be
//! left out.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::common::oauth1::Link;
use crate::common::*;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tessera_core::clock::Clock;
use tessera_core::identity::{
    Endpoints, NewIdentityProvider, ProviderSettings, Provisioning, UserClaim,
};
use tessera_core::oauth2::{NewOAuth2Token, OAuth2TokenKind};
use tessera_core::permissions::ProjectPermission as P;
use tessera_core::principal::AuthMethod;
use tessera_core::secrets::SecretKind;
use tessera_core::store::{IdentityStore, OAuth2Store, UserStore};
use tessera_testkit::backend_tests;
use tessera_web::{Access, RouteSpec, route_table};

/// An RSA public key for OAuth 1.0a consumers.
const CONSUMER_PUB: &str = include_str!("../../../auth/src/oauth1/testdata/consumer.pub.pem");

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
    /// A Jira administrator's session cookie on a request another site's form could send,
    /// without the XSRF header.
    SessionWithoutXsrf,
    /// A Jira administrator's session cookie on a JSON request, with websudo.
    AdminSession,
    /// The same without websudo: administrative changes need the password again.
    AdminSessionWithoutWebsudo,
    /// A Jira administrator with Basic auth.
    Admin,
    /// The developer's personal access token with every scope, as Bearer.
    DeveloperToken,
    /// The developer's personal access token with only the `READ` scope, as Bearer.
    ReadToken,
    /// The developer's personal access token with every scope, in a Basic password.
    DeveloperBasicToken,
    /// A key of the service account `svc` (a user of tessera in no project role).
    ServiceKey,
    /// An OAuth 2.0 access token of the developer's, issued to a client with `WRITE`.
    DeveloperOAuth2,
    /// Requests signed by an OAuth 1.0a application link with an access token the developer
    /// approved for reading and writing.
    DeveloperOAuth1,
    /// A JWT for the developer from a trusted identity provider, with `WRITE`.
    DeveloperJwt,
}

/// The matrix's callers of each authentication method. The match names every method, so a
/// method added to `AuthMethod` does not compile until it has callers here.
fn callers_of(method: AuthMethod) -> &'static [Caller] {
    match method {
        AuthMethod::BasicPassword => &[
            Caller::WrongPassword,
            Caller::NoUse,
            Caller::Outsider,
            Caller::Reader,
            Caller::Developer,
            Caller::Admin,
        ],
        AuthMethod::Session => &[
            Caller::SessionWithoutXsrf,
            Caller::AdminSession,
            Caller::AdminSessionWithoutWebsudo,
        ],
        AuthMethod::BasicToken => &[Caller::DeveloperBasicToken],
        AuthMethod::BearerToken => &[Caller::DeveloperToken, Caller::ReadToken],
        AuthMethod::ServiceKey => &[Caller::ServiceKey],
        AuthMethod::OAuth2 => &[Caller::DeveloperOAuth2],
        AuthMethod::OAuth1 => &[Caller::DeveloperOAuth1],
        AuthMethod::ExternalJwt => &[Caller::DeveloperJwt],
    }
}

/// Every caller: anonymous, then each method's.
fn callers() -> Vec<Caller> {
    std::iter::once(Caller::Anonymous)
        .chain(
            AuthMethod::ALL
                .iter()
                .flat_map(|method| callers_of(*method).iter().copied()),
        )
        .collect()
}

#[derive(Debug, PartialEq, Eq)]
enum Expect {
    Status(StatusCode),
    /// Past authentication and authorization: the request succeeds.
    Allowed,
}

fn is_safe(method: &Method) -> bool {
    *method == Method::GET || *method == Method::HEAD
}

fn project_grant(caller: Caller, permission: P) -> Expect {
    let held: &[P] = match caller {
        Caller::Reader => &[
            P::BrowseProjects,
            P::CreateIssues,
            P::AddComments,
            P::EditOwnWorklogs,
            P::DeleteOwnWorklogs,
            P::CreateAttachments,
            P::DeleteOwnAttachments,
        ],
        // The developer holds more, but the scope allows only reading.
        Caller::ReadToken => &[P::BrowseProjects],
        Caller::Developer
        | Caller::DeveloperToken
        | Caller::DeveloperBasicToken
        | Caller::DeveloperOAuth2
        | Caller::DeveloperOAuth1
        | Caller::DeveloperJwt => &[
            P::BrowseProjects,
            P::CreateIssues,
            P::AddComments,
            P::EditIssues,
            P::AssignIssues,
            P::TransitionIssues,
            P::WorkOnIssues,
            P::EditOwnWorklogs,
            P::DeleteOwnWorklogs,
            P::LinkIssues,
            P::CreateAttachments,
            P::DeleteOwnAttachments,
        ],
        Caller::Admin | Caller::AdminSession | Caller::AdminSessionWithoutWebsudo => {
            return Expect::Allowed;
        }
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
    let is_admin = matches!(
        caller,
        Caller::Admin | Caller::AdminSession | Caller::AdminSessionWithoutWebsudo
    );
    let has_token = matches!(
        caller,
        Caller::DeveloperToken
            | Caller::ReadToken
            | Caller::DeveloperBasicToken
            | Caller::ServiceKey
            | Caller::DeveloperOAuth2
            | Caller::DeveloperOAuth1
            | Caller::DeveloperJwt
    );
    match (caller, route.access) {
        // The login route reads only its JSON body, which a cross-site form cannot send.
        (Caller::SessionWithoutXsrf, Access::Login) => Status(StatusCode::UNSUPPORTED_MEDIA_TYPE),
        (_, Access::Login) => Allowed,
        (Caller::Anonymous, Access::Public) => Allowed,
        (Caller::Anonymous | Caller::WrongPassword, _) => Status(StatusCode::UNAUTHORIZED),
        (Caller::NoUse, _) => Status(StatusCode::FORBIDDEN),
        (Caller::SessionWithoutXsrf, _) if !is_safe(&route.method) => Status(StatusCode::FORBIDDEN),
        // Administrative changes over a session need the password re-entered (websudo); so
        // does an administrator's token that could make them (the fixture asks all scopes).
        (Caller::AdminSessionWithoutWebsudo, _) if route.is_admin_change() => {
            Status(StatusCode::FORBIDDEN)
        }
        (Caller::AdminSessionWithoutWebsudo, Access::NotWithToken)
            if route.path == "/rest/pat/latest/tokens" =>
        {
            Status(StatusCode::FORBIDDEN)
        }
        (
            Caller::SessionWithoutXsrf | Caller::AdminSession | Caller::AdminSessionWithoutWebsudo,
            Access::Session,
        ) => Allowed,
        (_, Access::Session) => Status(StatusCode::UNAUTHORIZED),
        (_, Access::Public | Access::User) => Allowed,
        (Caller::ReadToken, Access::Writer) => Status(StatusCode::FORBIDDEN),
        (_, Access::Writer) => Allowed,
        // A token may not make tokens, nor manage tokens other than itself.
        (_, Access::NotWithToken) if has_token => Status(StatusCode::FORBIDDEN),
        (_, Access::NotWithToken) => Allowed,
        // The route answers for a personal token or key; an OAuth access token is none.
        (
            Caller::DeveloperOAuth2 | Caller::DeveloperOAuth1 | Caller::DeveloperJwt,
            Access::TokenHolder,
        ) => Status(StatusCode::NOT_FOUND),
        (_, Access::TokenHolder) if has_token => Allowed,
        (_, Access::TokenHolder) => Status(StatusCode::NOT_FOUND),
        // The fixture token and grant are the developer's: another user's, for the service.
        (Caller::ServiceKey, Access::OwnToken | Access::OwnGrant) => Status(StatusCode::NOT_FOUND),
        // The fixture token is the developer's (made with the password), not the caller's.
        (Caller::Developer, Access::OwnToken) => Allowed,
        // ... and a token caller may touch only the token it presents.
        (_, Access::OwnToken) if has_token => Status(StatusCode::FORBIDDEN),
        (_, Access::OwnToken) => Status(StatusCode::NOT_FOUND),
        // The fixture grant is the developer's; a token may not revoke grants.
        (Caller::Developer, Access::OwnGrant) => Allowed,
        (_, Access::OwnGrant) if has_token => Status(StatusCode::FORBIDDEN),
        (_, Access::OwnGrant) => Status(StatusCode::NOT_FOUND),
        // The service account is owned by a group the reader belongs to.
        (Caller::Reader | Caller::SessionWithoutXsrf, Access::ServiceAccountOwner) => Allowed,
        (_, Access::ServiceAccountOwner) if is_admin => Allowed,
        (_, Access::ServiceAccountOwner) => Status(StatusCode::NOT_FOUND),
        (Caller::SessionWithoutXsrf, _) => Allowed,
        // The fixture issue is the administrator's: Jira refuses a vote for one's own issue.
        (_, Access::Voter) if is_admin && route.method == Method::POST => {
            Status(StatusCode::NOT_FOUND)
        }
        _ if is_admin => Allowed,
        (_, Access::Admin | Access::SelfOrAdmin) => Status(StatusCode::FORBIDDEN),
        (Caller::Outsider | Caller::ServiceKey, _) => Status(StatusCode::NOT_FOUND),
        // The fixture filter is the administrator's, shared with whoever may browse MTX: they
        // may read it and count it a favourite, not change it; for anyone else it does not exist.
        (caller, Access::FilterOwner) => match project_grant(caller, P::BrowseProjects) {
            Allowed => Status(StatusCode::FORBIDDEN),
            other => other,
        },
        (Caller::ReadToken, Access::FilterAudience) if !is_safe(&route.method) => {
            Status(StatusCode::FORBIDDEN)
        }
        (caller, Access::FilterAudience) => project_grant(caller, P::BrowseProjects),
        (_, Access::ProjectVisible) => Allowed,
        (caller, Access::Project(permission)) => project_grant(caller, permission),
        // A vote is a change: a READ credential may not cast one.
        (Caller::ReadToken, Access::Voter) => Status(StatusCode::FORBIDDEN),
        (caller, Access::Voter) => project_grant(caller, P::BrowseProjects),
        // The request names another user (watching oneself needs only BROWSE_PROJECTS and
        // the write scope; the HTTP tests cover it).
        (caller, Access::Watchers) => project_grant(caller, P::ManageWatchers),
        // The fixture comment, worklog and attachment are the administrator's.
        (
            _,
            Access::CommentAuthorOrProjectAdmin
            | Access::WorklogAuthorOrAll
            | Access::AttachmentAuthorOrAll,
        ) => Status(StatusCode::FORBIDDEN),
    }
}

/// The status an allowed call must get, where a route's valid request is deliberately not
/// made (changing the caller's own password would lock the caller out of later cells).
fn allowed_status(route: &RouteSpec) -> Option<StatusCode> {
    (route.path == "/rest/api/2/myself/password").then_some(StatusCode::BAD_REQUEST)
}

struct Fixture {
    n: usize,
    /// The project in the path: MTX, or one made for the cell that deletes it.
    project: String,
    issue: String,
    comment: String,
    worklog: String,
    version: String,
    component: String,
    /// Made only for the routes that need them (see [`route_records`]): another issue of
    /// MTX, a link from the issue to it, a link type, a remote link of the issue.
    other_issue: String,
    link: String,
    link_type: String,
    remote_link: String,
    attachment: String,
    filter: String,
    /// The fixture filter's share with project MTX.
    share: String,
    /// An avatar `target` uploaded.
    avatar: String,
    group: String,
    /// The administrator's session, with websudo.
    session: String,
    /// Another of the administrator's sessions, without.
    stale_session: String,
    /// A token of the developer's.
    token: String,
    /// A key of the service account `svc`.
    key: String,
    /// The public id of an OAuth 2.0 client.
    client_id: String,
    /// A live grant of the developer's to that client.
    grant: String,
    /// The key of an OAuth 1.0a consumer.
    consumer: String,
    /// An access token of the developer's at that consumer.
    oauth1_token: String,
    /// An identity provider's id.
    provider: String,
    /// The base URL of the stand-in identity provider, whose issuers discovery finds.
    idp: String,
}

/// Fills the path's placeholders with the fixture's records.
fn concrete_path(route: &RouteSpec, fixture: &Fixture) -> String {
    let mut path = String::new();
    let mut previous = "";
    for segment in route.path.split('/').skip(1) {
        let value = match segment {
            "{projectIdOrKey}" => &fixture.project,
            "{schemeId}" => match previous {
                "permissionscheme" => "0",
                "issuesecurityschemes" => "10000",
                "issuetypescheme" => "10000",
                other => panic!("no scheme after '{other}' in {}: add one", route.path),
            },
            "{issueIdOrKey}" => &fixture.issue,
            "{name}" => "svc",
            "{clientId}" => &fixture.client_id,
            "{consumerKey}" => &fixture.consumer,
            "{tokenId}" => &fixture.oauth1_token,
            "{id}" => match previous {
                "role" => "10001",
                "tokens" => &fixture.token,
                "keys" => &fixture.key,
                "grants" => &fixture.grant,
                "identityproviders" => &fixture.provider,
                "comment" => &fixture.comment,
                "worklog" => &fixture.worklog,
                "version" => &fixture.version,
                "component" => &fixture.component,
                "issueLink" => &fixture.link,
                "issueLinkType" => &fixture.link_type,
                "remotelink" => &fixture.remote_link,
                "attachment" => &fixture.attachment,
                "filter" => &fixture.filter,
                "avatar" => &fixture.avatar,
                "application-properties" => "jira.title",
                "issuetype" | "priority" => "3",
                "resolution" => "10000",
                other => panic!(
                    "no fixture for {{id}} after '{other}' in {}: add one",
                    route.path
                ),
            },
            "{share}" => &fixture.share,
            "{propertyKey}" => "fixture",
            "{filename}" => "fixture.txt",
            "{idOrName}" => "10000",
            "{issueTypeId}" => "3",
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

/// A request valid for the route: its query string and JSON body.
fn request_for(route: &RouteSpec, f: &Fixture) -> (String, Option<Value>) {
    let n = f.n;
    let (query, body) = match (route.method.as_str(), route.path.as_str()) {
        ("GET", "/rest/api/2/user") => ("?username=target".to_string(), None),
        ("POST", "/rest/api/2/user") => (
            String::new(),
            Some(json!({"name": format!("new{n}"), "password": "long-password-1"})),
        ),
        ("PUT", "/rest/api/2/user") => (
            "?username=target".into(),
            Some(json!({"displayName": "Target"})),
        ),
        ("PUT", "/rest/api/2/user/password") => (
            "?username=target".into(),
            Some(json!({"password": format!("target-password-{n}")})),
        ),
        ("DELETE", "/rest/api/2/user") => (format!("?username=gone{n}"), None),
        ("GET", "/rest/api/2/user/search") => ("?username=ta".into(), None),
        ("GET", "/rest/api/2/user/avatars") => ("?username=target".to_string(), None),
        // Another user's avatar: only an administrator may choose it.
        ("PUT", "/rest/api/2/user/avatar") => {
            ("?username=target".to_string(), Some(json!({"id": "10101"})))
        }
        ("POST", "/rest/api/2/user/avatar/temporary") => {
            ("?username=target&filename=matrix.png&size=14".into(), None)
        }
        ("POST", "/rest/api/2/user/avatar") => (
            "?username=target".into(),
            Some(
                json!({"cropperWidth": 48, "cropperOffsetX": 0, "cropperOffsetY": 0, "needsCropping": false}),
            ),
        ),
        ("DELETE", "/rest/api/2/user/avatar/{id}") => ("?username=target".into(), None),
        ("GET", "/secure/useravatar") => ("?size=48&ownerId=target&avatarId=10122".into(), None),
        ("GET", "/rest/api/2/user/assignable/search") => ("?project=MTX&username=de".into(), None),
        ("GET", "/rest/api/2/user/assignable/multiProjectSearch") => {
            ("?projectKeys=MTX&username=de".into(), None)
        }
        ("GET", "/rest/api/2/user/viewissue/search") => (format!("?issueKey={}", f.issue), None),
        ("GET", "/rest/api/2/group")
        | ("GET", "/rest/api/2/group/member")
        | ("DELETE", "/rest/api/2/group") => (format!("?groupname={}", f.group), None),
        ("POST", "/rest/api/2/group") => (String::new(), Some(json!({"name": format!("made{n}")}))),
        ("POST", "/rest/api/2/group/user") => (
            format!("?groupname={}", f.group),
            Some(json!({"name": "reader"})),
        ),
        ("DELETE", "/rest/api/2/group/user") => {
            (format!("?groupname={}&username=target", f.group), None)
        }
        ("POST", "/rest/api/2/project") => (
            String::new(),
            Some(json!({"key": format!("NP{n}"), "name": format!("New {n}")})),
        ),
        ("POST", "/rest/api/2/project/{projectIdOrKey}/role/{id}") => {
            (String::new(), Some(json!({"user": ["target"]})))
        }
        ("PUT", "/rest/api/2/project/{projectIdOrKey}/role/{id}") => (
            String::new(),
            Some(
                json!({"categorisedActors": {"atlassian-user-role-actor": ["developer", "target"]}}),
            ),
        ),
        ("DELETE", "/rest/api/2/project/{projectIdOrKey}/role/{id}") => {
            ("?user=target".into(), None)
        }
        ("POST", "/rest/api/2/issue") => (
            String::new(),
            Some(
                json!({"fields": {"project": {"key": "MTX"}, "issuetype": {"name": "Task"}, "summary": "matrix"}}),
            ),
        ),
        ("POST", "/rest/api/2/issue/bulk") => (
            String::new(),
            Some(
                json!({"issueUpdates": [{"fields": {"project": {"key": "MTX"}, "issuetype": {"name": "Task"}, "summary": "matrix"}}]}),
            ),
        ),
        ("PUT", "/rest/api/2/issue/{issueIdOrKey}") => (
            String::new(),
            Some(json!({"fields": {"summary": "changed"}})),
        ),
        ("POST", "/rest/api/2/issue/{issueIdOrKey}/transitions") => {
            (String::new(), Some(json!({"transition": {"id": "21"}})))
        }
        ("PUT", "/rest/api/2/issue/{issueIdOrKey}/assignee") => {
            (String::new(), Some(json!({"name": "developer"})))
        }
        ("POST", "/rest/api/2/issue/{issueIdOrKey}/watchers") => {
            (String::new(), Some(json!("target")))
        }
        ("DELETE", "/rest/api/2/issue/{issueIdOrKey}/watchers") => {
            ("?username=target".into(), None)
        }
        ("GET", "/rest/api/2/issue/createmeta") => (
            "?projectKeys=MTX&expand=projects.issuetypes.fields".into(),
            None,
        ),
        ("GET", "/rest/api/2/issue/{issueIdOrKey}") => ("?expand=changelog".into(), None),
        ("POST", "/rest/api/2/issue/{issueIdOrKey}/comment") => {
            (String::new(), Some(json!({"body": "hello"})))
        }
        ("PUT", "/rest/api/2/issue/{issueIdOrKey}/comment/{id}") => {
            (String::new(), Some(json!({"body": "edited"})))
        }
        ("POST", "/rest/api/2/issue/{issueIdOrKey}/worklog") => {
            (String::new(), Some(json!({"timeSpent": "30m"})))
        }
        ("PUT", "/rest/api/2/issue/{issueIdOrKey}/worklog/{id}") => {
            (String::new(), Some(json!({"timeSpent": "2h"})))
        }
        ("POST", "/rest/api/2/worklog/list") => (String::new(), Some(json!({"ids": [f.worklog]}))),
        ("POST", "/rest/api/2/version") | ("POST", "/rest/api/2/component") => (
            String::new(),
            Some(json!({"name": format!("made {n}"), "project": "MTX"})),
        ),
        ("PUT", "/rest/api/2/version/{id}") | ("PUT", "/rest/api/2/component/{id}") => {
            (String::new(), Some(json!({"name": format!("renamed {n}")})))
        }
        ("POST", "/rest/api/2/version/{id}/move") => {
            (String::new(), Some(json!({"position": "First"})))
        }
        ("POST", "/rest/api/2/issueLink") => (
            String::new(),
            Some(
                json!({"type": {"name": "Relates"}, "inwardIssue": {"key": f.issue}, "outwardIssue": {"key": f.other_issue}}),
            ),
        ),
        ("POST", "/rest/api/2/issueLinkType") => (
            String::new(),
            Some(json!({"name": format!("made {n}"), "inward": "in", "outward": "out"})),
        ),
        ("PUT", "/rest/api/2/issueLinkType/{id}") => {
            (String::new(), Some(json!({"name": format!("renamed {n}")})))
        }
        ("POST", "/rest/api/2/issue/{issueIdOrKey}/remotelink")
        | ("PUT", "/rest/api/2/issue/{issueIdOrKey}/remotelink/{id}") => (
            String::new(),
            Some(
                json!({"object": {"url": "https://matrix.example", "title": format!("made {n}")}}),
            ),
        ),
        // Bodiless, but JSON: a session's JSON request needs no XSRF header.
        ("POST", "/rest/api/2/issue/{issueIdOrKey}/votes") => (String::new(), Some(json!({}))),
        ("POST", "/rest/api/2/filter") => (
            String::new(),
            Some(json!({"name": format!("made {n}"), "jql": "project = MTX"})),
        ),
        ("PUT", "/rest/api/2/issue/{issueIdOrKey}/properties/{propertyKey}") => {
            (String::new(), Some(json!({"set": n})))
        }
        ("PUT", "/rest/api/2/application-properties/{id}") => (
            String::new(),
            Some(json!({"id": "jira.title", "value": format!("matrix {n}")})),
        ),
        ("POST", "/rest/api/2/filter/{id}/permission") => {
            (String::new(), Some(json!({"type": "global"})))
        }
        // Bodiless, but JSON: a session's JSON request needs no XSRF header.
        ("PUT" | "DELETE", "/rest/api/2/filter/{id}/favourite") => (String::new(), Some(json!({}))),
        ("PUT", "/rest/api/2/filter/{id}") => {
            (String::new(), Some(json!({"name": format!("renamed {n}")})))
        }
        // Sent as multipart by `call`.
        ("POST", "/rest/api/2/issue/{issueIdOrKey}/attachments") => (String::new(), None),
        ("DELETE", "/rest/api/2/issue/{issueIdOrKey}/remotelink") => {
            (format!("?globalId=g{n}"), None)
        }
        ("PUT", "/rest/api/2/myself/password") => (String::new(), Some(json!({}))),
        // Valid for every caller: it names no project the caller might not see.
        ("GET", "/rest/api/2/search") => ("?jql=summary~matrix&maxResults=5".into(), None),
        ("POST", "/rest/api/2/search") => (
            String::new(),
            Some(json!({"jql": "summary ~ matrix ORDER BY key", "maxResults": 5})),
        ),
        ("POST", "/rest/pat/latest/tokens")
        | ("POST", "/rest/tessera/1/serviceaccounts/{name}/keys") => (
            String::new(),
            Some(json!({"name": format!("t{n}"), "expirationDuration": 30})),
        ),
        ("POST", "/rest/pat/latest/tokens/{id}/rotate")
        | ("POST", "/rest/tessera/1/serviceaccounts/{name}/keys/{id}/rotate") => {
            (String::new(), Some(json!({})))
        }
        ("DELETE", "/rest/tessera/1/tokens") => ("?owner=target".into(), None),
        ("DELETE", "/rest/tessera/1/loginfailures") => ("?username=target".into(), None),
        ("POST", "/rest/tessera/1/credentials/revoke") => (
            String::new(),
            Some(json!({"credentials": ["tspat_not-a-real-token"]})),
        ),
        ("POST", "/rest/tessera/1/serviceaccounts") => (
            String::new(),
            Some(json!({"name": format!("svc{n}"), "ownerGroup": "svc-owners"})),
        ),
        ("POST", "/rest/auth/1/session") => (
            String::new(),
            Some(json!({"username": "admin", "password": ADMIN_PASSWORD})),
        ),
        ("POST", "/rest/auth/1/websudo") => {
            (String::new(), Some(json!({"password": ADMIN_PASSWORD})))
        }
        // The default policy, which lets every caller in.
        ("PUT", "/rest/tessera/1/policy") => (String::new(), Some(json!({}))),
        // The administrator (the first user) and their password.
        ("GET", "/rest/tessera/1/usage") => ("?credential=password:10000".into(), None),
        ("POST", "/rest/tessera/1/identityproviders") => (
            String::new(),
            Some(json!({
                "name": format!("New {n}"),
                "issuer": format!("{}/t/new{n}", f.idp),
                "audiences": ["tessera"],
            })),
        ),
        ("PUT", "/rest/tessera/1/identityproviders/{id}") => {
            (String::new(), Some(json!({"name": format!("Renamed {n}")})))
        }
        ("POST", "/rest/tessera/1/oauth1/consumers") => (
            String::new(),
            Some(
                json!({"consumerKey": format!("new{n}"), "name": "New", "publicKey": CONSUMER_PUB}),
            ),
        ),
        ("PUT", "/rest/tessera/1/oauth1/consumers/{consumerKey}") => {
            (String::new(), Some(json!({"name": "Renamed"})))
        }
        ("POST", "/rest/tessera/1/oauth2/clients") => (
            String::new(),
            Some(
                json!({"name": format!("client {n}"), "redirectUris": ["https://app.example/cb"], "scopes": ["READ"]}),
            ),
        ),
        ("PUT", "/rest/tessera/1/oauth2/clients/{clientId}") => {
            (String::new(), Some(json!({"name": format!("renamed {n}")})))
        }
        // Bodiless, but JSON: a session's JSON request needs no XSRF header.
        ("POST", "/rest/tessera/1/oauth2/clients/{clientId}/secret") => {
            (String::new(), Some(json!({})))
        }
        (method, path) if method == "GET" || method == "DELETE" => {
            let _ = path;
            (String::new(), None)
        }
        (method, path) => panic!("no valid request for {method} {path}: add one"),
    };
    (format!("{}{query}", concrete_path(route, f)), body)
}

async fn setup(server: &TestServer) {
    server.create_project("MTX").await;
    for user in ["nouse", "outsider", "reader", "developer", "target"] {
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
    server
        .admin_json(
            Method::POST,
            "/rest/api/2/group",
            json!({"name": "svc-owners"}),
            StatusCode::CREATED,
        )
        .await;
    server
        .admin_json(
            Method::POST,
            "/rest/api/2/group/user?groupname=svc-owners",
            json!({"name": "reader"}),
            StatusCode::CREATED,
        )
        .await;
    server
        .admin_json(
            Method::POST,
            "/rest/tessera/1/serviceaccounts",
            json!({"name": "svc", "ownerGroup": "svc-owners"}),
            StatusCode::CREATED,
        )
        .await;
    // OAuth 2.0 clients with known ids, straight into the store: one whose grants the cells
    // revoke, and one the OAuth 2.0 caller's token is issued to.
    for (n, client_id, name) in [
        (0, "matrixclient", "Matrix client"),
        (1, "callerclient", "Caller client"),
    ] {
        server
            .store
            .create_client(tessera_core::oauth2::NewClient {
                client_id: client_id.into(),
                name: name.into(),
                redirect_uris: vec!["https://app.example/cb".into()],
                confidential: true,
                secret_digest: Some(vec![n; 32]),
                scopes: tessera_core::scopes::parse_scope("WRITE").unwrap(),
                service_account: None,
                created: tessera_core::clock::Timestamp::from_millis(1_700_000_000_000),
                created_by: None,
            })
            .await
            .unwrap();
    }
}

/// The tokens the token callers present, made once (no cell revokes them).
struct CallerTokens {
    developer: String,
    read: String,
    service_key: String,
    oauth2: String,
    oauth1: Link,
    jwt: String,
}

async fn caller_tokens(server: &TestServer, idp: &crate::common::oidc::Provider) -> CallerTokens {
    CallerTokens {
        developer: server
            .create_token(
                "developer",
                json!({"name": "all", "expirationDuration": 30}),
            )
            .await,
        read: server
            .create_token(
                "developer",
                json!({"name": "read", "expirationDuration": 30, "scopes": ["READ"]}),
            )
            .await,
        service_key: server
            .admin_json(
                Method::POST,
                "/rest/tessera/1/serviceaccounts/svc/keys",
                json!({"name": "caller", "expirationDuration": 30}),
                StatusCode::CREATED,
            )
            .await["rawToken"]
            .as_str()
            .unwrap()
            .to_string(),
        oauth2: developer_oauth2_token(server).await,
        oauth1: server
            .approved_link("callerlink", "developer", "WRITE")
            .await
            .0,
        jwt: developer_jwt(server, idp).await,
    }
}

/// A JWT for the developer from a provider registered for the matrix (as its own tests do).
async fn developer_jwt(server: &TestServer, idp: &crate::common::oidc::Provider) -> String {
    use crate::common::oidc::{mint_jwt, now};
    let issuer = idp.issuer("matrix");
    server
        .admin_json(
            Method::POST,
            "/rest/tessera/1/identityproviders",
            json!({"name": "Matrix IdP", "issuer": issuer, "audiences": ["tessera"], "defaultScopes": ["WRITE"]}),
            StatusCode::CREATED,
        )
        .await;
    let claims = json!({
        "iss": issuer, "aud": "tessera", "sub": "u-developer",
        "preferred_username": "developer", "iat": now(), "exp": now() + 3600,
    });
    mint_jwt("k1", &claims)
}

/// An access token of the developer's, through a grant to the caller client, straight into
/// the store (the OAuth 2.0 tests go through the dance).
async fn developer_oauth2_token(server: &TestServer) -> String {
    let client = server
        .store
        .find_client("callerclient")
        .await
        .unwrap()
        .unwrap()
        .client;
    let developer = server
        .store
        .find_user_by_name("developer")
        .await
        .unwrap()
        .unwrap();
    let write = tessera_core::scopes::parse_scope("WRITE").unwrap();
    let now = tessera_core::clock::SystemClock.now();
    let grant = server
        .store
        .grant(client.key, developer.id, write, now)
        .await
        .unwrap();
    let raw = tessera_auth::token_format::mint(SecretKind::OAuth2Access);
    server
        .store
        .create_oauth_tokens(&[NewOAuth2Token {
            digest: raw.digest().to_vec(),
            kind: OAuth2TokenKind::Access,
            grant: Some(grant.id),
            client: client.key,
            user: developer.id,
            scopes: write,
            code_digest: None,
            created: now,
            expires: Some(now.plus(std::time::Duration::from_secs(3600))),
        }])
        .await
        .unwrap();
    raw.into_string()
}

static CELLS: AtomicUsize = AtomicUsize::new(0);

/// Fresh records for one cell, since callers change and delete them.
async fn fixture(server: &TestServer, idp: &str) -> Fixture {
    let n = CELLS.fetch_add(1, Ordering::Relaxed);
    let issue = server.create_issue("MTX", "matrix fixture").await;
    let response = server
        .admin(Method::POST, &format!("/rest/api/2/issue/{issue}/comment"))
        .json(&json!({"body": "the administrator's comment"}))
        .send()
        .await
        .unwrap();
    let comment = json_of(response).await["id"].as_str().unwrap().to_string();
    let response = server
        .admin(Method::POST, &format!("/rest/api/2/issue/{issue}/worklog"))
        .json(&json!({"timeSpent": "1h", "comment": "the administrator's work"}))
        .send()
        .await
        .unwrap();
    let worklog = json_of(response).await["id"].as_str().unwrap().to_string();
    let made = server
        .admin_json(
            Method::POST,
            "/rest/api/2/version",
            json!({"name": format!("fixture {n}"), "project": "MTX"}),
            StatusCode::CREATED,
        )
        .await;
    let version = made["id"].as_str().unwrap().to_string();
    let made = server
        .admin_json(
            Method::POST,
            "/rest/api/2/component",
            json!({"name": format!("fixture {n}"), "project": "MTX"}),
            StatusCode::CREATED,
        )
        .await;
    let component = made["id"].as_str().unwrap().to_string();
    let group = format!("g{n}");
    let response = server
        .admin(Method::POST, "/rest/api/2/group")
        .json(&json!({"name": group}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let response = server
        .admin(
            Method::POST,
            &format!("/rest/api/2/group/user?groupname={group}"),
        )
        .json(&json!({"name": "target"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    server.add_to_role("MTX", 10001, "target").await;
    let session = server.login("admin", ADMIN_PASSWORD).await;
    let response = server
        .with_session(Method::POST, "/rest/auth/1/websudo", &session)
        .json(&json!({"password": ADMIN_PASSWORD}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let stale_session = server.login("admin", ADMIN_PASSWORD).await;
    let response = server
        .user(Method::POST, "/rest/pat/latest/tokens", "developer")
        .json(&json!({"name": format!("fixture{n}"), "expirationDuration": 30}))
        .send()
        .await
        .unwrap();
    let token = json_of(response).await["id"].to_string();
    let key = server
        .admin_json(
            Method::POST,
            "/rest/tessera/1/serviceaccounts/svc/keys",
            json!({"name": format!("key{n}"), "expirationDuration": 30}),
            StatusCode::CREATED,
        )
        .await["id"]
        .to_string();
    let client_id = "matrixclient".to_string();
    let client = server
        .store
        .find_client(&client_id)
        .await
        .unwrap()
        .unwrap()
        .client;
    let developer = server
        .store
        .find_user_by_name("developer")
        .await
        .unwrap()
        .unwrap();
    let read = tessera_core::scopes::parse_scope("READ").unwrap();
    let now = tessera_core::clock::Timestamp::from_millis(1_700_000_000_000);
    let grant = server
        .store
        .grant(client.key, developer.id, read, now)
        .await
        .unwrap();
    let consumer = format!("mx{n}");
    server
        .admin_json(
            Method::POST,
            "/rest/tessera/1/oauth1/consumers",
            json!({"consumerKey": consumer, "name": "Matrix", "publicKey": CONSUMER_PUB}),
            StatusCode::CREATED,
        )
        .await;
    let oauth1_token = server
        .approved_link(&consumer, "developer", "READ")
        .await
        .1
        .to_string();
    let provider = server
        .store
        .create_provider(NewIdentityProvider {
            settings: ProviderSettings {
                name: format!("Provider {n}"),
                issuer: format!("https://idp.example/t/{n}"),
                audiences: vec!["tessera".into()],
                user_claim: UserClaim::PreferredUsername,
                groups_claim: None,
                group_mapping: Default::default(),
                provisioning: Provisioning::Link,
                group_sync: tessera_core::identity::GroupSync::Always,
                default_scopes: tessera_core::scopes::Scopes::empty(),
                enabled: true,
                login: None,
                introspection: None,
            },
            endpoints: Endpoints {
                jwks_uri: "https://idp.example/jwks".into(),
                ..Endpoints::default()
            },
            created: now,
            created_by: None,
        })
        .await
        .unwrap()
        .id
        .to_string();
    Fixture {
        n,
        project: "MTX".into(),
        consumer,
        oauth1_token,
        provider,
        idp: idp.to_string(),
        issue,
        comment,
        worklog,
        version,
        component,
        other_issue: String::new(),
        link: String::new(),
        link_type: String::new(),
        remote_link: String::new(),
        attachment: String::new(),
        filter: String::new(),
        share: String::new(),
        avatar: String::new(),
        group,
        session,
        stale_session,
        token,
        key,
        client_id,
        grant: grant.id.0.to_string(),
    }
}

/// The records only some routes need, made for those routes' cells alone (each is a request
/// or two, and the matrix has thousands of cells).
async fn route_records(server: &TestServer, route: &RouteSpec, f: &mut Fixture) {
    let n = f.n;
    if route.path.starts_with("/rest/api/2/issueLink/") || route.path == "/rest/api/2/issueLink" {
        f.other_issue = server.create_issue("MTX", "matrix link target").await;
        let response = server
            .admin(Method::POST, "/rest/api/2/issueLink")
            .json(&json!({"type": {"name": "Blocks"}, "inwardIssue": {"key": f.issue}, "outwardIssue": {"key": f.other_issue}}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        let location = response.headers()["location"].to_str().unwrap();
        f.link = location.rsplit('/').next().unwrap().to_string();
    }
    if route.path.starts_with("/rest/api/2/issueLinkType/") {
        let made = server
            .admin_json(
                Method::POST,
                "/rest/api/2/issueLinkType",
                json!({"name": format!("fixture {n}"), "inward": "in", "outward": "out"}),
                StatusCode::CREATED,
            )
            .await;
        f.link_type = made["id"].as_str().unwrap().to_string();
    }
    if route.method == Method::DELETE && route.path == "/rest/api/2/user" {
        server.create_user(&format!("gone{n}"), &[]).await;
    }
    if route.path.starts_with("/rest/api/2/user/avatar") && route.method != Method::PUT {
        let uploaded = server
            .admin(
                Method::POST,
                "/rest/api/2/user/avatar/temporary?username=target&filename=f.png&size=14",
            )
            .header("X-Atlassian-Token", "no-check")
            .header("content-type", "image/png")
            .body(MATRIX_PNG.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(uploaded.status(), StatusCode::CREATED);
        if route.method == Method::DELETE {
            let made = server
                .admin_json(
                    Method::POST,
                    "/rest/api/2/user/avatar?username=target",
                    json!({}),
                    StatusCode::CREATED,
                )
                .await;
            f.avatar = made["id"].as_str().unwrap().to_string();
        }
    }
    if route.path.ends_with("/properties/{propertyKey}") {
        server
            .admin_json(
                Method::PUT,
                &format!("/rest/api/2/issue/{}/properties/fixture", f.issue),
                json!({"made": n}),
                StatusCode::CREATED,
            )
            .await;
    }
    if route.path.starts_with("/rest/api/2/filter/{id}") {
        let made = server
            .admin_json(
                Method::POST,
                "/rest/api/2/filter",
                json!({"name": format!("fixture {n}"), "jql": "project = MTX"}),
                StatusCode::OK,
            )
            .await;
        f.filter = made["id"].as_str().unwrap().to_string();
        let project = server
            .admin_json(
                Method::GET,
                "/rest/api/2/project/MTX",
                json!(null),
                StatusCode::OK,
            )
            .await;
        let shares = server
            .admin_json(
                Method::POST,
                &format!("/rest/api/2/filter/{}/permission", f.filter),
                json!({"type": "project", "projectId": project["id"]}),
                StatusCode::CREATED,
            )
            .await;
        f.share = shares[0]["id"].to_string();
    }
    if route.path.contains("/attachment/{id}") {
        let form = reqwest::multipart::Form::new().part(
            "file",
            reqwest::multipart::Part::bytes(b"fixture".to_vec())
                .file_name("fixture.txt")
                .mime_str("text/plain")
                .unwrap(),
        );
        let response = server
            .admin(
                Method::POST,
                &format!("/rest/api/2/issue/{}/attachments", f.issue),
            )
            .header("X-Atlassian-Token", "no-check")
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        f.attachment = json_of(response).await[0]["id"]
            .as_str()
            .unwrap()
            .to_string();
    }
    if route.path.contains("/remotelink") {
        let made = server
            .admin_json(
                Method::POST,
                &format!("/rest/api/2/issue/{}/remotelink", f.issue),
                json!({"globalId": format!("g{n}"), "object": {"url": "https://matrix.example", "title": "fixture"}}),
                StatusCode::CREATED,
            )
            .await;
        f.remote_link = made["id"].to_string();
    }
}

async fn call(
    server: &TestServer,
    route: &RouteSpec,
    caller: Caller,
    fixture: &Fixture,
    tokens: &CallerTokens,
) -> StatusCode {
    let (path, body) = request_for(route, fixture);
    let method = route.method.clone();
    let request = match caller {
        Caller::Anonymous => server.anonymous(method, &path),
        Caller::WrongPassword => server.basic(method, &path, "admin", "not-the-password"),
        Caller::NoUse => server.user(method, &path, "nouse"),
        Caller::Outsider => server.user(method, &path, "outsider"),
        Caller::Reader => server.user(method, &path, "reader"),
        Caller::Developer => server.user(method, &path, "developer"),
        Caller::SessionWithoutXsrf | Caller::AdminSession => {
            server.with_session(method, &path, &fixture.session)
        }
        Caller::AdminSessionWithoutWebsudo => {
            server.with_session(method, &path, &fixture.stale_session)
        }
        Caller::Admin => server.admin(method, &path),
        Caller::DeveloperToken => server.bearer(method, &path, &tokens.developer),
        Caller::ReadToken => server.bearer(method, &path, &tokens.read),
        Caller::DeveloperBasicToken => {
            server.basic_token(method, &path, "developer", &tokens.developer)
        }
        Caller::ServiceKey => server.bearer(method, &path, &tokens.service_key),
        Caller::DeveloperOAuth2 => server.bearer(method, &path, &tokens.oauth2),
        Caller::DeveloperOAuth1 => server.oauth1(method, &path, &tokens.oauth1),
        Caller::DeveloperJwt => server.bearer(method, &path, &tokens.jwt),
    };
    let request = match (caller, body) {
        (Caller::SessionWithoutXsrf, _) if !is_safe(&route.method) => request
            .header("content-type", "application/x-www-form-urlencoded")
            .body("a=b"),
        (_, None) if route.path.ends_with("/avatar/temporary") => request
            .header("X-Atlassian-Token", "no-check")
            .header("content-type", "image/png")
            .body(MATRIX_PNG.to_vec()),
        (_, None) if route.path.ends_with("/attachments") => request
            .header("X-Atlassian-Token", "no-check")
            .multipart(reqwest::multipart::Form::new().part(
                "file",
                reqwest::multipart::Part::bytes(b"matrix".to_vec()).file_name("matrix.txt"),
            )),
        (_, Some(body)) => request.json(&body),
        (_, None) => request,
    };
    request.send().await.unwrap().status()
}

/// Enough of a PNG for tessera, which knows images by their first bytes.
const MATRIX_PNG: &[u8] = b"\x89PNG\r\n\x1a\nmatrix";

async fn run_matrix(server: &TestServer) {
    setup(server).await;
    let idp = crate::common::oidc::Provider::start().await;
    let tokens = caller_tokens(server, &idp).await;
    let routes = route_table();
    assert!(routes.len() > 40, "the route table lists every route");
    // For the narrow loop while working on some routes: only paths containing this text.
    let only = std::env::var("TESSERA_MATRIX_ONLY").unwrap_or_default();
    let mut failures = Vec::new();
    for route in routes.iter().filter(|r| r.path.contains(only.as_str())) {
        for caller in callers() {
            let mut fixture = fixture(server, &idp.base).await;
            if route.method == Method::DELETE
                && route.path == "/rest/api/2/project/{projectIdOrKey}"
            {
                fixture.project = format!("DL{}", fixture.n);
                server.create_project(&fixture.project).await;
            }
            route_records(server, route, &mut fixture).await;
            let status = call(server, route, caller, &fixture, &tokens).await;
            let want = expected(route, caller);
            let ok = match &want {
                Expect::Status(want) => status == *want,
                Expect::Allowed => match allowed_status(route) {
                    Some(exact) => status == exact,
                    None => status.is_success(),
                },
            };
            if !ok {
                failures.push(format!(
                    "{} {} as {caller:?}: got {status}, expected {want:?} ({:?})",
                    route.method, route.path, route.access
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

#[test]
fn every_method_has_callers_and_every_caller_is_asked() {
    let all = callers();
    for method in AuthMethod::ALL {
        assert!(!callers_of(method).is_empty(), "{method:?} has no caller");
    }
    for (i, caller) in all.iter().enumerate() {
        assert!(!all[i + 1..].contains(caller), "{caller:?} is listed twice");
    }
}

backend_tests! {
    async fn every_route_enforces_its_rule_for_every_caller(db) {
        let server = TestServer::start(db).await;
        run_matrix(&server).await;
    }
}
