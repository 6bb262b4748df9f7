//! [`DeviceModel`]: the llama / qwen2 forward pass on [`StepKernels`] — our CUDA kernels on a
//! GPU ([`codebegen_kernels::gpu::GpuKernels`]), or their CPU references ([`HostKernels`]),
//! which is how the orchestration is tested on machines without a GPU.
//!
//! The step mirrors [`super::LlamaModel`]'s: every new token of every batch item is a row;
//! prefill rows and decode rows share one launch of each kernel. Each row attends against its
//! own sequence's blocks up to its own position, so the paged-attention decode kernel serves
//! prefill too (one query row per token, the sequence's block table repeated per row). The
//! residual add is fused into the next RMSNorm.
//!
//! Weights stay quantized on the device: Q8_0 and Q4_1 (SmolLM2's formats) as stored, any other
//! format re-quantized to Q8_0 at load. The token embedding is gathered on the host (a handful
//! of rows per step) and the tied output head reads the device copy. The device cache stores
//! `T` (the model's compute dtype) whatever [`CacheConfig::dtype`] says.

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use candle_core::quantized::gguf_file::Content;
use codebegen_kernels::cpu::qmatmul::{QMatrix, QuantKind};
use codebegen_kernels::gpu::ops::{KvWriteShape, PagedAttentionShape, QuantFormat, RotaryShape};
use codebegen_kernels::gpu::GpuFloat;
use codebegen_kernels::step::{HostKernels, StepKernels};
use half::f16;

use super::ops;
use crate::config::{CacheConfig, ModelConfig, RopeLayout};
use crate::weights::{ModelWeights, StackedLinear};
use crate::{BatchItem, Forward, InferenceError};

/// A quantized matrix on the device: `n` output rows of `k` inputs.
struct DeviceMatrix<K: StepKernels> {
    format: QuantFormat,
    data: K::Buf<u8>,
    n: usize,
    k: usize,
}

struct DeviceLayer<K: StepKernels, T: GpuFloat> {
    attn_norm: K::Buf<T>,
    q: DeviceMatrix<K>,
    k: DeviceMatrix<K>,
    v: DeviceMatrix<K>,
    /// q, k and v biases (qwen2).
    bias: Option<[K::Buf<T>; 3]>,
    output: DeviceMatrix<K>,
    ffn_norm: K::Buf<T>,
    gate: DeviceMatrix<K>,
    up: DeviceMatrix<K>,
    down: DeviceMatrix<K>,
}

/// Device buffers of one step, sized for the largest step seen so far.
struct Scratch<K: StepKernels, T: GpuFloat> {
    rows: usize,
    items: usize,
    table_len: usize,
    x: K::Buf<T>,
    residual: K::Buf<T>,
    normed: K::Buf<T>,
    q: K::Buf<T>,
    k: K::Buf<T>,
    v: K::Buf<T>,
    attention: K::Buf<T>,
    gate: K::Buf<T>,
    up: K::Buf<T>,
    activated: K::Buf<T>,
    positions: K::Buf<i32>,
    slots: K::Buf<i32>,
    context_lens: K::Buf<i32>,
    tables: K::Buf<i32>,
    last_x: K::Buf<T>,
    last_residual: K::Buf<T>,
    last_normed: K::Buf<T>,
    logits: K::Buf<T>,
}

/// A llama-like decoder on [`StepKernels`]; implements [`Forward`].
pub struct DeviceModel<K: StepKernels, T: GpuFloat> {
    kernels: Arc<K>,
    config: ModelConfig,
    /// Host copy of the token embedding, for the per-step gather.
    embedding: QMatrix,
    layers: Vec<DeviceLayer<K, T>>,
    output_norm: K::Buf<T>,
    output: DeviceMatrix<K>,
    k_cache: Vec<K::Buf<T>>,
    v_cache: Vec<K::Buf<T>>,
    /// RoPE tables, `max_positions x head_dim / 2`.
    cos: K::Buf<f32>,
    sin: K::Buf<f32>,
    max_positions: usize,
    block_size: usize,
    num_blocks: usize,
    scratch: Option<Scratch<K, T>>,
}

impl<K: StepKernels, T: GpuFloat> std::fmt::Debug for DeviceModel<K, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceModel")
            .field("config", &self.config)
            .field("dtype", &T::DTYPE)
            .field("block_size", &self.block_size)
            .field("num_blocks", &self.num_blocks)
            .finish_non_exhaustive()
    }
}

/// The forward pass on the CPU references: the device orchestration, checkable anywhere.
pub type HostModel = DeviceModel<HostKernels, f32>;

