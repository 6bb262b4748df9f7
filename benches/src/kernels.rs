//! `codebegen bench kernels`: every GPU kernel's achieved bandwidth on large shapes, against a
//! device-to-device copy measured in the same run. Each timing synchronises the device before
//! the clock stops. Without a CUDA device the report says why and measures nothing.
//!
//! Bytes are the minimum traffic of each kernel (every input read once, every output written
//! once); the sampler's bisection reads its logits many times, so its figure is "effective".

use codebegen_kernels::gpu::ops::{
    KvWriteShape, PagedAttentionShape, QuantFormat, RotaryShape, SamplingParams,
};
use codebegen_kernels::gpu::{GpuError, GpuFloat, GpuKernels};
use cudarc::driver::{CudaSlice, DeviceRepr, ValidAsZeroBits};
use half::bf16;
use serde::Serialize;
use std::time::Instant;

/// The whole report.
#[derive(Debug, Serialize)]
pub struct KernelBenchReport {
    /// The device measured, or `None` when there was none.
    pub device: Option<String>,
    /// Why nothing was measured.
    pub skipped: Option<String>,
    /// The device-to-device copy baseline (read plus write), GB/s.
    pub copy_gb_s: Option<f64>,
    pub kernels: Vec<KernelRow>,
}

/// One kernel at one shape and dtype.
#[derive(Debug, Serialize)]
pub struct KernelRow {
    pub kernel: String,
    pub dtype: String,
    pub shape: String,
    pub bytes: u64,
    pub median_ms: f64,
    pub gb_s: f64,
    /// `gb_s / copy_gb_s`; the goal is at least 0.8 on these large shapes.
    pub of_copy: f64,
}

/// Runs every kernel on device `ordinal`, `iterations` timed launches each.
pub fn run(ordinal: usize, iterations: usize) -> Result<KernelBenchReport, String> {
    let gpu = match GpuKernels::open(ordinal) {
        Ok(gpu) => gpu,
        Err(error) => {
            return Ok(KernelBenchReport {
                device: None,
                skipped: Some(error.to_string()),
                copy_gb_s: None,
                kernels: Vec::new(),
            })
        }
    };
    let mut bench = Bench {
        gpu: &gpu,
        iterations: iterations.max(3),
        rows: Vec::new(),
        copy_gb_s: 0.0,
    };
    bench.copy().map_err(|e| e.to_string())?;
    bench.all::<f32>().map_err(|e| e.to_string())?;
    bench.all::<bf16>().map_err(|e| e.to_string())?;
    Ok(KernelBenchReport {
        device: Some(format!("{} ({})", gpu.device_name(), gpu.arch())),
        skipped: None,
        copy_gb_s: Some(bench.copy_gb_s),
        kernels: bench.rows,
    })
}

struct Bench<'a> {
    gpu: &'a GpuKernels,
    iterations: usize,
    rows: Vec<KernelRow>,
    copy_gb_s: f64,
}

