//! Diagnostics: what validation and extraction say about their input instead of failing.

use serde::{Deserialize, Serialize};
use std::fmt;

/// How serious a diagnostic is. Only `Error` stops a spec from being used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// A note about a choice made (a guessed type, a renamed table).
    Info,
    /// Something was changed or dropped to make the spec usable.
    Warning,
    /// The spec cannot be used until this is fixed.
    Error,
}

/// One finding about a spec or a prompt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// Severity.
    pub severity: Severity,
    /// A stable machine-readable code (`unknown_type`, `renamed_reserved`, ...).
    pub code: String,
    /// Where in the spec, as a JSON-path-like string (`entities[1].fields[0].type`); empty for the whole.
    pub path: String,
    /// A sentence for a person.
    pub message: String,
}

impl Diagnostic {
    /// A new diagnostic.
    pub fn new(
        severity: Severity,
        code: &str,
        path: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Diagnostic {
            severity,
            code: code.to_string(),
            path: path.into(),
            message: message.into(),
        }
    }

    /// An error.
    pub fn error(code: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Error, code, path, message)
    }

    /// A warning.
    pub fn warning(code: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Warning, code, path, message)
    }

    /// An info note.
    pub fn info(code: &str, path: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Info, code, path, message)
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        if self.path.is_empty() {
            write!(f, "{level}[{}]: {}", self.code, self.message)
        } else {
            write!(
                f,
                "{level}[{}] at {}: {}",
                self.code, self.path, self.message
            )
        }
    }
}

/// Whether any diagnostic is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(|d| d.severity == Severity::Error)
}
