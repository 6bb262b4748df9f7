//! Every GPU kernel against its CPU reference, over random shapes, in f32, f16 and bf16.
//!
//! Tolerances (absolute + relative to the reference value): f32 1e-4 + 1e-4 (1e-3 for the
//! quantized matmul, whose sums run in another order); f16 2e-3 + 2e-3; bf16 1.6e-2 + 1.6e-2 —
//! about two units in the last place of the stored dtype. The sampler must agree exactly on
//! greedy rows, never leave the reference's kept set, and agree on at least 95% of drawn rows
//! (the rest sit on a rounding boundary of the running sum).
//!
//! Without a CUDA device each test prints why and skips; with `CODEBEGEN_REQUIRE_GPU=1` a
//! missing device fails instead, so a GPU run cannot pass by skipping.

use codebegen_kernels::gpu::ops::{
    KvWriteShape, PagedAttentionShape, QuantFormat, RotaryShape, SamplingParams,
};
use codebegen_kernels::gpu::{GpuFloat, GpuKernels};
use codebegen_kernels::reference;
use cudarc::driver::CudaSlice;
use half::{bf16, f16};
use std::sync::Arc;

fn gpu() -> Option<Arc<GpuKernels>> {
    match GpuKernels::open(0) {
        Ok(kernels) => Some(kernels),
        Err(error) => {
            assert!(
                std::env::var("CODEBEGEN_REQUIRE_GPU").as_deref() != Ok("1"),
                "CODEBEGEN_REQUIRE_GPU=1 but {error}"
            );
            eprintln!("skipped: no CUDA device to test on ({error})");
            None
        }
    }
}

/// A small deterministic generator (PCG-like), so failures reproduce.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: usize) -> usize {
        self.next() as usize % n.max(1)
    }
    fn uniform(&mut self) -> f32 {
        (self.next() >> 8) as f32 / (1u32 << 24) as f32
    }
    fn values<T: GpuFloat>(&mut self, n: usize, scale: f32) -> Vec<T> {
        (0..n)
            .map(|_| T::from_f32((self.uniform() * 2.0 - 1.0) * scale))
            .collect()
    }
}

fn tolerance<T: GpuFloat>() -> f32 {
    match T::DTYPE {
        codebegen_kernels::gpu::DType::F32 => 1e-4,
        codebegen_kernels::gpu::DType::F16 => 2e-3,
        codebegen_kernels::gpu::DType::BF16 => 1.6e-2,
    }
}

fn assert_close<T: GpuFloat>(what: &str, got: &[T], want: &[T], tolerance: f32) {
    assert_eq!(got.len(), want.len(), "{what}: lengths");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let (g, w) = (g.to_f32(), w.to_f32());
        assert!(
            (g - w).abs() <= tolerance + tolerance * w.abs(),
            "{what} ({:?}): element {i} is {g}, reference {w}",
            T::DTYPE
        );
    }
}

fn upload<T: cudarc::driver::DeviceRepr>(gpu: &GpuKernels, host: &[T]) -> CudaSlice<T> {
    gpu.stream().clone_htod(host).expect("copy to the device")
}

fn download<T: cudarc::driver::DeviceRepr>(gpu: &GpuKernels, device: &CudaSlice<T>) -> Vec<T> {
    gpu.stream()
        .clone_dtoh(device)
        .expect("copy from the device")
}

