//! Jira's permission model, kept small: three global permissions granted to groups, nine
//! project permissions granted to three project roles whose members are users or groups.
//!
//! The role-to-permission table ([`ProjectRole::permissions`]) is tessera's one permission
//! scheme; it is data here so it can be read, tested and printed, not scattered in handlers.

use std::fmt;
use std::marker::PhantomData;

/// A small set of flags of one kind, stored as bits.
pub trait Flag: Copy + Eq + 'static {
    /// Every flag of this kind, in display order.
    const ALL: &'static [Self];
    fn bit(self) -> u32;
}

/// A set of [`Flag`]s.
pub struct FlagSet<F> {
    bits: u32,
    kind: PhantomData<F>,
}

impl<F: Flag> FlagSet<F> {
    pub const fn empty() -> Self {
        Self {
            bits: 0,
            kind: PhantomData,
        }
    }

    pub fn all() -> Self {
        F::ALL.iter().copied().collect()
    }

    pub fn contains(&self, flag: F) -> bool {
        self.bits & (1 << flag.bit()) != 0
    }

    pub fn insert(&mut self, flag: F) {
        self.bits |= 1 << flag.bit();
    }

    pub fn union(self, other: Self) -> Self {
        Self {
            bits: self.bits | other.bits,
            kind: PhantomData,
        }
    }

    pub fn intersection(self, other: Self) -> Self {
        Self {
            bits: self.bits & other.bits,
            kind: PhantomData,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.bits == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = F> + '_ {
        F::ALL.iter().copied().filter(|flag| self.contains(*flag))
    }
}

impl<F: Flag> FromIterator<F> for FlagSet<F> {
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Self {
        let mut set = Self::empty();
        for flag in iter {
            set.insert(flag);
        }
        set
    }
}

// Manual impls: derives would demand the bounds of `F` itself.
impl<F> Clone for FlagSet<F> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<F> Copy for FlagSet<F> {}
impl<F> PartialEq for FlagSet<F> {
    fn eq(&self, other: &Self) -> bool {
        self.bits == other.bits
    }
}
impl<F> Eq for FlagSet<F> {}
impl<F> std::hash::Hash for FlagSet<F> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bits.hash(state);
    }
}
impl<F> Default for FlagSet<F> {
    fn default() -> Self {
        Self {
            bits: 0,
            kind: PhantomData,
        }
    }
}
impl<F: Flag + fmt::Debug> fmt::Debug for FlagSet<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

/// Permissions that hold everywhere, granted to groups.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GlobalPermission {
    /// May use tessera at all (Jira's application access).
    Use,
    /// Jira administrator: users, groups, projects.
    Administer,
    /// Jira system administrator.
    SystemAdmin,
}

impl Flag for GlobalPermission {
    const ALL: &'static [Self] = &[Self::Use, Self::Administer, Self::SystemAdmin];
    fn bit(self) -> u32 {
        self as u32
    }
}

/// Permissions that hold within one project, granted to project roles.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ProjectPermission {
    BrowseProjects,
    CreateIssues,
    EditIssues,
    DeleteIssues,
    AssignIssues,
    TransitionIssues,
    AddComments,
    /// Add and remove other users as watchers of an issue (anyone who can browse an issue
    /// may watch it themselves).
    ManageWatchers,
    AdministerProjects,
    /// Log work on an issue.
    WorkOnIssues,
    EditOwnWorklogs,
    EditAllWorklogs,
    DeleteOwnWorklogs,
    DeleteAllWorklogs,
    /// Link an issue to other issues, and to things elsewhere (remote links).
    LinkIssues,
    CreateAttachments,
    DeleteOwnAttachments,
    DeleteAllAttachments,
}

impl Flag for ProjectPermission {
    const ALL: &'static [Self] = &[
        Self::BrowseProjects,
        Self::CreateIssues,
        Self::EditIssues,
        Self::DeleteIssues,
        Self::AssignIssues,
        Self::TransitionIssues,
        Self::AddComments,
        Self::ManageWatchers,
        Self::AdministerProjects,
        Self::WorkOnIssues,
        Self::EditOwnWorklogs,
        Self::EditAllWorklogs,
        Self::DeleteOwnWorklogs,
        Self::DeleteAllWorklogs,
        Self::LinkIssues,
        Self::CreateAttachments,
        Self::DeleteOwnAttachments,
        Self::DeleteAllAttachments,
    ];
    fn bit(self) -> u32 {
        self as u32
    }
}

pub type GlobalPermissions = FlagSet<GlobalPermission>;
pub type ProjectPermissions = FlagSet<ProjectPermission>;

