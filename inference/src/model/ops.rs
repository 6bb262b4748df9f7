//! Row-wise kernels of the forward pass: RMSNorm, RoPE, the SiLU gate, dot products.
//!
//! Each one follows candle's CPU operation of the same name in its arithmetic (the order of the
//! RMSNorm sum, `x / rms * w`, `x / (1 + e^-x)`), so the reference comparison is tight; `e^x` is
//! [`exp`], a polynomial within 2 units in the last place of the library's, which vectorises.

use crate::config::RopeLayout;

/// `out = x / sqrt(mean(x^2) + eps) * weight`, for each `weight.len()`-wide row of `x`.
pub fn rms_norm(x: &[f32], weight: &[f32], eps: f32, out: &mut [f32]) {
    let width = weight.len();
    for (row, out_row) in x.chunks_exact(width).zip(out.chunks_exact_mut(width)) {
        let sum_squares: f32 = row.iter().map(|v| v * v).sum();
        let rms = (sum_squares / width as f32 + eps).sqrt();
        for ((o, v), w) in out_row.iter_mut().zip(row).zip(weight) {
            *o = *v / rms * *w;
        }
    }
}

/// The RoPE angles of `position`: `cos` and `sin` of `position * inv_freq[i]`.
pub fn rope_angles(position: usize, inv_freq: &[f32], cos: &mut [f32], sin: &mut [f32]) {
    let position = position as f32;
    for ((c, s), freq) in cos.iter_mut().zip(sin.iter_mut()).zip(inv_freq) {
        let angle = position * freq;
        *c = angle.cos();
        *s = angle.sin();
    }
}

/// The inverse frequencies of RoPE for heads of width `head_dim`.
pub fn rope_inv_freq(head_dim: usize, theta: f32) -> Vec<f32> {
    (0..head_dim)
        .step_by(2)
        .map(|i| 1.0 / theta.powf(i as f32 / head_dim as f32))
        .collect()
}

/// Rotates every `cos.len() * 2`-wide head of `x` in place.
pub fn rope(x: &mut [f32], cos: &[f32], sin: &[f32], layout: RopeLayout) {
    let half = cos.len();
    for head in x.chunks_exact_mut(2 * half) {
        match layout {
            RopeLayout::Interleaved => {
                for ((pair, c), s) in head.chunks_exact_mut(2).zip(cos).zip(sin) {
                    let (x0, x1) = (pair[0], pair[1]);
                    pair[0] = x0 * c - x1 * s;
                    pair[1] = x0 * s + x1 * c;
                }
            }
            RopeLayout::HalfSplit => {
                let (low, high) = head.split_at_mut(half);
                for (((x0, x1), c), s) in low.iter_mut().zip(high.iter_mut()).zip(cos).zip(sin) {
                    let (a, b) = (*x0, *x1);
                    *x0 = a * c - b * s;
                    *x1 = a * s + b * c;
                }
            }
        }
    }
}

/// `out[i] = silu(gate[i]) * up[i]` for rows laid out `[gate | up]`, `out` being `width` wide.
/// Uses [`exp`], compiled for AVX2/FMA through pulp when the CPU has them, so it vectorises.
pub fn silu_gate(gate_up: &[f32], width: usize, out: &mut [f32]) {
    struct SiluGate<'a, 'o> {
        gate_up: &'a [f32],
        width: usize,
        out: &'o mut [f32],
    }
    impl pulp::WithSimd for SiluGate<'_, '_> {
        type Output = ();
        #[inline(always)]
        fn with_simd<S: pulp::Simd>(self, _simd: S) {
            let SiluGate {
                gate_up,
                width,
                out,
            } = self;
            for (row, out_row) in gate_up
                .chunks_exact(2 * width)
                .zip(out.chunks_exact_mut(width))
            {
                let (gate, up) = row.split_at(width);
                for ((o, g), u) in out_row.iter_mut().zip(gate).zip(up) {
                    *o = *g / (1.0 + exp(-*g)) * *u;
                }
            }
        }
    }
    pulp::Arch::new().dispatch(SiluGate {
        gate_up,
        width,
        out,
    });
}

/// `x += y`, element by element.
pub fn add_assign(x: &mut [f32], y: &[f32]) {
    for (a, b) in x.iter_mut().zip(y) {
        *a += *b;
    }
}

