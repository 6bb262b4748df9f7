//! [`UserStore`] on Scylla: the user row and the e-mail claim are both taken with `IF NOT
//! EXISTS` (user first, so a crash in between leaves only an unreachable row, never a blocked
//! e-mail); refresh tokens rotate through compare-and-set on `used`/`revoked`, so of several
//! concurrent presentations of one token exactly one rotates and exactly one reports reuse.

use super::ScyllaStore;
use crate::{email_key, RefreshToken, RefreshUse, StoreError, StoreResult, UserStore};
use async_trait::async_trait;
use codebegen_schema::generation::{Tier, UnixMillis, UserId, UserRecord};
use uuid::Uuid;

type UserRow = (Uuid, String, String, String, bool, i64);
type TokenRow = (String, Uuid, Uuid, i64, bool, bool);

fn user_from_row(
    (id, email, password_hash, tier, is_admin, created_at): UserRow,
) -> StoreResult<UserRecord> {
    let tier = Tier::parse(&tier)
        .ok_or_else(|| StoreError::Corrupt(format!("user {id} has unknown tier {tier:?}")))?;
    Ok(UserRecord {
        id: UserId(id),
        email,
        password_hash,
        tier,
        is_admin,
        created_at,
    })
}

fn token_from_row(
    (token_hash, user_id, family_id, expires_at, used, revoked): TokenRow,
) -> RefreshToken {
    RefreshToken {
        token_hash,
        user_id: UserId(user_id),
        family_id,
        expires_at,
        used,
        revoked,
    }
}

impl ScyllaStore {
    async fn user_id_by_email(&self, email: &str) -> StoreResult<Option<Uuid>> {
        let row: Option<(Uuid,)> = self
            .first(&self.st().email_get, (email_key(email),))
            .await?;
        Ok(row.map(|(id,)| id))
    }

    async fn family_revoked(&self, family_id: Uuid) -> StoreResult<bool> {
        let row: Option<(Option<bool>,)> =
            self.first(&self.st().family_revoked, (family_id,)).await?;
        Ok(row.and_then(|(revoked,)| revoked).unwrap_or(false))
    }

    async fn token(&self, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
        let row: Option<TokenRow> = self.first(&self.st().token_get, (token_hash,)).await?;
        Ok(row.map(token_from_row))
    }
}

#[async_trait]
impl UserStore for ScyllaStore {
    async fn create_user(&self, user: &UserRecord) -> StoreResult<()> {
        let key = email_key(&user.email);
        let inserted = self
            .applied(
                &self.st().user_insert,
                (
                    user.id.0,
                    user.email.as_str(),
                    key.as_str(),
                    user.password_hash.as_str(),
                    user.tier.as_str(),
                    user.is_admin,
                    user.created_at,
                ),
            )
            .await?;
        if !inserted {
            return Err(StoreError::Conflict(format!(
                "a user with id {} exists",
                user.id
            )));
        }
        let claimed = self
            .applied(&self.st().email_claim, (key.as_str(), user.id.0))
            .await;
        match claimed {
            Ok(true) => Ok(()),
            Ok(false) => {
                // The e-mail is taken: take back the row nobody can reach yet.
                self.applied(&self.st().user_delete, (user.id.0,)).await?;
                Err(StoreError::Conflict(format!(
                    "a user with e-mail {key} exists"
                )))
            }
            Err(err) => Err(err),
        }
    }

    async fn get_user(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        let row: Option<UserRow> = self.first(&self.st().user_get, (id.0,)).await?;
        row.map(user_from_row).transpose()
    }

    async fn get_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        match self.user_id_by_email(email).await? {
            Some(id) => self.get_user(UserId(id)).await,
            None => Ok(None),
        }
    }

    async fn set_tier(&self, email: &str, tier: Tier) -> StoreResult<bool> {
        let Some(id) = self.user_id_by_email(email).await? else {
            return Ok(false);
        };
        self.applied(&self.st().user_set_tier, (tier.as_str(), id))
            .await
    }

    async fn put_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
        if self.get_user(token.user_id).await?.is_none() {
            return Err(StoreError::Conflict(format!(
                "refresh token for unknown user {}",
                token.user_id
            )));
        }
        // The family index first, so a revocation that lists the family finds this token.
        self.exec(
            &self.st().family_add,
            (token.family_id, token.token_hash.as_str()),
        )
        .await?;
        let inserted = self
            .applied(
                &self.st().token_insert,
                (
                    token.token_hash.as_str(),
                    token.user_id.0,
                    token.family_id,
                    token.expires_at,
                    token.used,
                    token.revoked,
                ),
            )
            .await?;
        if !inserted {
            return Err(StoreError::Conflict("refresh token exists".to_string()));
        }
        // A family revoked while this token was being written: revoke it too.
        if self.family_revoked(token.family_id).await? {
            self.applied(&self.st().token_revoke, (token.token_hash.as_str(),))
                .await?;
        }
        Ok(())
    }

    async fn use_refresh_token(
        &self,
        token_hash: &str,
        now: UnixMillis,
    ) -> StoreResult<RefreshUse> {
        let Some(mut token) = self.token(token_hash).await? else {
            return Ok(RefreshUse::Invalid);
        };
        if !token.used && !token.revoked {
            if token.expires_at <= now || self.family_revoked(token.family_id).await? {
                return Ok(RefreshUse::Invalid);
            }
            if self.applied(&self.st().token_rotate, (token_hash,)).await? {
                token.used = true;
                return Ok(RefreshUse::Rotated(token));
            }
            // Someone else presented it first: see what it is now.
            let Some(current) = self.token(token_hash).await? else {
                return Ok(RefreshUse::Invalid);
            };
            token = current;
        }
        if token.used && !token.revoked {
            // A rotated token came back: whoever flags it first revokes the family.
            if self
                .applied(&self.st().token_flag_reuse, (token_hash,))
                .await?
            {
                self.revoke_family(token.family_id).await?;
                token.revoked = true;
                return Ok(RefreshUse::Reused(token));
            }
        }
        Ok(RefreshUse::Invalid)
    }

    async fn revoke_family(&self, family_id: Uuid) -> StoreResult<()> {
        // Mark the family first: tokens written from now on see it and revoke themselves.
        self.exec(&self.st().family_revoke, (family_id,)).await?;
        let hashes: Vec<(Option<String>,)> = self
            .all_rows(&self.st().family_tokens, (family_id,))
            .await?;
        let revocations = hashes
            .iter()
            .filter_map(|(hash,)| hash.as_deref())
            .map(|hash| self.applied(&self.st().token_revoke, (hash,)));
        futures_util::future::try_join_all(revocations).await?;
        Ok(())
    }
}
