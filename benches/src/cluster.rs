//! `codebegen bench cluster`: actor call latency across nodes against the same call to a local
//! actor (the baseline, measured in the same run), and what the scheduler adds to a model
//! request — locally and when the worker is on another node — over answering it directly.
//!
//! This process joins a cluster as an API node; a `codebegen node` child process is the worker
//! node, on loopback.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use codebegen_actors::cluster::gateway::{gateway_info, GatewayMsg};
use codebegen_actors::cluster::{Cluster, ClusterSettings};
use codebegen_actors::model::{run_deterministic, ModelTask};
use codebegen_actors::scheduler::{self, SchedulerMsg};
use codebegen_actors::WorkerSpec;
use codebegen_schema::cluster::{NodeRole, WORKERS_SCOPE};
use ractor::ActorRef;
use serde::Serialize;

/// What to run.
#[derive(Debug, Clone)]
pub struct ClusterBenchConfig {
    /// The `codebegen` binary (started as the worker node).
    pub exe: PathBuf,
    /// Timed calls per measurement.
    pub calls: usize,
}

/// Latencies of one kind of call, in microseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Timed calls.
    pub calls: usize,
    /// Median.
    pub p50_us: f64,
    /// 99th percentile.
    pub p99_us: f64,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct ClusterReport {
    /// An RPC to a gateway actor in this process (the baseline).
    pub local_call: Latency,
    /// The same RPC to a gateway on the worker node, over loopback TCP.
    pub remote_call: Latency,
    /// Remote p50 over local p50.
    pub remote_over_local_p50: f64,
    /// The model task answered directly, without actors.
    pub direct_task: Latency,
    /// The task through a scheduler with a local deterministic worker.
    pub scheduled_local: Latency,
    /// The task through a scheduler whose only worker is on the worker node.
    pub scheduled_remote: Latency,
    /// What the scheduler adds per request (local p50 − direct p50), in microseconds.
    pub dispatch_overhead_local_us: f64,
    /// What the scheduler and the network add per request (remote p50 − direct p50).
    pub dispatch_overhead_remote_us: f64,
}

fn latency(mut samples: Vec<Duration>) -> Latency {
    samples.sort();
    let at = |q: f64| {
        let index = ((samples.len().saturating_sub(1)) as f64 * q).round() as usize;
        samples.get(index).map_or(0.0, |d| d.as_secs_f64() * 1e6)
    };
    Latency {
        calls: samples.len(),
        p50_us: at(0.5),
        p99_us: at(0.99),
    }
}

fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(listener.local_addr().map_err(|e| e.to_string())?.port())
}

/// The worker node, and the directory of its config and data; killed when dropped.
struct WorkerNode {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for WorkerNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_worker(exe: &PathBuf, seed: &str, cookie: &str) -> Result<WorkerNode, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let port = free_port()?;
    let config = dir.path().join("worker.toml");
    std::fs::write(
        &config,
        format!(
            "[node]\nname = \"bench-worker\"\nroles = [\"worker\"]\ndata_dir = \"{}\"\n\
             [cluster]\nlisten = \"127.0.0.1:{port}\"\nseeds = [\"{seed}\"]\n\
             [service]\ndeterministic_workers = 1\n",
            dir.path().join("data").display()
        ),
    )
    .map_err(|e| e.to_string())?;
    let mut child = Command::new(exe)
        .args(["node", "--config"])
        .arg(&config)
        .env("CODEBEGEN_CLUSTER_COOKIE", cookie)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("starting the worker node: {e}"))?;
    let mut line = String::new();
    if let Some(stdout) = child.stdout.take() {
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| e.to_string())?;
    }
    if !line.contains("ready") {
        let _ = child.kill();
        return Err(format!("the worker node did not start: {line:?}"));
    }
    Ok(WorkerNode { child, _dir: dir })
}

/// Runs the benchmark.
pub fn run(config: &ClusterBenchConfig) -> Result<ClusterReport, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(run_async(config))
}

async fn time_calls<F, Fut>(calls: usize, mut call: F) -> Result<Latency, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(), String>>,
{
    for _ in 0..calls.min(100) {
        call().await?;
    }
    let mut samples = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        call().await?;
        samples.push(started.elapsed());
    }
    Ok(latency(samples))
}

