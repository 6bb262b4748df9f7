//! `codebegen kernels compile`: every CUDA kernel through NVRTC for each architecture asked,
//! on the same path the runtime uses, one line per kernel and architecture.

use std::process::ExitCode;

use anyhow::Context;
use codebegen_kernels::gpu::{compile_kernel, nvrtc_available, Arch, KERNELS};

use crate::cli::{KernelsArgs, KernelsCommand};

/// Runs the command.
pub fn run(args: KernelsArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        KernelsCommand::Compile { arch, out } => compile(&arch, out.as_deref()),
    }
}

fn compile(arch: &[String], out: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    let archs = arch
        .iter()
        .map(|text| text.parse::<Arch>())
        .collect::<Result<Vec<_>, _>>()
        .context("--arch")?;
    anyhow::ensure!(!archs.is_empty(), "--arch: name at least one architecture");
    nvrtc_available()?;
    if let Some(dir) = out {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut failures = 0;
    for arch in &archs {
        for kernel in KERNELS {
            match compile_kernel(kernel, *arch) {
                Ok(compiled) => {
                    println!(
                        "ok    {:<18} {:<7} {:>7.1} KiB PTX  {:>2} entry points  {:>5} ms",
                        kernel.name,
                        arch.to_string(),
                        compiled.ptx.len() as f64 / 1024.0,
                        kernel.entry_points().len(),
                        compiled.elapsed.as_millis()
                    );
                    if let Some(dir) = out {
                        let path = dir.join(format!("{}.{arch}.ptx", kernel.name));
                        std::fs::write(&path, &compiled.ptx)
                            .with_context(|| format!("writing {}", path.display()))?;
                    }
                }
                Err(error) => {
                    failures += 1;
                    println!("FAIL  {:<18} {:<7}", kernel.name, arch.to_string());
                    eprintln!("{error}");
                }
            }
        }
    }
    if failures > 0 {
        eprintln!("{failures} kernel compilation(s) failed");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
