//! `codebegen bench inference`: decode speed of our engine against candle-transformers'
//! `quantized_llama` (the reference) and llama.cpp (the peer), all measured in the same run on
//! the same GGUF file and prompt token ids, plus the memory-bandwidth roofline, the aggregate
//! speed of 1 to 16 concurrent requests, and the worker's peak RSS with 16 long requests.
//!
//! Timing rule for every contender: the prompt is prefilled and the first token sampled untimed;
//! the next `decode_tokens` greedy tokens are timed (end of sequence is not honoured, so every
//! contender decodes the same number of tokens). Each contender warms up first.

mod llamacpp;
mod ours;
mod reference;
mod report;
mod roofline;

use std::path::{Path, PathBuf};
use std::process::Command;

use candle_core::quantized::gguf_file;
use codebegen_inference::tokenizer::Tokenizer;

pub use ours::{ConcurrentRun, RssProbe};
pub use report::{table, Goal, InferenceReport};
pub use roofline::{Bandwidth, WeightBytes};

/// Settings.
#[derive(Debug, Clone)]
pub struct InferenceBenchConfig {
    /// The `codebegen` executable, started again for the RSS measurement.
    pub exe: PathBuf,
    /// A catalog name or a path to a GGUF file.
    pub model: String,
    /// Data directory where catalog models are installed.
    pub data_dir: PathBuf,
    /// Timed decode tokens per stream.
    pub decode_tokens: usize,
    /// Concurrency levels for our engine.
    pub concurrency: Vec<usize>,
    /// Where our engine runs: `None` for the CPU, `Some(n)` for CUDA device `n` (our NVRTC
    /// kernels). The reference and llama.cpp always run on the CPU.
    pub cuda_device: Option<usize>,
    /// Skip candle-transformers' `quantized_llama`.
    pub skip_reference: bool,
    /// Skip llama.cpp.
    pub skip_llamacpp: bool,
    /// Skip the RSS child process.
    pub skip_rss: bool,
    /// Python with `llama-cpp-python` installed.
    pub python: String,
    /// Threads llama.cpp runs with.
    pub llamacpp_threads: usize,
    /// Requests in the RSS measurement.
    pub rss_requests: usize,
    /// Tokens each of them generates.
    pub rss_tokens: usize,
}

/// One contender's stream: decode speed, untimed prefill and the greedy tokens it produced
/// (the first one comes from prefill).
#[derive(Debug, Clone)]
pub struct Decode {
    /// Timed decode tokens per second.
    pub tok_s: f64,
    /// Seconds of prefill plus the first token.
    pub prefill_s: f64,
    /// Generated tokens.
    pub tokens: Vec<u32>,
}

/// Subjects for the prompts; request `i` writes about subject `i` (mod the list), so concurrent
/// requests are not identical.
const SUBJECTS: &[&str] = &[
    "a lighthouse keeper",
    "a baker in Lisbon",
    "a robot learning to paint",
    "two rival chess players",
    "a lost dog finding its way home",
    "a mapmaker on a new island",
    "the first day of a new teacher",
    "a beekeeper and a storm",
    "a train driver at night",
    "a girl who collects rocks",
    "an old clockmaker",
    "a deep sea diver",
    "a gardener on Mars",
    "a street musician",
    "a librarian who finds a secret door",
    "a fisherman and a whale",
];

/// The ChatML prompt text of request `i` (request 0's is the one every contender streams).
pub fn prompt_text(i: usize) -> String {
    let subject = SUBJECTS[i % SUBJECTS.len()];
    let round = i / SUBJECTS.len();
    let suffix = if round == 0 {
        String::new()
    } else {
        format!(" (version {})", round + 1)
    };
    format!(
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n\
         <|im_start|>user\nWrite a long, detailed story about {subject}{suffix}.<|im_end|>\n\
         <|im_start|>assistant\n"
    )
}

/// The token ids of the first `n` prompts, with the model's own GGUF tokenizer.
pub fn tokenize_prompts(tokenizer: &Tokenizer, n: usize) -> Result<Vec<Vec<u32>>, String> {
    (0..n)
        .map(|i| {
            tokenizer
                .encode(&prompt_text(i))
                .map_err(|e| format!("tokenizing prompt {i}: {e}"))
        })
        .collect()
}

