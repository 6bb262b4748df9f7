//! Gates: run a generated project in a temporary copy and record what happened.
//!
//! The gates, in order: `compileall`, `install` (a venv cached by the requirements hash), `ruff`
//! (E9 and F rules), `pytest`, `serve` (uvicorn answers `/health`) and `security` (bandit, when
//! installed). Each records its status, duration and the tail of its output. Generated code is
//! untrusted, so it runs through [`sandbox`]: a cleared environment, time and output limits, and
//! no network where `unshare -n` works.

pub mod sandbox;
mod venv;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use sandbox::{Outcome, Sandbox, SandboxCommand};

/// Settings for a gate run.
#[derive(Debug, Clone)]
pub struct GateConfig {
    /// The base interpreter used to build venvs (`python3`).
    pub python: PathBuf,
    /// Where venvs are cached, keyed by the requirements hash.
    pub venv_cache: PathBuf,
    /// Limit for the install gate.
    pub install_timeout: Duration,
    /// Limit for each of the other gates.
    pub gate_timeout: Duration,
    /// Bytes of output kept per gate (the tail).
    pub output_limit: usize,
    /// Which gates to run; empty means all.
    pub only: Vec<GateName>,
}

impl GateConfig {
    /// Defaults with the venv cache under `data_dir/venvs`.
    pub fn new(data_dir: &Path) -> GateConfig {
        GateConfig {
            python: PathBuf::from("python3"),
            venv_cache: data_dir.join("venvs"),
            install_timeout: Duration::from_secs(900),
            gate_timeout: Duration::from_secs(300),
            output_limit: 4000,
            only: Vec::new(),
        }
    }
}

/// The gates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateName {
    /// `python -m compileall`.
    Compileall,
    /// `ruff check --select E9,F`.
    Ruff,
    /// `pip install -r requirements-dev.txt` into the cached venv.
    Install,
    /// The project's own pytest suite.
    Pytest,
    /// uvicorn starts and `/health` answers.
    Serve,
    /// bandit, when installed.
    Security,
}

impl GateName {
    /// All gates in run order.
    pub const ALL: [GateName; 6] = [
        GateName::Compileall,
        GateName::Install,
        GateName::Ruff,
        GateName::Pytest,
        GateName::Serve,
        GateName::Security,
    ];

    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            GateName::Compileall => "compileall",
            GateName::Ruff => "ruff",
            GateName::Install => "install",
            GateName::Pytest => "pytest",
            GateName::Serve => "serve",
            GateName::Security => "security",
        }
    }
}

/// How a gate ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GateStatus {
    /// It ran and passed.
    Passed,
    /// It ran and failed.
    Failed,
    /// It ran past its time limit and was killed.
    TimedOut,
    /// It did not run (a tool is missing, or an earlier gate failed).
    Skipped,
}

/// The record of one gate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    /// Which gate.
    pub gate: GateName,
    /// How it ended.
    pub status: GateStatus,
    /// Wall time in milliseconds.
    pub duration_ms: u64,
    /// The last bytes of its combined output.
    pub output_tail: String,
    /// Why it was skipped or failed, in a sentence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the sandbox enforced during the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SandboxReport {
    /// Whether the generated code ran without network (`unshare -n`).
    pub network_isolated: bool,
    /// Always true: the environment is cleared before running generated code.
    pub environment_cleared: bool,
    /// The output limit per gate, in bytes.
    pub output_limit_bytes: usize,
    /// The time limit per gate, in seconds.
    pub time_limit_s: u64,
}

/// The record of a gate run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateReport {
    /// One entry per gate, in run order.
    pub gates: Vec<GateResult>,
    /// True when no gate failed or timed out.
    pub passed: bool,
    /// What the sandbox enforced.
    pub sandbox: SandboxReport,
    /// The interpreter of the cached venv the project was installed into, if the install passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub venv_python: Option<PathBuf>,
}

