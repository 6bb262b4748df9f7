//! The one-node walk-through against the real binary: `codebegen serve` on port 0 with a
//! temporary data directory, driven over HTTP:
//!
//! 1. register, login, refresh;
//! 2. a project and a generation, followed over SSE until completed;
//! 3. files, then the ZIP, which unzips into a project whose own pytest passes;
//! 4. a refinement and its diff;
//! 5. the 6th free generation in an hour gets 429;
//! 6. a second user gets 404 on the first user's generation;
//! 7. kill -9 the server mid-generation, restart it: the generation completes and its event
//!    stream resumes from the last id.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

const BIN: &str = env!("CARGO_BIN_EXE_codebegen");

fn venv_cache() -> PathBuf {
    std::env::var_os("CODEBEGEN_TEST_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/codebegen-test-data")
        })
        .join("venvs")
}

/// A running `codebegen serve`; killed with SIGKILL when dropped.
struct Server {
    child: Child,
    base: String,
}

impl Server {
    fn start(data: &Path, backends: &str) -> Server {
        let config = data.with_extension("toml");
        std::fs::write(
            &config,
            format!(
                "[gates]\ntimeout_s = 240\nvenv_cache = \"{}\"\n[service]\nuser_idle_s = 2\n{backends}",
                venv_cache().display()
            ),
        )
        .expect("config");
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data)
            .arg("--config")
            .arg(&config)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("the URL line");
        let base = line
            .split_whitespace()
            .find(|w| w.starts_with("http://"))
            .expect("a URL on the first line")
            .to_string();
        Server { child, base }
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

fn call(req: ureq::Request, body: Option<Value>) -> (u16, Value, Option<String>) {
    let result = match body {
        Some(b) => req.send_json(b),
        None => req.call(),
    };
    let resp = match result {
        Ok(r) => r,
        Err(ureq::Error::Status(_, r)) => r,
        Err(e) => panic!("transport: {e}"),
    };
    let status = resp.status();
    let retry_after = resp.header("retry-after").map(str::to_string);
    let text = resp.into_string().unwrap_or_default();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
        retry_after,
    )
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

fn register_and_login(server: &Server, email: &str) -> (String, String) {
    let (status, body, _) = call(
        ureq::post(&server.url("/api/v1/auth/register")),
        Some(json!({"email": email, "password": "correct horse 42"})),
    );
    assert_eq!(status, 201, "register: {body}");
    assert_eq!(body["tier"], "free");
    let (status, body, _) = call(
        ureq::post(&server.url("/api/v1/auth/login")),
        Some(json!({"email": email, "password": "correct horse 42"})),
    );
    assert_eq!(status, 200, "login: {body}");
    assert_eq!(body["token_type"], "bearer");
    (
        body["access_token"].as_str().expect("access").to_string(),
        body["refresh_token"].as_str().expect("refresh").to_string(),
    )
}

/// Reads an SSE stream to its end: (id, event, data) triples.
fn sse(
    server: &Server,
    token: &str,
    id: &str,
    last_event_id: Option<u64>,
) -> Vec<(u64, String, Value)> {
    let mut req = ureq::get(&server.url(&format!("/api/v1/generations/{id}/events")))
        .set("Authorization", &bearer(token))
        .timeout(Duration::from_secs(300));
    if let Some(last) = last_event_id {
        req = req.set("Last-Event-ID", &last.to_string());
    }
    let resp = req.call().expect("events stream");
    assert!(resp.content_type().starts_with("text/event-stream"));
    let mut text = String::new();
    resp.into_reader()
        .read_to_string(&mut text)
        .expect("the stream ends after the final event");
    let mut events = Vec::new();
    for block in text.split("\n\n") {
        let (mut seq, mut kind, mut data) = (None, String::new(), Value::Null);
        for line in block.lines() {
            if let Some(v) = line.strip_prefix("id:") {
                seq = v.trim().parse().ok();
            } else if let Some(v) = line.strip_prefix("event:") {
                kind = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("data:") {
                // The data line carries the stored event; its `data` field is the payload.
                let event: Value = serde_json::from_str(v.trim()).unwrap_or(Value::Null);
                data = event.get("data").cloned().unwrap_or(event);
            }
        }
        if let Some(seq) = seq {
            events.push((seq, kind, data));
        }
    }
    events
}

fn wait_for(server: &Server, token: &str, id: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(300);
    loop {
        let (status, body, _) = call(
            ureq::get(&server.url(&format!("/api/v1/generations/{id}")))
                .set("Authorization", &bearer(token)),
            None,
        );
        assert_eq!(status, 200, "{body}");
        if done(&body) {
            return body;
        }
        assert!(Instant::now() < deadline, "timed out; last: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn create(server: &Server, token: &str, body: Value) -> (u16, Value, Option<String>) {
    call(
        ureq::post(&server.url("/api/v1/generations")).set("Authorization", &bearer(token)),
        Some(body),
    )
}

fn python_with_requirements(record: &Value) -> PathBuf {
    PathBuf::from(
        record["gates"]["venv_python"]
            .as_str()
            .expect("the gates report names the venv python"),
    )
}

#[test]
fn one_node_walk_through() {
    walk_through("");
}

/// The same walk-through with the state in Cassandra (CQL) and the artifacts in S3, when
/// `deploy/dev/services.sh start` has exported where they are.
#[test]
fn one_node_walk_through_on_cql_and_s3() {
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
    let unique = uuid_like();
    walk_through(&format!(
        "[store]\nbackend = \"scylla\"\ncontact_points = [\"{cql}\"]\nkeyspace = \"e2e_{unique}\"\n\
         [artifacts]\nbackend = \"s3\"\nbucket = \"e2e-{unique}\"\nendpoint = \"{s3}\"\nregion = \"us-east-1\"\npath_style = true\n\
         create_bucket = true\naccess_key_id = \"test\"\nsecret_access_key = \"test\"\n"
    ));
}

fn uuid_like() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}{:x}", nanos, std::process::id())
}

fn walk_through(backends: &str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut server = Server::start(&data, backends);

    // 1. Register, login, refresh (the old refresh token is then rejected).
    let (token, refresh) = register_and_login(&server, "ada@example.com");
    let (status, rotated, _) = call(
        ureq::post(&server.url("/api/v1/auth/refresh")),
        Some(json!({"refresh_token": refresh})),
    );
    assert_eq!(status, 200, "refresh: {rotated}");
    assert_ne!(rotated["refresh_token"].as_str(), Some(refresh.as_str()));
    let (status, _, _) = call(
        ureq::post(&server.url("/api/v1/auth/refresh")),
        Some(json!({"refresh_token": refresh})),
    );
    assert_eq!(status, 401, "a rotated refresh token cannot be reused");
    let (status, me, _) = call(
        ureq::get(&server.url("/api/v1/auth/me")).set("Authorization", &bearer(&token)),
        None,
    );
    assert_eq!(
        (status, me["email"].as_str()),
        (200, Some("ada@example.com"))
    );

    // 2. A project and a validated generation, followed over SSE until completed.
    let (status, project, _) = call(
        ureq::post(&server.url("/api/v1/projects")).set("Authorization", &bearer(&token)),
        Some(json!({"name": "blog", "description": "my blog"})),
    );
    assert_eq!(status, 201, "{project}");
    let prompt = "A blog: posts have a title and a body and belong to authors; tags have a name and posts can have many tags.";
    let (status, generation, _) = create(
        &server,
        &token,
        json!({"prompt": prompt, "project_id": project["id"], "options": {"validate": true}}),
    );
    assert_eq!(status, 202, "{generation}");
    let id = generation["id"].as_str().expect("id").to_string();
    let events = sse(&server, &token, &id, None);
    let seqs: Vec<u64> = events.iter().map(|e| e.0).collect();
    assert_eq!(seqs, (1..=events.len() as u64).collect::<Vec<_>>());
    assert_eq!(
        events.last().map(|e| e.1.as_str()),
        Some("completed"),
        "{events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| e.1 == "stage_finished" && e.2["stage"] == "gates"),
        "{events:?}"
    );
    let record = wait_for(&server, &token, &id, |r| r["status"] == "completed");
    assert_eq!(record["gates"]["passed"], true, "{}", record["gates"]);
    assert!(record["review"]["score"].as_u64().is_some());

    // 3. Files, one file, and the ZIP, whose project passes its own pytest.
    let (status, files, _) = call(
        ureq::get(&server.url(&format!("/api/v1/generations/{id}/files")))
            .set("Authorization", &bearer(&token)),
        None,
    );
    assert_eq!(status, 200);
    let listing = files.as_array().expect("a list");
    assert!(
        listing
            .iter()
            .any(|f| f["path"] == "app/main.py"
                && f["sha256"].as_str().is_some_and(|s| s.len() == 64))
    );
    let main_py = ureq::get(&server.url(&format!("/api/v1/generations/{id}/files/app/main.py")))
        .set("Authorization", &bearer(&token))
        .call()
        .expect("file")
        .into_string()
        .expect("text");
    assert!(main_py.contains("FastAPI"));
    let resp = ureq::get(&server.url(&format!("/api/v1/generations/{id}/archive")))
        .set("Authorization", &bearer(&token))
        .call()
        .expect("archive");
    assert_eq!(resp.content_type(), "application/zip");
    assert!(resp
        .header("content-disposition")
        .is_some_and(|d| d.starts_with("attachment; filename=") && d.contains(".zip")));
    let mut zip_bytes = Vec::new();
    resp.into_reader()
        .read_to_end(&mut zip_bytes)
        .expect("zip body");
    let unpacked = dir.path().join("unzipped");
    zip::ZipArchive::new(std::io::Cursor::new(zip_bytes))
        .expect("a valid zip")
        .extract(&unpacked)
        .expect("unzip");
    let pytest = Command::new(python_with_requirements(&record))
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .current_dir(&unpacked)
        .output()
        .expect("pytest runs");
    assert!(
        pytest.status.success(),
        "pytest in the unzipped project:\n{}{}",
        String::from_utf8_lossy(&pytest.stdout),
        String::from_utf8_lossy(&pytest.stderr)
    );

    // 4. Refinement, then its diff against the parent.
    let (status, child, _) = create(
        &server,
        &token,
        json!({"parent_id": id, "prompt": "add a Comment entity with a body, belonging to posts; posts get a published flag"}),
    );
    assert_eq!(status, 202, "{child}");
    let child_id = child["id"].as_str().expect("id").to_string();
    let child = wait_for(&server, &token, &child_id, |r| {
        r["status"] != "queued" && r["status"] != "running"
    });
    assert_eq!(child["status"], "completed", "{child}");
    let entities: Vec<&str> = child["spec"]["entities"]
        .as_array()
        .expect("entities")
        .iter()
        .filter_map(|e| e["name"].as_str())
        .collect();
    assert!(entities.contains(&"Comment"), "{entities:?}");
    let diff = ureq::get(&server.url(&format!("/api/v1/generations/{child_id}/diff")))
        .set("Authorization", &bearer(&token))
        .call()
        .expect("diff")
        .into_string()
        .expect("text");
    assert!(
        diff.contains("+++ b/app/models/comment.py") || diff.contains("comment.py"),
        "diff mentions the new model:\n{}",
        &diff[..diff.len().min(2000)]
    );
    assert!(diff
        .lines()
        .any(|l| l.starts_with('+') && l.contains("published")));

    // 5. Free tier: this user has 2 generations; 3 more fit in the hour, the 6th gets 429.
    for n in 3..=5 {
        let (status, body, _) = create(&server, &token, json!({"prompt": "url shortener"}));
        assert_eq!(status, 202, "generation {n}: {body}");
        let gid = body["id"].as_str().expect("id").to_string();
        wait_for(&server, &token, &gid, |r| r["status"] == "completed");
    }
    let (status, body, retry_after) = create(&server, &token, json!({"prompt": "url shortener"}));
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    assert!(retry_after
        .and_then(|r| r.parse::<u64>().ok())
        .is_some_and(|s| s > 0));

    // 6. Another user sees 404, never 403.
    let (other, _) = register_and_login(&server, "eve@example.com");
    for path in [
        format!("/api/v1/generations/{id}"),
        format!("/api/v1/generations/{id}/files"),
        format!("/api/v1/generations/{id}/archive"),
    ] {
        let (status, body, _) = call(
            ureq::get(&server.url(&path)).set("Authorization", &bearer(&other)),
            None,
        );
        assert_eq!(status, 404, "{path}: {body}");
        assert_eq!(body["error"]["code"], "not_found");
    }

    // 7. kill -9 mid-generation; after a restart it completes and the stream resumes.
    let admin = Command::new(BIN)
        .args([
            "admin",
            "set-tier",
            "eve@example.com",
            "enterprise",
            "--data-dir",
        ])
        .arg(&data)
        .arg("--config")
        .arg(data.with_extension("toml"))
        .output()
        .expect("admin runs");
    assert!(
        admin.status.success(),
        "{}",
        String::from_utf8_lossy(&admin.stderr)
    );
    let (status, body, _) = create(
        &server,
        &other,
        json!({"prompt": "A library: books have a title and an isbn; members borrow books; loans have a due date.", "options": {"validate": true}}),
    );
    assert_eq!(status, 202, "{body}");
    let gid = body["id"].as_str().expect("id").to_string();
    let running = wait_for(&server, &other, &gid, |r| {
        r["stage"] == "gates" || r["status"] != "running" && r["status"] != "queued"
    });
    assert_eq!(
        running["stage"], "gates",
        "the generation must still be running when the server is killed: {running}"
    );
    let (_, seen, _) = call(
        ureq::get(&server.url(&format!("/api/v1/generations/{gid}")))
            .set("Authorization", &bearer(&other)),
        None,
    );
    assert_eq!(seen["status"], "running");
    server.kill9();
    let server = Server::start(&data, backends);
    let (status, body, _) = call(
        ureq::post(&server.url("/api/v1/auth/login")),
        Some(json!({"email": "eve@example.com", "password": "correct horse 42"})),
    );
    assert_eq!(status, 200, "users survive the restart: {body}");
    let token2 = body["access_token"].as_str().expect("token").to_string();
    let all = sse(&server, &token2, &gid, None);
    assert_eq!(
        all.last().map(|e| e.1.as_str()),
        Some("completed"),
        "{all:?}"
    );
    assert!(
        all.iter()
            .any(|e| e.1 == "log" && e.2["message"].as_str().unwrap_or("").contains("resumed")),
        "the log says it resumed"
    );
    let seqs: Vec<u64> = all.iter().map(|e| e.0).collect();
    assert_eq!(
        seqs,
        (1..=all.len() as u64).collect::<Vec<_>>(),
        "no loss or repeat across the crash"
    );
    let middle = all.len() as u64 / 2;
    let resumed = sse(&server, &token2, &gid, Some(middle));
    assert_eq!(
        resumed.first().map(|e| e.0),
        Some(middle + 1),
        "Last-Event-ID resumes right after the last id"
    );
    assert_eq!(resumed.len() as u64, all.len() as u64 - middle);
    let record = wait_for(&server, &token2, &gid, |r| r["status"] == "completed");
    assert_eq!(record["gates"]["passed"], true);
}
