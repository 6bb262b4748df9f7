//! The embedded store: [`SqliteStore`] keeps users, projects, generations, checkpoints and events
//! in one SQLite file.
//!
//! Durability: the file runs in WAL mode with `synchronous=NORMAL`. A write is acknowledged once
//! its transaction is committed to the write-ahead log through the OS, so an acknowledged write
//! survives the process being killed (SIGKILL, panic, OOM) at any point. It is *not* guaranteed
//! to survive a power loss or kernel crash: the last transactions before one may roll back, but
//! the database stays consistent. (`tests/crash.rs` checks the process-crash promise.)
//!
//! Concurrency: rusqlite is blocking, so every call runs on tokio's blocking pool. Writes go
//! through one connection behind a mutex; reads take a connection from a small pool of
//! read-only connections, which WAL lets run alongside the writer.
//!
//! Foreign keys are on: a refresh token needs its user, and a checkpoint or event its
//! generation (`Conflict` otherwise). Deleting a project leaves its generations alone.

mod generations;
mod leases;
mod migrate;
mod projects;
mod users;

pub use migrate::{AppliedMigration, Migration, MIGRATIONS};

use crate::{StoreError, StoreResult};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

/// How long a connection waits for another process's lock before giving up with `Unavailable`.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Idle read connections kept for reuse; more are opened under load and closed afterwards.
const MAX_IDLE_READERS: usize = 4;

/// Why a SQLite database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum SqliteOpenError {
    /// The parent directory could not be created.
    #[error("cannot create directory {path}: {source}")]
    CreateDir {
        /// The directory.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// SQLite refused to open or configure the file.
    #[error("cannot open SQLite database {path}: {source}")]
    Open {
        /// The file.
        path: PathBuf,
        /// The cause.
        source: rusqlite::Error,
    },
    /// The database was written by a newer build whose migrations this one does not know.
    #[error(
        "SQLite database {path} has schema version {found}, but this build only knows versions up to {known}; \
         run a newer codebegen (downgrades are not supported)"
    )]
    NewerSchema {
        /// The file.
        path: PathBuf,
        /// The highest version recorded in the file.
        found: u32,
        /// The highest version this build knows.
        known: u32,
    },
    /// The file records a migration under a version whose name differs from this build's.
    #[error("SQLite database {path} records migration {version} as {found:?}, but this build calls it {expected:?}")]
    MigrationMismatch {
        /// The file.
        path: PathBuf,
        /// The version.
        version: u32,
        /// The name in the file.
        found: String,
        /// The name in this build.
        expected: String,
    },
    /// A migration failed; its transaction was rolled back.
    #[error("SQLite migration {version} ({name}) failed on {path}: {source}")]
    Migration {
        /// The file.
        path: PathBuf,
        /// The version.
        version: u32,
        /// The name.
        name: &'static str,
        /// The cause.
        source: rusqlite::Error,
    },
}

impl From<SqliteOpenError> for StoreError {
    fn from(err: SqliteOpenError) -> StoreError {
        match err {
            SqliteOpenError::NewerSchema { .. } | SqliteOpenError::MigrationMismatch { .. } => {
                StoreError::Corrupt(err.to_string())
            }
            other => StoreError::Unavailable(other.to_string()),
        }
    }
}

/// Users, projects and generations in one SQLite file. Cheap to clone (shared connections).
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.inner.path)
            .finish_non_exhaustive()
    }
}

impl SqliteStore {
    /// Opens (creating it and its parent directory if needed) the database at `path` and applies
    /// the pending migrations. Blocks for file IO: call it at startup, or inside
    /// `spawn_blocking`.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, SqliteOpenError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| SqliteOpenError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let open_err = |source| SqliteOpenError::Open {
            path: path.clone(),
            source,
        };
        let mut writer = Connection::open(&path).map_err(open_err)?;
        configure(&writer, false).map_err(open_err)?;
        migrate::apply(&mut writer, &path)?;
        let reader = open_reader(&path).map_err(open_err)?;
        tracing::debug!(path = %path.display(), "sqlite store opened");
        Ok(SqliteStore {
            inner: Arc::new(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(vec![reader]),
            }),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// The migrations recorded in the file, oldest first.
    pub async fn applied_migrations(&self) -> StoreResult<Vec<AppliedMigration>> {
        self.read(migrate::applied).await
    }

    /// Runs `work` on a pooled read-only connection, off the async runtime.
    pub(crate) async fn read<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || {
            let connection = match lock(&inner.readers).pop() {
                Some(connection) => connection,
                None => open_reader(&inner.path).map_err(map_error)?,
            };
            let result = work(&connection);
            let mut idle = lock(&inner.readers);
            if idle.len() < MAX_IDLE_READERS {
                idle.push(connection);
            }
            result
        })
        .await
    }

    /// Runs `work` on the single write connection, off the async runtime.
    pub(crate) async fn write<T, F>(&self, work: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        run_blocking(move || work(&mut lock(&inner.writer))).await
    }
}

async fn run_blocking<T, F>(work: F) -> StoreResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> StoreResult<T> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|err| StoreError::Corrupt(format!("a SQLite task did not finish: {err}")))?
}

