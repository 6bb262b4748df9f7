//! Acceptance: every fixture prompt, and corpus prompts covering every style of
//! `pipeline/corpus`, become projects that install, pass their own pytest and ruff E9/F, and
//! serve a create/read/update/delete round trip over real HTTP under uvicorn.
//!
//! Needs Python 3.11+ with `venv` and access to the package index (the gates build one cached
//! venv under `target/codebegen-test-data`, or `$CODEBEGEN_TEST_DATA_DIR`).

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_codebegen");

fn data_dir() -> PathBuf {
    std::env::var_os("CODEBEGEN_TEST_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/codebegen-test-data")
        })
}

fn fixtures() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../pipeline/fixtures/prompts.json");
    let text = std::fs::read_to_string(&path).expect("pipeline/fixtures/prompts.json exists");
    let value: Value = serde_json::from_str(&text).expect("fixtures are JSON");
    let items = value
        .as_array()
        .or_else(|| value["prompts"].as_array())
        .expect("fixtures are a list");
    items
        .iter()
        .map(|f| {
            (
                f["id"].as_str().expect("id").to_string(),
                f["prompt"].as_str().expect("prompt").to_string(),
            )
        })
        .collect()
}

/// Corpus prompts beside the fixtures: the first dev case of every style, then the first test
/// case of each style in name order, until there are `extra` of them.
fn corpus_sample(extra: usize) -> Vec<(String, String)> {
    let read = |split: &str| -> Vec<Value> {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../pipeline/corpus/{split}.jsonl"));
        std::fs::read_to_string(&path)
            .expect("the corpus split exists")
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).expect("a JSON case"))
            .collect()
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for cases in [read("dev"), read("test")] {
        let mut styles: Vec<&str> = cases.iter().filter_map(|c| c["style"].as_str()).collect();
        styles.sort();
        styles.dedup();
        for style in styles {
            if out.len() >= extra {
                return out;
            }
            if let Some(case) = cases.iter().find(|c| c["style"] == style) {
                out.push((
                    format!("corpus-{}", case["id"].as_str().expect("id")),
                    case["prompt"].as_str().expect("prompt").to_string(),
                ));
            }
        }
    }
    out
}

