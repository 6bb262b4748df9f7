//! model (placeholder until written).
