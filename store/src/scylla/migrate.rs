//! Versioned CQL migrations for the Scylla store. The CQL lives in `schema/cql/NNNN_name.cql`
//! (append-only), embedded at build time. At start-up the keyspace is created if missing, then
//! one node at a time (a lock row taken with a lightweight transaction, with a TTL so a crashed
//! node cannot hold it forever) applies the pending migrations and records each in
//! `schema_migrations`. Migration statements are idempotent (`IF NOT EXISTS`), so a migration
//! cut short by a crash is simply applied again.

use super::{schema_error, ScyllaConfig, ScyllaOpenError};
use scylla::client::session::Session;
use scylla::statement::Statement;
use scylla::value::CqlValue;
use std::time::{Duration, Instant};

/// One schema step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CqlMigration {
    /// 1, 2, 3, ... in the order they apply.
    pub version: u32,
    /// The file name without number and extension.
    pub name: &'static str,
    /// The statements, separated by `;` at the end of a line.
    pub cql: &'static str,
}

/// A row of `schema_migrations`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppliedCqlMigration {
    /// The version.
    pub version: u32,
    /// The name.
    pub name: String,
}

/// Every migration this build knows, in order.
pub const CQL_MIGRATIONS: &[CqlMigration] = &[CqlMigration {
    version: 1,
    name: "init",
    cql: include_str!("../../../schema/cql/0001_init.cql"),
}];

/// Version 0 is the lock row; migrations start at 1.
const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS schema_migrations (
    version    int PRIMARY KEY,
    name       text,
    owner      text,
    applied_at timestamp
)";

/// The lock lapses on its own if its holder dies mid-migration.
const LOCK_TTL_S: u32 = 120;

/// Names the keyspace in a statement's table references (`INSERT INTO t` becomes `INSERT INTO
/// ks.t`), so no session ever runs `USE`, which Cassandra flags for prepared statements. The
/// store's CQL writes keywords in upper case and one table per statement.
pub(crate) fn qualify(cql: &str, keyspace: &str) -> String {
    const REFERENCES: [&str; 6] = [
        "CREATE TABLE IF NOT EXISTS ",
        "ALTER TABLE ",
        "DROP TABLE IF EXISTS ",
        "INSERT INTO ",
        "UPDATE ",
        " FROM ",
    ];
    let mut qualified = cql.to_string();
    for reference in REFERENCES {
        qualified = qualified.replace(reference, &format!("{reference}{keyspace}."));
    }
    qualified
}

/// Splits a migration file into statements: `--` comments dropped, split at `;`.
pub(crate) fn statements(cql: &str) -> Vec<String> {
    let without_comments: String = cql
        .lines()
        .map(|line| line.split_once("--").map_or(line, |(code, _)| code))
        .collect::<Vec<_>>()
        .join("\n");
    without_comments
        .split(';')
        .map(str::trim)
        .filter(|statement| !statement.is_empty())
        .map(str::to_string)
        .collect()
}

/// Creates the keyspace when it is missing (an existing one keeps its replication: changing it
/// needs a repair, which is an operator's decision).
pub(super) async fn create_keyspace(
    session: &Session,
    config: &ScyllaConfig,
) -> Result<(), ScyllaOpenError> {
    let cql = format!(
        "CREATE KEYSPACE IF NOT EXISTS {} WITH replication = {}",
        config.keyspace,
        config.replication.cql()
    );
    session
        .query_unpaged(cql, ())
        .await
        .map_err(|err| schema_error(config, "CREATE KEYSPACE", err))?;
    Ok(())
}

