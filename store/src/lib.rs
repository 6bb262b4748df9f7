//! Storage behind traits: users and refresh tokens, projects, generations with their stage
//! checkpoints, the generation event log, and artifacts. Implementations are chosen in `nodes`;
//! every one must pass [`conformance`].
//!
//! Implementations here: [`SqliteStore`] (embedded, one file), [`ScyllaStore`] (ScyllaDB or
//! Apache Cassandra), [`MemoryStore`] and [`MemoryArtifactStore`] (for tests),
//! [`FsArtifactStore`] (a directory) and [`S3ArtifactStore`] (S3 or an S3-compatible server).

pub mod bench;
pub mod conformance;
mod cursor;
pub mod fs;
pub mod memory;
pub mod s3;
pub mod scylla;
pub mod sqlite;

pub use fs::FsArtifactStore;
pub use memory::{MemoryArtifactStore, MemoryStore};
pub use s3::{S3ArtifactStore, S3Config, S3Credentials, S3OpenError};
pub use scylla::{Replication, ScyllaConfig, ScyllaOpenError, ScyllaStore};
pub use sqlite::{SqliteOpenError, SqliteStore};

use async_trait::async_trait;
use bytes::Bytes;
use codebegen_schema::generation::{
    Checkpoint, GenerationEvent, GenerationId, GenerationRecord, ProjectId, ProjectRecord, Tier,
    UnixMillis, UserId, UserRecord,
};

/// A storage failure, by cause. Requests a store cannot serve as asked (an invalid artifact
/// key, a page cursor it never handed out) are `Conflict`s too.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique key already exists (an e-mail, an id with different content).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The backend cannot be reached or timed out; retrying later may work.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// Stored data could not be decoded, or a backend invariant broke.
    #[error("storage corrupt: {0}")]
    Corrupt(String),
}

/// Result alias.
pub type StoreResult<T> = Result<T, StoreError>;

/// One page of a listing, newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// Items on this page.
    pub items: Vec<T>,
    /// Opaque cursor for the next page; `None` at the end.
    pub next_cursor: Option<String>,
}

/// A stored refresh token (only its hash is kept).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefreshToken {
    /// sha256 hex of the token.
    pub token_hash: String,
    /// Owner.
    pub user_id: UserId,
    /// The rotation family; reuse of a rotated token revokes the whole family.
    pub family_id: uuid::Uuid,
    /// Expiry.
    pub expires_at: UnixMillis,
    /// Set when it was rotated or revoked.
    pub used: bool,
    /// Set when its family was revoked.
    pub revoked: bool,
}

/// The outcome of presenting a refresh token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefreshUse {
    /// Valid and now marked used: issue a new token in the same family.
    Rotated(RefreshToken),
    /// Already used before: the family has now been revoked.
    Reused(RefreshToken),
    /// Unknown, expired or revoked.
    Invalid,
}

/// Users, tiers and refresh tokens.
#[async_trait]
pub trait UserStore: Send + Sync {
    /// Creates a user; `Conflict` if the e-mail (case-insensitive) exists.
    async fn create_user(&self, user: &UserRecord) -> StoreResult<()>;
    /// A user by id.
    async fn get_user(&self, id: UserId) -> StoreResult<Option<UserRecord>>;
    /// A user by e-mail (case-insensitive).
    async fn get_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>>;
    /// Changes a tier; false if no such user.
    async fn set_tier(&self, email: &str, tier: Tier) -> StoreResult<bool>;
    /// Stores a new refresh token.
    async fn put_refresh_token(&self, token: &RefreshToken) -> StoreResult<()>;
    /// Presents a refresh token at `now`: atomically marks it used, or, if it was used already,
    /// revokes its family.
    async fn use_refresh_token(&self, token_hash: &str, now: UnixMillis)
        -> StoreResult<RefreshUse>;
    /// Revokes every token of a family (logout).
    async fn revoke_family(&self, family_id: uuid::Uuid) -> StoreResult<()>;
}

/// Projects.
#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// Creates a project (idempotent on the same record).
    async fn create_project(&self, project: &ProjectRecord) -> StoreResult<()>;
    /// A project by id.
    async fn get_project(&self, id: ProjectId) -> StoreResult<Option<ProjectRecord>>;
    /// A user's projects, newest first.
    async fn list_projects(
        &self,
        user: UserId,
        limit: u32,
        cursor: Option<&str>,
    ) -> StoreResult<Page<ProjectRecord>>;
    /// Deletes a project (its generations stay, detached); false if it did not exist.
    async fn delete_project(&self, id: ProjectId) -> StoreResult<bool>;
}

