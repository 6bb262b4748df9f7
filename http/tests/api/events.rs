//! SSE: stored events replayed after Last-Event-ID, ending at the final event.

use codebegen_schema::generation::{
    EventKind, GenerationEvent, GenerationRecord, GenerationStatus,
};
use serde_json::json;

use crate::common::{app, assert_error, body_text, record, App, Session};

/// A generation of `session` with four stored events, the last one `completed`.
async fn with_events(app: &App, session: &Session, status: GenerationStatus) -> GenerationRecord {
    let record = record(session.id, status, 1_000);
    app.put_generation(&record).await;
    let kinds = [
        EventKind::StageStarted,
        EventKind::Progress,
        EventKind::StageFinished,
        EventKind::Completed,
    ];
    for (index, kind) in kinds.into_iter().enumerate() {
        let seq = index as u64 + 1;
        let event = GenerationEvent {
            generation_id: record.id,
            seq,
            kind,
            data: json!({ "n": seq }),
            at: 1_000 + seq as i64,
        };
        app.stores
            .generations
            .append_event(&event)
            .await
            .expect("event");
    }
    record
}

/// (id, event, data) of each event in an SSE body, ignoring comments.
fn parse(body: &str) -> Vec<(u64, String, serde_json::Value)> {
    body.split("\n\n")
        .filter(|block| !block.trim().is_empty())
        .filter_map(|block| {
            let field = |name: &str| {
                block
                    .lines()
                    .find_map(|l| l.strip_prefix(name))
                    .map(str::to_string)
            };
            let id = field("id:")?.parse().ok()?;
            let data = serde_json::from_str(&field("data:")?).ok()?;
            Some((id, field("event:")?, data))
        })
        .collect()
}

fn ids(events: &[(u64, String, serde_json::Value)]) -> Vec<u64> {
    events.iter().map(|(id, _, _)| *id).collect()
}

#[tokio::test]
async fn replays_everything_then_ends_at_the_final_event() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let generation = with_events(&app, &ada, GenerationStatus::Completed).await;
    let response = app
        .get(
            &format!("/api/v1/generations/{}/events", generation.id),
            &ada,
        )
        .await;
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let events = parse(&body_text(&response));
    assert_eq!(ids(&events), [1, 2, 3, 4]);
    let kinds: Vec<&str> = events.iter().map(|(_, kind, _)| kind.as_str()).collect();
    assert_eq!(
        kinds,
        ["stage_started", "progress", "stage_finished", "completed"]
    );
    assert_eq!(events[1].2["data"], json!({ "n": 2 }));
    assert_eq!(events[1].2["seq"], 2);
    assert_eq!(events[1].2["generation_id"], generation.id.to_string());
}

#[tokio::test]
async fn resumes_after_last_event_id() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    // Still "running" in its record: the stored final event alone ends the stream.
    let generation = with_events(&app, &ada, GenerationStatus::Running).await;
    let path = format!("/api/v1/generations/{}/events", generation.id);
    let header = warp::test::request()
        .path(&path)
        .header("authorization", ada.bearer())
        .header("last-event-id", "2");
    assert_eq!(ids(&parse(&body_text(&app.send(header).await))), [3, 4]);
    let query = app.get(&format!("{path}?last_event_id=3"), &ada).await;
    assert_eq!(ids(&parse(&body_text(&query))), [4]);
    assert_error(
        &app.get(&format!("{path}?last_event_id=x"), &ada).await,
        400,
        "bad_request",
    );
    // Already final when the client connects: the replay (here empty) and then the end.
    let done = with_events(&app, &ada, GenerationStatus::Completed).await;
    let past_the_end = app
        .get(
            &format!("/api/v1/generations/{}/events?last_event_id=4", done.id),
            &ada,
        )
        .await;
    assert_eq!(past_the_end.status(), 200);
    assert!(parse(&body_text(&past_the_end)).is_empty());
}

#[tokio::test]
async fn another_users_events_are_404() {
    let app = app().await;
    let ada = app.session("ada@example.com").await;
    let bob = app.session("bob@example.com").await;
    let generation = with_events(&app, &ada, GenerationStatus::Completed).await;
    let path = format!("/api/v1/generations/{}/events", generation.id);
    assert_error(&app.get(&path, &bob).await, 404, "not_found");
    assert_error(
        &app.send(warp::test::request().path(&path)).await,
        401,
        "unauthorized",
    );
}
