//! Projects and project-role membership.

use async_trait::async_trait;
use tessera_core::ids::{ProjectId, UserId};
use tessera_core::model::{NewProject, Project, RoleActor, RoleMember, User};
use tessera_core::permissions::ProjectRole;
use tessera_core::store::{Conflict, ProjectStore, StoreError, StoreResult};

use crate::rows::{ProjectRow, UserRow, project_select, user_columns};
use crate::{SqlStore, backend, on_pool, write_error};

/// Names the uniqueness rule a project insert broke from the constraint or message text.
fn project_conflict(detail: &str) -> Conflict {
    if detail.contains("lower_name") {
        Conflict::ProjectName
    } else {
        Conflict::ProjectKey
    }
}

fn role(id: i64) -> StoreResult<ProjectRole> {
    ProjectRole::from_id(id)
        .ok_or_else(|| StoreError::Backend(format!("stored role {id} is unknown").into()))
}

#[derive(sqlx::FromRow)]
struct RoleUserRow {
    role_id: i64,
    #[sqlx(flatten)]
    user: UserRow,
}

/// Inserts role members inside a transaction, ignoring those already present.
macro_rules! insert_members {
    ($tx:expr, $project:expr, $role:expr, $members:expr) => {
        for member in $members {
            let statement = match member {
                RoleMember::User(_) => {
                    "INSERT INTO project_role_users (project_id, role_id, user_id) \
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
                }
                RoleMember::Group(_) => {
                    "INSERT INTO project_role_groups (project_id, role_id, group_name) \
                     VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
                }
            };
            let query = sqlx::query(statement).bind($project.0).bind($role.id());
            let query = match member {
                RoleMember::User(user) => query.bind(user.0),
                RoleMember::Group(group) => query.bind(group.clone()),
            };
            query
                .execute(&mut *$tx)
                .await
                .map_err(|e| write_error(e, crate::any_conflict))?;
        }
    };
}

