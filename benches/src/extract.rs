//! `codebegen bench extract`: how well prompts are read, scored against the corpus's gold specs
//! with the rules of `../shared/eval/spec_score.py` (`score`), overall and per style, with the
//! latency per prompt. The rules run in this process on every case; with a model, so does the
//! model (`actors::llm_local`, the job and the answer-reading a worker uses), and three specs are
//! scored per case: the rules', the model's proposal alone (validated, or as far as validation
//! reads it when it refuses the proposal), and today's hybrid merge of the two (validated, as
//! `codebegen spec` would print it).
//!
//! The figures are reported, not judged: low scores are not an error; a case file that does not
//! read, or a model that does not load, is.

pub mod corpus;
mod report;
pub mod score;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use codebegen_actors::llm_local::LocalModel;
use codebegen_actors::llm_tasks::Fallback;
use codebegen_pipeline::assist::{parse_proposal, proposal_as_spec};
use codebegen_pipeline::generate::{spec_stage, GenerateOptions, Input};
use serde::Serialize;
use serde_json::{json, Value};

pub use corpus::{default_set, load, Case};
pub use report::{misses, table};
pub use score::{by_style, score, summarize, CaseScore, Summary};

/// Settings.
#[derive(Debug, Clone)]
pub struct ExtractBenchConfig {
    /// The case files.
    pub files: Vec<PathBuf>,
    /// Only the cases of this split (`dev`, `test`), or all.
    pub split: Option<String>,
    /// Timed runs of the rules per prompt (the median is its latency).
    pub runs: usize,
    /// The model to run too, if any.
    pub model: Option<ModelSetup>,
}

/// A model to load in this process.
#[derive(Debug, Clone)]
pub struct ModelSetup {
    /// What the user named it (catalog name or path), for the report.
    pub name: String,
    /// The GGUF file.
    pub path: PathBuf,
    /// A proposal running longer is cancelled (the rules' spec is used, as a worker would).
    pub timeout: Duration,
}

/// Milliseconds per prompt over the cases.
#[derive(Debug, Clone, Serialize)]
pub struct Latency {
    /// Median.
    pub p50_ms: f64,
    /// 95th percentile.
    pub p95_ms: f64,
    /// Slowest prompt.
    pub max_ms: f64,
}

impl Latency {
    fn of(samples: &[f64]) -> Option<Latency> {
        let mut sorted = samples.to_vec();
        sorted.sort_by(f64::total_cmp);
        let at = |q: f64| sorted[((sorted.len() - 1) as f64 * q).round() as usize];
        (!sorted.is_empty()).then(|| Latency {
            p50_ms: at(0.5),
            p95_ms: at(0.95),
            max_ms: at(1.0),
        })
    }
}

/// One way of reading the prompts, scored.
#[derive(Debug, Clone, Serialize)]
pub struct Contender {
    /// `rules`, `model` or `combined`.
    pub name: String,
    /// Over every case.
    pub summary: Summary,
    /// Per style.
    pub by_style: BTreeMap<String, Summary>,
    /// Per case, misses included.
    pub cases: Vec<CaseScore>,
    /// Cases whose spec did not validate (scored as an empty spec, or for the model alone as
    /// far as validation read it).
    pub invalid_specs: usize,
}

impl Contender {
    fn new(name: &str, cases: Vec<CaseScore>, invalid_specs: usize) -> Contender {
        Contender {
            name: name.into(),
            summary: summarize(&cases),
            by_style: by_style(&cases),
            cases,
            invalid_specs,
        }
    }
}

/// One prompt on the model.
#[derive(Debug, Clone, Serialize)]
pub struct ModelPrompt {
    /// The case.
    pub id: String,
    /// From submission to the answer.
    pub ms: f64,
    /// Prompt tokens.
    pub n_prompt: usize,
    /// Tokens generated.
    pub n_generated: usize,
    /// `stop`, `length`, `cancelled` (timed out) or `failed: ...`.
    pub finish: String,
    /// Why the combined spec is the rules' alone, when it is.
    pub fallback: Option<String>,
    /// Why the proposal alone did not validate, when it did not.
    pub alone_invalid: Option<String>,
    /// What the model wrote.
    pub text: String,
}

