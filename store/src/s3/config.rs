//! The S3 artifact store's settings ([`S3Config`], [`S3Credentials`]) and why opening it can
//! fail ([`S3OpenError`]); checked before any request is sent.

use crate::{check_prefix, StoreError};
use std::fmt;
use std::time::Duration;

/// The smallest part S3 accepts (except the last one).
pub(crate) const MIN_PART_SIZE: usize = 5 * 1024 * 1024;

/// Where the credentials come from.
#[derive(Clone, PartialEq, Eq)]
pub enum S3Credentials {
    /// Given keys (from the config file or the environment, read by the caller).
    Static {
        /// Access key id.
        access_key_id: String,
        /// Secret access key.
        secret_access_key: String,
        /// Session token, for temporary credentials.
        session_token: Option<String>,
    },
    /// The AWS SDK's default chain (environment, profile files, container and instance roles).
    DefaultChain,
}

impl fmt::Debug for S3Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            S3Credentials::Static { access_key_id, .. } => f
                .debug_struct("Static")
                .field("access_key_id", access_key_id)
                .finish_non_exhaustive(),
            S3Credentials::DefaultChain => f.write_str("DefaultChain"),
        }
    }
}

/// Where and how to store artifacts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Config {
    /// The bucket.
    pub bucket: String,
    /// A custom endpoint (`http://127.0.0.1:9000`); `None` for AWS.
    pub endpoint: Option<String>,
    /// The region (`us-east-1` for most S3-compatible servers).
    pub region: String,
    /// `http://endpoint/bucket/key` instead of `http://bucket.endpoint/key`.
    pub path_style: bool,
    /// Credentials.
    pub credentials: S3Credentials,
    /// Prepended to every key (empty, or ending with `/`), so deployments can share a bucket.
    pub prefix: String,
    /// Blobs larger than this are uploaded in parts.
    pub multipart_threshold: usize,
    /// Part size of multipart uploads (at least 5 MiB).
    pub part_size: usize,
    /// Limit for opening a connection.
    pub connect_timeout: Duration,
    /// Limit for one request, retries included.
    pub operation_timeout: Duration,
    /// Attempts per request (1 = no retries).
    pub max_attempts: u32,
}

impl S3Config {
    /// Defaults for a bucket: `us-east-1`, virtual-hosted addressing, the default credential
    /// chain, no prefix, 8 MiB multipart threshold and parts, 5 s to connect, 60 s per request,
    /// 3 attempts.
    pub fn new(bucket: impl Into<String>) -> S3Config {
        S3Config {
            bucket: bucket.into(),
            endpoint: None,
            region: "us-east-1".to_string(),
            path_style: false,
            credentials: S3Credentials::DefaultChain,
            prefix: String::new(),
            multipart_threshold: 8 * 1024 * 1024,
            part_size: 8 * 1024 * 1024,
            connect_timeout: Duration::from_secs(5),
            operation_timeout: Duration::from_secs(60),
            max_attempts: 3,
        }
    }

    /// Checks what the server cannot be asked about.
    pub fn check(&self) -> Result<(), String> {
        let bucket_ok = (3..=63).contains(&self.bucket.len())
            && self
                .bucket
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
        if !bucket_ok {
            return Err(format!(
                "invalid bucket name {:?}: use 3 to 63 lowercase letters, digits, '-' and '.'",
                self.bucket
            ));
        }
        if !(self.prefix.is_empty()
            || self.prefix.ends_with('/') && check_prefix(&self.prefix).is_ok())
        {
            return Err(format!(
                "the key prefix {:?} must be a valid key followed by '/'",
                self.prefix
            ));
        }
        if self.part_size < MIN_PART_SIZE {
            return Err(format!(
                "the part size must be at least {MIN_PART_SIZE} bytes"
            ));
        }
        if self.multipart_threshold < self.part_size {
            return Err("the multipart threshold must be at least the part size".to_string());
        }
        if self.max_attempts == 0
            || self.connect_timeout.is_zero()
            || self.operation_timeout.is_zero()
        {
            return Err("timeouts and attempts must be positive".to_string());
        }
        Ok(())
    }

    pub(crate) fn describe(&self) -> String {
        format!(
            "bucket {} at {}",
            self.bucket,
            self.endpoint.as_deref().unwrap_or("AWS S3")
        )
    }
}

/// Why an [`super::S3ArtifactStore`] could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum S3OpenError {
    /// The configuration is unusable.
    #[error("invalid S3 configuration: {0}")]
    Config(String),
    /// The bucket does not exist.
    #[error("S3 {0} does not exist (create it first)")]
    NoSuchBucket(String),
    /// The server could not be reached, or refused the request.
    #[error("cannot use S3 {target}: {reason}")]
    Unavailable {
        /// Bucket and endpoint.
        target: String,
        /// The cause.
        reason: String,
    },
}

impl From<S3OpenError> for StoreError {
    fn from(err: S3OpenError) -> StoreError {
        StoreError::Unavailable(err.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(change: impl FnOnce(&mut S3Config), word: &str) {
        let mut config = S3Config::new("codebegen-artifacts");
        change(&mut config);
        let err = config.check().expect_err("refused");
        assert!(err.contains(word), "{err}");
    }

    #[test]
    fn configs_are_checked() {
        assert_eq!(S3Config::new("codebegen-artifacts").check(), Ok(()));
        check(|c| c.bucket = "No_Such".to_string(), "bucket");
        check(|c| c.bucket = "ab".to_string(), "bucket");
        check(|c| c.prefix = "no-slash".to_string(), "prefix");
        check(|c| c.prefix = "../x/".to_string(), "prefix");
        check(|c| c.part_size = 1024, "part size");
        check(|c| c.multipart_threshold = MIN_PART_SIZE, "threshold");
        check(|c| c.max_attempts = 0, "attempts");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let credentials = S3Credentials::Static {
            access_key_id: "AKIDEXAMPLE".to_string(),
            secret_access_key: "wJalrXUtnFEMI".to_string(),
            session_token: Some("token-secret".to_string()),
        };
        let text = format!("{credentials:?}");
        assert!(
            text.contains("AKIDEXAMPLE")
                && !text.contains("wJalr")
                && !text.contains("token-secret"),
            "{text}"
        );
    }
}
