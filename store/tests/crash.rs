//! Crash test for the SQLite store: a writer process is killed with SIGKILL under write load,
//! five times over on one database file, and after each kill every write it had acknowledged
//! must be present and intact, and `PRAGMA integrity_check` must say `ok`.
//!
//! The writer is this same test binary, started again with `CODEBEGEN_CRASH_WRITER_DB` set: the
//! test then plays the writer instead of the checker. It prints one line per write, only after
//! the store returned `Ok`, and flushes each line; every line the checker reads is therefore an
//! acknowledged write.

use codebegen_schema::generation::{
    EventKind, GenerationEvent, GenerationId, GenerationOptions, GenerationRecord,
    GenerationStatus, Stage, UserId,
};
use codebegen_store::{GenerationStore, SqliteStore};
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const WRITER_DB: &str = "CODEBEGEN_CRASH_WRITER_DB";
const TEST_NAME: &str = "sigkill_under_write_load_loses_no_acknowledged_write";
/// Acknowledgements to read before each kill: a fixed, uneven schedule.
const ACKS_BEFORE_KILL: [usize; 5] = [40, 333, 117, 800, 251];
/// Concurrent write loops in the writer.
const LANES: usize = 3;

/// One acknowledged write, as printed by the writer.
#[derive(Debug, Clone, PartialEq)]
enum Ack {
    /// The generation was created (queued).
    Created {
        id: GenerationId,
        user: UserId,
        created_at: i64,
    },
    /// Event `seq` was appended.
    Event { id: GenerationId, seq: u64 },
    /// The generation was updated to completed.
    Completed { id: GenerationId },
}

fn parse(line: &str) -> Option<Ack> {
    // The harness may have printed `test NAME ... ` on the same line before the first ack.
    let start = line.find("ACK ")?;
    let parts: Vec<&str> = line[start..].split_whitespace().collect();
    match parts.as_slice() {
        ["ACK", "created", id, user, at] => Some(Ack::Created {
            id: GenerationId::parse(id)?,
            user: UserId::parse(user)?,
            created_at: at.parse().ok()?,
        }),
        ["ACK", "event", id, seq] => Some(Ack::Event {
            id: GenerationId::parse(id)?,
            seq: seq.parse().ok()?,
        }),
        ["ACK", "completed", id] => Some(Ack::Completed {
            id: GenerationId::parse(id)?,
        }),
        _ => None,
    }
}

/// The record the writer stores first; the completed version is derived from it. Big enough
/// (a few KiB) that a write spans several pages.
fn queued(id: GenerationId, user: UserId, created_at: i64) -> GenerationRecord {
    GenerationRecord {
        id,
        user_id: user,
        project_id: None,
        parent_id: None,
        prompt: Some(format!("{id} ").repeat(100)),
        input_spec: Some(serde_json::json!({ "padding": "x".repeat(2048) })),
        options: GenerationOptions::default(),
        status: GenerationStatus::Queued,
        stage: None,
        progress: 0,
        spec: None,
        review: None,
        gates: None,
        error: None,
        created_at,
        updated_at: created_at,
        completed_at: None,
    }
}

fn completed(record: &GenerationRecord) -> GenerationRecord {
    GenerationRecord {
        status: GenerationStatus::Completed,
        stage: Some(Stage::Package),
        progress: 100,
        review: Some(serde_json::json!({ "score": 100 })),
        updated_at: record.created_at + 1,
        completed_at: Some(record.created_at + 1),
        ..record.clone()
    }
}

fn event(id: GenerationId, seq: u64) -> GenerationEvent {
    GenerationEvent {
        generation_id: id,
        seq,
        kind: EventKind::Log,
        data: serde_json::json!({ "line": format!("event {seq} of {id}") }),
        at: i64::try_from(seq).expect("small seq"),
    }
}

#[test]
fn sigkill_under_write_load_loses_no_acknowledged_write() {
    if let Ok(path) = std::env::var(WRITER_DB) {
        write_until_killed(Path::new(&path));
    }
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("crash.db");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let mut acked = Vec::new();
    for (round, acks_before_kill) in ACKS_BEFORE_KILL.into_iter().enumerate() {
        let new = run_and_kill(
            &db,
            &dir.path().join(format!("writer-{round}.stderr")),
            acks_before_kill,
        );
        eprintln!(
            "round {round}: {} writes acknowledged before and during SIGKILL",
            new.len()
        );
        acked.extend(new);
        check_integrity(&db);
        runtime.block_on(check_acknowledged(&db, &acked));
    }
}

