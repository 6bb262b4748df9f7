//! LLM model worker actor. Invariant: it owns one engine, on a dedicated thread that never runs
//! on an actor handler; requests reach that thread over a channel between steps, and every
//! request it accepts is answered to the scheduler exactly once (the model's answer, or the
//! deterministic one when the model failed or timed out). Text streams to the scheduler as it is
//! generated. A panic or error on the engine thread fails the actor, so its supervisor (the
//! scheduler) restarts it and retries its requests once.

use std::collections::HashMap;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use codebegen_inference::engine::{EngineEvent, EngineStats, FinishReason};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::counters::Counters;
use crate::llm_engine::{EngineFactory, LlmEngine, LlmWorkerConfig};
use crate::llm_tasks::{finish, job_for, Fallback, LlmJob};
use crate::model::{run_deterministic, ModelTask};
use crate::scheduler::SchedulerMsg;
use crate::scheduler_state::{RequestId, WorkerId};
use crate::worker::WorkerMsg;

/// How to start one LLM worker (cloned for each restart).
#[derive(Clone)]
pub struct LlmWorkerSpec {
    /// Settings.
    pub config: Arc<LlmWorkerConfig>,
    /// Builds the engine, on the worker's own thread.
    pub engine: EngineFactory,
    /// The engine's latest counters, shared by every incarnation of this worker.
    pub stats: Arc<Mutex<EngineStats>>,
}

impl LlmWorkerSpec {
    /// A worker whose engine `engine` builds.
    pub fn new(config: LlmWorkerConfig, engine: EngineFactory) -> LlmWorkerSpec {
        LlmWorkerSpec {
            config: Arc::new(config),
            engine,
            stats: Arc::new(Mutex::new(EngineStats::default())),
        }
    }

    /// A worker that loads the GGUF file of `config` (see [`LlmWorkerConfig::check`]).
    pub fn gguf(config: LlmWorkerConfig) -> LlmWorkerSpec {
        let load = config.clone();
        LlmWorkerSpec::new(
            config,
            Arc::new(move || crate::llm_engine::load_gguf(&load)),
        )
    }

    /// The engine's latest counters.
    pub fn engine_stats(&self) -> EngineStats {
        self.stats.lock().map(|s| *s).unwrap_or_default()
    }
}

/// What the actor tells its engine thread.
enum Command {
    Run {
        request: RequestId,
        task: ModelTask,
        job: Box<LlmJob>,
    },
    Cancel(RequestId),
}

/// Arguments.
pub struct LlmWorkerArgs {
    /// This worker's slot.
    pub id: WorkerId,
    /// Where results go.
    pub scheduler: ActorRef<SchedulerMsg>,
    /// Counters.
    pub counters: Arc<Counters>,
    /// Fault injection for supervision tests: while above zero, each task makes the worker fail.
    pub faults: Arc<AtomicUsize>,
    /// The engine and its settings.
    pub spec: LlmWorkerSpec,
}

/// State.
pub struct LlmWorkerState {
    args: LlmWorkerArgs,
    /// Dropping it stops the engine thread after its current step.
    commands: Sender<Command>,
}

/// The actor.
pub struct LlmWorkerActor;

impl Actor for LlmWorkerActor {
    type Msg = WorkerMsg;
    type State = LlmWorkerState;
    type Arguments = LlmWorkerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: LlmWorkerArgs,
    ) -> Result<LlmWorkerState, ActorProcessingErr> {
        let (commands, receiver) = mpsc::channel();
        let (ready, loaded) = tokio::sync::oneshot::channel();
        let context = LoopContext {
            worker: args.id,
            scheduler: args.scheduler.clone(),
            timeout: args.spec.config.request_timeout,
            stats: Arc::clone(&args.spec.stats),
        };
        let factory = Arc::clone(&args.spec.engine);
        let name = args.spec.config.name.clone();
        std::thread::Builder::new()
            .name(format!("llm-worker-{}", args.id))
            .spawn(move || engine_thread(factory, receiver, context, ready, myself))?;
        match loaded.await {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => {
                return Err(
                    format!("model worker `{name}` could not load its model: {reason}").into(),
                )
            }
            Err(_) => {
                return Err(format!("model worker `{name}`: its thread ended while loading").into())
            }
        }
        tracing::info!(worker = args.id, model = %name, max_batch = args.spec.config.max_batch, "model worker ready");
        Counters::up(&args.counters.workers);
        Ok(LlmWorkerState { args, commands })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut LlmWorkerState,
    ) -> Result<(), ActorProcessingErr> {
        Counters::down(&state.args.counters.workers);
        Ok(())
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: WorkerMsg,
        state: &mut LlmWorkerState,
    ) -> Result<(), ActorProcessingErr> {
        let command = match message {
            WorkerMsg::Run {
                request,
                task,
                priority,
            } => {
                if state
                    .args
                    .faults
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| f.checked_sub(1))
                    .is_ok()
                {
                    Counters::down(&state.args.counters.workers);
                    return Err(format!("injected fault while running request {request}").into());
                }
                let job = Box::new(job_for(&task, priority));
                Command::Run { request, task, job }
            }
            WorkerMsg::Cancel { request } => Command::Cancel(request),
            WorkerMsg::EngineFailed(reason) => {
                Counters::down(&state.args.counters.workers);
                return Err(format!("the engine thread failed: {reason}").into());
            }
        };
        if state.commands.send(command).is_err() {
            Counters::down(&state.args.counters.workers);
            return Err("the engine thread is gone".into());
        }
        Ok(())
    }
}

struct LoopContext {
    worker: WorkerId,
    scheduler: ActorRef<SchedulerMsg>,
    timeout: Duration,
    stats: Arc<Mutex<EngineStats>>,
}

