//! The CLI contract: what `spec`, `generate`, `check` and `bench extract` print and how they
//! exit.

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

#[test]
fn bench_extract_prints_a_table_writes_json_and_lists_misses() {
    let dir = tempfile::tempdir().expect("tempdir");
    let set = dir.path().join("cases.jsonl");
    std::fs::write(
        &set,
        concat!(
            r#"{"id": "a", "split": "dev", "style": "narrative", "prompt": "A bookstore: books have a title and a price.", "entities": ["Book"], "relations": [], "fields": {"Book": ["title", "price"]}, "field_types": {"Book": {"title": "string", "price": "decimal"}}}"#,
            "\n",
            r#"{"id": "b", "split": "test", "style": "terse", "prompt": "pets", "entities": ["Pet", "Nothing"], "relations": [], "fields": {}}"#,
            "\n"
        ),
    )
    .expect("write");
    let json = dir.path().join("out.json");
    let out = Command::new(BIN)
        .args(["bench", "extract", "--runs", "1", "--show-misses", "--set"])
        .arg(&set)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("2 cases") && stdout.contains("rules"),
        "{stdout}"
    );
    assert!(stdout.contains("p50"), "{stdout}");
    assert!(
        stdout.contains(r#""id":"b""#) && stdout.contains("nothing"),
        "the miss of case b is listed: {stdout}"
    );
    let report: Value =
        serde_json::from_str(&std::fs::read_to_string(&json).expect("JSON written")).expect("JSON");
    assert_eq!(report["summary"]["cases"], 2);
    assert_eq!(report["summary"]["ent_exp"], 3);
    assert!(report["by_style"]["terse"].is_object());
    assert_eq!(report["cases"].as_array().map(Vec::len), Some(2));

    let out = Command::new(BIN)
        .args([
            "bench", "extract", "--runs", "1", "--split", "test", "--set",
        ])
        .arg(&set)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("1 cases of split test"));

    std::fs::write(&set, "{not json\n").expect("write");
    let out = Command::new(BIN)
        .args(["bench", "extract", "--set"])
        .arg(&set)
        .output()
        .expect("runs");
    assert_eq!(
        out.status.code(),
        Some(2),
        "a broken case file fails the command"
    );
    assert!(
        text(&out.stderr).contains("cases.jsonl:1"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn bench_extract_reads_the_repository_corpus_by_default() {
    let out = codebegen(&["bench", "extract", "--runs", "1", "--split", "dev"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(stdout.contains("fixtures.jsonl"), "{stdout}");
    assert!(stdout.contains("of split dev"), "{stdout}");
}

#[test]
fn a_model_that_is_not_there_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let empty = dir.path().to_str().expect("utf-8 path");
    let out = codebegen(&["spec", "a blog", "--model", "/no/such/model.gguf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("/no/such/model.gguf"),
        "{}",
        text(&out.stderr)
    );
    let out = codebegen(&[
        "spec",
        "a blog",
        "--model",
        "smollm2-135m",
        "--data-dir",
        empty,
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("models fetch smollm2-135m"),
        "{}",
        text(&out.stderr)
    );
    let out_dir = dir.path().join("out");
    let out = Command::new(BIN)
        .args([
            "generate",
            "a blog",
            "--model",
            "smollm2-135m",
            "--data-dir",
            empty,
            "--out",
        ])
        .arg(&out_dir)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("models fetch"),
        "{}",
        text(&out.stderr)
    );
    assert!(!out_dir.exists());
}

/// The real model (`CODEBEGEN_TEST_MODEL`) in the process: `spec --model` prints a spec that
/// keeps the rules' entities and says what the model did.
#[test]
fn spec_with_a_model_runs_it_in_the_process() {
    let Some(model) = std::env::var_os("CODEBEGEN_TEST_MODEL") else {
        assert!(
            std::env::var("CODEBEGEN_REQUIRE_MODEL").as_deref() != Ok("1"),
            "CODEBEGEN_REQUIRE_MODEL=1 but CODEBEGEN_TEST_MODEL is not set"
        );
        eprintln!("skipped: CODEBEGEN_TEST_MODEL not set");
        return;
    };
    let prompt = "A library: members borrow books; books have a title and an isbn.";
    let rules: Value =
        serde_json::from_slice(&codebegen(&["spec", prompt]).stdout).expect("rules' spec");
    let out = Command::new(BIN)
        .args(["spec", prompt, "--model"])
        .arg(&model)
        .output()
        .expect("runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("model proposal:"),
        "{}",
        text(&out.stderr)
    );
    let merged: Value = serde_json::from_slice(&out.stdout).expect("stdout is the spec JSON");
    let names = |spec: &Value| -> Vec<String> {
        spec["entities"]
            .as_array()
            .expect("entities")
            .iter()
            .filter_map(|e| e["name"].as_str().map(str::to_string))
            .collect()
    };
    let merged_names = names(&merged);
    for name in names(&rules) {
        assert!(
            merged_names.contains(&name),
            "{name} kept: {merged_names:?}"
        );
    }
}

#[test]
fn a_prompt_may_start_with_a_hyphen() {
    let prompt = "- books: title, isbn\n- authors: name";
    for args in [
        vec!["spec", prompt],
        vec!["spec", prompt, "--db", "postgresql"],
        vec!["spec", "--db", "postgresql", prompt],
    ] {
        let out = codebegen(&args);
        assert!(out.status.success(), "{args:?}: {}", text(&out.stderr));
        let spec: Value = serde_json::from_slice(&out.stdout).expect("spec JSON");
        assert!(
            spec["entities"]
                .as_array()
                .is_some_and(|e| e.iter().any(|e| e["name"] == "Book")),
            "{spec}"
        );
    }
}
