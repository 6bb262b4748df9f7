//! `cargo bench --bench generate`: the generator benchmark (same code as `codebegen bench generate`).

fn main() {
    let iterations = std::env::var("CODEBEGEN_BENCH_ITERATIONS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50);
    match codebegen_benches::generate::run(iterations) {
        Ok(report) => print!("{}", codebegen_benches::generate::table(&report)),
        Err(err) => {
            eprintln!("benchmark failed: {err}");
            std::process::exit(1);
        }
    }
}
