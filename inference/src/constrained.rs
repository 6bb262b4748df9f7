//! constrained (placeholder until written).