/// Jira's description of a permission, as `mypermissions` reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PermissionInfo {
    /// Jira's numeric id (`"id"` in `mypermissions`; -1 for one an app adds, as Jira
    /// Software's sprint permission).
    pub id: i32,
    pub key: &'static str,
    pub name: &'static str,
    pub description: &'static str,
    /// `GLOBAL` or `PROJECT`.
    pub kind: &'static str,
}

impl GlobalPermission {
    pub fn info(self) -> PermissionInfo {
        let (id, key, name, description) = match self {
            Self::Use => (
                1,
                "USE",
                "Jira Users",
                "Ability to log in to tessera and use it.",
            ),
            Self::Administer => (
                0,
                "ADMINISTER",
                "Jira Administrators",
                "Ability to manage users, groups and projects.",
            ),
            Self::SystemAdmin => (
                44,
                "SYSTEM_ADMIN",
                "Jira System Administrators",
                "Ability to perform all administration functions.",
            ),
        };
        PermissionInfo {
            id,
            key,
            name,
            description,
            kind: "GLOBAL",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.info().key == key)
    }
}

impl ProjectPermission {
    pub fn info(self) -> PermissionInfo {
        let (id, key, name, description) = match self {
            Self::BrowseProjects => (
                10,
                "BROWSE_PROJECTS",
                "Browse Projects",
                "Ability to browse projects and the issues within them.",
            ),
            Self::CreateIssues => (
                11,
                "CREATE_ISSUES",
                "Create Issues",
                "Ability to create issues.",
            ),
            Self::EditIssues => (12, "EDIT_ISSUES", "Edit Issues", "Ability to edit issues."),
            Self::AssignIssues => (
                13,
                "ASSIGN_ISSUES",
                "Assign Issues",
                "Ability to assign issues to other people.",
            ),
            Self::AddComments => (
                15,
                "ADD_COMMENTS",
                "Add Comments",
                "Ability to comment on issues.",
            ),
            Self::DeleteIssues => (
                16,
                "DELETE_ISSUES",
                "Delete Issues",
                "Ability to delete issues.",
            ),
            Self::ManageWatchers => (
                32,
                "MANAGE_WATCHERS",
                "Manage Watchers",
                "Ability to manage the watchers of an issue.",
            ),
            Self::AdministerProjects => (
                23,
                "ADMINISTER_PROJECTS",
                "Administer Projects",
                "Ability to administer a project: its roles and settings.",
            ),
            Self::TransitionIssues => (
                46,
                "TRANSITION_ISSUES",
                "Transition Issues",
                "Ability to transition issues.",
            ),
            Self::WorkOnIssues => (
                20,
                "WORK_ON_ISSUES",
                "Work On Issues",
                "Ability to log work done against an issue.",
            ),
            Self::EditOwnWorklogs => (
                40,
                "EDIT_OWN_WORKLOGS",
                "Edit Own Worklogs",
                "Ability to edit own worklogs made on issues.",
            ),
            Self::EditAllWorklogs => (
                41,
                "EDIT_ALL_WORKLOGS",
                "Edit All Worklogs",
                "Ability to edit all worklogs made on issues.",
            ),
            Self::DeleteOwnWorklogs => (
                42,
                "DELETE_OWN_WORKLOGS",
                "Delete Own Worklogs",
                "Ability to delete own worklogs made on issues.",
            ),
            Self::DeleteAllWorklogs => (
                43,
                "DELETE_ALL_WORKLOGS",
                "Delete All Worklogs",
                "Ability to delete all worklogs made on issues.",
            ),
            Self::LinkIssues => (
                21,
                "LINK_ISSUES",
                "Link Issues",
                "Ability to link issues together and create linked issues.",
            ),
            Self::CreateAttachments => (
                19,
                "CREATE_ATTACHMENTS",
                "Create Attachments",
                "Users with this permission may create attachments.",
            ),
            Self::DeleteAllAttachments => (
                38,
                "DELETE_ALL_ATTACHMENTS",
                "Delete All Attachments",
                "Users with this permission may delete all attachments.",
            ),
            Self::DeleteOwnAttachments => (
                39,
                "DELETE_OWN_ATTACHMENTS",
                "Delete Own Attachments",
                "Users with this permission may delete own attachments.",
            ),
        };
        PermissionInfo {
            id,
            key,
            name,
            description,
            kind: "PROJECT",
        }
    }

    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|p| p.info().key == key)
    }
}

/// What a Jira permission tessera has no permission of its own for comes to here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeldAs {
    /// Held where this permission of tessera's is held (the rule tessera enforces for it).
    Project(ProjectPermission),
    Global(GlobalPermission),
    /// For what tessera does not do (due dates, moving issues, security levels, ...): never
    /// held.
    Never,
}

