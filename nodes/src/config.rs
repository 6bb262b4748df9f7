//! `cluster.toml`: the node's configuration file. Every key is documented in the repository's
//! `cluster.toml`, which works as-is as a one-node default. Unknown keys are errors that name
//! the key.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use codebegen_actors::{Device, LlmWorkerConfig};
use codebegen_store::{Replication, S3Config, S3Credentials, ScyllaConfig};
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
    /// `[[workers]]`: language-model workers; none means the deterministic workers of
    /// `[service]`.
    #[serde(default)]
    pub workers: Vec<WorkerSection>,
    /// `[cluster]`: absent on a single node.
    #[serde(default)]
    pub cluster: Option<crate::cluster_config::ClusterSection>,
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
    /// Roles: "api" (HTTP, generation actors, scheduler) and/or "worker" (model workers).
    #[serde(default = "default_roles")]
    pub roles: Vec<String>,
}

impl Default for NodeSection {
    fn default() -> Self {
        NodeSection {
            name: default_node_name(),
            data_dir: None,
            roles: default_roles(),
        }
    }
}

fn default_roles() -> Vec<String> {
    vec!["api".into(), "worker".into()]
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
        HttpSection {
            listen: default_listen(),
        }
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

/// `[store]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSection {
    /// `embedded` (SQLite in the data directory) or `scylla` (ScyllaDB or Apache Cassandra).
    #[serde(default = "default_embedded")]
    pub backend: String,
    /// `host:port` of one or more CQL nodes (scylla).
    #[serde(default = "default_contact_points")]
    pub contact_points: Vec<String>,
    /// Keyspace (scylla), created with `replication` when missing.
    #[serde(default = "default_keyspace")]
    pub keyspace: String,
    /// `{ class = "SimpleStrategy", replication_factor = N }` or
    /// `{ class = "NetworkTopologyStrategy", <datacenter> = N, ... }` (scylla).
    #[serde(default)]
    pub replication: Option<toml::Table>,
    /// The local datacenter, preferred for requests (scylla).
    #[serde(default)]
    pub datacenter: Option<String>,
    /// Limit per connection attempt, milliseconds (scylla).
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Limit per request, retries included, milliseconds (scylla).
    #[serde(default = "default_request_timeout_ms")]
    pub request_timeout_ms: u64,
    /// User name, when the cluster requires authentication (scylla); the password comes from
    /// the environment variable `CODEBEGEN_CQL_PASSWORD`, else `password`.
    #[serde(default)]
    pub username: Option<String>,
    /// Password (prefer `CODEBEGEN_CQL_PASSWORD`).
    #[serde(default)]
    pub password: Option<String>,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            backend: default_embedded(),
            contact_points: default_contact_points(),
            keyspace: default_keyspace(),
            replication: None,
            datacenter: None,
            connect_timeout_ms: default_connect_timeout_ms(),
            request_timeout_ms: default_request_timeout_ms(),
            username: None,
            password: None,
        }
    }
}

fn default_embedded() -> String {
    "embedded".into()
}
fn default_contact_points() -> Vec<String> {
    vec!["127.0.0.1:9042".into()]
}
fn default_keyspace() -> String {
    "codebegen".into()
}
fn default_connect_timeout_ms() -> u64 {
    5_000
}
fn default_request_timeout_ms() -> u64 {
    5_000
}

/// `[artifacts]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArtifactsSection {
    /// `fs` (files under the data directory) or `s3` (an S3 bucket).
    #[serde(default = "default_fs")]
    pub backend: String,
    /// Bucket (s3, required).
    #[serde(default)]
    pub bucket: Option<String>,
    /// Custom endpoint such as `http://127.0.0.1:9000` (s3; default AWS).
    #[serde(default)]
    pub endpoint: Option<String>,
    /// Region (s3).
    #[serde(default = "default_region")]
    pub region: String,
    /// Path-style addressing, which most S3-compatible servers need (s3).
    #[serde(default)]
    pub path_style: bool,
    /// Prefix of every key, empty or ending with `/` (s3).
    #[serde(default)]
    pub prefix: String,
    /// Access key id (s3); else `AWS_ACCESS_KEY_ID`, else the AWS default chain.
    #[serde(default)]
    pub access_key_id: Option<String>,
    /// Secret access key (s3); else `AWS_SECRET_ACCESS_KEY`.
    #[serde(default)]
    pub secret_access_key: Option<String>,
    /// Create the bucket at start-up when it is missing (s3; for development).
    #[serde(default)]
    pub create_bucket: bool,
    /// Blobs above this many MiB are uploaded in parts (s3).
    #[serde(default = "default_multipart_mib")]
    pub multipart_threshold_mib: u64,
    /// Limit per connection attempt, milliseconds (s3).
    #[serde(default = "default_connect_timeout_ms")]
    pub connect_timeout_ms: u64,
    /// Limit per request, retries included, seconds (s3).
    #[serde(default = "default_s3_timeout_s")]
    pub timeout_s: u64,
}

