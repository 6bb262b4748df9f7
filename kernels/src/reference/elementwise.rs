//! References of the row and element kernels: RMSNorm with residual, rotary, SiLU gate.

use crate::gpu::GpuFloat;

/// `residual += x` (rounded to `T`), then `out = residual * rsqrt(mean(residual²) + eps) *
/// weight`, per row of `dim`.
pub fn rmsnorm_residual<T: GpuFloat>(
    x: &[T],
    residual: &mut [T],
    weight: &[T],
    out: &mut [T],
    dim: usize,
    eps: f32,
) {
    for ((x_row, residual_row), out_row) in x
        .chunks_exact(dim)
        .zip(residual.chunks_exact_mut(dim))
        .zip(out.chunks_exact_mut(dim))
    {
        let mut squares = 0.0f32;
        for (r, x) in residual_row.iter_mut().zip(x_row) {
            *r = T::from_f32(x.to_f32() + r.to_f32());
            squares += r.to_f32() * r.to_f32();
        }
        let inv_rms = 1.0 / (squares / dim as f32 + eps).sqrt();
        for ((o, r), w) in out_row.iter_mut().zip(residual_row.iter()).zip(weight) {
            *o = T::from_f32(r.to_f32() * inv_rms * w.to_f32());
        }
    }
}

/// Rotates every head of `x` (`[tokens, heads, head_dim]`) in place; `cos` and `sin` are
/// `[max_positions, head_dim / 2]`; positions outside the tables leave their token as is.
pub fn rotary<T: GpuFloat>(
    x: &mut [T],
    heads: usize,
    head_dim: usize,
    positions: &[i32],
    cos: &[f32],
    sin: &[f32],
    interleaved: bool,
) {
    let half = head_dim / 2;
    let max_positions = cos.len() / half.max(1);
    for (token, &position) in x.chunks_exact_mut(heads * head_dim).zip(positions) {
        let Ok(position) = usize::try_from(position) else {
            continue;
        };
        if position >= max_positions {
            continue;
        }
        for head in token.chunks_exact_mut(head_dim) {
            for i in 0..half {
                let (c, s) = (cos[position * half + i], sin[position * half + i]);
                let (a, b) = if interleaved {
                    (2 * i, 2 * i + 1)
                } else {
                    (i, i + half)
                };
                let (x0, x1) = (head[a].to_f32(), head[b].to_f32());
                head[a] = T::from_f32(x0 * c - x1 * s);
                head[b] = T::from_f32(x0 * s + x1 * c);
            }
        }
    }
}

/// `out = silu(gate) * up`, element by element.
pub fn silu_gate<T: GpuFloat>(gate: &[T], up: &[T], out: &mut [T]) {
    for ((o, g), u) in out.iter_mut().zip(gate).zip(up) {
        let g = g.to_f32();
        *o = T::from_f32(g / (1.0 + (-g).exp()) * u.to_f32());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use half::f16;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        (0..n)
            .map(|i| {
                (((i as u32).wrapping_mul(2_654_435_761).wrapping_add(seed) >> 8) as f32
                    / 16_777_216.0)
                    * 4.0
                    - 2.0
            })
            .collect()
    }

    #[test]
    fn rmsnorm_matches_the_formula_in_f64() {
        let (rows, dim) = (3, 40);
        let x = values(rows * dim, 1);
        let mut residual = values(rows * dim, 2);
        let before = residual.clone();
        let weight = values(dim, 3);
        let mut out = vec![0.0f32; rows * dim];
        rmsnorm_residual(&x, &mut residual, &weight, &mut out, dim, 1e-5);
        for row in 0..rows {
            let h: Vec<f64> = (0..dim)
                .map(|i| x[row * dim + i] as f64 + before[row * dim + i] as f64)
                .collect();
            let rms = (h.iter().map(|v| v * v).sum::<f64>() / dim as f64 + 1e-5).sqrt();
            for i in 0..dim {
                assert!((residual[row * dim + i] as f64 - h[i]).abs() < 1e-6);
                let want = h[i] / rms * weight[i] as f64;
                assert!((out[row * dim + i] as f64 - want).abs() < 1e-5, "{row} {i}");
            }
        }
    }

    #[test]
    fn rmsnorm_in_f16_normalises_the_rounded_residual() {
        let dim = 8;
        let x: Vec<f16> = values(dim, 4).into_iter().map(f16::from_f32).collect();
        let mut residual: Vec<f16> = values(dim, 5).into_iter().map(f16::from_f32).collect();
        let weight = vec![f16::ONE; dim];
        let mut out = vec![f16::ZERO; dim];
        let sum: Vec<f16> = x
            .iter()
            .zip(&residual)
            .map(|(a, b)| f16::from_f32(a.to_f32() + b.to_f32()))
            .collect();
        rmsnorm_residual(&x, &mut residual, &weight, &mut out, dim, 0.0);
        assert_eq!(residual, sum);
        let rms = (sum.iter().map(|v| v.to_f32().powi(2)).sum::<f32>() / dim as f32).sqrt();
        for (o, s) in out.iter().zip(&sum) {
            assert!((o.to_f32() - s.to_f32() / rms).abs() < 2e-3);
        }
    }

    #[test]
    fn rotary_is_a_complex_multiplication_in_both_layouts() {
        let (heads, head_dim, max_positions) = (2, 8, 5);
        let half = head_dim / 2;
        let angles: Vec<f64> = (0..max_positions * half).map(|j| 0.37 * j as f64).collect();
        let cos: Vec<f32> = angles.iter().map(|a| a.cos() as f32).collect();
        let sin: Vec<f32> = angles.iter().map(|a| a.sin() as f32).collect();
        let positions = [3, 0, 7];
        let original = values(positions.len() * heads * head_dim, 6);
        for interleaved in [true, false] {
            let mut x = original.clone();
            rotary(&mut x, heads, head_dim, &positions, &cos, &sin, interleaved);
            for (token, &position) in positions.iter().enumerate() {
                for head in 0..heads {
                    let base = (token * heads + head) * head_dim;
                    for i in 0..half {
                        let (a, b) = if interleaved {
                            (2 * i, 2 * i + 1)
                        } else {
                            (i, i + half)
                        };
                        let (re, im) = (original[base + a] as f64, original[base + b] as f64);
                        let (want_re, want_im) = if position as usize >= max_positions {
                            (re, im)
                        } else {
                            let angle = angles[position as usize * half + i];
                            (
                                re * angle.cos() - im * angle.sin(),
                                re * angle.sin() + im * angle.cos(),
                            )
                        };
                        assert!((x[base + a] as f64 - want_re).abs() < 1e-5);
                        assert!((x[base + b] as f64 - want_im).abs() < 1e-5);
                    }
                }
            }
        }
    }

    #[test]
    fn silu_gate_matches_the_formula() {
        let gate = values(64, 7);
        let up = values(64, 8);
        let mut out = vec![0.0f32; 64];
        silu_gate(&gate, &up, &mut out);
        for i in 0..64 {
            let g = gate[i] as f64;
            let want = g / (1.0 + (-g).exp()) * up[i] as f64;
            assert!((out[i] as f64 - want).abs() < 1e-6);
        }
    }
}
