//! A language model run in this process, one request at a time, without the scheduler or a
//! worker actor: what `codebegen spec --model`, `generate --model` and `bench extract --model`
//! use. Invariant: a request here is the job a worker would run (`llm_tasks::job_for`, the spec
//! proposal under its JSON Schema constraint) and its answer is read the way a worker reads it
//! (`llm_tasks::finish`: the hybrid merge, or the rules' spec when the model failed, timed out
//! or wrote nothing usable), so a spec proposed here is the one the service would propose.
//! The caller's thread runs the engine; it blocks until the answer is there.

use std::time::{Duration, Instant};

use codebegen_inference::engine::{EngineEvent, FinishReason};
use codebegen_schema::Diagnostic;

use crate::llm_engine::{load_gguf, LlmEngine, LlmWorkerConfig};
use crate::llm_tasks::{finish, job_for, Fallback, LlmJob};
use crate::model::{ModelOutput, ModelTask};

/// Cache positions for the one request (prompt plus answer): room for the longest prompt the
/// API takes (8000 characters) and the proposal.
pub const LOCAL_POSITIONS: usize = 4096;

/// A finished request.
#[derive(Debug, Clone)]
pub struct LocalAnswer {
    /// What the model wrote after the job's answer prefix.
    pub text: String,
    /// Why it stopped (`Cancelled` when it ran past the timeout).
    pub reason: FinishReason,
    /// Prompt tokens.
    pub n_prompt: usize,
    /// Tokens generated.
    pub n_generated: usize,
    /// From submission to the last token.
    pub elapsed: Duration,
}

/// A spec proposal and what became of it.
#[derive(Debug, Clone)]
pub struct LocalProposal {
    /// The model's run.
    pub answer: LocalAnswer,
    /// The spec a worker would answer with (the hybrid merge, or the rules' spec on fallback),
    /// as JSON, not yet validated.
    pub spec: serde_json::Value,
    /// Extraction's and the merge's diagnostics.
    pub diagnostics: Vec<Diagnostic>,
    /// Whether the rules' spec was used instead of the model's, and why.
    pub fallback: Fallback,
}

/// An engine and the settings of its one request at a time.
pub struct LocalModel {
    engine: Box<dyn LlmEngine>,
    timeout: Duration,
    next_id: u64,
}

impl LocalModel {
    /// Settings for one request at a time of up to [`LOCAL_POSITIONS`] positions on the CPU,
    /// cancelled after `timeout`.
    pub fn config(
        name: &str,
        model_path: std::path::PathBuf,
        timeout: Duration,
    ) -> LlmWorkerConfig {
        let mut config = LlmWorkerConfig::new(name, model_path, 1);
        config.kv_blocks = LOCAL_POSITIONS / config.block_size;
        config.request_timeout = timeout;
        config
    }

    /// Loads the GGUF model of `config` (see [`LocalModel::config`]).
    pub fn load(config: &LlmWorkerConfig) -> Result<LocalModel, String> {
        Ok(LocalModel::new(load_gguf(config)?, config.request_timeout))
    }

    /// Runs requests on `engine` (tests plug a scripted one in).
    pub fn new(engine: Box<dyn LlmEngine>, timeout: Duration) -> LocalModel {
        LocalModel {
            engine,
            timeout,
            next_id: 0,
        }
    }

    /// Runs `job` to its end. A request the engine refuses finishes `Failed` with the reason;
    /// an error is the engine itself failing.
    pub fn run(&mut self, job: &LlmJob) -> Result<LocalAnswer, String> {
        let id = self.next_id;
        self.next_id += 1;
        let started = Instant::now();
        if let Err(refused) = self.engine.start(id, job) {
            return Ok(LocalAnswer {
                text: String::new(),
                reason: FinishReason::Failed(refused.to_string()),
                n_prompt: 0,
                n_generated: 0,
                elapsed: started.elapsed(),
            });
        }
        let mut timed_out = false;
        while self.engine.has_work() {
            if !timed_out && started.elapsed() >= self.timeout {
                timed_out = true;
                self.engine.cancel(id);
            }
            for event in self
                .engine
                .step()
                .map_err(|e| format!("engine step: {e}"))?
            {
                if let EngineEvent::Finished {
                    id: finished,
                    reason,
                    text,
                    n_prompt,
                    n_generated,
                } = event
                {
                    if finished == id {
                        return Ok(LocalAnswer {
                            text,
                            reason: if timed_out {
                                FinishReason::Cancelled
                            } else {
                                reason
                            },
                            n_prompt,
                            n_generated,
                            elapsed: started.elapsed(),
                        });
                    }
                }
            }
        }
        Err(format!(
            "the engine dropped request {id} without finishing it"
        ))
    }

