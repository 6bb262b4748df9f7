//! The whole pure pipeline in one call: prompt or spec → checked spec → rendered tree → review →
//! fixes → final review. Each stage is also a function of its own, so a caller that checkpoints
//! between stages (the generation actor) runs the same code.

use codebegen_schema::{check_value, AppSpec, CheckedSpec, Database, Diagnostic};
use serde::{Deserialize, Serialize};

use crate::extract::extract;
use crate::render::{render, RenderError, RenderOptions};
use crate::review::{fix, review, AppliedFix, Review, ReviewContext};
use crate::tree::FileTree;

/// What to generate from.
#[derive(Debug, Clone)]
pub enum Input {
    /// A plain-English description.
    Prompt(String),
    /// A spec as JSON (validated here).
    Spec(serde_json::Value),
}

/// Options that override the spec.
#[derive(Debug, Clone, Default)]
pub struct GenerateOptions {
    /// Target database, overriding `options.db`.
    pub db: Option<Database>,
    /// README overview paragraph (from a model, when one is configured).
    pub overview: Option<String>,
}

/// Everything the pipeline produced.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Generated {
    /// The checked spec.
    pub spec: AppSpec,
    /// Diagnostics from extraction and validation.
    pub diagnostics: Vec<Diagnostic>,
    /// The final files.
    #[serde(skip)]
    pub tree: FileTree,
    /// The review before fixes.
    pub initial_review: Review,
    /// Fixes applied.
    pub fixes: Vec<AppliedFix>,
    /// The review after fixes.
    pub review: Review,
}

/// Why the pipeline stopped.
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The spec has errors; the diagnostics say which.
    #[error("the spec is invalid: {}", first_error(.0))]
    InvalidSpec(Vec<Diagnostic>),
    /// A template failed (a bug in codebegen).
    #[error(transparent)]
    Render(#[from] RenderError),
}

fn first_error(diagnostics: &[Diagnostic]) -> String {
    diagnostics
        .iter()
        .find(|d| d.severity == codebegen_schema::Severity::Error)
        .map(|d| d.to_string())
        .unwrap_or_else(|| "unknown error".into())
}

/// Stage 1: prompt or spec JSON → checked spec plus diagnostics.
pub fn spec_stage(
    input: &Input,
    options: &GenerateOptions,
) -> Result<(CheckedSpec, Vec<Diagnostic>), GenerateError> {
    let (mut value, mut diagnostics) = match input {
        Input::Prompt(prompt) => {
            let extraction = extract(prompt);
            let value = serde_json::to_value(&extraction.spec)
                .expect("AppSpec is plain data and always serializes");
            (value, extraction.diagnostics)
        }
        Input::Spec(value) => (value.clone(), Vec::new()),
    };
    if let Some(db) = options.db {
        if let Some(obj) = value.as_object_mut() {
            let opts = obj
                .entry("options")
                .or_insert_with(|| serde_json::json!({}));
            if let Some(o) = opts.as_object_mut() {
                o.insert("db".into(), serde_json::Value::String(db.as_str().into()));
            }
        }
    }
    let validation = check_value(&value);
    diagnostics.extend(validation.diagnostics);
    match validation.spec {
        Some(spec) => Ok((spec, diagnostics)),
        None => Err(GenerateError::InvalidSpec(diagnostics)),
    }
}

/// Stage 2: render the files.
pub fn render_stage(
    spec: &CheckedSpec,
    options: &GenerateOptions,
) -> Result<FileTree, GenerateError> {
    let render_options = RenderOptions {
        overview: options.overview.clone(),
    };
    Ok(render(spec, &render_options)?)
}

/// Stages 3 and 4: review, fix what is fixable, review again.
pub fn review_stage(
    spec: &CheckedSpec,
    tree: &FileTree,
) -> (FileTree, Review, Vec<AppliedFix>, Review) {
    let cx = ReviewContext {
        auth_enabled: spec.spec().auth.enabled,
    };
    let initial = review(tree, cx);
    let (fixed, fixes) = fix(tree, &initial);
    let final_review = if fixes.is_empty() {
        initial.clone()
    } else {
        review(&fixed, cx)
    };
    (fixed, initial, fixes, final_review)
}

/// Runs every pure stage.
pub fn generate(input: &Input, options: &GenerateOptions) -> Result<Generated, GenerateError> {
    let (spec, diagnostics) = spec_stage(input, options)?;
    let tree = render_stage(&spec, options)?;
    let (tree, initial_review, fixes, review) = review_stage(&spec, &tree);
    Ok(Generated {
        spec: spec.into_inner(),
        diagnostics,
        tree,
        initial_review,
        fixes,
        review,
    })
}
