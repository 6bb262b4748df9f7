//! kv_cache (placeholder until written).
