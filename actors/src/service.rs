//! The service handle: the one API that `http` and `nodes` call. Cheap to clone.

use std::sync::Arc;
use std::time::Duration;

use std::sync::atomic::AtomicUsize;

use codebegen_schema::generation::{
    ErrorCode, EventKind, GenerationEvent, GenerationId, GenerationOptions, GenerationRecord,
    GenerationStatus, ProjectId, UserId, UserRecord,
};
use codebegen_store::{ArtifactStore, GenerationStore, LeaseStore, ProjectStore, UserStore};
use ractor::{Actor, ActorRef};
use tokio::sync::broadcast;

use crate::counters::Counters;
use crate::env::{now_millis, Env};
use crate::gen_supervisor::{generation_ref, GenSupervisor, GenSupervisorMsg};
use crate::generation::GenerationMsg;
use crate::hub::EventHub;
use crate::lease_watcher::{start_orphans, LeaseWatcher, LeaseWatcherArgs};
use crate::model::{ModelOutput, ModelTask};
use crate::scheduler::{
    SchedulerActor, SchedulerArgs, SchedulerStats, StreamEvent, Ticket, WorkerSpec,
};
use crate::user::{actor_name as user_actor_name, UserActor, UserArgs, UserMsg};

/// The stores the service runs on.
#[derive(Clone)]
pub struct Stores {
    /// Users and refresh tokens.
    pub users: Arc<dyn UserStore>,
    /// Projects.
    pub projects: Arc<dyn ProjectStore>,
    /// Generations, checkpoints and events.
    pub generations: Arc<dyn GenerationStore>,
    /// Files and archives.
    pub artifacts: Arc<dyn ArtifactStore>,
    /// Who runs which generation (shared by every node of a cluster).
    pub leases: Arc<dyn LeaseStore>,
}

/// Service settings.
#[derive(Debug, Clone)]
pub struct ServiceConfig {
    /// This node's name (logs, leases).
    pub node_name: String,
    /// Limit per stage (gates get their own limits inside).
    pub stage_timeout: Duration,
    /// Gate settings, used when a generation asks for `validate`.
    pub gates: Option<codebegen_gates::GateConfig>,
    /// A user actor with nothing running stops after this long.
    pub user_idle: Duration,
    /// Deterministic model workers to start when no LLM worker is given (see
    /// [`Service::start_with_workers`]).
    pub workers: usize,
    /// How long a generation's lease lasts unless renewed (its holder renews it every third of
    /// this): a node that stops loses its generations to the others this long after its last
    /// renewal. Nodes' clocks must agree to well within it. Default
    /// [`DEFAULT_LEASE_TTL`](crate::lease::DEFAULT_LEASE_TTL).
    pub lease_ttl: Duration,
    /// How often the lease watcher looks for generations that run nowhere. Default
    /// [`takeover_interval_for`](crate::lease::takeover_interval_for)`(lease_ttl)`.
    pub takeover_interval: Duration,
}

/// A request to start a generation, already validated at the edge (prompt length, JSON shape).
#[derive(Debug, Clone, Default)]
pub struct NewGeneration {
    /// The prompt, or the follow-up prompt when `parent_id` is set.
    pub prompt: Option<String>,
    /// A full spec instead of a prompt.
    pub spec: Option<serde_json::Value>,
    /// Project (must belong to the user).
    pub project_id: Option<ProjectId>,
    /// Parent generation to refine (must belong to the user and be completed).
    pub parent_id: Option<GenerationId>,
    /// Options.
    pub options: GenerationOptions,
}