impl Bench<'_> {
    fn zeros<T: DeviceRepr + ValidAsZeroBits>(&self, n: usize) -> Result<CudaSlice<T>, GpuError> {
        Ok(self.gpu.stream().alloc_zeros::<T>(n)?)
    }

    fn upload<T: DeviceRepr>(&self, host: &[T]) -> Result<CudaSlice<T>, GpuError> {
        Ok(self.gpu.stream().clone_htod(host)?)
    }

    /// The median seconds of one call, after two warm-up calls.
    fn time(&self, mut call: impl FnMut() -> Result<(), GpuError>) -> Result<f64, GpuError> {
        for _ in 0..2 {
            call()?;
        }
        self.gpu.synchronize()?;
        let mut seconds = Vec::with_capacity(self.iterations);
        for _ in 0..self.iterations {
            let started = Instant::now();
            call()?;
            self.gpu.synchronize()?;
            seconds.push(started.elapsed().as_secs_f64());
        }
        seconds.sort_by(f64::total_cmp);
        Ok(seconds[seconds.len() / 2])
    }

    fn record(&mut self, kernel: &str, dtype: &str, shape: String, bytes: u64, seconds: f64) {
        let gb_s = bytes as f64 / seconds / 1e9;
        self.rows.push(KernelRow {
            kernel: kernel.to_string(),
            dtype: dtype.to_string(),
            shape,
            bytes,
            median_ms: seconds * 1e3,
            gb_s,
            of_copy: gb_s / self.copy_gb_s,
        });
    }

    fn copy(&mut self) -> Result<(), GpuError> {
        let n = 64 << 20;
        let source = self.zeros::<f32>(n)?;
        let mut target = self.zeros::<f32>(n)?;
        let stream = self.gpu.stream().clone();
        let seconds = self.time(|| Ok(stream.memcpy_dtod(&source, &mut target)?))?;
        self.copy_gb_s = (2 * n * 4) as f64 / seconds / 1e9;
        Ok(())
    }

    fn all<T: GpuFloat>(&mut self) -> Result<(), GpuError> {
        let dtype = T::DTYPE.suffix();
        let size = std::mem::size_of::<T>();
        let gpu = self.gpu;

        let (rows, dim) = (8192, 4096);
        let x = self.zeros::<T>(rows * dim)?;
        let mut residual = self.zeros::<T>(rows * dim)?;
        let weight = self.upload(&vec![T::from_f32(1.0); dim])?;
        let mut out = self.zeros::<T>(rows * dim)?;
        let seconds = self
            .time(|| gpu.rmsnorm_residual(&x, &mut residual, &weight, &mut out, rows, dim, 1e-5))?;
        self.record(
            "rmsnorm_residual",
            dtype,
            format!("{rows}x{dim}"),
            (4 * rows * dim * size) as u64,
            seconds,
        );

        let n = rows * dim;
        let seconds = self.time(|| gpu.silu_gate(&x, &residual, &mut out, n))?;
        self.record(
            "silu_gate",
            dtype,
            format!("{n}"),
            (3 * n * size) as u64,
            seconds,
        );
        let seconds = self.time(|| gpu.add_bias(&mut out, &weight, rows, dim))?;
        self.record(
            "add_bias",
            dtype,
            format!("{rows}x{dim}"),
            (2 * rows * dim * size) as u64,
            seconds,
        );
        drop((x, residual, out, weight));

        // A prefill of 8192 tokens into a cache of twice that many slots, scattered.
        let write = KvWriteShape {
            tokens: 8192,
            n_kv_heads: 8,
            head_dim: 128,
            block_size: 16,
            num_blocks: 1024,
        };
        let width = write.n_kv_heads * write.head_dim;
        let k = self.zeros::<T>(write.tokens * width)?;
        let v = self.zeros::<T>(write.tokens * width)?;
        let cache_len = write.num_blocks * write.block_size * width;
        let mut k_cache = self.zeros::<T>(cache_len)?;
        let mut v_cache = self.zeros::<T>(cache_len)?;
        let slots: Vec<i32> = (0..write.tokens as i32).map(|t| (t * 2) ^ 16).collect();
        let slots = self.upload(&slots)?;
        let seconds =
            self.time(|| gpu.kv_write(&k, &v, &mut k_cache, &mut v_cache, &slots, &write))?;
        self.record(
            "kv_write",
            dtype,
            "8192 tokens, 8 KV heads x 128".into(),
            (4 * write.tokens * width * size) as u64,
            seconds,
        );
        drop((k, v, k_cache, v_cache, slots));

        let shape = RotaryShape {
            tokens: 8192,
            n_heads: 32,
            n_kv_heads: 8,
            head_dim: 128,
            max_positions: 8192,
            interleaved: false,
        };
        let mut q = self.zeros::<T>(shape.tokens * shape.n_heads * shape.head_dim)?;
        let mut k = self.zeros::<T>(shape.tokens * shape.n_kv_heads * shape.head_dim)?;
        let positions = self.upload(&(0..shape.tokens as i32).collect::<Vec<_>>())?;
        let table = self.zeros::<f32>(shape.max_positions * shape.head_dim / 2)?;
        let seconds =
            self.time(|| gpu.rotary(&mut q, &mut k, &positions, &table, &table, shape))?;
        let elems = shape.tokens * (shape.n_heads + shape.n_kv_heads) * shape.head_dim;
        self.record(
            "rotary",
            dtype,
            "8192 tok, 32+8 heads x 128".into(),
            (2 * elems * size) as u64,
            seconds,
        );
        drop((q, k));

        let (batch, vocab) = (64, 151_936);
        let logits = self.upload(
            &(0..batch * vocab)
                .map(|i| T::from_f32((i % 977) as f32 * 0.01))
                .collect::<Vec<_>>(),
        )?;
        let temperature = self.upload(&vec![0.8f32; batch])?;
        let top_k = self.upload(&vec![50i32; batch])?;
        let top_p = self.upload(&vec![0.9f32; batch])?;
        let uniform = self.upload(&vec![0.5f32; batch])?;
        let mut tokens = self.zeros::<i32>(batch)?;
        let params = SamplingParams {
            temperature: &temperature,
            top_k: &top_k,
            top_p: &top_p,
            uniform: &uniform,
        };
        let seconds = self.time(|| gpu.sample(&logits, batch, vocab, &params, &mut tokens))?;
        self.record(
            "sample (effective)",
            dtype,
            format!("{batch}x{vocab}"),
            (batch * vocab * size) as u64,
            seconds,
        );
        drop(logits);

        let shape = PagedAttentionShape {
            batch: 64,
            n_heads: 32,
            n_kv_heads: 8,
            head_dim: 128,
            block_size: 16,
            num_blocks: 64 * 128,
            max_blocks_per_seq: 128,
            max_context: 2048,
            scale: 0.088,
        };
        let cache = shape.num_blocks * shape.n_kv_heads * shape.block_size * shape.head_dim;
        let keys = self.zeros::<T>(cache)?;
        let values = self.zeros::<T>(cache)?;
        let tables = self.upload(&(0..shape.num_blocks as i32).collect::<Vec<_>>())?;
        let lens = self.upload(&vec![2048i32; shape.batch])?;
        let q = self.zeros::<T>(shape.batch * shape.n_heads * shape.head_dim)?;
        let mut out = self.zeros::<T>(shape.batch * shape.n_heads * shape.head_dim)?;
        let seconds = self.time(|| {
            gpu.paged_attention_decode(&q, &keys, &values, &tables, &lens, &mut out, &shape)
        })?;
        self.record(
            "paged_attention_decode",
            dtype,
            "64 seq x 2048 ctx, 32/8 heads x 128".into(),
            (2 * cache * size) as u64,
            seconds,
        );
        drop((keys, values));

        for (format, rows) in [
            (QuantFormat::Q8_0, 8),
            (QuantFormat::Q4_1, 8),
            // Past 8 rows: consecutive launches, each reading the weights again.
            (QuantFormat::Q4_1, 32),
        ] {
            let (n, k) = (14_336, 4096);
            let weight_bytes = n * k / 32 * format.block_bytes();
            let w = self.zeros::<u8>(weight_bytes)?;
            let x = self.zeros::<T>(rows * k)?;
            let mut y = self.zeros::<T>(rows * n)?;
            let seconds = self.time(|| gpu.qmatmul(format, &w, &x, &mut y, rows, n, k))?;
            self.record(
                &format!("qmatmul {format:?}"),
                dtype,
                format!("{rows} rows, {n}x{k}"),
                weight_bytes as u64,
                seconds,
            );
        }
        Ok(())
    }
}

/// The report as a table.
pub fn table(report: &KernelBenchReport) -> String {
    let Some(device) = &report.device else {
        return format!(
            "GPU kernel benchmark skipped: {}\n",
            report.skipped.as_deref().unwrap_or("no device")
        );
    };
    let mut text = format!(
        "device: {device}\ncopy baseline (device to device): {:.1} GB/s\n\n| kernel | dtype | shape | median ms | GB/s | × copy |\n|---|---|---|---|---|---|\n",
        report.copy_gb_s.unwrap_or(0.0)
    );
    for row in &report.kernels {
        text.push_str(&format!(
            "| {} | {} | {} | {:.3} | {:.1} | {:.2} |\n",
            row.kernel, row.dtype, row.shape, row.median_ms, row.gb_s, row.of_copy
        ));
    }
    text
}
