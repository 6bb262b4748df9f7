//! Causal grouped-query attention of one (row, KV head) — the query heads sharing that KV head
//! — against a sequence's paged cache.
//!
//! Softmax runs online over the cache blocks (the running maximum rescales what is already
//! accumulated), so no score buffer of context length is needed and the step allocates nothing.
//! An f16 cache's keys and values are widened to f32 (by exact bit arithmetic that vectorises) a
//! tile at a time, once for all the heads of the group, into per-thread buffers.

use super::ops::{dot, exp, scale_add};
use crate::kv_cache::{KvCache, KvSlice};

/// Values of one head widened from f16 (and scored) at once: a tile holds
/// `WIDEN_VALUES / head_dim` positions (and never crosses a cache block), 64 for heads of 64.
const WIDEN_VALUES: usize = 4096;
/// Query heads attended together per KV head; larger groups are taken in parts.
const MAX_GROUP: usize = 32;

/// Positions `range` of `slice` as f32: borrowed from an f32 cache, widened into `buffer` from
/// an f16 one (one conversion for the whole tile, shared by every head of the group).
#[inline(always)]
fn widened<'a>(
    slice: KvSlice<'a>,
    range: std::ops::Range<usize>,
    buffer: &'a mut [f32],
) -> &'a [f32] {
    match slice {
        KvSlice::F32(values) => &values[range],
        KvSlice::F16(values) => {
            let wide = &mut buffer[..range.len()];
            widen_f16(&values[range], wide);
            wide
        }
    }
}

/// `dst[i] = src[i]` as f32, exactly (subnormals, infinities and NaN payloads included), in
/// integer and float arithmetic that vectorises inside the AVX2 copy of the attention: the
/// magnitude bits moved into an f32 and scaled by 2^112 re-bias normal and subnormal values.
#[inline(always)]
fn widen_f16(src: &[half::f16], dst: &mut [f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        let h = u32::from(s.to_bits());
        let sign = (h & 0x8000) << 16;
        let magnitude = h & 0x7fff;
        let finite = f32::from_bits(magnitude << 13) * f32::from_bits(0x7780_0000);
        let special = f32::from_bits(0x7f80_0000 | ((magnitude & 0x3ff) << 13));
        let value = if magnitude >= 0x7c00 { special } else { finite };
        *d = f32::from_bits(value.to_bits() | sign);
    }
}

/// Shapes one attention call needs.
#[derive(Debug, Clone, Copy)]
pub struct AttentionShape {
    /// Width of one head.
    pub head_dim: usize,
    /// `1 / sqrt(head_dim)`.
    pub scale: f32,
}

/// The cached keys and values one query row may see.
#[derive(Debug, Clone, Copy)]
pub struct SequenceContext<'a> {
    /// The cache.
    pub cache: &'a KvCache,
    /// Decoder block.
    pub layer: usize,
    /// The sequence's blocks, in position order.
    pub block_table: &'a [u32],
    /// Positions `0..len` are visible (causal: up to and including the query's own).
    pub len: usize,
}

/// Attention output of the query heads that share `kv_head`: for each head `h`,
/// `out[h] = softmax(q[h] . K / sqrt(d)) V` over the visible positions of `sequence`. `q` and
/// `out` hold the group's heads one after the other, `head_dim` wide each. The cache is read
/// (and an f16 cache widened) once per tile for the whole group.
pub fn attend_group(
    sequence: SequenceContext<'_>,
    shape: AttentionShape,
    kv_head: usize,
    q: &[f32],
    out: &mut [f32],
) {
    pulp::Arch::new().dispatch(Group {
        sequence,
        shape,
        kv_head,
        q,
        out,
    });
}

/// [`attend_group`]'s arguments, for pulp to compile [`attend_group_with_simd`] once more with
/// AVX2/FMA enabled (so that `dot`, `exp` and `scale_add`, inlined into it, use 8 lanes) and
/// pick that copy when the CPU has them.
struct Group<'s, 'q, 'o> {
    sequence: SequenceContext<'s>,
    shape: AttentionShape,
    kv_head: usize,
    q: &'q [f32],
    out: &'o mut [f32],
}

impl pulp::WithSimd for Group<'_, '_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        attend_group_with_simd(self.sequence, self.shape, self.kv_head, self.q, self.out);
    }
}

