//! Saved filters: a user's named JQL queries, which the owner may share with everyone, with a
//! group they belong to, with a project they may browse or with a project role they hold.
//! Whoever is in a share's audience may read the filter, count it a favourite and use it in
//! JQL (`filter = ...`); only the owner changes, shares or deletes it. A filter the caller may
//! not see does not exist for them. Reading needs the read scope, changing the write scope.
//!
//! The query must be valid JQL when saved; what it finds is decided when it runs, for whoever
//! runs it: sharing a filter shares its name and query, never issues the audience could not
//! already see. A reader other than the owner sees only the shares that include them.

use std::collections::HashMap;

use crate::authz::BrowsableProjects;
use crate::clock::Timestamp;
use crate::error::{Denied, Error, FieldErrors, Missing};
use crate::ids::{FilterId, ProjectId};
use crate::jql::{self, Clause, Field, Operand, Value};
use crate::model::{Filter, FilterFields, FilterShare, ShareTarget};
use crate::permissions::ProjectRole;
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

/// The filter as `cap`'s user may see it: all of it for the owner; for anyone else in the
/// audience of one of its shares, with only those shares; `None` for anyone else.
pub fn as_seen_by(cap: &BrowsableProjects, mut filter: Filter) -> Option<Filter> {
    if is_owner(cap, &filter) {
        return Some(filter);
    }
    filter.shares.retain(|share| cap.in_audience(&share.target));
    (!filter.shares.is_empty()).then_some(filter)
}

fn is_owner(cap: &BrowsableProjects, filter: &Filter) -> bool {
    filter
        .owner
        .as_ref()
        .is_some_and(|o| o.id == cap.actor().id)
}

/// A filter the caller may see.
pub async fn get(
    store: &dyn Store,
    principal: &Principal,
    cap: &BrowsableProjects,
    id: &str,
) -> Result<Filter, Error> {
    require(principal, Scope::ReadJiraWork)?;
    let filter_id = FilterId::parse(id).ok_or_else(|| missing(id))?;
    store
        .find_filter(filter_id, principal.user.id)
        .await?
        .and_then(|filter| as_seen_by(cap, filter))
        .ok_or_else(|| missing(id))
}

/// A filter the caller owns, for changing: seeing it without owning it is a 403.
async fn owned(
    store: &dyn Store,
    principal: &Principal,
    cap: &BrowsableProjects,
    id: &str,
) -> Result<Filter, Error> {
    let filter = get(store, principal, cap, id).await?;
    require(principal, Scope::WriteJiraWork)?;
    if !is_owner(cap, &filter) {
        return Err(Error::Denied(Denied::OwnerOnly));
    }
    Ok(filter)
}

/// Changes one of the caller's filters; `favourite` marks or unmarks it.
pub async fn update(
    store: &dyn Store,
    principal: &Principal,
    cap: &BrowsableProjects,
    id: &str,
    input: FilterFields,
    favourite: Option<bool>,
) -> Result<Filter, Error> {
    let filter = owned(store, principal, cap, id).await?;
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

pub async fn delete(
    store: &dyn Store,
    principal: &Principal,
    cap: &BrowsableProjects,
    id: &str,
) -> Result<(), Error> {
    let filter = owned(store, principal, cap, id).await?;
    if store.delete_filter(filter.id).await? {
        Ok(())
    } else {
        Err(missing(id))
    }
}

/// Marks or unmarks a filter the caller may see as one of their favourites.
pub async fn set_favourite(
    store: &dyn Store,
    principal: &Principal,
    cap: &BrowsableProjects,
    id: &str,
    favourite: bool,
) -> Result<Filter, Error> {
    let filter = get(store, principal, cap, id).await?;
    require(principal, Scope::WriteJiraWork)?;
    store
        .set_favourite(filter.id, principal.user.id, favourite)
        .await?;
    get(store, principal, cap, id).await
}

/// The caller's favourite filters (of those they may still see), by name.
pub async fn favourites(
    store: &dyn Store,
    principal: &Principal,
    cap: &BrowsableProjects,
) -> Result<Vec<Filter>, Error> {
    require(principal, Scope::ReadJiraWork)?;
    Ok(store
        .favourite_filters(principal.user.id)
        .await?
        .into_iter()
        .filter_map(|filter| as_seen_by(cap, filter))
        .collect())
}

/// An audience as a request names it (Jira's share permission input).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ShareInput {
    /// `global`, `group`, `project` or `projectRole`.
    pub kind: String,
    pub group: Option<String>,
    pub project: Option<String>,
    pub role: Option<String>,
}