/// The model's part of the report.
#[derive(Debug, Clone, Serialize)]
pub struct ModelRun {
    /// As named on the command line.
    pub model: String,
    /// The file loaded.
    pub path: String,
    /// Seconds to load it.
    pub load_s: f64,
    /// The proposal alone, validated (as far as validation reads it when it is refused; those
    /// are counted in `invalid_specs`).
    pub alone: Contender,
    /// Today's hybrid merge, validated.
    pub combined: Contender,
    /// Model time per prompt.
    pub latency: Option<Latency>,
    /// Per prompt.
    pub prompts: Vec<ModelPrompt>,
}

/// The whole report. `summary`, `by_style` and `cases` are the rules' and read like
/// `spec_score.py --json`.
#[derive(Debug, Clone, Serialize)]
pub struct ExtractReport {
    /// The case files read.
    pub set: Vec<String>,
    /// The split scored, if one was chosen.
    pub split: Option<String>,
    /// The rules' figures.
    pub summary: Summary,
    /// The rules' figures per style.
    pub by_style: BTreeMap<String, Summary>,
    /// The rules' results per case.
    pub cases: Vec<CaseScore>,
    /// Rules' specs that did not validate.
    pub invalid_specs: usize,
    /// The rules' time per prompt (extraction and validation, median of the runs).
    pub latency: Option<Latency>,
    /// The harness's CPU baseline (sha256 of 4 MiB), measured in the same run.
    pub baseline: crate::stats::Summary,
    /// The rules' p50 over the baseline's median.
    pub p50_to_baseline: Option<f64>,
    /// With `--model`.
    pub model: Option<ModelRun>,
}

impl ExtractReport {
    /// The contenders in table order: rules, then the model alone and combined.
    pub fn contenders(&self) -> Vec<(&str, &Summary, &BTreeMap<String, Summary>, usize)> {
        let mut out = vec![("rules", &self.summary, &self.by_style, self.invalid_specs)];
        if let Some(model) = &self.model {
            for c in [&model.alone, &model.combined] {
                out.push((c.name.as_str(), &c.summary, &c.by_style, c.invalid_specs));
            }
        }
        out
    }
}

/// The validated spec of `input` as JSON, or validation's first error.
fn checked(input: Input) -> Result<Value, String> {
    match spec_stage(&input, &GenerateOptions::default()) {
        Ok((spec, _)) => {
            Ok(serde_json::to_value(spec.spec())
                .expect("AppSpec is plain data and always serializes"))
        }
        Err(err) => Err(err.to_string()),
    }
}

/// The validated spec, or, when validation refuses it, the spec as far as validation could read
/// it (names normalised, nothing invented) and the first error: a small model often names a
/// relation's end without proposing that entity, and what it did get right still counts.
fn as_far_as_valid(value: &Value) -> (Value, Option<String>) {
    let validation = codebegen_schema::check_value(value);
    let first_error = || {
        validation
            .diagnostics
            .iter()
            .find(|d| d.severity == codebegen_schema::Severity::Error)
            .map_or_else(|| "invalid".to_string(), ToString::to_string)
    };
    let json = |spec: &codebegen_schema::AppSpec| {
        serde_json::to_value(spec).expect("AppSpec is plain data and always serializes")
    };
    match (&validation.spec, &validation.best_effort) {
        (Some(spec), _) => (json(spec.spec()), None),
        (None, Some(spec)) => (json(spec), Some(first_error())),
        (None, None) => (json!({}), Some(first_error())),
    }
}