/// Why a service call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ServiceError {
    /// A tier limit; retry after this many seconds.
    #[error("rate limited: {message}")]
    RateLimited {
        /// Seconds until a slot frees up.
        retry_after_s: u64,
        /// Which limit.
        message: String,
    },
    /// Missing, or owned by someone else.
    #[error("not found")]
    NotFound,
    /// The request cannot be served as given.
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The current state forbids it (e.g. cancelling a finished generation).
    #[error("conflict: {0}")]
    Conflict(String),
    /// A dependency is down.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// A bug.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ServiceError {
    /// The error code `http` maps to a status.
    pub fn code(&self) -> ErrorCode {
        match self {
            ServiceError::RateLimited { .. } => ErrorCode::RateLimited,
            ServiceError::NotFound => ErrorCode::NotFound,
            ServiceError::InvalidInput(_) => ErrorCode::InvalidInput,
            ServiceError::Conflict(_) => ErrorCode::Conflict,
            ServiceError::Unavailable(_) => ErrorCode::Unavailable,
            ServiceError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<codebegen_store::StoreError> for ServiceError {
    fn from(err: codebegen_store::StoreError) -> Self {
        match err {
            codebegen_store::StoreError::Conflict(m) => ServiceError::Conflict(m),
            codebegen_store::StoreError::Unavailable(m) => ServiceError::Unavailable(m),
            codebegen_store::StoreError::Corrupt(m) => ServiceError::Internal(m),
        }
    }
}

/// Live numbers for `/metrics`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ServiceMetrics {
    /// Live actors by kind: users, generations, workers.
    pub live_users: u64,
    /// Running generation actors.
    pub live_generations: u64,
    /// Model workers alive.
    pub live_workers: u64,
    /// Requests waiting in the scheduler.
    pub queue_depth: u64,
    /// Actor restarts since start.
    pub restarts: u64,
    /// Generations this node took over from another node whose lease had lapsed.
    pub takeovers: u64,
}

/// The handle.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    env: Arc<Env>,
    supervisor: ActorRef<GenSupervisorMsg>,
    faults: Arc<AtomicUsize>,
}

const CALL_TIMEOUT: Duration = Duration::from_secs(10);

impl Service {
    /// Starts the actor system with `config.workers` deterministic model workers and resumes
    /// unfinished generations.
    pub async fn start(stores: Stores, config: ServiceConfig) -> Result<Service, ServiceError> {
        Service::start_with_workers(stores, config, Vec::new()).await
    }

    /// Starts the actor system with the given model workers — `config.workers` deterministic
    /// ones when `workers` is empty — and resumes unfinished generations. With an LLM worker,
    /// extraction is hybrid and the review summary and README overview come from the model; a
    /// model that fails or times out is answered for by the deterministic engine. A model that
    /// cannot be loaded is an error here, at start-up.
    pub async fn start_with_workers(
        stores: Stores,
        config: ServiceConfig,
        workers: Vec<WorkerSpec>,
    ) -> Result<Service, ServiceError> {
        Service::start_on(stores, config, workers, false).await
    }

    /// Starts an API node of a cluster: as [`Service::start_with_workers`], but the scheduler
    /// also uses every model-worker gateway the cluster has, and `workers` may be empty (then
    /// all model work runs on worker nodes, and waits while none is up).
    pub async fn start_api_node(
        stores: Stores,
        config: ServiceConfig,
        workers: Vec<WorkerSpec>,
    ) -> Result<Service, ServiceError> {
        Service::start_on(stores, config, workers, true).await
    }

