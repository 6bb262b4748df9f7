//! NVRTC compilation of the kernel sources to PTX.
//!
//! This is the one compile path: `codebegen kernels compile --arch …` calls it for each kernel
//! and architecture, and [`crate::gpu::GpuKernels`] calls it for the device's own architecture.
//! libnvrtc is loaded at run time; [`nvrtc_available`] checks for it first, because cudarc
//! panics when it touches a missing library.

#![allow(unsafe_code)]

use super::{GpuError, KernelSource};
use cudarc::nvrtc::{CompileError, CompileOptions};
use std::fmt;
use std::str::FromStr;
use std::time::{Duration, Instant};

/// A CUDA compute capability, such as 8.0 (`sm_80`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Arch {
    pub major: u32,
    pub minor: u32,
}

impl Arch {
    /// The virtual architecture NVRTC compiles PTX for, `compute_XY`.
    pub fn virtual_name(self) -> String {
        format!("compute_{}{}", self.major, self.minor)
    }
}

impl fmt::Display for Arch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sm_{}{}", self.major, self.minor)
    }
}

impl FromStr for Arch {
    type Err = GpuError;

    /// Accepts `sm_80`, `compute_80` or `80`; the last digit is the minor version.
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let digits = trimmed
            .strip_prefix("sm_")
            .or_else(|| trimmed.strip_prefix("compute_"))
            .unwrap_or(trimmed);
        let bad = || GpuError::BadArch(text.to_string());
        if digits.len() < 2 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let (major, minor) = digits.split_at(digits.len() - 1);
        let major: u32 = major.parse().map_err(|_| bad())?;
        let minor: u32 = minor.parse().map_err(|_| bad())?;
        if major < 5 {
            return Err(bad());
        }
        Ok(Self { major, minor })
    }
}

/// One kernel source compiled for one architecture.
#[derive(Debug, Clone)]
pub struct CompiledKernel {
    pub kernel: &'static str,
    pub arch: Arch,
    pub ptx: String,
    pub elapsed: Duration,
}

/// Whether libnvrtc can be loaded; an error that says how to install it otherwise.
pub fn nvrtc_available() -> Result<(), GpuError> {
    if nvrtc_library_present() {
        Ok(())
    } else {
        Err(GpuError::NvrtcMissing)
    }
}

fn nvrtc_library_present() -> bool {
    // SAFETY: only tries to dlopen libnvrtc under its usual names; nothing is called from it.
    unsafe { cudarc::nvrtc::sys::is_culib_present() }
}

/// Compiles `kernel` to PTX for `arch` and checks that every entry point is in it.
pub fn compile_kernel(
    kernel: &'static KernelSource,
    arch: Arch,
) -> Result<CompiledKernel, GpuError> {
    nvrtc_available()?;
    let started = Instant::now();
    let options = CompileOptions {
        options: vec![format!("--gpu-architecture={}", arch.virtual_name())],
        name: Some(kernel.file.to_string()),
        ..Default::default()
    };
    let ptx = cudarc::nvrtc::compile_ptx_with_opts(kernel.full_source(), options)
        .map_err(|error| compile_error(kernel, arch, error))?
        .to_src();
    for entry in kernel.entry_points() {
        if !ptx.contains(&format!(".entry {entry}(")) {
            return Err(GpuError::MissingEntry {
                kernel: kernel.name,
                arch: arch.to_string(),
                entry,
            });
        }
    }
    Ok(CompiledKernel {
        kernel: kernel.name,
        arch,
        ptx,
        elapsed: started.elapsed(),
    })
}

fn compile_error(kernel: &'static KernelSource, arch: Arch, error: CompileError) -> GpuError {
    let log = match error {
        CompileError::CompileError { log, .. } => log.to_string_lossy().into_owned(),
        other => format!("{other:?}"),
    };
    GpuError::Compile {
        kernel: kernel.name,
        arch: arch.to_string(),
        log,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn architectures_parse_in_every_spelling() {
        for text in ["sm_80", "compute_80", "80", " sm_80 "] {
            assert_eq!(
                text.parse::<Arch>().ok(),
                Some(Arch { major: 8, minor: 0 }),
                "{text}"
            );
        }
        let hopper: Arch = "sm_90".parse().expect("sm_90");
        assert_eq!(hopper.to_string(), "sm_90");
        assert_eq!(hopper.virtual_name(), "compute_90");
        assert_eq!(
            "sm_100".parse::<Arch>().ok(),
            Some(Arch {
                major: 10,
                minor: 0
            })
        );
    }

    #[test]
    fn nonsense_architectures_are_refused_by_name() {
        for text in ["", "sm_", "sm_8", "gfx90a", "sm_8x", "sm_30"] {
            let error = text.parse::<Arch>().expect_err(text);
            assert!(error.to_string().contains("sm_80"), "{error}");
        }
    }
}
