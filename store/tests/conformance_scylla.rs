//! The conformance suite against a real CQL server (Apache Cassandra 5 or ScyllaDB) at
//! `$CODEBEGEN_TEST_CQL` (`deploy/dev/services.sh start` prints it), each run in a fresh keyspace
//! that is dropped afterwards; plus failure tests: an unreachable or silent cluster fails to
//! open quickly with a clear error, and requests to a server that hangs or goes away return
//! `Unavailable` within the request timeout, and work again once it is back.

#[path = "support/proxy.rs"]
mod proxy;
mod support;

use codebegen_schema::generation::{
    GenerationId, GenerationOptions, GenerationRecord, GenerationStatus, UserId,
};
use codebegen_store::scylla::CQL_MIGRATIONS;
use codebegen_store::{
    conformance, GenerationStore, ScyllaConfig, ScyllaOpenError, ScyllaStore, StoreError,
};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

fn cql_node() -> Option<String> {
    support::service("CODEBEGEN_TEST_CQL", "CQL server (Cassandra or ScyllaDB)")
}

fn config(node: &str) -> ScyllaConfig {
    ScyllaConfig::new(vec![node.to_string()], support::unique("codebegen_test"))
}

/// Drops a test keyspace through a session of its own.
async fn drop_keyspace(node: &str, keyspace: &str) {
    let session = scylla::client::session_builder::SessionBuilder::new()
        .known_node(node)
        .build()
        .await
        .expect("a session to drop the test keyspace");
    session
        .query_unpaged(format!("DROP KEYSPACE IF EXISTS {keyspace}"), ())
        .await
        .expect("drop the test keyspace");
}