fn gguf_tokenizer(path: &Path) -> Result<Tokenizer, String> {
    let mut file =
        std::fs::File::open(path).map_err(|e| format!("opening {}: {e}", path.display()))?;
    let content = gguf_file::Content::read(&mut file).map_err(|e| e.to_string())?;
    Tokenizer::from_gguf(&content).map_err(|e| format!("GGUF tokenizer: {e}"))
}

/// `/proc/loadavg`'s three averages (zeros where unavailable).
fn load_average() -> [f64; 3] {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    let mut out = [0.0; 3];
    for (slot, word) in out.iter_mut().zip(text.split_whitespace()) {
        *slot = word.parse().unwrap_or(0.0);
    }
    out
}

/// How many leading tokens two greedy streams share.
fn common_prefix(a: &[u32], b: &[u32]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

/// The child side of the RSS measurement (`codebegen bench inference --rss-probe`): the JSON
/// of an [`RssProbe`].
pub fn rss_probe_json(model: &Path, requests: usize, tokens: usize) -> Result<String, String> {
    let probe = ours::rss_probe(
        model,
        |engine, n| tokenize_prompts(engine.tokenizer(), n),
        requests,
        tokens,
    )?;
    serde_json::to_string(&probe).map_err(|e| e.to_string())
}

fn run_rss_child(config: &InferenceBenchConfig, model: &Path) -> Result<RssProbe, String> {
    let output = Command::new(&config.exe)
        .args(["bench", "inference", "--rss-probe", "--model"])
        .arg(model)
        .args(["--rss-requests", &config.rss_requests.to_string()])
        .args(["--rss-tokens", &config.rss_tokens.to_string()])
        .output()
        .map_err(|e| format!("starting {}: {e}", config.exe.display()))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout.lines().rev().find(|l| l.starts_with('{'));
    match line {
        Some(line) if output.status.success() => {
            serde_json::from_str(line).map_err(|e| format!("bad RSS probe output: {e}"))
        }
        _ => Err(format!(
            "the RSS probe failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )),
    }
}

/// Runs the benchmark. Contenders that cannot run are recorded with the reason; an error means
/// the model or our engine could not run at all.
pub fn run(config: &InferenceBenchConfig) -> Result<InferenceReport, String> {
    let model = codebegen_inference::catalog::resolve(&config.model, &config.data_dir)
        .map_err(|e| e.to_string())?;
    let load_before = load_average();
    let weights = roofline::weight_bytes(&model)?;
    eprintln!("measuring memory bandwidth...");
    let bandwidth = roofline::measure_bandwidth(512, 5);

    let max_requests = config.concurrency.iter().copied().max().unwrap_or(1).max(1);
    let tokenizer = gguf_tokenizer(&model)?;
    let prompts = tokenize_prompts(&tokenizer, max_requests)?;
    let prompt = prompts[0].clone();
    let mut report = InferenceReport::new(config, &model, prompt.len(), weights, bandwidth);
    report.load_average_before = load_before;

    if config.skip_reference {
        report.reference_note = Some("skipped (--skip-reference)".into());
    } else {
        eprintln!("reference: candle-transformers quantized_llama...");
        match reference::run(&model, &prompt, config.decode_tokens) {
            Ok(decode) => report.set_reference(decode),
            Err(reason) => report.reference_note = Some(reason),
        }
    }

    if config.skip_llamacpp {
        report.llamacpp_note = Some("skipped (--skip-llamacpp)".into());
    } else {
        eprintln!(
            "llama.cpp (llama-cpp-python, {} threads)...",
            config.llamacpp_threads
        );
        match llamacpp::run(
            &config.python,
            &model,
            &prompt,
            config.decode_tokens,
            config.llamacpp_threads,
        ) {
            Ok((decode, version)) => {
                if version != llamacpp::PINNED_VERSION {
                    eprintln!(
                        "note: llama-cpp-python {version} is not the pinned {}",
                        llamacpp::PINNED_VERSION
                    );
                }
                report.set_llamacpp(decode, &version);
            }
            Err(reason) => {
                eprintln!("llama.cpp not measured: {reason}");
                report.llamacpp_note = Some(reason);
            }
        }
    }

    eprintln!("ours: codebegen engine...");
    let prompt_max = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let mut engine = ours::load(
        &model,
        max_requests,
        prompt_max + config.decode_tokens + 2,
        config.cuda_device,
    )?;
    // Warm-up: one short stream.
    ours::single(&mut engine, &prompt, 8)?;
    let single = ours::single(&mut engine, &prompt, config.decode_tokens)?;
    report.set_single(single);
    for &n in &config.concurrency {
        eprintln!("ours: {n} concurrent requests...");
        let (run, _) =
            ours::run_concurrent(&mut engine, &prompts[..n.max(1)], config.decode_tokens)?;
        report.concurrent_runs.push(run);
    }
    drop(engine);

    if config.skip_rss {
        report.worker_rss_note = Some("skipped (--skip-rss)".into());
    } else if config.cuda_device.is_some() {
        report.worker_rss_note = Some("not measured: the engine ran on a GPU".into());
    } else {
        eprintln!(
            "worker RSS: {} requests of {} tokens in a child process...",
            config.rss_requests, config.rss_tokens
        );
        match run_rss_child(config, &model) {
            Ok(probe) => report.worker_rss = Some(probe),
            Err(reason) => report.worker_rss_note = Some(reason),
        }
    }
    report.load_average_after = load_average();
    report.finish();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prompts_differ_and_are_chatml() {
        let texts: Vec<String> = (0..20).map(prompt_text).collect();
        for (i, t) in texts.iter().enumerate() {
            assert!(
                t.starts_with("<|im_start|>system\n") && t.ends_with("<|im_start|>assistant\n")
            );
            assert!(
                texts[i + 1..].iter().all(|other| other != t),
                "prompt {i} repeats"
            );
        }
    }

    #[test]
    fn common_prefix_counts_leading_matches() {
        assert_eq!(common_prefix(&[1, 2, 3], &[1, 2, 4, 5]), 2);
        assert_eq!(common_prefix(&[], &[1]), 0);
        assert_eq!(common_prefix(&[7, 8], &[7, 8]), 2);
    }
}

/// Tests on the real model file named by `CODEBEGEN_TEST_MODEL`.
#[cfg(test)]
mod real_model_tests {
    use super::*;

    fn model() -> Option<PathBuf> {
        match std::env::var_os("CODEBEGEN_TEST_MODEL") {
            Some(path) => Some(PathBuf::from(path)),
            None if std::env::var("CODEBEGEN_REQUIRE_MODEL").as_deref() == Ok("1") => {
                panic!("CODEBEGEN_REQUIRE_MODEL=1 but CODEBEGEN_TEST_MODEL is not set")
            }
            None => {
                eprintln!("skipped: CODEBEGEN_TEST_MODEL not set");
                None
            }
        }
    }

    #[test]
    fn smollm2_weights_are_counted_and_the_reference_decodes() {
        let Some(path) = model() else { return };
        let weights = roofline::weight_bytes(&path).expect("GGUF tensor table");
        // SmolLM2-135M: tied head, Q8_0 embedding of 49152 x 576 (34 bytes per 32 values).
        assert!(weights.tied_embeddings);
        assert_eq!(weights.embedding_bytes, 49_152 * 576 / 32 * 34);
        assert_eq!(weights.per_step_bytes, weights.tensor_bytes);
        let file_len = std::fs::metadata(&path).expect("stat").len();
        assert!(weights.tensor_bytes < file_len && weights.tensor_bytes > file_len * 9 / 10);

        let tokenizer = gguf_tokenizer(&path).expect("tokenizer");
        let prompts = tokenize_prompts(&tokenizer, 2).expect("tokenize");
        assert_ne!(prompts[0], prompts[1]);
        assert_eq!(prompts[0][0], 1, "ChatML starts with <|im_start|>");
        let decode = reference::run(&path, &prompts[0], 4).expect("reference decode");
        assert_eq!(decode.tokens.len(), 5);
        assert!(decode.tok_s > 0.0);
    }
}
