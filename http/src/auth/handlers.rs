//! `/auth/*`: register, login, refresh (rotation with reuse detection), logout and me.

use codebegen_schema::generation::{Tier, UnixMillis, UserId, UserRecord};
use codebegen_store::{RefreshToken, RefreshUse};
use serde::{Deserialize, Serialize};
use warp::http::StatusCode;
use warp::reply::Response;
use warp::Reply as _;

use super::tokens::{issue_access_token, new_refresh_token, refresh_token_hash};
use crate::error::ApiError;
use crate::state::AppState;

/// `{email, password}` for register and login.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Credentials {
    email: String,
    password: String,
}

/// `{refresh_token}` for refresh and logout.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RefreshRequest {
    refresh_token: String,
}

/// A user as the API shows it (never the hash).
#[derive(Debug, Serialize)]
pub(crate) struct UserView {
    id: UserId,
    email: String,
    tier: Tier,
    created_at: UnixMillis,
}

impl From<&UserRecord> for UserView {
    fn from(user: &UserRecord) -> UserView {
        UserView {
            id: user.id,
            email: user.email.clone(),
            tier: user.tier,
            created_at: user.created_at,
        }
    }
}

/// What login and refresh return.
#[derive(Debug, Serialize)]
pub(crate) struct TokenPair {
    access_token: String,
    refresh_token: String,
    token_type: &'static str,
    expires_in: u64,
}

const BAD_CREDENTIALS: &str = "invalid email or password";
const BAD_REFRESH: &str = "invalid or expired refresh token";

/// A checked registration: lowercase e-mail, password of 8..=128 characters.
struct Registration {
    email: String,
    password: String,
}

impl TryFrom<Credentials> for Registration {
    type Error = ApiError;

    fn try_from(credentials: Credentials) -> Result<Registration, ApiError> {
        let email = credentials.email.trim().to_lowercase();
        if !valid_email(&email) {
            return Err(ApiError::invalid("email is not a valid address"));
        }
        let length = credentials.password.chars().count();
        if !(8..=128).contains(&length) {
            return Err(ApiError::invalid("password must be 8 to 128 characters"));
        }
        Ok(Registration {
            email,
            password: credentials.password,
        })
    }
}

/// A sane address: one `@`, a non-empty local part, a dotted domain, no spaces, 254 bytes at most.
pub(crate) fn valid_email(email: &str) -> bool {
    let Some((local, domain)) = email.split_once('@') else {
        return false;
    };
    email.len() <= 254
        && !local.is_empty()
        && local.len() <= 64
        && !domain.contains('@')
        && domain.contains('.')
        && domain.split('.').all(|label| {
            !label.is_empty()
                && label.chars().all(|c| c.is_alphanumeric() || c == '-')
                && !label.starts_with('-')
        })
        && !email.chars().any(|c| {
            c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | ',' | ';' | '"')
        })
}

/// `POST /auth/register` → 201 user.
pub(crate) async fn register(
    state: AppState,
    credentials: Credentials,
) -> Result<Response, ApiError> {
    let registration = Registration::try_from(credentials)?;
    let users = &state.stores().users;
    if users
        .get_user_by_email(&registration.email)
        .await?
        .is_some()
    {
        return Err(ApiError::conflict("a user with this email exists"));
    }
    let user = UserRecord {
        id: UserId(uuid::Uuid::now_v7()),
        email: registration.email,
        password_hash: state.passwords.hash(registration.password).await?,
        tier: Tier::Free,
        is_admin: false,
        created_at: crate::now_ms(),
    };
    users.create_user(&user).await.map_err(|err| match err {
        codebegen_store::StoreError::Conflict(_) => {
            ApiError::conflict("a user with this email exists")
        }
        other => other.into(),
    })?;
    tracing::info!(user_id = %user.id, "user registered");
    Ok(warp::reply::with_status(
        warp::reply::json(&UserView::from(&user)),
        StatusCode::CREATED,
    )
    .into_response())
}

