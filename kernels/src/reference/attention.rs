//! Reference of paged-attention decode: one query per sequence against a block-table KV cache
//! in the engine's layout `[num_blocks, n_kv_heads, block_size, head_dim]`.

use crate::gpu::GpuFloat;

/// One layer's paged keys and values.
#[derive(Debug, Clone, Copy)]
pub struct PagedCache<'a, T> {
    pub keys: &'a [T],
    pub values: &'a [T],
    pub n_kv_heads: usize,
    pub block_size: usize,
    pub head_dim: usize,
}

impl<T> PagedCache<'_, T> {
    fn num_blocks(&self) -> usize {
        self.keys.len() / (self.n_kv_heads * self.block_size * self.head_dim).max(1)
    }

    /// The offset of position `t`'s row for `kv_head`, or `None` when its block is out of range.
    fn row(&self, table: &[i32], t: usize, kv_head: usize) -> Option<usize> {
        let block = usize::try_from(table[t / self.block_size]).ok()?;
        (block < self.num_blocks()).then(|| {
            ((block * self.n_kv_heads + kv_head) * self.block_size + t % self.block_size)
                * self.head_dim
        })
    }
}

/// `out[s][h] = softmax(scale · q[s][h] · Kᵀ) · V` over the first `context_lens[s]` positions
/// (cut to `max_context` and to the table's capacity); a block index out of range contributes
/// nothing. `q`, `out`: `[batch, n_heads, head_dim]`; `block_tables`: `[batch, max_blocks_per_seq]`.
#[allow(clippy::too_many_arguments)]
pub fn paged_attention_decode<T: GpuFloat>(
    q: &[T],
    cache: &PagedCache<'_, T>,
    block_tables: &[i32],
    max_blocks_per_seq: usize,
    context_lens: &[i32],
    n_heads: usize,
    max_context: usize,
    scale: f32,
    out: &mut [T],
) {
    let head_dim = cache.head_dim;
    let group = n_heads / cache.n_kv_heads;
    for (seq, &context) in context_lens.iter().enumerate() {
        let context = usize::try_from(context)
            .unwrap_or(0)
            .min(max_context)
            .min(max_blocks_per_seq * cache.block_size);
        let table = &block_tables[seq * max_blocks_per_seq..(seq + 1) * max_blocks_per_seq];
        for head in 0..n_heads {
            let kv_head = head / group;
            let base = (seq * n_heads + head) * head_dim;
            let query: Vec<f32> = q[base..base + head_dim]
                .iter()
                .map(|v| v.to_f32() * scale)
                .collect();
            let scores: Vec<Option<f32>> = (0..context)
                .map(|t| {
                    cache.row(table, t, kv_head).map(|row| {
                        query
                            .iter()
                            .zip(&cache.keys[row..row + head_dim])
                            .map(|(a, b)| a * b.to_f32())
                            .sum()
                    })
                })
                .collect();
            let max = scores
                .iter()
                .flatten()
                .copied()
                .fold(f32::NEG_INFINITY, f32::max);
            let weights: Vec<f32> = scores
                .iter()
                .map(|s| s.map_or(0.0, |s| (s - max).exp()))
                .collect();
            let total: f32 = weights.iter().sum();
            let inv_total = if total > 0.0 { 1.0 / total } else { 0.0 };
            for d in 0..head_dim {
                let mut acc = 0.0f32;
                for (t, w) in weights.iter().enumerate() {
                    if let Some(row) = cache.row(table, t, kv_head) {
                        acc += w * cache.values[row + d].to_f32();
                    }
                }
                out[base + d] = T::from_f32(acc * inv_total);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u64) -> Vec<f32> {
        let mut state = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
        (0..n)
            .map(|_| {
                state = state
                    .wrapping_mul(6_364_136_223_846_793_005)
                    .wrapping_add(1_442_695_040_888_963_407);
                ((state >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
            })
            .collect()
    }

    /// Dense attention over contiguous keys and values `[positions, head_dim]`, in f64.
    fn dense(query: &[f32], keys: &[Vec<f32>], values: &[Vec<f32>], scale: f64) -> Vec<f64> {
        let scores: Vec<f64> = keys
            .iter()
            .map(|k| {
                query
                    .iter()
                    .zip(k)
                    .map(|(a, b)| f64::from(*a) * f64::from(*b))
                    .sum::<f64>()
                    * scale
            })
            .collect();
        let max = scores.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        let weights: Vec<f64> = scores.iter().map(|s| (s - max).exp()).collect();
        let total: f64 = weights.iter().sum();
        (0..query.len())
            .map(|d| {
                weights
                    .iter()
                    .zip(values)
                    .map(|(w, v)| w * f64::from(v[d]))
                    .sum::<f64>()
                    / total
            })
            .collect()
    }

    #[test]
    fn paged_decode_equals_dense_attention_over_scattered_blocks() {
        let (n_heads, n_kv_heads, head_dim, block_size, num_blocks, max_blocks) =
            (4, 2, 8, 4, 12, 4);
        let keys = values(num_blocks * n_kv_heads * block_size * head_dim, 1);
        let vals = values(keys.len(), 2);
        let cache = PagedCache {
            keys: &keys,
            values: &vals,
            n_kv_heads,
            block_size,
            head_dim,
        };
        // Two sequences on scattered, non-overlapping blocks, of 13 and 3 positions.
        let tables = [7, 2, 11, 0, 5, 9, 3, 1];
        let lens = [13, 3];
        let q = values(2 * n_heads * head_dim, 3);
        let scale = 1.0 / (head_dim as f32).sqrt();
        let mut out = vec![0.0f32; q.len()];
        paged_attention_decode(
            &q, &cache, &tables, max_blocks, &lens, n_heads, 64, scale, &mut out,
        );
        for seq in 0..2 {
            for head in 0..n_heads {
                let kv = head / (n_heads / n_kv_heads);
                let at = |buffer: &[f32], t: usize| {
                    let block = tables[seq * max_blocks + t / block_size] as usize;
                    let row = ((block * n_kv_heads + kv) * block_size + t % block_size) * head_dim;
                    buffer[row..row + head_dim].to_vec()
                };
                let ks: Vec<Vec<f32>> = (0..lens[seq] as usize).map(|t| at(&keys, t)).collect();
                let vs: Vec<Vec<f32>> = (0..lens[seq] as usize).map(|t| at(&vals, t)).collect();
                let base = (seq * n_heads + head) * head_dim;
                let want = dense(&q[base..base + head_dim], &ks, &vs, f64::from(scale));
                for d in 0..head_dim {
                    assert!(
                        (f64::from(out[base + d]) - want[d]).abs() < 1e-5,
                        "{seq} {head} {d}"
                    );
                }
            }
        }
    }

    #[test]
    fn bad_blocks_and_long_contexts_are_cut_not_read() {
        let (head_dim, block_size) = (4, 2);
        let keys = values(2 * block_size * head_dim, 4);
        let vals = values(keys.len(), 5);
        let cache = PagedCache {
            keys: &keys,
            values: &vals,
            n_kv_heads: 1,
            block_size,
            head_dim,
        };
        let q = values(head_dim, 6);
        let mut clean = vec![0.0f32; head_dim];
        paged_attention_decode(&q, &cache, &[1, 0], 2, &[2], 1, 64, 0.5, &mut clean);
        // Block 99 does not exist and the context claims 1000 positions: only block 1 counts.
        let mut cut = vec![0.0f32; head_dim];
        paged_attention_decode(&q, &cache, &[1, 99], 2, &[1000], 1, 64, 0.5, &mut cut);
        assert_eq!(clean, cut);
        let mut empty = vec![1.0f32; head_dim];
        paged_attention_decode(&q, &cache, &[1, 0], 2, &[0], 1, 64, 0.5, &mut empty);
        assert_eq!(empty, vec![0.0; head_dim]);
    }
}
