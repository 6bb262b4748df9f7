//! ractor actors as thin shells over pure state: a user actor per active user (tiers), a
//! generation actor per generation (stages, checkpoints, events, cancel, resume), a scheduler and
//! model-worker actors (the one path to a model), and the supervisors that restart them.
//! [`Service`] is the typed handle everyone else uses.
//!
//! Supervision tree:
//!
//! ```text
//! Service ─┬─ GenSupervisor ── GenerationActor (one per running generation, restarted from its checkpoint)
//!          ├─ SchedulerActor ── WorkerActor × n (restarted; in-flight requests retried once)
//!          └─ UserActor (one per active user, spawned on demand, stops when idle)
//! ```

mod counters;
mod env;
mod gen_supervisor;
mod generation;
mod hub;
pub mod model;
mod scheduler;
pub mod scheduler_state;
pub mod service;
mod stages;
pub mod tier_window;
mod user;
mod worker;

pub use service::{NewGeneration, Service, ServiceConfig, ServiceError, ServiceMetrics, Stores};
pub use stages::artifact_prefix;
