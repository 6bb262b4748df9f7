//! Scheduler actor. Invariant: every model request reaches exactly one reply — an output, or an
//! error once its worker died twice — unless its caller cancelled it, and workers never exceed
//! their capacity. It supervises the workers: a crashed worker is restarted and its in-flight
//! requests are retried once. A caller that stops waiting (its [`Ticket`] is dropped, or it
//! timed out) cancels its request, so an LLM worker frees the request's cache blocks.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ractor::{Actor, ActorCell, ActorProcessingErr, ActorRef, RpcReplyPort, SupervisionEvent};
use tokio::sync::{mpsc, oneshot};

use crate::cluster::gateway::{gateway_info, GatewayMsg, RemoteWorkerActor, RemoteWorkerArgs};
use crate::counters::Counters;
use crate::llm_worker::{LlmWorkerActor, LlmWorkerArgs, LlmWorkerSpec};
use crate::model::{ModelOutput, ModelTask};
use crate::scheduler_state::{Command, RequestId, SchedulerState, WorkerId};
use crate::service::ServiceError;
use crate::worker::{WorkerActor, WorkerArgs, WorkerMsg};
use codebegen_schema::cluster::WORKERS_SCOPE;

/// Requests a deterministic worker may run at once.
const DETERMINISTIC_CAPACITY: usize = 4;

/// Request ids, unique in the process (callers choose them, so they can cancel without a
/// round trip).
static NEXT_REQUEST: AtomicU64 = AtomicU64::new(1);

/// What a streaming caller receives while its request runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StreamEvent {
    /// Generated text, in order.
    Text(String),
    /// The request's worker died and it starts again on another: discard the text so far.
    Restarted,
}

/// The answer channel of one request.
pub type Answer = oneshot::Sender<Result<ModelOutput, ServiceError>>;

/// A model worker the scheduler keeps running.
#[derive(Clone)]
pub enum WorkerSpec {
    /// The rule-based engine.
    Deterministic,
    /// A language model on its own engine thread.
    Llm(LlmWorkerSpec),
    /// A model-worker gateway on another node (never restarted: when it goes, it goes).
    Remote {
        /// The gateway.
        gateway: ActorRef<GatewayMsg>,
        /// Requests it runs at once.
        capacity: usize,
    },
}

impl WorkerSpec {
    /// Requests the worker runs at once.
    pub fn capacity(&self) -> usize {
        match self {
            WorkerSpec::Deterministic => DETERMINISTIC_CAPACITY,
            WorkerSpec::Llm(spec) => spec.config.max_batch,
            WorkerSpec::Remote { capacity, .. } => *capacity,
        }
    }
}

/// Messages.
#[derive(ractor_cluster::RactorMessage)]
pub enum SchedulerMsg {
    /// Run a task on some worker.
    Submit {
        /// Chosen by the caller with [`submit`]; unique.
        request: RequestId,
        /// The task.
        task: ModelTask,
        /// Higher first.
        priority: u8,
        /// Where generated text goes as it comes, if the caller wants it.
        stream: Option<mpsc::UnboundedSender<StreamEvent>>,
        /// The answer.
        answer: Answer,
    },
    /// The caller no longer wants the answer.
    Cancel {
        /// Which request.
        request: RequestId,
    },
    /// A worker generated text for a request.
    Text {
        /// Which worker.
        worker: WorkerId,
        /// Which request.
        request: RequestId,
        /// The text.
        text: String,
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
    /// A worker could not run a request (a remote node refused it): it is retried once.
    Failed {
        /// Which worker.
        worker: WorkerId,
        /// Which request.
        request: RequestId,
        /// Why.
        reason: String,
    },
    /// A model-worker gateway on another node described itself: it becomes a worker.
    RemoteJoined {
        /// The gateway.
        gateway: ActorRef<GatewayMsg>,
        /// Requests it runs at once.
        capacity: usize,
    },
    /// Queue and worker numbers.
    Stats(RpcReplyPort<SchedulerStats>),
}

/// A snapshot of the scheduler.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerStats {
    /// Requests waiting for a worker.
    pub queued: usize,
    /// Requests running on workers.
    pub in_flight: usize,
    /// Each worker: (id, running, capacity).
    pub workers: Vec<(WorkerId, usize, usize)>,
}

