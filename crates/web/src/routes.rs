//! The route table: every route with the access rule it enforces. Adding a route means naming
//! its rule (the builder takes no route without one), and the access-control matrix test
//! walks this table, so a route whose handler does not enforce its rule fails the tests.

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::handler::Handler;
use axum::http::{HeaderValue, Method, Request};
use axum::middleware::from_fn_with_state;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodFilter, get, on, post};
use tessera_core::permissions::ProjectPermission;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::normalize_path::NormalizePath;
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::{DefaultOnFailure, DefaultOnResponse, TraceLayer};
use tracing::Level;

use crate::client::resolve_client;
use crate::error::ApiError;
use crate::middleware::{audit_admin_change, authenticate, limit_logins, require_websudo};
use crate::rest::api2::{
    attachments, avatars, changelog, comments, filters, groups, issue_meta, issue_properties,
    issues, links, meta, myself, permissions, pickers, planning, projects, schemes, search,
    server_info, users, votes, watchers, worklogs,
};
use crate::rest::auth::{session, websudo};
use crate::rest::pat;
use crate::rest::tessera::{
    audit, identity, oauth1, oauth2, openapi, policy, service_accounts, throttle, tokens, usage,
};
use crate::state::AppState;

/// Who may call a route.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, even anonymous (a credential, if sent, must still be valid).
    Public,
    /// Anyone: the route checks a credential carried in its body (login).
    Login,
    /// Any authenticated user with the USE permission.
    User,
    /// A caller authenticated by a session cookie.
    Session,
    /// Global ADMINISTER.
    Admin,
    /// Seeing the project in the path (BROWSE_PROJECTS or ADMINISTER_PROJECTS).
    ProjectVisible,
    /// A project permission on the project or issue the route names (the path, or for
    /// `POST issue` the body's `fields.project`).
    Project(ProjectPermission),
    /// The comment's author (holding ADD_COMMENTS) or ADMINISTER_PROJECTS.
    CommentAuthorOrProjectAdmin,
    /// The worklog's author holding EDIT_OWN_WORKLOGS (DELETE_OWN_WORKLOGS to delete), or
    /// anyone holding EDIT_ALL_WORKLOGS (DELETE_ALL_WORKLOGS).
    WorklogAuthorOrAll,
    /// The attachment's author holding DELETE_OWN_ATTACHMENTS, or anyone holding
    /// DELETE_ALL_ATTACHMENTS.
    AttachmentAuthorOrAll,
    /// Any user with USE whose credential may write (`write:jira-work`).
    Writer,
    /// The filter's owner, with the write scope; someone it is shared with gets a 403, anyone
    /// else a 404.
    FilterOwner,
    /// The filter's owner or someone it is shared with (the credential's scope permitting);
    /// for anyone else it does not exist.
    FilterAudience,
    /// The user the request names (`?username=`), with the write scope, or an administrator
    /// (with the administration scope).
    SelfOrAdmin,
    /// Voting: BROWSE_PROJECTS with the write scope; not for an issue one reported.
    Voter,
    /// Watching: BROWSE_PROJECTS (with the write scope) to add or remove oneself,
    /// MANAGE_WATCHERS to add or remove another user.
    Watchers,
    /// Any user with USE, logged in with a password or session: a token may not make tokens.
    NotWithToken,
    /// A caller authenticated with a token (about that token).
    TokenHolder,
    /// The owner of the token in the path; a caller holding a token: only that token. Others'
    /// tokens do not exist.
    OwnToken,
    /// Global ADMINISTER or membership of the service account's owning group, with a password
    /// or session.
    ServiceAccountOwner,
    /// The user of the authorization in the path (an OAuth 2.0 grant, an OAuth 1.0a access
    /// token), with a password or session; others' do not exist.
    OwnGrant,
}

/// A route and its rule.
#[derive(Clone, Debug)]
pub struct RouteSpec {
    pub method: Method,
    /// The full path, with `{param}` placeholders.
    pub path: String,
    pub access: Access,
}

impl RouteSpec {
    /// Whether the route is an administrative change: it then needs websudo over a session
    /// and leaves an `admin.change` audit event. Minting a service account's keys counts.
    pub fn is_admin_change(&self) -> bool {
        is_admin_change(&self.method, self.access)
    }
}