impl Default for ArtifactsSection {
    fn default() -> Self {
        ArtifactsSection {
            backend: default_fs(),
            bucket: None,
            endpoint: None,
            region: default_region(),
            path_style: false,
            prefix: String::new(),
            access_key_id: None,
            secret_access_key: None,
            create_bucket: false,
            multipart_threshold_mib: default_multipart_mib(),
            connect_timeout_ms: default_connect_timeout_ms(),
            timeout_s: default_s3_timeout_s(),
        }
    }
}

fn default_fs() -> String {
    "fs".into()
}
fn default_region() -> String {
    "us-east-1".into()
}
fn default_multipart_mib() -> u64 {
    8
}
fn default_s3_timeout_s() -> u64 {
    60
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
    /// Latency added to each deterministic model answer, simulating a model (load and fault
    /// tests of a cluster). 0 adds none.
    #[serde(default)]
    pub simulated_model_latency_ms: u64,
}

impl Default for ServiceSection {
    fn default() -> Self {
        ServiceSection {
            stage_timeout_s: default_stage_timeout(),
            user_idle_s: default_user_idle(),
            deterministic_workers: default_workers(),
            simulated_model_latency_ms: 0,
        }
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
        GatesSection {
            python: default_python(),
            timeout_s: default_gate_timeout(),
            venv_cache: None,
        }
    }
}

fn default_python() -> PathBuf {
    PathBuf::from("python3")
}
fn default_gate_timeout() -> u64 {
    300
}

/// `[[workers]]`: one language-model worker.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WorkerSection {
    /// A catalog name (`smollm2-135m`, installed by `codebegen models fetch`) or a model file.
    #[serde(default)]
    pub model: Option<String>,
    /// The GGUF file to load; overrides where `model` is looked up.
    #[serde(default)]
    pub path: Option<PathBuf>,
    /// `cpu` or `cuda:N`.
    #[serde(default = "default_device")]
    pub device: String,
    /// Sequences batched in one step; the scheduler gives the worker at most this many.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// Tokens per forward step, prefill and decode together.
    #[serde(default = "default_max_tokens_per_step")]
    pub max_tokens_per_step: usize,
    /// KV-cache blocks of 16 positions (default: 64 per batch slot).
    #[serde(default)]
    pub kv_blocks: Option<usize>,
    /// A request running longer is cancelled and answered by the deterministic engine.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_s: u64,
}

fn default_device() -> String {
    "cpu".into()
}
fn default_max_batch() -> usize {
    4
}
fn default_max_tokens_per_step() -> usize {
    LlmWorkerConfig::DEFAULT_MAX_TOKENS_PER_STEP
}
fn default_request_timeout() -> u64 {
    60
}

impl WorkerSection {
    /// The worker's settings with its model file found: `path` as given, else `model` through
    /// the catalog under `data_dir` (or as a file path). Errors name the key.
    pub fn worker_config(&self, index: usize, data_dir: &Path) -> anyhow::Result<LlmWorkerConfig> {
        let key = format!("workers[{index}]");
        let mut config = self.unresolved(index)?;
        config.model_path = match (&self.path, &self.model) {
            (Some(path), _) => {
                if !path.is_file() {
                    anyhow::bail!("{key}.path = \"{}\": no such file", path.display());
                }
                path.clone()
            }
            (None, Some(model)) => codebegen_inference::catalog::resolve(model, data_dir)
                .map_err(|e| anyhow::anyhow!("{key}.model = \"{model}\": {e}"))?,
            (None, None) => unreachable_model(&key)?,
        };
        Ok(config)
    }

