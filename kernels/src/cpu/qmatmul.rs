//! Batched quantized matmul over GGUF block layouts: `out = x @ w^T` for a batch of activation rows,
//! reading each weight block once per call for all rows of the batch.
//!
//! Quantized formats follow llama.cpp's scheme: each activation row is quantized once per call to
//! 8-bit blocks of 32 (one f32 scale and the block sum each), every weight block is decoded to small
//! integers once, and each (weight block, activation block) pair is an i32 dot product scaled once.
//! Float formats (F32, F16, BF16) multiply in f32. Output rows are split across rayon threads.
//!
//! Invariant: no `unsafe`; the kernels are safe Rust that the compiler auto-vectorises.

use std::cell::RefCell;

use rayon::prelude::*;

use super::quant::activations::QuantizedActivations;
use super::quant::{self, dequant, groups, rows, GROUP};

/// A GGUF tensor data layout (the ggml type of a tensor).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum QuantKind {
    F32,
    F16,
    BF16,
    Q4_0,
    Q4_1,
    Q5_0,
    Q5_1,
    Q8_0,
    Q4K,
    Q5K,
    Q6K,
}

impl QuantKind {
    /// Values per block (1 for the float kinds).
    pub fn block_values(self) -> usize {
        match self {
            Self::F32 | Self::F16 | Self::BF16 => 1,
            Self::Q4_0 | Self::Q4_1 | Self::Q5_0 | Self::Q5_1 | Self::Q8_0 => 32,
            Self::Q4K | Self::Q5K | Self::Q6K => 256,
        }
    }

    /// Bytes per block as stored in GGUF files.
    pub fn block_bytes(self) -> usize {
        match self {
            Self::F32 => 4,
            Self::F16 | Self::BF16 => 2,
            Self::Q4_0 => 18,
            Self::Q4_1 => 20,
            Self::Q5_0 => 22,
            Self::Q5_1 => 24,
            Self::Q8_0 => 34,
            Self::Q4K => 144,
            Self::Q5K => 176,
            Self::Q6K => 210,
        }
    }

    /// The kind of a ggml type id as written in GGUF tensor infos (`None` for unsupported types).
    pub fn from_ggml_type(id: u32) -> Option<Self> {
        Some(match id {
            0 => Self::F32,
            1 => Self::F16,
            2 => Self::Q4_0,
            3 => Self::Q4_1,
            6 => Self::Q5_0,
            7 => Self::Q5_1,
            8 => Self::Q8_0,
            12 => Self::Q4K,
            13 => Self::Q5K,
            14 => Self::Q6K,
            30 => Self::BF16,
            _ => return None,
        })
    }

    fn is_float(self) -> bool {
        matches!(self, Self::F32 | Self::F16 | Self::BF16)
    }
}

/// Why a weight matrix could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KernelError {
    #[error(
        "{kind:?} matrix {rows}x{cols}: cols must be a multiple of the block size {block_values}"
    )]
    ColsNotMultipleOfBlock {
        kind: QuantKind,
        rows: usize,
        cols: usize,
        block_values: usize,
    },
    #[error("{kind:?} matrix {rows}x{cols}: expected {expected} bytes of data, got {actual}")]
    DataSize {
        kind: QuantKind,
        rows: usize,
        cols: usize,
        expected: usize,
        actual: usize,
    },
}

/// A weight matrix of `rows` output features by `cols` input features, each row stored as
/// consecutive GGUF blocks of `kind` (row-major; GGUF dims `(cols, rows)`).
#[derive(Clone, Debug)]
pub struct QMatrix {
    kind: QuantKind,
    rows: usize,
    cols: usize,
    row_bytes: usize,
    data: Vec<u8>,
}