fn to_t<T: GpuFloat>(values: &[f32]) -> Vec<T> {
    values.iter().map(|v| T::from_f32(*v)).collect()
}

/// Rounds one row to Q8_0 blocks (f16 scale `max|x| / 127`, 32 × i8), appending to `out`.
fn quantize_q8_0_row(row: &[f32], out: &mut Vec<u8>) {
    for block in row.chunks_exact(32) {
        let amax = block.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        let d = amax / 127.0;
        let inverse = if d > 0.0 { 1.0 / d } else { 0.0 };
        out.extend_from_slice(&f16::from_f32(d).to_le_bytes());
        // In -127..=127 by construction, so the cast is exact.
        out.extend(block.iter().map(|v| (v * inverse).round() as i8 as u8));
    }
}

impl<K: StepKernels> DeviceMatrix<K> {
    /// Rows `rows` of `matrix`, uploaded as Q8_0 / Q4_1 bytes.
    fn upload(kernels: &K, matrix: &QMatrix, rows: Range<usize>) -> Result<Self, InferenceError> {
        let (cols, kind) = (matrix.cols(), matrix.kind());
        let n = rows.len();
        let (format, bytes) = match kind {
            QuantKind::Q8_0 | QuantKind::Q4_1 => {
                let row_bytes = cols / 32 * kind.block_bytes();
                let format = if kind == QuantKind::Q8_0 {
                    QuantFormat::Q8_0
                } else {
                    QuantFormat::Q4_1
                };
                let data = &matrix.data()[rows.start * row_bytes..rows.end * row_bytes];
                (format, data.to_vec())
            }
            _ => {
                if !cols.is_multiple_of(32) {
                    return Err(InferenceError::Model(format!(
                        "a {kind:?} matrix of width {cols} cannot run on the device: widths must be multiples of 32"
                    )));
                }
                let mut row = vec![0.0f32; cols];
                let mut data = Vec::with_capacity(n * cols / 32 * 34);
                for r in rows {
                    matrix.dequantize_row(r, &mut row);
                    quantize_q8_0_row(&row, &mut data);
                }
                (QuantFormat::Q8_0, data)
            }
        };
        Ok(Self {
            format,
            data: kernels.upload(&bytes)?,
            n,
            k: cols,
        })
    }

    fn whole(kernels: &K, matrix: &QMatrix) -> Result<Self, InferenceError> {
        Self::upload(kernels, matrix, 0..matrix.rows())
    }
}

/// The parts of a stacked projection, `widths[i]` output rows each, as device matrices.
fn split_stacked<K: StepKernels, const N: usize>(
    kernels: &K,
    linear: &StackedLinear,
    widths: [usize; N],
) -> Result<[DeviceMatrix<K>; N], InferenceError> {
    let parts: Vec<DeviceMatrix<K>> = match linear {
        StackedLinear::Fused(matrix) => {
            let mut start = 0;
            widths
                .iter()
                .map(|width| {
                    let part = DeviceMatrix::upload(kernels, matrix, start..start + width);
                    start += width;
                    part
                })
                .collect::<Result<_, _>>()?
        }
        StackedLinear::Split(parts) => parts
            .iter()
            .map(|part| DeviceMatrix::whole(kernels, part))
            .collect::<Result<_, _>>()?,
    };
    let found: Vec<usize> = parts.iter().map(|part| part.n).collect();
    if found != widths {
        return Err(InferenceError::Model(format!(
            "a stacked projection has parts of {found:?} rows, {widths:?} expected"
        )));
    }
    parts.try_into().map_err(|_| {
        InferenceError::Model(format!(
            "a stacked projection has {} parts, {N} expected",
            found.len()
        ))
    })
}