fn share_error(message: impl Into<String>) -> Error {
    Error::invalid_message(message)
}

/// The audience, if the caller may share with it: a group they belong to, a project they may
/// browse, a role they hold in a project. Anything else is refused with the same words as an
/// audience that does not exist, so sharing cannot probe for groups or projects.
fn share_target(cap: &BrowsableProjects, input: &ShareInput) -> Result<ShareTarget, Error> {
    let project = || -> Result<ProjectId, Error> {
        let text = input.project.as_deref().unwrap_or_default().trim();
        match ProjectId::parse(text) {
            Some(project) if cap.contains(project) => Ok(project),
            _ if text.is_empty() => Err(share_error("A project share needs a projectId.")),
            _ => Err(share_error(format!(
                "No project with id '{text}' that you may browse."
            ))),
        }
    };
    let target = match input.kind.trim().to_ascii_lowercase().as_str() {
        "global" => ShareTarget::Global,
        "group" => {
            let name = input.group.as_deref().unwrap_or_default().trim();
            if name.is_empty() {
                return Err(share_error("A group share needs a groupname."));
            }
            let target = ShareTarget::Group(name.to_lowercase());
            if !cap.in_audience(&target) {
                return Err(share_error(format!(
                    "You can only share with a group you are a member of: '{name}'."
                )));
            }
            target
        }
        "project" => ShareTarget::Project(project()?),
        "projectrole" => {
            let project = project()?;
            let text = input.role.as_deref().unwrap_or_default().trim();
            let role = text
                .parse()
                .ok()
                .and_then(ProjectRole::from_id)
                .ok_or_else(|| share_error(format!("No project role with id '{text}'.")))?;
            let target = ShareTarget::ProjectRole(project, role);
            if !cap.in_audience(&target) {
                return Err(share_error(
                    "You can only share with a project role you hold in that project.",
                ));
            }
            target
        }
        other => {
            return Err(share_error(format!(
                "Unknown share type '{other}': use global, group, project or projectRole."
            )));
        }
    };
    Ok(target)
}

/// Shares one of the caller's filters; the filter with all its shares.
pub async fn share(
    store: &dyn Store,
    principal: &Principal,
    cap: &BrowsableProjects,
    id: &str,
    input: &ShareInput,
) -> Result<Filter, Error> {
    let filter = owned(store, principal, cap, id).await?;
    let target = share_target(cap, input)?;
    match store.add_filter_share(filter.id, &target).await {
        Ok(_) => {}
        Err(StoreError::MissingReference) => return Err(missing(id)),
        Err(other) => return Err(other.into()),
    }
    get(store, principal, cap, id).await
}

/// One share of a filter the caller may see (of those shown to them).
pub async fn share_of(
    store: &dyn Store,
    principal: &Principal,
    cap: &BrowsableProjects,
    id: &str,
    share: &str,
) -> Result<FilterShare, Error> {
    let filter = get(store, principal, cap, id).await?;
    let wanted: Option<i64> = share.trim().parse().ok();
    filter
        .shares
        .into_iter()
        .find(|s| Some(s.id) == wanted)
        .ok_or_else(|| Error::NotFound(Missing::FilterShare(share.to_string())))
}

/// Removes a share of one of the caller's filters.
pub async fn unshare(
    store: &dyn Store,
    principal: &Principal,
    cap: &BrowsableProjects,
    id: &str,
    share: &str,
) -> Result<(), Error> {
    let filter = owned(store, principal, cap, id).await?;
    let removed = match share.trim().parse() {
        Ok(share_id) => store.remove_filter_share(filter.id, share_id).await?,
        Err(_) => false,
    };
    if removed {
        Ok(())
    } else {
        Err(Error::NotFound(Missing::FilterShare(share.to_string())))
    }
}

/// The most saved filters one query may reach, directly or through the filters it names.
pub const MAX_REFERENCED: usize = 50;

/// A saved filter as a query names it: `filter = 10000` (an id) or `filter = "My bugs"` (a
/// name, without regard to case, else an id).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) enum FilterKey {
    Id(i64),
    Text(String),
}

impl FilterKey {
    pub(crate) fn of(value: &Value<Timestamp>) -> Option<Self> {
        match value {
            Value::Number(id) => Some(Self::Id(*id)),
            Value::Text(text) => Some(Self::Text(text.clone())),
            _ => None,
        }
    }

