//! Running untrusted generated code: a cleared environment (no platform secrets), a time limit
//! that kills the whole process group, an output limit that keeps only the tail, and no network
//! (`unshare -n`, loopback only) where the machine allows it.

use std::collections::VecDeque;
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Environment variables passed to `pip` so it can reach the package index (proxy and CA
/// settings only; never credentials of the platform).
const PIP_PASSTHROUGH_PREFIXES: &[&str] = &[
    "PIP_",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
];
const PIP_PASSTHROUGH: &[&str] = &[
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
];

/// One command to run.
#[derive(Debug, Clone)]
pub struct SandboxCommand {
    /// The executable.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<String>,
    /// Working directory.
    pub cwd: PathBuf,
    /// Wall-clock limit.
    pub timeout: Duration,
    /// Whether to pass the package-index settings through (for `pip install`).
    pub pip_env: bool,
}

impl SandboxCommand {
    /// A command with no pip settings.
    pub fn new(program: &Path, args: &[&str], cwd: &Path, timeout: Duration) -> SandboxCommand {
        SandboxCommand {
            program: program.to_path_buf(),
            args: args.iter().map(|a| a.to_string()).collect(),
            cwd: cwd.to_path_buf(),
            timeout,
            pip_env: false,
        }
    }
}

/// How a command ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// Exited with this status.
    Code(i32),
    /// Killed by a signal it did not ask for.
    Signal,
    /// Killed after this limit.
    TimedOut(Duration),
    /// Could not be started.
    SpawnFailed(String),
}

/// What a command did.
#[derive(Debug, Clone)]
pub struct Outcome {
    /// How it ended.
    pub exit: Exit,
    /// The last bytes of stdout and stderr together.
    pub output_tail: String,
}

/// The sandbox settings found on this machine.
#[derive(Debug, Clone)]
pub struct Sandbox {
    home: PathBuf,
    output_limit: usize,
    unshare: bool,
}

impl Sandbox {
    /// Checks whether `unshare -n` works here; `home` becomes `$HOME` of sandboxed commands.
    pub fn probe(home: &Path, output_limit: usize) -> Sandbox {
        let unshare = Command::new("unshare")
            .args(["-n", "true"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        Sandbox {
            home: home.to_path_buf(),
            output_limit,
            unshare,
        }
    }

    /// Whether commands run with `isolate` get no network.
    pub fn network_isolated(&self) -> bool {
        self.unshare
    }

    /// Runs a command. With `isolate`, it runs in a fresh network namespace with only loopback.
    pub fn run(&self, cmd: &SandboxCommand, isolate: bool) -> Outcome {
        let mut command = if isolate && self.unshare {
            let mut c = Command::new("unshare");
            c.args([
                "-n",
                "sh",
                "-c",
                "ip link set lo up 2>/dev/null; exec \"$0\" \"$@\"",
            ]);
            c.arg(&cmd.program);
            c
        } else {
            Command::new(&cmd.program)
        };
        command.args(&cmd.args).current_dir(&cmd.cwd).env_clear();
        let program_dir = cmd
            .program
            .parent()
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        command
            .env(
                "PATH",
                format!("{program_dir}:/usr/local/bin:/usr/bin:/bin"),
            )
            .env("HOME", &self.home)
            .env("TMPDIR", &self.home)
            .env("LANG", "C.UTF-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env("PYTHONUNBUFFERED", "1")
            .env("PYTHONHASHSEED", "0");
        if cmd.pip_env {
            for (key, value) in std::env::vars() {
                if PIP_PASSTHROUGH.contains(&key.as_str())
                    || PIP_PASSTHROUGH_PREFIXES.iter().any(|p| key.starts_with(p))
                {
                    command.env(key, value);
                }
            }
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(err) => {
                return Outcome {
                    exit: Exit::SpawnFailed(err.to_string()),
                    output_tail: String::new(),
                }
            }
        };
        let tail = Arc::new(Mutex::new(VecDeque::with_capacity(self.output_limit)));
        let readers: Vec<_> = [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn Read + Send>),
        ]
        .into_iter()
        .flatten()
        .map(|stream| {
            let tail = Arc::clone(&tail);
            let limit = self.output_limit;
            std::thread::spawn(move || keep_tail(stream, &tail, limit))
        })
        .collect();
        let started = Instant::now();
        let exit = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status.code().map(Exit::Code).unwrap_or(Exit::Signal),
                Ok(None) if started.elapsed() >= cmd.timeout => {
                    kill_group(child.id());
                    let _ = child.wait();
                    break Exit::TimedOut(cmd.timeout);
                }
                Ok(None) => std::thread::sleep(Duration::from_millis(20)),
                Err(err) => break Exit::SpawnFailed(err.to_string()),
            }
        };
        // The group may still hold the pipes open (a background grandchild): end it too.
        kill_group(child.id());
        for reader in readers {
            let _ = reader.join();
        }
        let bytes: Vec<u8> = tail
            .lock()
            .map(|t| t.iter().copied().collect())
            .unwrap_or_default();
        Outcome {
            exit,
            output_tail: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }
}

fn keep_tail(mut stream: Box<dyn Read + Send>, tail: &Mutex<VecDeque<u8>>, limit: usize) {
    let mut buf = [0u8; 8192];
    loop {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if let Ok(mut t) = tail.lock() {
                    t.extend(&buf[..n]);
                    let excess = t.len().saturating_sub(limit);
                    t.drain(..excess);
                }
            }
        }
    }
}

