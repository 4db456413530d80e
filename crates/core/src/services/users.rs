//! Users: creation by administrators, lookup and search through the directory, profile and
//! password changes. Deactivating a user or changing a password ends their sessions at once.

use crate::authz::{Administer, ReadUsers};
use crate::clock::Timestamp;
use crate::error::{Error, FieldErrors, Missing};
use crate::ids::UserId;
use crate::model::{
    ADMINISTRATORS_GROUP, NewUser, PageRequest, USERS_GROUP, User, UserUpdate, parse_user_key,
};
use crate::principal::Principal;
use crate::store::{SessionSwap, Store, UserDeletion, UserQuery};
use crate::validate;

/// A user to create. The password arrives already hashed (hashing is the authentication
/// crate's business); its rules were checked on the clear text by the caller.
#[derive(Clone, Default)]
pub struct UserInput {
    pub name: String,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub password_hash: Option<String>,
    pub admin: bool,
}

impl std::fmt::Debug for UserInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserInput")
            .field("name", &self.name)
            .field("display_name", &self.display_name)
            .field("email", &self.email)
            .field(
                "password_hash",
                &crate::model::redacted(&self.password_hash),
            )
            .field("admin", &self.admin)
            .finish()
    }
}

/// A new account's login name and display name (the name, if none is given); problems are
/// recorded under `name_field` and `displayName`.
fn names(
    name: &str,
    display_name: Option<&str>,
    name_field: &str,
    errors: &mut FieldErrors,
) -> (Option<String>, Option<String>) {
    let name = validate::username_as_given(name)
        .map_err(|e| errors.add_field(name_field, e))
        .ok();
    let display_name = match display_name {
        Some(display) => validate::display_name(display)
            .map_err(|e| errors.add_field("displayName", e))
            .ok(),
        None => name.clone(),
    };
    (name, display_name)
}

pub async fn create_user(
    store: &dyn Store,
    _admin: &Administer,
    input: UserInput,
    now: Timestamp,
) -> Result<User, Error> {
    let mut errors = FieldErrors::default();
    let (name, display_name) = names(
        &input.name,
        input.display_name.as_deref(),
        "username",
        &mut errors,
    );
    let email = match &input.email {
        Some(email) => validate::email(email)
            .map_err(|e| errors.add_field("emailAddress", e))
            .ok(),
        None => None,
    };
    errors.into_result()?;
    let (Some(name), Some(display_name)) = (name, display_name) else {
        return Err(Error::invalid("username", "You must specify a username."));
    };
    let mut groups = vec![USERS_GROUP.to_string()];
    if input.admin {
        groups.push(ADMINISTRATORS_GROUP.to_string());
    }
    let new = NewUser {
        name: name.to_ascii_lowercase(),
        cased_name: name,
        display_name,
        email,
        password_hash: input.password_hash,
        groups,
        created: now,
        service_owner: None,
    };
    store
        .create_user(new)
        .await
        .map_err(|e| super::conflict_as(e, "username", "A user with that username already exists."))
}

/// A user named in a request (names are stored lower-case, as Jira stores them).
pub(crate) async fn find_named(store: &dyn Store, name: &str) -> Result<Option<User>, Error> {
    Ok(store.find_user_by_name(&name.trim().to_lowercase()).await?)
}

/// A user named in a request, or "does not exist".
pub(crate) async fn get_named(store: &dyn Store, name: &str) -> Result<User, Error> {
    find_named(store, name)
        .await?
        .ok_or_else(|| Error::NotFound(Missing::User(name.to_string())))
}

/// Finds a user by name or by key (`JIRAUSER10001`), as `GET user` does.
pub async fn find_user(
    store: &dyn Store,
    _reader: &ReadUsers,
    who: UserSelector<'_>,
) -> Result<User, Error> {
    who.get(store).await
}