/// Brings the keyspace (already the session's) up to the newest known version.
pub(super) async fn apply(session: &Session, config: &ScyllaConfig) -> Result<(), ScyllaOpenError> {
    run(
        session,
        config,
        CREATE_TABLE,
        "CREATE TABLE schema_migrations",
    )
    .await?;
    let known = CQL_MIGRATIONS.last().map_or(0, |m| m.version);
    let recorded = applied(session, &config.keyspace)
        .await
        .map_err(|err| schema_error(config, "reading schema_migrations", err))?;
    if check_recorded(config, &recorded, known)? {
        return Ok(());
    }
    let owner = uuid::Uuid::new_v4().to_string();
    lock(session, config, &owner).await?;
    let outcome = apply_locked(session, config, known).await;
    let unlock = Statement::new(qualify(
        "DELETE FROM schema_migrations WHERE version = 0 IF owner = ?",
        &config.keyspace,
    ));
    if let Err(err) = session.query_unpaged(unlock, (owner.as_str(),)).await {
        tracing::warn!(error = %err, "could not release the CQL migration lock; it lapses in {LOCK_TTL_S} s");
    }
    outcome
}

/// Checks the recorded migrations against this build; true when nothing is pending.
fn check_recorded(
    config: &ScyllaConfig,
    recorded: &[AppliedCqlMigration],
    known: u32,
) -> Result<bool, ScyllaOpenError> {
    if let Some(found) = recorded
        .iter()
        .map(|m| m.version)
        .max()
        .filter(|v| *v > known)
    {
        return Err(ScyllaOpenError::NewerSchema {
            keyspace: config.keyspace.clone(),
            found,
            known,
        });
    }
    for migration in recorded {
        let expected = CQL_MIGRATIONS
            .iter()
            .find(|m| m.version == migration.version);
        if let Some(expected) = expected.filter(|m| m.name != migration.name) {
            return Err(ScyllaOpenError::MigrationMismatch {
                keyspace: config.keyspace.clone(),
                version: migration.version,
                found: migration.name.clone(),
                expected: expected.name.to_string(),
            });
        }
    }
    Ok(CQL_MIGRATIONS
        .iter()
        .all(|m| recorded.iter().any(|r| r.version == m.version)))
}

async fn apply_locked(
    session: &Session,
    config: &ScyllaConfig,
    known: u32,
) -> Result<(), ScyllaOpenError> {
    // Read again under the lock: another node may have finished meanwhile.
    let recorded = applied(session, &config.keyspace)
        .await
        .map_err(|err| schema_error(config, "reading schema_migrations", err))?;
    check_recorded(config, &recorded, known)?;
    for migration in CQL_MIGRATIONS {
        if recorded.iter().any(|r| r.version == migration.version) {
            continue;
        }
        let step = format!("migration {} ({})", migration.version, migration.name);
        for statement in statements(migration.cql) {
            run(session, config, &statement, &step).await?;
        }
        let record = Statement::new(qualify(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, toTimestamp(now()))",
            &config.keyspace,
        ));
        let version = i32::try_from(migration.version).unwrap_or(i32::MAX);
        session
            .query_unpaged(record, (version, migration.name))
            .await
            .map_err(|err| schema_error(config, &step, err))?;
        tracing::info!(keyspace = %config.keyspace, version = migration.version, name = migration.name, "CQL migration applied");
    }
    Ok(())
}

async fn run(
    session: &Session,
    config: &ScyllaConfig,
    cql: &str,
    step: &str,
) -> Result<(), ScyllaOpenError> {
    let mut statement = Statement::new(qualify(cql, &config.keyspace));
    // Schema changes can take longer than data requests on a busy cluster.
    statement.set_request_timeout(Some(config.request_timeout.max(Duration::from_secs(30))));
    session
        .query_unpaged(statement, ())
        .await
        .map_err(|err| schema_error(config, step, err))?;
    Ok(())
}