impl<K: StepKernels, T: GpuFloat> DeviceModel<K, T> {
    /// Uploads `weights` and allocates a cache of `cache` blocks on `kernels`' device.
    pub fn new(
        kernels: Arc<K>,
        config: ModelConfig,
        weights: ModelWeights,
        cache: CacheConfig,
    ) -> Result<Self, InferenceError> {
        super::check_model(&config, &weights, cache)?;
        let device = kernels.as_ref();
        let (q_dim, kv_dim) = (config.q_dim(), config.kv_dim());
        let ffn = config.intermediate_size;
        let mut layers = Vec::with_capacity(weights.layers.len());
        for layer in &weights.layers {
            let [q, k, v] = split_stacked(device, &layer.qkv, [q_dim, kv_dim, kv_dim])?;
            let [gate, up] = split_stacked(device, &layer.gate_up, [ffn, ffn])?;
            let bias = match &layer.qkv_bias {
                Some(bias) => Some([
                    device.upload(&to_t::<T>(&bias[..q_dim]))?,
                    device.upload(&to_t::<T>(&bias[q_dim..q_dim + kv_dim]))?,
                    device.upload(&to_t::<T>(&bias[q_dim + kv_dim..]))?,
                ]),
                None => None,
            };
            layers.push(DeviceLayer {
                attn_norm: device.upload(&to_t::<T>(&layer.attn_norm))?,
                q,
                k,
                v,
                bias,
                output: DeviceMatrix::whole(device, &layer.attn_output)?,
                ffn_norm: device.upload(&to_t::<T>(&layer.ffn_norm))?,
                gate,
                up,
                down: DeviceMatrix::whole(device, &layer.down)?,
            });
        }
        let output = DeviceMatrix::whole(device, weights.output())?;
        let cache_len = cache.num_blocks * cache.block_size * kv_dim;
        let mut k_cache = Vec::with_capacity(config.n_layers);
        let mut v_cache = Vec::with_capacity(config.n_layers);
        for _ in 0..config.n_layers {
            k_cache.push(device.zeros(cache_len)?);
            v_cache.push(device.zeros(cache_len)?);
        }
        let max_positions = cache.capacity();
        let half = config.head_dim / 2;
        let inv_freq = ops::rope_inv_freq(config.head_dim, config.rope_theta);
        let mut cos = vec![0.0f32; max_positions * half];
        let mut sin = vec![0.0f32; max_positions * half];
        for (position, (c, s)) in cos
            .chunks_exact_mut(half.max(1))
            .zip(sin.chunks_exact_mut(half.max(1)))
            .enumerate()
        {
            ops::rope_angles(position, &inv_freq, c, s);
        }
        Ok(Self {
            output_norm: device.upload(&to_t::<T>(&weights.output_norm))?,
            cos: device.upload(&cos)?,
            sin: device.upload(&sin)?,
            output,
            layers,
            embedding: weights.embedding,
            k_cache,
            v_cache,
            max_positions,
            block_size: cache.block_size,
            num_blocks: cache.num_blocks,
            config,
            kernels,
            scratch: None,
        })
    }

    /// Loads a GGUF file (llama or qwen2) onto `kernels`' device; returns the file's header too.
    pub fn from_gguf(
        kernels: Arc<K>,
        path: &Path,
        cache: CacheConfig,
    ) -> Result<(Self, Content), InferenceError> {
        let (config, weights, content) = super::read_gguf(path)?;
        Ok((Self::new(kernels, config, weights, cache)?, content))
    }

    /// Shapes and hyper-parameters.
    pub fn config(&self) -> &ModelConfig {
        &self.config
    }

    /// Buffers for `rows` rows, `items` items and `table_len` block-table entries.
    fn reserve(
        &mut self,
        rows: usize,
        items: usize,
        table_len: usize,
    ) -> Result<(), InferenceError> {
        if let Some(scratch) = &self.scratch {
            if scratch.rows >= rows && scratch.items >= items && scratch.table_len >= table_len {
                return Ok(());
            }
        }
        let (rows, items, table_len) = match &self.scratch {
            Some(old) => (
                rows.max(old.rows),
                items.max(old.items),
                table_len.max(old.table_len),
            ),
            None => (rows, items, table_len),
        };
        let config = &self.config;
        let k = self.kernels.as_ref();
        let (hidden, ffn) = (config.hidden_size, config.intermediate_size);
        self.scratch = None;
        self.scratch = Some(Scratch {
            rows,
            items,
            table_len,
            x: k.zeros(rows * hidden)?,
            residual: k.zeros(rows * hidden)?,
            normed: k.zeros(rows * hidden)?,
            q: k.zeros(rows * config.q_dim())?,
            k: k.zeros(rows * config.kv_dim())?,
            v: k.zeros(rows * config.kv_dim())?,
            attention: k.zeros(rows * config.q_dim())?,
            gate: k.zeros(rows * ffn)?,
            up: k.zeros(rows * ffn)?,
            activated: k.zeros(rows * ffn)?,
            positions: k.zeros(rows)?,
            slots: k.zeros(rows)?,
            context_lens: k.zeros(rows)?,
            tables: k.zeros(table_len)?,
            last_x: k.zeros(items * hidden)?,
            last_residual: k.zeros(items * hidden)?,
            last_normed: k.zeros(items * hidden)?,
            logits: k.zeros(items * config.vocab_size)?,
        });
        Ok(())
    }
}

