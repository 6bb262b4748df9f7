//! The benchmark harness. Every benchmark measures a fixed CPU baseline in the same run and
//! reports its results both in absolute time and as a ratio to that baseline, because the
//! machines are shared and noisy.

pub mod cluster;
pub mod extract;
pub mod generate;
pub mod http;
pub mod inference;
pub mod kernels;
pub mod stats;
