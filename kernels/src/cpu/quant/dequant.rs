//! Dequantization of one GGUF row to f32, format by format.
//!
//! These are the reference semantics of every format (the same float operations, in the same
//! order, as ggml's `dequantize_row_*`), used for embedding lookup and by the tests.

use super::{array_at, f16_at, scale_min_k4};
use crate::cpu::qmatmul::QuantKind;
use half::{bf16, f16};

/// Dequantizes one row: `row` holds `out.len() / kind.block_values()` blocks of `kind`.
pub(crate) fn dequantize_row(kind: QuantKind, row: &[u8], out: &mut [f32]) {
    let values = kind.block_values();
    let bytes = kind.block_bytes();
    for (block, out) in row.chunks_exact(bytes).zip(out.chunks_exact_mut(values)) {
        match kind {
            QuantKind::F32 => out[0] = f32::from_le_bytes(*array_at::<4>(block, 0)),
            QuantKind::F16 => out[0] = f16::from_le_bytes(*array_at::<2>(block, 0)).to_f32(),
            QuantKind::BF16 => out[0] = bf16::from_le_bytes(*array_at::<2>(block, 0)).to_f32(),
            QuantKind::Q4_0 => q4_0(block, out),
            QuantKind::Q4_1 => q4_1(block, out),
            QuantKind::Q5_0 => q5_0(block, out),
            QuantKind::Q5_1 => q5_1(block, out),
            QuantKind::Q8_0 => q8_0(block, out),
            QuantKind::Q4K => q4k(block, out),
            QuantKind::Q5K => q5k(block, out),
            QuantKind::Q6K => q6k(block, out),
        }
    }
}

fn q4_0(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    let qs = array_at::<16>(block, 2);
    for (j, &q) in qs.iter().enumerate() {
        out[j] = ((q & 0x0F) as i16 - 8) as f32 * d;
        out[j + 16] = ((q >> 4) as i16 - 8) as f32 * d;
    }
}

fn q4_1(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    let m = f16_at(block, 2);
    let qs = array_at::<16>(block, 4);
    for (j, &q) in qs.iter().enumerate() {
        out[j] = (q & 0x0F) as f32 * d + m;
        out[j + 16] = (q >> 4) as f32 * d + m;
    }
}

/// The two fifth bits of the pair `j` of a Q5 block, already shifted to bit 4.
#[inline(always)]
pub(crate) fn q5_high_bits(qh: u32, j: usize) -> (u8, u8) {
    (
        (((qh >> j) << 4) & 0x10) as u8,
        ((qh >> (j + 12)) & 0x10) as u8,
    )
}

fn q5_0(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    let qh = u32::from_le_bytes(*array_at::<4>(block, 2));
    let qs = array_at::<16>(block, 6);
    for (j, &q) in qs.iter().enumerate() {
        let (h0, h1) = q5_high_bits(qh, j);
        out[j] = (((q & 0x0F) | h0) as i32 - 16) as f32 * d;
        out[j + 16] = (((q >> 4) | h1) as i32 - 16) as f32 * d;
    }
}

fn q5_1(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    let m = f16_at(block, 2);
    let qh = u32::from_le_bytes(*array_at::<4>(block, 4));
    let qs = array_at::<16>(block, 8);
    for (j, &q) in qs.iter().enumerate() {
        let (h0, h1) = q5_high_bits(qh, j);
        out[j] = ((q & 0x0F) | h0) as f32 * d + m;
        out[j + 16] = ((q >> 4) | h1) as f32 * d + m;
    }
}

fn q8_0(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    for (o, &q) in out.iter_mut().zip(&block[2..34]) {
        *o = q as i8 as f32 * d;
    }
}

fn q4k(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    let dmin = f16_at(block, 2);
    let scales = array_at::<12>(block, 4);
    let qs = array_at::<128>(block, 16);
    for chunk in 0..4 {
        let q = &qs[chunk * 32..chunk * 32 + 32];
        let out = &mut out[chunk * 64..chunk * 64 + 64];
        let (sc, m) = scale_min_k4(2 * chunk, scales);
        let (d1, m1) = (d * sc as f32, dmin * m as f32);
        let (sc, m) = scale_min_k4(2 * chunk + 1, scales);
        let (d2, m2) = (d * sc as f32, dmin * m as f32);
        for (l, &q) in q.iter().enumerate() {
            out[l] = d1 * (q & 0xF) as f32 - m1;
            out[l + 32] = d2 * (q >> 4) as f32 - m2;
        }
    }
}

fn q5k(block: &[u8], out: &mut [f32]) {
    let d = f16_at(block, 0);
    let dmin = f16_at(block, 2);
    let scales = array_at::<12>(block, 4);
    let qh = array_at::<32>(block, 16);
    let qs = array_at::<128>(block, 48);
    for chunk in 0..4 {
        let q = &qs[chunk * 32..chunk * 32 + 32];
        let out = &mut out[chunk * 64..chunk * 64 + 64];
        let (u1, u2) = (1u8 << (2 * chunk), 2u8 << (2 * chunk));
        let (sc, m) = scale_min_k4(2 * chunk, scales);
        let (d1, m1) = (d * sc as f32, dmin * m as f32);
        let (sc, m) = scale_min_k4(2 * chunk + 1, scales);
        let (d2, m2) = (d * sc as f32, dmin * m as f32);
        for (l, (&q, &h)) in q.iter().zip(qh).enumerate() {
            let add1 = if h & u1 != 0 { 16f32 } else { 0f32 };
            let add2 = if h & u2 != 0 { 16f32 } else { 0f32 };
            out[l] = d1 * ((q & 0xF) as f32 + add1) - m1;
            out[l + 32] = d2 * ((q >> 4) as f32 + add2) - m2;
        }
    }
}

/// The four 6-bit values (minus 32) that a Q6_K half-block stores at position `l` (0..32).
#[inline(always)]
pub(crate) fn q6k_quad(ql: &[u8], qh: &[u8], l: usize) -> [i8; 4] {
    let (lo, lo2, h) = (ql[l], ql[l + 32], qh[l]);
    [
        ((lo & 0xF) | ((h & 3) << 4)) as i8 - 32,
        ((lo2 & 0xF) | (((h >> 2) & 3) << 4)) as i8 - 32,
        ((lo >> 4) | (((h >> 4) & 3) << 4)) as i8 - 32,
        ((lo2 >> 4) | (((h >> 6) & 3) << 4)) as i8 - 32,
    ]
}

fn q6k(block: &[u8], out: &mut [f32]) {
    let ql_all = array_at::<128>(block, 0);
    let qh_all = array_at::<64>(block, 128);
    let scales = array_at::<16>(block, 192);
    let d = f16_at(block, 208);
    for half in 0..2 {
        let ql = &ql_all[64 * half..64 * half + 64];
        let qh = &qh_all[32 * half..32 * half + 32];
        let sc = &scales[8 * half..8 * half + 8];
        let out = &mut out[128 * half..128 * half + 128];
        for l in 0..32 {
            let is = l / 16;
            let q = q6k_quad(ql, qh, l);
            for (t, &q) in q.iter().enumerate() {
                out[l + 32 * t] = d * (sc[is + 2 * t] as i8) as f32 * q as f32;
            }
        }
    }
}