/// Generations, their checkpoints and their event log.
#[async_trait]
pub trait GenerationStore: Send + Sync {
    /// Inserts or replaces a generation record (idempotent, keyed by id).
    async fn put_generation(&self, record: &GenerationRecord) -> StoreResult<()>;
    /// A generation by id.
    async fn get_generation(&self, id: GenerationId) -> StoreResult<Option<GenerationRecord>>;
    /// A user's generations, newest first, optionally in one project.
    async fn list_generations(
        &self,
        user: UserId,
        project: Option<ProjectId>,
        limit: u32,
        cursor: Option<&str>,
    ) -> StoreResult<Page<GenerationRecord>>;
    /// Generations not in a final status (to resume after a restart).
    async fn list_unfinished(&self) -> StoreResult<Vec<GenerationRecord>>;
    /// How many of a user's generations were created at or after `since`.
    async fn count_created_since(&self, user: UserId, since: UnixMillis) -> StoreResult<u32>;
    /// Created-at times of a user's generations at or after `since`, oldest first (for
    /// `Retry-After`).
    async fn created_since(&self, user: UserId, since: UnixMillis) -> StoreResult<Vec<UnixMillis>>;
    /// Saves a stage's output (idempotent, keyed by generation and stage).
    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()>;
    /// All checkpoints of a generation, in stage order.
    async fn get_checkpoints(&self, id: GenerationId) -> StoreResult<Vec<Checkpoint>>;
    /// Appends an event (idempotent, keyed by generation and seq: the same event twice is fine,
    /// a different event with a taken seq is `Conflict`).
    async fn append_event(&self, event: &GenerationEvent) -> StoreResult<()>;
    /// Events with `seq > after`, in order, at most `limit`.
    async fn list_events(
        &self,
        id: GenerationId,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<GenerationEvent>>;
    /// The highest seq stored (0 when none).
    async fn last_event_seq(&self, id: GenerationId) -> StoreResult<u64>;
}

/// Who runs a generation, until when: the lease a node holds while it works on a generation,
/// so that a generation runs on one node at a time in a cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The generation.
    pub generation_id: GenerationId,
    /// The holder (a node name).
    pub owner: String,
    /// When the lease lapses unless renewed.
    pub expires_at: UnixMillis,
}

/// Generation leases: compare-and-set on (owner, expiry), atomic in every implementation. Time
/// is a parameter (`now`); a lease is held while `now < expires_at`.
#[async_trait]
pub trait LeaseStore: Send + Sync {
    /// Takes the lease for `ttl_ms` from `now` when it is free, lapsed, or already `owner`'s
    /// (then it is extended); false when another owner holds it.
    async fn acquire_lease(
        &self,
        id: GenerationId,
        owner: &str,
        ttl_ms: u64,
        now: UnixMillis,
    ) -> StoreResult<bool>;
    /// Extends `owner`'s lease to `now + ttl_ms`; false when `owner` does not hold it at `now`
    /// (it lapsed, or someone else holds it).
    async fn renew_lease(
        &self,
        id: GenerationId,
        owner: &str,
        ttl_ms: u64,
        now: UnixMillis,
    ) -> StoreResult<bool>;
    /// Gives the lease up; false when `owner` did not hold it.
    async fn release_lease(&self, id: GenerationId, owner: &str) -> StoreResult<bool>;
    /// The lease as stored (possibly lapsed), if any.
    async fn get_lease(&self, id: GenerationId) -> StoreResult<Option<Lease>>;
    /// Every stored lease, lapsed ones included, in no particular order (for take-over scans
    /// and admin views; the table only holds the leases of running or abandoned generations).
    async fn list_leases(&self) -> StoreResult<Vec<Lease>>;
}

/// The expiry of a lease taken at `now` for `ttl_ms`, saturating.
pub(crate) fn lease_expiry(now: UnixMillis, ttl_ms: u64) -> UnixMillis {
    now.saturating_add(i64::try_from(ttl_ms).unwrap_or(i64::MAX))
}

/// A blob read as chunks.
pub type ByteStream = futures_util::stream::BoxStream<'static, StoreResult<Bytes>>;

/// Chunk size of [`ArtifactStore::get_stream`]'s default.
pub const STREAM_CHUNK_BYTES: usize = 64 * 1024;

/// Blobs: generated files and archives.
#[async_trait]
pub trait ArtifactStore: Send + Sync {
    /// Writes a blob atomically (readers see the old or the new content, never a mix).
    async fn put(&self, key: &str, data: Bytes) -> StoreResult<()>;
    /// Reads a blob.
    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>>;
    /// Keys under a prefix, sorted.
    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>>;
    /// Deletes a blob; false if it did not exist.
    async fn delete(&self, key: &str) -> StoreResult<bool>;
    /// Reads a blob as a stream of chunks. The default reads it whole and yields it in
    /// [`STREAM_CHUNK_BYTES`] pieces; S3 streams it from the server as it arrives.
    async fn get_stream(&self, key: &str) -> StoreResult<Option<ByteStream>> {
        let Some(bytes) = self.get(key).await? else {
            return Ok(None);
        };
        let chunks: Vec<StoreResult<Bytes>> = (0..bytes.len())
            .step_by(STREAM_CHUNK_BYTES)
            .map(|start| Ok(bytes.slice(start..(start + STREAM_CHUNK_BYTES).min(bytes.len()))))
            .collect();
        Ok(Some(Box::pin(futures_util::stream::iter(chunks))))
    }
}

/// Checks an artifact key: relative, `/`-separated, no `..`, no empty segments, printable.
pub fn valid_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 1024
        && !key.starts_with('/')
        && key
            .split('/')
            .all(|seg| !seg.is_empty() && seg != "." && seg != "..")
        && key.chars().all(|c| !c.is_control() && c != '\\')
}

/// The key under which an e-mail is unique and looked up: its Unicode lowercase form.
pub(crate) fn email_key(email: &str) -> String {
    email.to_lowercase()
}

/// `Conflict` for a key that [`valid_key`] rejects.
pub(crate) fn check_key(key: &str) -> StoreResult<()> {
    if valid_key(key) {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "invalid artifact key {key:?}"
        )))
    }
}

/// `Conflict` for a listing prefix that no valid key could start with through a path: empty, or
/// a valid key, optionally followed by `/`.
pub(crate) fn check_prefix(prefix: &str) -> StoreResult<()> {
    if prefix.is_empty() || valid_key(prefix.strip_suffix('/').unwrap_or(prefix)) {
        Ok(())
    } else {
        Err(StoreError::Conflict(format!(
            "invalid artifact prefix {prefix:?}"
        )))
    }
}
