//! The node agent: the one actor of a node that answers heartbeats from peers. It joins the
//! [`NODES_GROUP`] process group, so every node finds every other node's agent, and answers a
//! [`Heartbeat`] with this node's [`NodeInfo`] (roles, addresses, draining, peers, workers).

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use codebegen_schema::cluster::{
    Heartbeat, NodeInfo, NodeRole, WorkerInfo, NODES_GROUP, WIRE_VERSION,
};
use ractor::{Actor, ActorProcessingErr, ActorRef, RpcReplyPort};

use super::wire::Wire;

/// One local worker gateway's numbers, shared with the agent.
#[derive(Debug)]
pub struct GatewayStats {
    /// The model it serves.
    pub model: String,
    /// Requests it runs at once.
    pub capacity: u32,
    /// Requests answered.
    pub served: AtomicU64,
}

/// What this node says about itself; shared by the agent, the membership actor and the
/// gateways.
#[derive(Debug)]
pub struct NodeSelf {
    /// This node's name.
    pub name: String,
    /// Its roles.
    pub roles: Vec<NodeRole>,
    /// Its cluster address.
    pub advertise: String,
    /// Its HTTP address, when it serves the API.
    pub http: Mutex<Option<String>>,
    /// Set when a graceful leave begins.
    pub draining: AtomicBool,
    /// Cluster addresses it knows.
    pub peers: Mutex<Vec<String>>,
    /// Its gateways.
    pub gateways: Mutex<Vec<Arc<GatewayStats>>>,
}

impl NodeSelf {
    /// A node with no peers or gateways yet.
    pub fn new(name: &str, roles: Vec<NodeRole>, advertise: &str) -> NodeSelf {
        NodeSelf {
            name: name.to_string(),
            roles,
            advertise: advertise.to_string(),
            http: Mutex::new(None),
            draining: AtomicBool::new(false),
            peers: Mutex::new(Vec::new()),
            gateways: Mutex::new(Vec::new()),
        }
    }

    /// The self-description sent to peers.
    pub fn info(&self) -> NodeInfo {
        let workers = self
            .gateways
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .iter()
            .map(|g| WorkerInfo {
                version: WIRE_VERSION,
                model: g.model.clone(),
                capacity: g.capacity,
                served: g.served.load(Ordering::Relaxed),
            })
            .collect();
        NodeInfo {
            version: WIRE_VERSION,
            name: self.name.clone(),
            roles: self.roles.clone(),
            advertise: self.advertise.clone(),
            http: self
                .http
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            draining: self.draining.load(Ordering::Relaxed),
            peers: self
                .peers
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone(),
            workers,
        }
    }
}

/// Messages from peers.
#[derive(ractor_cluster::RactorClusterMessage)]
pub enum AgentMsg {
    /// A heartbeat; the answer is this node's description.
    #[rpc]
    Ping(Wire<Heartbeat>, RpcReplyPort<Wire<NodeInfo>>),
}

/// The actor.
pub struct NodeAgent;

impl Actor for NodeAgent {
    type Msg = AgentMsg;
    type State = Arc<NodeSelf>;
    type Arguments = Arc<NodeSelf>;

    async fn pre_start(
        &self,
        myself: ActorRef<Self::Msg>,
        node: Arc<NodeSelf>,
    ) -> Result<Self::State, ActorProcessingErr> {
        ractor::pg::join(NODES_GROUP.to_string(), vec![myself.get_cell()]);
        Ok(node)
    }

    async fn handle(
        &self,
        _myself: ActorRef<Self::Msg>,
        message: AgentMsg,
        node: &mut Self::State,
    ) -> Result<(), ActorProcessingErr> {
        match message {
            AgentMsg::Ping(beat, reply) => match beat.into_inner() {
                Ok(_) => {
                    let _ = reply.send(Wire::new(node.info()));
                }
                Err(err) => {
                    // Dropping the port makes the caller fail at once instead of timing out.
                    tracing::warn!(error = %err, "heartbeat from a peer could not be read");
                }
            },
        }
        Ok(())
    }
}

/// Sequence numbers of heartbeats sent by this process.
static BEATS: AtomicU64 = AtomicU64::new(0);

/// A heartbeat from `node`.
pub fn heartbeat(node: &str) -> Wire<Heartbeat> {
    Wire::new(Heartbeat {
        version: WIRE_VERSION,
        from: node.to_string(),
        seq: BEATS.fetch_add(1, Ordering::Relaxed),
    })
}
