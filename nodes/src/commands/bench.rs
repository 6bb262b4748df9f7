//! `codebegen bench ...`: runs a benchmark from the harness and prints a table (and JSON).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;

use crate::cli::{BenchArgs, BenchCommand, BenchExtractArgs, BenchInferenceArgs};

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
        BenchCommand::Extract(args) => extract(args),
        BenchCommand::Inference(args) => inference(args),
        BenchCommand::Kernels {
            device,
            iterations,
            json,
        } => {
            let report =
                codebegen_benches::kernels::run(device, iterations).map_err(anyhow::Error::msg)?;
            print!("{}", codebegen_benches::kernels::table(&report));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
        BenchCommand::Cluster { calls, json } => {
            let config = codebegen_benches::cluster::ClusterBenchConfig {
                exe: std::env::current_exe().context("locating the codebegen binary")?,
                calls,
            };
            let report = codebegen_benches::cluster::run(&config).map_err(anyhow::Error::msg)?;
            print!("{}", codebegen_benches::cluster::table(&report));
            if let Some(path) = json {
                std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
                    .with_context(|| format!("writing {}", path.display()))?;
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The corpus `bench extract` reads by default: `pipeline/corpus` under the working directory
/// (CI and a checkout), else the one of the source tree this binary was built from.
fn default_corpus_dir() -> PathBuf {
    let here = PathBuf::from("pipeline/corpus");
    if here.is_dir() {
        return here;
    }
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../pipeline/corpus"))
}

fn extract(args: BenchExtractArgs) -> anyhow::Result<ExitCode> {
    use codebegen_benches::extract;
    let files = if args.set.is_empty() {
        extract::default_set(&default_corpus_dir()).map_err(anyhow::Error::msg)?
    } else {
        args.set
    };
    let data_dir = args.data_dir.unwrap_or_else(crate::paths::default_data_dir);
    let model =
        super::local_model::resolve(&args.model, &data_dir)?.map(|path| extract::ModelSetup {
            name: args.model.model.clone().unwrap_or_default(),
            path,
            timeout: std::time::Duration::from_secs(args.model.model_timeout),
        });
    let config = extract::ExtractBenchConfig {
        files,
        split: args.split.map(|s| s.as_str().to_string()),
        runs: args.runs.max(1),
        model,
    };
    let report = extract::run(&config).map_err(anyhow::Error::msg)?;
    if args.show_misses {
        print!("{}", extract::misses(&report));
    }
    print!("{}", extract::table(&report));
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}

fn inference(args: BenchInferenceArgs) -> anyhow::Result<ExitCode> {
    use codebegen_benches::inference;
    if args.rss_probe {
        let json = inference::rss_probe_json(
            std::path::Path::new(&args.model),
            args.rss_requests,
            args.rss_tokens,
        )
        .map_err(anyhow::Error::msg)?;
        println!("{json}");
        return Ok(ExitCode::SUCCESS);
    }
    if args.concurrency.contains(&0) || args.tokens == 0 {
        anyhow::bail!("--concurrency values and --tokens must be at least 1");
    }
    let cuda_device = match codebegen_actors::llm_engine::Device::parse(&args.device)
        .map_err(anyhow::Error::msg)?
    {
        codebegen_actors::llm_engine::Device::Cpu => None,
        codebegen_actors::llm_engine::Device::Cuda(n) => Some(n),
    };
    let config = inference::InferenceBenchConfig {
        cuda_device,
        exe: std::env::current_exe().context("locating the codebegen binary")?,
        model: args.model,
        data_dir: args.data_dir.unwrap_or_else(crate::paths::default_data_dir),
        decode_tokens: args.tokens,
        concurrency: args.concurrency,
        skip_reference: args.skip_reference,
        skip_llamacpp: args.skip_llamacpp,
        skip_rss: args.skip_rss,
        python: args.python,
        llamacpp_threads: 2,
        rss_requests: args.rss_requests.max(1),
        rss_tokens: args.rss_tokens.max(2),
    };
    let report = inference::run(&config).map_err(anyhow::Error::msg)?;
    print!("{}", inference::table(&report));
    if let Some(path) = args.json {
        std::fs::write(&path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(ExitCode::SUCCESS)
}
