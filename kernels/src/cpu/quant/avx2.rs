//! Hand-vectorised AVX2 row loops for the two formats SmolLM2 ships in: Q4_1 (every projection)
//! and Q8_0 (the tied embedding, which is also the output head).
//!
//! Eight weight rows are taken at a time. With more than one batch row, their blocks are first
//! unpacked into a small tile (32 bytes, Q8_0's 32 signs, and a scale each, `[block][row]`, in
//! L1), so the unpacking is paid once per step rather than once per batch row; one batch row
//! reads the blocks straight from the weights. Each block's 32 weights, in one 256-bit register, are multiplied with the
//! batch row's 8-bit activations by `vpmaddubsw` (unsigned × signed byte pairs summed to i16),
//! widened to i32 by `vpmaddwd`, converted to f32 and accumulated with the product of the two
//! blocks' scales in an FMA, eight accumulators in registers for the whole row of blocks. The
//! eight lanes of each accumulator are summed by a tree of `vhaddps` at the end.
//!
//! This is the arithmetic of ggml's `q4_1·q8_1` and `q8_0·q8_0` dot products (the same integer
//! sums and scales); only the order of the f32 additions differs from the portable loop in
//! `rows`. Every output is computed by the same operations whatever the batch size and the
//! output's place in it, so a sequence's logits do not depend on what it is batched with.
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
            Avx2Format::Q4_1 => lane_rows(self.simd, self.task, self.acts),
            Avx2Format::Q8_0 => rows::<Q8_0>(self.simd, self.task, self.acts),
        }
    }
}

/// One block format: its size, and its contribution to one row given the row's activations.
trait Block {
    const BYTES: usize;
    /// Whether the block adds `min · s` (the activation block's scaled sum).
    const HAS_MIN: bool;
    /// Whether [`Block::products`] reads the signs (kept apart from the weights).
    const HAS_SIGNS: bool;
    /// The 32 weights as bytes for `vpmaddubsw`, and the scale.
    fn unpack(simd: V3, block: &[u8], f16_table: &F16Table) -> Unpacked;
    /// The block's min alone (0 for formats without one).
    fn min(block: &[u8], f16_table: &F16Table) -> f32;
    /// The i16 pair sums of `weights` (with `signs`, see [`Unpacked`]) times activations `x`.
    fn products(simd: V3, weights: __m256i, signs: __m256i, x: __m256i) -> __m256i;
}

#[derive(Clone, Copy)]
struct Unpacked {
    /// Q4_1: the nibbles 0..=15 (unsigned); Q8_0: |w|.
    weights: __m256i,
    /// Q8_0: the weights themselves, whose signs move onto the activations.
    signs: __m256i,
    scale: f32,
}

struct Q4_1;

impl Block for Q4_1 {
    const BYTES: usize = 20;
    const HAS_MIN: bool = true;
    const HAS_SIGNS: bool = false;

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
        }
    }

    #[inline(always)]
    fn min(block: &[u8], f16_table: &F16Table) -> f32 {
        f16_table.at(block, 2)
    }

    #[inline(always)]
    fn products(simd: V3, weights: __m256i, _signs: __m256i, x: __m256i) -> __m256i {
        // 15 · 127 · 2 fits i16: no saturation.
        simd.avx2._mm256_maddubs_epi16(weights, x)
    }
}

struct Q8_0;

impl Block for Q8_0 {
    const BYTES: usize = 34;
    const HAS_MIN: bool = false;
    const HAS_SIGNS: bool = true;

    #[inline(always)]
    fn unpack(simd: V3, block: &[u8], f16_table: &F16Table) -> Unpacked {
        let signed: __m256i = cast(*array_at::<32>(block, 2));
        Unpacked {
            weights: simd.avx2._mm256_sign_epi8(signed, signed),
            signs: signed,
            scale: f16_table.at(block, 0),
        }
    }

    #[inline(always)]
    fn min(_block: &[u8], _f16_table: &F16Table) -> f32 {
        0.0
    }

