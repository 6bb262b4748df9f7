//! [`GenerationStore`] on SQLite: generation records (upserted, never replaced row-wise, so
//! their checkpoints and events stay), checkpoints per stage, and the append-only event log.

use super::{from_json, map_error, records, to_i64, to_json, SqliteStore};
use crate::cursor::{page, page_limit, CursorKey};
use crate::{GenerationStore, Page, StoreError, StoreResult};
use async_trait::async_trait;
use codebegen_schema::generation::{
    Checkpoint, GenerationEvent, GenerationId, GenerationRecord, ProjectId, UnixMillis, UserId,
};
use rusqlite::{params, OptionalExtension, TransactionBehavior};

#[async_trait]
impl GenerationStore for SqliteStore {
    async fn put_generation(&self, record: &GenerationRecord) -> StoreResult<()> {
        let id = record.id.to_string();
        let user = record.user_id.to_string();
        let project = record.project_id.map(|p| p.to_string());
        let (status, created_at, json) =
            (record.status.as_str(), record.created_at, to_json(record)?);
        self.write(move |connection| {
            // An upsert, not INSERT OR REPLACE: replacing the row would cascade-delete its
            // checkpoints and events.
            connection
                .prepare_cached(
                    "INSERT INTO generations (id, user_id, project_id, status, created_at, record) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
                     ON CONFLICT (id) DO UPDATE SET user_id = excluded.user_id, project_id = excluded.project_id, \
                     status = excluded.status, created_at = excluded.created_at, record = excluded.record",
                )
                .and_then(|mut statement| statement.execute(params![id, user, project, status, created_at, json]))
                .map_err(map_error)?;
            Ok(())
        })
        .await
    }

    async fn get_generation(&self, id: GenerationId) -> StoreResult<Option<GenerationRecord>> {
        let id = id.to_string();
        self.read(move |connection| {
            let record: Option<String> = connection
                .prepare_cached("SELECT record FROM generations WHERE id = ?1")
                .and_then(|mut statement| statement.query_row([id], |row| row.get(0)).optional())
                .map_err(map_error)?;
            record.as_deref().map(from_json).transpose()
        })
        .await
    }

    async fn list_generations(
        &self,
        user: UserId,
        project: Option<ProjectId>,
        limit: u32,
        cursor: Option<&str>,
    ) -> StoreResult<Page<GenerationRecord>> {
        let after = cursor.map(CursorKey::decode).transpose()?;
        let limit = page_limit(limit);
        let (user, project) = (user.to_string(), project.map(|p| p.to_string()));
        self.read(move |connection| {
            let (created_at, id) = after.map_or((i64::MAX, "~".to_string()), |key| (key.created_at, key.id.to_string()));
            let fetch = i64::try_from(limit + 1).unwrap_or(i64::MAX);
            let items = match project {
                None => records(
                    connection,
                    "SELECT record FROM generations WHERE user_id = ?1 AND (created_at, id) < (?2, ?3) \
                     ORDER BY created_at DESC, id DESC LIMIT ?4",
                    params![user, created_at, id, fetch],
                )?,
                Some(project) => records(
                    connection,
                    "SELECT record FROM generations WHERE user_id = ?1 AND project_id = ?5 AND (created_at, id) < (?2, ?3) \
                     ORDER BY created_at DESC, id DESC LIMIT ?4",
                    params![user, created_at, id, fetch, project],
                )?,
            };
            Ok(page(items, limit, |g: &GenerationRecord| CursorKey { created_at: g.created_at, id: g.id.0 }))
        })
        .await
    }

    async fn list_unfinished(&self) -> StoreResult<Vec<GenerationRecord>> {
        self.read(|connection| {
            records(
                connection,
                "SELECT record FROM generations WHERE status IN ('queued', 'running') ORDER BY created_at, id",
                [],
            )
        })
        .await
    }

