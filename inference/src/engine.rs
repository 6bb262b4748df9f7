//! The engine loop: requests in, one batched forward step at a time, token events out.
//!
//! [`Engine::step`] asks the [`Batcher`] for a plan, runs it through the model in one
//! [`Forward::forward`] call, and then samples every sequence that reached its end with its own
//! [`Sampler`], under its constraint's mask, checking stop tokens, stop strings, `max_tokens`
//! and the cache's length limit. Text streams through each sequence's [`StreamDecoder`] and
//! [`StopMatcher`], which holds back text that may begin a stop string.
//!
//! Invariants: every accepted request ends with exactly one [`EngineEvent::Finished`]; the texts
//! of its [`EngineEvent::Token`] events, concatenated, are the `text` of that event; one
//! sequence's failure (its constraint rejecting a token) never touches the others.

mod sequence;

use std::collections::HashMap;
use std::path::Path;

use crate::batcher::{Batcher, BatcherConfig, StepPlan};
use crate::config::CacheConfig;
use crate::constrained::TokenConstraint;
use crate::sampling::SamplingParams;
use crate::tokenizer::Tokenizer;
use crate::{BatchItem, Forward, InferenceError};

use sequence::{Outcome, Sequence};

/// Batch limits of an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// Sequences running at once.
    pub max_batch: usize,
    /// Tokens in one forward step, prefill chunks and decodes together. Raised to `max_batch`
    /// when smaller, so that every running decode fits in every step.
    pub max_tokens_per_step: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            max_batch: 16,
            max_tokens_per_step: 512,
        }
    }
}

/// One generation request.
pub struct Request {
    /// Caller-chosen id, unique among the engine's live requests.
    pub id: u64,
    /// Prompt token ids (chat template already applied).
    pub prompt: Vec<u32>,
    /// How tokens are chosen and when generation stops.
    pub params: SamplingParams,
    /// Restricts the output (e.g. to JSON matching a schema).
    pub constraint: Option<Box<dyn TokenConstraint>>,
    /// Higher runs first; first in, first out within a priority.
    pub priority: u8,
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("id", &self.id)
            .field("prompt_len", &self.prompt.len())
            .field("params", &self.params)
            .field("constrained", &self.constraint.is_some())
            .field("priority", &self.priority)
            .finish()
    }
}

/// Why a request ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FinishReason {
    /// A stop token (the model's end of sequence included) or a stop string.
    Stop,
    /// `max_tokens` generated, or the sequence filled the KV cache.
    Length,
    /// [`Engine::cancel`].
    Cancelled,
    /// The request could not go on (its constraint rejected the output); others are unaffected.
    Failed(String),
}

/// What a step reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEvent {
    /// One generated token and the text it releases (possibly empty: an unfinished UTF-8
    /// character, or text held back because it may begin a stop string).
    Token {
        /// The request.
        id: u64,
        /// The token sampled.
        token: u32,
        /// Text to stream now.
        text: String,
    },
    /// The request ended; it holds no cache blocks any more.
    Finished {
        /// The request.
        id: u64,
        /// Why.
        reason: FinishReason,
        /// All the generated text (stop strings and stop tokens excluded).
        text: String,
        /// Prompt tokens.
        n_prompt: usize,
        /// Tokens sampled, the final stop token included.
        n_generated: usize,
    },
}

/// Counters of an engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EngineStats {
    /// Sequences admitted and not finished.
    pub running: usize,
    /// Sequences waiting for admission.
    pub waiting: usize,
    /// Free KV-cache blocks.
    pub free_blocks: usize,
    /// KV-cache blocks in all.
    pub total_blocks: usize,
    /// Preemptions so far.
    pub preemptions: u64,
    /// Forward steps run so far.
    pub steps: u64,
    /// Tokens sampled so far.
    pub tokens_generated: u64,
    /// Tokens run through the model so far (prefill, recompute and decode).
    pub tokens_computed: u64,
}

/// A continuous-batching engine over one model.
pub struct Engine {
    model: Box<dyn Forward>,
    tokenizer: Tokenizer,
    batcher: Batcher,
    sequences: HashMap<u64, Sequence>,
    /// Events to report with the next step (cancellations).
    pending: Vec<EngineEvent>,
    steps: u64,
    tokens_generated: u64,
    tokens_computed: u64,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("batcher", &self.batcher)
            .field("stats", &self.stats())
            .finish_non_exhaustive()
    }
}

impl Engine {
    /// An engine over `model`, whose cache geometry sizes the block pool.
    pub fn new(model: Box<dyn Forward>, tokenizer: Tokenizer, config: EngineConfig) -> Self {
        let batcher = Batcher::new(BatcherConfig {
            max_batch: config.max_batch,
            max_tokens_per_step: config.max_tokens_per_step,
            block_size: model.block_size(),
            num_blocks: model.num_blocks(),
        });
        Self {
            model,
            tokenizer,
            batcher,
            sequences: HashMap::new(),
            pending: Vec::new(),
            steps: 0,
            tokens_generated: 0,
            tokens_computed: 0,
        }
    }

    /// Loads a GGUF model and the tokenizer in its metadata.
    pub fn load_gguf(
        path: &Path,
        config: EngineConfig,
        cache: CacheConfig,
    ) -> Result<Self, InferenceError> {
        let (model, content) = crate::model::load_gguf(path, cache)?;
        let tokenizer = Tokenizer::from_gguf(&content)?;
        Ok(Self::new(Box::new(model), tokenizer, config))
    }

