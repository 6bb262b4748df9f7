//! Times create, stage update, get, list and event append against SQLite and Cassandra (or
//! ScyllaDB) in the same run, one request at a time and with 16 in flight, and prints ops/s and
//! p99 for each. Cassandra is the server at `$CODEBEGEN_TEST_CQL` (from
//! `deploy/dev/services.sh start`), in a fresh keyspace dropped afterwards; without it only
//! SQLite runs. Run with
//! `cargo run --release -p codebegen-store --example store_ops [N_GENERATIONS]`.

use codebegen_store::bench::{bench_generation_store, BenchConfig};
use codebegen_store::{GenerationStore, ScyllaConfig, ScyllaStore, SqliteStore};

async fn run(
    name: &str,
    store: &dyn GenerationStore,
    generations: usize,
) -> Result<(), Box<dyn std::error::Error>> {
    for concurrency in [1, 16] {
        let config = BenchConfig {
            generations,
            generations_per_user: 50,
            events_per_generation: 5,
            concurrency,
        };
        println!("{name}, {concurrency} in flight, {generations} generations:");
        for stats in bench_generation_store(store, &config).await? {
            println!("  {stats}");
        }
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let generations: usize = std::env::args()
        .nth(1)
        .map_or(Ok(2_000), |arg| arg.parse())?;
    let dir = tempfile::tempdir()?;
    let sqlite = SqliteStore::open(dir.path().join("bench.db"))?;
    run("SQLite (WAL, synchronous=NORMAL)", &sqlite, generations).await?;

    let Some(node) = std::env::var("CODEBEGEN_TEST_CQL")
        .ok()
        .filter(|v| !v.is_empty())
    else {
        println!("Cassandra skipped: CODEBEGEN_TEST_CQL not set");
        return Ok(());
    };
    let keyspace = format!(
        "codebegen_bench_{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    let cassandra =
        ScyllaStore::open(ScyllaConfig::new(vec![node.clone()], keyspace.clone())).await?;
    let outcome = run(&format!("CQL at {node}"), &cassandra, generations).await;
    drop(cassandra);
    let session = scylla::client::session_builder::SessionBuilder::new()
        .known_node(&node)
        .build()
        .await?;
    session
        .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
        .await?;
    outcome
}