/// Dot product with eight independent partial sums, so it vectorises.
#[inline(always)]
pub fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let chunks_a = a.chunks_exact(8);
    let chunks_b = b.chunks_exact(8);
    let tail: f32 = chunks_a
        .remainder()
        .iter()
        .zip(chunks_b.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in chunks_a.zip(chunks_b) {
        for ((lane, a), b) in lanes.iter_mut().zip(x).zip(y) {
            *lane += a * b;
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// `acc = acc * scale + weight * v`.
#[inline(always)]
pub fn scale_add(acc: &mut [f32], scale: f32, weight: f32, v: &[f32]) {
    for (a, x) in acc.iter_mut().zip(v) {
        *a = *a * scale + weight * *x;
    }
}

/// `e^x` within two units in the last place for `x` in `-87..=88` (clamped to that range, so
/// `-inf` gives about 1.6e-38 instead of 0), in plain arithmetic that vectorises: the range is
/// reduced to `x = n ln 2 + r` with `|r| <= ln 2 / 2`, `e^r` is a degree-7 polynomial (Cephes'
/// `expf` coefficients) and `2^n` is built in the exponent bits. Inside an AVX2 context the
/// `floor` is one instruction; elsewhere it may be a library call.
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    let n = (x * std::f32::consts::LOG2_E + 0.5).floor();
    // ln 2 in two parts, the first exact in few bits, so `n * LN2_HIGH` is exact.
    const LN2_HIGH: f32 = 0.693_359_4;
    const LN2_LOW: f32 = -2.121_944_4e-4;
    let r = x - n * LN2_HIGH - n * LN2_LOW;
    let p = ((((1.987_569_2e-4 * r + 1.398_2e-3) * r + 8.333_452e-3) * r + 4.166_579_6e-2) * r
        + 0.166_666_65)
        * r
        + 0.5;
    let e = p * r * r + r + 1.0;
    // n is in -126..=127 after the clamp: a normal power of two.
    e * f32::from_bits(((n as i32 + 127) as u32) << 23)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_two_ulps_of_the_library_exp() {
        let mut worst = 0.0f64;
        let mut x = -87.0f32;
        while x <= 88.0 {
            let (ours, exact) = (exp(x) as f64, (x as f64).exp());
            worst = worst.max((ours - exact).abs() / exact);
            x += 0.000_731;
        }
        // 2 ulps of f32 are at most 2^-22 relative.
        assert!(worst <= 2.0f64.powi(-22), "worst relative error {worst:e}");
        assert_eq!(exp(0.0), 1.0);
        assert!(exp(f32::NEG_INFINITY) < 1e-37);
        assert!((exp(-1e9) as f64 - (-87.0f64).exp()).abs() < 1e-40);
    }

    #[test]
    fn rms_norm_scales_rows_to_unit_rms() {
        let mut out = [0.0; 4];
        rms_norm(
            &[3.0, 4.0, 0.0, 0.0],
            &[1.0, 1.0, 1.0, 2.0],
            0.0,
            &mut out[..],
        );
        let rms = (25.0f32 / 4.0).sqrt();
        assert_eq!(out, [3.0 / rms, 4.0 / rms, 0.0, 0.0]);
    }

    #[test]
    fn rope_layouts_pair_different_dimensions() {
        let (cos, sin) = ([0.0, 1.0], [1.0, 0.0]); // rotate pair 0 by 90 degrees, pair 1 not
        let mut interleaved = [1.0, 2.0, 3.0, 4.0];
        rope(&mut interleaved, &cos, &sin, RopeLayout::Interleaved);
        assert_eq!(interleaved, [-2.0, 1.0, 3.0, 4.0]);
        let mut half_split = [1.0, 2.0, 3.0, 4.0];
        rope(&mut half_split, &cos, &sin, RopeLayout::HalfSplit);
        assert_eq!(half_split, [-3.0, 2.0, 1.0, 4.0]);
    }

    #[test]
    fn dot_handles_a_tail() {
        let a: Vec<f32> = (0..11).map(|i| i as f32).collect();
        assert_eq!(dot(&a, &a), (0..11).map(|i| (i * i) as f32).sum::<f32>());
    }
}
