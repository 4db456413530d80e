//! Projects' versions and components. Anyone who can browse a project reads them;
//! ADMINISTER_PROJECTS manages them (Jira's rule). A version or component of a project the
//! caller cannot browse is "not found", as the project itself would be.

use crate::authz::{AdministerProject, Authorizer, Browse, OnProject, ProjectRef};
use crate::error::{Error, FieldErrors, Missing};
use crate::ids::{ComponentId, VersionId};
use crate::model::{Component, ComponentFields, Version, VersionFields};
use crate::principal::Principal;
use crate::store::{Conflict, Store, StoreError};
use crate::validate;

/// Where a component's issues go by default, as Jira names it.
pub const ASSIGNEE_TYPES: [&str; 4] = [
    "PROJECT_DEFAULT",
    "COMPONENT_LEAD",
    "PROJECT_LEAD",
    "UNASSIGNED",
];

fn name(text: &str, field: &str, what: &str, errors: &mut FieldErrors) -> Option<String> {
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed.chars().count() > 255 || trimmed.chars().any(char::is_control)
    {
        errors.add_field(
            field,
            format!("The {what} name must be 1 to 255 characters, without control characters."),
        );
        return None;
    }
    Some(trimmed.to_string())
}

fn description(text: Option<&str>, errors: &mut FieldErrors) -> Option<String> {
    let text = text?.trim();
    if text.is_empty() {
        return None;
    }
    validate::long_text(text)
        .map_err(|e| errors.add_field("description", e))
        .ok()
}

/// A date as Jira's REST API takes it: `YYYY-MM-DD`.
pub fn check_date(text: &str) -> Option<String> {
    let text = text.trim();
    let parts: Vec<&str> = text.split('-').collect();
    let [year, month, day] = parts.as_slice() else {
        return None;
    };
    let (Ok(y), Ok(m), Ok(d)) = (year.parse::<i32>(), month.parse::<u8>(), day.parse::<u8>())
    else {
        return None;
    };
    let valid = year.len() == 4 && month.len() == 2 && day.len() == 2 && (1..=12).contains(&m) && {
        let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
        let days = match m {
            2 if leap => 29,
            2 => 28,
            4 | 6 | 9 | 11 => 30,
            _ => 31,
        };
        (1..=days).contains(&d)
    };
    valid.then(|| text.to_string())
}

/// A version as a client sends it (dates as `YYYY-MM-DD`; `""` removes one).
#[derive(Clone, Debug, Default)]
pub struct VersionInput {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    pub released: Option<bool>,
    pub archived: Option<bool>,
    pub release_date: Option<Option<String>>,
    pub start_date: Option<Option<String>>,
}

fn version_fields(input: VersionInput, creating: bool) -> Result<VersionFields, Error> {
    let mut errors = FieldErrors::default();
    let name = match (&input.name, creating) {
        (Some(text), _) => name(text, "name", "version", &mut errors),
        (None, true) => {
            errors.add_field("name", "You must specify a valid version name.");
            None
        }
        (None, false) => None,
    };
    let mut date = |field: &str, value: Option<Option<String>>| match value {
        None => None,
        Some(None) => Some(None),
        Some(Some(text)) if text.trim().is_empty() => Some(None),
        Some(Some(text)) => match check_date(&text) {
            Some(date) => Some(Some(date)),
            None => {
                errors.add_field(field, "Give the date as YYYY-MM-DD.");
                None
            }
        },
    };
    let release_date = date("releaseDate", input.release_date);
    let start_date = date("startDate", input.start_date);
    let description = input
        .description
        .map(|d| description(d.as_deref(), &mut errors));
    errors.into_result()?;
    Ok(VersionFields {
        name,
        description,
        released: input.released,
        archived: input.archived,
        release_date,
        start_date,
    })
}

fn version_conflict(error: StoreError) -> Error {
    match error {
        StoreError::Conflict(Conflict::VersionName) => Error::invalid(
            "name",
            "A version with this name already exists in this project.",
        ),
        other => other.into(),
    }
}

/// ADMINISTER_PROJECTS.
pub async fn create_version(
    store: &dyn Store,
    cap: &OnProject<AdministerProject>,
    input: VersionInput,
) -> Result<Version, Error> {
    let fields = version_fields(input, true)?;
    store
        .create_version(cap.project().id, &fields)
        .await
        .map_err(version_conflict)
}

