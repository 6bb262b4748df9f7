//! [`GenerationStore`] records on Scylla: a put writes the record and files its keys in the
//! listing indexes (by user, by project, the user's bucket list, and the unfinished shards) in
//! one logged batch, so the indexes never disagree with the record for long. Listings walk the
//! user's 30-day buckets newest first and read the records by id; an index row whose record no
//! longer matches it is skipped. Checkpoints and events are in `events.rs`.

use super::{cql_limit, from_json, to_json, ScyllaStore};
use crate::cursor::{page, page_limit, CursorKey};
use crate::{GenerationStore, Page, StoreResult};
use async_trait::async_trait;
use codebegen_schema::generation::{
    Checkpoint, GenerationEvent, GenerationId, GenerationRecord, ProjectId, UnixMillis, UserId,
};
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::{Batch, BatchType};
use uuid::Uuid;

/// Width of a listing bucket: 30 days of `created_at`.
pub(crate) const BUCKET_MS: i64 = 30 * 24 * 3_600 * 1_000;

/// Shards of `unfinished_generations` (changing it needs a migration that moves the rows).
pub(crate) const UNFINISHED_SHARDS: u32 = 16;

/// Records read at once when resolving index rows.
const READ_CONCURRENCY: usize = 32;

pub(crate) fn bucket_of(created_at: UnixMillis) -> i64 {
    created_at.div_euclid(BUCKET_MS)
}

pub(crate) fn shard_of(id: Uuid) -> i32 {
    i32::try_from(id.as_u128() % u128::from(UNFINISHED_SHARDS)).unwrap_or(0)
}

/// Which index a listing reads.
#[derive(Clone, Copy)]
enum Scope {
    User(UserId),
    Project(UserId, ProjectId),
}

type BoxedRow = Box<dyn SerializeRow + Send + Sync>;

impl ScyllaStore {
    /// Records by id, in order, [`READ_CONCURRENCY`] requests at a time.
    async fn get_many(&self, ids: &[GenerationId]) -> StoreResult<Vec<Option<GenerationRecord>>> {
        let mut records = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(READ_CONCURRENCY) {
            let reads = chunk.iter().map(|id| self.get_generation(*id));
            records.extend(futures_util::future::try_join_all(reads).await?);
        }
        Ok(records)
    }

    /// Index keys `(created_at, id)` of one bucket, newest first, strictly after `after`.
    async fn index_rows(
        &self,
        scope: Scope,
        bucket: i64,
        after: Option<CursorKey>,
        limit: usize,
    ) -> StoreResult<Vec<(i64, Uuid)>> {
        let st = self.st();
        let limit = cql_limit(limit);
        match (scope, after) {
            (Scope::User(user), None) => {
                self.rows(&st.by_user_first, (user.0, bucket, limit)).await
            }
            (Scope::User(user), Some(key)) => {
                self.rows(
                    &st.by_user_after,
                    (user.0, bucket, key.created_at, key.id, limit),
                )
                .await
            }
            (Scope::Project(user, project), None) => {
                self.rows(&st.by_project_first, (user.0, project.0, bucket, limit))
                    .await
            }
            (Scope::Project(user, project), Some(key)) => {
                self.rows(
                    &st.by_project_after,
                    (user.0, project.0, bucket, key.created_at, key.id, limit),
                )
                .await
            }
        }
    }

    /// The records behind index keys, in the keys' order, skipping keys whose record is gone or
    /// no longer filed there.
    async fn resolve(
        &self,
        scope: Scope,
        keys: &[(i64, Uuid)],
    ) -> StoreResult<Vec<GenerationRecord>> {
        let ids: Vec<GenerationId> = keys.iter().map(|(_, id)| GenerationId(*id)).collect();
        let records = self.get_many(&ids).await?;
        Ok(keys
            .iter()
            .zip(records)
            .filter_map(|((created_at, _), record)| {
                record.filter(|g| {
                    g.created_at == *created_at
                        && match scope {
                            Scope::User(user) => g.user_id == user,
                            Scope::Project(user, project) => {
                                g.user_id == user && g.project_id == Some(project)
                            }
                        }
                })
            })
            .collect())
    }

    async fn list_in(
        &self,
        scope: Scope,
        limit: u32,
        cursor: Option<&str>,
    ) -> StoreResult<Page<GenerationRecord>> {
        let after = cursor.map(CursorKey::decode).transpose()?;
        let limit = page_limit(limit);
        let user = match scope {
            Scope::User(user) | Scope::Project(user, _) => user,
        };
        let buckets: Vec<(i64,)> = match after {
            None => self.all_rows(&self.st().buckets_all, (user.0,)).await?,
            Some(key) => {
                self.all_rows(&self.st().buckets_upto, (user.0, bucket_of(key.created_at)))
                    .await?
            }
        };
        let mut items: Vec<GenerationRecord> = Vec::with_capacity(limit + 1);
        'buckets: for (bucket,) in buckets {
            // Within the cursor's bucket start after it; older buckets start at their top.
            let mut position = after.filter(|key| bucket_of(key.created_at) == bucket);
            loop {
                let wanted = limit + 1 - items.len();
                let keys = self.index_rows(scope, bucket, position, wanted).await?;
                let Some(&(created_at, id)) = keys.last() else {
                    break;
                };
                position = Some(CursorKey { created_at, id });
                items.extend(self.resolve(scope, &keys).await?);
                if items.len() > limit {
                    break 'buckets;
                }
                if keys.len() < wanted {
                    break;
                }
            }
        }
        Ok(page(items, limit, |g: &GenerationRecord| CursorKey {
            created_at: g.created_at,
            id: g.id.0,
        }))
    }
}

