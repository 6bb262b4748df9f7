//! `codebegen generate`: prompt or spec → project directory plus `codebegen.json` (spec, review,
//! fixes and gate results). Exits 1 when a gate fails. With `--model`, the spec is the model's
//! proposal merged into the rule-based one, the model running in this process.

use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{bail, Context};
use codebegen_pipeline::generate::{render_stage, review_stage, spec_stage, GenerateOptions};
use codebegen_pipeline::{FileTree, GenerateError, Input};
use serde_json::json;

use crate::cli::GenerateArgs;
use crate::progress::Progress;

use super::local_model;

/// The manifest written next to the project.
pub const MANIFEST: &str = "codebegen.json";

/// Runs the command.
pub fn run(args: GenerateArgs) -> anyhow::Result<ExitCode> {
    let input = match (&args.spec, &args.prompt) {
        (Some(path), _) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading spec file {}", path.display()))?;
            let value: serde_json::Value = serde_json::from_str(&text)
                .with_context(|| format!("{} is not valid JSON", path.display()))?;
            Input::Spec(value)
        }
        (None, Some(prompt)) => {
            let chars = prompt.chars().count();
            if chars == 0 || chars > 8000 {
                bail!("the prompt must be 1 to 8000 characters long (got {chars})");
            }
            Input::Prompt(prompt.clone())
        }
        (None, None) => bail!("give a prompt, or --spec FILE"),
    };
    let previous = check_output_dir(&args.out, args.force)?;
    let options = GenerateOptions {
        db: super::database(args.db),
        overview: None,
    };
    if args.model.model.is_some() && args.spec.is_some() {
        bail!("--model reads a prompt; it has nothing to do with --spec");
    }
    let data_dir = args
        .gates
        .data_dir
        .clone()
        .unwrap_or_else(crate::paths::default_data_dir);
    let mut model = local_model::load(&args.model, &data_dir)?;
    let mut progress = Progress::new();

    progress.start("spec");
    let t = Instant::now();
    let mut model_note = None;
    let stage = match (&mut model, &input) {
        (Some(model), Input::Prompt(prompt)) => {
            let (stage, proposal) = local_model::spec_stage_with_model(model, prompt, &options)?;
            model_note = Some(local_model::describe(&proposal));
            stage
        }
        _ => spec_stage(&input, &options),
    };
    let (spec, diagnostics) = match stage {
        Ok(ok) => ok,
        Err(GenerateError::InvalidSpec(diagnostics)) => {
            progress.finish("spec", false, "invalid spec");
            super::print_diagnostics(&diagnostics);
            return Ok(ExitCode::from(2));
        }
        Err(other) => return Err(other.into()),
    };
    let spec_ms = t.elapsed().as_secs_f64() * 1000.0;
    let s = spec.spec();
    progress.finish(
        "spec",
        true,
        &format!(
            "{} entities, {} relations, auth {}",
            s.entities.len(),
            s.relations.len(),
            if s.auth.enabled { "on" } else { "off" }
        ),
    );
    if let Some(note) = &model_note {
        eprintln!("{note}");
    }
    super::print_diagnostics(&diagnostics);

    progress.start("render");
    let t = Instant::now();
    let tree = render_stage(&spec, &options)?;
    let render_ms = t.elapsed().as_secs_f64() * 1000.0;
    progress.finish("render", true, &format!("{} files", tree.len()));

    progress.start("review");
    let t = Instant::now();
    let (tree, initial_review, fixes, review) = review_stage(&spec, &tree);
    let review_ms = t.elapsed().as_secs_f64() * 1000.0;
    progress.finish(
        "review",
        true,
        &format!(
            "score {} → {} after {} fixes, {} findings left",
            initial_review.score,
            review.score,
            fixes.len(),
            review.findings.len()
        ),
    );

    write_tree(&args.out, &tree, previous.as_ref())?;

    let mut gates_json = serde_json::Value::Null;
    let mut passed = true;
    if args.validate {
        let config = super::gate_config(&args.gates);
        let report = super::run_gates_with_progress(&args.out, &config)?;
        passed = report.passed;
        gates_json = serde_json::to_value(&report)?;
    }
    let manifest = json!({
        "codebegen_version": env!("CARGO_PKG_VERSION"),
        "spec": spec.spec(),
        "diagnostics": diagnostics,
        "model": args.model.model.as_ref().map(|name| json!({ "name": name, "note": model_note })),
        "initial_review": initial_review,
        "fixes": fixes,
        "review": review,
        "gates": gates_json,
        "files": tree.listing(),
        "timings_ms": { "spec": spec_ms, "render": render_ms, "review": review_ms },
    });
    std::fs::write(
        args.out.join(MANIFEST),
        serde_json::to_string_pretty(&manifest)? + "\n",
    )
    .context("writing codebegen.json")?;
    eprintln!("wrote {} files to {}", tree.len() + 1, args.out.display());
    Ok(if passed {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Refuses a non-empty directory without `--force`; returns the file list of an earlier
/// generation found there, so its stale files can be removed.
fn check_output_dir(out: &Path, force: bool) -> anyhow::Result<Option<Vec<String>>> {
    if !out.exists() {
        return Ok(None);
    }
    if !out.is_dir() {
        bail!("{} exists and is not a directory", out.display());
    }
    let non_empty = std::fs::read_dir(out)
        .with_context(|| format!("reading {}", out.display()))?
        .next()
        .is_some();
    if non_empty && !force {
        bail!(
            "{} is not empty; pass --force to write into it",
            out.display()
        );
    }
    let manifest = std::fs::read_to_string(out.join(MANIFEST)).ok();
    Ok(manifest
        .and_then(|m| serde_json::from_str::<serde_json::Value>(&m).ok())
        .map(|v| {
            v["files"]
                .as_array()
                .map(|files| {
                    files
                        .iter()
                        .filter_map(|f| f["path"].as_str().map(str::to_string))
                        .collect()
                })
                .unwrap_or_default()
        }))
}

fn write_tree(out: &Path, tree: &FileTree, previous: Option<&Vec<String>>) -> anyhow::Result<()> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    if let Some(previous) = previous {
        for stale in previous
            .iter()
            .filter(|p| tree.get(p).is_none() && is_safe_relative(p))
        {
            let _ = std::fs::remove_file(out.join(stale));
        }
    }
    for (path, content) in tree.iter() {
        if !is_safe_relative(path) {
            bail!("refusing to write outside the output directory: {path}");
        }
        let target = out.join(path);
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, content)
            .with_context(|| format!("writing {}", target.display()))?;
    }
    Ok(())
}

fn is_safe_relative(path: &str) -> bool {
    let p = Path::new(path);
    p.is_relative()
        && p.components()
            .all(|c| matches!(c, std::path::Component::Normal(_)))
}
