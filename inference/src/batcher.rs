//! batcher (placeholder until written).