const fn jira(
    id: i32,
    key: &'static str,
    name: &'static str,
    kind: &'static str,
    held: HeldAs,
) -> (PermissionInfo, HeldAs) {
    (
        PermissionInfo {
            id,
            key,
            name,
            description: name,
            kind,
        },
        held,
    )
}

/// Jira Server's other permission keys, as `mypermissions` reports them, each held as the
/// rule tessera enforces for it says.
pub const JIRA_PERMISSIONS: &[(PermissionInfo, HeldAs)] = {
    use GlobalPermission as G;
    use HeldAs::{Global, Never, Project};
    use ProjectPermission as P;
    &[
        jira(27, "USER_PICKER", "Browse Users", "GLOBAL", Global(G::Use)),
        jira(
            22,
            "CREATE_SHARED_OBJECTS",
            "Create Shared Objects",
            "GLOBAL",
            Never,
        ),
        jira(
            24,
            "MANAGE_GROUP_FILTER_SUBSCRIPTIONS",
            "Manage Group Filter Subscriptions",
            "GLOBAL",
            Never,
        ),
        jira(33, "BULK_CHANGE", "Bulk Change", "GLOBAL", Never),
        jira(
            29,
            "VIEW_DEV_TOOLS",
            "View Development Tools",
            "PROJECT",
            Never,
        ),
        jira(
            45,
            "VIEW_READONLY_WORKFLOW",
            "View Read-Only Workflow",
            "PROJECT",
            Project(P::BrowseProjects),
        ),
        jira(28, "SCHEDULE_ISSUES", "Schedule Issues", "PROJECT", Never),
        // Jira Software's (the Jira the client's own suite runs against); tessera has no
        // sprints.
        jira(
            -1,
            "MANAGE_SPRINTS_PERMISSION",
            "Manage sprints",
            "PROJECT",
            Never,
        ),
        jira(25, "MOVE_ISSUES", "Move Issues", "PROJECT", Never),
        // Assignable: active and able to browse (tessera's assignment rule).
        jira(
            17,
            "ASSIGNABLE_USER",
            "Assignable User",
            "PROJECT",
            Project(P::BrowseProjects),
        ),
        // Resolving and closing are transitions to Done.
        jira(
            14,
            "RESOLVE_ISSUES",
            "Resolve Issues",
            "PROJECT",
            Project(P::TransitionIssues),
        ),
        jira(
            18,
            "CLOSE_ISSUES",
            "Close Issues",
            "PROJECT",
            Project(P::TransitionIssues),
        ),
        jira(
            30,
            "MODIFY_REPORTER",
            "Modify Reporter",
            "PROJECT",
            Project(P::AdministerProjects),
        ),
        jira(
            26,
            "SET_ISSUE_SECURITY",
            "Set Issue Security",
            "PROJECT",
            Never,
        ),
        jira(
            31,
            "VIEW_VOTERS_AND_WATCHERS",
            "View Voters and Watchers",
            "PROJECT",
            Project(P::BrowseProjects),
        ),
        // Authors change their own comments while they may comment; administrators any.
        jira(
            34,
            "EDIT_ALL_COMMENTS",
            "Edit All Comments",
            "PROJECT",
            Project(P::AdministerProjects),
        ),
        jira(
            35,
            "EDIT_OWN_COMMENTS",
            "Edit Own Comments",
            "PROJECT",
            Project(P::AddComments),
        ),
        jira(
            36,
            "DELETE_ALL_COMMENTS",
            "Delete All Comments",
            "PROJECT",
            Project(P::AdministerProjects),
        ),
        jira(
            37,
            "DELETE_OWN_COMMENTS",
            "Delete Own Comments",
            "PROJECT",
            Project(P::AddComments),
        ),
    ]
};

/// The three project roles. Their ids are Jira's defaults, which clients sometimes hard-code.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ProjectRole {
    Users,
    Developers,
    Administrators,
}

impl ProjectRole {
    pub const ALL: [Self; 3] = [Self::Administrators, Self::Developers, Self::Users];

    pub fn id(self) -> i64 {
        match self {
            Self::Users => 10000,
            Self::Developers => 10001,
            Self::Administrators => 10002,
        }
    }

