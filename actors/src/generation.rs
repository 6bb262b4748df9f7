//! Generation actor, one per running generation. Invariant: a stage's checkpoint is stored
//! before the record and the events say it finished, so an actor re-created after a crash or a
//! restart resumes from the last finished stage and never redoes a checkpointed one. Events get
//! consecutive seqs, are stored, then published.
//!
//! Ownership: the actor writes nothing before it holds the generation's lease (owner = this
//! node's name), and reads the record, checkpoints and last event seq only after taking it. It
//! renews the lease every third of its ttl; when a renewal is refused (another node took the
//! generation over) or the lease lapses by its own clock (the store stayed unreachable), it
//! stops at once without writing anything more. It releases the lease only after storing the
//! final status; stopping for any other reason (a node shutting down, a crash) leaves the lease
//! to lapse. A take-over may repeat the stage the previous holder was in: a stage's checkpoint
//! and files are overwrites keyed by (generation, stage) and by path, and an event whose seq is
//! taken with other content is refused (`Conflict`), which fails this actor rather than fork
//! the log.

use std::sync::Arc;
use std::time::{Duration, Instant};

use codebegen_schema::generation::{
    Checkpoint, ErrorBody, ErrorCode, EventKind, GenerationEvent, GenerationId, GenerationRecord,
    GenerationStatus, Stage,
};
use codebegen_store::StoreError;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::counters::Counters;
use crate::env::{now_millis, Env};
use crate::lease::{self, HeldLease, Renewal};
use crate::service::ServiceError;
use crate::stages::{self, Outputs, StageFailure};
use crate::user::UserMsg;

/// Messages.
#[derive(ractor_cluster::RactorMessage)]
pub enum GenerationMsg {
    /// Start the next stage.
    Advance,
    /// A stage task ended.
    StageDone {
        /// Which stage.
        stage: Stage,
        /// The payload to checkpoint, or why it failed.
        result: Result<Value, StageFailure>,
        /// How long it ran.
        elapsed: Duration,
    },
    /// The user cancels.
    Cancel(RpcReplyPort<Result<GenerationRecord, ServiceError>>),
    /// Timer: renew the lease.
    RenewLease,
    /// Fault injection for supervision tests: the actor fails as if a handler had panicked.
    #[doc(hidden)]
    InjectFault,
}

/// Arguments.
pub struct GenerationArgs {
    /// The generation (its record is in the store).
    pub id: GenerationId,
    /// Shared environment.
    pub env: Arc<Env>,
}

/// State.
pub struct GenerationState {
    env: Arc<Env>,
    record: GenerationRecord,
    outputs: Outputs,
    next_seq: u64,
    task: Option<JoinHandle<()>>,
    done_stages: Vec<Stage>,
    lease: HeldLease,
}

/// The actor.
pub struct GenerationActor;

/// The registry name of a generation's actor.
pub fn actor_name(id: GenerationId) -> String {
    format!("generation-{id}")
}

/// About 90 s of retries (capped at 5 s apart) before the actor gives up and is restarted.
const PERSIST_ATTEMPTS: u32 = 24;

/// Retries a store write with backoff while the store is unavailable, but never past
/// `lease_valid_until`: after that another node may own the generation.
async fn persist<F, Fut>(
    what: &str,
    lease_valid_until: Instant,
    mut op: F,
) -> Result<(), ActorProcessingErr>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), StoreError>>,
{
    let mut delay = Duration::from_millis(100);
    for attempt in 1..=PERSIST_ATTEMPTS {
        match op().await {
            Ok(()) => return Ok(()),
            Err(StoreError::Unavailable(e)) if Instant::now() + delay >= lease_valid_until => {
                return Err(
                    format!("{what}: store unavailable ({e}) until our lease lapsed").into(),
                );
            }
            Err(StoreError::Unavailable(e)) if attempt < PERSIST_ATTEMPTS => {
                tracing::warn!(what, attempt, error = %e, "store unavailable; retrying");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(5));
            }
            Err(e) => return Err(format!("{what}: {e}").into()),
        }
    }
    Err(format!("{what}: store unavailable").into())
}

impl GenerationState {
    async fn emit(&mut self, kind: EventKind, data: Value) -> Result<(), ActorProcessingErr> {
        let event = GenerationEvent {
            generation_id: self.record.id,
            seq: self.next_seq,
            kind,
            data,
            at: now_millis(),
        };
        let store = Arc::clone(&self.env.stores.generations);
        let until = self.lease.valid_until();
        persist("append event", until, || store.append_event(&event)).await?;
        self.next_seq += 1;
        self.env.hub.publish(&event);
        Ok(())
    }

