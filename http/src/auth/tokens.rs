//! Access tokens (HS256 JWTs: sub, exp, iat, jti) and refresh tokens (32 random bytes,
//! base64url, stored only as their sha256 hex).

use base64::Engine as _;
use codebegen_schema::generation::{UnixMillis, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::AuthConfig;
use crate::error::ApiError;

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessClaims {
    /// The user id.
    pub sub: String,
    /// Expiry, Unix seconds.
    pub exp: u64,
    /// Issued at, Unix seconds.
    pub iat: u64,
    /// A unique id.
    pub jti: String,
}

impl AccessClaims {
    /// The user the token names.
    pub fn user_id(&self) -> Result<UserId, ApiError> {
        UserId::parse(&self.sub).ok_or_else(|| ApiError::unauthorized("invalid or expired token"))
    }
}

/// Signs an access token for `user` issued at `now_ms`.
pub fn issue_access_token(
    config: &AuthConfig,
    user: UserId,
    now_ms: UnixMillis,
) -> Result<String, ApiError> {
    let iat = u64::try_from(now_ms / 1000).unwrap_or(0);
    let claims = AccessClaims {
        sub: user.to_string(),
        exp: iat + config.access_ttl.as_secs(),
        iat,
        jti: uuid::Uuid::new_v4().to_string(),
    };
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&config.jwt_secret),
    )
    .map_err(ApiError::internal)
}

/// Checks signature, algorithm and expiry (no leeway); 401 with one message for every failure.
pub fn verify_access_token(config: &AuthConfig, token: &str) -> Result<AccessClaims, ApiError> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.leeway = 0;
    validation.set_required_spec_claims(&["exp", "iat", "sub"]);
    jsonwebtoken::decode::<AccessClaims>(
        token,
        &DecodingKey::from_secret(&config.jwt_secret),
        &validation,
    )
    .map(|data| data.claims)
    .map_err(|err| {
        tracing::debug!(error = %err, "access token rejected");
        ApiError::unauthorized("invalid or expired token")
    })
}

/// A fresh refresh token and the sha256 hex under which it is stored.
pub(crate) fn new_refresh_token() -> Result<(String, String), ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).map_err(ApiError::internal)?;
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = refresh_token_hash(&token);
    Ok((token, hash))
}

/// The stored form of a refresh token.
pub(crate) fn refresh_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(secret: &[u8]) -> AuthConfig {
        AuthConfig::new(secret.to_vec())
    }

    #[test]
    fn access_tokens_round_trip_and_reject_tampering() {
        let user = UserId(uuid::Uuid::new_v4());
        let now = crate::now_ms();
        let token = issue_access_token(&config(b"k1"), user, now).expect("sign");
        let claims = verify_access_token(&config(b"k1"), &token).expect("valid");
        assert_eq!(claims.user_id().expect("uuid"), user);
        assert_eq!(claims.exp - claims.iat, 1800);
        assert!(verify_access_token(&config(b"k2"), &token).is_err());
        assert!(verify_access_token(&config(b"k1"), &format!("{token}x")).is_err());
    }

    #[test]
    fn expired_tokens_are_rejected() {
        let an_hour_ago = crate::now_ms() - 3_600_000;
        let token = issue_access_token(&config(b"k"), UserId(uuid::Uuid::new_v4()), an_hour_ago)
            .expect("sign");
        assert!(verify_access_token(&config(b"k"), &token).is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, hash_a) = new_refresh_token().expect("token");
        let (b, _) = new_refresh_token().expect("token");
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash_a, refresh_token_hash(&a));
        assert_eq!(hash_a.len(), 64);
    }
}