/// A gate run could not even start.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    /// Copying the project or making the cache failed.
    #[error("gate setup failed: {0}")]
    Setup(#[from] std::io::Error),
    /// The base interpreter is missing.
    #[error("python interpreter `{0}` not found; install Python 3.11+ or pass --python")]
    NoPython(String),
}

/// Progress while gates run.
#[derive(Debug, Clone)]
pub enum GateEvent {
    /// A gate started.
    Started(GateName),
    /// A gate finished.
    Finished(GateResult),
}

const SMOKE_SCRIPT: &str = include_str!("smoke.py");

/// Runs the gates on a copy of `project`. The project directory itself is never modified.
pub fn run_gates(
    project: &Path,
    config: &GateConfig,
    on_event: &mut dyn FnMut(GateEvent),
) -> Result<GateReport, GateError> {
    let work = tempfile::Builder::new()
        .prefix("codebegen-gates-")
        .tempdir()?;
    let copy = work.path().join("project");
    copy_tree(project, &copy)?;
    let home = work.path().join("home");
    std::fs::create_dir_all(&home)?;
    std::fs::create_dir_all(&config.venv_cache)?;
    // Gates run with the project copy as their working directory: relative paths would break.
    let venv_cache = std::path::absolute(&config.venv_cache)?;
    let base_python = which(&config.python)
        .ok_or_else(|| GateError::NoPython(config.python.display().to_string()))?;
    let sandbox = Sandbox::probe(&home, config.output_limit);
    let wanted = |g: GateName| config.only.is_empty() || config.only.contains(&g);

    let mut results: Vec<GateResult> = Vec::new();
    let mut venv_python: Option<PathBuf> = None;
    for gate in GateName::ALL {
        if !wanted(gate) {
            continue;
        }
        on_event(GateEvent::Started(gate));
        let started = Instant::now();
        let needs_venv = matches!(gate, GateName::Pytest | GateName::Serve | GateName::Ruff);
        let result = if needs_venv && venv_python.is_none() && gate != GateName::Ruff {
            skipped(gate, "the install gate did not pass")
        } else {
            match gate {
                GateName::Compileall => {
                    let cmd = SandboxCommand::new(
                        &base_python,
                        &["-m", "compileall", "-q", "."],
                        &copy,
                        config.gate_timeout,
                    );
                    from_outcome(gate, sandbox.run(&cmd, true), started)
                }
                GateName::Ruff => match venv_python
                    .as_ref()
                    .map(|p| p.with_file_name("ruff"))
                    .filter(|r| r.exists())
                    .or_else(|| which(Path::new("ruff")))
                {
                    Some(ruff) => {
                        let cmd = SandboxCommand::new(
                            &ruff,
                            &[
                                "check",
                                "--no-cache",
                                "--select",
                                "E9,F",
                                "--output-format",
                                "concise",
                                ".",
                            ],
                            &copy,
                            config.gate_timeout,
                        );
                        from_outcome(gate, sandbox.run(&cmd, true), started)
                    }
                    None => skipped(gate, "ruff is not installed (the install gate provides it)"),
                },
                GateName::Install => match venv::ensure(
                    &base_python,
                    &copy,
                    &venv_cache,
                    config.install_timeout,
                    &sandbox,
                ) {
                    Ok((python, outcome)) => {
                        venv_python = Some(python);
                        from_outcome(gate, outcome, started)
                    }
                    Err(outcome) => from_outcome(gate, outcome, started),
                },
                GateName::Pytest => {
                    let python = venv_python.clone().expect("checked above");
                    let cmd = SandboxCommand::new(
                        &python,
                        &["-m", "pytest", "-q", "-p", "no:cacheprovider", "-x"],
                        &copy,
                        config.gate_timeout,
                    );
                    from_outcome(gate, sandbox.run(&cmd, true), started)
                }
                GateName::Serve => {
                    let python = venv_python.clone().expect("checked above");
                    let script = work.path().join("smoke.py");
                    std::fs::write(&script, SMOKE_SCRIPT)?;
                    let script_arg = script.display().to_string();
                    let cmd = SandboxCommand::new(
                        &python,
                        &[script_arg.as_str()],
                        &copy,
                        config.gate_timeout,
                    );
                    from_outcome(gate, sandbox.run(&cmd, true), started)
                }
                GateName::Security => security_gate(
                    &sandbox,
                    venv_python.as_deref(),
                    &base_python,
                    &copy,
                    config,
                    started,
                ),
            }
        };
        on_event(GateEvent::Finished(result.clone()));
        results.push(result);
    }
    let passed = results
        .iter()
        .all(|r| matches!(r.status, GateStatus::Passed | GateStatus::Skipped))
        && !results
            .iter()
            .any(|r| r.gate == GateName::Install && r.status != GateStatus::Passed);
    Ok(GateReport {
        gates: results,
        passed,
        sandbox: SandboxReport {
            network_isolated: sandbox.network_isolated(),
            environment_cleared: true,
            output_limit_bytes: config.output_limit,
            time_limit_s: config.gate_timeout.as_secs(),
        },
        venv_python,
    })
}

