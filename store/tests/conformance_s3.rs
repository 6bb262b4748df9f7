//! The artifact conformance suite against a real S3-compatible server at `$CODEBEGEN_TEST_S3`
//! (`deploy/dev/services.sh start` prints it), in a fresh bucket per run; plus multipart
//! uploads, streamed downloads, a key prefix, and failure tests: a missing bucket and an
//! unreachable or silent endpoint fail to open quickly with a clear error.

mod support;

use bytes::Bytes;
use codebegen_store::{
    conformance, ArtifactStore, S3ArtifactStore, S3Config, S3Credentials, S3OpenError,
};
use futures_util::StreamExt;
use std::time::{Duration, Instant};

fn s3_endpoint() -> Option<String> {
    support::service("CODEBEGEN_TEST_S3", "S3-compatible server")
}

/// A config for a fresh bucket on a local server (which takes any credentials).
fn config(endpoint: &str) -> S3Config {
    let mut config = S3Config::new(support::unique("codebegen-test").replace('_', "-"));
    config.endpoint = Some(endpoint.to_string());
    config.path_style = true;
    config.credentials = S3Credentials::Static {
        access_key_id: "codebegen-test".to_string(),
        secret_access_key: "codebegen-test-secret".to_string(),
        session_token: None,
    };
    config
}

async fn fresh_store(config: S3Config) -> S3ArtifactStore {
    S3ArtifactStore::create_bucket(&config)
        .await
        .expect("create the test bucket");
    S3ArtifactStore::open(config)
        .await
        .expect("open the test bucket")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_artifact_store_conforms() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let store = fresh_store(config(&endpoint)).await;
    conformance::artifact_store(&store).await;
    conformance::artifact_store(&store).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn s3_artifact_store_conforms_under_a_key_prefix() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let mut config = config(&endpoint);
    config.prefix = "deployment-a/".to_string();
    let store = fresh_store(config.clone()).await;
    conformance::artifact_store(&store).await;
    let unprefixed = S3ArtifactStore::open(S3Config {
        prefix: String::new(),
        ..config
    })
    .await
    .expect("open without the prefix");
    let everything = unprefixed.list("").await.expect("list the whole bucket");
    assert!(
        !everything.is_empty() && everything.iter().all(|k| k.starts_with("deployment-a/")),
        "{everything:?}"
    );
}

/// Deterministic bytes that do not compress or repeat.
fn noise(len: usize) -> Bytes {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state.to_le_bytes()[0]
        })
        .collect::<Vec<u8>>()
        .into()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn big_blobs_go_up_in_parts_and_stream_down() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let store = fresh_store(config(&endpoint)).await;
    let big = noise(21 * 1024 * 1024 + 3);
    assert!(
        big.len() > store.config().multipart_threshold,
        "the blob must take the multipart path"
    );
    store
        .put("archives/project.zip", big.clone())
        .await
        .expect("multipart put");
    let back = store
        .get("archives/project.zip")
        .await
        .expect("get")
        .expect("exists");
    assert!(
        back == big,
        "a multipart blob must round-trip byte for byte ({} bytes back)",
        back.len()
    );

    let mut stream = store
        .get_stream("archives/project.zip")
        .await
        .expect("get_stream")
        .expect("exists");
    let (mut total, mut chunks) = (0usize, 0usize);
    while let Some(chunk) = stream.next().await {
        total += chunk.expect("a chunk").len();
        chunks += 1;
    }
    assert_eq!(total, big.len(), "the stream must deliver the whole blob");
    assert!(
        chunks > 1,
        "a 21 MiB download must arrive in several chunks"
    );
    assert!(store
        .get_stream("archives/missing.zip")
        .await
        .expect("get_stream")
        .is_none());

    let smaller = noise(9 * 1024 * 1024);
    store
        .put("archives/project.zip", smaller.clone())
        .await
        .expect("multipart overwrite");
    assert!(store.get("archives/project.zip").await.expect("get") == Some(smaller));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_bucket_is_a_clear_start_up_error() {
    let Some(endpoint) = s3_endpoint() else {
        return;
    };
    let err = S3ArtifactStore::open(config(&endpoint))
        .await
        .expect_err("no such bucket");
    assert!(matches!(err, S3OpenError::NoSuchBucket(_)), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");
}

#[tokio::test]
async fn an_unreachable_endpoint_fails_fast_and_names_it() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    drop(listener);
    let mut config = config(&endpoint);
    config.connect_timeout = Duration::from_secs(1);
    config.operation_timeout = Duration::from_secs(3);
    let started = Instant::now();
    let err = S3ArtifactStore::open(config)
        .await
        .expect_err("nothing listens there");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(err, S3OpenError::Unavailable { .. }), "{err}");
    assert!(
        err.to_string().contains(&endpoint),
        "the error must name the endpoint: {err}"
    );
}

#[tokio::test]
async fn a_silent_endpoint_gives_up_within_the_timeout() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let endpoint = format!("http://{}", listener.local_addr().expect("address"));
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut config = config(&endpoint);
    config.operation_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let err = S3ArtifactStore::open(config)
        .await
        .expect_err("a silent server");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(err, S3OpenError::Unavailable { .. }), "{err}");
    silent.abort();
}