#[inline(always)]
fn attend_group_with_simd(
    sequence: SequenceContext<'_>,
    shape: AttentionShape,
    kv_head: usize,
    q: &[f32],
    out: &mut [f32],
) {
    let head_dim = shape.head_dim;
    let group = q.len() / head_dim.max(1);
    if group > MAX_GROUP {
        let split = MAX_GROUP * head_dim;
        let (q_first, q_rest) = q.split_at(split);
        let (out_first, out_rest) = out.split_at_mut(split);
        attend_group(sequence, shape, kv_head, q_first, out_first);
        attend_group(sequence, shape, kv_head, q_rest, out_rest);
        return;
    }
    let SequenceContext {
        cache,
        layer,
        block_table,
        len: context,
    } = sequence;
    let block_size = cache.block_size();
    let tile_positions = (WIDEN_VALUES / head_dim.max(1)).max(1);
    let buffer_len = tile_positions * head_dim;
    // Taken out (not borrowed) so that a nested call on this thread finds an empty buffer
    // instead of a borrowed one; reused across calls, so nothing is zeroed per call.
    let mut buffers = BUFFERS.take();
    buffers.keys.resize(buffer_len, 0.0);
    buffers.values.resize(buffer_len, 0.0);
    buffers.scores.resize(tile_positions, 0.0);
    let Buffers {
        keys: key_buffer,
        values: value_buffer,
        scores,
    } = &mut buffers;
    let mut running_max = [f32::NEG_INFINITY; MAX_GROUP];
    let mut running_sum = [0.0f32; MAX_GROUP];
    out.fill(0.0);
    let mut start = 0;
    while start < context {
        let block = block_table[start / block_size] as usize;
        let offset = start % block_size;
        // At most `tile_positions`, itself at most WIDEN_VALUES (the scores buffer).
        let len = (block_size - offset)
            .min(context - start)
            .min(tile_positions);
        let range = offset * head_dim..(offset + len) * head_dim;
        let keys = widened(
            cache.keys(layer, block, kv_head, offset + len),
            range.clone(),
            key_buffer,
        );
        let values = widened(
            cache.values(layer, block, kv_head, offset + len),
            range,
            value_buffer,
        );
        let heads = q
            .chunks_exact(head_dim)
            .zip(out.chunks_exact_mut(head_dim))
            .zip(running_max.iter_mut().zip(running_sum.iter_mut()));
        for ((q, out), (running_max, running_sum)) in heads {
            let tile = &mut scores[..len];
            for (score, key) in tile.iter_mut().zip(keys.chunks_exact(head_dim)) {
                *score = dot(q, key) * shape.scale;
            }
            let tile_max = tile.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            let new_max = running_max.max(tile_max);
            let rescale = exp(*running_max - new_max);
            *running_sum *= rescale;
            // The weights of the whole tile first: one vectorised loop.
            for score in tile.iter_mut() {
                *score = exp(*score - new_max);
            }
            for (i, (&weight, value)) in tile.iter().zip(values.chunks_exact(head_dim)).enumerate()
            {
                *running_sum += weight;
                let scale = if i == 0 { rescale } else { 1.0 };
                scale_add(out, scale, weight, value);
            }
            *running_max = new_max;
        }
        start += len;
    }
    for (out, sum) in out.chunks_exact_mut(head_dim).zip(running_sum) {
        let inverse = 1.0 / sum;
        for o in out.iter_mut() {
            *o *= inverse;
        }
    }
    BUFFERS.set(buffers);
}

/// Widened keys and values of one tile, and its scores.
#[derive(Default)]
struct Buffers {
    keys: Vec<f32>,
    values: Vec<f32>,
    scores: Vec<f32>,
}

thread_local! {
    /// This thread's [`Buffers`], reused across calls.
    static BUFFERS: std::cell::Cell<Buffers> = std::cell::Cell::new(Buffers::default());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widening_is_exact_for_every_f16() {
        let all: Vec<half::f16> = (0..=u16::MAX).map(half::f16::from_bits).collect();
        let mut wide = vec![0.0f32; all.len()];
        widen_f16(&all, &mut wide);
        for (h, w) in all.iter().zip(&wide) {
            let expected = h.to_f32();
            assert!(
                w.to_bits() == expected.to_bits() || (w.is_nan() && expected.is_nan()),
                "{:#06x}: {w} vs {expected}",
                h.to_bits()
            );
        }
    }
}
