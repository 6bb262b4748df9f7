//! `codebegen serve`: every role on one node — the HTTP API, the actors and the embedded store —
//! on the data directory. Shuts down gracefully on SIGINT and SIGTERM.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use codebegen_actors::{LlmWorkerSpec, ServiceConfig, Stores, WorkerSpec};
use codebegen_store::fs::FsArtifactStore;
use codebegen_store::sqlite::SqliteStore;
use codebegen_store::{
    ArtifactStore, GenerationStore, LeaseStore, ProjectStore, S3ArtifactStore, S3OpenError,
    ScyllaStore, UserStore,
};

use crate::cli::ServeArgs;
use crate::config::Config;

/// The default data directory of `serve`.
pub const DEFAULT_DATA_DIR: &str = "codebegen-data";

/// Runs the command: every role on one node, whatever `[node] roles` says.
pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => Config::load(path)?,
        None => Config::default(),
    };
    config.node.roles = vec!["api".into(), "worker".into()];
    super::node::start(config, args.data_dir, args.listen)
}

/// Creates the data directory and proves it is writable.
pub fn prepare_data_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the data directory {}", dir.display()))?;
    let probe = dir.join(".write-test");
    std::fs::write(&probe, b"ok").map_err(|e| {
        anyhow::anyhow!("the data directory {} is not writable: {e}", dir.display())
    })?;
    let _ = std::fs::remove_file(probe);
    Ok(())
}

fn open_sqlite(data_dir: &Path) -> anyhow::Result<SqliteStore> {
    let path = data_dir.join("codebegen.db");
    SqliteStore::open(&path).map_err(|e| {
        anyhow::anyhow!(
            "[store] backend = \"embedded\": opening {}: {e}",
            path.display()
        )
    })
}

fn open_fs_artifacts(data_dir: &Path) -> anyhow::Result<Arc<dyn ArtifactStore>> {
    let store = FsArtifactStore::open(data_dir.join("artifacts")).map_err(|e| {
        anyhow::anyhow!("[artifacts] backend = \"fs\": opening the artifact store: {e}")
    })?;
    Ok(Arc::new(store))
}

/// The stores one `[store] backend` provides: everything but the artifacts.
type RecordStores = (
    Arc<dyn UserStore>,
    Arc<dyn ProjectStore>,
    Arc<dyn GenerationStore>,
    Arc<dyn LeaseStore>,
);

/// Opens the stores that `[store] backend` and `[artifacts] backend` choose. A wrong or
/// unreachable backend is an error naming the key and the backend, returned within the
/// configured timeouts (never a hang). S3 credentials missing from the file are read here from
/// `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` / `AWS_SESSION_TOKEN`, the CQL password from
/// `CODEBEGEN_CQL_PASSWORD`.
pub async fn open_configured_stores(config: &Config, data_dir: &Path) -> anyhow::Result<Stores> {
    let env = |key: &str| std::env::var(key).ok().filter(|value| !value.is_empty());
    let (users, projects, generations, leases): RecordStores = match config.store.backend.as_str() {
        "embedded" => {
            let db = Arc::new(open_sqlite(data_dir)?);
            (db.clone(), db.clone(), db.clone(), db)
        }
        "scylla" => {
            let scylla = config.scylla_config(env)?;
            let db = Arc::new(
                ScyllaStore::open(scylla)
                    .await
                    .map_err(|e| anyhow::anyhow!("[store] backend = \"scylla\": {e}"))?,
            );
            (db.clone(), db.clone(), db.clone(), db)
        }
        other => bail!("store.backend = \"{other}\" is unknown; use \"embedded\" or \"scylla\""),
    };
    let artifacts: Arc<dyn ArtifactStore> = match config.artifacts.backend.as_str() {
        "fs" => open_fs_artifacts(data_dir)?,
        "s3" => {
            let s3 = config.s3_config(env)?;
            let fail = |e: S3OpenError| anyhow::anyhow!("[artifacts] backend = \"s3\": {e}");
            if config.artifacts.create_bucket {
                S3ArtifactStore::create_bucket(&s3).await.map_err(fail)?;
            }
            Arc::new(S3ArtifactStore::open(s3).await.map_err(fail)?)
        }
        other => bail!("artifacts.backend = \"{other}\" is unknown; use \"fs\" or \"s3\""),
    };
    Ok(Stores {
        users,
        projects,
        generations,
        leases,
        artifacts,
    })
}

/// The HS256 key, created once per data directory so tokens survive restarts.
pub fn signing_key(data_dir: &Path) -> anyhow::Result<Vec<u8>> {
    if let Some(secret) = std::env::var_os("CODEBEGEN_JWT_SECRET") {
        let bytes = secret.to_string_lossy().into_owned().into_bytes();
        if bytes.len() < 32 {
            bail!("CODEBEGEN_JWT_SECRET must be at least 32 bytes");
        }
        return Ok(bytes);
    }
    let path = data_dir.join("jwt.key");
    match std::fs::read(&path) {
        Ok(key) if key.len() >= 32 => Ok(key),
        _ => {
            let mut key = Vec::with_capacity(64);
            for _ in 0..4 {
                key.extend_from_slice(uuid::Uuid::new_v4().as_bytes());
            }
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode_0600()
                .open(&path)
                .with_context(|| format!("writing {}", path.display()))?;
            file.write_all(&key)?;
            Ok(key)
        }
    }
}

