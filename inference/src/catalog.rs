//! catalog (placeholder until written).
