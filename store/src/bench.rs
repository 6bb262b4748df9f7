//! A benchmark of the generation-store operations the service leans on: create, stage update,
//! get, list (a page of 20) and event append, against any [`GenerationStore`], with a chosen
//! number of requests in flight. Reports ops/s and latency percentiles per operation; nothing
//! is gated on it. `examples/store_ops.rs` runs it against SQLite and Cassandra side by side.

use crate::{GenerationStore, StoreResult};
use codebegen_schema::generation::{
    EventKind, GenerationEvent, GenerationId, GenerationOptions, GenerationRecord,
    GenerationStatus, Stage, UserId,
};
use futures_util::{StreamExt, TryStreamExt};
use std::future::Future;
use std::time::{Duration, Instant};

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct BenchConfig {
    /// Generations created (and updated, read and listed as many times).
    pub generations: usize,
    /// Generations per user (a list reads the newest 20 of one user).
    pub generations_per_user: usize,
    /// Events appended per generation.
    pub events_per_generation: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
}

/// One operation's numbers.
#[derive(Debug, Clone)]
pub struct OpStats {
    /// The operation.
    pub name: &'static str,
    /// Calls made.
    pub count: usize,
    /// Calls per second of wall time.
    pub ops_per_s: f64,
    /// Median latency.
    pub p50: Duration,
    /// 99th percentile latency.
    pub p99: Duration,
}

impl std::fmt::Display for OpStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:<13} {:>7} ops {:>10.0} ops/s  p50 {:>9.3} ms  p99 {:>9.3} ms",
            self.name,
            self.count,
            self.ops_per_s,
            self.p50.as_secs_f64() * 1e3,
            self.p99.as_secs_f64() * 1e3
        )
    }
}

/// A generation of a few KiB, like one the service stores mid-pipeline.
pub fn sample_generation(user: UserId, created_at: i64) -> GenerationRecord {
    GenerationRecord {
        id: GenerationId(uuid::Uuid::new_v4()),
        user_id: user,
        project_id: None,
        parent_id: None,
        prompt: Some(
            "A library app with books, authors and loans; members borrow books.".repeat(4),
        ),
        input_spec: None,
        options: GenerationOptions::default(),
        status: GenerationStatus::Queued,
        stage: None,
        progress: 0,
        spec: None,
        review: Some(serde_json::json!({
            "score": 93,
            "findings": (0..20).map(|i| serde_json::json!({ "file": format!("app/m{i}.py"), "line": i, "rule": "E501", "message": "line too long" })).collect::<Vec<_>>()
        })),
        gates: None,
        error: None,
        created_at,
        updated_at: created_at,
        completed_at: None,
    }
}

/// Runs `op` on every item with `concurrency` in flight; wall time and each call's latency.
async fn timed<T, F, Fut>(
    items: Vec<T>,
    concurrency: usize,
    name: &'static str,
    op: F,
) -> StoreResult<OpStats>
where
    F: Fn(T) -> Fut,
    Fut: Future<Output = StoreResult<()>>,
{
    let count = items.len();
    let started = Instant::now();
    let mut latencies: Vec<Duration> = futures_util::stream::iter(items)
        .map(|item| {
            let call = op(item);
            async move {
                let begun = Instant::now();
                call.await.map(|()| begun.elapsed())
            }
        })
        .buffer_unordered(concurrency.max(1))
        .try_collect()
        .await?;
    let wall = started.elapsed();
    latencies.sort_unstable();
    let at = |q: f64| {
        let index = ((latencies.len() as f64) * q) as usize;
        latencies
            .get(index.min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(OpStats {
        name,
        count,
        ops_per_s: count as f64 / wall.as_secs_f64().max(1e-9),
        p50: at(0.50),
        p99: at(0.99),
    })
}

/// Runs the five operations in order and returns their numbers.
pub async fn bench_generation_store(
    store: &dyn GenerationStore,
    config: &BenchConfig,
) -> StoreResult<Vec<OpStats>> {
    let per_user = config.generations_per_user.max(1);
    let users: Vec<UserId> = (0..config.generations.div_ceil(per_user))
        .map(|_| UserId(uuid::Uuid::new_v4()))
        .collect();
    let records: Vec<GenerationRecord> = (0..config.generations)
        .map(|n| {
            sample_generation(
                users[n / per_user],
                1_700_000_000_000 + i64::try_from(n).unwrap_or(0),
            )
        })
        .collect();
    let n = config.concurrency;
    let mut stats = Vec::new();
    stats.push(
        timed(records.clone(), n, "create", |r| async move {
            store.put_generation(&r).await
        })
        .await?,
    );
    let updated: Vec<GenerationRecord> = records
        .iter()
        .map(|r| GenerationRecord {
            status: GenerationStatus::Running,
            stage: Some(Stage::Render),
            progress: 33,
            updated_at: r.updated_at + 1,
            ..r.clone()
        })
        .collect();
    stats.push(
        timed(updated, n, "stage update", |r| async move {
            store.put_generation(&r).await
        })
        .await?,
    );
    let ids: Vec<GenerationId> = records.iter().map(|r| r.id).collect();
    stats.push(
        timed(ids.clone(), n, "get", |id| async move {
            store.get_generation(id).await.map(|_| ())
        })
        .await?,
    );
    let listers: Vec<UserId> = (0..config.generations)
        .map(|i| users[i % users.len()])
        .collect();
    stats.push(
        timed(listers, n, "list (20)", |user| async move {
            store
                .list_generations(user, None, 20, None)
                .await
                .map(|_| ())
        })
        .await?,
    );
    let events: Vec<GenerationEvent> = ids
        .iter()
        .flat_map(|id| {
            (1..=config.events_per_generation).map(move |seq| GenerationEvent {
                generation_id: *id,
                seq: u64::try_from(seq).unwrap_or(u64::MAX),
                kind: EventKind::Log,
                data: serde_json::json!({ "line": format!("rendered file {seq} of 12") }),
                at: 1_700_000_000_000,
            })
        })
        .collect();
    stats.push(
        timed(events, n, "event append", |e| async move {
            store.append_event(&e).await
        })
        .await?,
    );
    Ok(stats)
}