/// Arguments.
pub struct SchedulerArgs {
    /// Workers to keep running.
    pub workers: Vec<WorkerSpec>,
    /// Counters.
    pub counters: Arc<Counters>,
    /// Fault injection shared with the workers (see [`WorkerArgs::faults`]).
    pub faults: Arc<AtomicUsize>,
    /// On an API node in a cluster: this node's name. The scheduler then also uses every
    /// model-worker gateway of the cluster, and may start with no local worker.
    pub remote_origin: Option<String>,
}

struct Pending {
    task: ModelTask,
    priority: u8,
    stream: Option<mpsc::UnboundedSender<StreamEvent>>,
    answer: Answer,
    dispatched: bool,
}

/// State.
pub struct SchedulerActorState {
    core: SchedulerState,
    next_worker: WorkerId,
    pending: HashMap<RequestId, Pending>,
    workers: HashMap<WorkerId, (ActorRef<WorkerMsg>, WorkerSpec)>,
    by_cell: HashMap<ractor::ActorId, WorkerId>,
    /// Remote gateways in use (or being asked for their capacity) → their proxy's slot.
    gateways: HashMap<ractor::ActorId, Option<WorkerId>>,
    /// Remote workers whose node drains: stopped once their last request is answered.
    retiring: std::collections::HashSet<WorkerId>,
    args: SchedulerArgs,
}

/// The actor.
pub struct SchedulerActor;

impl SchedulerActor {
    async fn spawn_worker(
        myself: &ActorRef<SchedulerMsg>,
        state: &mut SchedulerActorState,
        spec: WorkerSpec,
    ) -> Result<Vec<Command>, ActorProcessingErr> {
        state.next_worker += 1;
        let id = state.next_worker;
        let counters = Arc::clone(&state.args.counters);
        let faults = Arc::clone(&state.args.faults);
        let worker: ActorRef<WorkerMsg> = match &spec {
            WorkerSpec::Deterministic => {
                let args = WorkerArgs {
                    id,
                    scheduler: myself.clone(),
                    counters,
                    faults,
                };
                Actor::spawn_linked(None, WorkerActor, args, myself.get_cell())
                    .await?
                    .0
            }
            WorkerSpec::Llm(llm) => {
                let args = LlmWorkerArgs {
                    id,
                    scheduler: myself.clone(),
                    counters,
                    faults,
                    spec: llm.clone(),
                };
                Actor::spawn_linked(None, LlmWorkerActor, args, myself.get_cell())
                    .await?
                    .0
            }
            WorkerSpec::Remote { gateway, .. } => {
                let args = RemoteWorkerArgs {
                    id,
                    scheduler: myself.clone(),
                    gateway: gateway.clone(),
                    origin: state.args.remote_origin.clone().unwrap_or_default(),
                };
                state.gateways.insert(gateway.get_id(), Some(id));
                Actor::spawn_linked(None, RemoteWorkerActor, args, myself.get_cell())
                    .await?
                    .0
            }
        };
        let capacity = spec.capacity();
        state.by_cell.insert(worker.get_id(), id);
        state.workers.insert(id, (worker, spec));
        Ok(state.core.add_worker(id, capacity))
    }

    fn execute(state: &mut SchedulerActorState, commands: Vec<Command>) {
        for command in commands {
            match command {
                Command::Dispatch(request, worker) => {
                    let Some(pending) = state.pending.get_mut(&request) else {
                        tracing::warn!(request, worker, "dispatch of an unknown request");
                        continue;
                    };
                    if pending.dispatched {
                        if let Some(stream) = &pending.stream {
                            let _ = stream.send(StreamEvent::Restarted);
                        }
                    }
                    pending.dispatched = true;
                    let run = WorkerMsg::Run {
                        request,
                        task: pending.task.clone(),
                        priority: pending.priority,
                    };
                    match state.workers.get(&worker) {
                        Some((w, _)) => {
                            if w.cast(run).is_err() {
                                tracing::warn!(
                                    request,
                                    worker,
                                    "worker mailbox closed; waiting for its restart"
                                );
                            }
                        }
                        None => tracing::warn!(request, worker, "dispatch to an unknown worker"),
                    }
                }
                Command::Fail(request) => {
                    if let Some(pending) = state.pending.remove(&request) {
                        tracing::error!(
                            request,
                            kind = pending.task.kind(),
                            "request failed: its workers failed twice"
                        );
                        let _ = pending.answer.send(Err(ServiceError::Unavailable(
                            "the model workers failed twice on this request".into(),
                        )));
                    }
                }
                Command::Abort(request, worker) => {
                    if let Some((w, _)) = state.workers.get(&worker) {
                        let _ = w.cast(WorkerMsg::Cancel { request });
                    }
                }
            }
        }
        state
            .args
            .counters
            .queue_depth
            .store(state.core.queue_depth() as u64, Ordering::Relaxed);
    }
}

