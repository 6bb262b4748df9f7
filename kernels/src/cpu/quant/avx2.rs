//! Hand-vectorised AVX2 row loops for the two formats SmolLM2 ships in: Q4_1 (every projection)
//! and Q8_0 (the tied embedding, which is also the output head).
//!
//! The 32 weights of a block are unpacked once into one 256-bit register and multiplied with
//! every batch row's 8-bit activations by `vpmaddubsw` (unsigned × signed byte pairs summed to
//! i16), widened to i32 by `vpmaddwd`, converted to f32 and accumulated per row with the block's
//! scale in an FMA. This is the arithmetic of ggml's `q4_1·q8_1` and `q8_0·q8_0` dot products
//! (the same integer sums and scales); only the order of the f32 additions differs from the
//! portable loop in `rows`.
//!
//! Everything goes through pulp's safe wrappers of the intrinsics, available only with the
//! [`V3`] token that proves AVX2 and FMA at run time, so this module needs no `unsafe`.

use pulp::x86::V3;
use pulp::{cast, NullaryFnOnce};

use super::activations::QuantizedActivations;
use super::rows::RowTask;
use super::{array_at, f16_at_inline};
use core::arch::x86_64::{__m128i, __m256, __m256i};

/// The AVX2 token, when this CPU has AVX2 and FMA.
pub(crate) fn available() -> Option<V3> {
    V3::try_new()
}

/// The weight formats with an AVX2 loop here.
#[derive(Clone, Copy)]
pub(crate) enum Avx2Format {
    Q4_1,
    Q8_0,
}

/// Runs `task` (weights in `format`) against `acts` (see [`Transposed::fill`]) with the AVX2 loop.
pub(crate) fn int_rows(simd: V3, format: Avx2Format, task: RowTask<'_>, acts: &Transposed) {
    simd.vectorize(Rows {
        simd,
        format,
        task,
        acts,
    });
}

struct Rows<'a, 't> {
    simd: V3,
    format: Avx2Format,
    task: RowTask<'t>,
    acts: &'a Transposed,
}

impl NullaryFnOnce for Rows<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn call(self) {
        match self.format {
            Avx2Format::Q4_1 => rows::<Q4_1>(self.simd, self.task, self.acts),
            Avx2Format::Q8_0 => rows::<Q8_0>(self.simd, self.task, self.acts),
        }
    }
}

/// One block format: its size, and its contribution to one row given the row's activations.
trait Block {
    const BYTES: usize;
    /// Whether the block adds `min · s` (the activation block's scaled sum).
    const HAS_MIN: bool;
    /// The 32 weights as bytes for `vpmaddubsw`, the scale and the min.
    fn unpack(simd: V3, block: &[u8], f16_table: &F16Table) -> Unpacked;
    /// The i16 pair sums of weights times activations `x`.
    fn products(simd: V3, w: &Unpacked, x: __m256i) -> __m256i;
}

#[derive(Clone, Copy)]
struct Unpacked {
    /// Q4_1: the nibbles 0..=15 (unsigned); Q8_0: |w|.
    weights: __m256i,
    /// Q8_0: the weights themselves, whose signs move onto the activations.
    signs: __m256i,
    scale: f32,
    min: f32,
}

impl Default for Unpacked {
    fn default() -> Self {
        Unpacked {
            weights: cast([0u8; 32]),
            signs: cast([0u8; 32]),
            scale: 0.0,
            min: 0.0,
        }
    }
}

struct Q4_1;

impl Block for Q4_1 {
    const BYTES: usize = 20;
    const HAS_MIN: bool = true;