    /// Everything but the model file, checked.
    fn unresolved(&self, index: usize) -> anyhow::Result<LlmWorkerConfig> {
        let key = format!("workers[{index}]");
        let name = match (&self.model, &self.path) {
            (Some(model), _) => model.clone(),
            (None, Some(path)) => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| path.display().to_string()),
            (None, None) => return unreachable_model(&key),
        };
        let mut config = LlmWorkerConfig::new(name, PathBuf::new(), self.max_batch);
        config.device =
            Device::parse(&self.device).map_err(|e| anyhow::anyhow!("{key}.device: {e}"))?;
        config.max_tokens_per_step = self.max_tokens_per_step;
        config.kv_blocks = self
            .kv_blocks
            .unwrap_or_else(|| LlmWorkerConfig::default_kv_blocks(self.max_batch));
        config.request_timeout = Duration::from_secs(self.request_timeout_s);
        if self.request_timeout_s == 0 {
            anyhow::bail!("{key}.request_timeout_s must be positive");
        }
        config.check().map_err(|e| anyhow::anyhow!("{key}: {e}"))?;
        Ok(config)
    }
}

fn unreachable_model<T>(key: &str) -> anyhow::Result<T> {
    anyhow::bail!(
        "{key}: set `model` (a catalog name such as \"smollm2-135m\", or a file) or `path`"
    )
}

impl Config {
    /// Reads and checks a file; errors name the file and the key.
    pub fn load(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading config {}", path.display()))?;
        let config: Config = toml::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: {}", path.display(), e.to_string().trim()))?;
        config
            .check()
            .with_context(|| format!("in {}", path.display()))?;
        Ok(config)
    }

    /// Checks values serde cannot.
    pub fn check(&self) -> anyhow::Result<()> {
        let roles = crate::cluster_config::parse_roles(&self.node.roles)?;
        match &self.cluster {
            Some(cluster) => cluster.check()?,
            None if roles.len() < 2 => anyhow::bail!(
                "node.roles = {:?} needs a [cluster] section: a node with one role works with others",
                self.node.roles
            ),
            None => {}
        }
        match self.store.backend.as_str() {
            "embedded" => {}
            "scylla" => {
                self.scylla_config(|_| None)?;
            }
            other => anyhow::bail!(
                "store.backend = \"{other}\" is unknown; use \"embedded\" or \"scylla\""
            ),
        }
        match self.artifacts.backend.as_str() {
            "fs" => {}
            "s3" => {
                self.s3_config(|_| None)?;
            }
            other => {
                anyhow::bail!("artifacts.backend = \"{other}\" is unknown; use \"fs\" or \"s3\"")
            }
        }
        if self.service.stage_timeout_s == 0 || self.gates.timeout_s == 0 {
            anyhow::bail!("service.stage_timeout_s and gates.timeout_s must be positive");
        }
        for (index, worker) in self.workers.iter().enumerate() {
            worker.unresolved(index)?;
        }
        Ok(())
    }

    /// The LLM workers of `[[workers]]`, their model files found under `data_dir`.
    pub fn llm_workers(&self, data_dir: &Path) -> anyhow::Result<Vec<LlmWorkerConfig>> {
        self.workers
            .iter()
            .enumerate()
            .map(|(index, worker)| worker.worker_config(index, data_dir))
            .collect()
    }

    /// The Scylla store settings of `[store]`; `env` looks up environment variables (the
    /// password).
    pub fn scylla_config(
        &self,
        env: impl Fn(&str) -> Option<String>,
    ) -> anyhow::Result<ScyllaConfig> {
        let store = &self.store;
        let mut config = ScyllaConfig::new(store.contact_points.clone(), store.keyspace.clone());
        if let Some(table) = &store.replication {
            config.replication =
                replication(table).map_err(|e| anyhow::anyhow!("store.replication: {e}"))?;
        }
        config.local_datacenter = store.datacenter.clone();
        config.connect_timeout = Duration::from_millis(store.connect_timeout_ms);
        config.request_timeout = Duration::from_millis(store.request_timeout_ms);
        if let Some(user) = &store.username {
            let password = env("CODEBEGEN_CQL_PASSWORD")
                .or_else(|| store.password.clone())
                .unwrap_or_default();
            config.credentials = Some((user.clone(), password));
        }
        config.check().map_err(|e| anyhow::anyhow!("[store] backend = \"scylla\": {e} (keys contact_points, keyspace, replication, *_timeout_ms)"))?;
        Ok(config)
    }

