//! `codebegen spec "PROMPT"`: the checked spec as JSON on stdout, diagnostics on stderr.

use std::process::ExitCode;

use codebegen_pipeline::generate::{spec_stage, GenerateOptions};
use codebegen_pipeline::{GenerateError, Input};

use crate::cli::SpecArgs;

/// Runs the command.
pub fn run(args: SpecArgs) -> anyhow::Result<ExitCode> {
    let options = GenerateOptions {
        db: super::database(args.db),
        overview: None,
    };
    match spec_stage(&Input::Prompt(args.prompt), &options) {
        Ok((spec, diagnostics)) => {
            super::print_diagnostics(&diagnostics);
            println!("{}", spec.spec().to_json_pretty());
            Ok(ExitCode::SUCCESS)
        }
        Err(GenerateError::InvalidSpec(diagnostics)) => {
            super::print_diagnostics(&diagnostics);
            Ok(ExitCode::from(2))
        }
        Err(other) => Err(other.into()),
    }
}
