//! Users, groups, group membership and the global permissions groups grant; server keys.

use async_trait::async_trait;
use tessera_core::clock::Timestamp;
use tessera_core::ids::UserId;
use tessera_core::model::{Group, LoginInfo, NewUser, Page, PageRequest, User, UserUpdate};
use tessera_core::permissions::{GlobalPermission, GlobalPermissions};
use tessera_core::store::{
    Conflict, GroupStore, KeyStore, SessionSwap, StoreError, StoreResult, UserAccess,
    UserCredentials, UserDeletion, UserQuery, UserStore,
};

use crate::rows::{UserRow, user_columns};
use crate::{SqlStore, any_conflict, backend, on_pool, write_error};

fn user_name_conflict(_: &str) -> Conflict {
    Conflict::UserName
}

fn group_name_conflict(_: &str) -> Conflict {
    Conflict::GroupName
}

/// Escapes `%`, `_` and `\` for a `LIKE ... ESCAPE '\'` pattern.
fn like_prefix(text: &str) -> String {
    let mut pattern = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

#[derive(sqlx::FromRow)]
struct CredentialsRow {
    #[sqlx(flatten)]
    user: UserRow,
    password_hash: Option<String>,
    blocked_until: Option<i64>,
    has_failures: bool,
}

#[derive(sqlx::FromRow)]
struct LoginInfoRow {
    login_count: i64,
    failed_login_count: i64,
    last_failed_login_at: Option<i64>,
    previous_login_at: Option<i64>,
    last_login_at: Option<i64>,
}

#[async_trait]
impl UserStore for SqlStore {
    async fn count_users(&self) -> StoreResult<i64> {
        on_pool!(self, read, |pool| sqlx::query_scalar(
            "SELECT COUNT(*) FROM users"
        )
        .fetch_one(pool)
        .await
        .map_err(backend))
    }

    async fn create_user(&self, user: NewUser) -> StoreResult<User> {
        let id: i64 = on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO users (name, cased_name, display_name, display_name_lower, email, \
                 email_lower, active, password_hash, created_at, service_owner_group) \
                 VALUES ($1, $2, $3, $4, $5, $6, TRUE, $7, $8, $9) RETURNING id",
            )
            .bind(&user.name)
            .bind(&user.cased_name)
            .bind(&user.display_name)
            .bind(user.display_name.to_lowercase())
            .bind(&user.email)
            .bind(user.email.as_ref().map(|e| e.to_lowercase()))
            .bind(&user.password_hash)
            .bind(user.created.as_millis())
            .bind(&user.service_owner)
            .fetch_one(&mut *tx)
            .await
            .map_err(|e| write_error(e, user_name_conflict))?;
            for group in &user.groups {
                sqlx::query(
                    "INSERT INTO group_members (group_name, user_id) VALUES ($1, $2) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(group)
                .bind(id)
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, any_conflict))?;
            }
            tx.commit().await.map_err(backend)?;
            id
        });
        self.find_user(UserId(id))
            .await?
            .ok_or(StoreError::MissingReference)
    }

    async fn find_user(&self, id: UserId) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            user_columns!("u"),
            " FROM users u WHERE u.id = $1"
        ))
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(User::from))
    }

    async fn find_user_by_name(&self, name: &str) -> StoreResult<Option<User>> {
        let row: Option<UserRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            user_columns!("u"),
            " FROM users u WHERE u.name = $1"
        ))
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row.map(User::from))
    }

    async fn find_credentials(&self, name: &str) -> StoreResult<Option<UserCredentials>> {
        let row: Option<CredentialsRow> = on_pool!(self, read, |pool| {
            sqlx::query_as(concat!(
            "SELECT ",
            user_columns!("u"),
            ", u.password_hash, f.blocked_until, (f.subject IS NOT NULL) AS has_failures FROM users u ",
            "LEFT JOIN login_failures f ON f.subject = 'user:' || u.name WHERE u.name = $1"
        ))
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(backend)
        })?;
        Ok(row.map(|row| UserCredentials {
            user: row.user.into(),
            password_hash: row.password_hash,
            login_blocked_until: row.blocked_until.map(Timestamp::from_millis),
            has_login_failures: row.has_failures,
        }))
    }

    async fn search_users(&self, query: &UserQuery, page: PageRequest) -> StoreResult<Vec<User>> {
        let prefix = like_prefix(&query.text);
        let word = format!("% {prefix}");
        let rows: Vec<UserRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            user_columns!("u"),
            " FROM users u",
            " WHERE (($2 AND u.active) OR ($3 AND NOT u.active))",
            " AND ($1 = '.' OR u.name LIKE $4 ESCAPE '\\'",
            " OR u.display_name_lower LIKE $4 ESCAPE '\\'",
            " OR u.display_name_lower LIKE $5 ESCAPE '\\'",
            " OR ($6 AND u.email_lower LIKE $4 ESCAPE '\\'))",
            " ORDER BY u.name LIMIT $7 OFFSET $8"
        ))
        .bind(&query.text)
        .bind(query.include_active)
        .bind(query.include_inactive)
        .bind(&prefix)
        .bind(&word)
        .bind(query.match_email)
        .bind(page.limit)
        .bind(page.start_at)
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    async fn update_user(&self, id: UserId, update: &UserUpdate) -> StoreResult<Option<User>> {
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            if let Some(display_name) = &update.display_name {
                sqlx::query(
                    "UPDATE users SET display_name = $1, display_name_lower = $2 WHERE id = $3",
                )
                .bind(display_name)
                .bind(display_name.to_lowercase())
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            }
            if let Some(email) = &update.email {
                sqlx::query("UPDATE users SET email = $1, email_lower = $2 WHERE id = $3")
                    .bind(email)
                    .bind(email.as_ref().map(|e| e.to_lowercase()))
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            if let Some(active) = update.active {
                sqlx::query("UPDATE users SET active = $1 WHERE id = $2")
                    .bind(active)
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
                if !active {
                    // A deactivated user's sessions end with the change.
                    sqlx::query("DELETE FROM sessions WHERE user_id = $1")
                        .bind(id.0)
                        .execute(&mut *tx)
                        .await
                        .map_err(backend)?;
                }
            }
            tx.commit().await.map_err(backend)?;
        });
        self.find_user(id).await
    }

    async fn set_password_hash(
        &self,
        id: UserId,
        hash: Option<&str>,
        keep: Option<SessionSwap<'_>>,
    ) -> StoreResult<bool> {
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let changed = sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2")
                .bind(hash)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            if let Some(swap) = keep {
                // The session keeps its times; only its id changes.
                sqlx::query(
                    "UPDATE sessions SET id_digest = $1 WHERE id_digest = $2 AND user_id = $3",
                )
                .bind(swap.new)
                .bind(swap.old)
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            }
            sqlx::query(
                "DELETE FROM sessions WHERE user_id = $1 AND ($2 IS NULL OR id_digest <> $2)",
            )
            .bind(id.0)
            .bind(keep.map(|swap| swap.new))
            .execute(&mut *tx)
            .await
            .map_err(backend)?;
            tx.commit().await.map_err(backend)?;
            Ok(changed == 1)
        })
    }

    async fn upgrade_password_hash(&self, id: UserId, old: &str, new: &str) -> StoreResult<bool> {
        let changed = on_pool!(self, write, |pool| sqlx::query(
            "UPDATE users SET password_hash = $1 WHERE id = $2 AND password_hash = $3"
        )
        .bind(new)
        .bind(id.0)
        .bind(old)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(changed == 1)
    }

    async fn login_info(&self, id: UserId) -> StoreResult<LoginInfo> {
        let row: Option<LoginInfoRow> = on_pool!(self, read, |pool| sqlx::query_as(
            "SELECT login_count, failed_login_count, last_failed_login_at, previous_login_at, \
             last_login_at FROM users WHERE id = $1"
        )
        .bind(id.0)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(row
            .map(|row| LoginInfo {
                login_count: row.login_count,
                failed_login_count: row.failed_login_count,
                last_failed_login: row.last_failed_login_at.map(Timestamp::from_millis),
                previous_login: row.previous_login_at.map(Timestamp::from_millis),
                last_login: row.last_login_at.map(Timestamp::from_millis),
            })
            .unwrap_or_default())
    }

    async fn record_login(&self, id: UserId, at: Timestamp) -> StoreResult<()> {
        on_pool!(self, write_log, |pool| sqlx::query(
            "UPDATE users SET login_count = login_count + 1, failed_login_count = 0, \
             previous_login_at = last_login_at, last_login_at = $1 WHERE id = $2"
        )
        .bind(at.as_millis())
        .bind(id.0)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(())
    }

    async fn record_failed_login(&self, id: UserId, at: Timestamp) -> StoreResult<()> {
        on_pool!(self, write_log, |pool| sqlx::query(
            "UPDATE users SET failed_login_count = failed_login_count + 1, \
             last_failed_login_at = $1 WHERE id = $2"
        )
        .bind(at.as_millis())
        .bind(id.0)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(())
    }

    async fn user_access(&self, id: UserId) -> StoreResult<UserAccess> {
        // The policy's version rides along: every authenticated request reads this, so each
        // instance learns of a policy change on the next request at no extra cost.
        let rows: Vec<(String, String, Option<String>)> =
            on_pool!(self, read, |pool| sqlx::query_as(
                "SELECT 'group' AS kind, m.group_name AS value, g.display_name AS display \
             FROM group_members m JOIN user_groups g ON g.name = m.group_name \
             WHERE m.user_id = $1 \
             UNION ALL \
             SELECT DISTINCT 'permission' AS kind, g.permission AS value, NULL AS display \
             FROM global_permission_grants g \
             JOIN group_members m ON m.group_name = g.group_name WHERE m.user_id = $1 \
             UNION ALL \
             SELECT 'policy' AS kind, CAST(version AS TEXT) AS value, NULL AS display \
             FROM access_policy"
            )
            .bind(id.0)
            .fetch_all(pool)
            .await
            .map_err(backend))?;
        let mut access = UserAccess {
            groups: Vec::new(),
            group_names: Vec::new(),
            global: GlobalPermissions::empty(),
            policy_version: 0,
        };
        for (kind, value, display) in rows {
            match kind.as_str() {
                "group" => {
                    access
                        .group_names
                        .push(display.unwrap_or_else(|| value.clone()));
                    access.groups.push(value);
                }
                "policy" => access.policy_version = value.parse().unwrap_or(0),
                _ => {
                    if let Some(permission) = GlobalPermission::from_key(&value) {
                        access.global.insert(permission);
                    }
                }
            }
        }
        access.groups.sort();
        Ok(access)
    }

    async fn list_service_accounts(&self) -> StoreResult<Vec<User>> {
        let rows: Vec<UserRow> = on_pool!(self, read, |pool| sqlx::query_as(concat!(
            "SELECT ",
            user_columns!("u"),
            " FROM users u WHERE u.service_owner_group IS NOT NULL ORDER BY u.name"
        ))
        .fetch_all(pool)
        .await
        .map_err(backend))?;
        Ok(rows.into_iter().map(User::from).collect())
    }

    async fn delete_user(&self, id: UserId) -> StoreResult<UserDeletion> {
        // What attributes work to the user: each is a reason to keep them.
        const USES: [(&str, &str); 5] = [
            (
                "issues",
                "SELECT COUNT(*) FROM issues WHERE assignee_id = $1 OR reporter_id = $1 \
                 OR creator_id = $1",
            ),
            (
                "comments",
                "SELECT COUNT(*) FROM comments WHERE author_id = $1 OR update_author_id = $1",
            ),
            (
                "worklogs",
                "SELECT COUNT(*) FROM worklogs WHERE author_id = $1 OR update_author_id = $1",
            ),
            (
                "changes",
                "SELECT COUNT(*) FROM changelog_groups WHERE author_id = $1",
            ),
            (
                "projects",
                "SELECT COUNT(*) FROM projects WHERE lead_id = $1",
            ),
        ];
        on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            let mut in_use = Vec::new();
            for (what, sql) in USES {
                let count: i64 = sqlx::query_scalar(sql)
                    .bind(id.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(backend)?;
                if count > 0 {
                    in_use.push((what, count));
                }
            }
            if !in_use.is_empty() {
                return Ok(UserDeletion::InUse(in_use));
            }
            sqlx::query("DELETE FROM issue_watchers WHERE user_id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            // Sessions, tokens, memberships, roles, grants and votes go with the row.
            let deleted = sqlx::query("DELETE FROM users WHERE id = $1")
                .bind(id.0)
                .execute(&mut *tx)
                .await
                .map_err(|e| write_error(e, any_conflict))?
                .rows_affected();
            tx.commit().await.map_err(backend)?;
            Ok(if deleted == 1 {
                UserDeletion::Deleted
            } else {
                UserDeletion::Gone
            })
        })
    }
}

/// A group from its key and stored display name.
fn group((name, display_name): (String, Option<String>)) -> Group {
    Group {
        display_name: display_name.unwrap_or_else(|| name.clone()),
        name,
    }
}

#[async_trait]
impl GroupStore for SqlStore {
    async fn create_group(&self, name: &str) -> StoreResult<Group> {
        let key = name.to_lowercase();
        on_pool!(self, write, |pool| sqlx::query(
            "INSERT INTO user_groups (name, display_name) VALUES ($1, $2)"
        )
        .bind(&key)
        .bind(name)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, group_name_conflict)))?;
        Ok(Group {
            name: key,
            display_name: name.to_string(),
        })
    }

    async fn delete_group(&self, name: &str) -> StoreResult<bool> {
        let deleted = on_pool!(self, write, |pool| {
            let mut tx = pool.begin().await.map_err(backend)?;
            // Explicit deletes, so the result does not depend on foreign-key cascades.
            for statement in [
                "DELETE FROM group_members WHERE group_name = $1",
                "DELETE FROM project_role_groups WHERE group_name = $1",
                "DELETE FROM global_permission_grants WHERE group_name = $1",
            ] {
                sqlx::query(statement)
                    .bind(name)
                    .execute(&mut *tx)
                    .await
                    .map_err(backend)?;
            }
            let deleted = sqlx::query("DELETE FROM user_groups WHERE name = $1")
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(backend)?
                .rows_affected();
            tx.commit().await.map_err(backend)?;
            deleted
        });
        Ok(deleted == 1)
    }

    async fn find_group(&self, name: &str) -> StoreResult<Option<Group>> {
        let found: Option<(String, Option<String>)> = on_pool!(self, read, |pool| sqlx::query_as(
            "SELECT name, display_name FROM user_groups WHERE name = $1"
        )
        .bind(name)
        .fetch_optional(pool)
        .await
        .map_err(backend))?;
        Ok(found.map(group))
    }

    async fn search_groups(&self, text: &str, limit: i64) -> StoreResult<(Vec<Group>, i64)> {
        let pattern = format!("%{}", like_prefix(&text.to_lowercase()));
        let (names, total): (Vec<(String, Option<String>)>, i64) = on_pool!(self, read, |pool| {
            let names = sqlx::query_as(
                "SELECT name, display_name FROM user_groups WHERE LOWER(name) LIKE $1 \
                 ESCAPE '\\' ORDER BY name LIMIT $2",
            )
            .bind(&pattern)
            .bind(limit)
            .fetch_all(pool)
            .await
            .map_err(backend)?;
            let total = sqlx::query_scalar(
                "SELECT COUNT(*) FROM user_groups WHERE LOWER(name) LIKE $1 ESCAPE '\\'",
            )
            .bind(&pattern)
            .fetch_one(pool)
            .await
            .map_err(backend)?;
            (names, total)
        });
        Ok((names.into_iter().map(group).collect(), total))
    }

    async fn group_members(
        &self,
        name: &str,
        include_inactive: bool,
        page: PageRequest,
    ) -> StoreResult<Page<User>> {
        let (total, rows): (i64, Vec<UserRow>) = on_pool!(self, read, |pool| {
            let total = sqlx::query_scalar(
                "SELECT COUNT(*) FROM group_members m JOIN users u ON u.id = m.user_id \
                 WHERE m.group_name = $1 AND ($2 OR u.active)",
            )
            .bind(name)
            .bind(include_inactive)
            .fetch_one(pool)
            .await
            .map_err(backend)?;
            let rows = sqlx::query_as(concat!(
                "SELECT ",
                user_columns!("u"),
                " FROM group_members m JOIN users u ON u.id = m.user_id",
                " WHERE m.group_name = $1 AND ($2 OR u.active)",
                " ORDER BY u.name LIMIT $3 OFFSET $4"
            ))
            .bind(name)
            .bind(include_inactive)
            .bind(page.limit)
            .bind(page.start_at)
            .fetch_all(pool)
            .await
            .map_err(backend)?;
            (total, rows)
        });
        Ok(Page {
            items: rows.into_iter().map(User::from).collect(),
            start_at: page.start_at,
            max_results: page.limit,
            total,
        })
    }

    async fn add_group_member(&self, group: &str, user: UserId) -> StoreResult<bool> {
        let added = on_pool!(self, write, |pool| {
            sqlx::query(
            "INSERT INTO group_members (group_name, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING"
        )
        .bind(group)
        .bind(user.0)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(|e| write_error(e, any_conflict))
        })?;
        Ok(added == 1)
    }

    async fn remove_group_member(&self, group: &str, user: UserId) -> StoreResult<bool> {
        let removed = on_pool!(self, write, |pool| sqlx::query(
            "DELETE FROM group_members WHERE group_name = $1 AND user_id = $2"
        )
        .bind(group)
        .bind(user.0)
        .execute(pool)
        .await
        .map(|done| done.rows_affected())
        .map_err(backend))?;
        Ok(removed == 1)
    }
}

#[async_trait]
impl KeyStore for SqlStore {
    async fn server_key(&self, name: &str, fresh: &[u8]) -> StoreResult<Vec<u8>> {
        on_pool!(self, write, |pool| {
            sqlx::query(
                "INSERT INTO server_keys (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
            )
            .bind(name)
            .bind(fresh)
            .execute(pool)
            .await
            .map(|done| done.rows_affected())
            .map_err(backend)?;
            sqlx::query_scalar("SELECT value FROM server_keys WHERE name = $1")
                .bind(name)
                .fetch_one(pool)
                .await
                .map_err(backend)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::like_prefix;

    #[test]
    fn like_patterns_escape_wildcards() {
        assert_eq!(like_prefix("ab"), "ab%");
        assert_eq!(like_prefix("a%b_c\\"), "a\\%b\\_c\\\\%");
    }
}
