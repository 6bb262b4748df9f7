//! Writes `{"id", "spec"}` lines for every case of the corpus files given, for scoring with
//! `shared/eval/spec_score.py --specs`. `--layered` reads with the layered extractor (in
//! progress) instead of the rule extractor that serves every caller today.
//!
//! `cargo run --release -p codebegen-pipeline --example corpus_specs -- [--layered] FILE.jsonl...`
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let layered = args.iter().any(|a| a == "--layered");
    for path in args.iter().filter(|a| !a.starts_with("--")) {
        let text = std::fs::read_to_string(path).expect("readable corpus file");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let case: serde_json::Value = serde_json::from_str(line).expect("a JSON case");
            let prompt = case["prompt"].as_str().unwrap_or_default();
            let spec = if layered {
                codebegen_pipeline::layered::extract(prompt).spec
            } else {
                codebegen_pipeline::extract::extract(prompt).spec
            };
            println!("{}", serde_json::json!({"id": case["id"], "spec": spec}));
        }
    }
}
