//! CPU kernels.

pub mod qmatmul;
