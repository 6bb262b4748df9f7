//! The llama / qwen2 forward pass: one batched step over many sequences and a paged KV cache.
//!
//! All new tokens of all batch items are stacked as rows, so every linear layer is one
//! [`qmatmul::matmul`] call over the whole batch (each weight block is read once per step).
//! Attention runs per (row, head) against the row's own sequence blocks, in parallel when there
//! is enough of it. Scratch buffers grow to the largest batch seen and are reused, so a step in
//! steady state allocates only the logits it returns.

mod attention;
mod device;
mod ops;

pub use device::{DeviceModel, HostModel};

use std::cell::Cell;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};

use candle_core::quantized::gguf_file::Content;
use codebegen_kernels::cpu::qmatmul;
use rayon::prelude::*;

use crate::config::{CacheConfig, ModelConfig};
use crate::kv_cache::KvCache;
use crate::weights::{GgufNames, GgufSource, HfNames, ModelWeights, SafetensorsSource};
use crate::{BatchItem, Forward, InferenceError};

use attention::{attend_group, AttentionShape, SequenceContext};

/// Attention work (visible positions times query heads, summed over rows) below which the step
/// stays on one thread: rayon's fork-join costs more than it saves there.
const PARALLEL_ATTENTION_WORK: usize = 4096;

/// A llama-like decoder (llama or qwen2) with its KV cache; implements [`Forward`].
#[derive(Debug)]
pub struct LlamaModel {
    config: ModelConfig,
    weights: ModelWeights,
    cache: KvCache,
    inv_freq: Vec<f32>,
    scratch: Scratch,
}

/// Buffers of one step, sized for the largest batch seen so far.
#[derive(Debug, Default)]
struct Scratch {
    rows: usize,
    items: usize,
    /// Residual stream, `rows x hidden`.
    hidden: Vec<f32>,
    /// Normalised residual, `rows x hidden`.
    normed: Vec<f32>,
    /// `[q | k | v]` per row.
    qkv: Vec<f32>,
    /// Attention output per row, `rows x q_dim`.
    attention: Vec<f32>,
    /// Output of the projections back to `hidden`.
    projected: Vec<f32>,
    /// `[gate | up]` per row.
    gate_up: Vec<f32>,
    /// `silu(gate) * up` per row.
    activated: Vec<f32>,
    /// RoPE cosines and sines per row, `rows x head_dim / 2`.
    cos: Vec<f32>,
    sin: Vec<f32>,
    /// Position and batch item of each row.
    positions: Vec<usize>,
    row_items: Vec<usize>,
    /// Outputs of split (unfused) projections before they are interleaved.
    split: Vec<f32>,
    /// Normalised last row of each item, `items x hidden`.
    last: Vec<f32>,
    /// Logits of each item, `items x vocab`.
    logits: Vec<f32>,
}

impl Scratch {
    fn reserve(&mut self, config: &ModelConfig, rows: usize, items: usize) {
        if rows > self.rows {
            let qkv_width = config.q_dim() + 2 * config.kv_dim();
            self.hidden.resize(rows * config.hidden_size, 0.0);
            self.normed.resize(rows * config.hidden_size, 0.0);
            self.qkv.resize(rows * qkv_width, 0.0);
            self.attention.resize(rows * config.q_dim(), 0.0);
            self.projected.resize(rows * config.hidden_size, 0.0);
            self.gate_up
                .resize(rows * 2 * config.intermediate_size, 0.0);
            self.activated.resize(rows * config.intermediate_size, 0.0);
            self.cos.resize(rows * config.head_dim / 2, 0.0);
            self.sin.resize(rows * config.head_dim / 2, 0.0);
            self.positions.resize(rows, 0);
            self.row_items.resize(rows, 0);
            self.rows = rows;
        }
        if items > self.items {
            self.last.resize(items * config.hidden_size, 0.0);
            self.logits.resize(items * config.vocab_size, 0.0);
            self.items = items;
        }
    }
}

/// Loads a GGUF model; the returned header also carries the tokenizer metadata.
pub fn load_gguf(path: &Path, cache: CacheConfig) -> Result<(LlamaModel, Content), InferenceError> {
    LlamaModel::from_gguf(path, cache)
}