/// Takes the migration lock, polling until `migration_lock_timeout`.
async fn lock(
    session: &Session,
    config: &ScyllaConfig,
    owner: &str,
) -> Result<(), ScyllaOpenError> {
    let cql = qualify(
        &format!("INSERT INTO schema_migrations (version, name, owner) VALUES (0, 'lock', ?) IF NOT EXISTS USING TTL {LOCK_TTL_S}"),
        &config.keyspace,
    );
    let started = Instant::now();
    loop {
        let result = session
            .query_unpaged(Statement::new(cql.as_str()), (owner,))
            .await
            .map_err(|err| schema_error(config, "taking the migration lock", err))?;
        let applied = result
            .into_rows_result()
            .ok()
            .and_then(|rows| rows.first_row::<scylla::value::Row>().ok())
            .and_then(|row| row.columns.into_iter().next().flatten());
        if applied == Some(CqlValue::Boolean(true)) {
            return Ok(());
        }
        if started.elapsed() >= config.migration_lock_timeout {
            return Err(schema_error(
                config,
                "taking the migration lock",
                format!(
                    "another node held it for {:?}; if none is migrating, it lapses within {LOCK_TTL_S} s",
                    config.migration_lock_timeout
                ),
            ));
        }
        // Polling a lock held by another node: wait a little before asking again.
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// The recorded migrations, oldest first (a full scan of a table of a few rows).
pub(super) async fn applied(
    session: &Session,
    keyspace: &str,
) -> Result<Vec<AppliedCqlMigration>, scylla::errors::ExecutionError> {
    let result = session
        .query_unpaged(
            qualify("SELECT version, name FROM schema_migrations", keyspace),
            (),
        )
        .await?;
    let mut migrations = Vec::new();
    if let Ok(rows) = result.into_rows_result() {
        if let Ok(iter) = rows.rows::<(i32, Option<String>)>() {
            for (version, name) in iter.flatten() {
                if let Ok(version) = u32::try_from(version) {
                    if version > 0 {
                        migrations.push(AppliedCqlMigration {
                            version,
                            name: name.unwrap_or_default(),
                        });
                    }
                }
            }
        }
    }
    migrations.sort_by_key(|m| m.version);
    Ok(migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn migrations_are_numbered_in_order_from_one() {
        for (index, migration) in CQL_MIGRATIONS.iter().enumerate() {
            assert_eq!(migration.version as usize, index + 1, "{}", migration.name);
            assert!(!statements(migration.cql).is_empty(), "{}", migration.name);
        }
    }

    #[test]
    fn statements_split_at_semicolons_without_comments() {
        let cql = "-- a comment; with a semicolon\nCREATE TABLE a (x int PRIMARY KEY);\n\n\
                   CREATE TABLE b (\n  y int PRIMARY KEY -- trailing\n);\n";
        assert_eq!(
            statements(cql),
            vec![
                "CREATE TABLE a (x int PRIMARY KEY)".to_string(),
                "CREATE TABLE b (\n  y int PRIMARY KEY \n)".to_string()
            ]
        );
    }

    #[test]
    fn every_statement_names_its_keyspace_once() {
        for migration in CQL_MIGRATIONS {
            for statement in statements(migration.cql) {
                let qualified = qualify(&statement, "ks");
                assert_eq!(qualified.matches(" ks.").count(), 1, "{qualified}");
            }
        }
        assert_eq!(
            qualify("DELETE FROM t WHERE a = ? IF b = ?", "ks"),
            "DELETE FROM ks.t WHERE a = ? IF b = ?"
        );
        assert_eq!(
            qualify("UPDATE t SET a = ? WHERE b = ? IF EXISTS", "ks"),
            "UPDATE ks.t SET a = ? WHERE b = ? IF EXISTS"
        );
    }

    #[test]
    fn the_schema_is_portable_cql() {
        for migration in CQL_MIGRATIONS {
            let upper = migration.cql.to_uppercase();
            for banned in [
                "ALLOW FILTERING",
                "MATERIALIZED VIEW",
                "CREATE INDEX",
                "CUSTOM INDEX",
                "COMPACT STORAGE",
                "TABLETS",
                "CDC",
                "STORAGEATTACHEDINDEX",
            ] {
                let code: String = statements(&upper).join(";");
                assert!(!code.contains(banned), "{} uses {banned}", migration.name);
            }
            for statement in statements(migration.cql) {
                assert!(
                    statement.contains("IF NOT EXISTS"),
                    "every statement must be idempotent: {statement}"
                );
            }
        }
    }
}