    pub fn from_id(id: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|role| role.id() == id)
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::Users => "Users",
            Self::Developers => "Developers",
            Self::Administrators => "Administrators",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            Self::Users => "Can see the project's issues, create issues and comment.",
            Self::Developers => {
                "Users who also edit, assign, transition and link issues, and log work."
            }
            Self::Administrators => {
                "Developers who also delete issues, change anyone's worklogs and administer the project."
            }
        }
    }

    /// tessera's permission scheme: what each role grants within its project.
    pub fn permissions(self) -> ProjectPermissions {
        use ProjectPermission::*;
        // As Jira's default scheme: logging work is the developers', changing one's own
        // worklogs anyone's, changing anybody's (and MANAGE_WATCHERS) the administrators'.
        let users = [
            BrowseProjects,
            CreateIssues,
            AddComments,
            EditOwnWorklogs,
            DeleteOwnWorklogs,
            CreateAttachments,
            DeleteOwnAttachments,
        ];
        let developers = [
            EditIssues,
            AssignIssues,
            TransitionIssues,
            WorkOnIssues,
            LinkIssues,
        ];
        let administrators = [
            DeleteIssues,
            ManageWatchers,
            AdministerProjects,
            EditAllWorklogs,
            DeleteAllWorklogs,
            DeleteAllAttachments,
        ];
        match self {
            Self::Users => users.into_iter().collect(),
            Self::Developers => users.into_iter().chain(developers).collect(),
            Self::Administrators => users
                .into_iter()
                .chain(developers)
                .chain(administrators)
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ProjectPermission::*;

    #[test]
    fn roles_nest_users_developers_administrators() {
        let users = ProjectRole::Users.permissions();
        let developers = ProjectRole::Developers.permissions();
        let administrators = ProjectRole::Administrators.permissions();
        assert_eq!(users.intersection(developers), users);
        assert_eq!(developers.intersection(administrators), developers);
        assert_eq!(administrators, ProjectPermissions::all());
    }

    #[test]
    fn scheme_table() {
        let table = [
            (
                ProjectRole::Users,
                vec![
                    BrowseProjects,
                    CreateIssues,
                    AddComments,
                    EditOwnWorklogs,
                    DeleteOwnWorklogs,
                    CreateAttachments,
                    DeleteOwnAttachments,
                ],
            ),
            (
                ProjectRole::Developers,
                vec![
                    BrowseProjects,
                    CreateIssues,
                    EditIssues,
                    AssignIssues,
                    TransitionIssues,
                    AddComments,
                    WorkOnIssues,
                    EditOwnWorklogs,
                    DeleteOwnWorklogs,
                    LinkIssues,
                    CreateAttachments,
                    DeleteOwnAttachments,
                ],
            ),
        ];
        for (role, expected) in table {
            let granted: Vec<_> = role.permissions().iter().collect();
            assert_eq!(granted, expected, "{role:?}");
        }
        assert!(!ProjectRole::Developers.permissions().contains(DeleteIssues));
        assert!(
            !ProjectRole::Developers
                .permissions()
                .contains(ManageWatchers)
        );
        assert!(
            ProjectRole::Administrators
                .permissions()
                .contains(ManageWatchers)
        );
        assert!(
            !ProjectRole::Developers
                .permissions()
                .contains(AdministerProjects)
        );
    }

    #[test]
    fn jira_lists_every_permission_key_once() {
        let mut keys: Vec<&str> = GlobalPermission::ALL
            .iter()
            .map(|p| p.info().key)
            .chain(ProjectPermission::ALL.iter().map(|p| p.info().key))
            .chain(JIRA_PERMISSIONS.iter().map(|(info, _)| info.key))
            .collect();
        let mut ids: Vec<i32> = GlobalPermission::ALL
            .iter()
            .map(|p| p.info().id)
            .chain(ProjectPermission::ALL.iter().map(|p| p.info().id))
            .chain(JIRA_PERMISSIONS.iter().map(|(info, _)| info.id))
            .collect();
        let count = keys.len();
        keys.sort_unstable();
        keys.dedup();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!((keys.len(), ids.len()), (count, count));
        assert_eq!(
            count, 40,
            "Jira Server's 7 global and 32 project permissions, and Jira Software's one"
        );
    }

    #[test]
    fn keys_round_trip() {
        for permission in ProjectPermission::ALL {
            assert_eq!(
                ProjectPermission::from_key(permission.info().key),
                Some(*permission)
            );
        }
        for permission in GlobalPermission::ALL {
            assert_eq!(
                GlobalPermission::from_key(permission.info().key),
                Some(*permission)
            );
        }
        assert_eq!(ProjectPermission::from_key("browse_projects"), None);
        for role in ProjectRole::ALL {
            assert_eq!(ProjectRole::from_id(role.id()), Some(role));
        }
        assert_eq!(ProjectRole::from_id(1), None);
    }
}
