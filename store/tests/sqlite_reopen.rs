//! Opening the SQLite store again: migrations are a no-op, data and the migration log persist,
//! and files it cannot use are refused with a clear error.

use codebegen_schema::generation::{
    GenerationId, GenerationOptions, GenerationRecord, GenerationStatus, UserId,
};
use codebegen_store::sqlite::MIGRATIONS;
use codebegen_store::{GenerationStore, SqliteOpenError, SqliteStore};

fn record() -> GenerationRecord {
    GenerationRecord {
        id: GenerationId(uuid::Uuid::new_v4()),
        user_id: UserId(uuid::Uuid::new_v4()),
        project_id: None,
        parent_id: None,
        prompt: Some("a blog".to_string()),
        input_spec: None,
        options: GenerationOptions::default(),
        status: GenerationStatus::Queued,
        stage: None,
        progress: 0,
        spec: None,
        review: None,
        gates: None,
        error: None,
        created_at: 1,
        updated_at: 1,
        completed_at: None,
    }
}

#[tokio::test]
async fn reopening_is_a_no_op_and_lists_every_migration() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("store.db");
    let store = SqliteStore::open(&path).unwrap();
    let applied = store.applied_migrations().await.unwrap();
    let versions: Vec<(u32, &str)> = applied
        .iter()
        .map(|m| (m.version, m.name.as_str()))
        .collect();
    let known: Vec<(u32, &str)> = MIGRATIONS.iter().map(|m| (m.version, m.name)).collect();
    assert_eq!(
        versions, known,
        "the migrations table must list every known migration, in order"
    );
    assert!(
        applied.iter().all(|m| m.applied_at > 1_600_000_000_000),
        "applied_at is Unix milliseconds: {applied:?}"
    );

    let saved = record();
    store.put_generation(&saved).await.unwrap();
    drop(store);

    for _ in 0..2 {
        let reopened = SqliteStore::open(&path).unwrap();
        assert_eq!(
            reopened.applied_migrations().await.unwrap(),
            applied,
            "reopening must not apply or re-record migrations"
        );
        assert_eq!(
            reopened.get_generation(saved.id).await.unwrap(),
            Some(saved.clone()),
            "data must survive reopening"
        );
    }

    let connection = rusqlite::Connection::open(&path).unwrap();
    let mode: String = connection
        .query_row("PRAGMA journal_mode", [], |row| row.get(0))
        .unwrap();
    assert_eq!(mode, "wal", "the file must be in WAL mode");
}

#[test]
fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.db");
    drop(SqliteStore::open(&path).unwrap());
    let connection = rusqlite::Connection::open(&path).unwrap();
    connection.execute("INSERT INTO schema_migrations (version, name, applied_at) VALUES (9999, 'from_the_future', 0)", []).unwrap();
    drop(connection);

    let err = SqliteStore::open(&path).unwrap_err();
    let known = MIGRATIONS.last().unwrap().version;
    assert!(
        matches!(err, SqliteOpenError::NewerSchema { found: 9999, known: k, .. } if k == known),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.contains("9999") && message.contains("newer codebegen"),
        "the error must say what to do: {message}"
    );
}

#[test]
fn a_file_that_is_not_a_database_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbage.db");
    std::fs::write(&path, vec![0x5a; 8192]).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, SqliteOpenError::Open { .. }), "{err:?}");
}
