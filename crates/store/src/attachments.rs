//! Files attached to issues: content and metadata in one row, written with the changelog
//! item that records it in one transaction. Reads of metadata never load the content.

use async_trait::async_trait;
use tessera_core::changelog::{self, ChangeAuthor, ChangeItem};
use tessera_core::clock::Timestamp;
use tessera_core::ids::{AttachmentId, IssueId};
use tessera_core::model::{Attachment, NewAttachment};
use tessera_core::store::{AttachmentStore, StoreError, StoreResult};

use crate::issues::record_change;
use crate::rows::{joined_user, user_columns};
use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

macro_rules! attachment_select {
    () => {
        concat!(
            "SELECT t.id, t.issue_id, t.filename, t.mime_type, t.size, t.created_at, ",
            user_columns!("a"),
            " FROM attachments t LEFT JOIN users a ON a.id = t.author_id"
        )
    };
}

#[derive(sqlx::FromRow)]
struct AttachmentRow {
    id: i64,
    issue_id: i64,
    filename: String,
    mime_type: String,
    size: i64,
    created_at: i64,
    a_id: Option<i64>,
    a_name: Option<String>,
    a_cased_name: Option<String>,
    a_display_name: Option<String>,
    a_email: Option<String>,
    a_active: Option<bool>,
    a_has_password: Option<bool>,
    a_created_at: Option<i64>,
    a_service_owner: Option<String>,
}

impl From<AttachmentRow> for Attachment {
    fn from(row: AttachmentRow) -> Self {
        Attachment {
            id: AttachmentId(row.id),
            issue_id: IssueId(row.issue_id),
            author: joined_user(
                row.a_id,
                row.a_name,
                row.a_cased_name,
                row.a_display_name,
                row.a_email,
                row.a_active,
                row.a_has_password,
                row.a_created_at,
                row.a_service_owner,
            ),
            filename: row.filename,
            mime_type: row.mime_type,
            size: row.size,
            created: Timestamp::from_millis(row.created_at),
        }
    }
}

#[async_trait]
impl AttachmentStore for SqlStore {
    async fn add_attachments(
        &self,
        issue: IssueId,
        files: &[NewAttachment],
        author: &ChangeAuthor,
        at: Timestamp,
    ) -> StoreResult<Vec<Attachment>> {
        let now = at.as_millis();
        let ids: Vec<i64> = on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let mut ids = Vec::with_capacity(files.len());
            let mut items: Vec<ChangeItem> = Vec::with_capacity(files.len());
            for file in files {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO attachments (issue_id, author_id, filename, mime_type, size, \
                     created_at, content) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                )
                .bind(issue.0)
                .bind(author.user.0)
                .bind(&file.filename)
                .bind(&file.mime_type)
                .bind(file.content.len() as i64)
                .bind(now)
                .bind(&file.content)
                .fetch_one(&mut *tx)
                .await
                .map_err(|e| write_error(e, any_conflict))?;
                let recorded = Attachment {
                    id: AttachmentId(id),
                    issue_id: issue,
                    author: None,
                    filename: file.filename.clone(),
                    mime_type: file.mime_type.clone(),
                    size: file.content.len() as i64,
                    created: at,
                };
                items.push(changelog::attachment_item(&recorded, true));
                ids.push(id);
            }
            record_change!(tx, issue.0, author, now, &items);
            tx.commit().await.map_err(backend)?;
            ids
        });
        let mut added = Vec::with_capacity(ids.len());
        for id in ids {
            added.extend(self.find_attachment(AttachmentId(id)).await?);
        }
        Ok(added)
    }

    async fn list_attachments(&self, issue: IssueId) -> StoreResult<Vec<Attachment>> {
        let rows: Vec<AttachmentRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            attachment_select!(),
            " WHERE t.issue_id = $1 ORDER BY t.id"
        ))
        .bind(issue.0)
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows.into_iter().map(Attachment::from).collect())
    }

    async fn attachments_of(&self, issues: &[IssueId]) -> StoreResult<Vec<Attachment>> {
        if issues.is_empty() {
            return Ok(Vec::new());
        }
        // Only placeholders are written into the text.
        let sql = format!(
            "{} WHERE t.issue_id IN ({}) ORDER BY t.id",
            attachment_select!(),
            crate::search::placeholders(issues.len())
        );
        let rows: Vec<AttachmentRow> = on_pool!(self, read, |pool| {
            let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql.as_str()));
            for issue in issues {
                query = query.bind(issue.0);
            }
            query.fetch_all(pool).await.map_err(backend)
        })?;
        Ok(rows.into_iter().map(Attachment::from).collect())
    }

    async fn find_attachment(&self, id: AttachmentId) -> StoreResult<Option<Attachment>> {
        let row: Option<AttachmentRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            attachment_select!(),
            " WHERE t.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(Attachment::from))
    }

    async fn attachment_content(&self, id: AttachmentId) -> StoreResult<Option<Vec<u8>>> {
        Ok(on_pool!(self, read, |pool| sqlx::query_scalar(
            "SELECT content FROM attachments WHERE id = $1"
        )
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?)
    }

    async fn delete_attachment(
        &self,
        id: AttachmentId,
        author: &ChangeAuthor,
        at: Timestamp,
    ) -> StoreResult<bool> {
        let Some(attachment) = self.find_attachment(id).await? else {
            return Ok(false);
        };
        let now = at.as_millis();
        on_pool!(self, write_work, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let deleted = sqlx::query("DELETE FROM attachments WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            if deleted == 1 {
                let items = [changelog::attachment_item(&attachment, false)];
                record_change!(tx, attachment.issue_id.0, author, now, &items);
            }
            tx.commit().await.map_err(backend)?;
            Ok::<bool, StoreError>(deleted == 1)
        })
    }
}
