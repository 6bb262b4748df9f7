//! ractor actors as thin shells over pure state: a user actor per active user (tiers), a
//! generation actor per generation (stages, checkpoints, events, cancel, resume), a scheduler and
//! model-worker actors (the one path to a model), and the supervisors that restart them.
//! [`Service`] is the typed handle everyone else uses.
//!
//! Supervision tree:
//!
//! ```text
//! Service ─┬─ GenSupervisor ─┬─ GenerationActor (one per generation running here, holding its
//!          │                 │                   lease; restarted from its checkpoint)
//!          │                 └─ LeaseWatcher (starts generations that run nowhere: lease lapsed)
//!          ├─ SchedulerActor ── WorkerActor or LlmWorkerActor × n (restarted; in-flight requests
//!          │                    retried once; an LLM worker runs its engine on its own thread)
//!          └─ UserActor (one per active user, spawned on demand, stops when idle)
//! ```

pub mod cluster;
mod counters;
mod env;
mod gen_supervisor;
mod generation;
mod hub;
pub mod lease;
mod lease_watcher;
pub mod llm_engine;
pub mod llm_local;
pub mod llm_tasks;
pub mod llm_worker;
pub mod model;
pub mod scheduler;
pub mod scheduler_state;
pub mod service;
mod stages;
pub mod tier_window;
mod user;
pub mod worker;

pub use llm_engine::{Device, LlmWorkerConfig};
pub use llm_worker::LlmWorkerSpec;
pub use scheduler::{SchedulerStats, StreamEvent, Ticket, WorkerSpec};
pub use service::{NewGeneration, Service, ServiceConfig, ServiceError, ServiceMetrics, Stores};
pub use stages::artifact_prefix;
