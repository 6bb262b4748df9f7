//! The Scylla store's settings ([`ScyllaConfig`], [`Replication`]) and why opening it can
//! fail ([`ScyllaOpenError`]); checked before anything is sent to a server.

use crate::StoreError;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// How a keyspace is replicated (`CREATE KEYSPACE ... WITH replication = ...`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Replication {
    /// `SimpleStrategy` with one replication factor (one datacenter, tests, development).
    Simple {
        /// Copies of each row.
        factor: u32,
    },
    /// `NetworkTopologyStrategy` with a factor per datacenter (production).
    NetworkTopology {
        /// Datacenter name to copies of each row in it.
        datacenters: BTreeMap<String, u32>,
    },
}

impl Replication {
    /// The CQL map literal.
    pub fn cql(&self) -> String {
        match self {
            Replication::Simple { factor } => {
                format!("{{'class': 'SimpleStrategy', 'replication_factor': '{factor}'}}")
            }
            Replication::NetworkTopology { datacenters } => {
                let mut text = "{'class': 'NetworkTopologyStrategy'".to_string();
                for (datacenter, factor) in datacenters {
                    text.push_str(&format!(", '{datacenter}': '{factor}'"));
                }
                text.push('}');
                text
            }
        }
    }

    fn check(&self) -> Result<(), String> {
        match self {
            Replication::Simple { factor: 0 } => {
                Err("the SimpleStrategy replication factor must be at least 1".to_string())
            }
            Replication::Simple { .. } => Ok(()),
            Replication::NetworkTopology { datacenters } if datacenters.is_empty() => {
                Err("NetworkTopologyStrategy needs at least one datacenter".to_string())
            }
            Replication::NetworkTopology { datacenters } => datacenters
                .keys()
                .find(|name| {
                    name.is_empty()
                        || !name
                            .chars()
                            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
                })
                .map_or(Ok(()), |name| {
                    Err(format!("invalid datacenter name {name:?}"))
                }),
        }
    }
}

/// Where and how to connect.
#[derive(Clone, PartialEq, Eq)]
pub struct ScyllaConfig {
    /// `host:port` of one or more nodes; the driver discovers the rest.
    pub contact_points: Vec<String>,
    /// The keyspace (lowercase letters, digits and `_`, starting with a letter; at most 48).
    pub keyspace: String,
    /// Replication used when the keyspace is created (an existing keyspace is left as it is).
    pub replication: Replication,
    /// The local datacenter: its nodes are preferred, and `LOCAL_*` consistencies refer to it.
    pub local_datacenter: Option<String>,
    /// Limit for each connection attempt; opening as a whole gives up after this plus
    /// `request_timeout`.
    pub connect_timeout: Duration,
    /// Limit for each request, retries included.
    pub request_timeout: Duration,
    /// How long opening waits for another node's migration lock.
    pub migration_lock_timeout: Duration,
    /// Username and password, when the cluster requires authentication.
    pub credentials: Option<(String, String)>,
}

impl fmt::Debug for ScyllaConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScyllaConfig")
            .field("contact_points", &self.contact_points)
            .field("keyspace", &self.keyspace)
            .field("replication", &self.replication)
            .field("local_datacenter", &self.local_datacenter)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("migration_lock_timeout", &self.migration_lock_timeout)
            .field(
                "credentials",
                &self.credentials.as_ref().map(|(user, _)| user),
            )
            .finish()
    }
}

impl ScyllaConfig {
    /// Defaults around the given nodes and keyspace: replication factor 1, 5 s to connect, 5 s
    /// per request, 60 s for the migration lock.
    pub fn new(contact_points: Vec<String>, keyspace: impl Into<String>) -> ScyllaConfig {
        ScyllaConfig {
            contact_points,
            keyspace: keyspace.into(),
            replication: Replication::Simple { factor: 1 },
            local_datacenter: None,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(5),
            migration_lock_timeout: Duration::from_secs(60),
            credentials: None,
        }
    }

    /// Checks what the server cannot be asked about.
    pub fn check(&self) -> Result<(), String> {
        if self.contact_points.is_empty() {
            return Err("no contact points".to_string());
        }
        if !valid_keyspace(&self.keyspace) {
            return Err(format!(
                "invalid keyspace name {:?}: use 1 to 48 lowercase letters, digits and _, starting with a letter",
                self.keyspace
            ));
        }
        if self.connect_timeout.is_zero() || self.request_timeout.is_zero() {
            return Err("timeouts must be positive".to_string());
        }
        self.replication.check()
    }
}

