//! `codebegen check DIR`: review plus gates on an existing project. Exits 1 when a gate fails.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use codebegen_pipeline::review::{review, ReviewContext};
use codebegen_pipeline::FileTree;

use crate::cli::CheckArgs;

const SKIP_DIRS: &[&str] = &[
    ".git",
    ".venv",
    "venv",
    "__pycache__",
    ".pytest_cache",
    ".ruff_cache",
    "node_modules",
];

/// Runs the command.
pub fn run(args: CheckArgs) -> anyhow::Result<ExitCode> {
    if !args.dir.is_dir() {
        anyhow::bail!("{} is not a directory", args.dir.display());
    }
    let mut tree = FileTree::new();
    read_tree(&args.dir, &args.dir, &mut tree)?;
    let auth_enabled = tree.iter().any(|(p, _)| p.ends_with("core/security.py"));
    let review = review(&tree, ReviewContext { auth_enabled });
    eprintln!(
        "review: score {}, {} findings",
        review.score,
        review.findings.len()
    );
    for f in &review.findings {
        eprintln!(
            "  {}:{} {:?} {} — {}",
            f.file, f.line, f.severity, f.rule, f.message
        );
    }
    let config = super::gate_config(&args.gates);
    let report = super::run_gates_with_progress(&args.dir, &config)?;
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(
                &serde_json::json!({ "review": review, "gates": report })
            )?
        );
    }
    Ok(if report.passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

fn read_tree(root: &Path, dir: &Path, tree: &mut FileTree) -> anyhow::Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            if !SKIP_DIRS.contains(&name.as_str()) {
                read_tree(root, &path, tree)?;
            }
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            let rel = path
                .strip_prefix(root)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            tree.insert(rel, text);
        }
    }
    Ok(())
}
