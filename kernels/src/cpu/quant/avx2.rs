//! Hand-vectorised AVX2 row loops for the two formats SmolLM2 ships in: Q4_1 (every projection)
//! and Q8_0 (the tied embedding, which is also the output head).
//!
//! Eight weight rows are taken at a time, one per 32-bit lane: for each block, a 4 × 4 transpose
//! of 32-bit words per 128-bit half gathers chunk `c` (weights `4c..4c + 4`) of all eight rows
//! into one vector, and their eight scales (and mins) into another. Each chunk is multiplied with
//! four bytes of the batch row's 8-bit activations, broadcast to every lane, by `vpmaddubsw`
//! (unsigned × signed byte pairs summed to i16; Q8_0's signs move onto the activations first).
//! Eight chunks make a block, so lane `j` ends up with row `j`'s exact integer dot product with
//! the activation block, and one conversion, one product of scales and one FMA serve eight
//! rows. The lanes are the outputs: nothing is summed across lanes at the end.
//!
//! With more than one batch row, each block of the eight rows is unpacked once per call into a
//! small tile in L1 that every batch row then reads; one batch row unpacks the blocks as it reads
//! them.
//!
//! The integer sums are those of ggml's `q4_1·q8_1` and `q8_0·q8_0` dot products; per row, the
//! f32 sum then runs over the blocks in order (the portable loop in `rows` adds the same terms in
//! another order). Every output is computed by the same operations whatever the batch size and
//! the output's place in it, so a sequence's logits do not depend on what it is batched with.
//!
//! Everything goes through pulp's safe wrappers of the intrinsics, available only with the
//! [`V3`] token that proves AVX2 and FMA at run time, so this module needs no `unsafe`.

use pulp::x86::V3;
use pulp::{cast, NullaryFnOnce};

use super::activations::QuantizedActivations;
use super::array_at;
use super::rows::RowTask;
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

/// One activation block of one batch row.
#[derive(Clone, Copy)]
struct ActBlock {
    q: [i8; 32],
    /// The block's scale in every lane: multiplied with a weight scale straight from memory.
    d: [f32; 8],
}

/// The activations laid out block-major, `[block][batch row]`, so the inner loop walks memory
/// in order without bounds checks; the blocks' scaled sums (for formats with a min) are kept
/// apart in the same order. Refilled in place, so a thread's buffers are reused.
#[derive(Default)]
pub(crate) struct Transposed {
    blocks: Vec<ActBlock>,
    /// `[block][batch row]`.
    sums: Vec<f32>,
    batch: usize,
}