/// A version, with the permission to do `A` in its project; another project's invisible
/// version is not found.
pub async fn version_with<A: crate::authz::Action>(
    store: &dyn Store,
    authz: &Authorizer,
    principal: &Principal,
    id: &str,
) -> Result<(Version, OnProject<A>), Error> {
    let missing = || Error::NotFound(Missing::Version(id.to_string()));
    let version_id = VersionId::parse(id).ok_or_else(missing)?;
    let version = store.find_version(version_id).await?.ok_or_else(missing)?;
    let cap = authz
        .project::<A>(principal, &ProjectRef::Id(version.project_id))
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => missing(),
            other => other,
        })?;
    Ok((version, cap))
}

pub async fn update_version(
    store: &dyn Store,
    version: &Version,
    input: VersionInput,
) -> Result<Version, Error> {
    let fields = version_fields(input, false)?;
    store
        .update_version(version.id, &fields)
        .await
        .map_err(version_conflict)?
        .ok_or_else(|| Error::NotFound(Missing::Version(version.id.to_string())))
}

/// Where a version goes among its project's: `First`, `Last`, `Earlier`, `Later`, or after
/// another version of the project.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Placement {
    First,
    Last,
    Earlier,
    Later,
    After(VersionId),
}

pub async fn move_version(
    store: &dyn Store,
    version: &Version,
    placement: Placement,
) -> Result<Version, Error> {
    let order = store.list_versions(version.project_id).await?;
    let current = order.iter().position(|v| v.id == version.id).unwrap_or(0);
    let position = match placement {
        Placement::First => 0,
        Placement::Last => order.len(),
        Placement::Earlier => current.saturating_sub(1),
        Placement::Later => current + 1,
        Placement::After(other) => {
            let Some(at) = order.iter().position(|v| v.id == other) else {
                return Err(Error::invalid(
                    "after",
                    "The version to move after is not in this project.",
                ));
            };
            if at < current { at + 1 } else { at }
        }
    };
    store
        .move_version(version.id, position)
        .await?
        .ok_or_else(|| Error::NotFound(Missing::Version(version.id.to_string())))
}

/// Deletes a version; its issues' fix and affected versions move to the versions named
/// (which must be other versions of the same project).
pub async fn delete_version(
    store: &dyn Store,
    version: &Version,
    fix_to: Option<&str>,
    affected_to: Option<&str>,
) -> Result<(), Error> {
    let mut errors = FieldErrors::default();
    let mut target = async |field: &str, text: Option<&str>| -> Result<Option<VersionId>, Error> {
        let Some(text) = text.filter(|t| !t.trim().is_empty()) else {
            return Ok(None);
        };
        let found = match VersionId::parse(text.trim()) {
            Some(id) => store.find_version(id).await?,
            None => None,
        };
        match found {
            Some(other) if other.project_id == version.project_id && other.id != version.id => {
                Ok(Some(other.id))
            }
            _ => {
                errors.add_field(field, "Give another version of the same project.");
                Ok(None)
            }
        }
    };
    let fix = target("moveFixIssuesTo", fix_to).await?;
    let affected = target("moveAffectedIssuesTo", affected_to).await?;
    errors.into_result()?;
    if store.delete_version(version.id, fix, affected).await? {
        Ok(())
    } else {
        Err(Error::NotFound(Missing::Version(version.id.to_string())))
    }
}

/// A component as a client sends it.
#[derive(Clone, Debug, Default)]
pub struct ComponentInput {
    pub name: Option<String>,
    pub description: Option<Option<String>>,
    /// The lead's user name; `Some(None)` removes the lead.
    pub lead: Option<Option<String>>,
    pub assignee_type: Option<String>,
}

