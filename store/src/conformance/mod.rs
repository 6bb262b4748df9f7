//! The conformance suite: behaviour every store implementation must show, whatever its
//! technology. Each function runs many checks against a live store and panics with a message
//! naming the broken promise. Every run uses fresh random ids (and artifact keys under a fresh
//! prefix), so the suite can run again and again against a persistent server, and alongside
//! other data.
//!
//! Call it from an integration test of the implementation:
//!
//! ```no_run
//! # async fn demo() {
//! let store = codebegen_store::MemoryStore::new();
//! codebegen_store::conformance::user_store(&store).await;
//! codebegen_store::conformance::project_store(&store).await;
//! codebegen_store::conformance::generation_store(&store).await;
//! codebegen_store::conformance::detached_generations(&store, &store).await;
//! codebegen_store::conformance::lease_store(&store).await;
//! # }
//! ```
//!
//! The suite needs a multi-threaded tokio runtime only in the sense that it runs a few calls
//! concurrently with `tokio::join!`; a current-thread runtime works too.

mod artifacts;
mod events;
mod generations;
mod leases;
mod projects;
mod users;

pub use artifacts::artifact_store;
pub use generations::{detached_generations, generation_store};
pub use leases::lease_store;
pub use projects::project_store;
pub use users::user_store;

use crate::{Page, StoreError, StoreResult};
use codebegen_schema::generation::{
    ErrorBody, ErrorCode, GenerationId, GenerationOptions, GenerationRecord, GenerationStatus,
    ProjectId, ProjectRecord, Stage, UnixMillis, UserId,
};
use codebegen_schema::spec::{
    AppSpec, Auth, Database, Entity, Field, FieldType, Options, Relation, RelationKind,
};
use std::fmt::Debug;
use std::future::Future;

/// A fixed point in time the suite's records are placed around (2023-11-14). Times are
/// parameters everywhere; ids keep runs apart.
pub(crate) const T0: UnixMillis = 1_700_000_000_000;

/// Unwraps a store result, or fails naming the step.
#[track_caller]
pub(crate) fn ok<T>(result: StoreResult<T>, step: &str) -> T {
    match result {
        Ok(value) => value,
        Err(err) => panic!("{step}: expected success, got error: {err}"),
    }
}

/// Fails unless the result is a `Conflict`.
#[track_caller]
pub(crate) fn conflict<T: Debug>(result: StoreResult<T>, step: &str) {
    match result {
        Err(StoreError::Conflict(_)) => {}
        other => panic!("{step}: expected StoreError::Conflict, got {other:?}"),
    }
}

/// Fresh ids.
pub(crate) fn user_id() -> UserId {
    UserId(uuid::Uuid::new_v4())
}

pub(crate) fn project_id() -> ProjectId {
    ProjectId(uuid::Uuid::new_v4())
}

pub(crate) fn generation_id() -> GenerationId {
    GenerationId(uuid::Uuid::new_v4())
}

/// A project of `user` created at `created_at`.
pub(crate) fn project(user: UserId, created_at: UnixMillis) -> ProjectRecord {
    ProjectRecord {
        id: project_id(),
        user_id: user,
        name: format!("project at {created_at}"),
        description: "A project made by the conformance suite.".to_string(),
        created_at,
    }
}

/// A minimal queued generation.
pub(crate) fn generation(
    user: UserId,
    project: Option<ProjectId>,
    created_at: UnixMillis,
) -> GenerationRecord {
    GenerationRecord {
        id: generation_id(),
        user_id: user,
        project_id: project,
        parent_id: None,
        prompt: Some("A todo app with users and tasks".to_string()),
        input_spec: None,
        options: GenerationOptions::default(),
        status: GenerationStatus::Queued,
        stage: None,
        progress: 0,
        spec: None,
        review: None,
        gates: None,
        error: None,
        created_at,
        updated_at: created_at,
        completed_at: None,
    }
}