fn security_gate(
    sandbox: &Sandbox,
    venv_python: Option<&Path>,
    base_python: &Path,
    project: &Path,
    config: &GateConfig,
    started: Instant,
) -> GateResult {
    let probe = |python: &Path| {
        std::process::Command::new(python)
            .args(["-c", "import bandit"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let python = [venv_python, Some(base_python)]
        .into_iter()
        .flatten()
        .find(|p| probe(p));
    let Some(python) = python else {
        return skipped(
            GateName::Security,
            "bandit is not installed (pip install bandit to enable this gate)",
        );
    };
    let cmd = SandboxCommand::new(
        python,
        &[
            "-m",
            "bandit",
            "-q",
            "-r",
            "app",
            "--severity-level",
            "high",
            "--confidence-level",
            "high",
        ],
        project,
        config.gate_timeout,
    );
    from_outcome(GateName::Security, sandbox.run(&cmd, true), started)
}

fn skipped(gate: GateName, reason: &str) -> GateResult {
    GateResult {
        gate,
        status: GateStatus::Skipped,
        duration_ms: 0,
        output_tail: String::new(),
        reason: Some(reason.to_string()),
    }
}

fn from_outcome(gate: GateName, outcome: Outcome, started: Instant) -> GateResult {
    let (status, reason) = match &outcome.exit {
        sandbox::Exit::Code(0) => (GateStatus::Passed, None),
        sandbox::Exit::Code(code) => (
            GateStatus::Failed,
            Some(format!("exited with status {code}")),
        ),
        sandbox::Exit::Signal => (GateStatus::Failed, Some("killed by a signal".to_string())),
        sandbox::Exit::TimedOut(limit) => (
            GateStatus::TimedOut,
            Some(format!(
                "ran past its {} s limit and was killed",
                limit.as_secs()
            )),
        ),
        sandbox::Exit::SpawnFailed(why) => {
            (GateStatus::Failed, Some(format!("could not start: {why}")))
        }
    };
    GateResult {
        gate,
        status,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        output_tail: outcome.output_tail,
        reason,
    }
}

/// Finds an executable on PATH (or checks a path with a slash).
pub fn which(program: &Path) -> Option<PathBuf> {
    if program.components().count() > 1 {
        return program.exists().then(|| program.to_path_buf());
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(program))
        .find(|p| p.is_file())
}

/// Copies a project tree, skipping caches, venvs and VCS folders.
fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for entry in std::fs::read_dir(from)? {
        let entry = entry?;
        let name = entry.file_name();
        let name_str = name.to_string_lossy();
        if matches!(
            name_str.as_ref(),
            ".git"
                | ".venv"
                | "venv"
                | "__pycache__"
                | ".pytest_cache"
                | ".ruff_cache"
                | "node_modules"
        ) || name_str.ends_with(".db")
        {
            continue;
        }
        let kind = entry.file_type()?;
        let target = to.join(&name);
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), target)?;
        }
    }
    Ok(())
}
