//! The paged KV cache: per layer, keys and values in fixed-size blocks addressed through block
//! tables.
//!
//! Layout of one layer's keys (values alike): `[block][kv_head][offset][head_dim]`, so the keys
//! of one head in one block are contiguous for the attention loop. The cache stores f16 by
//! default, which halves the largest part of a busy worker's memory (keys and values are rounded
//! once, when written, and attention widens them back to f32), or f32 when the forward pass must
//! equal an f32 reference exactly ([`KvDtype`]). Position `p` of a
//! sequence lives in block `block_table[p / block_size]` at offset `p % block_size`.

use crate::config::{CacheConfig, KvDtype};
use half::f16;
use half::slice::HalfFloatSliceExt;

/// Keys and values of every layer.
#[derive(Debug, Clone)]
pub struct KvCache {
    block_size: usize,
    num_blocks: usize,
    dtype: KvDtype,
    n_kv_heads: usize,
    head_dim: usize,
    layers: Vec<LayerCache>,
}

#[derive(Debug, Clone)]
enum LayerCache {
    F16 { keys: Vec<f16>, values: Vec<f16> },
    F32 { keys: Vec<f32>, values: Vec<f32> },
}

/// Stored keys or values, in the cache's dtype.
#[derive(Debug, Clone, Copy)]
pub enum KvSlice<'a> {
    F16(&'a [f16]),
    F32(&'a [f32]),
}

impl KvCache {
    /// Zeroed storage for `n_layers` layers of `n_kv_heads` heads of width `head_dim`.
    pub fn new(cache: CacheConfig, n_layers: usize, n_kv_heads: usize, head_dim: usize) -> Self {
        let len = cache.num_blocks * cache.block_size * n_kv_heads * head_dim;
        let layers = (0..n_layers)
            .map(|_| match cache.dtype {
                KvDtype::F16 => LayerCache::F16 {
                    keys: vec![f16::ZERO; len],
                    values: vec![f16::ZERO; len],
                },
                KvDtype::F32 => LayerCache::F32 {
                    keys: vec![0.0; len],
                    values: vec![0.0; len],
                },
            })
            .collect();
        Self {
            block_size: cache.block_size,
            num_blocks: cache.num_blocks,
            dtype: cache.dtype,
            n_kv_heads,
            head_dim,
            layers,
        }
    }

    /// Positions per block.
    pub fn block_size(&self) -> usize {
        self.block_size
    }

    /// Blocks per layer.
    pub fn num_blocks(&self) -> usize {
        self.num_blocks
    }

    /// Bytes of cache storage, all layers, keys and values.
    pub fn size_in_bytes(&self) -> usize {
        self.layers.len() * 2 * self.num_blocks * self.block_stride_elems() * self.dtype.size()
    }

    fn block_stride_elems(&self) -> usize {
        self.n_kv_heads * self.block_size * self.head_dim
    }

    /// Start of `(block, kv_head, offset)` in a layer's storage.
    fn index(&self, block: usize, kv_head: usize, offset: usize) -> usize {
        block * self.block_stride_elems() + (kv_head * self.block_size + offset) * self.head_dim
    }

    /// Stores the keys and values of one position: `key` and `value` are `n_kv_heads *
    /// head_dim` wide, head after head. The block table must cover `position` and name blocks
    /// below `num_blocks` (the model checks both before a step).
    pub fn write(
        &mut self,
        layer: usize,
        block_table: &[u32],
        position: usize,
        key: &[f32],
        value: &[f32],
    ) {
        let block = block_table[position / self.block_size] as usize;
        let offset = position % self.block_size;
        let head_dim = self.head_dim;
        for kv_head in 0..self.n_kv_heads {
            let start = self.index(block, kv_head, offset);
            let source = kv_head * head_dim..(kv_head + 1) * head_dim;
            let (key, value) = (&key[source.clone()], &value[source]);
            match &mut self.layers[layer] {
                LayerCache::F16 { keys, values } => {
                    keys[start..start + head_dim].convert_from_f32_slice(key);
                    values[start..start + head_dim].convert_from_f32_slice(value);
                }
                LayerCache::F32 { keys, values } => {
                    keys[start..start + head_dim].copy_from_slice(key);
                    values[start..start + head_dim].copy_from_slice(value);
                }
            }
        }
    }

    /// Keys of `kv_head` at offsets `0..len` of `block` in `layer`: `len * head_dim` floats,
    /// position after position.
    pub fn keys(&self, layer: usize, block: usize, kv_head: usize, len: usize) -> KvSlice<'_> {
        let range = self.index(block, kv_head, 0)..self.index(block, kv_head, len);
        match &self.layers[layer] {
            LayerCache::F16 { keys, .. } => KvSlice::F16(&keys[range]),
            LayerCache::F32 { keys, .. } => KvSlice::F32(&keys[range]),
        }
    }

    /// Values of `kv_head` at offsets `0..len` of `block` in `layer`, laid out like [`Self::keys`].
    pub fn values(&self, layer: usize, block: usize, kv_head: usize, len: usize) -> KvSlice<'_> {
        let range = self.index(block, kv_head, 0)..self.index(block, kv_head, len);
        match &self.layers[layer] {
            LayerCache::F16 { values, .. } => KvSlice::F16(&values[range]),
            LayerCache::F32 { values, .. } => KvSlice::F32(&values[range]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn positions_land_in_the_blocks_their_table_names() {
        for (dtype, size) in [(KvDtype::F16, 2), (KvDtype::F32, 4)] {
            positions_land(dtype, size);
        }
    }

    /// The values of `slice` from `offset` on, widened to f32.
    fn widened(slice: KvSlice<'_>, offset: usize) -> Vec<f32> {
        match slice {
            KvSlice::F16(values) => values[offset..].iter().map(|v| v.to_f32()).collect(),
            KvSlice::F32(values) => values[offset..].to_vec(),
        }
    }

    fn positions_land(dtype: KvDtype, size: usize) {
        let config = CacheConfig {
            block_size: 2,
            num_blocks: 4,
            dtype,
        };
        let mut cache = KvCache::new(config, 1, 2, 3);
        let table = [3u32, 0];
        for position in 0..4 {
            let key: Vec<f32> = (0..6).map(|i| (position * 10 + i) as f32).collect();
            let value: Vec<f32> = key.iter().map(|k| -k).collect();
            cache.write(0, &table, position, &key, &value);
        }
        // Position 1 is block 3, offset 1; position 2 is block 0, offset 0.
        assert_eq!(
            widened(cache.keys(0, 3, 1, 2), 0),
            [3.0, 4.0, 5.0, 13.0, 14.0, 15.0]
        );
        assert_eq!(widened(cache.values(0, 0, 0, 1), 0), [-20.0, -21.0, -22.0]);
        assert_eq!(widened(cache.keys(0, 1, 0, 2), 3), [0.0; 3]);
        assert_eq!(cache.size_in_bytes(), 2 * 4 * 2 * 2 * 3 * size);
    }
}
