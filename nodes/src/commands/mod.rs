//! One module per subcommand; `run` dispatches.

mod admin;
mod bench;
mod check;
mod generate;
mod kernels;
mod local_model;
mod models;
mod node;
mod serve;
mod spec;

use std::process::ExitCode;

use codebegen_schema::{Database, Diagnostic};

use crate::cli::{Cli, Command, DbArg, GateArgs};

/// Runs the parsed command; returns the process exit code.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Spec(args) => spec::run(args),
        Command::Generate(args) => generate::run(args),
        Command::Check(args) => check::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Node(args) => node::run(args),
        Command::Admin(args) => admin::run(args),
        Command::Models(args) => models::run(args),
        Command::Kernels(args) => kernels::run(args),
    }
}

fn database(db: Option<DbArg>) -> Option<Database> {
    db.map(|d| match d {
        DbArg::Sqlite => Database::Sqlite,
        DbArg::Postgresql => Database::Postgresql,
        DbArg::Mysql => Database::Mysql,
    })
}

fn print_diagnostics(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        eprintln!("{d}");
    }
}

fn gate_config(args: &GateArgs) -> codebegen_gates::GateConfig {
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(crate::paths::default_data_dir);
    let mut config = codebegen_gates::GateConfig::new(&data_dir);
    config.python = args.python.clone();
    config.gate_timeout = std::time::Duration::from_secs(args.gate_timeout);
    config.install_timeout = std::time::Duration::from_secs(args.gate_timeout.saturating_mul(3));
    config
}

/// Runs the gates with progress lines; returns the report.
fn run_gates_with_progress(
    dir: &std::path::Path,
    config: &codebegen_gates::GateConfig,
) -> anyhow::Result<codebegen_gates::GateReport> {
    use codebegen_gates::{GateEvent, GateStatus};
    let mut progress = crate::progress::Progress::new();
    let report = codebegen_gates::run_gates(dir, config, &mut |event| match event {
        GateEvent::Started(gate) => progress.start(gate.as_str()),
        GateEvent::Finished(result) => {
            let ok = matches!(result.status, GateStatus::Passed | GateStatus::Skipped);
            let detail = match (&result.status, &result.reason) {
                (GateStatus::Passed, _) => "passed".to_string(),
                (status, Some(reason)) => format!("{status:?}: {reason}").to_lowercase(),
                (status, None) => format!("{status:?}").to_lowercase(),
            };
            progress.finish(result.gate.as_str(), ok, &detail);
            if !ok && !result.output_tail.is_empty() {
                eprintln!(
                    "--- {} output (tail) ---\n{}",
                    result.gate.as_str(),
                    result.output_tail.trim_end()
                );
            }
        }
    })?;
    Ok(report)
}
