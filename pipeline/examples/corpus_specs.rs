//! Writes `{"id", "spec"}` lines for every case of the corpus files given, for scoring with
//! `shared/eval/spec_score.py --specs`.
//!
//! `cargo run --release -p codebegen-pipeline --example corpus_specs -- FILE.jsonl...`
fn main() {
    for path in std::env::args().skip(1) {
        let text = std::fs::read_to_string(&path).expect("readable corpus file");
        for line in text.lines().filter(|l| !l.trim().is_empty()) {
            let case: serde_json::Value = serde_json::from_str(line).expect("a JSON case");
            let prompt = case["prompt"].as_str().unwrap_or_default();
            let spec = codebegen_pipeline::extract::extract(prompt).spec;
            println!("{}", serde_json::json!({"id": case["id"], "spec": spec}));
        }
    }
}
