//! Speed of `cpu::qmatmul::matmul` against candle's `QMatMul::forward` on the same weights.
//!
//! Run with `cargo run -p codebegen-kernels --release --example qmatmul_speed`.
//! For each shape (the SmolLM2-135M projections and its tied 49152x576 Q8_0 output head) it prints
//! ns per call and weight GB/s at batch 1, the per-step time at batch 1/4/8/16 with the speed-up
//! over `batch` single-row calls, and candle at batch 1 and 16 measured in the same run.
//!
//! With `QMATMUL_CPU_TIME=1` everything runs inside a one-thread rayon pool and the times are the
//! measuring thread's CPU time (`/proc/thread-self/schedstat`), which stays meaningful on a loaded
//! machine; otherwise they are wall-clock times with the global rayon pool.

use std::hint::black_box;
use std::time::{Duration, Instant};

use candle_core::quantized::{GgmlDType, QMatMul, QTensor};
use candle_core::{Device, Module, Tensor};
use codebegen_kernels::cpu::qmatmul::{matmul, QMatrix, QuantKind};

/// CPU time of the calling thread, when the kernel reports it.
fn thread_cpu_time() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace()
        .next()?
        .parse()
        .ok()
        .map(Duration::from_nanos)
}

/// Best mean time of `f` over 5 rounds of at least `budget / 5` (wall clock) each: thread CPU
/// time when `cpu_time`, wall-clock time otherwise.
fn time(budget: Duration, cpu_time: bool, mut f: impl FnMut()) -> Duration {
    let clock = || {
        if cpu_time {
            thread_cpu_time().unwrap_or_default()
        } else {
            Duration::ZERO
        }
    };
    f();
    let mut best = Duration::MAX;
    for _ in 0..5 {
        let (start, start_cpu) = (Instant::now(), clock());
        let mut n = 0u32;
        while start.elapsed() < budget / 5 {
            f();
            n += 1;
        }
        let spent = if cpu_time {
            clock() - start_cpu
        } else {
            start.elapsed()
        };
        best = best.min(spent / n);
    }
    best
}

fn values(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed | 1;
    (0..n)
        .map(|_| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            (s >> 40) as f32 / (1u64 << 24) as f32 - 0.5
        })
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::var("QMATMUL_CPU_TIME").is_ok_and(|v| v == "1") {
        println!("times: CPU time of one thread (one-thread rayon pool)");
        let pool = rayon::ThreadPoolBuilder::new().num_threads(1).build()?;
        pool.install(|| run(true).map_err(|e| e.to_string()))?;
        return Ok(());
    }
    println!("times: wall clock");
    run(false)
}

fn run(cpu_time: bool) -> Result<(), Box<dyn std::error::Error>> {
    let budget = Duration::from_millis(
        std::env::var("QMATMUL_BUDGET_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(600),
    );
    // `QMATMUL_BATCH=N` measures batch N alone (e.g. to profile one batch size).
    let only_batch: Option<usize> = std::env::var("QMATMUL_BATCH")
        .ok()
        .and_then(|v| v.parse().ok());
    let cold = std::env::var("QMATMUL_COLD").is_ok_and(|v| v == "1");
    println!("rayon threads: {}", rayon::current_num_threads());
    let shapes = [
        (576, 576, QuantKind::Q4_1, GgmlDType::Q4_1),
        (1536, 576, QuantKind::Q4_1, GgmlDType::Q4_1),
        (576, 1536, QuantKind::Q4_1, GgmlDType::Q4_1),
        (49152, 576, QuantKind::Q8_0, GgmlDType::Q8_0),
    ];
    for (rows, cols, kind, dtype) in shapes {
        let w = Tensor::from_vec(values(rows * cols, 7), (rows, cols), &Device::Cpu)?;
        let qt = QTensor::quantize(&w, dtype)?;
        let ours = QMatrix::new(kind, rows, cols, qt.data()?.into_owned())?;
        let theirs = QMatMul::from_qtensor(qt)?;
        // `QMATMUL_COLD=1` cycles through copies of the weights that together exceed the caches
        // (64 MB or more), as a model's layers do in a decode step.
        let copies = if cold {
            (64_000_000 / ours.data().len()).max(2)
        } else {
            1
        };
        let all: Vec<QMatrix> = vec![ours.clone(); copies];
        let mut next = 0usize;
        let bytes = ours.data().len() as f64;
        println!(
            "\n{kind:?} {rows}x{cols} ({:.2} MB of weights)",
            bytes / 1e6
        );

        let mut single = Duration::ZERO;
        for batch in [1usize, 4, 8, 16] {
            if only_batch.is_some_and(|only| only != batch) {
                continue;
            }
            let x = values(batch * cols, batch as u64);
            let mut out = vec![0f32; batch * rows];
            let t = time(budget, cpu_time, || {
                next = (next + 1) % all.len();
                matmul(&all[next], black_box(&x), batch, black_box(&mut out))
            });
            if batch == 1 {
                single = t;
                let gbs = bytes / t.as_secs_f64() / 1e9;
                println!(
                    "  ours   batch  1: {:>10} ns/call  {gbs:6.2} GB/s",
                    t.as_nanos()
                );
            } else {
                let speedup = (single * batch as u32).as_secs_f64() / t.as_secs_f64();
                println!(
                    "  ours   batch {batch:>2}: {:>10} ns/step  {speedup:5.2}x faster than {batch} single calls",
                    t.as_nanos()
                );
            }
            if only_batch.is_none() && (batch == 1 || batch == 16) {
                let xt = Tensor::from_vec(x.clone(), (batch, cols), &Device::Cpu)?;
                let tc = time(budget, cpu_time, || {
                    black_box(theirs.forward(black_box(&xt)).expect("candle forward"));
                });
                println!(
                    "  candle batch {batch:>2}: {:>10} ns/step  ours/candle time ratio {:.2}",
                    tc.as_nanos(),
                    t.as_secs_f64() / tc.as_secs_f64()
                );
            }
        }
    }
    Ok(())
}
