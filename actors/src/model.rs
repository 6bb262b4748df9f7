//! What stages ask a model for, and the deterministic engine that answers without one. LLM
//! workers (a later issue) answer the same tasks.

use codebegen_pipeline::extract::extract;
use codebegen_schema::AppSpec;
use serde::{Deserialize, Serialize};

/// A request to a model worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ModelTask {
    /// Propose a spec for a prompt.
    ProposeSpec {
        /// The prompt.
        prompt: String,
    },
    /// Write review comments for findings (one line per finding summary given).
    ReviewComments {
        /// Finding summaries (`file:line rule message`).
        findings: Vec<String>,
        /// The score.
        score: u32,
    },
    /// Write the README overview paragraph for a spec.
    DocsOverview {
        /// The spec.
        spec: Box<AppSpec>,
    },
}

impl ModelTask {
    /// A short name for logs and metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            ModelTask::ProposeSpec { .. } => "propose_spec",
            ModelTask::ReviewComments { .. } => "review_comments",
            ModelTask::DocsOverview { .. } => "docs_overview",
        }
    }
}

/// A model's answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum ModelOutput {
    /// A proposed spec (validated by the caller) plus notes.
    Spec {
        /// The spec as JSON.
        spec: serde_json::Value,
        /// Diagnostics as JSON.
        diagnostics: serde_json::Value,
    },
    /// Review comments.
    Comments(Vec<String>),
    /// Prose.
    Text(String),
}

/// The deterministic engine: rule-based extraction and templated prose.
pub fn run_deterministic(task: &ModelTask) -> ModelOutput {
    match task {
        ModelTask::ProposeSpec { prompt } => {
            let extraction = extract(prompt);
            ModelOutput::Spec {
                spec: serde_json::to_value(&extraction.spec).unwrap_or_default(),
                diagnostics: serde_json::to_value(&extraction.diagnostics).unwrap_or_default(),
            }
        }
        ModelTask::ReviewComments { findings, score } => {
            let mut comments = vec![if findings.is_empty() {
                format!("The review found nothing to fix (score {score}/100).")
            } else {
                format!("The review found {} item(s) (score {score}/100); the fixable ones were fixed automatically.", findings.len())
            }];
            comments.extend(findings.iter().take(20).cloned());
            ModelOutput::Comments(comments)
        }
        ModelTask::DocsOverview { spec } => {
            let names: Vec<&str> = spec.entities.iter().map(|e| e.name.as_str()).collect();
            let auth = if spec.auth.enabled {
                " Users sign up and log in with JWT bearer tokens; writes require a token."
            } else {
                ""
            };
            let about = if spec.description.is_empty() {
                String::new()
            } else {
                format!(" {}", spec.description.trim_end_matches('.')) + "."
            };
            ModelOutput::Text(format!(
                "`{}` is a FastAPI backend with {} resource(s): {}.{about}{auth} It runs on SQLite out of the box and ships with its own tests.",
                spec.name,
                names.len(),
                names.join(", ")
            ))
        }
    }
}
