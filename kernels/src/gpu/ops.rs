//! The safe launch wrappers, one per kernel. Each checks its buffer lengths and dimensions
//! before launching, so no call can make a kernel index outside its buffers; the kernels guard
//! what only the device knows (block tables, context lengths, positions).
//!
//! All wrappers launch on [`GpuKernels::stream`] and return once the launch is queued; call
//! [`GpuKernels::synchronize`] (or copy a result back) to wait for it.

#![allow(unsafe_code)]

use super::checks::{self, check, int, need};
use super::sources::DType;
use super::{GpuError, GpuKernels};
use cudarc::driver::{CudaSlice, DeviceRepr, LaunchConfig, PushKernelArg, ValidAsZeroBits};
use half::{bf16, f16};

/// A storage dtype of the kernels: f32, f16 or bf16.
pub trait GpuFloat: DeviceRepr + ValidAsZeroBits + Copy + Default + Send + Sync + 'static {
    /// The dtype whose entry points take this type.
    const DTYPE: DType;
    /// Widens to f32.
    fn to_f32(self) -> f32;
    /// Rounds from f32 to nearest.
    fn from_f32(value: f32) -> Self;
}

impl GpuFloat for f32 {
    const DTYPE: DType = DType::F32;
    fn to_f32(self) -> f32 {
        self
    }
    fn from_f32(value: f32) -> Self {
        value
    }
}

impl GpuFloat for f16 {
    const DTYPE: DType = DType::F16;
    fn to_f32(self) -> f32 {
        f16::to_f32(self)
    }
    fn from_f32(value: f32) -> Self {
        f16::from_f32(value)
    }
}

impl GpuFloat for bf16 {
    const DTYPE: DType = DType::BF16;
    fn to_f32(self) -> f32 {
        bf16::to_f32(self)
    }
    fn from_f32(value: f32) -> Self {
        bf16::from_f32(value)
    }
}

/// Threads per block of the row and element kernels (a multiple of 32; the sampler needs 256).
const THREADS: u32 = 256;
/// Threads per block of paged attention and the quantized matmul.
const SMALL_THREADS: u32 = 128;
/// The grid is capped here; the kernels loop over the rest (grid-stride).
pub(crate) const MAX_GRID: usize = 65_535;
/// Rows the quantized matmul kernel takes per launch (`CB_QMATMUL_MAX_ROWS`).
pub const QMATMUL_MAX_ROWS: usize = 8;
/// The sampler counts in f32, exact up to 2^24.
const MAX_VOCAB: usize = 1 << 24;

/// The shape of one paged-attention decode step.
#[derive(Debug, Clone, Copy)]
pub struct PagedAttentionShape {
    /// Sequences, one query token each.
    pub batch: usize,
    pub n_heads: usize,
    /// Must divide `n_heads`.
    pub n_kv_heads: usize,
    pub head_dim: usize,
    /// Positions per cache block.
    pub block_size: usize,
    /// Blocks in each cache (`k_cache` holds `num_blocks * n_kv_heads * block_size * head_dim`).
    pub num_blocks: usize,
    /// Columns of `block_tables`.
    pub max_blocks_per_seq: usize,
    /// An upper bound of `context_lens`; longer contexts are cut to it.
    pub max_context: usize,
    /// Usually `1 / sqrt(head_dim)`.
    pub scale: f32,
}

/// The shape of one rotary call.
#[derive(Debug, Clone, Copy)]
pub struct RotaryShape {
    pub tokens: usize,
    pub n_heads: usize,
    pub n_kv_heads: usize,
    /// Even.
    pub head_dim: usize,
    /// Rows of the cos and sin tables.
    pub max_positions: usize,
    /// Pairs `(2i, 2i + 1)` (GGUF llama) when true, `(i, i + head_dim / 2)` (qwen2) when false.
    pub interleaved: bool,
}

/// The shape of one KV-cache write.
#[derive(Debug, Clone, Copy)]
pub struct KvWriteShape {
    /// Tokens written, one slot each.
    pub tokens: usize,
    pub n_kv_heads: usize,
    pub head_dim: usize,
    /// Positions per cache block.
    pub block_size: usize,
    /// Blocks in each cache.
    pub num_blocks: usize,
}

/// Per-row sampling parameters, on the device; each holds one value per row.
#[derive(Debug)]
pub struct SamplingParams<'a> {
    /// `<= 0` means greedy.
    pub temperature: &'a CudaSlice<f32>,
    /// `0` (or `>= vocab`) means no top-k.
    pub top_k: &'a CudaSlice<i32>,
    /// `>= 1` means no top-p.
    pub top_p: &'a CudaSlice<f32>,
    /// The uniform draw in `[0, 1)` that picks the token.
    pub uniform: &'a CudaSlice<f32>,
}