/// Runs the benchmark.
pub fn run(config: &ExtractBenchConfig) -> Result<ExtractReport, String> {
    let cases: Vec<Case> = load(&config.files)?
        .into_iter()
        .filter(|c| {
            config
                .split
                .as_deref()
                .is_none_or(|want| c.split.as_deref() == Some(want))
        })
        .collect();

    let mut rules = Vec::with_capacity(cases.len());
    let mut rules_ms = Vec::with_capacity(cases.len());
    let mut rules_specs = Vec::with_capacity(cases.len());
    let mut invalid = 0;
    for case in &cases {
        let mut times = Vec::with_capacity(config.runs.max(1));
        let mut spec = None;
        for _ in 0..config.runs.max(1) {
            let started = Instant::now();
            spec = checked(Input::Prompt(case.prompt.clone())).ok();
            times.push(started.elapsed().as_secs_f64() * 1000.0);
        }
        times.sort_by(f64::total_cmp);
        rules_ms.push(times[times.len() / 2]);
        invalid += usize::from(spec.is_none());
        let spec = spec.unwrap_or_else(|| json!({}));
        rules.push(score(case, &spec));
        rules_specs.push(spec);
    }

    let model = match &config.model {
        Some(setup) => Some(run_model(setup, &cases, &rules_specs)?),
        None => None,
    };
    let baseline = crate::stats::baseline(10);
    let latency = Latency::of(&rules_ms);
    Ok(ExtractReport {
        set: config
            .files
            .iter()
            .map(|f| f.display().to_string())
            .collect(),
        split: config.split.clone(),
        summary: summarize(&rules),
        by_style: by_style(&rules),
        cases: rules,
        invalid_specs: invalid,
        p50_to_baseline: latency
            .as_ref()
            .map(|l| l.p50_ms / baseline.median_ms.max(1e-9)),
        latency,
        baseline,
        model,
    })
}

