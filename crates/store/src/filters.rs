//! Saved filters and favourites.

use async_trait::async_trait;
use std::collections::HashMap;
use tessera_core::clock::Timestamp;
use tessera_core::ids::{FilterId, UserId};

use tessera_core::ids::ProjectId;
use tessera_core::model::{Filter, FilterFields, FilterShare, ShareTarget};
use tessera_core::permissions::ProjectRole;
use tessera_core::store::{Conflict, FilterStore, StoreError, StoreResult};

use crate::rows::{corrupt, joined_user, user_columns};
use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

fn name_conflict(_: &str) -> Conflict {
    Conflict::FilterName
}

/// Filters with their owner and whether the user bound at `$1` counts each a favourite.
macro_rules! filter_select {
    () => {
        concat!(
            "SELECT f.id, f.name, f.description, f.jql, ",
            "EXISTS (SELECT 1 FROM filter_favourites ff WHERE ff.filter_id = f.id ",
            "AND ff.user_id = $1) AS favourite, ",
            user_columns!("o"),
            " FROM filters f LEFT JOIN users o ON o.id = f.owner_id"
        )
    };
}

#[derive(sqlx::FromRow)]
struct FilterRow {
    id: i64,
    name: String,
    description: Option<String>,
    jql: String,
    favourite: bool,
    o_id: Option<i64>,
    o_name: Option<String>,
    o_cased_name: Option<String>,
    o_display_name: Option<String>,
    o_email: Option<String>,
    o_active: Option<bool>,
    o_has_password: Option<bool>,
    o_created_at: Option<i64>,
    o_service_owner: Option<String>,
}

#[derive(sqlx::FromRow)]
struct ShareRow {
    id: i64,
    filter_id: i64,
    kind: String,
    group_name: Option<String>,
    project_id: Option<i64>,
    role_id: Option<i64>,
}

impl ShareRow {
    fn share(self) -> StoreResult<FilterShare> {
        let target = match (self.kind.as_str(), self.group_name, self.project_id) {
            ("global", _, _) => ShareTarget::Global,
            ("group", Some(group), _) => ShareTarget::Group(group),
            ("project", _, Some(project)) => ShareTarget::Project(ProjectId(project)),
            ("role", _, Some(project)) => {
                let role = self.role_id.unwrap_or_default();
                ShareTarget::ProjectRole(
                    ProjectId(project),
                    ProjectRole::from_id(role).ok_or_else(|| corrupt("project role", role))?,
                )
            }
            _ => return Err(corrupt("filter share", self.id)),
        };
        Ok(FilterShare {
            id: self.id,
            target,
        })
    }
}

/// The columns of a share, and the text that keeps one share per audience.
fn share_columns(
    target: &ShareTarget,
) -> (&'static str, Option<&str>, Option<i64>, Option<i64>, String) {
    match target {
        ShareTarget::Global => ("global", None, None, None, "global".into()),
        ShareTarget::Group(group) => ("group", Some(group), None, None, format!("group:{group}")),
        ShareTarget::Project(project) => (
            "project",
            None,
            Some(project.0),
            None,
            format!("project:{}", project.0),
        ),
        ShareTarget::ProjectRole(project, role) => (
            "role",
            None,
            Some(project.0),
            Some(role.id()),
            format!("role:{}:{}", project.0, role.id()),
        ),
    }
}

/// The shares of the filters `$1` selects (`condition` on `s.filter_id`), on the filters.
macro_rules! with_shares {
    ($self:expr, $filters:expr, $condition:expr, $bind:expr) => {{
        let mut filters: Vec<Filter> = $filters;
        if !filters.is_empty() {
            let rows: Vec<ShareRow> = on_pool!($self, read, |pool| sqlx::query_as(concat!(
                "SELECT s.id, s.filter_id, s.kind, s.group_name, s.project_id, s.role_id ",
                "FROM filter_shares s WHERE ",
                $condition,
                " ORDER BY s.id"
            ))
            .bind($bind)
            .fetch_all(pool)
            .await
            .map_err(backend))?;
            let mut by_filter: HashMap<i64, Vec<FilterShare>> = HashMap::new();
            for row in rows {
                let filter = row.filter_id;
                by_filter.entry(filter).or_default().push(row.share()?);
            }
            for filter in &mut filters {
                filter.shares = by_filter.remove(&filter.id.0).unwrap_or_default();
            }
        }
        filters
    }};
}

impl From<FilterRow> for Filter {
    fn from(row: FilterRow) -> Self {
        Filter {
            id: FilterId(row.id),
            owner: joined_user(
                row.o_id,
                row.o_name,
                row.o_cased_name,
                row.o_display_name,
                row.o_email,
                row.o_active,
                row.o_has_password,
                row.o_created_at,
                row.o_service_owner,
            ),
            name: row.name,
            description: row.description,
            jql: row.jql,
            favourite: row.favourite,
            shares: Vec::new(),
        }
    }
}