impl SchedulerActor {
    /// Asks each new remote gateway among `members` for its capacity; the answer comes back as
    /// [`SchedulerMsg::RemoteJoined`].
    fn discover(
        myself: &ActorRef<SchedulerMsg>,
        state: &mut SchedulerActorState,
        members: Vec<ActorCell>,
    ) {
        let Some(origin) = state.args.remote_origin.clone() else {
            return;
        };
        for cell in members {
            if cell.get_id().is_local() || state.gateways.contains_key(&cell.get_id()) {
                continue;
            }
            state.gateways.insert(cell.get_id(), None);
            let gateway = ActorRef::<GatewayMsg>::from(cell);
            let scheduler = myself.clone();
            let origin = origin.clone();
            tokio::spawn(async move {
                match gateway_info(&gateway, &origin).await {
                    Ok(info) => {
                        let capacity = usize::try_from(info.capacity).unwrap_or(1).max(1);
                        let _ = scheduler.cast(SchedulerMsg::RemoteJoined { gateway, capacity });
                    }
                    Err(err) => {
                        tracing::warn!(gateway = %gateway.get_id(), error = %err, "a remote model worker did not describe itself; not used");
                    }
                }
            });
        }
    }

    /// Stops a draining remote worker's proxy once it runs nothing.
    fn stop_if_retired(state: &mut SchedulerActorState, worker: WorkerId) {
        if state.retiring.contains(&worker) && state.core.running(worker).unwrap_or(0) == 0 {
            state.retiring.remove(&worker);
            if let Some((proxy, _)) = state.workers.get(&worker) {
                proxy.stop(Some("its node drained".into()));
            }
        }
    }

    fn group_changed(
        myself: &ActorRef<SchedulerMsg>,
        state: &mut SchedulerActorState,
        change: ractor::pg::GroupChangeMessage,
    ) {
        match change {
            ractor::pg::GroupChangeMessage::Join(scope, _, members) if scope == WORKERS_SCOPE => {
                SchedulerActor::discover(myself, state, members);
            }
            ractor::pg::GroupChangeMessage::Leave(scope, _, members) if scope == WORKERS_SCOPE => {
                // A gateway leaves its group when its node drains (a dead node's session
                // closes, which stops the proxy's calls): no new work, the running finishes.
                for cell in members {
                    if let Some(Some(worker)) = state.gateways.remove(&cell.get_id()) {
                        tracing::info!(worker, "a remote model worker is draining");
                        state.core.retire(worker);
                        state.retiring.insert(worker);
                        SchedulerActor::stop_if_retired(state, worker);
                    }
                }
            }
            _ => {}
        }
    }
}