fn rmsnorm_case<T: GpuFloat>(gpu: &GpuKernels, rng: &mut Rng) {
    for _ in 0..8 {
        let (rows, dim) = (1 + rng.below(40), 1 + rng.below(3000));
        let x: Vec<T> = rng.values(rows * dim, 2.0);
        let residual: Vec<T> = rng.values(rows * dim, 2.0);
        let weight: Vec<T> = rng.values(dim, 1.5);
        let (mut want_residual, mut want) = (residual.clone(), vec![T::default(); rows * dim]);
        reference::rmsnorm_residual(&x, &mut want_residual, &weight, &mut want, dim, 1e-5);
        let (dx, dw) = (upload(gpu, &x), upload(gpu, &weight));
        let mut dr = upload(gpu, &residual);
        let mut dout = upload(gpu, &vec![T::default(); rows * dim]);
        gpu.rmsnorm_residual(&dx, &mut dr, &dw, &mut dout, rows, dim, 1e-5)
            .expect("launch");
        assert_close(
            "rmsnorm residual",
            &download(gpu, &dr),
            &want_residual,
            tolerance::<T>(),
        );
        assert_close(
            "rmsnorm out",
            &download(gpu, &dout),
            &want,
            tolerance::<T>(),
        );
    }
}

#[test]
fn rmsnorm_residual_matches_its_reference() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Rng(1);
    rmsnorm_case::<f32>(&gpu, &mut rng);
    rmsnorm_case::<f16>(&gpu, &mut rng);
    rmsnorm_case::<bf16>(&gpu, &mut rng);
}

fn rotary_case<T: GpuFloat>(gpu: &GpuKernels, rng: &mut Rng) {
    for round in 0..8 {
        let n_kv_heads = 1 + rng.below(4);
        let shape = RotaryShape {
            tokens: 1 + rng.below(33),
            n_heads: n_kv_heads * (1 + rng.below(4)),
            n_kv_heads,
            head_dim: 2 * (1 + rng.below(64)),
            max_positions: 64,
            interleaved: round % 2 == 0,
        };
        let half = shape.head_dim / 2;
        let cos: Vec<f32> = (0..shape.max_positions * half)
            .map(|j| (j as f32 * 0.01).cos())
            .collect();
        let sin: Vec<f32> = (0..shape.max_positions * half)
            .map(|j| (j as f32 * 0.01).sin())
            .collect();
        // One position past the table checks that the kernel leaves it alone.
        let positions: Vec<i32> = (0..shape.tokens)
            .map(|t| if t == 0 { 70 } else { rng.below(64) as i32 })
            .collect();
        let q: Vec<T> = rng.values(shape.tokens * shape.n_heads * shape.head_dim, 3.0);
        let k: Vec<T> = rng.values(shape.tokens * shape.n_kv_heads * shape.head_dim, 3.0);
        let (mut want_q, mut want_k) = (q.clone(), k.clone());
        reference::rotary(
            &mut want_q,
            shape.n_heads,
            shape.head_dim,
            &positions,
            &cos,
            &sin,
            shape.interleaved,
        );
        reference::rotary(
            &mut want_k,
            shape.n_kv_heads,
            shape.head_dim,
            &positions,
            &cos,
            &sin,
            shape.interleaved,
        );
        let (mut dq, mut dk) = (upload(gpu, &q), upload(gpu, &k));
        let (dp, dc, ds) = (
            upload(gpu, &positions),
            upload(gpu, &cos),
            upload(gpu, &sin),
        );
        gpu.rotary(&mut dq, &mut dk, &dp, &dc, &ds, shape)
            .expect("launch");
        assert_close("rotary q", &download(gpu, &dq), &want_q, tolerance::<T>());
        assert_close("rotary k", &download(gpu, &dk), &want_k, tolerance::<T>());
    }
}

#[test]
fn rotary_matches_its_reference_in_both_layouts() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Rng(2);
    rotary_case::<f32>(&gpu, &mut rng);
    rotary_case::<f16>(&gpu, &mut rng);
    rotary_case::<bf16>(&gpu, &mut rng);
}

fn silu_case<T: GpuFloat>(gpu: &GpuKernels, rng: &mut Rng) {
    for _ in 0..6 {
        let n = 1 + rng.below(200_000);
        let gate: Vec<T> = rng.values(n, 6.0);
        let up: Vec<T> = rng.values(n, 2.0);
        let mut want = vec![T::default(); n];
        reference::silu_gate(&gate, &up, &mut want);
        let mut out = upload(gpu, &vec![T::default(); n]);
        gpu.silu_gate(&upload(gpu, &gate), &upload(gpu, &up), &mut out, n)
            .expect("launch");
        assert_close("silu gate", &download(gpu, &out), &want, tolerance::<T>());
    }
}

