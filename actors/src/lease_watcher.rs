//! Lease watcher: every `takeover_interval` it lists the unfinished generations and the leases,
//! and asks the [`GenSupervisor`](crate::gen_supervisor::GenSupervisor) to start each one that
//! runs nowhere — no live actor here, and no lease or a lapsed one (at start-up also our own
//! lease: a node restarted under the same name resumes its generations at once). The decision
//! is [`to_start`], pure; the generation actor's acquire then settles a race between nodes, so
//! exactly one of them runs the generation.
//!
//! Invariant: the watcher never writes; it only starts actors, and an actor that cannot take
//! the lease stops without touching the generation.

use std::collections::HashMap;
use std::sync::Arc;

use codebegen_schema::generation::{GenerationId, UnixMillis};
use codebegen_store::{Lease, StoreResult};
use ractor::{Actor, ActorProcessingErr, ActorRef};

use crate::env::{now_millis, Env};
use crate::gen_supervisor::{generation_ref, GenSupervisorMsg};

/// Messages.
#[derive(ractor_cluster::RactorMessage)]
pub enum LeaseWatcherMsg {
    /// Timer: look for generations that run nowhere.
    Scan,
}

/// Arguments.
pub struct LeaseWatcherArgs {
    /// Shared environment.
    pub env: Arc<Env>,
    /// Who starts generation actors.
    pub supervisor: ActorRef<GenSupervisorMsg>,
}

/// State.
pub struct LeaseWatcherState {
    args: LeaseWatcherArgs,
}

/// The actor.
pub struct LeaseWatcher;

/// Why this node starts a generation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody holds its lease: never taken yet, or released without a final status.
    Unleased,
    /// Its holder stopped renewing: the lease lapsed this long ago.
    Lapsed {
        /// Who held it.
        previous_owner: String,
        /// Milliseconds since it expired.
        lapsed_for_ms: i64,
    },
    /// This node holds it but runs no actor for it (start-up after a restart).
    Own,
}

/// Which of the `unfinished` generations this node `node` should start at `now`: those with
/// no live actor here whose lease is missing or lapsed (`now >= expires_at`), and, when
/// `at_startup`, those whose lease is still ours. A lease another node holds is left alone.
pub fn to_start(
    unfinished: &[GenerationId],
    leases: &[Lease],
    running_here: impl Fn(GenerationId) -> bool,
    node: &str,
    now: UnixMillis,
    at_startup: bool,
) -> Vec<(GenerationId, Claim)> {
    let leases: HashMap<GenerationId, &Lease> =
        leases.iter().map(|l| (l.generation_id, l)).collect();
    unfinished
        .iter()
        .filter(|id| !running_here(**id))
        .filter_map(|id| {
            let claim = match leases.get(id) {
                None => Claim::Unleased,
                Some(lease) if now >= lease.expires_at => Claim::Lapsed {
                    previous_owner: lease.owner.clone(),
                    lapsed_for_ms: now - lease.expires_at,
                },
                Some(lease) if at_startup && lease.owner == node => Claim::Own,
                Some(_) => return None,
            };
            Some((*id, claim))
        })
        .collect()
}

/// Lists, decides and asks the supervisor to start; returns how many it asked for.
pub(crate) async fn start_orphans(
    env: &Env,
    supervisor: &ActorRef<GenSupervisorMsg>,
    at_startup: bool,
) -> StoreResult<usize> {
    let unfinished: Vec<GenerationId> = env
        .stores
        .generations
        .list_unfinished()
        .await?
        .into_iter()
        .map(|record| record.id)
        .collect();
    if unfinished.is_empty() {
        return Ok(0);
    }
    let leases = env.stores.leases.list_leases().await?;
    let node = env.config.node_name.as_str();
    let starts = to_start(
        &unfinished,
        &leases,
        |id| generation_ref(id).is_some(),
        node,
        now_millis(),
        at_startup,
    );
    for (id, claim) in &starts {
        match claim {
            Claim::Lapsed {
                previous_owner,
                lapsed_for_ms,
            } if previous_owner != node => {
                tracing::info!(generation_id = %id, previous_owner = %previous_owner, lapsed_for_ms, "lease lapsed; trying to take the generation over");
            }
            _ => {
                tracing::info!(generation_id = %id, claim = ?claim, "starting a generation that runs nowhere")
            }
        }
        if supervisor.cast(GenSupervisorMsg::Start(*id)).is_err() {
            // The supervisor is stopping: so is this node.
            break;
        }
    }
    Ok(starts.len())
}

