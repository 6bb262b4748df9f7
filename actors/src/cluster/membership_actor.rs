//! The membership actor: the shell over [`Membership`]. Each heartbeat interval it lists the
//! node server's sessions, pings every peer's agent, dials addresses it is not connected to
//! (with back-off) and drops the sessions of peers that went silent. It also logs sessions
//! that closed before authenticating: a peer with a wrong cookie.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use codebegen_schema::cluster::NODES_GROUP;
use ractor::rpc::CallResult;
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};
use ractor_cluster::node::NodeServerSessionInformation;
use ractor_cluster::{NodeEventSubscription, NodeServerMessage};

use super::agent::{heartbeat, AgentMsg, NodeSelf};
use super::membership::{Membership, MembershipChange, MembershipCommand};
use super::{ClusterView, PeerView};

/// Messages.
#[derive(ractor_cluster::RactorMessage)]
pub enum MembershipMsg {
    /// Time to check and ping.
    Tick,
    /// A peer answered a heartbeat.
    Answered(codebegen_schema::cluster::NodeInfo),
    /// A session passed the cookie check.
    SessionAuthenticated(ractor::ActorId),
    /// A session closed.
    SessionClosed {
        /// The session actor.
        session: ractor::ActorId,
        /// The peer's address.
        peer_addr: String,
        /// The name the peer gave, if it got that far.
        peer_name: Option<String>,
    },
    /// The current view.
    View(RpcReplyPort<ClusterView>),
}

/// Arguments.
pub struct MembershipArgs {
    /// This node.
    pub node: Arc<NodeSelf>,
    /// The node server.
    pub server: ActorRef<NodeServerMessage>,
    /// Addresses to join through.
    pub seeds: Vec<String>,
    /// Heartbeat interval.
    pub interval: Duration,
    /// Heartbeat timeout.
    pub timeout: Duration,
    /// Mutual TLS for the connections it opens.
    pub tls: Option<super::tls::ClusterTls>,
}

/// State.
pub struct MembershipState {
    args: MembershipArgs,
    core: Membership,
    started: Instant,
    authenticated: std::collections::HashSet<ractor::ActorId>,
}

impl MembershipState {
    fn now(&self) -> u64 {
        u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// The actor.
pub struct MembershipActor;

/// Forwards node-server events to the membership actor.
struct Events(ActorRef<MembershipMsg>);

impl NodeEventSubscription for Events {
    fn node_session_opened(&self, _ses: NodeServerSessionInformation) {}

    fn node_session_disconnected(&self, ses: NodeServerSessionInformation) {
        let _ = self.0.cast(MembershipMsg::SessionClosed {
            session: ses.actor.get_id(),
            peer_addr: ses.peer_addr.clone(),
            peer_name: ses.peer_name.as_ref().map(|n| n.name.clone()),
        });
    }

    fn node_session_authenticated(&self, ses: NodeServerSessionInformation) {
        tracing::info!(peer = %ses.peer_addr, name = ?ses.peer_name.as_ref().map(|n| n.name.clone()), "cluster session authenticated");
        let _ = self
            .0
            .cast(MembershipMsg::SessionAuthenticated(ses.actor.get_id()));
    }
}

/// A session's node name (`name@host` on the wire) and cluster address.
fn session_identity(ses: &NodeServerSessionInformation) -> Option<(String, String)> {
    let peer = ses.peer_name.as_ref()?;
    let name = peer.name.split('@').next().unwrap_or_default().to_string();
    Some((name, peer.connection_string.clone()))
}

impl Actor for MembershipActor {
    type Msg = MembershipMsg;
    type State = MembershipState;
    type Arguments = MembershipArgs;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        args: MembershipArgs,
    ) -> Result<Self::State, ActorProcessingErr> {
        args.server.cast(NodeServerMessage::SubscribeToEvents {
            id: "codebegen-membership".into(),
            subscription: Box::new(Events(myself.clone())),
        })?;
        let timeout_ms = u64::try_from(args.timeout.as_millis()).unwrap_or(u64::MAX);
        let core = Membership::new(
            &args.node.name,
            &args.node.advertise,
            &args.seeds,
            timeout_ms,
        );
        myself.send_interval(args.interval, || MembershipMsg::Tick);
        let _ = myself.cast(MembershipMsg::Tick);
        Ok(MembershipState {
            args,
            core,
            started: Instant::now(),
            authenticated: std::collections::HashSet::new(),
        })
    }

    async fn handle(
        &self,
        myself: ActorRef<Self::Msg>,
        message: MembershipMsg,
        state: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            MembershipMsg::Tick => tick(&myself, state).await,
            MembershipMsg::Answered(info) => {
                let now = state.now();
                if let Some(change) = state.core.answered(now, info) {
                    log_change(&change);
                }
            }
            MembershipMsg::SessionAuthenticated(session) => {
                state.authenticated.insert(session);
            }
            MembershipMsg::SessionClosed {
                session,
                peer_addr,
                peer_name,
            } => {
                if !state.authenticated.remove(&session) {
                    tracing::warn!(peer = %peer_addr, name = ?peer_name, "cluster session closed before authenticating: the peer was rejected (wrong cookie?) or went away during the handshake");
                }
            }
            MembershipMsg::View(reply) => {
                let now = state.now();
                let peers = state
                    .core
                    .peers()
                    .map(|p| PeerView {
                        info: p.info.clone(),
                        status: p.status,
                        last_seen_ms_ago: now.saturating_sub(p.last_seen_ms),
                    })
                    .collect();
                let _ = reply.send(ClusterView {
                    me: state.args.node.info(),
                    peers,
                });
            }
        }
        Ok(())
    }
}

