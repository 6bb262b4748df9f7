//! Rendering: checked spec → file tree from the embedded templates. (Being written.)

use codebegen_schema::CheckedSpec;

use crate::tree::FileTree;

/// Extra inputs to rendering.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// An overview paragraph for the generated README (written by a model when one is configured).
    pub overview: Option<String>,
}

/// Renders the project.
pub fn render(_spec: &CheckedSpec, _options: &RenderOptions) -> Result<FileTree, RenderError> {
    Ok(FileTree::new())
}

/// A template failed to render: a bug in the templates, never in the user's input.
#[derive(Debug, thiserror::Error)]
#[error("template `{template}` failed to render: {message}")]
pub struct RenderError {
    /// The template name.
    pub template: String,
    /// What went wrong.
    pub message: String,
}
