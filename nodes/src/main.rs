//! The `codebegen` binary.

fn main() {}
