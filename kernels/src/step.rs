//! [`StepKernels`]: the operations of one decoder step over buffers that live wherever the
//! implementation keeps them — on a CUDA device ([`GpuKernels`], the NVRTC kernels) or in host
//! memory ([`HostKernels`], the CPU references).
//!
//! The engine's device forward pass is written once against this trait. On the CPU it runs on
//! the references, so its orchestration (buffer layouts, block tables, slots, positions) is
//! tested against the CPU engine on any machine; on a GPU the same code launches the kernels,
//! each of which the GPU tests compare with the same references. Both implementations check
//! every buffer length the same way before they compute.

use std::sync::Arc;

use cudarc::driver::{DeviceRepr, ValidAsZeroBits};

use crate::gpu::checks::{self, need};
use crate::gpu::ops::{KvWriteShape, PagedAttentionShape, QuantFormat, RotaryShape};
use crate::gpu::{GpuError, GpuFloat, GpuKernels};
use crate::reference::{self, PagedCache};

/// A value a step buffer can hold: the float dtypes, `i32` (tables, positions) and `u8`
/// (quantized weights).
pub trait Element: DeviceRepr + ValidAsZeroBits + Copy + Default + Send + Sync + 'static {}

impl<E: DeviceRepr + ValidAsZeroBits + Copy + Default + Send + Sync + 'static> Element for E {}

/// The operations of a decoder step; see the module docs. Shapes and dtypes are those of the
/// [`GpuKernels`] wrapper of the same name.
#[allow(clippy::too_many_arguments)]
pub trait StepKernels: Send + Sync {
    /// A buffer of `E`s, possibly longer than an operation uses: every operation takes its
    /// element counts explicitly.
    type Buf<E: Element>: Send;

    /// A buffer holding a copy of `host`.
    fn upload<E: Element>(&self, host: &[E]) -> Result<Self::Buf<E>, GpuError>;
    /// A buffer of `len` zeros.
    fn zeros<E: Element>(&self, len: usize) -> Result<Self::Buf<E>, GpuError>;
    /// Copies `host` into the first `host.len()` elements of `dst`.
    fn write<E: Element>(&self, host: &[E], dst: &mut Self::Buf<E>) -> Result<(), GpuError>;
    /// The first `len` elements of `src`, on the host (waits for pending work).
    fn read<E: Element>(&self, src: &Self::Buf<E>, len: usize) -> Result<Vec<E>, GpuError>;
    /// `dst` row `i` = `src` row `rows[i]`, rows of `width`.
    fn copy_rows<T: GpuFloat>(
        &self,
        src: &Self::Buf<T>,
        rows: &[usize],
        width: usize,
        dst: &mut Self::Buf<T>,
    ) -> Result<(), GpuError>;

