//! `codebegen bench http`: starts `codebegen serve` as its own process, then loads it on loopback
//! with an open-loop client (requests are sent on a fixed schedule and latency is measured from
//! the scheduled time, so a slow server cannot hide its queueing). Scenarios: `/healthz` (the
//! baseline, measured in the same run), status reads `GET /generations/{id}`, and generation
//! creates by enterprise users. Also reports the server's idle RSS.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde_json::{json, Value};

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

/// Settings.
#[derive(Debug, Clone)]
pub struct HttpBenchConfig {
    /// The `codebegen` executable to start.
    pub exe: PathBuf,
    /// Target rate for the read scenarios, requests per second.
    pub rate: u32,
    /// Length of each read scenario.
    pub duration: Duration,
    /// Enterprise users creating generations.
    pub users: usize,
    /// Creates per second, all users together.
    pub create_rate: u32,
}

/// One scenario's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Scenario {
    /// Name.
    pub name: String,
    /// Target rate.
    pub target_rps: f64,
    /// Requests completed per second.
    pub achieved_rps: f64,
    /// Requests sent.
    pub requests: usize,
    /// Non-2xx answers or transport errors.
    pub errors: usize,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile latency, ms.
    pub p99_ms: f64,
    /// p99 divided by the baseline's p99.
    pub p99_vs_baseline: f64,
}

/// The report.
#[derive(Debug, Clone, Serialize)]
pub struct HttpReport {
    /// Resident memory of the idle server after start-up, MiB.
    pub idle_rss_mib: f64,
    /// Resident memory after the load, MiB.
    pub loaded_rss_mib: f64,
    /// The scenarios, baseline first.
    pub scenarios: Vec<Scenario>,
    /// The goal: p99 ≤ 5 ms for status reads at 1000 req/s.
    pub goal_status_p99_ms: f64,
    /// Whether it was met.
    pub goal_met: bool,
}

