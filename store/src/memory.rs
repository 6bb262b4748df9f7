//! In-memory stores for fast tests of other crates: [`MemoryStore`] (users, projects,
//! generations) and [`MemoryArtifactStore`]. They follow the same contract as the SQLite store,
//! checked by the same [`crate::conformance`] suite, including its stricter parts: refresh tokens
//! need an existing user, checkpoints and events an existing generation. Nothing is persisted.

use crate::cursor::{page, page_limit, CursorKey};
use crate::{
    check_key, check_prefix, email_key, lease_expiry, ArtifactStore, GenerationStore, Lease,
    LeaseStore, Page, ProjectStore, RefreshToken, RefreshUse, StoreError, StoreResult, UserStore,
};
use async_trait::async_trait;
use bytes::Bytes;
use codebegen_schema::generation::{
    Checkpoint, GenerationEvent, GenerationId, GenerationRecord, ProjectId, ProjectRecord, Stage,
    Tier, UnixMillis, UserId, UserRecord,
};
use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, MutexGuard};

/// Users, projects and generations in memory.
#[derive(Debug, Default)]
pub struct MemoryStore {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<UserId, UserRecord>,
    user_by_email: HashMap<String, UserId>,
    tokens: HashMap<String, RefreshToken>,
    projects: HashMap<ProjectId, ProjectRecord>,
    generations: HashMap<GenerationId, GenerationRecord>,
    checkpoints: HashMap<GenerationId, BTreeMap<Stage, Checkpoint>>,
    events: HashMap<GenerationId, BTreeMap<u64, GenerationEvent>>,
    leases: HashMap<GenerationId, Lease>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> MemoryStore {
        MemoryStore::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

/// Every critical section here leaves the maps consistent, so a poisoned lock is still usable.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Sorts newest first, keeps the items after the cursor and cuts a page.
fn newest_first<T: Clone>(
    mut items: Vec<&T>,
    limit: u32,
    cursor: Option<&str>,
    key: impl Fn(&T) -> CursorKey,
) -> StoreResult<Page<T>> {
    let after = cursor.map(CursorKey::decode).transpose()?;
    let limit = page_limit(limit);
    items.retain(|item| after.is_none_or(|after| key(item) < after));
    items.sort_by_key(|item| std::cmp::Reverse(key(item)));
    let items: Vec<T> = items.into_iter().take(limit + 1).cloned().collect();
    Ok(page(items, limit, key))
}

#[async_trait]
impl UserStore for MemoryStore {
    async fn create_user(&self, user: &UserRecord) -> StoreResult<()> {
        let mut state = self.state();
        let key = email_key(&user.email);
        if state.users.contains_key(&user.id) || state.user_by_email.contains_key(&key) {
            return Err(StoreError::Conflict(format!(
                "a user with id {} or e-mail {key} exists",
                user.id
            )));
        }
        state.user_by_email.insert(key, user.id);
        state.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn get_user(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        Ok(self.state().users.get(&id).cloned())
    }

    async fn get_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let state = self.state();
        Ok(state
            .user_by_email
            .get(&email_key(email))
            .and_then(|id| state.users.get(id))
            .cloned())
    }

    async fn set_tier(&self, email: &str, tier: Tier) -> StoreResult<bool> {
        let mut state = self.state();
        let Some(id) = state.user_by_email.get(&email_key(email)).copied() else {
            return Ok(false);
        };
        Ok(state
            .users
            .get_mut(&id)
            .map(|user| user.tier = tier)
            .is_some())
    }

    async fn put_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
        let mut state = self.state();
        if !state.users.contains_key(&token.user_id) {
            return Err(StoreError::Conflict(format!(
                "refresh token for unknown user {}",
                token.user_id
            )));
        }
        if state.tokens.contains_key(&token.token_hash) {
            return Err(StoreError::Conflict("refresh token exists".to_string()));
        }
        state.tokens.insert(token.token_hash.clone(), token.clone());
        Ok(())
    }

    async fn use_refresh_token(
        &self,
        token_hash: &str,
        now: UnixMillis,
    ) -> StoreResult<RefreshUse> {
        let mut state = self.state();
        let Some(token) = state.tokens.get(token_hash).cloned() else {
            return Ok(RefreshUse::Invalid);
        };
        Ok(if token.revoked {
            RefreshUse::Invalid
        } else if token.used {
            revoke(&mut state, token.family_id);
            RefreshUse::Reused(RefreshToken {
                revoked: true,
                ..token
            })
        } else if token.expires_at <= now {
            RefreshUse::Invalid
        } else {
            let used = RefreshToken {
                used: true,
                ..token
            };
            state.tokens.insert(used.token_hash.clone(), used.clone());
            RefreshUse::Rotated(used)
        })
    }

    async fn revoke_family(&self, family_id: uuid::Uuid) -> StoreResult<()> {
        revoke(&mut self.state(), family_id);
        Ok(())
    }
}

fn revoke(state: &mut State, family_id: uuid::Uuid) {
    for token in state
        .tokens
        .values_mut()
        .filter(|t| t.family_id == family_id)
    {
        token.used = true;
        token.revoked = true;
    }
}

#[async_trait]
impl ProjectStore for MemoryStore {
    async fn create_project(&self, project: &ProjectRecord) -> StoreResult<()> {
        let mut state = self.state();
        match state.projects.get(&project.id) {
            Some(existing) if existing == project => Ok(()),
            Some(_) => Err(StoreError::Conflict(format!(
                "project {} exists with other content",
                project.id
            ))),
            None => {
                state.projects.insert(project.id, project.clone());
                Ok(())
            }
        }
    }

