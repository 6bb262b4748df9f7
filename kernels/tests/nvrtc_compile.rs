//! Every kernel compiles to PTX through NVRTC for sm_80 and sm_90, on the same path the runtime
//! uses. Needs libnvrtc only (no GPU). Without it the test says so and skips, unless
//! `CODEBEGEN_REQUIRE_NVRTC=1` (as in CI), where a missing libnvrtc fails it.

use codebegen_kernels::gpu::{compile_kernel, nvrtc_available, Arch, KERNELS};

#[test]
fn every_kernel_compiles_for_ampere_and_hopper() {
    if let Err(error) = nvrtc_available() {
        assert!(
            std::env::var("CODEBEGEN_REQUIRE_NVRTC").as_deref() != Ok("1"),
            "CODEBEGEN_REQUIRE_NVRTC=1 but {error}"
        );
        eprintln!("skipped: {error}");
        return;
    }
    for arch in ["sm_80", "sm_90"] {
        let arch: Arch = arch.parse().expect("a valid arch");
        for kernel in KERNELS {
            let compiled = compile_kernel(kernel, arch).unwrap_or_else(|error| panic!("{error}"));
            assert!(
                compiled.ptx.contains(&format!(".target {}", arch)),
                "{} for {arch}",
                kernel.name
            );
            eprintln!(
                "{} {arch}: {} bytes of PTX in {:?}",
                kernel.name,
                compiled.ptx.len(),
                compiled.elapsed
            );
        }
    }
}