fn is_admin_change(method: &Method, access: Access) -> bool {
    let is_change = !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
    is_change && matches!(access, Access::Admin | Access::ServiceAccountOwner)
}

struct Table {
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
    prefix: &'static str,
    /// The state the per-route layers need; `None` when only the specs are wanted.
    state: Option<AppState>,
}

impl Table {
    fn new(prefix: &'static str, state: Option<&AppState>) -> Self {
        Self {
            router: Router::new(),
            specs: Vec::new(),
            prefix,
            state: state.cloned(),
        }
    }

    fn add<H, T>(mut self, method: Method, path: &str, access: Access, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = match MethodFilter::try_from(method.clone()) {
            Ok(filter) => filter,
            Err(_) => unreachable!("the table only uses standard methods"),
        };
        let mut route = on(filter, handler);
        if let Some(state) = &self.state
            && is_admin_change(&method, access)
        {
            route = route
                .layer(from_fn_with_state(state.clone(), require_websudo))
                .layer(from_fn_with_state(state.clone(), audit_admin_change));
        }
        self.router = self.router.route(path, route);
        self.specs.push(RouteSpec {
            method,
            path: format!("{}{path}", self.prefix),
            access,
        });
        self
    }
}

/// `/rest/api/2` (and `/rest/api/latest`): one route per line, so the table reads as a table.
#[rustfmt::skip]
fn api2(state: Option<&AppState>) -> Table {
    use Access::*;
    use Method as M;
    use ProjectPermission as P;
    Table::new("/rest/api/2", state)
        .add(M::GET, "/serverInfo", Public, server_info::get_server_info)
        .add(M::GET, "/myself", User, myself::get_myself)
        .add(M::PUT, "/myself/password", NotWithToken, myself::put_myself_password)
        .add(M::GET, "/user", User, users::get_user)
        .add(M::POST, "/user", Admin, users::post_user)
        .add(M::PUT, "/user", Admin, users::put_user)
        .add(M::DELETE, "/user", Admin, users::delete_user)
        .add(M::PUT, "/user/password", Admin, users::put_user_password)
        .add(M::GET, "/user/search", User, users::get_user_search)
        .add(M::GET, "/user/avatars", User, avatars::get_user_avatars)
        .add(M::PUT, "/user/avatar", SelfOrAdmin, avatars::put_user_avatar)
        .add(M::POST, "/user/avatar", SelfOrAdmin, avatars::post_user_avatar)
        .add(M::POST, "/user/avatar/temporary", SelfOrAdmin, avatars::post_temporary_avatar)
        .add(M::DELETE, "/user/avatar/{id}", SelfOrAdmin, avatars::delete_user_avatar)
        .add(M::GET, "/user/assignable/search", Project(P::BrowseProjects), pickers::get_project_users)
        .add(M::GET, "/user/assignable/multiProjectSearch", Project(P::BrowseProjects), pickers::get_assignable_multi)
        .add(M::GET, "/user/viewissue/search", Project(P::BrowseProjects), pickers::get_project_users)
        .add(M::GET, "/groups/picker", User, pickers::get_groups_picker)
        .add(M::GET, "/group", User, groups::get_group)
        .add(M::POST, "/group", Admin, groups::post_group)
        .add(M::DELETE, "/group", Admin, groups::delete_group)
        .add(M::GET, "/group/member", User, groups::get_group_member)
        .add(M::POST, "/group/user", Admin, groups::post_group_user)
        .add(M::DELETE, "/group/user", Admin, groups::delete_group_user)
        .add(M::GET, "/project", User, projects::get_projects)
        .add(M::POST, "/project", Admin, projects::post_project)
        .add(M::GET, "/project/{projectIdOrKey}", ProjectVisible, projects::get_project)
        .add(M::DELETE, "/project/{projectIdOrKey}", Admin, projects::delete_project)
        .add(M::GET, "/project/{projectIdOrKey}/permissionscheme", Project(P::AdministerProjects), schemes::get_project_permission_scheme)
        .add(M::GET, "/project/{projectIdOrKey}/notificationscheme", Project(P::AdministerProjects), schemes::get_project_notification_scheme)
        .add(M::GET, "/project/{projectIdOrKey}/priorityscheme", Project(P::AdministerProjects), schemes::get_project_priority_scheme)
        .add(M::GET, "/project/{projectIdOrKey}/workflowscheme", Project(P::AdministerProjects), schemes::get_project_workflow_scheme)
        .add(M::GET, "/project/{projectIdOrKey}/issuesecuritylevelscheme", Project(P::AdministerProjects), schemes::get_project_security_level_scheme)
        .add(M::GET, "/project/{projectIdOrKey}/versions", Project(P::BrowseProjects), planning::get_project_versions)
        .add(M::GET, "/project/{projectIdOrKey}/version", Project(P::BrowseProjects), planning::get_project_versions_paged)
        .add(M::GET, "/project/{projectIdOrKey}/components", Project(P::BrowseProjects), planning::get_project_components)
        .add(M::POST, "/version", Project(P::AdministerProjects), planning::post_version)
        .add(M::GET, "/version/{id}", Project(P::BrowseProjects), planning::get_version)
        .add(M::PUT, "/version/{id}", Project(P::AdministerProjects), planning::put_version)
        .add(M::DELETE, "/version/{id}", Project(P::AdministerProjects), planning::delete_version)
        .add(M::POST, "/version/{id}/move", Project(P::AdministerProjects), planning::post_move_version)
        .add(M::GET, "/version/{id}/relatedIssueCounts", Project(P::BrowseProjects), planning::get_version_counts)
        .add(M::POST, "/component", Project(P::AdministerProjects), planning::post_component)
        .add(M::GET, "/component/{id}", Project(P::BrowseProjects), planning::get_component)
        .add(M::PUT, "/component/{id}", Project(P::AdministerProjects), planning::put_component)
        .add(M::DELETE, "/component/{id}", Project(P::AdministerProjects), planning::delete_component)
        .add(M::GET, "/component/{id}/relatedIssueCounts", Project(P::BrowseProjects), planning::get_component_counts)
        .add(M::GET, "/permissionscheme", Admin, schemes::get_permission_schemes)
        .add(M::GET, "/permissionscheme/{schemeId}", Admin, schemes::get_permission_scheme)
        .add(M::GET, "/issuesecurityschemes", Admin, schemes::get_security_schemes)
        .add(M::GET, "/issuesecurityschemes/{schemeId}", Admin, schemes::get_security_scheme)
        .add(M::GET, "/issuetypescheme", Admin, schemes::get_issue_type_schemes)
        .add(M::GET, "/issuetypescheme/{schemeId}", Admin, schemes::get_issue_type_scheme)
        .add(M::GET, "/issuetypescheme/{schemeId}/associations", Admin, schemes::get_issue_type_scheme_associations)
        .add(M::GET, "/notificationscheme", User, schemes::get_notification_schemes)
        .add(M::GET, "/projectCategory", User, schemes::get_project_categories)
        .add(M::GET, "/application-properties", Admin, schemes::get_application_properties)
        .add(M::PUT, "/application-properties/{id}", Admin, schemes::put_application_property)
        .add(M::GET, "/project/{projectIdOrKey}/statuses", ProjectVisible, projects::get_project_statuses)
        .add(M::GET, "/project/{projectIdOrKey}/role", ProjectVisible, projects::get_project_roles)
        .add(M::GET, "/project/{projectIdOrKey}/role/{id}", ProjectVisible, projects::get_project_role)
        .add(M::POST, "/project/{projectIdOrKey}/role/{id}", Project(P::AdministerProjects), projects::post_project_role)
        .add(M::PUT, "/project/{projectIdOrKey}/role/{id}", Project(P::AdministerProjects), projects::put_project_role)
        .add(M::DELETE, "/project/{projectIdOrKey}/role/{id}", Project(P::AdministerProjects), projects::delete_project_role)
        .add(M::POST, "/issue", Project(P::CreateIssues), issues::post_issue)
        .add(M::POST, "/issue/bulk", Project(P::CreateIssues), issues::post_issue_bulk)
        .add(M::GET, "/issue/createmeta", User, issue_meta::get_createmeta)
        .add(M::GET, "/issue/createmeta/{projectIdOrKey}/issuetypes", Project(P::CreateIssues), issue_meta::get_createmeta_issue_types)
        .add(M::GET, "/issue/createmeta/{projectIdOrKey}/issuetypes/{issueTypeId}", Project(P::CreateIssues), issue_meta::get_createmeta_fields)
        .add(M::GET, "/issue/{issueIdOrKey}", Project(P::BrowseProjects), issues::get_issue)
        .add(M::PUT, "/issue/{issueIdOrKey}", Project(P::EditIssues), issues::put_issue)
        .add(M::DELETE, "/issue/{issueIdOrKey}", Project(P::DeleteIssues), issues::delete_issue)
        .add(M::GET, "/issue/{issueIdOrKey}/editmeta", Project(P::BrowseProjects), issue_meta::get_editmeta)
        .add(M::GET, "/issue/{issueIdOrKey}/changelog", Project(P::BrowseProjects), changelog::get_changelog)
        .add(M::GET, "/issue/{issueIdOrKey}/watchers", Project(P::BrowseProjects), watchers::get_watchers)
        .add(M::POST, "/issue/{issueIdOrKey}/watchers", Watchers, watchers::post_watcher)
        .add(M::DELETE, "/issue/{issueIdOrKey}/watchers", Watchers, watchers::delete_watcher)
        .add(M::GET, "/issue/{issueIdOrKey}/votes", Project(P::BrowseProjects), votes::get_votes)
        .add(M::POST, "/issue/{issueIdOrKey}/votes", Voter, votes::post_vote)
        .add(M::DELETE, "/issue/{issueIdOrKey}/votes", Voter, votes::delete_vote)
        .add(M::GET, "/issue/{issueIdOrKey}/transitions", Project(P::BrowseProjects), issues::get_transitions)
        .add(M::POST, "/issue/{issueIdOrKey}/transitions", Project(P::TransitionIssues), issues::post_transitions)
        .add(M::PUT, "/issue/{issueIdOrKey}/assignee", Project(P::AssignIssues), issues::put_assignee)
        .add(M::GET, "/issue/{issueIdOrKey}/comment", Project(P::BrowseProjects), comments::get_comments)
        .add(M::POST, "/issue/{issueIdOrKey}/comment", Project(P::AddComments), comments::post_comment)
        .add(M::GET, "/issue/{issueIdOrKey}/comment/{id}", Project(P::BrowseProjects), comments::get_comment)
        .add(M::PUT, "/issue/{issueIdOrKey}/comment/{id}", CommentAuthorOrProjectAdmin, comments::put_comment)
        .add(M::DELETE, "/issue/{issueIdOrKey}/comment/{id}", CommentAuthorOrProjectAdmin, comments::delete_comment)
        .add(M::GET, "/issue/{issueIdOrKey}/worklog", Project(P::BrowseProjects), worklogs::get_worklogs)
        .add(M::POST, "/issue/{issueIdOrKey}/worklog", Project(P::WorkOnIssues), worklogs::post_worklog)
        .add(M::GET, "/issue/{issueIdOrKey}/worklog/{id}", Project(P::BrowseProjects), worklogs::get_worklog)
        .add(M::PUT, "/issue/{issueIdOrKey}/worklog/{id}", WorklogAuthorOrAll, worklogs::put_worklog)
        .add(M::DELETE, "/issue/{issueIdOrKey}/worklog/{id}", WorklogAuthorOrAll, worklogs::delete_worklog)
        .add(M::GET, "/issue/{issueIdOrKey}/properties", Project(P::BrowseProjects), issue_properties::get_properties)
        .add(M::GET, "/issue/{issueIdOrKey}/properties/{propertyKey}", Project(P::BrowseProjects), issue_properties::get_property)
        .add(M::PUT, "/issue/{issueIdOrKey}/properties/{propertyKey}", Project(P::EditIssues), issue_properties::put_property)
        .add(M::DELETE, "/issue/{issueIdOrKey}/properties/{propertyKey}", Project(P::EditIssues), issue_properties::delete_property)
        .add(M::GET, "/issue/{issueIdOrKey}/remotelink", Project(P::BrowseProjects), links::get_remote_links)
        .add(M::POST, "/issue/{issueIdOrKey}/remotelink", Project(P::LinkIssues), links::post_remote_link)
        .add(M::DELETE, "/issue/{issueIdOrKey}/remotelink", Project(P::LinkIssues), links::delete_remote_links)
        .add(M::GET, "/issue/{issueIdOrKey}/remotelink/{id}", Project(P::BrowseProjects), links::get_remote_link)
        .add(M::PUT, "/issue/{issueIdOrKey}/remotelink/{id}", Project(P::LinkIssues), links::put_remote_link)
        .add(M::DELETE, "/issue/{issueIdOrKey}/remotelink/{id}", Project(P::LinkIssues), links::delete_remote_link)
        .add(M::POST, "/issue/{issueIdOrKey}/attachments", Project(P::CreateAttachments), attachments::post_attachments)
        .add(M::GET, "/attachment/meta", User, attachments::get_attachment_meta)
        .add(M::GET, "/attachment/{id}", Project(P::BrowseProjects), attachments::get_attachment)
        .add(M::DELETE, "/attachment/{id}", AttachmentAuthorOrAll, attachments::delete_attachment)
        .add(M::POST, "/filter", Writer, filters::post_filter)
        .add(M::GET, "/filter/favourite", User, filters::get_favourite_filters)
        .add(M::GET, "/filter/{id}", FilterAudience, filters::get_filter)
        .add(M::PUT, "/filter/{id}", FilterOwner, filters::put_filter)
        .add(M::DELETE, "/filter/{id}", FilterOwner, filters::delete_filter)
        .add(M::PUT, "/filter/{id}/favourite", FilterAudience, filters::put_favourite)
        .add(M::DELETE, "/filter/{id}/favourite", FilterAudience, filters::delete_favourite)
        .add(M::GET, "/filter/{id}/permission", FilterAudience, filters::get_permissions)
        .add(M::POST, "/filter/{id}/permission", FilterOwner, filters::post_permission)
        .add(M::GET, "/filter/{id}/permission/{share}", FilterAudience, filters::get_permission)
        .add(M::DELETE, "/filter/{id}/permission/{share}", FilterOwner, filters::delete_permission)
        .add(M::GET, "/issueLinkType", User, links::get_link_types)
        .add(M::POST, "/issueLinkType", Admin, links::post_link_type)
        .add(M::GET, "/issueLinkType/{id}", User, links::get_link_type)
        .add(M::PUT, "/issueLinkType/{id}", Admin, links::put_link_type)
        .add(M::DELETE, "/issueLinkType/{id}", Admin, links::delete_link_type)
        .add(M::POST, "/issueLink", Project(P::LinkIssues), links::post_issue_link)
        .add(M::GET, "/issueLink/{id}", Project(P::BrowseProjects), links::get_issue_link)
        .add(M::DELETE, "/issueLink/{id}", Project(P::LinkIssues), links::delete_issue_link)
        .add(M::GET, "/worklog/updated", User, worklogs::get_updated)
        .add(M::GET, "/worklog/deleted", User, worklogs::get_deleted)
        .add(M::POST, "/worklog/list", User, worklogs::post_list)
        .add(M::GET, "/search", User, search::get_search)
        .add(M::POST, "/search", User, search::post_search)
        .add(M::GET, "/field", User, meta::get_fields)
        .add(M::GET, "/issuetype", User, meta::get_issue_types)
        .add(M::GET, "/issuetype/{id}", User, meta::get_issue_type)
        .add(M::GET, "/priority", User, meta::get_priorities)
        .add(M::GET, "/priority/{id}", User, meta::get_priority)
        .add(M::GET, "/status", User, meta::get_statuses)
        .add(M::GET, "/status/{idOrName}", User, meta::get_status)
        .add(M::GET, "/statuscategory", User, meta::get_status_categories)
        .add(M::GET, "/statuscategory/{idOrKey}", User, meta::get_status_category)
        .add(M::GET, "/resolution", User, meta::get_resolutions)
        .add(M::GET, "/resolution/{id}", User, meta::get_resolution)
        .add(M::GET, "/mypermissions", User, permissions::get_my_permissions)
}

