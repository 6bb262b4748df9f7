//! CPU kernels.
//!
//! - [`qmatmul`]: the public batched quantized matmul over GGUF block layouts.
//! - `quant`: the per-format pieces behind it (block parsing, activation quantization, row loops).

pub mod qmatmul;
mod quant;
