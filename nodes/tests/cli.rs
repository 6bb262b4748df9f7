//! The CLI contract: what `spec`, `generate` and `check` print and how they exit.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_codebegen");

fn codebegen(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("codebegen runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn spec_prints_json_on_stdout_and_diagnostics_on_stderr() {
    let out = codebegen(&[
        "spec",
        "A todo app: tasks have a title, a priority (low, medium, high) and a due date",
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let spec: Value = serde_json::from_slice(&out.stdout).expect("stdout is only the spec JSON");
    assert_eq!(spec["version"], 1);
    let task = spec["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .find(|e| e["name"] == "Task")
        .expect("a Task entity");
    let priority = task["fields"]
        .as_array()
        .expect("fields")
        .iter()
        .find(|f| f["name"] == "priority")
        .expect("priority");
    assert_eq!(priority["type"], "enum");
}

#[test]
fn generate_refuses_a_non_empty_directory_without_force() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("keep.txt"), "mine").expect("write");
    let out_dir = dir.path().to_str().expect("utf-8 path");
    let out = codebegen(&["generate", "url shortener", "--out", out_dir]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("not empty"),
        "{}",
        text(&out.stderr)
    );
    assert!(!dir.path().join("app").exists());

    let out = codebegen(&["generate", "url shortener", "--out", out_dir, "--force"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(dir.path().join("app/main.py").exists());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("keep.txt")).expect("kept"),
        "mine"
    );
    let manifest: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("codebegen.json")).expect("manifest"),
    )
    .expect("JSON");
    assert!(manifest["review"]["score"].as_u64().is_some());
    assert!(manifest["files"]
        .as_array()
        .is_some_and(|f| f.iter().any(|e| e["path"] == "app/main.py")));
    assert!(manifest["gates"].is_null(), "no gates without --validate");
}

#[test]
fn generate_with_an_invalid_spec_file_exits_2_with_diagnostics() {
    let dir = tempfile::tempdir().expect("tempdir");
    let spec = dir.path().join("spec.json");
    std::fs::write(&spec, r#"{"version": 1, "name": "x", "entities": [{"name": "A", "table": "as", "fields": [{"name": "f", "type": "blob"}]}]}"#).expect("write");
    let out_dir = dir.path().join("out");
    let out = Command::new(BIN)
        .args(["generate", "--out"])
        .arg(&out_dir)
        .arg("--spec")
        .arg(&spec)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("unknown_type"),
        "{}",
        text(&out.stderr)
    );
    assert!(!out_dir.exists(), "nothing is written for an invalid spec");
}

#[test]
fn generate_rejects_empty_and_oversized_prompts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out_dir = dir.path().join("out");
    for prompt in [String::new(), "x".repeat(8001)] {
        let out = Command::new(BIN)
            .args(["generate", &prompt, "--out"])
            .arg(&out_dir)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2));
        assert!(
            text(&out.stderr).contains("1 to 8000"),
            "{}",
            text(&out.stderr)
        );
    }
}

fn data_dir() -> std::path::PathBuf {
    std::env::var_os("CODEBEGEN_TEST_DATA_DIR")
        .map(Into::into)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/codebegen-test-data")
        })
}

#[test]
fn check_exits_1_when_the_project_tests_fail() {
    let dir = tempfile::tempdir().expect("tempdir");
    let project = dir.path().join("p");
    let out = Command::new(BIN)
        .args([
            "generate",
            "notes app: notes have a title and a body",
            "--out",
        ])
        .arg(&project)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    std::fs::write(
        project.join("tests/test_broken.py"),
        "def test_broken():\n    assert 1 == 2\n",
    )
    .expect("write");
    let out = Command::new(BIN)
        .arg("check")
        .arg(&project)
        .arg("--json")
        .arg("--data-dir")
        .arg(data_dir())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).expect("JSON report");
    let pytest = report["gates"]["gates"]
        .as_array()
        .expect("gates")
        .iter()
        .find(|g| g["gate"] == "pytest")
        .expect("pytest gate");
    assert_eq!(pytest["status"], "failed");
    assert!(pytest["output_tail"]
        .as_str()
        .unwrap_or("")
        .contains("test_broken"));
    // The project directory itself is untouched by the gates.
    assert!(!project.join(".pytest_cache").exists() && !project.join("app.db").exists());
}