#[async_trait]
impl FilterStore for SqlStore {
    async fn create_filter(
        &self,
        owner: UserId,
        fields: &FilterFields,
        favourite: bool,
        at: Timestamp,
    ) -> StoreResult<Filter> {
        let (Some(name), Some(jql)) = (&fields.name, &fields.jql) else {
            return Err(StoreError::Backend(
                "a filter needs a name and a query".into(),
            ));
        };
        let description = fields.description.clone().flatten();
        let id: i64 = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO filters (owner_id, name, name_lower, description, jql, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
            )
            .bind(owner.0)
            .bind(name)
            .bind(name.to_lowercase())
            .bind(&description)
            .bind(jql)
            .bind(at.as_millis())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, name_conflict))?;
            if favourite {
                sqlx::query("INSERT INTO filter_favourites (filter_id, user_id) VALUES ($1, $2)")
                    .bind(id)
                    .bind(owner.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            tx.commit().await.map_err(backend)?;
            id
        });
        self.find_filter(FilterId(id), owner)
            .await?
            .ok_or(StoreError::MissingReference)
    }

    async fn find_filter(&self, id: FilterId, viewer: UserId) -> StoreResult<Option<Filter>> {
        let row: Option<FilterRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            filter_select!(),
            " WHERE f.id = $2"
        ))
        .bind(viewer.0)
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        let found = with_shares!(
            self,
            row.map(Filter::from).into_iter().collect(),
            "s.filter_id = $1",
            id.0
        );
        Ok(found.into_iter().next())
    }

    async fn update_filter(
        &self,
        id: FilterId,
        fields: &FilterFields,
        viewer: UserId,
    ) -> StoreResult<Option<Filter>> {
        let Some(current) = self.find_filter(id, viewer).await? else {
            return Ok(None);
        };
        let name = fields.name.clone().unwrap_or(current.name);
        let description = fields.description.clone().unwrap_or(current.description);
        let jql = fields.jql.clone().unwrap_or(current.jql);
        let updated = on_pool!(self, write_work, |pool| sqlx::query(
            "UPDATE filters SET name = $2, name_lower = $3, description = $4, jql = $5 \
             WHERE id = $1"
        )
        .bind(id.0)
        .bind(&name)
        .bind(name.to_lowercase())
        .bind(&description)
        .bind(&jql)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, name_conflict))?
        .rows_affected());
        if updated == 0 {
            return Ok(None);
        }
        self.find_filter(id, viewer).await
    }

    async fn delete_filter(&self, id: FilterId) -> StoreResult<bool> {
        let deleted = on_pool!(self, write_work, |pool| sqlx::query(
            "DELETE FROM filters WHERE id = $1"
        )
        .bind(id.0)
        .execute(pool)
        .await
        .map_err(backend)?
        .rows_affected());
        Ok(deleted == 1)
    }

    async fn favourite_filters(&self, user: UserId) -> StoreResult<Vec<Filter>> {
        let rows: Vec<FilterRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            filter_select!(),
            " WHERE EXISTS (SELECT 1 FROM filter_favourites fv WHERE fv.filter_id = f.id ",
            "AND fv.user_id = $1) ORDER BY f.name_lower, f.id"
        ))
        .bind(user.0)
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(with_shares!(
            self,
            rows.into_iter().map(Filter::from).collect(),
            "s.filter_id IN (SELECT fv.filter_id FROM filter_favourites fv WHERE fv.user_id = $1)",
            user.0
        ))
    }

    async fn set_favourite(&self, id: FilterId, user: UserId, favourite: bool) -> StoreResult<()> {
        on_pool!(self, write_work, |pool| {
            let query = if favourite {
                "INSERT INTO filter_favourites (filter_id, user_id) VALUES ($1, $2) \
                 ON CONFLICT DO NOTHING"
            } else {
                "DELETE FROM filter_favourites WHERE filter_id = $1 AND user_id = $2"
            };
            sqlx::query(query)
                .bind(id.0)
                .bind(user.0)
                .execute(pool)
                .await
                .map_err(|e| write_error(e, name_conflict))?;
        });
        Ok(())
    }

    async fn filters_named(&self, name_lower: &str, viewer: UserId) -> StoreResult<Vec<Filter>> {
        let rows: Vec<FilterRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            filter_select!(),
            " WHERE f.name_lower = $2 ORDER BY f.id"
        ))
        .bind(viewer.0)
        .bind(name_lower)
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(with_shares!(
            self,
            rows.into_iter().map(Filter::from).collect(),
            "s.filter_id IN (SELECT f.id FROM filters f WHERE f.name_lower = $1)",
            name_lower
        ))
    }

    async fn add_filter_share(&self, id: FilterId, target: &ShareTarget) -> StoreResult<i64> {
        let (kind, group, project, role, key) = share_columns(target);
        let share: Option<i64> = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            sqlx::query(
                "INSERT INTO filter_shares (filter_id, kind, group_name, project_id, role_id, \
                 target) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (filter_id, target) \
                 DO NOTHING",
            )
            .bind(id.0)
            .bind(kind)
            .bind(group)
            .bind(project)
            .bind(role)
            .bind(&key)
            .execute(&mut *tx)
            .await
            .map_err(|e| write_error(e, any_conflict))?;
            let share = sqlx::query_scalar(
                "SELECT id FROM filter_shares WHERE filter_id = $1 AND target = $2",
            )
            .bind(id.0)
            .bind(&key)
            .fetch_optional(&mut *tx)
            .await
            .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            share
        });
        share.ok_or(StoreError::MissingReference)
    }

    async fn remove_filter_share(&self, id: FilterId, share: i64) -> StoreResult<bool> {
        let removed = on_pool!(self, write_work, |pool| sqlx::query(
            "DELETE FROM filter_shares WHERE filter_id = $1 AND id = $2"
        )
        .bind(id.0)
        .bind(share)
        .execute(pool)
        .await
        .map_err(backend)?
        .rows_affected());
        Ok(removed == 1)
    }
}
