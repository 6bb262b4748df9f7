//! The service handle: the one API that `http` and `nodes` call. Cheap to clone.

use std::sync::Arc;
use std::time::Duration;

use codebegen_schema::generation::{
    ErrorCode, GenerationEvent, GenerationId, GenerationOptions, GenerationRecord, ProjectId,
    UserId, UserRecord,
};
use codebegen_store::{ArtifactStore, GenerationStore, ProjectStore, UserStore};
use tokio::sync::broadcast;

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
    /// Deterministic model workers to start.
    pub workers: usize,
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
}

/// The handle.
#[derive(Clone)]
pub struct Service {
    inner: Arc<Inner>,
}

struct Inner {
    stores: Stores,
}

impl Service {
    /// Starts the actor system and resumes unfinished generations.
    pub async fn start(stores: Stores, _config: ServiceConfig) -> Result<Service, ServiceError> {
        Ok(Service { inner: Arc::new(Inner { stores }) })
    }

    /// The stores (for reads that need no actor).
    pub fn stores(&self) -> &Stores {
        &self.inner.stores
    }

    /// Admits and starts a generation for `user`; returns the queued record (HTTP 202).
    pub async fn create_generation(&self, _user: &UserRecord, _request: NewGeneration) -> Result<GenerationRecord, ServiceError> {
        Err(ServiceError::Unavailable("generation actors are being written".into()))
    }

    /// Cancels a running generation of `user`; returns the record as it ends.
    pub async fn cancel_generation(&self, _user: UserId, _id: GenerationId) -> Result<GenerationRecord, ServiceError> {
        Err(ServiceError::Unavailable("generation actors are being written".into()))
    }

    /// Live events of a generation (subscribe before reading the stored log, then dedupe by seq).
    pub fn subscribe(&self, _id: GenerationId) -> broadcast::Receiver<GenerationEvent> {
        broadcast::channel(1).1
    }

    /// Live numbers for `/metrics`.
    pub fn metrics(&self) -> ServiceMetrics {
        ServiceMetrics::default()
    }

    /// Whether the service can take work (for `/readyz`).
    pub async fn ready(&self) -> bool {
        true
    }

    /// Stops all actors, letting running stages checkpoint or be resumed later.
    pub async fn shutdown(&self) {}
}
