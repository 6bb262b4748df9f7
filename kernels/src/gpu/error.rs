//! The errors of the GPU kernels: missing libraries or devices, compile errors, driver errors
//! and shape mismatches, each saying what to do about it.

use thiserror::Error;

/// Why a kernel could not be compiled, loaded or launched.
#[derive(Debug, Error)]
pub enum GpuError {
    /// libnvrtc could not be loaded.
    #[error(
        "libnvrtc.so.12 was not found: install it (`pip install nvidia-cuda-nvrtc-cu12`) and put its \
         `nvidia/cuda_nvrtc/lib` folder on LD_LIBRARY_PATH"
    )]
    NvrtcMissing,
    /// libcuda (the driver) could not be loaded.
    #[error("the CUDA driver (libcuda.so) was not found: this machine has no NVIDIA driver")]
    DriverMissing,
    /// The driver is present but there is no usable device with this ordinal.
    #[error("no CUDA device {ordinal}: {reason}")]
    NoDevice { ordinal: usize, reason: String },
    /// An architecture name that is not `sm_XY` or `compute_XY`.
    #[error("`{0}` is not a CUDA architecture: write it as sm_80, sm_90, …")]
    BadArch(String),
    /// NVRTC rejected a kernel source.
    #[error("kernel `{kernel}` does not compile for {arch}:\n{log}")]
    Compile {
        kernel: &'static str,
        arch: String,
        log: String,
    },
    /// The PTX lacks an entry point the wrappers launch.
    #[error("kernel `{kernel}` compiled for {arch} but has no entry point `{entry}`")]
    MissingEntry {
        kernel: &'static str,
        arch: String,
        entry: String,
    },
    /// A CUDA driver call failed.
    #[error("CUDA driver error: {0}")]
    Driver(String),
    /// Buffers too small or dimensions the kernel does not support.
    #[error("bad shape for `{op}`: {reason}")]
    Shape { op: &'static str, reason: String },
}

impl From<cudarc::driver::DriverError> for GpuError {
    fn from(error: cudarc::driver::DriverError) -> Self {
        Self::Driver(error.to_string())
    }
}