trait Mode0600 {
    fn mode_0600(&mut self) -> &mut Self;
}

impl Mode0600 for std::fs::OpenOptions {
    fn mode_0600(&mut self) -> &mut Self {
        use std::os::unix::fs::OpenOptionsExt;
        self.mode(0o600)
    }
}

/// The service settings of a node with the api role.
pub fn service_config(config: &Config, data_dir: &Path, node_name: &str) -> ServiceConfig {
    let mut gates = codebegen_gates::GateConfig::new(data_dir);
    gates.python = config.gates.python.clone();
    if let Some(cache) = &config.gates.venv_cache {
        gates.venv_cache = cache.clone();
    }
    gates.gate_timeout = Duration::from_secs(config.gates.timeout_s);
    gates.install_timeout = Duration::from_secs(config.gates.timeout_s.saturating_mul(3));
    let lease_ttl = config
        .cluster
        .as_ref()
        .map_or(codebegen_actors::lease::DEFAULT_LEASE_TTL, |cluster| {
            Duration::from_millis(cluster.lease_ttl_ms)
        });
    ServiceConfig {
        node_name: node_name.to_string(),
        stage_timeout: config.stage_timeout(),
        gates: Some(gates),
        user_idle: Duration::from_secs(config.service.user_idle_s),
        workers: config.service.deterministic_workers,
        lease_ttl,
        takeover_interval: codebegen_actors::lease::takeover_interval_for(lease_ttl),
    }
}

/// The model workers `[[workers]]` asks for (none: the deterministic ones).
pub fn configured_workers(config: &Config, data_dir: &Path) -> anyhow::Result<Vec<WorkerSpec>> {
    let llm_workers = config.llm_workers(data_dir)?;
    for worker in &llm_workers {
        println!(
            "model worker: {} ({}, max_batch {}, {} KV blocks)",
            worker.name,
            worker.model_path.display(),
            worker.max_batch,
            worker.kv_blocks
        );
    }
    if llm_workers.is_empty() {
        return Ok(vec![
            WorkerSpec::Deterministic;
            config.service.deterministic_workers.max(1)
        ]);
    }
    Ok(llm_workers
        .into_iter()
        .map(|worker| WorkerSpec::Llm(LlmWorkerSpec::gguf(worker)))
        .collect())
}

/// Binds the HTTP listener; a busy port is an error naming the key.
pub async fn bind_http(listen: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(listen).await.map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => anyhow::anyhow!("cannot listen on {listen}: the port is already in use (choose another with --listen or [http] listen)"),
        _ => anyhow::anyhow!("cannot listen on {listen}: {e}"),
    })
}

/// Resolves on SIGINT or SIGTERM.
pub async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Instant;

    fn config(text: &str) -> Config {
        let config: Config = toml::from_str(text).expect("parses");
        config.check().expect("valid");
        config
    }

    async fn closed_port() -> SocketAddr {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        listener.local_addr().expect("address")
    }

    async fn open_error(config: &Config) -> String {
        let dir = tempfile::tempdir().expect("temporary directory");
        let started = Instant::now();
        let err = match open_configured_stores(config, dir.path()).await {
            Ok(_) => panic!("opening must fail"),
            Err(err) => format!("{err:#}"),
        };
        assert!(
            started.elapsed() < Duration::from_secs(8),
            "took {:?}: {err}",
            started.elapsed()
        );
        err
    }

    #[tokio::test]
    async fn an_unreachable_scylla_is_a_quick_error_naming_the_backend() {
        let address = closed_port().await;
        let config = config(&format!("[store]\nbackend = \"scylla\"\ncontact_points = [\"{address}\"]\nconnect_timeout_ms = 1000\nrequest_timeout_ms = 1000\n"));
        let err = open_error(&config).await;
        assert!(
            err.contains("[store] backend = \"scylla\"") && err.contains(&address.to_string()),
            "{err}"
        );
    }

    #[tokio::test]
    async fn an_unreachable_s3_is_a_quick_error_naming_the_backend() {
        let address = closed_port().await;
        let config = config(&format!(
            "[artifacts]\nbackend = \"s3\"\nbucket = \"codebegen\"\nendpoint = \"http://{address}\"\npath_style = true\n\
             access_key_id = \"k\"\nsecret_access_key = \"s\"\nconnect_timeout_ms = 500\ntimeout_s = 2\n"
        ));
        let err = open_error(&config).await;
        assert!(
            err.contains("[artifacts] backend = \"s3\"") && err.contains(&address.to_string()),
            "{err}"
        );
    }

    #[tokio::test]
    async fn the_default_config_opens_the_embedded_stores() {
        let dir = tempfile::tempdir().expect("temporary directory");
        let stores = open_configured_stores(&Config::default(), dir.path())
            .await
            .expect("embedded stores");
        assert_eq!(
            stores
                .users
                .get_user(codebegen_schema::generation::UserId(uuid::Uuid::new_v4()))
                .await
                .expect("get_user"),
            None
        );
        assert!(dir.path().join("codebegen.db").exists());
    }
}
