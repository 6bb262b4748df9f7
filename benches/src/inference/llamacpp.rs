//! The peer contender: llama.cpp through the `llama-cpp-python` binding, run as a subprocess of
//! the bench (`benches/scripts/llamacpp_bench.py`, embedded in the binary). One stream, greedy,
//! the same prompt token ids, the same untimed prefill and timed decode tokens as the others.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

use super::Decode;

/// The helper script, embedded so the bench works from any directory.
const SCRIPT: &str = include_str!("../../scripts/llamacpp_bench.py");

/// The binding version the issue pins.
pub const PINNED_VERSION: &str = "0.3.36";

/// Runs the script with `python`. `Err` carries the reason llama.cpp could not be measured
/// (binding missing, script failure), which the bench prints and records.
pub fn run(
    python: &str,
    path: &Path,
    prompt: &[u32],
    decode_tokens: usize,
    threads: usize,
) -> Result<(Decode, String), String> {
    let args = json!({
        "model": path.to_string_lossy(),
        "prompt": prompt,
        "decode_tokens": decode_tokens,
        "threads": threads,
    });
    let output = Command::new(python)
        .arg("-c")
        .arg(SCRIPT)
        .arg(args.to_string())
        .output()
        .map_err(|e| format!("cannot start {python}: {e}"))?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let line = stdout
        .lines()
        .rev()
        .find(|l| l.trim_start().starts_with('{'));
    let Some(line) = line else {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: String = stderr.lines().rev().take(5).collect::<Vec<_>>().join(" | ");
        return Err(format!(
            "the llama.cpp script printed no result ({}): {tail}",
            output.status
        ));
    };
    parse(line)
}

/// Parses the script's JSON line into the decode result and the binding's version.
fn parse(line: &str) -> Result<(Decode, String), String> {
    let value: Value = serde_json::from_str(line)
        .map_err(|e| format!("bad JSON from the llama.cpp script: {e}"))?;
    if let Some(error) = value["error"].as_str() {
        return Err(error.to_string());
    }
    let tok_s = value["tok_s"]
        .as_f64()
        .ok_or("the llama.cpp script gave no tok_s")?;
    let tokens = value["tokens"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|t| t.as_u64())
                .map(|t| t as u32)
                .collect()
        })
        .unwrap_or_default();
    let version = value["version"].as_str().unwrap_or("unknown").to_string();
    Ok((
        Decode {
            tok_s,
            prefill_s: value["prefill_s"].as_f64().unwrap_or(0.0),
            tokens,
        },
        version,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_result_and_passes_errors_through() {
        let (decode, version) =
            parse(r#"{"tok_s": 150.5, "prefill_s": 0.01, "tokens": [5, 6], "version": "0.3.36"}"#)
                .expect("parses");
        assert_eq!(decode.tok_s, 150.5);
        assert_eq!(decode.tokens, vec![5, 6]);
        assert_eq!(version, "0.3.36");
        let err = parse(r#"{"error": "llama-cpp-python is not importable: no module"}"#)
            .expect_err("an error result");
        assert!(err.contains("not importable"), "{err}");
        assert!(parse("{}").is_err());
    }

    #[test]
    fn a_missing_interpreter_is_a_reason_not_a_panic() {
        let err = run(
            "/nonexistent/python3",
            Path::new("/nonexistent.gguf"),
            &[1, 2],
            4,
            2,
        )
        .expect_err("no interpreter");
        assert!(err.contains("cannot start"), "{err}");
    }
}