struct Server {
    child: Child,
    base: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_server(exe: &Path, data: &Path) -> Result<Server, String> {
    let mut child = Command::new(exe)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(data)
        .env("CODEBEGEN_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("starting {}: {e}", exe.display()))?;
    let stdout = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .map_err(|e| e.to_string())?;
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .ok_or_else(|| format!("no URL in `{line}`"))?
        .to_string();
    Ok(Server { child, base })
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

async fn send(
    client: &HttpClient,
    method: &str,
    url: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> Result<(u16, Value), String> {
    let mut builder = hyper::Request::builder().method(method).uri(url);
    if let Some(t) = token {
        builder = builder.header("authorization", format!("Bearer {t}"));
    }
    let payload = match body {
        Some(b) => {
            builder = builder.header("content-type", "application/json");
            Bytes::from(b.to_string())
        }
        None => Bytes::new(),
    };
    let request = builder
        .body(Full::new(payload))
        .map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    Ok((
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    ))
}

async fn login(client: &HttpClient, base: &str, email: &str) -> Result<String, String> {
    let credentials = json!({"email": email, "password": "benchmark-password"});
    let (status, body) = send(
        client,
        "POST",
        &format!("{base}/api/v1/auth/register"),
        None,
        Some(&credentials),
    )
    .await?;
    if status != 201 {
        return Err(format!("register {email}: {status} {body}"));
    }
    let (status, body) = send(
        client,
        "POST",
        &format!("{base}/api/v1/auth/login"),
        None,
        Some(&credentials),
    )
    .await?;
    body["access_token"]
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("login {email}: {status} {body}"))
}

/// A request to send: method, URL, token, body.
type Plan = Arc<dyn Fn(usize) -> (String, String, Option<String>, Option<Value>) + Send + Sync>;

async fn open_loop(
    client: &HttpClient,
    name: &str,
    rate: u32,
    duration: Duration,
    plan: Plan,
) -> Scenario {
    let interval = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    let total = (duration.as_secs_f64() * f64::from(rate)).round() as usize;
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(total);
    for i in 0..total {
        let scheduled = started + interval * u32::try_from(i).unwrap_or(u32::MAX);
        tokio::time::sleep_until(scheduled.into()).await;
        let client = client.clone();
        let plan = Arc::clone(&plan);
        tasks.push(tokio::spawn(async move {
            let (method, url, token, body) = plan(i);
            let ok = matches!(
                send(&client, &method, &url, token.as_deref(), body.as_ref()).await,
                Ok((200..=299, _))
            );
            (scheduled.elapsed(), ok)
        }));
    }
    let mut latencies = Vec::with_capacity(total);
    let mut errors = 0;
    for task in tasks {
        match task.await {
            Ok((latency, ok)) => {
                latencies.push(latency.as_secs_f64() * 1000.0);
                if !ok {
                    errors += 1;
                }
            }
            Err(_) => errors += 1,
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_by(f64::total_cmp);
    let at = |q: f64| {
        latencies
            .get(((latencies.len().max(1) - 1) as f64 * q).round() as usize)
            .copied()
            .unwrap_or(0.0)
    };
    Scenario {
        name: name.to_string(),
        target_rps: f64::from(rate),
        achieved_rps: latencies.len() as f64 / elapsed,
        requests: total,
        errors,
        p50_ms: at(0.5),
        p99_ms: at(0.99),
        p99_vs_baseline: 0.0,
    }
}

/// Runs the benchmark.
pub fn run(config: &HttpBenchConfig) -> Result<HttpReport, String> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(run_async(config))
}

async fn run_async(config: &HttpBenchConfig) -> Result<HttpReport, String> {
    let data = tempfile::Builder::new()
        .prefix("codebegen-bench-http-")
        .tempdir()
        .map_err(|e| e.to_string())?;
    let server = start_server(&config.exe, data.path())?;
    let pid = server.child.id();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let idle_rss_mib = rss_mib(pid);
    let client: HttpClient = Client::builder(TokioExecutor::new())
        .pool_max_idle_per_host(256)
        .build_http();
    let base = server.base.clone();

    // One user with one generation to read.
    let reader = login(&client, &base, "reader@bench.example").await?;
    let (status, created) = send(
        &client,
        "POST",
        &format!("{base}/api/v1/generations"),
        Some(&reader),
        Some(&json!({"prompt": "url shortener"})),
    )
    .await?;
    if status != 202 {
        return Err(format!("create: {status} {created}"));
    }
    let id = created["id"].as_str().ok_or("no id")?.to_string();

    // Enterprise users for the create scenario (tier set through the admin command).
    let mut writers = Vec::new();
    for n in 0..config.users {
        let email = format!("writer{n}@bench.example");
        writers.push(login(&client, &base, &email).await?);
        let out = Command::new(&config.exe)
            .args(["admin", "set-tier", &email, "enterprise", "--data-dir"])
            .arg(data.path())
            .output()
            .map_err(|e| e.to_string())?;
        if !out.status.success() {
            return Err(format!(
                "set-tier: {}",
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }

    let health_url = format!("{base}/healthz");
    let baseline = open_loop(
        &client,
        "baseline GET /healthz",
        config.rate,
        config.duration,
        Arc::new(move |_| ("GET".into(), health_url.clone(), None, None)),
    )
    .await;
    let status_url = format!("{base}/api/v1/generations/{id}");
    let reader_token = reader.clone();
    let reads = open_loop(
        &client,
        "status GET /generations/{id}",
        config.rate,
        config.duration,
        Arc::new(move |_| {
            (
                "GET".into(),
                status_url.clone(),
                Some(reader_token.clone()),
                None,
            )
        }),
    )
    .await;
    let create_url = format!("{base}/api/v1/generations");
    let writers = Arc::new(writers);
    let creates = open_loop(
        &client,
        "create POST /generations (enterprise)",
        config.create_rate,
        config.duration,
        Arc::new(move |i| {
            (
                "POST".into(),
                create_url.clone(),
                Some(writers[i % writers.len()].clone()),
                Some(json!({"prompt": "url shortener"})),
            )
        }),
    )
    .await;
    let loaded_rss_mib = rss_mib(pid);
    let mut scenarios = vec![baseline, reads, creates];
    let base_p99 = scenarios[0].p99_ms.max(1e-6);
    for s in &mut scenarios {
        s.p99_vs_baseline = s.p99_ms / base_p99;
    }
    let goal_status_p99_ms = 5.0;
    let goal_met = scenarios[1].p99_ms <= goal_status_p99_ms
        && scenarios[1].errors == 0
        && config.rate >= 1000;
    drop(server);
    Ok(HttpReport {
        idle_rss_mib,
        loaded_rss_mib,
        scenarios,
        goal_status_p99_ms,
        goal_met,
    })
}

/// A plain-text table of the report.
pub fn table(report: &HttpReport) -> String {
    let mut out = format!(
        "serve RSS: idle {:.1} MiB, after load {:.1} MiB\n",
        report.idle_rss_mib, report.loaded_rss_mib
    );
    out.push_str(&format!(
        "{:<40} {:>8} {:>9} {:>7} {:>9} {:>9} {:>8}\n",
        "scenario", "target/s", "achieved/s", "errors", "p50 ms", "p99 ms", "x base"
    ));
    for s in &report.scenarios {
        out.push_str(&format!(
            "{:<40} {:>8.0} {:>9.1} {:>7} {:>9.2} {:>9.2} {:>8.2}\n",
            s.name, s.target_rps, s.achieved_rps, s.errors, s.p50_ms, s.p99_ms, s.p99_vs_baseline
        ));
    }
    out.push_str(&format!(
        "goal: status reads p99 <= {:.0} ms at 1000 req/s: {}\n",
        report.goal_status_p99_ms,
        if report.goal_met { "met" } else { "NOT met" }
    ));
    out
}
