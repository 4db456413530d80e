//! Links between issues and their types, and links from issues to things elsewhere. Making or
//! removing a link writes the "Link" item on both issues' changelogs in the same transaction.

use async_trait::async_trait;
use tessera_core::catalog::{IssueType, Priority, Status};
use tessera_core::changelog::{self, ChangeAuthor, ChangeItem};
use tessera_core::clock::Timestamp;
use tessera_core::ids::{IssueId, IssueLinkId, LinkTypeId, ProjectId, RemoteLinkId};
use tessera_core::model::{
    IssueLink, LinkType, LinkTypeFields, LinkedIssue, RemoteLink, RemoteLinkFields,
};
use tessera_core::store::{Conflict, LinkStore, StoreError, StoreResult};

use crate::issues::record_change;
use crate::rows::corrupt;
use crate::{SqlStore, backend, on_pool, write_error};

fn link_type_conflict(_: &str) -> Conflict {
    Conflict::LinkTypeName
}

fn global_id_conflict(_: &str) -> Conflict {
    Conflict::RemoteLinkGlobalId
}

const LINK_TYPE_COLUMNS: &str = "SELECT id, name, inward, outward FROM issue_link_types";

#[derive(sqlx::FromRow)]
struct LinkTypeRow {
    id: i64,
    name: String,
    inward: String,
    outward: String,
}

impl From<LinkTypeRow> for LinkType {
    fn from(row: LinkTypeRow) -> Self {
        LinkType {
            id: LinkTypeId(row.id),
            name: row.name,
            inward: row.inward,
            outward: row.outward,
        }
    }
}

/// A link with its type and both issues, one row each.
const LINK_SELECT: &str = "SELECT l.id, t.id AS type_id, t.name AS type_name, \
     t.inward AS type_inward, t.outward AS type_outward, \
     s.id AS s_id, s.project_id AS s_project_id, sp.project_key AS s_project_key, \
     s.number AS s_number, s.summary AS s_summary, s.status_id AS s_status_id, \
     s.priority_id AS s_priority_id, s.issue_type_id AS s_issue_type_id, \
     d.id AS d_id, d.project_id AS d_project_id, dp.project_key AS d_project_key, \
     d.number AS d_number, d.summary AS d_summary, d.status_id AS d_status_id, \
     d.priority_id AS d_priority_id, d.issue_type_id AS d_issue_type_id \
     FROM issue_links l JOIN issue_link_types t ON t.id = l.type_id \
     JOIN issues s ON s.id = l.source_id JOIN projects sp ON sp.id = s.project_id \
     JOIN issues d ON d.id = l.destination_id JOIN projects dp ON dp.id = d.project_id";

#[derive(sqlx::FromRow)]
struct LinkRow {
    id: i64,
    type_id: i64,
    type_name: String,
    type_inward: String,
    type_outward: String,
    s_id: i64,
    s_project_id: i64,
    s_project_key: String,
    s_number: i64,
    s_summary: String,
    s_status_id: i64,
    s_priority_id: i64,
    s_issue_type_id: i64,
    d_id: i64,
    d_project_id: i64,
    d_project_key: String,
    d_number: i64,
    d_summary: String,
    d_status_id: i64,
    d_priority_id: i64,
    d_issue_type_id: i64,
}

#[allow(clippy::too_many_arguments)]
fn linked_issue(
    id: i64,
    project_id: i64,
    project_key: String,
    number: i64,
    summary: String,
    status: i64,
    priority: i64,
    issue_type: i64,
) -> StoreResult<LinkedIssue> {
    Ok(LinkedIssue {
        id: IssueId(id),
        project_id: ProjectId(project_id),
        project_key,
        number,
        summary,
        status: Status::from_id(status).ok_or_else(|| corrupt("status", status))?,
        priority: Priority::from_id(priority).ok_or_else(|| corrupt("priority", priority))?,
        issue_type: IssueType::from_id(issue_type)
            .ok_or_else(|| corrupt("issue type", issue_type))?,
    })
}

