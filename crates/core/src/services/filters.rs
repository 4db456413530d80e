//! Saved filters: a user's named JQL queries. In this first step a filter is its owner's
//! alone (sharing with groups and projects comes later): another user's filter does not exist
//! for the caller. Reading needs the read scope, changing the write scope. The query must be
//! valid JQL when saved; what it finds is decided when it runs, for whoever runs it.

use crate::clock::Timestamp;
use crate::error::{Denied, Error, FieldErrors, Missing};
use crate::ids::FilterId;
use crate::jql;
use crate::model::{Filter, FilterFields};
use crate::principal::Principal;
use crate::scopes::Scope;
use crate::store::{Conflict, Store, StoreError};
use crate::validate;

fn require(principal: &Principal, scope: Scope) -> Result<(), Error> {
    if principal.scopes.contains(scope) {
        Ok(())
    } else {
        Err(Error::Denied(Denied::Scope(scope)))
    }
}

fn missing(id: &str) -> Error {
    Error::NotFound(Missing::Filter(id.to_string()))
}

/// Checks what a request gives; `creating` requires the name and the query.
fn checked(input: FilterFields, creating: bool) -> Result<FilterFields, Error> {
    let mut errors = FieldErrors::default();
    let name = match input.name.as_deref().map(str::trim) {
        Some(name)
            if !name.is_empty()
                && name.chars().count() <= 255
                && !name.chars().any(char::is_control) =>
        {
            Some(name.to_string())
        }
        Some(_) => {
            errors.add_field("filterName", "A filter name is 1 to 255 characters.");
            None
        }
        None if creating => {
            errors.add_field("filterName", "You must specify a name for the filter.");
            None
        }
        None => None,
    };
    let jql = match input.jql {
        Some(text) => match jql::parse(&text) {
            Ok(_) => Some(text),
            Err(e) => {
                errors.add_field("jql", e.to_string());
                None
            }
        },
        None if creating => {
            errors.add_field("jql", "You must specify the filter's query (jql).");
            None
        }
        None => None,
    };
    let description = match input.description {
        Some(Some(text)) if !text.trim().is_empty() => match validate::long_text(&text) {
            Ok(text) => Some(Some(text)),
            Err(e) => {
                errors.add_field("description", e);
                None
            }
        },
        Some(_) => Some(None),
        None => None,
    };
    errors.into_result()?;
    Ok(FilterFields {
        name,
        description,
        jql,
    })
}

fn name_taken(error: StoreError) -> Error {
    match error {
        StoreError::Conflict(Conflict::FilterName) => {
            Error::invalid("filterName", "Filter with same name already exists.")
        }
        other => other.into(),
    }
}

/// A new filter of the caller's (a favourite unless `favourite` says otherwise).
pub async fn create(
    store: &dyn Store,
    principal: &Principal,
    input: FilterFields,
    favourite: Option<bool>,
    now: Timestamp,
) -> Result<Filter, Error> {
    require(principal, Scope::WriteJiraWork)?;
    let fields = checked(input, true)?;
    store
        .create_filter(principal.user.id, &fields, favourite.unwrap_or(true), now)
        .await
        .map_err(name_taken)
}

/// One of the caller's filters.
pub async fn get(store: &dyn Store, principal: &Principal, id: &str) -> Result<Filter, Error> {
    require(principal, Scope::ReadJiraWork)?;
    let filter_id = FilterId::parse(id).ok_or_else(|| missing(id))?;
    match store.find_filter(filter_id, principal.user.id).await? {
        Some(filter)
            if filter
                .owner
                .as_ref()
                .is_some_and(|o| o.id == principal.user.id) =>
        {
            Ok(filter)
        }
        _ => Err(missing(id)),
    }
}

/// Changes one of the caller's filters; `favourite` marks or unmarks it.
pub async fn update(
    store: &dyn Store,
    principal: &Principal,
    id: &str,
    input: FilterFields,
    favourite: Option<bool>,
) -> Result<Filter, Error> {
    let filter = get(store, principal, id).await?;
    require(principal, Scope::WriteJiraWork)?;
    let fields = checked(input, false)?;
    if let Some(favourite) = favourite {
        store
            .set_favourite(filter.id, principal.user.id, favourite)
            .await?;
    }
    store
        .update_filter(filter.id, &fields, principal.user.id)
        .await
        .map_err(name_taken)?
        .ok_or_else(|| missing(id))
}

pub async fn delete(store: &dyn Store, principal: &Principal, id: &str) -> Result<(), Error> {
    let filter = get(store, principal, id).await?;
    require(principal, Scope::WriteJiraWork)?;
    if store.delete_filter(filter.id).await? {
        Ok(())
    } else {
        Err(missing(id))
    }
}

/// The caller's favourite filters (of those they may see), by name.
pub async fn favourites(store: &dyn Store, principal: &Principal) -> Result<Vec<Filter>, Error> {
    require(principal, Scope::ReadJiraWork)?;
    let me = principal.user.id;
    Ok(store
        .favourite_filters(me)
        .await?
        .into_iter()
        .filter(|f| f.owner.as_ref().is_some_and(|o| o.id == me))
        .collect())
}
