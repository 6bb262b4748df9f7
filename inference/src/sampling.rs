//! sampling (placeholder until written).