    #[inline(always)]
    fn unpack(simd: V3, block: &[u8], f16_table: &F16Table) -> Unpacked {
        let packed: __m128i = cast(*array_at::<16>(block, 4));
        let mask: __m128i = cast([0x0fu8; 16]);
        let low = simd.sse2._mm_and_si128(packed, mask);
        let high = simd
            .sse2
            ._mm_and_si128(simd.sse2._mm_srli_epi16::<4>(packed), mask);
        let weights = simd.avx._mm256_set_m128i(high, low);
        Unpacked {
            weights,
            signs: weights,
            scale: f16_table.at(block, 0),
            min: f16_table.at(block, 2),
        }
    }

    #[inline(always)]
    fn products(simd: V3, w: &Unpacked, x: __m256i) -> __m256i {
        // 15 · 127 · 2 fits i16: no saturation.
        simd.avx2._mm256_maddubs_epi16(w.weights, x)
    }
}

struct Q8_0;

impl Block for Q8_0 {
    const BYTES: usize = 34;
    const HAS_MIN: bool = false;

    #[inline(always)]
    fn unpack(simd: V3, block: &[u8], f16_table: &F16Table) -> Unpacked {
        let signed: __m256i = cast(*array_at::<32>(block, 2));
        Unpacked {
            weights: simd.avx2._mm256_sign_epi8(signed, signed),
            signs: signed,
            scale: f16_table.at(block, 0),
            min: 0.0,
        }
    }

    #[inline(always)]
    fn products(simd: V3, w: &Unpacked, x: __m256i) -> __m256i {
        // |w| · (x with w's sign) = w · x; 128 · 127 · 2 fits i16.
        let signed_x = simd.avx2._mm256_sign_epi8(x, w.signs);
        simd.avx2._mm256_maddubs_epi16(w.weights, signed_x)
    }
}

/// Every f16 bit pattern's f32 value (256 KiB): a block's scale and min are one load each
/// instead of a bit-level conversion per block and weight row (ggml does the same).
pub(crate) struct F16Table(Box<[f32; 1 << 16]>);

impl F16Table {
    /// The process-wide table, built on first use.
    fn get() -> &'static F16Table {
        static TABLE: std::sync::OnceLock<F16Table> = std::sync::OnceLock::new();
        TABLE.get_or_init(|| {
            let mut values = Box::new([0.0f32; 1 << 16]);
            for (bits, value) in values.iter_mut().enumerate() {
                let bytes = (bits as u16).to_le_bytes();
                *value = f16_at_inline(&bytes, 0);
            }
            F16Table(values)
        })
    }

    /// The little-endian f16 at `at` in `bytes`, as f32.
    #[inline(always)]
    fn at(&self, bytes: &[u8], at: usize) -> f32 {
        self.0[usize::from(u16::from_le_bytes([bytes[at], bytes[at + 1]]))]
    }
}

/// One activation block of one batch row.
#[derive(Clone, Copy)]
struct ActBlock {
    q: [i8; 32],
    /// The block's scale.
    d: f32,
}

/// The activations laid out block-major, `[block][batch row]`, so the inner loop walks memory
/// in order without bounds checks; the blocks' scaled sums (for formats with a min) are kept
/// apart, eight batch rows to a vector. Refilled in place, so a thread's buffers are reused.
#[derive(Default)]
pub(crate) struct Transposed {
    blocks: Vec<ActBlock>,
    /// `[block][batch row]`, each block's row padded with zeros to a multiple of 8.
    sums: Vec<f32>,
    padded_batch: usize,
}

impl Transposed {
    /// Lays out `acts` (row-major `[batch row][block]`), reusing this buffer's storage.
    pub(crate) fn fill(&mut self, acts: &QuantizedActivations) {
        let groups = acts.groups_per_row;
        let batch = acts.q.len() / groups.max(1);
        self.padded_batch = batch.next_multiple_of(8);
        self.blocks.clear();
        self.blocks.reserve(acts.q.len());
        self.sums.clear();
        self.sums.resize(groups * self.padded_batch, 0.0);
        for k in 0..groups {
            for b in 0..batch {
                let index = b * groups + k;
                self.blocks.push(ActBlock {
                    q: acts.q[index],
                    d: acts.d[index],
                });
                self.sums[k * self.padded_batch + b] = acts.s[index];
            }
        }
    }
}

