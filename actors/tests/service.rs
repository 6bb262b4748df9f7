//! The actor system end to end on in-memory stores: stages, events, checkpoints, tiers, cancel,
//! crash and restart recovery, worker retries and refinement.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codebegen_actors::lease::{takeover_interval_for, DEFAULT_LEASE_TTL};
use codebegen_actors::model::{ModelOutput, ModelTask};
use codebegen_actors::{NewGeneration, Service, ServiceConfig, ServiceError, Stores};
use codebegen_schema::generation::{
    EventKind, GenerationId, GenerationOptions, GenerationRecord, GenerationStatus, Tier, UserId,
    UserRecord,
};
use codebegen_store::memory::{MemoryArtifactStore, MemoryStore};

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

fn config(gates: Option<codebegen_gates::GateConfig>) -> ServiceConfig {
    ServiceConfig {
        node_name: "test".into(),
        stage_timeout: Duration::from_secs(30),
        gates,
        user_idle: Duration::from_secs(60),
        workers: 2,
        lease_ttl: DEFAULT_LEASE_TTL,
        takeover_interval: takeover_interval_for(DEFAULT_LEASE_TTL),
    }
}

/// Gates whose "python" sleeps: the gates stage then lasts until its time limit, which gives tests
/// a generation that stays running for as long as they need.
fn slow_gates(dir: &Path, gate_timeout: Duration) -> codebegen_gates::GateConfig {
    let script = dir.join("slow-python");
    std::fs::write(&script, "#!/bin/sh\nsleep 30\n").expect("write script");
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let mut gates = codebegen_gates::GateConfig::new(&dir.join("data"));
    gates.python = script;
    gates.gate_timeout = gate_timeout;
    gates.install_timeout = gate_timeout;
    gates.only = vec![codebegen_gates::GateName::Compileall];
    gates
}

fn user(tier: Tier) -> UserRecord {
    UserRecord {
        id: UserId(uuid::Uuid::new_v4()),
        email: format!("{}@example.com", uuid::Uuid::new_v4()),
        password_hash: "x".into(),
        tier,
        is_admin: false,
        created_at: 0,
    }
}

fn prompt(text: &str) -> NewGeneration {
    NewGeneration {
        prompt: Some(text.into()),
        ..Default::default()
    }
}

