//! The `fastapi-sqlalchemy` templates, embedded at build time, and where each one goes.
//!
//! Paths are relative to `pipeline/templates/fastapi-sqlalchemy/`. A `.j2` suffix means "render
//! with minijinja" (other files are copied as they are); a `dot-` prefix on a path segment becomes
//! `.` (so the repository never holds a live `.gitignore` or `.github` of the generated project);
//! `__entity__` is replaced by each entity's module name, once per entity.

use minijinja::{AutoEscape, Environment, UndefinedBehavior};

macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        &[$((
            $path,
            include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/fastapi-sqlalchemy/", $path)),
        )),*]
    };
}

/// Every template: (path under the stack folder, source).
pub const TEMPLATES: &[(&str, &str)] = embed![
    "Dockerfile.j2",
    "Makefile",
    "README.md.j2",
    "alembic.ini",
    "alembic/env.py",
    "alembic/script.py.mako",
    "alembic/versions/0001_initial.py.j2",
    "app/__init__.py",
    "app/api/__init__.py",
    "app/api/deps.py.j2",
    "app/api/v1/__entity__.py.j2",
    "app/api/v1/__init__.py",
    "app/api/v1/auth.py.j2",
    "app/api/v1/router.py.j2",
    "app/core/__init__.py",
    "app/core/config.py.j2",
    "app/core/security.py.j2",
    "app/db/__init__.py",
    "app/db/base.py",
    "app/db/session.py",
    "app/main.py.j2",
    "app/models/__entity__.py.j2",
    "app/models/__init__.py.j2",
    "app/models/associations.py.j2",
    "app/schemas/__entity__.py.j2",
    "app/schemas/__init__.py.j2",
    "app/schemas/auth.py",
    "app/schemas/base.py",
    "app/services/__entity__.py.j2",
    "app/services/__init__.py",
    "app/services/base.py",
    "docker-compose.yml.j2",
    "dot-env.example.j2",
    "dot-github/workflows/ci.yml",
    "dot-gitignore",
    "pyproject.toml.j2",
    "requirements-dev.txt",
    "requirements.txt.j2",
    "tests/conftest.py.j2",
    "tests/test___entity__.py.j2",
    "tests/test_auth.py.j2",
    "tests/test_health.py",
];

/// Templates rendered only when auth is enabled.
pub const AUTH_ONLY: &[&str] = &[
    "app/api/v1/auth.py.j2",
    "app/core/security.py.j2",
    "app/schemas/auth.py",
    "tests/test_auth.py.j2",
];

/// Templates rendered only when there is a many-to-many relation.
pub const MANY_TO_MANY_ONLY: &[&str] = &["app/models/associations.py.j2"];

/// The placeholder for the entity module in per-entity template paths.
pub const ENTITY: &str = "__entity__";

/// A minijinja environment holding every `.j2` template: strict about undefined names, no
/// auto-escaping, block tags trimmed, trailing newlines kept.
pub fn environment() -> Result<Environment<'static>, minijinja::Error> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|_| AutoEscape::None);
    env.set_trim_blocks(true);
    env.set_lstrip_blocks(true);
    env.set_keep_trailing_newline(true);
    for (path, source) in TEMPLATES {
        if path.ends_with(".j2") {
            env.add_template(path, source)?;
        }
    }
    Ok(env)
}

/// The output path of a template (`dot-gitignore` → `.gitignore`, `x.py.j2` → `x.py`), with
/// `module` in place of `__entity__`.
pub fn output_path(template: &str, module: Option<&str>) -> String {
    let path = template.strip_suffix(".j2").unwrap_or(template);
    let path: Vec<String> = path
        .split('/')
        .map(|segment| match segment.strip_prefix("dot-") {
            Some(rest) => format!(".{rest}"),
            None => segment.to_string(),
        })
        .collect();
    let path = path.join("/");
    match module {
        Some(module) => path.replace(ENTITY, module),
        None => path,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(output_path("dot-gitignore", None), ".gitignore");
        assert_eq!(
            output_path("dot-github/workflows/ci.yml", None),
            ".github/workflows/ci.yml"
        );
        assert_eq!(
            output_path("tests/test___entity__.py.j2", Some("post")),
            "tests/test_post.py"
        );
        assert_eq!(output_path("app/main.py.j2", None), "app/main.py");
    }

    #[test]
    fn every_template_file_is_embedded() {
        let root =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates/fastapi-sqlalchemy");
        let mut on_disk = Vec::new();
        let mut stack = vec![root.clone()];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("templates folder is readable") {
                let path = entry.expect("directory entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let relative = path.strip_prefix(&root).expect("under root");
                    on_disk.push(relative.to_string_lossy().replace('\\', "/"));
                }
            }
        }
        on_disk.sort();
        let embedded: Vec<String> = TEMPLATES.iter().map(|(p, _)| p.to_string()).collect();
        assert_eq!(on_disk, embedded, "add new template files to TEMPLATES");
    }

    #[test]
    fn templates_parse() {
        environment().expect("every template parses");
    }
}
