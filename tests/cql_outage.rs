//! Cassandra goes away in the middle of a generation: the API answers 503 with a clear error
//! (not a hang) while it is down, and the generation resumes and completes when it is back.
//!
//! Needs the dev services (`deploy/dev/services.sh start`); it stops and restarts the
//! Cassandra that script started, keeping its data.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_codebegen");

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Restarts Cassandra (keeping its data) when dropped, so a failing test leaves it running.
struct Outage;

impl Outage {
    fn begin() -> Outage {
        let out = Command::new("bash")
            .arg(repo().join("deploy/dev/cassandra/stop.sh"))
            .output()
            .expect("stop.sh runs");
        assert!(
            out.status.success(),
            "stopping cassandra: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Outage
    }
}

impl Drop for Outage {
    fn drop(&mut self) {
        let out = Command::new("bash")
            .arg(repo().join("deploy/dev/cassandra/start.sh"))
            .env("CASSANDRA_KEEP_DATA", "1")
            .output()
            .expect("start.sh runs");
        assert!(
            out.status.success(),
            "restarting cassandra: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn call(req: ureq::Request, body: Option<Value>) -> (u16, Value, Duration) {
    let started = Instant::now();
    let result = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    let elapsed = started.elapsed();
    match result {
        Ok(r) | Err(ureq::Error::Status(_, r)) => {
            let status = r.status();
            (status, r.into_json().unwrap_or(Value::Null), elapsed)
        }
        Err(e) => panic!("transport error (the server must answer, not hang): {e}"),
    }
}

#[test]
fn a_generation_survives_a_cassandra_outage() {
    let (Ok(cql), Ok(s3)) = (
        std::env::var("CODEBEGEN_TEST_CQL"),
        std::env::var("CODEBEGEN_TEST_S3"),
    ) else {
        assert!(
            std::env::var("CODEBEGEN_REQUIRE_SERVICES").as_deref() != Ok("1"),
            "CODEBEGEN_REQUIRE_SERVICES=1 but CODEBEGEN_TEST_CQL / CODEBEGEN_TEST_S3 are not set"
        );
        println!("skipped: CODEBEGEN_TEST_CQL and CODEBEGEN_TEST_S3 are not set (run deploy/dev/services.sh start)");
        return;
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let unique = format!(
        "{:x}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0)
    );
    let venvs = std::env::var_os("CODEBEGEN_TEST_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target/codebegen-test-data"))
        .join("venvs");
    let config = dir.path().join("node.toml");
    std::fs::write(
        &config,
        format!(
            "[store]\nbackend = \"scylla\"\ncontact_points = [\"{cql}\"]\nkeyspace = \"outage_{unique}\"\nrequest_timeout_ms = 2000\n\
             [artifacts]\nbackend = \"s3\"\nbucket = \"outage-{unique}\"\nendpoint = \"{s3}\"\nregion = \"us-east-1\"\npath_style = true\n\
             create_bucket = true\naccess_key_id = \"test\"\nsecret_access_key = \"test\"\n\
             [gates]\ntimeout_s = 240\nvenv_cache = \"{}\"\n",
            venvs.display()
        ),
    )
    .expect("config");
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir.path().join("data"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("serve starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("URL line");
    let base = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .expect("URL")
        .to_string();
    let _server = Server(child);

    let creds = json!({"email": "outage@example.com", "password": "correct horse 42"});
    assert_eq!(
        call(
            ureq::post(&format!("{base}/api/v1/auth/register")),
            Some(creds.clone())
        )
        .0,
        201
    );
    let (_, login, _) = call(
        ureq::post(&format!("{base}/api/v1/auth/login")),
        Some(creds),
    );
    let auth = format!("Bearer {}", login["access_token"].as_str().expect("token"));
    let (status, created, _) = call(
        ureq::post(&format!("{base}/api/v1/generations")).set("Authorization", &auth),
        Some(
            json!({"prompt": "A todo app: tasks have a title, a priority (low, medium, high) and a due date.", "options": {"validate": true}}),
        ),
    );
    assert_eq!(status, 202, "{created}");
    let url = format!(
        "{base}/api/v1/generations/{}",
        created["id"].as_str().expect("id")
    );
    let get = || {
        call(
            ureq::get(&url)
                .set("Authorization", &auth)
                .timeout(Duration::from_secs(30)),
            None,
        )
    };
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (_, record, _) = get();
        if record["stage"] == "gates" {
            break;
        }
        assert!(
            record["status"] != "completed" && Instant::now() < deadline,
            "the generation must be running when Cassandra stops: {record}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    let outage = Outage::begin();
    let (status, body, elapsed) = get();
    assert_eq!(status, 503, "while Cassandra is down: {body}");
    assert_eq!(body["error"]["code"], "unavailable");
    assert!(
        elapsed < Duration::from_secs(10),
        "a clear error, not a hang: took {elapsed:?}"
    );
    drop(outage);

    let deadline = Instant::now() + Duration::from_secs(240);
    let record = loop {
        let (status, record, _) = get();
        if status == 200 && (record["status"] == "completed" || record["status"] == "failed") {
            break record;
        }
        assert!(
            Instant::now() < deadline,
            "the generation did not finish after Cassandra came back: {status} {record}"
        );
        std::thread::sleep(Duration::from_millis(250));
    };
    assert_eq!(record["status"], "completed", "{record}");
    assert_eq!(record["gates"]["passed"], true);
}
