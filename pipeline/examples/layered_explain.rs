//! Prints how the layered extractor reads a prompt, layer by layer, and the spec it makes.
//!
//! `cargo run -p codebegen-pipeline --example layered_explain -- "authors write posts"`
fn main() {
    let prompt = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    print!("{}", codebegen_pipeline::layered::explain(&prompt));
    let extraction = codebegen_pipeline::layered::extract(&prompt);
    for d in &extraction.diagnostics {
        println!("note: {} {}", d.code, d.message);
    }
    println!(
        "{}",
        serde_json::to_string(&extraction.spec).unwrap_or_default()
    );
}