#[test]
fn silu_gate_matches_its_reference() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Rng(3);
    silu_case::<f32>(&gpu, &mut rng);
    silu_case::<f16>(&gpu, &mut rng);
    silu_case::<bf16>(&gpu, &mut rng);
}

fn sampling_case<T: GpuFloat>(gpu: &GpuKernels, rng: &mut Rng) {
    let (rows, vocab) = (64, 1 + rng.below(60_000));
    let logits: Vec<T> = rng.values(rows * vocab, 8.0);
    let rows_params: Vec<reference::SamplingRow> = (0..rows)
        .map(|r| reference::SamplingRow {
            temperature: if r % 4 == 0 {
                0.0
            } else {
                0.3 + rng.uniform() * 1.5
            },
            top_k: if r % 3 == 0 { 0 } else { 1 + rng.below(100) },
            top_p: if r % 5 == 0 {
                1.0
            } else {
                0.5 + rng.uniform() * 0.5
            },
            uniform: rng.uniform(),
        })
        .collect();
    let temperature: Vec<f32> = rows_params.iter().map(|p| p.temperature).collect();
    let top_k: Vec<i32> = rows_params.iter().map(|p| p.top_k as i32).collect();
    let top_p: Vec<f32> = rows_params.iter().map(|p| p.top_p).collect();
    let uniform: Vec<f32> = rows_params.iter().map(|p| p.uniform).collect();
    let (dt, dk, dp, du) = (
        upload(gpu, &temperature),
        upload(gpu, &top_k),
        upload(gpu, &top_p),
        upload(gpu, &uniform),
    );
    let params = SamplingParams {
        temperature: &dt,
        top_k: &dk,
        top_p: &dp,
        uniform: &du,
    };
    let mut tokens = upload(gpu, &vec![-1i32; rows]);
    gpu.sample(&upload(gpu, &logits), rows, vocab, &params, &mut tokens)
        .expect("launch");
    let tokens = download(gpu, &tokens);
    let mut agree = 0;
    for (r, params) in rows_params.iter().enumerate() {
        let row: Vec<f32> = logits[r * vocab..(r + 1) * vocab]
            .iter()
            .map(|v| v.to_f32())
            .collect();
        let want = reference::sample_row(&row, *params);
        let got = usize::try_from(tokens[r]).expect("a token");
        if params.temperature <= 0.0 {
            assert_eq!(got, want, "greedy row {r} ({:?})", T::DTYPE);
        }
        assert!(
            reference::kept_tokens(&row, *params).contains(&got),
            "row {r} ({:?}) drew {got}, outside the kept set",
            T::DTYPE
        );
        agree += usize::from(got == want);
    }
    assert!(
        agree * 100 >= rows * 95,
        "{agree}/{rows} rows agree ({:?})",
        T::DTYPE
    );
}

#[test]
fn sampling_matches_its_reference() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Rng(4);
    sampling_case::<f32>(&gpu, &mut rng);
    sampling_case::<f16>(&gpu, &mut rng);
    sampling_case::<bf16>(&gpu, &mut rng);
}

