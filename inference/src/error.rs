//! The engine's error type, named by cause.

use std::path::PathBuf;

/// What can go wrong in the engine.
#[derive(Debug, thiserror::Error)]
pub enum InferenceError {
    /// A weights or tokenizer file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is readable but not a model we can run (unknown architecture, missing tensor,
    /// unsupported quantization, inconsistent shapes).
    #[error("unsupported or malformed model: {0}")]
    Model(String),
    /// The tokenizer could not be built or failed on input.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A request cannot be served (prompt longer than the cache, bad sampling parameters, a
    /// schema the constraint does not support).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// A device kernel could not be loaded or launched (missing CUDA libraries, a driver
    /// error, a shape the kernels do not take).
    #[error("device: {0}")]
    Device(#[from] codebegen_kernels::gpu::GpuError),
    /// A tensor operation failed in candle.
    #[error("candle: {0}")]
    Candle(#[from] candle_core::Error),
}