impl LinkRow {
    fn into_link(self) -> StoreResult<IssueLink> {
        Ok(IssueLink {
            id: IssueLinkId(self.id),
            link_type: LinkType {
                id: LinkTypeId(self.type_id),
                name: self.type_name,
                inward: self.type_inward,
                outward: self.type_outward,
            },
            source: linked_issue(
                self.s_id,
                self.s_project_id,
                self.s_project_key,
                self.s_number,
                self.s_summary,
                self.s_status_id,
                self.s_priority_id,
                self.s_issue_type_id,
            )?,
            destination: linked_issue(
                self.d_id,
                self.d_project_id,
                self.d_project_key,
                self.d_number,
                self.d_summary,
                self.d_status_id,
                self.d_priority_id,
                self.d_issue_type_id,
            )?,
        })
    }
}

const REMOTE_COLUMNS: &str = "SELECT id, issue_id, global_id, application, relationship, object \
     FROM remote_links";

#[derive(sqlx::FromRow)]
struct RemoteRow {
    id: i64,
    issue_id: i64,
    global_id: Option<String>,
    application: Option<String>,
    relationship: Option<String>,
    object: String,
}

impl From<RemoteRow> for RemoteLink {
    fn from(row: RemoteRow) -> Self {
        RemoteLink {
            id: RemoteLinkId(row.id),
            issue_id: IssueId(row.issue_id),
            global_id: row.global_id,
            application: row.application,
            relationship: row.relationship,
            object: row.object,
        }
    }
}

/// Reads one link in the open transaction `tx`.
macro_rules! link_in_tx {
    ($tx:ident, $id:expr) => {{
        let row: Option<LinkRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "{LINK_SELECT} WHERE l.id = $1"
        )))
        .bind($id)
        .fetch_optional(&mut *$tx)
        .await
        .map_err(backend)?;
        row.map(LinkRow::into_link).transpose()?
    }};
}

/// Writes the "Link" item of `link` on both of its issues, in the open transaction `tx`.
macro_rules! record_link {
    ($tx:ident, $link:expr, $added:expr, $author:expr, $now:expr) => {{
        for (issue, item) in changelog::link_items($link, $added) {
            let items: [ChangeItem; 1] = [item];
            record_change!($tx, issue.0, $author, $now, &items);
        }
    }};
}

