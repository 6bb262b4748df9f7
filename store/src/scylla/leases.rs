//! [`LeaseStore`] on Scylla: every change is a lightweight transaction. Taking over a lapsed
//! lease is a compare-and-set on the (owner, expiry) just read, so of several nodes racing for
//! it exactly one wins; a lost race is read again and decided anew, a bounded number of times.

use super::ScyllaStore;
use crate::{lease_expiry, Lease, LeaseStore, StoreError, StoreResult};
use async_trait::async_trait;
use codebegen_schema::generation::{GenerationId, UnixMillis};

/// Read-decide-swap rounds before giving up under contention.
const ACQUIRE_ROUNDS: usize = 8;

#[async_trait]
impl LeaseStore for ScyllaStore {
    async fn acquire_lease(
        &self,
        id: GenerationId,
        owner: &str,
        ttl_ms: u64,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let expires_at = lease_expiry(now, ttl_ms);
        for _ in 0..ACQUIRE_ROUNDS {
            let swapped = match self.get_lease(id).await? {
                None => {
                    self.applied(&self.st().lease_insert, (id.0, owner, expires_at))
                        .await?
                }
                Some(held) if held.owner != owner && held.expires_at > now => return Ok(false),
                Some(held) => {
                    self.applied(
                        &self.st().lease_take,
                        (
                            owner,
                            expires_at,
                            id.0,
                            held.owner.as_str(),
                            held.expires_at,
                        ),
                    )
                    .await?
                }
            };
            if swapped {
                return Ok(true);
            }
        }
        Err(StoreError::Unavailable(format!(
            "lease of generation {id} still contended after {ACQUIRE_ROUNDS} rounds"
        )))
    }

    async fn renew_lease(
        &self,
        id: GenerationId,
        owner: &str,
        ttl_ms: u64,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        self.applied(
            &self.st().lease_renew,
            (lease_expiry(now, ttl_ms), id.0, owner, now),
        )
        .await
    }

    async fn release_lease(&self, id: GenerationId, owner: &str) -> StoreResult<bool> {
        self.applied(&self.st().lease_release, (id.0, owner)).await
    }

    async fn get_lease(&self, id: GenerationId) -> StoreResult<Option<Lease>> {
        let row: Option<(String, i64)> = self.first(&self.st().lease_get, (id.0,)).await?;
        Ok(row.map(|(owner, expires_at)| Lease {
            generation_id: id,
            owner,
            expires_at,
        }))
    }

    async fn list_leases(&self) -> StoreResult<Vec<Lease>> {
        let rows: Vec<(uuid::Uuid, String, i64)> = self.all_rows(&self.st().leases_all, ()).await?;
        Ok(rows
            .into_iter()
            .map(|(id, owner, expires_at)| Lease {
                generation_id: GenerationId(id),
                owner,
                expires_at,
            })
            .collect())
    }
}