/// GGUF block formats the quantized matmul reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QuantFormat {
    /// 34-byte blocks: f16 scale, 32 × i8.
    Q8_0,
    /// 20-byte blocks: f16 scale, f16 minimum, 32 × 4-bit.
    Q4_1,
}

impl QuantFormat {
    /// Bytes per block of 32 values.
    pub fn block_bytes(self) -> usize {
        match self {
            QuantFormat::Q8_0 => 34,
            QuantFormat::Q4_1 => 20,
        }
    }

    fn op(self) -> &'static str {
        match self {
            QuantFormat::Q8_0 => "qmatmul_q8_0",
            QuantFormat::Q4_1 => "qmatmul_q4_1",
        }
    }
}

fn grid(items: usize, per_block: usize) -> u32 {
    // Clamped to MAX_GRID, which fits u32.
    u32::try_from(items.div_ceil(per_block).clamp(1, MAX_GRID)).unwrap_or(1)
}

fn config(grid_dim: (u32, u32, u32), threads: u32, shared_mem_bytes: u32) -> LaunchConfig {
    LaunchConfig {
        grid_dim,
        block_dim: (threads, 1, 1),
        shared_mem_bytes,
    }
}

impl GpuKernels {
    /// `residual += x; out = rmsnorm(residual) * weight`, row by row.
    ///
    /// `x`, `residual`, `out`: `[rows, dim]`; `weight`: `[dim]`; all in `T`.
    #[allow(clippy::too_many_arguments)]
    pub fn rmsnorm_residual<T: GpuFloat>(
        &self,
        x: &CudaSlice<T>,
        residual: &mut CudaSlice<T>,
        weight: &CudaSlice<T>,
        out: &mut CudaSlice<T>,
        rows: usize,
        dim: usize,
        eps: f32,
    ) -> Result<(), GpuError> {
        const OP: &str = "rmsnorm_residual";
        let lens = [x.len(), residual.len(), weight.len(), out.len()];
        let [rows_arg, dim_arg] = checks::rmsnorm_residual(lens, rows, dim)?;
        if rows * dim == 0 {
            return Ok(());
        }
        let function = self.function(OP, T::DTYPE)?;
        let mut launch = self.stream().launch_builder(function);
        launch.arg(x).arg(residual).arg(weight).arg(out);
        launch.arg(&rows_arg).arg(&dim_arg).arg(&eps);
        // SAFETY: the arguments match `rmsnorm_residual_<dtype>` in order and type, and every
        // buffer was checked above to hold `rows * dim` (weight: `dim`) elements.
        unsafe { launch.launch(config((grid(rows, 1), 1, 1), THREADS, 0)) }?;
        Ok(())
    }

    /// Rotary embeddings in place on `q` (`[tokens, n_heads, head_dim]`) and `k`
    /// (`[tokens, n_kv_heads, head_dim]`), in `T`; `positions`: `[tokens]`; `cos`, `sin`:
    /// `[max_positions, head_dim / 2]` in f32.
    pub fn rotary<T: GpuFloat>(
        &self,
        q: &mut CudaSlice<T>,
        k: &mut CudaSlice<T>,
        positions: &CudaSlice<i32>,
        cos: &CudaSlice<f32>,
        sin: &CudaSlice<f32>,
        shape: RotaryShape,
    ) -> Result<(), GpuError> {
        const OP: &str = "rotary";
        let lens = [q.len(), k.len(), positions.len(), cos.len(), sin.len()];
        let args = checks::rotary(lens, &shape)?;
        let pairs = shape.tokens * (shape.n_heads + shape.n_kv_heads) * (shape.head_dim / 2);
        if pairs == 0 {
            return Ok(());
        }
        let function = self.function(OP, T::DTYPE)?;
        let mut launch = self.stream().launch_builder(function);
        launch.arg(q).arg(k).arg(positions).arg(cos).arg(sin);
        for value in &args {
            launch.arg(value);
        }
        // SAFETY: the arguments match `rotary_<dtype>`; q, k and the tables were checked above
        // and the kernel skips positions outside the tables.
        unsafe { launch.launch(config((grid(pairs, THREADS as usize), 1, 1), THREADS, 0)) }?;
        Ok(())
    }

    /// `out = silu(gate) * up`, element by element over `n` elements of `T`.
    pub fn silu_gate<T: GpuFloat>(
        &self,
        gate: &CudaSlice<T>,
        up: &CudaSlice<T>,
        out: &mut CudaSlice<T>,
        n: usize,
    ) -> Result<(), GpuError> {
        const OP: &str = "silu_gate";
        let n_arg = checks::silu_gate([gate.len(), up.len(), out.len()], n)?;
        if n == 0 {
            return Ok(());
        }
        let function = self.function(OP, T::DTYPE)?;
        let mut launch = self.stream().launch_builder(function);
        launch.arg(gate).arg(up).arg(out).arg(&n_arg);
        // SAFETY: the arguments match `silu_gate_<dtype>` and every buffer holds `n` elements.
        unsafe { launch.launch(config((grid(n, THREADS as usize), 1, 1), THREADS, 0)) }?;
        Ok(())
    }

