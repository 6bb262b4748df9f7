//! Gates: run a generated project in a sandboxed temporary copy and record the results.