    async fn start_on(
        stores: Stores,
        config: ServiceConfig,
        workers: Vec<WorkerSpec>,
        cluster: bool,
    ) -> Result<Service, ServiceError> {
        let counters = Arc::new(Counters::default());
        let faults = Arc::new(AtomicUsize::new(0));
        let model_backed = workers.iter().any(|w| matches!(w, WorkerSpec::Llm(_)));
        let workers = if workers.is_empty() && !cluster {
            vec![WorkerSpec::Deterministic; config.workers.max(1)]
        } else {
            workers
        };
        let scheduler_args = SchedulerArgs {
            workers,
            counters: Arc::clone(&counters),
            faults: Arc::clone(&faults),
            remote_origin: cluster.then(|| config.node_name.clone()),
        };
        let (scheduler, _) = Actor::spawn(None, SchedulerActor, scheduler_args)
            .await
            .map_err(|e| ServiceError::Unavailable(format!("model workers: {e}")))?;
        let env = Arc::new(Env {
            stores,
            hub: Arc::new(EventHub::default()),
            scheduler,
            config,
            counters,
            model_backed,
        });
        let (supervisor, _) = Actor::spawn(None, GenSupervisor, Arc::clone(&env))
            .await
            .map_err(|e| ServiceError::Internal(format!("supervisor: {e}")))?;
        // Resume what runs nowhere — no lease, a lapsed one, or our own from before a restart —
        // and leave generations that live nodes hold to them; then keep watching for leases
        // that lapse.
        let resumed = start_orphans(&env, &supervisor, true).await?;
        if resumed > 0 {
            tracing::info!(count = resumed, "resuming unfinished generations");
        }
        let watcher = LeaseWatcherArgs {
            env: Arc::clone(&env),
            supervisor: supervisor.clone(),
        };
        // Linked to the supervisor, so it stops with it.
        Actor::spawn_linked(None, LeaseWatcher, watcher, supervisor.get_cell())
            .await
            .map_err(|e| ServiceError::Internal(format!("lease watcher: {e}")))?;
        Ok(Service {
            inner: Arc::new(Inner {
                env,
                supervisor,
                faults,
            }),
        })
    }

    /// The stores (for reads that need no actor).
    pub fn stores(&self) -> &Stores {
        &self.inner.env.stores
    }

    async fn user_actor(&self, user: UserId) -> Result<ActorRef<UserMsg>, ServiceError> {
        for _ in 0..3 {
            if let Some(cell) = ractor::registry::where_is(user_actor_name(user)) {
                return Ok(ActorRef::from(cell));
            }
            let args = UserArgs {
                user,
                env: Arc::clone(&self.inner.env),
            };
            match Actor::spawn(Some(user_actor_name(user)), UserActor, args).await {
                Ok((actor, _)) => return Ok(actor),
                Err(ractor::SpawnErr::ActorAlreadyRegistered(_)) => continue,
                Err(e) => return Err(ServiceError::Unavailable(format!("user actor: {e}"))),
            }
        }
        Err(ServiceError::Unavailable(
            "user actor kept restarting".into(),
        ))
    }

    async fn admit(&self, user: &UserRecord, id: GenerationId) -> Result<(), ServiceError> {
        for _ in 0..3 {
            let actor = self.user_actor(user.id).await?;
            match actor
                .call(
                    |reply| UserMsg::Admit {
                        id,
                        tier: user.tier,
                        reply,
                    },
                    Some(CALL_TIMEOUT),
                )
                .await
            {
                Ok(ractor::rpc::CallResult::Success(Ok(()))) => return Ok(()),
                Ok(ractor::rpc::CallResult::Success(Err(refusal))) => {
                    return Err(ServiceError::RateLimited {
                        retry_after_s: refusal.retry_after_s,
                        message: refusal.message,
                    });
                }
                Ok(ractor::rpc::CallResult::Timeout) => {
                    return Err(ServiceError::Unavailable(
                        "the user actor did not answer".into(),
                    ))
                }
                // The actor stopped (idle) between lookup and call: spawn a fresh one.
                Ok(ractor::rpc::CallResult::SenderError) | Err(_) => continue,
            }
        }
        Err(ServiceError::Unavailable(
            "the user actor is unavailable".into(),
        ))
    }

