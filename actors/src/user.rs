//! User actor, one per active user. Invariant: every admission of a user's generation goes
//! through this one actor, so tier limits hold under concurrent requests; its window is loaded
//! from the stored generations, so a restart does not reset it. It stops itself when idle.

use std::sync::Arc;
use std::time::{Duration, Instant};

use codebegen_schema::generation::{GenerationId, Tier, UserId};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use crate::counters::Counters;
use crate::env::{now_millis, Env};
use crate::tier_window::{Refusal, TierWindow, HOUR_MS};

/// Messages.
#[derive(ractor_cluster::RactorMessage)]
pub enum UserMsg {
    /// May this generation start now?
    Admit {
        /// The new generation.
        id: GenerationId,
        /// The user's tier as of this request.
        tier: Tier,
        /// The answer.
        reply: RpcReplyPort<Result<(), Refusal>>,
    },
    /// A generation reached a final status.
    Finished(GenerationId),
    /// Timer: stop if idle for long enough.
    IdleCheck,
}

/// Arguments.
pub struct UserArgs {
    /// The user.
    pub user: UserId,
    /// Shared environment.
    pub env: Arc<Env>,
}

/// State.
pub struct UserState {
    window: TierWindow,
    last_active: Instant,
    env: Arc<Env>,
}

/// The actor.
pub struct UserActor;

/// The registry name of a user's actor.
pub fn actor_name(id: UserId) -> String {
    format!("user-{id}")
}

impl Actor for UserActor {
    type Msg = UserMsg;
    type State = UserState;
    type Arguments = UserArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: UserArgs,
    ) -> Result<UserState, ActorProcessingErr> {
        let store = &args.env.stores.generations;
        let created = store
            .created_since(args.user, now_millis() - HOUR_MS)
            .await?;
        let running: Vec<GenerationId> = store
            .list_unfinished()
            .await?
            .into_iter()
            .filter(|g| g.user_id == args.user)
            .map(|g| g.id)
            .collect();
        Counters::up(&args.env.counters.users);
        let tick = (args.env.config.user_idle / 2).max(Duration::from_millis(50));
        myself.send_interval(tick, || UserMsg::IdleCheck);
        Ok(UserState {
            window: TierWindow::new(created, running),
            last_active: Instant::now(),
            env: args.env,
        })
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        state: &mut UserState,
    ) -> Result<(), ActorProcessingErr> {
        Counters::down(&state.env.counters.users);
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: UserMsg,
        state: &mut UserState,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            UserMsg::Admit { id, tier, reply } => {
                state.last_active = Instant::now();
                let _ = reply.send(state.window.admit(id, tier, now_millis()));
            }
            UserMsg::Finished(id) => {
                state.last_active = Instant::now();
                state.window.finished(id);
            }
            UserMsg::IdleCheck => {
                if state.window.is_idle()
                    && state.last_active.elapsed() >= state.env.config.user_idle
                {
                    myself.stop(Some("idle".into()));
                }
            }
        }
        Ok(())
    }
}
