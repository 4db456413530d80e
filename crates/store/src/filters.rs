//! Saved filters and favourites.

use async_trait::async_trait;
use tessera_core::clock::Timestamp;
use tessera_core::ids::{FilterId, UserId};
use tessera_core::model::{Filter, FilterFields};
use tessera_core::store::{Conflict, FilterStore, StoreError, StoreResult};

use crate::rows::{joined_user, user_columns};
use crate::{SqlStore, backend, on_pool, write_error};

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
    o_display_name: Option<String>,
    o_email: Option<String>,
    o_active: Option<bool>,
    o_has_password: Option<bool>,
    o_created_at: Option<i64>,
    o_service_owner: Option<String>,
}

impl From<FilterRow> for Filter {
    fn from(row: FilterRow) -> Self {
        Filter {
            id: FilterId(row.id),
            owner: joined_user(
                row.o_id,
                row.o_name,
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
        let id: i64 = on_pool!(self, write, |pool| {
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
        Ok(row.map(Filter::from))
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
        let updated = on_pool!(self, write, |pool| sqlx::query(
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
        let deleted = on_pool!(self, write, |pool| sqlx::query(
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
        Ok(rows.into_iter().map(Filter::from).collect())
    }

    async fn set_favourite(&self, id: FilterId, user: UserId, favourite: bool) -> StoreResult<()> {
        on_pool!(self, write, |pool| {
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
}