    /// Loads a GGUF model onto CUDA device `ordinal` (our NVRTC kernels; f32 compute and
    /// cache) and the tokenizer in its metadata.
    pub fn load_gguf_cuda(
        path: &Path,
        ordinal: usize,
        config: EngineConfig,
        cache: CacheConfig,
    ) -> Result<Self, InferenceError> {
        let kernels = codebegen_kernels::gpu::GpuKernels::open(ordinal)?;
        let (model, content) =
            crate::model::DeviceModel::<_, f32>::from_gguf(kernels, path, cache)?;
        let tokenizer = Tokenizer::from_gguf(&content)?;
        Ok(Self::new(Box::new(model), tokenizer, config))
    }

    /// The tokenizer that goes with the model.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The most tokens one sequence (prompt plus output) can hold.
    pub fn max_sequence_len(&self) -> usize {
        self.batcher.config().max_len()
    }

    /// Queues a request. Rejects bad sampling parameters, unknown token ids, a duplicate id,
    /// and prompts that can never fit the KV cache.
    pub fn submit(&mut self, request: Request) -> Result<(), InferenceError> {
        request.params.validate()?;
        let vocab_size = self.model.vocab_size();
        if let Some(bad) = request.prompt.iter().find(|&&t| t as usize >= vocab_size) {
            return Err(InferenceError::InvalidRequest(format!(
                "prompt token {bad} is outside the vocabulary of {vocab_size}"
            )));
        }
        self.batcher
            .add(request.id, request.priority, request.prompt.len())?;
        tracing::debug!(
            request_id = request.id,
            n_prompt = request.prompt.len(),
            priority = request.priority,
            "request queued"
        );
        let sequence = Sequence::new(request, &self.tokenizer);
        self.sequences.insert(sequence.id(), sequence);
        Ok(())
    }

    /// Cancels a request, freeing its blocks at once; its `Finished { Cancelled }` comes with
    /// the next step. False when the id is not live.
    pub fn cancel(&mut self, id: u64) -> bool {
        if !self.batcher.cancel(id) {
            return false;
        }
        if let Some(sequence) = self.sequences.remove(&id) {
            self.pending
                .push(sequence.finished(FinishReason::Cancelled));
        }
        true
    }

    /// Whether a step would do anything.
    pub fn has_work(&self) -> bool {
        self.batcher.has_work() || !self.pending.is_empty()
    }

    /// Current counters.
    pub fn stats(&self) -> EngineStats {
        let batcher = self.batcher.stats();
        EngineStats {
            running: batcher.running,
            waiting: batcher.waiting,
            free_blocks: batcher.free_blocks,
            total_blocks: batcher.total_blocks,
            preemptions: batcher.preemptions,
            steps: self.steps,
            tokens_generated: self.tokens_generated,
            tokens_computed: self.tokens_computed,
        }
    }

    /// Admits waiting requests, runs one batched forward step and samples. Returns the
    /// step's events in order. A model error leaves every request queued as it was.
    pub fn step(&mut self) -> Result<Vec<EngineEvent>, InferenceError> {
        let mut events = std::mem::take(&mut self.pending);
        let plan = self.batcher.plan();
        if plan.items.is_empty() {
            return Ok(events);
        }
        let span = tracing::debug_span!(
            "engine_step",
            step = self.steps,
            n_items = plan.items.len(),
            n_tokens = plan.n_tokens(),
            n_preempted = plan.preempted.len(),
        );
        let _entered = span.enter();
        let logits = self.forward(&plan)?;
        self.batcher.commit(&plan);
        self.steps += 1;
        self.tokens_computed += plan.n_tokens() as u64;
        let max_len = self.max_sequence_len();
        let eos = self.tokenizer.eos_token();
        for (item, mut row) in plan.items.iter().zip(logits) {
            if !item.samples {
                continue;
            }
            let sequence = self
                .sequences
                .get_mut(&item.id)
                .expect("planned sequences are live");
            self.tokens_generated += 1;
            match sequence.sample(&mut row, eos, max_len, &mut events) {
                Outcome::Continue => self.batcher.push_token(item.id),
                Outcome::Finished(reason) => {
                    let sequence = self
                        .sequences
                        .remove(&item.id)
                        .expect("planned sequences are live");
                    self.batcher.finish(item.id);
                    tracing::debug!(request_id = item.id, reason = ?reason, "request finished");
                    events.push(sequence.finished(reason));
                }
            }
        }
        Ok(events)
    }

    /// Runs the plan's items through the model; one logits row per item.
    fn forward(&mut self, plan: &StepPlan) -> Result<Vec<Vec<f32>>, InferenceError> {
        let items: Vec<BatchItem<'_>> = plan
            .items
            .iter()
            .map(|item| {
                let tokens = self.sequences[&item.id].tokens();
                BatchItem {
                    tokens: &tokens[item.start_pos..item.start_pos + item.n_tokens],
                    start_pos: item.start_pos,
                    block_table: self
                        .batcher
                        .block_table(item.id)
                        .expect("planned sequences hold blocks"),
                }
            })
            .collect();
        let logits = self.model.forward(&items)?;
        if logits.len() != items.len() {
            return Err(InferenceError::Model(format!(
                "the forward step returned {} logits rows for {} items",
                logits.len(),
                items.len()
            )));
        }
        Ok(logits)
    }
}
