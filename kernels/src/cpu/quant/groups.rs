//! Integer decoding of GGUF weight blocks into 32-value groups of small integers.
//!
//! Every format decodes to groups where weight `j` of group `g` equals
//! `scale[g] * q[g][j] + min[g]` (Q6_K: `scale[g] * sub[g][j / 16] * q[g][j]`), so the row loops
//! can take integer dot products against 8-bit activation blocks and apply the scales once per
//! group.

use super::dequant::{q5_high_bits, q6k_quad};
use super::{array_at, f16_at_inline as f16_at, scale_min_k4, GROUP};

/// The groups of one decoded block (up to 8, for a 256-value super-block).
pub(crate) struct Decoded {
    pub(crate) q: [[i8; GROUP]; 8],
    pub(crate) scale: [f32; 8],
    pub(crate) min: [f32; 8],
    /// Q6_K only: the integer scale of each 16-value half of a group.
    pub(crate) sub: [[i32; 2]; 8],
}

impl Decoded {
    pub(crate) fn new() -> Self {
        Self {
            q: [[0; GROUP]; 8],
            scale: [0.0; 8],
            min: [0.0; 8],
            sub: [[0; 2]; 8],
        }
    }
}

/// One GGUF block format as the integer kernels see it.
pub(crate) trait IntFormat {
    /// Bytes per block.
    const BYTES: usize;
    /// 32-value groups per block.
    const GROUPS: usize;
    /// Whether groups carry an additive `min` (applied through the activation block sums).
    const HAS_MIN: bool;
    /// Whether groups use two integer sub-scales (Q6_K).
    const SPLIT16: bool = false;
    /// Decodes `block` (exactly `BYTES` long) into `out`.
    fn decode(block: &[u8], out: &mut Decoded);
}

pub(crate) struct Q4_0;
pub(crate) struct Q4_1;
pub(crate) struct Q5_0;
pub(crate) struct Q5_1;
pub(crate) struct Q8_0;
pub(crate) struct Q4K;
pub(crate) struct Q5K;
pub(crate) struct Q6K;

/// Splits 16 packed bytes into 32 values: low nibbles first, then high nibbles.
#[inline(always)]
fn nibbles(qs: &[u8; 16], offset: i8, q: &mut [i8; GROUP]) {
    let (lo, hi) = q.split_at_mut(16);
    for ((l, h), &b) in lo.iter_mut().zip(hi.iter_mut()).zip(qs) {
        *l = (b & 0x0F) as i8 - offset;
        *h = (b >> 4) as i8 - offset;
    }
}

/// Like [`nibbles`] with the fifth bits of a Q5_0/Q5_1 block.
#[inline(always)]
fn nibbles5(qs: &[u8; 16], qh: u32, offset: i8, q: &mut [i8; GROUP]) {
    let (lo, hi) = q.split_at_mut(16);
    for (j, ((l, h), &b)) in lo.iter_mut().zip(hi.iter_mut()).zip(qs).enumerate() {
        let (h0, h1) = q5_high_bits(qh, j);
        *l = ((b & 0x0F) | h0) as i8 - offset;
        *h = ((b >> 4) | h1) as i8 - offset;
    }
}

impl IntFormat for Q4_0 {
    const BYTES: usize = 18;
    const GROUPS: usize = 1;
    const HAS_MIN: bool = false;
    #[inline(always)]
    fn decode(block: &[u8], out: &mut Decoded) {
        out.scale[0] = f16_at(block, 0);
        nibbles(array_at::<16>(block, 2), 8, &mut out.q[0]);
    }
}

impl IntFormat for Q4_1 {
    const BYTES: usize = 20;
    const GROUPS: usize = 1;
    const HAS_MIN: bool = true;
    #[inline(always)]
    fn decode(block: &[u8], out: &mut Decoded) {
        out.scale[0] = f16_at(block, 0);
        out.min[0] = f16_at(block, 2);
        nibbles(array_at::<16>(block, 4), 0, &mut out.q[0]);
    }
}

impl IntFormat for Q5_0 {
    const BYTES: usize = 22;
    const GROUPS: usize = 1;
    const HAS_MIN: bool = false;
    #[inline(always)]
    fn decode(block: &[u8], out: &mut Decoded) {
        out.scale[0] = f16_at(block, 0);
        let qh = u32::from_le_bytes(*array_at::<4>(block, 2));
        nibbles5(array_at::<16>(block, 6), qh, 16, &mut out.q[0]);
    }
}