    /// The S3 artifact settings of `[artifacts]`; `env` looks up environment variables (the
    /// credentials, when the file has none).
    pub fn s3_config(&self, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<S3Config> {
        let artifacts = &self.artifacts;
        let Some(bucket) = artifacts.bucket.clone() else {
            anyhow::bail!("artifacts.bucket is required with artifacts.backend = \"s3\"");
        };
        let mut config = S3Config::new(bucket);
        config.endpoint = artifacts.endpoint.clone();
        config.region = artifacts.region.clone();
        config.path_style = artifacts.path_style;
        config.prefix = artifacts.prefix.clone();
        let threshold = usize::try_from(
            artifacts
                .multipart_threshold_mib
                .saturating_mul(1024 * 1024),
        )
        .unwrap_or(usize::MAX);
        config.multipart_threshold = threshold;
        config.part_size = config.part_size.min(threshold);
        config.connect_timeout = Duration::from_millis(artifacts.connect_timeout_ms);
        config.operation_timeout = Duration::from_secs(artifacts.timeout_s);
        config.credentials = match (&artifacts.access_key_id, &artifacts.secret_access_key) {
            (Some(id), Some(secret)) => S3Credentials::Static {
                access_key_id: id.clone(),
                secret_access_key: secret.clone(),
                session_token: None,
            },
            (Some(_), None) | (None, Some(_)) => {
                anyhow::bail!("artifacts.access_key_id and artifacts.secret_access_key go together")
            }
            (None, None) => match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
                (Some(id), Some(secret)) => S3Credentials::Static {
                    access_key_id: id,
                    secret_access_key: secret,
                    session_token: env("AWS_SESSION_TOKEN"),
                },
                _ => S3Credentials::DefaultChain,
            },
        };
        config.check().map_err(|e| anyhow::anyhow!("[artifacts] backend = \"s3\": {e} (keys bucket, prefix, multipart_threshold_mib, *timeout*)"))?;
        Ok(config)
    }

    /// Stage limit.
    pub fn stage_timeout(&self) -> Duration {
        Duration::from_secs(self.service.stage_timeout_s)
    }
}

