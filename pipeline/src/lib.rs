//! Prompt → spec → files: rule-based extraction, template rendering, review, fixes and diff.
//! Everything here is a pure function over values: no IO, no clock, no randomness.

pub mod assist;
pub mod extract;
pub mod generate;
pub mod refine;
pub mod render;
pub mod review;
pub mod tree;

pub use generate::{generate, GenerateError, GenerateOptions, Generated, Input};
pub use tree::{FileEntry, FileTree};
