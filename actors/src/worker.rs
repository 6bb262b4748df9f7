//! Model worker actor. Invariant: it owns one engine and never runs model work on its handler;
//! each task runs on a blocking thread and the result goes back to the scheduler as a message.
//! This one hosts the deterministic engine; `llm_worker` hosts a language model behind the same
//! messages.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::counters::Counters;
use crate::model::{run_deterministic, ModelTask};
use crate::scheduler::SchedulerMsg;
use crate::scheduler_state::{RequestId, WorkerId};

/// Extra latency of every deterministic answer, in milliseconds (see [`simulate_latency`]).
static SIMULATED_LATENCY_MS: AtomicU64 = AtomicU64::new(0);

/// Makes every deterministic answer of this process take at least `latency`, as a language
/// model would: for load tests and fault tests of the cluster, where work must be in flight
/// long enough to be interrupted. Zero (the default) adds nothing.
pub fn simulate_latency(latency: std::time::Duration) {
    let ms = u64::try_from(latency.as_millis()).unwrap_or(u64::MAX);
    SIMULATED_LATENCY_MS.store(ms, Ordering::Relaxed);
}

/// Messages, shared by every kind of model worker.
#[derive(ractor_cluster::RactorMessage)]
pub enum WorkerMsg {
    /// Run a task and report to the scheduler.
    Run {
        /// The scheduler's request id.
        request: RequestId,
        /// The task.
        task: ModelTask,
        /// Higher first (an engine orders its own queue by it).
        priority: u8,
    },
    /// Stop a request (its caller cancelled it); no answer is expected.
    Cancel {
        /// The scheduler's request id.
        request: RequestId,
    },
    /// The worker's engine thread died: the worker fails, so that its supervisor restarts it.
    EngineFailed(String),
}

/// Arguments.
pub struct WorkerArgs {
    /// This worker's slot.
    pub id: WorkerId,
    /// Where results go.
    pub scheduler: ActorRef<SchedulerMsg>,
    /// Counters.
    pub counters: Arc<Counters>,
    /// Fault injection for supervision tests: while above zero, each task makes the worker fail.
    pub faults: Arc<AtomicUsize>,
}

/// The actor.
pub struct WorkerActor;

impl Actor for WorkerActor {
    type Msg = WorkerMsg;
    type State = WorkerArgs;
    type Arguments = WorkerArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: WorkerArgs,
    ) -> Result<WorkerArgs, ActorProcessingErr> {
        Counters::up(&args.counters.workers);
        Ok(args)
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut WorkerArgs,
    ) -> Result<(), ActorProcessingErr> {
        Counters::down(&state.counters.workers);
        Ok(())
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: WorkerMsg,
        state: &mut WorkerArgs,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            // Deterministic tasks take milliseconds: a cancelled one just finishes, unanswered.
            WorkerMsg::Cancel { .. } => {}
            WorkerMsg::EngineFailed(reason) => {
                Counters::down(&state.counters.workers);
                return Err(reason.into());
            }
            WorkerMsg::Run { request, task, .. } => {
                if state
                    .faults
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |f| f.checked_sub(1))
                    .is_ok()
                {
                    Counters::down(&state.counters.workers);
                    return Err(format!("injected fault while running request {request}").into());
                }
                let scheduler = state.scheduler.clone();
                let worker = state.id;
                tokio::spawn(async move {
                    let kind = task.kind();
                    let latency = SIMULATED_LATENCY_MS.load(Ordering::Relaxed);
                    if latency > 0 {
                        tokio::time::sleep(std::time::Duration::from_millis(latency)).await;
                    }
                    let output =
                        tokio::task::spawn_blocking(move || run_deterministic(&task)).await;
                    match output {
                        Ok(output) => {
                            let _ = scheduler.cast(SchedulerMsg::Done {
                                worker,
                                request,
                                output,
                            });
                        }
                        Err(err) => {
                            tracing::error!(request, kind, error = %err, "model task panicked")
                        }
                    }
                });
            }
        }
        Ok(())
    }
}
