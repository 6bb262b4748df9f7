//! Membership's pure state: which peers exist, when each last answered a heartbeat, which
//! addresses to dial (seeds and every address a peer told us of) with back-off. Time is a
//! parameter (milliseconds on a monotonic clock), so it is tested synchronously.
//!
//! Invariant: a peer silent for longer than the heartbeat timeout is declared unreachable once
//! and its session is dropped (so its workers and groups leave this node's view), even though
//! its TCP connection may still look open; it is alive again only after it answers again.

use std::collections::{BTreeMap, BTreeSet};

use codebegen_schema::cluster::{NodeInfo, NodeRole, WorkerInfo};

/// First and longest wait between connection attempts to one address.
const BACKOFF_MIN_MS: u64 = 200;
const BACKOFF_MAX_MS: u64 = 5_000;

/// How a peer stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerStatus {
    /// It answered within the timeout.
    Alive,
    /// Its session is gone (it died, or it was dropped); we keep dialling it.
    Disconnected,
    /// It stopped answering while its session was open (a partition, a paused process): the
    /// session was dropped.
    Unreachable,
    /// It said it is draining; it gets no new work.
    Draining,
}

impl PeerStatus {
    /// The name the API shows.
    pub fn as_str(self) -> &'static str {
        match self {
            PeerStatus::Alive => "alive",
            PeerStatus::Disconnected => "disconnected",
            PeerStatus::Unreachable => "unreachable",
            PeerStatus::Draining => "draining",
        }
    }
}

/// What this node knows about a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Its last self-description.
    pub info: NodeInfo,
    /// When it last answered (ms).
    pub last_seen_ms: u64,
    /// Its standing.
    pub status: PeerStatus,
}

/// What the membership actor must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipCommand {
    /// Open a connection to this cluster address.
    Connect(String),
    /// Drop the session with this node (it timed out).
    Disconnect(String),
}

/// A change worth a log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MembershipChange {
    /// A node answered for the first time.
    Joined(String),
    /// A node answered again after being unreachable or disconnected.
    Rejoined(String),
    /// A node's session closed.
    Lost(String),
    /// A node missed heartbeats past the timeout.
    TimedOut(String),
}

/// The state.
#[derive(Debug)]
pub struct Membership {
    me: String,
    my_address: String,
    timeout_ms: u64,
    addresses: BTreeSet<String>,
    backoff: BTreeMap<String, (u64, u64)>,
    peers: BTreeMap<String, Peer>,
}

impl Membership {
    /// A node named `me`, reachable at `my_address`, joining through `seeds`.
    pub fn new(me: &str, my_address: &str, seeds: &[String], timeout_ms: u64) -> Membership {
        Membership {
            me: me.to_string(),
            my_address: my_address.to_string(),
            timeout_ms,
            addresses: seeds.iter().filter(|s| *s != my_address).cloned().collect(),
            backoff: BTreeMap::new(),
            peers: BTreeMap::new(),
        }
    }

    /// A peer answered a heartbeat at `now`.
    pub fn answered(&mut self, now: u64, info: NodeInfo) -> Option<MembershipChange> {
        if info.name == self.me {
            return None;
        }
        for address in info.peers.iter().chain([&info.advertise]) {
            if *address != self.my_address {
                self.addresses.insert(address.clone());
            }
        }
        let status = if info.draining {
            PeerStatus::Draining
        } else {
            PeerStatus::Alive
        };
        let name = info.name.clone();
        let previous = self.peers.insert(
            name.clone(),
            Peer {
                info,
                last_seen_ms: now,
                status,
            },
        );
        match previous.map(|p| p.status) {
            None => Some(MembershipChange::Joined(name)),
            Some(PeerStatus::Unreachable | PeerStatus::Disconnected) => {
                Some(MembershipChange::Rejoined(name))
            }
            Some(_) => None,
        }
    }

    /// The session with `name` closed.
    pub fn session_closed(&mut self, name: &str) -> Option<MembershipChange> {
        let peer = self.peers.get_mut(name)?;
        match peer.status {
            PeerStatus::Alive | PeerStatus::Draining => {
                peer.status = PeerStatus::Disconnected;
                Some(MembershipChange::Lost(name.to_string()))
            }
            PeerStatus::Disconnected | PeerStatus::Unreachable => None,
        }
    }

    /// A periodic check at `now`, given the cluster addresses with an open session: peers
    /// silent past the timeout are dropped, and unconnected addresses are dialled when their
    /// back-off allows.
    pub fn tick(
        &mut self,
        now: u64,
        connected: &BTreeSet<String>,
    ) -> (Vec<MembershipCommand>, Vec<MembershipChange>) {
        let mut commands = Vec::new();
        let mut changes = Vec::new();
        for (name, peer) in &mut self.peers {
            let silent = now.saturating_sub(peer.last_seen_ms) > self.timeout_ms;
            if silent && matches!(peer.status, PeerStatus::Alive | PeerStatus::Draining) {
                peer.status = PeerStatus::Unreachable;
                commands.push(MembershipCommand::Disconnect(name.clone()));
                changes.push(MembershipChange::TimedOut(name.clone()));
            }
        }
        for address in &self.addresses {
            if connected.contains(address) {
                self.backoff.remove(address);
                continue;
            }
            let (due, delay) = self
                .backoff
                .get(address)
                .copied()
                .unwrap_or((now, BACKOFF_MIN_MS / 2));
            if now >= due {
                let delay = (delay * 2).clamp(BACKOFF_MIN_MS, BACKOFF_MAX_MS);
                self.backoff.insert(address.clone(), (now + delay, delay));
                commands.push(MembershipCommand::Connect(address.clone()));
            }
        }
        (commands, changes)
    }

