//! The argument checks of every step operation: buffer lengths against the shape, and the
//! dimensions the kernels take. The GPU wrappers ([`super::GpuKernels`]) and the host
//! implementation ([`crate::step::HostKernels`]) both call these, so they refuse exactly the same
//! calls; each returns the kernel's integer arguments.

use super::ops::{KvWriteShape, PagedAttentionShape, QuantFormat, RotaryShape, MAX_GRID};
use super::GpuError;

/// Shared memory a block may use without opting in.
const SHARED_LIMIT_BYTES: usize = 48 * 1024 - 32 * 4;

/// `have >= want`, or an error naming the buffer.
pub(crate) fn need(op: &'static str, what: &str, have: usize, want: usize) -> Result<(), GpuError> {
    check(op, have >= want, || {
        format!("{what} holds {have} elements, {want} needed")
    })
}

/// `value` as a kernel `int`.
pub(crate) fn int(op: &'static str, what: &str, value: usize) -> Result<i32, GpuError> {
    i32::try_from(value).map_err(|_| GpuError::Shape {
        op,
        reason: format!("{what} = {value} does not fit an int"),
    })
}

/// `ok`, or a shape error with `reason`.
pub(crate) fn check(
    op: &'static str,
    ok: bool,
    reason: impl FnOnce() -> String,
) -> Result<(), GpuError> {
    if ok {
        Ok(())
    } else {
        Err(GpuError::Shape {
            op,
            reason: reason(),
        })
    }
}

/// `x`, `residual`, `out`: `rows * dim`; `weight`: `dim`. Returns `[rows, dim]`.
pub(crate) fn rmsnorm_residual(
    lens: [usize; 4],
    rows: usize,
    dim: usize,
) -> Result<[i32; 2], GpuError> {
    const OP: &str = "rmsnorm_residual";
    let [x, residual, weight, out] = lens;
    let elems = rows.saturating_mul(dim);
    need(OP, "x", x, elems)?;
    need(OP, "residual", residual, elems)?;
    need(OP, "out", out, elems)?;
    need(OP, "weight", weight, dim)?;
    Ok([int(OP, "rows", rows)?, int(OP, "dim", dim)?])
}

/// Lengths of q, k, positions, cos and sin. Returns `[tokens, n_heads, n_kv_heads, head_dim,
/// interleaved, max_positions]`.
pub(crate) fn rotary(lens: [usize; 5], shape: &RotaryShape) -> Result<[i32; 6], GpuError> {
    const OP: &str = "rotary";
    let [q, k, positions, cos, sin] = lens;
    check(OP, shape.head_dim.is_multiple_of(2), || {
        format!("head_dim {} is odd", shape.head_dim)
    })?;
    let table = shape.max_positions.saturating_mul(shape.head_dim / 2);
    need(OP, "q", q, shape.tokens * shape.n_heads * shape.head_dim)?;
    need(OP, "k", k, shape.tokens * shape.n_kv_heads * shape.head_dim)?;
    need(OP, "positions", positions, shape.tokens)?;
    need(OP, "cos", cos, table)?;
    need(OP, "sin", sin, table)?;
    Ok([
        int(OP, "tokens", shape.tokens)?,
        int(OP, "n_heads", shape.n_heads)?,
        int(OP, "n_kv_heads", shape.n_kv_heads)?,
        int(OP, "head_dim", shape.head_dim)?,
        i32::from(shape.interleaved),
        int(OP, "max_positions", shape.max_positions)?,
    ])
}

/// Lengths of gate, up and out, each `n`. Returns `n`.
pub(crate) fn silu_gate(lens: [usize; 3], n: usize) -> Result<i64, GpuError> {
    const OP: &str = "silu_gate";
    let [gate, up, out] = lens;
    need(OP, "gate", gate, n)?;
    need(OP, "up", up, n)?;
    need(OP, "out", out, n)?;
    i64::try_from(n).map_err(|_| GpuError::Shape {
        op: OP,
        reason: format!("n = {n} is too large"),
    })
}