/// `/rest/pat/latest`: Jira's personal access tokens.
#[rustfmt::skip]
fn pat(state: Option<&AppState>) -> Table {
    use Access::*;
    use Method as M;
    Table::new("/rest/pat/latest", state)
        .add(M::GET, "/tokens", User, pat::get_tokens)
        .add(M::POST, "/tokens", NotWithToken, pat::post_token)
        .add(M::GET, "/tokens/current", TokenHolder, pat::get_current_token)
        .add(M::GET, "/tokens/{id}", OwnToken, pat::get_token)
        .add(M::DELETE, "/tokens/{id}", OwnToken, pat::delete_token)
        .add(M::POST, "/tokens/{id}/rotate", OwnToken, pat::post_rotate_token)
}

/// `/rest/tessera/1`: tessera's own administration API.
#[rustfmt::skip]
fn tessera(state: Option<&AppState>) -> Table {
    use Access::*;
    use Method as M;
    Table::new("/rest/tessera/1", state)
        .add(M::GET, "/openapi.json", Public, openapi::get_openapi)
        .add(M::GET, "/tokens", Admin, tokens::get_all_tokens)
        .add(M::DELETE, "/tokens", Admin, tokens::delete_all_tokens)
        .add(M::DELETE, "/tokens/{id}", Admin, tokens::delete_any_token)
        .add(M::POST, "/credentials/revoke", Public, tokens::post_credentials_revoke)
        .add(M::DELETE, "/loginfailures", Admin, throttle::delete_login_failures)
        .add(M::GET, "/audit", Admin, audit::get_audit)
        .add(M::GET, "/audit/export", Admin, audit::get_audit_export)
        .add(M::GET, "/policy", Admin, policy::get_policy)
        .add(M::PUT, "/policy", Admin, policy::put_policy)
        .add(M::GET, "/usage", Admin, usage::get_usage)
        .add(M::GET, "/usage/unused", Admin, usage::get_unused)
        .add(M::GET, "/usage/newnetworks", Admin, usage::get_new_networks)
        .add(M::GET, "/identityproviders", Admin, identity::get_providers)
        .add(M::POST, "/identityproviders", Admin, identity::post_provider)
        .add(M::GET, "/identityproviders/{id}", Admin, identity::get_provider)
        .add(M::PUT, "/identityproviders/{id}", Admin, identity::put_provider)
        .add(M::DELETE, "/identityproviders/{id}", Admin, identity::delete_provider)
        .add(M::GET, "/oauth1/consumers", Admin, oauth1::get_consumers)
        .add(M::POST, "/oauth1/consumers", Admin, oauth1::post_consumer)
        .add(M::GET, "/oauth1/consumers/{consumerKey}", Admin, oauth1::get_consumer)
        .add(M::PUT, "/oauth1/consumers/{consumerKey}", Admin, oauth1::put_consumer)
        .add(M::DELETE, "/oauth1/consumers/{consumerKey}", Admin, oauth1::delete_consumer)
        .add(M::GET, "/oauth1/consumers/{consumerKey}/tokens", Admin, oauth1::get_consumer_tokens)
        .add(M::DELETE, "/oauth1/consumers/{consumerKey}/tokens/{tokenId}", Admin, oauth1::delete_consumer_token)
        .add(M::GET, "/oauth1/tokens", User, oauth1::get_tokens)
        .add(M::DELETE, "/oauth1/tokens/{tokenId}", OwnGrant, oauth1::delete_token)
        .add(M::GET, "/oauth2/clients", Admin, oauth2::get_clients)
        .add(M::POST, "/oauth2/clients", Admin, oauth2::post_client)
        .add(M::GET, "/oauth2/clients/{clientId}", Admin, oauth2::get_client)
        .add(M::PUT, "/oauth2/clients/{clientId}", Admin, oauth2::put_client)
        .add(M::POST, "/oauth2/clients/{clientId}/secret", Admin, oauth2::post_client_secret)
        .add(M::GET, "/oauth2/grants", User, oauth2::get_grants)
        .add(M::DELETE, "/oauth2/grants/{id}", OwnGrant, oauth2::delete_grant)
        .add(M::GET, "/serviceaccounts", Admin, service_accounts::get_service_accounts)
        .add(M::POST, "/serviceaccounts", Admin, service_accounts::post_service_account)
        .add(M::GET, "/serviceaccounts/{name}/keys", ServiceAccountOwner, service_accounts::get_keys)
        .add(M::POST, "/serviceaccounts/{name}/keys", ServiceAccountOwner, service_accounts::post_key)
        .add(M::DELETE, "/serviceaccounts/{name}/keys/{id}", ServiceAccountOwner, service_accounts::delete_key)
        .add(M::POST, "/serviceaccounts/{name}/keys/{id}/rotate", ServiceAccountOwner, service_accounts::post_rotate_key)
}

