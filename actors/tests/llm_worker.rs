//! LLM workers behind the scheduler, with a scripted engine standing in for the model (no model
//! file needed): text streams as it is generated, a cancelled or timed-out request frees its
//! slot, a crashed engine thread restarts its worker and its requests are retried once, and a
//! model that fails or cannot be loaded never leaves a caller without an answer.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codebegen_actors::lease::{takeover_interval_for, DEFAULT_LEASE_TTL};
use codebegen_actors::llm_engine::{EngineFactory, LlmEngine};
use codebegen_actors::llm_tasks::LlmJob;
use codebegen_actors::model::{run_deterministic, ModelOutput, ModelTask};
use codebegen_actors::{
    LlmWorkerConfig, LlmWorkerSpec, Service, ServiceConfig, ServiceError, Stores, StreamEvent,
    WorkerSpec,
};
use codebegen_inference::engine::{EngineEvent, EngineStats, FinishReason};
use codebegen_inference::InferenceError;
use codebegen_store::memory::{MemoryArtifactStore, MemoryStore};
use tokio::sync::mpsc;

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

fn config() -> ServiceConfig {
    ServiceConfig {
        node_name: "test".into(),
        stage_timeout: Duration::from_secs(30),
        gates: None,
        user_idle: Duration::from_secs(60),
        workers: 2,
        lease_ttl: DEFAULT_LEASE_TTL,
        takeover_interval: takeover_interval_for(DEFAULT_LEASE_TTL),
    }
}

/// What the scripted engine writes for a prompt: `chunks` texts, one per step, unless the
/// prompt says `hang` (never finishes), `panic` (panics on its first step) or `refuse`.
fn script(prompt: &str) -> Vec<String> {
    if prompt.contains("ProposeSpec") || prompt.contains("JSON only") {
        let proposal = r#"{"entities":[{"name":"Speaker","fields":[{"name":"bio","type":"text"}]}],"relations":[{"kind":"many_to_one","from":"Talk","to":"Speaker"}]}"#;
        return proposal
            .as_bytes()
            .chunks(16)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect();
    }
    "The generated project is tidy and well tested, with a few style findings to polish."
        .split_inclusive(' ')
        .map(String::from)
        .collect()
}

struct Sequence {
    id: u64,
    chunks: VecDeque<String>,
    text: String,
    hang: bool,
    explode: bool,
}

/// A stand-in engine: admits up to `max_batch` sequences, emits one chunk per sequence per
/// step. Records what it was asked, for the assertions.
struct ScriptedEngine {
    max_batch: usize,
    running: Vec<Sequence>,
    waiting: VecDeque<Sequence>,
    pending: Vec<EngineEvent>,
    log: Arc<Mutex<Vec<String>>>,
    step_delay: Duration,
    /// Steps with an `explode` sequence running panic while this is above zero.
    explosions: Arc<AtomicUsize>,
}

impl LlmEngine for ScriptedEngine {
    fn start(&mut self, id: u64, job: &LlmJob) -> Result<(), InferenceError> {
        if job.prompt.contains("@refuse") {
            return Err(InferenceError::InvalidRequest(
                "refused by the script".into(),
            ));
        }
        self.log.lock().expect("log").push(format!("start {id}"));
        self.waiting.push_back(Sequence {
            id,
            chunks: script(&job.prompt).into(),
            text: String::new(),
            hang: job.prompt.contains("@hang"),
            explode: job.prompt.contains("@explode"),
        });
        Ok(())
    }

    fn cancel(&mut self, id: u64) -> bool {
        self.log.lock().expect("log").push(format!("cancel {id}"));
        let before = self.running.len() + self.waiting.len();
        self.running.retain(|s| s.id != id);
        self.waiting.retain(|s| s.id != id);
        let found = before != self.running.len() + self.waiting.len();
        if found {
            self.pending.push(EngineEvent::Finished {
                id,
                reason: FinishReason::Cancelled,
                text: String::new(),
                n_prompt: 1,
                n_generated: 0,
            });
        }
        found
    }

    fn step(&mut self) -> Result<Vec<EngineEvent>, InferenceError> {
        std::thread::sleep(self.step_delay);
        while self.running.len() < self.max_batch {
            let Some(next) = self.waiting.pop_front() else {
                break;
            };
            self.running.push(next);
        }
        let exploding = self.running.iter().any(|s| s.explode);
        if exploding
            && self
                .explosions
                .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                .is_ok()
        {
            panic!("scripted engine panic");
        }
        let mut events = std::mem::take(&mut self.pending);
        for sequence in &mut self.running {
            if sequence.hang {
                continue;
            }
            if let Some(chunk) = sequence.chunks.pop_front() {
                sequence.text.push_str(&chunk);
                events.push(EngineEvent::Token {
                    id: sequence.id,
                    token: 7,
                    text: chunk,
                });
            }
        }
        let (done, running): (Vec<Sequence>, Vec<Sequence>) = std::mem::take(&mut self.running)
            .into_iter()
            .partition(|s| s.chunks.is_empty() && !s.hang);
        self.running = running;
        for sequence in done {
            events.push(EngineEvent::Finished {
                id: sequence.id,
                reason: FinishReason::Stop,
                n_generated: sequence.text.len(),
                text: sequence.text,
                n_prompt: 1,
            });
        }
        Ok(events)
    }

