//! `[node] roles` and `[cluster]` of `cluster.toml`: which roles a node plays and how it joins
//! the others. The cookie is read from the environment variable the file names, never from
//! the file. Errors name the key.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use codebegen_actors::cluster::ClusterSettings;
use codebegen_schema::cluster::NodeRole;
use serde::Deserialize;

/// `[cluster]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClusterSection {
    /// Where the node server listens.
    pub listen: SocketAddr,
    /// `host:port` other nodes reach this one on (default: `listen`).
    #[serde(default)]
    pub advertise: Option<String>,
    /// Nodes to join through (this node's own address is skipped).
    #[serde(default)]
    pub seeds: Vec<String>,
    /// The environment variable holding the cookie.
    #[serde(default = "default_cookie_env")]
    pub cookie_env: String,
    /// Heartbeat period.
    #[serde(default = "default_heartbeat_interval")]
    pub heartbeat_interval_ms: u64,
    /// Silence after which a peer is unreachable.
    #[serde(default = "default_heartbeat_timeout")]
    pub heartbeat_timeout_ms: u64,
    /// How long a generation's lease lasts without renewal.
    #[serde(default = "default_lease_ttl")]
    pub lease_ttl_ms: u64,
    /// How long a graceful leave waits for running work.
    #[serde(default = "default_drain_timeout")]
    pub drain_timeout_s: u64,
    /// Mutual TLS between nodes.
    #[serde(default)]
    pub tls: Option<TlsSection>,
}

/// `[cluster.tls]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// This node's certificate chain (PEM).
    pub cert: PathBuf,
    /// Its private key (PEM).
    pub key: PathBuf,
    /// The CA that signs every node's certificate (PEM).
    pub ca: PathBuf,
}

impl TlsSection {
    /// Reads the three PEM files; errors name the key and the file.
    fn load(&self) -> anyhow::Result<codebegen_actors::cluster::tls::ClusterTls> {
        let read = |key: &str, path: &PathBuf| {
            std::fs::read(path)
                .map_err(|e| anyhow::anyhow!("cluster.tls.{key} = \"{}\": {e}", path.display()))
        };
        let (cert, key, ca) = (
            read("cert", &self.cert)?,
            read("key", &self.key)?,
            read("ca", &self.ca)?,
        );
        codebegen_actors::cluster::tls::ClusterTls::from_pem(&cert, &key, &ca)
            .map_err(|e| anyhow::anyhow!("cluster.tls.{e}"))
    }
}

fn default_cookie_env() -> String {
    "CODEBEGEN_CLUSTER_COOKIE".into()
}
fn default_heartbeat_interval() -> u64 {
    500
}
fn default_heartbeat_timeout() -> u64 {
    3000
}
fn default_lease_ttl() -> u64 {
    10_000
}
fn default_drain_timeout() -> u64 {
    30
}

/// Parses `[node] roles`: a non-empty subset of `api` and `worker`.
pub fn parse_roles(roles: &[String]) -> anyhow::Result<Vec<NodeRole>> {
    let mut parsed = BTreeSet::new();
    for role in roles {
        parsed.insert(match role.as_str() {
            "api" => NodeRole::Api,
            "worker" => NodeRole::Worker,
            other => {
                anyhow::bail!("node.roles: \"{other}\" is unknown; use \"api\" and/or \"worker\"")
            }
        });
    }
    if parsed.is_empty() {
        anyhow::bail!("node.roles is empty; use [\"api\"], [\"worker\"] or both");
    }
    Ok(parsed.into_iter().collect())
}

