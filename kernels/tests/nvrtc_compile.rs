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

static BROKEN: codebegen_kernels::gpu::KernelSource = codebegen_kernels::gpu::KernelSource {
    name: "broken",
    file: "broken.cu",
    code: "extern \"C\" __global__ void broken_f32(float* x) {\n    x[0] = undefined_name;\n}\n",
    ops: &["broken"],
};

#[test]
fn a_broken_kernel_is_an_error_naming_its_file_and_line() {
    if nvrtc_available().is_err() {
        eprintln!("skipped: no libnvrtc");
        return;
    }
    let arch: Arch = "sm_80".parse().expect("a valid arch");
    let error = compile_kernel(&BROKEN, arch).expect_err("undefined_name does not compile");
    let text = error.to_string();
    assert!(text.contains("broken.cu(2)"), "{text}");
    assert!(text.contains("undefined_name"), "{text}");
}
