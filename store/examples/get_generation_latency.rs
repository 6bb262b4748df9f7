//! Measures `SqliteStore::get_generation` latency (the status-poll path): fills a fresh database
//! with generations of a few KiB each, then reads random ones one at a time and prints the
//! mean, median and 99th percentile. Run with `cargo run --release -p codebegen-store --example
//! get_generation_latency [N_GENERATIONS]`.

use codebegen_schema::generation::{
    GenerationId, GenerationOptions, GenerationRecord, GenerationStatus, Stage, UserId,
};
use codebegen_store::{GenerationStore, SqliteStore};
use std::time::{Duration, Instant};

fn record(user: UserId, n: i64) -> GenerationRecord {
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
        status: GenerationStatus::Running,
        stage: Some(Stage::Review),
        progress: 50,
        spec: None,
        review: Some(serde_json::json!({
            "score": 93,
            "findings": (0..20).map(|i| serde_json::json!({ "file": format!("app/m{i}.py"), "line": i, "rule": "E501", "message": "line too long" })).collect::<Vec<_>>()
        })),
        gates: None,
        error: None,
        created_at: 1_700_000_000_000 + n,
        updated_at: 1_700_000_000_000 + n,
        completed_at: None,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let n_generations: i64 = std::env::args()
        .nth(1)
        .map_or(Ok(10_000), |arg| arg.parse())?;
    let dir = tempfile::tempdir()?;
    let store = SqliteStore::open(dir.path().join("latency.db"))?;
    let mut ids = Vec::new();
    for n in 0..n_generations {
        let generation = record(UserId(uuid::Uuid::new_v4()), n);
        store.put_generation(&generation).await?;
        ids.push(generation.id);
    }
    let size = serde_json::to_string(&record(UserId(uuid::Uuid::new_v4()), 0))?.len();
    // Warm up the reader pool and the page cache, then measure.
    for id in ids.iter().take(200) {
        store.get_generation(*id).await?;
    }
    let mut samples: Vec<Duration> = Vec::new();
    for i in 0..5_000usize {
        let id = ids[(i * 7919) % ids.len()];
        let started = Instant::now();
        let found = store.get_generation(id).await?;
        samples.push(started.elapsed());
        assert!(found.is_some(), "generation {id} must exist");
    }
    samples.sort();
    let mean = samples.iter().sum::<Duration>() / u32::try_from(samples.len())?;
    let at = |q: f64| samples[((samples.len() as f64 * q) as usize).min(samples.len() - 1)];
    println!(
        "get_generation over {n_generations} generations of {size} bytes: mean {mean:?}, p50 {:?}, p99 {:?}, max {:?}",
        at(0.5),
        at(0.99),
        samples[samples.len() - 1]
    );
    Ok(())
}