    /// One token per row of `logits` (`[rows, vocab]` in `T`, finite) into `tokens` (`[rows]`),
    /// with the semantics of [`crate::reference::sample_row`].
    pub fn sample<T: GpuFloat>(
        &self,
        logits: &CudaSlice<T>,
        rows: usize,
        vocab: usize,
        params: &SamplingParams<'_>,
        tokens: &mut CudaSlice<i32>,
    ) -> Result<(), GpuError> {
        const OP: &str = "sample";
        check(OP, vocab > 0 && vocab <= MAX_VOCAB, || {
            format!("vocab {vocab} is outside 1..=2^24")
        })?;
        need(OP, "logits", logits.len(), rows.saturating_mul(vocab))?;
        need(OP, "temperature", params.temperature.len(), rows)?;
        need(OP, "top_k", params.top_k.len(), rows)?;
        need(OP, "top_p", params.top_p.len(), rows)?;
        need(OP, "uniform", params.uniform.len(), rows)?;
        need(OP, "tokens", tokens.len(), rows)?;
        let (rows_arg, vocab_arg) = (int(OP, "rows", rows)?, int(OP, "vocab", vocab)?);
        if rows == 0 {
            return Ok(());
        }
        let function = self.function(OP, T::DTYPE)?;
        let mut launch = self.stream().launch_builder(function);
        launch.arg(logits).arg(params.temperature).arg(params.top_k);
        launch.arg(params.top_p).arg(params.uniform).arg(tokens);
        launch.arg(&rows_arg).arg(&vocab_arg);
        // SAFETY: the arguments match `sample_<dtype>`, every per-row buffer holds `rows`
        // values, logits `rows * vocab`, and the block size is the kernel's CB_SAMPLE_THREADS.
        unsafe { launch.launch(config((grid(rows, 1), 1, 1), THREADS, 0)) }?;
        Ok(())
    }

    /// Decode attention of one query per sequence against the paged KV cache.
    ///
    /// `q`, `out`: `[batch, n_heads, head_dim]`; `k_cache`, `v_cache`:
    /// `[num_blocks, n_kv_heads, block_size, head_dim]`, all in `T`; `block_tables`:
    /// `[batch, max_blocks_per_seq]`; `context_lens`: `[batch]`.
    #[allow(clippy::too_many_arguments)]
    pub fn paged_attention_decode<T: GpuFloat>(
        &self,
        q: &CudaSlice<T>,
        k_cache: &CudaSlice<T>,
        v_cache: &CudaSlice<T>,
        block_tables: &CudaSlice<i32>,
        context_lens: &CudaSlice<i32>,
        out: &mut CudaSlice<T>,
        shape: &PagedAttentionShape,
    ) -> Result<(), GpuError> {
        const OP: &str = "paged_attention_decode";
        let lens = [
            q.len(),
            k_cache.len(),
            v_cache.len(),
            block_tables.len(),
            context_lens.len(),
            out.len(),
        ];
        let (args, shared) = checks::paged_attention(lens, shape)?;
        if shape.batch * shape.n_heads * shape.head_dim == 0 {
            return Ok(());
        }
        // Both fit: the checks converted n_heads to an int and bound batch by the grid.
        let grid_dim = (
            u32::try_from(shape.n_heads).unwrap_or(u32::MAX),
            u32::try_from(shape.batch).unwrap_or(1),
            1,
        );
        let function = self.function(OP, T::DTYPE)?;
        let mut launch = self.stream().launch_builder(function);
        launch
            .arg(q)
            .arg(k_cache)
            .arg(v_cache)
            .arg(block_tables)
            .arg(context_lens)
            .arg(out);
        for value in &args {
            launch.arg(value);
        }
        launch.arg(&shape.scale);
        // SAFETY: the arguments match `paged_attention_decode_<dtype>`; q, out, the caches and
        // the tables were checked above, the dynamic shared memory holds head_dim + max_context
        // floats, and the kernel cuts contexts and skips out-of-range blocks.
        unsafe { launch.launch(config(grid_dim, SMALL_THREADS, shared)) }?;
        Ok(())
    }