impl IntFormat for Q5_1 {
    const BYTES: usize = 24;
    const GROUPS: usize = 1;
    const HAS_MIN: bool = true;
    #[inline(always)]
    fn decode(block: &[u8], out: &mut Decoded) {
        out.scale[0] = f16_at(block, 0);
        out.min[0] = f16_at(block, 2);
        let qh = u32::from_le_bytes(*array_at::<4>(block, 4));
        nibbles5(array_at::<16>(block, 8), qh, 0, &mut out.q[0]);
    }
}

impl IntFormat for Q8_0 {
    const BYTES: usize = 34;
    const GROUPS: usize = 1;
    const HAS_MIN: bool = false;
    #[inline(always)]
    fn decode(block: &[u8], out: &mut Decoded) {
        out.scale[0] = f16_at(block, 0);
        for (q, &b) in out.q[0].iter_mut().zip(array_at::<32>(block, 2)) {
            *q = b as i8;
        }
    }
}

/// The float scale and (negated) min of Q4_K/Q5_K group `g`.
#[inline(always)]
fn k4_scales(d: f32, dmin: f32, scales: &[u8; 12], g: usize, out: &mut Decoded) {
    let (sc, m) = scale_min_k4(g, scales);
    out.scale[g] = d * sc as f32;
    out.min[g] = -(dmin * m as f32);
}

impl IntFormat for Q4K {
    const BYTES: usize = 144;
    const GROUPS: usize = 8;
    const HAS_MIN: bool = true;
    #[inline(always)]
    fn decode(block: &[u8], out: &mut Decoded) {
        let d = f16_at(block, 0);
        let dmin = f16_at(block, 2);
        let scales = array_at::<12>(block, 4);
        let qs = array_at::<128>(block, 16);
        for chunk in 0..4 {
            k4_scales(d, dmin, scales, 2 * chunk, out);
            k4_scales(d, dmin, scales, 2 * chunk + 1, out);
            let q = array_at::<32>(qs, 32 * chunk);
            let (first, second) = out.q.split_at_mut(2 * chunk + 1);
            let (lo, hi) = (&mut first[2 * chunk], &mut second[0]);
            for ((l, h), &b) in lo.iter_mut().zip(hi.iter_mut()).zip(q) {
                *l = (b & 0xF) as i8;
                *h = (b >> 4) as i8;
            }
        }
    }
}

impl IntFormat for Q5K {
    const BYTES: usize = 176;
    const GROUPS: usize = 8;
    const HAS_MIN: bool = true;
    #[inline(always)]
    fn decode(block: &[u8], out: &mut Decoded) {
        let d = f16_at(block, 0);
        let dmin = f16_at(block, 2);
        let scales = array_at::<12>(block, 4);
        let qh = array_at::<32>(block, 16);
        let qs = array_at::<128>(block, 48);
        for chunk in 0..4 {
            k4_scales(d, dmin, scales, 2 * chunk, out);
            k4_scales(d, dmin, scales, 2 * chunk + 1, out);
            let q = array_at::<32>(qs, 32 * chunk);
            let shift = 2 * chunk as u32;
            let (first, second) = out.q.split_at_mut(2 * chunk + 1);
            let (lo, hi) = (&mut first[2 * chunk], &mut second[0]);
            for (((l, h), &b), &bh) in lo.iter_mut().zip(hi.iter_mut()).zip(q).zip(qh) {
                *l = ((b & 0xF) | (((bh >> shift) & 1) << 4)) as i8;
                *h = ((b >> 4) | (((bh >> (shift + 1)) & 1) << 4)) as i8;
            }
        }
    }
}

impl IntFormat for Q6K {
    const BYTES: usize = 210;
    const GROUPS: usize = 8;
    const HAS_MIN: bool = false;
    const SPLIT16: bool = true;
    #[inline(always)]
    fn decode(block: &[u8], out: &mut Decoded) {
        let ql_all = array_at::<128>(block, 0);
        let qh_all = array_at::<64>(block, 128);
        let scales = array_at::<16>(block, 192);
        let d = f16_at(block, 208);
        for half in 0..2 {
            let ql = &ql_all[64 * half..64 * half + 64];
            let qh = &qh_all[32 * half..32 * half + 32];
            for l in 0..32 {
                let quad = q6k_quad(ql, qh, l);
                for (t, &q) in quad.iter().enumerate() {
                    out.q[4 * half + t][l] = q;
                }
            }
            for t in 0..4 {
                let g = 4 * half + t;
                out.scale[g] = d;
                out.sub[g] = [
                    scales[8 * half + 2 * t] as i8 as i32,
                    scales[8 * half + 2 * t + 1] as i8 as i32,
                ];
            }
        }
    }
}