pub async fn search_users(
    store: &dyn Store,
    reader: &ReadUsers,
    text: &str,
    include_active: bool,
    include_inactive: bool,
    page: PageRequest,
) -> Result<Vec<User>, Error> {
    let query = UserQuery {
        text: text.trim().to_lowercase(),
        include_active,
        include_inactive,
        match_email: reader.sees_all_emails(),
    };
    if query.text.is_empty() {
        return Err(Error::invalid_message(
            "The username query parameter was not provided",
        ));
    }
    Ok(store.search_users(&query, page).await?)
}

/// The most users a picker looks through for one answer.
pub const PICKER_SCAN: i64 = 1000;

/// Active users matching `text` (everyone for an empty one) who may browse every project in
/// `projects`, so may be assigned issues there (tessera's assignment rule); a page of them.
/// The caller's capability to see those projects is the handler's to hold.
pub async fn assignable(
    store: &dyn Store,
    reader: &ReadUsers,
    projects: &[crate::ids::ProjectId],
    text: &str,
    page: PageRequest,
) -> Result<Vec<User>, Error> {
    let text = text.trim().to_lowercase();
    let query = UserQuery {
        text: if text.is_empty() { ".".into() } else { text },
        include_active: true,
        include_inactive: false,
        match_email: reader.sees_all_emails(),
    };
    let scan = PageRequest {
        start_at: 0,
        limit: PICKER_SCAN,
    };
    let mut found = Vec::new();
    for user in store.search_users(&query, scan).await? {
        let mut everywhere = true;
        for project in projects {
            if !crate::authz::user_can_browse(store, *project, &user).await? {
                everywhere = false;
                break;
            }
        }
        if everywhere {
            found.push(user);
        }
    }
    Ok(found
        .into_iter()
        .skip(usize::try_from(page.start_at).unwrap_or(usize::MAX))
        .take(usize::try_from(page.limit).unwrap_or(0))
        .collect())
}

/// Looks a user up by name for an administrative change.
/// A user named in a request: `?username=` or `?key=` (`JIRAUSER10001`), each resolved only
/// as what it says it is, so a user named like another's key cannot stand in for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserSelector<'a> {
    Name(&'a str),
    Key(&'a str),
}

impl UserSelector<'_> {
    pub async fn get(self, store: &dyn Store) -> Result<User, Error> {
        match self {
            Self::Name(name) => get_named(store, name).await,
            Self::Key(key) => {
                let found = match parse_user_key(key.trim()) {
                    Some(id) => store.find_user(id).await?,
                    None => None,
                };
                found.ok_or_else(|| Error::NotFound(Missing::User(key.to_string())))
            }
        }
    }
}

pub async fn update_user(
    store: &dyn Store,
    admin: &Administer,
    who: UserSelector<'_>,
    mut update: UserUpdate,
) -> Result<User, Error> {
    let user = who.get(store).await?;
    let mut errors = FieldErrors::default();
    if let Some(display) = &update.display_name {
        update.display_name = validate::display_name(display)
            .map_err(|e| errors.add_field("displayName", e))
            .ok();
    }
    if let Some(Some(email)) = &update.email {
        update.email = Some(
            validate::email(email)
                .map_err(|e| errors.add_field("emailAddress", e))
                .ok(),
        );
    }
    if update.active == Some(false) && admin.actor().is_some_and(|a| a.id == user.id) {
        errors.add_field("active", "You cannot deactivate your own account.");
    }
    errors.into_result()?;
    store
        .update_user(user.id, &update)
        .await?
        .ok_or_else(|| Error::NotFound(Missing::User(user.name.clone())))
}

/// An administrator deletes a user, as Jira allows it: not oneself, and not a user whose
/// work (issues reported, assigned or created, comments, worklogs, changes, projects led)
/// names them; deactivate those instead. Their sessions and tokens end with them.
pub async fn delete_user(
    store: &dyn Store,
    admin: &Administer,
    who: UserSelector<'_>,
) -> Result<User, Error> {
    let user = who.get(store).await?;
    if admin.actor().is_some_and(|a| a.id == user.id) {
        return Err(Error::invalid_message(
            "You cannot delete the currently logged in user.",
        ));
    }
    match store.delete_user(user.id).await? {
        UserDeletion::Deleted => Ok(user),
        UserDeletion::Gone => Err(Error::NotFound(Missing::User(user.name.clone()))),
        UserDeletion::InUse(uses) => {
            let named: Vec<String> = uses
                .iter()
                .map(|(what, count)| format!("{count} {what}"))
                .collect();
            Err(Error::invalid_message(format!(
                "Cannot delete user '{}': {} name them. Deactivate the user instead.",
                user.name,
                named.join(", ")
            )))
        }
    }
}

