//! argon2id password hashing, run off the async threads, with a dummy hash so that unknown
//! e-mails cost as much as wrong passwords.

use argon2::password_hash::{PasswordHash, PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};

use crate::error::ApiError;

/// argon2id cost parameters for new hashes (verification reads them from the stored hash).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl Default for PasswordParams {
    /// The argon2 crate's defaults (19 MiB, 2 passes, 1 lane: OWASP's minimum).
    fn default() -> Self {
        PasswordParams {
            memory_kib: Params::DEFAULT_M_COST,
            iterations: Params::DEFAULT_T_COST,
            parallelism: Params::DEFAULT_P_COST,
        }
    }
}

impl PasswordParams {
    /// The cheapest valid parameters: for tests only.
    pub fn fast_for_tests() -> PasswordParams {
        PasswordParams {
            memory_kib: Params::MIN_M_COST,
            iterations: Params::MIN_T_COST,
            parallelism: 1,
        }
    }
}

/// Hashes and verifies passwords.
pub(crate) struct PasswordHasher {
    params: PasswordParams,
    dummy: Option<String>,
}

impl PasswordHasher {
    /// Computes the dummy hash now (one hash at startup), so no request pays for it.
    pub fn new(params: PasswordParams) -> PasswordHasher {
        let dummy = hash_blocking(params, "not a password: timing equaliser").ok();
        PasswordHasher { params, dummy }
    }

    /// A PHC string for `password` with a fresh salt.
    pub async fn hash(&self, password: String) -> Result<String, ApiError> {
        let params = self.params;
        tokio::task::spawn_blocking(move || hash_blocking(params, &password))
            .await
            .map_err(ApiError::internal)?
    }

    /// Whether `password` matches `hash`; with no hash (unknown user) it checks against a dummy
    /// hash of the same cost and returns false.
    pub async fn verify(&self, hash: Option<String>, password: String) -> bool {
        let known = hash.is_some();
        let hash = match hash {
            Some(hash) => hash,
            None => match &self.dummy {
                Some(dummy) => dummy.clone(),
                None => return false,
            },
        };
        let verified = tokio::task::spawn_blocking(move || verify_blocking(&hash, &password)).await;
        known && verified.unwrap_or(false)
    }
}

fn hash_blocking(params: PasswordParams, password: &str) -> Result<String, ApiError> {
    let argon = argon(params)?;
    let mut salt = [0u8; 16];
    getrandom::getrandom(&mut salt).map_err(ApiError::internal)?;
    let salt = SaltString::encode_b64(&salt).map_err(ApiError::internal)?;
    let hash = argon
        .hash_password(password.as_bytes(), &salt)
        .map_err(ApiError::internal)?;
    Ok(hash.to_string())
}

fn verify_blocking(hash: &str, password: &str) -> bool {
    match PasswordHash::new(hash) {
        Ok(parsed) => Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(err) => {
            tracing::error!(error = %err, "stored password hash does not parse");
            false
        }
    }
}

fn argon(params: PasswordParams) -> Result<Argon2<'static>, ApiError> {
    let params = Params::new(
        params.memory_kib,
        params.iterations,
        params.parallelism,
        None,
    )
    .map_err(ApiError::internal)?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_unknown_users_never_do() {
        let hasher = PasswordHasher::new(PasswordParams::fast_for_tests());
        let hash = hasher.hash("correct horse".into()).await.expect("hash");
        assert!(hash.starts_with("$argon2id$"));
        assert!(
            hasher
                .verify(Some(hash.clone()), "correct horse".into())
                .await
        );
        assert!(!hasher.verify(Some(hash), "wrong horse".into()).await);
        assert!(
            !hasher
                .verify(None, "not a password: timing equaliser".into())
                .await
        );
    }
}