impl QMatrix {
    /// Checks that `data` holds exactly `rows` rows of `cols` values of `kind`.
    pub fn new(
        kind: QuantKind,
        rows: usize,
        cols: usize,
        data: Vec<u8>,
    ) -> Result<Self, KernelError> {
        let block_values = kind.block_values();
        if !cols.is_multiple_of(block_values) {
            return Err(KernelError::ColsNotMultipleOfBlock {
                kind,
                rows,
                cols,
                block_values,
            });
        }
        let row_bytes = cols / block_values * kind.block_bytes();
        let expected = rows.checked_mul(row_bytes);
        if expected != Some(data.len()) {
            return Err(KernelError::DataSize {
                kind,
                rows,
                cols,
                expected: expected.unwrap_or(usize::MAX),
                actual: data.len(),
            });
        }
        Ok(Self {
            kind,
            rows,
            cols,
            row_bytes,
            data,
        })
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn kind(&self) -> QuantKind {
        self.kind
    }

    /// The GGUF bytes of the whole matrix.
    pub fn data(&self) -> &[u8] {
        &self.data
    }

    /// Writes row `row` as f32 into `out` (`out.len() == cols`), e.g. for an embedding lookup.
    ///
    /// # Panics
    /// If `row >= rows` or `out.len() != cols`.
    pub fn dequantize_row(&self, row: usize, out: &mut [f32]) {
        assert!(
            row < self.rows,
            "row {row} out of range ({} rows)",
            self.rows
        );
        assert_eq!(out.len(), self.cols, "output length must equal cols");
        let bytes = &self.data[row * self.row_bytes..(row + 1) * self.row_bytes];
        dequant::dequantize_row(self.kind, bytes, out);
    }
}

thread_local! {
    /// Quantized-activation buffers of the calling thread, reused across calls.
    static ACTIVATIONS: RefCell<QuantizedActivations> = RefCell::new(QuantizedActivations::default());
    /// The same activations laid out for the AVX2 loop, reused the same way.
    #[cfg(target_arch = "x86_64")]
    static TRANSPOSED: RefCell<quant::avx2::Transposed> = RefCell::new(Default::default());
}

/// Multiply-adds below which a call runs on the calling thread only.
const PARALLEL_THRESHOLD: usize = 1 << 17;

/// `out[b * w.rows() + r] = sum_c x[b * w.cols() + c] * w[r, c]` for `b` in `0..batch`.
///
/// Reads each weight block once per call for all `batch` rows; threads over output rows.
/// Quantized kinds quantize `x` to 8-bit blocks first (relative error about 0.4% per value).
///
/// # Panics
/// If `x.len() != batch * w.cols()` or `out.len() != batch * w.rows()`.
pub fn matmul(w: &QMatrix, x: &[f32], batch: usize, out: &mut [f32]) {
    assert_eq!(x.len(), batch * w.cols, "x must hold batch * cols values");
    assert_eq!(
        out.len(),
        batch * w.rows,
        "out must hold batch * rows values"
    );
    if batch == 0 || w.rows == 0 {
        return;
    }
    if w.cols == 0 {
        out.fill(0.0);
        return;
    }
    let tasks = split_rows(w, batch, out);
    if w.kind.is_float() {
        run(tasks, |task| rows::float_rows(w.kind, task, x, w.cols));
        return;
    }
    debug_assert!(w.cols.is_multiple_of(GROUP));
    // Taken out (not borrowed) so that a nested call on this thread, e.g. from a rayon task
    // stolen while waiting below, finds an empty buffer instead of a borrowed one.
    let mut acts = ACTIVATIONS.take();
    acts.fill(x, w.cols);
    #[cfg(target_arch = "x86_64")]
    if let (Some(simd), Some(format)) = (quant::avx2::available(), avx2_format(w.kind)) {
        let mut transposed = TRANSPOSED.take();
        transposed.fill(&acts);
        run(tasks, |t| {
            quant::avx2::int_rows(simd, format, t, &transposed)
        });
        TRANSPOSED.set(transposed);
        ACTIVATIONS.set(acts);
        return;
    }
    {
        let acts = &acts;
        match w.kind {
            QuantKind::Q4_0 => run(tasks, |t| rows::int_rows::<groups::Q4_0>(t, acts)),
            QuantKind::Q4_1 => run(tasks, |t| rows::int_rows::<groups::Q4_1>(t, acts)),
            QuantKind::Q5_0 => run(tasks, |t| rows::int_rows::<groups::Q5_0>(t, acts)),
            QuantKind::Q5_1 => run(tasks, |t| rows::int_rows::<groups::Q5_1>(t, acts)),
            QuantKind::Q8_0 => run(tasks, |t| rows::int_rows::<groups::Q8_0>(t, acts)),
            QuantKind::Q4K => run(tasks, |t| rows::int_rows::<groups::Q4K>(t, acts)),
            QuantKind::Q5K => run(tasks, |t| rows::int_rows::<groups::Q5K>(t, acts)),
            QuantKind::Q6K => run(tasks, |t| rows::int_rows::<groups::Q6K>(t, acts)),
            QuantKind::F32 | QuantKind::F16 | QuantKind::BF16 => {
                unreachable!("float kinds returned above")
            }
        }
    }
    ACTIVATIONS.set(acts);
}

/// The AVX2 loop for `kind`, when there is one.
#[cfg(target_arch = "x86_64")]
fn avx2_format(kind: QuantKind) -> Option<quant::avx2::Avx2Format> {
    match kind {
        QuantKind::Q4_1 => Some(quant::avx2::Avx2Format::Q4_1),
        QuantKind::Q8_0 => Some(quant::avx2::Avx2Format::Q8_0),
        _ => None,
    }
}

/// Runs the tasks, in parallel when there is more than one.
fn run<'a>(tasks: Vec<rows::RowTask<'a>>, f: impl Fn(rows::RowTask<'a>) + Sync + Send) {
    if tasks.len() == 1 {
        tasks.into_iter().for_each(f);
    } else {
        tasks.into_par_iter().for_each(f);
    }
}

/// Splits the output rows into tasks of consecutive rows, each holding its slice of every
/// batch row of `out`.
fn split_rows<'a>(w: &'a QMatrix, batch: usize, out: &'a mut [f32]) -> Vec<rows::RowTask<'a>> {
    let work = w.rows * w.cols * batch;
    let chunk_rows = if work < PARALLEL_THRESHOLD {
        w.rows
    } else {
        let pieces = rayon::current_num_threads() * 4;
        w.rows.div_ceil(pieces).next_multiple_of(8).max(8)
    };
    let mut tasks: Vec<rows::RowTask<'a>> = (0..w.rows.div_ceil(chunk_rows))
        .map(|c| rows::RowTask {
            data: &w.data,
            row_bytes: w.row_bytes,
            rows: c * chunk_rows..((c + 1) * chunk_rows).min(w.rows),
            outs: Vec::with_capacity(batch),
        })
        .collect();
    for out_row in out.chunks_exact_mut(w.rows) {
        for (task, piece) in tasks.iter_mut().zip(out_row.chunks_mut(chunk_rows)) {
            task.outs.push(piece);
        }
    }
    tasks
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One Q8_0 block: scale `d`, then 32 signed bytes.
    fn q8_0_block(d: f32, q: impl Fn(usize) -> i8) -> Vec<u8> {
        let mut block = half::f16::from_f32(d).to_le_bytes().to_vec();
        block.extend((0..32).map(|j| q(j) as u8));
        block
    }

    #[test]
    fn new_rejects_wrong_sizes_with_the_shape_in_the_message() {
        let err = QMatrix::new(QuantKind::Q4_1, 2, 64, vec![0; 79]).expect_err("one byte short");
        assert_eq!(
            err,
            KernelError::DataSize {
                kind: QuantKind::Q4_1,
                rows: 2,
                cols: 64,
                expected: 80,
                actual: 79
            }
        );
        assert_eq!(
            err.to_string(),
            "Q4_1 matrix 2x64: expected 80 bytes of data, got 79"
        );
        let err = QMatrix::new(QuantKind::Q4K, 1, 32, vec![0; 18]).expect_err("32 is not 256");
        assert!(matches!(
            err,
            KernelError::ColsNotMultipleOfBlock {
                block_values: 256,
                ..
            }
        ));
        assert!(QMatrix::new(QuantKind::F16, 3, 5, vec![0; 30]).is_ok());
    }

    #[test]
    fn ggml_type_ids_map_to_kinds() {
        assert_eq!(QuantKind::from_ggml_type(3), Some(QuantKind::Q4_1));
        assert_eq!(QuantKind::from_ggml_type(8), Some(QuantKind::Q8_0));
        assert_eq!(QuantKind::from_ggml_type(14), Some(QuantKind::Q6K));
        assert_eq!(QuantKind::from_ggml_type(30), Some(QuantKind::BF16));
        assert_eq!(QuantKind::from_ggml_type(10), None);
    }

    #[test]
    fn q8_0_rows_dequantize_and_multiply_by_hand() {
        // Row 0: 0.5 * j for j in -16..16; row 1: 0.25 * (1, -1, 1, ...).
        let mut data = q8_0_block(0.5, |j| j as i8 - 16);
        data.extend(q8_0_block(0.25, |j| if j % 2 == 0 { 1 } else { -1 }));
        let w = QMatrix::new(QuantKind::Q8_0, 2, 32, data).expect("two blocks");
        let mut row = [0f32; 32];
        w.dequantize_row(0, &mut row);
        assert_eq!(row[0], -8.0);
        assert_eq!(row[31], 7.5);
        // x = all 127 (scale exactly 1 in 8 bits): row sums times 127; x = 127 * e_0 picks column 0.
        let mut x = vec![127f32; 32];
        x.extend((0..32).map(|j| if j == 0 { 127.0 } else { 0.0 }));
        let mut out = [f32::NAN; 4];
        matmul(&w, &x, 2, &mut out);
        assert_eq!(out, [-8.0 * 127.0, 0.0, -8.0 * 127.0, 0.25 * 127.0]);
    }

    #[test]
    fn float_rows_with_a_ragged_tail_multiply_exactly() {
        // 1 x 35 F32 row of ones against x = 0..35: the sum 595 is exact in f32.
        let data: Vec<u8> = (0..35).flat_map(|_| 1f32.to_le_bytes()).collect();
        let w = QMatrix::new(QuantKind::F32, 1, 35, data).expect("35 floats");
        let x: Vec<f32> = (0..35).map(|v| v as f32).collect();
        let mut out = [0f32; 1];
        matmul(&w, &x, 1, &mut out);
        assert_eq!(out, [595.0]);
    }
}
