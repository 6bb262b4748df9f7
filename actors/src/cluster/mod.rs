//! The cluster: ractor_cluster's node server authenticated by the cookie, our own heartbeats
//! (ractor_cluster has no keepalive), membership with reconnects and back-off, and model work
//! across nodes through worker gateways (see [`gateway`]).
//!
//! Invariant: a peer is trusted only once its session authenticated with the cookie; a peer
//! that stops answering heartbeats past the timeout has its session dropped, which removes its
//! actors and process-group memberships from this node, so its in-flight work moves on.

pub mod agent;
pub mod gateway;
pub mod membership;
mod membership_actor;
pub mod tls;
pub mod wire;

use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::Duration;

use codebegen_schema::cluster::{NodeInfo, NodeRole, WORKERS_SCOPE};
use ractor::{Actor, ActorRef};
use ractor_cluster::{NodeServer, NodeServerMessage};

use crate::scheduler::SchedulerMsg;
use agent::{GatewayStats, NodeAgent, NodeSelf};
use gateway::{GatewayArgs, GatewayMsg, WorkerGateway};
pub use membership::PeerStatus;
use membership_actor::{MembershipActor, MembershipArgs, MembershipMsg};

/// How a node joins the cluster (built by `nodes` from `cluster.toml`).
#[derive(Debug, Clone)]
pub struct ClusterSettings {
    /// This node's name, unique in the cluster.
    pub node_name: String,
    /// Its roles.
    pub roles: Vec<NodeRole>,
    /// Where the node server listens.
    pub listen: SocketAddr,
    /// `host:port` peers reach it on; the port must be the listen port.
    pub advertise: String,
    /// Addresses to join through.
    pub seeds: Vec<String>,
    /// The shared secret peers authenticate with.
    pub cookie: String,
    /// How often heartbeats go out.
    pub heartbeat_interval: Duration,
    /// Silence after which a peer is declared unreachable.
    pub heartbeat_timeout: Duration,
    /// Mutual TLS between nodes, when configured.
    pub tls: Option<tls::ClusterTls>,
}

/// Why the cluster could not start.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// The listen address cannot be bound.
    #[error("cluster.listen: cannot listen on {address}: {reason}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// The OS error.
        reason: String,
    },
    /// A setting is wrong.
    #[error("{0}")]
    Settings(String),
    /// An actor did not start.
    #[error("cluster actors: {0}")]
    Actors(String),
}

/// A peer as `GET /cluster` shows it.
#[derive(Debug, Clone)]
pub struct PeerView {
    /// Its last self-description.
    pub info: NodeInfo,
    /// Its standing.
    pub status: PeerStatus,
    /// Milliseconds since it last answered.
    pub last_seen_ms_ago: u64,
}

/// This node and its peers.
#[derive(Debug, Clone)]
pub struct ClusterView {
    /// This node.
    pub me: NodeInfo,
    /// The others.
    pub peers: Vec<PeerView>,
}

/// The running cluster membership of this node.
pub struct Cluster {
    node: Arc<NodeSelf>,
    server: ActorRef<NodeServerMessage>,
    membership: ActorRef<MembershipMsg>,
    agent: ActorRef<agent::AgentMsg>,
    gateways: std::sync::Mutex<Vec<ActorRef<GatewayMsg>>>,
}