/// `POST /auth/login` → 200 token pair; one message for unknown e-mails and wrong passwords.
pub(crate) async fn login(state: AppState, credentials: Credentials) -> Result<Response, ApiError> {
    let email = credentials.email.trim().to_lowercase();
    let user = state.stores().users.get_user_by_email(&email).await?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let verified = state.passwords.verify(hash, credentials.password).await;
    match user {
        Some(user) if verified => {
            let pair = issue_pair(&state, user.id, uuid::Uuid::new_v4()).await?;
            Ok(warp::reply::json(&pair).into_response())
        }
        _ => Err(ApiError::unauthorized(BAD_CREDENTIALS)),
    }
}

/// `POST /auth/refresh`: rotates within the family; presenting a used token revokes the family.
pub(crate) async fn refresh(
    state: AppState,
    request: RefreshRequest,
) -> Result<Response, ApiError> {
    let users = &state.stores().users;
    let hash = refresh_token_hash(&request.refresh_token);
    match users.use_refresh_token(&hash, crate::now_ms()).await? {
        RefreshUse::Rotated(old) => {
            if users.get_user(old.user_id).await?.is_none() {
                return Err(ApiError::unauthorized(BAD_REFRESH));
            }
            let pair = issue_pair(&state, old.user_id, old.family_id).await?;
            Ok(warp::reply::json(&pair).into_response())
        }
        RefreshUse::Reused(old) => {
            tracing::warn!(user_id = %old.user_id, family_id = %old.family_id, "refresh token reused; family revoked");
            Err(ApiError::unauthorized(BAD_REFRESH))
        }
        RefreshUse::Invalid => Err(ApiError::unauthorized(BAD_REFRESH)),
    }
}

/// `POST /auth/logout` → 204; revokes the token's family (unknown tokens are fine too).
pub(crate) async fn logout(state: AppState, request: RefreshRequest) -> Result<Response, ApiError> {
    let users = &state.stores().users;
    let hash = refresh_token_hash(&request.refresh_token);
    match users.use_refresh_token(&hash, crate::now_ms()).await? {
        RefreshUse::Rotated(token) | RefreshUse::Reused(token) => {
            users.revoke_family(token.family_id).await?
        }
        RefreshUse::Invalid => {}
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `GET /auth/me`.
pub(crate) async fn me(user: UserRecord) -> Result<Response, ApiError> {
    Ok(warp::reply::json(&UserView::from(&user)).into_response())
}

async fn issue_pair(
    state: &AppState,
    user: UserId,
    family_id: uuid::Uuid,
) -> Result<TokenPair, ApiError> {
    let now = crate::now_ms();
    let access_token = issue_access_token(&state.auth, user, now)?;
    let (refresh_token, token_hash) = new_refresh_token()?;
    let ttl_ms = i64::try_from(state.auth.refresh_ttl.as_millis()).unwrap_or(i64::MAX);
    let stored = RefreshToken {
        token_hash,
        user_id: user,
        family_id,
        expires_at: now.saturating_add(ttl_ms),
        used: false,
        revoked: false,
    };
    state.stores().users.put_refresh_token(&stored).await?;
    Ok(TokenPair {
        access_token,
        refresh_token,
        token_type: "bearer",
        expires_in: state.auth.access_ttl.as_secs(),
    })
}

#[cfg(test)]
mod tests {
    use super::valid_email;

    fn check(email: &str, expected: bool) {
        assert_eq!(valid_email(email), expected, "{email}");
    }

    #[test]
    fn emails() {
        check("ada@example.com", true);
        check("a.b+tag@mail.example.co", true);
        check("ada@localhost", false);
        check("ada@@example.com", false);
        check("@example.com", false);
        check("ada example@example.com", false);
        check("ada@example..com", false);
        check("ada@-example.com", false);
    }
}
