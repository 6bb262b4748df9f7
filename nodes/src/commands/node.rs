//! `codebegen node --config FILE` (and `serve`, which is every role on one node): starts the
//! roles the config gives. An api node opens the store, runs the generation actors and the
//! scheduler and serves HTTP; a worker node runs model workers behind a gateway the api nodes
//! of the cluster dispatch to. With `[cluster]`, the node joins the others. SIGINT or SIGTERM
//! starts a graceful leave: peers are told it drains, running work finishes (up to
//! `cluster.drain_timeout_s`), then it stops.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use codebegen_actors::cluster::Cluster;
use codebegen_actors::scheduler::{self, SchedulerMsg};
use codebegen_actors::{Service, WorkerSpec};
use codebegen_http::{AppState, AuthConfig, Metrics};
use codebegen_schema::cluster::NodeRole;
use ractor::ActorRef;

use super::serve::{
    bind_http, configured_workers, open_configured_stores, prepare_data_dir, service_config,
    shutdown_signal, signing_key, DEFAULT_DATA_DIR,
};
use crate::cli::NodeArgs;
use crate::cluster_config::parse_roles;
use crate::config::Config;

/// Runs the command.
pub fn run(args: NodeArgs) -> anyhow::Result<ExitCode> {
    start(Config::load(&args.config)?, args.data_dir, args.listen)
}

/// Runs a node on its own runtime; `data_dir` and `listen` override the config.
pub fn start(
    config: Config,
    data_dir: Option<PathBuf>,
    listen: Option<SocketAddr>,
) -> anyhow::Result<ExitCode> {
    let data_dir = data_dir
        .or_else(|| config.node.data_dir.clone())
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA_DIR));
    prepare_data_dir(&data_dir)?;
    let listen = listen.unwrap_or(config.http.listen);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    runtime.block_on(run_node(config, data_dir, listen))?;
    Ok(ExitCode::SUCCESS)
}

fn env(key: &str) -> Option<String> {
    std::env::var(key).ok().filter(|value| !value.is_empty())
}

/// What a gateway offering these workers is called: the model, or "deterministic".
fn gateway_model(workers: &[WorkerSpec]) -> String {
    let mut names: Vec<String> = workers
        .iter()
        .map(|w| match w {
            WorkerSpec::Llm(spec) => spec.config.name.clone(),
            _ => "deterministic".to_string(),
        })
        .collect();
    names.sort();
    names.dedup();
    names.join("+")
}

/// Runs a node until SIGINT or SIGTERM, then leaves gracefully.
pub async fn run_node(config: Config, data_dir: PathBuf, listen: SocketAddr) -> anyhow::Result<()> {
    let name = env("CODEBEGEN_NODE_NAME").unwrap_or_else(|| config.node.name.clone());
    let roles = parse_roles(&config.node.roles)?;
    let drain_timeout = Duration::from_secs(
        config
            .cluster
            .as_ref()
            .map_or(30, |cluster| cluster.drain_timeout_s),
    );
    let cluster = match &config.cluster {
        Some(section) => {
            let settings = section.settings(&name, roles.clone(), env)?;
            Some(Arc::new(
                Cluster::start(settings)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?,
            ))
        }
        None => None,
    };
    codebegen_actors::worker::simulate_latency(Duration::from_millis(
        config.service.simulated_model_latency_ms,
    ));
    let workers = if roles.contains(&NodeRole::Worker) {
        configured_workers(&config, &data_dir)?
    } else {
        Vec::new()
    };
    let model = gateway_model(&workers);
    let capacity: usize = workers.iter().map(WorkerSpec::capacity).sum();
    let capacity = u32::try_from(capacity).unwrap_or(u32::MAX);
    if !roles.contains(&NodeRole::Api) {
        let Some(cluster) = cluster else {
            anyhow::bail!("node.roles = [\"worker\"] needs a [cluster] section");
        };
        let scheduler = scheduler::start_local(workers)
            .await
            .map_err(|e| anyhow::anyhow!("starting the model workers: {e}"))?;
        cluster
            .add_gateway(scheduler.clone(), &model, capacity)
            .await
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        println!("codebegen worker node {name} ready: {model} x {capacity}");
        std::io::stdout().flush()?;
        shutdown_signal().await;
        eprintln!("leaving: draining the model workers (up to {drain_timeout:?})");
        cluster.drain();
        wait_for_idle(&scheduler, drain_timeout).await;
        let _ = scheduler
            .stop_and_wait(Some("leaving".into()), Some(Duration::from_secs(10)))
            .await;
        cluster.stop().await;
        return Ok(());
    }

    let stores = open_configured_stores(&config, &data_dir).await?;
    let listener = bind_http(listen).await?;
    let address = listener.local_addr()?;
    let service_config = service_config(&config, &data_dir, &name);
    let has_workers = !workers.is_empty();
    let service = match &cluster {
        Some(_) => Service::start_api_node(stores, service_config, workers).await,
        None => Service::start_with_workers(stores, service_config, workers).await,
    }
    .map_err(|e| anyhow::anyhow!("starting the service: {e}"))?;
    if let Some(cluster) = &cluster {
        cluster.set_http(&address.to_string());
        if has_workers {
            cluster
                .add_gateway(service.scheduler(), &model, capacity)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    let state = AppState::new(
        service.clone(),
        AuthConfig::new(signing_key(&data_dir)?),
        Metrics::new(),
    )
    .with_cluster(cluster.clone(), env("CODEBEGEN_ADMIN_TOKEN"));
    let routes = codebegen_http::routes(state);
    println!(
        "codebegen listening on http://{address} (data in {})",
        data_dir.display()
    );
    std::io::stdout().flush()?;
    tracing::info!(%address, node = %name, roles = ?roles, "serving");
    warp::serve(routes)
        .incoming(listener)
        .graceful(shutdown_signal())
        .run()
        .await;
    match &cluster {
        Some(cluster) => {
            eprintln!("leaving: draining running work (up to {drain_timeout:?})");
            cluster.drain();
            let deadline = Instant::now() + drain_timeout;
            while service.metrics().live_generations > 0 && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            wait_for_idle(
                &service.scheduler(),
                deadline.saturating_duration_since(Instant::now()),
            )
            .await;
        }
        None => {
            eprintln!(
                "shutting down: stopping actors (running generations resume at the next start)"
            );
        }
    }
    service.shutdown().await;
    if let Some(cluster) = cluster {
        cluster.stop().await;
    }
    Ok(())
}

/// Waits until the scheduler has nothing queued or running, or `limit` passed.
async fn wait_for_idle(scheduler: &ActorRef<SchedulerMsg>, limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        match scheduler::stats(scheduler).await {
            Ok(stats) if stats.queued == 0 && stats.in_flight == 0 => return,
            Ok(_) => {}
            Err(_) => return,
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
