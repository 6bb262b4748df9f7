//! The LLM engine on candle, built for continuous batching.
//!
//! One [`engine::Engine`] step runs a batch of sequences at different positions (prefill chunks
//! and single decode tokens together) through [`model`]'s forward pass, whose KV cache lives in
//! fixed-size blocks handed out by [`blocks`]. The engine samples ([`sampling`]), optionally under a
//! JSON Schema constraint ([`constrained`]), and reports tokens as they come.
//!
//! Module owners and seams:
//! - [`config`], [`weights`], [`model`], [`kv_cache`]: loading GGUF and safetensors, the llama and
//!   qwen2 forward pass over a paged KV cache. The model implements [`Forward`].
//! - [`blocks`], [`batcher`], [`engine`]: the block allocator, the pure admission planner (token
//!   budget per step, maximum batch, FIFO within a priority, preemption) and the engine loop.
//! - [`tokenizer`], [`chat`], [`sampling`], [`constrained`]: text in and out.
//! - [`catalog`]: the models codebegen knows how to fetch.
//!
//! Invariant: this crate never does network IO and never knows about actors, HTTP or specs; it
//! turns token ids into token ids.

pub mod batcher;
pub mod blocks;
pub mod catalog;
pub mod chat;
pub mod config;
pub mod constrained;
pub mod engine;
pub mod error;
pub mod kv_cache;
pub mod model;
pub mod sampling;
pub mod tokenizer;
pub mod weights;

pub use error::InferenceError;

/// One sequence's slice of a batched forward step.
///
/// The model writes the keys and values of `tokens` at positions `start_pos..start_pos +
/// tokens.len()` into the cache blocks named by `block_table` (position `p` lives in block
/// `block_table[p / block_size]` at offset `p % block_size`), attends over positions
/// `0..start_pos + tokens.len()`, and returns the logits of the last token.
#[derive(Debug, Clone, Copy)]
pub struct BatchItem<'a> {
    /// New tokens to run: a prefill chunk, or one token when decoding.
    pub tokens: &'a [u32],
    /// Position of `tokens[0]` in the sequence; everything before it is already cached.
    pub start_pos: usize,
    /// Cache blocks of this sequence, in position order; covers at least
    /// `start_pos + tokens.len()` positions.
    pub block_table: &'a [u32],
}

/// A model that runs one batched step over a paged KV cache it owns.
pub trait Forward: Send {
    /// Vocabulary size: the length of each logits row.
    fn vocab_size(&self) -> usize;
    /// Positions per cache block.
    fn block_size(&self) -> usize;
    /// Cache blocks the model's KV storage holds; block ids are `0..num_blocks()`.
    fn num_blocks(&self) -> usize;
    /// Runs every item in one step and returns the last token's logits per item, in order.
    fn forward(&mut self, items: &[BatchItem<'_>]) -> Result<Vec<Vec<f32>>, InferenceError>;
}
