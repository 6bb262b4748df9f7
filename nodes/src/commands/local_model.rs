//! `--model NAME|PATH` of `spec`, `generate` and `bench extract`: the catalog name or GGUF path
//! resolved under the data directory, the model loaded in this process (no service, no
//! workers), and the spec stage run on its proposal merged into the rules' spec.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::Context;
use codebegen_actors::llm_local::{LocalModel, LocalProposal};
use codebegen_actors::llm_tasks::Fallback;
use codebegen_pipeline::generate::{spec_stage, GenerateOptions};
use codebegen_pipeline::{GenerateError, Input};
use codebegen_schema::{CheckedSpec, Diagnostic};

use crate::cli::ModelArgs;

/// The model file `args` names, if it names one.
pub fn resolve(args: &ModelArgs, data_dir: &Path) -> anyhow::Result<Option<PathBuf>> {
    args.model
        .as_deref()
        .map(|model| {
            codebegen_inference::catalog::resolve(model, data_dir)
                .map_err(|e| anyhow::anyhow!("--model {model}: {e}"))
        })
        .transpose()
}

/// Loads the model `args` names, saying so on stderr; `None` without `--model`.
pub fn load(args: &ModelArgs, data_dir: &Path) -> anyhow::Result<Option<LocalModel>> {
    let Some(path) = resolve(args, data_dir)? else {
        return Ok(None);
    };
    let name = args.model.as_deref().unwrap_or_default();
    let started = Instant::now();
    let config = LocalModel::config(name, path.clone(), Duration::from_secs(args.model_timeout));
    let model = LocalModel::load(&config)
        .map_err(anyhow::Error::msg)
        .with_context(|| format!("loading the model {}", path.display()))?;
    let file = path.display().to_string();
    let what = if file == name {
        file
    } else {
        format!("{name} ({file})")
    };
    eprintln!(
        "model {what} loaded in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(Some(model))
}

/// One line on what the model did.
pub fn describe(proposal: &LocalProposal) -> String {
    let answer = &proposal.answer;
    let outcome = match &proposal.fallback {
        Fallback::None => "merged into the rule-based spec".to_string(),
        Fallback::Used(why) => format!("not used ({why}); the rule-based spec stands"),
    };
    format!(
        "model proposal: {} tokens in {:.1} s, {outcome}",
        answer.n_generated,
        answer.elapsed.as_secs_f64()
    )
}

/// What the spec stage gives: the checked spec and its diagnostics, or why there is none.
pub type SpecStage = Result<(CheckedSpec, Vec<Diagnostic>), GenerateError>;

/// Stage 1 with a model: its proposal for `prompt`, merged into the rules' spec as a worker
/// does, then validated like any spec; extraction's and the merge's diagnostics come first.
pub fn spec_stage_with_model(
    model: &mut LocalModel,
    prompt: &str,
    options: &GenerateOptions,
) -> anyhow::Result<(SpecStage, LocalProposal)> {
    let proposal = model.propose_spec(prompt).map_err(anyhow::Error::msg)?;
    let mut diagnostics = proposal.diagnostics.clone();
    let stage = match spec_stage(&Input::Spec(proposal.spec.clone()), options) {
        Ok((spec, more)) => {
            diagnostics.extend(more);
            Ok((spec, diagnostics))
        }
        Err(GenerateError::InvalidSpec(more)) => {
            diagnostics.extend(more);
            Err(GenerateError::InvalidSpec(diagnostics))
        }
        Err(other) => Err(other),
    };
    Ok((stage, proposal))
}
