//! weights (placeholder until written).