    async fn count_created_since(&self, user: UserId, since: UnixMillis) -> StoreResult<u32> {
        let user = user.to_string();
        self.read(move |connection| {
            let count: i64 = connection
                .prepare_cached(
                    "SELECT COUNT(*) FROM generations WHERE user_id = ?1 AND created_at >= ?2",
                )
                .and_then(|mut statement| {
                    statement.query_row(params![user, since], |row| row.get(0))
                })
                .map_err(map_error)?;
            Ok(u32::try_from(count).unwrap_or(u32::MAX))
        })
        .await
    }

    async fn created_since(&self, user: UserId, since: UnixMillis) -> StoreResult<Vec<UnixMillis>> {
        let user = user.to_string();
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached(
                    "SELECT created_at FROM generations WHERE user_id = ?1 AND created_at >= ?2 ORDER BY created_at",
                )
                .map_err(map_error)?;
            let rows = statement.query_map(params![user, since], |row| row.get(0)).map_err(map_error)?;
            rows.collect::<Result<Vec<UnixMillis>, _>>().map_err(map_error)
        })
        .await
    }

    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()> {
        let (id, stage, json) = (
            checkpoint.generation_id.to_string(),
            checkpoint.stage.as_str(),
            to_json(checkpoint)?,
        );
        self.write(move |connection| {
            connection
                .prepare_cached(
                    "INSERT INTO checkpoints (generation_id, stage, record) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (generation_id, stage) DO UPDATE SET record = excluded.record",
                )
                .and_then(|mut statement| statement.execute(params![id, stage, json]))
                .map_err(map_error)?;
            Ok(())
        })
        .await
    }

    async fn get_checkpoints(&self, id: GenerationId) -> StoreResult<Vec<Checkpoint>> {
        let id = id.to_string();
        self.read(move |connection| {
            let mut checkpoints: Vec<Checkpoint> = records(
                connection,
                "SELECT record FROM checkpoints WHERE generation_id = ?1",
                [id],
            )?;
            checkpoints.sort_by_key(|checkpoint| checkpoint.stage);
            Ok(checkpoints)
        })
        .await
    }

    async fn append_event(&self, event: &GenerationEvent) -> StoreResult<()> {
        let event = event.clone();
        let (id, seq, json) = (
            event.generation_id.to_string(),
            to_i64(event.seq)?,
            to_json(&event)?,
        );
        self.write(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_error)?;
            let inserted = transaction
                .prepare_cached(
                    "INSERT INTO events (generation_id, seq, record) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (generation_id, seq) DO NOTHING",
                )
                .and_then(|mut statement| statement.execute(params![id, seq, json]))
                .map_err(map_error)?;
            if inserted == 0 {
                let existing: String = transaction
                    .query_row(
                        "SELECT record FROM events WHERE generation_id = ?1 AND seq = ?2",
                        params![id, seq],
                        |row| row.get(0),
                    )
                    .map_err(map_error)?;
                if from_json::<GenerationEvent>(&existing)? != event {
                    return Err(StoreError::Conflict(format!(
                        "event {seq} of generation {id} exists with other content"
                    )));
                }
            }
            transaction.commit().map_err(map_error)
        })
        .await
    }

    async fn list_events(
        &self,
        id: GenerationId,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<GenerationEvent>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let (id, after) = (id.to_string(), i64::try_from(after).unwrap_or(i64::MAX));
        self.read(move |connection| {
            records(
                connection,
                "SELECT record FROM events WHERE generation_id = ?1 AND seq > ?2 ORDER BY seq LIMIT ?3",
                params![id, after, limit],
            )
        })
        .await
    }

    async fn last_event_seq(&self, id: GenerationId) -> StoreResult<u64> {
        let id = id.to_string();
        self.read(move |connection| {
            let seq: i64 = connection
                .prepare_cached("SELECT COALESCE(MAX(seq), 0) FROM events WHERE generation_id = ?1")
                .and_then(|mut statement| statement.query_row([id], |row| row.get(0)))
                .map_err(map_error)?;
            u64::try_from(seq).map_err(|_| StoreError::Corrupt(format!("negative event seq {seq}")))
        })
        .await
    }
}
