//! The CUDA C sources of the kernels, embedded at build time, and their entry points.
//!
//! Every source is compiled behind the shared prelude (`cuda/prelude.cuh`: f16/bf16 storage
//! types, conversions and block reductions), with a `#line` directive so compile errors name the
//! kernel's own file and line. Entry points are `extern "C"` and named `<op>_<dtype>`.

/// The storage dtypes of the kernels' tensors; they all compute in f32.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F16,
    BF16,
}

impl DType {
    /// Every dtype, in the order kernels declare them.
    pub const ALL: [DType; 3] = [DType::F32, DType::F16, DType::BF16];

    /// The suffix of entry points in this dtype.
    pub fn suffix(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::F16 => "f16",
            DType::BF16 => "bf16",
        }
    }
}

/// One CUDA C source file and the operations it defines.
#[derive(Debug)]
pub struct KernelSource {
    /// Short name, as printed by `codebegen kernels compile`.
    pub name: &'static str,
    /// The file under `kernels/cuda/`.
    pub file: &'static str,
    /// The file's text.
    pub code: &'static str,
    /// The operations; each has one entry point per dtype, `<op>_<dtype>`.
    pub ops: &'static [&'static str],
}

/// The prelude every kernel is compiled behind.
pub const PRELUDE: &str = include_str!("../../cuda/prelude.cuh");

/// Every kernel source.
pub const KERNELS: &[KernelSource] = &[
    KernelSource {
        name: "rmsnorm_residual",
        file: "rmsnorm_residual.cu",
        code: include_str!("../../cuda/rmsnorm_residual.cu"),
        ops: &["rmsnorm_residual"],
    },
    KernelSource {
        name: "rotary",
        file: "rotary.cu",
        code: include_str!("../../cuda/rotary.cu"),
        ops: &["rotary"],
    },
    KernelSource {
        name: "silu_gate",
        file: "silu_gate.cu",
        code: include_str!("../../cuda/silu_gate.cu"),
        ops: &["silu_gate"],
    },
    KernelSource {
        name: "sampling",
        file: "sampling.cu",
        code: include_str!("../../cuda/sampling.cu"),
        ops: &["sample"],
    },
    KernelSource {
        name: "paged_attention",
        file: "paged_attention.cu",
        code: include_str!("../../cuda/paged_attention.cu"),
        ops: &["paged_attention_decode"],
    },
    KernelSource {
        name: "qmatmul",
        file: "qmatmul.cu",
        code: include_str!("../../cuda/qmatmul.cu"),
        ops: &["qmatmul_q8_0", "qmatmul_q4_1"],
    },
    KernelSource {
        name: "kv_write",
        file: "kv_write.cu",
        code: include_str!("../../cuda/kv_write.cu"),
        ops: &["kv_write", "add_bias"],
    },
];

impl KernelSource {
    /// The text NVRTC compiles: the prelude, then this file from its line 1.
    pub fn full_source(&self) -> String {
        format!(
            "#line 1 \"prelude.cuh\"\n{PRELUDE}\n#line 1 \"{}\"\n{}",
            self.file, self.code
        )
    }

    /// Every entry point of this source, `<op>_<dtype>` for each op and dtype.
    pub fn entry_points(&self) -> Vec<String> {
        self.ops
            .iter()
            .flat_map(|op| DType::ALL.iter().map(move |dtype| entry_point(op, *dtype)))
            .collect()
    }
}

/// The entry point of `op` in `dtype`.
pub fn entry_point(op: &str, dtype: DType) -> String {
    format!("{op}_{}", dtype.suffix())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_declared_entry_point_is_defined_extern_c_in_its_source() {
        for kernel in KERNELS {
            for entry in kernel.entry_points() {
                let definition = format!("extern \"C\" __global__ void {entry}(");
                assert!(
                    kernel.code.contains(&definition),
                    "{} lacks `{definition}`",
                    kernel.file
                );
            }
        }
    }

    #[test]
    fn names_are_unique() {
        let mut names: Vec<_> = KERNELS.iter().map(|k| k.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KERNELS.len());
    }
}
