//! `cluster.toml`: the node's configuration file. Every key is documented in the repository's
//! `cluster.toml`, which works as-is as a one-node default. Unknown keys are errors that name
//! the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

/// The whole file.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// `[node]`.
    #[serde(default)]
    pub node: NodeSection,
    /// `[http]`.
    #[serde(default)]
    pub http: HttpSection,
    /// `[store]`.
    #[serde(default)]
    pub store: StoreSection,
    /// `[artifacts]`.
    #[serde(default)]
    pub artifacts: ArtifactsSection,
    /// `[service]`.
    #[serde(default)]
    pub service: ServiceSection,
    /// `[gates]`.
    #[serde(default)]
    pub gates: GatesSection,
}

/// `[node]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeSection {
    /// Node name, unique in a cluster.
    #[serde(default = "default_node_name")]
    pub name: String,
    /// Data directory (store, artifacts, venv cache, keys).
    #[serde(default)]
    pub data_dir: Option<PathBuf>,
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection { name: default_node_name(), data_dir: None }
    }
}

fn default_node_name() -> String {
    "node-1".into()
}

/// `[http]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HttpSection {
    /// Listen address.
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
}

impl Default for HttpSection {
    fn default() -> Self {
        HttpSection { listen: default_listen() }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `embedded` (SQLite in the data directory).
    #[serde(default = "default_embedded")]
    pub backend: String,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection { backend: default_embedded() }
    }
}

fn default_embedded() -> String {
    "embedded".into()
}

/// `[artifacts]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactsSection {
    /// `fs` (files under the data directory).
    #[serde(default = "default_fs")]
    pub backend: String,
}

impl Default for ArtifactsSection {
    fn default() -> Self {
        ArtifactsSection { backend: default_fs() }
    }
}

fn default_fs() -> String {
    "fs".into()
}

/// `[service]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceSection {
    /// Limit per stage, seconds.
    #[serde(default = "default_stage_timeout")]
    pub stage_timeout_s: u64,
    /// Idle user actors stop after this many seconds.
    #[serde(default = "default_user_idle")]
    pub user_idle_s: u64,
    /// Deterministic model workers.
    #[serde(default = "default_workers")]
    pub deterministic_workers: usize,
}

impl Default for ServiceSection {
    fn default() -> Self {
        ServiceSection { stage_timeout_s: default_stage_timeout(), user_idle_s: default_user_idle(), deterministic_workers: default_workers() }
    }
}

fn default_stage_timeout() -> u64 {
    120
}
fn default_user_idle() -> u64 {
    300
}
fn default_workers() -> usize {
    2
}

/// `[gates]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GatesSection {
    /// Python interpreter for gate venvs.
    #[serde(default = "default_python")]
    pub python: PathBuf,
    /// Limit per gate, seconds (install gets three times as long).
    #[serde(default = "default_gate_timeout")]
    pub timeout_s: u64,
    /// Where gate venvs are cached (default: `<data_dir>/venvs`).
    #[serde(default)]
    pub venv_cache: Option<PathBuf>,
}

impl Default for GatesSection {
    fn default() -> Self {
        GatesSection { python: default_python(), timeout_s: default_gate_timeout(), venv_cache: None }
    }
}

fn default_python() -> PathBuf {
    PathBuf::from("python3")
}
fn default_gate_timeout() -> u64 {
    300
}

impl Config {
    /// Reads and checks a file; errors name the file and the key.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading config {}", path.display()))?;
        let config: Config = toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim()))?;
        config.check().with_context(|| format!("in {}", path.display()))?;
        Ok(config)
    }

    /// Checks values serde cannot.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.store.backend != "embedded" {
            anyhow::bail!("store.backend = \"{}\" is not available in this build; use \"embedded\"", self.store.backend);
        }
        if self.artifacts.backend != "fs" {
            anyhow::bail!("artifacts.backend = \"{}\" is not available in this build; use \"fs\"", self.artifacts.backend);
        }
        if self.service.stage_timeout_s == 0 || self.gates.timeout_s == 0 {
            anyhow::bail!("service.stage_timeout_s and gates.timeout_s must be positive");
        }
        Ok(())
    }

    /// Stage limit.
    pub fn stage_timeout(&self) -> Duration {
        Duration::from_secs(self.service.stage_timeout_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_repository_cluster_toml_is_a_valid_default() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cluster.toml");
        let config = Config::load(&path).expect("cluster.toml loads");
        assert_eq!(config.http.listen, default_listen());
        assert_eq!(config.store.backend, "embedded");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = toml::from_str::<Config>("[http]\nlisten = \"127.0.0.1:1\"\nport = 3\n").expect_err("unknown key");
        assert!(err.to_string().contains("port"), "{err}");
        let err = toml::from_str::<Config>("[htp]\n").expect_err("unknown section");
        assert!(err.to_string().contains("htp"), "{err}");
    }

    #[test]
    fn unsupported_backends_are_refused() {
        let config: Config = toml::from_str("[store]\nbackend = \"scylla\"\n").expect("parses");
        assert!(config.check().expect_err("refused").to_string().contains("store.backend"));
    }
}