impl Actor for SchedulerActor {
    type Msg = SchedulerMsg;
    type State = SchedulerActorState;
    type Arguments = SchedulerArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        mut args: SchedulerArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        if args.workers.is_empty() && args.remote_origin.is_none() {
            args.workers.push(WorkerSpec::Deterministic);
        }
        let specs = args.workers.clone();
        let mut state = SchedulerActorState {
            core: SchedulerState::default(),
            next_worker: 0,
            pending: HashMap::new(),
            workers: HashMap::new(),
            by_cell: HashMap::new(),
            gateways: HashMap::new(),
            retiring: std::collections::HashSet::new(),
            args,
        };
        for spec in specs {
            let commands = SchedulerActor::spawn_worker(&myself, &mut state, spec).await?;
            SchedulerActor::execute(&mut state, commands);
        }
        if state.args.remote_origin.is_some() {
            ractor::pg::monitor_scope(WORKERS_SCOPE.to_string(), myself.get_cell());
            for group in ractor::pg::which_scoped_groups(&WORKERS_SCOPE.to_string()) {
                let members = ractor::pg::get_scoped_members(&WORKERS_SCOPE.to_string(), &group);
                SchedulerActor::discover(&myself, &mut state, members);
            }
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
        myself: ActorRef<Self::Msg>,
        message: SchedulerMsg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            SchedulerMsg::Submit {
                request,
                task,
                priority,
                stream,
                answer,
            } => {
                if state.pending.contains_key(&request) {
                    let _ = answer.send(Err(ServiceError::Internal(format!(
                        "model request id {request} is already in use"
                    ))));
                    return Ok(());
                }
                state.pending.insert(
                    request,
                    Pending {
                        task,
                        priority,
                        stream,
                        answer,
                        dispatched: false,
                    },
                );
                let commands = state.core.submit(request, priority);
                SchedulerActor::execute(state, commands);
            }
            SchedulerMsg::Cancel { request } => {
                if let Some(pending) = state.pending.remove(&request) {
                    tracing::debug!(
                        request,
                        kind = pending.task.kind(),
                        "model request cancelled"
                    );
                    let commands = state.core.cancel(request);
                    SchedulerActor::execute(state, commands);
                }
            }
            SchedulerMsg::Text {
                worker,
                request,
                text,
            } => {
                if let Some(pending) = state.pending.get_mut(&request) {
                    if let Some(stream) = &pending.stream {
                        if stream.send(StreamEvent::Text(text)).is_err() {
                            pending.stream = None;
                        }
                    }
                } else {
                    tracing::trace!(request, worker, "text for a finished request dropped");
                }
            }
            SchedulerMsg::Done {
                worker,
                request,
                output,
            } => {
                let (known, commands) = state.core.done(request);
                SchedulerActor::stop_if_retired(state, worker);
                if known {
                    if let Some(pending) = state.pending.remove(&request) {
                        let _ = pending.answer.send(Ok(output));
                    }
                } else {
                    tracing::debug!(request, worker, "duplicate or cancelled completion ignored");
                }
                SchedulerActor::execute(state, commands);
            }
            SchedulerMsg::Failed {
                worker,
                request,
                reason,
            } => {
                tracing::warn!(
                    request,
                    worker,
                    reason,
                    "a worker could not run a request; retrying it once"
                );
                let commands = state.core.request_failed(request);
                SchedulerActor::stop_if_retired(state, worker);
                SchedulerActor::execute(state, commands);
            }
            SchedulerMsg::RemoteJoined { gateway, capacity } => {
                let known = state.gateways.get(&gateway.get_id()).copied().flatten();
                if known.is_none() && gateway.get_status() != ractor::ActorStatus::Stopped {
                    tracing::info!(gateway = %gateway.get_id(), capacity, "a remote model worker joined");
                    let spec = WorkerSpec::Remote { gateway, capacity };
                    let commands = SchedulerActor::spawn_worker(&myself, state, spec).await?;
                    SchedulerActor::execute(state, commands);
                }
            }
            SchedulerMsg::Stats(reply) => {
                let _ = reply.send(SchedulerStats {
                    queued: state.core.queue_depth(),
                    in_flight: state.core.in_flight(),
                    workers: state.core.workers(),
                });
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
            SupervisionEvent::ProcessGroupChanged(change) => {
                SchedulerActor::group_changed(&myself, state, change);
                return Ok(());
            }
            _ => return Ok(()),
        };
        let Some(worker) = state.by_cell.remove(&cell.get_id()) else {
            return Ok(());
        };
        let spec = state.workers.remove(&worker).map(|(_, spec)| spec);
        if let Some(WorkerSpec::Remote { gateway, .. }) = &spec {
            state.gateways.remove(&gateway.get_id());
            state.retiring.remove(&worker);
            tracing::info!(worker, "a remote model worker left; its requests move on");
            let commands = state.core.worker_failed(worker);
            SchedulerActor::execute(state, commands);
            return Ok(());
        }
        let commands = state.core.worker_failed(worker);
        SchedulerActor::execute(state, commands);
        if let (true, Some(spec)) = (failed, spec) {
            Counters::up(&state.args.counters.restarts);
            match SchedulerActor::spawn_worker(&myself, state, spec).await {
                Ok(commands) => SchedulerActor::execute(state, commands),
                Err(err) => {
                    tracing::error!(error = %err, "a model worker could not be restarted");
                    if state.workers.is_empty() {
                        let commands = state.core.fail_queued();
                        SchedulerActor::execute(state, commands);
                    }
                }
            }
        }
        Ok(())
    }
}

