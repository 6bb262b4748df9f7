//! References of the engine's glue kernels: the KV-cache write and the bias add.

use crate::gpu::ops::KvWriteShape;
use crate::gpu::GpuFloat;

/// Copies token `t`'s keys and values (`k`, `v`: `[tokens, n_kv_heads, head_dim]`) into cache
/// slot `slots[t] = block * block_size + offset` of `k_cache` / `v_cache`
/// (`[num_blocks, n_kv_heads, block_size, head_dim]`); slots outside the cache are skipped.
pub fn kv_write<T: GpuFloat>(
    k: &[T],
    v: &[T],
    k_cache: &mut [T],
    v_cache: &mut [T],
    slots: &[i32],
    shape: &KvWriteShape,
) {
    let head_dim = shape.head_dim;
    let width = shape.n_kv_heads * head_dim;
    for (t, &slot) in slots.iter().enumerate().take(shape.tokens) {
        let Ok(slot) = usize::try_from(slot) else {
            continue;
        };
        let (block, offset) = (slot / shape.block_size, slot % shape.block_size);
        if block >= shape.num_blocks {
            continue;
        }
        for h in 0..shape.n_kv_heads {
            let at = ((block * shape.n_kv_heads + h) * shape.block_size + offset) * head_dim;
            let from = t * width + h * head_dim;
            k_cache[at..at + head_dim].copy_from_slice(&k[from..from + head_dim]);
            v_cache[at..at + head_dim].copy_from_slice(&v[from..from + head_dim]);
        }
    }
}

/// `x[r] += bias` for every `bias.len()`-wide row of `x`, rounded to `T`.
pub fn add_bias<T: GpuFloat>(x: &mut [T], bias: &[T]) {
    for row in x.chunks_exact_mut(bias.len().max(1)) {
        for (value, b) in row.iter_mut().zip(bias) {
            *value = T::from_f32(value.to_f32() + b.to_f32());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reference::{paged_attention_decode, PagedCache};

    /// Reads every written slot back through the attention reference, so the layout is checked
    /// against the reader rather than against the writer's own formula.
    #[test]
    fn written_slots_are_read_back_by_attention() {
        let shape = KvWriteShape {
            tokens: 5,
            n_kv_heads: 2,
            head_dim: 4,
            block_size: 3,
            num_blocks: 4,
        };
        let width = shape.n_kv_heads * shape.head_dim;
        let k: Vec<f32> = (0..shape.tokens * width).map(|i| i as f32 * 0.01).collect();
        let v: Vec<f32> = (0..shape.tokens * width)
            .map(|i| 100.0 + i as f32)
            .collect();
        let cache_len = shape.num_blocks * shape.block_size * width;
        let (mut k_cache, mut v_cache) = (vec![0.0f32; cache_len], vec![0.0f32; cache_len]);
        // Slots in scattered blocks, one of them out of the cache, one negative.
        let slots = [7, 2, 11, 12, -1];
        kv_write(&k, &v, &mut k_cache, &mut v_cache, &slots, &shape);
        let cache = PagedCache {
            keys: &k_cache,
            values: &v_cache,
            n_kv_heads: shape.n_kv_heads,
            block_size: shape.block_size,
            head_dim: shape.head_dim,
        };
        for (t, &slot) in slots.iter().enumerate().take(3) {
            // The table is the slot's block alone and the context ends at the slot; the other
            // positions of the block hold zero keys, and the query is the slot's key scaled
            // so far up that every other position's softmax weight is exactly 0.
            let (block, offset) = (slot / 3, slot % 3);
            let table = [block];
            let n_heads = shape.n_kv_heads;
            let mut q = vec![0.0f32; n_heads * shape.head_dim];
            for h in 0..n_heads {
                let key = &k[t * width + h * shape.head_dim..][..shape.head_dim];
                for (d, value) in key.iter().enumerate() {
                    q[h * shape.head_dim + d] = value * 1e6;
                }
            }
            let mut out = vec![0.0f32; n_heads * shape.head_dim];
            paged_attention_decode(
                &q,
                &cache,
                &table,
                1,
                &[offset + 1],
                n_heads,
                16,
                1.0,
                &mut out,
            );
            assert_eq!(
                &out[..],
                &v[t * width..(t + 1) * width],
                "token {t}, slot {slot}"
            );
        }
        // The out-of-range and negative slots wrote nothing: only 3 tokens' rows are non-zero.
        let written = v_cache.iter().filter(|value| **value != 0.0).count();
        assert_eq!(written, 3 * width);
    }

    #[test]
    fn bias_is_added_to_every_row() {
        let mut x = vec![1.0f32, 2.0, 3.0, 4.0, 5.0, 6.0];
        add_bias(&mut x, &[0.5, -1.0, 2.0]);
        assert_eq!(x, [1.5, 1.0, 5.0, 4.5, 4.0, 8.0]);
    }
}
