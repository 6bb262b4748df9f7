//! CPU references of the GPU kernels: plain loops with the kernels' exact semantics (each
//! computes in f32 and rounds stored values to the dtype as the kernel does). They are the
//! oracle of the GPU tests, and each is unit-tested here against straightforward math.

mod attention;
mod cache;
mod elementwise;
mod qmatmul;
mod sampling;

pub use attention::{paged_attention_decode, PagedCache};
pub use cache::{add_bias, kv_write};
pub use elementwise::{rmsnorm_residual, rotary, silu_gate};
pub use qmatmul::{dequantize_q4_1, dequantize_q8_0, qmatmul};
pub use sampling::{kept_tokens, sample_row, SamplingRow};
