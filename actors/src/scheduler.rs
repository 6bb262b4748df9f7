//! Scheduler actor. Invariant: every model request reaches exactly one reply — an output, or an
//! error once its worker died twice — and workers never exceed their capacity. It supervises
//! the workers: a crashed worker is restarted and its in-flight requests are retried once.

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};

use crate::counters::Counters;
use crate::model::{ModelOutput, ModelTask};
use crate::scheduler_state::{Command, RequestId, SchedulerState, WorkerId};
use crate::service::ServiceError;
use crate::worker::{WorkerActor, WorkerArgs, WorkerMsg};

/// Requests a worker may run at once.
const WORKER_CAPACITY: usize = 4;

/// Messages.
pub enum SchedulerMsg {
    /// Run a task on some worker.
    Submit {
        /// The task.
        task: ModelTask,
        /// Higher first.
        priority: u8,
        /// The answer.
        reply: RpcReplyPort<Result<ModelOutput, ServiceError>>,
    },
    /// A worker finished a request.
    Done {
        /// Which worker.
        worker: WorkerId,
        /// Which request.
        request: RequestId,
        /// The output.
        output: ModelOutput,
    },
}

/// Arguments.
pub struct SchedulerArgs {
    /// Workers to keep running.
    pub workers: usize,
    /// Counters.
    pub counters: Arc<Counters>,
    /// Fault injection shared with the workers (see [`WorkerArgs::faults`]).
    pub faults: Arc<AtomicUsize>,
}

/// State.
pub struct SchedulerActorState {
    core: SchedulerState,
    next_request: RequestId,
    next_worker: WorkerId,
    pending: HashMap<RequestId, (ModelTask, RpcReplyPort<Result<ModelOutput, ServiceError>>)>,
    workers: HashMap<WorkerId, ActorRef<WorkerMsg>>,
    by_cell: HashMap<ractor::ActorId, WorkerId>,
    args: SchedulerArgs,
}

/// The actor.
pub struct SchedulerActor;

impl SchedulerActor {
    async fn spawn_worker(
        myself: &ActorRef<SchedulerMsg>,
        state: &mut SchedulerActorState,
    ) -> Result<Vec<Command>, ActorProcessingErr> {
        state.next_worker += 1;
        let id = state.next_worker;
        let args = WorkerArgs {
            id,
            scheduler: myself.clone(),
            counters: Arc::clone(&state.args.counters),
            faults: Arc::clone(&state.args.faults),
        };
        let (worker, _) = Actor::spawn_linked(None, WorkerActor, args, myself.get_cell()).await?;
        state.by_cell.insert(worker.get_id(), id);
        state.workers.insert(id, worker);
        Ok(state.core.add_worker(id, WORKER_CAPACITY))
    }

    fn execute(state: &mut SchedulerActorState, commands: Vec<Command>) {
        for command in commands {
            match command {
                Command::Dispatch(request, worker) => {
                    let task = state.pending.get(&request).map(|(t, _)| t.clone());
                    match (task, state.workers.get(&worker)) {
                        (Some(task), Some(w)) => {
                            if w.cast(WorkerMsg::Run { request, task }).is_err() {
                                tracing::warn!(
                                    request,
                                    worker,
                                    "worker mailbox closed; waiting for its restart"
                                );
                            }
                        }
                        _ => tracing::warn!(
                            request,
                            worker,
                            "dispatch to an unknown request or worker"
                        ),
                    }
                }
                Command::Fail(request) => {
                    if let Some((task, reply)) = state.pending.remove(&request) {
                        tracing::error!(
                            request,
                            kind = task.kind(),
                            "request failed: its worker died twice"
                        );
                        let _ = reply.send(Err(ServiceError::Unavailable(
                            "the model worker failed twice on this request".into(),
                        )));
                    }
                }
            }
        }
        state.args.counters.queue_depth.store(
            state.core.queue_depth() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }
}

impl Actor for SchedulerActor {
    type Msg = SchedulerMsg;
    type State = SchedulerActorState;
    type Arguments = SchedulerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: SchedulerArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let mut state = SchedulerActorState {
            core: SchedulerState::default(),
            next_request: 0,
            next_worker: 0,
            pending: HashMap::new(),
            workers: HashMap::new(),
            by_cell: HashMap::new(),
            args,
        };
        for _ in 0..state.args.workers.max(1) {
            let commands = SchedulerActor::spawn_worker(&myself, &mut state).await?;
            SchedulerActor::execute(&mut state, commands);
        }
        Ok(state)
    }

    async fn post_stop(
        &self,
        myself: ActorRef<Self::Msg>,
        _state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        myself
            .get_cell()
            .stop_children_and_wait(Some("shutdown".into()), Some(Duration::from_secs(5)))
            .await;
        Ok(())
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: SchedulerMsg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SchedulerMsg::Submit {
                task,
                priority,
                reply,
            } => {
                state.next_request += 1;
                let request = state.next_request;
                state.pending.insert(request, (task, reply));
                let commands = state.core.submit(request, priority);
                SchedulerActor::execute(state, commands);
            }
            SchedulerMsg::Done {
                worker,
                request,
                output,
            } => {
                let (known, commands) = state.core.done(request);
                if known {
                    if let Some((_, reply)) = state.pending.remove(&request) {
                        let _ = reply.send(Ok(output));
                    }
                } else {
                    tracing::debug!(request, worker, "duplicate completion ignored");
                }
                SchedulerActor::execute(state, commands);
            }
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let (cell, failed): (ActorCell, bool) = match event {
            SupervisionEvent::ActorFailed(cell, err) => {
                tracing::warn!(actor = %cell.get_id(), error = %err, "model worker crashed; restarting it");
                (cell, true)
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => (cell, false),
            _ => return Ok(()),
        };
        let Some(worker) = state.by_cell.remove(&cell.get_id()) else {
            return Ok(());
        };
        state.workers.remove(&worker);
        let commands = state.core.worker_failed(worker);
        SchedulerActor::execute(state, commands);
        if failed {
            Counters::up(&state.args.counters.restarts);
            let commands = SchedulerActor::spawn_worker(&myself, state).await?;
            SchedulerActor::execute(state, commands);
        }
        Ok(())
    }
}

/// Submits a task and waits for the answer.
pub async fn ask(
    scheduler: &ActorRef<SchedulerMsg>,
    task: ModelTask,
    priority: u8,
    timeout: Duration,
) -> Result<ModelOutput, ServiceError> {
    let result = scheduler
        .call(
            |reply| SchedulerMsg::Submit {
                task,
                priority,
                reply,
            },
            Some(timeout),
        )
        .await
        .map_err(|e| ServiceError::Unavailable(format!("scheduler: {e}")))?;
    match result {
        ractor::rpc::CallResult::Success(answer) => answer,
        ractor::rpc::CallResult::Timeout => Err(ServiceError::Unavailable(
            "the model request timed out".into(),
        )),
        ractor::rpc::CallResult::SenderError => Err(ServiceError::Unavailable(
            "the scheduler dropped the request".into(),
        )),
    }
}
