//! Checks `codebegen_kernels::cpu::qmatmul` against candle: weights quantized by candle, our
//! `dequantize_row` equal to candle's `dequantize` bit for bit, and our `matmul` within the error
//! bound of 8-bit activation quantization of an f64 matmul over the dequantized weights.

use candle_core::quantized::{GgmlDType, QTensor};
use candle_core::{Device, Tensor};
use codebegen_kernels::cpu::qmatmul::{matmul, QMatrix, QuantKind};
use proptest::prelude::*;

const KINDS: [(QuantKind, GgmlDType); 11] = [
    (QuantKind::F32, GgmlDType::F32),
    (QuantKind::F16, GgmlDType::F16),
    (QuantKind::BF16, GgmlDType::BF16),
    (QuantKind::Q4_0, GgmlDType::Q4_0),
    (QuantKind::Q4_1, GgmlDType::Q4_1),
    (QuantKind::Q5_0, GgmlDType::Q5_0),
    (QuantKind::Q5_1, GgmlDType::Q5_1),
    (QuantKind::Q8_0, GgmlDType::Q8_0),
    (QuantKind::Q4K, GgmlDType::Q4K),
    (QuantKind::Q5K, GgmlDType::Q5K),
    (QuantKind::Q6K, GgmlDType::Q6K),
];

/// xorshift64*: deterministic test data without another dependency.
struct Rng(u64);

impl Rng {
    fn next_f32(&mut self) -> f32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        let bits = self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 40;
        bits as f32 / (1u64 << 24) as f32 * 2.0 - 1.0
    }

    /// Values of varying magnitude per 32-block, with some all-zero blocks and outliers.
    fn values(&mut self, n: usize) -> Vec<f32> {
        let mut out = Vec::with_capacity(n);
        for block in 0..n.div_ceil(32) {
            let scale = match block % 5 {
                0 => 1.0,
                1 => 0.01,
                2 => 7.5,
                3 if block % 2 == 1 => 0.0,
                _ => 0.3,
            };
            for j in 0..32.min(n - block * 32) {
                let outlier = if j == 7 { 4.0 } else { 1.0 };
                out.push(self.next_f32() * scale * outlier);
            }
        }
        out
    }
}

/// Weights of `kind` built by candle from random values, with candle's dequantized copy.
fn candle_weights(kind: usize, rows: usize, cols: usize, seed: u64) -> (QMatrix, Vec<f32>) {
    let (ours, theirs) = KINDS[kind];
    let values = Rng(seed | 1).values(rows * cols);
    let tensor = Tensor::from_vec(values, (rows, cols), &Device::Cpu).expect("tensor");
    let q = QTensor::quantize(&tensor, theirs).expect("candle quantizes");
    let data = q.data().expect("bytes").into_owned();
    let deq = q
        .dequantize(&Device::Cpu)
        .and_then(|t| t.flatten_all())
        .and_then(|t| t.to_vec1::<f32>())
        .expect("candle dequantizes");
    (
        QMatrix::new(ours, rows, cols, data).expect("valid matrix"),
        deq,
    )
}

/// Our `dequantize_row` must equal candle's `dequantize` exactly.
fn check_dequantize(w: &QMatrix, deq: &[f32]) {
    let mut row = vec![0f32; w.cols()];
    for r in 0..w.rows() {
        w.dequantize_row(r, &mut row);
        let expected = &deq[r * w.cols()..(r + 1) * w.cols()];
        for (c, (a, b)) in row.iter().zip(expected).enumerate() {
            assert!(
                a == b,
                "{:?} row {r} col {c}: ours {a}, candle {b}",
                w.kind()
            );
        }
    }
}