/// Reads `{ class = "...", ... }` into a [`Replication`].
fn replication(table: &toml::Table) -> Result<Replication, String> {
    let factor = |key: &str, value: &toml::Value| -> Result<u32, String> {
        value
            .as_integer()
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| format!("{key} must be a non-negative integer"))
    };
    match table.get("class").and_then(toml::Value::as_str) {
        Some("SimpleStrategy") => {
            let value = table
                .get("replication_factor")
                .ok_or("SimpleStrategy needs replication_factor")?;
            if let Some(extra) = table
                .keys()
                .find(|k| *k != "class" && *k != "replication_factor")
            {
                return Err(format!("unknown key {extra} for SimpleStrategy"));
            }
            Ok(Replication::Simple {
                factor: factor("replication_factor", value)?,
            })
        }
        Some("NetworkTopologyStrategy") => {
            let mut datacenters = std::collections::BTreeMap::new();
            for (key, value) in table.iter().filter(|(k, _)| *k != "class") {
                datacenters.insert(key.clone(), factor(key, value)?);
            }
            Ok(Replication::NetworkTopology { datacenters })
        }
        _ => Err("class must be \"SimpleStrategy\" or \"NetworkTopologyStrategy\"".into()),
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
        assert!(
            config.workers.is_empty(),
            "the default runs without a model (its [[workers]] example stays commented)"
        );
    }

    #[test]
    fn workers_are_read_and_resolved_through_the_catalog() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("tiny.gguf");
        std::fs::write(&file, b"gguf").expect("write");
        let text = format!(
            "[[workers]]\nmodel = \"smollm2-135m\"\nmax_batch = 8\nkv_blocks = 100\n\n\
             [[workers]]\npath = \"{}\"\ndevice = \"cpu\"\nmax_tokens_per_step = 64\nrequest_timeout_s = 5\n",
            file.display()
        );
        let config: Config = toml::from_str(&text).expect("parses");
        config.check().expect("valid");
        let err = config
            .llm_workers(dir.path())
            .expect_err("smollm2 is not installed")
            .to_string();
        assert!(
            err.contains("workers[0].model") && err.contains("codebegen models fetch"),
            "{err}"
        );
        let installed = codebegen_inference::catalog::find("smollm2-135m")
            .expect("in the catalog")
            .installed_path(dir.path());
        std::fs::create_dir_all(installed.parent().expect("parent")).expect("mkdir");
        std::fs::write(&installed, b"gguf").expect("write");
        let workers = config.llm_workers(dir.path()).expect("resolved");
        assert_eq!(workers[0].model_path, installed);
        assert_eq!((workers[0].max_batch, workers[0].kv_blocks), (8, 100));
        assert_eq!(workers[1].model_path, file);
        assert_eq!(workers[1].name, "tiny.gguf");
        assert_eq!(workers[1].max_tokens_per_step, 64);
        assert_eq!(workers[1].request_timeout, Duration::from_secs(5));
        assert_eq!(
            workers[1].kv_blocks,
            LlmWorkerConfig::default_kv_blocks(default_max_batch())
        );
    }

    #[test]
    fn bad_workers_name_their_key() {
        for (text, words) in [
            ("device = \"cpu\"", &["workers[0]", "model"][..]),
            (
                "model = \"m\"\ndevice = \"tpu\"",
                &["workers[0].device", "cuda:0"][..],
            ),
            (
                "model = \"m\"\nmax_batch = 0",
                &["workers[0]", "max_batch"][..],
            ),
            (
                "model = \"m\"\nrequest_timeout_s = 0",
                &["workers[0].request_timeout_s"][..],
            ),
        ] {
            let config: Config = toml::from_str(&format!("[[workers]]\n{text}\n")).expect("parses");
            let err = config.check().expect_err("refused").to_string();
            assert!(words.iter().all(|w| err.contains(w)), "{text}: {err}");
        }
        let err = toml::from_str::<Config>("[[workers]]\nmodel = \"m\"\nbatch = 3\n")
            .expect_err("unknown key");
        assert!(err.to_string().contains("batch"), "{err}");
        let config: Config =
            toml::from_str("[[workers]]\nmodel = \"m\"\ndevice = \"cuda:0\"\n").expect("parses");
        if !codebegen_actors::llm_engine::CUDA_BUILD {
            let err = config.check().expect_err("a CPU build").to_string();
            assert!(
                err.contains("workers[0]") && err.contains("--features cuda"),
                "{err}"
            );
        }
        let config: Config =
            toml::from_str("[[workers]]\npath = \"/no/such.gguf\"\n").expect("parses");
        config
            .check()
            .expect("the file is looked for at start-up, not when checking");
        let err = config
            .llm_workers(Path::new("/tmp"))
            .expect_err("missing")
            .to_string();
        assert!(err.contains("workers[0].path"), "{err}");
    }

    #[test]
    fn unknown_keys_are_named() {
        let err = toml::from_str::<Config>("[http]\nlisten = \"127.0.0.1:1\"\nport = 3\n")
            .expect_err("unknown key");
        assert!(err.to_string().contains("port"), "{err}");
        let err = toml::from_str::<Config>("[htp]\n").expect_err("unknown section");
        assert!(err.to_string().contains("htp"), "{err}");
    }

    #[test]
    fn unknown_backends_are_refused_by_key() {
        let config: Config = toml::from_str("[store]\nbackend = \"postgres\"\n").expect("parses");
        assert!(config
            .check()
            .expect_err("refused")
            .to_string()
            .contains("store.backend"));
        let config: Config = toml::from_str("[artifacts]\nbackend = \"gcs\"\n").expect("parses");
        assert!(config
            .check()
            .expect_err("refused")
            .to_string()
            .contains("artifacts.backend"));
    }

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |key| {
            vars.iter()
                .find(|(k, _)| *k == key)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn scylla_settings_are_read() {
        let text = "[store]\nbackend = \"scylla\"\ncontact_points = [\"10.0.0.1:9042\", \"10.0.0.2:9042\"]\nkeyspace = \"prod\"\n\
                    replication = { class = \"NetworkTopologyStrategy\", dc1 = 3, dc2 = 2 }\ndatacenter = \"dc1\"\nrequest_timeout_ms = 1500\nusername = \"app\"\n";
        let config: Config = toml::from_str(text).expect("parses");
        config.check().expect("valid");
        let scylla = config
            .scylla_config(env(&[("CODEBEGEN_CQL_PASSWORD", "s3cret")]))
            .expect("scylla config");
        assert_eq!(scylla.contact_points.len(), 2);
        assert_eq!(scylla.keyspace, "prod");
        assert_eq!(
            scylla.replication.cql(),
            "{'class': 'NetworkTopologyStrategy', 'dc1': '3', 'dc2': '2'}"
        );
        assert_eq!(scylla.local_datacenter.as_deref(), Some("dc1"));
        assert_eq!(scylla.request_timeout, Duration::from_millis(1500));
        assert_eq!(
            scylla.credentials,
            Some(("app".to_string(), "s3cret".to_string()))
        );
        let defaults: Config = toml::from_str("[store]\nbackend = \"scylla\"\n").expect("parses");
        let scylla = defaults.scylla_config(env(&[])).expect("defaults");
        assert_eq!(
            (scylla.contact_points, scylla.keyspace.as_str()),
            (vec!["127.0.0.1:9042".to_string()], "codebegen")
        );
        assert_eq!(scylla.replication, Replication::Simple { factor: 1 });
    }

    #[test]
    fn bad_scylla_settings_name_their_key() {
        for (text, word) in [
            ("keyspace = \"Bad-Name\"", "keyspace"),
            ("contact_points = []", "contact points"),
            (
                "replication = { class = \"SimpleStrategy\" }",
                "store.replication",
            ),
            (
                "replication = { class = \"EverywhereStrategy\" }",
                "store.replication",
            ),
        ] {
            let config: Config =
                toml::from_str(&format!("[store]\nbackend = \"scylla\"\n{text}\n"))
                    .expect("parses");
            let err = config.check().expect_err("refused").to_string();
            assert!(err.contains(word), "{text}: {err}");
        }
    }

    #[test]
    fn s3_settings_and_credentials_are_read() {
        let text = "[artifacts]\nbackend = \"s3\"\nbucket = \"codebegen-artifacts\"\nendpoint = \"http://127.0.0.1:9000\"\npath_style = true\n";
        let config: Config = toml::from_str(text).expect("parses");
        config.check().expect("valid");
        let from_env = env(&[
            ("AWS_ACCESS_KEY_ID", "AKID"),
            ("AWS_SECRET_ACCESS_KEY", "secret"),
        ]);
        let s3 = config.s3_config(&from_env).expect("s3 config");
        assert_eq!(s3.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        assert!(s3.path_style);
        assert_eq!(
            s3.credentials,
            S3Credentials::Static {
                access_key_id: "AKID".into(),
                secret_access_key: "secret".into(),
                session_token: None
            }
        );
        assert_eq!(
            config.s3_config(env(&[])).expect("s3 config").credentials,
            S3Credentials::DefaultChain
        );
        let keys: Config = toml::from_str(&format!(
            "{text}access_key_id = \"file\"\nsecret_access_key = \"file-secret\"\n"
        ))
        .expect("parses");
        let s3 = keys.s3_config(&from_env).expect("s3 config");
        assert!(
            matches!(s3.credentials, S3Credentials::Static { ref access_key_id, .. } if access_key_id == "file"),
            "the file wins over the environment"
        );
    }

    #[test]
    fn bad_s3_settings_name_their_key() {
        for (text, word) in [
            ("", "artifacts.bucket"),
            ("bucket = \"b\"", "bucket"),
            (
                "bucket = \"okay-bucket\"\naccess_key_id = \"x\"",
                "secret_access_key",
            ),
            ("bucket = \"okay-bucket\"\nprefix = \"no-slash\"", "prefix"),
        ] {
            let config: Config =
                toml::from_str(&format!("[artifacts]\nbackend = \"s3\"\n{text}\n"))
                    .expect("parses");
            let err = config.check().expect_err("refused").to_string();
            assert!(err.contains(word), "{text}: {err}");
        }
    }
}