/// What the host knows of one step: per row its position, cache slot, context and block table.
struct StepPlan {
    embeddings: Vec<f32>,
    positions: Vec<i32>,
    slots: Vec<i32>,
    context_lens: Vec<i32>,
    /// `rows x max_blocks`, each row its sequence's table (padded with block 0, never read).
    tables: Vec<i32>,
    max_blocks: usize,
    max_context: usize,
    last_rows: Vec<usize>,
}

fn int(value: usize, what: &str) -> Result<i32, InferenceError> {
    i32::try_from(value).map_err(|_| {
        InferenceError::InvalidRequest(format!("{what} {value} does not fit the device's int"))
    })
}

impl<K: StepKernels, T: GpuFloat> DeviceModel<K, T> {
    fn plan(&self, items: &[BatchItem<'_>]) -> Result<StepPlan, InferenceError> {
        let hidden = self.config.hidden_size;
        let n_rows: usize = items.iter().map(|item| item.tokens.len()).sum();
        let max_blocks = items
            .iter()
            .map(|item| (item.start_pos + item.tokens.len()).div_ceil(self.block_size))
            .max()
            .unwrap_or(1);
        let mut plan = StepPlan {
            embeddings: vec![0.0; n_rows * hidden],
            positions: Vec::with_capacity(n_rows),
            slots: Vec::with_capacity(n_rows),
            context_lens: Vec::with_capacity(n_rows),
            tables: Vec::with_capacity(n_rows * max_blocks),
            max_blocks,
            max_context: 0,
            last_rows: Vec::with_capacity(items.len()),
        };
        let mut row = 0;
        for item in items {
            let blocks = (item.start_pos + item.tokens.len()).div_ceil(self.block_size);
            let mut table: Vec<i32> = item.block_table[..blocks]
                .iter()
                .map(|block| int(*block as usize, "block"))
                .collect::<Result<_, _>>()?;
            table.resize(max_blocks, 0);
            for (offset, token) in item.tokens.iter().enumerate() {
                let position = item.start_pos + offset;
                if position >= self.max_positions {
                    return Err(InferenceError::InvalidRequest(format!(
                        "position {position} is past the {} positions the cache holds",
                        self.max_positions
                    )));
                }
                let block = item.block_table[position / self.block_size] as usize;
                let slot = block * self.block_size + position % self.block_size;
                plan.positions.push(int(position, "position")?);
                plan.slots.push(int(slot, "slot")?);
                plan.context_lens.push(int(position + 1, "context")?);
                plan.tables.extend_from_slice(&table);
                plan.max_context = plan.max_context.max(position + 1);
                self.embedding.dequantize_row(
                    *token as usize,
                    &mut plan.embeddings[row * hidden..(row + 1) * hidden],
                );
                row += 1;
            }
            plan.last_rows.push(row - 1);
        }
        Ok(plan)
    }
}

impl<K: StepKernels, T: GpuFloat> Forward for DeviceModel<K, T> {
    fn vocab_size(&self) -> usize {
        self.config.vocab_size
    }

    fn block_size(&self) -> usize {
        self.block_size
    }

    fn num_blocks(&self) -> usize {
        self.num_blocks
    }