async fn component_fields(
    store: &dyn Store,
    input: ComponentInput,
    creating: bool,
) -> Result<ComponentFields, Error> {
    let mut errors = FieldErrors::default();
    let name = match (&input.name, creating) {
        (Some(text), _) => name(text, "name", "component", &mut errors),
        (None, true) => {
            errors.add_field("name", "The component name must not be empty.");
            None
        }
        (None, false) => None,
    };
    let lead = match input.lead {
        None => None,
        Some(None) => Some(None),
        Some(Some(lead)) if lead.trim().is_empty() => Some(None),
        Some(Some(lead)) => match super::users::find_named(store, &lead).await? {
            Some(user) if user.active => Some(Some(user.id)),
            _ => {
                errors.add_field("leadUserName", format!("The user {lead} does not exist."));
                None
            }
        },
    };
    let assignee_type = match input.assignee_type {
        Some(kind) if ASSIGNEE_TYPES.contains(&kind.as_str()) => Some(kind),
        Some(_) => {
            errors.add_field(
                "assigneeType",
                "The assignee type is PROJECT_DEFAULT, COMPONENT_LEAD, PROJECT_LEAD or UNASSIGNED.",
            );
            None
        }
        None => None,
    };
    let description = input
        .description
        .map(|d| description(d.as_deref(), &mut errors));
    errors.into_result()?;
    Ok(ComponentFields {
        name,
        description,
        lead,
        assignee_type,
    })
}

fn component_conflict(error: StoreError) -> Error {
    match error {
        StoreError::Conflict(Conflict::ComponentName) => Error::invalid(
            "name",
            "A component with this name already exists in this project.",
        ),
        other => other.into(),
    }
}

/// ADMINISTER_PROJECTS.
pub async fn create_component(
    store: &dyn Store,
    cap: &OnProject<AdministerProject>,
    input: ComponentInput,
) -> Result<Component, Error> {
    let fields = component_fields(store, input, true).await?;
    store
        .create_component(cap.project().id, &fields)
        .await
        .map_err(component_conflict)
}

/// A component, with the permission to do `A` in its project.
pub async fn component_with<A: crate::authz::Action>(
    store: &dyn Store,
    authz: &Authorizer,
    principal: &Principal,
    id: &str,
) -> Result<(Component, OnProject<A>), Error> {
    let missing = || Error::NotFound(Missing::Component(id.to_string()));
    let component_id = ComponentId::parse(id).ok_or_else(missing)?;
    let component = store
        .find_component(component_id)
        .await?
        .ok_or_else(missing)?;
    let cap = authz
        .project::<A>(principal, &ProjectRef::Id(component.project_id))
        .await
        .map_err(|e| match e {
            Error::NotFound(_) => missing(),
            other => other,
        })?;
    Ok((component, cap))
}

pub async fn update_component(
    store: &dyn Store,
    component: &Component,
    input: ComponentInput,
) -> Result<Component, Error> {
    let fields = component_fields(store, input, false).await?;
    store
        .update_component(component.id, &fields)
        .await
        .map_err(component_conflict)?
        .ok_or_else(|| Error::NotFound(Missing::Component(component.id.to_string())))
}

pub async fn delete_component(
    store: &dyn Store,
    component: &Component,
    move_to: Option<&str>,
) -> Result<(), Error> {
    let target = match move_to.filter(|t| !t.trim().is_empty()) {
        None => None,
        Some(text) => {
            let found = match ComponentId::parse(text.trim()) {
                Some(id) => store.find_component(id).await?,
                None => None,
            };
            match found {
                Some(other)
                    if other.project_id == component.project_id && other.id != component.id =>
                {
                    Some(other.id)
                }
                _ => {
                    return Err(Error::invalid(
                        "moveIssuesTo",
                        "Give another component of the same project.",
                    ));
                }
            }
        }
    };
    if store.delete_component(component.id, target).await? {
        Ok(())
    } else {
        Err(Error::NotFound(Missing::Component(
            component.id.to_string(),
        )))
    }
}

/// BROWSE_PROJECTS: the project's versions, in order, and components, by name.
pub async fn versions(store: &dyn Store, cap: &OnProject<Browse>) -> Result<Vec<Version>, Error> {
    Ok(store.list_versions(cap.project().id).await?)
}

pub async fn components(
    store: &dyn Store,
    cap: &OnProject<Browse>,
) -> Result<Vec<Component>, Error> {
    Ok(store.list_components(cap.project().id).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_real_calendar_days() {
        for good in ["2026-03-01", "2024-02-29", "2000-02-29", " 2026-12-31 "] {
            assert!(check_date(good).is_some(), "{good}");
        }
        for bad in [
            "2026-02-29",
            "1900-02-29",
            "2026-13-01",
            "2026-1-01",
            "26-01-01",
            "2026-04-31",
            "tomorrow",
            "",
        ] {
            assert!(check_date(bad).is_none(), "{bad}");
        }
    }
}