    /// Admits and starts a generation for `user`; returns the queued record (HTTP 202).
    pub async fn create_generation(
        &self,
        user: &UserRecord,
        request: NewGeneration,
    ) -> Result<GenerationRecord, ServiceError> {
        let stores = self.stores();
        if let Some(project) = request.project_id {
            match stores.projects.get_project(project).await? {
                Some(p) if p.user_id == user.id => {}
                _ => return Err(ServiceError::NotFound),
            }
        }
        if let Some(parent) = request.parent_id {
            match stores.generations.get_generation(parent).await? {
                Some(p) if p.user_id == user.id => {
                    if p.spec.is_none() {
                        return Err(ServiceError::Conflict(
                            "the parent generation has no spec yet; wait until it completes".into(),
                        ));
                    }
                }
                _ => return Err(ServiceError::NotFound),
            }
            if request.prompt.is_none() && request.spec.is_none() {
                return Err(ServiceError::InvalidInput(
                    "a refinement needs a follow-up prompt or a spec".into(),
                ));
            }
        } else if request.prompt.is_none() == request.spec.is_none() {
            return Err(ServiceError::InvalidInput(
                "give exactly one of `prompt` and `spec`".into(),
            ));
        }
        let id = GenerationId(uuid::Uuid::now_v7());
        self.admit(user, id).await?;
        let now = now_millis();
        let record = GenerationRecord {
            id,
            user_id: user.id,
            project_id: request.project_id,
            parent_id: request.parent_id,
            prompt: request.prompt,
            input_spec: request.spec,
            options: request.options,
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
        // The lease is taken before the record exists, so no other node's lease watcher can
        // see the new generation unleased and start it too; our actor's acquire extends it.
        let config = &self.inner.env.config;
        let ttl_ms = crate::lease::ttl_ms(config.lease_ttl);
        let leased = stores
            .leases
            .acquire_lease(id, &config.node_name, ttl_ms, now)
            .await;
        let stored = match leased {
            Ok(_) => stores.generations.put_generation(&record).await,
            Err(err) => Err(err),
        };
        if let Err(err) = stored {
            if let Some(cell) = ractor::registry::where_is(user_actor_name(user.id)) {
                let _ = ActorRef::<UserMsg>::from(cell).cast(UserMsg::Finished(id));
            }
            return Err(err.into());
        }
        self.inner
            .supervisor
            .cast(GenSupervisorMsg::Start(id))
            .map_err(|e| ServiceError::Internal(e.to_string()))?;
        tracing::info!(generation_id = %id, user_id = %user.id, "generation queued");
        Ok(record)
    }

    /// Cancels a running generation of `user`; returns the record as it ends.
    pub async fn cancel_generation(
        &self,
        user: UserId,
        id: GenerationId,
    ) -> Result<GenerationRecord, ServiceError> {
        let record = self
            .stores()
            .generations
            .get_generation(id)
            .await?
            .filter(|r| r.user_id == user)
            .ok_or(ServiceError::NotFound)?;
        if record.status.is_final() {
            return Err(ServiceError::Conflict(format!(
                "the generation is already {}",
                record.status.as_str()
            )));
        }
        match generation_ref(id) {
            Some(actor) => match actor.call(GenerationMsg::Cancel, Some(CALL_TIMEOUT)).await {
                Ok(ractor::rpc::CallResult::Success(result)) => result,
                _ => self.cancel_stored(record).await,
            },
            None => self.cancel_stored(record).await,
        }
    }

    /// Cancels a generation whose actor is not running (between restarts).
    async fn cancel_stored(
        &self,
        mut record: GenerationRecord,
    ) -> Result<GenerationRecord, ServiceError> {
        // Take the lease first, so no node is running it while the status changes. Another
        // live node holding it runs the generation: the cancel must go there.
        let config = &self.inner.env.config;
        let leases = &self.stores().leases;
        let ttl = crate::lease::ttl_ms(config.lease_ttl);
        if !leases
            .acquire_lease(record.id, &config.node_name, ttl, now_millis())
            .await?
        {
            let owner = leases.get_lease(record.id).await?.map_or_else(
                || "another node".to_string(),
                |l| format!("node {}", l.owner),
            );
            return Err(ServiceError::Conflict(format!(
                "the generation is running on {owner}; cancel it through that node's API"
            )));
        }
        let store = &self.stores().generations;
        let now = now_millis();
        record.status = GenerationStatus::Cancelled;
        record.completed_at = Some(now);
        record.updated_at = now;
        store.put_generation(&record).await?;
        let seq = store.last_event_seq(record.id).await? + 1;
        let event = GenerationEvent {
            generation_id: record.id,
            seq,
            kind: EventKind::Cancelled,
            data: serde_json::json!({ "status": "cancelled" }),
            at: now,
        };
        store.append_event(&event).await?;
        self.inner.env.hub.publish(&event);
        if let Err(err) = leases.release_lease(record.id, &config.node_name).await {
            tracing::warn!(generation_id = %record.id, error = %err, "could not release the lease after a cancel; it lapses by itself");
        }
        if let Some(cell) = ractor::registry::where_is(user_actor_name(record.user_id)) {
            let _ = ActorRef::<UserMsg>::from(cell).cast(UserMsg::Finished(record.id));
        }
        Ok(record)
    }

    /// Live events of a generation (subscribe before reading the stored log, then dedupe by seq).
    pub fn subscribe(&self, id: GenerationId) -> broadcast::Receiver<GenerationEvent> {
        self.inner.env.hub.subscribe(id)
    }

    /// This node's name.
    pub fn node_name(&self) -> &str {
        &self.inner.env.config.node_name
    }

    /// The model scheduler (a worker gateway on a node with both roles runs on it).
    pub fn scheduler(&self) -> ActorRef<crate::scheduler::SchedulerMsg> {
        self.inner.env.scheduler.clone()
    }

    /// Live numbers for `/metrics`.
    pub fn metrics(&self) -> ServiceMetrics {
        self.inner.env.counters.snapshot()
    }

    /// Stage durations finished since the last call: (stage, seconds).
    pub fn drain_stage_durations(&self) -> Vec<(&'static str, f64)> {
        self.inner.env.counters.drain_stage_durations()
    }

    /// Whether the service can take work (for `/readyz`): the store answers.
    pub async fn ready(&self) -> bool {
        tokio::time::timeout(
            Duration::from_secs(2),
            self.stores()
                .generations
                .last_event_seq(GenerationId(uuid::Uuid::nil())),
        )
        .await
        .is_ok_and(|r| r.is_ok())
    }

    /// Asks the model workers directly (used by tests and benchmarks).
    pub async fn ask_model(&self, task: ModelTask) -> Result<ModelOutput, ServiceError> {
        crate::scheduler::ask(&self.inner.env.scheduler, task, 0, Duration::from_secs(60)).await
    }

    /// Submits a model task; its generated text goes to `stream` as it comes. Wait for the
    /// answer with [`Ticket::wait`]; dropping the ticket cancels the request.
    pub fn submit_model(
        &self,
        task: ModelTask,
        priority: u8,
        stream: Option<tokio::sync::mpsc::UnboundedSender<StreamEvent>>,
    ) -> Result<Ticket, ServiceError> {
        crate::scheduler::submit(&self.inner.env.scheduler, task, priority, stream)
    }

    /// The model scheduler's queue and workers.
    pub async fn scheduler_stats(&self) -> Result<SchedulerStats, ServiceError> {
        crate::scheduler::stats(&self.inner.env.scheduler).await
    }

    /// Fault injection for supervision tests: the next `n` model tasks crash their worker.
    #[doc(hidden)]
    pub fn inject_worker_faults(&self, n: usize) {
        self.inner
            .faults
            .store(n, std::sync::atomic::Ordering::SeqCst);
    }

    /// Fault injection for supervision tests: the generation's actor fails as if it panicked.
    #[doc(hidden)]
    pub fn inject_generation_fault(&self, id: GenerationId) -> bool {
        generation_ref(id).is_some_and(|a| a.cast(GenerationMsg::InjectFault).is_ok())
    }

    /// Stops all actors; unfinished generations resume at the next start, or on another node
    /// once their leases lapse (a stopping node does not release them: it simply stops renewing).
    pub async fn shutdown(&self) {
        let timeout = Some(Duration::from_secs(10));
        let _ = self
            .inner
            .supervisor
            .stop_and_wait(Some("shutdown".into()), timeout)
            .await;
        let _ = self
            .inner
            .env
            .scheduler
            .stop_and_wait(Some("shutdown".into()), timeout)
            .await;
    }
}