#[async_trait]
impl ProjectStore for SqlStore {
    async fn create_project(&self, project: NewProject) -> StoreResult<Project> {
        let id: i64 = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            // Name the duplicate before inserting, so the caller can say which field clashes;
            // the unique indexes still decide races.
            let key_taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM projects WHERE project_key = $1")
                    .bind(&project.key)
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
            if key_taken.is_some() {
                return Err(StoreError::Conflict(Conflict::ProjectKey));
            }
            let name_taken: Option<i64> =
                sqlx::query_scalar("SELECT id FROM projects WHERE lower_name = $1")
                    .bind(project.name.to_lowercase())
                    .fetch_optional(&mut *tx)
                    .await
                    .map_err(backend)?;
            if name_taken.is_some() {
                return Err(StoreError::Conflict(Conflict::ProjectName));
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO projects (project_key, name, lower_name, description, lead_id, \
                 project_type_key, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
            )
            .bind(&project.key)
            .bind(&project.name)
            .bind(project.name.to_lowercase())
            .bind(&project.description)
            .bind(project.lead.0)
            .bind(&project.project_type_key)
            .bind(project.created.as_millis())
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, project_conflict))?;
            for (role, member) in &project.actors {
                insert_members!(tx, ProjectId(id), role, std::iter::once(member));
            }
            tx.commit().await.map_err(backend)?;
            id
        });
        self.find_project(ProjectId(id))
            .await?
            .ok_or(StoreError::MissingReference)
    }

    async fn find_project(&self, id: ProjectId) -> StoreResult<Option<Project>> {
        let row: Option<ProjectRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            project_select!(),
            " WHERE p.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(Project::from))
    }

    async fn find_project_by_key(&self, key: &str) -> StoreResult<Option<Project>> {
        let row: Option<ProjectRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            project_select!(),
            " WHERE p.project_key = $1"
        ))
        .bind(key)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(Project::from))
    }

    async fn list_projects(&self) -> StoreResult<Vec<Project>> {
        let rows: Vec<ProjectRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            project_select!(),
            " ORDER BY p.project_key"
        ))
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows.into_iter().map(Project::from).collect())
    }

    async fn delete_project(&self, id: ProjectId) -> StoreResult<bool> {
        let deleted = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            for statement in [
                "DELETE FROM comments WHERE issue_id IN (SELECT id FROM issues WHERE project_id = $1)",
                "DELETE FROM worklogs WHERE issue_id IN (SELECT id FROM issues WHERE project_id = $1)",
                "DELETE FROM issue_labels WHERE issue_id IN \
                 (SELECT id FROM issues WHERE project_id = $1)",
                "DELETE FROM issue_watchers WHERE issue_id IN \
                 (SELECT id FROM issues WHERE project_id = $1)",
                "DELETE FROM changelog_items WHERE group_id IN (SELECT g.id FROM changelog_groups g \
                 JOIN issues i ON i.id = g.issue_id WHERE i.project_id = $1)",
                "DELETE FROM changelog_groups WHERE issue_id IN \
                 (SELECT id FROM issues WHERE project_id = $1)",
                "DELETE FROM issues WHERE project_id = $1",
                "DELETE FROM project_role_users WHERE project_id = $1",
                "DELETE FROM project_role_groups WHERE project_id = $1",
            ] {
                sqlx::query(statement)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            let deleted = sqlx::query("DELETE FROM projects WHERE id = $1")
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

    async fn role_actors(&self, project: ProjectId) -> StoreResult<Vec<(ProjectRole, RoleActor)>> {
        let (users, groups): (Vec<RoleUserRow>, Vec<(i64, String)>) =
            on_pool!(self, read, |pool| {
                let users = sqlx::query_as(concat!(
                    "SELECT r.role_id, ",
                    user_columns!("u"),
                    " FROM project_role_users r JOIN users u ON u.id = r.user_id",
                    " WHERE r.project_id = $1 ORDER BY u.name"
                ))
                .bind(project.0)
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                let groups = sqlx::query_as(
                    "SELECT r.role_id, COALESCE(g.display_name, g.name) FROM project_role_groups r \
                     JOIN user_groups g ON g.name = r.group_name \
                     WHERE r.project_id = $1 ORDER BY r.group_name",
                )
                .bind(project.0)
                .fetch_all(pool)
                .await
                .map_err(backend)?;
                (users, groups)
            });
        let mut actors = Vec::with_capacity(users.len() + groups.len());
        for row in users {
            actors.push((role(row.role_id)?, RoleActor::User(User::from(row.user))));
        }
        for (role_id, group) in groups {
            actors.push((role(role_id)?, RoleActor::Group(group)));
        }
        Ok(actors)
    }

    /// Remembered under both epochs (memberships move the data epoch, groups the auth one):
    /// every project- or issue-scoped request asks, and the answer changes rarely.
    async fn user_roles(&self, project: ProjectId, user: UserId) -> StoreResult<Vec<ProjectRole>> {
        let key = (project.0, user.0);
        let epochs = self.changes.epochs();
        if let (Some(now), Some((auth, data, ids))) = (epochs, self.roles.get(&key))
            && now == (auth, data)
        {
            return ids.iter().copied().map(role).collect();
        }
        let ids: Vec<i64> = on_pool!(self, read, |pool| sqlx::query_scalar(
            "SELECT role_id FROM project_role_users WHERE project_id = $1 AND user_id = $2 \
             UNION \
             SELECT r.role_id FROM project_role_groups r \
             JOIN group_members m ON m.group_name = r.group_name \
             WHERE r.project_id = $1 AND m.user_id = $2"
        )
        .bind(project.0)
        .bind(user.0)
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        let roles = ids.iter().copied().map(role).collect();
        if let Some((auth, data)) = epochs {
            self.roles.insert(key, (auth, data, ids.into()));
        }
        roles
    }

    async fn user_roles_everywhere(
        &self,
        user: UserId,
    ) -> StoreResult<Vec<(ProjectId, ProjectRole)>> {
        let rows: Vec<(i64, i64)> = on_pool!(self, read, |pool| sqlx::query_as(
            "SELECT project_id, role_id FROM project_role_users WHERE user_id = $1 \
             UNION \
             SELECT r.project_id, r.role_id FROM project_role_groups r \
             JOIN group_members m ON m.group_name = r.group_name WHERE m.user_id = $1"
        )
        .bind(user.0)
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        rows.into_iter()
            .map(|(project, role_id)| Ok((ProjectId(project), role(role_id)?)))
            .collect()
    }

    async fn add_role_members(
        &self,
        project: ProjectId,
        role: ProjectRole,
        members: &[RoleMember],
    ) -> StoreResult<()> {
        on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            insert_members!(tx, project, role, members);
            tx.commit().await.map_err(backend)?;
        });
        Ok(())
    }

    async fn remove_role_member(
        &self,
        project: ProjectId,
        role: ProjectRole,
        member: &RoleMember,
    ) -> StoreResult<bool> {
        let removed = on_pool!(self, write_work, |pool| match member {
            RoleMember::User(user) => sqlx::query(
                "DELETE FROM project_role_users WHERE project_id = $1 AND role_id = $2 \
                 AND user_id = $3",
            )
            .bind(project.0)
            .bind(role.id())
            .bind(user.0)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
            RoleMember::Group(group) => sqlx::query(
                "DELETE FROM project_role_groups WHERE project_id = $1 AND role_id = $2 \
                 AND group_name = $3",
            )
            .bind(project.0)
            .bind(role.id())
            .bind(group)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()),
        }
        .map_err(backend))?;
        Ok(removed == 1)
    }

    async fn set_role_members(
        &self,
        project: ProjectId,
        role: ProjectRole,
        members: &[RoleMember],
    ) -> StoreResult<()> {
        on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            for statement in [
                "DELETE FROM project_role_users WHERE project_id = $1 AND role_id = $2",
                "DELETE FROM project_role_groups WHERE project_id = $1 AND role_id = $2",
            ] {
                sqlx::query(statement)
                    .bind(project.0)
                    .bind(role.id())
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            insert_members!(tx, project, role, members);
            tx.commit().await.map_err(backend)?;
        });
        Ok(())
    }
}
