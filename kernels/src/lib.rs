//! Compute kernels for the model workers.
//!
//! - [`cpu`]: the CPU kernels the inference engine runs on, starting with the batched quantized
//!   matmul that reads each weight block once per step for every row of the batch.
//! - [`gpu`]: CUDA C kernels (`kernels/cuda/*.cu`) compiled at run time with NVRTC through
//!   cudarc, loaded once per device, with one safe wrapper each over cudarc slices.
//! - [`reference`]: the plain CPU reference of every GPU kernel, the oracle of its tests.
//! - [`step`]: [`step::StepKernels`], the operations of a decoder step over device or host
//!   buffers, implemented by the GPU kernels and by the references.
//!
//! Invariant: this crate knows tensors as slices and shapes only; it never knows models,
//! tokenizers or requests. Invariant: nothing here touches a CUDA library before checking that
//! it is present (cudarc panics otherwise), so every entry point works, or fails with an error,
//! on a machine without CUDA.

pub mod cpu;
pub mod gpu;
pub mod reference;
pub mod step;
