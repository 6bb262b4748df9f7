//! The per-format pieces behind [`super::qmatmul`]: reading GGUF blocks, quantizing activations
//! to 8-bit blocks, and the row loops that read each weight block once for every batch row.

pub(crate) mod activations;
#[cfg(target_arch = "x86_64")]
pub(crate) mod avx2;
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

/// Reads a little-endian f16 at `at` as f32 without a call: exact for every f16 (the magnitude
/// bits moved into an f32 and scaled by 2^112 re-bias normal and subnormal values exactly).
#[inline(always)]
pub(crate) fn f16_at_inline(bytes: &[u8], at: usize) -> f32 {
    let h = u16::from_le_bytes([bytes[at], bytes[at + 1]]);
    let sign = ((h & 0x8000) as u32) << 16;
    let magnitude = (h & 0x7fff) as u32;
    let value = if magnitude >= 0x7c00 {
        // Infinity or NaN: all-ones exponent, the payload kept.
        f32::from_bits(0x7f80_0000 | ((magnitude & 0x3ff) << 13))
    } else {
        f32::from_bits(magnitude << 13) * f32::from_bits(0x7780_0000)
    };
    f32::from_bits(value.to_bits() | sign)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_f16_conversion_matches_half_for_every_bit_pattern() {
        for bits in 0..=u16::MAX {
            let bytes = bits.to_le_bytes();
            let (fast, reference) = (f16_at_inline(&bytes, 0), f16_at(&bytes, 0));
            assert!(
                fast.to_bits() == reference.to_bits() || (fast.is_nan() && reference.is_nan()),
                "{bits:#06x}: {fast} vs {reference}"
            );
        }
    }
}