/// Loads the model and scores its proposal alone and merged, case by case.
fn run_model(
    setup: &ModelSetup,
    cases: &[Case],
    rules_specs: &[Value],
) -> Result<ModelRun, String> {
    let started = Instant::now();
    let mut model = LocalModel::load(&LocalModel::config(
        &setup.name,
        setup.path.clone(),
        setup.timeout,
    ))?;
    let load_s = started.elapsed().as_secs_f64();
    let (mut alone, mut combined, mut prompts) = (Vec::new(), Vec::new(), Vec::new());
    let (mut alone_invalid, mut combined_invalid) = (0, 0);
    for (case, rules_spec) in cases.iter().zip(rules_specs) {
        let proposal = model.propose_spec(&case.prompt)?;
        let name = rules_spec["name"].as_str().unwrap_or("app");
        let (read, _) = parse_proposal(&proposal.answer.text);
        let (alone_spec, alone_error) = as_far_as_valid(&proposal_as_spec(name, &read));
        let combined_spec = checked(Input::Spec(proposal.spec.clone())).ok();
        alone_invalid += usize::from(alone_error.is_some());
        combined_invalid += usize::from(combined_spec.is_none());
        alone.push(score(case, &alone_spec));
        combined.push(score(case, &combined_spec.unwrap_or_else(|| json!({}))));
        prompts.push(ModelPrompt {
            id: case.id.clone(),
            ms: proposal.answer.elapsed.as_secs_f64() * 1000.0,
            n_prompt: proposal.answer.n_prompt,
            n_generated: proposal.answer.n_generated,
            finish: format!("{:?}", proposal.answer.reason).to_lowercase(),
            fallback: match proposal.fallback {
                Fallback::None => None,
                Fallback::Used(why) => Some(why),
            },
            alone_invalid: alone_error,
            text: proposal.answer.text,
        });
    }
    let ms: Vec<f64> = prompts.iter().map(|p| p.ms).collect();
    Ok(ModelRun {
        model: setup.name.clone(),
        path: setup.path.display().to_string(),
        load_s,
        alone: Contender::new("model", alone, alone_invalid),
        combined: Contender::new("combined", combined, combined_invalid),
        latency: Latency::of(&ms),
        prompts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case_line(id: &str, split: &str, prompt: &str, entities: &[&str]) -> String {
        json!({"id": id, "prompt": prompt, "split": split, "style": "terse", "entities": entities,
               "relations": [], "fields": {}})
        .to_string()
            + "\n"
    }

    #[test]
    fn the_rules_are_scored_per_split_with_their_latency() {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("set.jsonl");
        std::fs::write(
            &file,
            case_line(
                "a",
                "dev",
                "A bookstore: books have a title and a price.",
                &["Book"],
            ) + &case_line("b", "test", "Pets belong to owners.", &["Pet", "Owner"]),
        )
        .expect("write");
        let config = ExtractBenchConfig {
            files: vec![file],
            split: Some("dev".into()),
            runs: 2,
            model: None,
        };
        let report = run(&config).expect("runs");
        assert_eq!(report.summary.cases, 1);
        assert_eq!(report.cases[0].id, "a");
        assert_eq!(report.summary.entity_recall, Some(1.0));
        assert_eq!(report.by_style.keys().collect::<Vec<_>>(), ["terse"]);
        let latency = report.latency.as_ref().expect("one prompt timed");
        assert!(latency.p50_ms > 0.0 && latency.p50_ms <= latency.max_ms);
        assert!(report.model.is_none());
        assert!(table(&report).contains("rules"));
    }

    #[test]
    fn latency_percentiles_are_nearest_rank() {
        let samples: Vec<f64> = (1..=20).map(f64::from).collect();
        let latency = Latency::of(&samples).expect("samples");
        assert_eq!(
            (latency.p50_ms, latency.p95_ms, latency.max_ms),
            (11.0, 19.0, 20.0)
        );
        assert!(Latency::of(&[]).is_none());
    }

    /// The real model, when `CODEBEGEN_TEST_MODEL` names one: every case gets a proposal, both
    /// model contenders are scored, and a timed-out proposal falls back like a worker's.
    #[test]
    fn the_model_contenders_are_scored_on_the_real_model() {
        let Some(path) = std::env::var_os("CODEBEGEN_TEST_MODEL").map(PathBuf::from) else {
            assert!(
                std::env::var("CODEBEGEN_REQUIRE_MODEL").as_deref() != Ok("1"),
                "CODEBEGEN_REQUIRE_MODEL=1 but CODEBEGEN_TEST_MODEL is not set"
            );
            eprintln!("skipped: CODEBEGEN_TEST_MODEL not set");
            return;
        };
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("set.jsonl");
        std::fs::write(
            &file,
            case_line(
                "a",
                "dev",
                "A bookstore: books have a title and a price.",
                &["Book"],
            ),
        )
        .expect("write");
        let mut config = ExtractBenchConfig {
            files: vec![file],
            split: None,
            runs: 1,
            model: Some(ModelSetup {
                name: "test-model".into(),
                path,
                timeout: Duration::from_secs(600),
            }),
        };
        let report = run(&config).expect("runs");
        let model = report.model.as_ref().expect("the model ran");
        assert_eq!(model.prompts.len(), 1);
        assert!(model.prompts[0].n_generated > 0, "{:?}", model.prompts[0]);
        assert_eq!(model.alone.summary.cases, 1);
        assert_eq!(model.combined.summary.cases, 1);
        assert!(
            model.combined.summary.entity_recall >= report.summary.entity_recall,
            "the merge keeps every rule-based entity"
        );
        let table = table(&report);
        assert!(
            table.contains("combined") && table.contains("model"),
            "{table}"
        );

        if let Some(setup) = config.model.as_mut() {
            setup.timeout = Duration::ZERO;
        }
        let report = run(&config).expect("runs");
        let model = report.model.as_ref().expect("the model ran");
        assert_eq!(model.prompts[0].finish, "cancelled");
        assert!(model.prompts[0].fallback.is_some());
        assert_eq!(
            model.combined.summary, report.summary,
            "the rules' spec is used"
        );
    }
}