impl LlamaModel {
    /// A model over `weights` with an empty cache of `cache` blocks.
    pub fn new(
        config: ModelConfig,
        weights: ModelWeights,
        cache: CacheConfig,
    ) -> Result<Self, InferenceError> {
        check_model(&config, &weights, cache)?;
        let kv_cache = KvCache::new(cache, config.n_layers, config.n_kv_heads, config.head_dim);
        Ok(Self {
            inv_freq: ops::rope_inv_freq(config.head_dim, config.rope_theta),
            config,
            weights,
            cache: kv_cache,
            scratch: Scratch::default(),
        })
    }

    /// Loads a GGUF file (llama or qwen2) and returns the model with the file's header.
    pub fn from_gguf(path: &Path, cache: CacheConfig) -> Result<(Self, Content), InferenceError> {
        let (config, weights, content) = read_gguf(path)?;
        Ok((Self::new(config, weights, cache)?, content))
    }

    /// Loads a Hugging Face checkpoint directory: `config.json` and `*.safetensors`.
    pub fn from_safetensors(dir: &Path, cache: CacheConfig) -> Result<Self, InferenceError> {
        let config_path = dir.join("config.json");
        let text = std::fs::read_to_string(&config_path).map_err(|source| InferenceError::Io {
            path: config_path.clone(),
            source,
        })?;
        let json: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| InferenceError::Model(format!("{}: {e}", config_path.display())))?;
        let mut config = ModelConfig::from_hf_json(&json)?;
        let mut source = SafetensorsSource::from_dir(dir)?;
        if !crate::weights::TensorSource::contains(&source, "lm_head.weight") {
            config.tied_embeddings = true;
        }
        let weights = ModelWeights::load(&config, &mut source, &HfNames)?;
        Self::new(config, weights, cache)
    }

    /// Shapes and hyper-parameters.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// The weights.
    pub fn weights(&self) -> &ModelWeights {
        &self.weights
    }

    /// Bytes of KV cache storage.
    pub fn cache_size_in_bytes(&self) -> usize {
        self.cache.size_in_bytes()
    }

    /// Rejects items the cache or the vocabulary cannot take, before anything is written.
    fn check(&self, items: &[BatchItem<'_>]) -> Result<(), InferenceError> {
        check_items(
            items,
            self.cache.block_size(),
            self.cache.num_blocks(),
            self.config.vocab_size,
        )
    }
}

/// Rejects an empty cache and weights whose depth is not the config's.
fn check_model(
    config: &ModelConfig,
    weights: &ModelWeights,
    cache: CacheConfig,
) -> Result<(), InferenceError> {
    if cache.block_size == 0 || cache.num_blocks == 0 {
        return Err(InferenceError::InvalidRequest(format!(
            "the KV cache needs at least one block of at least one position, got {cache:?}"
        )));
    }
    if weights.layers.len() != config.n_layers {
        return Err(InferenceError::Model(format!(
            "{} decoder blocks loaded, the config says {}",
            weights.layers.len(),
            config.n_layers
        )));
    }
    Ok(())
}

/// The config, weights and header of a GGUF file (llama or qwen2).
fn read_gguf(path: &Path) -> Result<(ModelConfig, ModelWeights, Content), InferenceError> {
    let content = GgufSource::read_content(path)?;
    let config = ModelConfig::from_gguf(&content)?;
    let weights = {
        let mut source = GgufSource::new(path, &content)?;
        ModelWeights::load(&config, &mut source, &GgufNames)?
    };
    Ok((config, weights, content))
}