/// `/rest/auth/1/session` and `/websudo` (and `/rest/auth/latest/...`) for authenticated
/// callers.
#[rustfmt::skip]
fn auth_session(state: Option<&AppState>) -> Table {
    use Access::*;
    use Method as M;
    Table::new("/rest/auth/1", state)
        .add(M::GET, "/session", User, session::get_session)
        .add(M::DELETE, "/session", Session, session::delete_session)
        .add(M::POST, "/websudo", Session, websudo::post_websudo)
        .add(M::DELETE, "/websudo", User, websudo::delete_websudo)
}

/// Jira's addresses for attachments' contents and avatars' images.
#[rustfmt::skip]
fn secure(state: Option<&AppState>) -> Table {
    use Access::*;
    use Method as M;
    use ProjectPermission as P;
    Table::new("/secure", state)
        .add(M::GET, "/attachment/{id}/{filename}", Project(P::BrowseProjects), attachments::get_attachment_content)
        .add(M::GET, "/useravatar", User, avatars::get_user_avatar_image)
        .add(M::GET, "/projectavatar", User, avatars::get_project_avatar_image)
}

/// The login route: outside the authentication layer, since it authenticates by its body.
fn login(state: Option<&AppState>) -> Table {
    Table::new("/rest/auth/1", state).add(
        Method::POST,
        "/session",
        Access::Login,
        session::post_session,
    )
}