fn log_change(change: &MembershipChange) {
    match change {
        MembershipChange::Joined(name) => tracing::info!(node = %name, "cluster node joined"),
        MembershipChange::Rejoined(name) => {
            tracing::info!(node = %name, "cluster node answers again; it rejoined")
        }
        MembershipChange::Lost(name) => tracing::warn!(node = %name, "cluster session lost"),
        MembershipChange::TimedOut(name) => {
            tracing::warn!(node = %name, "cluster node missed its heartbeats; dropping its session so its work moves on")
        }
    }
}

async fn tick(myself: &ActorRef<MembershipMsg>, state: &mut MembershipState) {
    let sessions: HashMap<_, _> = match state
        .args
        .server
        .call(NodeServerMessage::GetSessions, Some(Duration::from_secs(1)))
        .await
    {
        Ok(CallResult::Success(sessions)) => sessions,
        _ => {
            tracing::warn!("the node server did not list its sessions");
            return;
        }
    };
    let identities: Vec<(String, String, &NodeServerSessionInformation)> = sessions
        .values()
        .filter_map(|s| session_identity(s).map(|(n, a)| (n, a, s)))
        .collect();
    let names: BTreeSet<&str> = identities.iter().map(|(n, _, _)| n.as_str()).collect();
    let gone: Vec<String> = state
        .core
        .peers()
        .map(|p| p.info.name.clone())
        .filter(|n| !names.contains(n.as_str()))
        .collect();
    for name in gone {
        if let Some(change) = state.core.session_closed(&name) {
            log_change(&change);
        }
    }
    let connected: BTreeSet<String> = identities.iter().map(|(_, a, _)| a.clone()).collect();
    let now = state.now();
    let (commands, changes) = state.core.tick(now, &connected);
    for change in &changes {
        log_change(change);
    }
    for command in commands {
        match command {
            MembershipCommand::Connect(address) => {
                let server = state.args.server.clone();
                let tls = state.args.tls.clone();
                tokio::spawn(async move {
                    let result = match tls {
                        None => ractor_cluster::client_connect(&server, address.as_str())
                            .await
                            .map_err(|e| e.to_string()),
                        Some(tls) => match super::tls::server_name(&address) {
                            Ok(name) => ractor_cluster::client_connect_enc(
                                &server,
                                address.as_str(),
                                tls.connector.clone(),
                                name,
                            )
                            .await
                            .map_err(|e| e.to_string()),
                            Err(err) => Err(err),
                        },
                    };
                    if let Err(err) = result {
                        tracing::debug!(%address, error = %err, "cluster dial failed; retrying with back-off");
                    }
                });
            }
            MembershipCommand::Disconnect(name) => {
                for (peer, _, session) in &identities {
                    if *peer == name {
                        session.actor.stop(Some("heartbeat timeout".into()));
                    }
                }
            }
        }
    }
    *state
        .args
        .node
        .peers
        .lock()
        .unwrap_or_else(PoisonError::into_inner) = state.core.addresses();
    // A slow answer still proves the peer alive: wait up to half the timeout for it.
    let timeout = state.args.interval.max(state.args.timeout / 2);
    for cell in ractor::pg::get_members(&NODES_GROUP.to_string()) {
        if cell.get_id().is_local() {
            continue;
        }
        let agent = ActorRef::<AgentMsg>::from(cell);
        let beat = heartbeat(&state.args.node.name);
        let me = myself.clone();
        tokio::spawn(async move {
            if let Ok(CallResult::Success(info)) = agent
                .call(|reply| AgentMsg::Ping(beat, reply), Some(timeout))
                .await
            {
                match info.into_inner() {
                    Ok(info) => {
                        let _ = me.cast(MembershipMsg::Answered(info));
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, "a heartbeat answer could not be read")
                    }
                }
            }
        });
    }
}
