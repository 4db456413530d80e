//! Projects' versions and components. Names are unique in their project regardless of case;
//! a version's place in its project's order is its `sequence`, rewritten in one transaction
//! when it moves; deleting one moves its issues to another (or none) in the same transaction.

use async_trait::async_trait;
use tessera_core::ids::{ComponentId, ProjectId, VersionId};
use tessera_core::model::{Component, ComponentFields, Version, VersionFields};
use tessera_core::search::PlanningName;
use tessera_core::store::{Conflict, PlanningStore, StoreError, StoreResult};

use crate::rows::{joined_user, user_columns};
use crate::search::PlanningTable;
use crate::{SqlStore, backend, on_pool, write_error};

fn version_conflict(_: &str) -> Conflict {
    Conflict::VersionName
}

fn component_conflict(_: &str) -> Conflict {
    Conflict::ComponentName
}

const VERSION_COLUMNS: &str = "SELECT id, project_id, name, description, released, archived, \
     release_date, start_date, sequence FROM versions";

#[derive(sqlx::FromRow)]
struct VersionRow {
    id: i64,
    project_id: i64,
    name: String,
    description: Option<String>,
    released: bool,
    archived: bool,
    release_date: Option<String>,
    start_date: Option<String>,
    sequence: i64,
}

impl From<VersionRow> for Version {
    fn from(row: VersionRow) -> Self {
        Version {
            id: VersionId(row.id),
            project_id: ProjectId(row.project_id),
            name: row.name,
            description: row.description,
            released: row.released,
            archived: row.archived,
            release_date: row.release_date,
            start_date: row.start_date,
            sequence: row.sequence,
        }
    }
}

macro_rules! component_select {
    () => {
        concat!(
            "SELECT c.id, c.project_id, c.name, c.description, c.assignee_type, ",
            user_columns!("l"),
            " FROM components c LEFT JOIN users l ON l.id = c.lead_id"
        )
    };
}

#[derive(sqlx::FromRow)]
struct ComponentRow {
    id: i64,
    project_id: i64,
    name: String,
    description: Option<String>,
    assignee_type: String,
    l_id: Option<i64>,
    l_name: Option<String>,
    l_cased_name: Option<String>,
    l_display_name: Option<String>,
    l_email: Option<String>,
    l_active: Option<bool>,
    l_has_password: Option<bool>,
    l_created_at: Option<i64>,
    l_service_owner: Option<String>,
}

impl From<ComponentRow> for Component {
    fn from(row: ComponentRow) -> Self {
        Component {
            id: ComponentId(row.id),
            project_id: ProjectId(row.project_id),
            name: row.name,
            description: row.description,
            lead: joined_user(
                row.l_id,
                row.l_name,
                row.l_cased_name,
                row.l_display_name,
                row.l_email,
                row.l_active,
                row.l_has_password,
                row.l_created_at,
                row.l_service_owner,
            ),
            assignee_type: row.assignee_type,
        }
    }
}

