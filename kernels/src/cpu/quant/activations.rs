//! Activation rows quantized to 8-bit blocks of 32 values, once per matmul call.
//!
//! Block `k` of row `b` holds `q` with `x[j] ~= d * q[j]` (`d = max|x| / 127`, `q` rounded to the
//! nearest integer) and `s = d * sum(q)`, the block sum that formats with an additive min need.
//! `d` and `s` are rounded through f16 exactly as GGML's Q8_0/Q8_1 blocks store them, so our dot
//! products see the same activation scales as candle and llama.cpp and greedy decoding agrees
//! with them token for token instead of drifting on near-ties.

use super::GROUP;

/// The quantized activations of one call: `batch` rows of `groups_per_row` blocks each.
#[derive(Default)]
pub(crate) struct QuantizedActivations {
    pub(crate) q: Vec<[i8; GROUP]>,
    pub(crate) d: Vec<f32>,
    pub(crate) s: Vec<f32>,
    pub(crate) groups_per_row: usize,
}

impl QuantizedActivations {
    /// Quantizes `x` (`batch` rows of `cols` values, `cols` a multiple of 32), reusing the buffers.
    pub(crate) fn fill(&mut self, x: &[f32], cols: usize) {
        debug_assert!(cols.is_multiple_of(GROUP));
        self.groups_per_row = cols / GROUP;
        let n = x.len() / GROUP;
        self.q.resize(n, [0; GROUP]);
        self.d.resize(n, 0.0);
        self.s.resize(n, 0.0);
        pulp::Arch::new().dispatch(Quantize { acts: self, x });
    }
}

/// [`QuantizedActivations::fill`]'s loop, for pulp to compile once more with AVX2/FMA enabled
/// and pick that copy when the CPU has them.
struct Quantize<'a, 'x> {
    acts: &'a mut QuantizedActivations,
    x: &'x [f32],
}

impl pulp::WithSimd for Quantize<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: pulp::Simd>(self, _simd: S) {
        let Quantize { acts, x } = self;
        let blocks = x.chunks_exact(GROUP);
        let outs = acts
            .q
            .iter_mut()
            .zip(acts.d.iter_mut())
            .zip(acts.s.iter_mut());
        for (block, ((q, d), s)) in blocks.zip(outs) {
            let block: &[f32; GROUP] = block.try_into().expect("chunks_exact yields 32 values");
            (*d, *s) = quantize_block(block, q);
        }
    }
}

/// Quantizes one block; returns `(d, s)`: `d` rounded to f16, and `s = f16(f16(sum(q)) * d)` as
/// GGML's Q8_1 stores it. The integers `q` are computed with the unrounded scale, as GGML does.
#[inline(always)]
fn quantize_block(x: &[f32; GROUP], q: &mut [i8; GROUP]) -> (f32, f32) {
    let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
    let d = amax / 127.0;
    let d16 = half::f16::from_f32(d);
    let id = if d != 0.0 { 1.0 / d } else { 0.0 };
    let mut sum = 0i32;
    for (q, &v) in q.iter_mut().zip(x) {
        // |v * id| <= 127 (up to rounding), so the cast neither wraps nor saturates wrongly.
        let r = round_to_i8(v * id);
        *q = r;
        sum += r as i32;
    }
    let s = half::f16::from_f32(half::f16::from_f32(sum as f32).to_f32() * d16.to_f32());
    (d16.to_f32(), s.to_f32())
}

/// `v.round() as i8` (halves away from zero, saturating, NaN to 0) without the call to `roundf`
/// that `f32::round` makes on baseline x86-64, so that the quantization loop vectorises.
#[inline(always)]
fn round_to_i8(v: f32) -> i8 {
    // Clamping first changes no result (the cast saturates at the same bounds) and keeps the
    // integer part exact and small.
    let v = v.clamp(-128.0, 127.0);
    let whole = v as i32;
    // Exact: `v` and its integer part are less than 1 apart.
    let frac = v - whole as f32;
    (whole + i32::from(frac >= 0.5) - i32::from(frac <= -0.5)) as i8
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_equals_the_library_round_and_cast() {
        let mut values = vec![
            0.0,
            -0.0,
            0.5,
            -0.5,
            1.5,
            -1.5,
            2.5,
            0.49999997,
            -0.49999997,
            126.5,
            127.49,
            127.5,
            -127.5,
            -128.5,
            -129.0,
            1e9,
            -1e9,
            f32::INFINITY,
            f32::NEG_INFINITY,
            f32::NAN,
            f32::MIN_POSITIVE,
        ];
        let mut s = 0x2545_f491u32;
        for _ in 0..200_000 {
            s ^= s << 13;
            s ^= s >> 17;
            s ^= s << 5;
            values.push((s as f32 / u32::MAX as f32 - 0.5) * 300.0);
            values.push((s % 512) as f32 * 0.5 - 128.0);
        }
        for v in values {
            assert_eq!(round_to_i8(v), v.round() as i8, "{v}");
        }
    }

    fn check(x: [f32; GROUP]) {
        let mut q = [0i8; GROUP];
        let (d, s) = quantize_block(&x, &mut q);
        let amax = x.iter().fold(0f32, |m, v| m.max(v.abs()));
        // Half a step of rounding, plus f16's relative error (2^-11) on d times |q| <= 127.
        for (&v, &q) in x.iter().zip(&q) {
            assert!(
                (v - d * q as f32).abs() <= d * (0.5 + 127.0 / 2048.0) + amax * 1e-6,
                "{v} vs {q} * {d}"
            );
        }
        let sum: i32 = q.iter().map(|&q| q as i32).sum();
        assert!((s - d * sum as f32).abs() <= (d * sum as f32).abs() / 512.0 + 1e-30);
        assert_eq!(d, half::f16::from_f32(d).to_f32(), "d is an f16 value");
    }

    #[test]
    fn blocks_round_to_the_nearest_step() {
        check([0.0; GROUP]);
        check(std::array::from_fn(|i| i as f32 - 15.5));
        check(std::array::from_fn(|i| {
            if i == 3 {
                -1e-3
            } else {
                1e-5 * i as f32
            }
        }));
        check(std::array::from_fn(|i| (i as f32 * 0.7).sin() * 300.0));
    }
}