#[async_trait]
impl GenerationStore for ScyllaStore {
    async fn put_generation(&self, record: &GenerationRecord) -> StoreResult<()> {
        let st = self.st();
        let (id, user, created_at) = (record.id.0, record.user_id.0, record.created_at);
        let bucket = bucket_of(created_at);
        let mut batch = Batch::new(BatchType::Logged);
        let mut values: Vec<BoxedRow> = Vec::with_capacity(5);
        batch.append_statement(st.generation_put.clone());
        values.push(Box::new((id, user, created_at, to_json(record)?)));
        batch.append_statement(st.bucket_put.clone());
        values.push(Box::new((user, bucket)));
        batch.append_statement(st.by_user_put.clone());
        values.push(Box::new((user, bucket, created_at, id)));
        if let Some(project) = record.project_id {
            batch.append_statement(st.by_project_put.clone());
            values.push(Box::new((user, project.0, bucket, created_at, id)));
        }
        if record.status.is_final() {
            batch.append_statement(st.unfinished_delete.clone());
        } else {
            batch.append_statement(st.unfinished_put.clone());
        }
        values.push(Box::new((shard_of(id), created_at, id)));
        batch.set_is_idempotent(true);
        self.batch(&batch, values).await
    }

    async fn get_generation(&self, id: GenerationId) -> StoreResult<Option<GenerationRecord>> {
        let row: Option<(String,)> = self.first(&self.st().generation_get, (id.0,)).await?;
        row.map(|(json,)| from_json(&json)).transpose()
    }

    async fn list_generations(
        &self,
        user: UserId,
        project: Option<ProjectId>,
        limit: u32,
        cursor: Option<&str>,
    ) -> StoreResult<Page<GenerationRecord>> {
        let scope = match project {
            None => Scope::User(user),
            Some(project) => Scope::Project(user, project),
        };
        self.list_in(scope, limit, cursor).await
    }

    async fn list_unfinished(&self) -> StoreResult<Vec<GenerationRecord>> {
        let shards = (0..UNFINISHED_SHARDS).filter_map(|shard| i32::try_from(shard).ok());
        let per_shard = futures_util::future::try_join_all(
            shards.map(|shard| self.all_rows::<(Uuid,)>(&self.st().unfinished_shard, (shard,))),
        )
        .await?;
        let ids: Vec<Uuid> = per_shard.into_iter().flatten().map(|(id,)| id).collect();
        let ids: Vec<GenerationId> = ids.into_iter().map(GenerationId).collect();
        let records = self.get_many(&ids).await?;
        // The record has the last word: a row left behind (or resurrected) for a generation
        // that has since finished is ignored.
        let mut unfinished: Vec<GenerationRecord> = records
            .into_iter()
            .flatten()
            .filter(|g| !g.status.is_final())
            .collect();
        unfinished.sort_by_key(|g| (g.created_at, g.id));
        Ok(unfinished)
    }

    async fn count_created_since(&self, user: UserId, since: UnixMillis) -> StoreResult<u32> {
        let times = self.created_since(user, since).await?;
        Ok(u32::try_from(times.len()).unwrap_or(u32::MAX))
    }

    async fn created_since(&self, user: UserId, since: UnixMillis) -> StoreResult<Vec<UnixMillis>> {
        let buckets: Vec<(i64,)> = self
            .all_rows(&self.st().buckets_from, (user.0, bucket_of(since)))
            .await?;
        let per_bucket = futures_util::future::try_join_all(buckets.into_iter().map(|(bucket,)| {
            self.all_rows::<(i64,)>(&self.st().by_user_since, (user.0, bucket, since))
        }))
        .await?;
        let mut times: Vec<UnixMillis> = per_bucket.into_iter().flatten().map(|(t,)| t).collect();
        times.sort_unstable();
        Ok(times)
    }

    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()> {
        self.put_checkpoint_row(checkpoint).await
    }

    async fn get_checkpoints(&self, id: GenerationId) -> StoreResult<Vec<Checkpoint>> {
        self.checkpoint_rows(id).await
    }

    async fn append_event(&self, event: &GenerationEvent) -> StoreResult<()> {
        self.append_event_row(event).await
    }

    async fn list_events(
        &self,
        id: GenerationId,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<GenerationEvent>> {
        self.event_rows(id, after, limit).await
    }

    async fn last_event_seq(&self, id: GenerationId) -> StoreResult<u64> {
        self.last_seq(id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_30_days_and_floor_negative_times() {
        assert_eq!(bucket_of(0), 0);
        assert_eq!(bucket_of(BUCKET_MS - 1), 0);
        assert_eq!(bucket_of(BUCKET_MS), 1);
        assert_eq!(bucket_of(-1), -1);
        assert_eq!(bucket_of(1_700_000_000_000), 655);
    }

    #[test]
    fn shards_cover_the_range() {
        let shards: std::collections::BTreeSet<i32> =
            (0..2_000).map(|_| shard_of(Uuid::new_v4())).collect();
        assert_eq!(shards.len(), UNFINISHED_SHARDS as usize);
        assert!(shards.iter().all(|s| (0..16).contains(s)));
    }
}
