//! [`S3ArtifactStore`]: artifacts as objects in an S3 bucket (AWS, or any S3-compatible server
//! through a custom endpoint and path-style addressing), key `a/b/c` at `<prefix>a/b/c`.
//!
//! S3 replaces an object atomically, so readers see the old or the new blob, never a mix. Blobs
//! above [`S3Config::multipart_threshold`] go up as a multipart upload (parts of
//! [`S3Config::part_size`], a few at a time, aborted on failure); downloads can be streamed with
//! [`S3ArtifactStore::get_stream`]. Requests are bounded by [`S3Config::operation_timeout`] and
//! retried by the SDK's standard policy (transient and throttling errors, with backoff). Any
//! failure to reach the bucket is [`StoreError::Unavailable`]; invalid keys are `Conflict`s.

mod config;

pub use config::{S3Config, S3Credentials, S3OpenError};

use crate::{check_key, check_prefix, ArtifactStore, StoreError, StoreResult};
use async_trait::async_trait;
use aws_sdk_s3::config::retry::RetryConfig;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use aws_sdk_s3::Client;
use bytes::Bytes;
use futures_util::stream::BoxStream;
use futures_util::{StreamExt, TryStreamExt};

/// Parts uploaded at once.
const PART_CONCURRENCY: usize = 4;

/// Blobs in an S3 bucket. Cheap to clone.
#[derive(Debug, Clone)]
pub struct S3ArtifactStore {
    client: Client,
    config: S3Config,
}

/// Maps an SDK error: a failure to get an answer, or an answer refusing the request.
fn sdk_error<E>(operation: &str, key: &str, err: SdkError<E>) -> StoreError
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
{
    StoreError::Unavailable(format!(
        "S3 {operation} {key:?}: {}",
        DisplayErrorContext(&err)
    ))
}

async fn client(config: &S3Config) -> Client {
    let mut builder = aws_sdk_s3::config::Builder::new()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(config.region.clone()))
        .force_path_style(config.path_style)
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(config.connect_timeout)
                .operation_attempt_timeout(config.operation_timeout)
                .operation_timeout(config.operation_timeout)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(config.max_attempts));
    if let Some(endpoint) = &config.endpoint {
        builder = builder.endpoint_url(endpoint.clone());
    }
    builder = match &config.credentials {
        S3Credentials::Static {
            access_key_id,
            secret_access_key,
            session_token,
        } => builder.credentials_provider(Credentials::new(
            access_key_id.clone(),
            secret_access_key.clone(),
            session_token.clone(),
            None,
            "codebegen-config",
        )),
        S3Credentials::DefaultChain => {
            let shared = aws_config::defaults(BehaviorVersion::latest())
                .region(Region::new(config.region.clone()))
                .load()
                .await;
            builder.set_credentials_provider(shared.credentials_provider());
            builder
        }
    };
    Client::from_conf(builder.build())
}

impl S3ArtifactStore {
    /// Builds the client and checks that the bucket answers (`HeadBucket`), so a wrong endpoint,
    /// bucket or credentials fail at start-up, within the timeouts.
    pub async fn open(config: S3Config) -> Result<S3ArtifactStore, S3OpenError> {
        config.check().map_err(S3OpenError::Config)?;
        let client = client(&config).await;
        match client.head_bucket().bucket(&config.bucket).send().await {
            Ok(_) => Ok(S3ArtifactStore { client, config }),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => {
                Err(S3OpenError::NoSuchBucket(config.describe()))
            }
            Err(err) => Err(S3OpenError::Unavailable {
                target: config.describe(),
                reason: DisplayErrorContext(&err).to_string(),
            }),
        }
    }

    /// Creates the configured bucket unless it exists (for development and tests).
    pub async fn create_bucket(config: &S3Config) -> Result<(), S3OpenError> {
        config.check().map_err(S3OpenError::Config)?;
        let client = client(config).await;
        match client.create_bucket().bucket(&config.bucket).send().await {
            Ok(_) => Ok(()),
            Err(err)
                if err.as_service_error().is_some_and(|e| {
                    e.is_bucket_already_owned_by_you() || e.is_bucket_already_exists()
                }) =>
            {
                Ok(())
            }
            Err(err) => Err(S3OpenError::Unavailable {
                target: config.describe(),
                reason: DisplayErrorContext(&err).to_string(),
            }),
        }
    }

    /// The configuration it was opened with.
    pub fn config(&self) -> &S3Config {
        &self.config
    }

    fn object_key(&self, key: &str) -> StoreResult<String> {
        check_key(key)?;
        Ok(format!("{}{key}", self.config.prefix))
    }

