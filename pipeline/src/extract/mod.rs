//! Rule-based extraction: prompt → spec plus diagnostics. (Being written.)

use codebegen_schema::{AppSpec, Diagnostic};

/// The result of reading a prompt: a best-effort spec and what was guessed or ignored.
#[derive(Debug, Clone)]
pub struct Extraction {
    /// The spec read from the prompt; run `codebegen_schema::check` on it before use.
    pub spec: AppSpec,
    /// Notes about guesses and things not understood.
    pub diagnostics: Vec<Diagnostic>,
}

/// Reads a prompt into a spec. Deterministic.
pub fn extract(_prompt: &str) -> Extraction {
    Extraction {
        spec: AppSpec {
            version: codebegen_schema::SPEC_VERSION,
            name: "app".into(),
            description: String::new(),
            entities: Vec::new(),
            relations: Vec::new(),
            auth: Default::default(),
            options: Default::default(),
        },
        diagnostics: Vec::new(),
    }
}
