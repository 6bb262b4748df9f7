//! Causal grouped-query attention of one (row, head) against a sequence's paged cache.
//!
//! Softmax runs online over the cache blocks (the running maximum rescales what is already
//! accumulated), so no score buffer of context length is needed and the step allocates nothing.
//! An f16 cache's keys and values are widened to f32 (F16C where the CPU has it) just before use.

use super::ops::{dot, scale_add};
use crate::kv_cache::{KvCache, KvSlice};
use half::f16;
use half::slice::HalfFloatSliceExt;

/// Positions scored at once; blocks larger than this are taken in slices.
const TILE: usize = 256;
/// Values widened from f16 at once.
const WIDEN: usize = 64;

/// `dot(q, k)` with `k` widened from f16 in pieces of [`WIDEN`].
fn dot_f16(q: &[f32], k: &[f16]) -> f32 {
    let mut buffer = [0.0f32; WIDEN];
    let mut sum = 0.0;
    for (q, k) in q.chunks(WIDEN).zip(k.chunks(WIDEN)) {
        let wide = &mut buffer[..k.len()];
        k.convert_to_f32_slice(wide);
        sum += dot(q, wide);
    }
    sum
}

/// `acc = acc * scale + weight * v` with `v` widened from f16 in pieces of [`WIDEN`].
fn scale_add_f16(acc: &mut [f32], scale: f32, weight: f32, v: &[f16]) {
    let mut buffer = [0.0f32; WIDEN];
    for (acc, v) in acc.chunks_mut(WIDEN).zip(v.chunks(WIDEN)) {
        let wide = &mut buffer[..v.len()];
        v.convert_to_f32_slice(wide);
        scale_add(acc, scale, weight, wide);
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

/// Attention output of one query head: `out = softmax(q . K / sqrt(d)) V` over the visible
/// positions of `sequence`, `q` and `out` being `head_dim` wide.
pub fn attend_head(
    sequence: SequenceContext<'_>,
    shape: AttentionShape,
    kv_head: usize,
    q: &[f32],
    out: &mut [f32],
) {
    let SequenceContext {
        cache,
        layer,
        block_table,
        len: context,
    } = sequence;
    let head_dim = shape.head_dim;
    let block_size = cache.block_size();
    let mut scores = [0.0f32; TILE];
    let mut running_max = f32::NEG_INFINITY;
    let mut running_sum = 0.0f32;
    out.fill(0.0);
    let mut start = 0;
    while start < context {
        let block = block_table[start / block_size] as usize;
        let offset = start % block_size;
        let len = (block_size - offset).min(context - start).min(TILE);
        let keys = cache.keys(layer, block, kv_head, offset + len);
        let values = cache.values(layer, block, kv_head, offset + len);
        let tile = &mut scores[..len];
        match keys {
            KvSlice::F16(keys) => {
                let keys = keys[offset * head_dim..].chunks_exact(head_dim);
                for (score, key) in tile.iter_mut().zip(keys) {
                    *score = dot_f16(q, key) * shape.scale;
                }
            }
            KvSlice::F32(keys) => {
                let keys = keys[offset * head_dim..].chunks_exact(head_dim);
                for (score, key) in tile.iter_mut().zip(keys) {
                    *score = dot(q, key) * shape.scale;
                }
            }
        }
        let tile_max = tile.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let new_max = running_max.max(tile_max);
        let rescale = (running_max - new_max).exp();
        running_sum *= rescale;
        for (i, score) in tile.iter().enumerate() {
            let weight = (score - new_max).exp();
            running_sum += weight;
            let scale = if i == 0 { rescale } else { 1.0 };
            let at = (offset + i) * head_dim;
            match values {
                KvSlice::F16(values) => {
                    scale_add_f16(out, scale, weight, &values[at..at + head_dim])
                }
                KvSlice::F32(values) => scale_add(out, scale, weight, &values[at..at + head_dim]),
            }
        }
        running_max = new_max;
        start += len;
    }
    let inverse = 1.0 / running_sum;
    for o in out.iter_mut() {
        *o *= inverse;
    }
}
