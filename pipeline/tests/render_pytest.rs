//! End-to-end check of rendered projects: for each shared spec, `ruff check --select E9,F` and
//! the generated pytest suite must pass. Needs a Python with the generated requirements
//! installed, named by `CODEBEGEN_TEST_PYTHON`; skips itself, saying so, when it is unset.

#[path = "render_specs.rs"]
mod specs;

use std::path::Path;
use std::process::Command;

use codebegen_pipeline::render::{render, RenderOptions};

fn run(python: &str, dir: &Path, args: &[&str]) -> (bool, String) {
    let output = Command::new(python)
        .args(args)
        .current_dir(dir)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap_or_else(|err| panic!("cannot run {python}: {err}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[test]
fn rendered_projects_lint_and_pass_their_tests() {
    let Ok(python) = std::env::var("CODEBEGEN_TEST_PYTHON") else {
        println!("skipped: CODEBEGEN_TEST_PYTHON not set");
        return;
    };
    for (name, text) in specs::ALL {
        let tree =
            render(&specs::checked(text), &RenderOptions::default()).expect("shared specs render");
        let dir = tempfile::tempdir().expect("temp dir");
        for (path, content) in tree.iter() {
            let file = dir.path().join(path);
            std::fs::create_dir_all(file.parent().expect("files have parents")).expect("mkdir");
            std::fs::write(&file, content).expect("write");
        }
        let (ok, output) = run(
            &python,
            dir.path(),
            &["-m", "ruff", "check", "--select", "E9,F", "--no-cache", "."],
        );
        assert!(ok, "{name}: ruff failed:\n{output}");
        let (ok, output) = run(
            &python,
            dir.path(),
            &["-m", "pytest", "-q", "-p", "no:cacheprovider"],
        );
        assert!(ok, "{name}: pytest failed:\n{output}");
        println!("{name}: {}", output.lines().last().unwrap_or_default());
    }
}
