//! tokenizer (placeholder until written).
