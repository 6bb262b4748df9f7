//! Generation leases between nodes that share one store: a stopped node's generation is taken
//! over and finished elsewhere with the same result as on one node; a node whose lease was taken
//! stops writing; start-up leaves a live node's generation alone. Real time, short leases.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codebegen_actors::lease::takeover_interval_for;
use codebegen_actors::{NewGeneration, Service, ServiceConfig, Stores};
use codebegen_schema::generation::{
    EventKind, GenerationEvent, GenerationId, GenerationOptions, GenerationRecord,
    GenerationStatus, Stage, Tier, UserId, UserRecord,
};
use codebegen_store::memory::{MemoryArtifactStore, MemoryStore};

const TTL: Duration = Duration::from_millis(300);

fn stores() -> Stores {
    let db = Arc::new(MemoryStore::new());
    Stores {
        users: db.clone(),
        projects: db.clone(),
        generations: db.clone(),
        artifacts: Arc::new(MemoryArtifactStore::new()),
        leases: db,
    }
}

fn config(node: &str, gates: codebegen_gates::GateConfig) -> ServiceConfig {
    ServiceConfig {
        node_name: node.into(),
        stage_timeout: Duration::from_secs(30),
        gates: Some(gates),
        user_idle: Duration::from_secs(60),
        workers: 1,
        lease_ttl: TTL,
        takeover_interval: takeover_interval_for(TTL),
    }
}

/// Gates with only compileall, run by a fake "python" script: `sleep 30` keeps the gates stage
/// running until `gate_timeout` (short: the runtime waits for the gate thread at the end of a
/// test), `exit 0` passes it at once.
fn gates(
    dir: &Path,
    name: &str,
    script: &str,
    gate_timeout: Duration,
) -> codebegen_gates::GateConfig {
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{script}\n")).expect("write script");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut gates = codebegen_gates::GateConfig::new(&dir.join("data"));
    gates.python = path;
    gates.gate_timeout = gate_timeout;
    gates.install_timeout = gate_timeout;
    gates.only = vec![codebegen_gates::GateName::Compileall];
    gates
}

fn slow_gates(dir: &Path) -> codebegen_gates::GateConfig {
    gates(dir, "slow-python", "sleep 30", Duration::from_secs(3))
}

fn fast_gates(dir: &Path) -> codebegen_gates::GateConfig {
    gates(dir, "fast-python", "exit 0", Duration::from_secs(30))
}

fn user() -> UserRecord {
    UserRecord {
        id: UserId(uuid::Uuid::new_v4()),
        email: format!("{}@example.com", uuid::Uuid::new_v4()),
        password_hash: "x".into(),
        tier: Tier::Pro,
        is_admin: false,
        created_at: 0,
    }
}

const PROMPT: &str = "A library: books have a title and an isbn; members borrow books";

fn validated(prompt: &str) -> NewGeneration {
    NewGeneration {
        prompt: Some(prompt.into()),
        options: GenerationOptions {
            db: None,
            validate: true,
        },
        ..Default::default()
    }
}

fn now_millis() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .expect("clock after 1970")
}

