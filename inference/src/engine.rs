//! engine (placeholder until written).
