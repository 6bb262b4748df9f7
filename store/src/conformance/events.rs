//! Conformance checks for a generation's checkpoints (keyed by stage, returned in stage order)
//! and its event log (idempotent appends keyed by seq, conflicts on a taken seq, paging with
//! `after` and `limit`).

use super::{conflict, generation, generation_id, ok, user_id, T0};
use crate::GenerationStore;
use codebegen_schema::generation::{
    Checkpoint, EventKind, GenerationEvent, GenerationId, GenerationRecord, GenerationStatus, Stage,
};

pub(crate) async fn checkpoints(s: &dyn GenerationStore) {
    let record = generation(user_id(), None, T0);
    ok(s.put_generation(&record).await, "put_generation");
    let checkpoint = |stage: Stage, data: serde_json::Value| Checkpoint {
        generation_id: record.id,
        stage,
        data,
        at: T0 + 1,
    };
    let files = serde_json::json!({ "files": { "app/main.py": "from fastapi import FastAPI\napp = FastAPI()\n", "README.md": "# ünï 🚀" } });
    let saved = [
        checkpoint(
            Stage::Package,
            serde_json::json!({ "archive": "generations/x/project.zip", "bytes": 1234 }),
        ),
        checkpoint(
            Stage::Review,
            serde_json::json!({ "score": 97.5, "findings": [] }),
        ),
        checkpoint(
            Stage::Extract,
            serde_json::json!({ "spec": { "name": "app" } }),
        ),
        checkpoint(Stage::Render, files),
    ];
    for c in &saved {
        ok(s.put_checkpoint(c).await, "put_checkpoint");
    }
    let in_order = |mut list: Vec<Checkpoint>| {
        list.sort_by_key(|c| c.stage);
        list
    };
    let expected = in_order(saved.to_vec());
    assert_eq!(
        ok(s.get_checkpoints(record.id).await, "get_checkpoints"),
        expected,
        "get_checkpoints must return every checkpoint, in stage order"
    );
    ok(
        s.put_checkpoint(&saved[1]).await,
        "put_checkpoint again (must be idempotent)",
    );
    assert_eq!(
        ok(s.get_checkpoints(record.id).await, "get_checkpoints"),
        expected,
        "a repeated checkpoint must not be duplicated"
    );

    let redone = checkpoint(
        Stage::Review,
        serde_json::json!({ "score": 100, "rerun": true }),
    );
    ok(
        s.put_checkpoint(&redone).await,
        "put_checkpoint (stage run again)",
    );
    let mut expected = saved.to_vec();
    expected[1] = redone;
    assert_eq!(
        ok(s.get_checkpoints(record.id).await, "get_checkpoints"),
        in_order(expected),
        "a stage saved again must replace its checkpoint"
    );
    let updated = GenerationRecord {
        status: GenerationStatus::Running,
        progress: 50,
        ..record.clone()
    };
    ok(s.put_generation(&updated).await, "put_generation (update)");
    assert_eq!(
        ok(s.get_checkpoints(record.id).await, "get_checkpoints").len(),
        4,
        "updating a generation must keep its checkpoints"
    );
    assert_eq!(
        ok(
            s.get_checkpoints(generation_id()).await,
            "get_checkpoints (unknown)"
        ),
        vec![],
        "an unknown generation has no checkpoints"
    );
}

fn event(id: GenerationId, seq: u64) -> GenerationEvent {
    let kind = match seq % 4 {
        0 => EventKind::StageStarted,
        1 => EventKind::Log,
        2 => EventKind::Progress,
        _ => EventKind::StageFinished,
    };
    GenerationEvent {
        generation_id: id,
        seq,
        kind,
        data: serde_json::json!({ "seq": seq, "line": format!("line {seq}: ünï \"q\"\n"), "nested": { "list": [1, 2.5, null, true] } }),
        at: T0 + i64::try_from(seq).unwrap_or(0),
    }
}

