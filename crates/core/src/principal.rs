//! Who is calling, how they proved it, what their credential allows and from where. Built by
//! the authenticators, read by the authorizer; handlers never see the credential itself.

use std::net::IpAddr;

use crate::ids::ProjectId;
use crate::model::User;
use crate::permissions::{GlobalPermission, GlobalPermissions};
use crate::scopes::Scopes;

/// How the caller authenticated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// `Authorization: Basic` with the user's password.
    BasicPassword,
    /// The `JSESSIONID` cookie of a session opened with `POST /rest/auth/1/session`.
    Session,
}

impl AuthMethod {
    /// Stable name, used in logs and (later) policy and audit.
    pub fn name(self) -> &'static str {
        match self {
            Self::BasicPassword => "basic_password",
            Self::Session => "session",
        }
    }
}

/// An authenticated caller.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The user, as read when the credential was checked.
    pub user: User,
    pub groups: Vec<String>,
    pub global: GlobalPermissions,
    pub method: AuthMethod,
    /// A non-secret reference to the credential (a session's short id), for logs.
    pub credential_ref: Option<String>,
    /// What the credential allows; everything for passwords and sessions.
    pub scopes: Scopes,
    /// Projects the credential is limited to; `None` for no limit.
    pub projects: Option<Vec<ProjectId>>,
    pub client_ip: IpAddr,
}

impl Principal {
    pub fn has_global(&self, permission: GlobalPermission) -> bool {
        self.global.contains(permission)
    }
}

/// Anyone who sent a request: an authenticated principal or an anonymous client.
#[derive(Clone, Debug)]
pub enum Caller {
    Anonymous { client_ip: IpAddr },
    User(Principal),
}

impl Caller {
    pub fn principal(&self) -> Option<&Principal> {
        match self {
            Self::Anonymous { .. } => None,
            Self::User(principal) => Some(principal),
        }
    }
}