#[async_trait]
impl PlanningStore for SqlStore {
    async fn create_version(
        &self,
        project: ProjectId,
        fields: &VersionFields,
    ) -> StoreResult<Version> {
        let name = fields.name.clone().unwrap_or_default();
        let id: i64 = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let last: Option<i64> =
                sqlx::query_scalar("SELECT MAX(sequence) FROM versions WHERE project_id = $1")
                    .bind(project.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO versions (project_id, name, name_lower, description, released, \
                 archived, release_date, start_date, sequence) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(project.0)
            .bind(&name)
            .bind(name.to_lowercase())
            .bind(fields.description.clone().flatten())
            .bind(fields.released.unwrap_or(false))
            .bind(fields.archived.unwrap_or(false))
            .bind(fields.release_date.clone().flatten())
            .bind(fields.start_date.clone().flatten())
            .bind(last.unwrap_or(0) + 1)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, version_conflict))?;
            tx.commit().await.map_err(backend)?;
            id
        });
        self.find_version(VersionId(id))
            .await?
            .ok_or(StoreError::MissingReference)
    }

    async fn find_version(&self, id: VersionId) -> StoreResult<Option<Version>> {
        let sql = format!("{VERSION_COLUMNS} WHERE id = $1");
        let row: Option<VersionRow> = on_pool!(self, read, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.as_str())
        )
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(Version::from))
    }

    async fn list_versions(&self, project: ProjectId) -> StoreResult<Vec<Version>> {
        let sql = format!("{VERSION_COLUMNS} WHERE project_id = $1 ORDER BY sequence, id");
        let rows: Vec<VersionRow> = on_pool!(self, read, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(sql.as_str())
        )
        .bind(project.0)
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows.into_iter().map(Version::from).collect())
    }

    async fn update_version(
        &self,
        id: VersionId,
        fields: &VersionFields,
    ) -> StoreResult<Option<Version>> {
        let Some(current) = self.find_version(id).await? else {
            return Ok(None);
        };
        let name = fields.name.clone().unwrap_or(current.name);
        let updated = on_pool!(self, write_work, |pool| sqlx::query(
            "UPDATE versions SET name = $2, name_lower = $3, description = $4, released = $5, \
             archived = $6, release_date = $7, start_date = $8 WHERE id = $1"
        )
        .bind(id.0)
        .bind(&name)
        .bind(name.to_lowercase())
        .bind(fields.description.clone().unwrap_or(current.description))
        .bind(fields.released.unwrap_or(current.released))
        .bind(fields.archived.unwrap_or(current.archived))
        .bind(fields.release_date.clone().unwrap_or(current.release_date))
        .bind(fields.start_date.clone().unwrap_or(current.start_date))
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, version_conflict)))?;
        if updated == 0 {
            return Ok(None);
        }
        self.find_version(id).await
    }

    async fn move_version(&self, id: VersionId, position: usize) -> StoreResult<Option<Version>> {
        let Some(moving) = self.find_version(id).await? else {
            return Ok(None);
        };
        on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let mut order: Vec<i64> = sqlx::query_scalar(
                "SELECT id FROM versions WHERE project_id = $1 ORDER BY sequence, id",
            )
            .bind(moving.project_id.0)
            .fetch_all(&mut *tx)
            .await
            .map_err(backend)?;
            order.retain(|v| *v != id.0);
            order.insert(position.min(order.len()), id.0);
            for (n, version) in order.iter().enumerate() {
                sqlx::query("UPDATE versions SET sequence = $1 WHERE id = $2")
                    .bind(n as i64 + 1)
                    .bind(version)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            tx.commit().await.map_err(backend)?;
        });
        self.find_version(id).await
    }

    async fn delete_version(
        &self,
        id: VersionId,
        fix_to: Option<VersionId>,
        affected_to: Option<VersionId>,
    ) -> StoreResult<bool> {
        let deleted = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            for (kind, to) in [("fix", fix_to), ("affects", affected_to)] {
                if let Some(to) = to {
                    sqlx::query(
                        "INSERT INTO issue_versions (issue_id, version_id, kind) \
                         SELECT issue_id, $1, kind FROM issue_versions \
                         WHERE version_id = $2 AND kind = $3 ON CONFLICT DO NOTHING",
                    )
                    .bind(to.0)
                    .bind(id.0)
                    .bind(kind)
                    .execute(&mut *tx)
                    .await
                    .map_err(|e| write_error(e, version_conflict))?;
                }
            }
            sqlx::query("DELETE FROM issue_versions WHERE version_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let deleted = sqlx::query("DELETE FROM versions WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            tx.commit().await.map_err(backend)?;
            deleted
        });
        Ok(deleted > 0)
    }

    async fn version_issue_counts(&self, id: VersionId) -> StoreResult<(i64, i64)> {
        let counts: (i64, i64) = on_pool!(self, read, |pool| sqlx::query_as(
            "SELECT \
             (SELECT COUNT(*) FROM issue_versions WHERE version_id = $1 AND kind = 'fix'), \
             (SELECT COUNT(*) FROM issue_versions WHERE version_id = $1 AND kind = 'affects')"
        )
        .bind(id.0)
        .fetch_one(pool)
        .await
        .map_err(backend))?;
        Ok(counts)
    }

    async fn create_component(
        &self,
        project: ProjectId,
        fields: &ComponentFields,
    ) -> StoreResult<Component> {
        let name = fields.name.clone().unwrap_or_default();
        let id: i64 = on_pool!(self, write_work, |pool| sqlx::query_scalar(
            "INSERT INTO components (project_id, name, name_lower, description, lead_id, \
             assignee_type) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id"
        )
        .bind(project.0)
        .bind(&name)
        .bind(name.to_lowercase())
        .bind(fields.description.clone().flatten())
        .bind(fields.lead.flatten().map(|u| u.0))
        .bind(fields.assignee_type.as_deref().unwrap_or("PROJECT_DEFAULT"))
        .fetch_one(pool)
        .await
        .map_err(|e| write_error(e, component_conflict)))?;
        self.find_component(ComponentId(id))
            .await?
            .ok_or(StoreError::MissingReference)
    }

    async fn find_component(&self, id: ComponentId) -> StoreResult<Option<Component>> {
        let row: Option<ComponentRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            component_select!(),
            " WHERE c.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(Component::from))
    }

    async fn list_components(&self, project: ProjectId) -> StoreResult<Vec<Component>> {
        let rows: Vec<ComponentRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            component_select!(),
            " WHERE c.project_id = $1 ORDER BY c.name_lower, c.id"
        ))
        .bind(project.0)
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows.into_iter().map(Component::from).collect())
    }

    async fn update_component(
        &self,
        id: ComponentId,
        fields: &ComponentFields,
    ) -> StoreResult<Option<Component>> {
        let Some(current) = self.find_component(id).await? else {
            return Ok(None);
        };
        let name = fields.name.clone().unwrap_or(current.name);
        let lead = match fields.lead {
            Some(lead) => lead,
            None => current.lead.map(|u| u.id),
        };
        let updated = on_pool!(self, write_work, |pool| sqlx::query(
            "UPDATE components SET name = $2, name_lower = $3, description = $4, lead_id = $5, \
             assignee_type = $6 WHERE id = $1"
        )
        .bind(id.0)
        .bind(&name)
        .bind(name.to_lowercase())
        .bind(fields.description.clone().unwrap_or(current.description))
        .bind(lead.map(|u| u.0))
        .bind(
            fields
                .assignee_type
                .clone()
                .unwrap_or(current.assignee_type)
        )
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, component_conflict)))?;
        if updated == 0 {
            return Ok(None);
        }
        self.find_component(id).await
    }

    async fn delete_component(
        &self,
        id: ComponentId,
        move_to: Option<ComponentId>,
    ) -> StoreResult<bool> {
        let deleted = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            if let Some(to) = move_to {
                sqlx::query(
                    "INSERT INTO issue_components (issue_id, component_id) \
                     SELECT issue_id, $1 FROM issue_components WHERE component_id = $2 \
                     ON CONFLICT DO NOTHING",
                )
                .bind(to.0)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, component_conflict))?;
            }
            sqlx::query("DELETE FROM issue_components WHERE component_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            let deleted = sqlx::query("DELETE FROM components WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            tx.commit().await.map_err(backend)?;
            deleted
        });
        Ok(deleted > 0)
    }

    async fn component_issue_count(&self, id: ComponentId) -> StoreResult<i64> {
        Ok(on_pool!(self, read, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM issue_components WHERE component_id = $1"
        )
        .bind(id.0)
        .fetch_one(pool)
        .await
        .map_err(backend))?)
    }

    async fn locate_versions(
        &self,
        names: &[String],
        ids: &[i64],
    ) -> StoreResult<Vec<PlanningName>> {
        self.find_planning_names(PlanningTable::Versions, names, ids)
            .await
    }

    async fn locate_components(
        &self,
        names: &[String],
        ids: &[i64],
    ) -> StoreResult<Vec<PlanningName>> {
        self.find_planning_names(PlanningTable::Components, names, ids)
            .await
    }
}