/// Starts a writer, reads acknowledgements until `acks_before_kill` arrived, kills it with
/// SIGKILL, and returns every acknowledgement it printed, including those printed after the
/// count was reached.
fn run_and_kill(db: &Path, stderr_path: &Path, acks_before_kill: usize) -> Vec<Ack> {
    let stderr = std::fs::File::create(stderr_path).expect("create the writer's stderr file");
    let exe = std::env::current_exe().expect("path of this test binary");
    let mut child = Command::new(exe)
        .args(["--exact", TEST_NAME, "--nocapture", "--test-threads=1"])
        .env(WRITER_DB, db)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr)
        .spawn()
        .expect("start the writer");
    let stdout = child.stdout.take().expect("stdout is piped");
    let (lines_tx, lines_rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut acks = Vec::new();
    while acks.len() < acks_before_kill {
        let left = deadline.saturating_duration_since(Instant::now());
        match lines_rx.recv_timeout(left) {
            Ok(line) => acks.extend(parse(&line)),
            Err(err) => {
                let _ = child.kill();
                let _ = child.wait();
                let log = std::fs::read_to_string(stderr_path).unwrap_or_default();
                panic!(
                    "writer stopped acknowledging after {} writes ({err:?}); its stderr:\n{log}",
                    acks.len()
                );
            }
        }
    }
    // Child::kill sends SIGKILL on unix.
    child.kill().expect("SIGKILL the writer");
    let status = child.wait().expect("reap the writer");
    assert!(
        !status.success(),
        "the writer must have died by the signal, not exited: {status:?}"
    );
    reader.join().expect("stdout reader thread");
    // Lines printed between the count and the kill were acknowledged too.
    acks.extend(lines_rx.try_iter().filter_map(|line| parse(&line)));
    acks
}

fn check_integrity(db: &Path) {
    // Reopening through the store first: recovery and migrations must cope with the kill.
    drop(SqliteStore::open(db).expect("reopen after SIGKILL"));
    let connection = rusqlite::Connection::open(db).expect("open the database directly");
    let integrity: String = connection
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check");
    assert_eq!(
        integrity, "ok",
        "the database must not be corrupt after SIGKILL"
    );
    let broken_keys: i64 = connection
        .query_row("SELECT COUNT(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })
        .expect("foreign_key_check");
    assert_eq!(broken_keys, 0, "no event may point at a missing generation");
}

async fn check_acknowledged(db: &Path, acked: &[Ack]) {
    let store = SqliteStore::open(db).expect("reopen the store");
    let mut created = std::collections::HashMap::new();
    for ack in acked {
        if let Ack::Created {
            id,
            user,
            created_at,
        } = ack
        {
            created.insert(*id, queued(*id, *user, *created_at));
        }
    }
    for ack in acked {
        match ack {
            Ack::Created { id, .. } => {
                let stored = store.get_generation(*id).await.expect("get_generation");
                let first = &created[id];
                // A completion may have committed without being acknowledged before the kill.
                assert!(
                    stored.as_ref() == Some(first) || stored == Some(completed(first)),
                    "acknowledged generation {id} is missing or damaged: {stored:?}"
                );
            }
            Ack::Completed { id } => {
                let stored = store.get_generation(*id).await.expect("get_generation");
                assert_eq!(
                    stored,
                    Some(completed(&created[id])),
                    "acknowledged completion of {id} is missing"
                );
            }
            Ack::Event { id, seq } => {
                let stored = store
                    .list_events(*id, seq - 1, 1)
                    .await
                    .expect("list_events");
                assert_eq!(
                    stored,
                    vec![event(*id, *seq)],
                    "acknowledged event {seq} of {id} is missing or damaged"
                );
            }
        }
    }
}

/// The writer side: loops creating generations, appending events and completing them, in
/// several concurrent lanes, printing each acknowledged write. Never returns.
fn write_until_killed(path: &Path) -> ! {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result: Result<(), codebegen_store::StoreError> = runtime.block_on(async {
        let store = SqliteStore::open(path)?;
        let mut lanes = tokio::task::JoinSet::new();
        for lane in 0..LANES {
            let store = store.clone();
            lanes.spawn(async move {
                let user = UserId(uuid::Uuid::new_v4());
                for n in 0.. {
                    let record = queued(
                        GenerationId(uuid::Uuid::new_v4()),
                        user,
                        1_700_000_000_000 + n * 10 + lane as i64,
                    );
                    store.put_generation(&record).await?;
                    ack(&format!(
                        "created {} {} {}",
                        record.id, user, record.created_at
                    ));
                    for seq in 1..=3 {
                        store.append_event(&event(record.id, seq)).await?;
                        ack(&format!("event {} {seq}", record.id));
                    }
                    store.put_generation(&completed(&record)).await?;
                    ack(&format!("completed {}", record.id));
                }
                Ok::<(), codebegen_store::StoreError>(())
            });
        }
        while let Some(lane) = lanes.join_next().await {
            lane.expect("writer lane panicked")?;
        }
        Ok(())
    });
    eprintln!("writer stopped: {result:?}");
    std::process::exit(2);
}

fn ack(what: &str) {
    let mut out = std::io::stdout().lock();
    writeln!(out, "ACK {what}").expect("write an ack to stdout");
    out.flush().expect("flush an ack");
}