    /// See [`GpuKernels::rmsnorm_residual`].
    fn rmsnorm_residual<T: GpuFloat>(
        &self,
        x: &Self::Buf<T>,
        residual: &mut Self::Buf<T>,
        weight: &Self::Buf<T>,
        out: &mut Self::Buf<T>,
        rows: usize,
        dim: usize,
        eps: f32,
    ) -> Result<(), GpuError>;
    /// See [`GpuKernels::rotary`].
    fn rotary<T: GpuFloat>(
        &self,
        q: &mut Self::Buf<T>,
        k: &mut Self::Buf<T>,
        positions: &Self::Buf<i32>,
        cos: &Self::Buf<f32>,
        sin: &Self::Buf<f32>,
        shape: RotaryShape,
    ) -> Result<(), GpuError>;
    /// See [`GpuKernels::silu_gate`].
    fn silu_gate<T: GpuFloat>(
        &self,
        gate: &Self::Buf<T>,
        up: &Self::Buf<T>,
        out: &mut Self::Buf<T>,
        n: usize,
    ) -> Result<(), GpuError>;
    /// See [`GpuKernels::paged_attention_decode`].
    fn paged_attention_decode<T: GpuFloat>(
        &self,
        q: &Self::Buf<T>,
        k_cache: &Self::Buf<T>,
        v_cache: &Self::Buf<T>,
        block_tables: &Self::Buf<i32>,
        context_lens: &Self::Buf<i32>,
        out: &mut Self::Buf<T>,
        shape: &PagedAttentionShape,
    ) -> Result<(), GpuError>;
    /// See [`GpuKernels::qmatmul`].
    fn qmatmul<T: GpuFloat>(
        &self,
        format: QuantFormat,
        w: &Self::Buf<u8>,
        x: &Self::Buf<T>,
        y: &mut Self::Buf<T>,
        rows: usize,
        n: usize,
        k: usize,
    ) -> Result<(), GpuError>;
    /// See [`GpuKernels::kv_write`].
    fn kv_write<T: GpuFloat>(
        &self,
        k: &Self::Buf<T>,
        v: &Self::Buf<T>,
        k_cache: &mut Self::Buf<T>,
        v_cache: &mut Self::Buf<T>,
        slots: &Self::Buf<i32>,
        shape: &KvWriteShape,
    ) -> Result<(), GpuError>;
    /// See [`GpuKernels::add_bias`].
    fn add_bias<T: GpuFloat>(
        &self,
        x: &mut Self::Buf<T>,
        bias: &Self::Buf<T>,
        rows: usize,
        cols: usize,
    ) -> Result<(), GpuError>;
}

fn rows_in_bounds(
    op: &'static str,
    rows: &[usize],
    src_len: usize,
    dst_len: usize,
    width: usize,
) -> Result<(), GpuError> {
    need(op, "dst", dst_len, rows.len().saturating_mul(width))?;
    if let Some(row) = rows
        .iter()
        .find(|row| (**row + 1).saturating_mul(width) > src_len)
    {
        return Err(GpuError::Shape {
            op,
            reason: format!("row {row} of width {width} is outside a source of {src_len}"),
        });
    }
    Ok(())
}

impl StepKernels for GpuKernels {
    type Buf<E: Element> = cudarc::driver::CudaSlice<E>;

    fn upload<E: Element>(&self, host: &[E]) -> Result<Self::Buf<E>, GpuError> {
        if host.is_empty() {
            // The driver refuses empty allocations; ops take their counts explicitly.
            return self.zeros(1);
        }
        Ok(self.stream().clone_htod(host)?)
    }

    fn zeros<E: Element>(&self, len: usize) -> Result<Self::Buf<E>, GpuError> {
        Ok(self.stream().alloc_zeros(len.max(1))?)
    }

    fn write<E: Element>(&self, host: &[E], dst: &mut Self::Buf<E>) -> Result<(), GpuError> {
        need("write", "dst", dst.len(), host.len())?;
        if host.is_empty() {
            return Ok(());
        }
        let mut view = dst.slice_mut(..host.len());
        Ok(self.stream().memcpy_htod(host, &mut view)?)
    }

    fn read<E: Element>(&self, src: &Self::Buf<E>, len: usize) -> Result<Vec<E>, GpuError> {
        need("read", "src", src.len(), len)?;
        if len == 0 {
            return Ok(Vec::new());
        }
        Ok(self.stream().clone_dtoh(&src.slice(..len))?)
    }

    fn copy_rows<T: GpuFloat>(
        &self,
        src: &Self::Buf<T>,
        rows: &[usize],
        width: usize,
        dst: &mut Self::Buf<T>,
    ) -> Result<(), GpuError> {
        rows_in_bounds("copy_rows", rows, src.len(), dst.len(), width)?;
        for (i, row) in rows.iter().enumerate() {
            let from = src.slice(row * width..(row + 1) * width);
            let mut to = dst.slice_mut(i * width..(i + 1) * width);
            self.stream().memcpy_dtod(&from, &mut to)?;
        }
        Ok(())
    }