/// Whether a keyspace name is a plain, lowercase CQL identifier (safe to put into CQL text).
pub fn valid_keyspace(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase())
        && name.len() <= 48
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

/// Why a [`super::ScyllaStore`] could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum ScyllaOpenError {
    /// The configuration is unusable.
    #[error("invalid Scylla/Cassandra configuration: {0}")]
    Config(String),
    /// No contact point could be reached (or it refused the session).
    #[error("cannot connect to Scylla/Cassandra at {contact_points}: {reason}")]
    Connect {
        /// The contact points, comma-separated.
        contact_points: String,
        /// The cause.
        reason: String,
    },
    /// Creating the keyspace or applying a migration failed.
    #[error("Scylla/Cassandra schema setup failed in keyspace {keyspace} ({step}): {reason}")]
    Schema {
        /// The keyspace.
        keyspace: String,
        /// What was being done.
        step: String,
        /// The cause.
        reason: String,
    },
    /// The keyspace was migrated by a newer build.
    #[error(
        "keyspace {keyspace} has CQL schema version {found}, but this build only knows versions up to {known}; \
         run a newer codebegen (downgrades are not supported)"
    )]
    NewerSchema {
        /// The keyspace.
        keyspace: String,
        /// The highest version recorded.
        found: u32,
        /// The highest version this build knows.
        known: u32,
    },
    /// A recorded migration has another name than this build's.
    #[error("keyspace {keyspace} records CQL migration {version} as {found:?}, but this build calls it {expected:?}")]
    MigrationMismatch {
        /// The keyspace.
        keyspace: String,
        /// The version.
        version: u32,
        /// The recorded name.
        found: String,
        /// This build's name.
        expected: String,
    },
}

impl From<ScyllaOpenError> for StoreError {
    fn from(err: ScyllaOpenError) -> StoreError {
        match err {
            ScyllaOpenError::NewerSchema { .. } | ScyllaOpenError::MigrationMismatch { .. } => {
                StoreError::Corrupt(err.to_string())
            }
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyspace_names_are_plain_identifiers() {
        for good in ["codebegen", "c", "codebegen_test_0a1b", &"k".repeat(48)] {
            assert!(valid_keyspace(good), "{good}");
        }
        for bad in [
            "",
            "Codebegen",
            "1abc",
            "_x",
            "a-b",
            "a b",
            "a;b",
            &"k".repeat(49),
        ] {
            assert!(!valid_keyspace(bad), "{bad}");
        }
    }

    #[test]
    fn replication_renders_as_a_cql_map() {
        assert_eq!(
            Replication::Simple { factor: 3 }.cql(),
            "{'class': 'SimpleStrategy', 'replication_factor': '3'}"
        );
        let datacenters = BTreeMap::from([("dc1".to_string(), 3), ("dc-2".to_string(), 2)]);
        assert_eq!(
            Replication::NetworkTopology { datacenters }.cql(),
            "{'class': 'NetworkTopologyStrategy', 'dc-2': '2', 'dc1': '3'}"
        );
    }

    #[test]
    fn bad_configs_are_refused() {
        let good = ScyllaConfig::new(vec!["127.0.0.1:9042".to_string()], "codebegen");
        assert_eq!(good.check(), Ok(()));
        let check = |config: ScyllaConfig, word: &str| {
            let err = config.check().expect_err("refused");
            assert!(err.contains(word), "{err}");
        };
        check(
            ScyllaConfig {
                contact_points: vec![],
                ..good.clone()
            },
            "contact points",
        );
        check(
            ScyllaConfig {
                keyspace: "drop table".to_string(),
                ..good.clone()
            },
            "keyspace",
        );
        check(
            ScyllaConfig {
                replication: Replication::Simple { factor: 0 },
                ..good.clone()
            },
            "factor",
        );
        check(
            ScyllaConfig {
                replication: Replication::NetworkTopology {
                    datacenters: BTreeMap::from([("dc'1".to_string(), 3)]),
                },
                ..good.clone()
            },
            "datacenter",
        );
        check(
            ScyllaConfig {
                request_timeout: Duration::ZERO,
                ..good
            },
            "timeouts",
        );
    }
}
