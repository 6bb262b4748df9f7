//! [`ProjectStore`] on Scylla: the project row is created with `IF NOT EXISTS` (so a different
//! record under a taken id is a conflict) and then filed in `projects_by_user`, whose rows carry
//! the whole record so a page is one query. A retried create re-files the index row, repairing
//! a create cut short between the two writes.

use super::{cql_limit, ScyllaStore};
use crate::cursor::{page, page_limit, CursorKey};
use crate::{Page, ProjectStore, StoreError, StoreResult};
use async_trait::async_trait;
use codebegen_schema::generation::{ProjectId, ProjectRecord, UserId};
use uuid::Uuid;

type ProjectRow = (Uuid, Uuid, String, String, i64);

fn project_from_row((id, user_id, name, description, created_at): ProjectRow) -> ProjectRecord {
    ProjectRecord {
        id: ProjectId(id),
        user_id: UserId(user_id),
        name,
        description,
        created_at,
    }
}

#[async_trait]
impl ProjectStore for ScyllaStore {
    async fn create_project(&self, project: &ProjectRecord) -> StoreResult<()> {
        let inserted = self
            .applied(
                &self.st().project_insert,
                (
                    project.id.0,
                    project.user_id.0,
                    project.name.as_str(),
                    project.description.as_str(),
                    project.created_at,
                ),
            )
            .await?;
        if !inserted {
            let existing = self.get_project(project.id).await?;
            if existing.as_ref() != Some(project) {
                return Err(StoreError::Conflict(format!(
                    "project {} exists with other content",
                    project.id
                )));
            }
        }
        self.exec(
            &self.st().project_index,
            (
                project.user_id.0,
                project.created_at,
                project.id.0,
                project.name.as_str(),
                project.description.as_str(),
            ),
        )
        .await?;
        Ok(())
    }

    async fn get_project(&self, id: ProjectId) -> StoreResult<Option<ProjectRecord>> {
        let row: Option<ProjectRow> = self.first(&self.st().project_get, (id.0,)).await?;
        Ok(row.map(project_from_row))
    }

    async fn list_projects(
        &self,
        user: UserId,
        limit: u32,
        cursor: Option<&str>,
    ) -> StoreResult<Page<ProjectRecord>> {
        let after = cursor.map(CursorKey::decode).transpose()?;
        let limit = page_limit(limit);
        let fetch = cql_limit(limit + 1);
        let rows: Vec<ProjectRow> = match after {
            None => {
                self.rows(&self.st().projects_first, (user.0, fetch))
                    .await?
            }
            Some(key) => {
                self.rows(
                    &self.st().projects_after,
                    (user.0, key.created_at, key.id, fetch),
                )
                .await?
            }
        };
        let items = rows.into_iter().map(project_from_row).collect();
        Ok(page(items, limit, |p: &ProjectRecord| CursorKey {
            created_at: p.created_at,
            id: p.id.0,
        }))
    }

    async fn delete_project(&self, id: ProjectId) -> StoreResult<bool> {
        let Some(project) = self.get_project(id).await? else {
            return Ok(false);
        };
        let deleted = self.applied(&self.st().project_delete, (id.0,)).await?;
        // Unfile it either way: if another delete won, its index row must go as well.
        self.exec(
            &self.st().project_unindex,
            (project.user_id.0, project.created_at, id.0),
        )
        .await?;
        Ok(deleted)
    }
}
