//! [`LeaseStore`] on SQLite: each compare-and-set is one conditional statement on the single
//! write connection, so it is atomic.

use super::{map_error, SqliteStore};
use crate::{lease_expiry, Lease, LeaseStore, StoreError, StoreResult};
use async_trait::async_trait;
use codebegen_schema::generation::{GenerationId, UnixMillis};
use rusqlite::{params, OptionalExtension};

#[async_trait]
impl LeaseStore for SqliteStore {
    async fn acquire_lease(
        &self,
        id: GenerationId,
        owner: &str,
        ttl_ms: u64,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let (id, owner, expires_at) =
            (id.to_string(), owner.to_string(), lease_expiry(now, ttl_ms));
        self.write(move |connection| {
            let changed = connection
                .prepare_cached(
                    "INSERT INTO generation_leases (generation_id, owner, expires_at) VALUES (?1, ?2, ?3) \
                     ON CONFLICT (generation_id) DO UPDATE SET owner = excluded.owner, expires_at = excluded.expires_at \
                     WHERE generation_leases.owner = excluded.owner OR generation_leases.expires_at <= ?4",
                )
                .and_then(|mut statement| statement.execute(params![id, owner, expires_at, now]))
                .map_err(map_error)?;
            Ok(changed > 0)
        })
        .await
    }

    async fn renew_lease(
        &self,
        id: GenerationId,
        owner: &str,
        ttl_ms: u64,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let (id, owner, expires_at) =
            (id.to_string(), owner.to_string(), lease_expiry(now, ttl_ms));
        self.write(move |connection| {
            let changed = connection
                .prepare_cached(
                    "UPDATE generation_leases SET expires_at = ?3 \
                     WHERE generation_id = ?1 AND owner = ?2 AND expires_at > ?4",
                )
                .and_then(|mut statement| statement.execute(params![id, owner, expires_at, now]))
                .map_err(map_error)?;
            Ok(changed > 0)
        })
        .await
    }

    async fn release_lease(&self, id: GenerationId, owner: &str) -> StoreResult<bool> {
        let (id, owner) = (id.to_string(), owner.to_string());
        self.write(move |connection| {
            let changed = connection
                .prepare_cached(
                    "DELETE FROM generation_leases WHERE generation_id = ?1 AND owner = ?2",
                )
                .and_then(|mut statement| statement.execute(params![id, owner]))
                .map_err(map_error)?;
            Ok(changed > 0)
        })
        .await
    }

    async fn get_lease(&self, id: GenerationId) -> StoreResult<Option<Lease>> {
        let key = id.to_string();
        self.read(move |connection| {
            connection
                .prepare_cached(
                    "SELECT owner, expires_at FROM generation_leases WHERE generation_id = ?1",
                )
                .and_then(|mut statement| {
                    statement
                        .query_row([key], |row| {
                            Ok(Lease {
                                generation_id: id,
                                owner: row.get(0)?,
                                expires_at: row.get(1)?,
                            })
                        })
                        .optional()
                })
                .map_err(map_error)
        })
        .await
    }

    async fn list_leases(&self) -> StoreResult<Vec<Lease>> {
        self.read(move |connection| {
            let mut statement = connection
                .prepare_cached("SELECT generation_id, owner, expires_at FROM generation_leases")
                .map_err(map_error)?;
            let rows = statement
                .query_map([], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, i64>(2)?,
                    ))
                })
                .map_err(map_error)?;
            let mut leases = Vec::new();
            for row in rows {
                let (id, owner, expires_at) = row.map_err(map_error)?;
                let generation_id = GenerationId::parse(&id).ok_or_else(|| {
                    StoreError::Corrupt(format!("a lease with a bad generation id {id:?}"))
                })?;
                leases.push(Lease {
                    generation_id,
                    owner,
                    expires_at,
                });
            }
            Ok(leases)
        })
        .await
    }
}