    async fn get_project(&self, id: ProjectId) -> StoreResult<Option<ProjectRecord>> {
        Ok(self.state().projects.get(&id).cloned())
    }

    async fn list_projects(
        &self,
        user: UserId,
        limit: u32,
        cursor: Option<&str>,
    ) -> StoreResult<Page<ProjectRecord>> {
        let state = self.state();
        let mine = state
            .projects
            .values()
            .filter(|p| p.user_id == user)
            .collect();
        newest_first(mine, limit, cursor, |p: &ProjectRecord| CursorKey {
            created_at: p.created_at,
            id: p.id.0,
        })
    }

    async fn delete_project(&self, id: ProjectId) -> StoreResult<bool> {
        Ok(self.state().projects.remove(&id).is_some())
    }
}

#[async_trait]
impl GenerationStore for MemoryStore {
    async fn put_generation(&self, record: &GenerationRecord) -> StoreResult<()> {
        self.state().generations.insert(record.id, record.clone());
        Ok(())
    }

    async fn get_generation(&self, id: GenerationId) -> StoreResult<Option<GenerationRecord>> {
        Ok(self.state().generations.get(&id).cloned())
    }

    async fn list_generations(
        &self,
        user: UserId,
        project: Option<ProjectId>,
        limit: u32,
        cursor: Option<&str>,
    ) -> StoreResult<Page<GenerationRecord>> {
        let state = self.state();
        let mine = state
            .generations
            .values()
            .filter(|g| g.user_id == user && project.is_none_or(|p| g.project_id == Some(p)))
            .collect();
        newest_first(mine, limit, cursor, |g: &GenerationRecord| CursorKey {
            created_at: g.created_at,
            id: g.id.0,
        })
    }

    async fn list_unfinished(&self) -> StoreResult<Vec<GenerationRecord>> {
        let state = self.state();
        let mut unfinished: Vec<GenerationRecord> = state
            .generations
            .values()
            .filter(|g| !g.status.is_final())
            .cloned()
            .collect();
        unfinished.sort_by_key(|g| (g.created_at, g.id));
        Ok(unfinished)
    }

    async fn count_created_since(&self, user: UserId, since: UnixMillis) -> StoreResult<u32> {
        let times = self.created_since(user, since).await?;
        Ok(u32::try_from(times.len()).unwrap_or(u32::MAX))
    }

    async fn created_since(&self, user: UserId, since: UnixMillis) -> StoreResult<Vec<UnixMillis>> {
        let state = self.state();
        let mut times: Vec<UnixMillis> = state
            .generations
            .values()
            .filter(|g| g.user_id == user && g.created_at >= since)
            .map(|g| g.created_at)
            .collect();
        times.sort_unstable();
        Ok(times)
    }

    async fn put_checkpoint(&self, checkpoint: &Checkpoint) -> StoreResult<()> {
        let mut state = self.state();
        if !state.generations.contains_key(&checkpoint.generation_id) {
            return Err(StoreError::Conflict(format!(
                "checkpoint for unknown generation {}",
                checkpoint.generation_id
            )));
        }
        state
            .checkpoints
            .entry(checkpoint.generation_id)
            .or_default()
            .insert(checkpoint.stage, checkpoint.clone());
        Ok(())
    }

