//! What every generation and user actor shares: stores, the event hub, the scheduler, settings,
//! counters, and the clock at the edge.

use std::sync::Arc;

use codebegen_schema::generation::UnixMillis;
use ractor::ActorRef;

use crate::counters::Counters;
use crate::hub::EventHub;
use crate::scheduler::SchedulerMsg;
use crate::service::{ServiceConfig, Stores};

/// Shared environment.
pub struct Env {
    /// Stores.
    pub stores: Stores,
    /// Live events.
    pub hub: Arc<EventHub>,
    /// The model scheduler.
    pub scheduler: ActorRef<SchedulerMsg>,
    /// Settings.
    pub config: ServiceConfig,
    /// Counters.
    pub counters: Arc<Counters>,
    /// Whether a language model answers model tasks (then a failed model request falls back to
    /// the deterministic engine instead of failing the stage).
    pub model_backed: bool,
}

/// Milliseconds since the Unix epoch, now.
pub fn now_millis() -> UnixMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
