//! Every prompt of the extraction corpus (`pipeline/corpus/*.jsonl`, both splits and the
//! fixtures) still becomes a project: the extracted spec passes validation, renders, and the
//! static review leaves no high or critical finding.

use std::path::Path;

use codebegen_pipeline::review::FindingSeverity;
use codebegen_pipeline::{generate, GenerateOptions, Input};
use codebegen_schema::{check, has_errors};

fn corpus_prompts() -> Vec<(String, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("pipeline/corpus exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable corpus file");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let case: serde_json::Value = serde_json::from_str(line).expect("a JSON case");
            out.push((
                case["id"].as_str().expect("id").to_string(),
                case["prompt"].as_str().expect("prompt").to_string(),
            ));
        }
    }
    out
}

#[test]
fn every_corpus_prompt_renders_a_project() {
    let prompts = corpus_prompts();
    assert!(
        prompts.len() >= 250,
        "the corpus has {} prompts",
        prompts.len()
    );
    let mut failures = Vec::new();
    for (id, prompt) in &prompts {
        match generate(&Input::Prompt(prompt.clone()), &GenerateOptions::default()) {
            Ok(generated) => {
                if has_errors(&check(&generated.spec).diagnostics) {
                    failures.push(format!("{id}: the spec does not validate"));
                }
                if generated.tree.is_empty() {
                    failures.push(format!("{id}: no files"));
                }
                let errors: Vec<String> = generated
                    .review
                    .findings
                    .iter()
                    .filter(|f| {
                        matches!(
                            f.severity,
                            FindingSeverity::High | FindingSeverity::Critical
                        )
                    })
                    .map(|f| format!("{f:?}"))
                    .collect();
                if !errors.is_empty() {
                    failures.push(format!(
                        "{id}: review findings of high or critical severity {errors:?}"
                    ));
                }
            }
            Err(e) => failures.push(format!("{id}: {e}")),
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