    fn has_work(&self) -> bool {
        !self.running.is_empty() || !self.waiting.is_empty() || !self.pending.is_empty()
    }

    fn stats(&self) -> EngineStats {
        EngineStats {
            running: self.running.len(),
            waiting: self.waiting.len(),
            ..EngineStats::default()
        }
    }
}

struct Harness {
    service: Service,
    spec: LlmWorkerSpec,
    log: Arc<Mutex<Vec<String>>>,
    loads: Arc<AtomicUsize>,
    explosions: Arc<AtomicUsize>,
}

async fn start(max_batch: usize, timeout: Duration) -> Harness {
    let log = Arc::new(Mutex::new(Vec::new()));
    let loads = Arc::new(AtomicUsize::new(0));
    let explosions = Arc::new(AtomicUsize::new(0));
    let factory: EngineFactory = {
        let log = Arc::clone(&log);
        let loads = Arc::clone(&loads);
        let explosions = Arc::clone(&explosions);
        Arc::new(move || {
            loads.fetch_add(1, Ordering::SeqCst);
            Ok(Box::new(ScriptedEngine {
                max_batch,
                running: Vec::new(),
                waiting: VecDeque::new(),
                pending: Vec::new(),
                log: Arc::clone(&log),
                step_delay: Duration::from_millis(5),
                explosions: Arc::clone(&explosions),
            }) as Box<dyn LlmEngine>)
        })
    };
    let mut worker = LlmWorkerConfig::new("scripted", PathBuf::from("scripted.gguf"), max_batch);
    worker.request_timeout = timeout;
    let spec = LlmWorkerSpec::new(worker, factory);
    let service =
        Service::start_with_workers(stores(), config(), vec![WorkerSpec::Llm(spec.clone())])
            .await
            .expect("start");
    Harness {
        service,
        spec,
        log,
        loads,
        explosions,
    }
}

fn review(tag: &str) -> ModelTask {
    ModelTask::ReviewComments {
        findings: vec![format!("app/{tag}.py:1 [style] line too long")],
        score: 90,
    }
}

async fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn text_streams_and_the_answer_comes_from_the_model() {
    let h = start(4, Duration::from_secs(30)).await;
    let (tx, mut rx) = mpsc::unbounded_channel();
    let ticket = h
        .service
        .submit_model(review("a"), 1, Some(tx))
        .expect("submit");
    let answer = ticket.wait(Duration::from_secs(10)).await.expect("answer");
    let mut streamed = String::new();
    while let Ok(event) = rx.try_recv() {
        match event {
            StreamEvent::Text(t) => streamed.push_str(&t),
            StreamEvent::Restarted => panic!("no restart expected"),
        }
    }
    assert_eq!(
        streamed,
        "The generated project is tidy and well tested, with a few style findings to polish."
    );
    let ModelOutput::Comments(comments) = answer else {
        panic!("comments expected, got {answer:?}")
    };
    assert_eq!(comments[0], streamed, "the summary is the model's text");
    assert_eq!(comments[1], "app/a.py:1 [style] line too long");
    assert_ne!(
        ModelOutput::Comments(comments),
        run_deterministic(&review("a"))
    );

    let spec = h
        .service
        .ask_model(ModelTask::ProposeSpec {
            prompt: "Talks have a title. Speakers have a bio and give talks.".into(),
        })
        .await
        .expect("spec");
    let ModelOutput::Spec { spec, diagnostics } = spec else {
        panic!("a spec")
    };
    let names: Vec<&str> = spec["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(
        names.contains(&"Talk") && names.contains(&"Speaker"),
        "{names:?} {diagnostics}"
    );
    h.service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_share_the_batch_and_a_cancellation_frees_its_slot() {
    let h = start(2, Duration::from_secs(30)).await;
    let hang = |tag: &str| ModelTask::ReviewComments {
        findings: vec![format!("@hang {tag}")],
        score: 50,
    };
    let first = h.service.submit_model(hang("1"), 1, None).expect("submit");
    let second = h.service.submit_model(hang("2"), 1, None).expect("submit");
    let third = h
        .service
        .submit_model(review("3"), 1, None)
        .expect("submit");
    let first_id = first.id();
    let stats = h.service.scheduler_stats().await.expect("stats");
    assert_eq!((stats.in_flight, stats.queued), (2, 1), "{stats:?}");
    assert_eq!(
        stats.workers.iter().map(|w| w.2).collect::<Vec<_>>(),
        [2],
        "capacity = max_batch"
    );
    drop(first);
    let answer = third
        .wait(Duration::from_secs(10))
        .await
        .expect("the third ran in the freed slot");
    assert!(matches!(answer, ModelOutput::Comments(_)));
    assert!(
        h.log
            .lock()
            .expect("log")
            .contains(&format!("cancel {first_id}")),
        "the engine was told to cancel"
    );
    let stats = h.service.scheduler_stats().await.expect("stats");
    assert_eq!((stats.in_flight, stats.queued), (1, 0), "{stats:?}");
    drop(second);
    let spec = h.spec.clone();
    wait_until("the engine to be empty", || {
        let s = spec.engine_stats();
        s.running == 0 && s.waiting == 0
    })
    .await;
    assert_eq!(
        h.service.scheduler_stats().await.expect("stats").in_flight,
        0
    );
    h.service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_past_its_time_limit_gets_the_deterministic_answer() {
    let h = start(2, Duration::from_millis(200)).await;
    let task = ModelTask::ReviewComments {
        findings: vec!["@hang".into()],
        score: 70,
    };
    let started = Instant::now();
    let answer = h.service.ask_model(task.clone()).await.expect("answered");
    assert_eq!(answer, run_deterministic(&task));
    assert!(started.elapsed() < Duration::from_secs(5));
    let refused = ModelTask::ReviewComments {
        findings: vec!["@refuse".into()],
        score: 70,
    };
    assert_eq!(
        h.service
            .ask_model(refused.clone())
            .await
            .expect("answered"),
        run_deterministic(&refused),
        "a request the engine refuses is answered without it"
    );
    h.service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_engine_restarts_its_worker_and_retries_once() {
    let h = start(2, Duration::from_secs(30)).await;
    // A fault in the actor's handler.
    h.service.inject_worker_faults(1);
    let answer = h.service.ask_model(review("x")).await.expect("retried");
    assert!(matches!(answer, ModelOutput::Comments(_)));
    assert_eq!(h.service.metrics().restarts, 1);
    assert_eq!(
        h.loads.load(Ordering::SeqCst),
        2,
        "the model was loaded again"
    );

    // A panic on the engine thread, once: both requests in the batch are retried and answered;
    // the streaming caller is told its text starts over.
    h.explosions.store(1, Ordering::SeqCst);
    let explode = ModelTask::ReviewComments {
        findings: vec!["@explode".into()],
        score: 3,
    };
    let (tx, mut rx) = mpsc::unbounded_channel();
    let doomed = h
        .service
        .submit_model(explode.clone(), 1, None)
        .expect("submit");
    let healthy = h
        .service
        .submit_model(review("y"), 1, Some(tx))
        .expect("submit");
    let healthy = healthy
        .wait(Duration::from_secs(10))
        .await
        .expect("retried");
    assert!(matches!(
        doomed.wait(Duration::from_secs(10)).await,
        Ok(ModelOutput::Comments(_))
    ));
    assert!(matches!(healthy, ModelOutput::Comments(ref c) if c[0].starts_with("The generated")));
    let mut events = Vec::new();
    while let Ok(event) = rx.try_recv() {
        events.push(event);
    }
    if events.iter().any(|e| matches!(e, StreamEvent::Text(_))) {
        let restarted = events.iter().position(|e| *e == StreamEvent::Restarted);
        let text_after: String = events[restarted.map_or(0, |i| i + 1)..]
            .iter()
            .filter_map(|e| match e {
                StreamEvent::Text(t) => Some(t.as_str()),
                StreamEvent::Restarted => None,
            })
            .collect();
        assert!(text_after.starts_with("The generated"), "{events:?}");
    }
    assert_eq!(h.service.metrics().restarts, 2);

    // Twice: the request fails for good, and the worker is back for the next one.
    h.explosions.store(2, Ordering::SeqCst);
    match h.service.ask_model(explode).await {
        Err(ServiceError::Unavailable(_)) => {}
        other => panic!("a request whose worker dies twice fails, got {other:?}"),
    }
    // The failure is answered before the second restart is counted.
    let service = h.service.clone();
    wait_until("the second restart", || service.metrics().restarts == 4).await;
    let answer = h
        .service
        .ask_model(review("z"))
        .await
        .expect("the worker is back");
    assert!(matches!(answer, ModelOutput::Comments(_)));
    h.service.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_model_that_cannot_load_stops_the_start() {
    let factory: EngineFactory = Arc::new(|| Err("no such model".into()));
    let spec = LlmWorkerSpec::new(
        LlmWorkerConfig::new("broken", PathBuf::from("broken.gguf"), 2),
        factory,
    );
    match Service::start_with_workers(stores(), config(), vec![WorkerSpec::Llm(spec)]).await {
        Err(ServiceError::Unavailable(message)) => {
            assert!(message.contains("no such model"), "{message}")
        }
        Err(other) => panic!("unexpected error {other:?}"),
        Ok(_) => panic!("a model that cannot load must stop the start"),
    }
}
