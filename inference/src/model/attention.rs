//! Causal grouped-query attention of one (row, head) against a sequence's paged cache.
//!
//! Softmax runs online over the cache blocks (the running maximum rescales what is already
//! accumulated), so no score buffer of context length is needed and the step allocates nothing.

use super::ops::{dot, scale_add};
use crate::kv_cache::KvCache;

/// Positions scored at once; blocks larger than this are taken in slices.
const TILE: usize = 256;

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
        let keys = &cache.keys(layer, block, kv_head, offset + len)[offset * head_dim..];
        let values = &cache.values(layer, block, kv_head, offset + len)[offset * head_dim..];
        let tile = &mut scores[..len];
        for (score, key) in tile.iter_mut().zip(keys.chunks_exact(head_dim)) {
            *score = dot(q, key) * shape.scale;
        }
        let tile_max = tile.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let new_max = running_max.max(tile_max);
        let rescale = (running_max - new_max).exp();
        running_sum *= rescale;
        let mut first = true;
        for (score, value) in tile.iter().zip(values.chunks_exact(head_dim)) {
            let weight = (score - new_max).exp();
            running_sum += weight;
            scale_add(out, if first { rescale } else { 1.0 }, weight, value);
            first = false;
        }
        running_max = new_max;
        start += len;
    }
    let inverse = 1.0 / running_sum;
    for o in out.iter_mut() {
        *o *= inverse;
    }
}