/// `matmul` against an f64 product of the dequantized weights.
///
/// Tolerance: quantized kinds round every activation to the nearest step `d = amax(block) / 127`,
/// an error of at most `d / 2` per value, so output `r` may move by at most
/// `sum over blocks of d / 2 * sum |w[r, c]|` over the block's columns. `d` itself is stored as
/// f16 (as GGML's Q8 blocks do): a relative error of 2^-11 on up to 127 steps adds
/// `d * 127 / 2048 * sum |w|`, and the f16 block sum `s` (rounded twice) used by formats with a
/// min adds at most `max |w| * 32 * amax / 512`. Float rounding (f32 sums) adds a relative `1e-4`
/// of `sum |w x|`. Float kinds only have the rounding term.
fn check_matmul(w: &QMatrix, deq: &[f32], batch: usize, seed: u64) {
    let (rows, cols) = (w.rows(), w.cols());
    let x = Rng(seed.wrapping_mul(31) | 1).values(batch * cols);
    let mut out = vec![f32::NAN; batch * rows];
    matmul(w, &x, batch, &mut out);
    let quantized = !matches!(w.kind(), QuantKind::F32 | QuantKind::F16 | QuantKind::BF16);
    for b in 0..batch {
        let xb = &x[b * cols..(b + 1) * cols];
        for r in 0..rows {
            let wr = &deq[r * cols..(r + 1) * cols];
            let exact: f64 = wr.iter().zip(xb).map(|(&w, &x)| w as f64 * x as f64).sum();
            let magnitude: f64 = wr
                .iter()
                .zip(xb)
                .map(|(&w, &x)| (w as f64 * x as f64).abs())
                .sum();
            let mut bound = 1e-4 * magnitude + 1e-30;
            if quantized {
                for (wb, xb) in wr.chunks(32).zip(xb.chunks(32)) {
                    let amax = xb.iter().fold(0f64, |m, &v| m.max((v as f64).abs()));
                    let step = amax / 127.0;
                    let w_abs: f64 = wb.iter().map(|&w| (w as f64).abs()).sum();
                    let w_max = wb.iter().fold(0f64, |m, &w| m.max((w as f64).abs()));
                    bound += step * (0.5 + 127.0 / 2048.0) * w_abs + w_max * 32.0 * amax / 512.0;
                }
            }
            let got = out[b * rows + r] as f64;
            assert!(
                (got - exact).abs() <= bound,
                "{:?} {rows}x{cols} batch {batch}: out[{b}][{r}] = {got}, expected {exact} +- {bound}",
                w.kind()
            );
        }
    }
}

fn cols_for(kind: usize, blocks: usize) -> usize {
    blocks
        * if matches!(
            KINDS[kind].0,
            QuantKind::Q4K | QuantKind::Q5K | QuantKind::Q6K
        ) {
            256
        } else {
            32
        }
}

#[test]
fn every_kind_dequantizes_like_candle() {
    for kind in 0..KINDS.len() {
        let (w, deq) = candle_weights(kind, 7, cols_for(kind, 3), 42 + kind as u64);
        check_dequantize(&w, &deq);
    }
}

#[test]
fn every_kind_multiplies_within_the_activation_quantization_bound() {
    for kind in 0..KINDS.len() {
        for (rows, blocks, batch) in [(1, 1, 1), (13, 2, 3), (37, 3, 16), (64, 18, 1), (5, 1, 16)] {
            let (w, deq) = candle_weights(kind, rows, cols_for(kind, blocks), 7 + kind as u64);
            check_matmul(&w, &deq, batch, rows as u64);
        }
    }
}

#[test]
fn large_matrices_take_the_threaded_path_and_stay_correct() {
    // 300 x 1024 x batch 4 is well above the single-thread threshold: the rows are split into tasks.
    for kind in [4, 7, 8, 10] {
        let (w, deq) = candle_weights(kind, 300, 1024, 99);
        for batch in [1, 4] {
            check_matmul(&w, &deq, batch, 5 + batch as u64);
        }
    }
}

#[test]
fn batch_rows_are_independent() {
    // Row b of a batched call must equal the same row computed alone.
    let (w, _) = candle_weights(4, 96, 576, 3);
    let x = Rng(11).values(5 * 576);
    let mut batched = vec![0f32; 5 * 96];
    matmul(&w, &x, 5, &mut batched);
    for b in 0..5 {
        let mut single = vec![0f32; 96];
        matmul(&w, &x[b * 576..(b + 1) * 576], 1, &mut single);
        assert_eq!(&batched[b * 96..(b + 1) * 96], &single[..], "row {b}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn matmul_matches_the_dequantized_reference(
        kind in 0..KINDS.len(),
        rows in 1usize..48,
        blocks in 1usize..5,
        batch in 1usize..18,
        seed in any::<u64>(),
    ) {
        let (w, deq) = candle_weights(kind, rows, cols_for(kind, blocks), seed);
        check_dequantize(&w, &deq);
        check_matmul(&w, &deq, batch, seed ^ 0x9e37);
    }
}
