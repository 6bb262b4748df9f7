//! Model tasks on a language model: what to ask for each [`ModelTask`] (chat messages, a JSON
//! Schema for spec proposals, sampling settings) and how the generated text becomes a
//! [`ModelOutput`]. Invariant: every finished request gets an answer — when the model failed,
//! timed out or wrote something unusable, the deterministic answer, and the fallback is logged.

use codebegen_inference::chat::{chatml, ChatMessage};
use codebegen_inference::engine::FinishReason;
use codebegen_inference::sampling::SamplingParams;
use codebegen_pipeline::assist::{self, prose};
use codebegen_pipeline::extract::extract;

use crate::model::{run_deterministic, ModelOutput, ModelTask};

/// Tokens a spec proposal may take.
const SPEC_MAX_TOKENS: usize = 320;
/// Tokens a review summary may take.
const REVIEW_MAX_TOKENS: usize = 120;
/// Tokens a README overview may take.
const OVERVIEW_MAX_TOKENS: usize = 150;

/// What to run on the engine for one task.
#[derive(Debug, Clone)]
pub struct LlmJob {
    /// The ChatML prompt, ending with the opening of the assistant turn.
    pub prompt: String,
    /// Sampling settings (the engine adds the model's end-of-sequence token).
    pub params: SamplingParams,
    /// A JSON Schema the output must match, when the answer is structured.
    pub schema: Option<serde_json::Value>,
    /// Scheduler priority (higher first).
    pub priority: u8,
    /// The opening of the answer, already written into the prompt (a small model stays on
    /// topic when its first words are given); the model's text continues it.
    pub answer_prefix: String,
}

/// The job for a task. The seed is derived from the task, so the same task gets the same text.
pub fn job_for(task: &ModelTask, priority: u8) -> LlmJob {
    let seed = task_seed(task);
    let mut answer_prefix = String::new();
    let (messages, params, schema) = match task {
        ModelTask::ProposeSpec { prompt } => (
            prose::propose_spec_messages(prompt),
            SamplingParams {
                max_tokens: SPEC_MAX_TOKENS,
                seed,
                ..SamplingParams::default()
            },
            Some(assist::proposal_schema()),
        ),
        ModelTask::ReviewComments { findings, score } => (
            prose::review_messages(findings, *score),
            prose_params(REVIEW_MAX_TOKENS, seed),
            None,
        ),
        ModelTask::DocsOverview { spec } => {
            answer_prefix = prose::overview_opening(spec);
            (
                prose::overview_messages(spec),
                prose_params(OVERVIEW_MAX_TOKENS, seed),
                None,
            )
        }
    };
    let messages: Vec<ChatMessage> = messages
        .into_iter()
        .map(|(role, content)| ChatMessage::new(role, content))
        .collect();
    LlmJob {
        prompt: chatml(&messages, true) + &answer_prefix,
        params,
        schema,
        priority,
        answer_prefix,
    }
}

/// Free text: mildly random so a small model does not loop, a repetition penalty, and a stop at
/// the first blank line or at a new chat turn.
fn prose_params(max_tokens: usize, seed: u64) -> SamplingParams {
    SamplingParams {
        temperature: 0.3,
        top_k: Some(40),
        top_p: Some(0.9),
        repetition_penalty: 1.15,
        seed,
        max_tokens,
        stop_tokens: Vec::new(),
        stop_strings: vec!["\n\n".into(), "<|im_start|>".into(), "<|im_end|>".into()],
    }
}

/// FNV-1a over the task's JSON: a stable seed per task.
fn task_seed(task: &ModelTask) -> u64 {
    let bytes = serde_json::to_vec(task).unwrap_or_default();
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |hash, &b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Why an answer is the deterministic one rather than the model's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// The model's text was used.
    None,
    /// The request failed, was cancelled (timed out) or its text was unusable.
    Used(String),
}

