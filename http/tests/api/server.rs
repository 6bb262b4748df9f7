//! Through a real server on 127.0.0.1:0: a chunked body over the limit, an SSE stream that
//! receives a live event (a cancellation) and then ends, and one that follows a generation
//! running on another node through the store.

use std::time::Duration;

use codebegen_schema::generation::{EventKind, GenerationEvent, GenerationStatus};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::{app, record, App};

async fn serve(app: &App) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(
        warp::serve(codebegen_http::routes(app.state.clone()))
            .incoming(listener)
            .run(),
    );
    addr
}

/// Reads until `needle` shows up (or the connection closes), with a deadline.
async fn read_until(stream: &mut TcpStream, seen: &mut String, needle: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut buffer = [0u8; 4096];
    while !seen.contains(needle) {
        let read = tokio::time::timeout_at(deadline, stream.read(&mut buffer))
            .await
            .unwrap_or_else(|_| panic!("no {needle:?} within 10 s; got {seen:?}"))
            .expect("read");
        if read == 0 {
            break;
        }
        seen.push_str(&String::from_utf8_lossy(&buffer[..read]));
    }
}

#[tokio::test]
async fn chunked_bodies_over_the_limit_are_413() {
    let app = app().await;
    let addr = serve(&app).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let head =
        "POST /api/v1/auth/register HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n\
                Transfer-Encoding: chunked\r\n\r\n";
    stream.write_all(head.as_bytes()).await.expect("head");
    let chunk = format!("{:x}\r\n{}\r\n", 16 * 1024, " ".repeat(16 * 1024));
    for _ in 0..5 {
        // The server may answer and stop reading before the end; that is the point.
        if stream.write_all(chunk.as_bytes()).await.is_err() {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n").await;
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "payload_too_large").await;
    assert!(seen.starts_with("HTTP/1.1 413"), "{seen}");
}

#[tokio::test]
async fn sse_streams_live_events_and_ends_after_the_final_one() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let generation = record(ada.id, GenerationStatus::Running, 1_000);
    app.put_generation(&generation).await;
    let started = GenerationEvent {
        generation_id: generation.id,
        seq: 1,
        kind: EventKind::StageStarted,
        data: json!({ "stage": "extract" }),
        at: 1_001,
    };
    app.stores
        .generations
        .append_event(&started)
        .await
        .expect("event");

    let addr = serve(&app).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /api/v1/generations/{}/events HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\r\n",
        generation.id,
        ada.bearer()
    );
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "event:stage_started").await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(seen.contains("content-type: text/event-stream"), "{seen}");

    // While another live node holds its lease, the generation runs there: cancelling here
    // is refused, naming the owner, and changes nothing.
    let path = format!("/api/v1/generations/{}/cancel", generation.id);
    let refused = app.post_json(&path, json!({}), Some(&ada)).await;
    assert_eq!(refused.status(), 409, "{:?}", refused.body());
    assert!(
        String::from_utf8_lossy(refused.body()).contains("another-node"),
        "{:?}",
        refused.body()
    );
    // Once that node let the lease go (it stopped), no node runs it: cancelling here writes
    // and publishes the final event.
    assert!(app
        .stores
        .leases
        .release_lease(generation.id, "another-node")
        .await
        .expect("release"));
    let cancelled = app.post_json(&path, json!({}), Some(&ada)).await;
    assert_eq!(cancelled.status(), 200, "{:?}", cancelled.body());

    read_until(&mut stream, &mut seen, "\r\n0\r\n\r\n").await;
    assert!(seen.contains("event:cancelled\n"), "{seen}");
    assert!(seen.contains("id:2\n"), "{seen}");
    assert_eq!(seen.matches("id:1\n").count(), 1, "{seen}");
}

#[tokio::test]
async fn sse_follows_a_generation_on_another_node_through_the_store() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    // Leased to another node: nothing runs here and nothing is published locally.
    let generation = record(ada.id, GenerationStatus::Running, 1_000);
    app.put_generation(&generation).await;
    let event = |seq: u64, kind: EventKind| GenerationEvent {
        generation_id: generation.id,
        seq,
        kind,
        data: json!({ "n": seq }),
        at: 1_000 + seq as i64,
    };
    let store = &app.stores.generations;
    store
        .append_event(&event(1, EventKind::StageStarted))
        .await
        .expect("event");

    let addr = serve(&app).await;
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let request = format!(
        "GET /api/v1/generations/{}/events HTTP/1.1\r\nHost: test\r\nAuthorization: {}\r\n\r\n",
        generation.id,
        ada.bearer()
    );
    stream.write_all(request.as_bytes()).await.expect("request");
    let mut seen = String::new();
    read_until(&mut stream, &mut seen, "event:stage_started").await;

    // The other node appends to the shared store; only a poll of the store can deliver these.
    for (seq, kind) in [
        (2, EventKind::Progress),
        (3, EventKind::StageFinished),
        (4, EventKind::Completed),
    ] {
        store.append_event(&event(seq, kind)).await.expect("event");
    }
    read_until(&mut stream, &mut seen, "\r\n0\r\n\r\n").await;
    let ids: Vec<&str> = seen
        .lines()
        .filter_map(|line| line.strip_prefix("id:"))
        .collect();
    assert_eq!(ids, ["1", "2", "3", "4"], "{seen}");
    assert!(seen.contains("event:completed\n"), "{seen}");
}