/// Locks a mutex, recovering from poisoning: a panic mid-transaction rolls the transaction back
/// when it unwinds, so the connection is still sound.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_ONLY
        | OpenFlags::SQLITE_OPEN_NO_MUTEX
        | OpenFlags::SQLITE_OPEN_URI;
    let connection = Connection::open_with_flags(path, flags)?;
    configure(&connection, true)?;
    Ok(connection)
}

fn configure(connection: &Connection, read_only: bool) -> rusqlite::Result<()> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    if !read_only {
        // WAL is a property of the file; readers see it once the writer has set it.
        let mode: String =
            connection.pragma_update_and_check(None, "journal_mode", "wal", |row| row.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            let code = rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CANTOPEN);
            return Err(rusqlite::Error::SqliteFailure(
                code,
                Some(format!("journal_mode stayed {mode}, not wal")),
            ));
        }
    }
    connection.pragma_update(None, "synchronous", "NORMAL")?;
    connection.pragma_update(None, "foreign_keys", "ON")?;
    connection.set_prepared_statement_cache_capacity(64);
    Ok(())
}

/// Maps a rusqlite error to the store's causes: constraint violations are conflicts, a damaged
/// file or undecodable value is corruption, everything else (busy, locked, IO, full disk) is
/// unavailability.
pub(crate) fn map_error(err: rusqlite::Error) -> StoreError {
    use rusqlite::ErrorCode;
    match &err {
        rusqlite::Error::SqliteFailure(failure, _) => match failure.code {
            ErrorCode::ConstraintViolation => StoreError::Conflict(err.to_string()),
            ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase => {
                StoreError::Corrupt(err.to_string())
            }
            _ => StoreError::Unavailable(err.to_string()),
        },
        _ => StoreError::Corrupt(err.to_string()),
    }
}

/// Serialises a record for the `record` column.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    serde_json::to_string(value)
        .map_err(|err| StoreError::Corrupt(format!("cannot encode record: {err}")))
}

/// Decodes a `record` column.
pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    serde_json::from_str(text)
        .map_err(|err| StoreError::Corrupt(format!("cannot decode stored record: {err}")))
}

/// A stored u64 (seq) as SQLite's i64.
pub(crate) fn to_i64(value: u64) -> StoreResult<i64> {
    i64::try_from(value).map_err(|_| StoreError::Conflict(format!("{value} is too large to store")))
}

/// Runs a query whose only column is `record` and decodes every row.
pub(crate) fn records<T: serde::de::DeserializeOwned>(
    connection: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> StoreResult<Vec<T>> {
    let mut statement = connection.prepare_cached(sql).map_err(map_error)?;
    let rows = statement
        .query_map(params, |row| row.get::<_, String>(0))
        .map_err(map_error)?;
    let mut items = Vec::new();
    for row in rows {
        items.push(from_json(&row.map_err(map_error)?)?);
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::GenerationStore;
    use rusqlite::ffi;

    fn check(err: rusqlite::Error, expected: fn(&StoreError) -> bool) {
        let text = err.to_string();
        let mapped = map_error(err);
        assert!(expected(&mapped), "{text} mapped to {mapped:?}");
    }

    fn failure(code: std::ffi::c_int) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(ffi::Error::new(code), None)
    }

    #[test]
    fn errors_map_to_their_causes() {
        check(failure(ffi::SQLITE_BUSY), |e| {
            matches!(e, StoreError::Unavailable(_))
        });
        check(failure(ffi::SQLITE_LOCKED), |e| {
            matches!(e, StoreError::Unavailable(_))
        });
        check(failure(ffi::SQLITE_IOERR), |e| {
            matches!(e, StoreError::Unavailable(_))
        });
        check(failure(ffi::SQLITE_FULL), |e| {
            matches!(e, StoreError::Unavailable(_))
        });
        check(failure(ffi::SQLITE_CONSTRAINT), |e| {
            matches!(e, StoreError::Conflict(_))
        });
        check(failure(ffi::SQLITE_CORRUPT), |e| {
            matches!(e, StoreError::Corrupt(_))
        });
        check(failure(ffi::SQLITE_NOTADB), |e| {
            matches!(e, StoreError::Corrupt(_))
        });
        check(
            rusqlite::Error::InvalidColumnType(
                0,
                "record".to_string(),
                rusqlite::types::Type::Integer,
            ),
            |e| matches!(e, StoreError::Corrupt(_)),
        );
    }

    #[tokio::test]
    async fn an_undecodable_record_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("corrupt.db")).unwrap();
        let id = codebegen_schema::generation::GenerationId(uuid::Uuid::new_v4());
        store
            .write(move |connection| {
                connection
                    .execute(
                        "INSERT INTO generations (id, user_id, status, created_at, record) \
                         VALUES (?1, 'u', 'queued', 0, '{\"not\": \"a generation\"}')",
                        [id.to_string()],
                    )
                    .map_err(map_error)
            })
            .await
            .unwrap();
        let err = store.get_generation(id).await.unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(_)), "{err:?}");
    }

    #[tokio::test]
    async fn events_and_checkpoints_need_their_generation() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("fk.db")).unwrap();
        let event = codebegen_schema::generation::GenerationEvent {
            generation_id: codebegen_schema::generation::GenerationId(uuid::Uuid::new_v4()),
            seq: 1,
            kind: codebegen_schema::generation::EventKind::Log,
            data: serde_json::Value::Null,
            at: 0,
        };
        let err = store.append_event(&event).await.unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    }
}