async fn run_async(config: &ClusterBenchConfig) -> Result<ClusterReport, String> {
    let cookie = format!("bench-{}", std::process::id());
    let port = free_port()?;
    let address = format!("127.0.0.1:{port}");
    let cluster = Cluster::start(ClusterSettings {
        node_name: "bench-api".into(),
        roles: vec![NodeRole::Api],
        listen: address.parse().map_err(|e| format!("{e}"))?,
        advertise: address.clone(),
        seeds: Vec::new(),
        cookie: cookie.clone(),
        heartbeat_interval: Duration::from_millis(500),
        heartbeat_timeout: Duration::from_secs(5),
        tls: None,
    })
    .await
    .map_err(|e| e.to_string())?;
    let local_scheduler = scheduler::start_local(vec![WorkerSpec::Deterministic])
        .await
        .map_err(|e| e.to_string())?;
    cluster
        .add_gateway(local_scheduler.clone(), "bench-local", 4)
        .await
        .map_err(|e| e.to_string())?;
    let _worker = start_worker(&config.exe, &address, &cookie)?;
    let scope = WORKERS_SCOPE.to_string();
    let find = |local: bool| -> Option<ActorRef<GatewayMsg>> {
        ractor::pg::which_scoped_groups(&scope)
            .into_iter()
            .flat_map(|group| ractor::pg::get_scoped_members(&scope, &group))
            .find(|cell| cell.get_id().is_local() == local)
            .map(ActorRef::from)
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    let remote = loop {
        if let Some(remote) = find(false) {
            break remote;
        }
        if Instant::now() > deadline {
            return Err("the worker node's gateway never appeared".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let local = find(true).ok_or("no local gateway")?;
    let calls = config.calls.max(10);
    let local_call = time_calls(calls, || async {
        gateway_info(&local, "bench").await.map(|_| ())
    })
    .await?;
    let remote_call = time_calls(calls, || async {
        gateway_info(&remote, "bench").await.map(|_| ())
    })
    .await?;
    let task = ModelTask::ReviewComments {
        findings: vec!["app/main.py:1 E501 line too long".into()],
        score: 90,
    };
    let direct_task = time_calls(calls, || {
        let task = task.clone();
        async move {
            std::hint::black_box(run_deterministic(&task));
            Ok(())
        }
    })
    .await?;
    let ask = |scheduler: ActorRef<SchedulerMsg>| {
        let task = task.clone();
        move || {
            let scheduler = scheduler.clone();
            let task = task.clone();
            async move {
                scheduler::ask(&scheduler, task, 1, Duration::from_secs(10))
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            }
        }
    };
    let scheduled_local = time_calls(calls, ask(local_scheduler.clone())).await?;
    let remote_scheduler = scheduler::start_remote_only("bench-api")
        .await
        .map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let stats = scheduler::stats(&remote_scheduler)
            .await
            .map_err(|e| e.to_string())?;
        if !stats.workers.is_empty() {
            break;
        }
        if Instant::now() > deadline {
            return Err("the remote-only scheduler found no worker".into());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let scheduled_remote = time_calls(calls, ask(remote_scheduler.clone())).await?;
    remote_scheduler.stop(None);
    local_scheduler.stop(None);
    cluster.stop().await;
    Ok(ClusterReport {
        remote_over_local_p50: remote_call.p50_us / local_call.p50_us.max(1e-3),
        dispatch_overhead_local_us: scheduled_local.p50_us - direct_task.p50_us,
        dispatch_overhead_remote_us: scheduled_remote.p50_us - direct_task.p50_us,
        local_call,
        remote_call,
        direct_task,
        scheduled_local,
        scheduled_remote,
    })
}

/// The report as a table.
pub fn table(report: &ClusterReport) -> String {
    let row = |name: &str, l: &Latency| {
        format!(
            "{name:<44} {:>10.1} {:>10.1} {:>8}\n",
            l.p50_us, l.p99_us, l.calls
        )
    };
    let mut out = format!(
        "{:<44} {:>10} {:>10} {:>8}\n",
        "call", "p50 µs", "p99 µs", "calls"
    );
    out += &row("actor RPC, local (baseline)", &report.local_call);
    out += &row("actor RPC, remote node over loopback", &report.remote_call);
    out += &row("model task answered directly", &report.direct_task);
    out += &row(
        "model task through the scheduler, local",
        &report.scheduled_local,
    );
    out += &row(
        "model task through the scheduler, remote",
        &report.scheduled_remote,
    );
    out += &format!(
        "remote/local p50 {:.1}x; scheduler overhead per request: local {:.1} µs, remote {:.1} µs\n",
        report.remote_over_local_p50, report.dispatch_overhead_local_us, report.dispatch_overhead_remote_us
    );
    out
}
