//! Rendering: checked spec → file tree of a FastAPI + SQLAlchemy project, from templates embedded
//! at build time. Pure: no IO, no clock, no randomness; the same spec always gives the same tree.
//!
//! [`context`] turns the spec into a view model (names, types, layouts, test data); the templates
//! in `pipeline/templates/fastapi-sqlalchemy/` only loop and substitute; [`imports`] then writes
//! each Python module's import block from the names it uses.

mod api;
mod context;
mod fields;
mod imports;
mod migration;
mod model;
mod pyfmt;
mod pylit;
mod readme;
mod samples;
mod schema;
mod templates;
mod tests_view;

use codebegen_schema::CheckedSpec;
use minijinja::{context, Environment, Value};

use crate::tree::FileTree;
use context::{EntityView, ProjectView};
use imports::Candidate;
use pyfmt::Section;

/// Extra inputs to rendering.
#[derive(Debug, Clone, Default)]
pub struct RenderOptions {
    /// An overview paragraph for the generated README (written by a model when one is configured).
    pub overview: Option<String>,
}

/// Renders the project.
pub fn render(spec: &CheckedSpec, options: &RenderOptions) -> Result<FileTree, RenderError> {
    let project = context::project_view(spec.spec(), options);
    let env = templates::environment()
        .map_err(|err| RenderError::from_minijinja("(environment)", &err))?;
    let p = Value::from_serialize(&project);
    let mut tree = FileTree::new();
    for (template, source) in templates::TEMPLATES {
        if !wanted(template, &project) {
            continue;
        }
        if template.contains(templates::ENTITY) {
            for entity in &project.entities {
                let e = Value::from_serialize(entity);
                let text = render_one(&env, template, source, context! { p => p.clone(), e => e })?;
                let text = finish(
                    template,
                    &text,
                    &candidates(template, &project, Some(entity)),
                );
                tree.insert(templates::output_path(template, Some(&entity.module)), text);
            }
        } else {
            let text = render_one(&env, template, source, context! { p => p.clone() })?;
            let text = finish(template, &text, &candidates(template, &project, None));
            tree.insert(templates::output_path(template, None), text);
        }
    }
    Ok(tree)
}

fn wanted(template: &str, project: &ProjectView) -> bool {
    if templates::AUTH_ONLY.contains(&template) {
        return project.auth.is_some();
    }
    if templates::MANY_TO_MANY_ONLY.contains(&template) {
        return !project.associations.is_empty();
    }
    true
}

fn render_one(
    env: &Environment<'_>,
    template: &str,
    source: &str,
    ctx: Value,
) -> Result<String, RenderError> {
    if !template.ends_with(".j2") {
        return Ok(source.to_string());
    }
    env.get_template(template)
        .and_then(|t| t.render(ctx))
        .map_err(|err| RenderError::from_minijinja(template, &err))
}

/// The names a template's module may import: the common table, plus per-entity and per-project
/// names; modules whose class bodies hold field names only get names that cannot clash.
fn candidates(
    template: &str,
    project: &ProjectView,
    entity: Option<&EntityView>,
) -> Vec<Candidate> {
    let class_bodies = template.starts_with("app/models/") || template.starts_with("app/schemas/");
    // Earlier candidates win a name, so the project's own modules go first.
    let mut out = Vec::new();
    let base_names = [
        "Email",
        "HttpUrlStr",
        "Id",
        "Int64",
        "PageParams",
        "UpdateModel",
        "check_sort",
    ];
    if let Some(e) = entity {
        if template.starts_with("app/api/") {
            out.push(Candidate::from(
                Section::FirstParty,
                "app.services",
                &e.module,
                "service",
            ));
        }
        if template.starts_with("app/schemas/") {
            for (class, module, local) in &e.schema.enum_imports {
                out.push(Candidate::from(Section::FirstParty, module, class, local));
            }
            for name in base_names {
                out.push(Candidate::from(
                    Section::FirstParty,
                    "app.schemas.base",
                    name,
                    name,
                ));
            }
        }
    }
    if template == "app/api/v1/router.py.j2" {
        out.push(Candidate::from(
            Section::FirstParty,
            "app.api.v1",
            "auth",
            "auth",
        ));
        for e in &project.entities {
            out.push(Candidate::from(
                Section::FirstParty,
                "app.api.v1",
                &e.module,
                &e.module,
            ));
        }
    }
    if let Some(auth) = &project.auth {
        if template == "app/api/v1/auth.py.j2" {
            out.push(Candidate::from(
                Section::FirstParty,
                "app.services",
                &auth.user_module,
                "service",
            ));
        }
    }
    match entity {
        Some(e) if class_bodies => out.extend(imports::for_class_bodies(&e.a)),
        _ => out.extend(imports::common()),
    }
    out
}

/// Post-processing of one rendered file: imports resolved in Python modules, trailing spaces
/// dropped, runs of blank lines capped at two, exactly one final newline.
fn finish(template: &str, text: &str, candidates: &[Candidate]) -> String {
    let is_python = template.ends_with(".py.j2");
    let text = if is_python {
        imports::resolve(text, candidates)
    } else {
        text.to_string()
    };
    let mut out = String::with_capacity(text.len());
    let mut blank_run = 0;
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            blank_run += 1;
            if is_python && blank_run > 2 {
                continue;
            }
        } else {
            blank_run = 0;
        }
        out.push_str(line);
        out.push('\n');
    }
    let trimmed = out.trim_end_matches('\n');
    if trimmed.is_empty() {
        String::new()
    } else {
        format!("{trimmed}\n")
    }
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

impl RenderError {
    fn from_minijinja(template: &str, err: &minijinja::Error) -> RenderError {
        RenderError {
            template: template.to_string(),
            message: format!("{err:#}"),
        }
    }
}
