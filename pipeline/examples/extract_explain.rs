//! Prints how the extractor reads a prompt, layer by layer, and the spec it makes.
//!
//! `cargo run -p codebegen-pipeline --example extract_explain -- "authors write posts"`
fn main() {
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    print!("{}", codebegen_pipeline::extract::explain(&prompt));
    let extraction = codebegen_pipeline::extract::extract(&prompt);
    for d in &extraction.diagnostics {
        println!("note: {} {}", d.code, d.message);
    }
    println!(
        "{}",
        serde_json::to_string(&extraction.spec).unwrap_or_default()
    );
}