async fn wait_until(
    service: &Service,
    id: GenerationId,
    done: impl Fn(&GenerationRecord) -> bool,
    limit: Duration,
) -> GenerationRecord {
    let deadline = Instant::now() + limit;
    loop {
        let record = service
            .stores()
            .generations
            .get_generation(id)
            .await
            .expect("store")
            .expect("record");
        if done(&record) {
            return record;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting; last record: {record:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn wait_final(service: &Service, id: GenerationId) -> GenerationRecord {
    wait_until(
        service,
        id,
        |r| r.status.is_final(),
        Duration::from_secs(60),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prompt_runs_through_every_stage_with_ordered_events_and_artifacts() {
    let service = Service::start(stores(), config(None)).await.expect("start");
    let alice = user(Tier::Pro);
    let record = service
        .create_generation(
            &alice,
            prompt("A blog: posts have a title and a body; comments belong to posts"),
        )
        .await
        .expect("created");
    assert_eq!(record.status, GenerationStatus::Queued);
    let done = wait_final(&service, record.id).await;
    assert_eq!(done.status, GenerationStatus::Completed, "{:?}", done.error);
    assert_eq!(done.progress, 100);
    assert!(done
        .spec
        .as_ref()
        .is_some_and(|s| s.entity("Post").is_some()));
    assert!(done
        .review
        .as_ref()
        .and_then(|r| r["score"].as_u64())
        .is_some());

    let events = service
        .stores()
        .generations
        .list_events(record.id, 0, 1000)
        .await
        .expect("events");
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "seqs are 1, 2, 3, ..."
    );
    let started: Vec<String> = events
        .iter()
        .filter(|e| e.kind == EventKind::StageStarted)
        .map(|e| e.data["stage"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(
        started,
        ["extract", "render", "review", "fix", "docs", "package"]
    );
    assert_eq!(events.last().map(|e| e.kind), Some(EventKind::Completed));

    let artifacts = &service.stores().artifacts;
    let prefix = format!("generations/{}", record.id);
    let manifest = artifacts
        .get(&format!("{prefix}/manifest.json"))
        .await
        .expect("get")
        .expect("manifest");
    let listing: serde_json::Value = serde_json::from_slice(&manifest).expect("JSON");
    assert!(listing
        .as_array()
        .is_some_and(|l| l.iter().any(|f| f["path"] == "app/main.py")));
    assert!(artifacts
        .get(&format!("{prefix}/files/app/main.py"))
        .await
        .expect("get")
        .is_some());
    let zip = artifacts
        .get(&format!("{prefix}/archive.zip"))
        .await
        .expect("get")
        .expect("archive");
    assert_eq!(&zip[..2], b"PK");
    let readme = artifacts
        .get(&format!("{prefix}/files/README.md"))
        .await
        .expect("get")
        .expect("README");
    assert!(
        String::from_utf8_lossy(&readme).contains("FastAPI backend"),
        "the docs stage wrote the overview"
    );
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn free_tier_allows_one_running_and_five_per_hour() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = Service::start(
        stores(),
        config(Some(slow_gates(dir.path(), Duration::from_secs(30)))),
    )
    .await
    .expect("start");
    let bob = user(Tier::Free);
    let slow = NewGeneration {
        options: GenerationOptions {
            db: None,
            validate: true,
        },
        ..prompt("todo app")
    };
    let first = service.create_generation(&bob, slow).await.expect("first");
    match service.create_generation(&bob, prompt("notes app")).await {
        Err(ServiceError::RateLimited { retry_after_s, .. }) => assert!(retry_after_s > 0),
        other => panic!("second concurrent free generation must be refused, got {other:?}"),
    }
    service
        .cancel_generation(bob.id, first.id)
        .await
        .expect("cancel");
    for n in 2..=5 {
        let r = service
            .create_generation(&bob, prompt("notes app"))
            .await
            .unwrap_or_else(|e| panic!("generation {n}: {e}"));
        wait_final(&service, r.id).await;
    }
    match service.create_generation(&bob, prompt("notes app")).await {
        Err(ServiceError::RateLimited { retry_after_s, .. }) => {
            assert!(retry_after_s > 3000, "about an hour: {retry_after_s}")
        }
        other => panic!("sixth in the hour must be refused, got {other:?}"),
    }
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_a_running_generation_and_a_final_one_conflicts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = Service::start(
        stores(),
        config(Some(slow_gates(dir.path(), Duration::from_secs(30)))),
    )
    .await
    .expect("start");
    let carol = user(Tier::Pro);
    let r = service
        .create_generation(
            &carol,
            NewGeneration {
                options: GenerationOptions {
                    db: None,
                    validate: true,
                },
                ..prompt("url shortener")
            },
        )
        .await
        .expect("created");
    wait_until(
        &service,
        r.id,
        |r| r.stage == Some(codebegen_schema::generation::Stage::Gates),
        Duration::from_secs(30),
    )
    .await;
    let cancelled = service
        .cancel_generation(carol.id, r.id)
        .await
        .expect("cancel");
    assert_eq!(cancelled.status, GenerationStatus::Cancelled);
    let events = service
        .stores()
        .generations
        .list_events(r.id, 0, 1000)
        .await
        .expect("events");
    assert_eq!(events.last().map(|e| e.kind), Some(EventKind::Cancelled));
    assert!(matches!(
        service.cancel_generation(carol.id, r.id).await,
        Err(ServiceError::Conflict(_))
    ));
    assert!(
        matches!(
            service.cancel_generation(user(Tier::Pro).id, r.id).await,
            Err(ServiceError::NotFound)
        ),
        "another user's generation is not found"
    );
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_generation_actor_restarts_from_its_checkpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let service = Service::start(
        stores(),
        config(Some(slow_gates(dir.path(), Duration::from_secs(2)))),
    )
    .await
    .expect("start");
    let dave = user(Tier::Pro);
    let r = service
        .create_generation(
            &dave,
            NewGeneration {
                options: GenerationOptions {
                    db: None,
                    validate: true,
                },
                ..prompt("recipes with ingredients")
            },
        )
        .await
        .expect("created");
    wait_until(
        &service,
        r.id,
        |r| r.stage == Some(codebegen_schema::generation::Stage::Gates),
        Duration::from_secs(30),
    )
    .await;
    assert!(
        service.inject_generation_fault(r.id),
        "the actor was running"
    );
    let done = wait_final(&service, r.id).await;
    assert!(service.metrics().restarts >= 1);
    // The slow "python" times out, so the gates fail; what matters is that it resumed.
    assert_eq!(done.status, GenerationStatus::Failed);
    let events = service
        .stores()
        .generations
        .list_events(r.id, 0, 1000)
        .await
        .expect("events");
    let extract_runs = events
        .iter()
        .filter(|e| e.kind == EventKind::StageStarted && e.data["stage"] == "extract")
        .count();
    assert_eq!(extract_runs, 1, "finished stages are not redone");
    assert!(events.iter().any(|e| e.kind == EventKind::Log
        && e.data["message"].as_str().unwrap_or("").contains("resumed")));
    let gates_runs = events
        .iter()
        .filter(|e| e.kind == EventKind::StageStarted && e.data["stage"] == "gates")
        .count();
    assert_eq!(gates_runs, 2, "the interrupted stage runs again");
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_service_on_the_same_store_resumes_unfinished_generations() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = stores();
    let first = Service::start(
        shared.clone(),
        config(Some(slow_gates(dir.path(), Duration::from_secs(30)))),
    )
    .await
    .expect("start");
    let erin = user(Tier::Pro);
    let r = first
        .create_generation(
            &erin,
            NewGeneration {
                options: GenerationOptions {
                    db: None,
                    validate: true,
                },
                ..prompt("gym with members and classes")
            },
        )
        .await
        .expect("created");
    wait_until(
        &first,
        r.id,
        |r| r.stage == Some(codebegen_schema::generation::Stage::Gates),
        Duration::from_secs(30),
    )
    .await;
    first.shutdown().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let last_seq = shared.generations.last_event_seq(r.id).await.expect("seq");
    // The second node has gates off for this test: the stage fails fast but only after resuming.
    let second = Service::start(
        shared.clone(),
        config(Some(slow_gates(dir.path(), Duration::from_secs(1)))),
    )
    .await
    .expect("restart");
    let done = wait_final(&second, r.id).await;
    assert!(done.status.is_final());
    let events = shared
        .generations
        .list_events(r.id, 0, 1000)
        .await
        .expect("events");
    assert!(
        events
            .iter()
            .any(|e| e.seq > last_seq && e.kind == EventKind::Log),
        "the new service logged the resume"
    );
    let seqs: Vec<u64> = events.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=events.len() as u64).collect::<Vec<_>>(),
        "no gap or repeat across the restart"
    );
    second.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_worker_is_restarted_and_its_request_retried_once() {
    let service = Service::start(stores(), config(None)).await.expect("start");
    service.inject_worker_faults(1);
    let answer = service
        .ask_model(ModelTask::ProposeSpec {
            prompt: "todo app".into(),
        })
        .await
        .expect("retried on a fresh worker");
    assert!(matches!(answer, ModelOutput::Spec { .. }));
    assert_eq!(service.metrics().restarts, 1);
    service.inject_worker_faults(2);
    match service
        .ask_model(ModelTask::ProposeSpec {
            prompt: "todo app".into(),
        })
        .await
    {
        Err(ServiceError::Unavailable(_)) => {}
        other => panic!("a request whose worker dies twice fails, got {other:?}"),
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    while service.metrics().live_workers < 2 {
        assert!(Instant::now() < deadline, "workers were not restarted");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_prompt_refines_the_parent_spec() {
    let service = Service::start(stores(), config(None)).await.expect("start");
    let frank = user(Tier::Pro);
    let parent = service.create_generation(&frank, prompt("A blog: posts have a title and a body. Tags have a name; posts can have many tags.")).await.expect("parent");
    let parent = wait_final(&service, parent.id).await;
    assert_eq!(
        parent.status,
        GenerationStatus::Completed,
        "{:?}",
        parent.error
    );
    let child = service
        .create_generation(
            &frank,
            NewGeneration {
                parent_id: Some(parent.id),
                ..prompt(
                    "add a Comment entity with a body, belonging to posts; remove the tag entity",
                )
            },
        )
        .await
        .expect("child");
    let child = wait_final(&service, child.id).await;
    assert_eq!(
        child.status,
        GenerationStatus::Completed,
        "{:?}",
        child.error
    );
    let spec = child.spec.expect("spec");
    assert!(
        spec.entity("Comment").is_some() && spec.entity("Tag").is_none(),
        "{spec:?}"
    );
    let other = user(Tier::Pro);
    assert!(matches!(
        service
            .create_generation(
                &other,
                NewGeneration {
                    parent_id: Some(parent.id),
                    ..prompt("add x")
                }
            )
            .await,
        Err(ServiceError::NotFound)
    ));
    service.shutdown().await;
}