    async fn get_checkpoints(&self, id: GenerationId) -> StoreResult<Vec<Checkpoint>> {
        Ok(self
            .state()
            .checkpoints
            .get(&id)
            .map(|by_stage| by_stage.values().cloned().collect())
            .unwrap_or_default())
    }

    async fn append_event(&self, event: &GenerationEvent) -> StoreResult<()> {
        let mut state = self.state();
        if !state.generations.contains_key(&event.generation_id) {
            return Err(StoreError::Conflict(format!(
                "event for unknown generation {}",
                event.generation_id
            )));
        }
        crate::sqlite::to_i64(event.seq)?;
        let log = state.events.entry(event.generation_id).or_default();
        match log.get(&event.seq) {
            Some(existing) if existing == event => Ok(()),
            Some(_) => Err(StoreError::Conflict(format!(
                "event {} of generation {} exists with other content",
                event.seq, event.generation_id
            ))),
            None => {
                log.insert(event.seq, event.clone());
                Ok(())
            }
        }
    }

    async fn list_events(
        &self,
        id: GenerationId,
        after: u64,
        limit: u32,
    ) -> StoreResult<Vec<GenerationEvent>> {
        let state = self.state();
        let Some(log) = state.events.get(&id) else {
            return Ok(Vec::new());
        };
        let limit = usize::try_from(limit).unwrap_or(usize::MAX);
        Ok(log
            .range(after.saturating_add(1)..)
            .take(limit)
            .map(|(_, event)| event.clone())
            .collect())
    }

    async fn last_event_seq(&self, id: GenerationId) -> StoreResult<u64> {
        Ok(self
            .state()
            .events
            .get(&id)
            .and_then(|log| log.keys().next_back().copied())
            .unwrap_or(0))
    }
}

#[async_trait]
impl LeaseStore for MemoryStore {
    async fn acquire_lease(
        &self,
        id: GenerationId,
        owner: &str,
        ttl_ms: u64,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let mut state = self.state();
        let free = state
            .leases
            .get(&id)
            .is_none_or(|lease| lease.owner == owner || lease.expires_at <= now);
        if free {
            state.leases.insert(
                id,
                Lease {
                    generation_id: id,
                    owner: owner.to_string(),
                    expires_at: lease_expiry(now, ttl_ms),
                },
            );
        }
        Ok(free)
    }

    async fn renew_lease(
        &self,
        id: GenerationId,
        owner: &str,
        ttl_ms: u64,
        now: UnixMillis,
    ) -> StoreResult<bool> {
        let mut state = self.state();
        match state.leases.get_mut(&id) {
            Some(lease) if lease.owner == owner && lease.expires_at > now => {
                lease.expires_at = lease_expiry(now, ttl_ms);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn release_lease(&self, id: GenerationId, owner: &str) -> StoreResult<bool> {
        let mut state = self.state();
        if state
            .leases
            .get(&id)
            .is_some_and(|lease| lease.owner == owner)
        {
            state.leases.remove(&id);
            return Ok(true);
        }
        Ok(false)
    }

    async fn get_lease(&self, id: GenerationId) -> StoreResult<Option<Lease>> {
        Ok(self.state().leases.get(&id).cloned())
    }

    async fn list_leases(&self) -> StoreResult<Vec<Lease>> {
        Ok(self.state().leases.values().cloned().collect())
    }
}

/// Blobs in memory.
#[derive(Debug, Default)]
pub struct MemoryArtifactStore {
    blobs: Mutex<BTreeMap<String, Bytes>>,
}

impl MemoryArtifactStore {
    /// An empty store.
    pub fn new() -> MemoryArtifactStore {
        MemoryArtifactStore::default()
    }
}

#[async_trait]
impl ArtifactStore for MemoryArtifactStore {
    async fn put(&self, key: &str, data: Bytes) -> StoreResult<()> {
        check_key(key)?;
        lock(&self.blobs).insert(key.to_string(), data);
        Ok(())
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        check_key(key)?;
        Ok(lock(&self.blobs).get(key).cloned())
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        check_prefix(prefix)?;
        let blobs = lock(&self.blobs);
        Ok(blobs
            .range(prefix.to_string()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, _)| key.clone())
            .collect())
    }

    async fn delete(&self, key: &str) -> StoreResult<bool> {
        check_key(key)?;
        Ok(lock(&self.blobs).remove(key).is_some())
    }
}
