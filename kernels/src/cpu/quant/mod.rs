//! The per-format pieces behind [`super::qmatmul`]: reading GGUF blocks, quantizing activations
//! to 8-bit blocks, and the row loops that read each weight block once for every batch row.

pub(crate) mod activations;
pub(crate) mod dequant;
pub(crate) mod groups;
pub(crate) mod rows;

use half::f16;

/// Values in one activation block (and in every weight group the integer kernels see).
pub(crate) const GROUP: usize = 32;

/// Reads a little-endian f16 at `at` as f32.
#[inline(always)]
pub(crate) fn f16_at(bytes: &[u8], at: usize) -> f32 {
    f16::from_le_bytes([bytes[at], bytes[at + 1]]).to_f32()
}

/// The 6-bit (scale, min) pair `j` (0..8) of a Q4_K/Q5_K super-block's 12 packed scale bytes.
#[inline(always)]
pub(crate) fn scale_min_k4(j: usize, scales: &[u8; 12]) -> (u8, u8) {
    if j < 4 {
        (scales[j] & 63, scales[j + 4] & 63)
    } else {
        (
            (scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4),
            (scales[j + 4] >> 4) | ((scales[j] >> 6) << 4),
        )
    }
}

/// `bytes[at..at + N]` as an array; callers pass ranges inside a block of known length.
#[inline(always)]
pub(crate) fn array_at<const N: usize>(bytes: &[u8], at: usize) -> &[u8; N] {
    bytes[at..at + N]
        .try_into()
        .expect("a range of length N converts to [u8; N]")
}
