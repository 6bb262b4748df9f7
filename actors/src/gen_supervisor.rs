//! Generation supervisor. Invariant: every unfinished generation it was given has a live actor,
//! or a restart pending, unless another node holds its lease (then the actor stops at once); a
//! crashed generation actor is restarted (with back-off) and resumes from its checkpoint; after
//! too many crashes the generation is marked failed (by the lease holder only). Restarts are
//! logged and counted.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use codebegen_schema::generation::{ErrorBody, ErrorCode, GenerationId, GenerationStatus};
use ractor::{Actor, ActorProcessingErr, ActorRef, SupervisionEvent};

use crate::counters::Counters;
use crate::env::{now_millis, Env};
use crate::generation::{actor_name, GenerationActor, GenerationArgs, GenerationMsg};

/// Crashes tolerated per generation before it is failed.
const MAX_RESTARTS: u32 = 5;

/// Messages.
#[derive(ractor_cluster::RactorMessage)]
pub enum GenSupervisorMsg {
    /// Run (or resume) a stored generation.
    Start(GenerationId),
}

/// State.
pub struct GenSupervisorState {
    env: Arc<Env>,
    running: HashMap<ractor::ActorId, GenerationId>,
    restarts: HashMap<GenerationId, u32>,
    start_failures: HashMap<GenerationId, u32>,
}

/// The actor.
pub struct GenSupervisor;

impl GenSupervisor {
    async fn start(
        myself: &ActorRef<GenSupervisorMsg>,
        state: &mut GenSupervisorState,
        id: GenerationId,
    ) {
        if ractor::registry::where_is(actor_name(id)).is_some() {
            return;
        }
        let args = GenerationArgs {
            id,
            env: Arc::clone(&state.env),
        };
        match Actor::spawn_linked(
            Some(actor_name(id)),
            GenerationActor,
            args,
            myself.get_cell(),
        )
        .await
        {
            Ok((actor, _)) => {
                state.start_failures.remove(&id);
                state.running.insert(actor.get_id(), id);
            }
            Err(err) => {
                // Usually the store is unavailable: keep trying (capped back-off) without
                // counting it as a crash, so the generation resumes once the store is back.
                let attempt = state.start_failures.entry(id).or_insert(0);
                *attempt += 1;
                let delay = Duration::from_millis(250 * 2u64.pow((*attempt).min(6)))
                    .min(Duration::from_secs(10));
                tracing::warn!(generation_id = %id, error = %err, attempt = *attempt, delay_ms = delay.as_millis() as u64, "generation actor failed to start; retrying");
                myself.send_after(delay, move || GenSupervisorMsg::Start(id));
            }
        }
    }

    async fn crashed(
        myself: &ActorRef<GenSupervisorMsg>,
        state: &mut GenSupervisorState,
        id: GenerationId,
    ) {
        Counters::up(&state.env.counters.restarts);
        let count = state.restarts.entry(id).or_insert(0);
        *count += 1;
        if *count > MAX_RESTARTS {
            tracing::error!(generation_id = %id, restarts = *count - 1, "generation keeps crashing; marking it failed");
            // Only as its lease holder: if another node has taken it over, it is theirs.
            let (env, node) = (&state.env, state.env.config.node_name.as_str());
            let ttl_ms = crate::lease::ttl_ms(env.config.lease_ttl);
            if !matches!(
                env.stores
                    .leases
                    .acquire_lease(id, node, ttl_ms, now_millis())
                    .await,
                Ok(true)
            ) {
                return;
            }
            if let Ok(Some(mut record)) = env.stores.generations.get_generation(id).await {
                if !record.status.is_final() {
                    record.status = GenerationStatus::Failed;
                    record.error = Some(ErrorBody {
                        code: ErrorCode::Internal,
                        message: "the generation failed repeatedly; see the server logs".into(),
                    });
                    record.completed_at = Some(now_millis());
                    record.updated_at = now_millis();
                    let _ = env.stores.generations.put_generation(&record).await;
                }
            }
            let _ = env.stores.leases.release_lease(id, node).await;
            return;
        }
        let delay = Duration::from_millis(200 * 2u64.pow(*count - 1)).min(Duration::from_secs(10));
        tracing::warn!(generation_id = %id, restart = *count, delay_ms = delay.as_millis() as u64, "restarting generation actor from its checkpoint");
        myself.send_after(delay, move || GenSupervisorMsg::Start(id));
    }
}

impl Actor for GenSupervisor {
    type Msg = GenSupervisorMsg;
    type State = GenSupervisorState;
    type Arguments = Arc<Env>;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        env: Arc<Env>,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(GenSupervisorState {
            env,
            running: HashMap::new(),
            restarts: HashMap::new(),
            start_failures: HashMap::new(),
        })
    }

    async fn post_stop(
        &self,
        myself: ActorRef<Self::Msg>,
        _state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        // Running generations stop with the node; they resume from their checkpoints at the
        // next start (or on another node).
        myself
            .get_cell()
            .stop_children_and_wait(Some("shutdown".into()), Some(Duration::from_secs(5)))
            .await;
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: GenSupervisorMsg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            GenSupervisorMsg::Start(id) => GenSupervisor::start(&myself, state, id).await,
        }
        Ok(())
    }

    async fn handle_supervisor_evt(
        &self,
        myself: ActorRef<Self::Msg>,
        event: SupervisionEvent,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match event {
            SupervisionEvent::ActorFailed(cell, err) => {
                if let Some(id) = state.running.remove(&cell.get_id()) {
                    Counters::down(&state.env.counters.generations);
                    tracing::warn!(generation_id = %id, error = %err, "generation actor crashed");
                    GenSupervisor::crashed(&myself, state, id).await;
                }
            }
            SupervisionEvent::ActorTerminated(cell, _, _) => {
                if let Some(id) = state.running.remove(&cell.get_id()) {
                    state.restarts.remove(&id);
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// Sends a message to a running generation's actor, if there is one.
pub fn generation_ref(id: GenerationId) -> Option<ActorRef<GenerationMsg>> {
    ractor::registry::where_is(actor_name(id)).map(ActorRef::from)
}
