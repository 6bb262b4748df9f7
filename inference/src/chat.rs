//! chat (placeholder until written).
