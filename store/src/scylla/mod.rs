//! [`ScyllaStore`]: users, projects, generations, checkpoints, the event log and generation
//! leases in ScyllaDB or Apache Cassandra (CQL protocol v4, the `scylla` driver).
//!
//! Data model (the CQL is in `schema/cql/`): one table per query, every query naming a whole
//! partition key, so nothing needs `ALLOW FILTERING`. A user's generations are listed through
//! index tables bucketed by 30 days of `created_at` and walked newest bucket first; the event log
//! is bucketed by 1000 seqs; generations not yet final sit in a fixed set of shards. Unique
//! e-mails, refresh-token rotation, event appends and leases use lightweight transactions
//! (`IF ...`), whose results are read untyped, column 0 only (Cassandra returns `[applied]` alone
//! where ScyllaDB adds the old row). Every other write is an idempotent upsert keyed by ids.
//!
//! Failures: every request has a client-side timeout ([`ScyllaConfig::request_timeout`]) and
//! goes through [`StoreRetryPolicy`], which retries by the kind of error and never retries a
//! write whose outcome is unknown unless it is idempotent. A timeout, a lost connection or too
//! few live replicas is [`StoreError::Unavailable`]; opening fails with a [`ScyllaOpenError`]
//! that names the contact points, within [`ScyllaConfig::connect_timeout`] per attempt.

mod config;
mod events;
mod generations;
mod leases;
mod migrate;
mod projects;
mod retry;
mod statements;
mod users;

pub use config::{valid_keyspace, Replication, ScyllaConfig, ScyllaOpenError};
pub use migrate::{AppliedCqlMigration, CqlMigration, CQL_MIGRATIONS};
pub use retry::StoreRetryPolicy;

use crate::{StoreError, StoreResult};
use scylla::client::execution_profile::ExecutionProfile;
use scylla::client::session::Session;
use scylla::client::session_builder::SessionBuilder;
use scylla::deserialize::row::DeserializeRow;
use scylla::errors::{ExecutionError, PagerExecutionError};
use scylla::response::query_result::QueryResult;
use scylla::serialize::row::SerializeRow;
use scylla::statement::batch::Batch;
use scylla::statement::prepared::PreparedStatement;
use scylla::statement::{Consistency, SerialConsistency};
use scylla::value::{CqlValue, Row};
use statements::Statements;
use std::fmt;
use std::sync::Arc;
use std::time::Duration;

/// The store. Cheap to clone (one shared session with its connection pools).
#[derive(Clone)]
pub struct ScyllaStore {
    inner: Arc<Inner>,
}

struct Inner {
    session: Session,
    statements: Statements,
    config: ScyllaConfig,
}

