//! Projects and their role membership. A new project starts with Jira's default role members:
//! its lead and the administrators group in Administrators, the users group in Users.

use crate::authz::{Administer, AdministerProject, OnProject, VisibleProject};
use crate::clock::Timestamp;
use crate::error::{Error, FieldErrors, Missing};
use crate::model::{ADMINISTRATORS_GROUP, NewProject, Project, RoleActor, RoleMember, USERS_GROUP};
use crate::permissions::ProjectRole;
use crate::store::{Conflict, Store};
use crate::validate;

pub const PROJECT_TYPES: [&str; 2] = ["software", "business"];

#[derive(Clone, Debug, Default)]
pub struct ProjectInput {
    pub key: Option<String>,
    pub name: Option<String>,
    pub description: Option<String>,
    /// The lead's username; defaults to the administrator creating the project.
    pub lead: Option<String>,
    pub project_type_key: Option<String>,
}

pub async fn create_project(
    store: &dyn Store,
    admin: &Administer,
    input: ProjectInput,
    now: Timestamp,
) -> Result<Project, Error> {
    let mut errors = FieldErrors::default();
    let key = match &input.key {
        Some(key) => validate::project_key(key)
            .map_err(|e| errors.add_field("projectKey", e))
            .ok(),
        None => {
            errors.add_field("projectKey", "You must specify a unique project key.");
            None
        }
    };
    let name = validate::project_name(input.name.as_deref().unwrap_or(""))
        .map_err(|e| errors.add_field("projectName", e))
        .ok();
    let description = match &input.description {
        Some(text) if !text.trim().is_empty() => validate::long_text(text)
            .map_err(|e| errors.add_field("description", e))
            .ok(),
        _ => None,
    };
    let project_type_key = input
        .project_type_key
        .clone()
        .unwrap_or_else(|| "software".into());
    if !PROJECT_TYPES.contains(&project_type_key.as_str()) {
        errors.add_field(
            "projectTypeKey",
            format!(
                "Invalid project type '{project_type_key}'; use one of {}.",
                PROJECT_TYPES.join(", ")
            ),
        );
    }
    let lead = match (&input.lead, admin.actor()) {
        (Some(lead), _) => super::users::find_named(store, lead).await?,
        (None, Some(actor)) => store.find_user(actor.id).await?,
        (None, None) => None,
    };
    let lead = match lead {
        Some(user) if user.active => Some(user),
        _ => {
            errors.add_field("projectLead", "You must specify a valid project lead.");
            None
        }
    };
    errors.into_result()?;
    let (Some(key), Some(name), Some(lead)) = (key, name, lead) else {
        return Err(Error::invalid_message("The project could not be created."));
    };
    let project = NewProject {
        key,
        name,
        description,
        lead: lead.id,
        project_type_key,
        created: now,
        actors: vec![
            (ProjectRole::Administrators, RoleMember::User(lead.id)),
            (
                ProjectRole::Administrators,
                RoleMember::Group(ADMINISTRATORS_GROUP.into()),
            ),
            (ProjectRole::Users, RoleMember::Group(USERS_GROUP.into())),
        ],
    };
    store
        .create_project(project)
        .await
        .map_err(|e| match super::conflict_kind(&e) {
            Some(Conflict::ProjectName) => Error::Conflict(FieldErrors::field(
                "projectName",
                "A project with that name already exists.",
            )),
            Some(_) => Error::Conflict(FieldErrors::field(
                "projectKey",
                "A project with that project key already exists.",
            )),
            None => Error::Store(e),
        })
}

/// Global ADMINISTER: deletes a project with all its issues, in one transaction.
pub async fn delete_project(
    store: &dyn Store,
    _admin: &Administer,
    key: &crate::authz::ProjectRef,
) -> Result<Project, Error> {
    let shown = match key {
        crate::authz::ProjectRef::Id(id) => id.to_string(),
        crate::authz::ProjectRef::Key(key) => key.clone(),
    };
    let missing = || Error::NotFound(Missing::Project(shown.clone()));
    let found = match key {
        crate::authz::ProjectRef::Id(id) => store.find_project(*id).await?,
        crate::authz::ProjectRef::Key(key) => store.find_project_by_key(key).await?,
    }
    .ok_or_else(missing)?;
    if store.delete_project(found.id).await? {
        Ok(found)
    } else {
        Err(missing())
    }
}

pub fn parse_role(id: &str) -> Result<ProjectRole, Error> {
    id.parse::<i64>()
        .ok()
        .and_then(ProjectRole::from_id)
        .ok_or_else(|| Error::NotFound(Missing::Role(id.to_string())))
}

/// A role and its members.
pub async fn role_actors(
    store: &dyn Store,
    cap: &VisibleProject,
    role: ProjectRole,
) -> Result<Vec<RoleActor>, Error> {
    Ok(store
        .role_actors(cap.project().id)
        .await?
        .into_iter()
        .filter(|(r, _)| *r == role)
        .map(|(_, actor)| actor)
        .collect())
}

/// Role members named in a request: usernames and group names.
#[derive(Clone, Debug, Default)]
pub struct MemberNames {
    pub users: Vec<String>,
    pub groups: Vec<String>,
}

async fn resolve(store: &dyn Store, names: &MemberNames) -> Result<Vec<RoleMember>, Error> {
    let mut members: Vec<RoleMember> = super::users::resolve_names(store, &names.users)
        .await?
        .into_iter()
        .map(RoleMember::User)
        .collect();
    for group in &names.groups {
        let name = group.trim().to_lowercase();
        let found = store
            .find_group(&name)
            .await?
            .ok_or(Error::NotFound(Missing::Group(name)))?;
        members.push(RoleMember::Group(found.name));
    }
    members.sort();
    members.dedup();
    Ok(members)
}

pub async fn add_role_members(
    store: &dyn Store,
    cap: &OnProject<AdministerProject>,
    role: ProjectRole,
    names: &MemberNames,
) -> Result<(), Error> {
    let members = resolve(store, names).await?;
    if members.is_empty() {
        return Err(Error::invalid_message(
            "Specify at least one user or group to add.",
        ));
    }
    store
        .add_role_members(cap.project().id, role, &members)
        .await?;
    Ok(())
}

pub async fn set_role_members(
    store: &dyn Store,
    cap: &OnProject<AdministerProject>,
    role: ProjectRole,
    names: &MemberNames,
) -> Result<(), Error> {
    let members = resolve(store, names).await?;
    store
        .set_role_members(cap.project().id, role, &members)
        .await?;
    Ok(())
}

pub async fn remove_role_member(
    store: &dyn Store,
    cap: &OnProject<AdministerProject>,
    role: ProjectRole,
    names: &MemberNames,
) -> Result<(), Error> {
    let members = resolve(store, names).await?;
    let [member] = members.as_slice() else {
        return Err(Error::invalid_message(
            "Specify exactly one user or one group to remove.",
        ));
    };
    if store
        .remove_role_member(cap.project().id, role, member)
        .await?
    {
        Ok(())
    } else {
        Err(Error::invalid_message(
            "That user or group is not a member of the role.",
        ))
    }
}
