//! Batched quantized matmul (placeholder until written).
