//! Timing helpers: run a closure repeatedly, summarize, and the shared CPU baseline.

use std::time::Instant;

use serde::Serialize;
use sha2::{Digest, Sha256};

/// A summary of repeated timings, in milliseconds.
#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    /// Number of timed runs.
    pub runs: usize,
    /// Median.
    pub median_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// Fastest run.
    pub min_ms: f64,
}

/// Times `f` `runs` times after one warm-up run.
pub fn measure(runs: usize, mut f: impl FnMut()) -> Summary {
    f();
    let mut samples: Vec<f64> = (0..runs.max(1))
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1000.0
        })
        .collect();
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    Summary {
        runs: samples.len(),
        median_ms: at(0.5),
        p90_ms: at(0.9),
        min_ms: samples[0],
    }
}

/// The baseline: sha256 over 4 MiB, a fixed amount of CPU work measured in the same run.
pub fn baseline(runs: usize) -> Summary {
    let data = vec![0x5au8; 4 << 20];
    measure(runs, || {
        let digest = Sha256::digest(&data);
        std::hint::black_box(digest);
    })
}
