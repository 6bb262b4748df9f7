//! The real SmolLM2 behind the scheduler (release build; the model file's path comes from
//! `CODEBEGEN_TEST_MODEL`): concurrent requests stream their text, a cancelled request frees its
//! slot and its cache blocks, and hybrid extraction scores at least as well as the rules alone
//! on every fixture prompt — both scores are printed.

#[path = "../../pipeline/tests/support/fixture_score.rs"]
mod fixture_score;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use codebegen_actors::lease::{takeover_interval_for, DEFAULT_LEASE_TTL};
use codebegen_actors::model::{ModelOutput, ModelTask};
use codebegen_actors::{
    LlmWorkerConfig, LlmWorkerSpec, Service, ServiceConfig, Stores, StreamEvent, WorkerSpec,
};
use codebegen_pipeline::extract::extract;
use codebegen_schema::AppSpec;
use codebegen_store::memory::{MemoryArtifactStore, MemoryStore};
use tokio::sync::mpsc;

fn model_path() -> Option<PathBuf> {
    match std::env::var_os("CODEBEGEN_TEST_MODEL") {
        Some(path) => Some(PathBuf::from(path)),
        None => {
            assert!(
                std::env::var("CODEBEGEN_REQUIRE_MODEL").as_deref() != Ok("1"),
                "CODEBEGEN_REQUIRE_MODEL=1 but CODEBEGEN_TEST_MODEL is not set"
            );
            println!("skipped: CODEBEGEN_TEST_MODEL not set");
            None
        }
    }
}

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

async fn service(path: PathBuf, max_batch: usize) -> (Service, LlmWorkerSpec) {
    let mut worker = LlmWorkerConfig::new("smollm2-135m", path, max_batch);
    worker.request_timeout = Duration::from_secs(900);
    let spec = LlmWorkerSpec::gguf(worker);
    let config = ServiceConfig {
        node_name: "test".into(),
        stage_timeout: Duration::from_secs(900),
        gates: None,
        user_idle: Duration::from_secs(60),
        workers: 1,
        lease_ttl: DEFAULT_LEASE_TTL,
        takeover_interval: takeover_interval_for(DEFAULT_LEASE_TTL),
    };
    let service =
        Service::start_with_workers(stores(), config, vec![WorkerSpec::Llm(spec.clone())])
            .await
            .expect("the model loads");
    (service, spec)
}

fn overview(prompt: &str) -> ModelTask {
    ModelTask::DocsOverview {
        spec: Box::new(extract(prompt).spec),
    }
}

async fn wait_until(what: &str, limit: Duration, mut done: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_stream_and_a_cancellation_frees_its_slot() {
    let Some(path) = model_path() else {
        return;
    };
    let (service, spec) = service(path, 3).await;
    let prompts = [
        "A bookstore API: books have a title and a price, and belong to a publisher.",
        "Conference app: speakers give talks in rooms.",
        "Track expenses: each expense has an amount and a date.",
        "A job board. Companies post jobs with a title and a salary.",
    ];
    let mut streams = Vec::new();
    let mut tickets = Vec::new();
    for prompt in prompts {
        let (tx, rx) = mpsc::unbounded_channel();
        tickets.push(
            service
                .submit_model(overview(prompt), 1, Some(tx))
                .expect("submit"),
        );
        streams.push(rx);
    }
    let stats = service.scheduler_stats().await.expect("stats");
    assert_eq!(
        (stats.in_flight, stats.queued),
        (3, 1),
        "capacity is max_batch: {stats:?}"
    );
    // The first request streams while it runs; then its caller goes away.
    let first_text = match tokio::time::timeout(Duration::from_secs(120), streams[0].recv()).await {
        Ok(Some(StreamEvent::Text(text))) => text,
        other => panic!("no text streamed: {other:?}"),
    };
    assert!(!first_text.is_empty());
    let mut tickets = tickets.into_iter();
    drop(tickets.next());
    wait_until(
        "the queued request to take the freed slot",
        Duration::from_secs(30),
        async || {
            let stats = service.scheduler_stats().await.expect("stats");
            stats.queued == 0 && stats.in_flight == 3
        },
    )
    .await;
    for (ticket, mut stream) in tickets.zip(streams.into_iter().skip(1)) {
        let answer = ticket
            .wait(Duration::from_secs(600))
            .await
            .expect("answered");
        let ModelOutput::Text(text) = answer else {
            panic!("an overview is text, got {answer:?}")
        };
        assert!(!text.is_empty());
        let mut streamed = String::new();
        while let Ok(event) = stream.try_recv() {
            if let StreamEvent::Text(t) = event {
                streamed.push_str(&t);
            }
        }
        assert!(!streamed.is_empty(), "every request streamed text");
        println!("streamed: {streamed:?}\nanswer: {text:?}");
    }
    wait_until(
        "the engine to go idle",
        Duration::from_secs(30),
        async || {
            let s = spec.engine_stats();
            s.running == 0 && s.waiting == 0
        },
    )
    .await;
    let stats = spec.engine_stats();
    assert_eq!(
        stats.free_blocks, stats.total_blocks,
        "the cancelled request's blocks were freed: {stats:?}"
    );
    assert_eq!(service.scheduler_stats().await.expect("stats").in_flight, 0);
    service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hybrid_extraction_with_the_model_never_scores_below_the_rules() {
    let Some(path) = model_path() else {
        return;
    };
    let (service, _) = service(path, 8).await;
    let fixtures = fixture_score::fixtures();
    let started = Instant::now();
    let tickets: Vec<_> = fixtures
        .iter()
        .map(|f| {
            service
                .submit_model(
                    ModelTask::ProposeSpec {
                        prompt: f.prompt.clone(),
                    },
                    2,
                    None,
                )
                .expect("submit")
        })
        .collect();
    let (mut rules_total, mut hybrid_total, mut points, mut readable, mut added) = (0, 0, 0, 0, 0);
    let mut worse = Vec::new();
    for (fixture, ticket) in fixtures.iter().zip(tickets) {
        let answer = ticket
            .wait(Duration::from_secs(900))
            .await
            .expect("answered");
        let ModelOutput::Spec { spec, diagnostics } = answer else {
            panic!("a spec, got {answer:?}")
        };
        let hybrid: AppSpec = serde_json::from_value(spec).expect("the hybrid spec is a spec");
        let codes: Vec<String> = diagnostics
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|d| d["code"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default();
        readable += usize::from(!codes.iter().any(|c| c == "model_output_unreadable"));
        let additions = codes
            .iter()
            .filter(|c| c.starts_with("model_added"))
            .count();
        added += additions;
        let (rules_met, total) =
            fixture_score::score(&extract(&fixture.prompt).spec, &fixture.expect);
        let (hybrid_met, _) = fixture_score::score(&hybrid, &fixture.expect);
        println!(
            "{:<20} rules {rules_met:>2}/{total:<2} hybrid {hybrid_met:>2}/{total:<2} model additions {additions}",
            fixture.id
        );
        rules_total += rules_met;
        hybrid_total += hybrid_met;
        points += total;
        if hybrid_met < rules_met {
            worse.push(fixture.id.clone());
        }
    }
    println!(
        "fixture score, {} prompts: rules {rules_total}/{points}, hybrid {hybrid_total}/{points}; \
         {readable} proposals readable, {added} model additions kept; {:.1} s",
        fixtures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        worse.is_empty(),
        "hybrid scored below the rules on {worse:?}"
    );
    service.shutdown().await;
}
