//! Messages that cross nodes. Each carries `version` ([`WIRE_VERSION`]) and is encoded with
//! bincode (serde, standard config). Open-ended JSON (a model task or output) travels as JSON
//! text inside the envelope, because bincode cannot encode self-describing values.
//!
//! Invariant: a node refuses a message whose version differs from its own with a
//! [`WireError::Version`] naming both, never by guessing at the layout.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The wire version this build speaks. Bump it on any change to a type in this module.
pub const WIRE_VERSION: u16 = 1;

/// The process group every node agent joins (heartbeats, membership).
pub const NODES_GROUP: &str = "codebegen.nodes";

/// The process-group scope model-worker gateways join; the group is the model's name.
pub const WORKERS_SCOPE: &str = "codebegen.workers";

/// A role a node plays.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NodeRole {
    /// HTTP API, generation actors and the scheduler.
    Api,
    /// Model workers.
    Worker,
}

impl NodeRole {
    /// The name used in `cluster.toml` and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            NodeRole::Api => "api",
            NodeRole::Worker => "worker",
        }
    }
}

/// A heartbeat, sent by every node to every peer's agent each interval.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Heartbeat {
    /// [`WIRE_VERSION`].
    pub version: u16,
    /// The sender's node name.
    pub from: String,
    /// The sender's sequence number (for logs).
    pub seq: u64,
}

/// What a node says about itself in answer to a heartbeat.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeInfo {
    /// [`WIRE_VERSION`].
    pub version: u16,
    /// The node's name.
    pub name: String,
    /// Its roles.
    pub roles: Vec<NodeRole>,
    /// The address peers reach its node server on.
    pub advertise: String,
    /// Its HTTP address, when it has the api role.
    pub http: Option<String>,
    /// True once it has begun a graceful leave: no new work for it.
    pub draining: bool,
    /// The cluster addresses of the peers it knows (so a new node learns the whole cluster).
    pub peers: Vec<String>,
    /// Its model workers: (model, capacity, requests served so far).
    pub workers: Vec<WorkerInfo>,
}

/// One model-worker gateway as its node reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkerInfo {
    /// [`WIRE_VERSION`].
    pub version: u16,
    /// The model it serves ("deterministic" for the rule-based engine).
    pub model: String,
    /// Requests it runs at once.
    pub capacity: u32,
    /// Requests it has answered since it started.
    pub served: u64,
}

/// A model request sent from an API node's scheduler to a worker node's gateway.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunRequest {
    /// [`WIRE_VERSION`].
    pub version: u16,
    /// The sending node (with `request`, the key of the request across the cluster).
    pub origin: String,
    /// The request id on the sending node.
    pub request: u64,
    /// Higher first.
    pub priority: u8,
    /// The task as JSON text.
    pub task_json: String,
}

/// The answer to a [`RunRequest`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunReply {
    /// [`WIRE_VERSION`].
    pub version: u16,
    /// The request id on the sending node.
    pub request: u64,
    /// The output as JSON text, or why the worker node could not produce it.
    pub result: Result<String, String>,
}

/// The caller no longer wants a request's answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CancelRequest {
    /// [`WIRE_VERSION`].
    pub version: u16,
    /// The sending node.
    pub origin: String,
    /// The request id on the sending node.
    pub request: u64,
}

/// Why bytes from another node could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// The peer speaks another wire version.
    #[error("wire version {got} from the peer, this node speaks {WIRE_VERSION}")]
    Version {
        /// What the peer sent.
        got: u16,
    },
    /// The bytes do not decode.
    #[error("undecodable cluster message: {0}")]
    Decode(String),
}

/// A wire message: it knows its version.
pub trait Versioned {
    /// The `version` field.
    fn version(&self) -> u16;
}

macro_rules! versioned {
    ($($t:ty),*) => {$(impl Versioned for $t { fn version(&self) -> u16 { self.version } })*};
}
versioned!(
    Heartbeat,
    NodeInfo,
    WorkerInfo,
    RunRequest,
    RunReply,
    CancelRequest
);

/// Encodes a wire message.
pub fn encode<T: Serialize>(message: &T) -> Vec<u8> {
    // Encoding into a Vec fails only for types serde cannot describe, which these are not.
    bincode::serde::encode_to_vec(message, bincode::config::standard()).unwrap_or_default()
}

/// Decodes a wire message and checks its version.
pub fn decode<T: DeserializeOwned + Versioned>(bytes: &[u8]) -> Result<T, WireError> {
    // The version is the first field of every message: read it alone first, so a peer on
    // another version gets a version error rather than a garbled decode.
    let (got, _): (u16, usize) =
        bincode::serde::decode_from_slice(bytes, bincode::config::standard())
            .map_err(|e| WireError::Decode(e.to_string()))?;
    if got != WIRE_VERSION {
        return Err(WireError::Version { got });
    }
    let (message, read): (T, usize) =
        bincode::serde::decode_from_slice(bytes, bincode::config::standard())
            .map_err(|e| WireError::Decode(e.to_string()))?;
    if read != bytes.len() {
        return Err(WireError::Decode(format!(
            "{} trailing bytes",
            bytes.len() - read
        )));
    }
    debug_assert_eq!(message.version(), WIRE_VERSION);
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> NodeInfo {
        NodeInfo {
            version: WIRE_VERSION,
            name: "worker-1".into(),
            roles: vec![NodeRole::Worker],
            advertise: "127.0.0.1:4691".into(),
            http: None,
            draining: false,
            peers: vec!["127.0.0.1:4690".into()],
            workers: vec![WorkerInfo {
                version: WIRE_VERSION,
                model: "deterministic".into(),
                capacity: 4,
                served: 17,
            }],
        }
    }

    #[test]
    fn messages_round_trip() {
        let message = info();
        assert_eq!(decode::<NodeInfo>(&encode(&message)), Ok(message));
        let reply = RunReply {
            version: WIRE_VERSION,
            request: 9,
            result: Err("no worker".into()),
        };
        assert_eq!(decode::<RunReply>(&encode(&reply)), Ok(reply));
    }

    #[test]
    fn another_version_is_refused_by_name() {
        let mut message = info();
        message.version = WIRE_VERSION + 1;
        assert_eq!(
            decode::<NodeInfo>(&encode(&message)),
            Err(WireError::Version {
                got: WIRE_VERSION + 1
            })
        );
    }

    #[test]
    fn garbage_and_truncation_are_errors() {
        let bytes = encode(&info());
        assert!(matches!(
            decode::<NodeInfo>(&bytes[..bytes.len() / 2]),
            Err(WireError::Decode(_))
        ));
        let mut longer = bytes.clone();
        longer.push(0);
        assert!(matches!(
            decode::<NodeInfo>(&longer),
            Err(WireError::Decode(_))
        ));
        assert!(decode::<Heartbeat>(&[]).is_err());
    }
}
