//! Spec extraction plus rendering (gates off): the generator's own speed.

use codebegen_pipeline::generate::{generate, GenerateOptions, Input};
use serde::Serialize;

use crate::stats::{baseline, measure, Summary};

/// The prompts measured: a terse one, the 5-entity bookstore, and a larger one.
pub const PROMPTS: &[(&str, &str)] = &[
    ("terse", "url shortener"),
    (
        "bookstore_5_entities",
        "A bookstore API: books have a title, isbn, price and publication date, and belong to a publisher. Authors write books (a book can have several authors). Customers leave reviews on books with a rating from 1 to 5 and a comment.",
    ),
    (
        "kanban_auth",
        "A kanban board backend with boards, columns and cards. Cards have a title, description, position and due date; members can be assigned to cards. Users log in with email and password.",
    ),
];

/// One prompt's result.
#[derive(Debug, Clone, Serialize)]
pub struct PromptResult {
    /// Fixture name.
    pub name: String,
    /// Entities in the spec.
    pub entities: usize,
    /// Files rendered.
    pub files: usize,
    /// Full pipeline timing (extract, validate, render, review, fix).
    pub pipeline: Summary,
    /// Median divided by the baseline median.
    pub ratio_to_baseline: f64,
}

/// The whole report.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateReport {
    /// The sha256 baseline measured in the same run.
    pub baseline: Summary,
    /// Per prompt.
    pub prompts: Vec<PromptResult>,
    /// The goal from the issue: median ≤ 200 ms for the 5-entity prompt.
    pub goal_median_ms: f64,
    /// Whether the 5-entity prompt met it.
    pub goal_met: bool,
}

/// Runs the benchmark. Errors if a prompt fails to generate.
pub fn run(iterations: usize) -> Result<GenerateReport, String> {
    let base = baseline(iterations.clamp(5, 50));
    let mut prompts = Vec::new();
    for (name, prompt) in PROMPTS {
        let input = Input::Prompt(prompt.to_string());
        let options = GenerateOptions::default();
        let sample = generate(&input, &options).map_err(|e| format!("{name}: {e}"))?;
        let summary = measure(iterations, || {
            let out = generate(&input, &options);
            std::hint::black_box(out.is_ok());
        });
        prompts.push(PromptResult {
            name: name.to_string(),
            entities: sample.spec.entities.len(),
            files: sample.tree.len(),
            ratio_to_baseline: summary.median_ms / base.median_ms.max(1e-9),
            pipeline: summary,
        });
    }
    let goal_median_ms = 200.0;
    let goal_met = prompts
        .iter()
        .find(|p| p.name == "bookstore_5_entities")
        .is_some_and(|p| p.pipeline.median_ms <= goal_median_ms);
    Ok(GenerateReport {
        baseline: base,
        prompts,
        goal_median_ms,
        goal_met,
    })
}

/// A plain-text table of the report.
pub fn table(report: &GenerateReport) -> String {
    let mut out = format!(
        "baseline (sha256 of 4 MiB): median {:.2} ms\n{:<22} {:>8} {:>6} {:>11} {:>9} {:>9}\n",
        report.baseline.median_ms, "prompt", "entities", "files", "median ms", "p90 ms", "x base"
    );
    for p in &report.prompts {
        out.push_str(&format!(
            "{:<22} {:>8} {:>6} {:>11.2} {:>9.2} {:>9.2}\n",
            p.name,
            p.entities,
            p.files,
            p.pipeline.median_ms,
            p.pipeline.p90_ms,
            p.ratio_to_baseline
        ));
    }
    out.push_str(&format!(
        "goal: 5-entity median <= {:.0} ms: {}\n",
        report.goal_median_ms,
        if report.goal_met { "met" } else { "NOT met" }
    ));
    out
}