    /// `y = x · Wᵀ` against GGUF-quantized `w`, for any number of rows: the kernel takes
    /// [`QMATMUL_MAX_ROWS`] rows per launch (each weight block read once for all of them), and
    /// longer batches run as consecutive launches over views of `x` and `y`.
    ///
    /// `w`: `[n, k / 32]` blocks of `format`, row after row; `x`: `[rows, k]`; `y`:
    /// `[rows, n]`, in `T`; `k` a multiple of 32.
    #[allow(clippy::too_many_arguments)]
    pub fn qmatmul<T: GpuFloat>(
        &self,
        format: QuantFormat,
        w: &CudaSlice<u8>,
        x: &CudaSlice<T>,
        y: &mut CudaSlice<T>,
        rows: usize,
        n: usize,
        k: usize,
    ) -> Result<(), GpuError> {
        const OP: &str = "qmatmul";
        let [n_arg, k_arg] = checks::qmatmul([w.len(), x.len(), y.len()], format, rows, n, k)?;
        if rows == 0 || n == 0 {
            return Ok(());
        }
        let function = self.function(format.op(), T::DTYPE)?;
        let warps = SMALL_THREADS as usize / 32;
        for start in (0..rows).step_by(QMATMUL_MAX_ROWS) {
            let chunk = (rows - start).min(QMATMUL_MAX_ROWS);
            let chunk_arg = int(OP, "rows", chunk)?;
            let x_view = x.slice(start * k..(start + chunk) * k);
            let mut y_view = y.slice_mut(start * n..(start + chunk) * n);
            let mut launch = self.stream().launch_builder(function);
            launch.arg(w).arg(&x_view).arg(&mut y_view);
            launch.arg(&chunk_arg).arg(&n_arg).arg(&k_arg);
            // SAFETY: the arguments match `<qmatmul>_<dtype>`; w holds n * k / 32 blocks, the
            // views hold exactly `chunk` rows of x and y, and chunk is within the kernel's
            // register array (QMATMUL_MAX_ROWS).
            unsafe { launch.launch(config((grid(n, warps), 1, 1), SMALL_THREADS, 0)) }?;
        }
        Ok(())
    }

    /// Writes each token's keys and values into its cache slot
    /// (`slots[t] = block * block_size + offset`); slots outside the cache are skipped.
    ///
    /// `k`, `v`: `[tokens, n_kv_heads, head_dim]`; `k_cache`, `v_cache`:
    /// `[num_blocks, n_kv_heads, block_size, head_dim]`, in `T`; `slots`: `[tokens]`.
    #[allow(clippy::too_many_arguments)]
    pub fn kv_write<T: GpuFloat>(
        &self,
        k: &CudaSlice<T>,
        v: &CudaSlice<T>,
        k_cache: &mut CudaSlice<T>,
        v_cache: &mut CudaSlice<T>,
        slots: &CudaSlice<i32>,
        shape: &KvWriteShape,
    ) -> Result<(), GpuError> {
        const OP: &str = "kv_write";
        let lens = [k.len(), v.len(), k_cache.len(), v_cache.len(), slots.len()];
        let args = checks::kv_write(lens, shape)?;
        let elems = shape.tokens * shape.n_kv_heads * shape.head_dim;
        if elems == 0 {
            return Ok(());
        }
        let function = self.function(OP, T::DTYPE)?;
        let mut launch = self.stream().launch_builder(function);
        launch.arg(k).arg(v).arg(k_cache).arg(v_cache).arg(slots);
        for value in &args {
            launch.arg(value);
        }
        // SAFETY: the arguments match `kv_write_<dtype>`; k and v hold `tokens` rows, the caches
        // `num_blocks` blocks, and the kernel skips slots outside them.
        unsafe { launch.launch(config((grid(elems, THREADS as usize), 1, 1), THREADS, 0)) }?;
        Ok(())
    }

    /// `x[r] += bias` for each of `rows` rows of `cols` (`x`: `[rows, cols]`, `bias`: `[cols]`).
    pub fn add_bias<T: GpuFloat>(
        &self,
        x: &mut CudaSlice<T>,
        bias: &CudaSlice<T>,
        rows: usize,
        cols: usize,
    ) -> Result<(), GpuError> {
        const OP: &str = "add_bias";
        let [rows_arg, cols_arg] = checks::add_bias([x.len(), bias.len()], rows, cols)?;
        let elems = rows * cols;
        if elems == 0 {
            return Ok(());
        }
        let function = self.function(OP, T::DTYPE)?;
        let mut launch = self.stream().launch_builder(function);
        launch.arg(x).arg(bias).arg(&rows_arg).arg(&cols_arg);
        // SAFETY: the arguments match `add_bias_<dtype>`; x holds rows * cols, bias cols.
        unsafe { launch.launch(config((grid(elems, THREADS as usize), 1, 1), THREADS, 0)) }?;
        Ok(())
    }
}