/// `acts` transposed into a new buffer.
#[cfg(test)]
fn transpose(acts: &QuantizedActivations) -> Transposed {
    let mut transposed = Transposed::default();
    transposed.fill(acts);
    transposed
}

/// Weight rows taken together: each activation block is loaded once for all of them.
const ROWS_AT_ONCE: usize = 4;

/// [`ROWS_AT_ONCE`] weight rows at a time share each activation load; the last rows of the task
/// are taken with the rows before them repeated (their results are not written twice).
#[inline(always)]
fn rows<B: Block>(simd: V3, task: RowTask<'_>, acts: &Transposed) {
    let RowTask {
        data,
        row_bytes,
        rows,
        mut outs,
    } = task;
    let batch = outs.len();
    let f16_table = F16Table::get();
    let ones = simd.avx._mm256_set1_epi16(1);
    let zero = simd.avx._mm256_setzero_ps();
    let mut acc = vec![[zero; ROWS_AT_ONCE]; batch];
    let mut mins = vec![[zero; ROWS_AT_ONCE]; acts.padded_batch / 8];
    let mut first = rows.start;
    while first < rows.end {
        let taken = (rows.end - first).min(ROWS_AT_ONCE);
        acc.fill([zero; ROWS_AT_ONCE]);
        mins.fill([zero; ROWS_AT_ONCE]);
        // Rows past the task's end repeat its last row; only `taken` results are kept.
        let weight_rows: [&[u8]; ROWS_AT_ONCE] = std::array::from_fn(|j| {
            let r = first + j.min(taken - 1);
            &data[r * row_bytes..(r + 1) * row_bytes]
        });
        let per_block = acts
            .blocks
            .chunks_exact(batch)
            .zip(acts.sums.chunks_exact(acts.padded_batch));
        for (k, (x_blocks, sums)) in per_block.enumerate() {
            // Plain loops, not `array::from_fn`: everything here must inline into the AVX2 context.
            let mut w = [Unpacked::default(); ROWS_AT_ONCE];
            for (w, row) in w.iter_mut().zip(&weight_rows) {
                *w = B::unpack(simd, &row[k * B::BYTES..(k + 1) * B::BYTES], f16_table);
            }
            for (a, x) in acc.iter_mut().zip(x_blocks) {
                let q: __m256i = cast(x.q);
                for j in 0..ROWS_AT_ONCE {
                    let pairs = B::products(simd, &w[j], q);
                    let sums = simd
                        .avx
                        ._mm256_cvtepi32_ps(simd.avx2._mm256_madd_epi16(pairs, ones));
                    let scale = simd.avx._mm256_set1_ps(w[j].scale * x.d);
                    a[j] = simd.fma._mm256_fmadd_ps(sums, scale, a[j]);
                }
            }
            if B::HAS_MIN {
                let mut min = [zero; ROWS_AT_ONCE];
                for (min, w) in min.iter_mut().zip(&w) {
                    *min = simd.avx._mm256_set1_ps(w.min);
                }
                for (m, s) in mins.iter_mut().zip(sums.chunks_exact(8)) {
                    let s: __m256 = cast(*<&[f32; 8]>::try_from(s).expect("chunks of 8"));
                    for j in 0..ROWS_AT_ONCE {
                        m[j] = simd.fma._mm256_fmadd_ps(min[j], s, m[j]);
                    }
                }
            }
        }
        let i = first - rows.start;
        for (b, (out, a)) in outs.iter_mut().zip(&acc).enumerate() {
            let lanes: [[f32; 8]; ROWS_AT_ONCE] = cast(*a);
            let min_lanes: [[f32; 8]; ROWS_AT_ONCE] = cast(mins[b / 8]);
            for j in 0..taken {
                out[i + j] = lanes[j].iter().sum::<f32>() + min_lanes[j][b % 8];
            }
        }
        first += taken;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::quant::{groups, rows as portable};

    #[test]
    fn the_f16_table_holds_every_pattern_exactly() {
        let table = F16Table::get();
        for bits in 0..=u16::MAX {
            let expected = half::f16::from_bits(bits).to_f32();
            let got = table.at(&bits.to_le_bytes(), 0);
            assert!(
                got.to_bits() == expected.to_bits() || (got.is_nan() && expected.is_nan()),
                "{bits:#06x}: {got} vs {expected}"
            );
        }
    }

    /// Weight rows of `blocks` blocks each, with sane f16 scales and mins and varied payloads.
    fn weights(bytes_per_block: usize, n_rows: usize, blocks: usize, has_min: bool) -> Vec<u8> {
        let mut data = Vec::new();
        for i in 0..n_rows * blocks {
            data.extend_from_slice(
                &half::f16::from_f32(0.002 + (i % 7) as f32 * 0.001).to_le_bytes(),
            );
            if has_min {
                data.extend_from_slice(&half::f16::from_f32(-0.01 * (i % 5) as f32).to_le_bytes());
            }
            let header = if has_min { 4 } else { 2 };
            data.extend((0..bytes_per_block - header).map(|j| (j * 53 + i * 29 + 7) as u8));
        }
        data
    }

    fn outputs(n_rows: usize, batch: usize) -> Vec<Vec<f32>> {
        vec![vec![0.0; n_rows]; batch]
    }

    fn task<'a>(
        data: &'a [u8],
        row_bytes: usize,
        n_rows: usize,
        outs: &'a mut [Vec<f32>],
    ) -> RowTask<'a> {
        RowTask {
            data,
            row_bytes,
            rows: 0..n_rows,
            outs: outs.iter_mut().map(|o| &mut o[..]).collect(),
        }
    }

    #[test]
    fn the_avx2_loops_equal_the_portable_loops() {
        let Some(simd) = available() else {
            eprintln!("skipped: this CPU has no AVX2 and FMA");
            return;
        };
        // 9 rows: two groups of four and a last row alone.
        let (n_rows, blocks) = (9, 5);
        let cols = blocks * 32;
        for batch in [1, 3, 8, 11] {
            let x: Vec<f32> = (0..batch * cols)
                .map(|i| ((i * 37 % 101) as f32 - 50.0) * 0.02)
                .collect();
            let mut acts = QuantizedActivations::default();
            acts.fill(&x, cols);
            let transposed = transpose(&acts);
            for (format, bytes, has_min) in
                [(Avx2Format::Q4_1, 20, true), (Avx2Format::Q8_0, 34, false)]
            {
                let data = weights(bytes, n_rows, blocks, has_min);
                let row_bytes = bytes * blocks;
                let (mut want, mut got) = (outputs(n_rows, batch), outputs(n_rows, batch));
                match format {
                    Avx2Format::Q4_1 => portable::int_rows::<groups::Q4_1>(
                        task(&data, row_bytes, n_rows, &mut want),
                        &acts,
                    ),
                    Avx2Format::Q8_0 => portable::int_rows::<groups::Q8_0>(
                        task(&data, row_bytes, n_rows, &mut want),
                        &acts,
                    ),
                }
                int_rows(
                    simd,
                    format,
                    task(&data, row_bytes, n_rows, &mut got),
                    &transposed,
                );
                for (b, (want, got)) in want.iter().zip(&got).enumerate() {
                    for (r, (w, g)) in want.iter().zip(got).enumerate() {
                        assert!(
                            (w - g).abs() <= 1e-5 * w.abs().max(1.0),
                            "batch {batch}, row {b}, output {r}: portable {w}, avx2 {g}"
                        );
                    }
                }
            }
        }
    }
}