/// A generation with every optional part filled, including floats, unicode and nested JSON.
pub(crate) fn full_generation(
    user: UserId,
    project: ProjectId,
    created_at: UnixMillis,
) -> GenerationRecord {
    let mut price = Field::new("price", FieldType::Decimal);
    price.min = Some(0.1);
    price.max = Some(99_999.99);
    price.default = Some(serde_json::json!(9.95));
    let mut status = Field::new("status", FieldType::Enum);
    status.enum_values = Some(vec!["draft".to_string(), "published".to_string()]);
    let mut title = Field::new("title", FieldType::String);
    title.max_length = Some(200);
    title.unique = true;
    let mut notes = Field::new("notes", FieldType::Text);
    notes.required = false;
    let spec = AppSpec {
        version: 1,
        name: "shop_api".to_string(),
        description: "Ein Laden — a shop with ünïcödé, \"quotes\" and \\ backslashes".to_string(),
        entities: vec![
            Entity {
                name: "Product".to_string(),
                table: "products".to_string(),
                fields: vec![title, price, status, notes],
            },
            Entity {
                name: "Order".to_string(),
                table: "orders".to_string(),
                fields: vec![Field::new("placed_at", FieldType::Datetime)],
            },
        ],
        relations: vec![Relation {
            kind: RelationKind::ManyToOne,
            from: "Order".to_string(),
            to: "Product".to_string(),
            field: "product_id".to_string(),
            required: true,
            on_delete: codebegen_schema::spec::OnDelete::Restrict,
        }],
        auth: Auth {
            enabled: true,
            roles: vec!["admin".to_string(), "customer".to_string()],
        },
        options: Options {
            db: Database::Postgresql,
            stack: "fastapi-sqlalchemy".to_string(),
        },
    };
    GenerationRecord {
        id: generation_id(),
        user_id: user,
        project_id: Some(project),
        parent_id: Some(generation_id()),
        prompt: Some("A shop: products (title, price ≥ 0.1) and orders. 🛒".to_string()),
        input_spec: Some(
            serde_json::json!({ "name": "shop_api", "entities": [], "extra": { "n": -1, "x": 0.5 } }),
        ),
        options: GenerationOptions {
            db: Some(Database::Mysql),
            validate: true,
        },
        status: GenerationStatus::Failed,
        stage: Some(Stage::Gates),
        progress: 83,
        spec: Some(spec),
        review: Some(serde_json::json!({
            "score": 91,
            "findings": [{ "file": "app/main.py", "line": 12, "rule": "S101", "message": "assert used" }],
            "ratio": 0.125
        })),
        gates: Some(serde_json::json!({
            "passed": false,
            "gates": [{ "name": "pytest", "status": "failed", "duration_ms": 1234, "tail": "E   assert 1 == 2\n" }]
        })),
        error: Some(ErrorBody {
            code: ErrorCode::Timeout,
            message: "The gates ran past their time limit.".to_string(),
        }),
        created_at,
        updated_at: created_at + 5_000,
        completed_at: Some(created_at + 5_000),
    }
}

/// Reads every page of a listing with page size `limit`, checking the page shape, and calls
/// `between_pages` after the first page (to insert concurrently with paging).
pub(crate) async fn all_pages<T, F, Fut>(
    step: &str,
    limit: u32,
    mut fetch: F,
    between_pages: impl Future<Output = ()>,
) -> Vec<T>
where
    F: FnMut(Option<String>) -> Fut,
    Fut: Future<Output = StoreResult<Page<T>>>,
{
    let mut items = Vec::new();
    let mut cursor = None;
    let mut between_pages = Some(between_pages);
    for page_index in 0.. {
        assert!(page_index < 10_000, "{step}: paging never ends");
        let page = ok(fetch(cursor.take()).await, step);
        assert!(
            page.items.len() <= limit as usize,
            "{step}: page {page_index} has {} items, limit {limit}",
            page.items.len()
        );
        let page_len = page.items.len();
        items.extend(page.items);
        match page.next_cursor {
            Some(next) => {
                assert_eq!(
                    page_len, limit as usize,
                    "{step}: page {page_index} is short but has a next cursor"
                );
                cursor = Some(next);
            }
            None => break,
        }
        if let Some(between) = between_pages.take() {
            between.await;
        }
    }
    items
}
