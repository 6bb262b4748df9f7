//! Compute kernels for the model workers.
//!
//! - [`cpu`]: the CPU kernels the inference engine runs on, starting with the batched quantized
//!   matmul that reads each weight block once per step for every row of the batch.
//!
//! Invariant: this crate knows tensors as slices and shapes only; it never knows models,
//! tokenizers or requests.

pub mod cpu;