impl fmt::Debug for ScyllaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScyllaStore")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl ScyllaStore {
    /// Connects, creates the keyspace if it is missing, applies the pending migrations (one node
    /// at a time, under a lock row) and prepares every statement. Never waits longer than the
    /// configured timeouts for an unreachable cluster.
    pub async fn open(config: ScyllaConfig) -> Result<ScyllaStore, ScyllaOpenError> {
        config.check().map_err(ScyllaOpenError::Config)?;
        let session = connect(&config).await?;
        migrate::create_keyspace(&session, &config).await?;
        migrate::apply(&session, &config).await?;
        let statements = Statements::prepare(&session, &config.keyspace)
            .await
            .map_err(|err| schema_error(&config, "preparing statements", err))?;
        tracing::info!(keyspace = %config.keyspace, contact_points = ?config.contact_points, "scylla store opened");
        Ok(ScyllaStore {
            inner: Arc::new(Inner {
                session,
                statements,
                config,
            }),
        })
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &ScyllaConfig {
        &self.inner.config
    }

    /// The migrations recorded in the keyspace, oldest first.
    pub async fn applied_migrations(&self) -> StoreResult<Vec<AppliedCqlMigration>> {
        migrate::applied(&self.inner.session, &self.inner.config.keyspace)
            .await
            .map_err(|err| StoreError::Unavailable(err.to_string()))
    }

    fn st(&self) -> &Statements {
        &self.inner.statements
    }

    /// Runs a prepared statement (one page), bounded by the request timeout.
    async fn exec(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow + Send,
    ) -> StoreResult<QueryResult> {
        let limit = self.inner.config.request_timeout + Duration::from_secs(1);
        match tokio::time::timeout(limit, self.inner.session.execute_unpaged(statement, values))
            .await
        {
            Ok(result) => result.map_err(|err| map_execution(statement.get_statement(), err)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "Scylla/Cassandra did not answer within {limit:?}: {}",
                statement.get_statement()
            ))),
        }
    }

    /// The rows of one unpaged request (statements with a `LIMIT` or a small partition).
    async fn rows<R>(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow + Send,
    ) -> StoreResult<Vec<R>>
    where
        R: for<'f, 'm> DeserializeRow<'f, 'm>,
    {
        let result = self.exec(statement, values).await?;
        let rows = result
            .into_rows_result()
            .map_err(|err| corrupt(statement, err))?;
        let typed = rows.rows::<R>().map_err(|err| corrupt(statement, err))?;
        typed
            .collect::<Result<Vec<R>, _>>()
            .map_err(|err| corrupt(statement, err))
    }

    /// The first row, if any.
    async fn first<R>(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow + Send,
    ) -> StoreResult<Option<R>>
    where
        R: for<'f, 'm> DeserializeRow<'f, 'm>,
    {
        Ok(self.rows(statement, values).await?.into_iter().next())
    }

    /// Every row, page by page (for partitions without a natural `LIMIT`).
    async fn all_rows<R>(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow + Send,
    ) -> StoreResult<Vec<R>>
    where
        R: for<'f, 'm> DeserializeRow<'f, 'm> + Send + 'static,
    {
        use futures_util::TryStreamExt;
        let limit = self.inner.config.request_timeout + Duration::from_secs(1);
        let work = async {
            let pager = self
                .inner
                .session
                .execute_iter(statement.clone(), values)
                .await
                .map_err(|err| map_pager(statement.get_statement(), err))?;
            let stream = pager
                .rows_stream::<R>()
                .map_err(|err| corrupt(statement, err))?;
            stream.try_collect::<Vec<R>>().await.map_err(|err| {
                StoreError::Unavailable(format!("{err}: {}", statement.get_statement()))
            })
        };
        tokio::time::timeout(limit * 4, work).await.map_err(|_| {
            StoreError::Unavailable(format!(
                "Scylla/Cassandra did not finish paging within {:?}: {}",
                limit * 4,
                statement.get_statement()
            ))
        })?
    }

    /// Runs a batch of prepared statements, bounded by the request timeout.
    async fn batch(
        &self,
        batch: &Batch,
        values: Vec<Box<dyn SerializeRow + Send + Sync>>,
    ) -> StoreResult<()> {
        let limit = self.inner.config.request_timeout + Duration::from_secs(1);
        match tokio::time::timeout(limit, self.inner.session.batch(batch, values)).await {
            Ok(result) => result
                .map(|_| ())
                .map_err(|err| map_execution("a batch", err)),
            Err(_) => Err(StoreError::Unavailable(format!(
                "Scylla/Cassandra did not answer a batch within {limit:?}"
            ))),
        }
    }

    /// Runs a lightweight transaction and says whether it applied (column 0 of an untyped row,
    /// the one portable part of an LWT result).
    async fn applied(
        &self,
        statement: &PreparedStatement,
        values: impl SerializeRow + Send,
    ) -> StoreResult<bool> {
        let row: Option<Row> = self.first(statement, values).await?;
        match row.as_ref().and_then(|row| row.columns.first()) {
            Some(Some(CqlValue::Boolean(applied))) => Ok(*applied),
            other => Err(StoreError::Corrupt(format!(
                "a lightweight transaction returned {other:?} instead of [applied]: {}",
                statement.get_statement()
            ))),
        }
    }
}

