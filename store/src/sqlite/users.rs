//! [`UserStore`] on SQLite: users keyed by id and by lowercased e-mail, and refresh tokens whose
//! rotation runs in one write transaction.

use super::{from_json, map_error, to_json, SqliteStore};
use crate::{email_key, RefreshToken, RefreshUse, StoreError, StoreResult, UserStore};
use async_trait::async_trait;
use codebegen_schema::generation::{Tier, UnixMillis, UserId, UserRecord};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};

#[async_trait]
impl UserStore for SqliteStore {
    async fn create_user(&self, user: &UserRecord) -> StoreResult<()> {
        let (id, key, created_at, record) = (
            user.id.to_string(),
            email_key(&user.email),
            user.created_at,
            to_json(user)?,
        );
        self.write(move |connection| {
            let inserted = connection
                .prepare_cached(
                    "INSERT INTO users (id, email_key, created_at, record) VALUES (?1, ?2, ?3, ?4) ON CONFLICT DO NOTHING",
                )
                .and_then(|mut statement| statement.execute(params![id, key, created_at, record]))
                .map_err(map_error)?;
            if inserted == 0 {
                return Err(StoreError::Conflict(format!("a user with id {id} or e-mail {key} exists")));
            }
            Ok(())
        })
        .await
    }

    async fn get_user(&self, id: UserId) -> StoreResult<Option<UserRecord>> {
        let id = id.to_string();
        self.read(move |connection| user_where(connection, "id", &id))
            .await
    }

    async fn get_user_by_email(&self, email: &str) -> StoreResult<Option<UserRecord>> {
        let key = email_key(email);
        self.read(move |connection| user_where(connection, "email_key", &key))
            .await
    }

    async fn set_tier(&self, email: &str, tier: Tier) -> StoreResult<bool> {
        let key = email_key(email);
        self.write(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_error)?;
            let Some(mut user) = user_where(&transaction, "email_key", &key)? else {
                return Ok(false);
            };
            user.tier = tier;
            transaction
                .execute(
                    "UPDATE users SET record = ?2 WHERE id = ?1",
                    params![user.id.to_string(), to_json(&user)?],
                )
                .map_err(map_error)?;
            transaction.commit().map_err(map_error)?;
            Ok(true)
        })
        .await
    }

    async fn put_refresh_token(&self, token: &RefreshToken) -> StoreResult<()> {
        let token = token.clone();
        self.write(move |connection| {
            connection
                .prepare_cached(
                    "INSERT INTO refresh_tokens (token_hash, user_id, family_id, expires_at, used, revoked) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                )
                .and_then(|mut statement| {
                    statement.execute(params![
                        token.token_hash,
                        token.user_id.to_string(),
                        token.family_id.to_string(),
                        token.expires_at,
                        token.used,
                        token.revoked
                    ])
                })
                .map_err(map_error)?;
            Ok(())
        })
        .await
    }

    async fn use_refresh_token(
        &self,
        token_hash: &str,
        now: UnixMillis,
    ) -> StoreResult<RefreshUse> {
        let token_hash = token_hash.to_string();
        self.write(move |connection| {
            let transaction = connection
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .map_err(map_error)?;
            let Some(mut token) = token_where(&transaction, &token_hash)? else {
                return Ok(RefreshUse::Invalid);
            };
            let outcome = if token.revoked {
                RefreshUse::Invalid
            } else if token.used {
                // A rotated token came back: someone holds a copy. Revoke the whole family.
                revoke(&transaction, token.family_id)?;
                token.revoked = true;
                RefreshUse::Reused(token)
            } else if token.expires_at <= now {
                RefreshUse::Invalid
            } else {
                transaction
                    .execute(
                        "UPDATE refresh_tokens SET used = 1 WHERE token_hash = ?1",
                        [&token_hash],
                    )
                    .map_err(map_error)?;
                token.used = true;
                RefreshUse::Rotated(token)
            };
            transaction.commit().map_err(map_error)?;
            Ok(outcome)
        })
        .await
    }

    async fn revoke_family(&self, family_id: uuid::Uuid) -> StoreResult<()> {
        self.write(move |connection| revoke(connection, family_id))
            .await
    }
}

fn user_where(
    connection: &Connection,
    column: &str,
    value: &str,
) -> StoreResult<Option<UserRecord>> {
    let sql = format!("SELECT record FROM users WHERE {column} = ?1");
    let record: Option<String> = connection
        .prepare_cached(&sql)
        .and_then(|mut statement| statement.query_row([value], |row| row.get(0)).optional())
        .map_err(map_error)?;
    record.as_deref().map(from_json).transpose()
}

fn token_where(connection: &Connection, token_hash: &str) -> StoreResult<Option<RefreshToken>> {
    connection
        .prepare_cached(
            "SELECT token_hash, user_id, family_id, expires_at, used, revoked FROM refresh_tokens WHERE token_hash = ?1",
        )
        .and_then(|mut statement| statement.query_row([token_hash], token_from_row).optional())
        .map_err(map_error)
}

fn token_from_row(row: &Row<'_>) -> rusqlite::Result<RefreshToken> {
    let uuid_at = |index: usize| -> rusqlite::Result<uuid::Uuid> {
        let text: String = row.get(index)?;
        uuid::Uuid::parse_str(&text).map_err(|err| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                rusqlite::types::Type::Text,
                Box::new(err),
            )
        })
    };
    Ok(RefreshToken {
        token_hash: row.get(0)?,
        user_id: UserId(uuid_at(1)?),
        family_id: uuid_at(2)?,
        expires_at: row.get(3)?,
        used: row.get(4)?,
        revoked: row.get(5)?,
    })
}

fn revoke(connection: &Connection, family_id: uuid::Uuid) -> StoreResult<()> {
    connection
        .execute(
            "UPDATE refresh_tokens SET used = 1, revoked = 1 WHERE family_id = ?1",
            [family_id.to_string()],
        )
        .map_err(map_error)?;
    Ok(())
}
