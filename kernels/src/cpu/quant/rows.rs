//! The row loops: for each output row and each weight block, the block is read and decoded once
//! and applied to every row of the batch.
//!
//! The loops are plain safe Rust written to auto-vectorise; [`pulp`] compiles them a second time
//! with AVX2/FMA enabled and picks that copy at run time when the CPU has it (everything below the
//! dispatch is `#[inline(always)]` so that it is compiled inside the dispatched function).

use std::ops::Range;

use half::{bf16, f16, slice::HalfFloatSliceExt};
use pulp::{Simd, WithSimd};

use super::activations::QuantizedActivations;
use super::groups::{Decoded, IntFormat};
use super::{array_at, GROUP};
use crate::cpu::qmatmul::QuantKind;

/// One task: output rows `rows` of a weight matrix, written to `outs[b][r - rows.start]`.
pub(crate) struct RowTask<'a> {
    pub(crate) data: &'a [u8],
    pub(crate) row_bytes: usize,
    pub(crate) rows: Range<usize>,
    pub(crate) outs: Vec<&'a mut [f32]>,
}

/// Runs `task` for an integer (block-quantized) format against quantized activations.
pub(crate) fn int_rows<F: IntFormat>(task: RowTask<'_>, acts: &QuantizedActivations) {
    pulp::Arch::new().dispatch(IntRows::<F> {
        task,
        acts,
        format: std::marker::PhantomData,
    });
}

/// Runs `task` for a float format (F32, F16, BF16) against f32 activations `x` of `cols` columns.
pub(crate) fn float_rows(kind: QuantKind, task: RowTask<'_>, x: &[f32], cols: usize) {
    pulp::Arch::new().dispatch(FloatRows {
        kind,
        task,
        x,
        cols,
    });
}

struct IntRows<'a, 't, F> {
    task: RowTask<'t>,
    acts: &'a QuantizedActivations,
    format: std::marker::PhantomData<F>,
}

impl<F: IntFormat> WithSimd for IntRows<'_, '_, F> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let IntRows { task, acts, .. } = self;
        let RowTask {
            data,
            row_bytes,
            rows,
            mut outs,
        } = task;
        let mut acc = vec![0f32; outs.len()];
        let mut dec = Decoded::new();
        let groups_per_row = acts.groups_per_row;
        let (act_q, act_d, act_s) = (&acts.q[..], &acts.d[..], &acts.s[..]);
        for (i, r) in rows.enumerate() {
            let row = &data[r * row_bytes..(r + 1) * row_bytes];
            acc.fill(0.0);
            for (k, block) in row.chunks_exact(F::BYTES).enumerate() {
                F::decode(block, &mut dec);
                for (b, a) in acc.iter_mut().enumerate() {
                    let base = b * groups_per_row + k * F::GROUPS;
                    let xq = &act_q[base..base + F::GROUPS];
                    let xd = &act_d[base..base + F::GROUPS];
                    let xs = &act_s[base..base + F::GROUPS];
                    *a += block_dot::<F>(&dec, xq, xd, xs);
                }
            }
            for (out, &a) in outs.iter_mut().zip(&acc) {
                out[i] = a;
            }
        }
    }
}

/// The contribution of one decoded block to one activation row.
#[inline(always)]
fn block_dot<F: IntFormat>(dec: &Decoded, xq: &[[i8; GROUP]], xd: &[f32], xs: &[f32]) -> f32 {
    let mut sum = 0f32;
    let weights = dec.q.iter().zip(&dec.scale).zip(&dec.min).zip(&dec.sub);
    let activations = xq.iter().zip(xd).zip(xs);
    for ((((wq, &scale), &min), sub), ((xq, &xd), &xs)) in weights.zip(activations).take(F::GROUPS)
    {
        let isum = if F::SPLIT16 {
            let (w_lo, w_hi) = wq.split_at(16);
            let (x_lo, x_hi) = xq.split_at(16);
            dot(w_lo, x_lo) * sub[0] + dot(w_hi, x_hi) * sub[1]
        } else {
            dot(wq, xq)
        };
        sum += xd * scale * isum as f32;
        if F::HAS_MIN {
            sum += min * xs;
        }
    }
    sum
}

/// Integer dot product of i8 values; every product fits in i16, which the compiler turns
/// into `pmaddwd` pairs.
#[inline(always)]
fn dot(w: &[i8], x: &[i8]) -> i32 {
    w.iter()
        .zip(x)
        .map(|(&w, &x)| (w as i16 * x as i16) as i32)
        .sum()
}

struct FloatRows<'a, 't> {
    kind: QuantKind,
    task: RowTask<'t>,
    x: &'a [f32],
    cols: usize,
}

impl WithSimd for FloatRows<'_, '_> {
    type Output = ();
    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let FloatRows {
            kind,
            task,
            x,
            cols,
        } = self;
        let RowTask {
            data,
            row_bytes,
            rows,
            mut outs,
        } = task;
        let elem = kind.block_bytes();
        let mut acc = vec![0f32; outs.len()];
        let mut w = [0f32; GROUP];
        for (i, r) in rows.enumerate() {
            let row = &data[r * row_bytes..(r + 1) * row_bytes];
            acc.fill(0.0);
            for (k, chunk) in row.chunks(GROUP * elem).enumerate() {
                let n = chunk.len() / elem;
                decode_floats(kind, chunk, &mut w[..n]);
                for (b, a) in acc.iter_mut().enumerate() {
                    let start = b * cols + k * GROUP;
                    *a += dot_f32(&w[..n], &x[start..start + n]);
                }
            }
            for (out, &a) in outs.iter_mut().zip(&acc) {
                out[i] = a;
            }
        }
    }
}

/// Float dot product with 8 independent partial sums (vectorisable without reassociation).
#[inline(always)]
fn dot_f32(w: &[f32], x: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (w8, w_tail) = w.as_chunks::<8>();
    let (x8, x_tail) = x.as_chunks::<8>();
    for (w, x) in w8.iter().zip(x8) {
        for ((lane, w), x) in lanes.iter_mut().zip(w).zip(x) {
            *lane += w * x;
        }
    }
    let tail: f32 = w_tail.iter().zip(x_tail).map(|(w, x)| w * x).sum();
    lanes.iter().sum::<f32>() + tail
}

/// Decodes `out.len()` little-endian floats of `kind` from `bytes`.
#[inline(always)]
fn decode_floats(kind: QuantKind, bytes: &[u8], out: &mut [f32]) {
    match kind {
        QuantKind::F16 => {
            let mut h = [f16::ZERO; GROUP];
            for (h, b) in h.iter_mut().zip(bytes.chunks_exact(2)) {
                *h = f16::from_le_bytes(*array_at::<2>(b, 0));
            }
            h[..out.len()].convert_to_f32_slice(out);
        }
        QuantKind::BF16 => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = bf16::from_le_bytes(*array_at::<2>(b, 0)).to_f32();
            }
        }
        _ => {
            for (o, b) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes(*array_at::<4>(b, 0));
            }
        }
    }
}