#[async_trait]
impl LinkStore for SqlStore {
    async fn list_link_types(&self) -> StoreResult<Vec<LinkType>> {
        let rows: Vec<LinkTypeRow> = on_pool!(self, read, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(format!("{LINK_TYPE_COLUMNS} ORDER BY name_lower, id"))
        )
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows.into_iter().map(LinkType::from).collect())
    }

    async fn find_link_type(&self, id: LinkTypeId) -> StoreResult<Option<LinkType>> {
        let row: Option<LinkTypeRow> = on_pool!(self, read, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(format!("{LINK_TYPE_COLUMNS} WHERE id = $1"))
        )
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(LinkType::from))
    }

    async fn create_link_type(&self, fields: &LinkTypeFields) -> StoreResult<LinkType> {
        let (Some(name), Some(inward), Some(outward)) =
            (&fields.name, &fields.inward, &fields.outward)
        else {
            return Err(StoreError::Backend("a link type needs every field".into()));
        };
        let id: i64 = on_pool!(self, write_work, |pool| sqlx::query_scalar(
            "INSERT INTO issue_link_types (name, name_lower, inward, outward) \
             VALUES ($1, $2, $3, $4) RETURNING id"
        )
        .bind(name)
        .bind(name.to_lowercase())
        .bind(inward)
        .bind(outward)
        .fetch_one(pool)
        .await
        .map_err(|e| write_error(e, link_type_conflict)))?;
        Ok(LinkType {
            id: LinkTypeId(id),
            name: name.clone(),
            inward: inward.clone(),
            outward: outward.clone(),
        })
    }

    async fn update_link_type(
        &self,
        id: LinkTypeId,
        fields: &LinkTypeFields,
    ) -> StoreResult<Option<LinkType>> {
        let Some(current) = self.find_link_type(id).await? else {
            return Ok(None);
        };
        let name = fields.name.clone().unwrap_or(current.name);
        let inward = fields.inward.clone().unwrap_or(current.inward);
        let outward = fields.outward.clone().unwrap_or(current.outward);
        let updated = on_pool!(self, write_work, |pool| sqlx::query(
            "UPDATE issue_link_types SET name = $2, name_lower = $3, inward = $4, outward = $5 \
             WHERE id = $1"
        )
        .bind(id.0)
        .bind(&name)
        .bind(name.to_lowercase())
        .bind(&inward)
        .bind(&outward)
        .execute(pool)
        .await
        .map_err(|e| write_error(e, link_type_conflict))?
        .rows_affected());
        Ok((updated == 1).then_some(LinkType {
            id,
            name,
            inward,
            outward,
        }))
    }

    async fn delete_link_type(&self, id: LinkTypeId) -> StoreResult<bool> {
        let deleted = on_pool!(self, write_work, |pool| sqlx::query(
            "DELETE FROM issue_link_types WHERE id = $1"
        )
        .bind(id.0)
        .execute(pool)
        .await
        .map_err(backend)?
        .rows_affected());
        Ok(deleted == 1)
    }

    async fn link_issues(
        &self,
        link_type: LinkTypeId,
        source: IssueId,
        destination: IssueId,
        author: &ChangeAuthor,
        at: Timestamp,
    ) -> StoreResult<IssueLink> {
        let now = at.as_millis();
        on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let inserted: Option<i64> = sqlx::query_scalar(
                "INSERT INTO issue_links (type_id, source_id, destination_id, created_at) \
                 VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING id",
            )
            .bind(link_type.0)
            .bind(source.0)
            .bind(destination.0)
            .bind(now)
            .fetch_optional(&mut *tx)
            .await
            .map_err(|e| write_error(e, |_| Conflict::Other))?;
            let id = match inserted {
                Some(id) => id,
                None => sqlx::query_scalar(
                    "SELECT id FROM issue_links WHERE source_id = $1 AND destination_id = $2 \
                     AND type_id = $3",
                )
                .bind(source.0)
                .bind(destination.0)
                .bind(link_type.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?
                .ok_or(StoreError::MissingReference)?,
            };
            let link = link_in_tx!(tx, id).ok_or(StoreError::MissingReference)?;
            if inserted.is_some() {
                record_link!(tx, &link, true, author, now);
            }
            tx.commit().await.map_err(backend)?;
            Ok(link)
        })
    }

    async fn find_issue_link(&self, id: IssueLinkId) -> StoreResult<Option<IssueLink>> {
        let row: Option<LinkRow> = on_pool!(self, read, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(format!("{LINK_SELECT} WHERE l.id = $1"))
        )
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        row.map(LinkRow::into_link).transpose()
    }

    async fn issue_links(&self, issue: IssueId) -> StoreResult<Vec<IssueLink>> {
        let rows: Vec<LinkRow> = on_pool!(self, read, |pool| sqlx::query_as(sqlx::AssertSqlSafe(
            format!("{LINK_SELECT} WHERE l.source_id = $1 OR l.destination_id = $1 ORDER BY l.id")
        ))
        .bind(issue.0)
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        rows.into_iter().map(LinkRow::into_link).collect()
    }

    async fn issue_links_of(&self, issues: &[IssueId]) -> StoreResult<Vec<IssueLink>> {
        if issues.is_empty() {
            return Ok(Vec::new());
        }
        // Only placeholders are written into the text (each bound once, used twice).
        let list = crate::search::placeholders(issues.len());
        let sql = format!(
            "{LINK_SELECT} WHERE l.source_id IN ({list}) OR l.destination_id IN ({list}) \
             ORDER BY l.id"
        );
        let rows: Vec<LinkRow> = on_pool!(self, read, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
            for issue in issues {
                query = query.bind(issue.0);
            }
            query.fetch_all(pool).await.map_err(backend)
        })?;
        rows.into_iter().map(LinkRow::into_link).collect()
    }

    async fn delete_issue_link(
        &self,
        id: IssueLinkId,
        author: &ChangeAuthor,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let now = at.as_millis();
        on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let Some(link) = link_in_tx!(tx, id.0) else {
                return Ok(false);
            };
            let deleted = sqlx::query("DELETE FROM issue_links WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            if deleted == 1 {
                record_link!(tx, &link, false, author, now);
            }
            tx.commit().await.map_err(backend)?;
            Ok(deleted == 1)
        })
    }

    async fn save_remote_link(
        &self,
        issue: IssueId,
        link: &RemoteLinkFields,
        at: Timestamp,
    ) -> StoreResult<(RemoteLink, bool)> {
        let now = at.as_millis();
        let (id, created): (i64, bool) = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let existing: Option<i64> = match &link.global_id {
                Some(global_id) => sqlx::query_scalar(
                    "SELECT id FROM remote_links WHERE issue_id = $1 AND global_id = $2",
                )
                .bind(issue.0)
                .bind(global_id)
                .fetch_optional(&mut *tx)
                .await
                .map_err(backend)?,
                None => None,
            };
            let saved = match existing {
                Some(id) => {
                    sqlx::query(
                        "UPDATE remote_links SET application = $2, relationship = $3, \
                         object = $4, updated_at = $5 WHERE id = $1",
                    )
                    .bind(id)
                    .bind(&link.application)
                    .bind(&link.relationship)
                    .bind(&link.object)
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                    (id, false)
                }
                None => {
                    let id: i64 = sqlx::query_scalar(
                        "INSERT INTO remote_links (issue_id, global_id, application, \
                         relationship, object, created_at, updated_at) \
                         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
                    )
                    .bind(issue.0)
                    .bind(&link.global_id)
                    .bind(&link.application)
                    .bind(&link.relationship)
                    .bind(&link.object)
                    .bind(now)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(|e| write_error(e, global_id_conflict))?;
                    (id, true)
                }
            };
            tx.commit().await.map_err(backend)?;
            saved
        });
        Ok((
            RemoteLink {
                id: RemoteLinkId(id),
                issue_id: issue,
                global_id: link.global_id.clone(),
                application: link.application.clone(),
                relationship: link.relationship.clone(),
                object: link.object.clone(),
            },
            created,
        ))
    }

    async fn list_remote_links(
        &self,
        issue: IssueId,
        global_id: Option<&str>,
    ) -> StoreResult<Vec<RemoteLink>> {
        let rows: Vec<RemoteRow> = on_pool!(self, read, |pool| match global_id {
            Some(global_id) => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{REMOTE_COLUMNS} WHERE issue_id = $1 AND global_id = $2 ORDER BY id"
            )))
            .bind(issue.0)
            .bind(global_id)
            .fetch_all(pool)
            .await
            .map_err(backend),
            None => sqlx::query_as(sqlx::AssertSqlSafe(format!(
                "{REMOTE_COLUMNS} WHERE issue_id = $1 ORDER BY id"
            )))
            .bind(issue.0)
            .fetch_all(pool)
            .await
            .map_err(backend),
        })?;
        Ok(rows.into_iter().map(RemoteLink::from).collect())
    }

    async fn find_remote_link(&self, id: RemoteLinkId) -> StoreResult<Option<RemoteLink>> {
        let row: Option<RemoteRow> = on_pool!(self, read, |pool| sqlx::query_as(
            sqlx::AssertSqlSafe(format!("{REMOTE_COLUMNS} WHERE id = $1"))
        )
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(RemoteLink::from))
    }

    async fn update_remote_link(
        &self,
        id: RemoteLinkId,
        link: &RemoteLinkFields,
        at: Timestamp,
    ) -> StoreResult<Option<RemoteLink>> {
        let updated = on_pool!(self, write_work, |pool| sqlx::query(
            "UPDATE remote_links SET global_id = $2, application = $3, relationship = $4, \
             object = $5, updated_at = $6 WHERE id = $1"
        )
        .bind(id.0)
        .bind(&link.global_id)
        .bind(&link.application)
        .bind(&link.relationship)
        .bind(&link.object)
        .bind(at.as_millis())
        .execute(pool)
        .await
        .map_err(|e| write_error(e, global_id_conflict))?
        .rows_affected());
        if updated == 0 {
            return Ok(None);
        }
        self.find_remote_link(id).await
    }

    async fn delete_remote_link(&self, id: RemoteLinkId) -> StoreResult<bool> {
        let deleted = on_pool!(self, write_work, |pool| sqlx::query(
            "DELETE FROM remote_links WHERE id = $1"
        )
        .bind(id.0)
        .execute(pool)
        .await
        .map_err(backend)?
        .rows_affected());
        Ok(deleted == 1)
    }
}