/// An administrator sets a user's password; every session of the user ends.
pub async fn set_password(
    store: &dyn Store,
    _admin: &Administer,
    who: UserSelector<'_>,
    password_hash: &str,
) -> Result<User, Error> {
    let user = who.get(store).await?;
    if user.is_service_account() {
        return Err(Error::invalid(
            "password",
            "Service accounts cannot have a password: they authenticate with API keys only.",
        ));
    }
    store
        .set_password_hash(user.id, Some(password_hash), None)
        .await?;
    Ok(user)
}

/// A service account to create: a user without a password, owned by a group.
#[derive(Clone, Debug, Default)]
pub struct ServiceAccountInput {
    pub name: String,
    pub display_name: Option<String>,
    pub owner_group: String,
    /// Further groups, besides `jira-users`.
    pub groups: Vec<String>,
}

/// Creates a service account. Its owning group's members (and administrators) manage its API
/// keys; it belongs to no person, so it outlives whoever created it.
pub async fn create_service_account(
    store: &dyn Store,
    _admin: &Administer,
    input: ServiceAccountInput,
    now: Timestamp,
) -> Result<User, Error> {
    let mut errors = FieldErrors::default();
    let (name, display_name) = names(
        &input.name,
        input.display_name.as_deref(),
        "name",
        &mut errors,
    );
    let owner = input.owner_group.trim().to_lowercase();
    if owner.is_empty() {
        errors.add_field("ownerGroup", "A service account needs an owning group.");
    } else if store.find_group(&owner).await?.is_none() {
        errors.add_field("ownerGroup", Missing::Group(owner.clone()).to_string());
    }
    let mut groups = vec![USERS_GROUP.to_string()];
    for group in &input.groups {
        let group = group.trim().to_lowercase();
        if store.find_group(&group).await?.is_none() {
            errors.add_field("groups", Missing::Group(group.clone()).to_string());
        } else if !groups.contains(&group) {
            groups.push(group);
        }
    }
    errors.into_result()?;
    let (Some(name), Some(display_name)) = (name, display_name) else {
        return Err(Error::invalid("name", "You must specify a name."));
    };
    let new = NewUser {
        name: name.to_ascii_lowercase(),
        cased_name: name,
        display_name,
        email: None,
        password_hash: None,
        groups,
        created: now,
        service_owner: Some(owner),
    };
    store
        .create_user(new)
        .await
        .map_err(|e| super::conflict_as(e, "name", "A user with that username already exists."))
}

/// Finds a service account by name ("not found" for people too).
pub async fn get_service_account(store: &dyn Store, name: &str) -> Result<User, Error> {
    find_named(store, name)
        .await?
        .filter(User::is_service_account)
        .ok_or_else(|| Error::NotFound(Missing::User(name.to_string())))
}

/// A user changes their own password (the caller has verified the current one). Every other
/// session of the user ends; the one in use (if any) continues under a new id, swapped in the
/// same transaction.
pub async fn set_own_password(
    store: &dyn Store,
    principal: &Principal,
    password_hash: &str,
    session: Option<SessionSwap<'_>>,
) -> Result<(), Error> {
    let changed = store
        .set_password_hash(principal.user.id, Some(password_hash), session)
        .await?;
    if changed {
        Ok(())
    } else {
        Err(Error::NotFound(Missing::User(principal.user.name.clone())))
    }
}

/// Resolves usernames to ids, reporting the first that does not exist.
pub(crate) async fn resolve_names(
    store: &dyn Store,
    names: &[String],
) -> Result<Vec<UserId>, Error> {
    let mut ids = Vec::with_capacity(names.len());
    for name in names {
        ids.push(get_named(store, name).await?.id);
    }
    Ok(ids)
}
