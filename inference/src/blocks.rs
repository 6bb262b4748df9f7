//! blocks (placeholder until written).