    async fn save_record(&mut self) -> Result<(), ActorProcessingErr> {
        self.record.updated_at = now_millis();
        let store = Arc::clone(&self.env.stores.generations);
        let record = self.record.clone();
        let until = self.lease.valid_until();
        persist("save generation", until, || store.put_generation(&record)).await
    }

    /// Renews the lease; false when the actor must stop at once, without writing: another node
    /// took the generation over, or the lease lapsed by our clock while the store failed.
    async fn renew_lease(&mut self, myself: &ActorRef<GenerationMsg>) -> bool {
        let every = lease::renew_every(self.env.config.lease_ttl);
        match lease::renew(&self.env, self.record.id, &mut self.lease).await {
            Renewal::Held => myself.send_after(every, || GenerationMsg::RenewLease),
            Renewal::Unconfirmed => myself.send_after(every / 2, || GenerationMsg::RenewLease),
            Renewal::Lost | Renewal::Lapsed => return false,
        };
        true
    }

    /// Gives the lease up once the final status is stored.
    async fn release_lease(&self) {
        lease::release(&self.env, self.record.id).await;
    }

    fn next_stage(&self) -> Option<Stage> {
        let validate = self.record.options.validate;
        Stage::ALL
            .into_iter()
            .find(|s| (validate || *s != Stage::Gates) && !self.done_stages.contains(s))
    }

    async fn finish(
        &mut self,
        myself: &ActorRef<GenerationMsg>,
        status: GenerationStatus,
        error: Option<ErrorBody>,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(task) = self.task.take() {
            task.abort();
        }
        let now = now_millis();
        self.record.status = status;
        self.record.error = error.clone();
        self.record.completed_at = Some(now);
        if status == GenerationStatus::Completed {
            self.record.progress = 100;
        }
        // The user's concurrency slot is released before the final status is stored: the notice
        // sits in the user actor's mailbox ahead of any create sent after a client sees the
        // generation finished, so that create is never refused for a slot already free.
        if let Some(cell) = ractor::registry::where_is(crate::user::actor_name(self.record.user_id))
        {
            let _ = ActorRef::<UserMsg>::from(cell).cast(UserMsg::Finished(self.record.id));
        }
        self.save_record().await?;
        let (kind, data) = match status {
            GenerationStatus::Completed => (
                EventKind::Completed,
                json!({ "status": "completed", "files": self.outputs.tree.as_ref().map(|t| t.len()), "score": self.record.review.as_ref().and_then(|r| r.get("score").cloned()) }),
            ),
            GenerationStatus::Cancelled => (EventKind::Cancelled, json!({ "status": "cancelled" })),
            _ => (
                EventKind::Failed,
                json!({ "status": "failed", "error": error }),
            ),
        };
        self.emit(kind, data).await?;
        self.release_lease().await;
        tracing::info!(generation_id = %self.record.id, status = status.as_str(), "generation finished");
        myself.stop(None);
        Ok(())
    }
}

/// Stops an actor that no longer owns its generation: its stage task is dropped and nothing
/// more is written (the state is gone, so later messages find nothing to act on).
fn relinquish(myself: &ActorRef<GenerationMsg>, slot: &mut Option<GenerationState>) {
    if let Some(mut state) = slot.take() {
        if let Some(task) = state.task.take() {
            task.abort();
        }
        Counters::down(&state.env.counters.generations);
    }
    myself.stop(Some("the lease is no longer ours".into()));
}

/// Answers a message to an actor that does not (or no longer) own its generation.
fn not_owned(message: GenerationMsg) {
    if let GenerationMsg::Cancel(reply) = message {
        let _ = reply.send(Err(ServiceError::Unavailable(
            "the generation is not running on this node".into(),
        )));
    }
}