impl Cluster {
    /// Starts the node server, the agent and membership, and begins dialling the seeds.
    pub async fn start(settings: ClusterSettings) -> Result<Cluster, ClusterError> {
        if settings.cookie.is_empty() {
            return Err(ClusterError::Settings(
                "cluster.cookie_env: the cookie is empty".into(),
            ));
        }
        let (host, port) = settings
            .advertise
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
            .ok_or_else(|| {
                ClusterError::Settings(format!(
                    "cluster.advertise: `{}` is not host:port",
                    settings.advertise
                ))
            })?;
        if port != settings.listen.port() {
            return Err(ClusterError::Settings(format!(
                "cluster.advertise: port {port} differs from cluster.listen's port {}",
                settings.listen.port()
            )));
        }
        // Bind once to report a busy port by its key; the node server binds it again.
        drop(
            TcpListener::bind(settings.listen).map_err(|e| ClusterError::Listen {
                address: settings.listen,
                reason: e.to_string(),
            })?,
        );
        // ractor_cluster's own transitive dialling is plain TCP: with TLS, only membership dials
        // (it learns every address from heartbeats anyway).
        let (encryption, mode) = match &settings.tls {
            Some(tls) => (
                Some(ractor_cluster::IncomingEncryptionMode::Tls(
                    tls.acceptor.clone(),
                )),
                ractor_cluster::node::NodeConnectionMode::Isolated,
            ),
            None => (None, ractor_cluster::node::NodeConnectionMode::Transitive),
        };
        let server = NodeServer::new(
            settings.listen.port(),
            settings.cookie.clone(),
            settings.node_name.clone(),
            host,
            encryption,
            Some(mode),
        )
        .with_listen_addr(settings.listen.ip());
        let (server, _) = Actor::spawn(None, server, ())
            .await
            .map_err(|e| ClusterError::Actors(format!("node server: {e}")))?;
        let node = Arc::new(NodeSelf::new(
            &settings.node_name,
            settings.roles.clone(),
            &settings.advertise,
        ));
        let (agent, _) = Actor::spawn(None, NodeAgent, Arc::clone(&node))
            .await
            .map_err(|e| ClusterError::Actors(format!("node agent: {e}")))?;
        let args = MembershipArgs {
            node: Arc::clone(&node),
            server: server.clone(),
            seeds: settings.seeds.clone(),
            interval: settings.heartbeat_interval,
            timeout: settings.heartbeat_timeout,
            tls: settings.tls.clone(),
        };
        let (membership, _) = Actor::spawn(None, MembershipActor, args)
            .await
            .map_err(|e| ClusterError::Actors(format!("membership: {e}")))?;
        tracing::info!(node = %settings.node_name, listen = %settings.listen, advertise = %settings.advertise, seeds = ?settings.seeds, "cluster node started");
        Ok(Cluster {
            node,
            server,
            membership,
            agent,
            gateways: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// This node's name.
    pub fn name(&self) -> &str {
        &self.node.name
    }

    /// Records the HTTP address peers and `GET /cluster` show.
    pub fn set_http(&self, address: &str) {
        *self
            .node
            .http
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(address.to_string());
    }

    /// Offers `scheduler`'s workers to the cluster as one gateway for `model`.
    pub async fn add_gateway(
        &self,
        scheduler: ActorRef<SchedulerMsg>,
        model: &str,
        capacity: u32,
    ) -> Result<(), ClusterError> {
        let stats = Arc::new(GatewayStats {
            model: model.to_string(),
            capacity: capacity.max(1),
            served: Default::default(),
        });
        let (gateway, _) = Actor::spawn(
            None,
            WorkerGateway,
            GatewayArgs {
                scheduler,
                stats: Arc::clone(&stats),
            },
        )
        .await
        .map_err(|e| ClusterError::Actors(format!("worker gateway: {e}")))?;
        self.node
            .gateways
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(stats);
        self.gateways
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(gateway);
        Ok(())
    }

    /// This node and its peers, as membership sees them now.
    pub async fn view(&self) -> Option<ClusterView> {
        match self
            .membership
            .call(MembershipMsg::View, Some(Duration::from_secs(2)))
            .await
        {
            Ok(ractor::rpc::CallResult::Success(view)) => Some(view),
            _ => None,
        }
    }

    /// Begins a graceful leave: peers are told this node is draining, and its gateways leave
    /// their groups so no new model work comes; requests already running finish.
    pub fn drain(&self) {
        self.node.draining.store(true, Ordering::Relaxed);
        for gateway in self
            .gateways
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
        {
            for group in ractor::pg::which_scoped_groups(&WORKERS_SCOPE.to_string()) {
                ractor::pg::leave_scoped(
                    WORKERS_SCOPE.to_string(),
                    group,
                    vec![gateway.get_cell()],
                );
            }
        }
    }

    /// Stops every cluster actor; peers see the sessions close.
    pub async fn stop(&self) {
        for gateway in self
            .gateways
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .drain(..)
        {
            gateway.stop(None);
        }
        self.membership.stop(None);
        self.agent.stop(None);
        let _ = self
            .server
            .stop_and_wait(Some("leaving".into()), Some(Duration::from_secs(5)))
            .await;
    }
}
