//! The inference bench's report: the JSON fields the issue asks for, the goal ratios, and the
//! plain-text table.

use std::path::Path;

use serde::Serialize;
use serde_json::{Map, Value};

use super::ours::{ConcurrentRun, RssProbe};
use super::roofline::{Bandwidth, WeightBytes};
use super::{common_prefix, Decode, InferenceBenchConfig};

/// One goal from the issue.
#[derive(Debug, Clone, Serialize)]
pub struct Goal {
    /// What is compared, e.g. `single_tok_s / reference_tok_s`.
    pub name: String,
    /// The measured value; `None` when a side was not measured.
    pub value: Option<f64>,
    /// `>=` or `<`.
    pub comparison: &'static str,
    /// The target.
    pub target: f64,
    /// `met`, `not met` or `not measured`.
    pub status: &'static str,
}

impl Goal {
    fn new(name: &str, value: Option<f64>, comparison: &'static str, target: f64) -> Self {
        let met = value.map(|v| match comparison {
            ">=" => v >= target,
            _ => v < target,
        });
        Goal {
            name: name.to_string(),
            value,
            comparison,
            target,
            status: match met {
                Some(true) => "met",
                Some(false) => "not met",
                None => "not measured",
            },
        }
    }
}

/// Everything measured in one run.
#[derive(Debug, Clone, Serialize)]
pub struct InferenceReport {
    /// The GGUF file.
    pub model: String,
    /// Where our engine ran: `cpu` or `cuda:N`.
    pub device: String,
    /// How the contenders are timed.
    pub method: String,
    /// Prompt length in tokens (request 0's, which every single-stream contender runs).
    pub prompt_tokens: usize,
    /// Timed decode tokens per stream.
    pub decode_tokens: usize,
    /// `/proc/loadavg` when the run started (the machine is shared).
    pub load_average_before: [f64; 3],
    /// `/proc/loadavg` when it ended.
    pub load_average_after: [f64; 3],
    /// candle-transformers `quantized_llama`, one stream, tok/s.
    pub reference_tok_s: Option<f64>,
    /// Why the reference was not measured, if it was not.
    pub reference_note: Option<String>,
    /// llama.cpp (llama-cpp-python), one stream, tok/s; `null` when it could not run.
    pub llamacpp_tok_s: Option<f64>,
    /// The binding's version, or why llama.cpp was not measured.
    pub llamacpp_note: Option<String>,
    /// Threads llama.cpp ran with.
    pub llamacpp_threads: usize,
    /// Ours, one stream, tok/s.
    pub single_tok_s: Option<f64>,
    /// Ours, aggregate decode tok/s by concurrent requests: `{"1": x, "4": y, ...}`.
    pub concurrent: Map<String, Value>,
    /// The concurrent runs in detail.
    pub concurrent_runs: Vec<ConcurrentRun>,
    /// Measured read bandwidth, all threads, GB/s (the roofline's input).
    pub memory_bandwidth_gb_s: f64,
    /// The bandwidth measurement in detail.
    pub bandwidth: Bandwidth,
    /// Bytes of weights per decode step.
    pub weight_bytes_per_step: u64,
    /// The weight accounting in detail.
    pub weights: WeightBytes,
    /// `memory_bandwidth_gb_s / weight_bytes_per_step`: the most tok/s one stream can reach.
    pub roofline_tok_s: f64,
    /// Greedy tokens (of `decode_tokens + 1`) that llama.cpp and ours share with the reference
    /// from the start; a sanity check that everyone decodes the same model.
    pub agreement_with_reference: Map<String, Value>,
    /// Our worker's peak RSS with many long requests, measured in a child process.
    pub worker_rss: Option<RssProbe>,
    /// Why the RSS was not measured, if it was not.
    pub worker_rss_note: Option<String>,
    /// The issue's goals.
    pub goals: Vec<Goal>,
    #[serde(skip)]
    streams: Vec<(&'static str, Vec<u32>)>,
}

impl InferenceReport {
    /// An empty report for `config` on `model`.
    pub fn new(
        config: &InferenceBenchConfig,
        model: &Path,
        prompt_tokens: usize,
        weights: WeightBytes,
        bandwidth: Bandwidth,
    ) -> Self {
        let roofline_tok_s =
            bandwidth.all_threads_gb_s * 1e9 / weights.per_step_bytes.max(1) as f64;
        InferenceReport {
            model: model.display().to_string(),
            device: config
                .cuda_device
                .map_or_else(|| "cpu".to_string(), |n| format!("cuda:{n}")),
            method: format!(
                "same GGUF and prompt token ids for every contender; greedy; prefill and the first \
                 token untimed, then {} decode tokens timed (end of sequence ignored); one warm-up \
                 each; concurrent = all requests submitted at once, tokens generated after the last \
                 prefill over the time since",
                config.decode_tokens
            ),
            prompt_tokens,
            decode_tokens: config.decode_tokens,
            load_average_before: [0.0; 3],
            load_average_after: [0.0; 3],
            reference_tok_s: None,
            reference_note: None,
            llamacpp_tok_s: None,
            llamacpp_note: None,
            llamacpp_threads: config.llamacpp_threads,
            single_tok_s: None,
            concurrent: Map::new(),
            concurrent_runs: Vec::new(),
            memory_bandwidth_gb_s: bandwidth.all_threads_gb_s,
            bandwidth,
            weight_bytes_per_step: weights.per_step_bytes,
            weights,
            roofline_tok_s,
            agreement_with_reference: Map::new(),
            worker_rss: None,
            worker_rss_note: None,
            goals: Vec::new(),
            streams: Vec::new(),
        }
    }

