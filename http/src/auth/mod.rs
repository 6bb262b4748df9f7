//! Authentication: settings, argon2 password hashing, HS256 access tokens, rotating refresh
//! tokens, the `/auth/*` handlers and the bearer-token filter every protected route starts with.

mod handlers;
mod password;
mod tokens;

use std::time::Duration;

use codebegen_schema::generation::UserRecord;
use warp::{Filter, Rejection};

pub(crate) use handlers::{login, logout, me, refresh, register};
pub(crate) use password::PasswordHasher;
pub use password::PasswordParams;
pub use tokens::{issue_access_token, verify_access_token, AccessClaims};

use crate::error::ApiError;
use crate::state::AppState;

/// Token and password settings.
#[derive(Clone)]
pub struct AuthConfig {
    /// The HS256 key for access tokens (use at least 32 random bytes).
    pub jwt_secret: Vec<u8>,
    /// Access-token lifetime (30 minutes).
    pub access_ttl: Duration,
    /// Refresh-token lifetime (30 days).
    pub refresh_ttl: Duration,
    /// argon2 cost for new password hashes.
    pub password: PasswordParams,
}

impl AuthConfig {
    /// The standard settings: 30-minute access tokens, 30-day refresh tokens, argon2id defaults.
    pub fn new(jwt_secret: Vec<u8>) -> AuthConfig {
        AuthConfig {
            jwt_secret,
            access_ttl: Duration::from_secs(30 * 60),
            refresh_ttl: Duration::from_secs(30 * 24 * 60 * 60),
            password: PasswordParams::default(),
        }
    }

    /// The same with cheap argon2 parameters, for tests.
    pub fn with_password_params(mut self, password: PasswordParams) -> AuthConfig {
        self.password = password;
        self
    }
}

impl std::fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthConfig")
            .field("jwt_secret", &"<redacted>")
            .field("access_ttl", &self.access_ttl)
            .field("refresh_ttl", &self.refresh_ttl)
            .field("password", &self.password)
            .finish()
    }
}

/// The signed-in user from `Authorization: Bearer <access token>`; 401 otherwise.
pub(crate) fn authenticated(
    state: AppState,
) -> impl Filter<Extract = (UserRecord,), Error = Rejection> + Clone {
    warp::header::optional::<String>("authorization").and_then(move |header: Option<String>| {
        let state = state.clone();
        async move {
            authenticate(&state, header.as_deref())
                .await
                .map_err(warp::reject::custom)
        }
    })
}

async fn authenticate(state: &AppState, header: Option<&str>) -> Result<UserRecord, ApiError> {
    let header = header.ok_or_else(|| ApiError::unauthorized("missing bearer token"))?;
    let token = header
        .strip_prefix("Bearer ")
        .or_else(|| header.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| ApiError::unauthorized("expected 'Authorization: Bearer <token>'"))?;
    let claims = verify_access_token(&state.auth, token)?;
    let user = state.stores().users.get_user(claims.user_id()?).await?;
    user.ok_or_else(|| ApiError::unauthorized("invalid or expired token"))
}