/// Rejects batch items a cache of `num_blocks` blocks of `block_size` positions, or a
/// vocabulary of `vocab_size` tokens, cannot take.
fn check_items(
    items: &[BatchItem<'_>],
    block_size: usize,
    num_blocks: usize,
    vocab_size: usize,
) -> Result<(), InferenceError> {
    for (index, item) in items.iter().enumerate() {
        let invalid = |why: String| {
            Err(InferenceError::InvalidRequest(format!(
                "batch item {index}: {why}"
            )))
        };
        if item.tokens.is_empty() {
            return invalid("no tokens".into());
        }
        let end = item.start_pos + item.tokens.len();
        let blocks_needed = end.div_ceil(block_size);
        if item.block_table.len() < blocks_needed {
            return invalid(format!(
                "{} blocks cover {} positions, {end} needed",
                item.block_table.len(),
                item.block_table.len() * block_size
            ));
        }
        if let Some(block) = item.block_table[..blocks_needed]
            .iter()
            .find(|block| **block as usize >= num_blocks)
        {
            return invalid(format!("block {block} is outside the cache"));
        }
        if let Some(token) = item
            .tokens
            .iter()
            .find(|token| **token as usize >= vocab_size)
        {
            return invalid(format!("token {token} is outside the vocabulary"));
        }
    }
    Ok(())
}

impl Forward for LlamaModel {
    fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }

    fn block_size(&self) -> usize {
        self.cache.block_size()
    }

    fn num_blocks(&self) -> usize {
        self.cache.num_blocks()
    }

    fn forward(&mut self, items: &[BatchItem<'_>]) -> Result<Vec<Vec<f32>>, InferenceError> {
        self.check(items)?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        // The whole step runs on a rayon worker: its parallel loops then start from inside the
        // pool, where the other workers steal their pieces, instead of each being handed to the
        // pool and waited for from outside it (two thread wake-ups per matmul, about 150 times
        // per step). The other workers keep looking for those pieces until the step ends rather
        // than going to sleep between two loops.
        let done = &AtomicBool::new(false);
        Ok(rayon::scope(|scope| {
            for _ in 1..rayon::current_num_threads() {
                scope.spawn(move |_| keep_stealing(done));
            }
            let _stepping = Stepping::start(done);
            self.step(items)
        }))
    }
}

/// Marks this thread as running a step until dropped, then releases the step's helpers (also
/// when the step panics, so that the scope's wait for them ends).
struct Stepping<'a> {
    done: &'a AtomicBool,
    was_stepping: bool,
}

impl<'a> Stepping<'a> {
    fn start(done: &'a AtomicBool) -> Self {
        Stepping {
            done,
            was_stepping: STEPPING.replace(true),
        }
    }
}

impl Drop for Stepping<'_> {
    fn drop(&mut self) {
        STEPPING.set(self.was_stepping);
        self.done.store(true, Ordering::Release);
    }
}

thread_local! {
    /// Whether this thread is running a step (further down its stack).
    static STEPPING: Cell<bool> = const { Cell::new(false) };
}

/// Runs the pool's pending work as it comes until `done`. Returns at once on a thread that is
/// running a step: that thread picked this up while waiting inside its step, and waiting here
/// for another step could close a cycle of threads waiting for each other.
fn keep_stealing(done: &AtomicBool) {
    if STEPPING.get() {
        return;
    }
    while !done.load(Ordering::Acquire) {
        match rayon::yield_now() {
            Some(rayon::Yield::Executed) => {}
            Some(rayon::Yield::Idle) => std::hint::spin_loop(),
            None => return,
        }
    }
}

