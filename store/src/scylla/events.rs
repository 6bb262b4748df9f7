//! Checkpoints and the event log on Scylla. Events live in partitions of
//! [`EVENTS_PER_BUCKET`] seqs, listed in `generation_event_buckets`, so a long log never makes
//! one huge partition; an append is `IF NOT EXISTS`, so the same event twice is fine and another
//! event under a taken seq is a conflict. Both need the generation to exist, as in SQLite.

use super::{cql_limit, from_json, to_json, ScyllaStore};
use crate::{StoreError, StoreResult};
use codebegen_schema::generation::{Checkpoint, GenerationEvent, GenerationId};

/// Seqs per event partition.
pub(crate) const EVENTS_PER_BUCKET: i64 = 1_000;

pub(crate) fn event_bucket(seq: i64) -> i64 {
    seq.div_euclid(EVENTS_PER_BUCKET)
}

impl ScyllaStore {
    async fn require_generation(&self, id: GenerationId, what: &str) -> StoreResult<()> {
        let row: Option<(uuid::Uuid,)> = self.first(&self.st().generation_exists, (id.0,)).await?;
        match row {
            Some(_) => Ok(()),
            None => Err(StoreError::Conflict(format!(
                "{what} for unknown generation {id}"
            ))),
        }
    }

    pub(super) async fn put_checkpoint_row(&self, checkpoint: &Checkpoint) -> StoreResult<()> {
        self.require_generation(checkpoint.generation_id, "checkpoint")
            .await?;
        self.exec(
            &self.st().checkpoint_put,
            (
                checkpoint.generation_id.0,
                checkpoint.stage.as_str(),
                to_json(checkpoint)?,
            ),
        )
        .await?;
        Ok(())
    }

    pub(super) async fn checkpoint_rows(&self, id: GenerationId) -> StoreResult<Vec<Checkpoint>> {
        let rows: Vec<(String,)> = self.all_rows(&self.st().checkpoints_get, (id.0,)).await?;
        let mut checkpoints = rows
            .iter()
            .map(|(json,)| from_json::<Checkpoint>(json))
            .collect::<StoreResult<Vec<_>>>()?;
        checkpoints.sort_by_key(|checkpoint| checkpoint.stage);
        Ok(checkpoints)
    }

    pub(super) async fn append_event_row(&self, event: &GenerationEvent) -> StoreResult<()> {
        let seq = crate::sqlite::to_i64(event.seq)?;
        let (id, bucket, json) = (event.generation_id.0, event_bucket(seq), to_json(event)?);
        let (exists, filed) = tokio::join!(
            self.require_generation(event.generation_id, "event"),
            // The bucket is filed before the event, so a reader that can see the event can
            // find its bucket.
            self.exec(&self.st().event_bucket_put, (id, bucket))
        );
        exists?;
        filed?;
        if self
            .applied(&self.st().event_insert, (id, bucket, seq, json.as_str()))
            .await?
        {
            return Ok(());
        }
        let existing: Option<(String,)> =
            self.first(&self.st().event_get, (id, bucket, seq)).await?;
        let same = match existing {
            Some((text,)) => from_json::<GenerationEvent>(&text)? == *event,
            None => false,
        };
        if same {
            Ok(())
        } else {
            Err(StoreError::Conflict(format!(
                "event {seq} of generation {id} exists with other content"
            )))
        }
    }

    pub(super) async fn event_rows(
        &self,
        id: GenerationId,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<GenerationEvent>> {
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        if limit == 0 {
            return Ok(Vec::new());
        }
        let after = i64::try_from(after).unwrap_or(i64::MAX);
        let buckets: Vec<(i64,)> = self
            .all_rows(&self.st().event_buckets_from, (id.0, event_bucket(after)))
            .await?;
        let mut events = Vec::new();
        for (bucket,) in buckets {
            // A bucket holds at most EVENTS_PER_BUCKET events, so one request reads the rest
            // of it.
            let wanted =
                (limit - events.len()).min(usize::try_from(EVENTS_PER_BUCKET).unwrap_or(1_000));
            let rows: Vec<(String,)> = self
                .rows(
                    &self.st().events_after,
                    (id.0, bucket, after, cql_limit(wanted)),
                )
                .await?;
            for (json,) in rows {
                events.push(from_json::<GenerationEvent>(&json)?);
            }
            if events.len() >= limit {
                break;
            }
        }
        Ok(events)
    }

    pub(super) async fn last_seq(&self, id: GenerationId) -> StoreResult<u64> {
        let buckets: Vec<(i64,)> = self
            .all_rows(&self.st().event_buckets_desc, (id.0,))
            .await?;
        // Newest bucket first; a bucket filed for an append that then failed may be empty.
        for (bucket,) in buckets {
            let last: Option<(i64,)> = self.first(&self.st().event_last, (id.0, bucket)).await?;
            if let Some((seq,)) = last {
                return u64::try_from(seq)
                    .map_err(|_| StoreError::Corrupt(format!("negative event seq {seq}")));
            }
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_buckets_hold_a_thousand_seqs() {
        assert_eq!(event_bucket(0), 0);
        assert_eq!(event_bucket(999), 0);
        assert_eq!(event_bucket(1_000), 1);
        assert_eq!(event_bucket(i64::MAX), i64::MAX / 1_000);
    }
}
