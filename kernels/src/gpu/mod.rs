//! CUDA kernels compiled at run time through NVRTC.
//!
//! - [`sources`]: the embedded CUDA C sources and their entry points (`<op>_<dtype>`).
//! - [`compile`]: NVRTC compilation to PTX for an architecture, the single path used both by
//!   `codebegen kernels compile` and by the runtime.
//! - [`device`]: [`GpuKernels`], the kernels compiled and loaded for one device, cached per
//!   device for the life of the process.
//! - [`ops`]: the safe launch wrappers, with their shapes and dtypes.

pub(crate) mod checks;
pub mod compile;
pub mod device;
mod error;
pub mod ops;
pub mod sources;

pub use compile::{compile_kernel, nvrtc_available, Arch, CompiledKernel};
pub use device::{cuda_device_count, GpuKernels};
pub use error::GpuError;
pub use ops::GpuFloat;
pub use sources::{DType, KernelSource, KERNELS};