    /// Asks the model for a spec of `prompt` and reads its answer as a worker does.
    pub fn propose_spec(&mut self, prompt: &str) -> Result<LocalProposal, String> {
        let task = ModelTask::ProposeSpec {
            prompt: prompt.to_string(),
        };
        let answer = self.run(&job_for(&task, 0))?;
        let (output, fallback) = finish(&task, &answer.reason, &answer.text);
        let ModelOutput::Spec { spec, diagnostics } = output else {
            return Err("a spec proposal was answered with something else".into());
        };
        let diagnostics = serde_json::from_value(diagnostics)
            .map_err(|e| format!("the proposal's diagnostics: {e}"))?;
        Ok(LocalProposal {
            answer,
            spec,
            diagnostics,
            fallback,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use codebegen_inference::engine::EngineStats;
    use codebegen_inference::InferenceError;

    use super::*;

    /// Answers every request with `text`, one step per character; never finishes when `hang`.
    struct Scripted {
        text: String,
        hang: bool,
        running: Option<(u64, VecDeque<char>)>,
        finished: Vec<EngineEvent>,
    }

    impl Scripted {
        fn boxed(text: &str, hang: bool) -> Box<dyn LlmEngine> {
            Box::new(Scripted {
                text: text.into(),
                hang,
                running: None,
                finished: Vec::new(),
            })
        }
    }

    impl LlmEngine for Scripted {
        fn start(&mut self, id: u64, job: &LlmJob) -> Result<(), InferenceError> {
            if job.prompt.contains("@refuse") {
                return Err(InferenceError::InvalidRequest("too long".into()));
            }
            self.running = Some((id, self.text.chars().collect()));
            Ok(())
        }

        fn cancel(&mut self, id: u64) -> bool {
            if self.running.as_ref().is_some_and(|(r, _)| *r == id) {
                self.running = None;
                self.finished.push(EngineEvent::Finished {
                    id,
                    reason: FinishReason::Cancelled,
                    text: String::new(),
                    n_prompt: 1,
                    n_generated: 0,
                });
                return true;
            }
            false
        }

        fn step(&mut self) -> Result<Vec<EngineEvent>, InferenceError> {
            let mut events = std::mem::take(&mut self.finished);
            if self.hang {
                return Ok(events);
            }
            if let Some((id, rest)) = &mut self.running {
                rest.pop_front();
                if rest.is_empty() {
                    events.push(EngineEvent::Finished {
                        id: *id,
                        reason: FinishReason::Stop,
                        text: self.text.clone(),
                        n_prompt: 1,
                        n_generated: self.text.len(),
                    });
                    self.running = None;
                }
            }
            Ok(events)
        }

        fn has_work(&self) -> bool {
            self.running.is_some() || !self.finished.is_empty()
        }

        fn stats(&self) -> EngineStats {
            EngineStats::default()
        }
    }

    const PROMPT: &str = "A library: members borrow books. Books have a title.";

    #[test]
    fn a_usable_proposal_is_merged_like_a_workers() {
        let text = r#"{"entities":[{"name":"Book","fields":[{"name":"title","type":"string"}]},{"name":"Member","fields":[]}],"relations":[]}"#;
        let mut model = LocalModel::new(Scripted::boxed(text, false), Duration::from_secs(60));
        let proposal = model.propose_spec(PROMPT).expect("answered");
        assert_eq!(proposal.answer.text, text);
        assert_eq!(proposal.answer.reason, FinishReason::Stop);
        assert_eq!(proposal.fallback, Fallback::None);
        let task = ModelTask::ProposeSpec {
            prompt: PROMPT.into(),
        };
        let (ModelOutput::Spec { spec, .. }, _) = finish(&task, &FinishReason::Stop, text) else {
            panic!("a spec")
        };
        assert_eq!(proposal.spec, spec);
    }

    #[test]
    fn a_refused_or_timed_out_request_falls_back_to_the_rules() {
        let rules = codebegen_pipeline::extract::extract(PROMPT).spec;
        let rules = serde_json::to_value(rules).expect("json");
        let mut model = LocalModel::new(Scripted::boxed("{}", true), Duration::ZERO);
        let proposal = model.propose_spec(PROMPT).expect("answered");
        assert_eq!(proposal.answer.reason, FinishReason::Cancelled);
        assert!(matches!(proposal.fallback, Fallback::Used(_)));
        assert_eq!(proposal.spec, rules);
        let mut model = LocalModel::new(Scripted::boxed("{}", false), Duration::from_secs(60));
        let proposal = model.propose_spec("@refuse").expect("answered");
        assert!(
            matches!(proposal.answer.reason, FinishReason::Failed(ref why) if why.contains("too long"))
        );
        assert!(matches!(proposal.fallback, Fallback::Used(_)));
    }
}