    /// Every peer, by name.
    pub fn peers(&self) -> impl Iterator<Item = &Peer> {
        self.peers.values()
    }

    /// The cluster addresses known (seeds and learned), without this node's.
    pub fn addresses(&self) -> Vec<String> {
        self.addresses.iter().cloned().collect()
    }

    /// Live workers across the peers: (node, worker).
    pub fn live_workers(&self) -> Vec<(String, WorkerInfo)> {
        self.peers
            .values()
            .filter(|p| p.status == PeerStatus::Alive)
            .filter(|p| p.info.roles.contains(&NodeRole::Worker))
            .flat_map(|p| {
                p.info
                    .workers
                    .iter()
                    .map(|w| (p.info.name.clone(), w.clone()))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codebegen_schema::cluster::WIRE_VERSION;

    fn info(name: &str, address: &str, peers: &[&str]) -> NodeInfo {
        NodeInfo {
            version: WIRE_VERSION,
            name: name.into(),
            roles: vec![NodeRole::Worker],
            advertise: address.into(),
            http: None,
            draining: false,
            peers: peers.iter().map(|p| p.to_string()).collect(),
            workers: Vec::new(),
        }
    }

    fn set(addresses: &[&str]) -> BTreeSet<String> {
        addresses.iter().map(|a| a.to_string()).collect()
    }

    #[test]
    fn dials_seeds_but_not_itself_with_growing_back_off() {
        let mut m = Membership::new("a", "h:1", &["h:1".into(), "h:2".into()], 1000);
        let (commands, _) = m.tick(0, &set(&[]));
        assert_eq!(commands, vec![MembershipCommand::Connect("h:2".into())]);
        assert!(m.tick(100, &set(&[])).0.is_empty(), "back-off holds");
        assert_eq!(m.tick(200, &set(&[])).0.len(), 1);
        assert!(
            m.tick(500, &set(&[])).0.is_empty(),
            "the wait doubled to 400 ms"
        );
        assert_eq!(m.tick(600, &set(&[])).0.len(), 1);
        for now in (700..60_000).step_by(100) {
            m.tick(now, &set(&[]));
        }
        let (due, delay) = m.backoff["h:2"];
        assert_eq!(delay, BACKOFF_MAX_MS);
        assert!(due <= 60_000 + BACKOFF_MAX_MS);
        assert!(
            m.tick(70_000, &set(&["h:2"])).0.is_empty(),
            "connected: no dial"
        );
        assert!(
            !m.backoff.contains_key("h:2"),
            "back-off resets once connected"
        );
    }

    #[test]
    fn learns_the_cluster_from_answers() {
        let mut m = Membership::new("a", "h:1", &["h:2".into()], 1000);
        assert_eq!(
            m.answered(0, info("b", "h:2", &["h:1", "h:3"])),
            Some(MembershipChange::Joined("b".into()))
        );
        assert_eq!(m.addresses(), vec!["h:2".to_string(), "h:3".to_string()]);
        let (commands, _) = m.tick(0, &set(&["h:2"]));
        assert_eq!(commands, vec![MembershipCommand::Connect("h:3".into())]);
    }

    #[test]
    fn a_silent_peer_times_out_once_and_rejoins_when_it_answers() {
        let mut m = Membership::new("a", "h:1", &[], 1000);
        m.answered(0, info("b", "h:2", &[]));
        assert!(
            m.tick(1000, &set(&["h:2"])).1.is_empty(),
            "at the timeout: still alive"
        );
        let (commands, changes) = m.tick(1001, &set(&["h:2"]));
        assert_eq!(commands, vec![MembershipCommand::Disconnect("b".into())]);
        assert_eq!(changes, vec![MembershipChange::TimedOut("b".into())]);
        assert!(m.tick(5000, &set(&["h:2"])).1.is_empty(), "declared once");
        assert!(m.live_workers().is_empty());
        assert_eq!(
            m.answered(6000, info("b", "h:2", &[])),
            Some(MembershipChange::Rejoined("b".into()))
        );
        assert_eq!(m.peers().next().map(|p| p.status), Some(PeerStatus::Alive));
    }

    #[test]
    fn closed_sessions_and_draining_peers() {
        let mut m = Membership::new("a", "h:1", &[], 1000);
        let mut b = info("b", "h:2", &[]);
        b.workers.push(WorkerInfo {
            version: WIRE_VERSION,
            model: "deterministic".into(),
            capacity: 4,
            served: 0,
        });
        m.answered(0, b.clone());
        assert_eq!(m.live_workers().len(), 1);
        b.draining = true;
        m.answered(10, b);
        assert!(m.live_workers().is_empty(), "a draining node gets no work");
        assert_eq!(
            m.session_closed("b"),
            Some(MembershipChange::Lost("b".into()))
        );
        assert_eq!(m.session_closed("b"), None);
        assert_eq!(m.session_closed("nobody"), None);
        assert_eq!(m.answered(0, info("a", "h:1", &[])), None, "ourselves");
    }
}