    /// A blob as a stream of chunks, without holding it all in memory (for large archives).
    pub async fn get_stream(
        &self,
        key: &str,
    ) -> StoreResult<Option<BoxStream<'static, StoreResult<Bytes>>>> {
        let object_key = self.object_key(key)?;
        let response = match self
            .client
            .get_object()
            .bucket(&self.config.bucket)
            .key(&object_key)
            .send()
            .await
        {
            Ok(response) => response,
            Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => {
                return Ok(None)
            }
            Err(err) => return Err(sdk_error("GetObject", key, err)),
        };
        let key = key.to_string();
        let chunks = futures_util::stream::unfold(response.body, move |mut body| {
            let key = key.clone();
            async move {
                body.next().await.map(|chunk| {
                    let chunk = chunk.map_err(|err| {
                        StoreError::Unavailable(format!("S3 GetObject {key:?}: body: {err}"))
                    });
                    (chunk, body)
                })
            }
        });
        Ok(Some(chunks.boxed()))
    }

    async fn put_multipart(&self, key: &str, object_key: &str, data: Bytes) -> StoreResult<()> {
        let created = self
            .client
            .create_multipart_upload()
            .bucket(&self.config.bucket)
            .key(object_key)
            .send()
            .await
            .map_err(|err| sdk_error("CreateMultipartUpload", key, err))?;
        let upload_id = created.upload_id().map(str::to_string).ok_or_else(|| {
            StoreError::Unavailable(format!("S3 CreateMultipartUpload {key:?}: no upload id"))
        })?;
        let part_size = self.config.part_size;
        let n_parts = data.len().div_ceil(part_size);
        let uploads = (0..n_parts).map(|index| {
            let chunk = data.slice(index * part_size..((index + 1) * part_size).min(data.len()));
            let upload_id = upload_id.as_str();
            async move {
                let part_number = i32::try_from(index + 1).map_err(|_| {
                    StoreError::Conflict(format!("blob {key:?} needs too many parts"))
                })?;
                let part = self
                    .client
                    .upload_part()
                    .bucket(&self.config.bucket)
                    .key(object_key)
                    .upload_id(upload_id)
                    .part_number(part_number)
                    .body(ByteStream::from(chunk))
                    .send()
                    .await
                    .map_err(|err| sdk_error("UploadPart", key, err))?;
                Ok::<CompletedPart, StoreError>(
                    CompletedPart::builder()
                        .part_number(part_number)
                        .set_e_tag(part.e_tag().map(str::to_string))
                        .build(),
                )
            }
        });
        let parts: StoreResult<Vec<CompletedPart>> = futures_util::stream::iter(uploads)
            .buffered(PART_CONCURRENCY)
            .try_collect()
            .await;
        let completed = match parts {
            Ok(parts) => self
                .client
                .complete_multipart_upload()
                .bucket(&self.config.bucket)
                .key(object_key)
                .upload_id(&upload_id)
                .multipart_upload(
                    CompletedMultipartUpload::builder()
                        .set_parts(Some(parts))
                        .build(),
                )
                .send()
                .await
                .map(|_| ())
                .map_err(|err| sdk_error("CompleteMultipartUpload", key, err)),
            Err(err) => Err(err),
        };
        if completed.is_err() {
            // Best effort: an upload left behind only costs storage until a lifecycle rule.
            let aborted = self
                .client
                .abort_multipart_upload()
                .bucket(&self.config.bucket)
                .key(object_key)
                .upload_id(&upload_id)
                .send()
                .await;
            if let Err(err) = aborted {
                tracing::warn!(key, error = %DisplayErrorContext(&err), "could not abort a multipart upload");
            }
        }
        completed
    }
}

#[async_trait]
impl ArtifactStore for S3ArtifactStore {
    async fn get_stream(&self, key: &str) -> StoreResult<Option<crate::ByteStream>> {
        // The inherent method: chunks as they arrive from the server.
        S3ArtifactStore::get_stream(self, key).await
    }

    async fn put(&self, key: &str, data: Bytes) -> StoreResult<()> {
        let object_key = self.object_key(key)?;
        if data.len() > self.config.multipart_threshold {
            return self.put_multipart(key, &object_key, data).await;
        }
        self.client
            .put_object()
            .bucket(&self.config.bucket)
            .key(&object_key)
            .body(ByteStream::from(data))
            .send()
            .await
            .map_err(|err| sdk_error("PutObject", key, err))?;
        Ok(())
    }

    async fn get(&self, key: &str) -> StoreResult<Option<Bytes>> {
        let Some(mut chunks) = self.get_stream(key).await? else {
            return Ok(None);
        };
        let mut blob = Vec::new();
        while let Some(chunk) = chunks.next().await {
            blob.extend_from_slice(&chunk?);
        }
        Ok(Some(Bytes::from(blob)))
    }

    async fn list(&self, prefix: &str) -> StoreResult<Vec<String>> {
        check_prefix(prefix)?;
        let full_prefix = format!("{}{prefix}", self.config.prefix);
        let mut keys = Vec::new();
        let mut continuation: Option<String> = None;
        loop {
            let page = self
                .client
                .list_objects_v2()
                .bucket(&self.config.bucket)
                .prefix(&full_prefix)
                .set_continuation_token(continuation.take())
                .send()
                .await
                .map_err(|err| sdk_error("ListObjectsV2", prefix, err))?;
            for object in page.contents() {
                if let Some(key) = object
                    .key()
                    .and_then(|k| k.strip_prefix(&self.config.prefix))
                {
                    keys.push(key.to_string());
                }
            }
            match page.next_continuation_token() {
                Some(token) if page.is_truncated() == Some(true) => {
                    continuation = Some(token.to_string());
                }
                _ => break,
            }
        }
        keys.sort();
        keys.dedup();
        Ok(keys)
    }

    async fn delete(&self, key: &str) -> StoreResult<bool> {
        let object_key = self.object_key(key)?;
        match self
            .client
            .head_object()
            .bucket(&self.config.bucket)
            .key(&object_key)
            .send()
            .await
        {
            Ok(_) => {}
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => {
                return Ok(false)
            }
            Err(err) => return Err(sdk_error("HeadObject", key, err)),
        }
        self.client
            .delete_object()
            .bucket(&self.config.bucket)
            .key(&object_key)
            .send()
            .await
            .map_err(|err| sdk_error("DeleteObject", key, err))?;
        Ok(true)
    }
}