fn kill_group(pid: u32) {
    // The child was started with `process_group(0)`, so its group id is its pid. A group that is
    // already gone gives ESRCH, which is fine.
    if let Ok(raw) = i32::try_from(pid) {
        if raw > 1 {
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(raw),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sandbox() -> (tempfile::TempDir, Sandbox) {
        let dir = tempfile::tempdir().expect("tempdir");
        let sb = Sandbox::probe(dir.path(), 64);
        (dir, sb)
    }

    #[test]
    fn environment_is_cleared() {
        let (dir, sb) = sandbox();
        std::env::set_var("CODEBEGEN_PLATFORM_SECRET", "do-not-leak");
        let cmd = SandboxCommand::new(
            Path::new("/usr/bin/env"),
            &[],
            dir.path(),
            Duration::from_secs(10),
        );
        let out = sb.run(&cmd, false);
        assert_eq!(out.exit, Exit::Code(0));
        assert!(!out.output_tail.contains("do-not-leak"));
    }

    #[test]
    fn output_keeps_only_the_tail() {
        let (dir, sb) = sandbox();
        let cmd = SandboxCommand::new(
            Path::new("/bin/sh"),
            &["-c", "seq 1 10000"],
            dir.path(),
            Duration::from_secs(10),
        );
        let out = sb.run(&cmd, false);
        assert!(out.output_tail.len() <= 64);
        assert!(out.output_tail.ends_with("10000\n"));
    }

    #[test]
    fn time_limit_kills_the_group() {
        let (dir, sb) = sandbox();
        let cmd = SandboxCommand::new(
            Path::new("/bin/sh"),
            &["-c", "sleep 30 & sleep 30"],
            dir.path(),
            Duration::from_millis(300),
        );
        let started = Instant::now();
        let out = sb.run(&cmd, false);
        assert_eq!(out.exit, Exit::TimedOut(Duration::from_millis(300)));
        assert!(started.elapsed() < Duration::from_secs(10));
    }

    #[test]
    fn isolated_commands_have_no_network_when_unshare_works() {
        let (dir, sb) = sandbox();
        if !sb.network_isolated() {
            println!("skipped: unshare -n is not permitted on this machine");
            return;
        }
        // Only loopback exists inside: no default route at all.
        let cmd = SandboxCommand::new(
            Path::new("/bin/sh"),
            &["-c", "ip route show default | wc -l"],
            dir.path(),
            Duration::from_secs(10),
        );
        let out = sb.run(&cmd, true);
        assert_eq!(out.exit, Exit::Code(0));
        assert_eq!(out.output_tail.trim(), "0");
    }
}