/// Lengths of q, k_cache, v_cache, block_tables, context_lens and out. Returns `[n_heads,
/// n_kv_heads, head_dim, block_size, max_blocks_per_seq, num_blocks, max_context]` and the
/// dynamic shared memory in bytes.
pub(crate) fn paged_attention(
    lens: [usize; 6],
    shape: &PagedAttentionShape,
) -> Result<([i32; 7], u32), GpuError> {
    const OP: &str = "paged_attention_decode";
    let [q, k_cache, v_cache, block_tables, context_lens, out] = lens;
    check(
        OP,
        shape.n_kv_heads > 0 && shape.n_heads.is_multiple_of(shape.n_kv_heads),
        || {
            format!(
                "{} heads do not share {} KV heads evenly",
                shape.n_heads, shape.n_kv_heads
            )
        },
    )?;
    check(OP, shape.block_size > 0, || "block_size is 0".to_string())?;
    let shared_bytes = (shape.head_dim + shape.max_context) * 4;
    check(OP, shared_bytes <= SHARED_LIMIT_BYTES, || {
        format!(
            "head_dim + max_context = {} floats exceed shared memory",
            shape.head_dim + shape.max_context
        )
    })?;
    let per_token = shape.batch * shape.n_heads * shape.head_dim;
    let cache = shape.num_blocks * shape.n_kv_heads * shape.block_size * shape.head_dim;
    need(OP, "q", q, per_token)?;
    need(OP, "out", out, per_token)?;
    need(OP, "k_cache", k_cache, cache)?;
    need(OP, "v_cache", v_cache, cache)?;
    need(
        OP,
        "block_tables",
        block_tables,
        shape.batch * shape.max_blocks_per_seq,
    )?;
    need(OP, "context_lens", context_lens, shape.batch)?;
    // One block per (head, sequence): the grid's y dimension holds the batch.
    check(OP, shape.batch <= MAX_GRID, || {
        format!("batch {} exceeds {MAX_GRID}", shape.batch)
    })?;
    let args = [
        int(OP, "n_heads", shape.n_heads)?,
        int(OP, "n_kv_heads", shape.n_kv_heads)?,
        int(OP, "head_dim", shape.head_dim)?,
        int(OP, "block_size", shape.block_size)?,
        int(OP, "max_blocks_per_seq", shape.max_blocks_per_seq)?,
        int(OP, "num_blocks", shape.num_blocks)?,
        int(OP, "max_context", shape.max_context)?,
    ];
    Ok((args, u32::try_from(shared_bytes).unwrap_or(u32::MAX)))
}

/// Lengths of w (bytes), x and y. Returns `[n, k]`.
pub(crate) fn qmatmul(
    lens: [usize; 3],
    format: QuantFormat,
    rows: usize,
    n: usize,
    k: usize,
) -> Result<[i32; 2], GpuError> {
    const OP: &str = "qmatmul";
    let [w, x, y] = lens;
    check(OP, k.is_multiple_of(32), || {
        format!("k = {k} is not a multiple of 32")
    })?;
    need(OP, "w (bytes)", w, n * (k / 32) * format.block_bytes())?;
    need(OP, "x", x, rows.saturating_mul(k))?;
    need(OP, "y", y, rows.saturating_mul(n))?;
    int(OP, "rows * n", rows.saturating_mul(n))?;
    Ok([int(OP, "n", n)?, int(OP, "k", k)?])
}

/// Lengths of k, v, k_cache, v_cache and slots. Returns `[tokens, n_kv_heads, head_dim,
/// block_size, num_blocks]`.
pub(crate) fn kv_write(lens: [usize; 5], shape: &KvWriteShape) -> Result<[i32; 5], GpuError> {
    const OP: &str = "kv_write";
    let [k, v, k_cache, v_cache, slots] = lens;
    check(OP, shape.block_size > 0, || "block_size is 0".to_string())?;
    let width = shape.n_kv_heads * shape.head_dim;
    let elems = shape.tokens.saturating_mul(width);
    let cache = shape.num_blocks * shape.block_size * width;
    need(OP, "k", k, elems)?;
    need(OP, "v", v, elems)?;
    need(OP, "k_cache", k_cache, cache)?;
    need(OP, "v_cache", v_cache, cache)?;
    need(OP, "slots", slots, shape.tokens)?;
    int(
        OP,
        "num_blocks * block_size",
        shape.num_blocks * shape.block_size,
    )?;
    Ok([
        int(OP, "tokens", shape.tokens)?,
        int(OP, "n_kv_heads", shape.n_kv_heads)?,
        int(OP, "head_dim", shape.head_dim)?,
        int(OP, "block_size", shape.block_size)?,
        int(OP, "num_blocks", shape.num_blocks)?,
    ])
}

/// Lengths of x (`rows * cols`) and bias (`cols`). Returns `[rows, cols]`.
pub(crate) fn add_bias(lens: [usize; 2], rows: usize, cols: usize) -> Result<[i32; 2], GpuError> {
    const OP: &str = "add_bias";
    let [x, bias] = lens;
    need(OP, "x", x, rows.saturating_mul(cols))?;
    need(OP, "bias", bias, cols)?;
    Ok([int(OP, "rows", rows)?, int(OP, "cols", cols)?])
}