/// The dedicated thread: loads the engine, reports readiness, runs the loop, and turns a panic or
/// an engine error into the worker's failure.
fn engine_thread(
    factory: EngineFactory,
    commands: Receiver<Command>,
    context: LoopContext,
    ready: tokio::sync::oneshot::Sender<Result<(), String>>,
    worker: ActorRef<WorkerMsg>,
) {
    let engine = match catch_unwind(AssertUnwindSafe(|| factory())) {
        Ok(Ok(engine)) => engine,
        Ok(Err(reason)) => {
            let _ = ready.send(Err(reason));
            return;
        }
        Err(panic) => {
            let _ = ready.send(Err(panic_message(panic.as_ref())));
            return;
        }
    };
    if ready.send(Ok(())).is_err() {
        return;
    }
    let reason = match catch_unwind(AssertUnwindSafe(|| run_loop(engine, &commands, &context))) {
        Ok(Ok(())) => return,
        Ok(Err(reason)) if reason == SCHEDULER_GONE => return,
        Ok(Err(reason)) => reason,
        Err(panic) => format!("panic: {}", panic_message(panic.as_ref())),
    };
    tracing::error!(worker = context.worker, error = %reason, "engine thread failed");
    let _ = worker.cast(WorkerMsg::EngineFailed(reason));
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// A request the engine is working on.
struct Active {
    task: ModelTask,
    started: Instant,
    deadline: Instant,
    timed_out: bool,
}

/// Steps the engine while it has work, taking commands between steps. Returns when the actor
/// is gone (its command channel closed), or the engine's error.
fn run_loop(
    mut engine: Box<dyn LlmEngine>,
    commands: &Receiver<Command>,
    context: &LoopContext,
) -> Result<(), String> {
    let mut active: HashMap<RequestId, Active> = HashMap::new();
    loop {
        if !engine.has_work() {
            // Every accepted request ends with a Finished event; answer any the engine dropped.
            for (request, lost) in active.drain() {
                tracing::warn!(
                    request,
                    "the engine dropped a request; answering without the model"
                );
                answer(context, request, run_deterministic(&lost.task))?;
            }
            match commands.recv() {
                Ok(command) => take(&mut *engine, command, &mut active, context)?,
                Err(_) => return Ok(()),
            }
        }
        loop {
            match commands.try_recv() {
                Ok(command) => take(&mut *engine, command, &mut active, context)?,
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return Ok(()),
            }
        }
        let now = Instant::now();
        for (request, entry) in active.iter_mut() {
            if !entry.timed_out && now >= entry.deadline {
                entry.timed_out = true;
                engine.cancel(*request);
            }
        }
        if !engine.has_work() {
            continue;
        }
        let events = engine.step().map_err(|e| format!("engine step: {e}"))?;
        for event in events {
            match event {
                EngineEvent::Token { id, text, .. } => {
                    if !text.is_empty() && active.contains_key(&id) {
                        let message = SchedulerMsg::Text {
                            worker: context.worker,
                            request: id,
                            text,
                        };
                        if context.scheduler.cast(message).is_err() {
                            return Ok(());
                        }
                    }
                }
                EngineEvent::Finished {
                    id,
                    reason,
                    text,
                    n_prompt,
                    n_generated,
                } => {
                    let Some(entry) = active.remove(&id) else {
                        continue;
                    };
                    let reason = if entry.timed_out {
                        FinishReason::Cancelled
                    } else {
                        reason
                    };
                    let (output, fallback) = finish(&entry.task, &reason, &text);
                    let elapsed_ms = entry.started.elapsed().as_millis() as u64;
                    match fallback {
                        Fallback::None => tracing::info!(
                            request = id,
                            kind = entry.task.kind(),
                            n_prompt,
                            n_generated,
                            elapsed_ms,
                            "model answered"
                        ),
                        Fallback::Used(why) => tracing::warn!(
                            request = id,
                            kind = entry.task.kind(),
                            n_generated,
                            elapsed_ms,
                            reason = %why,
                            "model answer unusable; used the deterministic one"
                        ),
                    }
                    answer(context, id, output)?;
                }
            }
        }
        if let Ok(mut stats) = context.stats.lock() {
            *stats = engine.stats();
        }
    }
}

fn take(
    engine: &mut dyn LlmEngine,
    command: Command,
    active: &mut HashMap<RequestId, Active>,
    context: &LoopContext,
) -> Result<(), String> {
    match command {
        Command::Run { request, task, job } => match engine.start(request, &job) {
            Ok(()) => {
                let now = Instant::now();
                active.insert(
                    request,
                    Active {
                        task,
                        started: now,
                        deadline: now + context.timeout,
                        timed_out: false,
                    },
                );
            }
            Err(err) => {
                tracing::warn!(request, kind = task.kind(), error = %err, "the engine refused the request; answering without the model");
                answer(context, request, run_deterministic(&task))?;
            }
        },
        Command::Cancel(request) => {
            if active.remove(&request).is_some() {
                engine.cancel(request);
            }
        }
    }
    if let Ok(mut stats) = context.stats.lock() {
        *stats = engine.stats();
    }
    Ok(())
}

fn answer(
    context: &LoopContext,
    request: RequestId,
    output: crate::model::ModelOutput,
) -> Result<(), String> {
    context
        .scheduler
        .cast(SchedulerMsg::Done {
            worker: context.worker,
            request,
            output,
        })
        .map_err(|_| SCHEDULER_GONE.to_string())
}

/// The loop's "error" when the scheduler stopped: the thread just ends.
const SCHEDULER_GONE: &str = "the scheduler is gone";
