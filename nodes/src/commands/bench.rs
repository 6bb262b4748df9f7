//! `codebegen bench ...`: runs a benchmark from the harness and prints a table (and JSON).

use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{BenchArgs, BenchCommand};

/// Runs the command.
pub fn run(args: BenchArgs) -> anyhow::Result<ExitCode> {
    match args.which {
        BenchCommand::Generate { iterations, json } => {
            let report =
                codebegen_benches::generate::run(iterations).map_err(anyhow::Error::msg)?;
            print!("{}", codebegen_benches::generate::table(&report));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        BenchCommand::Http {
            rate,
            seconds,
            users,
            create_rate,
            json,
        } => {
            let config = codebegen_benches::http::HttpBenchConfig {
                exe: std::env::current_exe().context("locating the codebegen binary")?,
                rate,
                duration: std::time::Duration::from_secs(seconds),
                users: users.max(1),
                create_rate,
            };
            let report = codebegen_benches::http::run(&config).map_err(anyhow::Error::msg)?;
            print!("{}", codebegen_benches::http::table(&report));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