fn attention_case<T: GpuFloat>(gpu: &GpuKernels, rng: &mut Rng) {
    for _ in 0..6 {
        let n_kv_heads = 1 + rng.below(4);
        let block_size = [4, 8, 16][rng.below(3)];
        let batch = 1 + rng.below(12);
        let max_blocks_per_seq = 1 + rng.below(24);
        let num_blocks = batch * max_blocks_per_seq;
        let shape = PagedAttentionShape {
            batch,
            n_heads: n_kv_heads * (1 + rng.below(4)),
            n_kv_heads,
            head_dim: [32, 64, 128][rng.below(3)],
            block_size,
            num_blocks,
            max_blocks_per_seq,
            max_context: max_blocks_per_seq * block_size,
            scale: 0.125,
        };
        // A random permutation of the blocks, cut into each sequence's table.
        let mut blocks: Vec<i32> = (0..num_blocks as i32).collect();
        for i in (1..blocks.len()).rev() {
            blocks.swap(i, rng.below(i + 1));
        }
        let lens: Vec<i32> = (0..batch)
            .map(|_| 1 + rng.below(shape.max_context) as i32)
            .collect();
        let cache_len = num_blocks * n_kv_heads * block_size * shape.head_dim;
        let keys: Vec<T> = rng.values(cache_len, 1.0);
        let values: Vec<T> = rng.values(cache_len, 1.0);
        let q: Vec<T> = rng.values(batch * shape.n_heads * shape.head_dim, 1.0);
        let mut want = vec![T::default(); q.len()];
        let cache = reference::PagedCache {
            keys: &keys,
            values: &values,
            n_kv_heads,
            block_size,
            head_dim: shape.head_dim,
        };
        reference::paged_attention_decode(
            &q,
            &cache,
            &blocks,
            max_blocks_per_seq,
            &lens,
            shape.n_heads,
            shape.max_context,
            shape.scale,
            &mut want,
        );
        let mut out = upload(gpu, &vec![T::default(); q.len()]);
        gpu.paged_attention_decode(
            &upload(gpu, &q),
            &upload(gpu, &keys),
            &upload(gpu, &values),
            &upload(gpu, &blocks),
            &upload(gpu, &lens),
            &mut out,
            &shape,
        )
        .expect("launch");
        assert_close(
            "paged attention",
            &download(gpu, &out),
            &want,
            tolerance::<T>(),
        );
    }
}

#[test]
fn paged_attention_decode_matches_its_reference() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Rng(5);
    attention_case::<f32>(&gpu, &mut rng);
    attention_case::<f16>(&gpu, &mut rng);
    attention_case::<bf16>(&gpu, &mut rng);
}

fn qmatmul_case<T: GpuFloat>(gpu: &GpuKernels, rng: &mut Rng, format: QuantFormat) {
    for _ in 0..6 {
        let (rows, n, k) = (
            // Past 8 rows the wrapper runs consecutive launches over views.
            1 + rng.below(40),
            1 + rng.below(600),
            32 * (1 + rng.below(40)),
        );
        let mut w = Vec::with_capacity(n * k / 32 * format.block_bytes());
        for _ in 0..n * k / 32 {
            w.extend_from_slice(&f16::from_f32(0.01 + rng.uniform() * 0.02).to_le_bytes());
            if format == QuantFormat::Q4_1 {
                w.extend_from_slice(&f16::from_f32(-0.1 * rng.uniform()).to_le_bytes());
            }
            while w.len() % format.block_bytes() != 0 {
                w.push(rng.next() as u8);
            }
        }
        let x: Vec<T> = rng.values(rows * k, 1.0);
        let want = reference::qmatmul(format, &w, &x, rows, n, k);
        let mut y = upload(gpu, &vec![T::default(); rows * n]);
        gpu.qmatmul(
            format,
            &upload(gpu, &w),
            &upload(gpu, &x),
            &mut y,
            rows,
            n,
            k,
        )
        .expect("launch");
        let tolerance = tolerance::<T>().max(1e-3);
        assert_close("qmatmul", &download(gpu, &y), &want, tolerance);
    }
}

#[test]
fn quantized_matmul_matches_its_reference() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Rng(6);
    for format in [QuantFormat::Q8_0, QuantFormat::Q4_1] {
        qmatmul_case::<f32>(&gpu, &mut rng, format);
        qmatmul_case::<f16>(&gpu, &mut rng, format);
        qmatmul_case::<bf16>(&gpu, &mut rng, format);
    }
}

