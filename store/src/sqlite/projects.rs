//! [`ProjectStore`] on SQLite: projects listed newest first through keyset pagination on
//! `(created_at, id)`.

use super::{from_json, map_error, records, to_json, SqliteStore};
use crate::cursor::{page, page_limit, CursorKey};
use crate::{Page, ProjectStore, StoreError, StoreResult};
use async_trait::async_trait;
use codebegen_schema::generation::{ProjectId, ProjectRecord, UserId};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

#[async_trait]
impl ProjectStore for SqliteStore {
    async fn create_project(&self, project: &ProjectRecord) -> StoreResult<()> {
        let project = project.clone();
        let record = to_json(&project)?;
        self.write(move |connection| {
            let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate).map_err(map_error)?;
            let inserted = transaction
                .prepare_cached(
                    "INSERT INTO projects (id, user_id, created_at, record) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (id) DO NOTHING",
                )
                .and_then(|mut statement| {
                    statement.execute(params![
                        project.id.to_string(),
                        project.user_id.to_string(),
                        project.created_at,
                        record
                    ])
                })
                .map_err(map_error)?;
            if inserted == 0 {
                let existing: String = transaction
                    .query_row("SELECT record FROM projects WHERE id = ?1", [project.id.to_string()], |row| row.get(0))
                    .map_err(map_error)?;
                if from_json::<ProjectRecord>(&existing)? != project {
                    return Err(StoreError::Conflict(format!("project {} exists with other content", project.id)));
                }
            }
            transaction.commit().map_err(map_error)
        })
        .await
    }

    async fn get_project(&self, id: ProjectId) -> StoreResult<Option<ProjectRecord>> {
        let id = id.to_string();
        self.read(move |connection| {
            let record: Option<String> = connection
                .prepare_cached("SELECT record FROM projects WHERE id = ?1")
                .and_then(|mut statement| statement.query_row([id], |row| row.get(0)).optional())
                .map_err(map_error)?;
            record.as_deref().map(from_json).transpose()
        })
        .await
    }

    async fn list_projects(
        &self,
        user: UserId,
        limit: u32,
        cursor: Option<&str>,
    ) -> StoreResult<Page<ProjectRecord>> {
        let after = cursor.map(CursorKey::decode).transpose()?;
        let limit = page_limit(limit);
        let user = user.to_string();
        self.read(move |connection| {
            // Without a cursor, start after the largest possible key.
            let (created_at, id) = after.map_or((i64::MAX, "~".to_string()), |key| {
                (key.created_at, key.id.to_string())
            });
            let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
            let items = records(
                connection,
                "SELECT record FROM projects WHERE user_id = ?1 AND (created_at, id) < (?2, ?3) \
                 ORDER BY created_at DESC, id DESC LIMIT ?4",
                params![user, created_at, id, fetch],
            )?;
            Ok(page(items, limit, |p: &ProjectRecord| CursorKey {
                created_at: p.created_at,
                id: p.id.0,
            }))
        })
        .await
    }

    async fn delete_project(&self, id: ProjectId) -> StoreResult<bool> {
        let id = id.to_string();
        self.write(move |connection| {
            let deleted = connection
                .execute("DELETE FROM projects WHERE id = ?1", [id])
                .map_err(map_error)?;
            Ok(deleted > 0)
        })
        .await
    }
}
