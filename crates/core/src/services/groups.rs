//! Groups and their members. The two built-in groups cannot be deleted.

use crate::authz::{Administer, ReadUsers};
use crate::error::{Error, FieldErrors, Missing};
use crate::model::{ADMINISTRATORS_GROUP, Group, Page, PageRequest, USERS_GROUP, User};
use crate::store::Store;
use crate::validate;

pub async fn create_group(
    store: &dyn Store,
    _admin: &Administer,
    name: &str,
) -> Result<Group, Error> {
    let name = validate::group_name(name).map_err(|e| Error::invalid("name", e))?;
    store
        .create_group(&name)
        .await
        .map_err(|e| super::conflict_as(e, "name", "A group with that name already exists."))
}

pub async fn delete_group(store: &dyn Store, _admin: &Administer, name: &str) -> Result<(), Error> {
    let name = name.trim().to_lowercase();
    if name == USERS_GROUP || name == ADMINISTRATORS_GROUP {
        return Err(Error::invalid_message(format!(
            "The group '{name}' is built in and cannot be deleted."
        )));
    }
    if store.delete_group(&name).await? {
        Ok(())
    } else {
        Err(Error::NotFound(Missing::Group(name)))
    }
}

pub async fn find_group(
    store: &dyn Store,
    _reader: &ReadUsers,
    name: &str,
) -> Result<Group, Error> {
    let name = name.trim().to_lowercase();
    store
        .find_group(&name)
        .await?
        .ok_or(Error::NotFound(Missing::Group(name)))
}

pub async fn members(
    store: &dyn Store,
    reader: &ReadUsers,
    name: &str,
    include_inactive: bool,
    page: PageRequest,
) -> Result<Page<User>, Error> {
    let group = find_group(store, reader, name).await?;
    Ok(store
        .group_members(&group.name, include_inactive, page)
        .await?)
}

/// The group and the user named in a membership change.
async fn group_and_user(
    store: &dyn Store,
    group: &str,
    username: &str,
) -> Result<(Group, User), Error> {
    let group_name = group.trim().to_lowercase();
    let group = store
        .find_group(&group_name)
        .await?
        .ok_or(Error::NotFound(Missing::Group(group_name)))?;
    let user = super::users::get_named(store, username).await?;
    Ok((group, user))
}

/// Adds a user to a group; returns the group.
pub async fn add_member(
    store: &dyn Store,
    _admin: &Administer,
    group: &str,
    username: &str,
) -> Result<Group, Error> {
    let (group, user) = group_and_user(store, group, username).await?;
    if store.add_group_member(&group.name, user.id).await? {
        Ok(group)
    } else {
        Err(Error::Conflict(FieldErrors::message(format!(
            "Cannot add user. '{}' is already a member of '{}'",
            user.name, group.name
        ))))
    }
}

pub async fn remove_member(
    store: &dyn Store,
    admin: &Administer,
    group: &str,
    username: &str,
) -> Result<(), Error> {
    let (group, user) = group_and_user(store, group, username).await?;
    if group.name == ADMINISTRATORS_GROUP && admin.actor().is_some_and(|a| a.id == user.id) {
        return Err(Error::invalid_message(
            "You cannot remove yourself from the administrators group.",
        ));
    }
    if store.remove_group_member(&group.name, user.id).await? {
        Ok(())
    } else {
        Err(Error::NotFound(Missing::Membership(user.name, group.name)))
    }
}