    /// Records the reference stream.
    pub fn set_reference(&mut self, decode: Decode) {
        self.reference_tok_s = Some(decode.tok_s);
        self.streams.push(("reference", decode.tokens));
    }

    /// Records llama.cpp's stream.
    pub fn set_llamacpp(&mut self, decode: Decode, version: &str) {
        self.llamacpp_tok_s = Some(decode.tok_s);
        self.llamacpp_note = Some(format!("llama-cpp-python {version}"));
        self.streams.push(("llamacpp", decode.tokens));
    }

    /// Records our single stream.
    pub fn set_single(&mut self, decode: Decode) {
        self.single_tok_s = Some(decode.tok_s);
        self.streams.push(("ours", decode.tokens));
    }

    /// Fills the derived fields: the concurrency map, the agreement counts and the goals.
    pub fn finish(&mut self) {
        self.concurrent = self
            .concurrent_runs
            .iter()
            .map(|r| (r.requests.to_string(), Value::from(r.tok_s)))
            .collect();
        if let Some((_, reference)) = self.streams.iter().find(|(n, _)| *n == "reference") {
            for (name, tokens) in &self.streams {
                if *name != "reference" {
                    let shared = common_prefix(reference, tokens);
                    self.agreement_with_reference
                        .insert((*name).to_string(), Value::from(shared));
                }
            }
        }
        let at = |n: usize| {
            self.concurrent_runs
                .iter()
                .find(|r| r.requests == n)
                .map(|r| r.tok_s)
        };
        let ratio = |a: Option<f64>, b: Option<f64>| match (a, b) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        let rss_mb = self.worker_rss.as_ref().map(|p| p.peak_rss_mib * 1.048_576);
        let rss_name = format!(
            "worker peak RSS, MB ({} requests x {} tokens)",
            self.worker_rss.as_ref().map_or(16, |p| p.requests),
            self.worker_rss.as_ref().map_or(512, |p| p.tokens)
        );
        self.goals = vec![
            Goal::new(
                "single_tok_s / reference_tok_s (must)",
                ratio(self.single_tok_s, self.reference_tok_s),
                ">=",
                1.0,
            ),
            Goal::new(
                "single_tok_s / llamacpp_tok_s",
                ratio(self.single_tok_s, self.llamacpp_tok_s),
                ">=",
                0.5,
            ),
            Goal::new(
                "concurrent[16] / concurrent[1]",
                ratio(at(16), at(1)),
                ">=",
                6.0,
            ),
            Goal::new(
                "concurrent[16] / llamacpp_tok_s",
                ratio(at(16), self.llamacpp_tok_s),
                ">=",
                2.0,
            ),
            Goal::new(&rss_name, rss_mb, "<", 400.0),
        ];
    }
}

fn tok_s(value: Option<f64>) -> String {
    value.map_or_else(|| "-".to_string(), |v| format!("{v:.1}"))
}

/// A plain-text table of the report.
pub fn table(report: &InferenceReport) -> String {
    let mut out = format!(
        "model: {} (prompt {} tokens, {} timed decode tokens); ours on {}\nload average: {:.2} before, {:.2} after\n",
        report.model,
        report.prompt_tokens,
        report.decode_tokens,
        report.device,
        report.load_average_before[0],
        report.load_average_after[0]
    );
    out.push_str(&format!(
        "memory bandwidth: {:.1} GB/s ({} threads; {:.1} GB/s one thread); weights per step {:.1} MB -> roofline {:.0} tok/s\n",
        report.memory_bandwidth_gb_s,
        report.bandwidth.threads,
        report.bandwidth.one_thread_gb_s,
        report.weight_bytes_per_step as f64 / 1e6,
        report.roofline_tok_s
    ));
    out.push_str(&format!(
        "{:<44} {:>10} {:>11}\n",
        "contender (one stream)", "tok/s", "x roofline"
    ));
    let rows = [
        (
            "candle-transformers quantized_llama",
            report.reference_tok_s,
            &report.reference_note,
        ),
        (
            "llama.cpp (llama-cpp-python)",
            report.llamacpp_tok_s,
            &report.llamacpp_note,
        ),
        ("codebegen engine", report.single_tok_s, &None),
    ];
    for (name, value, note) in rows {
        let of_roofline =
            value.map_or_else(String::new, |v| format!("{:.2}", v / report.roofline_tok_s));
        out.push_str(&format!(
            "{name:<44} {:>10} {of_roofline:>11}",
            tok_s(value)
        ));
        if let Some(note) = note {
            out.push_str(&format!("  ({note})"));
        }
        out.push('\n');
    }
    out.push_str(&format!(
        "{:<12} {:>14} {:>11} {:>12} {:>8} {:>7}\n",
        "concurrent", "decode tok/s", "prefill s", "e2e tok/s", "steps", "x one"
    ));
    let one = report
        .concurrent_runs
        .iter()
        .find(|r| r.requests == 1)
        .map(|r| r.tok_s);
    for r in &report.concurrent_runs {
        let x_one = one
            .filter(|o| *o > 0.0)
            .map_or_else(String::new, |o| format!("{:.2}", r.tok_s / o));
        out.push_str(&format!(
            "{:<12} {:>14.1} {:>11.2} {:>12.1} {:>8} {:>7}\n",
            r.requests, r.tok_s, r.prefill_s, r.end_to_end_tok_s, r.steps, x_one
        ));
    }
    match (&report.worker_rss, &report.worker_rss_note) {
        (Some(p), _) => out.push_str(&format!(
            "worker RSS: {:.1} MiB after load, peak {:.1} MiB with {} requests x {} tokens ({:.1} tok/s, {} cache blocks)\n",
            p.rss_after_load_mib, p.peak_rss_mib, p.requests, p.tokens, p.run.tok_s, p.cache_blocks
        )),
        (None, Some(note)) => out.push_str(&format!("worker RSS: not measured ({note})\n")),
        (None, None) => {}
    }
    if !report.agreement_with_reference.is_empty() {
        let parts: Vec<String> = report
            .agreement_with_reference
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        out.push_str(&format!(
            "greedy tokens equal to the reference from the start (of {}): {}\n",
            report.decode_tokens + 1,
            parts.join(", ")
        ));
    }
    for goal in &report.goals {
        let value = goal
            .value
            .map_or_else(|| "-".to_string(), |v| format!("{v:.2}"));
        out.push_str(&format!(
            "goal: {} {} {} (measured {}): {}\n",
            goal.name, goal.comparison, goal.target, value, goal.status
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(requests: usize, tok_s: f64) -> ConcurrentRun {
        ConcurrentRun {
            requests,
            tok_s,
            generated_tokens: requests * 9,
            prefill_s: 0.1,
            wall_s: 1.0,
            end_to_end_tok_s: tok_s * 0.9,
            steps: 9,
            early_finishes: 0,
        }
    }

    fn decode(tok_s: f64, tokens: &[u32]) -> Decode {
        Decode {
            tok_s,
            prefill_s: 0.01,
            tokens: tokens.to_vec(),
        }
    }

    #[test]
    fn json_has_the_issue_fields_and_goals_use_same_run_baselines() {
        let config = InferenceBenchConfig {
            exe: "codebegen".into(),
            model: "m.gguf".into(),
            data_dir: "data".into(),
            decode_tokens: 8,
            concurrency: vec![1, 4, 8, 16],
            cuda_device: None,
            skip_reference: false,
            skip_llamacpp: false,
            skip_rss: true,
            python: "python3".into(),
            llamacpp_threads: 2,
            rss_requests: 16,
            rss_tokens: 512,
        };
        let weights = WeightBytes {
            tensor_bytes: 100_000_000,
            embedding_bytes: 30_000_000,
            per_step_bytes: 100_000_000,
            tied_embeddings: true,
        };
        let bandwidth = Bandwidth {
            buffer_mib: 512,
            one_thread_gb_s: 10.0,
            threads: 2,
            all_threads_gb_s: 20.0,
        };
        let mut report = InferenceReport::new(&config, Path::new("m.gguf"), 40, weights, bandwidth);
        report.set_reference(decode(30.0, &[1, 2, 3]));
        report.set_single(decode(45.0, &[1, 2, 4]));
        report.llamacpp_note = Some("llama-cpp-python is not importable".into());
        report.concurrent_runs = vec![run(1, 45.0), run(4, 150.0), run(8, 240.0), run(16, 300.0)];
        report.finish();

        let json = serde_json::to_value(&report).expect("serializes");
        assert_eq!(json["reference_tok_s"], 30.0);
        assert!(json["llamacpp_tok_s"].is_null());
        assert_eq!(json["single_tok_s"], 45.0);
        let keys: Vec<&String> = json["concurrent"]
            .as_object()
            .expect("a map")
            .keys()
            .collect();
        assert_eq!(keys, ["1", "4", "8", "16"]);
        assert_eq!(json["concurrent"]["16"], 300.0);
        assert_eq!(json["memory_bandwidth_gb_s"], 20.0);
        assert_eq!(json["weight_bytes_per_step"], 100_000_000);
        assert_eq!(json["roofline_tok_s"], 200.0);
        assert_eq!(json["agreement_with_reference"]["ours"], 2);

        let status: Vec<&str> = report.goals.iter().map(|g| g.status).collect();
        // 45/30 >= 1; no llama.cpp; 300/45 >= 6; no llama.cpp; RSS skipped.
        assert_eq!(
            status,
            ["met", "not measured", "met", "not measured", "not measured"]
        );
        let text = table(&report);
        assert!(text.contains("roofline 200 tok/s"), "{text}");
        assert!(text.contains("not importable"), "{text}");
        assert!(text.contains("not measured"), "{text}");
    }

    #[test]
    fn goals_compare_and_say_when_unmeasured() {
        assert_eq!(Goal::new("a", Some(1.2), ">=", 1.0).status, "met");
        assert_eq!(Goal::new("a", Some(0.9), ">=", 1.0).status, "not met");
        assert_eq!(Goal::new("a", Some(401.0), "<", 400.0).status, "not met");
        assert_eq!(Goal::new("a", Some(399.0), "<", 400.0).status, "met");
        assert_eq!(Goal::new("a", None, ">=", 1.0).status, "not measured");
    }
}