    fn forward(&mut self, items: &[BatchItem<'_>]) -> Result<Vec<Vec<f32>>, InferenceError> {
        super::check_items(
            items,
            self.block_size,
            self.num_blocks,
            self.config.vocab_size,
        )?;
        if items.is_empty() {
            return Ok(Vec::new());
        }
        let plan = self.plan(items)?;
        let n_rows = plan.positions.len();
        self.reserve(n_rows, items.len(), plan.tables.len())?;
        let Self {
            kernels,
            config,
            layers,
            output_norm,
            output,
            k_cache,
            v_cache,
            cos,
            sin,
            max_positions,
            block_size,
            num_blocks,
            scratch,
            ..
        } = self;
        let Some(s) = scratch.as_mut() else {
            return Err(InferenceError::Model(
                "step buffers were not allocated".into(),
            ));
        };
        let k = kernels.as_ref();
        let (hidden, ffn, vocab) = (
            config.hidden_size,
            config.intermediate_size,
            config.vocab_size,
        );
        let (q_dim, kv_dim) = (config.q_dim(), config.kv_dim());

        k.write(&to_t::<T>(&plan.embeddings), &mut s.x)?;
        k.write(&vec![T::default(); n_rows * hidden], &mut s.residual)?;
        k.write(&plan.positions, &mut s.positions)?;
        k.write(&plan.slots, &mut s.slots)?;
        k.write(&plan.context_lens, &mut s.context_lens)?;
        k.write(&plan.tables, &mut s.tables)?;

        let rotary = RotaryShape {
            tokens: n_rows,
            n_heads: config.n_heads,
            n_kv_heads: config.n_kv_heads,
            head_dim: config.head_dim,
            max_positions: *max_positions,
            interleaved: config.rope_layout == RopeLayout::Interleaved,
        };
        let kv_write = KvWriteShape {
            tokens: n_rows,
            n_kv_heads: config.n_kv_heads,
            head_dim: config.head_dim,
            block_size: *block_size,
            num_blocks: *num_blocks,
        };
        let attention = PagedAttentionShape {
            batch: n_rows,
            n_heads: config.n_heads,
            n_kv_heads: config.n_kv_heads,
            head_dim: config.head_dim,
            block_size: *block_size,
            num_blocks: *num_blocks,
            max_blocks_per_seq: plan.max_blocks,
            max_context: plan.max_context,
            scale: 1.0 / (config.head_dim as f32).sqrt(),
        };
        let matmul = |w: &DeviceMatrix<K>, x: &K::Buf<T>, y: &mut K::Buf<T>, rows: usize| {
            k.qmatmul(w.format, &w.data, x, y, rows, w.n, w.k)
        };

        for (index, layer) in layers.iter().enumerate() {
            let eps = config.rms_eps;
            k.rmsnorm_residual(
                &s.x,
                &mut s.residual,
                &layer.attn_norm,
                &mut s.normed,
                n_rows,
                hidden,
                eps,
            )?;
            matmul(&layer.q, &s.normed, &mut s.q, n_rows)?;
            matmul(&layer.k, &s.normed, &mut s.k, n_rows)?;
            matmul(&layer.v, &s.normed, &mut s.v, n_rows)?;
            if let Some([q_bias, k_bias, v_bias]) = &layer.bias {
                k.add_bias(&mut s.q, q_bias, n_rows, q_dim)?;
                k.add_bias(&mut s.k, k_bias, n_rows, kv_dim)?;
                k.add_bias(&mut s.v, v_bias, n_rows, kv_dim)?;
            }
            k.rotary(&mut s.q, &mut s.k, &s.positions, cos, sin, rotary)?;
            k.kv_write(
                &s.k,
                &s.v,
                &mut k_cache[index],
                &mut v_cache[index],
                &s.slots,
                &kv_write,
            )?;
            k.paged_attention_decode(
                &s.q,
                &k_cache[index],
                &v_cache[index],
                &s.tables,
                &s.context_lens,
                &mut s.attention,
                &attention,
            )?;
            matmul(&layer.output, &s.attention, &mut s.x, n_rows)?;
            k.rmsnorm_residual(
                &s.x,
                &mut s.residual,
                &layer.ffn_norm,
                &mut s.normed,
                n_rows,
                hidden,
                eps,
            )?;
            matmul(&layer.gate, &s.normed, &mut s.gate, n_rows)?;
            matmul(&layer.up, &s.normed, &mut s.up, n_rows)?;
            k.silu_gate(&s.gate, &s.up, &mut s.activated, n_rows * ffn)?;
            matmul(&layer.down, &s.activated, &mut s.x, n_rows)?;
        }

        let n_items = items.len();
        k.copy_rows(&s.x, &plan.last_rows, hidden, &mut s.last_x)?;
        k.copy_rows(&s.residual, &plan.last_rows, hidden, &mut s.last_residual)?;
        k.rmsnorm_residual(
            &s.last_x,
            &mut s.last_residual,
            output_norm,
            &mut s.last_normed,
            n_items,
            hidden,
            config.rms_eps,
        )?;
        matmul(output, &s.last_normed, &mut s.logits, n_items)?;
        let logits = k.read(&s.logits, n_items * vocab)?;
        Ok(logits
            .chunks_exact(vocab)
            .map(|row| row.iter().map(|v| v.to_f32()).collect())
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use codebegen_kernels::reference::dequantize_q8_0;

    #[test]
    fn q8_0_rounding_matches_the_block_decoder() {
        let row: Vec<f32> = (0..64).map(|i| (i as f32 - 20.0) * 0.37).collect();
        let mut bytes = Vec::new();
        quantize_q8_0_row(&row, &mut bytes);
        assert_eq!(bytes.len(), 2 * 34);
        for (block, values) in bytes.chunks_exact(34).zip(row.chunks_exact(32)) {
            let decoded = dequantize_q8_0(block);
            let amax = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
            for (d, v) in decoded.iter().zip(values) {
                // Half a step of 8 bits, plus the f16 rounding of the scale.
                assert!(
                    (d - v).abs() <= amax / 127.0 * 0.51 + amax * 1e-3,
                    "{d} vs {v}"
                );
            }
        }
    }
}