/// Polls `probe` until it returns `Some`, failing after `limit` with `what`.
async fn wait_for<T, F, Fut>(what: &str, limit: Duration, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let deadline = Instant::now() + limit;
    loop {
        if let Some(value) = probe().await {
            return value;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn record(stores: &Stores, id: GenerationId) -> GenerationRecord {
    stores
        .generations
        .get_generation(id)
        .await
        .expect("store")
        .expect("record")
}

async fn wait_record(
    stores: &Stores,
    id: GenerationId,
    what: &str,
    limit: Duration,
    done: impl Fn(&GenerationRecord) -> bool,
) -> GenerationRecord {
    wait_for(what, limit, || async {
        let r = record(stores, id).await;
        done(&r).then_some(r)
    })
    .await
}

async fn events(stores: &Stores, id: GenerationId) -> Vec<GenerationEvent> {
    stores
        .generations
        .list_events(id, 0, 10_000)
        .await
        .expect("events")
}

/// Every file the generation stored, by path.
async fn files(stores: &Stores, id: GenerationId) -> BTreeMap<String, Vec<u8>> {
    let prefix = format!("generations/{id}/files/");
    let mut files = BTreeMap::new();
    for key in stores.artifacts.list(&prefix).await.expect("list") {
        let bytes = stores
            .artifacts
            .get(&key)
            .await
            .expect("get")
            .expect("blob");
        files.insert(key[prefix.len()..].to_string(), bytes.to_vec());
    }
    files
}

/// What two runs of one prompt must agree on: the outcome without ids, times and gate timings.
fn outcome(record: &GenerationRecord) -> serde_json::Value {
    let mut gates = record.gates.clone();
    for gate in gates
        .iter_mut()
        .flat_map(|g| g["gates"].as_array_mut())
        .flatten()
    {
        gate["duration_ms"] = 0.into();
    }
    serde_json::json!({
        "status": record.status.as_str(),
        "stage": record.stage.map(Stage::as_str),
        "progress": record.progress,
        "spec": record.spec,
        "review": record.review,
        "gates": gates,
        "error": record.error,
    })
}

fn kinds_and_stages(events: &[GenerationEvent], kind: EventKind) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == kind)
        .map(|e| e.data["stage"].as_str().unwrap_or("").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_nodes_generation_is_taken_over_and_finished_as_on_one_node() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = stores();
    let a = Service::start(shared.clone(), config("node-a", slow_gates(dir.path())))
        .await
        .expect("node a");
    let b = Service::start(shared.clone(), config("node-b", fast_gates(dir.path())))
        .await
        .expect("node b");
    let alice = user();
    let created = a
        .create_generation(&alice, validated(PROMPT))
        .await
        .expect("created on a");
    let id = created.id;
    wait_record(
        &shared,
        id,
        "node a in the gates stage",
        Duration::from_secs(30),
        |r| r.stage == Some(Stage::Gates),
    )
    .await;
    let lease = shared
        .leases
        .get_lease(id)
        .await
        .expect("lease")
        .expect("held");
    assert_eq!(lease.owner, "node-a");
    let seq_on_a = shared.generations.last_event_seq(id).await.expect("seq");

    // Node a stops without releasing anything: its lease lapses, b takes the generation over.
    let stopped = Instant::now();
    a.shutdown().await;
    assert_eq!(
        shared
            .leases
            .get_lease(id)
            .await
            .expect("lease")
            .map(|l| l.owner),
        Some("node-a".to_string()),
        "a stopping node leaves its lease to lapse"
    );
    let takeover_bound = TTL + Duration::from_millis(1_500);
    wait_for("node b to take over", takeover_bound, || async {
        (shared.generations.last_event_seq(id).await.expect("seq") > seq_on_a).then_some(())
    })
    .await;
    let taken_after = stopped.elapsed();
    let done = wait_record(
        &shared,
        id,
        "node b to finish",
        Duration::from_secs(20),
        |r| r.status.is_final(),
    )
    .await;
    println!(
        "taken over {taken_after:?} after node a stopped; finished after {:?}",
        stopped.elapsed()
    );
    assert_eq!(done.status, GenerationStatus::Completed, "{:?}", done.error);
    assert_eq!(b.metrics().takeovers, 1);
    assert_eq!(
        shared.leases.get_lease(id).await.expect("lease"),
        None,
        "the lease is released once the final status is stored"
    );

    // The event log: consecutive seqs, finished stages not redone, one final event, last.
    let log = events(&shared, id).await;
    let seqs: Vec<u64> = log.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=log.len() as u64).collect::<Vec<_>>(),
        "no gap or repeat"
    );
    assert_eq!(
        kinds_and_stages(&log, EventKind::StageStarted),
        ["extract", "render", "review", "fix", "docs", "gates", "gates", "package"],
        "only the interrupted stage runs twice"
    );
    assert_eq!(log.iter().filter(|e| e.kind.is_final()).count(), 1);
    assert_eq!(log.last().map(|e| e.kind), Some(EventKind::Completed));

    // The same prompt on one node, with b's gates, gives the same outcome and files.
    let solo_stores = stores();
    let solo = Service::start(solo_stores.clone(), config("solo", fast_gates(dir.path())))
        .await
        .expect("solo node");
    let single = solo
        .create_generation(&user(), validated(PROMPT))
        .await
        .expect("created");
    let single = wait_record(
        &solo_stores,
        single.id,
        "the single-node run",
        Duration::from_secs(20),
        |r| r.status.is_final(),
    )
    .await;
    assert_eq!(outcome(&done), outcome(&single));
    let (taken_files, single_files) = (
        files(&shared, id).await,
        files(&solo_stores, single.id).await,
    );
    assert!(
        taken_files.contains_key("app/main.py"),
        "{:?}",
        taken_files.keys()
    );
    assert_eq!(taken_files, single_files, "the same files, byte for byte");
    b.shutdown().await;
    solo.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_whose_lease_was_taken_stops_without_writing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = stores();
    let a = Service::start(shared.clone(), config("node-a", slow_gates(dir.path())))
        .await
        .expect("node a");
    let created = a
        .create_generation(&user(), validated(PROMPT))
        .await
        .expect("created");
    let id = created.id;
    wait_record(
        &shared,
        id,
        "node a in the gates stage",
        Duration::from_secs(30),
        |r| r.stage == Some(Stage::Gates),
    )
    .await;
    assert_eq!(a.metrics().live_generations, 1);

    // Another node takes the lease (as if a had been paused past its expiry).
    assert!(shared
        .leases
        .release_lease(id, "node-a")
        .await
        .expect("release"));
    assert!(shared
        .leases
        .acquire_lease(id, "node-thief", 60_000, now_millis())
        .await
        .expect("acquire"));
    let stolen = Instant::now();
    let (log_before, record_before) = (events(&shared, id).await, record(&shared, id).await);

    // Its next renewal (every ttl / 3) is refused: the actor stops.
    wait_for(
        "node a's actor to stop",
        TTL + Duration::from_secs(1),
        || async { (a.metrics().live_generations == 0).then_some(()) },
    )
    .await;
    let stopped_after = stolen.elapsed();
    assert_eq!(
        events(&shared, id).await,
        log_before,
        "no event after the lease was lost"
    );
    assert_eq!(
        record(&shared, id).await,
        record_before,
        "the record is left to the new owner"
    );
    assert_eq!(
        shared
            .leases
            .get_lease(id)
            .await
            .expect("lease")
            .map(|l| l.owner),
        Some("node-thief".to_string())
    );
    assert_eq!(
        a.metrics().restarts,
        0,
        "losing the lease is a stop, not a crash"
    );
    println!("node a stopped {stopped_after:?} after its lease was taken");
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn startup_leaves_a_generation_leased_by_a_live_node_until_its_lease_lapses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = stores();
    let owner = user();
    let now = now_millis();
    let id = GenerationId(uuid::Uuid::now_v7());
    let queued = GenerationRecord {
        id,
        user_id: owner.id,
        project_id: None,
        parent_id: None,
        prompt: Some("todo app with tags".into()),
        input_spec: None,
        options: GenerationOptions::default(),
        status: GenerationStatus::Queued,
        stage: None,
        progress: 0,
        spec: None,
        review: None,
        gates: None,
        error: None,
        created_at: now,
        updated_at: now,
        completed_at: None,
    };
    shared
        .generations
        .put_generation(&queued)
        .await
        .expect("put");
    // Another node, alive for 1.5 s more, holds it.
    assert!(shared
        .leases
        .acquire_lease(id, "node-other", 1_500, now)
        .await
        .expect("acquire"));
    let expires_at = now + 1_500;

    let b = Service::start(shared.clone(), config("node-b", fast_gates(dir.path())))
        .await
        .expect("node b");
    assert_eq!(
        b.metrics().live_generations,
        0,
        "start-up did not resume it"
    );
    let done = wait_record(
        &shared,
        id,
        "node b to take over after the lapse",
        Duration::from_secs(20),
        |r| r.status.is_final(),
    )
    .await;
    assert_eq!(done.status, GenerationStatus::Completed, "{:?}", done.error);
    let log = events(&shared, id).await;
    let first = log.first().expect("events");
    assert!(
        first.at >= expires_at,
        "node b wrote at {} before the other node's lease lapsed at {expires_at}",
        first.at
    );
    assert_eq!(b.metrics().takeovers, 1);
    println!("taken over {} ms after the lapse", first.at - expires_at);
    b.shutdown().await;
}