impl Actor for GenerationActor {
    type Msg = GenerationMsg;
    /// `None` when another node holds the lease, or after the lease was lost.
    type State = Option<GenerationState>;
    type Arguments = GenerationArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: GenerationArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        let env = args.env;
        let node = env.config.node_name.as_str();
        let previous = env.stores.leases.get_lease(args.id).await?;
        let asked_at = Instant::now();
        let now = now_millis();
        let ttl_ms = lease::ttl_ms(env.config.lease_ttl);
        if !env
            .stores
            .leases
            .acquire_lease(args.id, node, ttl_ms, now)
            .await?
        {
            let owner = previous.map(|l| l.owner).unwrap_or_default();
            tracing::debug!(generation_id = %args.id, owner = %owner, "another node holds the lease; not running the generation here");
            myself.stop(Some("leased by another node".into()));
            return Ok(None);
        }
        let lease = HeldLease::granted(env.config.lease_ttl, asked_at);
        if let Some(previous) = previous.filter(|l| l.owner != node) {
            Counters::up(&env.counters.takeovers);
            tracing::info!(generation_id = %args.id, previous_owner = %previous.owner, after_expiry_ms = now - previous.expires_at, "took the generation over from a node that stopped renewing its lease");
        }
        let record = env
            .stores
            .generations
            .get_generation(args.id)
            .await?
            .ok_or_else(|| format!("generation {} is not in the store", args.id))?;
        let checkpoints = env.stores.generations.get_checkpoints(args.id).await?;
        let mut outputs = Outputs::default();
        let mut done_stages = Vec::new();
        for checkpoint in &checkpoints {
            stages::restore(checkpoint.stage, &checkpoint.data, &mut outputs)
                .map_err(|e| format!("restoring {}: {e}", checkpoint.stage.as_str()))?;
            done_stages.push(checkpoint.stage);
        }
        // Read with the lease held: whatever the previous holder stored is here, and new events
        // continue after it.
        let next_seq = env.stores.generations.last_event_seq(args.id).await? + 1;
        Counters::up(&env.counters.generations);
        let resumed = record.status == GenerationStatus::Running || !checkpoints.is_empty();
        let mut state = GenerationState {
            env,
            record,
            outputs,
            next_seq,
            task: None,
            done_stages,
            lease,
        };
        if state.record.status.is_final() {
            state.release_lease().await;
            myself.stop(Some("already final".into()));
            return Ok(Some(state));
        }
        if resumed {
            let from = state.next_stage().map(Stage::as_str).unwrap_or("the end");
            tracing::info!(generation_id = %state.record.id, from, "resuming generation from its last checkpoint");
            state.emit(EventKind::Log, json!({ "message": format!("resumed from the last checkpoint; next stage: {from}") })).await?;
        }
        Ok(Some(state))
    }

    async fn post_start(
        &self,
        myself: ActorRef<Self::Msg>,
        slot: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        if let Some(state) = slot {
            myself.cast(GenerationMsg::Advance)?;
            let every = lease::renew_every(state.env.config.lease_ttl);
            myself.send_after(every, || GenerationMsg::RenewLease);
        }
        Ok(())
    }

    async fn post_stop(
        &self,
        _myself: ActorRef<Self::Msg>,
        slot: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        // The lease is not released here: a node that stops leaves it to lapse, and the
        // generation to whoever takes it next.
        if let Some(state) = slot {
            if let Some(task) = state.task.take() {
                task.abort();
            }
            Counters::down(&state.env.counters.generations);
        }
        Ok(())
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: GenerationMsg,
        slot: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        let Some(state) = slot.as_mut() else {
            not_owned(message);
            return Ok(());
        };
        // Finished (the lease is released): whatever is still queued has nothing to do.
        if state.record.status.is_final() {
            if let GenerationMsg::Cancel(reply) = message {
                let _ = reply.send(Err(ServiceError::Conflict(format!(
                    "the generation is already {}",
                    state.record.status.as_str()
                ))));
            }
            return Ok(());
        }
        let owned = match message {
            GenerationMsg::RenewLease => state.renew_lease(&myself).await,
            _ if state.lease.is_valid(Instant::now()) => true,
            _ => {
                tracing::warn!(generation_id = %state.record.id, "the lease could not be renewed in time; stopping without further writes");
                false
            }
        };
        if !owned {
            relinquish(&myself, slot);
            not_owned(message);
            return Ok(());
        }
        let Some(state) = slot.as_mut() else {
            return Ok(());
        };
        match message {
            GenerationMsg::Advance => {
                let Some(stage) = state.next_stage() else {
                    let gates_failed = state.outputs.gates.as_ref().is_some_and(|g| !g.passed);
                    return if gates_failed {
                        let failed: Vec<&str> = state
                            .outputs
                            .gates
                            .iter()
                            .flat_map(|g| g.gates.iter())
                            .filter(|r| {
                                matches!(
                                    r.status,
                                    codebegen_gates::GateStatus::Failed
                                        | codebegen_gates::GateStatus::TimedOut
                                )
                            })
                            .map(|r| r.gate.as_str())
                            .collect();
                        let error = ErrorBody {
                            code: ErrorCode::GateFailed,
                            message: format!(
                                "gate(s) failed: {}; the files are available for inspection",
                                failed.join(", ")
                            ),
                        };
                        state
                            .finish(&myself, GenerationStatus::Failed, Some(error))
                            .await
                    } else {
                        state
                            .finish(&myself, GenerationStatus::Completed, None)
                            .await
                    };
                };
                state.record.status = GenerationStatus::Running;
                state.record.stage = Some(stage);
                state.save_record().await?;
                state
                    .emit(EventKind::StageStarted, json!({ "stage": stage.as_str() }))
                    .await?;
                let env = Arc::clone(&state.env);
                let record = state.record.clone();
                let outputs = state.outputs.clone();
                let timeout = if stage == Stage::Gates {
                    env.config
                        .gates
                        .as_ref()
                        .map_or(env.config.stage_timeout, |g| {
                            g.install_timeout + g.gate_timeout * 6
                        })
                        .max(env.config.stage_timeout)
                } else {
                    env.config.stage_timeout
                };
                let reply_to = myself.clone();
                state.task = Some(tokio::spawn(async move {
                    let started = Instant::now();
                    let result = match tokio::time::timeout(
                        timeout,
                        stages::run(stage, env, record, outputs),
                    )
                    .await
                    {
                        Ok(result) => result,
                        Err(_) => Err(StageFailure {
                            code: ErrorCode::Timeout,
                            message: format!(
                                "the {} stage ran past its {} s limit",
                                stage.as_str(),
                                timeout.as_secs()
                            ),
                        }),
                    };
                    let _ = reply_to.cast(GenerationMsg::StageDone {
                        stage,
                        result,
                        elapsed: started.elapsed(),
                    });
                }));
            }
            GenerationMsg::StageDone {
                stage,
                result,
                elapsed,
            } => {
                state.task = None;
                state
                    .env
                    .counters
                    .stage_finished(stage.as_str(), elapsed.as_secs_f64());
                match result {
                    Ok(data) => {
                        stages::restore(stage, &data, &mut state.outputs)
                            .map_err(|e| format!("applying {}: {e}", stage.as_str()))?;
                        let checkpoint = Checkpoint {
                            generation_id: state.record.id,
                            stage,
                            data,
                            at: now_millis(),
                        };
                        let store = Arc::clone(&state.env.stores.generations);
                        let until = state.lease.valid_until();
                        persist("save checkpoint", until, || {
                            store.put_checkpoint(&checkpoint)
                        })
                        .await?;
                        state.done_stages.push(stage);
                        state.record.progress = stage.progress_after(state.record.options.validate);
                        if stage == Stage::Extract {
                            state.record.spec =
                                state.outputs.spec.as_ref().map(|s| s.spec().clone());
                        }
                        state.record.review = stages::review_json(&state.outputs);
                        state.record.gates = state
                            .outputs
                            .gates
                            .as_ref()
                            .and_then(|g| serde_json::to_value(g).ok());
                        state.save_record().await?;
                        let ms = (elapsed.as_secs_f64() * 1000.0 * 10.0).round() / 10.0;
                        state
                            .emit(
                                EventKind::StageFinished,
                                json!({ "stage": stage.as_str(), "duration_ms": ms }),
                            )
                            .await?;
                        state
                            .emit(
                                EventKind::Progress,
                                json!({ "progress": state.record.progress }),
                            )
                            .await?;
                        myself.cast(GenerationMsg::Advance)?;
                    }
                    Err(failure) => {
                        tracing::warn!(generation_id = %state.record.id, stage = stage.as_str(), error = %failure.message, "stage failed");
                        state
                            .emit(
                                EventKind::Log,
                                json!({ "stage": stage.as_str(), "message": failure.message }),
                            )
                            .await?;
                        state
                            .finish(
                                &myself,
                                GenerationStatus::Failed,
                                Some(ErrorBody {
                                    code: failure.code,
                                    message: failure.message,
                                }),
                            )
                            .await?;
                    }
                }
            }
            GenerationMsg::Cancel(reply) => {
                state
                    .finish(&myself, GenerationStatus::Cancelled, None)
                    .await?;
                let _ = reply.send(Ok(state.record.clone()));
            }
            GenerationMsg::RenewLease => {}
            GenerationMsg::InjectFault => return Err("injected fault".into()),
        }
        Ok(())
    }
}