pub(crate) async fn events(s: &dyn GenerationStore) {
    let record = generation(user_id(), None, T0);
    ok(s.put_generation(&record).await, "put_generation");
    let id = record.id;
    assert_eq!(
        ok(s.last_event_seq(id).await, "last_event_seq (no events)"),
        0,
        "last_event_seq must be 0 before any event"
    );
    assert_eq!(
        ok(s.list_events(id, 0, 10).await, "list_events (no events)"),
        vec![],
        "a new generation has no events"
    );

    // Out of order on purpose: the log is ordered by seq, not by arrival.
    for seq in [1, 2, 4, 3, 5] {
        ok(s.append_event(&event(id, seq)).await, "append_event");
    }
    let all: Vec<GenerationEvent> = (1..=5).map(|seq| event(id, seq)).collect();
    assert_eq!(
        ok(s.list_events(id, 0, 100).await, "list_events"),
        all,
        "list_events must return every event, in seq order"
    );
    assert_eq!(
        ok(s.last_event_seq(id).await, "last_event_seq"),
        5,
        "last_event_seq must be the highest seq"
    );

    ok(
        s.append_event(&event(id, 3)).await,
        "append_event with the same content again (must be idempotent)",
    );
    let mut changed = event(id, 3);
    changed.data = serde_json::json!({ "different": true });
    conflict(
        s.append_event(&changed).await,
        "append_event with a taken seq and other content",
    );
    conflict(
        s.append_event(&GenerationEvent {
            kind: EventKind::Completed,
            ..event(id, 4)
        })
        .await,
        "append_event with a taken seq and another kind",
    );
    assert_eq!(
        ok(s.list_events(id, 0, 100).await, "list_events"),
        all,
        "idempotent and refused appends must change nothing"
    );

    assert_eq!(
        ok(s.list_events(id, 2, 100).await, "list_events after 2"),
        all[2..].to_vec(),
        "list_events must return only seq > after"
    );
    assert_eq!(
        ok(s.list_events(id, 0, 2).await, "list_events limit 2"),
        all[..2].to_vec(),
        "list_events must stop at limit"
    );
    assert_eq!(
        ok(s.list_events(id, 1, 3).await, "list_events after 1 limit 3"),
        all[1..4].to_vec(),
        "after and limit must combine"
    );
    assert_eq!(
        ok(s.list_events(id, 5, 10).await, "list_events after the last"),
        vec![],
        "nothing must follow the last event"
    );
    assert_eq!(
        ok(
            s.list_events(id, u64::MAX, 10).await,
            "list_events after u64::MAX"
        ),
        vec![],
        "a huge `after` must list nothing"
    );

    // Reading a long log in pages.
    for seq in 6..=250 {
        ok(s.append_event(&event(id, seq)).await, "append_event");
    }
    let mut read = Vec::new();
    let mut after = 0;
    loop {
        let page = ok(s.list_events(id, after, 64).await, "list_events (paging)");
        let Some(last) = page.last() else { break };
        after = last.seq;
        read.extend(page);
    }
    assert_eq!(
        read,
        (1..=250).map(|seq| event(id, seq)).collect::<Vec<_>>(),
        "paging through list_events must return the whole log once"
    );
    assert_eq!(
        ok(s.last_event_seq(id).await, "last_event_seq"),
        250,
        "last_event_seq must follow appends"
    );

    let updated = GenerationRecord {
        status: GenerationStatus::Completed,
        ..record
    };
    ok(s.put_generation(&updated).await, "put_generation (update)");
    assert_eq!(
        ok(s.last_event_seq(id).await, "last_event_seq after update"),
        250,
        "updating a generation must keep its events"
    );

    let other = generation(user_id(), None, T0);
    ok(s.put_generation(&other).await, "put_generation");
    ok(
        s.append_event(&event(other.id, 1)).await,
        "append_event (another generation, same seq)",
    );
    assert_eq!(
        ok(
            s.list_events(other.id, 0, 10).await,
            "list_events (another generation)"
        ),
        vec![event(other.id, 1)],
        "logs must not mix generations"
    );
    assert_eq!(
        ok(
            s.last_event_seq(generation_id()).await,
            "last_event_seq (unknown)"
        ),
        0,
        "an unknown generation's last seq must be 0"
    );
}
