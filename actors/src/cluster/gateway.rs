//! Model work across nodes. On a worker node, a [`WorkerGateway`] per model joins the
//! [`WORKERS_SCOPE`] process group named after the model and runs the requests it receives on
//! the node's own scheduler. On an API node, a [`RemoteWorkerActor`] stands for one remote
//! gateway among the scheduler's workers: it speaks the local worker messages and forwards
//! them.
//!
//! Invariant: a remote request ends in exactly one `Done` to the scheduler, or the proxy stops
//! (the gateway is unreachable) and the scheduler re-queues everything it had in flight; an
//! answer that arrives for a request already re-queued is a duplicate the scheduler ignores.
//! Remote requests answer once: generated text is not streamed across nodes.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use codebegen_schema::cluster::{
    CancelRequest, Heartbeat, RunReply, RunRequest, WorkerInfo, WIRE_VERSION, WORKERS_SCOPE,
};
use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use tokio::sync::oneshot;

use super::agent::GatewayStats;
use super::wire::Wire;
use crate::model::{ModelOutput, ModelTask};
use crate::scheduler::{self, SchedulerMsg};
use crate::scheduler_state::WorkerId;
use crate::worker::WorkerMsg;

/// Longest a remote request may run before the proxy gives up on its gateway.
const REMOTE_REQUEST_TIMEOUT: Duration = Duration::from_secs(600);

/// How long an API node waits for a gateway to describe itself.
pub const INFO_TIMEOUT: Duration = Duration::from_secs(5);

/// Messages from API nodes.
#[derive(ractor_cluster::RactorClusterMessage)]
pub enum GatewayMsg {
    /// Describe this gateway (the payload says who asks).
    #[rpc]
    Info(Wire<Heartbeat>, RpcReplyPort<Wire<WorkerInfo>>),
    /// Run a model request.
    #[rpc]
    Run(Wire<RunRequest>, RpcReplyPort<Wire<RunReply>>),
    /// Stop a request.
    Cancel(Wire<CancelRequest>),
}

/// Arguments and state of a gateway.
pub struct GatewayArgs {
    /// The node's scheduler, which runs the work on local workers.
    pub scheduler: ActorRef<SchedulerMsg>,
    /// Shared numbers (model, capacity, served).
    pub stats: Arc<GatewayStats>,
}

/// State.
pub struct GatewayState {
    args: GatewayArgs,
    running: HashMap<(String, u64), oneshot::Sender<()>>,
}

/// The gateway actor.
pub struct WorkerGateway;

impl Actor for WorkerGateway {
    type Msg = GatewayMsg;
    type State = GatewayState;
    type Arguments = GatewayArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: GatewayArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        ractor::pg::join_scoped(
            WORKERS_SCOPE.to_string(),
            args.stats.model.clone(),
            vec![myself.get_cell()],
        );
        Ok(GatewayState {
            args,
            running: HashMap::new(),
        })
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: GatewayMsg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        state.running.retain(|_, stop| !stop.is_closed());
        match message {
            GatewayMsg::Info(_, reply) => {
                let stats = &state.args.stats;
                let _ = reply.send(Wire::new(WorkerInfo {
                    version: WIRE_VERSION,
                    model: stats.model.clone(),
                    capacity: stats.capacity,
                    served: stats.served.load(Ordering::Relaxed),
                }));
            }
            GatewayMsg::Run(request, reply) => {
                let request = match request.into_inner() {
                    Ok(request) => request,
                    Err(err) => {
                        tracing::warn!(error = %err, "model request from a peer could not be read");
                        return Ok(());
                    }
                };
                let (stop, stopped) = oneshot::channel();
                state
                    .running
                    .insert((request.origin.clone(), request.request), stop);
                let scheduler = state.args.scheduler.clone();
                let stats = Arc::clone(&state.args.stats);
                tokio::spawn(async move {
                    let id = request.request;
                    let result = run_locally(&scheduler, request, stopped).await;
                    if result.is_ok() {
                        stats.served.fetch_add(1, Ordering::Relaxed);
                    }
                    let _ = reply.send(Wire::new(RunReply {
                        version: WIRE_VERSION,
                        request: id,
                        result,
                    }));
                });
            }
            GatewayMsg::Cancel(cancel) => {
                if let Ok(cancel) = cancel.into_inner() {
                    // Dropping the sender wakes the waiting task, which drops its ticket.
                    state.running.remove(&(cancel.origin, cancel.request));
                }
            }
        }
        Ok(())
    }
}