impl LlamaModel {
    /// One forward step over checked, non-empty `items`: the logits of each item's last token.
    fn step(&mut self, items: &[BatchItem<'_>]) -> Vec<Vec<f32>> {
        let n_rows: usize = items.iter().map(|item| item.tokens.len()).sum();
        self.scratch.reserve(&self.config, n_rows, items.len());
        let Self {
            config,
            weights,
            cache,
            inv_freq,
            scratch,
        } = self;
        let hidden = config.hidden_size;
        let half = config.head_dim / 2;

        let mut row = 0;
        for (item_index, item) in items.iter().enumerate() {
            for (offset, token) in item.tokens.iter().enumerate() {
                let position = item.start_pos + offset;
                scratch.positions[row] = position;
                scratch.row_items[row] = item_index;
                weights.embedding.dequantize_row(
                    *token as usize,
                    &mut scratch.hidden[row * hidden..(row + 1) * hidden],
                );
                ops::rope_angles(
                    position,
                    inv_freq,
                    &mut scratch.cos[row * half..(row + 1) * half],
                    &mut scratch.sin[row * half..(row + 1) * half],
                );
                row += 1;
            }
        }

        for layer_index in 0..config.n_layers {
            run_layer(config, weights, cache, scratch, items, layer_index, n_rows);
        }

        let mut last_row = 0;
        for (index, item) in items.iter().enumerate() {
            last_row += item.tokens.len();
            ops::rms_norm(
                &scratch.hidden[(last_row - 1) * hidden..last_row * hidden],
                &weights.output_norm,
                config.rms_eps,
                &mut scratch.last[index * hidden..(index + 1) * hidden],
            );
        }
        let vocab = config.vocab_size;
        let logits = &mut scratch.logits[..items.len() * vocab];
        qmatmul::matmul(
            weights.output(),
            &scratch.last[..items.len() * hidden],
            items.len(),
            logits,
        );
        logits.chunks_exact(vocab).map(<[f32]>::to_vec).collect()
    }
}

/// One decoder block over all `n_rows` rows: attention with residual, then MLP with residual.
fn run_layer(
    config: &ModelConfig,
    weights: &ModelWeights,
    cache: &mut KvCache,
    scratch: &mut Scratch,
    items: &[BatchItem<'_>],
    layer_index: usize,
    n_rows: usize,
) {
    let layer = &weights.layers[layer_index];
    let hidden = config.hidden_size;
    let (q_dim, kv_dim) = (config.q_dim(), config.kv_dim());
    let qkv_width = q_dim + 2 * kv_dim;
    let half = config.head_dim / 2;
    let residual = &mut scratch.hidden[..n_rows * hidden];
    let normed = &mut scratch.normed[..n_rows * hidden];
    let qkv = &mut scratch.qkv[..n_rows * qkv_width];

    ops::rms_norm(residual, &layer.attn_norm, config.rms_eps, normed);
    layer.qkv.forward(normed, n_rows, qkv, &mut scratch.split);
    for (row, values) in qkv.chunks_exact_mut(qkv_width).enumerate() {
        if let Some(bias) = &layer.qkv_bias {
            ops::add_assign(values, bias);
        }
        let (cos, sin) = (
            &scratch.cos[row * half..(row + 1) * half],
            &scratch.sin[row * half..(row + 1) * half],
        );
        ops::rope(&mut values[..q_dim + kv_dim], cos, sin, config.rope_layout);
        let item = &items[scratch.row_items[row]];
        cache.write(
            layer_index,
            item.block_table,
            scratch.positions[row],
            &values[q_dim..q_dim + kv_dim],
            &values[q_dim + kv_dim..],
        );
    }

    let attention = &mut scratch.attention[..n_rows * q_dim];
    let rows = Rows {
        positions: &scratch.positions[..n_rows],
        items: &scratch.row_items[..n_rows],
    };
    attend_rows(config, cache, layer_index, items, rows, qkv, attention);

    let projected = &mut scratch.projected[..n_rows * hidden];
    qmatmul::matmul(&layer.attn_output, attention, n_rows, projected);
    ops::add_assign(residual, projected);

    let ffn = config.intermediate_size;
    let gate_up = &mut scratch.gate_up[..n_rows * 2 * ffn];
    let activated = &mut scratch.activated[..n_rows * ffn];
    ops::rms_norm(residual, &layer.ffn_norm, config.rms_eps, normed);
    layer
        .gate_up
        .forward(normed, n_rows, gate_up, &mut scratch.split);
    ops::silu_gate(gate_up, ffn, activated);
    qmatmul::matmul(&layer.down, activated, n_rows, projected);
    ops::add_assign(residual, projected);
}

/// Position and batch item of each row.
#[derive(Clone, Copy)]
struct Rows<'a> {
    positions: &'a [usize],
    items: &'a [usize],
}

/// Attention for every (row, KV head): `out` holds `rows x q_dim`, head after head; the query
/// heads sharing a KV head are adjacent, so each group is one contiguous piece of a row.
fn attend_rows(
    config: &ModelConfig,
    cache: &KvCache,
    layer: usize,
    items: &[BatchItem<'_>],
    rows: Rows<'_>,
    qkv: &[f32],
    out: &mut [f32],
) {
    let head_dim = config.head_dim;
    let n_kv_heads = config.n_kv_heads;
    let group_width = config.n_heads / n_kv_heads * head_dim;
    let qkv_width = config.q_dim() + 2 * config.kv_dim();
    let shape = AttentionShape {
        head_dim,
        scale: 1.0 / (head_dim as f32).sqrt(),
    };
    let one_group = |index: usize, group_out: &mut [f32]| {
        let (row, kv_head) = (index / n_kv_heads, index % n_kv_heads);
        let q = &qkv[row * qkv_width + kv_head * group_width..][..group_width];
        let sequence = SequenceContext {
            cache,
            layer,
            block_table: items[rows.items[row]].block_table,
            len: rows.positions[row] + 1,
        };
        attend_group(sequence, shape, kv_head, q, group_out);
    };
    let work: usize = rows
        .positions
        .iter()
        .map(|p| (p + 1) * config.n_heads)
        .sum();
    if work >= PARALLEL_ATTENTION_WORK {
        out.par_chunks_mut(group_width)
            .enumerate()
            .for_each(|(index, group_out)| one_group(index, group_out));
    } else {
        out.chunks_exact_mut(group_width)
            .enumerate()
            .for_each(|(index, group_out)| one_group(index, group_out));
    }
}