    fn rmsnorm_residual<T: GpuFloat>(
        &self,
        x: &Self::Buf<T>,
        residual: &mut Self::Buf<T>,
        weight: &Self::Buf<T>,
        out: &mut Self::Buf<T>,
        rows: usize,
        dim: usize,
        eps: f32,
    ) -> Result<(), GpuError> {
        GpuKernels::rmsnorm_residual(self, x, residual, weight, out, rows, dim, eps)
    }

    fn rotary<T: GpuFloat>(
        &self,
        q: &mut Self::Buf<T>,
        k: &mut Self::Buf<T>,
        positions: &Self::Buf<i32>,
        cos: &Self::Buf<f32>,
        sin: &Self::Buf<f32>,
        shape: RotaryShape,
    ) -> Result<(), GpuError> {
        GpuKernels::rotary(self, q, k, positions, cos, sin, shape)
    }

    fn silu_gate<T: GpuFloat>(
        &self,
        gate: &Self::Buf<T>,
        up: &Self::Buf<T>,
        out: &mut Self::Buf<T>,
        n: usize,
    ) -> Result<(), GpuError> {
        GpuKernels::silu_gate(self, gate, up, out, n)
    }

    fn paged_attention_decode<T: GpuFloat>(
        &self,
        q: &Self::Buf<T>,
        k_cache: &Self::Buf<T>,
        v_cache: &Self::Buf<T>,
        block_tables: &Self::Buf<i32>,
        context_lens: &Self::Buf<i32>,
        out: &mut Self::Buf<T>,
        shape: &PagedAttentionShape,
    ) -> Result<(), GpuError> {
        GpuKernels::paged_attention_decode(
            self,
            q,
            k_cache,
            v_cache,
            block_tables,
            context_lens,
            out,
            shape,
        )
    }

    fn qmatmul<T: GpuFloat>(
        &self,
        format: QuantFormat,
        w: &Self::Buf<u8>,
        x: &Self::Buf<T>,
        y: &mut Self::Buf<T>,
        rows: usize,
        n: usize,
        k: usize,
    ) -> Result<(), GpuError> {
        GpuKernels::qmatmul(self, format, w, x, y, rows, n, k)
    }

    fn kv_write<T: GpuFloat>(
        &self,
        k: &Self::Buf<T>,
        v: &Self::Buf<T>,
        k_cache: &mut Self::Buf<T>,
        v_cache: &mut Self::Buf<T>,
        slots: &Self::Buf<i32>,
        shape: &KvWriteShape,
    ) -> Result<(), GpuError> {
        GpuKernels::kv_write(self, k, v, k_cache, v_cache, slots, shape)
    }

    fn add_bias<T: GpuFloat>(
        &self,
        x: &mut Self::Buf<T>,
        bias: &Self::Buf<T>,
        rows: usize,
        cols: usize,
    ) -> Result<(), GpuError> {
        GpuKernels::add_bias(self, x, bias, rows, cols)
    }
}

/// The step operations on host memory, computed by the CPU references.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostKernels;

impl HostKernels {
    /// Shared like [`GpuKernels::open`]'s result, for code generic over both.
    pub fn shared() -> Arc<Self> {
        Arc::new(Self)
    }
}

impl StepKernels for HostKernels {
    type Buf<E: Element> = Vec<E>;

    fn upload<E: Element>(&self, host: &[E]) -> Result<Self::Buf<E>, GpuError> {
        Ok(host.to_vec())
    }

    fn zeros<E: Element>(&self, len: usize) -> Result<Self::Buf<E>, GpuError> {
        Ok(vec![E::default(); len])
    }

    fn write<E: Element>(&self, host: &[E], dst: &mut Self::Buf<E>) -> Result<(), GpuError> {
        need("write", "dst", dst.len(), host.len())?;
        dst[..host.len()].copy_from_slice(host);
        Ok(())
    }

    fn read<E: Element>(&self, src: &Self::Buf<E>, len: usize) -> Result<Vec<E>, GpuError> {
        need("read", "src", src.len(), len)?;
        Ok(src[..len].to_vec())
    }