/// Builds the session, bounded as a whole.
async fn connect(config: &ScyllaConfig) -> Result<Session, ScyllaOpenError> {
    let profile = ExecutionProfile::builder()
        .consistency(Consistency::LocalQuorum)
        .serial_consistency(Some(SerialConsistency::LocalSerial))
        .request_timeout(Some(config.request_timeout))
        .retry_policy(Arc::new(StoreRetryPolicy))
        .build();
    let mut builder = SessionBuilder::new()
        .known_nodes(&config.contact_points)
        .connection_timeout(config.connect_timeout)
        .hostname_resolution_timeout(Some(config.connect_timeout))
        .metadata_request_serverside_timeout(config.request_timeout)
        .metadata_request_clientside_timeout(config.request_timeout)
        .keepalive_interval(Duration::from_secs(5))
        .keepalive_timeout(config.request_timeout)
        .keyspaces_to_fetch([config.keyspace.clone()])
        .default_execution_profile_handle(profile.into_handle());
    if let Some(datacenter) = &config.local_datacenter {
        builder = builder.prefer_datacenter(datacenter.clone());
    }
    if let Some((user, password)) = &config.credentials {
        builder = builder.user(user, password);
    }
    let contact_points = config.contact_points.join(", ");
    let limit = config.connect_timeout + config.request_timeout;
    match tokio::time::timeout(limit, builder.build()).await {
        Ok(Ok(session)) => Ok(session),
        Ok(Err(err)) => Err(ScyllaOpenError::Connect {
            contact_points,
            reason: err.to_string(),
        }),
        Err(_) => Err(ScyllaOpenError::Connect {
            contact_points,
            reason: format!("no session within {limit:?}"),
        }),
    }
}

fn schema_error(config: &ScyllaConfig, step: &str, err: impl fmt::Display) -> ScyllaOpenError {
    ScyllaOpenError::Schema {
        keyspace: config.keyspace.clone(),
        step: step.to_string(),
        reason: err.to_string(),
    }
}

fn corrupt(statement: &PreparedStatement, err: impl fmt::Display) -> StoreError {
    StoreError::Corrupt(format!(
        "unexpected result ({err}) for: {}",
        statement.get_statement()
    ))
}

/// Maps a failed request to the store's causes: a request the server rejects as malformed or
/// a result that cannot be read is a broken invariant (`Corrupt`); everything else (timeouts,
/// lost connections, too few replicas, overload) may pass (`Unavailable`).
fn map_execution(cql: &str, err: ExecutionError) -> StoreError {
    use scylla::errors::{DbError, RequestAttemptError};
    let text = format!("{err} (while running: {cql})");
    match &err {
        ExecutionError::BadQuery(_) => StoreError::Corrupt(text),
        ExecutionError::LastAttemptError(
            RequestAttemptError::DbError(
                DbError::SyntaxError
                | DbError::Invalid
                | DbError::AlreadyExists { .. }
                | DbError::FunctionFailure { .. }
                | DbError::ConfigError
                | DbError::ProtocolError,
                _,
            )
            | RequestAttemptError::CqlResultParseError(_)
            | RequestAttemptError::SerializationError(_)
            | RequestAttemptError::CqlRequestSerialization(_),
        ) => StoreError::Corrupt(text),
        _ => StoreError::Unavailable(text),
    }
}

fn map_pager(cql: &str, err: PagerExecutionError) -> StoreError {
    match err {
        PagerExecutionError::SerializationError(err) => {
            StoreError::Corrupt(format!("{err} (while running: {cql})"))
        }
        other => StoreError::Unavailable(format!("{other} (while running: {cql})")),
    }
}

/// Serialises a record for a `record` column.
fn to_json<T: serde::Serialize>(value: &T) -> StoreResult<String> {
    crate::sqlite::to_json(value)
}

/// Decodes a `record` column.
fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> StoreResult<T> {
    crate::sqlite::from_json(text)
}

/// A request size (`LIMIT ?`) as CQL's int.
fn cql_limit(limit: usize) -> i32 {
    i32::try_from(limit).unwrap_or(i32::MAX)
}
