//! Versioned schema migrations for the SQLite store. The SQL lives in
//! `store/migrations/sqlite/NNNN_name.sql` (append-only: never edit a released file, add the
//! next one), embedded at build time. Each pending migration runs in its own transaction
//! together with its row in `schema_migrations`, so a crash leaves every migration either
//! applied and recorded or not at all.

use super::SqliteOpenError;
use crate::StoreResult;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior};
use std::path::Path;

/// One schema step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Migration {
    /// 1, 2, 3, ... in the order they apply.
    pub version: u32,
    /// The file name without number and extension.
    pub name: &'static str,
    /// The statements.
    pub sql: &'static str,
}

/// A row of `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedMigration {
    /// The version.
    pub version: u32,
    /// The name.
    pub name: String,
    /// When it was applied (Unix milliseconds, SQLite's clock).
    pub applied_at: i64,
}

/// Every migration this build knows, in order.
pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "initial",
        sql: include_str!("../../migrations/sqlite/0001_initial.sql"),
    },
    Migration {
        version: 2,
        name: "leases",
        sql: include_str!("../../migrations/sqlite/0002_leases.sql"),
    },
];

const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    INTEGER PRIMARY KEY NOT NULL,
    name       TEXT NOT NULL,
    applied_at INTEGER NOT NULL
) STRICT";

/// Brings the file up to the newest known version; refuses a file from a newer build.
pub(super) fn apply(connection: &mut Connection, path: &Path) -> Result<(), SqliteOpenError> {
    let open_err = |source| SqliteOpenError::Open {
        path: path.to_path_buf(),
        source,
    };
    connection.execute_batch(CREATE_TABLE).map_err(open_err)?;
    let known = MIGRATIONS.last().map_or(0, |m| m.version);
    for migration in MIGRATIONS {
        let migration_err = |source| SqliteOpenError::Migration {
            path: path.to_path_buf(),
            version: migration.version,
            name: migration.name,
            source,
        };
        // IMMEDIATE takes the write lock first, so two processes opening one file at once
        // cannot both apply the same step: the second sees the first one's row.
        let transaction = connection
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(migration_err)?;
        let found: u32 = transaction
            .query_row(
                "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
                [],
                |row| row.get(0),
            )
            .map_err(open_err)?;
        if found > known {
            return Err(SqliteOpenError::NewerSchema {
                path: path.to_path_buf(),
                found,
                known,
            });
        }
        let recorded: Option<String> = transaction
            .query_row(
                "SELECT name FROM schema_migrations WHERE version = ?1",
                [migration.version],
                |row| row.get(0),
            )
            .optional()
            .map_err(open_err)?;
        match recorded {
            Some(name) if name == migration.name => continue,
            Some(name) => {
                return Err(SqliteOpenError::MigrationMismatch {
                    path: path.to_path_buf(),
                    version: migration.version,
                    found: name,
                    expected: migration.name.to_string(),
                })
            }
            None => {}
        }
        transaction
            .execute_batch(migration.sql)
            .map_err(migration_err)?;
        transaction
            .execute(
                "INSERT INTO schema_migrations (version, name, applied_at) \
                 VALUES (?1, ?2, CAST(unixepoch('subsec') * 1000 AS INTEGER))",
                rusqlite::params![migration.version, migration.name],
            )
            .map_err(migration_err)?;
        transaction.commit().map_err(migration_err)?;
        tracing::info!(path = %path.display(), version = migration.version, name = migration.name, "sqlite migration applied");
    }
    Ok(())
}

/// The rows of `schema_migrations`, oldest first.
pub(super) fn applied(connection: &rusqlite::Connection) -> StoreResult<Vec<AppliedMigration>> {
    let mut statement = connection
        .prepare_cached("SELECT version, name, applied_at FROM schema_migrations ORDER BY version")
        .map_err(super::map_error)?;
    let rows = statement
        .query_map([], |row| {
            Ok(AppliedMigration {
                version: row.get(0)?,
                name: row.get(1)?,
                applied_at: row.get(2)?,
            })
        })
        .map_err(super::map_error)?;
    rows.collect::<Result<Vec<_>, _>>()
        .map_err(super::map_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_from_one() {
        for (index, migration) in MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, index + 1, "{}", migration.name);
            assert!(!migration.sql.trim().is_empty(), "{}", migration.name);
        }
    }

    #[test]
    fn a_newer_database_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("newer.db");
        let mut connection = Connection::open(&path).unwrap();
        apply(&mut connection, &path).unwrap();
        connection
            .execute(
                "INSERT INTO schema_migrations VALUES (999, 'future', 0)",
                [],
            )
            .unwrap();
        let err = apply(&mut connection, &path).unwrap_err();
        assert!(
            matches!(err, SqliteOpenError::NewerSchema { found: 999, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("newer codebegen"), "{err}");
    }

    #[test]
    fn a_renamed_migration_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("renamed.db");
        let mut connection = Connection::open(&path).unwrap();
        apply(&mut connection, &path).unwrap();
        connection
            .execute(
                "UPDATE schema_migrations SET name = 'other' WHERE version = 1",
                [],
            )
            .unwrap();
        let err = apply(&mut connection, &path).unwrap_err();
        assert!(
            matches!(err, SqliteOpenError::MigrationMismatch { version: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn applying_twice_is_a_no_op() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("twice.db");
        let mut connection = Connection::open(&path).unwrap();
        apply(&mut connection, &path).unwrap();
        let first = applied(&connection).unwrap();
        apply(&mut connection, &path).unwrap();
        assert_eq!(applied(&connection).unwrap(), first);
        assert_eq!(first.len(), MIGRATIONS.len());
    }
}