    #[inline(always)]
    fn products(simd: V3, weights: __m256i, signs: __m256i, x: __m256i) -> __m256i {
        // |w| · (x with w's sign) = w · x; 128 · 127 · 2 fits i16.
        let signed_x = simd.avx2._mm256_sign_epi8(x, signs);
        simd.avx2._mm256_maddubs_epi16(weights, signed_x)
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
    /// The block's scale in every lane: multiplied with a weight scale straight from memory.
    d: [f32; 8],
}

/// The activations laid out block-major, `[block][batch row]`, so the inner loop walks memory
/// in order without bounds checks; the blocks' scaled sums (for formats with a min) are kept
/// apart, eight batch rows to a vector. Refilled in place, so a thread's buffers are reused.
#[derive(Default)]
pub(crate) struct Transposed {
    blocks: Vec<ActBlock>,
    /// `[block][batch row]`, each block's row padded with zeros to a multiple of 8.
    sums: Vec<f32>,
    batch: usize,
    padded_batch: usize,
}

impl Transposed {
    /// Lays out `acts` (row-major `[batch row][block]`), reusing this buffer's storage.
    pub(crate) fn fill(&mut self, acts: &QuantizedActivations) {
        let groups = acts.groups_per_row;
        let batch = acts.q.len() / groups.max(1);
        self.batch = batch;
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
                    d: [acts.d[index]; 8],
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

/// Weight rows taken together: unpacked once, then run against every batch row, whose
/// accumulators for all of them stay in registers over a whole row of blocks.
const ROWS_AT_ONCE: usize = 8;

/// The blocks of [`ROWS_AT_ONCE`] weight rows, unpacked once and then read by every tile of
/// batch rows, `[block][weight row]`.
#[derive(Default)]
struct WeightTile {
    weights: Vec<[u8; 32]>,
    /// Empty for formats without signs.
    signs: Vec<[u8; 32]>,
    scales: Vec<f32>,
}

impl WeightTile {
    /// Unpacks `rows` into this tile (when `STORE`), and adds each block's `min · s` into `mins`
    /// (`[batch row group of 8][weight row]`) for formats with a min.
    #[inline(always)]
    fn fill<B: Block, const STORE: bool>(
        &mut self,
        simd: V3,
        rows: &[&[u8]; ROWS_AT_ONCE],
        acts: &Transposed,
        mins: &mut [[__m256; ROWS_AT_ONCE]],
    ) {
        let f16_table = F16Table::get();
        let zero = simd.avx._mm256_setzero_ps();
        let blocks = rows[0].len() / B::BYTES;
        mins.fill([zero; ROWS_AT_ONCE]);
        if STORE {
            let slots = blocks * ROWS_AT_ONCE;
            self.weights.resize(slots, [0; 32]);
            self.signs
                .resize(if B::HAS_SIGNS { slots } else { 0 }, [0; 32]);
            self.scales.resize(slots, 0.0);
        } else if !B::HAS_MIN {
            return;
        }
        let per_block = acts
            .sums
            .chunks_exact(acts.padded_batch)
            .take(blocks)
            .enumerate();
        for (k, sums) in per_block {
            let mut min = [zero; ROWS_AT_ONCE];
            for j in 0..ROWS_AT_ONCE {
                let block = &rows[j][k * B::BYTES..(k + 1) * B::BYTES];
                if STORE {
                    let slot = k * ROWS_AT_ONCE + j;
                    let w = B::unpack(simd, block, f16_table);
                    self.weights[slot] = cast(w.weights);
                    if B::HAS_SIGNS {
                        self.signs[slot] = cast(w.signs);
                    }
                    self.scales[slot] = w.scale;
                }
                min[j] = simd.avx._mm256_set1_ps(B::min(block, f16_table));
            }
            if B::HAS_MIN {
                for (m, s) in mins.iter_mut().zip(sums.chunks_exact(8)) {
                    let s: __m256 = cast(*<&[f32; 8]>::try_from(s).expect("chunks of 8"));
                    for j in 0..ROWS_AT_ONCE {
                        m[j] = simd.fma._mm256_fmadd_ps(min[j], s, m[j]);
                    }
                }
            }
        }
    }
}

/// The per-lane sums of the [`ROWS_AT_ONCE`] weight rows of `w` times batch row `b`, over every
/// block.
#[inline(always)]
fn tile<B: Block>(simd: V3, w: &WeightTile, acts: &Transposed, b: usize) -> [__m256; ROWS_AT_ONCE] {
    let zero = simd.avx._mm256_setzero_ps();
    let mut acc = [zero; ROWS_AT_ONCE];
    // Formats without signs pass the weights again, unread.
    let signs = if B::HAS_SIGNS { &w.signs } else { &w.weights };
    let per_block = acts.blocks.chunks_exact(acts.batch).zip(
        w.weights
            .chunks_exact(ROWS_AT_ONCE)
            .zip(signs.chunks_exact(ROWS_AT_ONCE))
            .zip(w.scales.chunks_exact(ROWS_AT_ONCE)),
    );
    for (x_blocks, ((weights, signs), scales)) in per_block {
        let x = &x_blocks[b];
        let q: __m256i = cast(x.q);
        let d: __m256 = cast(x.d);
        for j in 0..ROWS_AT_ONCE {
            let (weight, sign) = (cast(weights[j]), cast(signs[j]));
            acc[j] = accumulate::<B>(simd, acc[j], (weight, sign, scales[j]), (q, d));
        }
    }
    acc
}

/// [`tile`] for weights unpacked as they are read, from the rows themselves: for a batch of one,
/// where a [`WeightTile`] would be read only once.
#[inline(always)]
fn tile_raw<B: Block>(
    simd: V3,
    rows: &[&[u8]; ROWS_AT_ONCE],
    acts: &Transposed,
    b: usize,
) -> [__m256; ROWS_AT_ONCE] {
    let f16_table = F16Table::get();
    let zero = simd.avx._mm256_setzero_ps();
    let mut acc = [zero; ROWS_AT_ONCE];
    for (k, x_blocks) in acts.blocks.chunks_exact(acts.batch).enumerate() {
        let x = &x_blocks[b];
        let q: __m256i = cast(x.q);
        let d: __m256 = cast(x.d);
        for j in 0..ROWS_AT_ONCE {
            let w = B::unpack(simd, &rows[j][k * B::BYTES..(k + 1) * B::BYTES], f16_table);
            acc[j] = accumulate::<B>(simd, acc[j], (w.weights, w.signs, w.scale), (q, d));
        }
    }
    acc
}

/// `acc` plus one weight block `(weights, signs, scale)` times one activation block `(q, d)`:
/// the integer pair sums widened to i32, converted, and scaled by the product of the two scales.
#[inline(always)]
fn accumulate<B: Block>(
    simd: V3,
    acc: __m256,
    (weights, signs, weight_scale): (__m256i, __m256i, f32),
    (q, d): (__m256i, __m256),
) -> __m256 {
    let ones = simd.avx._mm256_set1_epi16(1);
    let pairs = B::products(simd, weights, signs, q);
    let sums = simd
        .avx
        ._mm256_cvtepi32_ps(simd.avx2._mm256_madd_epi16(pairs, ones));
    let scale = simd
        .avx
        ._mm256_mul_ps(simd.avx._mm256_set1_ps(weight_scale), d);
    simd.fma._mm256_fmadd_ps(sums, scale, acc)
}

/// The sum of the lanes of each of the eight vectors, in order, as one vector.
#[inline(always)]
fn lane_sums(simd: V3, v: &[__m256; 8]) -> __m256 {
    let avx = simd.avx;
    // hadd(a, b) = [a0+a1, a2+a3, b0+b1, b2+b3 | a4+a5, a6+a7, b4+b5, b6+b7]
    let h01 = avx._mm256_hadd_ps(v[0], v[1]);
    let h23 = avx._mm256_hadd_ps(v[2], v[3]);
    let h45 = avx._mm256_hadd_ps(v[4], v[5]);
    let h67 = avx._mm256_hadd_ps(v[6], v[7]);
    // [v0..v3 low-half sums | v0..v3 high-half sums], and the same for v4..v7.
    let h0123 = avx._mm256_hadd_ps(h01, h23);
    let h4567 = avx._mm256_hadd_ps(h45, h67);
    let low = avx._mm256_permute2f128_ps::<0x20>(h0123, h4567);
    let high = avx._mm256_permute2f128_ps::<0x31>(h0123, h4567);
    avx._mm256_add_ps(low, high)
}

/// [`ROWS_AT_ONCE`] weight rows at a time are unpacked once, then run against each batch row;
/// the last rows of the task are taken with the rows before them repeated (their results are
/// not written twice).
#[inline(always)]
fn rows<B: Block>(simd: V3, task: RowTask<'_>, acts: &Transposed) {
    let RowTask {
        data,
        row_bytes,
        rows,
        mut outs,
    } = task;
    debug_assert_eq!(outs.len(), acts.batch);
    let zero = simd.avx._mm256_setzero_ps();
    let mut mins = vec![[zero; ROWS_AT_ONCE]; acts.padded_batch / 8];
    let mut tile_buffer = WeightTile::default();
    let mut first = rows.start;
    while first < rows.end {
        let taken = (rows.end - first).min(ROWS_AT_ONCE);
        // Rows past the task's end repeat its last row; only `taken` results are kept.
        let weight_rows: [&[u8]; ROWS_AT_ONCE] = std::array::from_fn(|j| {
            let r = first + j.min(taken - 1);
            &data[r * row_bytes..(r + 1) * row_bytes]
        });
        // One batch row reads each block once: unpacking into the tile first would only add
        // a store and a load.
        let raw = acts.batch == 1;
        if raw {
            tile_buffer.fill::<B, false>(simd, &weight_rows, acts, &mut mins);
        } else {
            tile_buffer.fill::<B, true>(simd, &weight_rows, acts, &mut mins);
        }
        let i = first - rows.start;
        for (b, out) in outs.iter_mut().enumerate() {
            let acc = if raw {
                tile_raw::<B>(simd, &weight_rows, acts, b)
            } else {
                tile::<B>(simd, &tile_buffer, acts, b)
            };
            let sums: [f32; ROWS_AT_ONCE] = cast(lane_sums(simd, &acc));
            let min_lanes: [[f32; 8]; ROWS_AT_ONCE] = cast(mins[b / 8]);
            for (j, out) in out[i..i + taken].iter_mut().enumerate() {
                *out = sums[j] + min_lanes[j][b % 8];
            }
        }
        first += taken;
    }
}

/// Block `k` of [`ROWS_AT_ONCE`] Q4_1 weight rows with the rows in the lanes: 32-bit lane `j`
/// of chunk `c` holds weights `4c..4c + 4` of row `j` (one byte each, 0..=15), and lane `j` of
/// `scales` and `mins` is row `j`'s.
#[derive(Clone, Copy)]
struct LaneBlock {
    chunks: [__m256i; 8],
    scales: __m256,
    mins: __m256,
}

impl LaneBlock {
    /// Block `k` of `rows`, read from their GGUF bytes.
    #[inline(always)]
    fn q4_1(simd: V3, rows: &[&[u8]; ROWS_AT_ONCE], k: usize) -> Self {
        let (avx, avx2) = (simd.avx, simd.avx2);
        let at = k * Q4_1::BYTES;
        // Byte i of a block's 16 packs weights i (low nibble) and i + 16 (high nibble), so
        // 32-bit word t of every row, gathered into one vector with row j in lane j, gives
        // chunk t in its low nibbles and chunk t + 4 in its high ones.
        let nibbles = |j: usize| -> __m128i { cast(*array_at::<16>(rows[j], at + 4)) };
        let (y0, y1, y2, y3) = (
            avx._mm256_set_m128i(nibbles(4), nibbles(0)),
            avx._mm256_set_m128i(nibbles(5), nibbles(1)),
            avx._mm256_set_m128i(nibbles(6), nibbles(2)),
            avx._mm256_set_m128i(nibbles(7), nibbles(3)),
        );
        let t0 = avx2._mm256_unpacklo_epi32(y0, y1);
        let t1 = avx2._mm256_unpackhi_epi32(y0, y1);
        let t2 = avx2._mm256_unpacklo_epi32(y2, y3);
        let t3 = avx2._mm256_unpackhi_epi32(y2, y3);
        let words = [
            avx2._mm256_unpacklo_epi64(t0, t2),
            avx2._mm256_unpackhi_epi64(t0, t2),
            avx2._mm256_unpacklo_epi64(t1, t3),
            avx2._mm256_unpackhi_epi64(t1, t3),
        ];
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
        LaneBlock {
            chunks,
            scales: f16_lanes(simd, low_half),
            mins: f16_lanes(simd, avx2._mm256_srli_epi32::<16>(header)),
        }
    }
}

/// The f16 in the low 16 bits of each 32-bit lane (the high bits zero), as f32: exact for every
/// f16, by the same bit arithmetic as [`f16_at_inline`].
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
/// rows' blocks in order. Per block, the integer dot products of all eight rows come out of
/// eight `vpmaddubsw`, each against four activation bytes broadcast to every lane and summed in
/// i16 (8 · 2 · 15 · 127 fits), so one conversion and one scale serve the eight rows.
#[inline(always)]
fn lanes_q4_1<const N: usize, W: std::borrow::Borrow<LaneBlock>>(
    simd: V3,
    blocks: impl Iterator<Item = W>,
    acts: &Transposed,
    b0: usize,
) -> [__m256; N] {
    let (avx, avx2, fma) = (simd.avx, simd.avx2, simd.fma);
    let zero = avx._mm256_setzero_ps();
    let ones = avx._mm256_set1_epi16(1);
    let mut acc = [zero; N];
    let mut acc_min = [zero; N];
    let per_block = acts
        .blocks
        .chunks_exact(acts.batch)
        .zip(acts.sums.chunks_exact(acts.padded_batch))
        .zip(blocks);
    for ((x_blocks, sums), w) in per_block {
        let w = w.borrow();
        for n in 0..N {
            let x = &x_blocks[b0 + n];
            let words: [i32; 8] = cast(x.q);
            let mut pairs = avx._mm256_setzero_si256();
            for (chunk, word) in w.chunks.iter().zip(words) {
                let product = avx2._mm256_maddubs_epi16(*chunk, avx._mm256_set1_epi32(word));
                pairs = avx2._mm256_add_epi16(pairs, product);
            }
            let dots = avx._mm256_cvtepi32_ps(avx2._mm256_madd_epi16(pairs, ones));
            let scale = avx._mm256_mul_ps(w.scales, cast(x.d));
            acc[n] = fma._mm256_fmadd_ps(dots, scale, acc[n]);
            let s = avx._mm256_set1_ps(sums[b0 + n]);
            acc_min[n] = fma._mm256_fmadd_ps(w.mins, s, acc_min[n]);
        }
    }
    std::array::from_fn(|n| avx._mm256_add_ps(acc[n], acc_min[n]))
}

/// [`ROWS_AT_ONCE`] Q4_1 weight rows at a time: with more than one batch row, their blocks are
/// unpacked once into a tile of [`LaneBlock`]s that the batch rows then read two at a time; one
/// batch row unpacks them as it goes. A task's last rows are taken with the rows before them
/// repeated (their results are not written twice).
#[inline(always)]
fn lane_rows(simd: V3, task: RowTask<'_>, acts: &Transposed) {
    let RowTask {
        data,
        row_bytes,
        rows,
        mut outs,
    } = task;
    debug_assert_eq!(outs.len(), acts.batch);
    let blocks = row_bytes / Q4_1::BYTES;
    let mut tile: Vec<LaneBlock> = Vec::new();
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
            let unpacked = (0..blocks).map(|k| LaneBlock::q4_1(simd, &weight_rows, k));
            let [sums] = lanes_q4_1::<1, _>(simd, unpacked, acts, 0);
            write(0, sums);
        } else {
            tile.clear();
            for k in 0..blocks {
                tile.push(LaneBlock::q4_1(simd, &weight_rows, k));
            }
            let mut b = 0;
            while b + 2 <= acts.batch {
                let [s0, s1] = lanes_q4_1::<2, _>(simd, tile.iter(), acts, b);
                write(b, s0);
                write(b + 1, s1);
                b += 2;
            }
            if b < acts.batch {
                let [sums] = lanes_q4_1::<1, _>(simd, tile.iter(), acts, b);
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