impl Actor for LeaseWatcher {
    type Msg = LeaseWatcherMsg;
    type State = LeaseWatcherState;
    type Arguments = LeaseWatcherArgs;

    async fn pre_start(
        &self,
        _myself: ActorRef<Self::Msg>,
        args: LeaseWatcherArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        Ok(LeaseWatcherState { args })
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        myself.send_after(state.args.env.config.takeover_interval, || {
            LeaseWatcherMsg::Scan
        });
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: LeaseWatcherMsg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            LeaseWatcherMsg::Scan => {
                let LeaseWatcherArgs { env, supervisor } = &state.args;
                if let Err(err) = start_orphans(env, supervisor, false).await {
                    // The next scan tries again; generations keep running meanwhile.
                    tracing::warn!(error = %err, "lease scan failed");
                }
                myself.send_after(env.config.takeover_interval, || LeaseWatcherMsg::Scan);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NODE: &str = "node-a";
    const NOW: UnixMillis = 1_000_000;

    fn id(n: u128) -> GenerationId {
        GenerationId(uuid::Uuid::from_u128(n))
    }

    fn lease(n: u128, owner: &str, expires_at: UnixMillis) -> Lease {
        Lease {
            generation_id: id(n),
            owner: owner.into(),
            expires_at,
        }
    }

    /// Generations 1..=`n_unfinished`, the given leases, actors running here for `running`.
    fn check(
        n_unfinished: u128,
        leases: &[Lease],
        running: &[u128],
        at_startup: bool,
        expected: &[(u128, Claim)],
    ) {
        let unfinished: Vec<GenerationId> = (1..=n_unfinished).map(id).collect();
        let running: Vec<GenerationId> = running.iter().copied().map(id).collect();
        let got = to_start(
            &unfinished,
            leases,
            |g| running.contains(&g),
            NODE,
            NOW,
            at_startup,
        );
        let expected: Vec<(GenerationId, Claim)> =
            expected.iter().map(|(n, c)| (id(*n), c.clone())).collect();
        assert_eq!(got, expected);
    }

    fn lapsed(owner: &str, ms: i64) -> Claim {
        Claim::Lapsed {
            previous_owner: owner.into(),
            lapsed_for_ms: ms,
        }
    }

    #[test]
    fn a_generation_without_a_lease_is_started() {
        check(1, &[], &[], false, &[(1, Claim::Unleased)]);
    }

    #[test]
    fn a_live_lease_of_another_node_is_left_alone_also_at_startup() {
        check(1, &[lease(1, "node-b", NOW + 1)], &[], false, &[]);
        check(1, &[lease(1, "node-b", NOW + 1)], &[], true, &[]);
    }

    #[test]
    fn a_lease_lapses_at_its_expiry() {
        check(
            1,
            &[lease(1, "node-b", NOW)],
            &[],
            false,
            &[(1, lapsed("node-b", 0))],
        );
        check(
            1,
            &[lease(1, "node-b", NOW - 2_500)],
            &[],
            false,
            &[(1, lapsed("node-b", 2_500))],
        );
    }

    #[test]
    fn our_own_live_lease_is_claimed_only_at_startup() {
        check(
            1,
            &[lease(1, NODE, NOW + 5_000)],
            &[],
            true,
            &[(1, Claim::Own)],
        );
        check(1, &[lease(1, NODE, NOW + 5_000)], &[], false, &[]);
    }

    #[test]
    fn a_generation_with_a_live_actor_here_is_never_started_again() {
        check(2, &[lease(1, "node-b", NOW - 1)], &[1, 2], true, &[]);
    }

    #[test]
    fn leases_of_finished_generations_are_ignored_and_the_order_is_kept() {
        check(
            3,
            &[
                lease(2, "node-b", NOW + 10),
                lease(3, "node-c", NOW - 10),
                lease(9, "node-b", NOW - 10),
            ],
            &[],
            false,
            &[(1, Claim::Unleased), (3, lapsed("node-c", 10))],
        );
    }
}