/// Every route with its access rule.
pub fn route_table() -> Vec<RouteSpec> {
    [
        api2(None),
        auth_session(None),
        pat(None),
        tessera(None),
        secure(None),
        login(None),
    ]
    .into_iter()
    .flat_map(|t| t.specs)
    .collect()
}

/// Jira's JSON 404; a browser asking for a page outside the REST API gets an HTML one.
async fn not_found(
    axum::extract::State(state): axum::extract::State<AppState>,
    request: Request<axum::body::Body>,
) -> Response {
    let path = request.uri().path();
    let wants_html = request
        .headers()
        .get(http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.contains("text/html"));
    if wants_html && !path.contains("/rest/") {
        return crate::pages::not_found_page(&state, path);
    }
    ApiError::NotFound(format!("No resource exists at {path}.")).into_response()
}

/// The longest request target (path and query) answered, as a Jira behind Tomcat refuses
/// longer ones: a long JQL goes by `POST search`.
pub const MAX_URI_BYTES: usize = 16 * 1024;

/// 414 for a request target over [`MAX_URI_BYTES`], before anything reads it.
async fn limit_uri(request: Request<axum::body::Body>, next: axum::middleware::Next) -> Response {
    let length = request
        .uri()
        .path_and_query()
        .map_or(0, |target| target.as_str().len());
    if length > MAX_URI_BYTES {
        let body = crate::error::error_body(&tessera_core::FieldErrors::message(format!(
            "The request's address is {length} bytes long, over the {MAX_URI_BYTES} \
             tessera accepts: send a long query in the body (POST /rest/api/2/search)."
        )));
        return (
            http::StatusCode::URI_TOO_LONG,
            [(
                http::header::CONTENT_TYPE,
                HeaderValue::from_static(crate::error::JSON_UTF8),
            )],
            body.to_string(),
        )
            .into_response();
    }
    next.run(request).await
}