fn kv_write_case<T: GpuFloat>(gpu: &GpuKernels, rng: &mut Rng) {
    for _ in 0..6 {
        let shape = KvWriteShape {
            tokens: 1 + rng.below(40),
            n_kv_heads: 1 + rng.below(4),
            head_dim: 2 * (1 + rng.below(64)),
            block_size: 1 + rng.below(16),
            num_blocks: 1 + rng.below(12),
        };
        let width = shape.n_kv_heads * shape.head_dim;
        let capacity = shape.num_blocks * shape.block_size;
        let k: Vec<T> = rng.values(shape.tokens * width, 1.0);
        let v: Vec<T> = rng.values(shape.tokens * width, 1.0);
        // Distinct slots, a few of them outside the cache (skipped by both).
        let mut free: Vec<i32> = (0..capacity as i32 + 4).collect();
        let slots: Vec<i32> = (0..shape.tokens)
            .map(|_| {
                if free.is_empty() {
                    -1
                } else {
                    free.swap_remove(rng.below(free.len()))
                }
            })
            .collect();
        let cache: Vec<T> = rng.values(capacity * width, 1.0);
        let (mut want_k, mut want_v) = (cache.clone(), cache.clone());
        reference::kv_write(&k, &v, &mut want_k, &mut want_v, &slots, &shape);
        let (mut dk, mut dv) = (upload(gpu, &cache), upload(gpu, &cache));
        gpu.kv_write(
            &upload(gpu, &k),
            &upload(gpu, &v),
            &mut dk,
            &mut dv,
            &upload(gpu, &slots),
            &shape,
        )
        .expect("launch");
        // A copy: exact in every dtype.
        assert_close("kv_write keys", &download(gpu, &dk), &want_k, 0.0);
        assert_close("kv_write values", &download(gpu, &dv), &want_v, 0.0);
    }
}

#[test]
fn kv_write_matches_its_reference() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Rng(7);
    kv_write_case::<f32>(&gpu, &mut rng);
    kv_write_case::<f16>(&gpu, &mut rng);
    kv_write_case::<bf16>(&gpu, &mut rng);
}

fn add_bias_case<T: GpuFloat>(gpu: &GpuKernels, rng: &mut Rng) {
    for _ in 0..6 {
        let (rows, cols) = (1 + rng.below(40), 1 + rng.below(1000));
        let x: Vec<T> = rng.values(rows * cols, 2.0);
        let bias: Vec<T> = rng.values(cols, 2.0);
        let mut want = x.clone();
        reference::add_bias(&mut want, &bias);
        let mut dx = upload(gpu, &x);
        gpu.add_bias(&mut dx, &upload(gpu, &bias), rows, cols)
            .expect("launch");
        assert_close("add_bias", &download(gpu, &dx), &want, tolerance::<T>());
    }
}

#[test]
fn add_bias_matches_its_reference() {
    let Some(gpu) = gpu() else { return };
    let mut rng = Rng(8);
    add_bias_case::<f32>(&gpu, &mut rng);
    add_bias_case::<f16>(&gpu, &mut rng);
    add_bias_case::<bf16>(&gpu, &mut rng);
}

#[test]
fn shapes_that_do_not_fit_are_refused_before_launch() {
    let Some(gpu) = gpu() else { return };
    let x = upload(gpu.as_ref(), &[0.0f32; 8]);
    let mut residual = upload(gpu.as_ref(), &[0.0f32; 8]);
    let weight = upload(gpu.as_ref(), &[1.0f32; 4]);
    let mut out = upload(gpu.as_ref(), &[0.0f32; 8]);
    let error = gpu
        .rmsnorm_residual(&x, &mut residual, &weight, &mut out, 3, 4, 1e-5)
        .expect_err("12 elements do not fit in 8");
    assert!(error.to_string().contains("rmsnorm_residual"), "{error}");
}
