//! What a credential allows, independent of who holds it.
//!
//! Fine scopes follow Jira Cloud's names; Jira Data Center's coarse OAuth 2.0 scopes (`READ`,
//! `WRITE`, `ADMIN`, `SYSTEM_ADMIN`) are defined as sets of them. The authorizer grants an
//! action only when the user's permission AND the credential's scope both allow it, so a
//! credential can never do more than its user can.

use crate::permissions::{Flag, FlagSet, GlobalPermission, ProjectPermission};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// Read projects, issues, comments.
    ReadJiraWork,
    /// Create, edit, transition, assign, comment on and delete issues.
    WriteJiraWork,
    /// Read users and groups.
    ReadJiraUser,
    /// Administer projects: roles and settings.
    ManageJiraProject,
    /// Administer tessera: users, groups, projects, policy.
    ManageJiraConfiguration,
}

impl Flag for Scope {
    const ALL: &'static [Self] = &[
        Self::ReadJiraWork,
        Self::WriteJiraWork,
        Self::ReadJiraUser,
        Self::ManageJiraProject,
        Self::ManageJiraConfiguration,
    ];
    fn bit(self) -> u32 {
        self as u32
    }
}

pub type Scopes = FlagSet<Scope>;

impl Scope {
    pub fn name(self) -> &'static str {
        match self {
            Self::ReadJiraWork => "read:jira-work",
            Self::WriteJiraWork => "write:jira-work",
            Self::ReadJiraUser => "read:jira-user",
            Self::ManageJiraProject => "manage:jira-project",
            Self::ManageJiraConfiguration => "manage:jira-configuration",
        }
    }

    /// The scope a credential needs to exercise a project permission.
    pub const fn for_project(permission: ProjectPermission) -> Self {
        match permission {
            ProjectPermission::BrowseProjects => Self::ReadJiraWork,
            ProjectPermission::AdministerProjects => Self::ManageJiraProject,
            ProjectPermission::CreateIssues
            | ProjectPermission::EditIssues
            | ProjectPermission::DeleteIssues
            | ProjectPermission::AssignIssues
            | ProjectPermission::TransitionIssues
            | ProjectPermission::AddComments
            | ProjectPermission::ManageWatchers
            | ProjectPermission::WorkOnIssues
            | ProjectPermission::EditOwnWorklogs
            | ProjectPermission::EditAllWorklogs
            | ProjectPermission::DeleteOwnWorklogs
            | ProjectPermission::DeleteAllWorklogs
            | ProjectPermission::LinkIssues
            | ProjectPermission::CreateAttachments
            | ProjectPermission::DeleteOwnAttachments
            | ProjectPermission::DeleteAllAttachments => Self::WriteJiraWork,
        }
    }

    /// The scope a credential needs to exercise a global permission.
    pub fn for_global(permission: GlobalPermission) -> Option<Self> {
        match permission {
            // Using tessera at all needs no particular scope.
            GlobalPermission::Use => None,
            GlobalPermission::Administer | GlobalPermission::SystemAdmin => {
                Some(Self::ManageJiraConfiguration)
            }
        }
    }
}

/// Parses one scope name: a fine Cloud-style name, or a Data Center coarse name standing for
/// the set it is defined as. Names are matched exactly, as OAuth scopes are (RFC 6749 §3.3).
pub fn parse_scope(name: &str) -> Option<Scopes> {
    use Scope::*;
    let read = [ReadJiraWork, ReadJiraUser];
    let set: Scopes = match name {
        "READ" => read.into_iter().collect(),
        "WRITE" => read.into_iter().chain([WriteJiraWork]).collect(),
        // Jira Data Center: "Administer Jira", everything but the system administrator's
        // functions. tessera has none of those yet, so it equals SYSTEM_ADMIN for now.
        "ADMIN" => read
            .into_iter()
            .chain([WriteJiraWork, ManageJiraProject, ManageJiraConfiguration])
            .collect(),
        "SYSTEM_ADMIN" => Scopes::all(),
        fine => {
            let scope = Scope::ALL.iter().copied().find(|s| s.name() == fine)?;
            std::iter::once(scope).collect()
        }
    };
    Some(set)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_scopes_nest() {
        let read = parse_scope("READ").unwrap();
        let write = parse_scope("WRITE").unwrap();
        let admin = parse_scope("ADMIN").unwrap();
        let system = parse_scope("SYSTEM_ADMIN").unwrap();
        assert_eq!(read.intersection(write), read);
        assert_eq!(write.intersection(admin), write);
        assert_eq!(admin.intersection(system), admin);
        assert!(!read.contains(Scope::WriteJiraWork));
        assert!(!write.contains(Scope::ManageJiraProject));
        assert!(admin.contains(Scope::ManageJiraConfiguration));
        assert!(system.contains(Scope::ManageJiraConfiguration));
    }

    #[test]
    fn fine_names_parse_exactly() {
        for scope in Scope::ALL {
            let parsed = parse_scope(scope.name()).unwrap();
            assert_eq!(parsed.iter().collect::<Vec<_>>(), vec![*scope]);
        }
        assert!(parse_scope("read").is_none());
        assert!(parse_scope("Read:Jira-Work").is_none());
        assert!(parse_scope("").is_none());
    }

    #[test]
    fn read_scope_cannot_write() {
        let read = parse_scope("READ").unwrap();
        assert!(read.contains(Scope::for_project(ProjectPermission::BrowseProjects)));
        for write in [
            ProjectPermission::CreateIssues,
            ProjectPermission::EditIssues,
            ProjectPermission::AddComments,
            ProjectPermission::TransitionIssues,
        ] {
            assert!(!read.contains(Scope::for_project(write)), "{write:?}");
        }
    }
}