/// Turns a finished generation into the task's output; `text` is what the model generated
/// after the job's answer prefix.
pub fn finish(task: &ModelTask, reason: &FinishReason, text: &str) -> (ModelOutput, Fallback) {
    let fallback = |why: String| (run_deterministic(task), Fallback::Used(why));
    match reason {
        FinishReason::Cancelled => return fallback("the request timed out".into()),
        FinishReason::Failed(why) => return fallback(format!("the model failed: {why}")),
        FinishReason::Stop | FinishReason::Length => {}
    }
    match task {
        ModelTask::ProposeSpec { prompt } => {
            let rules = extract(prompt);
            let (proposal, notes) = assist::parse_proposal(text);
            let mut hybrid = assist::merge(prompt, &rules, &proposal);
            hybrid.diagnostics.extend(notes);
            let output = ModelOutput::Spec {
                spec: serde_json::to_value(&hybrid.spec).unwrap_or_default(),
                diagnostics: serde_json::to_value(&hybrid.diagnostics).unwrap_or_default(),
            };
            if proposal.entities.is_empty() && proposal.relations.is_empty() {
                (
                    output,
                    Fallback::Used("the proposal was empty or unreadable".into()),
                )
            } else {
                (output, Fallback::None)
            }
        }
        ModelTask::ReviewComments { findings, .. } => match prose::clean_review(text) {
            Some(summary) => {
                let mut comments = vec![summary];
                comments.extend(findings.iter().take(20).cloned());
                (ModelOutput::Comments(comments), Fallback::None)
            }
            None => fallback("the review summary was unusable".into()),
        },
        ModelTask::DocsOverview { spec } => {
            match prose::clean_overview(&continued(&prose::overview_opening(spec), text), spec) {
                Some(overview) => (ModelOutput::Text(overview), Fallback::None),
                None => fallback("the overview was unusable".into()),
            }
        }
    }
}

/// The answer opening followed by the model's continuation, with one space between.
fn continued(opening: &str, text: &str) -> String {
    if text.starts_with(char::is_whitespace) {
        format!("{opening}{text}")
    } else {
        format!("{opening} {text}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn propose(prompt: &str) -> ModelTask {
        ModelTask::ProposeSpec {
            prompt: prompt.into(),
        }
    }

    #[test]
    fn jobs_are_chatml_with_a_stable_seed_and_a_schema_for_specs() {
        let job = job_for(&propose("todo app"), 2);
        assert!(job.prompt.starts_with("<|im_start|>system\n"));
        assert!(job
            .prompt
            .ends_with("todo app<|im_end|>\n<|im_start|>assistant\n"));
        assert!(job.schema.is_some());
        assert_eq!(job.params.temperature, 0.0);
        assert_eq!(
            job.params.seed,
            job_for(&propose("todo app"), 0).params.seed
        );
        assert_ne!(job.params.seed, job_for(&propose("blog"), 0).params.seed);
        job.params.validate().expect("valid sampling settings");
        let review = job_for(
            &ModelTask::ReviewComments {
                findings: vec![],
                score: 100,
            },
            1,
        );
        assert!(review.schema.is_none());
        review.params.validate().expect("valid sampling settings");
        assert!(review.params.stop_strings.contains(&"\n\n".to_string()));
    }

    #[test]
    fn failures_fall_back_to_the_deterministic_answer() {
        let task = propose("A blog: posts have a title.");
        for reason in [
            FinishReason::Cancelled,
            FinishReason::Failed("constraint".into()),
        ] {
            let (output, fallback) = finish(&task, &reason, "{\"entities\":[]}");
            assert_eq!(output, run_deterministic(&task));
            assert!(matches!(fallback, Fallback::Used(_)));
        }
        let (output, fallback) = finish(&task, &FinishReason::Stop, "not json");
        assert!(matches!(fallback, Fallback::Used(_)));
        let ModelOutput::Spec { spec, .. } = output else {
            panic!("a spec")
        };
        let ModelOutput::Spec { spec: rules, .. } = run_deterministic(&task) else {
            panic!("a spec")
        };
        assert_eq!(spec, rules, "an unreadable proposal leaves the rules' spec");
    }

    #[test]
    fn prose_from_the_model_is_used_when_it_is_usable() {
        let spec = extract("A bookstore: books have a title.").spec;
        let task = ModelTask::DocsOverview {
            spec: Box::new(spec),
        };
        let job = job_for(&task, 1);
        assert!(job.prompt.ends_with(&job.answer_prefix) && !job.answer_prefix.is_empty());
        let (output, fallback) = finish(
            &task,
            &FinishReason::Stop,
            "keeps track of books and their titles for a small shop.",
        );
        assert_eq!(fallback, Fallback::None);
        assert!(
            matches!(output, ModelOutput::Text(ref t) if t.starts_with(&job.answer_prefix) && t.ends_with("small shop.")),
            "{output:?}"
        );
        let (output, fallback) = finish(&task, &FinishReason::Length, "```");
        assert!(matches!(fallback, Fallback::Used(_)));
        assert_eq!(output, run_deterministic(&task));
        let review = ModelTask::ReviewComments {
            findings: vec!["app/main.py:3 [style] long line".into()],
            score: 97,
        };
        let (output, fallback) = finish(
            &review,
            &FinishReason::Stop,
            "The code is clean and idiomatic, with only one long line to shorten.",
        );
        assert_eq!(fallback, Fallback::None);
        assert!(matches!(output, ModelOutput::Comments(c) if c.len() == 2));
    }
}
