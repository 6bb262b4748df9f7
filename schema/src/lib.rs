//! The vocabulary of codebegen: the versioned app spec, its validation with diagnostics, naming
//! rules, the names derived from a spec, and generation records, stages and events, and the versioned messages that cross nodes. No IO.

pub mod cluster;
pub mod derived;
pub mod diagnostics;
pub mod generation;
pub mod names;
pub mod spec;
pub mod validate;

pub use diagnostics::{has_errors, Diagnostic, Severity};
pub use spec::{
    AppSpec, Auth, CheckedSpec, Database, Entity, Field, FieldType, OnDelete, Options, Relation,
    RelationKind, SPEC_VERSION,
};
pub use validate::{check, check_str, check_value, Validation};

/// The JSON Schema (draft 2020-12) that documents the spec format.
pub const SPEC_JSON_SCHEMA: &str = include_str!("../spec.schema.json");