async fn run_locally(
    scheduler: &ActorRef<SchedulerMsg>,
    request: RunRequest,
    stopped: oneshot::Receiver<()>,
) -> Result<String, String> {
    let task: ModelTask = serde_json::from_str(&request.task_json)
        .map_err(|e| format!("the model task does not decode: {e}"))?;
    let ticket =
        scheduler::submit(scheduler, task, request.priority, None).map_err(|e| e.to_string())?;
    tokio::select! {
        answer = ticket.wait(REMOTE_REQUEST_TIMEOUT) => {
            let output = answer.map_err(|e| e.to_string())?;
            serde_json::to_string(&output).map_err(|e| e.to_string())
        }
        _ = stopped => Err("cancelled".into()),
    }
}

/// Arguments of a proxy.
pub struct RemoteWorkerArgs {
    /// The proxy's worker slot in the scheduler.
    pub id: WorkerId,
    /// The API node's scheduler.
    pub scheduler: ActorRef<SchedulerMsg>,
    /// The remote gateway.
    pub gateway: ActorRef<GatewayMsg>,
    /// This node's name (sent as the origin of requests).
    pub origin: String,
}

/// The proxy actor: a worker, for the scheduler, whose work runs on another node.
pub struct RemoteWorkerActor;

impl Actor for RemoteWorkerActor {
    type Msg = WorkerMsg;
    type State = RemoteWorkerArgs;
    type Arguments = RemoteWorkerArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: RemoteWorkerArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(args)
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: WorkerMsg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            WorkerMsg::Run {
                request,
                task,
                priority,
            } => {
                let task_json = serde_json::to_string(&task)?;
                let run = RunRequest {
                    version: WIRE_VERSION,
                    origin: state.origin.clone(),
                    request,
                    priority,
                    task_json,
                };
                let gateway = state.gateway.clone();
                let scheduler = state.scheduler.clone();
                let worker = state.id;
                tokio::spawn(async move {
                    match forward(&gateway, run).await {
                        Ok(output) => {
                            let _ = scheduler.cast(SchedulerMsg::Done {
                                worker,
                                request,
                                output,
                            });
                        }
                        Err(Forward::Refused(reason)) => {
                            let _ = scheduler.cast(SchedulerMsg::Failed {
                                worker,
                                request,
                                reason,
                            });
                        }
                        Err(Forward::Unreachable(reason)) => {
                            tracing::warn!(
                                worker,
                                request,
                                reason,
                                "remote model worker unreachable; its requests move on"
                            );
                            myself.stop(Some(reason));
                        }
                    }
                });
            }
            WorkerMsg::Cancel { request } => {
                let _ = state
                    .gateway
                    .cast(GatewayMsg::Cancel(Wire::new(CancelRequest {
                        version: WIRE_VERSION,
                        origin: state.origin.clone(),
                        request,
                    })));
            }
            WorkerMsg::EngineFailed(_) => {}
        }
        Ok(())
    }
}

enum Forward {
    /// The worker node answered that it could not run the request.
    Refused(String),
    /// No answer: the node or its session is gone.
    Unreachable(String),
}

async fn forward(gateway: &ActorRef<GatewayMsg>, run: RunRequest) -> Result<ModelOutput, Forward> {
    let request = run.request;
    let answer = gateway
        .call(
            |reply| GatewayMsg::Run(Wire::new(run), reply),
            Some(REMOTE_REQUEST_TIMEOUT),
        )
        .await;
    let reply = match answer {
        Ok(CallResult::Success(reply)) => reply,
        Ok(CallResult::Timeout) => return Err(Forward::Unreachable("timed out".into())),
        Ok(CallResult::SenderError) => {
            return Err(Forward::Unreachable("the answer channel closed".into()))
        }
        Err(err) => return Err(Forward::Unreachable(err.to_string())),
    };
    let reply = reply
        .into_inner()
        .map_err(|e| Forward::Refused(e.to_string()))?;
    if reply.request != request {
        return Err(Forward::Refused(format!(
            "answer for request {} instead of {request}",
            reply.request
        )));
    }
    let json = reply.result.map_err(Forward::Refused)?;
    serde_json::from_str(&json)
        .map_err(|e| Forward::Refused(format!("output does not decode: {e}")))
}

/// Asks a gateway to describe itself.
pub async fn gateway_info(
    gateway: &ActorRef<GatewayMsg>,
    origin: &str,
) -> Result<WorkerInfo, String> {
    match gateway
        .call(
            |reply| GatewayMsg::Info(super::agent::heartbeat(origin), reply),
            Some(INFO_TIMEOUT),
        )
        .await
    {
        Ok(CallResult::Success(info)) => info.into_inner().map_err(|e| e.to_string()),
        Ok(_) => Err("no answer".into()),
        Err(err) => Err(err.to_string()),
    }
}
