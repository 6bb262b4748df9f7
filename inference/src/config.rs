//! config (placeholder until written).