impl Transposed {
    /// Lays out `acts` (row-major `[batch row][block]`), reusing this buffer's storage.
    pub(crate) fn fill(&mut self, acts: &QuantizedActivations) {
        let groups = acts.groups_per_row;
        let batch = acts.q.len() / groups.max(1);
        self.batch = batch;
        self.blocks.clear();
        self.blocks.reserve(acts.q.len());
        self.sums.clear();
        self.sums.reserve(acts.q.len());
        for k in 0..groups {
            for b in 0..batch {
                let index = b * groups + k;
                self.blocks.push(ActBlock {
                    q: acts.q[index],
                    d: [acts.d[index]; 8],
                });
                self.sums.push(acts.s[index]);
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

/// Weight rows taken together, one per lane of the results.
const ROWS_AT_ONCE: usize = 8;

/// One block format, read [`ROWS_AT_ONCE`] rows at a time with the rows in the lanes: 32-bit
/// lane `j` of chunk `c` holds weights `4c..4c + 4` of row `j`, so the integer dot products of
/// all eight rows with one activation block come out of eight `vpmaddubsw`, each against four
/// activation bytes broadcast to every lane.
trait Lanes {
    /// Bytes of one GGUF block.
    const BYTES: usize;
    /// Block `k` of eight rows, unpacked.
    type Block;
    /// Block `k` of `rows`, read from their GGUF bytes.
    fn unpack(simd: V3, rows: &[&[u8]; ROWS_AT_ONCE], k: usize) -> Self::Block;
    /// Adds block `w` times activation block `x` (scaled sum `s`) into `acc`: the scaled dot
    /// products into `acc[0]`, the `min · s` terms (formats with a min) into `acc[1]`.
    fn accumulate(simd: V3, w: &Self::Block, x: &ActBlock, s: f32, acc: &mut [__m256; 2]);
}

/// Block `k` of eight Q4_1 rows: chunks of weights 0..=15, and each row's scale and min.
struct Q4_1Block {
    chunks: [__m256i; 8],
    scales: __m256,
    mins: __m256,
}

/// Block `k` of eight Q8_0 rows: the chunks' magnitudes and the weights themselves, whose signs
/// move onto the activations (`vpmaddubsw` multiplies unsigned by signed bytes), and each row's
/// scale.
struct Q8_0Block {
    magnitudes: [__m256i; 8],
    signs: [__m256i; 8],
    scales: __m256,
}

struct Q4_1;

impl Lanes for Q4_1 {
    const BYTES: usize = 20;
    type Block = Q4_1Block;

    #[inline(always)]
    fn unpack(simd: V3, rows: &[&[u8]; ROWS_AT_ONCE], k: usize) -> Q4_1Block {
        let (avx, avx2) = (simd.avx, simd.avx2);
        let at = k * Self::BYTES;
        // Byte i of a block's 16 packs weights i (low nibble) and i + 16 (high nibble), so
        // word t of the rows, one per lane, holds chunk t in its low nibbles and chunk t + 4 in
        // its high ones.
        let words = row_words(simd, rows, at + 4);
        let mask = avx._mm256_set1_epi8(0x0f);
        let mut chunks = [avx._mm256_setzero_si256(); 8];
        for (t, word) in words.into_iter().enumerate() {
            chunks[t] = avx2._mm256_and_si256(word, mask);
            chunks[t + 4] = avx2._mm256_and_si256(avx2._mm256_srli_epi16::<4>(word), mask);
        }
        // Each row's scale (low half) and min (high half) as one 32-bit word per lane.
        let header: [u32; ROWS_AT_ONCE] =
            std::array::from_fn(|j| u32::from_le_bytes(*array_at::<4>(rows[j], at)));
        let header: __m256i = cast(header);
        let low_half = avx2._mm256_and_si256(header, avx._mm256_set1_epi32(0xffff));
        Q4_1Block {
            chunks,
            scales: f16_lanes(simd, low_half),
            mins: f16_lanes(simd, avx2._mm256_srli_epi32::<16>(header)),
        }
    }

    #[inline(always)]
    fn accumulate(simd: V3, w: &Q4_1Block, x: &ActBlock, s: f32, acc: &mut [__m256; 2]) {
        let (avx, avx2, fma) = (simd.avx, simd.avx2, simd.fma);
        let words: [i32; 8] = cast(x.q);
        let mut pairs = avx._mm256_setzero_si256();
        for (chunk, word) in w.chunks.iter().zip(words) {
            // Summed in i16: 8 chunks · 2 products · 15 · 127 fits.
            let product = avx2._mm256_maddubs_epi16(*chunk, avx._mm256_set1_epi32(word));
            pairs = avx2._mm256_add_epi16(pairs, product);
        }
        let ones = avx._mm256_set1_epi16(1);
        let dots = avx._mm256_cvtepi32_ps(avx2._mm256_madd_epi16(pairs, ones));
        let scale = avx._mm256_mul_ps(w.scales, cast(x.d));
        acc[0] = fma._mm256_fmadd_ps(dots, scale, acc[0]);
        acc[1] = fma._mm256_fmadd_ps(w.mins, avx._mm256_set1_ps(s), acc[1]);
    }
}

struct Q8_0;

impl Lanes for Q8_0 {
    const BYTES: usize = 34;
    type Block = Q8_0Block;

    #[inline(always)]
    fn unpack(simd: V3, rows: &[&[u8]; ROWS_AT_ONCE], k: usize) -> Q8_0Block {
        let avx2 = simd.avx2;
        let at = k * Self::BYTES;
        let low = row_words(simd, rows, at + 2);
        let high = row_words(simd, rows, at + 18);
        let signs = [
            low[0], low[1], low[2], low[3], high[0], high[1], high[2], high[3],
        ];
        let mut magnitudes = signs;
        for w in &mut magnitudes {
            *w = avx2._mm256_sign_epi8(*w, *w);
        }
        let header: [u32; ROWS_AT_ONCE] =
            std::array::from_fn(|j| u32::from(u16::from_le_bytes(*array_at::<2>(rows[j], at))));
        Q8_0Block {
            magnitudes,
            signs,
            scales: f16_lanes(simd, cast(header)),
        }
    }

    #[inline(always)]
    fn accumulate(simd: V3, w: &Q8_0Block, x: &ActBlock, _s: f32, acc: &mut [__m256; 2]) {
        let (avx, avx2, fma) = (simd.avx, simd.avx2, simd.fma);
        let words: [i32; 8] = cast(x.q);
        let ones = avx._mm256_set1_epi16(1);
        let mut dots = avx._mm256_setzero_si256();
        for ((magnitude, sign), word) in w.magnitudes.iter().zip(&w.signs).zip(words) {
            // |w| · (x with w's sign) = w · x; pairs of 128 · 127 fit i16, four do not.
            let x = avx2._mm256_sign_epi8(avx._mm256_set1_epi32(word), *sign);
            let pairs = avx2._mm256_maddubs_epi16(*magnitude, x);
            dots = avx2._mm256_add_epi32(dots, avx2._mm256_madd_epi16(pairs, ones));
        }
        let scale = avx._mm256_mul_ps(w.scales, cast(x.d));
        acc[0] = fma._mm256_fmadd_ps(avx._mm256_cvtepi32_ps(dots), scale, acc[0]);
    }
}

/// The four 32-bit words at `at..at + 16` of each of the eight rows, word `t` of row `j` in lane
/// `j` of vector `t`: a 4 × 4 transpose in each 128-bit half (rows 0..4 low, 4..8 high).
#[inline(always)]
fn row_words(simd: V3, rows: &[&[u8]; ROWS_AT_ONCE], at: usize) -> [__m256i; 4] {
    let (avx, avx2) = (simd.avx, simd.avx2);
    let bytes = |j: usize| -> __m128i { cast(*array_at::<16>(rows[j], at)) };
    let (y0, y1, y2, y3) = (
        avx._mm256_set_m128i(bytes(4), bytes(0)),
        avx._mm256_set_m128i(bytes(5), bytes(1)),
        avx._mm256_set_m128i(bytes(6), bytes(2)),
        avx._mm256_set_m128i(bytes(7), bytes(3)),
    );
    let t0 = avx2._mm256_unpacklo_epi32(y0, y1);
    let t1 = avx2._mm256_unpackhi_epi32(y0, y1);
    let t2 = avx2._mm256_unpacklo_epi32(y2, y3);
    let t3 = avx2._mm256_unpackhi_epi32(y2, y3);
    [
        avx2._mm256_unpacklo_epi64(t0, t2),
        avx2._mm256_unpackhi_epi64(t0, t2),
        avx2._mm256_unpacklo_epi64(t1, t3),
        avx2._mm256_unpackhi_epi64(t1, t3),
    ]
}

/// The f16 in the low 16 bits of each 32-bit lane (the high bits zero), as f32: exact for every
/// f16, by the same bit arithmetic as [`super::f16_at_inline`].
#[inline(always)]
fn f16_lanes(simd: V3, bits: __m256i) -> __m256 {
    let (avx, avx2) = (simd.avx, simd.avx2);
    let magnitude = avx2._mm256_and_si256(bits, avx._mm256_set1_epi32(0x7fff));
    let sign = avx2._mm256_slli_epi32::<16>(avx2._mm256_xor_si256(bits, magnitude));
    let finite = avx._mm256_mul_ps(
        cast(avx2._mm256_slli_epi32::<13>(magnitude)),
        avx._mm256_set1_ps(f32::from_bits(0x7780_0000)),
    );
    // Infinity or NaN: all-ones exponent, the payload kept.
    let payload = avx2._mm256_and_si256(magnitude, avx._mm256_set1_epi32(0x3ff));
    let special: __m256 = cast(avx2._mm256_or_si256(
        avx2._mm256_slli_epi32::<13>(payload),
        avx._mm256_set1_epi32(0x7f80_0000),
    ));
    let is_special = avx2._mm256_cmpgt_epi32(magnitude, avx._mm256_set1_epi32(0x7bff));
    let value = avx._mm256_blendv_ps(finite, special, cast(is_special));
    avx._mm256_or_ps(value, cast(sign))
}

/// The outputs of eight weight rows (one per lane) for the `N` batch rows from `b0`, given the
/// rows' blocks in order. Every output is computed by the same operations in the same order,
/// whatever `N` and whether the blocks come from a tile or are unpacked as they are read.
#[inline(always)]
fn lanes<F: Lanes, const N: usize, W: std::borrow::Borrow<F::Block>>(
    simd: V3,
    blocks: impl Iterator<Item = W>,
    acts: &Transposed,
    b0: usize,
) -> [__m256; N] {
    let avx = simd.avx;
    let zero = avx._mm256_setzero_ps();
    let mut acc = [[zero; 2]; N];
    let per_block = acts
        .blocks
        .chunks_exact(acts.batch)
        .zip(acts.sums.chunks_exact(acts.batch))
        .zip(blocks);
    for ((x_blocks, sums), w) in per_block {
        for (n, acc) in acc.iter_mut().enumerate() {
            F::accumulate(simd, w.borrow(), &x_blocks[b0 + n], sums[b0 + n], acc);
        }
    }
    acc.map(|[dots, mins]| avx._mm256_add_ps(dots, mins))
}

/// [`ROWS_AT_ONCE`] weight rows at a time: with more than one batch row, their blocks are
/// unpacked once into a tile that the batch rows then read two at a time; one batch row unpacks
/// them as it goes. A task's last rows are taken with the rows before them repeated (their
/// results are not written twice).
#[inline(always)]
fn rows<F: Lanes>(simd: V3, task: RowTask<'_>, acts: &Transposed) {
    let RowTask {
        data,
        row_bytes,
        rows,
        mut outs,
    } = task;
    debug_assert_eq!(outs.len(), acts.batch);
    let blocks = row_bytes / F::BYTES;
    let mut tile: Vec<F::Block> = Vec::new();
    let mut first = rows.start;
    while first < rows.end {
        let taken = (rows.end - first).min(ROWS_AT_ONCE);
        let weight_rows: [&[u8]; ROWS_AT_ONCE] = std::array::from_fn(|j| {
            let r = first + j.min(taken - 1);
            &data[r * row_bytes..(r + 1) * row_bytes]
        });
        let i = first - rows.start;
        let mut write = |b: usize, sums: __m256| {
            let sums: [f32; ROWS_AT_ONCE] = cast(sums);
            outs[b][i..i + taken].copy_from_slice(&sums[..taken]);
        };
        if acts.batch == 1 {
            let unpacked = (0..blocks).map(|k| F::unpack(simd, &weight_rows, k));
            let [sums] = lanes::<F, 1, _>(simd, unpacked, acts, 0);
            write(0, sums);
        } else {
            // A loop rather than `extend`, which would not be compiled inside this dispatch.
            tile.clear();
            for k in 0..blocks {
                tile.push(F::unpack(simd, &weight_rows, k));
            }
            let mut b = 0;
            while b + 2 <= acts.batch {
                let [s0, s1] = lanes::<F, 2, _>(simd, tile.iter(), acts, b);
                write(b, s0);
                write(b + 1, s1);
                b += 2;
            }
            if b < acts.batch {
                let [sums] = lanes::<F, 1, _>(simd, tile.iter(), acts, b);
                write(b, sums);
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
    fn f16_lanes_widens_every_pattern_exactly() {
        let Some(simd) = available() else {
            eprintln!("skipped: this CPU has no AVX2 and FMA");
            return;
        };
        for first in (0..=u16::MAX).step_by(ROWS_AT_ONCE) {
            let bits: [u32; ROWS_AT_ONCE] = std::array::from_fn(|j| u32::from(first) + j as u32);
            let widened: [f32; ROWS_AT_ONCE] = cast(simd.vectorize(|| f16_lanes(simd, cast(bits))));
            for (bits, got) in bits.into_iter().zip(widened) {
                let expected = half::f16::from_bits(bits as u16).to_f32();
                assert!(
                    got.to_bits() == expected.to_bits() || (got.is_nan() && expected.is_nan()),
                    "{bits:#06x}: {got} vs {expected}"
                );
            }
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

    /// The portable loop for `format`: what the AVX2 loop is checked against.
    fn portable_rows(format: Avx2Format, task: RowTask<'_>, acts: &QuantizedActivations) {
        match format {
            Avx2Format::Q4_1 => portable::int_rows::<groups::Q4_1>(task, acts),
            Avx2Format::Q8_0 => portable::int_rows::<groups::Q8_0>(task, acts),
        }
    }

    #[test]
    fn the_largest_integer_sums_do_not_overflow() {
        let Some(simd) = available() else {
            eprintln!("skipped: this CPU has no AVX2 and FMA");
            return;
        };
        // Every Q4_1 weight 15 and every Q8_0 weight -128 (a Q8_0 block may hold it), against
        // activations that all quantize to +127 or all to -127: the largest sums either loop
        // can meet, in i16 before the widening and in i32 after it.
        let (n_rows, blocks, batch) = (8, 6, 3);
        let cols = blocks * 32;
        let scale = half::f16::from_f32(0.01).to_le_bytes();
        let q4_1: Vec<u8> = (0..n_rows * blocks)
            .flat_map(|_| scale.into_iter().chain([0, 0]).chain([0xff; 16]))
            .collect();
        let q8_0: Vec<u8> = (0..n_rows * blocks)
            .flat_map(|_| scale.into_iter().chain([0x80; 32]))
            .collect();
        for sign in [1.0f32, -1.0] {
            let x = vec![sign; batch * cols];
            let mut acts = QuantizedActivations::default();
            acts.fill(&x, cols);
            assert!(acts.q.iter().flatten().all(|&q| q == 127 * sign as i8));
            let transposed = transpose(&acts);
            for (format, data, bytes) in
                [(Avx2Format::Q4_1, &q4_1, 20), (Avx2Format::Q8_0, &q8_0, 34)]
            {
                let row_bytes = bytes * blocks;
                let (mut want, mut got) = (outputs(n_rows, batch), outputs(n_rows, batch));
                portable_rows(format, task(data, row_bytes, n_rows, &mut want), &acts);
                int_rows(
                    simd,
                    format,
                    task(data, row_bytes, n_rows, &mut got),
                    &transposed,
                );
                for (want, got) in want.iter().flatten().zip(got.iter().flatten()) {
                    assert!(
                        (want - got).abs() <= 1e-5 * want.abs(),
                        "sign {sign}: portable {want}, avx2 {got}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_avx2_loops_equal_the_portable_loops() {
        let Some(simd) = available() else {
            eprintln!("skipped: this CPU has no AVX2 and FMA");
            return;
        };
        // 9 rows: a group of eight and a last row taken with repeats.
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
                portable_rows(format, task(&data, row_bytes, n_rows, &mut want), &acts);
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

    #[test]
    fn a_row_alone_gives_the_same_bits_as_in_a_batch() {
        let Some(simd) = available() else {
            eprintln!("skipped: this CPU has no AVX2 and FMA");
            return;
        };
        let (n_rows, blocks, batch) = (11, 4, 5);
        let cols = blocks * 32;
        let x: Vec<f32> = (0..batch * cols)
            .map(|i| ((i * 53 % 97) as f32 - 48.0) * 0.03)
            .collect();
        let run = |format, data: &[u8], row_bytes, x: &[f32], rows: usize| {
            let mut acts = QuantizedActivations::default();
            acts.fill(x, cols);
            let mut out = outputs(n_rows, rows);
            int_rows(
                simd,
                format,
                task(data, row_bytes, n_rows, &mut out),
                &transpose(&acts),
            );
            out
        };
        for (format, bytes, has_min) in
            [(Avx2Format::Q4_1, 20, true), (Avx2Format::Q8_0, 34, false)]
        {
            let data = weights(bytes, n_rows, blocks, has_min);
            let together = run(format, &data, bytes * blocks, &x, batch);
            for (b, together) in together.iter().enumerate() {
                let alone = run(
                    format,
                    &data,
                    bytes * blocks,
                    &x[b * cols..(b + 1) * cols],
                    1,
                );
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&alone[0]), bits(together), "batch row {b}");
            }
        }
    }
}