impl ClusterSection {
    /// Checks values serde cannot.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.heartbeat_interval_ms == 0 {
            anyhow::bail!("cluster.heartbeat_interval_ms must be positive");
        }
        if self.heartbeat_timeout_ms <= self.heartbeat_interval_ms {
            anyhow::bail!(
                "cluster.heartbeat_timeout_ms ({}) must be longer than cluster.heartbeat_interval_ms ({})",
                self.heartbeat_timeout_ms,
                self.heartbeat_interval_ms
            );
        }
        if self.lease_ttl_ms < 3 * self.heartbeat_interval_ms.min(1000) {
            anyhow::bail!("cluster.lease_ttl_ms ({}) is too short", self.lease_ttl_ms);
        }
        if self.cookie_env.trim().is_empty() {
            anyhow::bail!("cluster.cookie_env must name an environment variable");
        }
        for seed in &self.seeds {
            check_host_port("cluster.seeds", seed)?;
        }
        if let Some(advertise) = &self.advertise {
            check_host_port("cluster.advertise", advertise)?;
        }
        Ok(())
    }

    /// The settings the cluster starts with. `env` looks up environment variables: the cookie
    /// (required) and the overrides `CODEBEGEN_CLUSTER_ADVERTISE`.
    pub fn settings(
        &self,
        node_name: &str,
        roles: Vec<NodeRole>,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<ClusterSettings> {
        self.check()?;
        let cookie = env(&self.cookie_env).filter(|c| !c.is_empty()).ok_or_else(|| {
            anyhow::anyhow!(
                "cluster.cookie_env: the environment variable {} is not set (the cluster cookie is never stored in the file)",
                self.cookie_env
            )
        })?;
        let advertise = env("CODEBEGEN_CLUSTER_ADVERTISE")
            .or_else(|| self.advertise.clone())
            .unwrap_or_else(|| self.listen.to_string());
        check_host_port("cluster.advertise", &advertise)?;
        let tls = match &self.tls {
            None => None,
            Some(tls) => Some(tls.load()?),
        };
        Ok(ClusterSettings {
            node_name: node_name.to_string(),
            roles,
            listen: self.listen,
            advertise,
            seeds: self.seeds.clone(),
            cookie,
            heartbeat_interval: Duration::from_millis(self.heartbeat_interval_ms),
            heartbeat_timeout: Duration::from_millis(self.heartbeat_timeout_ms),
            tls,
        })
    }
}

fn check_host_port(key: &str, value: &str) -> anyhow::Result<()> {
    match value.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => Ok(()),
        _ => anyhow::bail!("{key}: \"{value}\" is not host:port"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(text: &str) -> anyhow::Result<ClusterSection> {
        Ok(toml::from_str(text)?)
    }

    #[test]
    fn roles_parse_and_errors_name_the_key() {
        assert_eq!(
            parse_roles(&["worker".into(), "api".into()]).expect("roles"),
            vec![NodeRole::Api, NodeRole::Worker]
        );
        let err = parse_roles(&["gpu".into()])
            .expect_err("unknown")
            .to_string();
        assert!(err.contains("node.roles") && err.contains("gpu"), "{err}");
        assert!(parse_roles(&[]).is_err());
    }

    #[test]
    fn the_cookie_comes_from_the_environment_only() {
        let cluster =
            section("listen = \"127.0.0.1:4690\"\nseeds = [\"127.0.0.1:4691\"]\n").expect("parses");
        let err = cluster
            .settings("a", vec![NodeRole::Api], |_| None)
            .expect_err("no cookie")
            .to_string();
        assert!(
            err.contains("cluster.cookie_env") && err.contains("CODEBEGEN_CLUSTER_COOKIE"),
            "{err}"
        );
        let settings = cluster
            .settings("a", vec![NodeRole::Api], |key| {
                (key == "CODEBEGEN_CLUSTER_COOKIE").then(|| "secret".to_string())
            })
            .expect("settings");
        assert_eq!(settings.cookie, "secret");
        assert_eq!(settings.advertise, "127.0.0.1:4690");
        assert!(
            section("listen = \"127.0.0.1:4690\"\ncookie = \"x\"\n").is_err(),
            "no cookie key"
        );
    }

    #[test]
    fn bad_values_name_their_key() {
        for (text, key) in [
            (
                "listen = \"127.0.0.1:1\"\nheartbeat_timeout_ms = 100\n",
                "heartbeat_timeout_ms",
            ),
            (
                "listen = \"127.0.0.1:1\"\nseeds = [\"nohost\"]\n",
                "cluster.seeds",
            ),
            (
                "listen = \"127.0.0.1:1\"\nadvertise = \"h:x\"\n",
                "cluster.advertise",
            ),
        ] {
            let err = section(text)
                .expect("parses")
                .check()
                .expect_err(text)
                .to_string();
            assert!(err.contains(key), "{text}: {err}");
        }
        let err = section("listen = \"127.0.0.1:1\"\nheartbeat = 3\n")
            .expect_err("unknown")
            .to_string();
        assert!(err.contains("heartbeat"), "{err}");
    }
}