/// A uvicorn process that is killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn start_uvicorn(python: &Path, project: &Path) -> (Server, String) {
    let port = free_port();
    let db = project.join("roundtrip.db");
    let child = Command::new(python)
        .args([
            "-m",
            "uvicorn",
            "app.main:app",
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .current_dir(project)
        .env("DATABASE_URL", format!("sqlite:///{}", db.display()))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("uvicorn starts");
    let server = Server(child);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if ureq::get(&format!("{base}/health")).call().is_ok() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "uvicorn did not answer /health in {}",
            project.display()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    (server, base)
}

/// Status and JSON body of a request, whatever the status.
fn send(req: ureq::Request, body: Option<&Value>) -> (u16, Value) {
    let result = match body {
        Some(b) => req.send_json(b.clone()),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport error: {e}"),
    };
    let status = resp.status();
    let text = resp.into_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// A value for a field, built here from the spec (independently of the renderer's test data).
fn sample(field: &Value, n: u64) -> Value {
    let name = field["name"].as_str().unwrap_or("x");
    let min = field["min"].as_f64();
    let max = field["max"].as_f64();
    match field["type"].as_str().unwrap_or("string") {
        "string" | "text" => {
            let max_len = field["max_length"].as_u64().unwrap_or(255) as usize;
            let s = format!("{name}-{n}");
            Value::String(s.chars().take(max_len.max(1)).collect())
        }
        "integer" => {
            let lo = min.map_or(0, |m| m.ceil() as i64);
            let hi = max.map_or(lo + 1000, |m| m.floor() as i64);
            json!(lo + (n as i64) % (hi - lo + 1).max(1))
        }
        "float" | "decimal" => {
            let lo = min.unwrap_or(0.0);
            let hi = max.unwrap_or(lo + 1000.0);
            json!(lo + (hi - lo) * (n as f64 % 4.0 + 1.0) / 8.0)
        }
        "boolean" => json!(n.is_multiple_of(2)),
        "date" => json!(format!("2030-01-{:02}", 1 + n % 28)),
        "datetime" => json!(format!("2030-01-{:02}T10:00:00", 1 + n % 28)),
        "time" => json!("10:30:00"),
        "email" => json!(format!("{name}{n}@example.com")),
        "url" => json!(format!("https://example.com/{name}/{n}")),
        "uuid" => json!(format!("00000000-0000-4000-8000-{:012}", n)),
        "enum" => field["enum_values"][0].clone(),
        "json" => json!({"n": n}),
        other => panic!("unknown type {other}"),
    }
}

/// The first entity that needs no parent, and isn't the auth user.
fn root_entity(spec: &Value) -> Value {
    let required_children: Vec<&str> = spec["relations"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["required"].as_bool() == Some(true) && r["kind"] != "many_to_many")
        .filter_map(|r| r["from"].as_str())
        .collect();
    let auth = spec["auth"]["enabled"].as_bool() == Some(true);
    spec["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .find(|e| {
            let name = e["name"].as_str().unwrap_or("");
            !required_children.contains(&name) && (!auth || name != "User")
        })
        .cloned()
        .expect("a spec always has an entity without required parents")
}

fn round_trip(python: &Path, project: &Path, spec: &Value) -> String {
    let (_server, base) = start_uvicorn(python, project);
    let mut token = None;
    if spec["auth"]["enabled"].as_bool() == Some(true) {
        let mut register =
            json!({"email": "roundtrip@example.com", "password": "a-long-password-1"});
        let user = spec["entities"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|e| e["name"] == "User")
            .cloned()
            .unwrap_or_default();
        for f in user["fields"].as_array().into_iter().flatten() {
            if f["required"].as_bool() != Some(false) && f["name"] != "email" {
                register[f["name"].as_str().unwrap_or("x")] = sample(f, 1);
            }
        }
        let (status, body) = send(
            ureq::post(&format!("{base}/api/v1/auth/register")),
            Some(&register),
        );
        assert_eq!(status, 201, "register: {body}");
        let resp = ureq::post(&format!("{base}/api/v1/auth/login"))
            .send_form(&[
                ("username", "roundtrip@example.com"),
                ("password", "a-long-password-1"),
            ])
            .expect("login succeeds");
        let body: Value = resp.into_json().expect("login JSON");
        token = Some(format!(
            "Bearer {}",
            body["access_token"].as_str().expect("access_token")
        ));
    }
    let with_auth = |req: ureq::Request| match &token {
        Some(t) => req.set("Authorization", t),
        None => req,
    };
    let entity = root_entity(spec);
    let table = entity["table"].as_str().expect("table");
    let url = format!("{base}/api/v1/{table}");
    let mut payload = json!({});
    for f in entity["fields"].as_array().into_iter().flatten() {
        payload[f["name"].as_str().unwrap_or("x")] = sample(f, 1);
    }
    let (status, created) = send(with_auth(ureq::post(&url)), Some(&payload));
    assert_eq!(status, 201, "create {table}: {created}");
    let id = created["id"].as_i64().expect("created id");
    let (status, read) = send(ureq::get(&format!("{url}/{id}")), None);
    assert_eq!(status, 200, "read {table}: {read}");
    assert_eq!(read["id"], created["id"]);
    let patchable = entity["fields"].as_array().into_iter().flatten().find(|f| {
        matches!(
            f["type"].as_str(),
            Some("string" | "text" | "integer" | "boolean")
        ) && f["unique"].as_bool() != Some(true)
    });
    if let Some(f) = patchable {
        let name = f["name"].as_str().expect("name");
        let new_value = sample(f, 2);
        let (status, updated) = send(
            with_auth(ureq::request("PATCH", &format!("{url}/{id}"))),
            Some(&json!({ name: new_value })),
        );
        assert_eq!(status, 200, "update {table}: {updated}");
        assert_eq!(updated[name], new_value, "update {table}.{name}");
    }
    let (status, list) = send(ureq::get(&url), None);
    assert_eq!(status, 200, "list {table}: {list}");
    assert!(
        list["total"].as_i64().unwrap_or(0) >= 1,
        "list {table}: {list}"
    );
    let (status, _) = send(with_auth(ureq::delete(&format!("{url}/{id}"))), None);
    assert_eq!(status, 204, "delete {table}");
    let (status, _) = send(ureq::get(&format!("{url}/{id}")), None);
    assert_eq!(status, 404, "read after delete {table}");
    format!("CRUD on /api/v1/{table} ok")
}

#[test]
fn every_fixture_prompt_generates_a_project_that_runs() {
    let mut fixtures = fixtures();
    assert!(
        fixtures.len() >= 15,
        "need at least 15 fixture prompts, found {}",
        fixtures.len()
    );
    fixtures.extend(corpus_sample(
        40usize.saturating_sub(fixtures.len()).max(12),
    ));
    let work = tempfile::tempdir().expect("tempdir");
    let data = data_dir();
    let mut failures = Vec::new();
    for (id, prompt) in &fixtures {
        let out = work.path().join(id);
        let started = Instant::now();
        let status = Command::new(BIN)
            .args(["generate", prompt, "--out"])
            .arg(&out)
            .arg("--validate")
            .arg("--data-dir")
            .arg(&data)
            .stdin(Stdio::null())
            .status()
            .expect("codebegen runs");
        let elapsed = started.elapsed();
        let manifest: Value = std::fs::read_to_string(out.join("codebegen.json"))
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        let gates: Vec<String> = manifest["gates"]["gates"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|g| {
                format!(
                    "{}={}",
                    g["gate"].as_str().unwrap_or("?"),
                    g["status"].as_str().unwrap_or("?")
                )
            })
            .collect();
        if !status.success() {
            failures.push(format!("{id}: generate exited {status}; gates {gates:?}"));
            continue;
        }
        for needed in [
            "compileall=passed",
            "install=passed",
            "ruff=passed",
            "pytest=passed",
            "serve=passed",
        ] {
            assert!(
                gates.iter().any(|g| g == needed),
                "{id}: expected {needed} in {gates:?}"
            );
        }
        let python = PathBuf::from(
            manifest["gates"]["venv_python"]
                .as_str()
                .expect("venv_python in the gate report"),
        );
        let crud = std::panic::catch_unwind(|| round_trip(&python, &out, &manifest["spec"]));
        match crud {
            Ok(line) => println!(
                "{id:<28} {:>2} entities  review {:>3}  {:>6.1} s  {}  {line}",
                manifest["spec"]["entities"].as_array().map_or(0, Vec::len),
                manifest["review"]["score"],
                elapsed.as_secs_f64(),
                gates.join(" ")
            ),
            Err(_) => failures.push(format!("{id}: HTTP round trip failed")),
        }
    }
    assert!(failures.is_empty(), "failures:\n{}", failures.join("\n"));
}