    /// As written, for messages.
    pub(crate) fn shown(&self) -> String {
        match self {
            Self::Id(id) => id.to_string(),
            Self::Text(text) => text.clone(),
        }
    }
}

/// A saved filter a query reaches: its name, and its query's condition (`None`: every issue),
/// or why its stored query no longer reads.
#[derive(Clone, Debug)]
pub(crate) struct ReachedFilter {
    pub name: String,
    pub condition: Result<Option<Clause<Timestamp>>, String>,
}

/// The saved filters a query names, directly or through the filters it names, as the caller
/// may see them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Reached {
    /// What each name written means: the filters of that name (or id) the caller may see.
    pub named: HashMap<FilterKey, Vec<FilterId>>,
    pub filters: HashMap<FilterId, ReachedFilter>,
}

impl Reached {
    /// The conditions of the filters reached, for their names to be resolved with the query's.
    pub(crate) fn conditions(&self) -> impl Iterator<Item = &Clause<Timestamp>> {
        self.filters
            .values()
            .filter_map(|f| f.condition.as_ref().ok().and_then(Option::as_ref))
    }
}

fn filter_keys(clause: &Clause<Timestamp>, keys: &mut Vec<FilterKey>) {
    match clause {
        Clause::And(clauses) | Clause::Or(clauses) => {
            clauses.iter().for_each(|c| filter_keys(c, keys));
        }
        Clause::Not(clause) => filter_keys(clause, keys),
        Clause::Term(term) if term.field == Field::Filter => {
            let values = match &term.operand {
                Operand::Empty => &[][..],
                Operand::Value(value) => std::slice::from_ref(value),
                Operand::List(values) => values,
            };
            keys.extend(values.iter().filter_map(FilterKey::of));
        }
        Clause::Term(_) => {}
    }
}

/// Finds the saved filters `clause` names for the caller, and those their queries name, up to
/// [`MAX_REFERENCED`] filters (a query reaching more is refused). A filter the caller may not
/// see is not found, like one that does not exist. Cycles are left to the planner, which
/// knows the path it expands.
pub(crate) async fn reached(
    store: &dyn Store,
    cap: &BrowsableProjects,
    clause: Option<&Clause<Timestamp>>,
    now: Timestamp,
) -> Result<Reached, Error> {
    let mut reached = Reached::default();
    let mut pending = Vec::new();
    if let Some(clause) = clause {
        filter_keys(clause, &mut pending);
    }
    let viewer = cap.actor().id;
    while let Some(key) = pending.pop() {
        if reached.named.contains_key(&key) {
            continue;
        }
        if reached.named.len() == 2 * MAX_REFERENCED {
            return Err(Error::invalid_message(format!(
                "A query may name at most {} saved filters, directly or through the filters \
                 it names.",
                2 * MAX_REFERENCED
            )));
        }
        let by_id = |id: i64| async move {
            Ok::<_, Error>(match store.find_filter(FilterId(id), viewer).await? {
                Some(found) => as_seen_by(cap, found).into_iter().collect(),
                None => Vec::new(),
            })
        };
        let found: Vec<Filter> = match &key {
            FilterKey::Id(id) => by_id(*id).await?,
            FilterKey::Text(text) => {
                let named: Vec<Filter> = store
                    .filters_named(&text.trim().to_lowercase(), viewer)
                    .await?
                    .into_iter()
                    .filter_map(|f| as_seen_by(cap, f))
                    .collect();
                match text.trim().parse() {
                    Ok(id) if named.is_empty() => by_id(id).await?,
                    _ => named,
                }
            }
        };
        let ids = found.iter().map(|f| f.id).collect();
        reached.named.insert(key, ids);
        for filter in found {
            if reached.filters.contains_key(&filter.id) {
                continue;
            }
            if reached.filters.len() == MAX_REFERENCED {
                return Err(Error::invalid_message(format!(
                    "A query may reach at most {MAX_REFERENCED} saved filters, directly or \
                     through the filters it names."
                )));
            }
            let condition = match jql::parse(&filter.jql) {
                Ok(query) => {
                    let condition = query.resolve(now).filter;
                    if let Some(clause) = &condition {
                        filter_keys(clause, &mut pending);
                    }
                    Ok(condition)
                }
                Err(e) => Err(e.to_string()),
            };
            reached.filters.insert(
                filter.id,
                ReachedFilter {
                    name: filter.name,
                    condition,
                },
            );
        }
    }
    Ok(reached)
}