/// A submitted request. Wait for its answer with [`Ticket::wait`]; dropping it before the
/// answer came cancels the request.
pub struct Ticket {
    request: RequestId,
    scheduler: ActorRef<SchedulerMsg>,
    answer: Option<oneshot::Receiver<Result<ModelOutput, ServiceError>>>,
}

impl Ticket {
    /// The request's id.
    pub fn id(&self) -> RequestId {
        self.request
    }

    /// Waits up to `timeout` for the answer; past it the request is cancelled.
    pub async fn wait(mut self, timeout: Duration) -> Result<ModelOutput, ServiceError> {
        let Some(receiver) = self.answer.as_mut() else {
            return Err(ServiceError::Internal(
                "the answer was already taken".into(),
            ));
        };
        match tokio::time::timeout(timeout, receiver).await {
            Ok(Ok(answer)) => {
                self.answer = None;
                answer
            }
            Ok(Err(_)) => {
                self.answer = None;
                Err(ServiceError::Unavailable(
                    "the scheduler dropped the request".into(),
                ))
            }
            Err(_) => Err(ServiceError::Unavailable(
                "the model request timed out".into(),
            )),
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if self.answer.is_some() {
            let _ = self.scheduler.cast(SchedulerMsg::Cancel {
                request: self.request,
            });
        }
    }
}

/// Submits a task; `stream` receives its text as it is generated.
pub fn submit(
    scheduler: &ActorRef<SchedulerMsg>,
    task: ModelTask,
    priority: u8,
    stream: Option<mpsc::UnboundedSender<StreamEvent>>,
) -> Result<Ticket, ServiceError> {
    let request = NEXT_REQUEST.fetch_add(1, Ordering::Relaxed);
    let (answer, receiver) = oneshot::channel();
    scheduler
        .cast(SchedulerMsg::Submit {
            request,
            task,
            priority,
            stream,
            answer,
        })
        .map_err(|e| ServiceError::Unavailable(format!("scheduler: {e}")))?;
    Ok(Ticket {
        request,
        scheduler: scheduler.clone(),
        answer: Some(receiver),
    })
}

/// Submits a task and waits for the answer; a timeout cancels it.
pub async fn ask(
    scheduler: &ActorRef<SchedulerMsg>,
    task: ModelTask,
    priority: u8,
    timeout: Duration,
) -> Result<ModelOutput, ServiceError> {
    submit(scheduler, task, priority, None)?.wait(timeout).await
}

/// Starts a scheduler over local workers only, as a worker node runs it behind its gateways.
pub async fn start_local(workers: Vec<WorkerSpec>) -> Result<ActorRef<SchedulerMsg>, ServiceError> {
    start_with(workers, None).await
}

/// Starts a scheduler with no local worker that uses every gateway of the cluster, sending
/// `origin` (this node's name) with its requests.
pub async fn start_remote_only(origin: &str) -> Result<ActorRef<SchedulerMsg>, ServiceError> {
    start_with(Vec::new(), Some(origin.to_string())).await
}

async fn start_with(
    workers: Vec<WorkerSpec>,
    remote_origin: Option<String>,
) -> Result<ActorRef<SchedulerMsg>, ServiceError> {
    let args = SchedulerArgs {
        workers,
        counters: Arc::new(Counters::default()),
        faults: Arc::new(AtomicUsize::new(0)),
        remote_origin,
    };
    Actor::spawn(None, SchedulerActor, args)
        .await
        .map(|(scheduler, _)| scheduler)
        .map_err(|e| ServiceError::Unavailable(format!("model workers: {e}")))
}

/// The scheduler's numbers.
pub async fn stats(scheduler: &ActorRef<SchedulerMsg>) -> Result<SchedulerStats, ServiceError> {
    match scheduler
        .call(SchedulerMsg::Stats, Some(Duration::from_secs(5)))
        .await
    {
        Ok(ractor::rpc::CallResult::Success(stats)) => Ok(stats),
        _ => Err(ServiceError::Unavailable(
            "the scheduler did not answer".into(),
        )),
    }
}