async fn method_not_allowed() -> Response {
    ApiError::MethodNotAllowed.into_response()
}

/// A panic in a handler becomes a logged 500 in Jira's shape (defence in depth: handlers
/// are written not to panic).
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    ApiError::Internal("a request handler panicked".into()).into_response()
}

/// The application: every route, behind the transport and authentication layers.
pub fn app(state: AppState) -> Router {
    let api = api2(Some(&state)).router;
    let authenticated = Router::new()
        .nest("/rest/api/2", api.clone())
        .nest("/rest/api/latest", api)
        .nest("/rest/auth/1", auth_session(Some(&state)).router)
        .nest("/rest/auth/latest", auth_session(Some(&state)).router)
        .nest("/rest/pat/latest", pat(Some(&state)).router)
        .nest("/rest/tessera/1", tessera(Some(&state)).router)
        .nest("/secure", secure(Some(&state)).router)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ));
    let login = Router::new()
        .nest("/rest/auth/1", login(Some(&state)).router)
        .nest("/rest/auth/latest", login(Some(&state)).router)
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            limit_logins,
        ));
    // The OAuth 2.0 client endpoints authenticate clients, not users: outside the table.
    let oauth = Router::new()
        .route(
            crate::rest::oauth2::TOKEN_PATH,
            post(crate::rest::oauth2::post_token),
        )
        .route(
            crate::rest::oauth2::REVOKE_PATH,
            post(crate::rest::oauth2::post_revoke),
        )
        .route(
            crate::rest::oauth2::INTROSPECT_PATH,
            post(crate::rest::oauth2::post_introspect),
        )
        .route(
            crate::rest::oauth2::METADATA_PATH,
            get(crate::rest::oauth2::get_metadata),
        )
        // OAuth 1.0a's dance: its requests are signed by a consumer, not a user's credential.
        .route(
            crate::rest::oauth1::REQUEST_TOKEN_PATH,
            post(crate::rest::oauth1::post_request_token),
        )
        .route(
            crate::rest::oauth1::ACCESS_TOKEN_PATH,
            post(crate::rest::oauth1::post_access_token),
        );
    // The load balancer's health check: anonymous, not rate limited.
    let status = Router::new().route("/status", get(crate::status::get_status));
    // Prometheus's scrape: an administrator, or the metrics token or a loopback client let
    // through by the gate before authentication.
    let metrics = Router::new()
        .route("/metrics", get(crate::metrics::get_metrics))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            authenticate,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::metrics_gate,
        ));
    let routes = authenticated
        .merge(login)
        .merge(oauth)
        .merge(status)
        .merge(metrics)
        .merge(crate::pages::router())
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::metrics::record_request,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            resolve_client,
        ))
        .layer(DefaultBodyLimit::max(state.settings.max_body_bytes));
    let context = state.urls.context_path().to_string();
    let routes = if context.is_empty() {
        routes
    } else {
        // RFC 8414 §3.1: an issuer with a path has its metadata at the host's root, with the
        // path after the well-known name.
        let metadata = format!("{}{context}", crate::rest::oauth2::METADATA_PATH);
        Router::new()
            .nest(&context, routes)
            .route(&metadata, get(crate::rest::oauth2::get_metadata))
            .fallback(not_found)
    };
    let routes: Router = routes
        .layer(SetResponseHeaderLayer::if_not_present(
            http::header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            http::header::CACHE_CONTROL,
            HeaderValue::from_static("no-cache, no-store, no-transform"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(
            http::header::X_FRAME_OPTIONS,
            HeaderValue::from_static("DENY"),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(|request: &Request<axum::body::Body>| {
                    // The path only: query strings may carry form tokens. The id was set by
                    // the layer outside this one.
                    let id = request
                        .headers()
                        .get(crate::request_id::HEADER)
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("");
                    tracing::info_span!("request", request_id = id, method = %request.method(), path = %request.uri().path())
                })
                .on_response(DefaultOnResponse::new().level(Level::DEBUG).latency_unit(tower_http::LatencyUnit::Micros))
                .on_failure(DefaultOnFailure::new().level(Level::ERROR)),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::request_id::request_id,
        ))
        .layer(axum::middleware::from_fn(limit_uri))
        .layer(CatchPanicLayer::custom(panic_response))
        .with_state(state);
    // Jira answers `user/` as `user` (the Python client deletes users at `user/?username=`):
    // the trailing slash goes before routing, so routes, their rules and handlers all see the
    // one path.
    Router::new().fallback_service(NormalizePath::trim_trailing_slash(routes))
}

/// How long graceful shutdown waits for requests in flight.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
