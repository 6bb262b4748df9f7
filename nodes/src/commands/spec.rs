//! `codebegen spec "PROMPT" [--model NAME|PATH]`: the checked spec as JSON on stdout,
//! diagnostics on stderr. With a model, its proposal is merged into the rule-based spec first.

use std::process::ExitCode;

use codebegen_pipeline::generate::{spec_stage, GenerateOptions};
use codebegen_pipeline::{GenerateError, Input};

use crate::cli::SpecArgs;

use super::local_model;

/// Runs the command.
pub fn run(args: SpecArgs) -> anyhow::Result<ExitCode> {
    let options = GenerateOptions {
        db: super::database(args.db),
        overview: None,
    };
    let data_dir = args
        .data_dir
        .clone()
        .unwrap_or_else(crate::paths::default_data_dir);
    let stage = match local_model::load(&args.model, &data_dir)? {
        Some(mut model) => {
            let (stage, proposal) =
                local_model::spec_stage_with_model(&mut model, &args.prompt, &options)?;
            eprintln!("{}", local_model::describe(&proposal));
            stage
        }
        None => spec_stage(&Input::Prompt(args.prompt), &options),
    };
    match stage {
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
