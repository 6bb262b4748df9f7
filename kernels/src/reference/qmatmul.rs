//! Reference of the GPU quantized matmul: dequantize each Q8_0 or Q4_1 block to f32, then a
//! plain dot product per row and column.

use crate::gpu::ops::QuantFormat;
use crate::gpu::GpuFloat;

fn f16_at(block: &[u8], at: usize) -> f32 {
    half::f16::from_le_bytes([block[at], block[at + 1]]).to_f32()
}

/// The 32 values of a 34-byte Q8_0 block: `d · q`.
pub fn dequantize_q8_0(block: &[u8]) -> [f32; 32] {
    let d = f16_at(block, 0);
    std::array::from_fn(|j| d * f32::from(block[2 + j] as i8))
}

/// The 32 values of a 20-byte Q4_1 block: `d · q + m`, low nibbles first.
pub fn dequantize_q4_1(block: &[u8]) -> [f32; 32] {
    let (d, m) = (f16_at(block, 0), f16_at(block, 2));
    std::array::from_fn(|j| {
        let byte = block[4 + j % 16];
        let q = if j < 16 { byte & 0x0f } else { byte >> 4 };
        d * f32::from(q) + m
    })
}

/// `y[r][c] = Σ_k x[r][k] · W[c][k]` with `W` as `[n, k / 32]` blocks of `format`; `y` is
/// `[rows, n]`, rounded to `T`.
pub fn qmatmul<T: GpuFloat>(
    format: QuantFormat,
    w: &[u8],
    x: &[T],
    rows: usize,
    n: usize,
    k: usize,
) -> Vec<T> {
    let row_bytes = k / 32 * format.block_bytes();
    let mut y = vec![T::default(); rows * n];
    for column in 0..n {
        let weights: Vec<f32> = w[column * row_bytes..(column + 1) * row_bytes]
            .chunks_exact(format.block_bytes())
            .flat_map(|block| match format {
                QuantFormat::Q8_0 => dequantize_q8_0(block),
                QuantFormat::Q4_1 => dequantize_q4_1(block),
            })
            .collect();
        for r in 0..rows {
            let dot: f32 = weights
                .iter()
                .zip(&x[r * k..(r + 1) * k])
                .map(|(w, x)| w * x.to_f32())
                .sum();
            y[r * n + column] = T::from_f32(dot);
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cpu::qmatmul::{QMatrix, QuantKind};

    fn blocks(format: QuantFormat, count: usize) -> Vec<u8> {
        let mut bytes = Vec::new();
        for b in 0..count {
            bytes.extend_from_slice(&half::f16::from_f32(0.01 + b as f32 * 0.003).to_le_bytes());
            if format == QuantFormat::Q4_1 {
                bytes.extend_from_slice(&half::f16::from_f32(-0.05 * b as f32).to_le_bytes());
            }
            let payload = format.block_bytes() - bytes.len() % format.block_bytes();
            bytes.extend((0..payload).map(|j| (j * 37 + b * 11) as u8));
        }
        bytes
    }

    #[test]
    fn dequantization_agrees_with_the_cpu_kernels_row_decoder() {
        for (format, kind) in [
            (QuantFormat::Q8_0, QuantKind::Q8_0),
            (QuantFormat::Q4_1, QuantKind::Q4_1),
        ] {
            let (n, k) = (3, 64);
            let w = blocks(format, n * k / 32);
            let matrix = QMatrix::new(kind, n, k, w.clone()).expect("a valid matrix");
            for column in 0..n {
                let mut want = vec![0.0f32; k];
                matrix.dequantize_row(column, &mut want);
                let row =
                    &w[column * 2 * format.block_bytes()..(column + 1) * 2 * format.block_bytes()];
                let got: Vec<f32> = row
                    .chunks_exact(format.block_bytes())
                    .flat_map(|b| match format {
                        QuantFormat::Q8_0 => dequantize_q8_0(b),
                        QuantFormat::Q4_1 => dequantize_q4_1(b),
                    })
                    .collect();
                assert_eq!(got, want, "{format:?} column {column}");
            }
        }
    }

    #[test]
    fn matmul_is_the_dot_product_of_dequantized_rows() {
        let (rows, n, k) = (3, 5, 64);
        let w = blocks(QuantFormat::Q8_0, n * k / 32);
        let x: Vec<f32> = (0..rows * k)
            .map(|i| ((i % 13) as f32 - 6.0) * 0.1)
            .collect();
        let y = qmatmul(QuantFormat::Q8_0, &w, &x, rows, n, k);
        for r in 0..rows {
            for c in 0..n {
                let mut want = 0.0f64;
                for b in 0..k / 32 {
                    let start = (c * k / 32 + b) * 34;
                    let values = dequantize_q8_0(&w[start..start + 34]);
                    for j in 0..32 {
                        want += f64::from(values[j]) * f64::from(x[r * k + b * 32 + j]);
                    }
                }
                assert!((f64::from(y[r * n + c]) - want).abs() < 1e-4);
            }
        }
    }
}
