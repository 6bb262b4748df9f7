//! The memory-bandwidth roofline: how fast this machine streams memory, and how many bytes of
//! weights one decode step of the model must read. Decoding one token reads every weight once,
//! so bandwidth / weight bytes is the most tokens per second one stream can reach.

use std::path::Path;
use std::time::Instant;

use candle_core::quantized::gguf_file;
use serde::Serialize;

/// Measured read bandwidth.
#[derive(Debug, Clone, Serialize)]
pub struct Bandwidth {
    /// Size of the buffer summed, MiB (well beyond any cache).
    pub buffer_mib: usize,
    /// Best of the runs with one thread, GB/s (10^9 bytes).
    pub one_thread_gb_s: f64,
    /// Threads used for the multi-threaded figure (the machine's available parallelism).
    pub threads: usize,
    /// Best of the runs with all threads, GB/s.
    pub all_threads_gb_s: f64,
}

/// Sums `data` with eight independent lanes so the loop vectorises.
fn sum_words(data: &[u64]) -> u64 {
    let mut lanes = [0u64; 8];
    let chunks = data.chunks_exact(8);
    let tail: u64 = chunks.remainder().iter().fold(0, |a, &b| a.wrapping_add(b));
    for chunk in chunks {
        for (lane, &word) in lanes.iter_mut().zip(chunk) {
            *lane = lane.wrapping_add(word);
        }
    }
    lanes.iter().fold(tail, |a, &b| a.wrapping_add(b))
}

/// Seconds to sum `data` split across `threads` scoped threads.
fn timed_sum(data: &[u64], threads: usize) -> f64 {
    let per_thread = data.len().div_ceil(threads.max(1));
    let started = Instant::now();
    let total = std::thread::scope(|scope| {
        let handles: Vec<_> = data
            .chunks(per_thread.max(1))
            .map(|part| scope.spawn(move || sum_words(part)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or(0))
            .fold(0u64, u64::wrapping_add)
    });
    let seconds = started.elapsed().as_secs_f64();
    std::hint::black_box(total);
    seconds
}

/// Measures read bandwidth over a `buffer_mib` buffer: best of `runs`, one thread and all threads.
pub fn measure_bandwidth(buffer_mib: usize, runs: usize) -> Bandwidth {
    let words = (buffer_mib << 20) / 8;
    // Non-constant contents, written once so every page is resident before timing.
    let data: Vec<u64> = (0..words as u64)
        .map(|i| i.wrapping_mul(0x9e37_79b9_7f4a_7c15))
        .collect();
    let bytes = (words * 8) as f64;
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let best = |threads: usize| {
        (0..runs.max(1))
            .map(|_| timed_sum(&data, threads))
            .fold(f64::INFINITY, f64::min)
    };
    let one = best(1);
    let all = best(threads);
    Bandwidth {
        buffer_mib,
        one_thread_gb_s: bytes / one / 1e9,
        threads,
        all_threads_gb_s: bytes / all / 1e9,
    }
}

/// Bytes of weights one decode step reads, from the GGUF tensor table.
#[derive(Debug, Clone, Serialize)]
pub struct WeightBytes {
    /// Every tensor's bytes as stored in the file (quantized blocks included).
    pub tensor_bytes: u64,
    /// The token embedding's bytes.
    pub embedding_bytes: u64,
    /// Bytes read per decode step: all tensors when the output head is tied to the embedding
    /// (the head reads the whole table); otherwise all tensors but the embedding table, of
    /// which a step reads only one row. KV cache reads are not counted (small at these lengths).
    pub per_step_bytes: u64,
    /// Whether the output head is tied to the token embedding.
    pub tied_embeddings: bool,
}

/// Reads the tensor table of a GGUF file and counts its bytes.
pub fn weight_bytes(path: &Path) -> Result<WeightBytes, String> {
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let content = gguf_file::Content::read(&mut file)
        .map_err(|e| format!("reading the GGUF header of {}: {e}", path.display()))?;
    let size = |info: &gguf_file::TensorInfo| {
        let dtype = info.ggml_dtype;
        (info.shape.elem_count() / dtype.block_size() * dtype.type_size()) as u64
    };
    let tensor_bytes: u64 = content.tensor_infos.values().map(size).sum();
    let embedding_bytes = content
        .tensor_infos
        .get("token_embd.weight")
        .map_or(0, size);
    let tied_embeddings = !content.tensor_infos.contains_key("output.weight");
    let per_step_bytes = if tied_embeddings {
        tensor_bytes
    } else {
        tensor_bytes - embedding_bytes
    };
    Ok(WeightBytes {
        tensor_bytes,
        embedding_bytes,
        per_step_bytes,
        tied_embeddings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sum_words_matches_a_plain_sum() {
        let data: Vec<u64> = (0..1003u64).map(|i| i * 7 + 1).collect();
        assert_eq!(sum_words(&data), data.iter().sum::<u64>());
        assert_eq!(sum_words(&[]), 0);
    }

    #[test]
    fn bandwidth_is_positive_and_finite() {
        let b = measure_bandwidth(16, 2);
        assert!(
            b.one_thread_gb_s.is_finite() && b.one_thread_gb_s > 0.0,
            "{b:?}"
        );
        assert!(
            b.all_threads_gb_s.is_finite() && b.all_threads_gb_s > 0.0,
            "{b:?}"
        );
        assert!(b.threads >= 1);
    }
}
