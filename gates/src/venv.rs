//! The install gate: one venv per requirements hash, cached under the data directory. A venv is
//! built in a temporary folder and renamed into place, so a crash never leaves a half-built one
//! where the cache would find it. Every later use goes through `venv/bin/python -m ...`, which
//! keeps working after the rename.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::sandbox::{Exit, Outcome, Sandbox, SandboxCommand};

/// The requirement files hashed for the cache key, in order.
const REQUIREMENT_FILES: &[&str] = &["requirements.txt", "requirements-dev.txt"];

/// The cache key: sha256 over the requirement files and the interpreter path.
pub(crate) fn cache_key(project: &Path, python: &Path) -> String {
    let mut hasher = Sha256::new();
    hasher.update(python.display().to_string().as_bytes());
    for name in REQUIREMENT_FILES {
        hasher.update(name.as_bytes());
        hasher.update(std::fs::read(project.join(name)).unwrap_or_default());
    }
    hex::encode(hasher.finalize())[..16].to_string()
}

/// Returns the venv's python, building the venv if needed. Err carries the failed outcome.
pub(crate) fn ensure(
    base_python: &Path,
    project: &Path,
    cache: &Path,
    timeout: Duration,
    sandbox: &Sandbox,
) -> Result<(PathBuf, Outcome), Outcome> {
    let requirements = if project.join("requirements-dev.txt").exists() {
        "requirements-dev.txt"
    } else {
        "requirements.txt"
    };
    if !project.join(requirements).exists() {
        return Err(Outcome {
            exit: Exit::SpawnFailed("the project has no requirements.txt".into()),
            output_tail: String::new(),
        });
    }
    let key = cache_key(project, base_python);
    let final_dir = cache.join(&key);
    let python = final_dir.join("bin").join("python");
    if python.exists() && final_dir.join(".complete").exists() {
        return Ok((
            python,
            Outcome {
                exit: Exit::Code(0),
                output_tail: format!("reused cached venv {key}\n"),
            },
        ));
    }
    let building = cache.join(format!("{key}.building-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&building);
    let building_arg = building.display().to_string();
    let create = SandboxCommand::new(
        base_python,
        &["-m", "venv", building_arg.as_str()],
        project,
        Duration::from_secs(120),
    );
    let outcome = sandbox.run(&create, false);
    if outcome.exit != Exit::Code(0) {
        return Err(outcome);
    }
    let pip_python = building.join("bin").join("python");
    let mut install = SandboxCommand::new(
        &pip_python,
        &[
            "-m",
            "pip",
            "install",
            "--quiet",
            "--only-binary=:all:",
            "-r",
            requirements,
        ],
        project,
        timeout,
    );
    install.pip_env = true;
    let outcome = sandbox.run(&install, false);
    if outcome.exit != Exit::Code(0) {
        let _ = std::fs::remove_dir_all(&building);
        return Err(outcome);
    }
    if std::fs::write(building.join(".complete"), key.as_bytes()).is_err()
        || std::fs::rename(&building, &final_dir).is_err()
    {
        // Another run finished the same venv first: use theirs.
        let _ = std::fs::remove_dir_all(&building);
        if !final_dir.join(".complete").exists() {
            return Err(Outcome {
                exit: Exit::SpawnFailed(format!(
                    "could not move the venv into {}",
                    final_dir.display()
                )),
                output_tail: outcome.output_tail,
            });
        }
    }
    Ok((python, outcome))
}
