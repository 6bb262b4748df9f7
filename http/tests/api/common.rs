//! Test fixtures: an app on in-memory stores, request helpers, records and error-shape checks.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use codebegen_actors::lease::{takeover_interval_for, DEFAULT_LEASE_TTL};
use codebegen_actors::service::{Service, ServiceConfig, Stores};
use codebegen_http::{routes, AppState, AuthConfig, Metrics, PasswordParams};
use codebegen_schema::generation::{
    GenerationId, GenerationOptions, GenerationRecord, GenerationStatus, UserId,
};
use codebegen_store::{MemoryArtifactStore, MemoryStore};
use serde_json::{json, Value};
use warp::http::Response;
use warp::test::RequestBuilder;

pub const SECRET: &[u8] = b"test secret: 32 bytes at least!!";

pub struct App {
    pub state: AppState,
    pub stores: Stores,
}

pub async fn app() -> App {
    let memory = Arc::new(MemoryStore::new());
    let stores = Stores {
        users: memory.clone(),
        projects: memory.clone(),
        generations: memory.clone(),
        artifacts: Arc::new(MemoryArtifactStore::new()),
        leases: memory,
    };
    let config = ServiceConfig {
        node_name: "test".into(),
        stage_timeout: Duration::from_secs(30),
        gates: None,
        user_idle: Duration::from_secs(60),
        workers: 1,
        lease_ttl: DEFAULT_LEASE_TTL,
        takeover_interval: takeover_interval_for(DEFAULT_LEASE_TTL),
    };
    let service = Service::start(stores.clone(), config)
        .await
        .expect("service starts");
    let auth =
        AuthConfig::new(SECRET.to_vec()).with_password_params(PasswordParams::fast_for_tests());
    App {
        state: AppState::new(service, auth, Metrics::new()),
        stores,
    }
}

/// A signed-in user.
pub struct Session {
    pub id: UserId,
    pub access: String,
    pub refresh: String,
}

impl Session {
    pub fn bearer(&self) -> String {
        format!("Bearer {}", self.access)
    }
}

impl App {
    pub async fn send(&self, request: RequestBuilder) -> Response<Bytes> {
        request.reply(&routes(self.state.clone())).await
    }

    pub async fn post_json(
        &self,
        path: &str,
        body: Value,
        session: Option<&Session>,
    ) -> Response<Bytes> {
        let mut request = warp::test::request().method("POST").path(path).json(&body);
        if let Some(session) = session {
            request = request.header("authorization", session.bearer());
        }
        self.send(request).await
    }

    pub async fn get(&self, path: &str, session: &Session) -> Response<Bytes> {
        self.send(
            warp::test::request()
                .path(path)
                .header("authorization", session.bearer()),
        )
        .await
    }

    pub async fn register(&self, email: &str, password: &str) -> Response<Bytes> {
        self.post_json(
            "/api/v1/auth/register",
            json!({ "email": email, "password": password }),
            None,
        )
        .await
    }

    pub async fn login(&self, email: &str, password: &str) -> Response<Bytes> {
        self.post_json(
            "/api/v1/auth/login",
            json!({ "email": email, "password": password }),
            None,
        )
        .await
    }

    /// Registers and logs in.
    pub async fn session(&self, email: &str) -> Session {
        let registered = self.register(email, "password123").await;
        assert_eq!(registered.status(), 201, "{:?}", registered.body());
        let tokens = body_json(&self.login(email, "password123").await);
        let id = UserId::parse(body_json(&registered)["id"].as_str().expect("id")).expect("uuid");
        Session {
            id,
            access: tokens["access_token"].as_str().expect("access").to_string(),
            refresh: tokens["refresh_token"]
                .as_str()
                .expect("refresh")
                .to_string(),
        }
    }

    /// Stores a record as if another, live node had created it: an unfinished one is leased to
    /// "another-node" for an hour, so this node's lease watcher leaves it alone.
    pub async fn put_generation(&self, record: &GenerationRecord) {
        if !record.status.is_final() {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock after 1970")
                .as_millis() as i64;
            assert!(self
                .stores
                .leases
                .acquire_lease(record.id, "another-node", 3_600_000, now)
                .await
                .expect("lease"));
        }
        self.stores
            .generations
            .put_generation(record)
            .await
            .expect("put generation");
    }
}

pub fn body_json(response: &Response<Bytes>) -> Value {
    serde_json::from_slice(response.body())
        .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", response.body()))
}

pub fn body_text(response: &Response<Bytes>) -> String {
    String::from_utf8(response.body().to_vec()).expect("UTF-8 body")
}

/// The one error shape: exactly `{"error": {"code", "message"}}`, JSON, with the status.
pub fn assert_error(response: &Response<Bytes>, status: u16, code: &str) {
    assert_eq!(response.status(), status, "{:?}", response.body());
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body = body_json(response);
    let object = body.as_object().expect("object");
    assert_eq!(object.len(), 1, "{body}");
    let error = body["error"].as_object().expect("error object");
    assert_eq!(error.len(), 2, "{body}");
    assert_eq!(error["code"], code, "{body}");
    assert!(
        error["message"].as_str().is_some_and(|m| !m.is_empty()),
        "{body}"
    );
    if status == 401 {
        assert_eq!(
            response
                .headers()
                .get("www-authenticate")
                .map(|v| v.as_bytes()),
            Some(&b"Bearer"[..])
        );
    }
}

/// A generation record of `user` at `created_at`.
pub fn record(user: UserId, status: GenerationStatus, created_at: i64) -> GenerationRecord {
    GenerationRecord {
        id: GenerationId(uuid::Uuid::new_v4()),
        user_id: user,
        project_id: None,
        parent_id: None,
        prompt: Some("a blog with posts".into()),
        input_spec: None,
        options: GenerationOptions::default(),
        status,
        stage: None,
        progress: if status == GenerationStatus::Completed {
            100
        } else {
            0
        },
        spec: None,
        review: None,
        gates: None,
        error: None,
        created_at,
        updated_at: created_at,
        completed_at: status.is_final().then_some(created_at + 1),
    }
}