    fn copy_rows<T: GpuFloat>(
        &self,
        src: &Self::Buf<T>,
        rows: &[usize],
        width: usize,
        dst: &mut Self::Buf<T>,
    ) -> Result<(), GpuError> {
        rows_in_bounds("copy_rows", rows, src.len(), dst.len(), width)?;
        for (i, row) in rows.iter().enumerate() {
            dst[i * width..(i + 1) * width].copy_from_slice(&src[row * width..(row + 1) * width]);
        }
        Ok(())
    }

    fn rmsnorm_residual<T: GpuFloat>(
        &self,
        x: &Self::Buf<T>,
        residual: &mut Self::Buf<T>,
        weight: &Self::Buf<T>,
        out: &mut Self::Buf<T>,
        rows: usize,
        dim: usize,
        eps: f32,
    ) -> Result<(), GpuError> {
        let lens = [x.len(), residual.len(), weight.len(), out.len()];
        checks::rmsnorm_residual(lens, rows, dim)?;
        let elems = rows * dim;
        if elems > 0 {
            reference::rmsnorm_residual(
                &x[..elems],
                &mut residual[..elems],
                &weight[..dim],
                &mut out[..elems],
                dim,
                eps,
            );
        }
        Ok(())
    }

    fn rotary<T: GpuFloat>(
        &self,
        q: &mut Self::Buf<T>,
        k: &mut Self::Buf<T>,
        positions: &Self::Buf<i32>,
        cos: &Self::Buf<f32>,
        sin: &Self::Buf<f32>,
        shape: RotaryShape,
    ) -> Result<(), GpuError> {
        let lens = [q.len(), k.len(), positions.len(), cos.len(), sin.len()];
        checks::rotary(lens, &shape)?;
        let (head_dim, interleaved) = (shape.head_dim, shape.interleaved);
        let q_len = shape.tokens * shape.n_heads * head_dim;
        let k_len = shape.tokens * shape.n_kv_heads * head_dim;
        let table = shape.max_positions * (head_dim / 2);
        let positions = &positions[..shape.tokens];
        let (cos, sin) = (&cos[..table], &sin[..table]);
        let q = &mut q[..q_len];
        reference::rotary(q, shape.n_heads, head_dim, positions, cos, sin, interleaved);
        let k = &mut k[..k_len];
        reference::rotary(
            k,
            shape.n_kv_heads,
            head_dim,
            positions,
            cos,
            sin,
            interleaved,
        );
        Ok(())
    }

    fn silu_gate<T: GpuFloat>(
        &self,
        gate: &Self::Buf<T>,
        up: &Self::Buf<T>,
        out: &mut Self::Buf<T>,
        n: usize,
    ) -> Result<(), GpuError> {
        checks::silu_gate([gate.len(), up.len(), out.len()], n)?;
        reference::silu_gate(&gate[..n], &up[..n], &mut out[..n]);
        Ok(())
    }

    fn paged_attention_decode<T: GpuFloat>(
        &self,
        q: &Self::Buf<T>,
        k_cache: &Self::Buf<T>,
        v_cache: &Self::Buf<T>,
        block_tables: &Self::Buf<i32>,
        context_lens: &Self::Buf<i32>,
        out: &mut Self::Buf<T>,
        shape: &PagedAttentionShape,
    ) -> Result<(), GpuError> {
        let lens = [
            q.len(),
            k_cache.len(),
            v_cache.len(),
            block_tables.len(),
            context_lens.len(),
            out.len(),
        ];
        checks::paged_attention(lens, shape)?;
        let per_token = shape.batch * shape.n_heads * shape.head_dim;
        let cache = shape.num_blocks * shape.n_kv_heads * shape.block_size * shape.head_dim;
        let tables = shape.batch * shape.max_blocks_per_seq;
        let paged = PagedCache {
            keys: &k_cache[..cache],
            values: &v_cache[..cache],
            n_kv_heads: shape.n_kv_heads,
            block_size: shape.block_size,
            head_dim: shape.head_dim,
        };
        reference::paged_attention_decode(
            &q[..per_token],
            &paged,
            &block_tables[..tables],
            shape.max_blocks_per_seq,
            &context_lens[..shape.batch],
            shape.n_heads,
            shape.max_context,
            shape.scale,
            &mut out[..per_token],
        );
        Ok(())
    }