fn generation(created_at: i64) -> GenerationRecord {
    GenerationRecord {
        id: GenerationId(uuid::Uuid::new_v4()),
        user_id: UserId(uuid::Uuid::new_v4()),
        project_id: None,
        parent_id: None,
        prompt: Some("A todo app".to_string()),
        input_spec: None,
        options: GenerationOptions::default(),
        status: GenerationStatus::Running,
        stage: None,
        progress: 0,
        spec: None,
        review: None,
        gates: None,
        error: None,
        created_at,
        updated_at: created_at,
        completed_at: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scylla_store_conforms_and_again_after_reopening() {
    let Some(node) = cql_node() else { return };
    let config = config(&node);
    let store = ScyllaStore::open(config.clone())
        .await
        .expect("open a fresh keyspace");
    conformance::user_store(&store).await;
    conformance::project_store(&store).await;
    conformance::generation_store(&store).await;
    conformance::detached_generations(&store, &store).await;
    conformance::lease_store(&store).await;

    let reopened = ScyllaStore::open(config.clone())
        .await
        .expect("reopen the keyspace");
    let applied = reopened
        .applied_migrations()
        .await
        .expect("applied migrations");
    let versions: Vec<(u32, &str)> = applied
        .iter()
        .map(|m| (m.version, m.name.as_str()))
        .collect();
    let known: Vec<(u32, &str)> = CQL_MIGRATIONS.iter().map(|m| (m.version, m.name)).collect();
    assert_eq!(
        versions, known,
        "every migration must be recorded once, in order"
    );
    conformance::user_store(&reopened).await;
    conformance::project_store(&reopened).await;
    conformance::generation_store(&reopened).await;
    conformance::lease_store(&reopened).await;
    drop_keyspace(&node, &config.keyspace).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_keyspace_from_a_newer_build_is_refused() {
    let Some(node) = cql_node() else { return };
    let config = config(&node);
    drop(
        ScyllaStore::open(config.clone())
            .await
            .expect("open a fresh keyspace"),
    );
    let session = scylla::client::session_builder::SessionBuilder::new()
        .known_node(&node)
        .build()
        .await
        .expect("session");
    session
        .query_unpaged(
            format!(
                "INSERT INTO {}.schema_migrations (version, name) VALUES (999, 'from_the_future')",
                config.keyspace
            ),
            (),
        )
        .await
        .expect("record a future migration");
    let err = ScyllaStore::open(config.clone())
        .await
        .expect_err("refused");
    assert!(
        matches!(err, ScyllaOpenError::NewerSchema { found: 999, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("newer codebegen"), "{err}");
    drop_keyspace(&node, &config.keyspace).await;
}

/// A port nothing listens on.
async fn closed_port() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    listener.local_addr().expect("address")
}

#[tokio::test]
async fn opening_an_unreachable_cluster_fails_fast_and_names_it() {
    let address = closed_port().await;
    let mut config = ScyllaConfig::new(vec![address.to_string()], "codebegen_unreachable");
    config.connect_timeout = Duration::from_secs(2);
    config.request_timeout = Duration::from_secs(2);
    let started = Instant::now();
    let err = ScyllaStore::open(config)
        .await
        .expect_err("nothing listens there");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(err, ScyllaOpenError::Connect { .. }), "{err}");
    assert!(
        err.to_string().contains(&address.to_string()),
        "the error must name the contact point: {err}"
    );
}

#[tokio::test]
async fn opening_a_silent_server_gives_up_within_the_timeouts() {
    // Accepts connections and never says a word.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("address");
    let silent = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let mut config = ScyllaConfig::new(vec![address.to_string()], "codebegen_silent");
    config.connect_timeout = Duration::from_secs(1);
    config.request_timeout = Duration::from_secs(1);
    let started = Instant::now();
    let err = ScyllaStore::open(config)
        .await
        .expect_err("a silent server");
    assert!(
        started.elapsed() < Duration::from_secs(4),
        "took {:?}",
        started.elapsed()
    );
    assert!(err.to_string().contains(&address.to_string()), "{err}");
    silent.abort();
}

/// Calls `get_generation` and checks it fails as `Unavailable` within `limit`.
async fn unavailable_within(store: &ScyllaStore, id: GenerationId, limit: Duration, step: &str) {
    let started = Instant::now();
    let result = store.get_generation(id).await;
    let elapsed = started.elapsed();
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{step}: got {result:?}"
    );
    assert!(elapsed < limit, "{step}: took {elapsed:?}, limit {limit:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_fail_as_unavailable_while_the_server_is_gone_and_work_when_it_is_back() {
    let Some(node) = cql_node() else { return };
    let target: SocketAddr = tokio::net::lookup_host(node.as_str())
        .await
        .expect("resolve the CQL node")
        .next()
        .expect("an address");
    let proxy = proxy::Proxy::start(target).await;
    let mut config = config(&proxy.address().to_string());
    config.request_timeout = Duration::from_secs(2);
    config.connect_timeout = Duration::from_secs(2);
    let store = ScyllaStore::open(config.clone())
        .await
        .expect("open through the proxy");
    let record = generation(1_700_000_000_000);
    store
        .put_generation(&record)
        .await
        .expect("put while the server is there");
    let limit = config.request_timeout + Duration::from_secs(2);

    proxy.hang();
    unavailable_within(&store, record.id, limit, "server hangs").await;
    proxy.close();
    unavailable_within(&store, record.id, limit, "server gone").await;
    let started = Instant::now();
    let put = store.put_generation(&generation(1_700_000_000_001)).await;
    assert!(
        matches!(put, Err(StoreError::Unavailable(_))),
        "a write while gone: {put:?}"
    );
    assert!(
        started.elapsed() < limit,
        "a write while gone took {:?}",
        started.elapsed()
    );

    proxy.reopen().await;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        match store.get_generation(record.id).await {
            Ok(found) => {
                assert_eq!(found, Some(record.clone()), "the record must have survived");
                break;
            }
            Err(StoreError::Unavailable(err)) => {
                assert!(
                    Instant::now() < deadline,
                    "the store did not recover within 60 s: {err}"
                );
                // Waiting for the driver to reconnect: poll again shortly.
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(other) => panic!("after the server came back: {other:?}"),
        }
    }
    drop(store);
    drop_keyspace(&node, &config.keyspace).await;
}