    fn qmatmul<T: GpuFloat>(
        &self,
        format: QuantFormat,
        w: &Self::Buf<u8>,
        x: &Self::Buf<T>,
        y: &mut Self::Buf<T>,
        rows: usize,
        n: usize,
        k: usize,
    ) -> Result<(), GpuError> {
        checks::qmatmul([w.len(), x.len(), y.len()], format, rows, n, k)?;
        let w_bytes = n * (k / 32) * format.block_bytes();
        let result = reference::qmatmul(format, &w[..w_bytes], &x[..rows * k], rows, n, k);
        y[..rows * n].copy_from_slice(&result);
        Ok(())
    }

    fn kv_write<T: GpuFloat>(
        &self,
        k: &Self::Buf<T>,
        v: &Self::Buf<T>,
        k_cache: &mut Self::Buf<T>,
        v_cache: &mut Self::Buf<T>,
        slots: &Self::Buf<i32>,
        shape: &KvWriteShape,
    ) -> Result<(), GpuError> {
        let lens = [k.len(), v.len(), k_cache.len(), v_cache.len(), slots.len()];
        checks::kv_write(lens, shape)?;
        let elems = shape.tokens * shape.n_kv_heads * shape.head_dim;
        let cache = shape.num_blocks * shape.block_size * shape.n_kv_heads * shape.head_dim;
        reference::kv_write(
            &k[..elems],
            &v[..elems],
            &mut k_cache[..cache],
            &mut v_cache[..cache],
            &slots[..shape.tokens],
            shape,
        );
        Ok(())
    }

    fn add_bias<T: GpuFloat>(
        &self,
        x: &mut Self::Buf<T>,
        bias: &Self::Buf<T>,
        rows: usize,
        cols: usize,
    ) -> Result<(), GpuError> {
        checks::add_bias([x.len(), bias.len()], rows, cols)?;
        if cols > 0 {
            reference::add_bias(&mut x[..rows * cols], &bias[..cols]);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_buffers_round_trip_and_copy_rows() {
        let kernels = HostKernels;
        let mut buf = kernels.zeros::<f32>(6).expect("zeros");
        kernels
            .write(&[1.0, 2.0, 3.0, 4.0], &mut buf)
            .expect("write");
        assert_eq!(
            kernels.read(&buf, 6).expect("read"),
            [1.0, 2.0, 3.0, 4.0, 0.0, 0.0]
        );
        let mut dst = kernels.zeros::<f32>(4).expect("zeros");
        kernels.copy_rows(&buf, &[2, 0], 2, &mut dst).expect("copy");
        assert_eq!(dst, [0.0, 0.0, 1.0, 2.0]);
    }

    #[test]
    fn host_checks_lengths_like_the_device() {
        let kernels = HostKernels;
        let mut small = kernels.zeros::<f32>(2).expect("zeros");
        assert!(kernels.write(&[1.0; 3], &mut small).is_err());
        assert!(kernels.read(&small, 3).is_err());
        let src = kernels.zeros::<f32>(4).expect("zeros");
        let err = kernels
            .copy_rows(&src, &[2], 2, &mut small)
            .expect_err("row 2 is outside");
        assert!(err.to_string().contains("row 2"), "{err}");
        let x = kernels.zeros::<f32>(4).expect("zeros");
        let mut out = kernels.zeros::<f32>(4).expect("zeros");
        let err = kernels
            .silu_gate(&x, &small, &mut out, 4)
            .expect_err("up is short");
        assert!(err.to_string().contains("up"), "{err}");
    }
}
